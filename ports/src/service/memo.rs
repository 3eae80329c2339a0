//! The states this process saw last, in front of the state cache.
//!
//! A command on an entity this process wrote or read recently starts from the state it left
//! there instead of reading the state cache: one round trip less. It is never trusted: the
//! command's transaction checks that nothing newer was recorded (by another process, say)
//! and loads it if so, exactly as for a state read from the cache.

use super::state::Versioned;
use crate::envelope::StreamId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Up to `capacity` entity states, the least recently used evicted first.
pub(crate) struct Memo {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tick: u64,
    states: HashMap<StreamId, (Versioned, u64)>,
}

impl Memo {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the map consistent: a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every state held.
    pub(crate) fn clear(&self) {
        self.lock().states.clear();
    }

    /// The last state seen of `stream`, if still held.
    pub(crate) fn get(&self, stream: &StreamId) -> Option<Versioned> {
        if self.capacity == 0 {
            return None;
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let (l, used) = inner.states.get_mut(stream)?;
        *used = tick;
        Some(l.clone())
    }

    /// Remembers `l` as `stream`'s state, unless a newer one is held.
    pub(crate) fn put(&self, stream: &StreamId, l: &Versioned) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        match inner.states.get_mut(stream) {
            Some((held, used)) => {
                if held.version <= l.version {
                    *held = l.clone();
                }
                *used = tick;
            }
            None => {
                if inner.states.len() >= self.capacity {
                    inner.evict(self.capacity / 2);
                }
                inner.states.insert(stream.clone(), (l.clone(), tick));
            }
        }
    }

    /// Forgets `stream` (its state turned out not to be current).
    pub(crate) fn forget(&self, stream: &StreamId) {
        self.lock().states.remove(stream);
    }
}

impl Inner {
    /// Keeps the `keep` most recently used states (amortized: evicting half at a time).
    fn evict(&mut self, keep: usize) {
        let mut ticks: Vec<u64> = self.states.values().map(|(_, t)| *t).collect();
        let cut = ticks.len().saturating_sub(keep);
        if cut == 0 {
            return;
        }
        let (_, nth, _) = ticks.select_nth_unstable(cut - 1);
        let oldest_kept = *nth + 1;
        self.states.retain(|_, (_, t)| *t >= oldest_kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::Handle;

    fn member(i: usize) -> StreamId {
        StreamId::member(&Handle::parse(&format!("member{i}")).unwrap())
    }

    fn at(version: u64) -> Versioned {
        let mut l = Versioned::empty(&member(0));
        l.version = version;
        l
    }

    #[test]
    fn keeps_the_newest_state_and_forgets_on_request() {
        let m = Memo::new(8);
        m.put(&member(1), &at(3));
        m.put(&member(1), &at(2));
        assert_eq!(m.get(&member(1)).unwrap().version, 3);
        m.forget(&member(1));
        assert!(m.get(&member(1)).is_none());
    }

    #[test]
    fn is_bounded_and_evicts_the_least_recently_used() {
        let m = Memo::new(10);
        for i in 0..10 {
            m.put(&member(i), &at(1));
        }
        m.get(&member(0)); // recently used: survives
        m.put(&member(10), &at(1));
        assert!(m.lock().states.len() <= 10);
        assert!(m.get(&member(0)).is_some());
        assert!(m.get(&member(10)).is_some());
        assert!(
            m.get(&member(1)).is_none(),
            "the least recently used went first"
        );
    }

    #[test]
    fn a_capacity_of_zero_holds_nothing() {
        let m = Memo::new(0);
        m.put(&member(1), &at(1));
        assert!(m.get(&member(1)).is_none());
    }
}
