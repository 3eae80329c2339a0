//! The one rewrite of stored events Tally allows: sealing the personal fields of events
//! stored in plaintext (by builds before encryption) with their subjects' keys. It changes
//! how a payload is stored, never what it says: every reader opens the fields again. Runs in
//! batches, each in its own transaction with its audit row's progress, so that a run killed
//! anywhere resumes where its last batch committed; a field already sealed is left alone, so
//! a second run changes nothing.

use crate::PgStore;
use sqlx::Row;
use tally_ports::keys::DataKeys;
use tally_ports::{Actor, StreamId};

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The run's number in `history_sealing`.
    pub run: i64,
    /// The position it started after (where the previous run got to).
    pub resumed_from: i64,
    /// The last position it examined.
    pub position: i64,
    /// Events rewritten.
    pub events: u64,
    /// Fields sealed.
    pub fields: u64,
}

fn failed(what: &str, e: impl std::fmt::Display) -> tally_ports::Error {
    tally_ports::Error::infrastructure(format!("sealing the history: {what}: {e}"))
}

impl PgStore {
    /// Seals the personal fields of events stored in plaintext, `batch` events at a time,
    /// from where the last run got to (or the start, with `from_start`); `progress` is told
    /// (position reached, highest position) after each batch. `operator` is recorded in the
    /// audit row.
    ///
    /// # Errors
    /// When storage or the key store fails, or an event names no data subject.
    pub async fn seal_history(
        &self,
        keys: &DataKeys,
        operator: &str,
        batch: i64,
        from_start: bool,
        mut progress: impl FnMut(i64, i64),
    ) -> Result<Sealed, tally_ports::Error> {
        let pool = self.pool();
        let types: Vec<&str> = tally_ports::contracts::current()
            .filter(|t| !t.personal.is_empty())
            .map(|t| t.name)
            .collect();
        let last: Option<i64> = if from_start {
            None
        } else {
            sqlx::query_scalar("SELECT max(position) FROM history_sealing")
                .fetch_one(pool)
                .await
                .map_err(|e| failed("reading the audit", e))?
        };
        let resumed_from = last.unwrap_or(0);
        let head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(pool)
            .await
            .map_err(|e| failed("reading the head", e))?;
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO history_sealing (operator, resumed_from, position)
             VALUES ($1, $2, $2) RETURNING run",
        )
        .bind(operator)
        .bind(resumed_from)
        .fetch_one(pool)
        .await
        .map_err(|e| failed("starting the audit", e))?;
        let mut out = Sealed {
            run,
            resumed_from,
            position: resumed_from,
            events: 0,
            fields: 0,
        };
        loop {
            let mut tx = pool.begin().await.map_err(|e| failed("beginning", e))?;
            let rows = sqlx::query(
                "SELECT position, stream, event_type, actor, payload FROM events
                 WHERE position > $1 AND position <= $2 AND event_type = ANY($3)
                 ORDER BY position LIMIT $4 FOR UPDATE",
            )
            .bind(out.position)
            .bind(head)
            .bind(&types)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| failed("reading a batch", e))?;
            let Some(last) = rows.last() else { break };
            let reached: i64 = last.get(0);
            let (mut positions, mut payloads) = (Vec::new(), Vec::new());
            let mut fields = 0;
            for r in &rows {
                let stream: String = r.get(1);
                let event_type: String = r.get(2);
                let actor: String = r.get(3);
                let mut payload: serde_json::Value = r.get(4);
                let stream = StreamId::parse(&stream).map_err(|e| failed("a stream", e))?;
                let actor: Actor = actor.parse().map_err(|e| failed("an actor", e))?;
                let n = tally_ports::personal::seal_fields(
                    keys,
                    &event_type,
                    &stream,
                    &actor,
                    &mut payload,
                    false,
                )
                .await
                .map_err(|e| failed("sealing", e))?;
                if n > 0 {
                    positions.push(r.get::<i64, _>(0));
                    payloads.push(payload);
                    fields += n as u64;
                }
            }
            sqlx::query(
                "UPDATE events e SET payload = v.payload
                 FROM unnest($1::bigint[], $2::jsonb[]) AS v(position, payload)
                 WHERE e.position = v.position",
            )
            .bind(&positions)
            .bind(&payloads)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed("rewriting a batch", e))?;
            sqlx::query(
                "UPDATE history_sealing SET position = $2, events_sealed = events_sealed + $3,
                        fields_sealed = fields_sealed + $4 WHERE run = $1",
            )
            .bind(run)
            .bind(reached)
            .bind(positions.len() as i64)
            .bind(fields as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed("recording progress", e))?;
            tx.commit()
                .await
                .map_err(|e| failed("committing a batch", e))?;
            out.position = reached;
            out.events += positions.len() as u64;
            out.fields += fields;
            progress(reached, head);
        }
        // Nothing left below the head: the run is done there.
        sqlx::query("UPDATE history_sealing SET finished_at = now(), position = $2 WHERE run = $1")
            .bind(run)
            .bind(head.max(out.position))
            .execute(pool)
            .await
            .map_err(|e| failed("finishing the audit", e))?;
        out.position = head.max(out.position);
        Ok(out)
    }

    /// How many non-empty personal fields are stored, and how many of them in plaintext
    /// (not sealed): what `tally seal-history` brings to zero.
    ///
    /// # Errors
    /// When storage fails.
    pub async fn personal_fields_stored(&self) -> Result<(i64, i64), tally_ports::Error> {
        let (mut all, mut plain) = (0, 0);
        for t in tally_ports::contracts::current() {
            for p in t.personal {
                let (a, n): (i64, i64) = sqlx::query_as(
                    "SELECT count(*),
                            count(*) FILTER (WHERE payload->>$2 NOT LIKE 'sealed:v1:%')
                     FROM events WHERE event_type = $1 AND coalesce(payload->>$2, '') <> ''",
                )
                .bind(t.name)
                .bind(p.field)
                .fetch_one(self.pool())
                .await
                .map_err(|e| failed("counting plaintext", e))?;
                all += a;
                plain += n;
            }
        }
        Ok((all, plain))
    }
}
