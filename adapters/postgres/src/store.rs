//! The event store: reads, and the write transaction of one command.

use crate::PgStore;
use crate::error::{at_commit, corrupt, in_tx, is_lost, outside};
use crate::rows::{CacheArrays, Decoder, event_columns, signed, unsigned};
use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::Row;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Postgres};
use std::sync::OnceLock;
use tally_ports::driven::{
    AppendPlan, Appended, CommandOutcome, EventStore, StoreError, StreamAppend, WriteTx,
};
use tally_ports::{RecordedEvent, StreamId};
use uuid::Uuid;

const LOAD: &str = concat!(
    "SELECT ",
    event_columns!("e"),
    " FROM events e WHERE e.stream = $1 AND e.version > $2 ORDER BY e.version"
);

/// Several streams in one query. Each stream's `streams` row is probed first, so that the
/// events index is only read (and SIREAD-locked) for streams that did move, and then only
/// from the version asked for. The LATERAL subqueries keep both probes parameterized index
/// scans (a join would let the planner hash a whole table, locking all of it).
const LOAD_MANY: &str = concat!(
    "SELECT r.i, ",
    event_columns!("e"),
    " FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(stream, after_version, i)
      CROSS JOIN LATERAL (
          SELECT 1 FROM streams s
          WHERE s.stream = r.stream AND s.version > r.after_version LIMIT 1
      ) moved
      CROSS JOIN LATERAL (
          SELECT * FROM events e
          WHERE e.stream = r.stream AND e.version > r.after_version ORDER BY e.version
      ) e"
);

/// Only events of transactions older than every transaction still in flight that could
/// write here (see the crate docs). In-flight transactions that are running in another
/// database cannot, and are left out of the horizon, so that other databases' work does not
/// hold this feed back; an in-flight id that cannot be placed counts (conservatively).
const READ_ALL: &str = concat!(
    "WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
     elsewhere AS MATERIALIZED (
         SELECT backend_xid FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
     ),
     horizon AS (
         SELECT coalesce(
             (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
              WHERE xid(x) NOT IN (SELECT backend_xid FROM elsewhere)),
             (SELECT pg_snapshot_xmax(s) FROM snap)
         ) AS h
     )
     SELECT ",
    event_columns!("e"),
    " FROM events e, horizon
      WHERE e.position > $1 AND e.tx_id < horizon.h
      ORDER BY e.position LIMIT $2"
);

const OUTCOME: &str = concat!(
    "SELECT c.fingerprint, ",
    event_columns!("e"),
    " FROM commands c
      LEFT JOIN events e ON e.position BETWEEN c.first_position AND c.last_position
                        AND e.command_id = c.command_id
      WHERE c.command_id = $1
      ORDER BY e.position"
);

/// The whole append, in one statement. Every data-modifying CTE reads `pos`, so the
/// positions (and the transaction id) are drawn before anything is written. Parts a plan
/// does not need are left out (see [`append_sql`]): a grant touches one existing stream
/// and records no command id, and the server then initialises fewer plan nodes.
const APPEND_POS: &str = "
WITH pos AS (
    SELECT tally_reserve_positions(cardinality($1::text[])) AS first
),
appended AS (
    INSERT INTO events (position, stream, version, event_type, schema_version, payload, actor,
                        event_id, command_id, correlation_id, causation_id, time)
    SELECT pos.first + e.i - 1, e.stream, e.version, e.event_type, e.schema_version,
           e.payload, e.actor, e.event_id, e.command_id, e.correlation_id, e.causation_id,
           e.time
    FROM pos, unnest($1::text[], $2::bigint[], $3::text[], $4::int4[], $5::jsonb[],
                     $6::text[], $7::uuid[], $8::uuid[], $9::uuid[], $10::uuid[],
                     $11::timestamptz[])
         WITH ORDINALITY AS e(stream, version, event_type, schema_version, payload, actor,
                              event_id, command_id, correlation_id, causation_id, time, i)
    RETURNING 1
)";

/// New streams (expected version 0) join the index.
const APPEND_CREATED: &str = ",
created AS (
    INSERT INTO streams (stream, kind, version, created_at, created_position)
    SELECT s.stream, s.kind, s.version, s.created_at, pos.first + s.first_event - 1
    FROM pos, unnest($12::text[], $13::text[], $14::bigint[], $15::bigint[],
                     $16::timestamptz[], $17::bigint[])
         AS s(stream, kind, expected, version, created_at, first_event)
    WHERE s.expected = 0
    RETURNING 1
)";

/// Existing streams move on, only from their expected versions.
const APPEND_ADVANCED: &str = ",
advanced AS (
    UPDATE streams SET version = s.version
    FROM pos, unnest($12::text[], $14::bigint[], $15::bigint[]) AS s(stream, expected, version)
    WHERE streams.stream = s.stream AND streams.version = s.expected AND s.expected > 0
    RETURNING 1
)";

const APPEND_RECORDED: &str = ",
recorded AS (
    INSERT INTO commands (command_id, fingerprint, first_position, last_position)
    SELECT $18::uuid, $19::text, pos.first, pos.first + cardinality($1::text[]) - 1
    FROM pos
    RETURNING 1
)";

