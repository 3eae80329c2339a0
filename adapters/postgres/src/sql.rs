//! The event store's statements.

use crate::rows::event_columns;

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

/// The horizon of [`READ_ALL`], as a CTE named `horizon` with one column `h`.
macro_rules! horizon {
    ($given:literal) => {
        concat!(
            "WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
     elsewhere AS MATERIALIZED (
         SELECT backend_xid FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
     ),
     horizon AS (
         -- A horizon given (computed on the primary, for a read on a standby), else this
         -- server's.
         SELECT coalesce(",
            $given,
            "::text::xid8, CASE WHEN pg_is_in_recovery()
             -- A hot standby's snapshots list no in-flight ids (it keeps them apart, and
             -- pg_current_snapshot shows none) and its pg_stat_activity is its own: its
             -- xmin, which counts every id the primary may still commit, is the horizon.
             THEN (SELECT pg_snapshot_xmin(s) FROM snap)
             ELSE coalesce(
                 (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
                  WHERE xid(x) NOT IN (SELECT backend_xid FROM elsewhere)),
                 (SELECT pg_snapshot_xmax(s) FROM snap)
             )
         END) AS h
     )
     SELECT "
        )
    };
}

/// This server's horizon (as text) and WAL position (bytes): a read on a standby that has
/// replayed up to that position may use that horizon.
pub(crate) const HORIZON_NOW: &str = concat!(
    horizon!("NULL"),
    "h::text, (pg_current_wal_lsn() - '0/0')::int8 FROM horizon"
);

/// Only events of transactions older than every transaction still in flight that could
/// write here (see the crate docs). In-flight transactions that are running in another
/// database cannot, and are left out of the horizon, so that other databases' work does not
/// hold this feed back; an in-flight id that cannot be placed counts (conservatively).
pub(crate) const READ_ALL: &str = concat!(
    horizon!("$3"),
    event_columns!("e"),
    " FROM events e, horizon
      WHERE e.position > $1 AND e.tx_id < horizon.h
      ORDER BY e.position LIMIT $2"
);

/// The conditions of a filtered feed read: the types in `$3`, the stream kinds in `$4`, the
/// events that concern the member `$5` and the job `$6` (each `NULL`: any), as
/// `FeedFilter::matches` says. The kind is the stream's prefix up to its colon.
macro_rules! feed_filter {
    () => {
        " AND ($3::text[] IS NULL OR e.event_type = ANY($3::text[]))
          AND ($4::text[] IS NULL OR split_part(e.stream, ':', 1) = ANY($4::text[]))
          AND ($5::text IS NULL OR e.stream = 'member:' || $5 OR e.actor = 'member:' || $5
               OR e.payload ->> 'participant' = $5 OR e.payload ->> 'owner' = $5)
          AND ($6::text IS NULL OR e.stream = 'job:' || $6 OR e.payload ->> 'job' = $6)"
    };
}

/// [`READ_ALL`] keeping only the events that pass the filter (see `feed_filter!`).
pub(crate) const READ_MATCHING: &str = concat!(
    horizon!("$7"),
    event_columns!("e"),
    " FROM events e, horizon
      WHERE e.position > $1 AND e.tx_id < horizon.h",
    feed_filter!(),
    " ORDER BY e.position LIMIT $2"
);

