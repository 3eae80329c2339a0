//! The global history feed, for admins: every event in one order, newest first (or oldest
//! first), page by page, filtered by event type, member and job; each event told in words,
//! with its job's title, and its whole envelope on demand.

use super::events;
use super::layout::{credits, words};
use super::page::Page;
use super::page::seg;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use tally_ports::feed::{FeedFilter, FeedRequest, FeedStart};
use tally_ports::{Actor, EntityKind, Error, FeedPage, NotFound, RecordedEvent, contracts};

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

/// The most events one page shows.
const MAX_PAGE: usize = 200;

/// Which page, as typed: the order (`newest`, the default, or `oldest`), a cursor (events
/// `after` or `before` a position), a size, and the filters (an event type, a member's
/// handle, a job's id).
#[derive(Debug, Default, Deserialize)]
struct Which {
    order: Option<String>,
    after: Option<String>,
    before: Option<String>,
    limit: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    member: Option<String>,
    job: Option<String>,
}

/// A page of the feed, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    newest_first: bool,
    start: FeedStart,
    limit: usize,
    event_type: Option<String>,
    member: Option<String>,
    job: Option<String>,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Which {
    fn view(&self) -> Result<View, Error> {
        let position = |name: &str, v: &Option<String>| {
            text(v)
                .map(|p| {
                    p.parse::<u64>().map_err(|_| {
                        Error::invalid(name, "invalid_query", "a position is a whole number")
                    })
                })
                .transpose()
        };
        let newest_first = text(&self.order).as_deref() != Some("oldest");
        let start = match (
            position("after", &self.after)?,
            position("before", &self.before)?,
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "before",
                    "conflicting_query",
                    "give after or before, not both",
                ));
            }
            (Some(a), None) => FeedStart::After(a),
            (None, Some(b)) => FeedStart::Before(b),
            (None, None) if newest_first => FeedStart::Before(u64::MAX),
            (None, None) => FeedStart::After(0),
        };
        let limit = text(&self.limit)
            .and_then(|l| l.parse().ok())
            .unwrap_or(50usize)
            .clamp(1, MAX_PAGE);
        let event_type = text(&self.event_type);
        if let Some(t) = &event_type
            && contracts::current_version(t).is_none()
        {
            return Err(Error::invalid(
                "type",
                "invalid_query",
                format!("there is no event type {t}"),
            ));
        }
        Ok(View {
            newest_first,
            start,
            limit,
            event_type,
            member: text(&self.member),
            job: text(&self.job),
        })
    }
}

impl View {
    fn request(&self) -> FeedRequest {
        FeedRequest {
            start: self.start,
            filter: FeedFilter {
                types: self.event_type.clone().into_iter().collect(),
                member: self.member.clone(),
                job: self.job.clone(),
                ..FeedFilter::default()
            },
            ..FeedRequest::after(0, self.limit)
        }
    }

    fn filtered(&self) -> bool {
        self.event_type.is_some() || self.member.is_some() || self.job.is_some()
    }

