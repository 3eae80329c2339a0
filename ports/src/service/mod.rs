//! The application service: every use case of [`Tally`](crate::Tally), run through the driven ports.
//!
//! A command runs the algorithm of ARCHITECTURE.md, written once (in `command.rs`): take the
//! states its decision reads (held in memory, else the state cache, else replayed from the
//! events), decide (pure), and append if no stream moved on, in one transaction; otherwise
//! load what moved and decide again inside the transaction; retry conflicts. Views read
//! states the same way, without a write transaction.

use crate::driven::{
    CacheFilter, CachedState, Clock, EventStore, IdGenerator, Listed, StateCache, StoreError,
    SystemClock, UuidV7,
};
use crate::envelope::{EntityKind, RecordedEvent, StreamId};
use crate::error::{Conflict, Error, Result};
use crate::format::format_of;
use crate::locks::StreamLocks;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tally_domain::{Job, State, Wallet};

mod command;
mod group;
mod memo;
mod state;
mod views;

pub use group::GroupCommit;
use memo::Memo;
use state::{Known, Versioned};

/// How conflicts are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    /// Backoff before the first retry; doubled each time, with jitter.
    pub base: Duration,
    /// The longest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 12,
            base: Duration::from_millis(2),
            max: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1 << attempt.min(16)).min(self.max);
        // Full jitter in [exp/2, exp]: racing commands spread out instead of colliding again.
        exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
    }
}

/// Counters, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Attempts that conflicted and were retried.
    pub retries: AtomicU64,
    /// Commands that failed with `Conflict` after every retry.
    pub conflicts: AtomicU64,
    /// Commits whose outcome was lost with the connection and found by their command id
    /// (recorded, or not and run again).
    pub resolved: AtomicU64,
    /// Commands (refusals included) that landed together with others, in one transaction
    /// (group commit).
    pub batched: AtomicU64,
}

/// The cache format of each entity kind's state.
struct Formats {
    member: String,
    job: String,
}

impl Formats {
    fn of(&self, kind: EntityKind) -> &str {
        match kind {
            EntityKind::Member => &self.member,
            EntityKind::Job => &self.job,
        }
    }
}

/// What [`TallyService::verify_cache`] found for one entity kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheCheck {
    /// Rows looked at.
    pub checked: u64,
    /// Entities with no row of the current format (rebuilt when read: not wrong).
    pub uncached: u64,
    /// Streams whose cached state is not what their events fold to.
    pub wrong: Vec<StreamId>,
}

/// Tally's application service, generic over the driven ports (held as trait objects so that
/// the storage is chosen at run time).
pub struct TallyService {
    store: Arc<dyn EventStore>,
    cache: Arc<dyn StateCache>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    retry: RetryPolicy,
    locks: StreamLocks,
    memo: Memo,
    formats: Formats,
    stats: Stats,
    reports: Option<Arc<dyn crate::driven::ReportStore>>,
    accounts: Option<Arc<dyn crate::accounts::Accounts>>,
    outbox: Option<Arc<dyn crate::driven::Outbox>>,
    keys: Option<Arc<crate::keys::DataKeys>>,
    group: Option<GroupCommit>,
    committer: std::sync::OnceLock<group::Committer>,
}

impl TallyService {
    /// The event store this service records into.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// A service over an event store and a state cache, with the system clock and UUIDv7 ids.
    pub fn new(store: Arc<dyn EventStore>, cache: Arc<dyn StateCache>) -> Self {
        Self {
            cache,
            clock: Arc::new(SystemClock::default()),
            ids: Arc::new(UuidV7),
            retry: RetryPolicy::default(),
            locks: StreamLocks::default(),
            memo: Memo::new(Self::MEMO_CAPACITY),
            formats: Formats {
                member: format_of::<Wallet>(),
                job: format_of::<Job>(),
            },
            stats: Stats::default(),
            reports: None,
            accounts: None,
            outbox: None,
            keys: None,
            group: store.group_commit().then(GroupCommit::default),
            store,
            committer: std::sync::OnceLock::new(),
        }
    }

    /// Commits commands together (see [`GroupCommit`]), or each in its own transaction
    /// (`None`). By default, group commit is on where the store lands a batch in one
    /// transaction ([`EventStore::group_commit`]: PostgreSQL), with [`GroupCommit::default`].
    #[must_use]
    pub fn with_group_commit(mut self, group: Option<GroupCommit>) -> Self {
        self.group = group;
        self
    }