/// The cache rules of `put`: only a newer version, or another format, replaces a row.
const APPEND_CACHED: &str = ",
cached AS (
    INSERT INTO state_cache AS c (stream, kind, version, format, state)
    SELECT u.stream, u.kind, u.version, u.format, u.state
    FROM pos, unnest($20::text[], $21::text[], $22::bigint[], $23::text[], $24::jsonb[])
         AS u(stream, kind, version, format, state)
    ON CONFLICT (stream) DO UPDATE
        SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
        WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version
    RETURNING 1
)";

/// The append statement for a plan that creates streams (`new`), advances streams (`old`),
/// records a command id (`command`) and writes cache rows (`cache`). It returns the first
/// position and how many streams were created or advanced. Data-modifying CTEs run whether
/// or not the final query reads them.
fn append_sql(new: bool, old: bool, command: bool, cache: bool) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..16)
            .map(|i: usize| {
                let has = |bit: usize| i & (1 << bit) != 0;
                let mut sql = APPEND_POS.to_owned();
                let mut moved = vec!["0".to_owned()];
                for (bit, part, name) in [
                    (0, APPEND_CREATED, Some("created")),
                    (1, APPEND_ADVANCED, Some("advanced")),
                    (2, APPEND_RECORDED, None),
                    (3, APPEND_CACHED, None),
                ] {
                    if has(bit) {
                        sql.push_str(part);
                        if let Some(n) = name {
                            moved.push(format!("(SELECT count(*) FROM {n})"));
                        }
                    }
                }
                sql.push_str(&format!(
                    "\nSELECT (SELECT first FROM pos), {}",
                    moved.join(" + ")
                ));
                sql
            })
            .collect()
    });
    let i = usize::from(new)
        | usize::from(old) << 1
        | usize::from(command) << 2
        | usize::from(cache) << 3;
    &all[i]
}

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
        self.read("loading a stream", |mut conn| async {
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
            .acquire()
            .await
            .map_err(|e| outside("connecting", &e))?;
        match conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await {
            Ok(_) => Ok(Box::new(PgTx {
                store: self.clone(),
                conn: Some(conn),
                appended: None,
            })),
            Err(e) => {
                conn.close_on_drop();
                Err(in_tx("beginning a transaction", &e))
            }
        }
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = signed(after)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
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
        self.read("ping", |mut conn| async move {
            let r = conn.execute("SELECT 1").await;
            (conn, r)
        })
        .await
        .map(|_| ())
    }
}

/// One command's SERIALIZABLE transaction, on its own pooled connection.
struct PgTx {
    /// Where the connection goes back.
    store: PgStore,
    /// `None` once committed (or failed at commit).
    conn: Option<PoolConnection<Postgres>>,
    /// What `append` wrote, with positions, for `commit` to return.
    appended: Option<Vec<RecordedEvent>>,
}

