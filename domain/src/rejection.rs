//! Why the domain said no to a command or a view: a business rule, or who may do what.

use crate::job::JobStatus;
use crate::values::{Credits, Handle, JobId};
use serde::{Deserialize, Serialize};

/// What kind of refusal a rejection is, so that every adapter reports it the same way
/// (for instance as an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Nobody is signed in, and this needs someone.
    Unauthenticated,
    /// The actor may not do this (e.g. act on someone else's job).
    Forbidden,
    /// The command names an entity that does not exist.
    NotFound,
    /// A business rule refuses the command in the entity's current state.
    Rule,
}

/// The domain refused a command (or a view). Nothing is recorded. Never retried: the same
/// states and command always give the same answer. Its serialized form carries its stable
/// `code` and its details, so that it survives JSON (and a client rebuilds it exactly).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    /// Nobody is signed in.
    #[serde(rename = "unauthorized")]
    #[error("sign in first")]
    SignInFirst,
    /// Only an admin may do this.
    #[error("only an admin may do this")]
    AdminOnly,
    /// Only members do this.
    #[error("only members do this; sign in as a member")]
    MembersOnly,
    /// A member may only see their own wallet.
    #[error("you may only see your own wallet")]
    NotYourWallet,
    /// Only the job's owner may do this.
    #[error("only the job's owner, '{owner}', may do this")]
    NotJobOwner {
        /// The owner.
        owner: Handle,
    },
    /// No member has this handle.
    #[error("there is no member '{handle}'")]
    UnknownMember {
        /// The handle.
        handle: Handle,
    },
    /// No job has this id.
    #[error("there is no job '{job}'")]
    UnknownJob {
        /// The job id.
        job: JobId,
    },
    /// The handle is already registered.
    #[error("the handle '{handle}' is already taken")]
    HandleTaken {
        /// The handle.
        handle: Handle,
    },
    /// The job id is already in use (a server id generator fault).
    #[error("a job '{job}' already exists")]
    JobExists {
        /// The job id.
        job: JobId,
    },
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
    #[error("'{participant}' has already applied to this job")]
    AlreadyApplied {
        /// The applicant.
        participant: Handle,
    },
    /// The job is not open (in progress, completed or cancelled).
    #[error("the job is not open (it is {})", job_status.as_str())]
    JobNotOpen {
        /// Where the job is.
        job_status: JobStatus,
    },
    /// The job is not in progress.
    #[error("the job is not in progress (it is {})", job_status.as_str())]
    JobNotInProgress {
        /// Where the job is.
        job_status: JobStatus,
    },
    /// The member has no live application for this job.
    #[error("'{participant}' has no live application for this job")]
    NoLiveApplication {
        /// The member.
        participant: Handle,
    },
    /// An accepted application can no longer be withdrawn.
    #[error("the application has been accepted and can no longer be withdrawn")]
    ApplicationAccepted,
    /// An edit that would leave the description as it is.
    #[error("the job already has this description")]
    DescriptionUnchanged,
    /// A member may only ask to forget themselves (admins may forget anyone).
    #[error("you may only ask to be forgotten yourself")]
    NotYourself,
    /// The member was forgotten: their wallet takes nothing new.
    #[error("the member '{handle}' was forgotten")]
    MemberForgotten {
        /// The handle (a pseudonym, kept).
        handle: Handle,
    },
}

impl Rejection {
    /// A stable machine code, the same in every adapter (JSON, HTML, logs); also the `code`
    /// of its serialized form.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SignInFirst => "unauthorized",
            Self::AdminOnly => "admin_only",
            Self::MembersOnly => "members_only",
            Self::NotYourWallet => "not_your_wallet",
            Self::NotJobOwner { .. } => "not_job_owner",
            Self::UnknownMember { .. } => "unknown_member",
            Self::UnknownJob { .. } => "unknown_job",
            Self::HandleTaken { .. } => "handle_taken",
            Self::JobExists { .. } => "job_exists",
            Self::InsufficientCredits { .. } => "insufficient_credits",
            Self::BalanceLimit => "balance_limit",
            Self::OwnJob => "own_job",
            Self::AlreadyApplied { .. } => "already_applied",
            Self::JobNotOpen { .. } => "job_not_open",
            Self::JobNotInProgress { .. } => "job_not_in_progress",
            Self::NoLiveApplication { .. } => "no_live_application",
            Self::ApplicationAccepted => "application_accepted",
            Self::DescriptionUnchanged => "description_unchanged",
            Self::NotYourself => "not_yourself",
            Self::MemberForgotten { .. } => "member_forgotten",
        }
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Self::SignInFirst => RejectionKind::Unauthenticated,
            Self::AdminOnly
            | Self::MembersOnly
            | Self::NotYourWallet
            | Self::NotYourself
            | Self::NotJobOwner { .. } => RejectionKind::Forbidden,
            Self::UnknownMember { .. } | Self::UnknownJob { .. } => RejectionKind::NotFound,
            _ => RejectionKind::Rule,
        }
    }
}
