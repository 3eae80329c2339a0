//! Members and their wallets: the list, a wallet, its history and its state as it was.

use super::{Problems, StateQuery, items};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tally_api::paths;
use tally_ports::{EntityKind, EntityRef, HistoryEntry, MemberSummary, Snapshot, WalletView};

/// Every member, by handle (admins only).
#[utoipa::path(get, path = paths::MEMBERS, tag = "members", operation_id = "members",
    responses((status = 200, description = "The members", body = Items<MemberSummary>), Problems))]
pub(crate) async fn list(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
) -> Result<Response, ApiError> {
    let members = s.tally.members(&ctx).await?;
    let links = Links::new().get("self", paths::MEMBERS).action(
        tally_domain::CommandKind::RegisterMember.name(),
        "POST",
        paths::MEMBERS,
    );
    Ok(items(members, links).into_response())
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
