//! The state cache: JSONB rows, written in the command's transaction (see the append
//! statement) or by readers that rebuilt a state, and listed against the `streams` index.

use crate::PgStore;
use crate::error::{corrupt, outside};
use crate::rows::{self, CacheArrays, unsigned};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Row};
use sqlx::{Postgres, QueryBuilder};
use std::time::{Duration, Instant};
use tally_ports::EntityKind;
use tally_ports::JobStatus;
use tally_ports::driven::{
    CacheFilter, CachedJobs, CachedMembers, CachedState, Listed, ListedMember, StateCache,
    StoreError,
};
use tally_ports::jobs::{COUNT_CAP, Cursor, JobQuery};
use tally_ports::members::{MemberCursor, MemberQuery};

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
            .views()
            .await
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

    async fn jobs(&self, q: &JobQuery, format: &str) -> Result<CachedJobs, StoreError> {
        let repair = self.jobs_to_repair(format).await?;
        let (rows, total, total_exact) = self
            .views()
            .await
            .read("listing jobs", |mut conn| async move {
                let r = list_jobs(&mut conn, q, format).await;
                (conn, r)
            })
            .await?;
        Ok(CachedJobs {
            rows: rows.iter().map(listed).collect::<Result<_, _>>()?,
            total,
            total_exact,
            repair,
        })
    }

    async fn members(&self, q: &MemberQuery, format: &str) -> Result<CachedMembers, StoreError> {
        let repair = self.to_repair(EntityKind::Member, format).await?;
        let (rows, total) = self
            .views()
            .await
            .read("listing members", |mut conn| async move {
                let r = list_members(&mut conn, q, format).await;
                (conn, r)
            })
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(ListedMember {
                    listed: listed(r)?,
                    last_event_at: r.try_get(7).map_err(corrupt)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(CachedMembers {
            rows,
            total: unsigned(total)?,
            repair,
        })
    }
}

/// How often the job lists check that every job has a fresh row of their format. Rows are
/// written in the appending transaction, so a job lacks one only after the cache was cleared
/// (`tally rebuild --cache`, `TRUNCATE`, which this process notices at once when it did it)
/// or while a build of another state format writes too (a rolling upgrade): such a job is
/// missing from the lists for at most this long after a background check finds it. The check
/// is a pass over every job's stream and cache rows (about 100 ms at 100,000 jobs), too dear
/// for every page.
pub const JOBS_RECHECK: Duration = Duration::from_secs(30);

impl PgStore {
    /// The jobs whose row of `format` is missing or stale, when a check is due; else none.
    async fn jobs_to_repair(&self, format: &str) -> Result<Vec<Listed>, StoreError> {
        self.to_repair(EntityKind::Job, format).await
    }

    /// The entities of `kind` whose row of `format` is missing or stale, when a check is due
    /// (see [`JOBS_RECHECK`], which holds for members too); else none. The first check of a
    /// format waits; later ones run in the background, and only when one finds rows to rebuild
    /// does the next list wait for a check (and rebuild them).
    async fn to_repair(&self, kind: EntityKind, format: &str) -> Result<Vec<Listed>, StoreError> {
        let known = {
            let checked = self.jobs_checked.lock().expect("not poisoned");
            checked
                .get(&kind)
                .filter(|(_, f)| f == format)
                .map(|(at, _)| at.elapsed() >= JOBS_RECHECK)
        };
        match known {
            Some(false) => return Ok(Vec::new()),
            Some(true) => {
                self.mark_checked(kind, format, Instant::now());
                let me = self.clone();
                let format = format.to_owned();
                tokio::spawn(async move {
                    match me.stale_rows(kind, &format).await {
                        Ok(rows) if rows.is_empty() => {}
                        _ => me.recheck_jobs(),
                    }
                });
                return Ok(Vec::new());
            }
            None => {}
        }
        let started = Instant::now();
        let rows = self.stale_rows(kind, format).await?;
        if rows.is_empty() {
            self.mark_checked(kind, format, started);
        }
        rows.iter().map(listed).collect()
    }

    fn mark_checked(&self, kind: EntityKind, format: &str, at: Instant) {
        self.jobs_checked
            .lock()
            .expect("not poisoned")
            .insert(kind, (at, format.to_owned()));
    }

    /// The streams of `kind` whose row of `format` is missing or stale: one pass over both
    /// tables (a hash join: this read takes no SERIALIZABLE locks, so the pools' rule against
    /// sequential scans does not apply; 100 ms at 100,000 jobs on this 2-core machine, against
    /// 350 ms through the indexes).
    async fn stale_rows(&self, kind: EntityKind, format: &str) -> Result<Vec<PgRow>, StoreError> {
        self.reads
            .read(
                "checking the rows of the state cache",
                |mut conn| async move {
                    let r = async {
                        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                        tx.execute("SET LOCAL enable_seqscan = on; SET LOCAL enable_hashjoin = on")
                            .await?;
                        let rows = sqlx::query(LIST_OPEN_JOBS_OTHER)
                            .bind(kind.as_str())
                            .bind(format)
                            .fetch_all(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok::<_, sqlx::Error>(rows)
                    }
                    .await;
                    (conn, r)
                },
            )
            .await
    }

    /// Forgets that the rows were found complete (the cache was written around).
    fn recheck_jobs(&self) {
        self.jobs_checked.lock().expect("not poisoned").clear();
    }
}

/// A query's words as PostgreSQL's full-text query: each a prefix, all of them.
trait TsQuery {
    fn tsquery(&self) -> String;
}

impl TsQuery for JobQuery {
    fn tsquery(&self) -> String {
        // Letters and digits only (see JobQuery::words): no tsquery operator gets through.
        let words: Vec<String> = self.words().iter().map(|w| format!("{w}:*")).collect();
        words.join(" & ")
    }
}

/// Statuses a job can be in once launched: listing all of them needs no status condition.
const LAUNCHED: usize = JobStatus::ALL.len() - 1;

/// The conditions of a job list on `state_cache c`, but the cursor.
fn job_conditions<'a>(
    b: &mut QueryBuilder<'a, Postgres>,
    q: &'a JobQuery,
    format: &'a str,
    with_words: bool,
) {
    b.push(" WHERE c.kind = 'job' AND c.format = ")
        .push_bind(format);
    let statuses = q.statuses();
    let mut words: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    match words.as_slice() {
        [one] => {
            b.push(" AND c.status = ").push_bind(*one);
        }
        w if w.len() >= LAUNCHED && !w.contains(&JobStatus::Draft.as_str()) => {}
        w => {
            b.push(" AND c.status = ANY(")
                .push_bind(w.to_vec())
                .push(")");
        }
    }
    if let Some(o) = &q.owner {
        b.push(" AND c.owner = ").push_bind(o.as_str());
    }
    if let Some(a) = &q.applicant {
        b.push(" AND c.applicants @> ")
            .push_bind(serde_json::json!([a]))
            .push("::jsonb");
    }
    if with_words && !q.words().is_empty() {
        b.push(" AND c.search @@ to_tsquery('simple', ")
            .push_bind(q.tsquery())
            .push(")");
    }
    if let Some(m) = q.min_reward {
        b.push(" AND c.reward >= ")
            .push_bind(i64::try_from(m).unwrap_or(i64::MAX));
    }
    if let Some(m) = q.max_reward {
        b.push(" AND c.reward <= ")
            .push_bind(i64::try_from(m).unwrap_or(i64::MAX));
    }
}

/// How many rows of the id order a search first walks, testing each job's words, before it
/// asks the words' GIN index instead: a common word fills a page within a few hundred jobs,
/// and a rare one is found faster through its index (whose cost grows with its matches).
const SEARCH_WALK: i64 = 500;

/// The page's rows, newest first (`descending`) or oldest first, in id order.
fn page_query<'a>(
    q: &'a JobQuery,
    format: &'a str,
    search: Search,
    descending: bool,
) -> QueryBuilder<'a, Postgres> {
    let dir = if descending { "DESC" } else { "ASC" };
    let mut b = QueryBuilder::new(
        "SELECT s.stream, s.version, s.created_at, s.created_position, c.version, c.format, \
         c.state FROM (",
    );
    b.push(match search {
        // The jobs in id order; with the walk, only the first SEARCH_WALK of them are tested.
        Search::None | Search::Walk => "SELECT c.stream FROM state_cache c",
        // The search's matches, through the GIN index (a bitmap scan), materialised.
        Search::Index => "WITH m AS MATERIALIZED (SELECT c.stream, c.job_order FROM state_cache c",
    });
    job_conditions(&mut b, q, format, search != Search::Walk);
    let key = match search {
        Search::Index => "m.job_order",
        _ => "c.job_order",
    };
    if search == Search::Index {
        b.push(") SELECT m.stream FROM m WHERE true");
    }
    match &q.cursor {
        Cursor::First => {}
        Cursor::Before(id) => {
            b.push(format!(" AND {key} < "))
                .push_bind(format!("job:{id}"));
        }
        Cursor::After(id) => {
            b.push(format!(" AND {key} > "))
                .push_bind(format!("job:{id}"));
        }
    }
    let inner_limit = match search {
        Search::Walk => SEARCH_WALK,
        _ => i64::try_from(q.limit + 1).unwrap_or(i64::MAX),
    };
    b.push(format!(" ORDER BY {key} {dir} LIMIT "))
        .push_bind(inner_limit);
    // The page's jobs with their rows and stream rows (fresh ones only), looked up by key.
    b.push(
        ") p JOIN state_cache c ON c.stream = p.stream \
         JOIN streams s ON s.stream = c.stream AND s.version = c.version",
    );
    if search == Search::Walk {
        b.push(" WHERE c.search @@ to_tsquery('simple', ")
            .push_bind(q.tsquery())
            .push(")");
    }
    b.push(format!(" ORDER BY c.job_order {dir} LIMIT "))
        .push_bind(i64::try_from(q.limit + 1).unwrap_or(i64::MAX));
    b
}

