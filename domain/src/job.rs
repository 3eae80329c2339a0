//! The Job entity: launched by an owner with escrowed credits, applied to by participants,
//! accepted, completed with a payout, or cancelled with a refund. Stream key: the job id.
//!
//! Decisions that span entities take every state they need and return the events of each,
//! so that one transaction records them all or none.

use crate::affordance::{Action, placeholder};
use crate::command::{
    AcceptApplicant, Apply, CancelJob, Change, CommandKind, CompleteJob, Context, Decide,
    EditJobDescription, LaunchJob, WithdrawApplication,
};
use crate::entity::{Entity, States, Subject, events};
use crate::member::{MemberEvent, Wallet, acting_member, on};
use crate::rejection::Rejection;
use crate::stream::{EntityKind, StreamId};
use crate::values::{Credits, Description, Handle, JobId, Pitch, ProposedDays, Raw, Reason, Title};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

events! {
    /// What happened to a job.
    pub enum JobEvent {
        /// The job was launched (its reward escrowed in the same transaction).
        #[version = 2]
        JobLaunched {
            /// The job's id.
            job: JobId,
            /// The owner.
            owner: Handle,
            /// The title.
            title: Title,
            /// The description.
            #[personal(Subject::Field("owner"))]
            description: Description,
            /// The reward.
            reward: Credits,
        },
        /// A member applied.
        #[version = 3]
        ApplicationSubmitted {
            /// The applicant.
            participant: Handle,
            /// Their pitch.
            #[personal(Subject::Field("participant"))]
            pitch: Pitch,
            /// Their estimate of the days the job will take them, if they gave one (since
            /// version 2; version 1 applications read as none).
            proposed_days: Option<ProposedDays>,
        },
        /// An applicant withdrew.
        ApplicationWithdrawn {
            /// The applicant.
            participant: Handle,
        },
        /// The owner accepted an applicant; the job is in progress.
        ApplicantAccepted {
            /// The accepted applicant.
            participant: Handle,
        },
        /// The owner declared the job done (the participant was paid in the same transaction).
        JobCompleted {
            /// Who was paid.
            participant: Handle,
            /// How much.
            reward: Credits,
        },
        /// The owner rewrote the description of the open job.
        #[version = 2]
        JobDescriptionEdited {
            /// The new description (the owner's: only they edit it).
            #[personal(Subject::Actor)]
            description: Description,
        },
        /// The owner cancelled the job (the reward was refunded in the same transaction).
        JobCancelled {
            /// Why.
            reason: Reason,
        },
    }
}

/// Where a job is in its lifecycle: open -> in_progress -> completed; open -> cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Not launched (the state of a job id nobody used).
    #[default]
    Draft,
    /// Taking applications.
    Open,
    /// An applicant was accepted.
    InProgress,
    /// Done and paid.
    Completed,
    /// Cancelled and refunded.
    Cancelled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 5] = [
        Self::Draft,
        Self::Open,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
    ];

    /// The status as a word, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the job's reward is held in escrow (open or in progress).
    pub fn holds_escrow(self) -> bool {
        matches!(self, Self::Open | Self::InProgress)
    }
}

/// Where an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Submitted, neither withdrawn nor accepted.
    Live,
    /// Withdrawn by the applicant (who may apply again while the job is open).
    Withdrawn,
    /// Accepted by the owner.
    Accepted,
    /// Still live when the owner accepted someone else: the job went to another applicant.
    NotSelected,
    /// Still live when the owner cancelled the job.
    Closed,
}

impl ApplicationStatus {
    /// Every status.
    pub const ALL: [ApplicationStatus; 5] = [
        Self::Live,
        Self::Withdrawn,
        Self::Accepted,
        Self::NotSelected,
        Self::Closed,
    ];

    /// The status as a word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Withdrawn => "withdrawn",
            Self::Accepted => "accepted",
            Self::NotSelected => "not_selected",
            Self::Closed => "closed",
        }
    }
}

/// One member's application to a job (their latest, if they applied again after withdrawing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The pitch.
    pub pitch: Pitch,
    /// The applicant's estimate of the days the job will take them, if they gave one.
    #[serde(default)]
    pub proposed_days: Option<ProposedDays>,
    /// Where it is.
    pub status: ApplicationStatus,
}

