//! The commands: one [`Command`] type for every request to do something, routed by the
//! domain itself. Each command names the streams its decision reads ([`Decide::reads`],
//! given the states known so far) and decides over their states ([`Decide::decide`]),
//! returning each stream's events.
//!
//! Each command is declared once, in `commands!` below: its struct, its name, what it is
//! about (its [`Target`]), the label of its button, and its fields with their value types. What
//! the outside world needs to build one from raw input (its fields and their rules, a parser
//! that names the field at fault) comes from that one declaration, so an adapter (the JSON
//! API, the pages, the Rust client, a browser driver) handles every command the same way,
//! and a new command needs no adapter code.

use crate::actor::Actor;
use crate::entity::{Event, FieldSpec, States};
use crate::rejection::Rejection;
use crate::stream::{EntityKind, StreamId};
use crate::values::{
    Amount, Description, DisplayName, GrantCategory, Handle, InvalidValue, JobId, Pitch,
    ProposedDays, Raw, Reason, Reward, Title, Value,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// One stream's new event.
pub type Change = (StreamId, Event);

/// Who issues a command, and what the service chose for it.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Who acts.
    pub actor: &'a Actor,
    /// The id a job launched by this command gets (chosen by the service; no other command
    /// uses it).
    pub new_job: &'a JobId,
}

/// A command's routing and rules.
pub trait Decide {
    /// Every stream the decision reads, given the states known so far; the first is the
    /// entity the command is about. The application loads them, asks again (a job's state
    /// names the wallets it involves), and decides once the answer no longer grows.
    fn reads(&self, cx: &Context<'_>, known: &States) -> Vec<StreamId>;

    /// Decides on `states` (those of [`Decide::reads`]): the events of every stream, in order,
    /// or why not.
    ///
    /// # Errors
    /// The [`Rejection`] of the first rule the command breaks.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection>;
}

/// What a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// It creates an entity of this kind (registering a member, launching a job).
    New(EntityKind),
    /// It acts on an existing entity of this kind, named by its key field
    /// ([`EntityKind::key_field`]).
    On(EntityKind),
}

impl Target {
    /// The kind of entity.
    pub fn kind(self) -> EntityKind {
        match self {
            Self::New(k) | Self::On(k) => k,
        }
    }
}

/// Declares every command: its struct, and the [`Command`] and [`CommandKind`] enums with
/// what adapters need (names, targets, labels, fields, parsing).
macro_rules! commands {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident ($snake:literal, $target:expr, $label:literal) {
            $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
            pub struct $name {
                $( $(#[doc = $fdoc])* pub $field: $ty, )*
            }

            impl From<$name> for Command {
                fn from(c: $name) -> Self {
                    Command::$name(c)
                }
            }
        )*

        /// Every command, parsed.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(tag = "command", rename_all = "snake_case")]
        pub enum Command {
            $( $(#[doc = $doc])* $name($name), )*
        }

        /// The kinds of command.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CommandKind {
            $( $(#[doc = $doc])* $name, )*
        }

        impl CommandKind {
            /// Every kind of command.
            pub const ALL: &'static [CommandKind] = &[$(CommandKind::$name),*];

            /// The command's stable name, e.g. `launch_job`.
            pub fn name(self) -> &'static str {
                match self { $(Self::$name => $snake,)* }
            }

            /// The kind named `name`, if any.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.name() == name)
            }

            /// What the command is about.
            pub fn target(self) -> Target {
                match self { $(Self::$name => $target,)* }
            }

            /// The words on the button that issues it.
            pub fn label(self) -> &'static str {
                match self { $(Self::$name => $label,)* }
            }

            /// What the command does, for people.
            pub fn doc(self) -> &'static str {
                match self { $(Self::$name => concat!($($doc),*),)* }
            }

            /// Its fields, in order, with their rules.
            pub fn fields(self) -> &'static [FieldSpec] {
                match self {
                    $(Self::$name => &[
                        $(FieldSpec {
                            name: stringify!($field),
                            doc: concat!($($fdoc),*),
                            rule: <$ty as Value>::RULE,
                            nullable: <$ty as Value>::NULLABLE,
                        },)*
                    ],)*
                }
            }
        }

        impl Command {
            /// The command's kind.
            pub fn kind(&self) -> CommandKind {
                match self { $(Self::$name(_) => CommandKind::$name,)* }
            }

            /// Parses a command of `kind` from what a person sent, by field name.
            ///
            /// # Errors
            /// The first field that breaks its rule, named.
            pub fn parse(kind: CommandKind, fields: &BTreeMap<String, Raw>) -> Result<Self, InvalidValue> {
                Ok(match kind {
                    $(CommandKind::$name => Command::$name($name {
                        $( $field: <$ty as Value>::parse(stringify!($field), fields.get(stringify!($field)))?, )*
                    }),)*
                })
            }

            /// The command's fields as raw input, as a client sends them.
            pub fn to_fields(&self) -> BTreeMap<String, Raw> {
                match self {
                    $(Command::$name(_c) => BTreeMap::from([
                        $( (stringify!($field).to_owned(), Value::to_raw(&_c.$field)), )*
                    ]),)*
                }
            }

            fn as_decide(&self) -> &dyn Decide {
                match self { $(Command::$name(c) => c,)* }
            }
        }
    };
}

