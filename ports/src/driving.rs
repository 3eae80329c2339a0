//! The driving port `Tally`: one typed command ([`Input`], parsed by the port into the
//! domain's [`Command`]) and the views, each carrying what the viewer may do next.

use crate::ctx::Ctx;
use crate::envelope::{EntityRef, RecordedEvent, StreamId};
use crate::error::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use tally_domain::{Action, ApplicationStatus, Command, CommandKind, JobStatus, Raw, State};
use utoipa::ToSchema;
use uuid::Uuid;

/// A command as a caller sends it: its kind and its fields as typed (the port parses them,
/// and refuses what breaks a rule with the field named). Built from a typed [`Command`], or
/// field by field for input that may not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What the command is.
    pub kind: CommandKind,
    /// Its fields, by name.
    pub fields: BTreeMap<String, Raw>,
}

impl Input {
    /// A command of `kind` with no fields yet.
    pub fn new(kind: CommandKind) -> Self {
        Self {
            kind,
            fields: BTreeMap::new(),
        }
    }

    /// The same command with `field` set.
    #[must_use]
    pub fn with(mut self, field: &str, value: impl Into<Raw>) -> Self {
        self.fields.insert(field.to_owned(), value.into());
        self
    }

    /// The key of the entity the command acts on, as sent (for commands on an entity).
    pub fn key(&self) -> Option<String> {
        match self.kind.target() {
            tally_domain::Target::On(k) => self.fields.get(k.key_field()).map(Raw::to_text),
            tally_domain::Target::New(_) => None,
        }
    }
}

impl From<Command> for Input {
    fn from(c: Command) -> Self {
        Self {
            kind: c.kind(),
            fields: c.to_fields(),
        }
    }
}

/// A raw value as JSON: text as a string, a whole number as a number.
pub fn raw_to_json(r: &Raw) -> Json {
    match r {
        Raw::Text(s) | Raw::Other(s) => Json::String(s.clone()),
        Raw::Int(n) => Json::from(*n),
    }
}

/// A JSON number as a whole number, if it is one: `3` and `3.0` alike (JSON Schema counts
/// both as integers, so clients and generators may send either).
pub fn whole_number(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // -2^63 and 2^63, exact in f64: every whole f64 in between fits an i64.
    let bound = 2f64.powi(63);
    (f.fract() == 0.0 && (-bound..bound).contains(&f)).then_some(f as i64)
}

/// The outcome of a command: what it recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// The command's id (the `Idempotency-Key`, or assigned).
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventRef {
    /// The stream: `member:<handle>` or `job:<id>`.
    #[schema(value_type = String)]
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

/// Something the viewer may do now: a command, the fields it is given, and those the viewer
/// fills in. The API renders it as a link, the pages as a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    /// The command's name, e.g. `accept_applicant`.
    pub command: String,
    /// What its button says, e.g. `Accept @bob`.
    pub label: String,
    /// The fields it is given, by name.
    #[schema(value_type = Object)]
    pub given: BTreeMap<String, Json>,
    /// The fields the viewer fills in, in order.
    pub ask: Vec<AskView>,
}

/// A field the viewer fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AskView {
    /// The field's name.
    pub field: String,
    /// What it starts with.
    #[schema(value_type = serde_json::Value)]
    pub initial: Json,
}

impl ActionView {
    /// The kind of command, if this build knows it.
    pub fn kind(&self) -> Option<CommandKind> {
        CommandKind::parse(&self.command)
    }
}

impl From<&Action> for ActionView {
    fn from(a: &Action) -> Self {
        Self {
            command: a.kind().name().to_owned(),
            label: a.label.clone(),
            given: a
                .given()
                .into_iter()
                .map(|(k, v)| (k, raw_to_json(&v)))
                .collect(),
            ask: a
                .ask
                .iter()
                .map(|q| AskView {
                    field: q.field.to_owned(),
                    initial: raw_to_json(&q.initial),
                })
                .collect(),
        }
    }
}

/// A member's wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// What the viewer may do with this wallet now.
    pub actions: Vec<ActionView>,
}

/// How many recent events a [`WalletView`] carries; [`Tally::history`] has them all.
pub const WALLET_HISTORY: u64 = 50;

/// Credits held for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscrowLine {
    /// The job.
    pub job: String,
    /// The credits held.
    pub amount: u64,
}

/// One application, as its owner's view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    /// The applicant.
    pub participant: String,
    /// Their pitch.
    pub pitch: String,
    /// Their estimate of the days the job will take them (1 to 365), if they gave one.
    pub proposed_days: Option<u16>,
    /// Where it is.
    #[schema(schema_with = crate::schema::application_status)]
    pub status: ApplicationStatus,
}