/// [`READ_MATCHING`] backwards: the events below position `$1`, the newest first, of the
/// gap-free prefix only. Positions follow transaction ids (see the crate docs), so the
/// events under the horizon are a prefix of the order, and its end is read from the top of
/// the primary key down.
pub(crate) const READ_BEFORE: &str = concat!(
    horizon!("$7"),
    event_columns!("e"),
    " FROM events e, horizon
      WHERE e.position < $1 AND e.tx_id < horizon.h",
    feed_filter!(),
    " ORDER BY e.position DESC LIMIT $2"
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

/// The append, in one statement: positions (and the transaction id) drawn first, since every
/// data-modifying CTE reads `pos`; the events inserted; new streams (expected version 0) join
/// the index and existing ones move on, only from their expected versions; the command id
/// recorded (when `:record_id` is set); the cache rows upserted by `put`'s rule (only a newer
/// version, or another format, replaces a row).
///
/// Guarded (`:guarded`, a transaction of its own), `pos` and so every write only exist if every
/// stream the decision read is still at the version it saw (0: no such stream); reading their
/// `streams` rows makes a concurrent writer of any of them a serialization conflict. It
/// returns the first position, whether it wrote (1) or found a stream moved on (0), and fails
/// with 40001 (through `tally_expect`) if it wrote but a stream was not where expected: a
/// single statement commits as it returns and must never return having written half; inside a
/// transaction, the same failure is a conflict to retry.
///
/// Two shapes, each with every part always there (a part with nothing to do selects no rows):
/// one event on one stream, with scalar parameters (the commonest plan: a grant, an
/// application; the server plans and runs it about 1.3x faster than arrays), and any plan,
/// with arrays for `UNNEST`. Parameters are named (see [`crate::named`]).
pub(crate) const APPEND_ONE: &str = "
WITH pos AS (
    SELECT tally_reserve_positions(1) AS first
    WHERE NOT :guarded::boolean OR CASE WHEN :expected::bigint = 0
        THEN NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = :stream::text)
        ELSE EXISTS (SELECT 1 FROM streams s WHERE s.stream = :stream AND s.version = :expected)
    END
),
appended AS (
    INSERT INTO events (position, stream, version, event_type, schema_version, payload, actor,
                        event_id, command_id, correlation_id, causation_id, time)
    SELECT pos.first, :stream, :version::bigint, :event_type::text, :schema_version::int4,
           :payload::jsonb, :actor::text, :event_id::uuid, :command_id::uuid,
           :correlation_id::uuid, :causation_id::uuid, :time::timestamptz
    FROM pos
    RETURNING 1
),
created AS (
    INSERT INTO streams (stream, kind, version, created_at, created_position)
    SELECT :stream, :kind::text, :version, :time, pos.first FROM pos WHERE :expected = 0
    RETURNING 1
),
advanced AS (
    UPDATE streams SET version = :version
    FROM pos WHERE streams.stream = :stream AND streams.version = :expected AND :expected > 0
    RETURNING 1
),
recorded AS (
    INSERT INTO commands (command_id, fingerprint, first_position, last_position)
    SELECT :record_id::uuid, :fingerprint::text, pos.first, pos.first FROM pos
    WHERE :record_id IS NOT NULL
    RETURNING 1
),
notified AS (
    INSERT INTO notifications (id, recipient, kind, body, command_id, created_at)
    SELECT n.id, n.recipient, n.kind, n.body, n.command_id, n.created_at
    FROM pos, unnest(:n_id::uuid[], :n_recipient::text[], :n_kind::text[], :n_body::jsonb[],
                     :n_command_id::uuid[], :n_time::timestamptz[])
         AS n(id, recipient, kind, body, command_id, created_at)
    RETURNING 1
),
queued AS (
    INSERT INTO webhook_deliveries (endpoint, message, next_attempt_at, created_at)
    SELECT e.id, n.id, n.created_at, n.created_at
    FROM pos, unnest(:n_id::uuid[], :n_recipient::text[], :n_kind::text[],
                     :n_time::timestamptz[]) AS n(id, recipient, kind, created_at)
         JOIN webhook_endpoints e
           ON (e.owner IS NULL OR e.owner = n.recipient)
          AND (cardinality(e.kinds) = 0 OR n.kind = ANY (e.kinds))
    RETURNING 1
),
cached AS (
    INSERT INTO state_cache AS c (stream, kind, version, format, state)
    SELECT :stream, :kind, :cache_version::bigint, :cache_format::text, :cache_state::jsonb
    FROM pos WHERE :cache_format IS NOT NULL
    ON CONFLICT (stream) DO UPDATE
        SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
        WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version
    RETURNING 1
)
SELECT (SELECT first FROM pos), (SELECT count(*) FROM pos),
       tally_expect(NOT EXISTS (SELECT FROM pos)
                    OR (SELECT count(*) FROM created) + (SELECT count(*) FROM advanced) = 1,
                    'a stream is no longer at its expected version')";

