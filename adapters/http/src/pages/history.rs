//! An entity's history (every event with what, when and who) and time travel: its state as
//! of an earlier version or time.

use super::events::{self, Columns, time};
use super::forms::{Field, Fields, Kind};
use super::layout::credits;
use super::page::{Page, seg};
use super::zone;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::{AsOf, EntityKind, EntityRef, Error, Snapshot, State};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/members/{key}/history", get(member_history))
        .route("/jobs/{key}/history", get(job_history))
        .route("/members/{key}/state", get(member_state))
        .route("/jobs/{key}/state", get(job_state))
}

fn base(e: &EntityRef) -> String {
    match e.kind {
        EntityKind::Member => format!("/members/{}", seg(&e.key)),
        EntityKind::Job => format!("/jobs/{}", seg(&e.key)),
    }
}

fn name(e: &EntityRef) -> String {
    match e.kind {
        EntityKind::Member => format!("@{}'s wallet", e.key),
        EntityKind::Job => "the job".to_owned(),
    }
}

/// A date or date-and-time input, labelled, with its hint and the error when it is the one
/// refused (as [`Field`] renders the other fields).
fn moment_field(
    name: &str,
    label: &str,
    kind: &str,
    hint: &str,
    value: &str,
    err: Option<&Error>,
) -> Markup {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let invalid = matches!(err, Some(Error::Invalid(v)) if v.field == name);
    let described = if invalid {
        format!("{hint_id} error")
    } else {
        hint_id.clone()
    };
    html! {
        div.field.invalid[invalid] {
            label for=(id) { (label) }
            p.hint id=(hint_id) { (hint) }
            input id=(id) name=(name) type=(kind) value=(value) step=[(kind == "datetime-local").then_some("1")]
                aria-describedby=(described) aria-invalid=[invalid.then_some("true")];
        }
    }
}

/// What a `datetime-local` field shows for `at` as sent: itself when it is a local time
/// already, else (an exact time from a link) that moment in the viewer's zone.
fn local_value(at: &str) -> String {
    match DateTime::parse_from_rfc3339(at.trim()) {
        Ok(t) => t
            .with_timezone(&zone::viewer())
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
        Err(_) => at.to_owned(),
    }
}

/// The time-travel forms (GET: looking is not a command): by version, by a day, or by a
/// date and time, both read in the viewer's zone.
fn travel_forms(p: &Page, e: &EntityRef, values: &Fields, err: Option<&Error>) -> Markup {
    let action = format!("{}/state", base(e));
    let tz = zone::viewer();
    html! {
        section.card aria-labelledby="travel-title" {
            h2 #travel-title { "Time travel" }
            p.muted { (events::zone_note(&p.here)) }
            div.three {
                form #version-form method="get" action=(action) novalidate {
                    (Field::new("version", "As of version", Kind::Number)
                        .hint("1 is the state after the first event.").render(values, err))
                    div.actions { button type="submit" { "Show" } }
                }
                form #day-form method="get" action=(action) novalidate {
                    (moment_field("on", "As of the end of a day", "date",
                        &format!("Everything recorded by midnight ending that day, in {}.", tz.name()),
                        values.get("on"), err))
                    div.actions { button type="submit" { "Show" } }
                }
                form #time-form method="get" action=(action) novalidate {
                    (moment_field("at", "As of a date and time", "datetime-local",
                        &format!("In {}, to the minute or the second.", tz.name()),
                        &local_value(values.get("at")), err))
                    div.actions { button type="submit" { "Show" } }
                }
            }
        }
    }
}

async fn history(p: Page, e: EntityRef) -> Response {
    let title = format!("History of {}", name(&e));
    match p.state.tally.history(&p.ctx(), &e).await {
        Ok(events) => {
            let back = match e.kind {
                EntityKind::Member => format!("{}/wallet", base(&e)),
                EntityKind::Job => base(&e),
            };
            let body = html! {
                h1 { (title) }
                p { a href=(back) { "Back to " (name(&e)) } }
                (travel_forms(&p, &e, &Fields::default(), None))
                (events::table("history", "Every event, oldest first", &events, Columns::Entity))
            };
            p.ok(&title, body)
        }
        Err(err) => p.error_page(err, &title, None),
    }
}

async fn member_history(p: Page, Path(key): Path<String>) -> Response {
    history(p, EntityRef::member(key)).await
}

async fn job_history(p: Page, Path(key): Path<String>) -> Response {
    history(p, EntityRef::job(key)).await
}

