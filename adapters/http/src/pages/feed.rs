//! The global history feed, for admins: every event in one order, page by page.

use super::events::{self, Columns};
use super::page::Page;
use super::page::seg;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use tally_ports::{EntityKind, Error, NotFound};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/feed", get(feed))
        .route("/admin/events/{position}", get(event))
}

/// The event at a global position, shown where it happened: its entity as it was at the
/// version it made (a 303 to the entity's state page at that version). Fraud signals link
/// their events here.
async fn event(p: Page, Path(position): Path<String>) -> Response {
    let Some(position) = position.parse::<u64>().ok().filter(|n| *n >= 1) else {
        return p.error_page(
            Error::invalid(
                "position",
                "invalid_position",
                "an event's position is a whole number from 1",
            ),
            "Event",
            None,
        );
    };
    let page = match p.state.tally.feed(&p.ctx(), position - 1, 1).await {
        Ok(page) => page,
        Err(e) => return p.error_page(e, "Event", None),
    };
    let Some(e) = page.events.first().filter(|e| e.position == position) else {
        return p.error_page(
            Error::NotFound(NotFound::NoSuchPosition { position }),
            "Event",
            None,
        );
    };
    let to = format!(
        "/{}/{}/state?version={}",
        match e.stream.kind() {
            EntityKind::Member => "members",
            EntityKind::Job => "jobs",
        },
        seg(e.stream.key()),
        e.version
    );
    Redirect::to(&to).into_response()
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
