//! Tally's ports: the traits that cut the hexagon, and the application services that run
//! every use case through them.
//!
//! - Driving ports, the use cases: [`driving::Tally`] (one typed command, [`Input`], and the
//!   views, each with what the viewer may do next) and [`identity::Identity`] (sign-up,
//!   accounts, log-in, sessions, API tokens). Every call carries the acting identity
//!   ([`Ctx`]); the domain decides who may do what, not the adapters.
//! - Driven ports, what the services need: [`driven::EventStore`] (load streams, append to
//!   one or several streams atomically with expected versions, a gap-free global order),
//!   [`driven::StateCache`], [`accounts::Accounts`], [`driven::Clock`],
//!   [`driven::IdGenerator`].
//! - [`service::TallyService`]: the command algorithm, written once over the driven ports;
//!   [`identity::IdentityService`]: the identity use cases.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod codec;
pub mod contracts;
pub mod ctx;
pub mod driven;
pub mod driving;
pub mod envelope;
pub mod error;
pub mod feed;
pub mod format;
pub mod identity;
pub mod inbox;
pub mod jobs;
pub mod keys;
mod locks;
pub mod members;
pub mod personal;
pub mod reports;
pub mod schema;
pub mod service;
pub mod statement;
pub mod telemetry;
pub mod webhooks;

pub use ctx::{Actor, Ctx};
pub use driving::*;
pub use envelope::{EntityKind, EntityRef, FoldEvent, Payload, RecordedEvent, StreamId};
pub use error::{Conflict, Error, NotFound, Result, Unauthorized, Unavailable};
pub use service::{CacheCheck, RetryPolicy, TallyService};
pub use tally_domain::{ApplicationStatus, CommandKind, JobStatus, Raw, State};
