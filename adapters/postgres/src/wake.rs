//! Waking long-polling feed readers when events commit, here and in other processes.
//!
//! A commit on this store's connections wakes this process's readers at once (the commands'
//! [`Conns::wake`] counter). Other processes hear of it by `NOTIFY`: an announcer task sends
//! `pg_notify` after local commits, coalesced (at most one per [`ANNOUNCE_EVERY`], however
//! many commits), and a listener task, started when a reader first waits, turns every
//! notification into a wake-up here. The NOTIFY is not sent from the appending transaction
//! itself: PostgreSQL serialises the commits of notifying transactions on one global lock,
//! which every command would then queue on. Readers always re-read the gap-free horizon after
//! a wake-up, and re-check at a growing interval anyway, so a lost notification only delays
//! them.

use crate::conns::Conns;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::AbortHandle;

/// The notification channel.
pub(crate) const CHANNEL: &str = "tally_commits";

/// The announcer sends at most one notification per this interval: other processes' readers
/// wake at most this much later than this process's, and a busy writer sends at most 100
/// notifications a second, whatever its command rate.
pub(crate) const ANNOUNCE_EVERY: Duration = Duration::from_millis(10);

/// Starts the announcer: local commits are told to other processes.
pub(crate) fn announce(pool: PgPool, commands: &Arc<Conns>) {
    let mut local = commands.committed.subscribe();
    tokio::spawn(async move {
        // Ends when the store is dropped (no more commits) or closed.
        while local.changed().await.is_ok() {
            local.borrow_and_update();
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "announcing a commit to other processes");
            }
            tokio::time::sleep(ANNOUNCE_EVERY).await;
        }
    });
}

/// The listener of other processes' commits, started on first use; on its own connection,
/// so that it takes nothing from the store's pools.
#[derive(Debug)]
pub(crate) struct Listener {
    options: PgConnectOptions,
    running: Mutex<Option<AbortHandle>>,
}

impl Listener {
    pub(crate) fn new(options: PgConnectOptions) -> Self {
        Self {
            options,
            running: Mutex::new(None),
        }
    }

    /// Starts listening, unless it already does: notifications bump `commands.wake`.
    pub(crate) fn ensure(&self, commands: &Arc<Conns>) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_some() {
            return;
        }
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(self.options.clone());
        let wake = commands.wake.clone();
        let task = tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::debug!(error = %e, "listening for commits");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::debug!(error = %e, "listening for commits");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Notifications may have been missed while (re)connecting: wake readers.
                wake.bump();
                loop {
                    match listener.try_recv().await {
                        // A notification; or `None`: the connection was lost, and the next
                        // call reconnects (missing what was sent meanwhile).
                        Ok(_) => wake.bump(),
                        Err(e) => {
                            tracing::debug!(error = %e, "listening for commits");
                            break;
                        }
                    }
                }
            }
        });
        *running = Some(task.abort_handle());
    }

    /// Stops listening (before the store's pools close).
    pub(crate) fn stop(&self) {
        if let Some(t) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            t.abort();
        }
    }
}
