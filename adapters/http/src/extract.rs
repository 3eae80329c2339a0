//! Extractors: the JSON body (with precise problems), the caller's identity, and the
//! per-call context (idempotency key, correlation id).

use crate::AppState;
use crate::auth::{self, SESSION_COOKIE};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use tally_ports::accounts::Principal;
use tally_ports::{Actor, Ctx, Error};
use uuid::Uuid;

/// The header that carries a client-chosen command id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header that ties a command to a wider piece of work.
pub const CORRELATION_ID: &str = "x-correlation-id";

/// A JSON request body. Unlike `axum::Json`, every failure is a problem naming the field:
/// malformed JSON, a wrong type, a missing or unknown field are 400; too large is 413.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
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
        parse(&bytes).map(Body)
    }
}

/// Parses a JSON body, turning serde's errors into problems with a field.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |e: &serde_json::Error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
        .with_field("body")
    };
    // serde would also read a struct from an array (`[5]`): only objects are bodies here.
    if let Some(c) = bytes.iter().find(|c| !c.is_ascii_whitespace())
        && *c != b'{'
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
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
}

impl Caller {
    /// The signed-in account.
    ///
    /// # Errors
    /// `Unauthorized` for an anonymous caller.
    pub fn principal(&self) -> Result<&Principal, Error> {
        self.principal.as_ref().ok_or_else(Error::unauthorized)
    }
}

/// Where a credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Bearer,
    Cookie,
}

/// The credential a request carries: `Authorization: Bearer`, else the session cookie.
fn credential(headers: &HeaderMap) -> Option<(Source, String)> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().unwrap_or_default();
        let token = v.strip_prefix("Bearer ").unwrap_or(v);
        return Some((Source::Bearer, token.trim().to_owned()));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| (Source::Cookie, v.to_owned()))
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let anonymous = Self {
            actor: Actor::Anonymous,
            principal: None,
            session: None,
        };
        let Some((source, cred)) = credential(&parts.headers) else {
            return Ok(anonymous);
        };
        let p = match auth::resolve(state.accounts.as_ref(), &cred).await {
            Ok(p) => p,
            // A browser keeps an expired cookie around: it is simply signed out, so that
            // public pages still work. A bearer token was sent on purpose: refuse it.
            Err(Error::Unauthorized { .. }) if source == Source::Cookie => return Ok(anonymous),
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            actor: auth::actor_of(&p)?,
            principal: Some(p),
            session: cred.starts_with(auth::SESSION_PREFIX).then_some(cred),
        })
    }
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
        assert_eq!(
            problem(r#"{"amount":99999999999999999999999}"#),
            ("invalid_field".into(), f("amount"))
        );
        assert!(parse::<Grant>(br#"{"amount":5}"#).is_ok());
    }
}
