//! The per-call context of the driving ports.

pub use tally_domain::Actor;
use uuid::Uuid;

/// The context of one call on a driving port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// Who is acting: the authenticated identity.
    pub actor: Actor,
    /// A client-chosen id for a command, for idempotency: repeating a command with the same
    /// id returns the first outcome and records nothing new.
    pub command_id: Option<Uuid>,
    /// Ties this command to a wider piece of work (defaults to the command id).
    pub correlation_id: Option<Uuid>,
}

impl Ctx {
    /// A context for `actor`, with no command id.
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            command_id: None,
            correlation_id: None,
        }
    }

    /// The same context with a client-chosen command id.
    #[must_use]
    pub fn with_command_id(mut self, id: Uuid) -> Self {
        self.command_id = Some(id);
        self
    }
}