/// How a list's search finds its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// No search.
    None,
    /// The first jobs in id order, each tested.
    Walk,
    /// The words' GIN index.
    Index,
}

/// A page of jobs (up to one more than the limit) and the count of all matches (exact up to
/// [`COUNT_CAP`]; beyond, the planner's estimate), in one read-only snapshot.
async fn list_jobs(
    conn: &mut crate::conns::Conn,
    q: &JobQuery,
    format: &str,
) -> Result<(Vec<PgRow>, u64, bool), sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    // Read-only, so SERIALIZABLE's reasons for these settings (see `PgStore::connect_with`)
    // do not apply: a search's GIN index is read by a bitmap scan, and a custom plan suits
    // each query's filters. A page's few rows are looked up by key: a merge or hash join
    // would read the whole stream index to find them.
    tx.execute(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
         SET LOCAL enable_bitmapscan = on; SET LOCAL plan_cache_mode = force_custom_plan;
         SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off",
    )
    .await?;
    let descending = !matches!(q.cursor, Cursor::After(_));
    let searched = !q.words().is_empty();
    let mut rows = Vec::new();
    if searched {
        rows = page_query(q, format, Search::Walk, descending)
            .build()
            .fetch_all(&mut *tx)
            .await?;
    }
    if rows.len() <= q.limit {
        let how = if searched {
            Search::Index
        } else {
            Search::None
        };
        rows = page_query(q, format, how, descending)
            .build()
            .fetch_all(&mut *tx)
            .await?;
    }
    if searched {
        // Counted through the words' GIN index (its bitmap first, then at most the cap's rows),
        // never by walking the id order: for a rare word that would be most of the board.
        tx.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off")
            .await?;
    }
    let mut b = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM state_cache c");
    job_conditions(&mut b, q, format, true);
    b.push(" LIMIT ")
        .push_bind(i64::try_from(COUNT_CAP + 1).unwrap_or(i64::MAX))
        .push(") t");
    let counted: i64 = b.build_query_scalar().fetch_one(&mut *tx).await?;
    let counted = u64::try_from(counted).unwrap_or_default();
    if counted <= COUNT_CAP {
        tx.commit().await?;
        return Ok((rows, counted, true));
    }
    // More than the cap: the planner's estimate of the whole (the statistics of the status,
    // reward and word columns), at least the cap + 1.
    let mut b = QueryBuilder::new("EXPLAIN (FORMAT JSON) SELECT 1 FROM state_cache c");
    job_conditions(&mut b, q, format, true);
    let plan: serde_json::Value = b.build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    let estimate = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0);
    Ok((rows, (estimate.round() as u64).max(COUNT_CAP + 1), false))
}

