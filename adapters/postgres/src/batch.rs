//! Group commit on PostgreSQL: a batch of commands' guarded appends in ONE statement (one
//! transaction, one WAL flush), each command with its own guard and its own outcome
//! ([`EventStore::append_batch`](tally_ports::driven::EventStore::append_batch)).

use crate::conns::Conns;
use crate::error::{at_commit, corrupt, is_duplicate, is_lost, outside};
use crate::named::{Args, Named};
use crate::rows::{CacheArrays, signed};
use crate::tx::{Arrays, OutboxArrays, check, positioned};
use sqlx::Row;
use std::sync::OnceLock;
use tally_ports::RecordedEvent;
use tally_ports::driven::{BatchEntry, StoreError, StreamAppend};
use uuid::Uuid;

/// The batch statement. One row per command (`x`), read guard (`r`), event (`e`), stream
/// written (`s`), notification (`n`) and cache row (`c`), each naming its command (`entry`,
/// from 1, in the batch's order). A command is current when none of its reads moved and its
/// id is not recorded yet; it lands when it and every earlier command of its group are
/// (a running `bool_and`). The landing commands' events take consecutive positions, drawn
/// once (the statement's first write, as `tally_reserve_positions` requires), in the batch's
/// order. A stream written by several commands of a group advances once, from the first
/// one's expected version to the last one's version, and must be contiguous; any stream not
/// where expected fails the statement (40001), which then wrote nothing.
const APPEND_BATCH: &str = "
WITH x AS (
    SELECT * FROM unnest(:x_entry::int4[], :x_group::int4[], :x_events::int4[],
                         :x_record_id::uuid[], :x_fingerprint::text[])
        AS x(entry, grp, events, record_id, fingerprint)
),
dup AS (
    SELECT x.entry FROM x JOIN commands c ON c.command_id = x.record_id WHERE :check_dups
),
stale AS (
    SELECT DISTINCT r.entry
    FROM unnest(:r_entry::int4[], :r_stream::text[], :r_version::bigint[])
        AS r(entry, stream, version)
    WHERE NOT CASE WHEN r.version = 0
                   THEN NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = r.stream)
                   ELSE EXISTS (SELECT 1 FROM streams s
                                WHERE s.stream = r.stream AND s.version = r.version)
              END
),
landing AS MATERIALIZED (
    SELECT x.*, bool_and(x.entry NOT IN (SELECT entry FROM dup)
                         AND x.entry NOT IN (SELECT entry FROM stale))
                    OVER (PARTITION BY x.grp ORDER BY x.entry) AS lands
    FROM x
),
offsets AS MATERIALIZED (
    SELECT l.entry, l.events, l.record_id, l.fingerprint,
           coalesce(sum(l.events) OVER (ORDER BY l.entry ROWS BETWEEN UNBOUNDED PRECEDING
                                                           AND 1 PRECEDING), 0) AS off
    FROM landing l WHERE l.lands
),
pos AS (
    SELECT tally_reserve_positions(t.n::int4) AS first
    FROM (SELECT sum(events) AS n FROM offsets) t WHERE t.n > 0
),
appended AS (
    INSERT INTO events (position, stream, version, event_type, schema_version, payload, actor,
                        event_id, command_id, correlation_id, causation_id, time)
    SELECT pos.first + o.off + e.i - 1, e.stream, e.version, e.event_type, e.schema_version,
           e.payload, e.actor, e.event_id, e.command_id, e.correlation_id, e.causation_id,
           e.time
    FROM pos, unnest(:e_entry::int4[], :e_i::int4[], :e_stream::text[], :e_version::bigint[],
                     :e_type::text[], :e_schema::int4[], :e_payload::jsonb[], :e_actor::text[],
                     :e_event_id::uuid[], :e_command_id::uuid[], :e_correlation_id::uuid[],
                     :e_causation_id::uuid[], :e_time::timestamptz[])
         AS e(entry, i, stream, version, event_type, schema_version, payload, actor,
              event_id, command_id, correlation_id, causation_id, time)
         JOIN offsets o ON o.entry = e.entry
    RETURNING 1
),
moved AS MATERIALIZED (
    SELECT s.stream, min(s.kind) AS kind, min(s.expected) AS expected,
           max(s.version) AS version, sum(s.version - s.expected) AS span,
           min(s.created_at) AS created_at,
           min(pos.first + o.off + s.first_event - 1) AS created_position
    FROM pos, unnest(:s_entry::int4[], :s_stream::text[], :s_kind::text[],
                     :s_expected::bigint[], :s_version::bigint[],
                     :s_created_at::timestamptz[], :s_first::bigint[])
         AS s(entry, stream, kind, expected, version, created_at, first_event)
         JOIN offsets o ON o.entry = s.entry
    GROUP BY s.stream
),
created AS (
    INSERT INTO streams (stream, kind, version, created_at, created_position)
    SELECT m.stream, m.kind, m.version, m.created_at, m.created_position
    FROM moved m WHERE m.expected = 0
    RETURNING 1
),
advanced AS (
    UPDATE streams SET version = m.version
    FROM moved m
    WHERE streams.stream = m.stream AND streams.version = m.expected AND m.expected > 0
    RETURNING 1
),
recorded AS (
    INSERT INTO commands (command_id, fingerprint, first_position, last_position)
    SELECT o.record_id, o.fingerprint, pos.first + o.off, pos.first + o.off + o.events - 1
    FROM pos, offsets o WHERE o.record_id IS NOT NULL AND o.events > 0
    RETURNING 1
),
notified AS (
    INSERT INTO notifications (id, recipient, kind, body, command_id, created_at)
    SELECT n.id, n.recipient, n.kind, n.body, n.command_id, n.created_at
    FROM unnest(:n_entry::int4[], :n_id::uuid[], :n_recipient::text[], :n_kind::text[],
                :n_body::jsonb[], :n_command_id::uuid[], :n_time::timestamptz[])
         AS n(entry, id, recipient, kind, body, command_id, created_at)
         JOIN offsets o ON o.entry = n.entry
    RETURNING 1
),
queued AS (
    INSERT INTO webhook_deliveries (endpoint, message, next_attempt_at, created_at)
    SELECT w.id, n.id, n.created_at, n.created_at
    FROM unnest(:n_entry, :n_id, :n_recipient, :n_kind, :n_time)
         AS n(entry, id, recipient, kind, created_at)
         JOIN offsets o ON o.entry = n.entry
         JOIN webhook_endpoints w
           ON (w.owner IS NULL OR w.owner = n.recipient)
          AND (cardinality(w.kinds) = 0 OR n.kind = ANY (w.kinds))
    RETURNING 1
),
cached AS (
    INSERT INTO state_cache AS c (stream, kind, version, format, state)
    SELECT DISTINCT ON (u.stream) u.stream, u.kind, u.version, u.format, u.state
    FROM unnest(:c_entry::int4[], :c_stream::text[], :c_kind::text[], :c_version::bigint[],
                :c_format::text[], :c_state::jsonb[])
         AS u(entry, stream, kind, version, format, state)
         JOIN offsets o ON o.entry = u.entry
    ORDER BY u.stream, u.version DESC
    ON CONFLICT (stream) DO UPDATE
        SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
        WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version
    RETURNING 1
),
checked AS (
    SELECT tally_expect(
        NOT EXISTS (SELECT FROM pos)
        OR ((SELECT count(*) FROM created) + (SELECT count(*) FROM advanced)
                = (SELECT count(*) FROM moved)
            AND NOT EXISTS (SELECT FROM moved WHERE span <> version - expected)),
        'a stream is no longer at its expected version') AS ok
)
SELECT l.entry, l.lands, l.entry IN (SELECT entry FROM dup), (SELECT first FROM pos) + o.off,
       (SELECT ok FROM checked)
