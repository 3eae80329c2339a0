//! Running one command: queue, read, decide and append in one transaction, retry.

use super::{Loaded, TallyService, store_error};
use crate::actor::Ctx;
use crate::codec;
use crate::driven::{AppendPlan, CachedState, CommandRecord, StoreError, StreamAppend, WriteTx};
use crate::driving::*;
use crate::envelope::{RecordedEvent, StreamId};
use crate::error::{Error, Result};
use crate::format::fnv1a;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use tally_domain::{
    Handle, JobCommand, JobContext, JobId, MemberCommand, MemberEvent, Wallet, job,
};
use uuid::Uuid;

/// A command, parsed.
pub(super) enum Cmd {
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

impl TallyService {
    pub(super) async fn outcome(
        &self,
        command_id: Uuid,
        fingerprint: &str,
    ) -> Result<Option<Receipt>> {
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
    pub(super) async fn execute(
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
        let missed = self
            .cached(std::slice::from_ref(&primary), &mut states)
            .await;
        self.replay(&missed, &mut states).await?;
        let others: Vec<StreamId> = cmd.streams(&states).into_iter().skip(1).collect();
        held.lock(&others).await;
        let missed = self.cached(&others, &mut states).await;
        self.replay(&missed, &mut states).await?;

        let mut attempt = 0;
        loop {
            match self
                .attempt(
                    ctx,
                    &cmd,
                    command_id,
                    &fingerprint,
                    &mut states,
                    attempt == 0,
                )
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
                    // Retry from the stored states: the ones held lost (and, were storage
                    // ever rolled back beneath this process, they could be ahead of it).
                    for s in states.keys() {
                        self.memo.forget(s);
                    }
                    states.clear();
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    // A concurrent duplicate of this very command may have won.
                    if let Some(id) = ctx.command_id
                        && let Some(r) = self.outcome(id, &fingerprint).await?
                    {
                        return Ok(r);
                    }
                }
                Err(Attempt::Failed(e)) => {
                    // A duplicate of this very command (same id) may have committed since the
                    // first check, and this copy, deciding on the new state, was refused
                    // (`job_exists`, `already_applied`...): the first outcome is the answer.
                    if let Some(id) = ctx.command_id
                        && matches!(e, Error::Rejected { .. } | Error::NotFound { .. })
                        && let Some(r) = self.outcome(id, &fingerprint).await?
                    {
                        return Ok(r);
                    }
                    return Err(e);
                }
                Ok(r) => {
                    debug_assert!(held.holds(&primary));
                    return Ok(r);
                }
            }
        }
    }

    /// Rebuilds the states the cache missed from their events before the transaction, where
    /// replaying a long stream takes no SERIALIZABLE read locks (the transaction still checks
    /// that nothing newer was recorded meanwhile).
    async fn replay(
        &self,
        missed: &[StreamId],
        states: &mut HashMap<StreamId, Loaded>,
    ) -> Result<()> {
        for s in missed {
            let l = states.get_mut(s).expect("cached");
            self.catch_up_outside(s, l).await?;
        }
        Ok(())
    }

    /// Brings `states` of `streams` up to date inside `tx`: from the cache where nothing is
    /// held yet, then the events recorded after the versions held.
    async fn catch_up(
        &self,
        tx: &mut dyn WriteTx,
        streams: &[StreamId],
        states: &mut HashMap<StreamId, Loaded>,
    ) -> Result<(), Attempt> {
        // Missed states are replayed from the start by the load below.
        let _missed = self.cached(streams, states).await;
        let reads: Vec<(StreamId, u64)> = streams
            .iter()
            .map(|s| (s.clone(), states[s].version))
            .collect();
        let mut folding: Vec<(String, Loaded)> = reads
            .iter()
            .map(|(s, _)| (s.to_string(), states[s].clone()))
            .collect();
        tx.fold_events(&reads, &mut |i, e| {
            let (what, l) = folding
                .get_mut(i)
                .ok_or("a load answered a request not made")?;
            l.fold_one(what, e).map_err(|e| e.to_string())
        })
        .await?;
        for ((s, _), (_, l)) in reads.iter().zip(folding) {
            states.insert(s.clone(), l);
        }
        Ok(())
    }

