//! The driven ports: what the application needs from storage, time and id generation.
//! Adapters implement these; [`crate::service::TallyService`] uses them.

use crate::envelope::{EntityKind, FoldEvent, RecordedEvent, StreamId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Mutex;
use uuid::Uuid;

/// A storage failure, as adapters report it at their seam (no driver error type crosses it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A concurrent transaction won: an expected version no longer holds, a serialization
    /// failure, a deadlock. Safe to retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The plan's command id was recorded meanwhile (by a concurrent copy of the command):
    /// nothing was written; its outcome is the answer.
    #[error("command {0} was recorded meanwhile")]
    Duplicate(Uuid),
    /// The connection was lost while the write committed (or during a write that commits
    /// as it returns): it may or may not have been recorded. The service looks the command
    /// id up to find out.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// An event's payload breaks its published contract (see [`crate::contracts`]): nothing
    /// was written. A defect of the writer, never retried.
    #[error("{0}")]
    Contract(String),
    /// Anything else (connection lost, storage down, corrupt data). Not retried.
    #[error("{0}")]
    Other(String),
}

/// One stream's events to append, with the version the decision saw.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// The stream.
    pub stream: StreamId,
    /// The stream's version when the decision was made (0 for a new stream). The append
    /// fails with [`StoreError::Conflict`] unless it still is.
    pub expected_version: u64,
    /// The events, whose `version`s must be `expected_version + 1, + 2, ...`; their
    /// `position` is ignored (the store assigns it).
    pub events: Vec<RecordedEvent>,
}

/// Records that a client-chosen command id was processed, for idempotency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// The command id.
    pub command_id: Uuid,
    /// What the command was (its name, actor and input, hashed), to refuse reuse of an id for
    /// a different command.
    pub fingerprint: String,
}

/// What a processed command id maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutcome {
    /// The fingerprint stored with it.
    pub fingerprint: String,
    /// The events the command recorded, in order.
    pub events: Vec<RecordedEvent>,
}

/// Everything one command appends, atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendPlan {
    /// One entry per stream the command writes (one or several).
    pub streams: Vec<StreamAppend>,
    /// The command id to record (the service records every command's, so that an unknown
    /// outcome can be looked up); `None` only for writes that are not commands.
    pub command: Option<CommandRecord>,
    /// The states after the append, for the state cache, written in the same transaction
    /// ("only if newer or of another format", as [`StateCache::put`]).
    pub cache: Vec<CachedState>,
    /// What the command's events tell members (see [`tally_domain::notifications`]), for the
    /// outbox, written in the same transaction: all of it with the events, or nothing. A
    /// store that keeps no outbox ignores it.
    pub outbox: Vec<crate::inbox::OutboxMessage>,
    /// The members this command forgets (a `MemberForgotten` event is in the plan). In the
    /// same transaction, the store deletes each one's data key (if it keeps the keys), their
    /// member account with its sessions and tokens (if it keeps the accounts), their inbox,
    /// and every state-cache row that names them (rows holding their plaintext: their
    /// wallet, the jobs they launched or applied to); the service then forgets them in what
    /// it holds in memory. A plan that erases is never appended by the one-statement path.
    pub erase: Vec<String>,
}

/// One command of a group commit ([`EventStore::append_batch`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchEntry {
    /// Every stream the decision read, at the version it read (as for
    /// [`EventStore::append_if_current`]), but those an earlier entry of its group writes.
    pub reads: Vec<(StreamId, u64)>,
    /// What to append (no events: a refusal, whose reads are only checked).
    pub plan: AppendPlan,
    /// Entries decided one after the other on a chain of states share a group: an entry
    /// lands only if every earlier entry of its group landed.
    pub group: usize,
}

/// What [`EventStore::fold_events`] hands events to; an error message stops the read.
pub type Fold<'f> = dyn FnMut(FoldEvent<'_>) -> Result<(), String> + Send + 'f;

/// What [`WriteTx::fold_events`] hands events to, with the index of their request.
pub type FoldMany<'f> = dyn FnMut(usize, FoldEvent<'_>) -> Result<(), String> + Send + 'f;