commands! {
    /// Registers a new member: by an admin, or by a visitor as they sign up.
    RegisterMember("register_member", Target::New(EntityKind::Member), "Register") {
        /// The new member's handle: public and permanent.
        handle: Handle,
        /// The name shown for the member.
        display_name: DisplayName,
    }
    /// Grants credits to a member (admins only).
    GrantCredits("grant_credits", Target::On(EntityKind::Member), "Grant") {
        /// Who receives the credits.
        handle: Handle,
        /// How many.
        amount: Amount,
        /// Why.
        reason: Reason,
        /// What kind of grant it is (`other` when left out).
        category: GrantCategory,
    }
    /// Launches a job owned by the acting member, escrowing its reward.
    LaunchJob("launch_job", Target::New(EntityKind::Job), "Launch the job") {
        /// What the job is called.
        title: Title,
        /// What it is about.
        description: Description,
        /// What it pays on completion.
        reward: Reward,
    }
    /// Applies to a job as the acting member.
    Apply("apply", Target::On(EntityKind::Job), "Apply") {
        /// The job.
        job: JobId,
        /// Why you.
        pitch: Pitch,
        /// How many days you expect the job to take you (optional).
        proposed_days: Option<ProposedDays>,
    }
    /// Withdraws the acting member's live application.
    WithdrawApplication("withdraw_application", Target::On(EntityKind::Job), "Withdraw my application") {
        /// The job.
        job: JobId,
    }
    /// Accepts an applicant (the job's owner); the job is then in progress.
    AcceptApplicant("accept_applicant", Target::On(EntityKind::Job), "Accept") {
        /// The job.
        job: JobId,
        /// The applicant's handle.
        participant: Handle,
    }
    /// Completes a job in progress, paying its participant (the job's owner).
    CompleteJob("complete_job", Target::On(EntityKind::Job), "Complete and pay") {
        /// The job.
        job: JobId,
    }
    /// Rewrites an open job's description (the job's owner).
    EditJobDescription("edit_job_description", Target::On(EntityKind::Job), "Save the description") {
        /// The job.
        job: JobId,
        /// The new description.
        description: Description,
    }
    /// Forgets a member (an admin, or the member themselves): their data key is deleted, so
    /// their name, pitches, job descriptions and the reasons of their grants become
    /// unreadable everywhere; their credits and jobs stay accounted for, under their handle.
    /// It cannot be undone.
    ForgetMember("forget_member", Target::On(EntityKind::Member), "Forget this member") {
        /// Who is forgotten.
        handle: Handle,
    }
    /// Cancels an open job, refunding its owner (the job's owner).
    CancelJob("cancel_job", Target::On(EntityKind::Job), "Cancel the job") {
        /// The job.
        job: JobId,
        /// Why.
        reason: Reason,
    }
}

impl Command {
    /// Every stream the decision reads, given the states known so far (see
    /// [`Decide::reads`]).
    pub fn reads(&self, cx: &Context<'_>, known: &States) -> Vec<StreamId> {
        self.as_decide().reads(cx, known)
    }

    /// Decides (see [`Decide::decide`]).
    ///
    /// # Errors
    /// The [`Rejection`] of the first rule the command breaks.
    pub fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        self.as_decide().decide(cx, states)
    }

    /// The key of the existing entity the command is about, if it is about one.
    pub fn target_key(&self) -> Option<String> {
        match self.kind().target() {
            Target::On(k) => self.to_fields().get(k.key_field()).map(Raw::to_text),
            Target::New(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_on_an_entity_has_its_key_field_first() {
        for k in CommandKind::ALL {
            if let Target::On(kind) = k.target() {
                assert_eq!(k.fields()[0].name, kind.key_field(), "{k:?}");
            }
            assert_eq!(CommandKind::parse(k.name()), Some(*k));
            assert!(!k.doc().is_empty() && !k.label().is_empty());
        }
    }

    #[test]
    fn a_command_survives_its_raw_fields() {
        let c = Command::from(Apply {
            job: JobId::parse("j1").unwrap(),
            pitch: Pitch::parse("me").unwrap(),
            proposed_days: Some(ProposedDays::parse(12).unwrap()),
        });
        assert_eq!(Command::parse(c.kind(), &c.to_fields()).unwrap(), c);
        assert_eq!(c.target_key().as_deref(), Some("j1"));
    }

    #[test]
    fn parsing_names_the_field_at_fault() {
        let fields = BTreeMap::from([
            ("job".to_owned(), Raw::from("j1")),
            ("participant".to_owned(), Raw::from("Not A Handle")),
        ]);
        let e = Command::parse(CommandKind::AcceptApplicant, &fields).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("participant", "invalid_handle")
        );
    }
}
