//! The application service: every use case of [`Tally`], run through the driven ports.
//!
//! A command runs the algorithm of ARCHITECTURE.md, written once here:
//! 1. read the entities' states from the cache (a hit saves replaying their history);
//! 2. in ONE write transaction: load the events recorded after the cached versions of every
//!    stream the command touches, fold them, decide (pure), append with expected versions;
//! 3. save the new states into the cache if newer (or let the store do it in the transaction).
//!
//! Conflicts (a concurrent writer, a serialization failure) are retried with jittered
//! exponential backoff, a bounded number of times. A rejection is never retried and records
//! nothing. Commands on the same entity queue in process first, so that they do not fight in
//! the database.

use crate::actor::{Actor, Ctx};
use crate::codec;
use crate::driven::{
    AppendPlan, CacheFilter, CachedState, Clock, CommandRecord, EventStore, IdGenerator,
    StateCache, StoreError, StreamAppend, SystemClock, UuidV7,
};
use crate::driving::*;
use crate::envelope::{EntityKind, EntityRef, RecordedEvent, StreamId};
use crate::error::{Error, Result};
use crate::format::{fnv1a, format_of};
use crate::locks::StreamLocks;
use async_trait::async_trait;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tally_domain::{
    Credits, Description, DisplayName, GrantCredits, Handle, Job, JobCommand, JobContext, JobId,
    LaunchJob, MemberCommand, MemberEvent, Pitch, Reason, RegisterMember, Title, Wallet, job,
};
use uuid::Uuid;

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

/// An entity's state of either kind, as the service handles it.
#[derive(Debug, Clone)]
enum St {
    Wallet(Wallet),
    Job(Job),
}

/// A state at a version.
#[derive(Debug, Clone)]
struct Loaded {
    version: u64,
    state: St,
}

impl Loaded {
    fn empty(kind: EntityKind) -> Self {
        Self {
            version: 0,
            state: match kind {
                EntityKind::Member => St::Wallet(Wallet::default()),
                EntityKind::Job => St::Job(Job::default()),
            },
        }
    }

    fn wallet(&self) -> Wallet {
        match &self.state {
            St::Wallet(w) => w.clone(),
            St::Job(_) => Wallet::default(),
        }
    }

    fn job(&self) -> Job {
        match &self.state {
            St::Job(j) => j.clone(),
            St::Wallet(_) => Job::default(),
        }
    }

    /// Folds recorded events (of this entity, newer than `version`) into the state.
    fn fold(&mut self, events: &[RecordedEvent]) -> Result<()> {
        for e in events {
            if e.version <= self.version {
                continue;
            }
            let bad = |m: String| Error::infrastructure(format!("{}: {m}", e.stream));
            self.state = match std::mem::replace(&mut self.state, St::Job(Job::default())) {
                St::Wallet(w) => St::Wallet(w.evolve(
                    &codec::decode(&e.event_type, e.schema_version, &e.payload).map_err(bad)?,
                )),
                St::Job(j) => St::Job(j.evolve(
                    &codec::decode(&e.event_type, e.schema_version, &e.payload).map_err(bad)?,
                )),
            };
            self.version = e.version;
        }
        Ok(())
    }
}

/// A command, parsed.
enum Cmd {
    Member(MemberCommand),
    Job(JobId, JobCommand),
}

impl Cmd {
    fn primary(&self) -> StreamId {
        match self {
            Cmd::Member(MemberCommand::Register(r)) => StreamId::member(&r.handle),
            Cmd::Member(MemberCommand::Grant(g)) => StreamId::member(&g.handle),
            Cmd::Job(id, _) => StreamId::job(id),
        }
    }

    /// Every stream the decision reads, given the states known so far.
    fn streams(&self, states: &HashMap<StreamId, Loaded>) -> Vec<StreamId> {
        let primary = self.primary();
        let mut v = vec![primary.clone()];
        if let Cmd::Job(_, c) = self {
            let job = states.get(&primary).map(Loaded::job).unwrap_or_default();
            v.extend(c.wallets_needed(&job).iter().map(StreamId::member));
        }
        v
    }
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