/// [`APPEND_ONE`] for any plan: one row per event, per stream, per cache row, per stream
/// read, as arrays.
pub(crate) const APPEND_MANY: &str = "
WITH current AS (
    SELECT NOT :guarded::boolean OR count(*) = cardinality(:r_stream::text[]) AS ok
    FROM unnest(:r_stream, :r_version::bigint[]) AS r(stream, version)
    WHERE CASE WHEN r.version = 0
               THEN NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream = r.stream)
               ELSE EXISTS (SELECT 1 FROM streams s
                            WHERE s.stream = r.stream AND s.version = r.version)
          END
),
pos AS (
    SELECT tally_reserve_positions(cardinality(:e_stream::text[])) AS first
    FROM current WHERE current.ok
),
appended AS (
    INSERT INTO events (position, stream, version, event_type, schema_version, payload, actor,
                        event_id, command_id, correlation_id, causation_id, time)
    SELECT pos.first + e.i - 1, e.stream, e.version, e.event_type, e.schema_version,
           e.payload, e.actor, e.event_id, e.command_id, e.correlation_id, e.causation_id,
           e.time
    FROM pos, unnest(:e_stream, :e_version::bigint[], :e_type::text[], :e_schema::int4[],
                     :e_payload::jsonb[], :e_actor::text[], :e_event_id::uuid[],
                     :e_command_id::uuid[], :e_correlation_id::uuid[], :e_causation_id::uuid[],
                     :e_time::timestamptz[])
         WITH ORDINALITY AS e(stream, version, event_type, schema_version, payload, actor,
                              event_id, command_id, correlation_id, causation_id, time, i)
    RETURNING 1
),
created AS (
    INSERT INTO streams (stream, kind, version, created_at, created_position)
    SELECT s.stream, s.kind, s.version, s.created_at, pos.first + s.first_event - 1
    FROM pos, unnest(:s_stream::text[], :s_kind::text[], :s_expected::bigint[],
                     :s_version::bigint[], :s_created_at::timestamptz[], :s_first::bigint[])
         AS s(stream, kind, expected, version, created_at, first_event)
    WHERE s.expected = 0
    RETURNING 1
),
advanced AS (
    UPDATE streams SET version = s.version
    FROM pos, unnest(:s_stream, :s_expected, :s_version) AS s(stream, expected, version)
    WHERE streams.stream = s.stream AND streams.version = s.expected AND s.expected > 0
    RETURNING 1
),
recorded AS (
    INSERT INTO commands (command_id, fingerprint, first_position, last_position)
    SELECT :record_id::uuid, :fingerprint::text, pos.first,
           pos.first + cardinality(:e_stream) - 1
    FROM pos WHERE :record_id IS NOT NULL
    RETURNING 1
),
notified AS (
    INSERT INTO notifications (id, recipient, kind, body, command_id, created_at)
    SELECT n.id, n.recipient, n.kind, n.body, n.command_id, n.created_at
    FROM pos, unnest(:n_id::uuid[], :n_recipient::text[], :n_kind::text[], :n_body::jsonb[],
                     :n_command_id::uuid[], :n_time::timestamptz[])
         AS n(id, recipient, kind, body, command_id, created_at)
    RETURNING 1
),
queued AS (
    INSERT INTO webhook_deliveries (endpoint, message, next_attempt_at, created_at)
    SELECT e.id, n.id, n.created_at, n.created_at
    FROM pos, unnest(:n_id::uuid[], :n_recipient::text[], :n_kind::text[],
                     :n_time::timestamptz[]) AS n(id, recipient, kind, created_at)
         JOIN webhook_endpoints e
           ON (e.owner IS NULL OR e.owner = n.recipient)
          AND (cardinality(e.kinds) = 0 OR n.kind = ANY (e.kinds))
    RETURNING 1
),
cached AS (
    INSERT INTO state_cache AS c (stream, kind, version, format, state)
    SELECT u.stream, u.kind, u.version, u.format, u.state
    FROM pos, unnest(:c_stream::text[], :c_kind::text[], :c_version::bigint[],
                     :c_format::text[], :c_state::jsonb[])
         AS u(stream, kind, version, format, state)
    ON CONFLICT (stream) DO UPDATE
        SET version = EXCLUDED.version, format = EXCLUDED.format, state = EXCLUDED.state
        WHERE c.format <> EXCLUDED.format OR c.version < EXCLUDED.version
    RETURNING 1
)
SELECT (SELECT first FROM pos), (SELECT count(*) FROM pos),
       tally_expect(NOT EXISTS (SELECT FROM pos)
                    OR (SELECT count(*) FROM created) + (SELECT count(*) FROM advanced)
                       = cardinality(:s_stream),
                    'a stream is no longer at its expected version')";