/// Hands a recorded event to a fold (the provided `fold_events`).
fn fold_recorded(
    e: &RecordedEvent,
    fold: impl FnOnce(FoldEvent<'_>) -> Result<(), String>,
) -> Result<(), StoreError> {
    fold(e.as_fold()).map_err(StoreError::Other)
}

/// The event store.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events of `stream` with a version above `after_version`, in version order.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails. An unknown stream is not an error: it has no
    /// events.
    async fn load(
        &self,
        stream: &StreamId,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Hands the events of `stream` above `after_version` to `fold`, in version order, with
    /// only what folding needs ([`FoldEvent`]): for rebuilding a state from a long stream, as
    /// the events are read. `fold` may be handed an event again (after a lost connection, the
    /// read starts over): folding skips versions it has. An error from `fold` stops the read.
    /// The provided implementation feeds [`EventStore::load`]'s events.
    ///
    /// # Errors
    /// As [`EventStore::load`]; [`StoreError::Other`] with `fold`'s message.
    async fn fold_events(
        &self,
        stream: &StreamId,
        after_version: u64,
        fold: &mut Fold<'_>,
    ) -> Result<(), StoreError> {
        for e in self.load(stream, after_version).await? {
            fold_recorded(&e, &mut *fold)?;
        }
        Ok(())
    }

    /// Starts a write transaction (PostgreSQL: SERIALIZABLE) for one command.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage is unavailable.
    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError>;

    /// A command's whole write transaction when its decision was taken beforehand, on the
    /// states of `reads` at the versions given: in ONE transaction (PostgreSQL: SERIALIZABLE),
    /// check that no stream of `reads` has events newer than its version, and if none has,
    /// append `plan` and commit. Returns `None`, having written nothing, when a stream has
    /// moved on: the caller then loads the newer events and decides again, in a transaction
    /// of [`EventStore::begin`].
    ///
    /// Deciding is pure, so a decision taken on the states at these versions is the one the
    /// transaction would have taken after finding no newer events: the outcome is that of
    /// load, decide and append in one transaction. `reads` lists every stream the decision
    /// read, including those it does not write (their versions are checked too).
    ///
    /// The provided implementation does exactly that with [`EventStore::begin`]; a store can
    /// do it in fewer round trips (PostgreSQL: one statement).
    ///
    /// # Errors
    /// As [`WriteTx::append`] and [`WriteTx::commit`]: [`StoreError::Conflict`] when a
    /// concurrent transaction won (safe to retry); [`StoreError::Other`] otherwise, including
    /// a connection lost while the outcome is unknown.
    async fn append_if_current(
        &self,
        reads: &[(StreamId, u64)],
        plan: AppendPlan,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        let mut tx = self.begin().await?;
        if tx.load(reads).await?.iter().any(|newer| !newer.is_empty()) {
            return Ok(None); // dropped: rolled back
        }
        tx.append(plan).await?;
        Ok(Some(tx.commit().await?))
    }

    /// Several commands' [`EventStore::append_if_current`] at once (group commit): each
    /// entry's outcome is the one `append_if_current` would have given it alone, with its own
    /// guard, so that one whose streams moved is left out (`Ok(None)`) and the others land.
    /// Entries of one [`BatchEntry::group`] were decided one after the other on the states
    /// the earlier ones leave (a hot entity's queue): an entry of a group lands only if every
    /// earlier entry of its group landed, and its reads omit the streams those write. An
    /// entry with no events (a refusal decided on states held) writes nothing; `Ok(Some(..))`
    /// confirms that its reads were current.
    ///
    /// The provided implementation runs the entries one after the other; a store can land
    /// them in ONE transaction (PostgreSQL: one statement, one WAL flush).
    async fn append_batch(
        &self,
        entries: Vec<BatchEntry>,
    ) -> Vec<Result<Option<Vec<RecordedEvent>>, StoreError>> {
        let mut out: Vec<Result<Option<Vec<RecordedEvent>>, StoreError>> = Vec::new();
        let mut failed_groups: Vec<usize> = Vec::new();
        for e in entries {
            if failed_groups.contains(&e.group) {
                out.push(Ok(None));
                continue;
            }
            let r = if e.plan.streams.iter().all(|s| s.events.is_empty()) {
                self.reads_current(&e.reads)
                    .await
                    .map(|ok| ok.then(Vec::new))
            } else {
                self.append_if_current(&e.reads, e.plan).await
            };
            if !matches!(r, Ok(Some(_))) {
                failed_groups.push(e.group);
            }
            out.push(r);
        }
        out
    }

    /// Whether [`EventStore::append_batch`] lands a batch in one transaction, so that
    /// commands gain by waiting for each other (group commit). The provided answer: no.
    fn group_commit(&self) -> bool {
        false
    }

    /// Whether no stream of `reads` has events newer than its version.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn reads_current(&self, reads: &[(StreamId, u64)]) -> Result<bool, StoreError> {
        for (s, v) in reads {
            if !self.load(s, *v).await?.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Up to `limit` events after global position `after`, in order. Never skips an event:
    /// an event is only returned once no transaction still in flight could commit an event
    /// with a lower position.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events after `after` that pass `filter`, in global order, with the
    /// guarantee of [`EventStore::read_all`]: only events of the gap-free prefix. The
    /// provided implementation filters pages of `read_all`; stores that can filter where the
    /// events are override it.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn read_matching(
        &self,
        after: u64,
        limit: usize,
        filter: &crate::feed::FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if filter.is_all() {
            return self.read_all(after, limit).await;
        }
        let mut out = Vec::new();
        let mut from = after;
        while out.len() < limit {
            let page = self.read_all(from, 1000).await?;
            let Some(last) = page.last() else { break };
            from = last.position;
            out.extend(page.into_iter().filter(|e| filter.matches(e)));
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Up to `limit` events before global position `before` that pass `filter`, the newest
    /// first: the end of the gap-free prefix of [`EventStore::read_all`] read backwards
    /// (only events no transaction still in flight could precede; `before` past the head
    /// means from the newest). The provided implementation reads the whole order forwards,
    /// keeping the last `limit`; stores override it with a backwards read.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn read_before(
        &self,
        before: u64,
        limit: usize,
        filter: &crate::feed::FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut kept = std::collections::VecDeque::with_capacity(limit + 1);
        let mut from = 0;
        'pages: loop {
            let page = self.read_all(from, 1000).await?;
            let Some(last) = page.last() else { break };
            from = last.position;
            for e in page {
                if e.position >= before {
                    break 'pages;
                }
                if filter.matches(&e) {
                    kept.push_back(e);
                    if kept.len() > limit {
                        kept.pop_front();
                    }
                }
            }
        }
        Ok(kept.into_iter().rev().collect())
    }

    /// The global position of the event with this id, if it is stored (to resume a feed
    /// after an event id). The provided implementation scans the global order.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let mut from = 0;
        loop {
            let page = self.read_all(from, 1000).await?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            from = last.position;
            if let Some(e) = page.iter().find(|e| e.event_id == event_id) {
                return Ok(Some(e.position));
            }
        }
    }

    /// A counter bumped whenever events may have become visible in the global order, for
    /// long-polling readers; `None` if the store cannot tell (readers then re-check at a
    /// gentle interval).
    fn commits(&self) -> Option<crate::feed::CommitsReceiver> {
        None
    }

    /// The highest position recorded, if the store can tell cheaply (for progress; it may
    /// run ahead of what [`EventStore::read_all`] shows yet).
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn head(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// The outcome of a command id recorded earlier, if any.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn command_outcome(&self, id: Uuid) -> Result<Option<CommandOutcome>, StoreError>;

    /// Checks that storage answers (for readiness probes).
    ///
    /// # Errors
    /// [`StoreError::Other`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// One write transaction. Dropping it without [`WriteTx::commit`] rolls it back.
#[async_trait]
pub trait WriteTx: Send {
    /// For each `(stream, after_version)`, the stream's events above that version, in the
    /// transaction's view. Returns one list per request, in the same order.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] on a serialization failure; [`StoreError::Other`] otherwise.
    async fn load(
        &mut self,
        reads: &[(StreamId, u64)],
    ) -> Result<Vec<Vec<RecordedEvent>>, StoreError>;

    /// As [`EventStore::fold_events`], for several streams in the transaction's view: each
    /// event goes to `fold` with the index of its request in `reads`.
    ///
    /// # Errors
    /// As [`WriteTx::load`]; [`StoreError::Other`] with `fold`'s message.
    async fn fold_events(
        &mut self,
        reads: &[(StreamId, u64)],
        fold: &mut FoldMany<'_>,
    ) -> Result<(), StoreError> {
        for (i, events) in self.load(reads).await?.into_iter().enumerate() {
            for e in events {
                fold_recorded(&e, |f| fold(i, f))?;
            }
        }
        Ok(())
    }

    /// Appends to every stream of the plan, each only if its version is still the expected
    /// one, records the command id and writes the cache rows; all or nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when an expected version no longer holds, or on a
    /// serialization failure; [`StoreError::Duplicate`] when the command id was recorded
    /// meanwhile; [`StoreError::Other`] otherwise.
    async fn append(&mut self, plan: AppendPlan) -> Result<(), StoreError>;

    /// Commits, and returns the appended events with their global positions.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] on a serialization failure at commit; [`StoreError::Unknown`]
    /// if the outcome is unknown (connection lost); [`StoreError::Other`] otherwise.
    async fn commit(self: Box<Self>) -> Result<Vec<RecordedEvent>, StoreError>;
}

/// A stored copy of an entity's state at a version: a disposable read-through cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedState {
    /// The entity's stream.
    pub stream: StreamId,
    /// The stream version the state reflects.
    pub version: u64,
    /// The shape of the state type that wrote it (see [`crate::format`]); a row of another
    /// format is ignored and rebuilt.
    pub format: String,
    /// The state, as JSON.
    pub state: serde_json::Value,
}

/// Which cached entities to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheFilter {
    /// Every entity of the kind.
    All,
    /// Jobs whose cached status is open.
    OpenJobs,
}

