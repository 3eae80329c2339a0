//! API tokens of the signed-in account: create (the secret is shown once), list, revoke.

use super::{Problems, items};
use crate::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Path};
use crate::links::{API, Linked, Links};
use crate::openapi::schema::{NewTokenDoc, TokenDoc, TokensDoc};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tally_ports::Error;
use tally_ports::accounts::ApiToken;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) fn router() -> Routes {
    Routes::new()
        .post("/api/v1/tokens", create)
        .get("/api/v1/tokens", list)
        .delete("/api/v1/tokens/{id}", revoke)
}

/// Create an API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// A label, e.g. `ci`: 1-64 characters.
    pub name: String,
    /// Days until it expires (1-3650); never, if absent.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

fn href(id: Uuid) -> String {
    format!("{API}/tokens/{id}")
}

fn doc(t: ApiToken) -> Linked<TokenDoc> {
    let links = Links::new().action("revoke", "DELETE", href(t.id));
    Linked {
        body: TokenDoc {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            expires_at: t.expires_at,
        },
        links,
    }
}

/// Create an API token acting as the signed-in account. Its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenRequest,
    responses((status = 201, description = "Created", body = NewTokenDoc), Problems))]
async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Body(r): Body<NewTokenRequest>,
) -> Result<Response, ApiError> {
    let p = caller.principal()?;
    let name = r.name.trim();
    if !(1..=64).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "invalid_token_name",
            "a token name has 1 to 64 characters",
        )
        .into());
    }
    let days = match r.expires_in_days {
        Some(d @ 1..=3650) => Some(i64::from(d)),
        None => None,
        Some(_) => {
            return Err(Error::invalid(
                "expires_in_days",
                "invalid_expiry",
                "a token expires in 1 to 3650 days",
            )
            .into());
        }
    };
    let secret = auth::new_secret(auth::API_TOKEN_PREFIX)?;
    let now = Utc::now();
    let t = ApiToken {
        id: Uuid::now_v7(),
        account: p.name.clone(),
        name: name.to_owned(),
        secret_hash: auth::secret_hash(&secret),
        created_at: now,
        expires_at: days.map(|d| now + chrono::Duration::days(d)),
    };
    s.accounts.create_api_token(t.clone()).await?;
    let location = href(t.id);
    let Linked {
        body: details,
        links,
    } = doc(t);
    let body = NewTokenDoc {
        token: secret,
        details,
        links,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// The signed-in account's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "The tokens", body = TokensDoc), Problems))]
async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let p = caller.principal()?;
    let tokens = s.accounts.api_tokens(&p.name).await?;
    let links = Links::new().get("self", format!("{API}/tokens")).action(
        "create",
        "POST",
        format!("{API}/tokens"),
    );
    Ok(items(tokens.into_iter().map(doc).collect(), links).into_response())
}

/// Revoke one of the signed-in account's API tokens: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), Problems))]
async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let p = caller.principal()?;
    s.accounts.revoke_api_token(&p.name, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
