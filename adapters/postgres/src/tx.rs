//! One command's write transaction.

use crate::conns::{Conn, Conns};
use crate::error::{at_commit, corrupt, in_tx, is_duplicate, is_lost, outside};
use crate::named::{Args, Named};
use crate::rows::{CacheArrays, Decoder, fold_event, signed, unsigned};
use crate::sql::{APPEND_MANY, APPEND_ONE, LOAD_MANY, LOAD_MANY_FOLDING};
use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::postgres::PgArguments;
use sqlx::postgres::PgRow;
use sqlx::{Executor, Postgres, Row};
use std::sync::Arc;
use std::sync::OnceLock;
use tally_ports::driven::{AppendPlan, FoldMany, StoreError, StreamAppend, WriteTx};
use tally_ports::{RecordedEvent, StreamId};
use uuid::Uuid;

/// One command's SERIALIZABLE transaction, on its own pooled connection.
pub(crate) struct PgTx {
    /// Where the connection goes back.
    store: Arc<Conns>,
    /// `None` once committed (or failed at commit).
    conn: Option<Conn>,
    /// What `append` wrote, with positions, for `commit` to return.
    appended: Option<Vec<RecordedEvent>>,
}

impl PgTx {
    /// A transaction on `conn`, where `BEGIN` was just sent.
    pub(crate) fn new(store: Arc<Conns>, conn: Conn) -> Self {
        Self {
            store,
            conn: Some(conn),
            appended: None,
        }
    }

    /// A statement of the transaction failed: see [`in_tx`]; a broken connection is
    /// discarded, with the kept ones.
    fn failed(&mut self, what: &str, e: &sqlx::Error) -> StoreError {
        if is_lost(e)
            && let Some(conn) = self.conn.as_mut()
        {
            self.store.connection_lost(conn);
        }
        in_tx(what, e)
    }

    /// Runs a load of several streams (`sql`: the request's ordinality, then the columns
    /// `each` reads from column 1 on), handing each row to `each` with its request's index.
    async fn load_with(
        &mut self,
        sql: &'static str,
        reads: &[(StreamId, u64)],
        mut each: impl FnMut(usize, &PgRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let streams: Vec<String> = reads.iter().map(|(s, _)| s.to_string()).collect();
        let after: Vec<i64> = reads
            .iter()
            .map(|(_, v)| signed(*v))
            .collect::<Result<_, _>>()?;
        let mut rows = sqlx::query(sql)
            .bind(&streams)
            .bind(&after)
            .fetch(&mut **self.conn()?);
        loop {
            let r = match rows.try_next().await {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(e) => {
                    drop(rows);
                    return Err(self.failed("loading streams", &e));
                }
            };
            let i: i64 = r.try_get(0).map_err(corrupt)?;
            let i = usize::try_from(i - 1)
                .ok()
                .filter(|i| *i < reads.len())
                .ok_or_else(|| corrupt("load: bad ordinality"))?;
            each(i, &r)?;
        }
    }

    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
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

/// What forgetting `members` deletes, in the command's transaction (but the cache rows of
/// `$2`, the plan's own): their data keys, their
/// member accounts (sessions and tokens go with them: ON DELETE CASCADE), their webhook
/// endpoints and the deliveries of their notifications, their notifications, and every
/// state-cache row whose state names them (their wallet; the jobs they launched or applied
/// to). Naming them is found on the state's JSON text, `"<handle>"` as a value or a key: a
/// scan, as rare as forgetting; `_` in a handle matches any character in LIKE, which may
/// drop a few more cache rows than needed, and the cache loses nothing by that.
const ERASE: &str = "
WITH keys AS (DELETE FROM member_keys WHERE subject = ANY($1)),
     accounts AS (DELETE FROM accounts WHERE name = ANY($1) AND role = 'member'),
     messages AS (DELETE FROM notifications WHERE recipient = ANY($1) RETURNING id),
     endpoints AS (DELETE FROM webhook_endpoints WHERE owner = ANY($1) RETURNING id),
     deliveries AS (
         DELETE FROM webhook_deliveries
         WHERE message IN (SELECT id FROM messages) OR endpoint IN (SELECT id FROM endpoints))
DELETE FROM state_cache
WHERE NOT stream = ANY($2)
  AND (stream = ANY(SELECT 'member:' || m FROM unnest($1::text[]) AS m)
   OR EXISTS (SELECT 1 FROM unnest($1::text[]) AS m WHERE state::text LIKE '%\"' || m || '\"%'))";

async fn erase(conn: &mut Conn, members: &[String], kept: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(ERASE)
        .bind(members)
        .bind(kept)
        .execute(&mut **conn)
        .await?;
    Ok(())
}

/// Checks every payload against its published contract, and that each stream's events
/// follow its expected version.
pub(crate) fn check(plan: &AppendPlan) -> Result<(), StoreError> {
    tally_ports::contracts::check_plan(plan)?;
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
        let mut out = vec![Vec::new(); reads.len()];
        let mut d = Decoder::default();
        self.load_with(LOAD_MANY, reads, |i, r| {
            out[i].push(d.event(r, 1)?);
            Ok(())
        })
        .await?;
        // Rows come in version order per stream; sorting what is sorted costs one pass, and
        // the order then does not depend on the plan.
        for events in &mut out {
            events.sort_by_key(|e| e.version);
        }
        Ok(out)
    }

    async fn fold_events(
        &mut self,
        reads: &[(StreamId, u64)],
        fold: &mut FoldMany<'_>,
    ) -> Result<(), StoreError> {
        // Folded as the rows arrive, each stream's in version order (the lateral subquery's
        // ORDER BY).
        self.load_with(LOAD_MANY_FOLDING, reads, |i, r| {
            fold(i, fold_event(r, 1)?).map_err(corrupt)
        })
        .await
    }

    async fn append(&mut self, plan: AppendPlan) -> Result<(), StoreError> {
        if self.appended.is_some() {
            return Err(StoreError::Other("one append per transaction".into()));
        }
        let bound = Bound::new(&plan, None)?;
        // A stream no longer at its expected version fails the statement (40001): a conflict.
        let row = bound.query()?.fetch_one(&mut **self.conn()?).await;
        let row = match row {
            Ok(row) => row,
            Err(e) if is_duplicate(&e) => return Err(duplicate(&plan)),
            Err(e) => return Err(self.failed("appending", &e)),
        };
        let first: Option<i64> = row.try_get(0).map_err(corrupt)?;
        if !plan.erase.is_empty() {
            // After the append (which must be the transaction's first write); the plan's
            // own cache rows are kept (the forgotten wallet holds nothing personal).
            let kept: Vec<String> = plan.cache.iter().map(|c| c.stream.to_string()).collect();
            let erased = erase(self.conn()?, &plan.erase, &kept).await;
            if let Err(e) = erased {
                return Err(self.failed("forgetting a member", &e));
            }
        }
        self.appended = Some(positioned(plan, first)?);
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Other("the transaction is over".into()))?;
        match conn.execute("COMMIT").await {
            Ok(_) => {
                self.store.give_back(conn);
                let appended = self.appended.take().unwrap_or_default();
                if !appended.is_empty() {
                    self.store.events_committed();
                }
                Ok(appended)
            }
            Err(e) => {
                // A failed COMMIT ends the transaction; a broken connection is discarded.
                if is_lost(&e) {
                    self.store.connection_lost(&mut conn);
                }
                Err(at_commit(&e))
            }
        }
    }
}