/// What is fixed when a job is launched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetails {
    /// The job's id.
    pub id: JobId,
    /// The owner.
    pub owner: Handle,
    /// The title.
    pub title: Title,
    /// The description.
    pub description: Description,
    /// The reward.
    pub reward: Credits,
}

/// A job, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// `None` until launched.
    pub details: Option<JobDetails>,
    /// Where the job is.
    pub status: JobStatus,
    /// Applications by applicant.
    pub applications: BTreeMap<Handle, Application>,
    /// The accepted applicant, once there is one.
    pub accepted: Option<Handle>,
    /// Why the job was cancelled, if it was.
    pub cancel_reason: Option<Reason>,
}

impl Job {
    /// A job nobody launched.
    pub const EMPTY: Job = Job {
        details: None,
        status: JobStatus::Draft,
        applications: BTreeMap::new(),
        accepted: None,
        cancel_reason: None,
    };

    /// The details, or `unknown_job`.
    ///
    /// # Errors
    /// `unknown_job` when the job was never launched.
    pub fn details_or_unknown(&self, id: &JobId) -> Result<&JobDetails, Rejection> {
        self.details
            .as_ref()
            .ok_or_else(|| Rejection::UnknownJob { job: id.clone() })
    }

    fn require_owner<'a>(&'a self, id: &JobId, by: &Handle) -> Result<&'a JobDetails, Rejection> {
        let d = self.details_or_unknown(id)?;
        if &d.owner != by {
            return Err(Rejection::NotJobOwner {
                owner: d.owner.clone(),
            });
        }
        Ok(d)
    }

    fn require_open(&self) -> Result<(), Rejection> {
        if self.status != JobStatus::Open {
            return Err(Rejection::JobNotOpen {
                job_status: self.status,
            });
        }
        Ok(())
    }

    /// The live application of `who`, if any.
    pub fn live_application(&self, who: &Handle) -> Option<&Application> {
        self.applications
            .get(who)
            .filter(|a| a.status == ApplicationStatus::Live)
    }

    /// Who may see every application (and so the job's history, which holds every pitch):
    /// its owner and admins.
    ///
    /// # Errors
    /// `unauthorized`; `unknown_job`; `not_job_owner`.
    pub fn open_to(&self, id: &JobId, viewer: &Actor) -> Result<&JobDetails, Rejection> {
        if *viewer == Actor::Anonymous {
            return Err(Rejection::SignInFirst);
        }
        let d = self.details_or_unknown(id)?;
        if !viewer.is_privileged() && !viewer.is(&d.owner) {
            return Err(Rejection::NotJobOwner {
                owner: d.owner.clone(),
            });
        }
        Ok(d)
    }
}

use crate::actor::Actor;

impl Job {
    /// What may be done to this job, by anyone, before the decision is asked (see
    /// [`crate::affordance`]): each command on a job, with what is known filled in.
    pub fn candidates(&self, id: &JobId) -> Vec<Action> {
        let mut v = vec![
            Action::new(
                Apply {
                    job: id.clone(),
                    pitch: placeholder(Pitch::parse("…")),
                    proposed_days: None,
                },
                CommandKind::Apply.label(),
            )
            .ask("pitch")
            .ask("proposed_days"),
            Action::new(
                WithdrawApplication { job: id.clone() },
                CommandKind::WithdrawApplication.label(),
            ),
        ];
        for participant in self.applications.keys() {
            v.push(Action::new(
                AcceptApplicant {
                    job: id.clone(),
                    participant: participant.clone(),
                },
                format!("Accept @{participant}"),
            ));
        }
        v.push(Action::new(
            CompleteJob { job: id.clone() },
            CommandKind::CompleteJob.label(),
        ));
        // The form starts with the current text; the candidate holds another one, since an
        // edit that changes nothing is refused.
        let current = self.details.as_ref().map_or("", |d| d.description.as_str());
        let other = if current.is_empty() { "…" } else { "" };
        v.push(
            Action::new(
                EditJobDescription {
                    job: id.clone(),
                    description: placeholder(Description::parse(other)),
                },
                CommandKind::EditJobDescription.label(),
            )
            .prefilled("description", Raw::from(current)),
        );
        v.push(
            Action::new(
                CancelJob {
                    job: id.clone(),
                    reason: placeholder(Reason::parse("")),
                },
                CommandKind::CancelJob.label(),
            )
            .ask("reason"),
        );
        v
    }
}

