//! What an operator sees of the web service: request metrics (by route and status, with a
//! latency histogram), the `/metrics` page in the Prometheus text format, and `Secure` cookies
//! for requests that reached a proxy over HTTPS.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// HTTP requests answered, by `method`, `route` (the route's template, `unmatched` for
/// none) and `status`.
pub const REQUESTS: &str = "tally_http_requests_total";
/// How long requests took to answer, by `method` and `route`, in seconds.
pub const REQUEST_SECONDS: &str = "tally_http_request_duration_seconds";

/// Registers the help texts of the HTTP metrics.
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route and status"
    );
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "How long HTTP requests took to answer, by method and route"
    );
}

/// Renders the metrics in the Prometheus text format (the binary's exporter, with the
/// gauges it measures at scrape time: pools, followers' lag).
#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// The exposition, as of now.
    async fn render(&self) -> String;
}

/// Counts every request by its route's template (not its path: a label per member or job
/// would grow without bound) and status, and times it.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics` on the main listener: admins only (a session or an API token of an admin
/// account). A separate, unauthenticated listener serves the same ([`metrics_router`]).
pub(crate) async fn page(State(s): State<AppState>, caller: Caller) -> Response {
    let Some(source) = s.metrics.clone() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_metrics",
            "this server records no metrics",
        )
        .into_response();
    };
    if caller.principal.is_none() {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the metrics are for admins: log in, or send an admin's API token as a bearer token",
        )
        .into_response();
    }
    if !caller.actor.is_privileged() {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the metrics are for admins",
        )
        .into_response();
    }
    exposition(source.as_ref()).await
}

async fn exposition(source: &dyn MetricsSource) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        source.render().await,
    )
        .into_response()
}

/// A router serving only `GET /metrics`, unauthenticated: for a listener of its own
/// (`--metrics-listen`), reachable by the monitoring system and nobody else.
pub fn metrics_router(source: Arc<dyn MetricsSource>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let source = source.clone();
            async move { exposition(source.as_ref()).await }
        }),
    )
}

/// Whether the request reached the proxy in front of this server over HTTPS
/// (`X-Forwarded-Proto: https`, or `Forwarded: proto=https`).
fn over_https(req: &Request) -> bool {
    let h = req.headers();
    let forwarded_proto = h
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        });
    let forwarded = h
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split([';', ','])
                .any(|p| p.trim().eq_ignore_ascii_case("proto=https"))
        });
    forwarded_proto || forwarded
}

/// Marks every cookie set `Secure` when the request came over HTTPS (through a proxy that
/// says so), as `TALLY_SECURE_COOKIES` does for every request. Trusting the header costs
/// nothing: `Secure` only keeps a cookie off plain HTTP.
pub(crate) async fn secure_cookies(req: Request, next: Next) -> Response {
    let https = over_https(&req);
    let mut res = next.run(req).await;
    if !https {
        return res;
    }
    let all: Vec<HeaderValue> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    res.headers_mut().remove(header::SET_COOKIE);
    for c in all {
        let marked = match c.to_str() {
            Ok(s)
                if !s
                    .split(';')
                    .any(|a| a.trim().eq_ignore_ascii_case("secure")) =>
            {
                HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or(c)
            }
            _ => c,
        };
        res.headers_mut().append(header::SET_COOKIE, marked);
    }
    res
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if it is one.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    ok.then_some(trace)
}
