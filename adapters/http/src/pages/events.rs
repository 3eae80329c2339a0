//! Histories as tables: every event with what, when, who, and its details. Each row carries
//! the whole envelope in `data-*` attributes (type, actor, version, position, time, ids).

use super::layout::{who, words};
use super::page::seg;
use super::zone;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};
use serde_json::Value;
use tally_ports::{Actor, EntityKind, RecordedEvent, StreamId};

/// A time: exact (to the nanosecond) in `datetime` and `data-time`, to the second for people.
pub(crate) fn exact(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The exact time in the viewer's zone, with the zone's name: a `<time>`'s title.
fn exact_local(t: &DateTime<Utc>) -> String {
    let z = zone::viewer();
    let local = t.with_timezone(&z);
    format!("{} ({})", local.format("%Y-%m-%d %H:%M:%S%.f %Z"), z.name())
}

/// A time for people: in the viewer's zone, to the second, with the zone's abbreviation
/// (`2026-12-02 15:03:04 CET`); exact, in UTC, in `datetime`, and exact in the zone in `title`.
pub(crate) fn time(t: &DateTime<Utc>) -> Markup {
    let local = t.with_timezone(&zone::viewer());
    html! {
        time datetime=(exact(t)) title=(exact_local(t)) { (local.format("%Y-%m-%d %H:%M:%S %Z")) }
    }
}

/// A day for people, in the viewer's zone (`2026-12-02`), exact in `datetime` and `title`.
pub(crate) fn date(t: &DateTime<Utc>) -> Markup {
    let local = t.with_timezone(&zone::viewer());
    html! { time datetime=(exact(t)) title=(exact_local(t)) { (local.format("%Y-%m-%d")) } }
}

/// A recent time as people say it (`3 hours ago`; an older one as its day), exact in
/// `datetime` and `title`.
pub(crate) fn ago(t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(exact(t)) title=(exact_local(t)) { (relative(t, &Utc::now())) } }
}

/// How long before `now` `t` was, in words; a week or more before, its day in the viewer's
/// zone.
pub(crate) fn relative(t: &DateTime<Utc>, now: &DateTime<Utc>) -> String {
    let d = *now - *t;
    let n = |k: i64, unit: &str| {
        if k == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{k} {unit}s ago")
        }
    };
    match d.num_seconds() {
        // A little ahead of this clock (another server's) reads as now.
        ..45 => "just now".to_owned(),
        45..90 => n(1, "minute"),
        s if s < 3600 => n((s + 30) / 60, "minute"),
        s if s < 86_400 => n(s / 3600, "hour"),
        s if s < 2 * 86_400 => "yesterday".to_owned(),
        s if s < 7 * 86_400 => n(s / 86_400, "day"),
        _ => format!("on {}", t.with_timezone(&zone::viewer()).format("%Y-%m-%d")),
    }
}

/// `times in UTC · change`, linking to the settings and back to `here`.
pub(crate) fn zone_note(here: &str) -> Markup {
    zone::note(here)
}

/// Where an entity's pages are.
pub(crate) fn entity_href(s: &StreamId) -> String {
    match s.kind() {
        EntityKind::Member => format!("/members/{}/wallet", seg(s.key())),
        EntityKind::Job => format!("/jobs/{}", seg(s.key())),
    }
}

/// An actor; a member linked to their open jobs on the board, a page anyone may open (their
/// wallet is only theirs and the admins').
pub(crate) fn actor(a: &Actor) -> Markup {
    html! {
        @match a {
            Actor::Member(h) => a href=(format!("/jobs?owner={}", seg(h.as_str()))) title=(format!("Open jobs by @{h}")) { "@" (h) },
            Actor::Anonymous => span { "a visitor (signing up)" },
            other => span { (who(other)) },
        }
    }
}

/// What the event says, as `name: value` pairs.
pub(crate) fn details(payload: &Value) -> Markup {
    let Value::Object(m) = payload else {
        return html! { code { (payload) } };
    };
    html! {
        dl.payload {
            @for (k, v) in m {
                dt { (k.replace('_', " ")) }
                dd {
                    @match v {
                        Value::String(s) if k == "job" => a href=(format!("/jobs/{}", seg(s))) { code { (s) } },
                        Value::String(s) => (s),
                        Value::Null => span.muted { "none" },
                        other => (other),
                    }
                }
            }
        }
    }
}

/// Which columns a history table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Columns {
    /// One entity's history: numbered by version, each with a link to the state after it.
    Entity,
    /// The global feed: numbered by position, naming each event's entity.
    Feed,
}

/// A table of events, oldest first.
pub(crate) fn table(id: &str, caption: &str, events: &[RecordedEvent], cols: Columns) -> Markup {
    html! {
        div.table-wrap {
            table.events id=(id) {
                caption { (caption) }
                thead {
                    tr {
                        th scope="col" { @if cols == Columns::Feed { "Position" } @else { "Version" } }
                        th scope="col" { "When" }
                        th scope="col" { "What happened" }
                        th scope="col" { "Who" }
                        @if cols == Columns::Feed { th scope="col" { "Entity" } }
                        th scope="col" { "Details" }
                    }
                }
                tbody {
                    @if events.is_empty() {
                        tr { td colspan="6" { "Nothing has happened yet." } }
                    }
                    @for e in events { (row(e, cols)) }
                }
            }
        }
    }
}

fn row(e: &RecordedEvent, cols: Columns) -> Markup {
    let state_href = match e.stream.kind() {
        EntityKind::Member => format!(
            "/members/{}/state?version={}",
            seg(e.stream.key()),
            e.version
        ),
        EntityKind::Job => format!("/jobs/{}/state?version={}", seg(e.stream.key()), e.version),
    };
    html! {
        tr.event data-event-type=(e.event_type) data-actor=(e.actor) data-version=(e.version)
            data-position=(e.position) data-time=(exact(&e.time)) data-stream=(e.stream)
            data-event-id=(e.event_id) data-schema-version=(e.schema_version)
            data-command-id=(e.command_id) data-correlation-id=(e.correlation_id)
            data-causation-id=(e.causation_id) data-payload=(e.payload) {
            @if cols == Columns::Feed {
                td.num data-label="Position" { (e.position) }
            } @else {
                td.num data-label="Version" { a href=(state_href) title="The state after this event" { (e.version) } }
            }
            td data-label="When" { (time(&e.time)) }
            td data-label="What happened" { strong { (words(&e.event_type)) } }
            td data-label="Who" { (actor(&e.actor)) }
            @if cols == Columns::Feed {
                td data-label="Entity" { a href=(entity_href(&e.stream)) { (e.stream) } " v" (e.version) }
            }
            td data-label="Details" { (details(&e.payload)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_times_read_as_people_say_them() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        let before = |s: i64| relative(&(now - chrono::Duration::seconds(s)), &now);
        assert_eq!(before(-5), "just now");
        assert_eq!(before(10), "just now");
        assert_eq!(before(60), "1 minute ago");
        assert_eq!(before(600), "10 minutes ago");
        assert_eq!(before(3 * 3600 + 100), "3 hours ago");
        assert_eq!(before(3600), "1 hour ago");
        assert_eq!(before(30 * 3600), "yesterday");
        assert_eq!(before(3 * 86_400), "3 days ago");
        assert_eq!(before(30 * 86_400), "on 2026-11-02");
    }
}
