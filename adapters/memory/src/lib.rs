//! In-memory adapters: an event store and a state cache with exactly the semantics the
//! PostgreSQL adapter has (atomic multi-stream append with expected versions, version
//! conflicts, one gap-free global order, idempotent command ids), safe under many concurrent
//! tasks.
//!
//! Transactions are optimistic, like SERIALIZABLE ones that conflict: a transaction reads
//! without holding anything; its append checks the expected versions, and its commit checks
//! them again and applies everything under one lock, or fails with a conflict that the
//! service retries. A transaction dropped before commit leaves no trace.
#![forbid(unsafe_code)]

mod accounts;
pub use accounts::MemoryAccounts;
mod keys;
pub use keys::MemoryKeys;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tally_domain::Handle;
use tally_ports::driven::Outbox;
use tally_ports::driven::{
    AppendPlan, CacheFilter, CachedJobs, CachedMembers, CachedState, CommandOutcome, EventStore,
    Listed, ListedMember, ReportStore, StateCache, StoreError, WriteTx,
};
use tally_ports::feed::FeedFilter;
use tally_ports::inbox::{InboxItem, InboxQuery, MarkRead, StoredInbox};
use tally_ports::jobs::{Cursor, JobQuery};
use tally_ports::members::{MemberCursor, MemberQuery};
use tally_ports::reports::Reports;
use tally_ports::webhooks::{
    Attempted, Claimed, Delivery, DeliveryQuery, DeliveryStatus, Endpoint, WebhookStore,
};
use tally_ports::{EntityKind, RecordedEvent, StreamId, TallyService};
use uuid::Uuid;

#[derive(Debug, Default)]
struct Stream {
    /// Indices into `Inner::events`, in version order.
    events: Vec<usize>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every event, in global order: position = index + 1.
    events: Vec<RecordedEvent>,
    streams: HashMap<StreamId, Stream>,
    commands: HashMap<Uuid, (String, Vec<usize>)>,
    cache: HashMap<StreamId, CachedState>,
    /// The reports last saved.
    reports: Option<Reports>,
    /// The outbox, in the order written, and each recipient's notifications in it.
    outbox: Vec<InboxItem>,
    inboxes: HashMap<Handle, Vec<usize>>,
    /// Webhook endpoints, oldest first, and the deliveries queued for them.
    endpoints: Vec<Endpoint>,
    deliveries: Vec<DeliveryRow>,
    /// Where each delivery is in `deliveries`.
    delivery_at: HashMap<Uuid, usize>,
}

/// A queued webhook delivery: a message of the outbox (by index) to an endpoint.
#[derive(Debug)]
struct DeliveryRow {
    id: Uuid,
    endpoint: Uuid,
    message: usize,
    status: DeliveryStatus,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    last_status: Option<u16>,
    delivered_at: Option<DateTime<Utc>>,
}

impl Inner {
    fn version(&self, s: &StreamId) -> u64 {
        self.streams.get(s).map_or(0, |x| x.events.len() as u64)
    }

    fn load(&self, s: &StreamId, after: u64) -> Vec<RecordedEvent> {
        self.streams.get(s).map_or_else(Vec::new, |x| {
            x.events
                .iter()
                .skip(usize::try_from(after).unwrap_or(usize::MAX))
                .map(|&i| self.events[i].clone())
                .collect()
        })
    }

