//! Why the domain said no to a command.

use crate::values::{Credits, Handle, JobId};

/// What kind of refusal a rejection is, so that every adapter reports it the same way
/// (for instance as an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The command names an entity that does not exist.
    NotFound,
    /// The actor may not do this to this entity (e.g. acting on someone else's job).
    Forbidden,
    /// A business rule refuses the command in the entity's current state.
    Rule,
}

/// A business rule refused a command. Nothing is recorded. Never retried: the same state and
/// command always give the same answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The handle is already registered.
    #[error("the handle '{0}' is already taken")]
    HandleTaken(Handle),
    /// No member has this handle.
    #[error("there is no member '{0}'")]
    UnknownMember(Handle),
    /// No job has this id.
    #[error("there is no job '{0}'")]
    UnknownJob(JobId),
    /// The job id is already in use (a server id generator fault).
    #[error("a job '{0}' already exists")]
    JobExists(JobId),
    /// Spending more than the balance.
    #[error("insufficient credits: {needed} needed, {available} available")]
    InsufficientCredits {
        /// What the command needs.
        needed: Credits,
        /// The balance.
        available: Credits,
    },
    /// A balance would exceed what a wallet can hold.
    #[error("the balance would exceed the largest balance a wallet can hold")]
    BalanceLimit,
    /// The owner of a job tried to apply to it.
    #[error("you cannot apply to your own job")]
    OwnJob,
    /// The member already has a live application for this job.
    #[error("'{0}' has already applied to this job")]
    AlreadyApplied(Handle),
    /// The job is not open (in progress, completed or cancelled).
    #[error("the job is not open (it is {0})")]
    JobNotOpen(&'static str),
    /// The job is not in progress.
    #[error("the job is not in progress (it is {0})")]
    JobNotInProgress(&'static str),
    /// The member has no live application for this job.
    #[error("'{0}' has no live application for this job")]
    NoLiveApplication(Handle),
    /// An accepted application can no longer be withdrawn.
    #[error("the application has been accepted and can no longer be withdrawn")]
    ApplicationAccepted,
    /// Only the job's owner may do this.
    #[error("only the job's owner, '{0}', may do this")]
    NotJobOwner(Handle),
}

impl Rejection {
    /// A stable machine code, the same in every adapter (JSON, HTML, logs).
    pub fn code(&self) -> &'static str {
        match self {
            Self::HandleTaken(_) => "handle_taken",
            Self::UnknownMember(_) => "unknown_member",
            Self::UnknownJob(_) => "unknown_job",
            Self::JobExists(_) => "job_exists",
            Self::InsufficientCredits { .. } => "insufficient_credits",
            Self::BalanceLimit => "balance_limit",
            Self::OwnJob => "own_job",
            Self::AlreadyApplied(_) => "already_applied",
            Self::JobNotOpen(_) => "job_not_open",
            Self::JobNotInProgress(_) => "job_not_in_progress",
            Self::NoLiveApplication(_) => "no_live_application",
            Self::ApplicationAccepted => "application_accepted",
            Self::NotJobOwner(_) => "not_job_owner",
        }
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Self::UnknownMember(_) | Self::UnknownJob(_) => RejectionKind::NotFound,
            Self::NotJobOwner(_) => RejectionKind::Forbidden,
            _ => RejectionKind::Rule,
        }
    }
}
