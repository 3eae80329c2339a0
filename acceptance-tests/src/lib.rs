//! Tally's acceptance tests: Gherkin scenarios in domain language (`features/`), step
//! definitions that talk only to the driving port [`tally_ports::Tally`] (`steps/`), and the
//! targets the same scenarios run against (`targets`).
//!
//! The runner is `tests/acceptance.rs`; `TALLY_TARGET=memory[,http,browser]` chooses the
//! targets.
#![forbid(unsafe_code)]

pub mod browser;
pub mod http;
mod steps;
pub mod targets;
pub mod world;

pub use targets::{Backend, Target};
pub use world::TallyWorld;