    /// The group committer, if group commit is on (started with the first command, on the
    /// store as configured by then).
    fn committer(&self) -> Option<&group::Committer> {
        let g = self.group?;
        Some(
            self.committer
                .get_or_init(|| group::Committer::new(self.store.clone(), g)),
        )
    }

    /// Seals personal data at rest with `keys` (see [`crate::personal`]): the event store
    /// this service records into and reads from becomes a [`crate::personal::SealingStore`]
    /// over the one it had, and forgetting a member deletes their key.
    #[must_use]
    pub fn with_keys(mut self, keys: Arc<crate::keys::DataKeys>) -> Self {
        self.store = Arc::new(crate::personal::SealingStore::new(
            self.store.clone(),
            keys.clone(),
        ));
        self.keys = Some(keys);
        self
    }

    /// Tells the admins' list of members ([`crate::Tally::find_members`]) who has an account
    /// in `accounts` (without it, the list says it does not know).
    #[must_use]
    pub fn with_accounts(mut self, accounts: Arc<dyn crate::accounts::Accounts>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Serves the reports kept in `reports` ([`crate::Tally::reports`]), which a
    /// [`crate::reports::Follower`] keeps up to date.
    #[must_use]
    pub fn with_reports(mut self, reports: Arc<dyn crate::driven::ReportStore>) -> Self {
        self.reports = Some(reports);
        self
    }

    /// Tells members what concerns them: every command's notifications (see
    /// [`tally_domain::notifications`]) go into the outbox with its events (the store's
    /// append writes them, [`crate::driven::AppendPlan::outbox`]), and members read them
    /// from `outbox` ([`crate::Tally::inbox`]). Without it, nobody is told anything.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Arc<dyn crate::driven::Outbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Uses another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses another id generator.
    #[must_use]
    pub fn with_ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// How many entity states a service keeps in memory by default (see
    /// [`TallyService::with_memo`]).
    pub const MEMO_CAPACITY: usize = 10_000;

    /// Keeps the last state seen of up to `capacity` entities in memory (0: none), the least
    /// recently used evicted first. A command on such an entity starts from it instead of
    /// reading the state cache. It is never trusted: the command's transaction checks that no
    /// newer event was recorded (by another process, say), and loads them if there are.
    #[must_use]
    pub fn with_memo(mut self, capacity: usize) -> Self {
        self.memo = Memo::new(capacity);
        self
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Retry and conflict counters since start.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Checks that storage answers.
    ///
    /// # Errors
    /// `Infrastructure` when it does not.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(store_error)
    }

    /// The cache format of an entity kind's state.
    pub fn format(&self, kind: EntityKind) -> &str {
        self.formats.of(kind)
    }

    /// A state as a cache row.
    fn cache_row(&self, stream: &StreamId, v: &Versioned) -> CachedState {
        let state = match &v.state {
            State::Member(w) => serde_json::to_value(w),
            State::Job(j) => serde_json::to_value(j),
        }
        .unwrap_or_default();
        CachedState {
            stream: stream.clone(),
            version: v.version,
            format: self.format(stream.kind()).to_owned(),
            state,
        }
    }

    /// A cache row as a state; `None` if it is of another format or does not decode (it will
    /// be rebuilt from the events and overwritten).
    fn decode_row(&self, row: &CachedState) -> Option<Versioned> {
        if row.format != self.format(row.stream.kind()) {
            return None;
        }
        let state = match row.stream.kind() {
            EntityKind::Member => State::Member(serde_json::from_value(row.state.clone()).ok()?),
            EntityKind::Job => State::Job(serde_json::from_value(row.state.clone()).ok()?),
        };
        Some(Versioned {
            version: row.version,
            state,
        })
    }

    /// The last known state of each of `streams`: the one held in memory, else the state
    /// cache's (a failing cache is a miss), else none. The ones it misses, which are returned,
    /// start from an empty state.
    async fn last_known(
        &self,
        streams: &[StreamId],
    ) -> (Vec<(StreamId, Versioned)>, Vec<StreamId>) {
        let (mut out, mut todo) = (Vec::new(), Vec::new());
        for s in streams {
            match self.memo.get(s) {
                Some(v) => out.push((s.clone(), v)),
                None => todo.push(s.clone()),
            }
        }
        let in_memory = out.len();
        lookups("memory", in_memory);
        if todo.is_empty() {
            return (out, todo);
        }
        let rows = self.cache.get(&todo).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "state cache unavailable; replaying events");
            Vec::new()
        });
        let mut missed = Vec::new();
        let mut discarded = 0;
        for s in todo {
            let row = rows.iter().find(|r| r.stream == s);
            match row.and_then(|r| self.decode_row(r)) {
                Some(v) => out.push((s, v)),
                None => {
                    discarded += u64::from(row.is_some());
                    out.push((s.clone(), Versioned::empty(&s)));
                    missed.push(s);
                }
            }
        }
        lookups("cache", out.len() - in_memory);
        lookups("miss", missed.len());
        if discarded > 0 {
            metrics::counter!(crate::telemetry::CACHE_DISCARDED).increment(discarded);
        }
        (out, missed)
    }

    /// Folds the events recorded after `v`'s version into it (outside any transaction, so
    /// that replaying a long stream takes no SERIALIZABLE read locks), and remembers the
    /// result. Whether there were any.
    async fn catch_up(&self, stream: &StreamId, v: &mut Versioned) -> Result<bool> {
        let from = v.version;
        self.store
            .fold_events(stream, from, &mut |e| {
                v.fold(stream, e).map_err(|e| e.to_string())
            })
            .await
            .map_err(store_error)?;
        metrics::histogram!(crate::telemetry::REPLAY_EVENTS).record((v.version - from) as f64);
        if v.version > 0 {
            self.memo.put(stream, v);
        }
        Ok(v.version > from)
    }

    /// An entity's current state: its last known state, brought up to date from the events
    /// (read-through: a state rebuilt is written back to the cache).
    async fn read(&self, stream: &StreamId) -> Result<Versioned> {
        let (mut found, _) = self.last_known(std::slice::from_ref(stream)).await;
        let mut v = found
            .pop()
            .map_or_else(|| Versioned::empty(stream), |(_, v)| v);
        if self.catch_up(stream, &mut v).await? {
            metrics::counter!(crate::telemetry::CACHE_REBUILDS).increment(1);
            self.put_cache(&[self.cache_row(stream, &v)]).await;
        }
        Ok(v)
    }

    /// Reads the current states of `streams` not known yet into `known`.
    async fn read_into(&self, streams: &[StreamId], known: &mut Known) -> Result<()> {
        for s in streams {
            if !known.holds(s) {
                let v = self.read(s).await?;
                known.set(s, v);
            }
        }
        Ok(())
    }

    async fn put_cache(&self, rows: &[CachedState]) {
        if rows.is_empty() {
            return;
        }
        if let Err(e) = self.cache.put(rows).await {
            tracing::warn!(error = %e, "could not write the state cache");
        }
    }

    /// An entity's current state and version, read through the cache (no authorization:
    /// for wiring, maintenance tools and benchmarks, not for callers of the driving port).
    ///
    /// # Errors
    /// `Invalid` for a bad key; `Infrastructure` when storage fails.
    pub async fn current_state(&self, entity: &crate::EntityRef) -> Result<(u64, State)> {
        let v = self.read(&entity.stream()?).await?;
        Ok((v.version, v.state))
    }

    /// Folds every entity of `kind` from its events alone (never from the cache) and
    /// rewrites its cache row, 500 rows at a time, unless the cache holds a newer version
    /// meanwhile (commands keep writing it: a rebuild never takes a row back). `progress` is
    /// told how many entities are done, of how many. Returns how many were rebuilt.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails or a stream does not fold.
    pub async fn rebuild_cache(
        &self,
        kind: EntityKind,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64> {
        let listed = self
            .cache
            .list(kind, CacheFilter::All, self.format(kind))
            .await
            .map_err(store_error)?;
        let total = listed.len() as u64;
        let mut rows = Vec::with_capacity(500);
        let mut done = 0;
        for item in listed {
            let stream = item.stream;
            let mut v = Versioned::empty(&stream);
            let mut failed = None;
            self.store
                .fold_events(&stream, 0, &mut |e| {
                    v.fold(&stream, e).map_err(|e| {
                        let m = e.to_string();
                        failed = Some(e);
                        m
                    })
                })
                .await
                .map_err(|e| failed.take().unwrap_or_else(|| store_error(e)))?;
            rows.push(self.cache_row(&stream, &v));
            done += 1;
            if rows.len() == 500 {
                self.cache.rewrite(&rows).await.map_err(store_error)?;
                rows.clear();
            }
            progress(done, total);
        }
        self.cache.rewrite(&rows).await.map_err(store_error)?;
        Ok(done)
    }

    /// Compares cached states of `kind` with fresh folds of their streams' events (every
    /// row, or `sample` rows picked at random): the streams whose cached state differs from
    /// what their events fold to, at the row's version. Rows of another format, or missing,
    /// are not wrong (they are rebuilt when read); they are counted apart. Reads only.
    ///
    /// # Errors
    /// When storage fails or an event does not decode.
    pub async fn verify_cache(
        &self,
        kind: EntityKind,
        sample: Option<usize>,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<CacheCheck> {
        let mut listed = self
            .cache
            .list(kind, CacheFilter::All, self.format(kind))
            .await
            .map_err(store_error)?;
        if let Some(n) = sample
            && n < listed.len()
        {
            fastrand::shuffle(&mut listed);
            listed.truncate(n);
        }
        let total = listed.len() as u64;
        let mut check = CacheCheck::default();
        for item in listed {
            check.checked += 1;
            let Some(cached) = item.cached else {
                check.uncached += 1;
                progress(check.checked, total);
                continue;
            };
            let events = self
                .store
                .load(&item.stream, 0)
                .await
                .map_err(store_error)?;
            let mut v = Versioned::empty(&item.stream);
            for e in events.iter().filter(|e| e.version <= cached.version) {
                v.fold(&item.stream, e.as_fold())?;
            }
            let fresh = self.cache_row(&item.stream, &v);
            if fresh.version != cached.version || fresh.state != cached.state {
                check.wrong.push(item.stream);
            }
            progress(check.checked, total);
        }
        Ok(check)
    }

    /// A stream's whole history, every event at the current version of its type.
    async fn full_history(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>> {
        let events = self.store.load(stream, 0).await.map_err(store_error)?;
        current_versions(events)
    }

    /// The current states of every entity of `kind` matching `filter`, from the cache,
    /// rebuilding (and re-caching) rows that are missing, stale or of an old format.
    async fn list(
        &self,
        kind: EntityKind,
        filter: CacheFilter,
    ) -> Result<Vec<(Listed, Versioned)>> {
        let listed = self
            .cache
            .list(kind, filter, self.format(kind))
            .await
            .map_err(store_error)?;
        let mut out = Vec::with_capacity(listed.len());
        let mut rebuilt = Vec::new();
        for item in listed {
            let mut v = item
                .cached
                .as_ref()
                .and_then(|c| self.decode_row(c))
                .unwrap_or_else(|| Versioned::empty(&item.stream));
            if v.version < item.version {
                self.catch_up(&item.stream, &mut v).await?;
                rebuilt.push(self.cache_row(&item.stream, &v));
            }
            out.push((item, v));
        }
        self.put_cache(&rebuilt).await;
        Ok(out)
    }
}

impl TallyService {
    /// Rebuilds the cache rows of these streams from their events and writes them back.
    async fn repair(&self, items: Vec<Listed>) -> Result<()> {
        let mut rebuilt = Vec::with_capacity(items.len());
        for item in items {
            let mut v = item
                .cached
                .as_ref()
                .and_then(|c| self.decode_row(c))
                .unwrap_or_else(|| Versioned::empty(&item.stream));
            self.catch_up(&item.stream, &mut v).await?;
            rebuilt.push(self.cache_row(&item.stream, &v));
        }
        self.put_cache(&rebuilt).await;
        Ok(())
    }
}

/// A storage failure at the driving port.
/// Recorded events as readers see them: upcast to the current version of their types.
pub(crate) fn current_versions(events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>> {
    events
        .into_iter()
        .map(|e| crate::contracts::to_current(e).map_err(Error::infrastructure))
        .collect()
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(detail) => Conflict::KeptChanging { detail }.into(),
        StoreError::Duplicate(id) => Error::infrastructure(format!(
            "command {id} was recorded concurrently, and its outcome could not be read"
        )),
        StoreError::Unknown(why) | StoreError::Other(why) | StoreError::Contract(why) => {
            Error::infrastructure(why)
        }
    }
}

/// Counts `n` state lookups answered from `source`.
fn lookups(source: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(crate::telemetry::STATE_LOOKUPS, "source" => source).increment(n as u64);
    }
}
