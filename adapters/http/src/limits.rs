//! What the service refuses before a handler runs: a body declared larger than the limit
//! (413 at once, without waiting for a body that may never come), requests that take too long
//! (408, as a problem), and too many sign-up or log-in attempts from one client (429).

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

/// Refuses a request whose `Content-Length` exceeds the body limit, before reading any of it.
pub(crate) async fn declared_length(
    State(s): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = s.config.body_limit as u64;
    match declared {
        Some(n) if n > limit => too_large(limit),
        _ => next.run(req).await,
    }
}

pub(crate) fn too_large(limit: u64) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than this service accepts ({limit} bytes)"),
    )
    .into_response()
}

/// The timeout layer answers an empty 408: make it a problem that says what to do.
pub(crate) async fn timeout_problem(
    State(s): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::REQUEST_TIMEOUT
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request took longer than {} s and was abandoned; a command may or may not \
             have been recorded: repeat it with the same Idempotency-Key to learn its outcome",
            s.config.request_timeout.as_secs()
        ),
    )
    .into_response()
}

/// Attempts to sign up or log in, per client address, and log-in attempts per account
/// (whoever makes them: a guesser spread over many addresses is still stopped).
pub struct AuthLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    per_minute: u32,
    accounts: DefaultKeyedRateLimiter<String>,
    per_account: u32,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN))
}

/// `Ok`, or how many seconds to wait.
fn check<K: Clone + std::hash::Hash + Eq>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), u64> {
    // Forget keys that are back to a full allowance, now and then.
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1)
    })
}

impl AuthLimiter {
    /// At most `per_minute` attempts a minute from one address, and `per_account` log-in
    /// attempts a minute naming one account (bursts of as many).
    pub fn per_minute(per_minute: u32, per_account: u32) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota(per_minute)),
            per_minute,
            accounts: RateLimiter::keyed(quota(per_account)),
            per_account,
        }
    }
}

/// 429 with `Retry-After`.
fn too_many(wait: u64, detail: String) -> Response {
    let mut res =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Counts a log-in attempt naming `name` (as typed, case folded): `Err` with the 429 to
/// answer when that account has had too many this minute. The password is not checked then,
/// so a guesser learns nothing more, whatever it sends.
pub(crate) fn login_attempt(s: &AppState, name: &str) -> Result<(), Box<Response>> {
    let key = name.trim().to_lowercase();
    check(&s.auth_limiter.accounts, &key).map_err(|wait| {
        Box::new(too_many(
            wait,
            format!(
                "too many log-in attempts for this account ({} a minute); try again in {wait} s",
                s.auth_limiter.per_account
            ),
        ))
    })
}

/// Whether a request is an attempt to sign up or log in (the API's and the pages').
fn is_attempt(req: &Request) -> bool {
    use tally_api::paths::{SESSION, SIGNUP};
    req.method() == Method::POST
        && matches!(req.uri().path(), SESSION | SIGNUP | "/login" | "/signup")
}

/// Limits sign-up and log-in attempts per client address: 429 beyond, with `Retry-After`.
/// The address is the connection's peer: behind a reverse proxy, every client shares the
/// proxy's (see the README).
pub(crate) async fn auth_attempts(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !is_attempt(&req) {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match check(&s.auth_limiter.limiter, &ip) {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(
            wait,
            format!(
                "too many sign-up or log-in attempts from your address ({} a minute); \
                 try again in {wait} s",
                s.auth_limiter.per_minute
            ),
        ),
    }
}
