//! The one error taxonomy of the driving port.

use serde::{Deserialize, Serialize};
use tally_domain::{InvalidValue, Rejection, RejectionKind};

/// The result of a driving-port call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a driving-port call failed. Every implementation of the driving port (in process,
/// over HTTP) returns the same variant and code for the same situation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Error {
    /// The input could not be parsed (a bad handle, title, amount...). Nothing was recorded.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// A stable code, e.g. `invalid_handle`.
        code: String,
        /// What is wrong, for a person.
        message: String,
    },
    /// The caller is not authenticated.
    #[error("{message}")]
    Unauthorized {
        /// What to do about it.
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    Forbidden {
        /// A stable code, e.g. `admin_only`, `not_job_owner`.
        code: String,
        /// Why, for a person.
        message: String,
    },
    /// The entity does not exist.
    #[error("{message}")]
    NotFound {
        /// A stable code, e.g. `unknown_member`.
        code: String,
        /// What was not found.
        message: String,
    },
    /// A business rule refused the command. Nothing was recorded; retrying will not help.
    #[error("{message}")]
    Rejected {
        /// The rejection's stable code, e.g. `insufficient_credits`.
        code: String,
        /// Why, for a person.
        message: String,
    },
    /// A concurrent change won every retry, or a command id was reused for another command.
    #[error("{message}")]
    Conflict {
        /// `conflict` or `command_id_reused`.
        code: String,
        /// What happened.
        message: String,
    },
    /// Storage or another dependency failed. Whether the command was recorded is unknown
    /// unless it carried a command id, in which case repeating it is safe.
    #[error("internal error: {message}")]
    Infrastructure {
        /// The cause (adapters facing the outside world show an opaque message instead).
        message: String,
    },
}

impl Error {
    /// A stable machine code for the error.
    pub fn code(&self) -> &str {
        match self {
            Self::Invalid { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Rejected { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Unauthorized { .. } => "unauthorized",
            Self::Infrastructure { .. } => "internal",
        }
    }

    /// `Unauthorized` with a message.
    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            message: "sign in first".into(),
        }
    }

    /// `Forbidden` with a code and message.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `NotFound` with a code and message.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.into(),
            message: message.into(),
        }
    }

    /// `Invalid` with a field, code and message.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    /// `Infrastructure` from any error.
    pub fn infrastructure(e: impl std::fmt::Display) -> Self {
        Self::Infrastructure {
            message: e.to_string(),
        }
    }
}

impl From<InvalidValue> for Error {
    fn from(v: InvalidValue) -> Self {
        Self::Invalid {
            field: v.field.into(),
            code: v.code.into(),
            message: v.message,
        }
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        let code = r.code().to_owned();
        let message = r.to_string();
        match r.kind() {
            RejectionKind::NotFound => Self::NotFound { code, message },
            RejectionKind::Forbidden => Self::Forbidden { code, message },
            RejectionKind::Rule => Self::Rejected { code, message },
        }
    }
}
