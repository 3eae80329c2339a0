//! The Member entity and its wallet. Stream key: the member's handle.

use crate::rejection::Rejection;
use crate::values::{Credits, DisplayName, Handle, JobId, Reason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Registers a new member (by an admin, or by sign-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterMember {
    /// The new member's handle.
    pub handle: Handle,
    /// The name shown for the member.
    pub display_name: DisplayName,
}

/// Grants credits to a member (admins only; the application layer checks the role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantCredits {
    /// Who receives the credits.
    pub handle: Handle,
    /// How many: 1 to 1,000,000 (guaranteed by [`Credits::parse_grant`]).
    pub amount: Credits,
    /// Why.
    pub reason: Reason,
}

/// The commands that concern a member alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberCommand {
    /// See [`RegisterMember`].
    Register(RegisterMember),
    /// See [`GrantCredits`].
    Grant(GrantCredits),
}

/// What happened to a member and their wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum MemberEvent {
    /// The member joined.
    MemberRegistered {
        /// The handle.
        handle: Handle,
        /// The name shown.
        display_name: DisplayName,
    },
    /// An admin granted credits.
    CreditsGranted {
        /// How many.
        amount: Credits,
        /// Why.
        reason: Reason,
    },
    /// Credits moved from the balance into escrow for a job the member launched.
    CreditsEscrowed {
        /// The job.
        job: JobId,
        /// How many.
        amount: Credits,
    },
    /// The member was paid a job's reward.
    CreditsEarned {
        /// The job.
        job: JobId,
        /// How many.
        amount: Credits,
    },
    /// A cancelled job's escrow came back to its owner.
    CreditsRefunded {
        /// The job.
        job: JobId,
        /// How many.
        amount: Credits,
    },
    /// A completed job's escrow was paid out to its participant (recorded on the owner's
    /// wallet so that its escrow can be reconstructed from its own stream).
    EscrowReleased {
        /// The job.
        job: JobId,
        /// How many.
        amount: Credits,
    },
}

impl MemberEvent {
    /// The event's type name, as stored.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::MemberRegistered { .. } => "MemberRegistered",
            Self::CreditsGranted { .. } => "CreditsGranted",
            Self::CreditsEscrowed { .. } => "CreditsEscrowed",
            Self::CreditsEarned { .. } => "CreditsEarned",
            Self::CreditsRefunded { .. } => "CreditsRefunded",
            Self::EscrowReleased { .. } => "EscrowReleased",
        }
    }
}

/// Who the member is, once registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The handle.
    pub handle: Handle,
    /// The name shown.
    pub display_name: DisplayName,
}

/// A member's wallet, folded from the member's events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// `None` until the member is registered.
    pub profile: Option<Profile>,
    /// Credits the member may spend.
    pub balance: Credits,
    /// Credits held in escrow, per job the member launched and that is still open or in progress.
    pub escrow: BTreeMap<JobId, Credits>,
    /// All credits ever granted.
    pub total_granted: Credits,
    /// All credits ever earned from jobs.
    pub total_earned: Credits,
    /// All credits ever refunded from cancelled jobs.
    pub total_refunded: Credits,
    /// All credits ever paid out of escrow to participants.
    pub total_paid_out: Credits,
}

impl Wallet {
    /// Whether the member is registered.
    pub fn exists(&self) -> bool {
        self.profile.is_some()
    }

    /// The sum of the credits in escrow.
    pub fn escrowed(&self) -> Credits {
        self.escrow
            .values()
            .fold(Credits::ZERO, |a, b| a.saturating_add(*b))
    }

    /// Decides a member command: the events it produces, or why it is refused.
    ///
    /// # Errors
    /// `handle_taken` when registering a handle in use; `unknown_member` when granting to a
    /// member who is not registered; `balance_limit` when a balance would overflow.
    pub fn decide(&self, command: &MemberCommand) -> Result<Vec<MemberEvent>, Rejection> {
        match command {
            MemberCommand::Register(c) => {
                if self.exists() {
                    return Err(Rejection::HandleTaken(c.handle.clone()));
                }
                Ok(vec![MemberEvent::MemberRegistered {
                    handle: c.handle.clone(),
                    display_name: c.display_name.clone(),
                }])
            }
            MemberCommand::Grant(c) => {
                self.require(&c.handle)?;
                self.credit(c.amount)?;
                Ok(vec![MemberEvent::CreditsGranted {
                    amount: c.amount,
                    reason: c.reason.clone(),
                }])
            }
        }
    }

    /// Refuses unless the member is registered.
    ///
    /// # Errors
    /// `unknown_member`.
    pub fn require(&self, handle: &Handle) -> Result<&Profile, Rejection> {
        self.profile
            .as_ref()
            .ok_or_else(|| Rejection::UnknownMember(handle.clone()))
    }

    /// Refuses if adding `amount` would overflow the balance.
    pub(crate) fn credit(&self, amount: Credits) -> Result<Credits, Rejection> {
        self.balance
            .checked_add(amount)
            .ok_or(Rejection::BalanceLimit)
    }

    /// Applies one event. Has no rules and cannot fail: the decision already happened.
    #[must_use]
    pub fn evolve(mut self, event: &MemberEvent) -> Self {
        match event {
            MemberEvent::MemberRegistered {
                handle,
                display_name,
            } => {
                self.profile = Some(Profile {
                    handle: handle.clone(),
                    display_name: display_name.clone(),
                });
            }
            MemberEvent::CreditsGranted { amount, .. } => {
                self.balance = self.balance.saturating_add(*amount);
                self.total_granted = self.total_granted.saturating_add(*amount);
            }
            MemberEvent::CreditsEscrowed { job, amount } => {
                self.balance = self.balance.checked_sub(*amount).unwrap_or(Credits::ZERO);
                self.escrow.insert(job.clone(), *amount);
            }
            MemberEvent::CreditsEarned { amount, .. } => {
                self.balance = self.balance.saturating_add(*amount);
                self.total_earned = self.total_earned.saturating_add(*amount);
            }
            MemberEvent::CreditsRefunded { job, amount } => {
                self.escrow.remove(job);
                self.balance = self.balance.saturating_add(*amount);
                self.total_refunded = self.total_refunded.saturating_add(*amount);
            }
            MemberEvent::EscrowReleased { job, amount } => {
                self.escrow.remove(job);
                self.total_paid_out = self.total_paid_out.saturating_add(*amount);
            }
        }
        self
    }

    /// Folds a sequence of events from the default state.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a MemberEvent>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}