    /// The cached states of `streams` (empty states for misses). A failing cache is a miss.
    async fn cached(&self, streams: &[StreamId], into: &mut HashMap<StreamId, Loaded>) {
        let todo: Vec<StreamId> = streams
            .iter()
            .filter(|s| !into.contains_key(*s))
            .cloned()
            .collect();
        if todo.is_empty() {
            return;
        }
        let rows = self.cache.get(&todo).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "state cache unavailable; replaying events");
            Vec::new()
        });
        for s in todo {
            let hit = rows
                .iter()
                .find(|r| r.stream == s)
                .and_then(|r| self.decode_state(r));
            into.insert(s.clone(), hit.unwrap_or_else(|| Loaded::empty(s.kind())));
        }
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
        let newer = self
            .store
            .load(stream, l.version)
            .await
            .map_err(store_error)?;
        if !newer.is_empty() {
            l.fold(&newer)?;
            self.put_cache(&[self.encode_state(stream, &l)]).await;
        }
        Ok(l)
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

    async fn outcome(&self, command_id: Uuid, fingerprint: &str) -> Result<Option<Receipt>> {
        let Some(o) = self
            .store
            .command_outcome(command_id)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        if o.fingerprint != fingerprint {
            return Err(Error::Conflict {
                code: "command_id_reused".into(),
                message: format!("command id {command_id} was already used for another command"),
            });
        }
        Ok(Some(Receipt {
            command_id,
            events: o.events.iter().map(EventRef::from).collect(),
        }))
    }

    /// Runs one command: the heart of the system.
    async fn execute(
        &self,
        ctx: &Ctx,
        name: &str,
        input: &impl Serialize,
        cmd: Cmd,
    ) -> Result<Receipt> {
        let fingerprint = format!(
            "{name}/{:016x}",
            fnv1a(
                format!(
                    "{name}|{}|{}",
                    ctx.actor,
                    serde_json::to_string(input).unwrap_or_default()
                )
                .as_bytes()
            )
        );
        if let Some(id) = ctx.command_id
            && let Some(r) = self.outcome(id, &fingerprint).await?
        {
            return Ok(r);
        }
        let command_id = ctx.command_id.unwrap_or_else(|| self.ids.new_id());

        // 1. Queue behind commands on the same entities, then read their cached states.
        let primary = cmd.primary();
        let mut held = self.locks.none();
        held.lock(std::slice::from_ref(&primary)).await;
        let mut states: HashMap<StreamId, Loaded> = HashMap::new();
        self.cached(std::slice::from_ref(&primary), &mut states)
            .await;
        let others: Vec<StreamId> = cmd.streams(&states).into_iter().skip(1).collect();
        held.lock(&others).await;
        self.cached(&others, &mut states).await;

        let mut attempt = 0;
        loop {
            match self
                .attempt(ctx, &cmd, command_id, &fingerprint, &mut states)
                .await
            {
                Err(Attempt::Conflict(why)) => {
                    attempt += 1;
                    if attempt >= self.retry.attempts {
                        self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
                        return Err(Error::Conflict {
                            code: "conflict".into(),
                            message: format!(
                                "the entity kept changing concurrently; try again ({why})"
                            ),
                        });
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    // A concurrent duplicate of this very command may have won.
                    if let Some(id) = ctx.command_id
                        && let Some(r) = self.outcome(id, &fingerprint).await?
                    {
                        return Ok(r);
                    }
                }
                Err(Attempt::Failed(e)) => return Err(e),
                Ok(r) => {
                    debug_assert!(held.holds(&primary));
                    return Ok(r);
                }
            }
        }
    }

    /// One attempt of a command's write transaction.
    async fn attempt(
        &self,
        ctx: &Ctx,
        cmd: &Cmd,
        command_id: Uuid,
        fingerprint: &str,
        states: &mut HashMap<StreamId, Loaded>,
    ) -> Result<Receipt, Attempt> {
        let mut tx = self.store.begin().await?;

        // 2a. Load what was recorded after the versions we hold, for every stream involved.
        let mut streams = cmd.streams(states);
        self.cached(&streams, states).await;
        let reads: Vec<(StreamId, u64)> = streams
            .iter()
            .map(|s| (s.clone(), states[s].version))
            .collect();
        let loaded = tx.load(&reads).await?;
        for ((s, _), events) in reads.iter().zip(&loaded) {
            states.get_mut(s).expect("read").fold(events)?;
        }
        // The job's newer events may involve other wallets (a participant accepted meanwhile).
        let more: Vec<StreamId> = cmd
            .streams(states)
            .into_iter()
            .filter(|s| !streams.contains(s))
            .collect();
        if !more.is_empty() {
            self.cached(&more, states).await;
            let reads: Vec<(StreamId, u64)> = more
                .iter()
                .map(|s| (s.clone(), states[s].version))
                .collect();
            let loaded = tx.load(&reads).await?;
            for ((s, _), events) in reads.iter().zip(&loaded) {
                states.get_mut(s).expect("read").fold(events)?;
            }
            streams.extend(more);
        }

        // 2b. Decide (pure).
        let decided: Vec<(StreamId, serde_json::Value, String)> = match cmd {
            Cmd::Member(c) => {
                let s = cmd.primary();
                states[&s]
                    .wallet()
                    .decide(c)
                    .map_err(|r| Attempt::Failed(r.into()))?
                    .iter()
                    .map(|e| {
                        let (t, p) = codec::encode(e);
                        (s.clone(), p, t)
                    })
                    .collect()
            }
            Cmd::Job(id, c) => {
                let s = cmd.primary();
                let job = states[&s].job();
                let wallets: BTreeMap<Handle, Wallet> = c
                    .wallets_needed(&job)
                    .into_iter()
                    .map(|h| {
                        let w = states[&StreamId::member(&h)].wallet();
                        (h, w)
                    })
                    .collect();
                let d = job::decide(
                    &JobContext {
                        id,
                        job: &job,
                        wallets: &wallets,
                    },
                    c,
                )
                .map_err(|r| Attempt::Failed(r.into()))?;
                let job_events = d.job.iter().map(|e| {
                    let (t, p) = codec::encode(e);
                    (s.clone(), p, t)
                });
                let wallet_events = d.wallets.iter().map(|(h, e): &(Handle, MemberEvent)| {
                    let (t, p) = codec::encode(e);
                    (StreamId::member(h), p, t)
                });
                job_events.chain(wallet_events).collect()
            }
        };

        // 2c. Append every stream's events with its expected version, and the new states.
        let time = self.clock.now();
        let correlation_id = ctx.correlation_id.unwrap_or(command_id);
        let mut appends: Vec<StreamAppend> = Vec::new();
        let mut after: HashMap<StreamId, Loaded> = HashMap::new();
        for (stream, payload, event_type) in decided {
            let state = after
                .entry(stream.clone())
                .or_insert_with(|| states[&stream].clone());
            let event = RecordedEvent {
                position: 0,
                stream: stream.clone(),
                version: state.version + 1,
                event_id: self.ids.new_id(),
                event_type,
                schema_version: codec::SCHEMA_VERSION,
                payload,
                time,
                actor: ctx.actor.clone(),
                command_id,
                correlation_id,
                causation_id: command_id,
            };
            state.fold(std::slice::from_ref(&event))?;
            match appends.iter_mut().find(|a| a.stream == stream) {
                Some(a) => a.events.push(event),
                None => appends.push(StreamAppend {
                    expected_version: states[&stream].version,
                    stream,
                    events: vec![event],
                }),
            }
        }
        let cache: Vec<CachedState> = appends
            .iter()
            .map(|a| self.encode_state(&a.stream, &after[&a.stream]))
            .collect();
        let appended = tx
            .append(AppendPlan {
                streams: appends,
                command: ctx.command_id.map(|id| CommandRecord {
                    command_id: id,
                    fingerprint: fingerprint.to_owned(),
                }),
                cache: cache.clone(),
            })
            .await?;
        let recorded = tx.commit().await?;

        // 3. The new states, into the cache (unless the store wrote them in the transaction).
        for (s, l) in after {
            states.insert(s, l);
        }
        if !appended.cache_written {
            self.put_cache(&cache).await;
        }
        Ok(Receipt {
            command_id,
            events: recorded.iter().map(EventRef::from).collect(),
        })
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
                let newer = self
                    .store
                    .load(&item.stream, l.version)
                    .await
                    .map_err(store_error)?;
                l.fold(&newer)?;
                rebuilt.push(self.encode_state(&item.stream, &l));
            }
            out.push((item, l));
        }
        self.put_cache(&rebuilt).await;
        Ok(out)
    }
}

