//! The outbox and the in-app inbox: what members are told (see
//! [`tally_domain::notifications`]), written with the events that cause it and read back by
//! its recipient.
//!
//! Notifications are plain records, not events: the command's transaction writes them into
//! the outbox together with its events ([`crate::driven::AppendPlan::outbox`]), so a refused,
//! conflicting or rolled-back command tells nobody, and a committed one tells each recipient
//! exactly once (a repeated command id records nothing new). Reading one marks it read; that
//! is not history either.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_domain::Notification;
use utoipa::ToSchema;
use uuid::Uuid;

/// One notification in the outbox, as the command's transaction writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Its id (UUIDv7: ordered by creation). Webhook deliveries of it carry it as
    /// `webhook-id`, the same on every attempt.
    pub id: Uuid,
    /// Who is told what.
    pub notification: Notification,
    /// The command whose events caused it.
    pub command_id: Uuid,
    /// When the command recorded its events.
    pub time: DateTime<Utc>,
}

/// A notification in its recipient's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    /// The message.
    pub message: OutboxMessage,
    /// When the recipient read it, if they did.
    pub read_at: Option<DateTime<Utc>>,
}

impl InboxItem {
    /// Whether it is still unread.
    pub fn unread(&self) -> bool {
        self.read_at.is_none()
    }
}

/// The most notifications one page holds.
pub const MAX_PAGE: usize = 100;

/// Which notifications of an inbox to show: newest first, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// Only the unread ones.
    pub unread_only: bool,
    /// Those older than this notification (the next page), or from the newest.
    pub before: Option<Uuid>,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: usize,
}

impl InboxQuery {
    /// The newest `limit`, read or not.
    pub fn newest(limit: usize) -> Self {
        Self {
            unread_only: false,
            before: None,
            limit,
        }
    }
}

/// A notification as its recipient reads it (the inbox's pages and the JSON API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: Uuid,
    /// What about: `application_received`, `application_accepted`,
    /// `application_not_selected`, `job_cancelled`, `job_paid` or `credits_granted`.
    pub kind: String,
    /// What it says, in words.
    pub summary: String,
    /// The job concerned, if any.
    pub job: Option<String>,
    /// That job's title.
    pub job_title: Option<String>,
    /// The other member concerned (the applicant, for the owner), if any.
    pub member: Option<String>,
    /// The credits concerned, if any.
    pub amount: Option<u64>,
    /// The reason given, if any.
    pub reason: Option<String>,
    /// When the command that caused it was recorded.
    pub time: DateTime<Utc>,
    /// The command whose events caused it.
    pub command_id: Uuid,
    /// When the recipient read it (`null`: unread).
    pub read_at: Option<DateTime<Utc>>,
}

impl From<&InboxItem> for NotificationView {
    fn from(i: &InboxItem) -> Self {
        let n = &i.message.notification;
        Self {
            id: i.message.id,
            kind: n.kind.as_str().to_owned(),
            summary: n.summary(),
            job: n.job.as_ref().map(|j| j.id.to_string()),
            job_title: n.job.as_ref().map(|j| j.title.to_string()),
            member: n.member.as_ref().map(ToString::to_string),
            amount: n.amount.map(|a| a.get()),
            reason: n.reason.as_ref().map(ToString::to_string),
            time: i.message.time,
            command_id: i.message.command_id,
            read_at: i.read_at,
        }
    }
}

impl NotificationView {
    /// Whether it is still unread.
    pub fn unread(&self) -> bool {
        self.read_at.is_none()
    }
}

/// A page of an inbox, what [`crate::Tally::inbox`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    /// Whose inbox.
    pub member: String,
    /// The notifications, newest first.
    pub items: Vec<NotificationView>,
    /// How many of the member's notifications are unread (all pages).
    pub unread: u64,
    /// The id to ask for the next (older) page with (`before`), if there is one.
    pub next: Option<Uuid>,
}

/// Which notifications to mark read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkRead {
    /// This one.
    One(Uuid),
    /// Every unread one.
    All,
}

/// A page of an inbox as the store holds it: up to one more than the limit, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredInbox {
    /// The notifications.
    pub items: Vec<InboxItem>,
    /// How many are unread.
    pub unread: u64,
}