/// The single-statement transaction of
/// [`EventStore::append_if_current`](tally_ports::driven::EventStore::append_if_current),
/// on a connection of the commands' pool (SERIALIZABLE by default): the guarded append
/// statement. It commits as it returns, so a connection lost meanwhile leaves the outcome
/// unknown, as at `COMMIT`.
pub(crate) async fn append_if_current(
    conns: &Conns,
    reads: &[(StreamId, u64)],
    plan: AppendPlan,
) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
    let bound = Bound::new(&plan, Some(reads))?;
    let mut conn = conns
        .acquire()
        .await
        .map_err(|e| outside("connecting", &e))?;
    let row = bound.query()?.fetch_one(&mut *conn).await;
    let row = match row {
        Ok(row) => row,
        Err(e) => {
            if is_lost(&e) {
                conns.connection_lost(&mut conn);
            } else {
                conns.give_back(conn);
            }
            if is_duplicate(&e) {
                return Err(duplicate(&plan));
            }
            return Err(at_commit(&e));
        }
    };
    conns.give_back(conn);
    let first: Option<i64> = row.try_get(0).map_err(corrupt)?;
    let wrote: i64 = row.try_get(1).map_err(corrupt)?;
    if wrote == 0 {
        return Ok(None);
    }
    conns.events_committed();
    Ok(Some(positioned(plan, first)?))
}

fn duplicate(plan: &AppendPlan) -> StoreError {
    match &plan.command {
        Some(c) => StoreError::Duplicate(c.command_id),
        None => StoreError::Conflict("a command id was recorded meanwhile".into()),
    }
}

/// The plan's events, with the positions drawn from `first` on.
pub(crate) fn positioned(
    plan: AppendPlan,
    first: Option<i64>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut position = first.map_or(Ok(0), unsigned)?;
    let mut recorded = Vec::new();
    for s in plan.streams {
        for mut e in s.events {
            e.position = position;
            position += 1;
            recorded.push(e);
        }
    }
    Ok(recorded)
}

