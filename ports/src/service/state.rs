//! Entity states as the service holds them: at a version, and folded from stored events.

use crate::codec;
use crate::envelope::{FoldEvent, StreamId};
use crate::error::{Error, Result};
use tally_domain::{Event, State, States};

/// A state at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Versioned {
    pub(crate) version: u64,
    pub(crate) state: State,
}

impl Versioned {
    /// The state of a stream with no events.
    pub(crate) fn empty(stream: &StreamId) -> Self {
        Self {
            version: 0,
            state: State::empty(stream.kind()),
        }
    }

    /// Folds one stored event of `stream` into the state, unless the state already has it
    /// (a store may hand an event again after a lost connection).
    pub(crate) fn fold(&mut self, stream: &StreamId, e: FoldEvent<'_>) -> Result<()> {
        if e.version <= self.version {
            return Ok(());
        }
        let bad = |m: String| Error::infrastructure(format!("{stream} v{}: {m}", e.version));
        let event = codec::decode(stream.kind(), &e).map_err(bad)?;
        self.apply(stream, e.version, &event)
    }

    /// Applies a typed event, recorded as `version`.
    pub(crate) fn apply(&mut self, stream: &StreamId, version: u64, event: &Event) -> Result<()> {
        self.state
            .apply(event)
            .map_err(|m| Error::infrastructure(format!("{stream}: {m}")))?;
        self.version = version;
        Ok(())
    }
}

/// The states a command knows, by stream, each at its version: what the decision reads.
#[derive(Debug, Default, Clone)]
pub(crate) struct Known {
    states: States,
    versions: std::collections::BTreeMap<StreamId, u64>,
    /// The queued commands whose pending states some of these are (group commit).
    pub(crate) deps: Vec<std::sync::Arc<super::group::Ticket>>,
}

impl Known {
    /// The states, as the domain reads them.
    pub(crate) fn states(&self) -> &States {
        &self.states
    }

    /// Whether `stream` is known.
    pub(crate) fn holds(&self, stream: &StreamId) -> bool {
        self.versions.contains_key(stream)
    }

    /// The version `stream` is known at (0: not known, or no events).
    pub(crate) fn version(&self, stream: &StreamId) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// `stream`'s state and version.
    pub(crate) fn get(&self, stream: &StreamId) -> Versioned {
        Versioned {
            version: self.version(stream),
            state: self
                .states
                .get(stream)
                .cloned()
                .unwrap_or_else(|| State::empty(stream.kind())),
        }
    }

    /// Knows `stream` as `v`.
    pub(crate) fn set(&mut self, stream: &StreamId, v: Versioned) {
        self.versions.insert(stream.clone(), v.version);
        self.states.insert(stream.clone(), v.state);
    }

    /// Whether nothing is known yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// Every stream known.
    pub(crate) fn streams(&self) -> impl Iterator<Item = &StreamId> {
        self.versions.keys()
    }

    /// Forgets everything (to start again from storage).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}
