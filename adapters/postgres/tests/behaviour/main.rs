//! Behaviour of the PostgreSQL adapter beyond the port contracts, on the real server: each
//! test creates its own database (see `tally_postgres::testing`).

mod cache;
mod chaos;
mod common;
mod reliability;
mod replica;
mod tailing;