    fn check(&self, plan: &AppendPlan) -> Result<(), StoreError> {
        if let Some(c) = &plan.command
            && self.commands.contains_key(&c.command_id)
        {
            return Err(StoreError::Duplicate(c.command_id));
        }
        for a in &plan.streams {
            let v = self.version(&a.stream);
            if v != a.expected_version {
                return Err(StoreError::Conflict(format!(
                    "{} is at version {v}, not {}",
                    a.stream, a.expected_version
                )));
            }
            for (i, e) in a.events.iter().enumerate() {
                if e.stream != a.stream || e.version != a.expected_version + i as u64 + 1 {
                    return Err(StoreError::Other(format!(
                        "bad append: {} v{} in a plan for {} at {}",
                        e.stream, e.version, a.stream, a.expected_version
                    )));
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, plan: AppendPlan) -> Vec<RecordedEvent> {
        let mut out = Vec::new();
        let mut indices = Vec::new();
        for a in plan.streams {
            for mut e in a.events {
                let i = self.events.len();
                e.position = i as u64 + 1;
                out.push(e.clone());
                self.events.push(e);
                self.streams
                    .entry(a.stream.clone())
                    .or_default()
                    .events
                    .push(i);
                indices.push(i);
            }
        }
        if let Some(c) = plan.command {
            self.commands.insert(c.command_id, (c.fingerprint, indices));
        }
        for m in &plan.erase {
            self.erase(m);
        }
        for c in plan.cache {
            self.put(c);
        }
        for message in plan.outbox {
            // Queued with the message, in the same step: one delivery per endpoint that
            // wants it.
            let (recipient, kind) = (
                message.notification.recipient.as_str(),
                message.notification.kind.as_str(),
            );
            for e in self.endpoints.iter().filter(|e| e.wants(recipient, kind)) {
                let id = Uuid::now_v7();
                self.delivery_at.insert(id, self.deliveries.len());
                self.deliveries.push(DeliveryRow {
                    id,
                    endpoint: e.id,
                    message: self.outbox.len(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: message.time,
                    last_error: None,
                    last_status: None,
                    delivered_at: None,
                });
            }
            self.inboxes
                .entry(message.notification.recipient.clone())
                .or_default()
                .push(self.outbox.len());
            self.outbox.push(InboxItem {
                message,
                read_at: None,
            });
        }
        out
    }

    /// What forgetting member `m` deletes here (keys and accounts are kept apart, and
    /// forgotten by the service): every cache row that names them, their notifications
    /// (emptied where others' indices point at them), their webhook endpoints and the
    /// deliveries of their notifications.
    fn erase(&mut self, m: &str) {
        self.cache
            .retain(|_, c| !tally_ports::personal::names(&c.state, m));
        let theirs: Vec<usize> = self
            .outbox
            .iter()
            .enumerate()
            .filter(|(_, i)| i.message.notification.recipient.as_str() == m)
            .map(|(n, _)| n)
            .collect();
        for &n in &theirs {
            let n = &mut self.outbox[n].message.notification;
            n.reason = None;
            n.job = None;
            n.member = None;
        }
        self.inboxes.retain(|h, _| h.as_str() != m);
        let endpoints: Vec<Uuid> = self
            .endpoints
            .iter()
            .filter(|e| e.owner.as_ref().is_some_and(|o| o.as_str() == m))
            .map(|e| e.id)
            .collect();
        self.endpoints.retain(|e| !endpoints.contains(&e.id));
        self.deliveries
            .retain(|d| !endpoints.contains(&d.endpoint) && !theirs.contains(&d.message));
        self.delivery_at = self
            .deliveries
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
    }

    fn put(&mut self, c: CachedState) {
        self.put_if(c, |old, new| old < new);
    }

    /// Stores `c` if there is no row of its format, or `replaces(old version, c's version)`.
    fn put_if(&mut self, c: CachedState, replaces: fn(u64, u64) -> bool) {
        let write = self
            .cache
            .get(&c.stream)
            .is_none_or(|old| old.format != c.format || replaces(old.version, c.version));
        if write {
            self.cache.insert(c.stream.clone(), c);
        }
    }
}

/// The in-memory event store and state cache (one object implements both ports, so that the
/// cache is written in the same atomic step as the events, as PostgreSQL does).
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    /// Bumped after every append, for long-polling feed readers.
    commits: tally_ports::feed::Commits,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied append (apply does not
        // panic), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything the store holds, printed: events, command ids, cache rows, reports, the
    /// outbox and webhooks (what a dump of the memory store holds, for tests that search it).
    pub fn dump(&self) -> String {
        format!("{:#?}", *self.lock())
    }

    /// Empties the state cache (as `TRUNCATE` would): nothing is lost, states are rebuilt.
    pub fn clear_cache(&self) {
        self.lock().cache.clear();
    }

    /// Writes a cache row as is, bypassing the newer-version rule (to test stale, foreign and
    /// garbage rows).
    pub fn force_cache_row(&self, row: CachedState) {
        self.lock().cache.insert(row.stream.clone(), row);
    }

    /// The cache row of a stream, if any.
    pub fn cache_row(&self, s: &StreamId) -> Option<CachedState> {
        self.lock().cache.get(s).cloned()
    }

    /// Writes a plan as an older build stored it: expected versions are checked, the event
    /// contracts are not (to test how old payloads read).
    ///
    /// # Errors
    /// As an append, but for the contracts.
    pub fn insert_as_stored(&self, plan: AppendPlan) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut inner = self.lock();
        inner.check(&plan)?;
        let out = inner.apply(plan);
        drop(inner);
        self.commits.bump();
        Ok(out)
    }

    /// How many events are stored.
    pub fn event_count(&self) -> usize {
        self.lock().events.len()
    }
}

/// A Tally service on a fresh in-memory store.
pub fn service() -> (TallyService, MemoryStore) {
    let store = MemoryStore::new();
    let svc = TallyService::new(Arc::new(store.clone()), Arc::new(store.clone()))
        .with_outbox(Arc::new(store.clone()));
    (svc, store)
}

struct MemoryTx {
    store: MemoryStore,
    pending: Option<AppendPlan>,
}

#[async_trait]
impl WriteTx for MemoryTx {
    async fn load(
        &mut self,
        reads: &[(StreamId, u64)],
    ) -> Result<Vec<Vec<RecordedEvent>>, StoreError> {
        let inner = self.store.lock();
        Ok(reads.iter().map(|(s, v)| inner.load(s, *v)).collect())
    }

    async fn append(&mut self, plan: AppendPlan) -> Result<(), StoreError> {
        if self.pending.is_some() {
            return Err(StoreError::Other("one append per transaction".into()));
        }
        // Every payload against its published contract, before anything is written (and
        // outside the lock: it needs no shared state).
        tally_ports::contracts::check_plan(&plan)?;
        self.store.lock().check(&plan)?;
        self.pending = Some(plan);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<Vec<RecordedEvent>, StoreError> {
        let Some(plan) = self.pending else {
            return Ok(Vec::new());
        };
        let mut inner = self.store.lock();
        inner.check(&plan)?;
        let out = inner.apply(plan);
        drop(inner);
        self.store.commits.bump();
        Ok(out)
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn load(&self, stream: &StreamId, after: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self.lock().load(stream, after))
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        Ok(Box::new(MemoryTx {
            store: self.clone(),
            pending: None,
        }))
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let from = usize::try_from(after).unwrap_or(usize::MAX);
        Ok(inner
            .events
            .iter()
            .skip(from)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn read_matching(
        &self,
        after: u64,
        limit: usize,
        filter: &FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let inner = self.lock();
        let from = usize::try_from(after).unwrap_or(usize::MAX);
        Ok(inner
            .events
            .iter()
            .skip(from)
            .filter(|e| filter.matches(e))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn read_before(
        &self,
        before: u64,
        limit: usize,
        filter: &FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Every committed event is visible at once here (a commit applies under the lock):
        // the whole order is gap-free.
        let inner = self.lock();
        let below = usize::try_from(before.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(inner
            .events
            .iter()
            .take(below)
            .rev()
            .filter(|e| filter.matches(e))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        // From the newest: a reader resumes near the head.
        let inner = self.lock();
        Ok(inner
            .events
            .iter()
            .rev()
            .find(|e| e.event_id == event_id)
            .map(|e| e.position))
    }

    fn commits(&self) -> Option<tally_ports::feed::CommitsReceiver> {
        Some(self.commits.subscribe())
    }

    async fn command_outcome(&self, id: Uuid) -> Result<Option<CommandOutcome>, StoreError> {
        let inner = self.lock();
        Ok(inner.commands.get(&id).map(|(f, idx)| CommandOutcome {
            fingerprint: f.clone(),
            events: idx.iter().map(|&i| inner.events[i].clone()).collect(),
        }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn head(&self) -> Result<Option<u64>, StoreError> {
        Ok(Some(self.lock().events.len() as u64))
    }
}

#[async_trait]
impl ReportStore for MemoryStore {
    async fn load_reports(&self) -> Result<Reports, StoreError> {
        Ok(self.lock().reports.clone().unwrap_or_default())
    }

    async fn save_reports(&self, reports: &Reports) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let newer = inner
            .reports
            .as_ref()
            .is_none_or(|r| r.checkpoint < reports.checkpoint);
        if newer {
            inner.reports = Some(reports.clone());
        }
        Ok(newer)
    }

    async fn replace_reports(&self, reports: &Reports) -> Result<(), StoreError> {
        self.lock().reports = Some(reports.clone());
        Ok(())
    }
}

#[async_trait]
impl StateCache for MemoryStore {
    async fn get(&self, streams: &[StreamId]) -> Result<Vec<CachedState>, StoreError> {
        let inner = self.lock();
        Ok(streams
            .iter()
            .filter_map(|s| inner.cache.get(s).cloned())
            .collect())
    }

    async fn put(&self, states: &[CachedState]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for s in states {
            inner.put(s.clone());
        }
        Ok(())
    }

    async fn rewrite(&self, states: &[CachedState]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for s in states {
            inner.put_if(s.clone(), |old, new| old <= new);
        }
        Ok(())
    }

    async fn list(
        &self,
        kind: EntityKind,
        filter: CacheFilter,
        format: &str,
    ) -> Result<Vec<Listed>, StoreError> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (s, st) in inner.streams.iter().filter(|(s, _)| s.kind() == kind) {
            let version = st.events.len() as u64;
            let cached = inner.cache.get(s).filter(|c| c.format == format);
            let fresh = cached.is_some_and(|c| c.version == version);
            let matches = match filter {
                CacheFilter::All => true,
                CacheFilter::OpenJobs => cached.is_some_and(|c| {
                    c.state.get("status").and_then(|v| v.as_str()) == Some("open")
                }),
            };
            if matches || !fresh {
                let first = &inner.events[st.events[0]];
                out.push(Listed {
                    stream: s.clone(),
                    version,
                    created_at: first.time,
                    created_position: first.position,
                    cached: cached.cloned(),
                });
            }
        }
        Ok(out)
    }

    async fn jobs(&self, q: &JobQuery, format: &str) -> Result<CachedJobs, StoreError> {
        let inner = self.lock();
        let mut found = CachedJobs::default();
        for (s, st) in inner
            .streams
            .iter()
            .filter(|(s, _)| s.kind() == EntityKind::Job)
        {
            let version = st.events.len() as u64;
            let cached = inner.cache.get(s).filter(|c| c.format == format);
            let first = &inner.events[st.events[0]];
            let listed = || Listed {
                stream: s.clone(),
                version,
                created_at: first.time,
                created_position: first.position,
                cached: cached.cloned(),
            };
            match cached {
                Some(c) if c.version == version => {
                    if q.matches(&c.state) {
                        found.total += 1;
                        let key = s.key();
                        let in_page = match &q.cursor {
                            Cursor::First => true,
                            Cursor::Before(id) => key < id.as_str(),
                            Cursor::After(id) => key > id.as_str(),
                        };
                        if in_page {
                            found.rows.push(listed());
                        }
                    }
                }
                _ => found.repair.push(listed()),
            }
        }
        // Newest first (job ids are UUIDv7s), or oldest first after a cursor.
        found
            .rows
            .sort_by(|a, b| b.stream.key().cmp(a.stream.key()));
        if matches!(q.cursor, Cursor::After(_)) {
            found.rows.reverse();
        }
        found.rows.truncate(q.limit + 1);
        // In memory the count is exact whatever its size.
        found.total_exact = true;
        Ok(found)
    }

    async fn members(&self, q: &MemberQuery, format: &str) -> Result<CachedMembers, StoreError> {
        let inner = self.lock();
        let mut found = CachedMembers::default();
        for (s, st) in inner
            .streams
            .iter()
            .filter(|(s, _)| s.kind() == EntityKind::Member)
        {
            let version = st.events.len() as u64;
            let cached = inner.cache.get(s).filter(|c| c.format == format);
            let first = &inner.events[st.events[0]];
            let listed = || Listed {
                stream: s.clone(),
                version,
                created_at: first.time,
                created_position: first.position,
                cached: cached.cloned(),
            };
            match cached {
                Some(c) if c.version == version => {
                    if q.matches(&c.state) {
                        found.total += 1;
                        let key = s.key();
                        let in_page = match &q.cursor {
                            MemberCursor::First => true,
                            MemberCursor::After(h) => key > h.as_str(),
                            MemberCursor::Before(h) => key < h.as_str(),
                        };
                        if in_page {
                            let last = st.events[st.events.len() - 1];
                            found.rows.push(ListedMember {
                                listed: listed(),
                                last_event_at: inner.events[last].time,
                            });
                        }
                    }
                }
                _ => found.repair.push(listed()),
            }
        }
        // By handle, or backwards before a cursor.
        found
            .rows
            .sort_by(|a, b| a.listed.stream.key().cmp(b.listed.stream.key()));
        if matches!(q.cursor, MemberCursor::Before(_)) {
            found.rows.reverse();
        }
        found.rows.truncate(q.limit + 1);
        found.total = found.total.min(tally_ports::jobs::COUNT_CAP + 1);
        Ok(found)
    }
}

/// The outbox's read side; its messages are written by the appends, in the same atomic step
/// as the events.
#[async_trait]
impl Outbox for MemoryStore {
    async fn inbox(&self, recipient: &Handle, q: &InboxQuery) -> Result<StoredInbox, StoreError> {
        let inner = self.lock();
        let mine = inner.inboxes.get(recipient).map_or(&[][..], Vec::as_slice);
        let items = mine
            .iter()
            .rev()
            .map(|&i| &inner.outbox[i])
            .filter(|i| q.before.is_none_or(|b| i.message.id < b))
            .filter(|i| !q.unread_only || i.unread())
            .take(q.limit + 1)
            .cloned()
            .collect();
        let unread = mine.iter().filter(|&&i| inner.outbox[i].unread()).count() as u64;
        Ok(StoredInbox { items, unread })
    }

    async fn unread(&self, recipient: &Handle) -> Result<u64, StoreError> {
        let inner = self.lock();
        let mine = inner.inboxes.get(recipient).map_or(&[][..], Vec::as_slice);
        Ok(mine.iter().filter(|&&i| inner.outbox[i].unread()).count() as u64)
    }

    async fn mark_read(
        &self,
        recipient: &Handle,
        which: MarkRead,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let mut inner = self.lock();
        let mine = inner.inboxes.get(recipient).cloned().unwrap_or_default();
        let mut found = matches!(which, MarkRead::All);
        let mut marked = 0;
        for i in mine {
            let item = &mut inner.outbox[i];
            if let MarkRead::One(id) = which {
                if item.message.id != id {
                    continue;
                }
                found = true;
            }
            if item.read_at.is_none() {
                item.read_at = Some(at);
                marked += 1;
            }
        }
        Ok(found.then_some(marked))
    }
}

/// Webhook endpoints and deliveries, kept beside the outbox (the appends queue deliveries in
/// the same atomic step as the messages).
#[async_trait]
impl WebhookStore for MemoryStore {
    async fn add_endpoint(&self, e: &Endpoint) -> tally_ports::Result<()> {
        self.lock().endpoints.push(e.clone());
        Ok(())
    }

    async fn endpoints(&self, owner: Option<Option<&str>>) -> tally_ports::Result<Vec<Endpoint>> {
        Ok(self
            .lock()
            .endpoints
            .iter()
            .filter(|e| owner.is_none_or(|o| e.owner.as_deref() == o))
            .cloned()
            .collect())
    }

    async fn set_paused(&self, id: Uuid, paused: bool) -> tally_ports::Result<bool> {
        let mut inner = self.lock();
        let found = inner.endpoints.iter_mut().find(|e| e.id == id);
        Ok(found.map(|e| e.paused = paused).is_some())
    }

    async fn delete_endpoint(&self, id: Uuid) -> tally_ports::Result<bool> {
        let mut inner = self.lock();
        let before = inner.endpoints.len();
        inner.endpoints.retain(|e| e.id != id);
        inner.deliveries.retain(|d| d.endpoint != id);
        let at = inner
            .deliveries
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        inner.delivery_at = at;
        Ok(inner.endpoints.len() < before)
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> tally_ports::Result<Vec<Claimed>> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let paused: Vec<Uuid> = inner
            .endpoints
            .iter()
            .filter(|e| e.paused)
            .map(|e| e.id)
            .collect();
        let mut due: Vec<usize> = (0..inner.deliveries.len())
            .filter(|&i| {
                let d = &inner.deliveries[i];
                d.status == DeliveryStatus::Pending
                    && d.next_attempt_at <= now
                    && !paused.contains(&d.endpoint)
            })
            .collect();
        due.sort_by_key(|&i| inner.deliveries[i].next_attempt_at);
        due.truncate(limit);
        let mut out = Vec::with_capacity(due.len());
        for i in due {
            let d = &mut inner.deliveries[i];
            d.attempts += 1;
            d.next_attempt_at = lease_until;
            let Some(e) = inner.endpoints.iter().find(|e| e.id == d.endpoint) else {
                continue;
            };
            out.push(Claimed {
                id: d.id,
                attempt: d.attempts,
                url: e.url.clone(),
                secret: e.secret.clone(),
                message: inner.outbox[d.message].message.clone(),
            });
        }
        Ok(out)
    }

    async fn record(&self, outcomes: &[Attempted]) -> tally_ports::Result<()> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        for o in outcomes {
            if let Some(d) = inner
                .delivery_at
                .get(&o.id)
                .and_then(|&i| inner.deliveries.get_mut(i))
            {
                d.status = o.status;
                if let Some(next) = o.next_attempt_at {
                    d.next_attempt_at = next;
                }
                d.last_error.clone_from(&o.error);
                d.last_status = o.http_status;
                if o.status == DeliveryStatus::Delivered {
                    d.delivered_at = Some(o.at);
                }
            }
        }
        Ok(())
    }

    async fn deliveries(&self, q: &DeliveryQuery) -> tally_ports::Result<Vec<Delivery>> {
        let inner = self.lock();
        Ok(inner
            .deliveries
            .iter()
            .rev()
            .filter(|d| q.status.is_none_or(|s| d.status == s))
            .filter(|d| q.endpoint.is_none_or(|e| d.endpoint == e))
            .take(q.limit)
            .map(|d| {
                let m = &inner.outbox[d.message].message;
                Delivery {
                    id: d.id,
                    endpoint: d.endpoint,
                    url: inner
                        .endpoints
                        .iter()
                        .find(|e| e.id == d.endpoint)
                        .map(|e| e.url.clone())
                        .unwrap_or_default(),
                    message: m.id,
                    kind: m.notification.kind.as_str().to_owned(),
                    recipient: m.notification.recipient.to_string(),
                    status: d.status,
                    attempts: d.attempts,
                    next_attempt_at: (d.status == DeliveryStatus::Pending)
                        .then_some(d.next_attempt_at),
                    last_error: d.last_error.clone(),
                    last_status: d.last_status,
                    delivered_at: d.delivered_at,
                }
            })
            .collect())
    }

    async fn redeliver(&self, id: Uuid, now: DateTime<Utc>) -> tally_ports::Result<bool> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let found = inner
            .delivery_at
            .get(&id)
            .and_then(|&i| inner.deliveries.get_mut(i));
        Ok(found
            .map(|d| {
                d.status = DeliveryStatus::Pending;
                d.attempts = 0;
                d.next_attempt_at = now;
            })
            .is_some())
    }

    async fn backlog(&self) -> tally_ports::Result<tally_ports::webhooks::Backlog> {
        let inner = self.lock();
        let mut b = tally_ports::webhooks::Backlog::default();
        for d in &inner.deliveries {
            match d.status {
                DeliveryStatus::Pending => {
                    b.pending += 1;
                    let queued = inner.outbox[d.message].message.time;
                    b.oldest_pending = Some(b.oldest_pending.map_or(queued, |o| o.min(queued)));
                }
                DeliveryStatus::Dead => b.dead += 1,
                DeliveryStatus::Delivered => {}
            }
        }
        Ok(b)
    }
}
