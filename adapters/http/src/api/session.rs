//! Log in, log out, who am I, and sign up.

use super::{CommandHeaders, Problems};
use crate::AppState;
use crate::auth::{self, SESSION_COOKIE};
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Caller};
use crate::links::{API, Links, path};
use crate::openapi::schema::{SessionDoc, SignupDoc, WhoAmI};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tally_ports::accounts::{Account, Principal, Role, Session};
use tally_ports::{Error, RegisterMemberInput};
use utoipa::ToSchema;

pub(crate) fn router() -> Routes {
    Routes::new()
        .post("/api/v1/session", log_in)
        .get("/api/v1/session", who_am_i)
        .delete("/api/v1/session", log_out)
        .post("/api/v1/signup", sign_up)
}

/// Log in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's name: a member's handle, or an admin's name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// Sign up: become a member and get an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// 3-32 characters of `a-z 0-9 - _`, starting with a letter.
    pub handle: String,
    /// The name shown: 1-80 characters.
    pub display_name: String,
    /// 8 to 256 characters.
    pub password: String,
}

fn cookie(s: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if s.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Opens a session for `p`: the session document and its cookie.
async fn open_session(s: &AppState, p: Principal) -> Result<(SessionDoc, HeaderValue), ApiError> {
    let token = auth::new_secret(auth::SESSION_PREFIX)?;
    let now = Utc::now();
    let expires_at = now + s.config.session_ttl;
    s.accounts
        .create_session(Session {
            token_hash: auth::secret_hash(&token),
            account: p.name.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    let c = cookie(s, &token, s.config.session_ttl.num_seconds());
    let actor = auth::actor_of(&p)?;
    let links = links_for(&p);
    let doc = SessionDoc {
        name: p.name,
        role: p.role.as_str().into(),
        actor: actor.to_string(),
        token,
        expires_at,
        links,
    };
    Ok((doc, c))
}

fn links_for(p: &Principal) -> Links {
    let l = Links::new()
        .get("self", format!("{API}/session"))
        .get("index", API)
        .get("tokens", format!("{API}/tokens"))
        .action("log_out", "DELETE", format!("{API}/session"));
    match p.role {
        Role::Member => l.get("wallet", path::wallet(&p.name)),
        Role::Admin => l.get("members", path::members()),
    }
}

/// Log in with a name and password: sets an HttpOnly session cookie, and returns the session
/// token, which also works as a bearer token.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = SessionDoc), Problems))]
async fn log_in(
    State(s): State<AppState>,
    Body(r): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    let account = s.accounts.account(&r.name).await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let (Some(a), true) = (account, auth::verify_password(r.password, hash).await) else {
        return Err(Error::Unauthorized {
            message: "wrong name or password".into(),
        }
        .into());
    };
    let (doc, c) = open_session(
        &s,
        Principal {
            name: a.name,
            role: a.role,
        },
    )
    .await?;
    Ok(([(header::SET_COOKIE, c)], Json(doc)).into_response())
}

/// Who is signed in (anyone may ask).
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, description = "The caller", body = WhoAmI), Problems))]
async fn who_am_i(caller: Caller) -> Json<WhoAmI> {
    let links = match &caller.principal {
        Some(p) => links_for(p),
        None => Links::new()
            .action("log_in", "POST", format!("{API}/session"))
            .action("sign_up", "POST", format!("{API}/signup")),
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
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out"), Problems))]
async fn log_out(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if let Some(token) = &caller.session {
        s.accounts.delete_session(&auth::secret_hash(token)).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie(&s, "", 0))],
    )
        .into_response())
}

/// Sign up: registers the member (as an anonymous caller) and creates their account, then
/// signs them in.
#[utoipa::path(post, path = "/api/v1/signup", tag = "session", params(CommandHeaders),
    request_body = SignupRequest,
    responses((status = 201, description = "Registered and signed in", body = SignupDoc), Problems))]
async fn sign_up(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<SignupRequest>,
) -> Result<Response, ApiError> {
    auth::check_password(&r.password)?;
    if s.accounts.account(&r.handle).await?.is_some() {
        return Err(tally_ports::accounts::account_exists(&r.handle).into());
    }
    let input = RegisterMemberInput {
        handle: r.handle.clone(),
        display_name: r.display_name,
    };
    let receipt = s.tally.register_member(&ctx, input).await?;
    let hash = auth::hash_password(r.password, s.config.password_cost).await?;
    s.accounts
        .create_account(Account {
            name: r.handle.clone(),
            role: Role::Member,
            password_hash: hash,
            created_at: Utc::now(),
        })
        .await?;
    let p = Principal {
        name: r.handle.clone(),
        role: Role::Member,
    };
    let (session, c) = open_session(&s, p).await?;
    let body = SignupDoc { receipt, session };
    let headers = [
        (header::SET_COOKIE, c),
        (
            header::LOCATION,
            HeaderValue::from_str(&path::wallet(&r.handle))
                .unwrap_or(HeaderValue::from_static("/")),
        ),
    ];
    Ok((StatusCode::CREATED, headers, Json(body)).into_response())
}
