//! Domain events to and from their stored form: a type name, a schema version and a JSON
//! payload.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The schema version of every event type today. When a type's payload changes, its version
/// goes up and an upcaster turns stored older payloads into the current shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Splits a domain event (an adjacently tagged enum) into its type name and payload.
///
/// # Panics
/// Never for the domain's event enums (they always serialize to `{type, data}`).
pub fn encode<E: Serialize>(event: &E) -> (String, Value) {
    let mut v = serde_json::to_value(event).expect("domain events serialize");
    let t = v["type"].as_str().expect("tagged event").to_owned();
    let data = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
    (t, data)
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
pub fn decode<E: DeserializeOwned>(
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

/// As [`decode`], from the payload's JSON text (what replaying a long stream reads).
///
/// # Errors
/// When the payload is not JSON or does not match the type (corrupt or unknown data).
pub fn decode_text<E: DeserializeOwned>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tally_domain::{Credits, MemberEvent, Reason};

    #[test]
    fn events_survive_encoding() {
        let e = MemberEvent::CreditsGranted {
            amount: Credits::new(3),
            reason: Reason::parse("hi").unwrap(),
        };
        let (t, p) = encode(&e);
        assert_eq!(t, "CreditsGranted");
        assert_eq!(p, json!({"amount": 3, "reason": "hi"}));
        assert_eq!(decode::<MemberEvent>(&t, 1, &p).unwrap(), e);
        assert!(decode::<MemberEvent>(&t, 2, &p).is_err());
        assert_eq!(
            decode_text::<MemberEvent>(&t, 1, &p.to_string()).unwrap(),
            e
        );
        assert!(decode_text::<MemberEvent>(&t, 2, &p.to_string()).is_err());
        assert!(decode_text::<MemberEvent>(&t, 1, "{\"amount\": 3").is_err());
        // A payload that tries to close the document early is just not JSON of the type.
        assert!(decode_text::<MemberEvent>(&t, 1, "{}}, \"x\": {").is_err());
        assert!(decode::<MemberEvent>("Nope", 1, &p).is_err());
    }
}
