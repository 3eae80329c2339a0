//! What a viewer may do now: the actions a page offers as forms and the API as links.
//!
//! The candidates (each entity's `candidates`, next to its rules) are every command that could
//! apply to an entity, filled with what is known
//! (the job, the applicant to accept) and, for what a person types, with placeholder values;
//! an action is offered exactly when the decision itself would accept it ([`offered`]). No
//! rule is restated here, nor in any adapter.

use crate::actor::Actor;
use crate::command::{Command, CommandKind, Context};
use crate::entity::States;
use crate::stream::StreamId;
use crate::values::{JobId, Raw};
use serde::Serialize;

/// One field a person fills in to take an action, with what it starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ask {
    /// The field.
    pub field: &'static str,
    /// What it starts with (empty for a new pitch; the current text when editing one).
    #[serde(skip)]
    pub initial: Raw,
}

/// Something the viewer may do now: a command, with the fields they still fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The command, its known fields filled in (those the viewer fills hold placeholders).
    pub command: Command,
    /// What the button says, e.g. `Accept @bob`.
    pub label: String,
    /// The fields the viewer fills in, in order; every other field is given.
    pub ask: Vec<Ask>,
}

impl Action {
    /// An action that issues `command`, on a button saying `label`.
    pub fn new(command: impl Into<Command>, label: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            label: label.into(),
            ask: Vec::new(),
        }
    }

    /// The viewer fills in `field`, starting empty.
    pub fn ask(self, field: &'static str) -> Self {
        self.prefilled(field, Raw::Text(String::new()))
    }

    /// The viewer fills in `field`, starting with `initial` (the current text, when editing).
    pub fn prefilled(mut self, field: &'static str, initial: Raw) -> Self {
        self.ask.push(Ask { field, initial });
        self
    }

    /// The kind of command.
    pub fn kind(&self) -> CommandKind {
        self.command.kind()
    }

    /// The fields the viewer does not fill in, as raw input (the hidden part of a form).
    pub fn given(&self) -> Vec<(String, Raw)> {
        self.command
            .to_fields()
            .into_iter()
            .filter(|(k, _)| !self.ask.iter().any(|a| a.field == k))
            .collect()
    }
}

/// A placeholder value for a field the viewer fills in (the decision needs some value).
pub(crate) fn placeholder<T>(r: Result<T, crate::values::InvalidValue>) -> T {
    r.expect("placeholders follow the rules")
}

/// The id of the job a candidate launch would create (no job has it).
pub fn candidate_job() -> JobId {
    placeholder(JobId::parse("new"))
}

/// The streams `viewer`'s candidates read, given what is known (to load before [`offered`]),
/// but the job a candidate launch would create (it has no events).
pub fn reads(candidates: &[Action], viewer: &Actor, known: &States) -> Vec<StreamId> {
    let new_job = candidate_job();
    let cx = Context {
        actor: viewer,
        new_job: &new_job,
    };
    let none = StreamId::job(&new_job);
    let mut v: Vec<StreamId> = Vec::new();
    for c in candidates {
        for s in c.command.reads(&cx, known) {
            if s != none && !v.contains(&s) {
                v.push(s);
            }
        }
    }
    v
}

/// The candidates `viewer` may take now: those the decision accepts on `states`.
pub fn offered(candidates: Vec<Action>, viewer: &Actor, states: &States) -> Vec<Action> {
    let new_job = candidate_job();
    let cx = Context {
        actor: viewer,
        new_job: &new_job,
    };
    candidates
        .into_iter()
        .filter(|a| a.command.decide(&cx, states).is_ok())
        .collect()
}
