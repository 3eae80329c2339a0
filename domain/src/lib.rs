//! Tally's domain: the pure business logic of a credits marketplace.
//!
//! Two entities ([`Entity`]), each with its own stream of events:
//! - [`Wallet`] (a member; stream key: the handle): registration, grants, escrow, earnings;
//! - [`Job`] (stream key: the job id): launch, applications, acceptance, completion,
//!   cancellation.
//!
//! One [`Command`] type holds every command. The domain routes it: a command names the
//! streams its decision reads ([`Command::reads`]) and decides over their states
//! ([`Command::decide`]): the events of each stream, or a [`Rejection`] with a stable code.
//! States evolve by events with no rules ([`Entity::evolve`]). What a viewer may do now
//! ([`affordance`]) is the set of commands the decision would accept. Input from outside is
//! parsed into value types whose rules ([`Value::RULE`]) adapters read instead of restating.
//!
//! No I/O, no clock, no randomness: time and new ids arrive from the caller.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actor;
pub mod affordance;
pub mod command;
pub mod entity;
pub mod job;
pub mod member;
pub mod notify;
pub mod rejection;
pub mod stream;
pub mod values;

pub use actor::Actor;
pub use affordance::{Action, Ask};
// Every command struct, whatever commands are declared.
pub use command::*;
pub use entity::{
    Entity, Event, EventSpec, EventType, FieldSpec, KindMismatch, Personal, State, States, Subject,
};
pub use job::{Application, ApplicationStatus, Job, JobDetails, JobEvent, JobStatus};
pub use member::{FORGOTTEN, MemberEvent, Profile, Wallet};
pub use notify::{JobMention, Notification, NotificationKind, notifications};
pub use rejection::{Rejection, RejectionKind};
pub use stream::{EntityKind, StreamId};
pub use values::{
    Amount, Credits, Description, DisplayName, GrantCategory, Handle, InvalidValue, JobId, Pitch,
    ProposedDays, Raw, Reason, Reward, Rule, Shape, Title, Value,
};

#[cfg(test)]
mod tests;