/// `?version=N`, `?on=<day>` or `?at=<time>`, as typed (a day and a local time in the
/// viewer's zone; `at` may also be an exact RFC 3339 time, as links carry it).
#[derive(Debug, Deserialize)]
struct When {
    #[serde(default)]
    version: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    at: String,
}

impl When {
    fn as_of(&self) -> Result<AsOf, Error> {
        let (v, on, at) = (self.version.trim(), self.on.trim(), self.at.trim());
        let given = [!v.is_empty(), !on.is_empty(), !at.is_empty()];
        let bad = |field: &str, m: String| Error::invalid(field, "invalid_as_of", m);
        match given {
            [true, false, false] => v
                .parse()
                .map(AsOf::version)
                .map_err(|_| bad("version", "a version is a whole number from 1".into())),
            [false, true, false] => NaiveDate::parse_from_str(on, "%Y-%m-%d")
                .map_err(|_| bad("on", "a day is a date, e.g. 2025-03-01".into()))
                .and_then(|_| zone::parse_local(on, zone::viewer()).map_err(|m| bad("on", m)))
                .map(AsOf::time),
            [false, false, true] => zone::parse_local(at, zone::viewer())
                .map(AsOf::time)
                .map_err(|m| bad("at", m)),
            _ => Err(bad(
                "version",
                "give one of a version, a day or a date and time".into(),
            )),
        }
    }
}

async fn state(p: Page, e: EntityRef, w: When) -> Response {
    let title = match e.kind {
        EntityKind::Member => format!("@{}'s wallet back then", e.key),
        EntityKind::Job => "The job back then".to_owned(),
    };
    let values = Fields::from_pairs([
        ("version", w.version.as_str()),
        ("on", w.on.as_str()),
        ("at", w.at.as_str()),
    ]);
    let result = match w.as_of() {
        Ok(at) => p.state.tally.state_as_of(&p.ctx(), &e, at).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(s) => {
            let body = html! {
                h1 { (title) }
                (snapshot(&e, &s))
                (travel_forms(&p, &e, &values, None))
            };
            p.ok(&title, body)
        }
        Err(err) => {
            let forms = travel_forms(&p, &e, &values, Some(&err));
            p.error_page(err, &title, Some(forms))
        }
    }
}

async fn member_state(p: Page, Path(key): Path<String>, Query(w): Query<When>) -> Response {
    state(p, EntityRef::member(key), w).await
}

async fn job_state(p: Page, Path(key): Path<String>, Query(w): Query<When>) -> Response {
    state(p, EntityRef::job(key), w).await
}

/// The state then: its main figures for people, and all of it as JSON for the curious.
fn snapshot(e: &EntityRef, s: &Snapshot) -> Markup {
    let kind = match &s.state {
        State::Member(_) => "member",
        State::Job(_) => "job",
    };
    let json = serde_json::to_string_pretty(&s.state).unwrap_or_default();
    let nav = |v: u64| format!("{}/state?version={v}", base(e));
    html! {
        section #snapshot .card data-stream=(s.stream) data-version=(s.version)
            data-latest-version=(s.latest_version)
            data-time=(events::exact(&s.time)) data-kind=(kind) aria-labelledby="snap-title" {
            h2 #snap-title { "Version " (s.version) ", recorded " (time(&s.time)) }
            @match &s.state {
                State::Member(w) => dl.figures {
                    div { dt { "Available" } dd { (credits(w.balance.get())) } }
                    div { dt { "In escrow" } dd { (credits(w.escrowed().get())) } }
                    div { dt { "Granted so far" } dd { (credits(w.total_granted.get())) } }
                },
                State::Job(j) => dl.figures {
                    div { dt { "Status" } dd { (super::jobs::status(j.status)) } }
                    div { dt { "Applications" } dd { (j.applications.len()) } }
                    div { dt { "Participant" } dd { (j.accepted.as_ref().map_or("none".to_owned(), |h| format!("@{h}"))) } }
                },
            }
            p {
                @if s.version > 1 { a href=(nav(s.version - 1)) { "← Version " (s.version - 1) } " · " }
                @if s.version < s.latest_version {
                    a href=(nav(s.version + 1)) { "Version " (s.version + 1) " →" } " · "
                }
                "latest: version " (s.latest_version)
                " · " a href=(format!("{}/history", base(e))) { "Whole history" }
            }
            details {
                summary { "The whole state, as recorded" }
                pre #state-json data-text="state" { (json) }
            }
        }
    }
}
