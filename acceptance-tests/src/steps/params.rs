//! The parameters steps read out of domain sentences.

use cucumber::Parameter;
use std::str::FromStr;
use tally_domain::{ApplicationStatus, Handle, JobStatus};
use tally_ports::{Actor, Ctx};

/// Who acts: `the admin`, `a visitor` (nobody signed in) or a member's handle.
#[derive(Debug, Clone, Parameter)]
#[param(name = "actor", regex = r"the admin|a visitor|[a-z][a-z0-9_-]*")]
pub(crate) struct Who(pub Actor);

impl Who {
    /// The context of a call by this actor.
    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::new(self.0.clone())
    }
}

impl FromStr for Who {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(match s {
            "the admin" => Actor::admin(crate::world::ADMIN),
            "a visitor" => Actor::Anonymous,
            h => Actor::Member(Handle::parse(h).map_err(|e| format!("{h:?}: {e}"))?),
        }))
    }
}

/// Where a job is, in words: `open`, `in progress`, `completed` or `cancelled`.
#[derive(Debug, Clone, Copy, Parameter)]
#[param(name = "status", regex = r"open|in progress|completed|cancelled")]
pub(crate) struct Status(pub JobStatus);

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(match s {
            "open" => JobStatus::Open,
            "in progress" => JobStatus::InProgress,
            "completed" => JobStatus::Completed,
            "cancelled" => JobStatus::Cancelled,
            _ => return Err(format!("not a job status: {s:?}")),
        }))
    }
}

/// Where an application is: `live`, `withdrawn`, `accepted`, `not selected` or `closed`.
#[derive(Debug, Clone, Copy, Parameter)]
#[param(
    name = "application",
    regex = r"live|withdrawn|accepted|not selected|closed"
)]
pub(crate) struct AppStatus(pub ApplicationStatus);

impl FromStr for AppStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(match s {
            "live" => ApplicationStatus::Live,
            "withdrawn" => ApplicationStatus::Withdrawn,
            "accepted" => ApplicationStatus::Accepted,
            "not selected" => ApplicationStatus::NotSelected,
            "closed" => ApplicationStatus::Closed,
            _ => return Err(format!("not an application status: {s:?}")),
        }))
    }
}

/// How a history names who did something: `the admin`, `a visitor`, a member's handle.
pub(crate) fn describe(actor: &Actor) -> String {
    match actor {
        Actor::Admin(_) => "the admin".into(),
        Actor::Anonymous => "a visitor".into(),
        Actor::Member(h) => h.to_string(),
        Actor::System(n) => format!("the system process {n}"),
    }
}

/// A display name for a handle: `alice` -> `Alice`.
pub(crate) fn display_name(handle: &str) -> String {
    let mut c = handle.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `n` characters of text, to probe length limits.
pub(crate) fn text_of(n: i64) -> String {
    "x".repeat(usize::try_from(n).unwrap_or(0))
}

/// A position counted from one: `1st`, `2nd`, `3rd`, `4th`...
#[derive(Debug, Clone, Copy, Parameter)]
#[param(name = "ordinal", regex = r"\d+(?:st|nd|rd|th)")]
pub(crate) struct Ordinal(pub usize);

impl FromStr for Ordinal {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        match digits.parse() {
            Ok(n) if n >= 1 => Ok(Self(n)),
            _ => Err(format!("not an ordinal: {s:?}")),
        }
    }
}
