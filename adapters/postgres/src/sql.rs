//! The event store's statements.

use crate::rows::event_columns;
use std::sync::OnceLock;

pub(crate) const LOAD: &str = concat!(
    "SELECT ",
    event_columns!("e"),
    " FROM events e WHERE e.stream = $1 AND e.version > $2 ORDER BY e.version"
);

/// Several streams in one query. Each stream's `streams` row is probed first, so that the
/// events index is only read (and SIREAD-locked) for streams that did move, and then only
/// from the version asked for. The LATERAL subqueries keep both probes parameterized index
/// scans (a join would let the planner hash a whole table, locking all of it).
pub(crate) const LOAD_MANY: &str = concat!(
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

/// What folding needs of a stream's events (see [`crate::rows::fold_event`]).
pub(crate) const LOAD_FOLDING: &str = "SELECT e.version, e.event_type, e.schema_version, \
     e.payload_text FROM events e WHERE e.stream = $1 AND e.version > $2 ORDER BY e.version";

/// [`LOAD_MANY`], with what folding needs only.
pub(crate) const LOAD_MANY_FOLDING: &str = "
SELECT r.i, e.version, e.event_type, e.schema_version, e.payload_text
FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(stream, after_version, i)
CROSS JOIN LATERAL (
    SELECT 1 FROM streams s
    WHERE s.stream = r.stream AND s.version > r.after_version LIMIT 1
) moved
CROSS JOIN LATERAL (
    SELECT e.version, e.event_type, e.schema_version, e.payload_text FROM events e
    WHERE e.stream = r.stream AND e.version > r.after_version ORDER BY e.version
) e";

/// Only events of transactions older than every transaction still in flight that could
/// write here (see the crate docs). In-flight transactions that are running in another
/// database cannot, and are left out of the horizon, so that other databases' work does not
/// hold this feed back; an in-flight id that cannot be placed counts (conservatively).
pub(crate) const READ_ALL: &str = concat!(
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

pub(crate) const OUTCOME: &str = concat!(
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
),";

/// The guarded append (a single-statement transaction): `pos`, and so every write, only
/// exists if every stream the decision read is still at the version it saw (0: no such
/// stream). Reading the `streams` rows makes a concurrent writer of any of them a
/// serialization conflict.
const APPEND_POS_GUARDED: &str = "
WITH current AS (
    SELECT count(*) = cardinality($25::text[]) AS ok
    FROM unnest($25::text[], $26::bigint[]) AS r(stream, version)
    WHERE CASE WHEN r.version = 0
               THEN NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = r.stream)
               ELSE EXISTS (SELECT 1 FROM streams s
                            WHERE s.stream = r.stream AND s.version = r.version)
          END
),
pos AS (
    SELECT tally_reserve_positions(cardinality($1::text[])) AS first
    FROM current WHERE current.ok
),";

const APPEND_EVENTS: &str = "
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
/// records a command id (`command`) and writes cache rows (`cache`). Data-modifying CTEs run
/// whether or not the final query reads them.
///
/// Unguarded (inside a transaction), it returns the first position and how many streams
/// were created or advanced. Guarded (`guarded`, a transaction of its own: parameters $25
/// and $26 are the streams read and their versions, $27 how many streams the plan writes),
/// it returns the first position, whether it wrote (1) or found a stream moved on (0), and
/// fails with 40001 if it wrote but a stream was not where expected (it cannot be rolled
/// back once it returns).
pub(crate) fn append_sql(
    new: bool,
    old: bool,
    command: bool,
    cache: bool,
    guarded: bool,
) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..32)
            .map(|i: usize| {
                let has = |bit: usize| i & (1 << bit) != 0;
                let mut sql = if has(4) {
                    APPEND_POS_GUARDED
                } else {
                    APPEND_POS
                }
                .to_owned();
                sql.push_str(APPEND_EVENTS);
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
                let moved = moved.join(" + ");
                if has(4) {
                    sql.push_str(&format!(
                        "\nSELECT (SELECT first FROM pos), (SELECT count(*) FROM pos),
       tally_expect(NOT EXISTS (SELECT FROM pos) OR {moved} = $27,
                    'a stream is no longer at its expected version')"
                    ));
                } else {
                    sql.push_str(&format!("\nSELECT (SELECT first FROM pos), {moved}"));
                }
                sql
            })
            .collect()
    });
    let i = usize::from(new)
        | usize::from(old) << 1
        | usize::from(command) << 2
        | usize::from(cache) << 3
        | usize::from(guarded) << 4;
    &all[i]
}

