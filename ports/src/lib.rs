//! Tally's ports: the traits that cut the hexagon, and the application service that runs
//! every use case through them.
//!
//! - [`driving::Tally`]: the driving port, one trait with every use case and view. Every call
//!   carries the acting identity ([`Ctx`]); authorization happens here, not in adapters.
//! - [`driven`]: the driven ports an adapter implements: [`driven::EventStore`] (load streams,
//!   append to one or several streams atomically with expected versions, a global order),
//!   [`driven::StateCache`], [`driven::Clock`] and [`driven::IdGenerator`].
//! - [`service::TallyService`]: the command algorithm, written once over the driven ports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod actor;
pub mod codec;
pub mod driven;
pub mod driving;
pub mod envelope;
pub mod error;
pub mod format;
mod locks;
pub mod service;

pub use actor::{Actor, Ctx};
pub use driving::*;
pub use envelope::{EntityKind, EntityRef, FoldEvent, Payload, RecordedEvent, StreamId};
pub use error::{Error, Result};
pub use service::{RetryPolicy, TallyService};
pub use tally_domain::{ApplicationStatus, JobStatus};
