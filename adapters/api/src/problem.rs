//! Errors as `application/problem+json` (RFC 9457), both ways: the server renders the driving
//! port's [`Error`] as a [`Problem`], and the client reads it back into the same [`Error`]
//! (STYLE rules 12 and 13). The problem carries the stable `code` and everything the error
//! holds (a rejection's `needed` and `available`, say), so nothing is lost on the way.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tally_domain::{InvalidValue, Rejection, RejectionKind};
use tally_ports::{Conflict, Error, NotFound, Unauthorized, Unavailable};

/// The media type of problems.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem report: what went wrong, for people (`title`, `detail`) and for programs
/// (`status`, `code`, `field`, and the error's own details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:tally:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time, for a person.
    pub detail: String,
    /// A stable machine code, the same one the driving port returns (e.g. `insufficient_credits`).
    pub code: String,
    /// The input field at fault (for invalid input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What else the error says (e.g. `needed` and `available` for `insufficient_credits`).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// The HTTP status of an error: the one mapping, used by the JSON API and the pages.
pub fn status(e: &Error) -> u16 {
    match e {
        Error::Invalid(_) => 400,
        Error::Unauthorized(_) => 401,
        Error::Rejected(r) => match r.kind() {
            RejectionKind::Unauthenticated => 401,
            RejectionKind::Forbidden => 403,
            RejectionKind::NotFound => 404,
            RejectionKind::Rule => 422,
        },
        Error::NotFound(_) => 404,
        Error::Conflict(_) => 409,
        Error::Unavailable(_) => 503,
        Error::Infrastructure(_) => 500,
    }
}

/// The title of a problem with this status.
pub fn title(status: u16) -> &'static str {
    match status {
        400 => "Invalid input",
        401 => "Not signed in",
        403 => "Not allowed",
        404 => "Not found",
        408 => "Request timeout",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        422 => "Rejected",
        429 => "Too many requests",
        503 => "Service unavailable",
        s if s >= 500 => "Internal error",
        _ => "Bad request",
    }
}

/// The message internal errors show: their cause is logged, never sent.
pub const INTERNAL: &str = "something went wrong on our side; it has been logged";

/// A JSON object's fields but `code`.
fn details_of(v: impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(mut m)) => {
            m.remove("code");
            m
        }
        _ => Map::new(),
    }
}

