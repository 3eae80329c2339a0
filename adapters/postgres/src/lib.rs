//! Tally's PostgreSQL adapter: the event store and the state cache, on `sqlx`.
//!
//! [`PgStore`] implements both driven ports, [`EventStore`](tally_ports::driven::EventStore)
//! and [`StateCache`](tally_ports::driven::StateCache), so that a command's cache rows are
//! written by the same statement, in the same transaction, as its events.
//!
//! # Schema (embedded migrations, applied by [`PgStore::migrate`])
//! - `events`: the history. Global `position` (bigint identity), `stream` (`member:alice`,
//!   `job:<id>`), `version` with `UNIQUE (stream, version)`, type, schema version, JSONB
//!   payload, actor, the four ids, time, and `tx_id xid8` (the writing transaction).
//! - `streams`: one row per stream (kind, current version, first event's time and position),
//!   maintained by the appending statement.
//! - `commands`: processed client command ids with their fingerprint and positions.
//! - `state_cache`: stream, kind, version, format, JSONB state, and the job status as an
//!   indexed stored column (the job board's index).
//!
//! # A command's transaction
//! The service's fast path, [`append_if_current`], is ONE statement, a transaction of its
//! own on the commands' pool, whose sessions default to SERIALIZABLE (so no `BEGIN` and no
//! `COMMIT` round trips): it checks that every stream the decision read is still at the
//! version the decision saw (reading the `streams` rows: a concurrent writer of any of them is
//! a serialization conflict), and only then draws the positions, inserts the events, creates
//! or advances the `streams` rows, records the command id and upserts the cache rows ("only
//! if newer or of another format"). If a stream moved, it writes nothing and the service runs
//! the full transaction. A plan of one event on one stream uses a variant with scalar
//! parameters (no `UNNEST`): the server plans and runs it in a fraction of the time.
//!
//! The full transaction: `begin` sends `BEGIN ISOLATION LEVEL SERIALIZABLE`. `load` fetches
//! every requested stream's newer events in one query, and only touches the events index for
//! streams whose `streams.version` moved (so writers of neighbouring streams rarely meet in
//! SSI's page locks). `append` is the same append statement, unguarded. `commit` sends
//! `COMMIT`. Ready connections are kept on a stack between uses, the most recently used
//! first, instead of going back to the `sqlx` pool, which would check each with a round trip
//! of its own.
//!
//! [`append_if_current`]: tally_ports::driven::EventStore::append_if_current
//!
//! Sessions run with `plan_cache_mode = force_generic_plan` (the statements take arrays,
//! for which PostgreSQL would otherwise plan anew at every execution), `enable_seqscan` and
//! `enable_bitmapscan` off (SERIALIZABLE transactions lock what they read at the grain of
//! the access path: every statement here is meant for an index, and a sequential scan of a
//! small table would make every writer conflict with every other) and `jit` off.
//!
//! SQLSTATE 40001 (serialization failure), 40P01 (deadlock) and 23505 (a stream version or
//! a command id taken meanwhile) are [`StoreError::Conflict`](tally_ports::driven::StoreError):
//! the service retries them. A connection lost before `COMMIT` is a conflict too (nothing was
//! committed, the retry runs on another connection); lost during `COMMIT`, or during the fast
//! path's single statement, it is [`StoreError::Other`](tally_ports::driven::StoreError): the
//! outcome is unknown.
//!
//! # The state cache is written in the command's transaction, and reconciled by version
//! The cache rows the service computes ride in the append statement ([`Appended`]'s
//! `cache_written` is `true`), so after a commit the cache is never behind the events
//! unless someone deleted, truncated or tampered with rows, or the state type changed shape
//! (its format). Readers do not trust it blindly anyway: `list` returns the rows of the
//! requested format that match the filter (the job board: `status = 'open'`, by index)
//! **plus** every stream of the kind whose row is missing, stale (`version` differs from
//! `streams.version`) or of another format, found by joining the `streams` index with the
//! cache (never by scanning events). The service rebuilds those from their events and writes
//! them back. So the board is right even after `TRUNCATE state_cache`.
//!
//! [`Appended`]: tally_ports::driven::Appended
//!
//! # A global order without gaps for tailers
//! Positions come from a sequence, and a transaction that drew a low position may commit
//! after one that drew a higher position. `read_all` therefore only returns events whose
//! writing transaction is older than every transaction still in flight: `tx_id` below the
//! horizon `pg_snapshot_xmin(pg_current_snapshot())`, refined to leave out the in-flight
//! transactions that `pg_stat_activity` shows running in *another* database (they cannot
//! write here; an in-flight id it cannot place still counts). That alone is not enough,
//! because a transaction's id and its positions are assigned at different moments; so the
//! append statement assigns both under one short advisory lock (`tally_reserve_positions`,
//! released at once, not held until commit): a younger transaction always holds higher
//! positions. The events of transactions older than the horizon are then a prefix of the
//! global order, and a reader paging by position never skips an event that commits later.
//! The price: a write transaction left open on this database holds the feed back (not the
//! writers) until it ends.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accounts;
mod cache;
mod conns;
mod error;
mod rows;
mod sql;
mod store;
pub mod testing;
mod tx;

