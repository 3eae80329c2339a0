//! The global history feed, for admins: every event in one order, page by page.

use super::events::{self, Columns};
use super::page::Page;
use crate::AppState;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/admin/feed", get(feed))
}

/// Which page: events after a position, at most `limit` (as typed; bad numbers mean the
/// defaults, as on the job board).
#[derive(Debug, Deserialize)]
struct Which {
    after: Option<String>,
    limit: Option<String>,
}

async fn feed(p: Page, Query(q): Query<Which>) -> Response {
    let after = q.after.and_then(|a| a.parse().ok()).unwrap_or(0u64);
    let limit = q
        .limit
        .and_then(|l| l.parse().ok())
        .unwrap_or(50usize)
        .clamp(1, 1000);
    let page = match p.state.tally.feed(&p.ctx(), after, limit).await {
        Ok(page) => page,
        Err(e) => return p.error_page(e, "History feed", None),
    };
    let next = format!("/admin/feed?after={}&limit={limit}", page.next_after);
    let body = html! {
        section #feed data-after=(after) data-limit=(limit) data-next-after=(page.next_after) {
            h1 { "History feed" }
            p { "Everything that happened, in the one global order. Showing up to " (limit)
                " events after position " (after) "." }
            (events::table("feed-events", "Events in global order", &page.events, Columns::Feed))
            p.actions {
                @if after > 0 { a href=(format!("/admin/feed?limit={limit}")) { "From the start" } " · " }
                @if page.events.is_empty() { span.muted { "You are up to date." } }
                @else { a.button href=(next) rel="next" { "Next events" } }
            }
        }
    };
    p.ok("History feed", body)
}