/// Why an attempt did not commit.
enum Attempt {
    /// Retry.
    Conflict(String),
    /// Give up with this error.
    Failed(Error),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(why) => Attempt::Conflict(why),
            other => Attempt::Failed(store_error(other)),
        }
    }
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
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

#[async_trait]
impl Tally for TallyService {
    async fn register_member(&self, ctx: &Ctx, input: RegisterMemberInput) -> Result<Receipt> {
        if matches!(ctx.actor, Actor::Member(_)) {
            return Err(Error::forbidden(
                "admin_only",
                "members cannot register other members",
            ));
        }
        let c = RegisterMember {
            handle: Handle::parse(&input.handle)?,
            display_name: DisplayName::parse(&input.display_name)?,
        };
        self.execute(
            ctx,
            "register_member",
            &input,
            Cmd::Member(MemberCommand::Register(c)),
        )
        .await
    }

    async fn grant_credits(&self, ctx: &Ctx, input: GrantCreditsInput) -> Result<Receipt> {
        require_admin(ctx)?;
        let c = GrantCredits {
            handle: Handle::parse(&input.handle)?,
            amount: Credits::parse_grant(input.amount)?,
            reason: Reason::parse(&input.reason)?,
        };
        self.execute(
            ctx,
            "grant_credits",
            &input,
            Cmd::Member(MemberCommand::Grant(c)),
        )
        .await
    }

