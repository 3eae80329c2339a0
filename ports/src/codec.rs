//! Domain events to and from their stored form: a type name, a schema version and a JSON
//! payload.

use crate::envelope::{FoldEvent, Payload};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tally_domain::{EntityKind, Event, EventType, JobEvent, MemberEvent};

/// The schema version of every event type today. When a type's payload changes, its version
/// goes up and an upcaster turns stored older payloads into the current shape.
pub const SCHEMA_VERSION: u32 = 1;

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

/// An event of any kind as its type name and payload.
pub fn encode(event: &Event) -> (&'static str, Value) {
    let payload = match event {
        Event::Member(e) => encode_one(e).1,
        Event::Job(e) => encode_one(e).1,
    };
    (event.event_type(), payload)
}

/// Fails unless this build reads events of this schema version.
fn readable(event_type: &str, schema_version: u32) -> Result<(), String> {
    if schema_version == SCHEMA_VERSION {
        Ok(())
    } else {
        Err(format!(
            "{event_type} has schema version {schema_version}; this build reads {SCHEMA_VERSION}"
        ))
    }
}

/// Rebuilds a domain event from its stored type name and payload.
///
/// # Errors
/// When the payload does not match the type (corrupt or unknown data).
pub fn decode_one<E: DeserializeOwned>(
    event_type: &str,
    schema_version: u32,
    payload: &Value,
) -> Result<E, String> {
    readable(event_type, schema_version)?;
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
    readable(event_type, schema_version)?;
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
    use tally_domain::{Credits, Reason};

    #[test]
    fn events_survive_encoding() {
        let e = MemberEvent::CreditsGranted {
            amount: Credits::new(3),
            reason: Reason::parse("hi").unwrap(),
        };
        let (t, p) = encode(&e.clone().into());
        assert_eq!(t, "CreditsGranted");
        assert_eq!(p, json!({"amount": 3, "reason": "hi"}));
        assert_eq!(decode_one::<MemberEvent>(t, 1, &p).unwrap(), e);
        assert!(decode_one::<MemberEvent>(t, 2, &p).is_err());
        assert_eq!(
            decode_one_text::<MemberEvent>(t, 1, &p.to_string()).unwrap(),
            e
        );
        assert!(decode_one_text::<MemberEvent>(t, 2, &p.to_string()).is_err());
        assert!(decode_one_text::<MemberEvent>(t, 1, "{\"amount\": 3").is_err());
        // A payload that tries to close the document early is just not JSON of the type.
        assert!(decode_one_text::<MemberEvent>(t, 1, "{}}, \"x\": {").is_err());
        assert!(decode_one::<MemberEvent>("Nope", 1, &p).is_err());
        let f = FoldEvent {
            version: 1,
            event_type: t,
            schema_version: 1,
            payload: Payload::Json(&p),
        };
        assert_eq!(decode(EntityKind::Member, &f).unwrap(), e.into());
        assert!(decode(EntityKind::Job, &f).is_err());
    }
}
