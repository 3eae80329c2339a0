//! Streams and the event envelope.

use crate::actor::Actor;
use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use tally_domain::{Handle, JobId};
use uuid::Uuid;

/// The kinds of entity, each with its own streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A member and their wallet; key: the handle.
    Member,
    /// A job; key: the job id.
    Job,
}

impl EntityKind {
    /// The kind as a word: `member` or `job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Job => "job",
        }
    }

    /// Parses `member` or `job`.
    ///
    /// # Errors
    /// `invalid_entity_kind` otherwise.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "member" => Ok(Self::Member),
            "job" => Ok(Self::Job),
            _ => Err(Error::invalid(
                "kind",
                "invalid_entity_kind",
                "an entity kind is 'member' or 'job'",
            )),
        }
    }
}

/// The identity of one entity's stream of events: its kind and natural key. Its text form,
/// `member:alice` or `job:<id>`, is how stores name it (keys never contain `:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    kind: EntityKind,
    key: String,
}

impl StreamId {
    /// The stream of a member's wallet.
    pub fn member(h: &Handle) -> Self {
        Self {
            kind: EntityKind::Member,
            key: h.as_str().to_owned(),
        }
    }

    /// The stream of a job.
    pub fn job(j: &JobId) -> Self {
        Self {
            kind: EntityKind::Job,
            key: j.as_str().to_owned(),
        }
    }

    /// The entity kind.
    pub fn kind(&self) -> EntityKind {
        self.kind
    }

    /// The natural key (a handle or a job id).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Parses the text form `kind:key`.
    ///
    /// # Errors
    /// `Invalid` when the kind or the key is not valid.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let (kind, key) = s.split_once(':').ok_or_else(|| {
            Error::invalid("stream", "invalid_stream", "a stream is written kind:key")
        })?;
        EntityRef {
            kind: EntityKind::parse(kind)?,
            key: key.to_owned(),
        }
        .stream()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.key)
    }
}

impl Serialize for StreamId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

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
        Ok(match self.kind {
            EntityKind::Member => StreamId::member(&Handle::parse(&self.key)?),
            EntityKind::Job => StreamId::job(&JobId::parse(&self.key)?),
        })
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Place in the global order (1, 2, 3...; the store assigns it at append).
    pub position: u64,
    /// The stream.
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
    pub payload: serde_json::Value,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// Who issued the command.
    pub actor: Actor,
    /// The command that produced it (all events of one command share it).
    pub command_id: Uuid,
    /// The wider piece of work it belongs to.
    pub correlation_id: Uuid,
    /// What directly caused it (the command, for events of a command).
    pub causation_id: Uuid,
}
