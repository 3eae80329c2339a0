//! The application service: every use case of [`Tally`], run through the driven ports.
//!
//! A command runs the algorithm of ARCHITECTURE.md, written once here:
//! 1. take the entities' last known states: those this process saw last (kept in memory,
//!    bounded), else the state cache (a hit saves replaying their history); a miss is
//!    replayed from the events here, before the transaction;
//! 2. in ONE write transaction: load the events recorded after those versions of every
//!    stream the command touches, fold them, decide (pure), append with expected versions;
//! 3. save the new states into the cache if newer (or let the store do it in the transaction).
//!
//! Its fast path decides first, on the states held, and hands the store the append with the
//! versions it read ([`EventStore::append_if_current`]): one transaction that appends only if
//! no stream moved on, which is step 2's outcome when its load finds nothing new (deciding is
//! pure). Otherwise nothing is written and step 2 runs in full. A refusal always comes from a
//! decision inside the full transaction, never from states that may be stale.
//!
//! Conflicts (a concurrent writer, a serialization failure) are retried with jittered
//! exponential backoff, a bounded number of times. A rejection is never retried and records
//! nothing. Commands on the same entity queue in process first, so that they do not fight in
//! the database.

use crate::actor::{Actor, Ctx};
use crate::driven::{
    CacheFilter, CachedState, Clock, EventStore, IdGenerator, StateCache, StoreError, SystemClock,
    UuidV7,
};
use crate::driving::*;
use crate::envelope::{EntityKind, EntityRef, RecordedEvent, StreamId};
use crate::error::{Error, Result};
use crate::format::format_of;
use crate::locks::StreamLocks;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tally_domain::{Handle, Job, JobId, Wallet};

mod command;
mod memo;
mod state;
mod use_cases;

use memo::Memo;
use state::{Loaded, St};

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
    wallet_format: String,
    job_format: String,
    stats: Stats,
}

impl TallyService {
    /// A service over an event store and a state cache, with the system clock and UUIDv7 ids.
    pub fn new(store: Arc<dyn EventStore>, cache: Arc<dyn StateCache>) -> Self {
        Self {
            store,
            cache,
            clock: Arc::new(SystemClock::default()),
            ids: Arc::new(UuidV7),
            retry: RetryPolicy::default(),
            locks: StreamLocks::default(),
            memo: Memo::new(Self::MEMO_CAPACITY),
            wallet_format: format_of::<Wallet>(),
            job_format: format_of::<Job>(),
            stats: Stats::default(),
        }
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
        match kind {
            EntityKind::Member => &self.wallet_format,
            EntityKind::Job => &self.job_format,
        }
    }

    fn encode_state(&self, stream: &StreamId, l: &Loaded) -> CachedState {
        let state = match &l.state {
            St::Wallet(w) => serde_json::to_value(w),
            St::Job(j) => serde_json::to_value(j),
        }
        .unwrap_or_default();
        CachedState {
            stream: stream.clone(),
            version: l.version,
            format: self.format(stream.kind()).to_owned(),
            state,
        }
    }

    /// Decodes a cache row; `None` if it is of another format or does not decode (it will be
    /// rebuilt from the events and overwritten).
    fn decode_state(&self, row: &CachedState) -> Option<Loaded> {
        if row.format != self.format(row.stream.kind()) {
            return None;
        }
        let state = match row.stream.kind() {
            EntityKind::Member => St::Wallet(serde_json::from_value(row.state.clone()).ok()?),
            EntityKind::Job => St::Job(serde_json::from_value(row.state.clone()).ok()?),
        };
        Some(Loaded {
            version: row.version,
            state,
        })
    }