impl Problem {
    /// A problem with a status, code and detail.
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:tally:problem:{code}"),
            title: title(status).to_owned(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            field: None,
            details: Map::new(),
        }
    }

    /// The same problem, naming the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The problem of a driving-port error (internal ones show [`INTERNAL`], not their cause).
    pub fn of(e: &Error) -> Self {
        let status = status(e);
        let detail = match e {
            Error::Infrastructure(_) => INTERNAL.to_owned(),
            Error::Conflict(Conflict::KeptChanging { .. }) => {
                "the entity kept changing concurrently; try again".to_owned()
            }
            other => other.message(),
        };
        let mut p = Self::new(status, e.code(), detail);
        match e {
            Error::Invalid(v) => p.field = Some(v.field.clone()),
            Error::Rejected(r) => p.details = details_of(r),
            Error::Unauthorized(u) => {
                p.details
                    .insert("reason".into(), serde_json::to_value(u).unwrap_or_default());
            }
            Error::NotFound(n) => p.details = details_of(n),
            Error::Conflict(Conflict::KeptChanging { .. }) | Error::Infrastructure(_) => {}
            Error::Conflict(c) => p.details = details_of(c),
            Error::Unavailable(u) => p.details = details_of(u),
        }
        p
    }

    /// The driving-port error this problem reports (the reverse of [`Problem::of`]).
    pub fn to_error(&self) -> Error {
        let tagged = || {
            let mut m = self.details.clone();
            m.insert("code".into(), Value::String(self.code.clone()));
            Value::Object(m)
        };
        let rejection = || serde_json::from_value::<Rejection>(tagged()).ok();
        let message = self.detail.clone();
        match self.status {
            400 | 413 | 415 => Error::Invalid(InvalidValue::new(
                self.field.clone().unwrap_or_else(|| "body".into()),
                self.code.clone(),
                message,
            )),
            401 => match self
                .details
                .get("reason")
                .cloned()
                .map(serde_json::from_value::<Unauthorized>)
            {
                Some(Ok(u)) => Error::Unauthorized(u),
                _ => Error::Rejected(Rejection::SignInFirst),
            },
            403 | 422 => rejection().map_or_else(
                || {
                    Error::infrastructure(format!(
                        "HTTP {}: {} ({})",
                        self.status, message, self.code
                    ))
                },
                Error::Rejected,
            ),
            404 => match (rejection(), serde_json::from_value::<NotFound>(tagged())) {
                (Some(r), _) => Error::Rejected(r),
                (None, Ok(n)) => Error::NotFound(n),
                (None, Err(_)) => {
                    Error::infrastructure(format!("HTTP 404: {message} ({})", self.code))
                }
            },
            409 => match serde_json::from_value::<Conflict>(tagged()) {
                Ok(Conflict::KeptChanging { .. }) | Err(_) => {
                    Error::Conflict(Conflict::KeptChanging { detail: message })
                }
                Ok(c) => Error::Conflict(c),
            },
            503 => match serde_json::from_value::<Unavailable>(tagged()) {
                Ok(u) => Error::Unavailable(u),
                Err(_) => Error::infrastructure(format!("HTTP 503: {message} ({})", self.code)),
            },
            s => Error::infrastructure(format!("HTTP {s}: {message} ({})", self.code)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::{Credits, Handle, JobId, StreamId};

    #[test]
    fn every_error_survives_its_problem() {
        let h = Handle::parse("alice").unwrap();
        let cases = [
            Error::invalid("amount", "invalid_amount", "no"),
            Error::Rejected(Rejection::SignInFirst),
            Error::Rejected(Rejection::AdminOnly),
            Error::Rejected(Rejection::NotJobOwner { owner: h.clone() }),
            Error::Rejected(Rejection::UnknownJob {
                job: JobId::parse("x").unwrap(),
            }),
            Error::Rejected(Rejection::InsufficientCredits {
                needed: Credits::new(3),
                available: Credits::new(1),
            }),
            Error::Unauthorized(Unauthorized::WrongPassword),
            Error::Unauthorized(Unauthorized::BadCredential),
            Error::NotFound(NotFound::NoSuchVersion {
                stream: StreamId::member(&h),
                latest: 3,
            }),
            Error::NotFound(NotFound::UnknownAccount { name: "zed".into() }),
            Error::Conflict(Conflict::CommandIdReused {
                command_id: uuid::Uuid::nil(),
            }),
            Error::Conflict(Conflict::AccountExists { name: "zed".into() }),
            Error::Unavailable(Unavailable::OutcomeUnknown {
                command_id: uuid::Uuid::nil(),
            }),
            Error::Unavailable(Unavailable::NotRecorded {
                command_id: uuid::Uuid::nil(),
            }),
        ];
        for e in cases {
            let p = Problem::of(&e);
            let back: Problem = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!(back.to_error(), e, "{p:?}");
        }
        let c = Problem::of(&Error::Conflict(Conflict::KeptChanging {
            detail: "40001".into(),
        }));
        assert_eq!((c.status, c.code.as_str()), (409, "conflict"));
        assert!(!c.detail.contains("40001"));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let p = Problem::of(&Error::infrastructure("password=hunter2 at db:5432"));
        assert_eq!((p.status, p.code.as_str()), (500, "internal"));
        assert!(!p.detail.contains("hunter2"));
    }

    #[test]
    fn each_error_kind_has_its_status() {
        assert_eq!(status(&Error::invalid("a", "b", "c")), 400);
        assert_eq!(status(&Rejection::SignInFirst.into()), 401);
        assert_eq!(status(&Rejection::AdminOnly.into()), 403);
        assert_eq!(
            status(
                &Rejection::UnknownMember {
                    handle: Handle::parse("abc").unwrap()
                }
                .into()
            ),
            404
        );
        assert_eq!(status(&Rejection::OwnJob.into()), 422);
        assert_eq!(status(&Error::infrastructure("x")), 500);
    }
}