FROM landing l LEFT JOIN offsets o ON o.entry = l.entry
ORDER BY l.entry";

fn statement() -> &'static Named {
    static S: OnceLock<Named> = OnceLock::new();
    S.get_or_init(|| Named::new(APPEND_BATCH))
}

/// What one command's append came to.
type Outcome = Result<Option<Vec<RecordedEvent>>, StoreError>;

/// The batch's commands as the statement's parameters.
#[derive(Default)]
struct Bound {
    /// Whether to look for command ids recorded already (see [`in_turns`]).
    check_dups: bool,
    x_entry: Vec<i32>,
    x_group: Vec<i32>,
    x_events: Vec<i32>,
    x_record_id: Vec<Option<Uuid>>,
    x_fingerprint: Vec<Option<String>>,
    r_entry: Vec<i32>,
    r_stream: Vec<String>,
    r_version: Vec<i64>,
    e_entry: Vec<i32>,
    e_i: Vec<i32>,
    s_entry: Vec<i32>,
    a: Arrays,
    n_entry: Vec<i32>,
    n: OutboxArrays,
    c_entry: Vec<i32>,
    c: CacheArrays,
}

impl Bound {
    fn push(&mut self, entry: i32, e: &BatchEntry) -> Result<(), StoreError> {
        let streams: Vec<&StreamAppend> = e
            .plan
            .streams
            .iter()
            .filter(|a| !a.events.is_empty())
            .collect();
        let a = Arrays::new(&streams)?;
        let events = i32::try_from(a.stream.len())
            .map_err(|_| StoreError::Other("too many events in one command".into()))?;
        self.x_entry.push(entry);
        self.x_group
            .push(i32::try_from(e.group).unwrap_or(i32::MAX));
        self.x_events.push(events);
        self.x_record_id
            .push(e.plan.command.as_ref().map(|c| c.command_id));
        self.x_fingerprint
            .push(e.plan.command.as_ref().map(|c| c.fingerprint.clone()));
        for (s, v) in &e.reads {
            self.r_entry.push(entry);
            self.r_stream.push(s.to_string());
            self.r_version.push(signed(*v)?);
        }
        self.e_entry
            .extend(std::iter::repeat_n(entry, a.stream.len()));
        self.e_i.extend(1..=events);
        self.s_entry
            .extend(std::iter::repeat_n(entry, a.s_stream.len()));
        append_arrays(&mut self.a, a);
        let n = OutboxArrays::new(&e.plan.outbox)?;
        self.n_entry.extend(std::iter::repeat_n(entry, n.id.len()));
        self.n.id.extend(n.id);
        self.n.recipient.extend(n.recipient);
        self.n.kind.extend(n.kind);
        self.n.body.extend(n.body);
        self.n.command_id.extend(n.command_id);
        self.n.time.extend(n.time);
        let c = CacheArrays::new(&e.plan.cache)?;
        self.c_entry
            .extend(std::iter::repeat_n(entry, c.streams.len()));
        self.c.streams.extend(c.streams);
        self.c.kinds.extend(c.kinds);
        self.c.versions.extend(c.versions);
        self.c.formats.extend(c.formats);
        self.c.states.extend(c.states);
        Ok(())
    }

