//! Accounts, for admins: onboard an existing member (or another admin).

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx};
use crate::links::{Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tally_api::paths;
use tally_ports::accounts::Role;
use tally_ports::identity::{AccountView, NewAccount};

/// Create an account (admins only). A member account needs the member to be registered.
#[utoipa::path(post, path = paths::ACCOUNTS, tag = "accounts", operation_id = "create_account", request_body = NewAccount,
    responses((status = 201, description = "Created", body = Linked<AccountView>), Problems))]
pub(crate) async fn create(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<NewAccount>,
) -> Result<Response, ApiError> {
    let a = s.identity.create_account(&ctx, r).await?;
    let links = match a.role {
        Role::Member => Links::new().get("wallet", paths::wallet(&a.name)),
        Role::Admin => Links::new().get("members", paths::MEMBERS),
    };
    Ok((StatusCode::CREATED, Json(Linked { body: a, links })).into_response())
}
