//! The driving port: every use case and view of Tally, in one trait, with the inputs it takes
//! (raw, as a person typed them: the port parses them) and the views it returns.

use crate::actor::Ctx;
use crate::envelope::{EntityRef, RecordedEvent, StreamId};
use crate::error::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_domain::{ApplicationStatus, Job, JobStatus, Wallet};
use uuid::Uuid;

/// Register a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMemberInput {
    /// The handle: 3-32 characters of `a-z 0-9 - _`, starting with a letter.
    pub handle: String,
    /// The name shown: 1-80 characters.
    pub display_name: String,
}

/// Grant credits to a member (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantCreditsInput {
    /// Who receives them.
    pub handle: String,
    /// How many: 1 to 1,000,000.
    pub amount: i64,
    /// Why (may be empty).
    #[serde(default)]
    pub reason: String,
}

/// Launch a job as the acting member, escrowing the reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchJobInput {
    /// The title: 1-120 characters.
    pub title: String,
    /// The description (may be empty).
    #[serde(default)]
    pub description: String,
    /// The reward: at least 1, at most the owner's balance.
    pub reward: i64,
}

/// The outcome of a command: what it recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The command's id (client-chosen, or assigned).
    pub command_id: Uuid,
    /// The events recorded, in order.
    pub events: Vec<EventRef>,
}

impl Receipt {
    /// The job a launch created, if this receipt is a launch's.
    pub fn launched_job(&self) -> Option<&str> {
        self.events
            .iter()
            .find(|e| e.event_type == "JobLaunched")
            .map(|e| e.stream.key())
    }
}

/// Where an event was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// The stream.
    pub stream: StreamId,
    /// Its version in the stream.
    pub version: u64,
    /// Its global position.
    pub position: u64,
    /// Its type.
    pub event_type: String,
}

impl From<&RecordedEvent> for EventRef {
    fn from(e: &RecordedEvent) -> Self {
        Self {
            stream: e.stream.clone(),
            version: e.version,
            position: e.position,
            event_type: e.event_type.clone(),
        }
    }
}

/// One event of an entity's history, as people read it.
pub type HistoryEntry = RecordedEvent;

/// A member's wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletView {
    /// The handle.
    pub handle: String,
    /// The name shown.
    pub display_name: String,
    /// Credits available.
    pub balance: u64,
    /// Credits held in escrow for the member's open and in-progress jobs.
    pub escrowed: u64,
    /// The escrow, per job.
    pub escrow: Vec<EscrowLine>,
    /// All credits ever granted.
    pub total_granted: u64,
    /// All credits ever earned.
    pub total_earned: u64,
    /// All credits ever refunded.
    pub total_refunded: u64,
    /// All credits ever paid out of escrow to the participants of the member's jobs.
    pub total_paid_out: u64,
    /// The wallet stream's version.
    pub version: u64,
    /// The wallet's most recent events (up to [`WALLET_HISTORY`]), oldest first.
    pub history: Vec<HistoryEntry>,
}

/// How many recent events a [`WalletView`] carries; [`Tally::history`] has them all.
pub const WALLET_HISTORY: u64 = 50;

/// Credits held for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowLine {
    /// The job.
    pub job: String,
    /// The credits held.
    pub amount: u64,
}

/// One application, as its owner's view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    /// The applicant.
    pub participant: String,
    /// Their pitch.
    pub pitch: String,
    /// Where it is.
    pub status: ApplicationStatus,
}

/// What everyone may see of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job's id.
    pub id: String,
    /// The owner.
    pub owner: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: String,
    /// The reward.
    pub reward: u64,
    /// Where the job is.
    pub status: JobStatus,
    /// When it was launched.
    pub launched_at: DateTime<Utc>,
    /// The job stream's version.
    pub version: u64,
}

/// A job as its owner (or an admin) sees it: everything, every application and pitch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOwnerView {
    /// The public details.
    pub job: JobSummary,
    /// Every application, by applicant.
    pub applications: Vec<ApplicationView>,
    /// The accepted applicant, if any.
    pub accepted: Option<String>,
    /// Why it was cancelled, if it was.
    pub cancel_reason: Option<String>,
}

/// A job as a participant sees it: the public details and only the viewer's own application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobParticipantView {
    /// The public details.
    pub job: JobSummary,
    /// The viewer's own application, if any. Other applicants are never shown.
    pub my_application: Option<ApplicationView>,
}

/// A member in the admins' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    /// The handle.
    pub handle: String,
    /// The name shown.
    pub display_name: String,
    /// Credits available.
    pub balance: u64,
    /// Credits in escrow.
    pub escrowed: u64,
}

/// When to look at an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOf {
    /// After the event with this stream version (1 = the first event).
    Version(u64),
    /// After the last event recorded at or before this time.
    Time(DateTime<Utc>),
}

/// An entity's state, of either kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub enum EntityState {
    /// A member's wallet.
    Member(Wallet),
    /// A job.
    Job(Job),
}