/// The append statement for the commonest plan: one event on one stream (a grant, an
/// application...), with scalar parameters: no `UNNEST`, so the server builds a much smaller
/// plan. Parameters: the event ($1 stream, $2 version, $3 type, $4 schema version,
/// $5 payload, $6 actor, $7-$10 event, command, correlation and causation ids, $11 time), $12
/// the stream's kind, $13 its expected version, $14 and $15 the command id to record and its
/// fingerprint, $16-$18 the cache row's format, state and version. Its parts and results are
/// those of [`append_sql`]: `new` creates the stream, else it advances; guarded, it only
/// writes if the stream is still at $13 (the decision read no other stream).
pub(crate) fn append_one_sql(new: bool, command: bool, cache: bool, guarded: bool) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (0..16)
            .map(|i: usize| {
                let has = |bit: usize| i & (1 << bit) != 0;
                let (new, command, cache, guarded) = (has(0), has(1), has(2), has(3));
                let guard = match (guarded, new) {
                    (false, _) => "",
                    (true, true) => "\n    WHERE NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = $1)",
                    (true, false) => {
                        "\n    WHERE EXISTS (SELECT 1 FROM streams s WHERE s.stream = $1 AND s.version = $13)"
                    }
                };
                let mut sql = format!(
                    "
WITH pos AS (
    SELECT tally_reserve_positions(1) AS first{guard}
),
appended AS (
    INSERT INTO events (position, stream, version, event_type, schema_version, payload, actor,
                        event_id, command_id, correlation_id, causation_id, time)
    SELECT pos.first, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM pos
    RETURNING 1
),"
                );
                sql.push_str(if new {
                    "
moved AS (
    INSERT INTO streams (stream, kind, version, created_at, created_position)
    SELECT $1, $12, $2, $11, pos.first FROM pos
    RETURNING 1
)"
                } else {
                    "
moved AS (
    UPDATE streams SET version = $2
    FROM pos WHERE streams.stream = $1 AND streams.version = $13
    RETURNING 1
)"
                });
                if command {
                    sql.push_str(
                        ",
recorded AS (
    INSERT INTO commands (command_id, fingerprint, first_position, last_position)
    SELECT $14, $15, pos.first, pos.first FROM pos
    RETURNING 1
)",
                    );
                }
                if cache {
                    sql.push_str(
                        ",
cached AS (
    INSERT INTO state_cache AS c (stream, kind, version, format, state)
    SELECT $1, $12, $18, $16, $17 FROM pos
    ON CONFLICT (stream) DO UPDATE
        SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
        WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version
    RETURNING 1
)",
                    );
                }
                sql.push_str(if guarded {
                    "
SELECT (SELECT first FROM pos), (SELECT count(*) FROM pos),
       tally_expect(NOT EXISTS (SELECT FROM pos) OR (SELECT count(*) FROM moved) = 1,
                    'a stream is no longer at its expected version')"
                } else {
                    "\nSELECT (SELECT first FROM pos), (SELECT count(*) FROM moved)"
                });
                sql
            })
            .collect()
    });
    let i = usize::from(new)
        | usize::from(command) << 1
        | usize::from(cache) << 2
        | usize::from(guarded) << 3;
    &all[i]
}
