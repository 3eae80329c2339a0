//! The event store: reads, and starting a command's write transaction.

use crate::PgStore;
use crate::error::{corrupt, in_tx, outside};
use crate::rows::{Decoder, signed};
use crate::sql::{LOAD, OUTCOME, READ_ALL};
use crate::tx::PgTx;
use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Row};
use tally_ports::driven::{AppendPlan, CommandOutcome, Committed, EventStore, StoreError, WriteTx};
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
        self.reads
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
    ) -> Result<Option<Committed>, StoreError> {
        crate::tx::append_if_current(&self.commands, reads, plan).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = signed(after)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .reads
            .read("reading the global order", |mut conn| async move {
                let r = sqlx::query(READ_ALL)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await;
                (conn, r)
            })
            .await?;
        events(&rows, 0)
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
}