    /// The address of this view from `start` (`None`: its first page), in `newest_first`
    /// order.
    fn url(&self, newest_first: bool, start: Option<FeedStart>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !newest_first {
            pairs.push(("order", "oldest".into()));
        }
        match start {
            Some(FeedStart::After(p)) => pairs.push(("after", p.to_string())),
            Some(FeedStart::Before(p)) => pairs.push(("before", p.to_string())),
            _ => {}
        }
        if self.limit != 50 {
            pairs.push(("limit", self.limit.to_string()));
        }
        let filters = [
            ("type", &self.event_type),
            ("member", &self.member),
            ("job", &self.job),
        ];
        for (k, v) in filters {
            if let Some(v) = v {
                pairs.push((k, v.clone()));
            }
        }
        if pairs.is_empty() {
            return "/admin/feed".to_owned();
        }
        format!(
            "/admin/feed?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

/// The titles of the jobs a page's events concern, by id: from the launches on the page,
/// and for the others from each job's public view (one read per job, not per event).
async fn titles(p: &Page, events: &[RecordedEvent]) -> BTreeMap<String, String> {
    let mut titles = BTreeMap::new();
    let mut missing = Vec::new();
    for e in events {
        if e.event_type == "JobLaunched"
            && let Some(t) = e.payload["title"].as_str()
        {
            titles.insert(e.stream.key().to_owned(), t.to_owned());
        }
    }
    for e in events {
        let job = match e.stream.kind() {
            EntityKind::Job => Some(e.stream.key()),
            EntityKind::Member => e.payload["job"].as_str(),
        };
        if let Some(j) = job
            && !titles.contains_key(j)
            && !missing.contains(&j)
        {
            missing.push(j);
        }
    }
    let ctx = p.ctx();
    let tally = &p.state.tally;
    let found = futures::future::join_all(
        missing
            .iter()
            .map(|j| async { tally.job_participant_view(&ctx, j).await }),
    )
    .await;
    for v in found.into_iter().flatten() {
        titles.insert(v.job.id, v.job.title);
    }
    titles
}

fn member(h: &str) -> Markup {
    html! { a href=(format!("/members/{}/wallet", seg(h))) { (h) } }
}

fn job(id: &str, titles: &BTreeMap<String, String>) -> Markup {
    html! {
        @match titles.get(id) {
            Some(t) => a href=(format!("/jobs/{}", seg(id))) { "‘" (t) "’" },
            None => a href=(format!("/jobs/{}", seg(id))) { "a job" },
        }
    }
}

/// Who did it, as a sentence begins.
fn subject(a: &Actor) -> Markup {
    html! {
        @match a {
            Actor::Member(h) => (member(h.as_str())),
            Actor::Admin(n) if n == tally_ports::identity::ADMIN => "the admin",
            Actor::Admin(n) => { "admin " (n) },
            Actor::System(n) => { "the system process " (n) },
            Actor::Anonymous => "a visitor",
        }
    }
}

/// An event in words: "alice launched ‘Logo design’ (30 cr)", "the admin granted 100 cr to
/// carol: welcome".
fn sentence(e: &RecordedEvent, titles: &BTreeMap<String, String>) -> Markup {
    let p = &e.payload;
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
    let n = |k: &str| credits(p[k].as_u64().unwrap_or_default());
    let key = e.stream.key();
    let this_job = || match e.stream.kind() {
        EntityKind::Job => job(key, titles),
        EntityKind::Member => job(&s("job"), titles),
    };
    let who = subject(&e.actor);
    html! {
        @match e.event_type.as_str() {
            "MemberRegistered" => @if e.actor == Actor::Anonymous {
                (member(key)) " signed up as " q { (s("display_name")) }
            } @else {
                (who) " registered " (member(key)) " as " q { (s("display_name")) }
            },
            "CreditsGranted" => {
                (who) " granted " (n("amount")) " to " (member(key))
                @if !s("reason").is_empty() { ": " (s("reason")) }
            },
            "CreditsEscrowed" => { (n("amount")) " of " (member(key)) "’s went into escrow for " (this_job()) },
            "CreditsEarned" => { (member(key)) " earned " (n("amount")) " for " (this_job()) },
            "CreditsRefunded" => { (member(key)) " got " (n("amount")) " back from " (this_job()) },
            "EscrowReleased" => { (member(key)) "’s " (n("amount")) " in escrow for " (this_job()) " were paid out" },
            "JobLaunched" => { (who) " launched " (this_job()) " (" (n("reward")) ")" },
            "ApplicationSubmitted" => { (member(&s("participant"))) " applied to " (this_job()) },
            "ApplicationWithdrawn" => { (member(&s("participant"))) " withdrew from " (this_job()) },
            "ApplicantAccepted" => { (who) " accepted " (member(&s("participant"))) " for " (this_job()) },
            "JobCompleted" => { (who) " completed " (this_job()) " and paid " (member(&s("participant"))) " " (n("reward")) },
            "JobDescriptionEdited" => { (who) " edited the description of " (this_job()) },
            "JobCancelled" => {
                (who) " cancelled " (this_job())
                @if !s("reason").is_empty() { ": " (s("reason")) }
            },
            other => { (who) ": " (words(other)) " in " (e.stream) },
        }
    }
}

/// The whole envelope, on demand.
fn raw(e: &RecordedEvent) -> Markup {
    let mine = |k: &str, v: &str| {
        html! { a href=(format!("/admin/feed?{}", serde_urlencoded::to_string([(k, v)]).unwrap_or_default())) { "only its events" } }
    };
    html! {
        details.raw {
            summary { "Details" }
            dl.envelope {
                dt { "Event" } dd { strong { (words(&e.event_type)) } " · " code { (e.event_type) } " v" (e.schema_version) }
                dt { "Position" } dd { (e.position) }
                dt { "Stream" } dd { code { (e.stream) } " v" (e.version) }
                dt { "Entity" } dd {
                    a href=(events::entity_href(&e.stream)) { "its page" } " · "
                    @match e.stream.kind() {
                        EntityKind::Member => (mine("member", e.stream.key())),
                        EntityKind::Job => (mine("job", e.stream.key())),
                    }
                }
                dt { "Recorded" } dd { code { (events::exact(&e.time)) } }
                dt { "Actor" } dd { code { (e.actor) } }
                dt { "Event id" } dd { code { (e.event_id) } }
                dt { "Command" } dd { code { (e.command_id) } }
                dt { "Correlation" } dd { code { (e.correlation_id) } }
                dt { "Causation" } dd { code { (e.causation_id) } }
            }
            (events::details(&e.payload))
        }
    }
}

fn row(e: &RecordedEvent, titles: &BTreeMap<String, String>) -> Markup {
    html! {
        tr.event data-event-type=(e.event_type) data-actor=(e.actor) data-version=(e.version)
            data-position=(e.position) data-time=(events::exact(&e.time)) data-stream=(e.stream)
            data-event-id=(e.event_id) data-schema-version=(e.schema_version)
            data-command-id=(e.command_id) data-correlation-id=(e.correlation_id)
            data-causation-id=(e.causation_id) data-payload=(e.payload) {
            td.num data-label="#" { (e.position) }
            td data-label="When" { (events::ago(&e.time)) }
            td data-label="What happened" {
                p.sentence { (sentence(e, titles)) }
                (raw(e))
            }
        }
    }
}

/// The filter form: a GET form, keeping the order.
fn filters(v: &View) -> Markup {
    let selected = v.event_type.as_deref().unwrap_or_default();
    html! {
        form.search #feed-filters method="get" action="/admin/feed" role="search" {
            div.field.pair {
                div {
                    label for="type" { "Event" }
                    select #type name="type" {
                        option value="" selected[selected.is_empty()] { "Every event" }
                        @for spec in contracts::current() {
                            option value=(spec.name) selected[selected == spec.name] { (words(spec.name)) }
                        }
                    }
                }
                div {
                    label for="member" { "Member" }
                    input #member type="text" name="member" placeholder="a handle" value=(v.member.clone().unwrap_or_default());
                }
                div {
                    label for="job" { "Job" }
                    input #job type="text" name="job" placeholder="a job's id" value=(v.job.clone().unwrap_or_default());
                }
            }
            @if !v.newest_first { input type="hidden" name="order" value="oldest"; }
            @if v.limit != 50 { input type="hidden" name="limit" value=(v.limit); }
            button type="submit" { "Filter" }
            @if v.filtered() {
                " " a href=(View { event_type: None, member: None, job: None, ..v.clone() }.url(v.newest_first, None)) { "Every event" }
            }
        }
    }
}

/// The links to the pages beside this one, in the order shown.
fn pager(v: &View, page: &FeedPage) -> Markup {
    let full = page.events.len() == v.limit;
    let (has_lower, has_higher) = match v.start {
        FeedStart::Before(b) => (full, b != u64::MAX),
        FeedStart::After(a) => (a > 0, full),
        FeedStart::AfterEvent(_) => (true, full),
    };
    let (lowest, highest) = match (page.events.first(), page.events.last()) {
        (Some(f), Some(l)) => (f.position, l.position),
        _ => (page.after + 1, page.after),
    };
    // Nothing precedes the first event of the history.
    let lower =
        (has_lower && lowest > 1).then(|| v.url(v.newest_first, Some(FeedStart::Before(lowest))));
    let higher = has_higher.then(|| v.url(v.newest_first, Some(FeedStart::After(highest))));
    let first_page = v.url(v.newest_first, None);
    html! {
        nav.pager aria-label="Pages" {
            @if v.newest_first {
                @if let Some(h) = &higher { a rel="prev" href=(h) { "← Newer events" } " " a href=(first_page) { "Newest" } }
                @if let Some(l) = &lower { " " a rel="next" href=(l) { "Older events →" } }
            } @else {
                @if let Some(l) = &lower { a rel="prev" href=(l) { "← Earlier events" } " " a href=(first_page) { "From the start" } }
                @if let Some(h) = &higher { " " a rel="next" href=(h) { "Later events →" } }
                @else { " " span.muted { "You are up to date." } }
            }
        }
    }
}

async fn feed(p: Page, Query(q): Query<Which>) -> Response {
    let v = match q.view() {
        Ok(v) => v,
        Err(e) => return p.error_page(e, "History feed", None),
    };
    let page = match p.state.tally.read_feed(&p.ctx(), v.request()).await {
        Ok(page) => page,
        Err(e) => return p.error_page(e, "History feed", None),
    };
    let titles = titles(&p, &page.events).await;
    let shown: Vec<&RecordedEvent> = if v.newest_first {
        page.events.iter().rev().collect()
    } else {
        page.events.iter().collect()
    };
    let order = if v.newest_first { "newest" } else { "oldest" };
    let body = html! {
        section #feed data-after=(page.after) data-limit=(v.limit) data-next-after=(page.next_after)
            data-order=(order) {
            h1 { "History feed" }
            p { "Everything that happened, in the one global order. " (events::zone_note(&p.here)) }
            nav.tabs aria-label="Order" {
                ul {
                    li { a href=(v.url(true, None)) aria-current=[v.newest_first.then_some("page")] { "Newest first" } }
                    li { a href=(v.url(false, None)) aria-current=[(!v.newest_first).then_some("page")] { "Oldest first" } }
                }
            }
            (filters(&v))
            div.table-wrap {
                table.events #feed-events {
                    caption.visually-hidden { "Events, " (if v.newest_first { "newest first" } else { "oldest first" }) }
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { "When" }
                        th scope="col" { "What happened" }
                    } }
                    tbody {
                        @if shown.is_empty() {
                            tr { td colspan="3" {
                                @if v.filtered() { "No event matches these filters." } @else { "Nothing here." }
                            } }
                        }
                        @for e in &shown { (row(e, &titles)) }
                    }
                }
            }
            (pager(&v, &page))
        }
    };
    p.ok("History feed", body)
}
