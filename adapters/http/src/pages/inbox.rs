//! The signed-in member's notifications: newest first, the unread marked, one or all marked
//! read. (The count of unread ones is in every page's header, see [`super::layout`].)

use super::forms::{self, Fields};
use super::page::Page;
use super::security::Flash;
use crate::AppState;
use crate::api::inbox::InboxParams;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use tally_ports::inbox::{InboxPage, MarkRead, NotificationView};
use uuid::Uuid;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(show))
        .route("/inbox/read", post(mark_all))
        .route("/inbox/{id}/read", post(mark_one))
}

const TITLE: &str = "Notifications";

fn item(p: &Page, n: &NotificationView) -> Markup {
    html! {
        li.notification.unread[n.unread()] data-id=(n.id) data-kind=(n.kind)
            data-unread=(n.unread()) data-job=[n.job.as_deref()] data-job-title=[n.job_title.as_deref()]
            data-member=[n.member.as_deref()] data-amount=[n.amount] data-reason=[n.reason.as_deref()]
            data-time=(super::events::exact(&n.time)) data-command-id=(n.command_id)
            data-read-at=[n.read_at.as_ref().map(super::events::exact)] {
            div.what {
                @if n.unread() { span.badge { "New" } " " }
                span data-text="summary" { (n.summary) }
                @if let (Some(job), Some(title)) = (&n.job, &n.job_title) {
                    " · " a href=(format!("/jobs/{}", super::page::seg(job))) { "Open " (title) }
                }
            }
            div.when {
                (super::events::ago(&n.time))
                @if n.unread() {
                    form.inline id=(format!("read-{}", n.id)) method="post" action=(format!("/inbox/{}/read", n.id)) {
                        (forms::hidden(p.csrf(), None))
                        button.link type="submit" aria-label=(format!("Mark read: {}", n.summary)) { "Mark read" }
                    }
                }
            }
        }
    }
}

fn body(p: &Page, page: &InboxPage, q: &InboxParams, unread_only: bool) -> Markup {
    html! {
        section #inbox data-member=(page.member) data-unread=(page.unread)
            data-next=[page.next.map(|n| n.to_string())] {
        h1 { (TITLE) }
        p #unread-summary data-unread=(page.unread) {
            @match page.unread {
                0 => "Nothing unread.",
                1 => "1 unread.",
                n => { (n) " unread." }
            }
        }
        nav.filters aria-label="Which notifications" {
            @if unread_only {
                a href="/inbox" { "All" } " · " strong aria-current="page" { "Unread" }
            } @else {
                strong aria-current="page" { "All" } " · " a href="/inbox?unread=true" { "Unread" }
            }
        }
        @if page.unread > 0 {
            form.inline #mark-all-read method="post" action="/inbox/read" {
                (forms::hidden(p.csrf(), None))
                button type="submit" { "Mark all read" }
            }
        }
        @if page.items.is_empty() {
            p #no-notifications {
                @if unread_only { "No unread notifications." }
                @else { "No notifications yet. You are told here when someone applies to your jobs, when you are accepted or paid, and when credits are granted to you." }
            }
        } @else {
            ul #notifications.notifications {
                @for n in &page.items { (item(p, n)) }
            }
        }
        @if let Some(next) = page.next {
            nav.pager aria-label="Pages" {
                a rel="next" href=(format!("/inbox?{}", q.older(next))) { "Older notifications" }
            }
        }
        p.hint { "Want these in your own tools too? " a #webhooks-link href="/webhooks" { "Send them to a webhook" } "." }
        }
    }
}

async fn show(p: Page, axum::extract::Query(q): axum::extract::Query<InboxParams>) -> Response {
    let query = match q.parse() {
        Ok(q) => q,
        Err(e) => return p.error_page(e, TITLE, None),
    };
    match p.state.tally.inbox(&p.ctx(), query.clone()).await {
        Ok(page) => p.ok(TITLE, body(&p, &page, &q, query.unread_only)),
        Err(e) => p.error_page(e, TITLE, None),
    }
}

async fn mark(p: Page, f: Fields, which: MarkRead) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    match p.state.tally.mark_read(&p.ctx(), which).await {
        Ok(n) => {
            let note = match (which, n) {
                (MarkRead::One(_), _) => "Marked read.".to_owned(),
                (MarkRead::All, 0) => "Nothing was unread.".to_owned(),
                (MarkRead::All, 1) => "1 notification marked read.".to_owned(),
                (MarkRead::All, n) => format!("{n} notifications marked read."),
            };
            p.see_other("/inbox", &Flash::note(&note))
        }
        Err(e) => p.error_page(e, TITLE, None),
    }
}

async fn mark_one(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    mark(p, f, MarkRead::One(id)).await
}

async fn mark_all(p: Page, f: Fields) -> Response {
    mark(p, f, MarkRead::All).await
}
