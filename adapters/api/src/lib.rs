//! Tally's JSON API contract, written once and shared by the web service (`tally-http`) and
//! the Rust client (`tally-http-client`):
//!
//! - [`paths`]: every path, as the route templates and the links built from them;
//! - [`body`]: a command's JSON body to and from the driving port's [`Input`](tally_ports::Input);
//! - [`problem`]: errors as `application/problem+json`, both ways, and their HTTP statuses;
//! - [`cloudevents`]: the feed's items, CloudEvents 1.0 in their JSON format, both ways;
//! - [`schema`]: JSON Schemas of command bodies and event payloads, derived from the domain's
//!   value rules (so that the published limits are the enforced ones).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod cloudevents;
pub mod paths;
pub mod problem;
pub mod schema;
