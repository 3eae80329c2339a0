//! Running one command. The algorithm of ARCHITECTURE.md is [`TallyService::run`], at the
//! top; its steps follow, each below the one that calls it.

use super::{Known, TallyService, Versioned, store_error};
use crate::codec;
use crate::ctx::Ctx;
use crate::driven::{AppendPlan, CommandRecord, StoreError, StreamAppend, WriteTx};
use crate::driving::{EventRef, Input, Receipt};
use crate::envelope::{RecordedEvent, StreamId};
use crate::error::{Conflict, Error, Result, Unavailable};
use crate::format::fnv1a;
use crate::inbox::OutboxMessage;
use std::future::Future;
use std::sync::atomic::Ordering;
use tally_domain::{Actor, Command, Context, JobId, RegisterMember, Rejection};
use tracing::Instrument;
use uuid::Uuid;

/// One command on its way: what it is, who issues it, and its id.
struct Job<'a> {
    ctx: &'a Ctx,
    command: &'a Command,
    cx: Context<'a>,
    id: Uuid,
    fingerprint: &'a str,
}

/// Why an attempt did not commit.
enum Attempt {
    /// A concurrent writer won: retry.
    Retry(String),
    /// The command id was recorded meanwhile: its outcome is the answer.
    Duplicate,
    /// The write may or may not have committed (a connection lost at commit): look it up.
    Unknown(String),
    /// Give up with this error.
    Failed(Error),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(why) => Self::Retry(why),
            StoreError::Duplicate(_) => Self::Duplicate,
            StoreError::Unknown(why) => Self::Unknown(why),
            other => Self::Failed(store_error(other)),
        }
    }
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl TallyService {
    /// Parses a command and runs it, once per command id. A visitor registers only by
    /// signing up, with an account ([`TallyService::register`]): here, they are refused.
    pub(super) async fn execute_input(&self, ctx: &Ctx, input: Input) -> Result<Receipt> {
        let command = match Command::parse(input.kind, &input.fields) {
            Ok(c) => c,
            Err(e) => {
                let e = Error::from(e);
                crate::telemetry::command(input.kind, Err(&e), 0.0);
                return Err(e);
            }
        };
        if matches!(command, Command::RegisterMember(_)) && ctx.actor == Actor::Anonymous {
            return Err(Rejection::SignInFirst.into());
        }
        self.execute_command(ctx, &command).await
    }

    /// Registers a member as the identity port does it, with an account (also for a visitor
    /// signing up).
    pub(crate) async fn register(&self, ctx: &Ctx, c: RegisterMember) -> Result<Receipt> {
        self.execute_command(ctx, &Command::from(c)).await
    }

    async fn execute_command(&self, ctx: &Ctx, command: &Command) -> Result<Receipt> {
        let started = std::time::Instant::now();
        let fingerprint = fingerprint(ctx, command);
        let id = ctx.command_id.unwrap_or_else(|| self.ids.new_id());
        let span = tracing::info_span!(
            "command",
            command_id = %id,
            command_type = command.kind().name(),
            actor = %ctx.actor,
            outcome = tracing::field::Empty,
        );
        let result = async {
            match ctx.command_id {
                None => self.run(ctx, command, id, &fingerprint).await,
                Some(_) => {
                    let run = self.run(ctx, command, id, &fingerprint);
                    self.once(id, &fingerprint, run).await
                }
            }
        }
        .instrument(span.clone())
        .await;
        span.record(
            "outcome",
            match &result {
                Ok(_) => "ok",
                Err(e) => e.code(),
            },
        );
        crate::telemetry::command(
            command.kind(),
            result.as_ref().map(|_| ()),
            started.elapsed().as_secs_f64(),
        );
        result
    }

    /// Idempotency: a command id already recorded answers with its outcome and records
    /// nothing; a command refused because a copy of it (same id) committed meanwhile (say,
    /// `already_applied`) answers with that copy's outcome.
    async fn once(
        &self,
        id: Uuid,
        fingerprint: &str,
        run: impl Future<Output = Result<Receipt>>,
    ) -> Result<Receipt> {
        if let Some(r) = self.outcome(id, fingerprint).await? {
            return Ok(r);
        }
        match run.await {
            Err(e @ Error::Rejected(_)) => Ok(self.outcome(id, fingerprint).await?.ok_or(e)?),
            other => other,
        }
    }

    /// Runs one command: the heart of the system.
    async fn run(
        &self,
        ctx: &Ctx,
        command: &Command,
        id: Uuid,
        fingerprint: &str,
    ) -> Result<Receipt> {
        let new_job = new_job(id)?;
        let job = Job {
            ctx,
            command,
            cx: Context {
                actor: &ctx.actor,
                new_job: &new_job,
            },
            id,
            fingerprint,
        };
        // 1. Queue behind commands on the same entities in this process; take the last known
        //    states of every stream the decision reads.
        let mut known = Known::default();
        let grouped = self.committer().is_some();
        // With group commit, the first attempt may decide on states that commands queued
        // before it leave (pending), and lets go of the entities once it has queued.
        let mut queued = Some(self.queue_and_recall(&job, &mut known, grouped).await?);
        let mut attempt = 0;
        loop {
            // 2. Decide on those states, and append if no stream has moved on (one
            //    statement); else load what moved, decide and append in one transaction.
            let streams: Vec<String> = known.streams().map(ToString::to_string).collect();
            let span = tracing::info_span!("attempt", attempt, streams = ?streams);
            let outcome = async {
                if grouped && attempt == 0 {
                    match self.in_a_batch(&job, &mut known, &mut queued).await {
                        Ok(Some(receipt)) => {
                            metrics::counter!(crate::telemetry::FAST_PATH, "result" => "hit")
                                .increment(1);
                            return Ok(receipt);
                        }
                        Ok(None) => {
                            metrics::counter!(crate::telemetry::FAST_PATH, "result" => "miss")
                                .increment(1);
                            // The states it held may have been pending: never carried on.
                            queued = None;
                        }
                        Err(e) => return Err(e),
                    }
                }
                if queued.is_none() {
                    // Left out of its batch: again from the stored states, queued behind
                    // the commands of this process on the same entities.
                    known.clear();
                    queued = Some(self.queue_and_recall(&job, &mut known, false).await?);
                }
                match attempt {
                    0 if !grouped => match self.append_if_current(&job, &mut known).await {
                        Ok(Some(receipt)) => {
                            metrics::counter!(crate::telemetry::FAST_PATH, "result" => "hit")
                                .increment(1);
                            Ok(receipt)
                        }
                        Ok(None) => {
                            metrics::counter!(crate::telemetry::FAST_PATH, "result" => "miss")
                                .increment(1);
                            self.in_one_transaction(&job, &mut known).await
                        }
                        Err(e) => Err(e),
                    },
                    _ => self.in_one_transaction(&job, &mut known).await,
                }
            }
            .instrument(span)
            .await;
            match outcome {
                Ok(receipt) => {
                    self.after_forgetting(&receipt).await?;
                    return Ok(receipt);
                }
                // 3. A concurrent writer won: again from the stored states, after a pause.
                Err(Attempt::Retry(why)) if attempt + 1 < self.retry.attempts => {
                    attempt += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(crate::telemetry::RETRIES).increment(1);
                    for s in known.streams() {
                        self.memo.forget(s);
                    }
                    known.clear();
                    tracing::debug!(attempt, %why, "retrying a conflicting command");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                Err(Attempt::Retry(why)) => {
                    self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
                    return Err(Conflict::KeptChanging { detail: why }.into());
                }
                Err(Attempt::Duplicate) => {
                    return self.outcome(id, fingerprint).await?.ok_or_else(|| {
                        Error::infrastructure(format!("command {id} was recorded but not found"))
                    });
                }
                // 4. Lost at commit: the command id tells what happened. Recorded: that is the
                //    answer. Not recorded: run it again. Cannot tell: the caller repeats it
                //    with its id, which cannot record it twice.
                Err(Attempt::Unknown(why)) => match self.look_up(id, fingerprint).await {
                    Some(Some(receipt)) => {
                        self.after_forgetting(&receipt).await?;
                        self.stats.resolved.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(%id, %why, "a commit's outcome was lost, and found");
                        return Ok(receipt);
                    }
                    Some(None) if attempt + 1 < self.retry.attempts => {
                        attempt += 1;
                        self.stats.resolved.fetch_add(1, Ordering::Relaxed);
                        for s in known.streams() {
                            self.memo.forget(s);
                        }
                        known.clear();
                        tracing::info!(%id, %why, "a commit was lost before it recorded; again");
                    }
                    Some(None) => {
                        tracing::warn!(%id, %why, "every attempt lost its connection");
                        return Err(Unavailable::NotRecorded { command_id: id }.into());
                    }
                    None => {
                        tracing::warn!(%id, %why, "a commit's outcome is unknown");
                        return Err(Unavailable::OutcomeUnknown { command_id: id }.into());
                    }
                },
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
    }

    /// Step 1: queues behind other commands of this process on the streams the decision
    /// reads (so that they do not fight in the database), and takes their last known
    /// states: held in memory, else the state cache; what both miss is replayed from the
    /// events before the transaction. The streams a decision reads depend on the states (a
    /// job names the wallets it involves), so this asks again until the answer stops growing.
    async fn queue_and_recall(
        &self,
        job: &Job<'_>,
        known: &mut Known,
        pending: bool,
    ) -> Result<crate::locks::Held<'_>> {
        let mut held = self.locks.none();
        loop {
            let more: Vec<StreamId> = job
                .command
                .reads(&job.cx, known.states())
                .into_iter()
                .filter(|s| !known.holds(s))
                .collect();
            if more.is_empty() {
                return Ok(held);
            }
            // The entity the command is about first, then the others in order: at most one
            // job per command, and it before any wallet, so two commands never wait for each
            // other in a cycle.
            let (first, rest) = more.split_at(usize::from(known.is_empty()));
            held.lock(first).await;
            held.lock(rest).await;
            // Group commit: a state a queued command leaves, if it may still land.
            let mut more = more;
            if let (true, Some(committer)) = (pending, self.committer()) {
                more.retain(|s| match committer.pending(s) {
                    Some((v, ticket)) => {
                        known.set(s, v);
                        if !known
                            .deps
                            .iter()
                            .any(|t| std::sync::Arc::ptr_eq(t, &ticket))
                        {
                            known.deps.push(ticket);
                        }
                        false
                    }
                    None => true,
                });
            }
            let (found, missed) = self.last_known(&more).await;
            for (s, mut v) in found {
                if missed.contains(&s) {
                    self.catch_up(&s, &mut v).await?;
                }
                known.set(&s, v);
            }
        }
    }

    /// Step 2, fast: decides on the states held and appends in one transaction that first
    /// checks that no stream the decision read has moved on
    /// ([`EventStore::append_if_current`](crate::driven::EventStore::append_if_current)).
    /// Deciding is pure, so this is the full transaction's outcome whenever its load would
    /// have found nothing newer, in fewer round trips (one statement on PostgreSQL: commands
    /// run at about 1.1-1.3x the minimal serializable transaction, see the pg benchmark).
    /// `None` when it does not apply: a stream had moved (nothing was written; its state is
    /// forgotten), or the decision was a refusal, which is only ever given by a decision inside
    /// the full transaction (the states held may be stale).
    async fn append_if_current(
        &self,
        job: &Job<'_>,
        known: &mut Known,
    ) -> Result<Option<Receipt>, Attempt> {
        let reads = job.command.reads(&job.cx, known.states());
        if reads.iter().any(|s| !known.holds(s)) {
            return Ok(None);
        }
        let (plan, after) = match self.plan(job, known) {
            Ok(p) => p,
            Err(Attempt::Failed(Error::Rejected(_))) => return Ok(None),
            Err(other) => return Err(other),
        };
        let versions: Vec<(StreamId, u64)> = reads
            .iter()
            .map(|s| (s.clone(), known.version(s)))
            .collect();
        match self.store.append_if_current(&versions, plan).await? {
            Some(recorded) => Ok(Some(self.committed(job, after, &recorded, known))),
            None => {
                for s in &reads {
                    self.memo.forget(s);
                }
                Ok(None)
            }
        }
    }

    /// Step 2, fast and together with other commands (group commit, see `group.rs`):
    /// decides on the states held (some perhaps pending: left by commands queued before it),
    /// queues the decision with the versions it read, lets go of the entities (the next
    /// command on them decides on the state this one leaves), and waits for its batch. A
    /// refusal is queued too, writing nothing: it stands if the states it was decided on
    /// turn out current. `None` when it was left out (a stream had moved, or a state it
    /// decided on did not land): nothing was written, and the states are forgotten.
    async fn in_a_batch(
        &self,
        job: &Job<'_>,
        known: &mut Known,
        queued: &mut Option<crate::locks::Held<'_>>,
    ) -> Result<Option<Receipt>, Attempt> {
        let Some(committer) = self.committer() else {
            return Ok(None);
        };
        let reads = job.command.reads(&job.cx, known.states());
        if reads.iter().any(|s| !known.holds(s)) {
            return Ok(None);
        }
        let (plan, after, refusal) = match self.plan(job, known) {
            // Forgetting a member takes more than a batch's statement.
            Ok((plan, _)) if !plan.erase.is_empty() => {
                return if known.deps.is_empty() {
                    self.append_if_current(job, known).await
                } else {
                    Ok(None)
                };
            }
            Ok((plan, after)) => (plan, after, None),
            Err(Attempt::Failed(Error::Rejected(r))) => {
                (AppendPlan::default(), Vec::new(), Some(r))
            }
            Err(other) => return Err(other),
        };
        let versions: Vec<(StreamId, u64)> = reads
            .iter()
            .map(|s| (s.clone(), known.version(s)))
            .collect();
        let (ticket, answer) = committer.enqueue(versions, plan, known.deps.clone(), &after);
        *queued = None;
        let (outcome, batch) = answer.await.unwrap_or_else(|_| {
            let lost = "the group commit stopped before answering";
            (Err(StoreError::Unknown(lost.into())), 0)
        });
        let written: Vec<StreamId> = after.iter().map(|(s, _)| s.clone()).collect();
        match outcome {
            Ok(Some(recorded)) => {
                if batch > 1 {
                    self.stats.batched.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(r) = refusal {
                    return Err(Attempt::Failed(r.into()));
                }
                let receipt = self.committed(job, after, &recorded, known);
                committer.settle(&written, &ticket);
                Ok(Some(receipt))
            }
            other => {
                let touched: Vec<StreamId> = reads.iter().chain(&written).cloned().collect();
                committer.forget(&touched);
                for s in &touched {
                    self.memo.forget(s);
                }
                other.map(|_| None).map_err(Attempt::from)
            }
        }
    }

    /// Step 2, in full: in ONE write transaction (PostgreSQL: SERIALIZABLE), load the events
    /// recorded after the known versions of every stream the decision reads, decide (pure),
    /// and append every stream's events with its expected version, the command id and the
    /// new states.
    async fn in_one_transaction(
        &self,
        job: &Job<'_>,
        known: &mut Known,
    ) -> Result<Receipt, Attempt> {
        let mut tx = self.store.begin().await?;
        let mut read: Vec<StreamId> = Vec::new();
        loop {
            // A job's newer events may involve other wallets (a participant accepted
            // meanwhile): ask again until the answer stops growing.
            let more: Vec<StreamId> = job
                .command
                .reads(&job.cx, known.states())
                .into_iter()
                .filter(|s| !read.contains(s))
                .collect();
            if more.is_empty() {
                break;
            }
            self.load_in(tx.as_mut(), &more, known).await?;
            read.extend(more);
        }
        let (plan, after) = self.plan(job, known)?;
        tx.append(plan).await?;
        let recorded = tx.commit().await?;
        if let Some(committer) = self.committer() {
            // What commands queued before it left pending there is out of date now.
            let written: Vec<StreamId> = after.iter().map(|(s, _)| s.clone()).collect();
            committer.forget(&written);
        }
        Ok(self.committed(job, after, &recorded, known))
    }

    /// Brings `streams` up to date inside `tx`: their last known states where none is held
    /// yet (a miss is replayed from the start by the load), then the events recorded after.
    async fn load_in(
        &self,
        tx: &mut dyn WriteTx,
        streams: &[StreamId],
        known: &mut Known,
    ) -> Result<(), Attempt> {
        let unknown: Vec<StreamId> = streams
            .iter()
            .filter(|s| !known.holds(s))
            .cloned()
            .collect();
        for (s, v) in self.last_known(&unknown).await.0 {
            known.set(&s, v);
        }
        let reads: Vec<(StreamId, u64)> = streams
            .iter()
            .map(|s| (s.clone(), known.version(s)))
            .collect();
        let mut folding: Vec<Versioned> = streams.iter().map(|s| known.get(s)).collect();
        tx.fold_events(&reads, &mut |i, e| {
            let v = folding
                .get_mut(i)
                .ok_or("a load answered a request not made")?;
            v.fold(&reads[i].0, e).map_err(|e| e.to_string())
        })
        .await?;
        for (s, v) in streams.iter().zip(folding) {
            known.set(s, v);
        }
        Ok(())
    }

    /// Decides (pure) on the known states, and plans the append: every stream's events with
    /// its expected version, the command id, and the states after them (folded from the typed
    /// events, then encoded once, for the cache).
    fn plan(
        &self,
        job: &Job<'_>,
        known: &Known,
    ) -> Result<(AppendPlan, Vec<(StreamId, Versioned)>), Attempt> {
        let changes = job
            .command
            .decide(&job.cx, known.states())
            .map_err(|r| Attempt::Failed(r.into()))?;
        let time = self.clock.now();
        let correlation_id = job.ctx.correlation_id.unwrap_or(job.id);
        let outbox = match self.outbox {
            Some(_) => tally_domain::notifications(known.states(), &changes)
                .into_iter()
                .map(|notification| OutboxMessage {
                    id: self.ids.new_id(),
                    notification,
                    command_id: job.id,
                    time,
                })
                .collect(),
            None => Vec::new(),
        };
        let mut appends: Vec<StreamAppend> = Vec::new();
        let mut after: Vec<(StreamId, Versioned)> = Vec::new();
        for (stream, event) in changes {
            let i = match after.iter().position(|(s, _)| *s == stream) {
                Some(i) => i,
                None => {
                    appends.push(StreamAppend {
                        stream: stream.clone(),
                        expected_version: known.version(&stream),
                        events: Vec::new(),
                    });
                    after.push((stream.clone(), known.get(&stream)));
                    after.len() - 1
                }
            };
            let v = &mut after[i].1;
            let version = v.version + 1;
            v.apply(&stream, version, &event)?;
            let (event_type, payload) = codec::encode(&event);
            appends[i].events.push(RecordedEvent {
                position: 0,
                stream,
                version,
                event_id: self.ids.new_id(),
                event_type: event_type.to_owned(),
                schema_version: event.schema_version(),
                payload,
                time,
                actor: job.ctx.actor.clone(),
                command_id: job.id,
                correlation_id,
                causation_id: job.id,
            });
        }
        let cache = after.iter().map(|(s, v)| self.cache_row(s, v)).collect();
        let erase = forgotten(
            appends
                .iter()
                .flat_map(|a| &a.events)
                .map(|e| (&*e.event_type, &e.stream)),
        );
        let plan = AppendPlan {
            erase,
            streams: appends,
            // Every command's id, chosen by the client or not: it is how an outcome lost at
            // commit is found again (and it cannot be recorded twice).
            command: Some(CommandRecord {
                command_id: job.id,
                fingerprint: job.fingerprint.to_owned(),
            }),
            cache,
            outbox,
        };
        Ok((plan, after))
    }

    /// After the commit: the new states are known (and kept in memory); the receipt.
    fn committed(
        &self,
        job: &Job<'_>,
        after: Vec<(StreamId, Versioned)>,
        recorded: &[RecordedEvent],
        known: &mut Known,
    ) -> Receipt {
        for (s, v) in after {
            self.memo.put(&s, &v);
            known.set(&s, v);
        }
        Receipt {
            command_id: job.id,
            events: recorded.iter().map(EventRef::from).collect(),
        }
    }

    /// What follows a command that forgot members, once it is recorded (the store erased what
    /// it keeps in the same transaction): the states this process holds in memory may hold
    /// their plaintext (dropped, all: forgetting is rare), and the keys and accounts kept
    /// apart from the store (the memory adapter's) are deleted now. Repeating it is harmless.
    async fn after_forgetting(&self, receipt: &Receipt) -> Result<()> {
        let members = forgotten(receipt.events.iter().map(|e| (&*e.event_type, &e.stream)));
        if members.is_empty() {
            return Ok(());
        }
        self.memo.clear();
        for m in &members {
            if let Some(keys) = &self.keys {
                keys.forget(m).await?;
            }
            if let Some(accounts) = &self.accounts {
                accounts.forget_account(m).await?;
            }
            tracing::info!(member = %m, "member forgotten");
        }
        Ok(())
    }

    /// The outcome of a command whose commit was lost, looked up on fresh connections (a few
    /// times: the pool may still hold connections the same failure broke); `None` if storage
    /// cannot tell.
    async fn look_up(&self, id: Uuid, fingerprint: &str) -> Option<Option<Receipt>> {
        for attempt in 0..3u32 {
            match self.outcome(id, fingerprint).await {
                Ok(found) => return Some(found),
                Err(e) => tracing::debug!(%id, error = %e, attempt, "looking up an outcome"),
            }
            tokio::time::sleep(self.retry.backoff(attempt + 1)).await;
        }
        None
    }

    /// The outcome of a command id recorded earlier, if any.
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
            return Err(Conflict::CommandIdReused { command_id }.into());
        }
        Ok(Some(Receipt {
            command_id,
            events: o.events.iter().map(EventRef::from).collect(),
        }))
    }
}

/// What a command is (its actor and fields, hashed), to refuse reuse of its id for another.
fn fingerprint(ctx: &Ctx, command: &Command) -> String {
    let name = command.kind().name();
    let json = serde_json::to_string(command).unwrap_or_default();
    format!(
        "{name}/{:016x}",
        fnv1a(format!("{name}|{}|{json}", ctx.actor).as_bytes())
    )
}

/// The id of the job a command would launch: derived from the command id, so that a repeated
/// launch names the same job.
fn new_job(id: Uuid) -> Result<JobId> {
    Ok(JobId::parse(&id.to_string())?)
}

/// The members forgotten by these events (type, stream).
fn forgotten<'a>(events: impl Iterator<Item = (&'a str, &'a StreamId)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (t, s) in events {
        if t == "MemberForgotten" && !out.iter().any(|m| m == s.key()) {
            out.push(s.key().to_owned());
        }
    }
    out
}
