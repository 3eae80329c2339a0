//! Members and their wallets: register, list, wallet, grant, history, state as of.

use super::{CommandHeaders, Problems, StateQuery, items, receipt};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Path, Query};
use crate::links::{Linked, Links, path};
use crate::openapi::schema::{HistoryDoc, MembersDoc, ReceiptDoc, SnapshotDoc, WalletDoc};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_ports::{Actor, EntityRef, GrantCreditsInput, RegisterMemberInput};
use utoipa::ToSchema;

pub(crate) fn router() -> Routes {
    Routes::new()
        .post("/api/v1/members", register)
        .get("/api/v1/members", list)
        .get("/api/v1/members/{handle}/wallet", wallet)
        .post("/api/v1/members/{handle}/grants", grant)
        .get("/api/v1/members/{handle}/history", history)
        .get("/api/v1/members/{handle}/state", state_as_of)
}

/// Register a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3-32 characters of `a-z 0-9 - _`, starting with a letter.
    pub handle: String,
    /// The name shown: 1-80 characters.
    pub display_name: String,
}

/// Grant credits.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// 1 to 1,000,000.
    pub amount: i64,
    /// Why (may be empty, at most 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// What a member's wallet links to, for this caller.
fn wallet_links(actor: &Actor, handle: &str) -> Links {
    let own = matches!(actor, Actor::Member(h) if h.as_str() == handle);
    Links::new()
        .get("self", path::wallet(handle))
        .get("history", path::member(handle, "history"))
        .action_if(actor.is_privileged(), "grant", "POST", path::grants(handle))
        .action_if(own, "launch_job", "POST", path::jobs())
        .get("jobs", path::jobs())
}

/// Register a member (an admin; or anyone, signing up without an account).
#[utoipa::path(post, path = "/api/v1/members", tag = "members",
    params(CommandHeaders), request_body = RegisterRequest,
    responses((status = 201, description = "Registered", body = ReceiptDoc), Problems))]
async fn register(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<RegisterRequest>,
) -> Result<Response, ApiError> {
    let input = RegisterMemberInput {
        handle: r.handle,
        display_name: r.display_name,
    };
    let handle = input.handle.clone();
    let rec = s.tally.register_member(&ctx, input).await?;
    let links = wallet_links(&ctx.actor, &handle);
    Ok(receipt(rec, links, Some(path::wallet(&handle))))
}

/// Every member, by handle (admins only).
#[utoipa::path(get, path = "/api/v1/members", tag = "members",
    responses((status = 200, description = "The members", body = MembersDoc), Problems))]
async fn list(State(s): State<AppState>, CallCtx(ctx): CallCtx) -> Result<Response, ApiError> {
    let members = s.tally.members(&ctx).await?;
    let links =
        Links::new()
            .get("self", path::members())
            .action("register", "POST", path::members());
    Ok(items(members, links).into_response())
}

/// A member's wallet (the member or an admin).
#[utoipa::path(get, path = "/api/v1/members/{handle}/wallet", tag = "members",
    params(("handle" = String, Path, description = "The member's handle")),
    responses((status = 200, description = "The wallet", body = WalletDoc), Problems))]
async fn wallet(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let w = s.tally.wallet(&ctx, &handle).await?;
    let links = wallet_links(&ctx.actor, &w.handle);
    Ok(Json(Linked { body: w, links }).into_response())
}

/// Grant credits to a member (admins only).
#[utoipa::path(post, path = "/api/v1/members/{handle}/grants", tag = "members",
    params(("handle" = String, Path, description = "Who receives them"), CommandHeaders),
    request_body = GrantRequest,
    responses((status = 200, description = "Granted", body = ReceiptDoc), Problems))]
async fn grant(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
    Body(r): Body<GrantRequest>,
) -> Result<Response, ApiError> {
    let input = GrantCreditsInput {
        handle: handle.clone(),
        amount: r.amount,
        reason: r.reason,
    };
    let rec = s.tally.grant_credits(&ctx, input).await?;
    Ok(receipt(rec, wallet_links(&ctx.actor, &handle), None))
}

/// Every event of a member's wallet, oldest first (the member or an admin).
#[utoipa::path(get, path = "/api/v1/members/{handle}/history", tag = "members",
    params(("handle" = String, Path, description = "The member's handle")),
    responses((status = 200, description = "The history", body = HistoryDoc), Problems))]
async fn history(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let href = path::member(&handle, "history");
    super::history(s.tally.as_ref(), &ctx, EntityRef::member(handle), href).await
}

/// A wallet as it was at a version or time (the member or an admin).
#[utoipa::path(get, path = "/api/v1/members/{handle}/state", tag = "members",
    params(("handle" = String, Path, description = "The member's handle"), StateQuery),
    responses((status = 200, description = "The state then", body = SnapshotDoc), Problems))]
async fn state_as_of(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
    Query(q): Query<StateQuery>,
) -> Result<Response, ApiError> {
    let href = path::member(&handle, "history");
    super::state_as_of(s.tally.as_ref(), &ctx, EntityRef::member(handle), &q, href).await
}
