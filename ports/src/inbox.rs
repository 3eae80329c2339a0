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
use tally_domain::{Handle, Notification};
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

/// A page of an inbox, what [`crate::Tally::inbox`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    /// Whose inbox.
    pub member: Handle,
    /// The notifications, newest first.
    pub items: Vec<InboxItem>,
    /// How many of the member's notifications are unread (all pages).
    pub unread: u64,
    /// The id to ask for the next (older) page with, if there is one.
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
