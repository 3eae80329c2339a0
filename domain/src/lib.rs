//! Tally's domain: the pure business logic of a credits marketplace.
//!
//! Two entities, each with its own stream of events:
//! - [`member::Wallet`] (stream key: the member's handle): registration, grants, escrow, earnings;
//! - [`job::Job`] (stream key: the job id): launch, applications, acceptance, completion,
//!   cancellation.
//!
//! Every entity has two pure functions: `decide` (state + command -> events, or a
//! [`Rejection`]) and `evolve` (state + event -> state, no rules, cannot fail). Decisions that
//! span entities (launching escrows the owner's credits; completion pays the participant;
//! cancellation refunds the owner) take every state involved and return every stream's events.
//!
//! No I/O, no clock, no randomness: time and new ids arrive as command fields.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod job;
pub mod member;
pub mod rejection;
pub mod values;

pub use job::{
    Application, ApplicationStatus, Job, JobCommand, JobContext, JobDecision, JobDetails, JobEvent,
    JobStatus, LaunchJob,
};
pub use member::{GrantCredits, MemberCommand, MemberEvent, Profile, RegisterMember, Wallet};
pub use rejection::{Rejection, RejectionKind};
pub use values::{
    Credits, Description, DisplayName, Handle, InvalidValue, JobId, Pitch, Reason, Title,
};

#[cfg(test)]
mod tests;
