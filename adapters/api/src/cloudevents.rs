//! The feed's items: CloudEvents 1.0 (JSON event format), in a batch
//! (`application/cloudevents-batch+json`, a JSON array), as the http-feeds conventions use
//! them.
//!
//! Each event of the history is one CloudEvent: `id` is the event id, `type` the event type,
//! `subject` the stream (`member:alice`, `job:<id>`), `time` when it was recorded, `data` its
//! payload (at the current version of its type, older ones upcast) and `dataschema` the
//! `$id` of the payload's published JSON Schema. Tally's envelope travels in extension
//! attributes (lower-case letters only, as CloudEvents requires): `sequence` (the global
//! position, zero-padded to 20 digits so that it orders lexicographically, as the sequence
//! extension asks), `streamversion`, `schemaversion`, `actor`, `commandid`, `correlationid`
//! and `causationid`; and http-feeds' `method: DELETE` on the event that erases a member's
//! personal data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_ports::{RecordedEvent, StreamId, contracts};
use utoipa::ToSchema;
use uuid::Uuid;

/// The media type of a batch of CloudEvents.
pub const BATCH: &str = "application/cloudevents-batch+json";

/// The CloudEvents `source` of every event: this Tally service.
pub const SOURCE: &str = "urn:tally";

/// One event of the history as a CloudEvent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CloudEvent {
    /// Always `1.0`.
    #[schema(example = "1.0")]
    pub specversion: String,
    /// The event id.
    pub id: Uuid,
    /// Always `urn:tally`.
    #[schema(example = "urn:tally")]
    pub source: String,
    /// The event type, e.g. `CreditsGranted`.
    #[serde(rename = "type")]
    #[schema(example = "CreditsGranted")]
    pub event_type: String,
    /// The stream: `member:<handle>` or `job:<id>`.
    #[schema(example = "member:alice")]
    pub subject: String,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    #[schema(example = "application/json")]
    pub datacontenttype: String,
    /// The `$id` of the payload's JSON Schema (`urn:tally:event:<Type>:v<N>`, served at
    /// `/api/v1/schemas/<Type>/<N>`).
    pub dataschema: String,
    /// The payload.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The global position, zero-padded to 20 digits (orders lexicographically).
    #[schema(example = "00000000000000000042")]
    pub sequence: String,
    /// The stream's version after this event.
    pub streamversion: u64,
    /// The version of the event type's schema that `data` follows.
    pub schemaversion: u32,
    /// Who issued the command: `admin:<name>`, `member:<handle>`, `system:<name>`.
    #[schema(example = "admin:admin")]
    pub actor: String,
    /// The command that recorded it.
    pub commandid: Uuid,
    /// The wider piece of work it belongs to.
    pub correlationid: Uuid,
    /// What directly caused it.
    pub causationid: Uuid,
    /// http-feeds' `method`: `DELETE` on the event that erases its subject's personal data
    /// (`MemberForgotten`): a consumer deletes what it kept about the subject (the member's
    /// name, pitches, descriptions, grant reasons). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A global position as the `sequence` attribute.
pub fn sequence(position: u64) -> String {
    format!("{position:020}")
}

impl From<RecordedEvent> for CloudEvent {
    fn from(e: RecordedEvent) -> Self {
        let method = (e.event_type == "MemberForgotten").then(|| "DELETE".to_owned());
        Self {
            method,
            specversion: "1.0".into(),
            id: e.event_id,
            source: SOURCE.into(),
            dataschema: contracts::schema_id(&e.event_type, e.schema_version),
            event_type: e.event_type,
            subject: e.stream.to_string(),
            time: e.time,
            datacontenttype: "application/json".into(),
            data: e.payload,
            sequence: sequence(e.position),
            streamversion: e.version,
            schemaversion: e.schema_version,
            actor: e.actor.to_string(),
            commandid: e.command_id,
            correlationid: e.correlation_id,
            causationid: e.causation_id,
        }
    }
}

impl TryFrom<CloudEvent> for RecordedEvent {
    type Error = String;

    /// The recorded event a CloudEvent of the feed carries.
    fn try_from(c: CloudEvent) -> Result<Self, String> {
        let bad = |what: &str, e: &dyn std::fmt::Display| format!("event {}: {what}: {e}", c.id);
        Ok(Self {
            position: c
                .sequence
                .parse()
                .map_err(|e| bad("sequence is not a position", &e))?,
            stream: StreamId::parse(&c.subject).map_err(|e| bad("subject", &e))?,
            version: c.streamversion,
            event_id: c.id,
            event_type: c.event_type.clone(),
            schema_version: c.schemaversion,
            payload: c.data.clone(),
            time: c.time,
            actor: c.actor.parse().map_err(|e| bad("actor", &e))?,
            command_id: c.commandid,
            correlation_id: c.correlationid,
            causation_id: c.causationid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_event_survives_the_round_trip() {
        let e = RecordedEvent {
            position: 42,
            stream: StreamId::parse("member:alice").unwrap(),
            version: 3,
            event_id: Uuid::now_v7(),
            event_type: "CreditsGranted".into(),
            schema_version: 3,
            payload: serde_json::json!({"amount": 5, "reason": "", "category": "other"}),
            time: Utc::now(),
            actor: "admin:root".parse().unwrap(),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: Uuid::now_v7(),
        };
        let c = CloudEvent::from(e.clone());
        assert_eq!(c.sequence, "00000000000000000042");
        assert_eq!(c.dataschema, "urn:tally:event:CreditsGranted:v3");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["type"], "CreditsGranted");
        assert_eq!(json["subject"], "member:alice");
        assert_eq!(RecordedEvent::try_from(c).unwrap(), e);
    }

    #[test]
    fn sequences_order_as_positions_do() {
        assert!(sequence(9) < sequence(10));
        assert!(sequence(99_999) < sequence(100_000));
    }
}
