//! API tokens of the signed-in account: create (the secret is shown once), list, revoke.

use super::{Problems, items};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Path};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_api::paths;
use tally_ports::identity::{CreatedToken, NewToken, TokenView};
use uuid::Uuid;

fn linked(t: TokenView) -> Linked<TokenView> {
    let links = Links::new().action("revoke", "DELETE", paths::token(&t.id.to_string()));
    Linked { body: t, links }
}

/// Create an API token acting as the signed-in account. Its secret is in this answer only.
#[utoipa::path(post, path = paths::TOKENS, tag = "tokens", operation_id = "create_token", request_body = NewToken,
    responses((status = 201, description = "Created", body = Linked<CreatedToken>), Problems))]
pub(crate) async fn create(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<NewToken>,
) -> Result<Response, ApiError> {
    let t = s.identity.create_token(&ctx, r).await?;
    let location = paths::token(&t.details.id.to_string());
    let links = Links::new().action("revoke", "DELETE", location.clone());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Linked { body: t, links }),
    )
        .into_response())
}

/// The signed-in account's API tokens (never their secrets).
#[utoipa::path(get, path = paths::TOKENS, tag = "tokens", operation_id = "tokens",
    responses((status = 200, description = "The tokens", body = Items<Linked<TokenView>>), Problems))]
pub(crate) async fn list(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
) -> Result<Response, ApiError> {
    let tokens = s.identity.tokens(&ctx).await?;
    let links = Links::new()
        .get("self", paths::TOKENS)
        .action("create", "POST", paths::TOKENS);
    Ok(items(tokens.into_iter().map(linked).collect(), links).into_response())
}

/// Revoke one of the signed-in account's API tokens: it stops working at once.
#[utoipa::path(delete, path = paths::TOKEN, tag = "tokens", operation_id = "revoke_token",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), Problems))]
pub(crate) async fn revoke(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    s.identity.revoke_token(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
