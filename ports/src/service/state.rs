//! Entity states as the service handles them: either kind, at a version.

use crate::codec;
use crate::envelope::{EntityKind, RecordedEvent};
use crate::error::{Error, Result};
use tally_domain::{Job, Wallet};

/// An entity's state of either kind, as the service handles it.
#[derive(Debug, Clone)]
pub(crate) enum St {
    Wallet(Wallet),
    Job(Job),
}

/// A state at a version.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) version: u64,
    pub(crate) state: St,
}

impl Loaded {
    pub(crate) fn empty(kind: EntityKind) -> Self {
        Self {
            version: 0,
            state: match kind {
                EntityKind::Member => St::Wallet(Wallet::default()),
                EntityKind::Job => St::Job(Job::default()),
            },
        }
    }

    pub(crate) fn wallet(&self) -> Wallet {
        match &self.state {
            St::Wallet(w) => w.clone(),
            St::Job(_) => Wallet::default(),
        }
    }

    pub(crate) fn job(&self) -> Job {
        match &self.state {
            St::Job(j) => j.clone(),
            St::Wallet(_) => Job::default(),
        }
    }

    /// Folds recorded events (of this entity, newer than `version`) into the state.
    pub(crate) fn fold(&mut self, events: &[RecordedEvent]) -> Result<()> {
        for e in events {
            if e.version <= self.version {
                continue;
            }
            let bad = |m: String| Error::infrastructure(format!("{}: {m}", e.stream));
            self.state = match std::mem::replace(&mut self.state, St::Job(Job::default())) {
                St::Wallet(w) => St::Wallet(w.evolve(
                    &codec::decode(&e.event_type, e.schema_version, &e.payload).map_err(bad)?,
                )),
                St::Job(j) => St::Job(j.evolve(
                    &codec::decode(&e.event_type, e.schema_version, &e.payload).map_err(bad)?,
                )),
            };
            self.version = e.version;
        }
        Ok(())
    }
}
