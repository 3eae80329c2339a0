//! Connections between uses: a stack of ready connections kept out of the pool.
//!
//! sqlx checks a connection with a round trip every time it goes back to the pool, and
//! hands idle connections out oldest first. A command uses up to two connections (a cache
//! read on the reads' pool, then its statement or transaction on the commands' pool), so that
//! would be up to two extra round trips per command, and every statement would land on the
//! backend that has been idle longest. Kept here instead (a stack per pool),
//! ready connections are reused at once, the most recently used first, with no check: a
//! connection that broke meanwhile fails its next statement, which is retried (reads) or
//! reported as a conflict (transactions), and is then dropped, back into the pool, which
//! closes it.

use crate::error::{is_lost, outside};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tally_ports::driven::StoreError;

pub(crate) type Conn = PoolConnection<Postgres>;

/// A pool, with its ready connections (the most recently used last) and how many tasks
/// are queued in it.
pub(crate) struct Conns {
    pool: PgPool,
    spare: Mutex<Vec<Conn>>,
    queued: AtomicUsize,
    /// How many ready connections are kept at most; also how many times a read-only
    /// statement is tried when connections turn out broken (after a server restart every
    /// kept connection is).
    keep: u32,
    /// Bumped after every transaction on these connections that committed events, for the
    /// announcer (see [`crate::wake`]).
    pub(crate) committed: tally_ports::feed::Commits,
    /// Bumped by those commits and by other processes' (heard by the listener): what
    /// long-polling readers wait on.
    pub(crate) wake: tally_ports::feed::Commits,
}

impl fmt::Debug for Conns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conns({} kept)", self.lock().len())
    }
}

/// Counts a task queued in the pool, until it is served or gives up (dropped).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Conns {
    pub(crate) fn new(pool: PgPool, keep: u32) -> Self {
        Self {
            pool,
            spare: Mutex::default(),
            queued: AtomicUsize::new(0),
            keep,
            committed: tally_ports::feed::Commits::new(),
            wake: tally_ports::feed::Commits::new(),
        }
    }

    /// How many times a read is tried on broken connections.
    /// How the pool's connections are used now.
    pub(crate) fn stats(&self, name: &'static str) -> crate::PoolStats {
        let kept = self.lock().len() as u32;
        let open = self.pool.size();
        let idle = self.pool.num_idle() as u32 + kept;
        crate::PoolStats {
            name,
            open,
            in_use: open.saturating_sub(idle),
            idle,
            waiting: self.queued.load(Ordering::SeqCst) as u32,
        }
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.keep
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Events committed on these connections: tell readers here and other processes.
    pub(crate) fn events_committed(&self) {
        self.wake.bump();
        self.committed.bump();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        // A panic cannot leave the vector half-changed: a poisoned lock is still consistent.
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the pool and every kept connection.
    pub(crate) async fn close(&self) {
        let closing = self.pool.close();
        drop(std::mem::take(&mut *self.lock()));
        closing.await;
    }

    /// A ready connection: a kept one, or one from the pool.
    pub(crate) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let spare = self.lock().pop();
        match spare {
            Some(c) => Ok(c),
            None => {
                // Counted while queued in the pool, so that `give_back` hands connections to
                // the pool's queue instead of keeping them where queued tasks cannot see them.
                let _queued = Queued::new(&self.queued);
                self.pool.acquire().await
            }
        }
    }

    /// Keeps a connection that is ready (idle, outside a transaction) for the next use.
    pub(crate) fn give_back(&self, conn: Conn) {
        let mut spare = self.lock();
        // Checked under the lock that `close` takes after closing the pool: a connection
        // is either drained by `close` or never kept (else closing would wait for it).
        let queued = self.queued.load(Ordering::SeqCst) > 0;
        if !queued && !self.pool.is_closed() && spare.len() < self.keep as usize {
            spare.push(conn);
        }
        // Otherwise the connection goes back to the pool as it drops, to a task queued there.
    }

    /// After a connection turned out broken: the kept ones probably are too (the server
    /// restarted, or someone terminated the sessions), so they go back to the pool, which
    /// checks each and replaces the dead.
    pub(crate) fn connection_lost(&self, conn: &mut Conn) {
        conn.close_on_drop();
        drop(std::mem::take(&mut *self.lock()));
    }

    /// Runs a read-only statement on a ready connection, again on another one while
    /// connections turn out broken (a restarted server leaves every kept connection dead).
    pub(crate) async fn read<T, F, Fut>(&self, what: &str, run: F) -> Result<T, StoreError>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = (Conn, Result<T, sqlx::Error>)>,
    {
        let mut attempt = 1;
        loop {
            let conn = self.acquire().await.map_err(|e| outside(what, &e))?;
            let (mut conn, result) = run(conn).await;
            match result {
                Ok(v) => {
                    self.give_back(conn);
                    return Ok(v);
                }
                Err(e) if is_lost(&e) => {
                    self.connection_lost(&mut conn);
                    if attempt >= self.keep {
                        return Err(outside(what, &e));
                    }
                    attempt += 1;
                }
                Err(e) => return Err(outside(what, &e)),
            }
        }
    }

    /// Runs one statement on a ready connection, once, and keeps the connection unless it
    /// broke. The driver's error comes back as is, for the caller to map at its seam.
    pub(crate) async fn once<T, F, Fut>(&self, run: F) -> Result<T, sqlx::Error>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = (Conn, Result<T, sqlx::Error>)>,
    {
        let conn = self.acquire().await?;
        let (mut conn, result) = run(conn).await;
        match &result {
            Err(e) if is_lost(e) => self.connection_lost(&mut conn),
            _ => self.give_back(conn),
        }
        result
    }
}
