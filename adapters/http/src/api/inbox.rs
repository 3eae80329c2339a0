//! The signed-in member's notifications: read a page (newest first), mark one or all read.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_ports::Error;
use tally_ports::inbox::{InboxPage, InboxQuery, MAX_PAGE, MarkRead};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Which notifications to show. Read as text, so that a bad value gets a message naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InboxParams {
    /// `true`: only the unread ones.
    #[param(value_type = Option<bool>)]
    unread: Option<String>,
    /// Those older than this notification (the `next` link).
    #[param(value_type = Option<Uuid>)]
    before: Option<String>,
    /// At most this many (default 20, at most 100).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

impl InboxParams {
    /// The same query from an older page, as a query string.
    pub(crate) fn older(&self, before: Uuid) -> String {
        let mut pairs: Vec<(&str, String)> = [("unread", &self.unread), ("limit", &self.limit)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().filter(|v| !v.trim().is_empty()).map(|v| (k, v)))
            .collect();
        pairs.push(("before", before.to_string()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The default page size.
pub(crate) const PAGE: usize = 20;

impl InboxParams {
    /// The query, checked.
    ///
    /// # Errors
    /// `invalid_query`, naming the field.
    pub(crate) fn parse(&self) -> Result<InboxQuery, Error> {
        // A parameter sent empty is not absent: its schema says what it holds (a UUID, a
        // number, a boolean), and an empty value is none of them.
        let text = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
        let unread_only = match text(&self.unread).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(Error::invalid(
                    "unread",
                    "invalid_query",
                    "unread is true or false",
                ));
            }
        };
        let before = text(&self.before)
            .map(|b| {
                Uuid::parse_str(&b).map_err(|_| {
                    Error::invalid(
                        "before",
                        "invalid_query",
                        "before is a notification's id (a UUID, from the next link)",
                    )
                })
            })
            .transpose()?;
        let limit = match text(&self.limit) {
            None => PAGE,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        "limit",
                        "invalid_query",
                        format!("limit is a whole number from 1 to {MAX_PAGE}"),
                    )
                })?,
        };
        Ok(InboxQuery {
            unread_only,
            before,
            limit,
        })
    }
}

/// How many notifications were marked read, and how many are still unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Marked {
    /// How many this call marked (0: they were read already).
    pub marked: u64,
    /// How many of the member's notifications are still unread.
    pub unread: u64,
}

/// The signed-in member's notifications, newest first, with how many are unread. Each member
/// sees only their own; admins and visitors have none.
#[utoipa::path(get, path = paths::NOTIFICATIONS, tag = "notifications", operation_id = "inbox",
    params(InboxParams),
    responses((status = 200, description = "A page of notifications", body = Linked<InboxPage>), Problems))]
pub(crate) async fn inbox(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<InboxParams>,
) -> Result<Response, ApiError> {
    let query = q.parse().map_err(super::unprocessable)?;
    let page = s.tally.inbox(&ctx, query.clone()).await?;
    let mut links = Links::new().get("self", paths::NOTIFICATIONS).action(
        "mark_all_read",
        "POST",
        paths::NOTIFICATIONS_READ,
    );
    if let Some(next) = page.next {
        let mut pairs = vec![("before", next.to_string())];
        if query.unread_only {
            pairs.push(("unread", "true".to_owned()));
        }
        if query.limit != PAGE {
            pairs.push(("limit", query.limit.to_string()));
        }
        let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
        links = links.get("next", format!("{}?{qs}", paths::NOTIFICATIONS));
    }
    Ok(Json(Linked { body: page, links }).into_response())
}

/// Mark one of the signed-in member's notifications read (again: nothing changes).
#[utoipa::path(post, path = paths::NOTIFICATION_READ, tag = "notifications", operation_id = "mark_read",
    params(("id" = Uuid, Path, description = "The notification's id")),
    responses((status = 200, description = "Marked", body = Marked), Problems))]
pub(crate) async fn mark_one(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<Json<Marked>, ApiError> {
    let marked = s.tally.mark_read(&ctx, MarkRead::One(id)).await?;
    let unread = s.tally.unread_notifications(&ctx).await?;
    Ok(Json(Marked { marked, unread }))
}

/// Mark every notification of the signed-in member read.
#[utoipa::path(post, path = paths::NOTIFICATIONS_READ, tag = "notifications", operation_id = "mark_all_read",
    responses((status = 200, description = "Marked", body = Marked), Problems))]
pub(crate) async fn mark_all(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
) -> Result<Json<Marked>, ApiError> {
    let marked = s.tally.mark_read(&ctx, MarkRead::All).await?;
    let unread = s.tally.unread_notifications(&ctx).await?;
    Ok(Json(Marked { marked, unread }))
}
