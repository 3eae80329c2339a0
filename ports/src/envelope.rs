//! The event envelope, and entities as callers name them.

use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_domain::Actor;
pub use tally_domain::{EntityKind, StreamId};
use utoipa::ToSchema;
use uuid::Uuid;

/// An entity named by a caller, not yet validated (the driving port parses it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    /// The kind.
    pub kind: EntityKind,
    /// The natural key: a handle or a job id.
    pub key: String,
}

impl EntityRef {
    /// A member's wallet.
    pub fn member(handle: impl Into<String>) -> Self {
        Self {
            kind: EntityKind::Member,
            key: handle.into(),
        }
    }

    /// A job.
    pub fn job(id: impl Into<String>) -> Self {
        Self {
            kind: EntityKind::Job,
            key: id.into(),
        }
    }

    /// Validates the key and gives the stream.
    ///
    /// # Errors
    /// `invalid_handle` or `invalid_job_id`.
    pub fn stream(&self) -> Result<StreamId, Error> {
        Ok(StreamId::of(self.kind, &self.key)?)
    }
}

/// An event as folding a state needs it, without the rest of the envelope, borrowed from
/// wherever the store read it: what a store hands over, event by event as it reads them,
/// when a state is rebuilt from a long stream (see [`crate::driven::EventStore::fold_events`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldEvent<'a> {
    /// The version within its stream.
    pub version: u64,
    /// The event's type name.
    pub event_type: &'a str,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload, in the form the store holds it.
    pub payload: Payload<'a>,
}

/// An event's payload as a store holds it: parsed JSON, or JSON text (what PostgreSQL sends
/// fastest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// Parsed JSON.
    Json(&'a serde_json::Value),
    /// JSON text.
    Text(&'a str),
}

/// An event as recorded: the envelope and the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedEvent {
    /// Place in the global order (1, 2, 3...; the store assigns it at append).
    pub position: u64,
    /// The stream: `member:<handle>` or `job:<id>`.
    #[schema(value_type = String, example = "member:alice")]
    pub stream: StreamId,
    /// Version of the stream after this event (1 for the stream's first event).
    pub version: u64,
    /// Unique id of this event.
    pub event_id: Uuid,
    /// The event type, e.g. `CreditsGranted`.
    pub event_type: String,
    /// The version of this event type's schema.
    pub schema_version: u32,
    /// The event's data.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// Who issued the command: `admin:<name>`, `member:<handle>`, `system:<name>` or
    /// `anonymous`.
    #[schema(value_type = String, example = "member:alice")]
    pub actor: Actor,
    /// The command that produced it (all events of one command share it).
    pub command_id: Uuid,
    /// The wider piece of work it belongs to.
    pub correlation_id: Uuid,
    /// What directly caused it (the command, for events of a command).
    pub causation_id: Uuid,
}

impl RecordedEvent {
    /// The event as folding needs it.
    pub fn as_fold(&self) -> FoldEvent<'_> {
        FoldEvent {
            version: self.version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            payload: Payload::Json(&self.payload),
        }
    }
}
