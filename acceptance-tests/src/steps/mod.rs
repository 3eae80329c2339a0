//! Step definitions, one module per domain concept. Every step talks to Tally only through
//! the driving port held by the [`crate::TallyWorld`].

mod accepting;
mod applying;
mod board;
mod cancelling;
mod commands;
mod completing;
pub(crate) mod concurrency;
pub(crate) mod forgetting;
mod grants;
mod history;
mod idempotency;
mod launching;
mod lists;
mod members;
mod notifications;
mod old_history;
mod outcomes;
mod params;
mod privacy;
mod registration;
mod reports;
mod statement;
mod time_travel;
mod withdrawing;
