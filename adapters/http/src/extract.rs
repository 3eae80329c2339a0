//! Extractors: JSON bodies (with precise problems), the caller's identity, and the per-call
//! context (idempotency key, correlation id); and the session cookie.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tally_ports::accounts::{Principal, Scope};
use tally_ports::identity::{SESSION_PREFIX, actor_of};
use tally_ports::{Actor, Ctx, Error, Unauthorized};
use uuid::Uuid;

/// The header that carries a client-chosen command id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header that ties a command to a wider piece of work.
pub const CORRELATION_ID: &str = "x-correlation-id";
/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "tally_session";

/// The session cookie (the JSON API and the pages set the same one): `HttpOnly`,
/// `SameSite=Lax`, `Secure` when configured; `max_age` 0 clears it.
pub fn session_cookie(secure: bool, value: &str, max_age: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let c = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a `Content-Type` value is JSON: the media type `application/json`, compared as
/// RFC 9110 says (case-insensitively, parameters aside), not by prefix.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as application/json",
    )
}

/// The body's bytes, if its media type is JSON (or it is empty and has none: then `None`).
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Bytes>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_owned());
    let bytes = Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than this service accepts",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", r.body_text())
        }
    })?;
    match content_type {
        Some(t) if is_json(&t) => Ok(Some(bytes)),
        None if bytes.is_empty() => Ok(None),
        _ => Err(unsupported()),
    }
}

/// A JSON request body. Unlike `axum::Json`, every failure is a problem naming the field:
/// malformed JSON, a wrong type, a missing or unknown field are 400; too large is 413.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match json_bytes(req, state).await? {
            Some(bytes) => parse(&bytes).map(Body),
            None => Err(unsupported()),
        }
    }
}

/// A command's JSON body: an object (or nothing, for a command with no fields to send).
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match json_bytes(req, state).await? {
            Some(bytes) => parse(&bytes).map(JsonObject),
            None => Ok(Self(Map::new())),
        }
    }
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("the body is not valid JSON: {e}"),
    )
    .with_field("body")
}

/// Parses a JSON body, turning serde's errors into problems with a field.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would also read a struct from an array (`[5]`): only objects are bodies here.
    if let Some(c) = bytes.iter().find(|c| !c.is_ascii_whitespace())
        && *c != b'{'
        && serde_json::from_slice::<Value>(bytes).is_ok()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body must be a JSON object",
        )
        .with_field("body"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let out: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = out.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if !inner.is_data() {
            return malformed(&inner);
        }
        let msg = inner.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        // A missing field is reported at its parent; name the field itself.
        let named = msg.split('`').nth(1).unwrap_or_default();
        let (code, field) = if msg.starts_with("missing field") {
            ("missing_field", join(&path, named))
        } else if msg.starts_with("unknown field") {
            ("unknown_field", path)
        } else {
            ("invalid_field", path)
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, format!("{field}: {msg}")).with_field(field)
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn join(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// A path parameter; a bad one is a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Query parameters; bad ones are a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Who is calling: the principal of a bearer token or session cookie, or nobody.
pub struct Caller {
    /// The actor the port sees.
    pub actor: Actor,
    /// The signed-in account, if any.
    pub principal: Option<Principal>,
    /// The session credential used, if the caller signed in with a session.
    pub session: Option<String>,
    /// Whether the credential came from the session cookie (not an `Authorization` header).
    pub by_cookie: bool,
}

/// Whether a `feed:read` token may call `path`: the feed, and the event schemas its items
/// name.
fn feed_reader_may(path: &str) -> bool {
    use tally_api::paths::{FEED, SCHEMAS};
    path == FEED || path == SCHEMAS || path.starts_with(&format!("{SCHEMAS}/"))
}

/// The credential a request carries: `Authorization: Bearer` (the scheme is
/// case-insensitive, RFC 9110), else the session cookie; and whether it is the cookie.
fn credential(headers: &HeaderMap) -> Option<(bool, String)> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().unwrap_or_default().trim();
        let token = match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
            _ => v,
        };
        return Some((false, token.trim().to_owned()));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| (true, v.to_owned()))
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let anonymous = |by_cookie| Self {
            actor: Actor::Anonymous,
            principal: None,
            session: None,
            by_cookie,
        };
        let Some((by_cookie, cred)) = credential(&parts.headers) else {
            return Ok(anonymous(false));
        };
        let p = match state.identity.resolve(&cred).await {
            Ok(p) => p,
            // A browser keeps an expired cookie around: it is simply signed out, so that
            // public pages still work. A bearer token was sent on purpose: refuse it.
            Err(Error::Unauthorized(Unauthorized::BadCredential)) if by_cookie => {
                return Ok(anonymous(true));
            }
            Err(e) => return Err(e.into()),
        };
        if by_cookie && parts.uri.path().starts_with(tally_api::paths::API) {
            same_site_only(parts)?;
        }
        if p.scope == Scope::FeedRead && !feed_reader_may(parts.uri.path()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "token_scope",
                format!(
                    "this API token has the feed:read scope: it reads {} and {} only",
                    tally_api::paths::FEED,
                    tally_api::paths::SCHEMAS
                ),
            ));
        }
        Ok(Self {
            actor: actor_of(&p)?,
            principal: Some(p),
            session: cred.starts_with(SESSION_PREFIX).then_some(cred),
            by_cookie,
        })
    }
}