    fn args(&self) -> Args<'_> {
        let a = &self.a;
        Args::default()
            .set("check_dups", self.check_dups)
            .set("x_entry", &self.x_entry)
            .set("x_group", &self.x_group)
            .set("x_events", &self.x_events)
            .set("x_record_id", &self.x_record_id)
            .set("x_fingerprint", &self.x_fingerprint)
            .set("r_entry", &self.r_entry)
            .set("r_stream", &self.r_stream)
            .set("r_version", &self.r_version)
            .set("e_entry", &self.e_entry)
            .set("e_i", &self.e_i)
            .with_events(a)
            .set("s_entry", &self.s_entry)
            .set("n_entry", &self.n_entry)
            .with_outbox(&self.n)
            .set("c_entry", &self.c_entry)
            .set("c_stream", &self.c.streams)
            .set("c_kind", &self.c.kinds)
            .set("c_version", &self.c.versions)
            .set("c_format", &self.c.formats)
            .set("c_state", &self.c.states)
    }
}

/// Appends `from`'s events and streams to `to` (the first-event indices stay per command).
fn append_arrays(to: &mut Arrays, from: Arrays) {
    to.stream.extend(from.stream);
    to.version.extend(from.version);
    to.event_type.extend(from.event_type);
    to.schema_version.extend(from.schema_version);
    to.payload.extend(from.payload);
    to.actor.extend(from.actor);
    to.event_id.extend(from.event_id);
    to.command_id.extend(from.command_id);
    to.correlation_id.extend(from.correlation_id);
    to.causation_id.extend(from.causation_id);
    to.time.extend(from.time);
    to.s_stream.extend(from.s_stream);
    to.s_kind.extend(from.s_kind);
    to.s_expected.extend(from.s_expected);
    to.s_version.extend(from.s_version);
    to.s_created_at.extend(from.s_created_at);
    to.s_first_event.extend(from.s_first_event);
}

/// Lands `entries` in one statement on a connection of the commands' pool. A command that
/// breaks its contract is answered so, and left out with the rest of its group; a failure
/// of the whole statement is every command's answer (nothing was written, or, with the
/// connection lost, the outcome is unknown: each command looks its id up).
pub(crate) async fn append_batch(conns: &Conns, entries: Vec<BatchEntry>) -> Vec<Outcome> {
    in_turns(conns, entries, Vec::new(), false).await
}

