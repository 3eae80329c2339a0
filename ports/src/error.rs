//! The one error taxonomy of the driving ports, typed: every variant carries what a client
//! needs to act on it, and a stable code (`Error::code`) that is the same in every adapter.

use serde::{Deserialize, Serialize};
use tally_domain::{InvalidValue, Rejection, StreamId};
use uuid::Uuid;

/// The result of a driving-port call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a driving-port call failed. Every implementation of the driving ports (in process,
/// over HTTP, through the pages) returns the same variant for the same situation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input could not be parsed (a bad handle, title, amount...). Nothing was recorded.
    #[error("{0}")]
    Invalid(InvalidValue),
    /// The domain refused: a business rule, or who may do what. Nothing was recorded;
    /// retrying will not help.
    #[error("{0}")]
    Rejected(Rejection),
    /// The credentials given sign nobody in.
    #[error("{0}")]
    Unauthorized(Unauthorized),
    /// Something looked up outside the entities does not exist.
    #[error("{0}")]
    NotFound(NotFound),
    /// A concurrent change won every retry, or a name or id was already used.
    #[error("{0}")]
    Conflict(Conflict),
    /// The service cannot say now what happened; it says what to do.
    #[error("{0}")]
    Unavailable(Unavailable),
    /// Storage or another dependency failed. Whether a command was recorded is unknown
    /// unless it carried a command id, in which case repeating it is safe.
    #[error("internal error: {0}")]
    Infrastructure(String),
}

/// Credentials that sign nobody in (code `unauthorized`, like the domain's `sign in first`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unauthorized {
    /// No account has this name and password.
    #[error("wrong name or password")]
    WrongPassword,
    /// A session or API token that is unknown, expired or revoked.
    #[error("the credential is unknown, expired or revoked; sign in again")]
    BadCredential,
}

/// What was not found, outside the entities (those are the domain's `unknown_member` and
/// `unknown_job`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NotFound {
    /// The entity has no such version, or did not exist yet at that time.
    #[error("{stream} has no such version (it is at version {latest})")]
    NoSuchVersion {
        /// The entity's stream.
        stream: StreamId,
        /// Its latest version.
        latest: u64,
    },
    /// No account has this name.
    #[error("there is no account '{name}'")]
    UnknownAccount {
        /// The name.
        name: String,
    },
    /// The account has no such API token.
    #[error("there is no API token {id}")]
    UnknownToken {
        /// The token's id.
        id: Uuid,
    },
    /// No event type has this schema version (see `/api/v1/schemas` for those that do).
    #[error("no event schema {event_type} v{version} is published")]
    NoSuchSchema {
        /// The event type asked for.
        event_type: String,
        /// The version asked for.
        version: u32,
    },
    /// No stored event has this id (a feed asked to resume after it).
    #[error("no event {id} is in the history: resume from a position (after=) instead")]
    NoSuchEvent {
        /// The event id.
        id: Uuid,
    },
    /// No event is at this global position (yet).
    #[error("no event is at position {position} of the history")]
    NoSuchPosition {
        /// The position.
        position: u64,
    },
    /// The caller has no webhook endpoint with this id.
    #[error("you have no webhook endpoint {id}")]
    NoSuchEndpoint {
        /// The endpoint's id.
        id: Uuid,
    },
    /// No webhook delivery has this id.
    #[error("there is no webhook delivery {id}")]
    NoSuchDelivery {
        /// The delivery's id.
        id: Uuid,
    },
    /// The viewer has no notification with this id.
    #[error("you have no notification {id}")]
    NoSuchNotification {
        /// The notification's id.
        id: Uuid,
    },
}

/// A conflict that survived (or cannot be solved by) a retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Conflict {
    /// The entities kept changing concurrently, through every retry.
    #[serde(rename = "conflict")]
    #[error("the entity kept changing concurrently; try again ({detail})")]
    KeptChanging {
        /// What the last attempt ran into.
        detail: String,
    },
    /// The command id was already used for another command.
    #[error("command id {command_id} was already used for another command")]
    CommandIdReused {
        /// The id.
        command_id: Uuid,
    },
    /// An account with this name exists.
    #[error("an account named '{name}' already exists")]
    AccountExists {
        /// The name.
        name: String,
    },
}

