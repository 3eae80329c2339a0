//! Event contracts: what every stored event's payload is, version by version, forever.
//!
//! - Each event type has a schema version (declared in the domain, `#[version = N]`; 1 when
//!   unsaid). The JSON Schema (draft 2020-12) of its current version is generated from the
//!   domain's declaration ([`generate`]: field names, value rules, nullability) and kept as
//!   a file, `contracts/schemas/<Type>.v<N>.json`, next to the files of every earlier version.
//!   Those files are the published contracts ([`published`], served at `/api/v1/schemas`);
//!   a golden test fails when the generated schema of a current version differs from its
//!   file, that is when an event changed without a new version.
//! - Every payload is checked against its published schema before a store appends it
//!   ([`check_plan`]): a payload that breaks its contract is never written.
//! - Upcasters ([`upcast`]) turn a stored payload of an earlier version into the current
//!   one, step by step (v1 -> v2 -> ...), as pure functions on JSON: whatever reads events
//!   (folds, history, time travel, the feed) sees current versions only.
//! - `contracts/samples/<Type>/v<N>.json` holds sample payloads of every past version,
//!   written once and never edited; a test reads them through the real stores.

use crate::driven::{AppendPlan, StoreError};
use crate::envelope::RecordedEvent;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::LazyLock;
use tally_domain::{EventSpec, EventType, JobEvent, MemberEvent};

/// The dialect of every event schema.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Every event type this build writes, with its current version.
pub fn current() -> impl Iterator<Item = &'static EventSpec> {
    MemberEvent::TYPES.iter().chain(JobEvent::TYPES)
}

/// The current version of the event type named `event_type`, if this build knows it.
pub fn current_version(event_type: &str) -> Option<u32> {
    current().find(|t| t.name == event_type).map(|t| t.version)
}

/// The stable identifier (`$id`, and CloudEvents' `dataschema`) of an event type's schema
/// at a version: `urn:tally:event:<Type>:v<N>`. It names the contract, wherever the service
/// runs; `GET /api/v1/schemas/<Type>/<N>` serves the document.
pub fn schema_id(event_type: &str, version: u32) -> String {
    format!("urn:tally:event:{event_type}:v{version}")
}

/// The file name of an event type's schema at a version, in `contracts/schemas`.
pub fn schema_file(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}.json")
}

/// The JSON Schema of an event type's current payload, generated from the domain's
/// declaration: every field required (a stored payload always has all of them), `null`
/// allowed where the field is optional, no other field.
pub fn generate(spec: &EventSpec) -> Value {
    let mut properties = Map::new();
    for f in spec.fields {
        let mut s = crate::schema::rule(&f.rule, f.doc);
        if f.nullable {
            let t = s["type"].take();
            s["type"] = json!([t, "null"]);
        }
        if let Some(p) = spec.personal.iter().find(|p| p.field == f.name) {
            s = personal(s, p.subject);
        }
        properties.insert(f.name.to_owned(), s);
    }
    json!({
        "$schema": DIALECT,
        "$id": schema_id(spec.name, spec.version),
        "title": format!("{} v{}", spec.name, spec.version),
        "description": spec.doc.trim(),
        "type": "object",
        "properties": properties,
        "required": spec.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

/// The pattern of a sealed personal field: [`crate::keys::SEALED_PREFIX`], the subject's
/// handle, `:`, and the base64 of the nonce, the ciphertext and its tag.
pub const SEALED_PATTERN: &str = "^sealed:v1:[a-z][a-z0-9_-]{2,31}:[A-Za-z0-9+/]+$";

/// A personal field's schema: its plaintext rule, or the sealed form stores keep it in;
/// `x-personal` says whose data it is (`field:<name>`, the member named in that field;
/// `stream`, the member whose stream it is on; `actor`, the member who wrote it).
fn personal(plain: Value, subject: tally_domain::Subject) -> Value {
    let description = plain["description"].as_str().unwrap_or_default().to_owned();
    json!({
        "description": format!(
            "{description}. Personal data: stored sealed with its subject's key; reads as \
             \"{}\" once they are forgotten",
            tally_domain::FORGOTTEN
        ),
        "anyOf": [
            plain,
            {
                "type": "string",
                "pattern": SEALED_PATTERN,
                "description": "Sealed with the data subject's key (as stored)",
            },
        ],
        "x-personal": {"subject": subject.describe()},
    })
}

/// One published schema: an event type at a version.
#[derive(Debug)]
pub struct Published {
    /// The event type.
    pub event_type: &'static str,
    /// The schema version.
    pub version: u32,
    /// The document, as stored in `contracts/schemas`.
    pub text: &'static str,
    /// The document, parsed.
    pub schema: Value,
}

// `FILES: &[(&str, u32, &str)]`: every file of `contracts/schemas`, embedded at build time
// (see build.rs).
include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

static PUBLISHED: LazyLock<Vec<Published>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(event_type, version, text)| Published {
            event_type,
            version,
            text,
            schema: serde_json::from_str(text).unwrap_or_else(|e| {
                panic!("contracts/schemas/{event_type}.v{version}.json is not JSON: {e}")
            }),
        })
        .collect()
});