/// One entity listed from the cache, with what the event store says is current.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The stream.
    pub stream: StreamId,
    /// The stream's current version in the event store.
    pub version: u64,
    /// When the stream's first event was recorded (orders "newest first").
    pub created_at: DateTime<Utc>,
    /// The global position of the stream's first event (breaks ties in that order).
    pub created_position: u64,
    /// The cached state, if there is one of the requested format (it may be older than
    /// `version`: the caller then folds the newer events).
    pub cached: Option<CachedState>,
}

/// A page of jobs from the state cache (see [`StateCache::jobs`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedJobs {
    /// The matching jobs whose row is fresh, in the page's order (newest first for
    /// [`crate::jobs::Cursor::First`] and [`crate::jobs::Cursor::Before`], oldest first for
    /// [`crate::jobs::Cursor::After`]): up to one more than the page's limit, so that the
    /// caller knows whether there are more.
    pub rows: Vec<Listed>,
    /// How many jobs match: exact when `total_exact`, which it must be up to
    /// [`crate::jobs::COUNT_CAP`]; beyond, an estimate (at least the cap + 1).
    pub total: u64,
    /// Whether `total` is exact.
    pub total_exact: bool,
    /// Jobs whose row is missing, stale or of another format: the caller rebuilds them and
    /// asks again. (An adapter whose rows are written with the events may check for these
    /// only from time to time; it says how often.)
    pub repair: Vec<Listed>,
}