pub use accounts::PgAccounts;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tally_ports::TallyService;
use tally_ports::driven::StoreError;

/// The embedded migrations (`adapters/postgres/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How to connect.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The most connections the pool opens (at least one per concurrent command helps).
    pub pool_size: u32,
    /// How long a caller waits for a connection before storage counts as unavailable.
    pub acquire_timeout: Duration,
    /// The `application_name` the server shows in `pg_stat_activity`.
    pub application_name: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            acquire_timeout: Duration::from_secs(10),
            application_name: "tally".into(),
        }
    }
}

/// The PostgreSQL event store and state cache (cheap to clone: shared pools).
///
/// Two pools of up to [`PgOptions::pool_size`] connections each: one for commands, whose
/// sessions default to SERIALIZABLE (so that a command's single-statement transaction, see
/// [`EventStore::append_if_current`](tally_ports::driven::EventStore::append_if_current),
/// is serializable without a `BEGIN`), and one for everything else at the server's default
/// isolation (reads, which must not take SERIALIZABLE's predicate locks, and accounts).
#[derive(Debug, Clone)]
pub struct PgStore {
    /// Reads, cache writes by readers, accounts.
    reads: Arc<conns::Conns>,
    /// Commands' transactions (SERIALIZABLE by default).
    commands: Arc<conns::Conns>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`).
    ///
    /// # Errors
    /// [`StoreError::Other`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, opts: PgOptions) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid database URL: {e}")))?;
        Self::connect_with(options, opts).await
    }

    /// Connects with parsed connection options.
    ///
    /// # Errors
    /// [`StoreError::Other`] when the server cannot be reached.
    pub async fn connect_with(
        options: PgConnectOptions,
        opts: PgOptions,
    ) -> Result<Self, StoreError> {
        let pool = |serializable: bool| {
            let mut settings = vec![
                ("enable_seqscan", "off"),
                ("enable_bitmapscan", "off"),
                // Our statements take array parameters: custom plans would be re-planned at
                // every execution, for no better plan.
                ("plan_cache_mode", "force_generic_plan"),
                ("jit", "off"),
            ];
            if serializable {
                settings.push(("default_transaction_isolation", "serializable"));
            }
            PgPoolOptions::new()
                .max_connections(opts.pool_size.max(1))
                .min_connections(0)
                .acquire_timeout(opts.acquire_timeout)
                // A broken connection shows on first use, where it is retried: no ping per
                // acquisition.
                .test_before_acquire(false)
                .connect_with(
                    options
                        .clone()
                        .application_name(&opts.application_name)
                        // SERIALIZABLE transactions lock what they read at the granularity of
                        // the access path: a sequential scan locks a whole table, so on small
                        // tables (few streams) the planner's favourite plans would make every
                        // writer conflict with every other. Every query here is meant for an
                        // index; bitmap scans would lock whole ranges of a stream's events.
                        .options(settings),
                )
        };
        let failed = |e: sqlx::Error| StoreError::Other(format!("connecting to PostgreSQL: {e}"));
        let reads = pool(false).await.map_err(failed)?;
        let commands = match pool(true).await {
            Ok(p) => p,
            Err(e) => {
                reads.close().await;
                return Err(failed(e));
            }
        };
        let keep = opts.pool_size.max(1) + 1;
        Ok(Self {
            reads: Arc::new(conns::Conns::new(reads, keep)),
            commands: Arc::new(conns::Conns::new(commands, keep)),
        })
    }

    /// Applies the embedded migrations that are not applied yet (idempotent; concurrent
    /// callers wait for each other).
    ///
    /// # Errors
    /// [`StoreError::Other`] when a migration fails or the database holds migrations this
    /// build does not know.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(self.reads.pool())
            .await
            .map_err(|e| StoreError::Other(format!("migrating the database: {e}")))
    }

    /// The pool of reads, for maintenance tools, tests and benchmarks that need raw SQL (at
    /// the server's default isolation level).
    ///
    /// The store keeps ready connections of this pool aside between its own uses; a busy
    /// store can leave a direct user of the pool waiting. Adapters that share the database
    /// (accounts) go through the store instead.
    pub fn pool(&self) -> &PgPool {
        self.reads.pool()
    }

    /// A Tally service over this store (event store and state cache).
    pub fn service(&self) -> TallyService {
        TallyService::new(Arc::new(self.clone()), Arc::new(self.clone()))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        tokio::join!(self.reads.close(), self.commands.close());
    }
}
