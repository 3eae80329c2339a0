//! The stylesheet, compiled into the binary.

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Where the stylesheet is served. Its name carries a version: change it with the file, and
/// browsers may cache it for good.
pub(crate) const STYLESHEET: &str = "/static/tally-1.css";

const CSS: &str = include_str!("../../static/tally.css");

pub(crate) fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET, get(stylesheet))
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