    async fn launch_job(&self, ctx: &Ctx, input: LaunchJobInput) -> Result<Receipt> {
        let owner = acting_member(ctx)?;
        let title = Title::parse(&input.title)?;
        let description = Description::parse(&input.description)?;
        let reward = Credits::parse_reward(input.reward)?;
        // With a client-chosen command id, the job id is derived from it, so that a repeated
        // launch names the same job; otherwise a fresh id.
        let id = ctx.command_id.unwrap_or_else(|| self.ids.new_id());
        let job = JobId::parse(&id.to_string())?;
        let c = LaunchJob {
            job: job.clone(),
            owner,
            title,
            description,
            reward,
        };
        self.execute(
            ctx,
            "launch_job",
            &input,
            Cmd::Job(job, JobCommand::Launch(c)),
        )
        .await
    }

    async fn apply(&self, ctx: &Ctx, job: &str, pitch: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, pitch);
        let pitch = Pitch::parse(pitch)?;
        self.execute(
            ctx,
            "apply",
            &input,
            Cmd::Job(id, JobCommand::Apply { by, pitch }),
        )
        .await
    }

    async fn withdraw_application(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        self.execute(
            ctx,
            "withdraw",
            &job,
            Cmd::Job(id, JobCommand::Withdraw { by }),
        )
        .await
    }

    async fn accept_applicant(&self, ctx: &Ctx, job: &str, participant: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, participant);
        let participant = Handle::parse(participant)?;
        self.execute(
            ctx,
            "accept",
            &input,
            Cmd::Job(id, JobCommand::Accept { by, participant }),
        )
        .await
    }

    async fn complete_job(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        self.execute(
            ctx,
            "complete",
            &job,
            Cmd::Job(id, JobCommand::Complete { by }),
        )
        .await
    }

    async fn cancel_job(&self, ctx: &Ctx, job: &str, reason: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, reason);
        let reason = Reason::parse(reason)?;
        self.execute(
            ctx,
            "cancel",
            &input,
            Cmd::Job(id, JobCommand::Cancel { by, reason }),
        )
        .await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        let h = Handle::parse(handle)?;
        let stream = StreamId::member(&h);
        let l = self.read(&stream).await?;
        self.may_read(ctx, &stream, &l)?;
        let w = l.wallet();
        let p = w.require(&h)?;
        let history = self
            .store
            .load(&stream, l.version.saturating_sub(WALLET_HISTORY))
            .await
            .map_err(store_error)?;
        Ok(WalletView {
            handle: p.handle.to_string(),
            display_name: p.display_name.to_string(),
            balance: w.balance.get(),
            escrowed: w.escrowed().get(),
            escrow: w
                .escrow
                .iter()
                .map(|(j, c)| EscrowLine {
                    job: j.to_string(),
                    amount: c.get(),
                })
                .collect(),
            total_granted: w.total_granted.get(),
            total_earned: w.total_earned.get(),
            total_refunded: w.total_refunded.get(),
            total_paid_out: w.total_paid_out.get(),
            version: l.version,
            history,
        })
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        let who = signed_in(ctx)?;
        let (j, summary) = self.read_job(job).await?;
        if !ctx.actor.is_privileged() && summary.owner != who {
            return Err(Error::forbidden(
                "not_job_owner",
                format!(
                    "only the job's owner, '{}', may see every application",
                    summary.owner
                ),
            ));
        }
        Ok(JobOwnerView {
            applications: j
                .applications
                .iter()
                .map(|(h, a)| application_view(h, a))
                .collect(),
            accepted: j.accepted.as_ref().map(ToString::to_string),
            cancel_reason: j.cancel_reason.as_ref().map(ToString::to_string),
            job: summary,
        })
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        signed_in(ctx)?;
        let (j, summary) = self.read_job(job).await?;
        // Only a member has an application; an admin named like a member sees none.
        let mine = match &ctx.actor {
            Actor::Member(h) => j.applications.get(h).map(|a| application_view(h, a)),
            _ => None,
        };
        Ok(JobParticipantView {
            job: summary,
            my_application: mine,
        })
    }

    async fn job_board(&self, _ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>> {
        let mut open: Vec<(JobSummary, u64)> = self
            .list(EntityKind::Job, CacheFilter::OpenJobs)
            .await?
            .into_iter()
            .filter_map(|(item, l)| {
                let j = l.job();
                (j.status == tally_domain::JobStatus::Open)
                    .then(|| summary(&j, l.version, item.created_at))
                    .flatten()
                    .map(|s| (s, item.created_position))
            })
            .collect();
        open.sort_by_key(|(s, position)| std::cmp::Reverse((s.launched_at, *position)));
        Ok(open.into_iter().take(limit).map(|(s, _)| s).collect())
    }

    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        require_admin(ctx)?;
        let mut v: Vec<MemberSummary> = self
            .list(EntityKind::Member, CacheFilter::All)
            .await?
            .into_iter()
            .filter_map(|(_, l)| {
                let w = l.wallet();
                let p = w.profile.as_ref()?;
                Some(MemberSummary {
                    handle: p.handle.to_string(),
                    display_name: p.display_name.to_string(),
                    balance: w.balance.get(),
                    escrowed: w.escrowed().get(),
                })
            })
            .collect();
        v.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok(v)
    }

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let mut l = Loaded::empty(stream.kind());
        l.fold(&events)?;
        self.may_read(ctx, &stream, &l)?;
        Ok(events)
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let mut now = Loaded::empty(stream.kind());
        now.fold(&events)?;
        self.may_read(ctx, &stream, &now)?;
        let upto: Vec<RecordedEvent> = events
            .into_iter()
            .take_while(|e| match at {
                AsOf::Version(v) => e.version <= v,
                AsOf::Time(t) => e.time <= t,
            })
            .collect();
        let last = match (upto.last(), at) {
            (Some(e), AsOf::Version(v)) if e.version == v => e,
            (Some(e), AsOf::Time(_)) => e,
            _ => {
                return Err(Error::not_found(
                    "no_such_version",
                    format!(
                        "{stream} has no such version (it is at version {})",
                        now.version
                    ),
                ));
            }
        };
        let (version, time) = (last.version, last.time);
        let mut then = Loaded::empty(stream.kind());
        then.fold(&upto)?;
        Ok(Snapshot {
            stream,
            version,
            time,
            state: match then.state {
                St::Wallet(w) => EntityState::Member(w),
                St::Job(j) => EntityState::Job(j),
            },
        })
    }

    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage> {
        require_admin(ctx)?;
        let events = self
            .store
            .read_all(after, limit.clamp(1, 1000))
            .await
            .map_err(store_error)?;
        let next_after = events.last().map_or(after, |e| e.position);
        Ok(FeedPage { events, next_after })
    }
}
