//! The state cache: JSONB rows, written in the command's transaction (see the append
//! statement) or by readers that rebuilt a state, and listed against the `streams` index.

use crate::PgStore;
use crate::error::{corrupt, outside};
use crate::rows::{self, CacheArrays, unsigned};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Row};
use tally_ports::EntityKind;
use tally_ports::driven::{CacheFilter, CachedState, Listed, StateCache, StoreError};

const GET: &str =
    "SELECT stream, version, format, state FROM state_cache WHERE stream = ANY($1::text[])";

/// Also the append statement's rule: only a newer version, or another format, replaces a row.
const PUT: &str = "
INSERT INTO state_cache AS c (stream, kind, version, format, state)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[])
ON CONFLICT (stream) DO UPDATE
    SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
    WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version";

/// [`PUT`], replacing rows of the same version too (never a newer one).
const REWRITE: &str = "
INSERT INTO state_cache AS c (stream, kind, version, format, state)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[])
ON CONFLICT (stream) DO UPDATE
    SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
    WHERE c.format <> EXCLUDED.format OR c.version <= EXCLUDED.version";

/// Every stream of a kind, with its cache row of the requested format if any.
const LIST_ALL: &str = "
SELECT s.stream, s.version, s.created_at, s.created_position, c.version, c.format, c.state
FROM streams s
LEFT JOIN state_cache c ON c.stream = s.stream AND c.format = $2
WHERE s.kind = $1";

/// Open jobs whose row is fresh, by the status index; plus every job whose row of this
/// format is missing or stale, by joining the stream index (a job's row that says "open"
/// may be stale, and a row that says anything else may be stale too).
const LIST_OPEN_JOBS: &str = "
SELECT s.stream, s.version, s.created_at, s.created_position, c.version, c.format, c.state
FROM state_cache c
JOIN streams s ON s.stream = c.stream AND s.version = c.version
WHERE c.kind = 'job' AND c.status = 'open' AND c.format = $2
UNION ALL
SELECT s.stream, s.version, s.created_at, s.created_position, c.version, c.format, c.state
FROM streams s
LEFT JOIN state_cache c ON c.stream = s.stream AND c.format = $2
WHERE s.kind = $1 AND (c.stream IS NULL OR c.version <> s.version)";

fn listed(row: &PgRow) -> Result<Listed, StoreError> {
    let stream = rows::stream(row.try_get(0).map_err(corrupt)?)?;
    let cached = match row.try_get::<Option<i64>, _>(4).map_err(corrupt)? {
        Some(version) => Some(CachedState {
            stream: stream.clone(),
            version: unsigned(version)?,
            format: row.try_get(5).map_err(corrupt)?,
            state: row.try_get(6).map_err(corrupt)?,
        }),
        None => None,
    };
    Ok(Listed {
        stream,
        version: unsigned(row.try_get(1).map_err(corrupt)?)?,
        created_at: row.try_get(2).map_err(corrupt)?,
        created_position: unsigned(row.try_get(3).map_err(corrupt)?)?,
        cached,
    })
}

#[async_trait]
impl StateCache for PgStore {
    async fn get(&self, streams: &[tally_ports::StreamId]) -> Result<Vec<CachedState>, StoreError> {
        let names: Vec<String> = streams.iter().map(ToString::to_string).collect();
        let rows = self
            .reads
            .read("reading the state cache", |mut conn| async {
                let r = sqlx::query(GET).bind(&names).fetch_all(&mut *conn).await;
                (conn, r)
            })
            .await?;
        rows.iter().map(|r| rows::cached(r, 0)).collect()
    }

    async fn put(&self, states: &[CachedState]) -> Result<(), StoreError> {
        self.write_rows(PUT, states).await
    }

    async fn rewrite(&self, states: &[CachedState]) -> Result<(), StoreError> {
        self.write_rows(REWRITE, states).await
    }

    async fn list(
        &self,
        kind: EntityKind,
        filter: CacheFilter,
        format: &str,
    ) -> Result<Vec<Listed>, StoreError> {
        let sql = match (kind, filter) {
            (EntityKind::Job, CacheFilter::OpenJobs) => LIST_OPEN_JOBS,
            // Only jobs have a status: for other kinds the filter selects nothing beyond the
            // rows to rebuild.
            (_, CacheFilter::OpenJobs) => LIST_OPEN_JOBS_OTHER,
            (_, CacheFilter::All) => LIST_ALL,
        };
        let rows = self
            .reads
            .read("listing the state cache", |mut conn| async move {
                let r = sqlx::query(sql)
                    .bind(kind.as_str())
                    .bind(format)
                    .fetch_all(&mut *conn)
                    .await;
                (conn, r)
            })
            .await?;
        rows.iter().map(listed).collect()
    }
}

/// `OpenJobs` over a kind that is not a job: only the rows to rebuild.
const LIST_OPEN_JOBS_OTHER: &str = "
SELECT s.stream, s.version, s.created_at, s.created_position, c.version, c.format, c.state
FROM streams s
LEFT JOIN state_cache c ON c.stream = s.stream AND c.format = $2
WHERE s.kind = $1 AND (c.stream IS NULL OR c.version <> s.version)";

impl PgStore {
    /// Empties the state cache (`TRUNCATE`): nothing is lost, states are rebuilt from the
    /// events as they are read.
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    pub async fn clear_cache(&self) -> Result<(), StoreError> {
        self.pool()
            .execute("TRUNCATE state_cache")
            .await
            .map_err(|e| outside("truncating the state cache", &e))?;
        Ok(())
    }

    /// Writes a cache row as is, bypassing the newer-version rule (to test stale, foreign
    /// and garbage rows).
    ///
    /// # Errors
    /// [`StoreError::Other`] when storage fails.
    pub async fn force_cache_row(&self, row: &CachedState) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO state_cache (stream, kind, version, format, state)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (stream) DO UPDATE
                 SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state",
        )
        .bind(row.stream.to_string())
        .bind(row.stream.kind().as_str())
        .bind(rows::signed(row.version)?)
        .bind(&row.format)
        .bind(&row.state)
        .execute(self.pool())
        .await
        .map_err(|e| outside("writing a cache row", &e))?;
        Ok(())
    }
}

impl PgStore {
    /// Writes cache rows with `sql` ([`PUT`] or [`REWRITE`]).
    async fn write_rows(
        &self,
        sql: &'static str,
        states: &[CachedState],
    ) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }

        let a = CacheArrays::new(states)?;
        // Not retried: a cache write that fails is only a cache write that did not happen.
        let mut conn = self
            .reads
            .acquire()
            .await
            .map_err(|e| outside("writing the state cache", &e))?;
        let written = sqlx::query(sql)
            .bind(&a.streams)
            .bind(&a.kinds)
            .bind(&a.versions)
            .bind(&a.formats)
            .bind(&a.states)
            .execute(&mut *conn)
            .await;
        match written {
            Ok(_) => {
                self.reads.give_back(conn);
                Ok(())
            }
            Err(e) => Err(outside("writing the state cache", &e)),
        }
    }
}