/// The service cannot answer now, and says what the caller can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Unavailable {
    /// The connection to storage was lost while the command committed, and looking up its
    /// outcome failed too: it may or may not have been recorded. Repeating it with
    /// `command_id` as its idempotency key is safe, and answers its outcome.
    #[error(
        "the connection to storage was lost while command {command_id} committed, and its \
         outcome could not be looked up: repeat it with Idempotency-Key: {command_id} to learn \
         whether it was recorded (it will not be recorded twice)"
    )]
    OutcomeUnknown {
        /// The command's id (assigned by the service when the caller gave none).
        command_id: Uuid,
    },
    /// The connection to storage was lost at every attempt; the command was not recorded.
    #[serde(rename = "storage_unavailable")]
    #[error(
        "the connection to storage kept being lost; command {command_id} was not recorded: \
         try again"
    )]
    NotRecorded {
        /// The command's id.
        command_id: Uuid,
    },
}

impl Error {
    /// A stable machine code for the error.
    pub fn code(&self) -> &str {
        match self {
            Self::Invalid(v) => &v.code,
            Self::Rejected(r) => r.code(),
            Self::Unauthorized(_) => "unauthorized",
            Self::NotFound(n) => match n {
                NotFound::NoSuchVersion { .. } => "no_such_version",
                NotFound::UnknownAccount { .. } => "unknown_account",
                NotFound::UnknownToken { .. } => "unknown_token",
                NotFound::NoSuchSchema { .. } => "no_such_schema",
                NotFound::NoSuchEvent { .. } => "no_such_event",
                NotFound::NoSuchPosition { .. } => "no_such_position",
                NotFound::NoSuchNotification { .. } => "no_such_notification",
                NotFound::NoSuchEndpoint { .. } => "no_such_endpoint",
                NotFound::NoSuchDelivery { .. } => "no_such_delivery",
            },
            Self::Conflict(c) => match c {
                Conflict::KeptChanging { .. } => "conflict",
                Conflict::CommandIdReused { .. } => "command_id_reused",
                Conflict::AccountExists { .. } => "account_exists",
            },
            Self::Unavailable(Unavailable::OutcomeUnknown { .. }) => "outcome_unknown",
            Self::Unavailable(Unavailable::NotRecorded { .. }) => "storage_unavailable",
            Self::Infrastructure(_) => "internal",
        }
    }

    /// `Invalid` with a field, code and message.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid(InvalidValue::new(field, code, message))
    }

    /// `Infrastructure` from any error.
    pub fn infrastructure(e: impl std::fmt::Display) -> Self {
        Self::Infrastructure(e.to_string())
    }

    /// The message for a person.
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(v) => v.message.clone(),
            Self::Infrastructure(m) => m.clone(),
            other => other.to_string(),
        }
    }
}

/// An error as JSON: its `code`, its `message`, and what it carries beside them (the field of
/// invalid input, a rejection's details), the shape of a problem document's body.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let details = |v: serde_json::Result<serde_json::Value>| match v {
            Ok(serde_json::Value::Object(mut m)) => {
                m.remove("code");
                m
            }
            _ => serde_json::Map::new(),
        };
        let extra = match self {
            Self::Invalid(v) => {
                let mut m = serde_json::Map::new();
                m.insert("field".into(), v.field.clone().into());
                m
            }
            Self::Rejected(r) => details(serde_json::to_value(r)),
            Self::Unauthorized(u) => {
                let mut m = serde_json::Map::new();
                m.insert("reason".into(), serde_json::to_value(u).unwrap_or_default());
                m
            }
            Self::NotFound(n) => details(serde_json::to_value(n)),
            Self::Conflict(c) => details(serde_json::to_value(c)),
            Self::Unavailable(u) => details(serde_json::to_value(u)),
            Self::Infrastructure(_) => serde_json::Map::new(),
        };
        let mut map = s.serialize_map(Some(2 + extra.len()))?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("message", &self.message())?;
        for (k, v) in &extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl From<InvalidValue> for Error {
    fn from(v: InvalidValue) -> Self {
        Self::Invalid(v)
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Self::Rejected(r)
    }
}

impl From<NotFound> for Error {
    fn from(n: NotFound) -> Self {
        Self::NotFound(n)
    }
}

impl From<Unavailable> for Error {
    fn from(u: Unavailable) -> Self {
        Self::Unavailable(u)
    }
}

impl From<Conflict> for Error {
    fn from(c: Conflict) -> Self {
        Self::Conflict(c)
    }
}

impl From<Unauthorized> for Error {
    fn from(u: Unauthorized) -> Self {
        Self::Unauthorized(u)
    }
}