/// An unsafe request to the JSON API authenticated by the session cookie must come from this
/// site's own pages: a browser says where a request comes from (`Sec-Fetch-Site`, else
/// `Origin`, which it sends with every `POST`, `PUT`, `PATCH` and `DELETE`). Without one of
/// them the request is refused too, so a cross-site form or `fetch` cannot spend a member's
/// credits through their cookie (`SameSite=Lax` alone would be the only guard). Calls with a
/// bearer token are not concerned: no browser attaches one by itself. The pages have their
/// own CSRF tokens.
fn same_site_only(parts: &Parts) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let h = &parts.headers;
    let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let same = match (header("sec-fetch-site"), header("origin")) {
        (Some(site), _) => site.eq_ignore_ascii_case("same-origin") || site == "none",
        (None, Some(origin)) => {
            let authority = origin.split_once("://").map_or("", |(_, a)| a);
            let host = header("x-forwarded-host")
                .or(header("host"))
                .unwrap_or_default();
            !authority.is_empty() && authority.eq_ignore_ascii_case(host)
        }
        (None, None) => false,
    };
    if same {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_site_request",
        "a change authenticated by the session cookie must come from this site's pages \
         (same Origin); other clients authenticate with Authorization: Bearer <token>",
    ))
}

/// The context of a call on the driving port: the caller, and the `Idempotency-Key` and
/// `X-Correlation-Id` headers (UUIDs) as command and correlation ids.
pub struct CallCtx(pub Ctx);

fn uuid_header(parts: &Parts, name: &str) -> Result<Option<Uuid>, ApiError> {
    let Some(v) = parts.headers.get(name) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!("the {name} header must be a UUID"),
            )
            .with_field(name)
        })
}

impl FromRequestParts<AppState> for CallCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let command_id = uuid_header(parts, IDEMPOTENCY_KEY)?;
        let correlation_id = uuid_header(parts, CORRELATION_ID)?;
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Self(Ctx {
            actor: caller.actor,
            command_id,
            correlation_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Grant {
        amount: i64,
        #[serde(default)]
        reason: String,
    }

    fn problem(body: &str) -> (String, Option<String>) {
        let p = parse::<Grant>(body.as_bytes()).unwrap_err();
        (p.problem().code.clone(), p.problem().field.clone())
    }

    #[test]
    fn body_problems_name_the_field() {
        let f = |s: &str| Some(s.to_owned());
        assert_eq!(problem("{"), ("malformed_json".into(), f("body")));
        assert_eq!(
            problem(r#"{"amount":1} x"#),
            ("malformed_json".into(), f("body"))
        );
        assert_eq!(problem("[1]"), ("invalid_body".into(), f("body")));
        assert_eq!(problem("{}"), ("missing_field".into(), f("amount")));
        assert_eq!(
            problem(r#"{"amount":1,"admin":true}"#),
            ("unknown_field".into(), f("admin"))
        );
        assert_eq!(
            problem(r#"{"amount":"5"}"#),
            ("invalid_field".into(), f("amount"))
        );
        assert!(parse::<Grant>(br#"{"amount":5}"#).is_ok());
    }

    #[test]
    fn media_types_are_parsed_not_prefix_matched() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "application/jsonx",
            "application/json-patch+json",
            "text/json",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer tly_pat_x"),
        );
        assert_eq!(credential(&h), Some((false, "tly_pat_x".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("BEARER  tly_pat_y "),
        );
        assert_eq!(credential(&h), Some((false, "tly_pat_y".into())));
    }
}
