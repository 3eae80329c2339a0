//! The shapes of the response bodies. The port's views do not know about OpenAPI, so those
//! bodies are described here by stubs that mirror their JSON (a test compares real responses
//! with them); the adapter's own bodies are real types.

// Stubs exist for the document only and are never built.
#![allow(dead_code)]

use crate::links::Links;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tally_ports::Receipt;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where an event was recorded.
#[derive(ToSchema)]
pub struct EventRefDoc {
    /// `member:<handle>` or `job:<id>`.
    stream: String,
    version: u64,
    position: u64,
    event_type: String,
}

/// What a command recorded.
#[derive(ToSchema)]
pub struct ReceiptDoc {
    /// The command's id (the `Idempotency-Key`, or assigned).
    command_id: Uuid,
    events: Vec<EventRefDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// One recorded event.
#[derive(ToSchema)]
pub struct EventDoc {
    position: u64,
    stream: String,
    version: u64,
    event_id: Uuid,
    event_type: String,
    schema_version: u32,
    #[schema(value_type = Object)]
    payload: (),
    time: DateTime<Utc>,
    /// `admin:<name>`, `member:<handle>`, `system:<name>` or `anonymous`.
    actor: String,
    command_id: Uuid,
    correlation_id: Uuid,
    causation_id: Uuid,
}

/// Credits held for one job.
#[derive(ToSchema)]
pub struct EscrowLineDoc {
    job: String,
    amount: u64,
}

/// A member's wallet.
#[derive(ToSchema)]
pub struct WalletDoc {
    handle: String,
    display_name: String,
    balance: u64,
    escrowed: u64,
    escrow: Vec<EscrowLineDoc>,
    total_granted: u64,
    total_earned: u64,
    total_refunded: u64,
    total_paid_out: u64,
    version: u64,
    /// The most recent events (up to 50), oldest first.
    history: Vec<EventDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// A member in the admins' list.
#[derive(ToSchema)]
pub struct MemberSummaryDoc {
    handle: String,
    display_name: String,
    balance: u64,
    escrowed: u64,
}

/// Every member.
#[derive(ToSchema)]
pub struct MembersDoc {
    items: Vec<MemberSummaryDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// Where a job is.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatusDoc {
    /// Not launched.
    Draft,
    /// Taking applications.
    Open,
    /// An applicant was accepted.
    InProgress,
    /// Done and paid.
    Completed,
    /// Cancelled and refunded.
    Cancelled,
}

/// Where an application is.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatusDoc {
    /// Submitted, neither withdrawn nor accepted.
    Live,
    /// Withdrawn by the applicant.
    Withdrawn,
    /// Accepted by the owner.
    Accepted,
}

/// What everyone may see of a job.
#[derive(ToSchema)]
pub struct JobSummaryDoc {
    id: String,
    owner: String,
    title: String,
    description: String,
    reward: u64,
    status: JobStatusDoc,
    launched_at: DateTime<Utc>,
    version: u64,
}

/// A job on the board, with links.
#[derive(ToSchema)]
pub struct JobBoardItemDoc {
    id: String,
    owner: String,
    title: String,
    description: String,
    reward: u64,
    status: JobStatusDoc,
    launched_at: DateTime<Utc>,
    version: u64,
    #[serde(rename = "_links")]
    links: Links,
}

/// Open jobs, newest first.
#[derive(ToSchema)]
pub struct JobBoardDoc {
    items: Vec<JobBoardItemDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// An application.
#[derive(ToSchema)]
pub struct ApplicationDoc {
    participant: String,
    pitch: String,
    status: ApplicationStatusDoc,
}

/// A job as its owner sees it.
#[derive(ToSchema)]
pub struct JobOwnerDoc {
    job: JobSummaryDoc,
    applications: Vec<ApplicationDoc>,
    accepted: Option<String>,
    cancel_reason: Option<String>,
    /// `accept`, `cancel`, `complete` as the job's status allows.
    #[serde(rename = "_links")]
    links: Links,
}

/// A job as a participant sees it: only their own application.
#[derive(ToSchema)]
pub struct JobParticipantDoc {
    job: JobSummaryDoc,
    my_application: Option<ApplicationDoc>,
    /// `apply` or `withdraw` as the caller may.
    #[serde(rename = "_links")]
    links: Links,
}

/// An entity's events.
#[derive(ToSchema)]
pub struct HistoryDoc {
    items: Vec<EventDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// An entity's state.
#[derive(ToSchema)]
pub struct EntityStateDoc {
    /// `member` or `job`.
    kind: String,
    /// The folded state.
    #[schema(value_type = Object)]
    state: (),
}

/// An entity as it was.
#[derive(ToSchema)]
pub struct SnapshotDoc {
    stream: String,
    version: u64,
    latest_version: u64,
    time: DateTime<Utc>,
    state: EntityStateDoc,
    #[serde(rename = "_links")]
    links: Links,
}

/// A page of the feed.
#[derive(ToSchema)]
pub struct FeedDoc {
    events: Vec<EventDoc>,
    next_after: u64,
    #[serde(rename = "_links")]
    links: Links,
}

/// A session: its token works as a bearer token and is also set as a cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDoc {
    /// The account.
    pub name: String,
    /// `admin` or `member`.
    pub role: String,
    /// The actor the events will record.
    pub actor: String,
    /// The session token.
    pub token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// A new member, signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupDoc {
    /// What the registration recorded.
    #[schema(value_type = ReceiptDoc)]
    pub receipt: Receipt,
    /// The session.
    pub session: SessionDoc,
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The actor: `member:alice`, `admin:admin` or `anonymous`.
    pub actor: String,
    /// The account, if signed in.
    pub name: Option<String>,
    /// The role, if signed in.
    pub role: Option<String>,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDoc {
    /// Its id.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new API token, with its secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenDoc {
    /// The secret: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token.
    #[serde(flatten)]
    pub details: TokenDoc,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// An API token in a list.
#[derive(ToSchema)]
pub struct TokenItemDoc {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    #[serde(rename = "_links")]
    links: Links,
}

/// The caller's API tokens.
#[derive(ToSchema)]
pub struct TokensDoc {
    items: Vec<TokenItemDoc>,
    #[serde(rename = "_links")]
    links: Links,
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDoc {
    /// Its name.
    pub name: String,
    /// `admin` or `member`.
    pub role: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Links.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// The index of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct Index {
    /// `tally`.
    pub service: String,
    /// Who is calling.
    pub actor: String,
    /// Where to go.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// A health check's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}