/// A member listed from the state cache (see [`StateCache::members`]), with when their
/// wallet's latest event was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedMember {
    /// The member's stream, versions, first event and cached state.
    pub listed: Listed,
    /// When the stream's latest event (at `listed.version`) was recorded.
    pub last_event_at: DateTime<Utc>,
}

/// A page of members from the state cache (see [`StateCache::members`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedMembers {
    /// The matching members whose row is fresh, in the page's order (by handle for
    /// [`crate::members::MemberCursor::First`] and [`crate::members::MemberCursor::After`],
    /// backwards for [`crate::members::MemberCursor::Before`]): up to one more than the
    /// page's limit, so that the caller knows whether there are more.
    pub rows: Vec<ListedMember>,
    /// How many members match, counted up to [`crate::jobs::COUNT_CAP`] + 1.
    pub total: u64,
    /// Members whose row is missing, stale or of another format: the caller rebuilds them
    /// and asks again (as for [`CachedJobs::repair`]).
    pub repair: Vec<Listed>,
}

/// The state cache.
#[async_trait]
pub trait StateCache: Send + Sync {
    /// The cached states of these streams (any format; the caller checks it). Missing
    /// streams are simply absent from the result.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails; callers treat the cache as empty then.
    async fn get(&self, streams: &[StreamId]) -> Result<Vec<CachedState>, StoreError>;

