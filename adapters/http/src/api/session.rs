//! Log in, log out, who am I, and sign up: the identity port, over JSON.

use super::{CommandHeaders, Problems};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Caller, session_cookie};
use crate::links::{Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_ports::accounts::{Principal, Role};
use tally_ports::identity::{NewSession, SignUp, SignedUp};
use utoipa::ToSchema;

/// Log in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's name: a member's handle, or an admin's name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The actor: `member:alice`, `admin:admin` or `anonymous`.
    pub actor: String,
    /// The account, if signed in.
    pub name: Option<String>,
    /// The role, if signed in.
    pub role: Option<String>,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

fn links_for(name: &str, role: Role) -> Links {
    let l = Links::new()
        .get("self", paths::SESSION)
        .get("index", paths::API)
        .get("tokens", paths::TOKENS)
        .action("log_out", "DELETE", paths::SESSION);
    match role {
        Role::Member => l.get("wallet", paths::wallet(name)),
        Role::Admin => l.get("members", paths::MEMBERS),
    }
}

fn cookie_of(s: &AppState, session: &NewSession) -> HeaderValue {
    let max_age = (session.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    session_cookie(s.config.secure_cookies, &session.token, max_age)
}

/// Log in with a name and password: sets an HttpOnly session cookie, and returns the session
/// token, which also works as a bearer token.
#[utoipa::path(post, path = paths::SESSION, tag = "session", operation_id = "log_in", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = Linked<NewSession>), Problems))]
pub(crate) async fn log_in(
    State(s): State<AppState>,
    Body(r): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    if let Err(res) = crate::limits::login_attempt(&s, &r.name) {
        return Ok(*res);
    }
    let session = s.identity.log_in(&r.name, &r.password).await?;
    let c = cookie_of(&s, &session);
    let links = links_for(&session.name, session.role);
    Ok((
        [(header::SET_COOKIE, c)],
        Json(Linked {
            body: session,
            links,
        }),
    )
        .into_response())
}

/// Who is signed in (anyone may ask).
#[utoipa::path(get, path = paths::SESSION, tag = "session", operation_id = "who_am_i",
    responses((status = 200, description = "The caller", body = WhoAmI), Problems))]
pub(crate) async fn who_am_i(caller: Caller) -> Json<WhoAmI> {
    let links = match &caller.principal {
        Some(Principal { name, role, .. }) => links_for(name, *role),
        None => Links::new()
            .action("log_in", "POST", paths::SESSION)
            .action("sign_up", "POST", paths::SIGNUP),
    };
    Json(WhoAmI {
        actor: caller.actor.to_string(),
        name: caller.principal.as_ref().map(|p| p.name.clone()),
        role: caller
            .principal
            .as_ref()
            .map(|p| p.role.as_str().to_owned()),
        links,
    })
}

/// Log out: ends the session (cookie or bearer session token) and clears the cookie.
#[utoipa::path(delete, path = paths::SESSION, tag = "session", operation_id = "log_out",
    responses((status = 204, description = "Signed out"), Problems))]
pub(crate) async fn log_out(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if let Some(token) = &caller.session {
        s.identity.log_out(token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            session_cookie(s.config.secure_cookies, "", 0),
        )],
    )
        .into_response())
}

/// Sign up: registers the member (as themselves) and creates their account, then signs them
/// in. Handles are public and permanent.
#[utoipa::path(post, path = paths::SIGNUP, tag = "session", operation_id = "sign_up", params(CommandHeaders),
    request_body = SignUp,
    responses((status = 201, description = "Registered and signed in", body = SignedUp), Problems))]
pub(crate) async fn sign_up(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<SignUp>,
) -> Result<Response, ApiError> {
    let done = s.identity.sign_up(&ctx, r).await?;
    let c = cookie_of(&s, &done.session);
    let location = HeaderValue::from_str(&paths::wallet(&done.session.name))
        .unwrap_or(HeaderValue::from_static("/"));
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, c), (header::LOCATION, location)],
        Json(done),
    )
        .into_response())
}