/// Every published schema, by event type, then version.
pub fn published() -> &'static [Published] {
    &PUBLISHED
}

/// The published schema of an event type at a version.
pub fn find(event_type: &str, version: u32) -> Option<&'static Published> {
    published()
        .iter()
        .find(|p| p.event_type == event_type && p.version == version)
}

/// Why a payload was refused.
fn refusal(event_type: &str, version: u32, why: impl std::fmt::Display) -> StoreError {
    StoreError::Contract(format!(
        "a {event_type} v{version} payload is refused: {why}"
    ))
}

/// A validator per published schema, compiled once.
static VALIDATORS: LazyLock<HashMap<(&'static str, u32), jsonschema::Validator>> =
    LazyLock::new(|| {
        published()
            .iter()
            .map(|p| {
                let v = jsonschema::draft202012::new(&p.schema).unwrap_or_else(|e| {
                    panic!(
                        "{}: not a valid schema: {e}",
                        schema_file(p.event_type, p.version)
                    )
                });
                ((p.event_type, p.version), v)
            })
            .collect()
    });

/// Checks a payload against the published schema of its type and version.
///
/// # Errors
/// [`StoreError::Contract`], naming the type, the version and the first field at fault,
/// when the type or version is not published or the payload breaks the schema.
pub fn check(event_type: &str, version: u32, payload: &Value) -> Result<(), StoreError> {
    let Some(v) = VALIDATORS.get(&(event_type, version)) else {
        return Err(refusal(
            event_type,
            version,
            "no such event type and version is published",
        ));
    };
    v.validate(payload).map_err(|e| {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() {
            "the payload".to_owned()
        } else {
            format!("at {at}")
        };
        refusal(event_type, version, format!("{at}: {e}"))
    })
}

/// Whether stores check payloads (always, but in the benchmark that measures what checking
/// costs).
static CHECKING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns the check of [`check_plan`] off or on, process-wide: for the benchmark that
/// measures its cost, never for a service.
#[doc(hidden)]
pub fn set_checking_for_benchmarks(on: bool) {
    CHECKING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Checks every event of a plan before a store writes any: each must be of the current
/// version of a known type and match its schema. A store calls it first; a refused plan
/// writes nothing.
///
/// # Errors
/// [`StoreError::Contract`] for the first event at fault.
pub fn check_plan(plan: &AppendPlan) -> Result<(), StoreError> {
    if !CHECKING.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    for e in plan.streams.iter().flat_map(|s| &s.events) {
        match current_version(&e.event_type) {
            Some(v) if v == e.schema_version => {}
            Some(v) => {
                return Err(refusal(
                    &e.event_type,
                    e.schema_version,
                    format!("this build writes version {v} only"),
                ));
            }
            None => {
                return Err(refusal(
                    &e.event_type,
                    e.schema_version,
                    "unknown event type",
                ));
            }
        }
        check(&e.event_type, e.schema_version, &e.payload)?;
    }
    Ok(())
}

/// One step of an event type's evolution: a payload of version `from` made a payload of
/// version `from + 1`. Pure, total on every valid payload of `from`.
pub struct Upcaster {
    /// The event type.
    pub event_type: &'static str,
    /// The version it reads.
    pub from: u32,
    /// What changed, for people.
    pub change: &'static str,
    /// The step.
    pub up: fn(&mut Map<String, Value>),
}

/// What the versions that made a field personal changed: nothing in the payload's shape;
/// from then on its personal fields may be stored sealed (opened before anyone reads them).
const SEALED_FROM_NOW_ON: &str = "its personal fields may be stored sealed with their subject's key; the payload's shape is \
     unchanged";

/// Every upcaster, one per event type and past version.
pub const UPCASTERS: &[Upcaster] = &[
    Upcaster {
        event_type: "MemberRegistered",
        from: 1,
        change: SEALED_FROM_NOW_ON,
        up: |_| {},
    },
    Upcaster {
        event_type: "CreditsGranted",
        from: 2,
        change: SEALED_FROM_NOW_ON,
        up: |_| {},
    },
    Upcaster {
        event_type: "JobLaunched",
        from: 1,
        change: SEALED_FROM_NOW_ON,
        up: |_| {},
    },
    Upcaster {
        event_type: "ApplicationSubmitted",
        from: 2,
        change: SEALED_FROM_NOW_ON,
        up: |_| {},
    },
    Upcaster {
        event_type: "JobDescriptionEdited",
        from: 1,
        change: SEALED_FROM_NOW_ON,
        up: |_| {},
    },
    Upcaster {
        event_type: "CreditsGranted",
        from: 1,
        change: "adds `category`; grants recorded before categories existed are `other`",
        up: |p| {
            p.insert("category".into(), Value::from("other"));
        },
    },
    Upcaster {
        event_type: "ApplicationSubmitted",
        from: 1,
        change: "adds `proposed_days`; applications recorded before it have none (null)",
        up: |p| {
            p.insert("proposed_days".into(), Value::Null);
        },
    },
];

/// A stored payload of `version` made current, upcaster by upcaster; the version it ends
/// at is the type's current one.
///
/// # Errors
/// When the type is unknown, the version newer than this build's (written by a newer
/// build: upgrade this one), a step missing, or the payload not an object.
pub fn upcast(event_type: &str, version: u32, payload: &mut Value) -> Result<u32, String> {
    let Some(current) = current_version(event_type) else {
        return Err(format!("unknown event type {event_type}"));
    };
    if version > current {
        return Err(format!(
            "{event_type} has schema version {version}, written by a newer build; this one \
             reads versions up to {current}"
        ));
    }
    let Value::Object(map) = payload else {
        return Err(format!("a {event_type} payload is not an object"));
    };
    for from in version.max(1)..current {
        let step = UPCASTERS
            .iter()
            .find(|u| u.event_type == event_type && u.from == from)
            .ok_or_else(|| format!("no upcaster from {event_type} v{from}"))?;
        (step.up)(map);
    }
    Ok(current)
}

/// A recorded event as a reader sees it: its payload upcast to the current version of its
/// type, and its `schema_version` saying so.
///
/// # Errors
/// As [`upcast`].
pub fn to_current(mut e: RecordedEvent) -> Result<RecordedEvent, String> {
    if current_version(&e.event_type) != Some(e.schema_version) {
        e.schema_version = upcast(&e.event_type, e.schema_version, &mut e.payload)?;
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcasters_make_old_payloads_current() {
        let mut p = json!({"amount": 5, "reason": "hi"});
        assert_eq!(upcast("CreditsGranted", 1, &mut p), Ok(3));
        assert_eq!(p, json!({"amount": 5, "reason": "hi", "category": "other"}));
        let mut p = json!({"participant": "bob", "pitch": "me"});
        assert_eq!(upcast("ApplicationSubmitted", 1, &mut p), Ok(3));
        assert_eq!(p["proposed_days"], Value::Null);
        // Current payloads are left alone; newer and unknown ones are named.
        let mut p = json!({"amount": 5, "reason": "hi", "category": "purchase"});
        assert_eq!(upcast("CreditsGranted", 3, &mut p), Ok(3));
        assert_eq!(p["category"], "purchase");
        assert!(
            upcast("CreditsGranted", 4, &mut p)
                .unwrap_err()
                .contains("newer build")
        );
        assert!(upcast("Nope", 1, &mut p).is_err());
        assert!(upcast("CreditsGranted", 1, &mut json!([1])).is_err());
    }

    #[test]
    fn a_payload_that_breaks_its_schema_is_refused_with_the_field_at_fault() {
        let ok = json!({"amount": 5, "reason": "hi", "category": "promotion"});
        check("CreditsGranted", 2, &ok).unwrap();
        for (bad, words) in [
            (
                json!({"amount": -1, "reason": "hi", "category": "other"}),
                "/amount",
            ),
            (
                json!({"amount": 5, "reason": "\u{202e}gnp.exe", "category": "other"}),
                "/reason",
            ),
            (
                json!({"amount": 5, "reason": "hi", "category": "bribe"}),
                "/category",
            ),
            (json!({"amount": 5, "reason": "hi"}), "category"),
            (
                json!({"amount": 5, "reason": "hi", "category": "other", "x": 1}),
                "x",
            ),
        ] {
            let err = check("CreditsGranted", 2, &bad).unwrap_err().to_string();
            assert!(
                err.contains("CreditsGranted v2") && err.contains(words),
                "{err}"
            );
        }
        // v1 is published (old events are described) but is not what this build writes.
        check("CreditsGranted", 1, &json!({"amount": 5, "reason": "hi"})).unwrap();
        assert!(check("Nope", 1, &json!({})).is_err());
    }
}
