//! The global history feed, for admins and service tokens.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Query};
use crate::links::{API, Linked, Links};
use crate::openapi::schema::FeedDoc;
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn router() -> Routes {
    Routes::new().get("/api/v1/feed", feed)
}

/// Which page of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedQuery {
    /// The position to read after (0: from the start).
    #[serde(default)]
    after: u64,
    /// At most this many events (default 100, at most 1000).
    limit: Option<usize>,
}

/// Events in global order after a position (admins only). Tail it by following `next`.
#[utoipa::path(get, path = "/api/v1/feed", tag = "feed", params(FeedQuery),
    responses((status = 200, description = "A page of the feed", body = FeedDoc), Problems))]
async fn feed(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let page = s.tally.feed(&ctx, q.after, limit).await?;
    let links = Links::new()
        .get(
            "self",
            format!("{API}/feed?after={}&limit={limit}", q.after),
        )
        .get(
            "next",
            format!("{API}/feed?after={}&limit={limit}", page.next_after),
        );
    Ok(Json(Linked { body: page, links }).into_response())
}
