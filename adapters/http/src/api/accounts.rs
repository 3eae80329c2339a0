//! Accounts, for admins: onboard an existing member (or another admin).

use super::Problems;
use crate::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx};
use crate::links::{Links, path};
use crate::openapi::schema::AccountDoc;
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tally_ports::accounts::{Account, Role};
use tally_ports::{Actor, Error};
use utoipa::ToSchema;

pub(crate) fn router() -> Routes {
    Routes::new().post("/api/v1/accounts", create)
}

/// Create an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountRequest {
    /// A registered member's handle, or (role `admin`) an admin's name.
    pub name: String,
    /// 8 to 256 characters.
    pub password: String,
    /// `member` (the default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

/// Create an account (admins only). A member account needs the member to be registered.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body = NewAccountRequest,
    responses((status = 201, description = "Created", body = AccountDoc), Problems))]
async fn create(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<NewAccountRequest>,
) -> Result<Response, ApiError> {
    // Accounts are not a use case of the driving port, so this adapter checks the role itself.
    match ctx.actor {
        Actor::Admin(_) | Actor::System(_) => {}
        Actor::Anonymous => return Err(Error::unauthorized().into()),
        Actor::Member(_) => {
            return Err(Error::forbidden("admin_only", "only an admin may create accounts").into());
        }
    }
    let role = Role::parse(r.role.as_deref().unwrap_or("member"))?;
    auth::check_password(&r.password)?;
    let name = r.name.trim().to_owned();
    if role == Role::Member {
        // The wallet answers `invalid_handle` or `unknown_member` for anyone but a member.
        s.tally.wallet(&ctx, &name).await?;
    } else if !(1..=64).contains(&name.chars().count()) || name.contains(char::is_control) {
        return Err(Error::invalid(
            "name",
            "invalid_name",
            "an admin's name has 1 to 64 characters",
        )
        .into());
    }
    let hash = auth::hash_password(r.password, s.config.password_cost).await?;
    let created_at = Utc::now();
    s.accounts
        .create_account(Account {
            name: name.clone(),
            role,
            password_hash: hash,
            created_at,
        })
        .await?;
    let links = match role {
        Role::Member => Links::new().get("wallet", path::wallet(&name)),
        Role::Admin => Links::new().get("members", path::members()),
    };
    let body = AccountDoc {
        name,
        role: role.as_str().into(),
        created_at,
        links,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
