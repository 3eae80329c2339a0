//! Entities in general: the [`Entity`] trait (a kind, its events, `evolve`), an event or a
//! state of any kind ([`Event`], [`State`]), and the states a decision reads ([`States`]).
//!
//! Every entity kind is named once, here: the service folds, stores and caches any entity
//! through these types, without knowing the kinds.

use crate::job::{Job, JobEvent};
use crate::member::{MemberEvent, Wallet};
use crate::stream::{EntityKind, StreamId};
use crate::values::{Handle, JobId, Rule};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One field of an event or a command: its name, its documentation and its value's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name, as serialized.
    pub name: &'static str,
    /// What it is, for people (from the field's doc comment).
    pub doc: &'static str,
    /// What it accepts.
    pub rule: Rule,
    /// Whether it may be `null` where it is stored (an `Option`).
    pub nullable: bool,
}

/// One event type: its name as stored, its documentation, its payload's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The type name, e.g. `CreditsGranted`.
    pub name: &'static str,
    /// What it records, for people.
    pub doc: &'static str,
    /// The version of its payload's schema that this build writes (1, 2, ...). It goes up
    /// whenever the payload's shape changes; older payloads are upcast when read.
    pub version: u32,
    /// The payload's fields, in order.
    pub fields: &'static [FieldSpec],
    /// Which of its fields hold personal data, and whose (see [`Personal`]).
    pub personal: &'static [Personal],
}

/// A field of an event that holds personal data: text written by or about one member, its
/// data subject. Stores keep it sealed with the subject's key, so that forgetting the
/// member (deleting the key) makes it unreadable everywhere a copy went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Personal {
    /// The field's name, as serialized.
    pub field: &'static str,
    /// Whose data it is.
    pub subject: Subject,
}

/// Where an event names the data subject of a personal field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The member whose handle is in this field of the same payload.
    Field(&'static str),
    /// The member whose stream the event is on.
    Stream,
    /// The member who issued the command (for what only the subject may write).
    Actor,
}

impl Subject {
    /// The subject as a schema names it: `stream`, `actor` or `field:<name>`.
    pub fn describe(self) -> String {
        match self {
            Self::Field(f) => format!("field:{f}"),
            Self::Stream => "stream".to_owned(),
            Self::Actor => "actor".to_owned(),
        }
    }
}

/// The events of one entity kind: an enum of past-tense variants, stored as a type name
/// and a payload.
pub trait EventType:
    Clone + PartialEq + Serialize + DeserializeOwned + Into<Event> + 'static
{
    /// Every event type of the kind.
    const TYPES: &'static [EventSpec];

    /// The event's type name, as stored.
    fn event_type(&self) -> &'static str;

    /// The version of the event's payload schema this build writes.
    fn schema_version(&self) -> u32;
}

/// An entity: a consistency boundary with its own stream of events, folded into its state.
pub trait Entity: Clone + Default + PartialEq + Serialize + DeserializeOwned + 'static {
    /// The kind.
    const KIND: EntityKind;
    /// Its events.
    type Event: EventType;

    /// Applies one event. Has no rules and cannot fail: the decision already happened.
    #[must_use]
    fn evolve(self, event: &Self::Event) -> Self;

    /// Folds a sequence of events from the default state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}

/// The version an event variant declares (`#[version = N]`), or 1.
#[doc(hidden)]
pub const fn declared_version(declared: &[u32]) -> u32 {
    match declared {
        [v] => *v,
        _ => 1,
    }
}

