//! Entities' streams: the kinds of entity and the identity of one entity's stream of events.

use crate::values::{Handle, InvalidValue, JobId};
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// Every kind.
    pub const ALL: [EntityKind; 2] = [EntityKind::Member, EntityKind::Job];

    /// The kind as a word: `member` or `job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Job => "job",
        }
    }

    /// The name of the field that holds an entity's key in commands: `handle` or `job`.
    pub fn key_field(self) -> &'static str {
        match self {
            Self::Member => "handle",
            Self::Job => "job",
        }
    }

    /// Parses `member` or `job`.
    ///
    /// # Errors
    /// `invalid_entity_kind` otherwise.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "member" => Ok(Self::Member),
            "job" => Ok(Self::Job),
            _ => Err(InvalidValue::new(
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

    /// The stream of an entity of `kind` with `key`, checking the key.
    ///
    /// # Errors
    /// `invalid_handle` or `invalid_job_id`.
    pub fn of(kind: EntityKind, key: &str) -> Result<Self, InvalidValue> {
        Ok(match kind {
            EntityKind::Member => Self::member(&Handle::parse(key)?),
            EntityKind::Job => Self::job(&JobId::parse(key)?),
        })
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
    /// `invalid_stream`, `invalid_entity_kind`, or the key's code.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let (kind, key) = s.split_once(':').ok_or_else(|| {
            InvalidValue::new("stream", "invalid_stream", "a stream is written kind:key")
        })?;
        Self::of(EntityKind::parse(kind)?, key)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_read_back_from_their_text_form() {
        let s = StreamId::of(EntityKind::Job, "j-1").unwrap();
        assert_eq!(s.to_string(), "job:j-1");
        assert_eq!(StreamId::parse("job:j-1").unwrap(), s);
        assert_eq!(
            StreamId::parse("member:Bad").unwrap_err().code,
            "invalid_handle"
        );
        assert_eq!(
            StreamId::parse("car:x").unwrap_err().code,
            "invalid_entity_kind"
        );
        assert_eq!(StreamId::parse("x").unwrap_err().code, "invalid_stream");
    }
}