/// A page of members (up to one more than the limit), each with the time of its latest
/// event, and the count of all matches (up to [`COUNT_CAP`] + 1), in one read-only snapshot.
async fn list_members(
    conn: &mut crate::conns::Conn,
    q: &MemberQuery,
    format: &str,
) -> Result<(Vec<PgRow>, i64), sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    // As for the job lists: a search is a bitmap scan of its trigram index, whose best plan
    // depends on the text searched.
    tx.execute(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
         SET LOCAL enable_bitmapscan = on; SET LOCAL plan_cache_mode = force_custom_plan",
    )
    .await?;
    let needle = q.needle().map(|n| format!("%{}%", like_escaped(&n)));
    let conditions = |b: &mut QueryBuilder<'_, Postgres>| {
        b.push(" WHERE c.kind = 'member' AND c.format = ")
            .push_bind(format.to_owned());
        if let Some(n) = &needle {
            b.push(" AND c.member_search LIKE ").push_bind(n.clone());
        }
    };
    // The page first (through the handle index, or the search's), then the time of each of
    // its members' latest event (an index probe per row of the page).
    let mut b = QueryBuilder::new(
        "SELECT p.*, e.time FROM (SELECT s.stream, s.version, s.created_at, \
         s.created_position, c.version AS cached_version, c.format, c.state FROM state_cache c \
         JOIN streams s ON s.stream = c.stream AND s.version = c.version",
    );
    conditions(&mut b);
    let (cursor, order) = match &q.cursor {
        MemberCursor::First => (None, "ASC"),
        MemberCursor::After(h) => (Some((" AND c.stream > ", h)), "ASC"),
        MemberCursor::Before(h) => (Some((" AND c.stream < ", h)), "DESC"),
    };
    if let Some((op, h)) = cursor {
        b.push(op).push_bind(format!("member:{h}"));
    }
    b.push(format!(" ORDER BY c.stream {order} LIMIT "))
        .push_bind(i64::try_from(q.limit + 1).unwrap_or(i64::MAX))
        .push(format!(
            ") p JOIN events e ON e.stream = p.stream AND e.version = p.version \
             ORDER BY p.stream {order}"
        ));
    let rows = b.build().fetch_all(&mut *tx).await?;
    let mut b = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM state_cache c");
    conditions(&mut b);
    b.push(" LIMIT ")
        .push_bind(i64::try_from(COUNT_CAP + 1).unwrap_or(i64::MAX))
        .push(") t");
    let total: i64 = b.build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok((rows, total))
}

/// `s` with LIKE's wildcards and escape character taken literally.
fn like_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
        self.recheck_jobs();
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
        self.recheck_jobs();
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