/// [`append_batch`] in turns of distinct command ids. The first turn does not look for ids
/// recorded already: the service looked its client-chosen ids up before deciding, and
/// reading the newest ids' index page would make two batches in flight SERIALIZABLE
/// conflicts of each other; an id recorded meanwhile by a concurrent copy fails the
/// statement (23505), and every command of the turn runs again on its own. The later turns
/// follow a turn that recorded their ids, so they look.
async fn in_turns(
    conns: &Conns,
    mut entries: Vec<BatchEntry>,
    mut failed_groups: Vec<usize>,
    check_dups: bool,
) -> Vec<Outcome> {
    // A command id twice: from its second command on, a batch of its own after this one (so
    // that the second finds the first recorded, as it would alone); a group left out here is
    // left out there too.
    let mut seen = std::collections::HashSet::new();
    let again = entries.iter().position(|e| {
        e.plan
            .command
            .as_ref()
            .is_some_and(|c| !seen.insert(c.command_id))
    });
    let Some(i) = again else {
        return one_statement(conns, entries, failed_groups, check_dups).await;
    };
    let rest = entries.split_off(i);
    let groups: Vec<usize> = entries.iter().map(|e| e.group).collect();
    let mut out = one_statement(conns, entries, failed_groups.clone(), check_dups).await;
    for (g, o) in groups.iter().zip(&out) {
        if !matches!(o, Ok(Some(_))) {
            failed_groups.push(*g);
        }
    }
    out.extend(Box::pin(in_turns(conns, rest, failed_groups, true)).await);
    out
}

/// [`append_batch`] for commands of distinct ids, those of `failed_groups` left out.
async fn one_statement(
    conns: &Conns,
    entries: Vec<BatchEntry>,
    mut failed_groups: Vec<usize>,
    check_dups: bool,
) -> Vec<Outcome> {
    let mut out: Vec<Option<Outcome>> = Vec::with_capacity(entries.len());
    let mut bound = Bound {
        check_dups,
        ..Bound::default()
    };
    let mut sent: Vec<BatchEntry> = Vec::new();
    for e in entries {
        if failed_groups.contains(&e.group) {
            out.push(Some(Ok(None)));
            continue;
        }
        let entry = i32::try_from(sent.len() + 1).unwrap_or(i32::MAX);
        match check(&e.plan).and_then(|()| bound.push(entry, &e)) {
            Ok(()) => {
                out.push(None);
                sent.push(e);
            }
            Err(err) => {
                failed_groups.push(e.group);
                out.push(Some(Err(err)));
            }
        }
    }
    let mut landed = if sent.is_empty() {
        Vec::new()
    } else {
        run(conns, &bound, sent).await
    }
    .into_iter();
    out.into_iter()
        .map(|o| {
            o.or_else(|| landed.next())
                .unwrap_or_else(|| Err(StoreError::Other("a batch was answered short".into())))
        })
        .collect()
}

async fn run(conns: &Conns, bound: &Bound, sent: Vec<BatchEntry>) -> Vec<Outcome> {
    let all = |e: StoreError| {
        sent.iter()
            .map(|_| Err(e.clone()))
            .collect::<Vec<Outcome>>()
    };
    let mut conn = match conns.acquire().await {
        Ok(c) => c,
        Err(e) => return all(outside("connecting", &e)),
    };
    let query = match statement().query(bound.args()) {
        Ok(q) => q,
        Err(e) => {
            conns.give_back(conn);
            return all(e);
        }
    };
    let rows = query.fetch_all(&mut *conn).await;
    let rows = match rows {
        Ok(rows) => {
            conns.give_back(conn);
            rows
        }
        Err(e) => {
            if is_lost(&e) {
                conns.connection_lost(&mut conn);
            } else {
                conns.give_back(conn);
            }
            // A command id recorded by a concurrent transaction meanwhile: which one is not
            // told, so every command runs again on its own (and finds its outcome).
            if is_duplicate(&e) {
                return all(StoreError::Conflict(
                    "a command id of the batch was recorded meanwhile".into(),
                ));
            }
            return all(at_commit(&e));
        }
    };
    if rows.len() != sent.len() {
        return all(corrupt("a batch statement answered another number of rows"));
    }
    let mut wrote = false;
    let out = rows
        .iter()
        .zip(sent)
        .map(|(row, e)| {
            let lands: bool = row.try_get(1).map_err(corrupt)?;
            let dup: bool = row.try_get(2).map_err(corrupt)?;
            let first: Option<i64> = row.try_get(3).map_err(corrupt)?;
            if dup {
                return Err(match &e.plan.command {
                    Some(c) => StoreError::Duplicate(c.command_id),
                    None => StoreError::Conflict("a command id was recorded meanwhile".into()),
                });
            }
            if !lands {
                return Ok(None);
            }
            wrote |= e.plan.streams.iter().any(|s| !s.events.is_empty());
            positioned(e.plan, first).map(Some)
        })
        .collect();
    if wrote {
        conns.events_committed();
    }
    out
}
