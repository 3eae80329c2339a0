//! Domain events to and from their stored form: a type name, a schema version and a JSON
//! payload.

use crate::contracts;
use crate::envelope::{FoldEvent, Payload};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tally_domain::{EntityKind, Event, EventType, JobEvent, MemberEvent};

/// Splits a domain event (an adjacently tagged enum) into its type name and payload.
///
/// # Panics
/// Never for the domain's event enums (they always serialize to `{type, data}`).
pub fn encode_one<E: Serialize>(event: &E) -> (String, Value) {
    let mut v = serde_json::to_value(event).expect("domain events serialize");
    let t = v["type"].as_str().expect("tagged event").to_owned();
    let data = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
    (t, data)
}

/// An event of any kind as its type name and payload (of the type's current schema
/// version, [`Event::schema_version`]).
pub fn encode(event: &Event) -> (&'static str, Value) {
    let payload = match event {
        Event::Member(e) => encode_one(e).1,
        Event::Job(e) => encode_one(e).1,
    };
    (event.event_type(), payload)
}

/// Whether a stored payload of this version is current (read as it is), or older (to be
/// upcast first). Newer or unknown: an error.
fn is_current(event_type: &str, schema_version: u32) -> Result<bool, String> {
    match contracts::current_version(event_type) {
        Some(v) if v == schema_version => Ok(true),
        Some(v) if schema_version < v => Ok(false),
        Some(v) => Err(format!(
            "{event_type} has schema version {schema_version}, written by a newer build; this \
             one reads versions up to {v}"
        )),
        None => Err(format!("unknown event type {event_type}")),
    }
}

/// Decodes a payload made current by the upcasters.
fn decode_upcast<E: DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    mut payload: Value,
) -> Result<E, String> {
    let current = contracts::upcast(event_type, schema_version, &mut payload)?;
    decode_one(event_type, current, &payload)
}

/// Rebuilds a domain event from its stored type name, schema version and payload, upcast
/// first when the version is older than the type's current one.
///
/// # Errors
/// When the payload does not match the type (corrupt or unknown data), or its version is
/// newer than this build reads.
pub fn decode_one<E: DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<E, String> {
    if !is_current(event_type, schema_version)? {
        return decode_upcast(event_type, schema_version, payload.clone());
    }
    // Deserialize straight from the borrowed payload: replaying 10,000 events should not
    // copy 10,000 payloads into temporary `{type, data}` documents.
    let tag = Value::String(event_type.to_owned());
    let fields = [("type", &tag), ("data", payload)];
    let map = serde::de::value::MapDeserializer::<_, serde_json::Error>::new(fields.into_iter());
    E::deserialize(map).map_err(|e| format!("cannot read a {event_type} event: {e}"))
}

/// As [`decode_one`], from the payload's JSON text (what replaying a long stream reads).
///
/// # Errors
/// When the payload is not JSON or does not match the type (corrupt or unknown data).
pub fn decode_one_text<E: DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    payload: &str,
) -> Result<E, String> {
    if !is_current(event_type, schema_version)? {
        let v = serde_json::from_str(payload)
            .map_err(|e| format!("cannot read a {event_type} event: {e}"))?;
        return decode_upcast(event_type, schema_version, v);
    }
    // One small document in the events' tagged shape, parsed once: cheaper than building a
    // `Value` first.
    let tag = serde_json::to_string(event_type).map_err(|e| e.to_string())?;
    let doc = format!(r#"{{"type":{tag},"data":{payload}}}"#);
    serde_json::from_str(&doc).map_err(|e| format!("cannot read a {event_type} event: {e}"))
}

fn decode_as<E: EventType>(e: &FoldEvent<'_>) -> Result<Event, String> {
    let event: E = match e.payload {
        Payload::Json(v) => decode_one(e.event_type, e.schema_version, v)?,
        Payload::Text(t) => decode_one_text(e.event_type, e.schema_version, t)?,
    };
    Ok(event.into())
}

/// Rebuilds an event of an entity of `kind`, as a store handed it over.
///
/// # Errors
/// When the payload does not match a type of the kind (corrupt or unknown data).
pub fn decode(kind: EntityKind, e: &FoldEvent<'_>) -> Result<Event, String> {
    match kind {
        EntityKind::Member => decode_as::<MemberEvent>(e),
        EntityKind::Job => decode_as::<JobEvent>(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tally_domain::{Credits, GrantCategory, Reason};

    #[test]
    fn events_survive_encoding() {
        let e = MemberEvent::CreditsGranted {
            amount: Credits::new(3),
            reason: Reason::parse("hi").unwrap(),
            category: GrantCategory::Purchase,
        };
        let (t, p) = encode(&e.clone().into());
        assert_eq!(t, "CreditsGranted");
        assert_eq!(
            p,
            json!({"amount": 3, "reason": "hi", "category": "purchase"})
        );
        assert_eq!(decode_one::<MemberEvent>(t, 3, &p).unwrap(), e);
        assert!(decode_one::<MemberEvent>(t, 4, &p).is_err());
        assert_eq!(
            decode_one_text::<MemberEvent>(t, 3, &p.to_string()).unwrap(),
            e
        );
        assert!(decode_one_text::<MemberEvent>(t, 4, &p.to_string()).is_err());
        assert!(decode_one_text::<MemberEvent>(t, 3, "{\"amount\": 3").is_err());
        // A payload that tries to close the document early is just not JSON of the type.
        assert!(decode_one_text::<MemberEvent>(t, 3, "{}}, \"x\": {").is_err());
        assert!(decode_one::<MemberEvent>("Nope", 1, &p).is_err());
        // A version 1 grant (before categories) reads as `other`, from JSON and from text.
        let v1 = json!({"amount": 3, "reason": "hi"});
        let other = MemberEvent::CreditsGranted {
            amount: Credits::new(3),
            reason: Reason::parse("hi").unwrap(),
            category: GrantCategory::Other,
        };
        assert_eq!(decode_one::<MemberEvent>(t, 1, &v1).unwrap(), other);
        assert_eq!(
            decode_one_text::<MemberEvent>(t, 1, &v1.to_string()).unwrap(),
            other
        );
        let f = FoldEvent {
            version: 1,
            event_type: t,
            schema_version: 3,
            payload: Payload::Json(&p),
        };
        assert_eq!(decode(EntityKind::Member, &f).unwrap(), e.into());
        assert!(decode(EntityKind::Job, &f).is_err());
    }
}