impl PgTx {
    fn conn(&mut self) -> Result<&mut PoolConnection<Postgres>, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Other("the transaction is over".into()))
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // Not committed: roll back before the connection serves anyone else. Drop cannot
        // wait, so a task does it (sqlx drains any reply still pending first); without a
        // runtime, closing the connection rolls back just as well.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let store = self.store.clone();
                rt.spawn(async move {
                    match conn.execute("ROLLBACK").await {
                        Ok(_) => store.give_back(conn),
                        Err(_) => conn.close_on_drop(),
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// Checks that each stream's events follow its expected version.
fn check(plan: &AppendPlan) -> Result<(), StoreError> {
    for a in &plan.streams {
        for (i, e) in (1..).zip(&a.events) {
            if e.stream != a.stream || e.version != a.expected_version + i {
                return Err(StoreError::Other(format!(
                    "bad append: {} v{} in a plan for {} at {}",
                    e.stream, e.version, a.stream, a.expected_version
                )));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl WriteTx for PgTx {
    async fn load(
        &mut self,
        reads: &[(StreamId, u64)],
    ) -> Result<Vec<Vec<RecordedEvent>>, StoreError> {
        let streams: Vec<String> = reads.iter().map(|(s, _)| s.to_string()).collect();
        let after: Vec<i64> = reads
            .iter()
            .map(|(_, v)| signed(*v))
            .collect::<Result<_, _>>()?;
        let mut rows = sqlx::query(LOAD_MANY)
            .bind(&streams)
            .bind(&after)
            .fetch(&mut **self.conn()?);
        let mut out = vec![Vec::new(); reads.len()];
        let mut d = Decoder::default();
        while let Some(r) = rows
            .try_next()
            .await
            .map_err(|e| in_tx("loading streams", &e))?
        {
            let i: i64 = r.try_get(0).map_err(corrupt)?;
            let slot = usize::try_from(i - 1)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| corrupt("load: bad ordinality"))?;
            slot.push(d.event(&r, 1)?);
        }
        // Rows come in version order per stream; sorting what is sorted costs one pass, and
        // the order then does not depend on the plan.
        for events in &mut out {
            events.sort_by_key(|e| e.version);
        }
        Ok(out)
    }

    async fn append(&mut self, plan: AppendPlan) -> Result<Appended, StoreError> {
        if self.appended.is_some() {
            return Err(StoreError::Other("one append per transaction".into()));
        }
        check(&plan)?;
        let streams: Vec<&StreamAppend> = plan
            .streams
            .iter()
            .filter(|a| !a.events.is_empty())
            .collect();
        let a = Arrays::new(&streams)?;
        let cache = CacheArrays::new(&plan.cache)?;
        let (command_id, fingerprint) = match &plan.command {
            Some(c) => (Some(c.command_id), Some(c.fingerprint.as_str())),
            None => (None, None),
        };
        let sql = append_sql(
            a.s_expected.contains(&0),
            a.s_expected.iter().any(|&e| e > 0),
            command_id.is_some(),
            !cache.streams.is_empty(),
        );
        let row = sqlx::query(sql)
            .bind(&a.stream)
            .bind(&a.version)
            .bind(&a.event_type)
            .bind(&a.schema_version)
            .bind(&a.payload)
            .bind(&a.actor)
            .bind(&a.event_id)
            .bind(&a.command_id)
            .bind(&a.correlation_id)
            .bind(&a.causation_id)
            .bind(&a.time)
            .bind(&a.s_stream)
            .bind(&a.s_kind)
            .bind(&a.s_expected)
            .bind(&a.s_version)
            .bind(&a.s_created_at)
            .bind(&a.s_first_event)
            .bind(command_id)
            .bind(fingerprint)
            .bind(&cache.streams)
            .bind(&cache.kinds)
            .bind(&cache.versions)
            .bind(&cache.formats)
            .bind(&cache.states)
            .fetch_one(&mut **self.conn()?)
            .await
            .map_err(|e| in_tx("appending", &e))?;
        let first: Option<i64> = row.try_get(0).map_err(corrupt)?;
        let moved: i64 = row.try_get(1).map_err(corrupt)?;
        if usize::try_from(moved).ok() != Some(streams.len()) {
            // An expected version no longer holds (the unique index usually says so first).
            return Err(StoreError::Conflict(
                "a stream is no longer at its expected version".into(),
            ));
        }
        let mut position = first.map_or(Ok(0), unsigned)?;
        let mut recorded = Vec::with_capacity(a.stream.len());
        for s in plan.streams {
            for mut e in s.events {
                e.position = position;
                position += 1;
                recorded.push(e);
            }
        }
        self.appended = Some(recorded);
        Ok(Appended {
            cache_written: true,
        })
    }

    async fn commit(mut self: Box<Self>) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Other("the transaction is over".into()))?;
        match conn.execute("COMMIT").await {
            Ok(_) => {
                self.store.give_back(conn);
                Ok(self.appended.take().unwrap_or_default())
            }
            Err(e) => {
                // A failed COMMIT ends the transaction; a broken connection is discarded.
                if is_lost(&e) {
                    conn.close_on_drop();
                }
                Err(at_commit(&e))
            }
        }
    }
}

/// A plan's events and streams as parallel arrays, for `UNNEST`.
#[derive(Default)]
struct Arrays {
    stream: Vec<String>,
    version: Vec<i64>,
    event_type: Vec<String>,
    schema_version: Vec<i32>,
    payload: Vec<serde_json::Value>,
    actor: Vec<String>,
    event_id: Vec<Uuid>,
    command_id: Vec<Uuid>,
    correlation_id: Vec<Uuid>,
    causation_id: Vec<Uuid>,
    time: Vec<chrono::DateTime<chrono::Utc>>,
    s_stream: Vec<String>,
    s_kind: Vec<&'static str>,
    s_expected: Vec<i64>,
    s_version: Vec<i64>,
    s_created_at: Vec<chrono::DateTime<chrono::Utc>>,
    s_first_event: Vec<i64>,
}

impl Arrays {
    fn new(streams: &[&StreamAppend]) -> Result<Self, StoreError> {
        let mut a = Self::default();
        for s in streams {
            let name = s.stream.to_string();
            a.s_stream.push(name.clone());
            a.s_kind.push(s.stream.kind().as_str());
            a.s_expected.push(signed(s.expected_version)?);
            a.s_version
                .push(signed(s.expected_version + s.events.len() as u64)?);
            a.s_created_at.push(s.events[0].time);
            a.s_first_event.push(a.stream.len() as i64 + 1);
            for e in &s.events {
                a.stream.push(name.clone());
                a.version.push(signed(e.version)?);
                a.event_type.push(e.event_type.clone());
                a.schema_version.push(
                    i32::try_from(e.schema_version)
                        .map_err(|_| StoreError::Other("schema version too large".into()))?,
                );
                a.payload.push(e.payload.clone());
                a.actor.push(e.actor.to_string());
                a.event_id.push(e.event_id);
                a.command_id.push(e.command_id);
                a.correlation_id.push(e.correlation_id);
                a.causation_id.push(e.causation_id);
                a.time.push(e.time);
            }
        }
        Ok(a)
    }
}
