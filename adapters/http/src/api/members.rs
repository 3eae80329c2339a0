//! Members and their wallets: the list, a wallet, its history and its state as it was.

use super::{Problems, StateQuery};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_ports::members::{MAX_TEXT, MemberCursor, MemberListing, MemberQuery};
use tally_ports::{EntityKind, EntityRef, Error, HistoryEntry, Snapshot, WalletView};
use utoipa::{IntoParams, ToSchema};

/// Which members to list: every member by default, by handle.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MembersQuery {
    /// At most this many (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// Text that the handle or the display name contains, in any case.
    #[param(max_length = 100)]
    q: Option<String>,
    /// The page of handles after this one (the `next` link).
    after: Option<String>,
    /// The page of handles before this one (the `prev` link).
    before: Option<String>,
}

impl MembersQuery {
    /// The query as a page's address gives it, every field as text.
    ///
    /// # Errors
    /// `invalid_query` for a limit that is not a number.
    pub(crate) fn from_text(
        raw: &std::collections::HashMap<String, String>,
    ) -> Result<Self, Error> {
        let text = |k: &str| raw.get(k).filter(|v| !v.trim().is_empty()).cloned();
        let limit = text("limit")
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    Error::invalid("limit", "invalid_query", "limit is a whole number")
                })
            })
            .transpose()?;
        Ok(Self {
            limit,
            q: text("q"),
            after: text("after"),
            before: text("before"),
        })
    }

    /// The query the port takes, checked.
    ///
    /// # Errors
    /// `invalid_query` or `conflicting_query`, naming the field.
    pub(crate) fn parse(self, default_limit: u64) -> Result<MemberQuery, Error> {
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=500).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                "invalid_query",
                "limit is a whole number from 1 to 500",
            ));
        }
        let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let cursor = match (present(self.after), present(self.before)) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "before",
                    "conflicting_query",
                    "give after or before, not both",
                ));
            }
            (Some(a), None) => MemberCursor::After(a),
            (None, Some(b)) => MemberCursor::Before(b),
            (None, None) => MemberCursor::First,
        };
        if self
            .q
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_TEXT)
        {
            return Err(Error::invalid(
                "q",
                "invalid_query",
                format!("a search is at most {MAX_TEXT} characters"),
            ));
        }
        Ok(MemberQuery {
            text: self.q.filter(|q| !q.trim().is_empty()),
            cursor,
            limit: usize::try_from(limit).unwrap_or(500),
        })
    }
}

/// A page of members with its count and the links to the pages beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// The members, by handle.
    pub items: Vec<Linked<MemberListing>>,
    /// How many members match in all, counted up to 1000.
    pub total: u64,
    /// Whether `total` is exact (false: at least that many).
    pub total_exact: bool,
    /// `self`, `next` and `prev` when there are such pages; registering a member.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// The address of a page of members.
pub(crate) fn page_url(base: &str, q: &MemberQuery) -> String {
    let pairs = q.to_pairs();
    if pairs.is_empty() {
        return base.to_owned();
    }
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// A page of members by handle (admins only): searched with `q` (part of the handle or the
/// display name, any case), paged with `after`/`before` cursors (`next` and `prev` links),
/// each with when they joined, when they were last active and whether they have an account.
#[utoipa::path(get, path = paths::MEMBERS, tag = "members", operation_id = "members",
    params(MembersQuery),
    responses((status = 200, description = "A page of members", body = MemberList), Problems))]
pub(crate) async fn list(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<MembersQuery>,
) -> Result<Response, ApiError> {
    // Every invalid input of a list is its query's: 422 (the schema allows any text there).
    let q = q.parse(50).map_err(super::unprocessable)?;
    let page = s
        .tally
        .find_members(&ctx, q.clone())
        .await
        .map_err(super::unprocessable)?;
    let items = page
        .members
        .into_iter()
        .map(|m| {
            let links = Links::new()
                .get("self", paths::wallet(&m.member.handle))
                .get(
                    "history",
                    paths::history(EntityKind::Member, &m.member.handle),
                );
            Linked { body: m, links }
        })
        .collect();
    let mut links = Links::new().get("self", page_url(paths::MEMBERS, &q));
    if let Some(next) = page.next {
        links = links.get(
            "next",
            page_url(paths::MEMBERS, &q.at(MemberCursor::After(next))),
        );
    }
    if let Some(prev) = page.prev {
        links = links.get(
            "prev",
            page_url(paths::MEMBERS, &q.at(MemberCursor::Before(prev))),
        );
    }
    let links = links.action(
        tally_domain::CommandKind::RegisterMember.name(),
        "POST",
        paths::MEMBERS,
    );
    Ok(Json(MemberList {
        items,
        total: page.total,
        total_exact: page.total_exact,
        links,
    })
    .into_response())
}

/// A member's wallet (the member or an admin), with what the caller may do with it.
#[utoipa::path(get, path = paths::WALLET, tag = "members", operation_id = "wallet",
    params(("handle" = String, Path, description = "The member's handle")),
    responses((status = 200, description = "The wallet", body = Linked<WalletView>), Problems))]
pub(crate) async fn wallet(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let w = s.tally.wallet(&ctx, &handle).await?;
    let links = Links::new()
        .get("self", paths::wallet(&w.handle))
        .get("history", paths::history(EntityKind::Member, &w.handle))
        .get("jobs", paths::JOBS)
        .commands(&w.actions);
    Ok(Json(Linked { body: w, links }).into_response())
}

/// Every event of a member's wallet, oldest first (the member or an admin).
#[utoipa::path(get, path = paths::MEMBER_HISTORY, tag = "members", operation_id = "member_history",
    params(("handle" = String, Path, description = "The member's handle")),
    responses((status = 200, description = "The history", body = Items<HistoryEntry>), Problems))]
pub(crate) async fn history(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    super::history(s.tally.as_ref(), &ctx, EntityRef::member(handle)).await
}

/// A wallet as it was at a version or time (the member or an admin).
#[utoipa::path(get, path = paths::MEMBER_STATE, tag = "members", operation_id = "member_state",
    params(("handle" = String, Path, description = "The member's handle"), StateQuery),
    responses((status = 200, description = "The state then", body = Linked<Snapshot>), Problems))]
pub(crate) async fn state_as_of(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
    Query(q): Query<StateQuery>,
) -> Result<Response, ApiError> {
    super::state_as_of(s.tally.as_ref(), &ctx, EntityRef::member(handle), &q).await
}