impl Entity for Job {
    const KIND: EntityKind = EntityKind::Job;
    type Event = JobEvent;

    fn evolve(mut self, event: &JobEvent) -> Self {
        match event {
            JobEvent::JobLaunched {
                job,
                owner,
                title,
                description,
                reward,
            } => {
                self.details = Some(JobDetails {
                    id: job.clone(),
                    owner: owner.clone(),
                    title: title.clone(),
                    description: description.clone(),
                    reward: *reward,
                });
                self.status = JobStatus::Open;
            }
            JobEvent::ApplicationSubmitted {
                participant,
                pitch,
                proposed_days,
            } => {
                self.applications.insert(
                    participant.clone(),
                    Application {
                        pitch: pitch.clone(),
                        proposed_days: *proposed_days,
                        status: ApplicationStatus::Live,
                    },
                );
            }
            JobEvent::ApplicationWithdrawn { participant } => {
                if let Some(a) = self.applications.get_mut(participant) {
                    a.status = ApplicationStatus::Withdrawn;
                }
            }
            JobEvent::ApplicantAccepted { participant } => {
                // Every other live application is not selected, the moment one is accepted.
                for (who, a) in &mut self.applications {
                    a.status = match (who == participant, a.status) {
                        (true, _) => ApplicationStatus::Accepted,
                        (false, ApplicationStatus::Live) => ApplicationStatus::NotSelected,
                        (false, s) => s,
                    };
                }
                self.accepted = Some(participant.clone());
                self.status = JobStatus::InProgress;
            }
            JobEvent::JobDescriptionEdited { description } => {
                if let Some(d) = self.details.as_mut() {
                    d.description = description.clone();
                }
            }
            JobEvent::JobCompleted { .. } => self.status = JobStatus::Completed,
            JobEvent::JobCancelled { reason } => {
                self.status = JobStatus::Cancelled;
                for a in self.applications.values_mut() {
                    if a.status == ApplicationStatus::Live {
                        a.status = ApplicationStatus::Closed;
                    }
                }
                self.cancel_reason = Some(reason.clone());
            }
        }
        self
    }
}

/// The job's event on its stream.
fn at(id: &JobId, e: JobEvent) -> Change {
    (StreamId::job(id), e.into())
}

/// A member's registered wallet, or `unknown_member`.
fn registered<'a>(states: &'a States, who: &Handle) -> Result<&'a Wallet, Rejection> {
    let w = states.wallet(who);
    w.require(who)?;
    Ok(w)
}

/// The job, then the wallets of `who` (those that are members), in that order.
fn job_and<'a>(id: &JobId, who: impl IntoIterator<Item = &'a Handle>) -> Vec<StreamId> {
    let mut v = vec![StreamId::job(id)];
    for h in who {
        let s = StreamId::member(h);
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

impl Decide for LaunchJob {
    fn reads(&self, cx: &Context<'_>, _: &States) -> Vec<StreamId> {
        job_and(cx.new_job, cx.actor.as_member())
    }

    /// By a registered member, escrowing the reward from their balance.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let owner = acting_member(cx.actor)?;
        let id = cx.new_job;
        if states.job(id).details.is_some() {
            return Err(Rejection::JobExists { job: id.clone() });
        }
        let w = registered(states, owner)?;
        let reward = self.reward.credits();
        if w.balance < reward {
            return Err(Rejection::InsufficientCredits {
                needed: reward,
                available: w.balance,
            });
        }
        Ok(vec![
            at(
                id,
                JobEvent::JobLaunched {
                    job: id.clone(),
                    owner: owner.clone(),
                    title: self.title.clone(),
                    description: self.description.clone(),
                    reward,
                },
            ),
            on(
                owner,
                MemberEvent::CreditsEscrowed {
                    job: id.clone(),
                    amount: reward,
                },
            ),
        ])
    }
}

impl Decide for Apply {
    fn reads(&self, cx: &Context<'_>, _: &States) -> Vec<StreamId> {
        job_and(&self.job, cx.actor.as_member())
    }

    /// By a registered member who is not the owner, once, while the job is open.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        let d = job.details_or_unknown(&self.job)?;
        registered(states, by)?;
        if &d.owner == by {
            return Err(Rejection::OwnJob);
        }
        job.require_open()?;
        if job.live_application(by).is_some() {
            return Err(Rejection::AlreadyApplied {
                participant: by.clone(),
            });
        }
        Ok(vec![at(
            &self.job,
            JobEvent::ApplicationSubmitted {
                participant: by.clone(),
                pitch: self.pitch.clone(),
                proposed_days: self.proposed_days,
            },
        )])
    }
}