    /// The last known states of `streams`: from memory, else the state cache (empty states for
    /// misses, which are returned). A failing cache is a miss.
    async fn cached(
        &self,
        streams: &[StreamId],
        into: &mut HashMap<StreamId, Loaded>,
    ) -> Vec<StreamId> {
        let mut todo = Vec::new();
        for s in streams {
            if into.contains_key(s) {
                continue;
            }
            match self.memo.get(s) {
                Some(l) => {
                    into.insert(s.clone(), l);
                }
                None => todo.push(s.clone()),
            }
        }
        if todo.is_empty() {
            return todo;
        }
        let rows = self.cache.get(&todo).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "state cache unavailable; replaying events");
            Vec::new()
        });
        let mut missed = Vec::new();
        for s in todo {
            let hit = rows
                .iter()
                .find(|r| r.stream == s)
                .and_then(|r| self.decode_state(r));
            if hit.is_none() {
                missed.push(s.clone());
            }
            into.insert(s.clone(), hit.unwrap_or_else(|| Loaded::empty(s.kind())));
        }
        missed
    }

    async fn put_cache(&self, states: &[CachedState]) {
        if states.is_empty() {
            return;
        }
        if let Err(e) = self.cache.put(states).await {
            tracing::warn!(error = %e, "could not write the state cache");
        }
    }

    /// Reads an entity's current state: cache, then the newer events (read-through).
    async fn read(&self, stream: &StreamId) -> Result<Loaded> {
        let mut m = HashMap::new();
        self.cached(std::slice::from_ref(stream), &mut m).await;
        let mut l = m
            .remove(stream)
            .unwrap_or_else(|| Loaded::empty(stream.kind()));
        if self.catch_up_outside(stream, &mut l).await? {
            self.put_cache(&[self.encode_state(stream, &l)]).await;
        }
        Ok(l)
    }

    /// Folds the events recorded after `l`'s version into it, outside any transaction (so
    /// that replaying a long stream takes no SERIALIZABLE read locks), and remembers the
    /// result. Whether there were any.
    async fn catch_up_outside(&self, stream: &StreamId, l: &mut Loaded) -> Result<bool> {
        let (what, from) = (stream.to_string(), l.version);
        self.store
            .fold_events(stream, from, &mut |e| {
                l.fold_one(&what, e).map_err(|e| e.to_string())
            })
            .await
            .map_err(store_error)?;
        if l.version > 0 {
            self.memo.put(stream, l);
        }
        Ok(l.version > from)
    }

    /// An entity's current state and version, read through the cache (no authorization:
    /// for wiring, maintenance tools and benchmarks, not for callers of the driving port).
    ///
    /// # Errors
    /// `Invalid` for a bad key; `Infrastructure` when storage fails.
    pub async fn current_state(&self, entity: &EntityRef) -> Result<(u64, EntityState)> {
        let l = self.read(&entity.stream()?).await?;
        let state = match l.state {
            St::Wallet(w) => EntityState::Member(w),
            St::Job(j) => EntityState::Job(j),
        };
        Ok((l.version, state))
    }

    async fn full_history(&self, stream: &StreamId) -> Result<Vec<RecordedEvent>> {
        self.store.load(stream, 0).await.map_err(store_error)
    }

    /// Checks that `ctx` may read the history of `stream`, whose current state is `l`.
    fn may_read(&self, ctx: &Ctx, stream: &StreamId, l: &Loaded) -> Result<()> {
        signed_in(ctx)?;
        let me = match &ctx.actor {
            Actor::Member(h) => Some(h.as_str()),
            _ => None,
        };
        match &l.state {
            St::Wallet(w) => {
                // Refuse before saying whether the member exists: no probing for handles.
                if !ctx.actor.is_privileged() && me != Some(stream.key()) {
                    return Err(not_your_wallet());
                }
                w.require(&Handle::parse(stream.key())?)?;
            }
            St::Job(j) => {
                let d = j
                    .details
                    .as_ref()
                    .ok_or_else(|| unknown_job(stream.key()))?;
                if !ctx.actor.is_privileged() && me != Some(d.owner.as_str()) {
                    return Err(Error::forbidden(
                        "not_job_owner",
                        format!("only the job's owner, '{}', may see this", d.owner),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Lists the current states of every entity of `kind` matching `filter`, from the cache,
    /// rebuilding (and re-caching) rows that are missing, stale or of an old format.
    async fn list(
        &self,
        kind: EntityKind,
        filter: CacheFilter,
    ) -> Result<Vec<(crate::driven::Listed, Loaded)>> {
        let listed = self
            .cache
            .list(kind, filter, self.format(kind))
            .await
            .map_err(store_error)?;
        let mut out = Vec::with_capacity(listed.len());
        let mut rebuilt = Vec::new();
        for item in listed {
            let mut l = item
                .cached
                .as_ref()
                .and_then(|c| self.decode_state(c))
                .unwrap_or_else(|| Loaded::empty(kind));
            if l.version < item.version {
                let what = item.stream.to_string();
                self.store
                    .fold_events(&item.stream, l.version, &mut |e| {
                        l.fold_one(&what, e).map_err(|e| e.to_string())
                    })
                    .await
                    .map_err(store_error)?;
                rebuilt.push(self.encode_state(&item.stream, &l));
            }
            out.push((item, l));
        }
        self.put_cache(&rebuilt).await;
        Ok(out)
    }
}

fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(why) => Error::Conflict {
            code: "conflict".into(),
            message: why,
        },
        StoreError::Other(why) => Error::infrastructure(why),
    }
}

fn unknown_job(id: &str) -> Error {
    Error::not_found("unknown_job", format!("there is no job '{id}'"))
}

fn not_your_wallet() -> Error {
    Error::forbidden("not_your_wallet", "you may only see your own wallet")
}

/// The acting member, for commands only members issue.
fn acting_member(ctx: &Ctx) -> Result<Handle> {
    match &ctx.actor {
        Actor::Member(h) => Ok(h.clone()),
        Actor::Anonymous => Err(Error::unauthorized()),
        _ => Err(Error::forbidden(
            "members_only",
            "only members do this; sign in as a member",
        )),
    }
}

/// Fails unless the actor is an admin or a system process.
fn require_admin(ctx: &Ctx) -> Result<()> {
    match &ctx.actor {
        a if a.is_privileged() => Ok(()),
        Actor::Anonymous => Err(Error::unauthorized()),
        _ => Err(Error::forbidden("admin_only", "only an admin may do this")),
    }
}

/// The name of a signed-in actor (a handle for members).
fn signed_in(ctx: &Ctx) -> Result<String> {
    match &ctx.actor {
        Actor::Anonymous => Err(Error::unauthorized()),
        Actor::Member(h) => Ok(h.as_str().to_owned()),
        Actor::Admin(n) | Actor::System(n) => Ok(n.clone()),
    }
}

fn job_id(s: &str) -> Result<JobId> {
    Ok(JobId::parse(s)?)
}

fn summary(
    j: &Job,
    version: u64,
    launched_at: chrono::DateTime<chrono::Utc>,
) -> Option<JobSummary> {
    let d = j.details.as_ref()?;
    Some(JobSummary {
        id: d.id.to_string(),
        owner: d.owner.to_string(),
        title: d.title.to_string(),
        description: d.description.to_string(),
        reward: d.reward.get(),
        status: j.status,
        launched_at,
        version,
    })
}

fn application_view(who: &Handle, a: &tally_domain::Application) -> ApplicationView {
    ApplicationView {
        participant: who.to_string(),
        pitch: a.pitch.to_string(),
        status: a.status,
    }
}

impl TallyService {
    /// A job's current state and launch time, from its (short) full stream.
    async fn read_job(&self, id: &str) -> Result<(Job, JobSummary)> {
        let stream = StreamId::job(&job_id(id)?);
        let events = self.full_history(&stream).await?;
        let mut l = Loaded::empty(EntityKind::Job);
        l.fold(&events)?;
        let job = l.job();
        let first = events.first().ok_or_else(|| unknown_job(id))?;
        let s = summary(&job, l.version, first.time).ok_or_else(|| unknown_job(id))?;
        Ok((job, s))
    }
}
