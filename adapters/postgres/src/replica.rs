//! Reads on a hot standby (PostgreSQL streaming replication), with read-your-writes.
//!
//! Queries that need no write transaction and are not part of a command (the feed, the
//! global order, a stream's history, the job board and member lists, the reports) go to the
//! standby; commands, the state cache's writes, accounts and webhooks stay on the primary
//! (a standby refuses writes and SERIALIZABLE). A read that follows a commit of this
//! process first waits, a bounded time, until the standby has replayed the primary's WAL up
//! to where it was after that commit; if it has not by then, that read goes to the primary.
//! So whoever saw a command acknowledged by this process reads its effects, wherever the
//! read is served.

use crate::conns::Conns;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tally_ports::driven::StoreError;

/// Reads served by the standby, and those sent to the primary because it lagged.
pub const READS: &str = "tally_replica_reads_total";

/// The standby's connections and what it is known to have replayed.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) conns: Conns,
    /// The primary's commits counted when `target` was last read.
    seen: AtomicU64,
    /// The primary's WAL position (bytes) after the last commit seen: what a read waits for.
    target: AtomicI64,
    /// What the standby was last seen to have replayed.
    replayed: AtomicI64,
    /// How long a read waits for the standby before it goes to the primary.
    max_wait: Duration,
}

const CURRENT_LSN: &str = "SELECT (pg_current_wal_lsn() - '0/0')::int8";
const REPLAYED_LSN: &str = "SELECT coalesce((pg_last_wal_replay_lsn() - '0/0')::int8, 0)";

impl Replica {
    pub(crate) fn new(conns: Conns, max_wait: Duration) -> Self {
        Self {
            conns,
            // Nothing seen yet: the first read asks the primary where it is.
            seen: AtomicU64::new(u64::MAX),
            target: AtomicI64::new(0),
            replayed: AtomicI64::new(-1),
            max_wait,
        }
    }

    /// Makes the next read ask the primary where its WAL is.
    pub(crate) fn forget_seen(&self) {
        self.seen.store(u64::MAX, Ordering::Release);
    }

    /// Whether the standby has replayed every commit this process made before now (waiting
    /// for it up to the bound). `primary` answers where the primary's WAL is; `commits`
    /// counts this process's commits.
    pub(crate) async fn caught_up(&self, primary: &Conns, commits: u64) -> bool {
        match self.try_caught_up(primary, commits).await {
            Ok(yes) => yes,
            Err(e) => {
                tracing::warn!(error = %e, "the standby cannot be checked: reading on the primary");
                false
            }
        }
    }

    async fn try_caught_up(&self, primary: &Conns, commits: u64) -> Result<bool, StoreError> {
        if self.seen.load(Ordering::Acquire) != commits {
            // Read after the count: a commit counted later is waited for by a later read.
            let lsn: i64 = primary
                .read(
                    "reading the primary's WAL position",
                    |mut conn| async move {
                        let r = sqlx::query_scalar(CURRENT_LSN).fetch_one(&mut *conn).await;
                        (conn, r)
                    },
                )
                .await?;
            self.target.fetch_max(lsn, Ordering::AcqRel);
            self.seen.store(commits, Ordering::Release);
        }
        self.reaches(self.target.load(Ordering::Acquire)).await
    }

    /// Whether the standby has replayed the primary's WAL up to `target` (bytes), waiting up
    /// to the bound.
    pub(crate) async fn reaches(&self, target: i64) -> Result<bool, StoreError> {
        if self.replayed.load(Ordering::Acquire) >= target {
            return Ok(true);
        }
        let deadline = tokio::time::Instant::now() + self.max_wait;
        let mut nap = Duration::from_micros(500);
        loop {
            let replayed: i64 = self
                .conns
                .read(
                    "reading the standby's replay position",
                    |mut conn| async move {
                        let r = sqlx::query_scalar(REPLAYED_LSN).fetch_one(&mut *conn).await;
                        (conn, r)
                    },
                )
                .await?;
            self.replayed.fetch_max(replayed, Ordering::AcqRel);
            if replayed >= target {
                return Ok(true);
            }
            if tokio::time::Instant::now() + nap > deadline {
                return Ok(false);
            }
            tokio::time::sleep(nap).await;
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }
}