/// What everyone may see of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    #[schema(schema_with = crate::schema::job_status)]
    pub status: JobStatus,
    /// When it was launched.
    pub launched_at: DateTime<Utc>,
    /// The job stream's version.
    pub version: u64,
}

/// A job as its owner (or an admin) sees it: everything, every application and pitch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobOwnerView {
    /// The public details.
    pub job: JobSummary,
    /// Every application, by applicant.
    pub applications: Vec<ApplicationView>,
    /// The accepted applicant, if any.
    pub accepted: Option<String>,
    /// Why it was cancelled, if it was.
    pub cancel_reason: Option<String>,
    /// What the viewer may do with this job now.
    pub actions: Vec<ActionView>,
}

/// A job as a participant sees it: the public details and only the viewer's own application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobParticipantView {
    /// The public details.
    pub job: JobSummary,
    /// The viewer's own application, if any. Other applicants are never shown.
    pub my_application: Option<ApplicationView>,
    /// What the viewer may do with this job now.
    pub actions: Vec<ActionView>,
}

/// A member in the admins' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// When to look at an entity: after the last event with a version up to `version` and a
/// time up to `time` (either, both, or neither: the latest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsOf {
    /// The version looked at (1 = after the first event); the entity must have it.
    pub version: Option<u64>,
    /// A time: what was recorded at or before it.
    pub time: Option<DateTime<Utc>>,
}

impl AsOf {
    /// After the event with this stream version (1 = the first event).
    pub fn version(v: u64) -> Self {
        Self {
            version: Some(v),
            time: None,
        }
    }

    /// After the last event recorded at or before this time.
    pub fn time(t: DateTime<Utc>) -> Self {
        Self {
            version: None,
            time: Some(t),
        }
    }
}

/// An entity as it was at some moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    /// The entity's stream.
    #[schema(value_type = String)]
    pub stream: StreamId,
    /// The version the state reflects.
    pub version: u64,
    /// The entity's version now (so a reader knows how far it can travel forward).
    pub latest_version: u64,
    /// When that version's event was recorded.
    pub time: DateTime<Utc>,
    /// The state then: `{"kind": "member" | "job", "state": {...}}`.
    #[schema(value_type = Object)]
    pub state: State,
}

/// A page of the global history feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    /// The position read after (resolved from an event id when the read started there).
    #[serde(default)]
    pub after: u64,
    /// Events in global order.
    pub events: Vec<RecordedEvent>,
    /// The position to ask after for the next page.
    pub next_after: u64,
}

/// Tally's commands and views. Every call carries the acting identity in [`Ctx`]; the
/// domain decides who may do what (admin-only grants, owner-only actions, participants see
/// only their own application), and implementations only establish who is calling.
///
/// Every method returns [`crate::Error`]: `Invalid` for input that does not parse,
/// `Rejected` for what the domain refuses (a rule, or who may do it: its code says which),
/// `NotFound` for versions that do not exist, `Conflict` when retries are exhausted,
/// `Infrastructure` when storage fails. A command that fails records nothing.
#[async_trait]
pub trait Tally: Send + Sync {
    /// Runs a command as the context's actor.
    ///
    /// # Errors
    /// `Invalid` (the field named) for input that breaks a rule; `Rejected` with the
    /// domain's code; `Conflict` (`conflict`, `command_id_reused`); `Infrastructure`.
    async fn execute(&self, ctx: &Ctx, input: Input) -> Result<Receipt>;

    /// A member's wallet (the member or an admin).
    ///
    /// # Errors
    /// `invalid_handle`; `unauthorized`, `not_your_wallet`; `unknown_member`.
    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView>;

    /// A wallet's statement (the member or an admin): its movements of credits, newest first,
    /// filtered by kind and time, a page at a time, each with its signed effect, the balance
    /// after it, the job's title and the other side; and the balance over time.
    ///
    /// # Errors
    /// `invalid_handle`; `unauthorized`, `not_your_wallet`; `unknown_member`.
    async fn statement(
        &self,
        ctx: &Ctx,
        handle: &str,
        q: crate::statement::StatementQuery,
    ) -> Result<crate::statement::Statement>;

    /// A job with every application (its owner or an admin).
    ///
    /// # Errors
    /// `invalid_job_id`; `unauthorized`, `not_job_owner`; `unknown_job`.
    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView>;

    /// A job as a participant sees it: public details and only the viewer's own application.
    ///
    /// # Errors
    /// `invalid_job_id`; `unknown_job`; `unauthorized` for an anonymous caller.
    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView>;

