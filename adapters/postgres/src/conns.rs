//! Connections between uses: a stack of ready connections kept out of the pool.
//!
//! sqlx checks a connection with a round trip every time it goes back to the pool, and
//! hands idle connections out oldest first. A command uses two connections (the service's
//! cache read, then its transaction), so that is two extra round trips per command, and
//! every statement lands on the backend that has been idle longest. Kept here instead,
//! ready connections are reused at once, the most recently used first, with no check: a
//! connection that broke meanwhile fails its next statement, which is retried (reads) or
//! reported as a conflict (transactions), and is then dropped, back into the pool, which
//! closes it.

use crate::PgStore;
use crate::error::{is_lost, outside};
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use tally_ports::driven::StoreError;
use tokio::sync::Notify;

pub(crate) type Conn = PoolConnection<Postgres>;

/// Ready connections, the most recently used last, and a signal for tasks waiting for one.
#[derive(Default)]
pub(crate) struct Spare(Mutex<Vec<Conn>>, Notify);

impl fmt::Debug for Spare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spare({})", self.lock().len())
    }
}

impl Spare {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        // A panic cannot leave the vector half-changed: a poisoned lock is still consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every spare connection, to close them.
    pub(crate) fn take_all(&self) -> Vec<Conn> {
        std::mem::take(&mut *self.lock())
    }
}

impl PgStore {
    /// A ready connection: a spare one, or one from the pool.
    ///
    /// A task waiting in the pool's queue would never see the connections that are kept
    /// here instead of going back to the pool, and would time out while others reuse them:
    /// so it also waits for a connection to be kept, and takes that one if it comes first.
    pub(crate) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        loop {
            if let Some(c) = self.spare.lock().pop() {
                return Ok(c);
            }
            let kept = self.spare.1.notified();
            tokio::pin!(kept);
            // Registered before looking again, so a connection kept in between is not missed.
            kept.as_mut().enable();
            if let Some(c) = self.spare.lock().pop() {
                return Ok(c);
            }
            tokio::select! {
                c = self.pool.acquire() => return c,
                () = &mut kept => {}
            }
        }
    }

    /// Keeps a connection that is ready (idle, outside a transaction) for the next use.
    pub(crate) fn give_back(&self, conn: Conn) {
        let mut spare = self.spare.lock();
        // Checked under the lock that `close` takes after closing the pool: a connection
        // is either drained by `close` or never kept (else closing would wait for it).
        if !self.pool.is_closed() && spare.len() < self.read_attempts as usize {
            spare.push(conn);
            self.spare.1.notify_one();
        }
    }

    /// After a connection turned out broken: the kept ones probably are too (the server
    /// restarted, or someone terminated the sessions), so they go back to the pool, which
    /// checks each and replaces the dead.
    pub(crate) fn connection_lost(&self, conn: &mut Conn) {
        conn.close_on_drop();
        drop(self.spare.take_all());
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
                    if attempt >= self.read_attempts {
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
