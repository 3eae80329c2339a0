//! The global history feed, for admins and service tokens.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Query};
use crate::links::{Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_ports::{RecordedEvent, contracts};
use utoipa::{IntoParams, ToSchema};

/// One event of the feed: the envelope and the payload, at the current version of its type
/// (older stored versions are upcast), and the schema its payload follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    /// The event.
    #[serde(flatten)]
    pub event: RecordedEvent,
    /// The `$id` of the payload's JSON Schema (`urn:tally:event:<Type>:v<N>`, served at
    /// `/api/v1/schemas/<Type>/<N>`), as CloudEvents' `dataschema`.
    pub dataschema: String,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedBody {
    /// Events in global order.
    pub events: Vec<FeedItem>,
    /// The position to ask after for the next page.
    pub next_after: u64,
}

/// Which page of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedQuery {
    /// The position to read after (0: from the start).
    #[serde(default)]
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807i64)]
    after: u64,
    /// At most this many events (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

/// Events in global order after a position (admins only). Tail it by following `next`.
#[utoipa::path(get, path = paths::FEED, tag = "feed", operation_id = "feed", params(FeedQuery),
    responses((status = 200, description = "A page of the feed", body = Linked<FeedBody>), Problems))]
pub(crate) async fn feed(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let limit = super::within("limit", q.limit.map_or(100, u64::from), 1, 1000)?;
    let after = super::within("after", q.after, 0, super::MAX_POSITION)?;
    let page = s.tally.feed(&ctx, after as u64, limit).await?;
    let links = Links::new()
        .get(
            "self",
            format!("{}?after={}&limit={limit}", paths::FEED, q.after),
        )
        .get(
            "next",
            format!("{}?after={}&limit={limit}", paths::FEED, page.next_after),
        );
    let body = FeedBody {
        events: page
            .events
            .into_iter()
            .map(|event| FeedItem {
                dataschema: contracts::schema_id(&event.event_type, event.schema_version),
                event,
            })
            .collect(),
        next_after: page.next_after,
    };
    Ok(Json(Linked { body, links }).into_response())
}
