//! The event store: reads, and starting a command's write transaction.

use crate::PgStore;
use crate::error::{corrupt, in_tx, is_lost, outside};
use crate::rows::{Decoder, fold_event, signed};
use crate::sql::{LOAD, LOAD_FOLDING, OUTCOME, READ_ALL, READ_BEFORE, READ_MATCHING};
use crate::tx::PgTx;
use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Row};
use tally_ports::driven::{AppendPlan, CommandOutcome, EventStore, Fold, StoreError, WriteTx};
use tally_ports::feed::FeedFilter;
use tally_ports::{RecordedEvent, StreamId};
use uuid::Uuid;

fn events(rows: &[PgRow], at: usize) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut d = Decoder::default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(d.event(r, at)?);
    }
    Ok(out)
}

#[async_trait]
impl EventStore for PgStore {
    async fn load(&self, stream: &StreamId, after: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        let (s, after) = (stream.to_string(), signed(after)?);
        self.views()
            .await
            .read("loading a stream", |mut conn| async {
                let loaded = async {
                    // Decoded as the rows arrive: a long stream is never held twice in memory.
                    let mut rows = sqlx::query(LOAD).bind(&s).bind(after).fetch(&mut *conn);
                    let (mut d, mut out) = (Decoder::default(), Vec::new());
                    while let Some(row) = rows.try_next().await? {
                        match d.event(&row, 0) {
                            Ok(e) => out.push(e),
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                    Ok(Ok(out))
                }
                .await;
                (conn, loaded)
            })
            .await?
    }

    async fn fold_events(
        &self,
        stream: &StreamId,
        after: u64,
        fold: &mut Fold<'_>,
    ) -> Result<(), StoreError> {
        const WHAT: &str = "loading a stream";
        let (s, after) = (stream.to_string(), signed(after)?);
        let mut attempt = 1;
        loop {
            let mut conn = self.reads.acquire().await.map_err(|e| outside(WHAT, &e))?;
            // Folded as the rows arrive: the server goes on reading while this side decodes.
            let result = async {
                let mut rows = sqlx::query(LOAD_FOLDING)
                    .bind(&s)
                    .bind(after)
                    .fetch(&mut *conn);
                while let Some(row) = rows.try_next().await? {
                    let folded = fold_event(&row, 0).and_then(|e| fold(e).map_err(corrupt));
                    if let Err(e) = folded {
                        return Ok(Err(e));
                    }
                }
                Ok(Ok(()))
            }
            .await;
            match result {
                Ok(done) => {
                    self.reads.give_back(conn);
                    return done;
                }
                // Lost connections: again on another one (folding skips what it has).
                Err(e) if is_lost(&e) && attempt < self.reads.attempts() => {
                    self.reads.connection_lost(&mut conn);
                    attempt += 1;
                }
                Err(e) => {
                    if is_lost(&e) {
                        self.reads.connection_lost(&mut conn);
                    }
                    return Err(outside(WHAT, &e));
                }
            }
        }
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        let mut conn = self
            .commands
            .acquire()
            .await
            .map_err(|e| outside("connecting", &e))?;
        match conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await {
            Ok(_) => Ok(Box::new(PgTx::new(self.commands.clone(), conn))),
            Err(e) => {
                self.commands.connection_lost(&mut conn);
                Err(in_tx("beginning a transaction", &e))
            }
        }
    }

    async fn append_if_current(
        &self,
        reads: &[(StreamId, u64)],
        plan: AppendPlan,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        if !plan.erase.is_empty() {
            // Forgetting a member takes more statements than the one-statement path has.
            let mut tx = self.begin().await?;
            if tx.load(reads).await?.iter().any(|newer| !newer.is_empty()) {
                return Ok(None);
            }
            tx.append(plan).await?;
            return Ok(Some(tx.commit().await?));
        }
        crate::tx::append_if_current(&self.commands, reads, plan).await
    }

    async fn append_batch(
        &self,
        mut entries: Vec<tally_ports::driven::BatchEntry>,
    ) -> Vec<Result<Option<Vec<RecordedEvent>>, StoreError>> {
        // A batch of one (a quiet moment): the one-command statement, about 1.3x faster to
        // plan and run than the batch's arrays.
        if let [one] = entries.as_slice()
            && one.plan.streams.iter().any(|s| !s.events.is_empty())
            && let Some(one) = entries.pop()
        {
            return vec![self.append_if_current(&one.reads, one.plan).await];
        }
        crate::batch::append_batch(&self.commands, entries).await
    }

    fn group_commit(&self) -> bool {
        true
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = signed(after)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (conns, horizon) = self.feed_conns().await;
        let rows = conns
            .read("reading the global order", |mut conn| {
                let horizon = horizon.clone();
                async move {
                    let r = sqlx::query(READ_ALL)
                        .bind(after)
                        .bind(limit)
                        .bind(horizon)
                        .fetch_all(&mut *conn)
                        .await;
                    (conn, r)
                }
            })
            .await?;
        events(&rows, 0)
    }

    async fn read_matching(
        &self,
        after: u64,
        limit: usize,
        filter: &FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if filter.is_all() {
            return self.read_all(after, limit).await;
        }
        self.read_filtered(READ_MATCHING, signed(after)?, limit, filter)
            .await
    }

    async fn read_before(
        &self,
        before: u64,
        limit: usize,
        filter: &FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        self.read_filtered(READ_BEFORE, before, limit, filter).await
    }

    async fn position_of(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let p: Option<i64> =
            sqlx::query_scalar("SELECT position FROM events WHERE event_id = $1 LIMIT 1")
                .bind(event_id)
                .fetch_optional(self.views().await.pool())
                .await
                .map_err(|e| outside("finding an event by id", &e))?;
        Ok(p.map(i64::unsigned_abs))
    }

    fn commits(&self) -> Option<tally_ports::feed::CommitsReceiver> {
        self.listener.ensure(&self.commands);
        Some(self.commands.wake.subscribe())
    }

    async fn command_outcome(&self, id: Uuid) -> Result<Option<CommandOutcome>, StoreError> {
        let rows = self
            .reads
            .read("reading a command outcome", |mut conn| async move {
                let r = sqlx::query(OUTCOME).bind(id).fetch_all(&mut *conn).await;
                (conn, r)
            })
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let fingerprint: String = first.try_get(0).map_err(corrupt)?;
        let mut events = Vec::with_capacity(rows.len());
        let mut d = Decoder::default();
        for r in &rows {
            // A command that recorded no event joins no event row.
            if r.try_get::<Option<i64>, _>(1).map_err(corrupt)?.is_some() {
                events.push(d.event(r, 1)?);
            }
        }
        Ok(Some(CommandOutcome {
            fingerprint,
            events,
        }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.reads
            .read("ping", |mut conn| async move {
                let r = conn.execute("SELECT 1").await;
                (conn, r)
            })
            .await
            .map(|_| ())
    }

    async fn head(&self) -> Result<Option<u64>, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(self.views().await.pool())
            .await
            .map_err(|e| crate::error::outside("reading the head position", &e))?;
        Ok(Some(max.map_or(0, |m| m.unsigned_abs())))
    }
}

impl PgStore {
    /// A read of the global order with `sql` ([`READ_MATCHING`] or [`READ_BEFORE`]) from
    /// `from`, filtered.
    async fn read_filtered(
        &self,
        sql: &'static str,
        from: i64,
        limit: usize,
        filter: &FeedFilter,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let types = (!filter.types.is_empty()).then(|| filter.types.clone());
        let kinds = (!filter.kinds.is_empty()).then(|| {
            filter
                .kinds
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect::<Vec<_>>()
        });
        let (conns, horizon) = self.feed_conns().await;
        let rows = conns
            .read("reading the global order", |mut conn| {
                let (types, kinds) = (types.clone(), kinds.clone());
                let (member, job) = (filter.member.clone(), filter.job.clone());
                let horizon = horizon.clone();
                async move {
                    let r = sqlx::query(sql)
                        .bind(from)
                        .bind(limit)
                        .bind(types)
                        .bind(kinds)
                        .bind(member)
                        .bind(job)
                        .bind(horizon)
                        .fetch_all(&mut *conn)
                        .await;
                    (conn, r)
                }
            })
            .await?;
        events(&rows, 0)
    }
}