    /// One attempt: the fast path first when `fast` (see [`TallyService::speculate`]), else
    /// (or when it does not apply) the command's full write transaction.
    async fn attempt(
        &self,
        ctx: &Ctx,
        cmd: &Cmd,
        command_id: Uuid,
        fingerprint: &str,
        states: &mut HashMap<StreamId, Loaded>,
        fast: bool,
    ) -> Result<Receipt, Attempt> {
        if fast
            && let Some(r) = self
                .speculate(ctx, cmd, command_id, fingerprint, states)
                .await?
        {
            return Ok(r);
        }
        let mut tx = self.store.begin().await?;

        // 2a. Load what was recorded after the versions we hold, for every stream involved.
        let mut streams = cmd.streams(states);
        self.catch_up(tx.as_mut(), &streams, states).await?;
        // The job's newer events may involve other wallets (a participant accepted meanwhile).
        let more: Vec<StreamId> = cmd
            .streams(states)
            .into_iter()
            .filter(|s| !streams.contains(s))
            .collect();
        if !more.is_empty() {
            self.catch_up(tx.as_mut(), &more, states).await?;
            streams.extend(more);
        }

        // 2b, 2c. Decide (pure), and append every stream's events with its expected version,
        // and the new states.
        let (d, plan) = self.decide(ctx, cmd, command_id, fingerprint, states)?;
        let appended = tx.append(plan).await?;
        let recorded = tx.commit().await?;
        Ok(self
            .committed(d, recorded, appended.cache_written, states)
            .await)
    }

    /// The fast path: decide on the states held (from memory or the cache), then append in
    /// one transaction that first checks that no stream the decision read has moved on
    /// ([`EventStore::append_if_current`](crate::driven::EventStore::append_if_current)).
    /// Deciding is pure, so this is the full transaction's outcome whenever its load would
    /// have found nothing newer, in fewer round trips. `None` when the path does not apply:
    /// a stream had moved (nothing was written; its state is forgotten), or the decision was a
    /// refusal, which is only ever given by a decision inside the full transaction (the
    /// states held may be stale).
    async fn speculate(
        &self,
        ctx: &Ctx,
        cmd: &Cmd,
        command_id: Uuid,
        fingerprint: &str,
        states: &mut HashMap<StreamId, Loaded>,
    ) -> Result<Option<Receipt>, Attempt> {
        let streams = cmd.streams(states);
        if streams.iter().any(|s| !states.contains_key(s)) {
            return Ok(None);
        }
        let (d, plan) = match self.decide(ctx, cmd, command_id, fingerprint, states) {
            Ok(d) => d,
            Err(Attempt::Failed(_)) => return Ok(None),
            Err(conflict) => return Err(conflict),
        };
        let reads: Vec<(StreamId, u64)> = streams
            .iter()
            .map(|s| (s.clone(), states[s].version))
            .collect();
        match self.store.append_if_current(&reads, plan).await? {
            Some(c) => Ok(Some(
                self.committed(d, c.events, c.cache_written, states).await,
            )),
            None => {
                for s in &streams {
                    self.memo.forget(s);
                }
                Ok(None)
            }
        }
    }

    /// Decides on `states` (pure), and plans the append: every stream's events with its
    /// expected version, the command id, and the new states for the cache.
    fn decide(
        &self,
        ctx: &Ctx,
        cmd: &Cmd,
        command_id: Uuid,
        fingerprint: &str,
        states: &HashMap<StreamId, Loaded>,
    ) -> Result<(Decided, AppendPlan), Attempt> {
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
        let plan = AppendPlan {
            streams: appends,
            command: ctx.command_id.map(|id| CommandRecord {
                command_id: id,
                fingerprint: fingerprint.to_owned(),
            }),
            cache,
        };
        Ok((Decided { command_id, after }, plan))
    }

    /// After the commit (step 3): the new states, into memory and the cache (unless the store
    /// wrote them in the transaction); the receipt.
    async fn committed(
        &self,
        d: Decided,
        recorded: Vec<RecordedEvent>,
        cache_written: bool,
        states: &mut HashMap<StreamId, Loaded>,
    ) -> Receipt {
        if !cache_written {
            let cache: Vec<CachedState> = d
                .after
                .iter()
                .map(|(s, l)| self.encode_state(s, l))
                .collect();
            self.put_cache(&cache).await;
        }
        for (s, l) in d.after {
            self.memo.put(&s, &l);
            states.insert(s, l);
        }
        Receipt {
            command_id: d.command_id,
            events: recorded.iter().map(EventRef::from).collect(),
        }
    }
}

/// A decision taken, beside its append plan.
struct Decided {
    command_id: Uuid,
    /// The states after the append.
    after: HashMap<StreamId, Loaded>,
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