/// The append statements, with their named parameters turned into positions once.
fn statements() -> &'static (Named, Named) {
    static S: OnceLock<(Named, Named)> = OnceLock::new();
    S.get_or_init(|| (Named::new(APPEND_ONE), Named::new(APPEND_MANY)))
}

/// A plan, as the append statement's parameters.
struct Bound<'p> {
    plan: &'p AppendPlan,
    shape: Shape<'p>,
    /// The streams the decision read and their versions, for the guarded statement.
    guard: Option<(Vec<String>, Vec<i64>)>,
    outbox: OutboxArrays,
}

/// A plan's outbox as parallel arrays, for `UNNEST` (in both statements: most commands tell
/// someone something).
#[derive(Default)]
pub(crate) struct OutboxArrays {
    pub(crate) id: Vec<Uuid>,
    pub(crate) recipient: Vec<String>,
    pub(crate) kind: Vec<&'static str>,
    pub(crate) body: Vec<serde_json::Value>,
    pub(crate) command_id: Vec<Uuid>,
    pub(crate) time: Vec<chrono::DateTime<chrono::Utc>>,
}

impl<'q> Args<'q> {
    /// The outbox's parameters (the same in both statements).
    pub(crate) fn with_outbox(self, o: &'q OutboxArrays) -> Self {
        self.set("n_id", &o.id)
            .set("n_recipient", &o.recipient)
            .set("n_kind", &o.kind)
            .set("n_body", &o.body)
            .set("n_command_id", &o.command_id)
            .set("n_time", &o.time)
    }
}

impl<'q> Args<'q> {
    /// The events' and streams' parameters (`e_*`, `s_*`: the same in the statements that
    /// take arrays).
    pub(crate) fn with_events(self, a: &'q Arrays) -> Self {
        self.set("e_stream", &a.stream)
            .set("e_version", &a.version)
            .set("e_type", &a.event_type)
            .set("e_schema", &a.schema_version)
            .set("e_payload", &a.payload)
            .set("e_actor", &a.actor)
            .set("e_event_id", &a.event_id)
            .set("e_command_id", &a.command_id)
            .set("e_correlation_id", &a.correlation_id)
            .set("e_causation_id", &a.causation_id)
            .set("e_time", &a.time)
            .set("s_stream", &a.s_stream)
            .set("s_kind", &a.s_kind)
            .set("s_expected", &a.s_expected)
            .set("s_version", &a.s_version)
            .set("s_created_at", &a.s_created_at)
            .set("s_first", &a.s_first_event)
    }
}

impl OutboxArrays {
    pub(crate) fn new(outbox: &[tally_ports::inbox::OutboxMessage]) -> Result<Self, StoreError> {
        let mut a = Self::default();
        for m in outbox {
            a.id.push(m.id);
            a.recipient.push(m.notification.recipient.to_string());
            a.kind.push(m.notification.kind.as_str());
            a.body.push(
                serde_json::to_value(&m.notification)
                    .map_err(|e| StoreError::Other(format!("encoding a notification: {e}")))?,
            );
            a.command_id.push(m.command_id);
            a.time.push(m.time);
        }
        Ok(a)
    }
}

enum Shape<'p> {
    /// One event on one stream, guarded (if at all) by that stream alone: scalar parameters.
    One(One<'p>),
    /// Anything else: arrays, for `UNNEST`.
    Many { a: Box<Arrays>, cache: CacheArrays },
}

struct One<'p> {
    stream: String,
    kind: &'static str,
    event: &'p RecordedEvent,
    version: i64,
    expected: i64,
    schema_version: i32,
    /// Format, state and version of the stream's cache row.
    cache: Option<(&'p str, &'p serde_json::Value, i64)>,
}

impl<'p> One<'p> {
    /// The plan's shape if it is one event on one stream, guarded by that stream only.
    fn of(
        plan: &'p AppendPlan,
        guard: Option<&[(StreamId, u64)]>,
    ) -> Option<Result<Self, StoreError>> {
        let [s] = plan.streams.as_slice() else {
            return None;
        };
        let [event] = s.events.as_slice() else {
            return None;
        };
        if guard.is_some_and(|g| g != [(s.stream.clone(), s.expected_version)]) {
            return None;
        }
        let cache = match plan.cache.as_slice() {
            [] => None,
            [c] if c.stream == s.stream => Some(c),
            _ => return None,
        };
        Some((|| {
            Ok(Self {
                stream: s.stream.to_string(),
                kind: s.stream.kind().as_str(),
                event,
                version: signed(event.version)?,
                expected: signed(s.expected_version)?,
                schema_version: schema_version(event)?,
                cache: match cache {
                    Some(c) => Some((c.format.as_str(), &c.state, signed(c.version)?)),
                    None => None,
                },
            })
        })())
    }
}