impl Decide for WithdrawApplication {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        job_and(&self.job, None)
    }

    /// By the applicant, while the application is live and the job open.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        job.details_or_unknown(&self.job)?;
        let status = job.applications.get(by).map(|a| a.status);
        if status == Some(ApplicationStatus::Accepted) {
            return Err(Rejection::ApplicationAccepted);
        }
        job.require_open()?;
        match status {
            Some(ApplicationStatus::Live) => {}
            _ => {
                return Err(Rejection::NoLiveApplication {
                    participant: by.clone(),
                });
            }
        }
        Ok(vec![at(
            &self.job,
            JobEvent::ApplicationWithdrawn {
                participant: by.clone(),
            },
        )])
    }
}

impl Decide for AcceptApplicant {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        job_and(&self.job, None)
    }

    /// By the owner, of a live application, while the job is open.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        job.require_owner(&self.job, by)?;
        job.require_open()?;
        if job.live_application(&self.participant).is_none() {
            return Err(Rejection::NoLiveApplication {
                participant: self.participant.clone(),
            });
        }
        Ok(vec![at(
            &self.job,
            JobEvent::ApplicantAccepted {
                participant: self.participant.clone(),
            },
        )])
    }
}

impl Decide for CompleteJob {
    fn reads(&self, _: &Context<'_>, known: &States) -> Vec<StreamId> {
        let job = known.job(&self.job);
        let owner = job.details.as_ref().map(|d| &d.owner);
        job_and(&self.job, owner.into_iter().chain(job.accepted.as_ref()))
    }

    /// By the owner, of a job in progress: the participant is paid the reward from escrow.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        let d = job.require_owner(&self.job, by)?;
        let not_in_progress = || Rejection::JobNotInProgress {
            job_status: job.status,
        };
        if job.status != JobStatus::InProgress {
            return Err(not_in_progress());
        }
        // An in-progress job always has an accepted participant (evolve sets both).
        let participant = job.accepted.clone().ok_or_else(not_in_progress)?;
        registered(states, &participant)?.credit(d.reward)?;
        Ok(vec![
            at(
                &self.job,
                JobEvent::JobCompleted {
                    participant: participant.clone(),
                    reward: d.reward,
                },
            ),
            on(
                &d.owner,
                MemberEvent::EscrowReleased {
                    job: self.job.clone(),
                    amount: d.reward,
                },
            ),
            on(
                &participant,
                MemberEvent::CreditsEarned {
                    job: self.job.clone(),
                    amount: d.reward,
                },
            ),
        ])
    }
}

impl Decide for EditJobDescription {
    fn reads(&self, _: &Context<'_>, _: &States) -> Vec<StreamId> {
        job_and(&self.job, None)
    }

    /// By the owner, while the job is open, to a description that differs from the current one.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        let d = job.require_owner(&self.job, by)?;
        job.require_open()?;
        if d.description == self.description {
            return Err(Rejection::DescriptionUnchanged);
        }
        Ok(vec![at(
            &self.job,
            JobEvent::JobDescriptionEdited {
                description: self.description.clone(),
            },
        )])
    }
}

impl Decide for CancelJob {
    fn reads(&self, _: &Context<'_>, known: &States) -> Vec<StreamId> {
        let owner = known.job(&self.job).details.as_ref().map(|d| &d.owner);
        job_and(&self.job, owner)
    }

    /// By the owner, while the job is open: the reward returns to the owner.
    fn decide(&self, cx: &Context<'_>, states: &States) -> Result<Vec<Change>, Rejection> {
        let by = acting_member(cx.actor)?;
        let job = states.job(&self.job);
        let d = job.require_owner(&self.job, by)?;
        job.require_open()?;
        registered(states, &d.owner)?.credit(d.reward)?;
        Ok(vec![
            at(
                &self.job,
                JobEvent::JobCancelled {
                    reason: self.reason.clone(),
                },
            ),
            on(
                &d.owner,
                MemberEvent::CreditsRefunded {
                    job: self.job.clone(),
                    amount: d.reward,
                },
            ),
        ])
    }
}
