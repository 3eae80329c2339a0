//! The global history feed, for admins and `feed:read` service tokens, following the
//! http-feeds conventions: a batch of CloudEvents per page (see [`tally_api::cloudevents`]),
//! resumed after a position or an event id, long-polled, filtered, and cached forever once a
//! page is full.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Query};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use blake2::{Blake2s256, Digest};
use serde::Deserialize;
use std::time::Duration;
use tally_api::cloudevents::{BATCH, CloudEvent};
use tally_api::paths;
use tally_ports::feed::{FeedFilter, FeedRequest, FeedStart, MAX_LIMIT, MAX_WAIT};
use tally_ports::{EntityKind, Error, contracts};
use utoipa::IntoParams;
use uuid::Uuid;

/// `Cache-Control` of a full page: its events and their order never change, and the feed is
/// authenticated, so only the caller's own cache may keep it.
pub(crate) const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// Which page of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FeedQuery {
    /// The position to read after (0: from the start).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807i64)]
    after: Option<u64>,
    /// The id of the last event read (http-feeds): read after its position. Not with `after`.
    #[serde(rename = "lastEventId")]
    #[param(rename = "lastEventId")]
    last_event_id: Option<Uuid>,
    /// At most this many events (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
    /// Long poll: when no event is there yet, wait up to this many milliseconds (at most
    /// 60000) for one to commit.
    #[param(minimum = 0, maximum = 60000)]
    timeout: Option<u64>,
    /// Only these event types, comma-separated (e.g. `JobLaunched,JobCompleted`); empty: all.
    #[param(schema_with = types_schema)]
    types: Option<String>,
    /// Only these entity kinds, comma-separated (`member`, `job`); empty: all.
    #[param(schema_with = kinds_schema)]
    kinds: Option<String>,
    /// Only the events that concern this member (a handle): their wallet's, those they did,
    /// and those naming them as a job's owner or participant.
    member: Option<String>,
    /// Only the events that concern this job (an id): its own, and the wallets' naming it.
    job: Option<String>,
    /// Read backwards: the page of events just before this position, still in global
    /// order (a position past the head: the newest). Follow the `prev` link for the page
    /// before. Not with `after`, `lastEventId` or `timeout`.
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807i64)]
    before: Option<u64>,
}

/// A comma-separated list of some of `words`, or nothing, as a pattern.
fn list_pattern<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let one = words.into_iter().collect::<Vec<_>>().join("|");
    format!("^$|^({one})(,({one}))*$")
}

fn types_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let pattern = list_pattern(contracts::current().map(|s| s.name));
    tally_ports::schema::openapi(serde_json::json!({"type": "string", "pattern": pattern}))
}

fn kinds_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let pattern = list_pattern(EntityKind::ALL.iter().map(|k| k.as_str()));
    tally_ports::schema::openapi(serde_json::json!({"type": "string", "pattern": pattern}))
}

fn invalid(field: &str, message: String) -> ApiError {
    Error::invalid(field, "invalid_query", message).into()
}

/// A comma-separated list, each item parsed exactly (as the published pattern says); empty
/// when absent or empty.
fn list<T>(
    field: &str,
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ApiError> {
    v.filter(|s| !s.is_empty())
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(|s| parse(s).map_err(|m| invalid(field, m)))
        .collect()
}

impl FeedQuery {
    fn request(&self) -> Result<(FeedRequest, usize), ApiError> {
        let limit = super::within("limit", self.limit.unwrap_or(100), 1, MAX_LIMIT as u64)?;
        let conflict = |message: &'static str, field: &'static str| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "conflicting_query",
                message,
            )
            .with_field(field)
        };
        if self.before.is_some() {
            if self.after.is_some() || self.last_event_id.is_some() {
                return Err(conflict(
                    "give before, or after (or lastEventId), not both",
                    "before",
                ));
            }
            if self.timeout.is_some_and(|t| t > 0) {
                return Err(conflict(
                    "a read before a position answers at once: no timeout",
                    "timeout",
                ));
            }
        }
        let start = match (self.after, self.last_event_id) {
            _ if self.before.is_some() => FeedStart::Before(super::within(
                "before",
                self.before.unwrap_or_default(),
                1,
                super::MAX_POSITION,
            )? as u64),
            // Each is valid alone; together they may disagree, so neither is guessed at.
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "conflicting_query",
                    "give either after (a position) or lastEventId (an event id), not both",
                )
                .with_field("lastEventId"));
            }
            (_, Some(id)) => FeedStart::AfterEvent(id),
            (after, None) => {
                FeedStart::After(
                    super::within("after", after.unwrap_or(0), 0, super::MAX_POSITION)? as u64,
                )
            }
        };
        let max_ms = MAX_WAIT.as_millis() as u64;
        let wait = super::within("timeout", self.timeout.unwrap_or(0), 0, max_ms)? as u64;
        let types = list("types", self.types.as_deref(), |t| {
            contracts::current_version(t)
                .map(|_| t.to_owned())
                .ok_or_else(|| format!("there is no event type {t} (see {})", paths::SCHEMAS))
        })?;
        let kinds = list("kinds", self.kinds.as_deref(), |k| {
            EntityKind::parse(k).map_err(|_| format!("{k} is not an entity kind (member, job)"))
        })?;
        let req = FeedRequest {
            start,
            limit,
            filter: FeedFilter {
                types,
                kinds,
                member: self.member.clone().filter(|m| !m.is_empty()),
                job: self.job.clone().filter(|j| !j.is_empty()),
            },
            wait: Duration::from_millis(wait),
        };
        Ok((req, limit))
    }

    /// The stable URL of the page after `after`, with this query's size and filters.
    fn url(&self, after: u64, limit: usize) -> String {
        self.url_at("after", after, limit)
    }

    /// The URL of the page `at` (`after` or `before`) `position`, with this query's size
    /// and filters.
    fn url_at(&self, at: &str, position: u64, limit: usize) -> String {
        let mut url = format!("{}?{at}={position}&limit={limit}", paths::FEED);
        // Types and kinds are names of the published lists, as they were given; a member's
        // handle and a job's id are whatever was sent, encoded.
        for (k, v) in [("types", &self.types), ("kinds", &self.kinds)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                url.push_str(&format!("&{k}={v}"));
            }
        }
        for (k, v) in [("member", &self.member), ("job", &self.job)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                let pair = serde_urlencoded::to_string([(k, v)]).unwrap_or_default();
                url.push_str(&format!("&{pair}"));
            }
        }
        url
    }
}