fn schema_version(e: &RecordedEvent) -> Result<i32, StoreError> {
    i32::try_from(e.schema_version)
        .map_err(|_| StoreError::Other("schema version too large".into()))
}

impl<'p> Bound<'p> {
    fn new(plan: &'p AppendPlan, guard: Option<&[(StreamId, u64)]>) -> Result<Self, StoreError> {
        check(plan)?;
        let streams: Vec<&StreamAppend> = plan
            .streams
            .iter()
            .filter(|a| !a.events.is_empty())
            .collect();
        let shape = match One::of(plan, guard) {
            Some(one) => Shape::One(one?),
            None => Shape::Many {
                a: Box::new(Arrays::new(&streams)?),
                cache: CacheArrays::new(&plan.cache)?,
            },
        };
        let guard = match guard {
            Some(reads) => Some((
                reads.iter().map(|(s, _)| s.to_string()).collect(),
                reads
                    .iter()
                    .map(|(_, v)| signed(*v))
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        };
        let outbox = OutboxArrays::new(&plan.outbox)?;
        Ok(Self {
            plan,
            shape,
            guard,
            outbox,
        })
    }

    /// The append statement, bound.
    fn query(&self) -> Result<sqlx::query::Query<'_, Postgres, PgArguments>, StoreError> {
        let (one, many) = statements();
        let command = self.plan.command.as_ref();
        let record_id = command.map(|c| c.command_id);
        let fingerprint = command.map(|c| c.fingerprint.as_str());
        match &self.shape {
            Shape::One(o) => {
                let e = o.event;
                one.query(
                    Args::default()
                        .set("guarded", self.guard.is_some())
                        .set("stream", o.stream.as_str())
                        .set("kind", o.kind)
                        .set("version", o.version)
                        .set("expected", o.expected)
                        .set("event_type", e.event_type.as_str())
                        .set("schema_version", o.schema_version)
                        .set("payload", &e.payload)
                        .set("actor", e.actor.to_string())
                        .set("event_id", e.event_id)
                        .set("command_id", e.command_id)
                        .set("correlation_id", e.correlation_id)
                        .set("causation_id", e.causation_id)
                        .set("time", e.time)
                        .set("record_id", record_id)
                        .set("fingerprint", fingerprint)
                        .set("cache_format", o.cache.map(|c| c.0))
                        .set("cache_state", o.cache.map(|c| c.1))
                        .set("cache_version", o.cache.map(|c| c.2))
                        .with_outbox(&self.outbox),
                )
            }
            Shape::Many { a, cache } => {
                let (r_stream, r_version) = match &self.guard {
                    Some((s, v)) => (s.as_slice(), v.as_slice()),
                    None => (&[][..], &[][..]),
                };
                many.query(
                    Args::default()
                        .set("guarded", self.guard.is_some())
                        .set("r_stream", r_stream)
                        .set("r_version", r_version)
                        .with_events(a)
                        .set("record_id", record_id)
                        .set("fingerprint", fingerprint)
                        .set("c_stream", &cache.streams)
                        .set("c_kind", &cache.kinds)
                        .set("c_version", &cache.versions)
                        .set("c_format", &cache.formats)
                        .set("c_state", &cache.states)
                        .with_outbox(&self.outbox),
                )
            }
        }
    }
}

/// A plan's events and streams as parallel arrays, for `UNNEST`.
#[derive(Default)]
pub(crate) struct Arrays {
    pub(crate) stream: Vec<String>,
    pub(crate) version: Vec<i64>,
    pub(crate) event_type: Vec<String>,
    pub(crate) schema_version: Vec<i32>,
    pub(crate) payload: Vec<serde_json::Value>,
    pub(crate) actor: Vec<String>,
    pub(crate) event_id: Vec<Uuid>,
    pub(crate) command_id: Vec<Uuid>,
    pub(crate) correlation_id: Vec<Uuid>,
    pub(crate) causation_id: Vec<Uuid>,
    pub(crate) time: Vec<chrono::DateTime<chrono::Utc>>,
    pub(crate) s_stream: Vec<String>,
    pub(crate) s_kind: Vec<&'static str>,
    pub(crate) s_expected: Vec<i64>,
    pub(crate) s_version: Vec<i64>,
    pub(crate) s_created_at: Vec<chrono::DateTime<chrono::Utc>>,
    pub(crate) s_first_event: Vec<i64>,
}

impl Arrays {
    pub(crate) fn new(streams: &[&StreamAppend]) -> Result<Self, StoreError> {
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
                a.schema_version.push(schema_version(e)?);
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