/// An entity as it was at some moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The entity's stream.
    pub stream: StreamId,
    /// The version the state reflects.
    pub version: u64,
    /// The entity's version now (so a reader knows how far it can travel forward).
    pub latest_version: u64,
    /// When that version's event was recorded.
    pub time: DateTime<Utc>,
    /// The state then.
    pub state: EntityState,
}

/// A page of the global history feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedPage {
    /// Events in global order.
    pub events: Vec<RecordedEvent>,
    /// The position to ask after for the next page.
    pub next_after: u64,
}

/// Tally's use cases and views. Every call carries the acting identity in [`Ctx`];
/// implementations enforce authorization (admin-only grants, owner-only actions, participants
/// see only their own application).
///
/// Every method returns [`crate::Error`]: `Invalid` for input that does not parse,
/// `Unauthorized` for an anonymous caller where an identity is needed, `Forbidden` when the
/// actor may not do it, `NotFound`, `Rejected` for a business rule, `Conflict` when retries
/// are exhausted, `Infrastructure` when storage fails. A command that fails records nothing.
#[async_trait]
pub trait Tally: Send + Sync {
    /// Registers a member. By an admin, or by an anonymous caller signing up.
    ///
    /// # Errors
    /// `invalid_handle`, `invalid_display_name`; `handle_taken`; `admin_only` for a member.
    async fn register_member(&self, ctx: &Ctx, input: RegisterMemberInput) -> Result<Receipt>;

    /// Grants credits to a member (admins only).
    ///
    /// # Errors
    /// `invalid_handle`, `invalid_amount`, `invalid_reason`; `admin_only`; `unknown_member`.
    async fn grant_credits(&self, ctx: &Ctx, input: GrantCreditsInput) -> Result<Receipt>;

    /// Launches a job owned by the acting member, escrowing its reward.
    ///
    /// # Errors
    /// `invalid_title`, `invalid_description`, `invalid_reward`; `members_only`;
    /// `unknown_member`; `insufficient_credits`.
    async fn launch_job(&self, ctx: &Ctx, input: LaunchJobInput) -> Result<Receipt>;

    /// Applies to a job as the acting member.
    ///
    /// # Errors
    /// `invalid_job_id`, `invalid_pitch`; `members_only`; `unknown_job`; `own_job`;
    /// `job_not_open`; `already_applied`.
    async fn apply(&self, ctx: &Ctx, job: &str, pitch: &str) -> Result<Receipt>;

    /// Withdraws the acting member's live application.
    ///
    /// # Errors
    /// `unknown_job`; `no_live_application`; `application_accepted`.
    async fn withdraw_application(&self, ctx: &Ctx, job: &str) -> Result<Receipt>;

    /// Accepts an applicant (the job's owner only).
    ///
    /// # Errors
    /// `unknown_job`; `not_job_owner`; `job_not_open`; `no_live_application`.
    async fn accept_applicant(&self, ctx: &Ctx, job: &str, participant: &str) -> Result<Receipt>;

    /// Completes a job in progress, paying its participant (the owner only).
    ///
    /// # Errors
    /// `unknown_job`; `not_job_owner`; `job_not_in_progress`.
    async fn complete_job(&self, ctx: &Ctx, job: &str) -> Result<Receipt>;

    /// Cancels an open job, refunding its owner (the owner only).
    ///
    /// # Errors
    /// `unknown_job`; `not_job_owner`; `job_not_open`.
    async fn cancel_job(&self, ctx: &Ctx, job: &str, reason: &str) -> Result<Receipt>;

    /// A member's wallet (the member or an admin).
    ///
    /// # Errors
    /// `invalid_handle`; `not_your_wallet`; `unknown_member`.
    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView>;

    /// A job with every application (its owner or an admin).
    ///
    /// # Errors
    /// `invalid_job_id`; `not_job_owner`; `unknown_job`.
    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView>;

    /// A job as a participant sees it: public details and only the viewer's own application.
    ///
    /// # Errors
    /// `invalid_job_id`; `unknown_job`; `unauthorized` for an anonymous caller.
    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView>;

    /// Open jobs, newest first, at most `limit` (selected from the state cache).
    ///
    /// # Errors
    /// `Infrastructure` only.
    async fn job_board(&self, ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>>;

    /// Every member, by handle (admins only).
    ///
    /// # Errors
    /// `admin_only`.
    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>>;

    /// Every event of an entity, oldest first: the wallet's member or an admin; for a job,
    /// its owner or an admin (a job's history holds every pitch).
    ///
    /// # Errors
    /// `Invalid` for a bad key; `not_your_wallet`, `not_job_owner`; `unknown_member`,
    /// `unknown_job`.
    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>>;

    /// An entity's state as it was at an earlier version or time (same access as history).
    ///
    /// # Errors
    /// As [`Tally::history`]; and `no_such_version` when the entity has no such version or
    /// did not exist yet at that time.
    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot>;

    /// The global history feed: up to `limit` events after a position (admins only).
    ///
    /// # Errors
    /// `admin_only`.
    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage>;
}
