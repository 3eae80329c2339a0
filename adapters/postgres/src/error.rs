//! Translating driver errors at the seam: no `sqlx::Error` crosses into the ports.

use tally_ports::driven::StoreError;

/// What a driver error means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A concurrent transaction won (serialization failure, deadlock, unique violation).
    Conflict(String),
    /// A concurrent copy of the command recorded its id first.
    Duplicate,
    /// The connection broke (terminated backend, reset socket): whatever the transaction did
    /// is gone, unless this happened while committing.
    Lost(String),
    /// Anything else.
    Other(String),
}

/// SQLSTATEs of a concurrent winner: serialization_failure, deadlock_detected,
/// unique_violation (a stream version or a command id taken meanwhile).
const CONFLICTS: [&str; 3] = ["40001", "40P01", "23505"];

/// SQLSTATEs of a session the server ended: admin_shutdown (`pg_terminate_backend`),
/// crash_shutdown, cannot_connect_now; and class 08, connection exceptions.
fn is_lost_code(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

pub(crate) fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let msg = format!("{} ({code})", db.message());
            if code == "23505" && db.constraint() == Some("commands_pkey") {
                Failure::Duplicate
            } else if CONFLICTS.contains(&code.as_str()) {
                Failure::Conflict(msg)
            } else if is_lost_code(&code) {
                Failure::Lost(msg)
            } else {
                Failure::Other(msg)
            }
        }
        sqlx::Error::Io(io) => Failure::Lost(format!("connection lost: {io}")),
        other => Failure::Other(other.to_string()),
    }
}

/// An error in a write transaction before its commit: a lost connection is a safe retry
/// (nothing was committed), so it is reported as a conflict.
pub(crate) fn in_tx(what: &str, e: &sqlx::Error) -> StoreError {
    match classify(e) {
        Failure::Conflict(m) => StoreError::Conflict(format!("{what}: {m}")),
        Failure::Duplicate => {
            StoreError::Conflict(format!("{what}: the command id was recorded meanwhile"))
        }
        Failure::Lost(m) => StoreError::Conflict(format!("{what}: {m}; nothing was committed")),
        Failure::Other(m) => StoreError::Other(format!("{what}: {m}")),
    }
}

/// An error while committing: a lost connection leaves the outcome unknown.
pub(crate) fn at_commit(e: &sqlx::Error) -> StoreError {
    match classify(e) {
        Failure::Conflict(m) => StoreError::Conflict(format!("commit: {m}")),
        Failure::Duplicate => {
            StoreError::Conflict("commit: the command id was recorded meanwhile".into())
        }
        Failure::Lost(m) => StoreError::Unknown(format!(
            "commit: {m}; the transaction may or may not have committed"
        )),
        Failure::Other(m) => StoreError::Other(format!("commit: {m}")),
    }
}

/// An error outside a write transaction.
pub(crate) fn outside(what: &str, e: &sqlx::Error) -> StoreError {
    match classify(e) {
        Failure::Conflict(m) | Failure::Lost(m) | Failure::Other(m) => {
            StoreError::Other(format!("{what}: {m}"))
        }
        Failure::Duplicate => StoreError::Other(format!("{what}: a duplicate command id")),
    }
}

/// Whether a read-only statement that failed this way may simply be run again (on another
/// connection: the pool discards a broken one when it comes back).
pub(crate) fn is_lost(e: &sqlx::Error) -> bool {
    matches!(classify(e), Failure::Lost(_))
}

/// Corrupt stored data.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt stored data: {what}"))
}

/// Whether a statement failed because the plan's command id was recorded meanwhile.
pub(crate) fn is_duplicate(e: &sqlx::Error) -> bool {
    matches!(classify(e), Failure::Duplicate)
}
