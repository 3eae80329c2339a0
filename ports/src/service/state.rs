//! Entity states as the service handles them: either kind, at a version.

use crate::codec;
use crate::envelope::{EntityKind, FoldEvent, Payload, RecordedEvent};
use crate::error::{Error, Result};
use tally_domain::{Job, JobEvent, MemberEvent, Wallet};

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
            self.step(
                e.version,
                || e.stream.to_string(),
                || codec::decode(&e.event_type, e.schema_version, &e.payload),
                || codec::decode(&e.event_type, e.schema_version, &e.payload),
            )?;
        }
        Ok(())
    }

    /// Folds one event handed over by a store (of the entity `what`, if newer than `version`).
    pub(crate) fn fold_one(&mut self, what: &str, e: FoldEvent<'_>) -> Result<()> {
        self.step(e.version, || what.to_owned(), || decode(&e), || decode(&e))
    }

    /// Applies the event at `version` (decoded as a member's or a job's event, as the state
    /// is), unless the state already has it.
    fn step(
        &mut self,
        version: u64,
        what: impl Fn() -> String,
        member: impl FnOnce() -> std::result::Result<MemberEvent, String>,
        job: impl FnOnce() -> std::result::Result<JobEvent, String>,
    ) -> Result<()> {
        if version <= self.version {
            return Ok(());
        }
        let bad = |m: String| Error::infrastructure(format!("{}: {m}", what()));
        self.state = match std::mem::replace(&mut self.state, St::Job(Job::default())) {
            St::Wallet(w) => St::Wallet(w.evolve(&member().map_err(bad)?)),
            St::Job(j) => St::Job(j.evolve(&job().map_err(bad)?)),
        };
        self.version = version;
        Ok(())
    }
}

/// Decodes an event handed over by a store, whatever the form of its payload.
fn decode<E: serde::de::DeserializeOwned>(e: &FoldEvent<'_>) -> std::result::Result<E, String> {
    match e.payload {
        Payload::Json(v) => codec::decode(e.event_type, e.schema_version, v),
        Payload::Text(t) => codec::decode_text(e.event_type, e.schema_version, t),
    }
}
