//! The stylesheet, compiled into the binary.

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../../static/tally.css");

/// FNV-1a of the stylesheet, at compile time: its URL changes whenever it does.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

const HASH: u64 = fnv(CSS.as_bytes());

/// Where the stylesheet is served: its name carries a hash of its content, so browsers may
/// cache it for good and still get a changed one at once.
pub(crate) static STYLESHEET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("/static/tally-{HASH:016x}.css"));

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET.as_str(), get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
}