/// Declares an entity kind's event enum, adjacently tagged (`{"type", "data"}`) as stored, and
/// its [`EventType`] specs from the same declaration. A variant's payload schema version is 1
/// unless it says otherwise with `#[version = N]` after its doc comment. A field that holds
/// personal data says whose with `#[personal(Subject::...)]` after its doc comment.
macro_rules! events {
    (
        $(#[doc = $edoc:literal])*
        pub enum $enum:ident {
            $(
                $(#[doc = $vdoc:literal])*
                $(#[version = $ver:literal])?
                $variant:ident {
                    $(
                        $(#[doc = $fdoc:literal])*
                        $(#[personal($subject:expr)])?
                        $field:ident : $ty:ty
                    ),* $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[doc = $edoc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $enum {
            $(
                $(#[doc = $vdoc])*
                $variant {
                    $( $(#[doc = $fdoc])* $field: $ty, )*
                },
            )*
        }

        impl $crate::entity::EventType for $enum {
            const TYPES: &'static [$crate::entity::EventSpec] = &[
                $($crate::entity::EventSpec {
                    name: stringify!($variant),
                    doc: concat!($($vdoc),*),
                    version: $crate::entity::declared_version(&[$($ver)?]),
                    fields: &[
                        $($crate::entity::FieldSpec {
                            name: stringify!($field),
                            doc: concat!($($fdoc),*),
                            rule: <$ty as $crate::values::Value>::RULE,
                            nullable: <$ty as $crate::values::Value>::NULLABLE,
                        },)*
                    ],
                    personal: &[
                        $($($crate::entity::Personal {
                            field: stringify!($field),
                            subject: $subject,
                        },)?)*
                    ],
                },)*
            ];

            fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)*
                }
            }

            fn schema_version(&self) -> u32 {
                match self {
                    $(Self::$variant { .. } => $crate::entity::declared_version(&[$($ver)?]),)*
                }
            }
        }
    };
}
pub(crate) use events;

/// An event of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member's.
    Member(MemberEvent),
    /// A job's.
    Job(JobEvent),
}

impl Event {
    /// The kind of entity whose event it is.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Member(_) => EntityKind::Member,
            Self::Job(_) => EntityKind::Job,
        }
    }

    /// The event's type name.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Member(e) => e.event_type(),
            Self::Job(e) => e.event_type(),
        }
    }

    /// The version of the event's payload schema this build writes.
    pub fn schema_version(&self) -> u32 {
        match self {
            Self::Member(e) => e.schema_version(),
            Self::Job(e) => e.schema_version(),
        }
    }
}

impl From<MemberEvent> for Event {
    fn from(e: MemberEvent) -> Self {
        Self::Member(e)
    }
}

impl From<JobEvent> for Event {
    fn from(e: JobEvent) -> Self {
        Self::Job(e)
    }
}

/// An event whose kind is not the state's (a caller's fault, never a stored event's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {event} event cannot apply to a {state} state")]
pub struct KindMismatch {
    /// The event's kind.
    pub event: &'static str,
    /// The state's kind.
    pub state: &'static str,
}

/// An entity's state, of any kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub enum State {
    /// A member's wallet.
    Member(Wallet),
    /// A job.
    Job(Job),
}

impl State {
    /// The state of an entity of `kind` that has no events yet.
    pub fn empty(kind: EntityKind) -> Self {
        match kind {
            EntityKind::Member => Self::Member(Wallet::default()),
            EntityKind::Job => Self::Job(Job::default()),
        }
    }

    /// The kind.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Member(_) => EntityKind::Member,
            Self::Job(_) => EntityKind::Job,
        }
    }

    /// Applies an event of the state's kind.
    ///
    /// # Errors
    /// [`KindMismatch`] for an event of another kind.
    pub fn apply(&mut self, event: &Event) -> Result<(), KindMismatch> {
        let mismatch = KindMismatch {
            event: event.kind().as_str(),
            state: self.kind().as_str(),
        };
        match (&mut *self, event) {
            (Self::Member(w), Event::Member(e)) => *w = std::mem::take(w).evolve(e),
            (Self::Job(j), Event::Job(e)) => *j = std::mem::take(j).evolve(e),
            _ => return Err(mismatch),
        }
        Ok(())
    }

    /// The wallet, if this is a member's state.
    pub fn as_wallet(&self) -> Option<&Wallet> {
        match self {
            Self::Member(w) => Some(w),
            Self::Job(_) => None,
        }
    }

    /// The job, if this is a job's state.
    pub fn as_job(&self) -> Option<&Job> {
        match self {
            Self::Job(j) => Some(j),
            Self::Member(_) => None,
        }
    }
}

static NO_WALLET: Wallet = Wallet::EMPTY;
static NO_JOB: Job = Job::EMPTY;

/// The states a decision reads, by stream. A stream not held reads as an entity with no
/// events (a member not registered, a job not launched).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct States(BTreeMap<StreamId, State>);

impl States {
    /// No states.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state of a stream, if held.
    pub fn get(&self, stream: &StreamId) -> Option<&State> {
        self.0.get(stream)
    }

    /// Whether a stream's state is held.
    pub fn holds(&self, stream: &StreamId) -> bool {
        self.0.contains_key(stream)
    }

    /// Holds `state` as `stream`'s.
    pub fn insert(&mut self, stream: StreamId, state: State) {
        self.0.insert(stream, state);
    }

    /// A member's wallet (empty if not held).
    pub fn wallet(&self, h: &Handle) -> &Wallet {
        self.0
            .get(&StreamId::member(h))
            .and_then(State::as_wallet)
            .unwrap_or(&NO_WALLET)
    }

    /// A job (not launched if not held).
    pub fn job(&self, j: &JobId) -> &Job {
        self.0
            .get(&StreamId::job(j))
            .and_then(State::as_job)
            .unwrap_or(&NO_JOB)
    }

    /// Applies `event` to `stream`'s state (an empty one if not held yet).
    ///
    /// # Errors
    /// [`KindMismatch`] if the event's kind is not the stream's.
    pub fn apply(&mut self, stream: &StreamId, event: &Event) -> Result<(), KindMismatch> {
        self.0
            .entry(stream.clone())
            .or_insert_with(|| State::empty(stream.kind()))
            .apply(event)
    }

    /// Every state held.
    pub fn iter(&self) -> impl Iterator<Item = (&StreamId, &State)> {
        self.0.iter()
    }
}
