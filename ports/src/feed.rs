//! Reading the global history as a feed: filters, where to start, and the wake-up that lets
//! a reader long-poll without asking storage in a loop.
//!
//! The feed is the global order of [`crate::driven::EventStore::read_all`]: gap-free (an
//! event is shown only once no transaction still in flight could commit one before it) and
//! in position order. A filter keeps that order and that guarantee: it only leaves events out.

use crate::envelope::{EntityKind, RecordedEvent};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// The longest a feed read may wait for an event (the `timeout` of a long poll).
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The most events one feed read returns.
pub const MAX_LIMIT: usize = 1000;

/// Which events of the global order a reader wants: all of them, or only some event types,
/// some entity kinds, those that concern a member, a job (nothing set: everything; several:
/// each must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    /// Event types to keep (`CreditsGranted`...); empty: every type.
    pub types: Vec<String>,
    /// Entity kinds to keep; empty: every kind.
    pub kinds: Vec<EntityKind>,
    /// Only the events that concern this member (a handle): their wallet's, those they did,
    /// and those that name them as a job's owner or participant.
    pub member: Option<String>,
    /// Only the events that concern this job (an id): its own, and the wallets' that name it
    /// (its escrow, payment and refund).
    pub job: Option<String>,
}

impl FeedFilter {
    /// Whether the filter keeps everything.
    pub fn is_all(&self) -> bool {
        self.types.is_empty()
            && self.kinds.is_empty()
            && self.member.is_none()
            && self.job.is_none()
    }

    /// Whether `e` passes the filter.
    pub fn matches(&self, e: &RecordedEvent) -> bool {
        let named = |field: &str, v: &str| e.payload.get(field).and_then(|f| f.as_str()) == Some(v);
        let of = |kind: EntityKind, key: &str| e.stream.kind() == kind && e.stream.key() == key;
        (self.types.is_empty() || self.types.contains(&e.event_type))
            && (self.kinds.is_empty() || self.kinds.contains(&e.stream.kind()))
            && self.member.as_deref().is_none_or(|h| {
                of(EntityKind::Member, h)
                    || e.actor.as_member().is_some_and(|a| a.as_str() == h)
                    || named("participant", h)
                    || named("owner", h)
            })
            && self
                .job
                .as_deref()
                .is_none_or(|j| of(EntityKind::Job, j) || named("job", j))
    }
}

/// Where a feed read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStart {
    /// After this global position (0: from the start).
    After(u64),
    /// After the event with this id (http-feeds' `lastEventId`).
    AfterEvent(Uuid),
    /// Before this global position, read backwards: the `limit` events just below it, still
    /// returned in global order ([`u64::MAX`], or anything past the head: the newest). A
    /// reader pages back by asking before the first position of each page.
    Before(u64),
}

/// One read of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRequest {
    /// Where to start.
    pub start: FeedStart,
    /// At most this many events (1 to [`MAX_LIMIT`]).
    pub limit: usize,
    /// Which events.
    pub filter: FeedFilter,
    /// How long to wait for an event when there is none yet (a long poll; at most
    /// [`MAX_WAIT`]); zero answers at once.
    pub wait: Duration,
}

impl FeedRequest {
    /// Up to `limit` events of every kind after `after`, answered at once.
    pub fn after(after: u64, limit: usize) -> Self {
        Self {
            start: FeedStart::After(after),
            limit,
            filter: FeedFilter::default(),
            wait: Duration::ZERO,
        }
    }

    /// The newest `limit` events, answered at once.
    pub fn newest(limit: usize) -> Self {
        Self {
            start: FeedStart::Before(u64::MAX),
            ..Self::after(0, limit)
        }
    }
}

/// What a reader waits on: it changes whenever [`Commits::bump`] is called.
pub type CommitsReceiver = watch::Receiver<u64>;

/// A counter that a store bumps whenever events may have become visible in the global order
/// (a commit here, or another process's commit it heard of). Readers subscribe BEFORE they
/// read, so that a commit between their read and their wait is never missed.
#[derive(Debug, Clone)]
pub struct Commits {
    tx: watch::Sender<u64>,
}

impl Default for Commits {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(0),
        }
    }
}

impl Commits {
    /// A new counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Something committed: wakes every waiting reader.
    pub fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many bumps there have been (wrapping).
    pub fn count(&self) -> u64 {
        *self.tx.borrow()
    }

    /// A receiver that sees every later bump.
    pub fn subscribe(&self) -> CommitsReceiver {
        self.tx.subscribe()
    }
}