    /// Stores each state unless the cache already holds a newer version of the same format.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails; callers log it and go on.
    async fn put(&self, states: &[CachedState]) -> Result<(), StoreError>;

    /// Stores each state unless the cache holds a NEWER version of the same format: a row
    /// at the same version is replaced (a rebuild of the cache repairs a row that went
    /// wrong). The provided implementation is [`StateCache::put`].
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn rewrite(&self, states: &[CachedState]) -> Result<(), StoreError> {
        self.put(states).await
    }

    /// The entities of `kind` whose cached state of `format` matches `filter`, plus every
    /// entity of `kind` whose cache row is missing, stale or of another format (with `cached`
    /// set to `None` or to the stale row), so that the caller can rebuild them. Selected from
    /// the cache and the stores's stream index, never by scanning events.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn list(
        &self,
        kind: EntityKind,
        filter: CacheFilter,
        format: &str,
    ) -> Result<Vec<Listed>, StoreError>;

    /// The jobs whose cached state of `format` meets `q` (see
    /// [`crate::jobs::JobQuery::matches`]), a page from `q.cursor`, through indexes.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn jobs(&self, q: &crate::jobs::JobQuery, format: &str)
    -> Result<CachedJobs, StoreError>;

    /// The members whose cached state of `format` meets `q` (see
    /// [`crate::members::MemberQuery::matches`]), a page from `q.cursor` in handle order,
    /// through indexes, each with the time of its latest event.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn members(
        &self,
        q: &crate::members::MemberQuery,
        format: &str,
    ) -> Result<CachedMembers, StoreError>;
}

/// Where the reports (see [`crate::reports`]) are kept, with the position they were folded
/// up to: saved together, atomically, so that a follower that stops anywhere resumes with
/// nothing counted twice and nothing skipped.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// The reports last saved (empty, at position 0, when none were). Saved reports whose
    /// format this build does not read are discarded: they are rebuilt from position 0.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn load_reports(&self) -> Result<crate::reports::Reports, StoreError>;

    /// Saves the reports and their checkpoint in one step, unless newer ones (a higher
    /// checkpoint) are saved already. Returns whether it saved.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails: nothing of this save was kept.
    async fn save_reports(&self, reports: &crate::reports::Reports) -> Result<bool, StoreError>;

    /// Replaces the saved reports, whatever their checkpoint (a rebuild from position 0 swaps
    /// its reports in at once). A follower that saves meanwhile is safe: it folds from the
    /// checkpoint it loads.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails: the old reports stay.
    async fn replace_reports(&self, reports: &crate::reports::Reports) -> Result<(), StoreError>;
}

/// The outbox's read side: a member's inbox (the outbox is written by
/// [`EventStore`]'s appends, [`AppendPlan::outbox`]).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// A page of `recipient`'s notifications, newest first: up to `q.limit + 1` (so that the
    /// caller knows whether there are more), with how many of all of theirs are unread.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn inbox(
        &self,
        recipient: &tally_domain::Handle,
        q: &crate::inbox::InboxQuery,
    ) -> Result<crate::inbox::StoredInbox, StoreError>;

    /// How many of `recipient`'s notifications are unread.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn unread(&self, recipient: &tally_domain::Handle) -> Result<u64, StoreError>;

    /// Marks `recipient`'s unread notifications read at `at` (one, or all); returns how many
    /// it marked (0 for one already read), or `None` when the one named is not theirs.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    async fn mark_read(
        &self,
        recipient: &tally_domain::Handle,
        which: crate::inbox::MarkRead,
        at: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError>;
}

/// The clock.
pub trait Clock: Send + Sync {
    /// The current time, to the microsecond.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, truncated to microseconds (what PostgreSQL stores) and strictly
/// increasing within the process, so that "as of this event's time" is never ambiguous.
#[derive(Debug, Default)]
pub struct SystemClock {
    last: Mutex<i64>,
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now().timestamp_micros();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let t = now.max(*last + 1);
        *last = t;
        DateTime::from_timestamp_micros(t).unwrap_or_default()
    }
}

/// Generates new ids (event ids, command ids, job ids).
pub trait IdGenerator: Send + Sync {
    /// A new, unique id.
    fn new_id(&self) -> Uuid;
}

/// UUIDv7: unique and ordered by creation time.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7;

impl IdGenerator for UuidV7 {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}
