//! The Member entity and its wallet. Stream key: the member's handle.

use crate::actor::Actor;
use crate::affordance::{Action, placeholder};
use crate::command::{
    Change, Context, Decide, ForgetMember, GrantCredits, LaunchJob, RegisterMember,
};
use crate::entity::{Entity, States, Subject, events};
use crate::rejection::Rejection;
use crate::stream::{EntityKind, StreamId};
use crate::values::{
    Amount, Credits, Description, DisplayName, GrantCategory, Handle, JobId, Reason, Reward, Title,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

events! {
    /// What happened to a member and their wallet.
    pub enum MemberEvent {
        /// The member joined.
        #[version = 2]
        MemberRegistered {
            /// The handle.
            handle: Handle,
            /// The name shown.
            #[personal(Subject::Field("handle"))]
            display_name: DisplayName,
        },
        /// An admin granted credits.
        #[version = 3]
        CreditsGranted {
            /// How many.
            amount: Credits,
            /// Why.
            #[personal(Subject::Stream)]
            reason: Reason,
            /// What kind of grant it is (since version 2; version 1 grants read as `other`).
            category: GrantCategory,
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
        /// The member was forgotten: their data key was deleted, so their personal data is
        /// unreadable from now on. Who asked and when are the envelope's actor and time; it
        /// holds nothing personal.
        MemberForgotten {},
    }
}

/// What is shown where a forgotten member's personal data was.
pub const FORGOTTEN: &str = "forgotten member";

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
    /// Whether the member was forgotten (their personal data is gone).
    pub forgotten: bool,
}

impl Wallet {
    /// What may be done to this member's wallet, by anyone, before the decision is asked (see
    /// [`crate::affordance`]).
    pub fn candidates(&self, handle: &Handle) -> Vec<Action> {
        vec![
            Action::new(
                GrantCredits {
                    handle: handle.clone(),
                    amount: placeholder(Amount::parse(1)),
                    reason: placeholder(Reason::parse("")),
                    category: GrantCategory::Other,
                },
                "Grant credits",
            )
            .ask("amount")
            .ask("reason")
            .ask("category"),
            Action::new(
                LaunchJob {
                    title: placeholder(Title::parse("…")),
                    description: placeholder(Description::parse("")),
                    reward: placeholder(Reward::parse(1)),
                },
                "Launch a job",
            )
            .ask("title")
            .ask("description")
            .ask("reward"),
            Action::new(
                ForgetMember {
                    handle: handle.clone(),
                },
                "Forget this member",
            ),
        ]
    }
}

impl Wallet {
    /// The wallet of a member who is not registered.
    pub const EMPTY: Wallet = Wallet {
        profile: None,
        balance: Credits::ZERO,
        escrow: BTreeMap::new(),
        total_granted: Credits::ZERO,
        total_earned: Credits::ZERO,
        total_refunded: Credits::ZERO,
        total_paid_out: Credits::ZERO,
        forgotten: false,
    };

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

    /// Refuses unless the member is registered.
    ///
    /// # Errors
    /// `unknown_member`.
    pub fn require(&self, handle: &Handle) -> Result<&Profile, Rejection> {
        self.profile
            .as_ref()
            .ok_or_else(|| Rejection::UnknownMember {
                handle: handle.clone(),
            })
    }

    /// Refuses if adding `amount` would overflow the balance.
    pub(crate) fn credit(&self, amount: Credits) -> Result<Credits, Rejection> {
        self.balance
            .checked_add(amount)
            .ok_or(Rejection::BalanceLimit)
    }

    /// Who may see this wallet (of the member `handle`): the member and admins. Refused before
    /// saying whether the member exists, so that nobody probes for handles.
    ///
    /// # Errors
    /// `unauthorized`, `not_your_wallet`; then `unknown_member`.
    pub fn visible_to(&self, handle: &Handle, viewer: &Actor) -> Result<&Profile, Rejection> {
        match viewer {
            Actor::Anonymous => return Err(Rejection::SignInFirst),
            a if a.is_privileged() || a.is(handle) => {}
            _ => return Err(Rejection::NotYourWallet),
        }
        self.require(handle)
    }
}

impl Entity for Wallet {
    const KIND: EntityKind = EntityKind::Member;
    type Event = MemberEvent;

    fn evolve(mut self, event: &MemberEvent) -> Self {
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
            MemberEvent::MemberForgotten {} => {
                self.forgotten = true;
                if let Some(p) = &mut self.profile {
                    p.display_name = DisplayName::parse(FORGOTTEN).expect("a valid display name");
                }
            }
        }
        self
    }
}

/// A member's event on their stream.
pub(crate) fn on(h: &Handle, e: MemberEvent) -> Change {
    (StreamId::member(h), e.into())
}

impl Decide for RegisterMember {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        vec![StreamId::member(&self.handle)]
    }

    /// By an admin, or by a visitor signing up (who gets an account with it: see the
    /// identity port); never by a member for someone else.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        if let Actor::Member(_) = cx.actor {
            return Err(Rejection::AdminOnly);
        }
        if states.wallet(&self.handle).exists() {
            return Err(Rejection::HandleTaken {
                handle: self.handle.clone(),
            });
        }
        Ok(vec![on(
            &self.handle,
            MemberEvent::MemberRegistered {
                handle: self.handle.clone(),
                display_name: self.display_name.clone(),
            },
        )])
    }
}

impl Decide for GrantCredits {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        vec![StreamId::member(&self.handle)]
    }

    /// By an admin, to a registered member, within what a wallet holds.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        require_admin(cx.actor)?;
        let w = states.wallet(&self.handle);
        w.require(&self.handle)?;
        if w.forgotten {
            return Err(Rejection::MemberForgotten {
                handle: self.handle.clone(),
            });
        }
        w.credit(self.amount.credits())?;
        Ok(vec![on(
            &self.handle,
            MemberEvent::CreditsGranted {
                amount: self.amount.credits(),
                reason: self.reason.clone(),
                category: self.category,
            },
        )])
    }
}

impl Decide for ForgetMember {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        vec![StreamId::member(&self.handle)]
    }

    /// By an admin, or by the member themselves (who re-enters their password: see the
    /// identity port), once.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        match cx.actor {
            Actor::Anonymous => return Err(Rejection::SignInFirst),
            a if a.is_privileged() || a.is(&self.handle) => {}
            _ => return Err(Rejection::NotYourself),
        }
        let w = states.wallet(&self.handle);
        w.require(&self.handle)?;
        if w.forgotten {
            return Err(Rejection::MemberForgotten {
                handle: self.handle.clone(),
            });
        }
        Ok(vec![on(&self.handle, MemberEvent::MemberForgotten {})])
    }
}

/// Refuses unless the actor is an admin (or a system process).
pub(crate) fn require_admin(a: &Actor) -> Result<(), Rejection> {
    match a {
        Actor::Anonymous => Err(Rejection::SignInFirst),
        a if a.is_privileged() => Ok(()),
        _ => Err(Rejection::AdminOnly),
    }
}

/// The acting member, for what only members do.
pub(crate) fn acting_member(a: &Actor) -> Result<&Handle, Rejection> {
    match a {
        Actor::Member(h) => Ok(h),
        Actor::Anonymous => Err(Rejection::SignInFirst),
        _ => Err(Rejection::MembersOnly),
    }
}