/// Whether an `If-None-Match` header names `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Events in global order after a position or an event id, as a batch of CloudEvents (an
/// empty batch: caught up). Follow the `next` link (or ask `lastEventId=<last id>`); add
/// `timeout=<ms>` to wait for the next event instead of asking again. Only events that no
/// transaction still in flight can precede are shown, so a reader never misses one. A full
/// page never changes: it is served with an `ETag` and as cacheable forever (privately);
/// the page at the head is not cacheable. Admins, and API tokens with the `feed:read` scope.
#[utoipa::path(get, path = paths::FEED, tag = "feed", operation_id = "feed", params(FeedQuery),
    responses(
        (status = 200, description = "A page of the feed: CloudEvents in global order",
         body = [CloudEvent], content_type = "application/cloudevents-batch+json",
         headers(("ETag" = String, description = "The page's entity tag"),
                 ("Link" = String, description = "`self` and `next` pages (RFC 8288)"),
                 ("Cache-Control" = String, description = "Immutable when the page is full"))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        Problems))]
pub(crate) async fn feed(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let (req, limit) = q.request()?;
    // A member's handle or a job's id that is no such thing: 422 (any text fits the schema).
    let page = s
        .tally
        .read_feed(&ctx, req)
        .await
        .map_err(super::unprocessable)?;
    let full = page.events.len() == limit;
    let backwards = q.before.is_some();
    let first = page.events.first().map(|e| e.position);
    let events: Vec<CloudEvent> = page.events.into_iter().map(CloudEvent::from).collect();
    let body = serde_json::to_vec(&events).map_err(|e| Error::infrastructure(e.to_string()))?;
    let etag = format!("\"{:x}\"", Blake2s256::digest(&body));
    // A page read backwards links to itself, the page after it and, when full, the page
    // before its first event.
    let link = if backwards {
        {
            let mut link = format!(
                "<{}>; rel=\"self\", <{}>; rel=\"next\"",
                q.url_at("before", q.before.unwrap_or_default(), limit),
                q.url(page.next_after, limit)
            );
            if let Some(f) = first.filter(|_| full) {
                link.push_str(&format!(
                    ", <{}>; rel=\"prev\"",
                    q.url_at("before", f, limit)
                ));
            }
            link
        }
    } else {
        format!(
            "<{}>; rel=\"self\", <{}>; rel=\"next\"",
            q.url(page.after, limit),
            q.url(page.next_after, limit)
        )
    };
    // A page read backwards may still grow at its top (a `before` past the head).
    let cache = if full && !backwards {
        IMMUTABLE
    } else {
        "no-store"
    };
    let mut out = HeaderMap::new();
    let value =
        |s: &str| HeaderValue::from_str(s).map_err(|e| Error::infrastructure(e.to_string()));
    out.insert(header::ETAG, value(&etag)?);
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::LINK, value(&link)?);
    out.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Cookie"),
    );
    if matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(BATCH));
    Ok((StatusCode::OK, out, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_patterns_name_every_type_and_kind() {
        let p = list_pattern(["A", "B"]);
        assert_eq!(p, "^$|^(A|B)(,(A|B))*$");
        let types = serde_json::to_value(types_schema()).unwrap();
        for spec in contracts::current() {
            assert!(types["pattern"].as_str().unwrap().contains(spec.name));
        }
        let kinds = serde_json::to_value(kinds_schema()).unwrap();
        assert_eq!(kinds["pattern"], "^$|^(member|job)(,(member|job))*$");
    }
}
