//! In-process queues per stream: commands on the same entity wait for each other here rather
//! than fight in the database (where they would conflict and retry). The database still
//! guards across processes.

use crate::envelope::StreamId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub(crate) struct StreamLocks {
    map: Mutex<HashMap<StreamId, Arc<AsyncMutex<()>>>>,
}

/// Held locks; released (and the map pruned) on drop.
pub(crate) struct Held<'a> {
    owner: &'a StreamLocks,
    guards: Vec<(StreamId, OwnedMutexGuard<()>)>,
}

impl StreamLocks {
    fn slot(&self, s: &StreamId) -> Arc<AsyncMutex<()>> {
        let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(s.clone()).or_default().clone()
    }

    /// An empty set of held locks.
    pub(crate) fn none(&self) -> Held<'_> {
        Held {
            owner: self,
            guards: Vec::new(),
        }
    }
}

impl Held<'_> {
    /// Locks `streams` (those not held yet), in sorted order so that two commands never wait
    /// for each other in a cycle. Callers lock the job before wallets, and at most one job.
    pub(crate) async fn lock(&mut self, streams: &[StreamId]) {
        let mut todo: Vec<&StreamId> = streams
            .iter()
            .filter(|s| !self.guards.iter().any(|(h, _)| h == *s))
            .collect();
        todo.sort();
        todo.dedup();
        for s in todo {
            let slot = self.owner.slot(s);
            let g = slot.lock_owned().await;
            self.guards.push((s.clone(), g));
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let streams: Vec<StreamId> = self.guards.iter().map(|(s, _)| s.clone()).collect();
        self.guards.clear();
        let mut m = self.owner.map.lock().unwrap_or_else(|e| e.into_inner());
        for s in streams {
            // Nobody else holds or waits for it: forget it so the map stays small.
            if m.get(&s).is_some_and(|a| Arc::strong_count(a) == 1) {
                m.remove(&s);
            }
        }
    }
}
