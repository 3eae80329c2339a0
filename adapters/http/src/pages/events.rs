//! Histories as tables: every event with what, when, who, and its details. Each row carries
//! the whole envelope in `data-*` attributes (type, actor, version, position, time, ids).

use super::layout::{who, words};
use super::page::seg;
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{Markup, html};
use serde_json::Value;
use tally_ports::{Actor, EntityKind, RecordedEvent, StreamId};

/// A time: exact (to the nanosecond) in `datetime` and `data-time`, to the second for people.
pub(crate) fn exact(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn time(t: &DateTime<Utc>) -> Markup {
    html! {
        time datetime=(exact(t)) title=(exact(t)) { (t.format("%Y-%m-%d %H:%M:%S UTC")) }
    }
}

/// Where an entity's pages are.
pub(crate) fn entity_href(s: &StreamId) -> String {
    match s.kind() {
        EntityKind::Member => format!("/members/{}/wallet", seg(s.key())),
        EntityKind::Job => format!("/jobs/{}", seg(s.key())),
    }
}

/// An actor, linked to the member's wallet when it is one.
pub(crate) fn actor(a: &Actor) -> Markup {
    html! {
        @match a {
            Actor::Member(h) => a href=(format!("/members/{}/wallet", seg(h.as_str()))) { "@" (h) },
            Actor::Anonymous => span { "a visitor (signing up)" },
            other => span { (who(other)) },
        }
    }
}

/// What the event says, as `name: value` pairs.
fn details(payload: &Value) -> Markup {
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