    /// Open jobs, newest first, at most `limit` (selected from the state cache): the first
    /// page of [`Tally::jobs`] for [`crate::jobs::JobQuery::board`].
    ///
    /// # Errors
    /// `Infrastructure` only.
    async fn job_board(&self, ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>> {
        let page = self
            .jobs(
                ctx,
                crate::jobs::JobQuery::board(limit.clamp(1, crate::jobs::MAX_PAGE)),
            )
            .await?;
        Ok(page.jobs.into_iter().map(|l| l.job).collect())
    }

    /// A page of jobs, newest first, with a count: the job board (open jobs: anyone), a
    /// member's own jobs in any state or the jobs they applied to (that member, or an admin),
    /// every job (admins); searched by words, filtered by reward. Selected from the state
    /// cache through indexes, never by scanning events.
    ///
    /// # Errors
    /// `Invalid` for a bad handle, job id or reward range; `unauthorized`, `admin_only` for
    /// a list the viewer may not see.
    async fn jobs(&self, ctx: &Ctx, q: crate::jobs::JobQuery) -> Result<crate::jobs::JobPage>;

    /// Every member, by handle (admins only). The provided implementation reads every page
    /// of [`Tally::find_members`].
    ///
    /// # Errors
    /// `unauthorized`, `admin_only`.
    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        use crate::members::{MAX_PAGE, MemberCursor, MemberQuery};
        let mut q = MemberQuery::all(MAX_PAGE);
        let mut out = Vec::new();
        loop {
            let page = self.find_members(ctx, q.clone()).await?;
            out.extend(page.members.into_iter().map(|m| m.member));
            match page.next {
                Some(last) => q = q.at(MemberCursor::After(last)),
                None => return Ok(out),
            }
        }
    }

    /// A page of members by handle, with a count (admins only): those whose handle or
    /// display name contains the text searched (any case), each with when they joined, when
    /// they were last active and whether they have an account. Selected from the state
    /// cache through indexes, never by scanning events.
    ///
    /// # Errors
    /// `Invalid` for a cursor that is not a handle or a search too long; `unauthorized`,
    /// `admin_only`.
    async fn find_members(
        &self,
        ctx: &Ctx,
        q: crate::members::MemberQuery,
    ) -> Result<crate::members::MemberPage>;

    /// Every event of an entity, oldest first: the wallet's member or an admin; for a job,
    /// its owner or an admin (a job's history holds every pitch).
    ///
    /// # Errors
    /// `Invalid` for a bad key; `unauthorized`, `not_your_wallet`, `not_job_owner`;
    /// `unknown_member`, `unknown_job`.
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
    /// `unauthorized`, `admin_only`.
    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage> {
        self.read_feed(ctx, crate::feed::FeedRequest::after(after, limit))
            .await
    }

    /// The global history feed, filtered, from a position or after an event id, waiting up
    /// to `req.wait` for an event when there is none yet (admins and feed readers). Never
    /// skips an event: only the gap-free prefix of the global order is shown.
    ///
    /// # Errors
    /// `unauthorized`, `admin_only`; `no_such_event` for an unknown event id.
    async fn read_feed(&self, ctx: &Ctx, req: crate::feed::FeedRequest) -> Result<FeedPage>;

    /// The reports (admins): daily totals and fraud signals, with how far they have caught
    /// up with the history (they are eventually consistent).
    ///
    /// # Errors
    /// `unauthorized`, `admin_only`; `Infrastructure` when this service keeps no reports.
    async fn reports(&self, ctx: &Ctx) -> Result<crate::reports::ReportsView> {
        let _ = ctx;
        Err(crate::Error::infrastructure(
            "this service keeps no reports",
        ))
    }

    /// A page of the viewer's notifications, newest first, with how many are unread (members
    /// only: each sees only their own).
    ///
    /// # Errors
    /// `unauthorized` for a visitor; `members_only` for an admin; `Infrastructure` when this
    /// service keeps no outbox.
    async fn inbox(
        &self,
        ctx: &Ctx,
        q: crate::inbox::InboxQuery,
    ) -> Result<crate::inbox::InboxPage>;

    /// How many of the viewer's notifications are unread (0 for a viewer who has no inbox:
    /// visitors, admins, a service that keeps none), for every page's header.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn unread_notifications(&self, ctx: &Ctx) -> Result<u64>;

    /// Marks one of the viewer's notifications read, or all of them; returns how many were
    /// unread and now are read.
    ///
    /// # Errors
    /// As [`Tally::inbox`]; `no_such_notification` for an id that is not one of theirs.
    async fn mark_read(&self, ctx: &Ctx, which: crate::inbox::MarkRead) -> Result<u64>;
}
