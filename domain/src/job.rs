//! The Job entity: launched by an owner with escrowed credits, applied to by participants,
//! accepted, completed with a payout, or cancelled with a refund. Stream key: the job id.
//!
//! Decisions that span entities take every state they need and return the events of each
//! ([`JobDecision`]), so that one transaction records them all or none.

use crate::member::{MemberEvent, Wallet};
use crate::rejection::Rejection;
use crate::values::{Credits, Description, Handle, JobId, Pitch, Reason, Title};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Launches a job, escrowing its reward from the owner's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchJob {
    /// The id the server chose for the new job.
    pub job: JobId,
    /// The owner (the acting member).
    pub owner: Handle,
    /// The title.
    pub title: Title,
    /// The description.
    pub description: Description,
    /// The reward, escrowed now and paid on completion.
    pub reward: Credits,
}

/// The commands on a job. Every one but launch names the acting member in `by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCommand {
    /// See [`LaunchJob`].
    Launch(LaunchJob),
    /// A member applies to the job with a pitch.
    Apply {
        /// The applicant.
        by: Handle,
        /// Why they should be chosen.
        pitch: Pitch,
    },
    /// The applicant withdraws their live application.
    Withdraw {
        /// The applicant.
        by: Handle,
    },
    /// The owner accepts one live application; the job is then in progress.
    Accept {
        /// The acting member (must be the owner).
        by: Handle,
        /// The applicant accepted.
        participant: Handle,
    },
    /// The owner declares the job done; the participant is paid the reward.
    Complete {
        /// The acting member (must be the owner).
        by: Handle,
    },
    /// The owner cancels an open job; the reward returns to the owner.
    Cancel {
        /// The acting member (must be the owner).
        by: Handle,
        /// Why.
        reason: Reason,
    },
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum JobEvent {
    /// The job was launched (its reward escrowed in the same transaction).
    JobLaunched {
        /// The job's id.
        job: JobId,
        /// The owner.
        owner: Handle,
        /// The title.
        title: Title,
        /// The description.
        description: Description,
        /// The reward.
        reward: Credits,
    },
    /// A member applied.
    ApplicationSubmitted {
        /// The applicant.
        participant: Handle,
        /// Their pitch.
        pitch: Pitch,
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
    /// The owner cancelled the job (the reward was refunded in the same transaction).
    JobCancelled {
        /// Why.
        reason: Reason,
    },
}

impl JobEvent {
    /// The event's type name, as stored.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::JobLaunched { .. } => "JobLaunched",
            Self::ApplicationSubmitted { .. } => "ApplicationSubmitted",
            Self::ApplicationWithdrawn { .. } => "ApplicationWithdrawn",
            Self::ApplicantAccepted { .. } => "ApplicantAccepted",
            Self::JobCompleted { .. } => "JobCompleted",
            Self::JobCancelled { .. } => "JobCancelled",
        }
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
}

impl ApplicationStatus {
    /// The status as a word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Withdrawn => "withdrawn",
            Self::Accepted => "accepted",
        }
    }
}

/// One member's application to a job (their latest, if they applied again after withdrawing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The pitch.
    pub pitch: Pitch,
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

/// The events one job command records, on the job and on the wallets it touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDecision {
    /// Events for the job's stream.
    pub job: Vec<JobEvent>,
    /// Events for members' wallets, by handle.
    pub wallets: Vec<(Handle, MemberEvent)>,
}

/// The states a job decision reads. The application layer loads exactly the wallets that
/// [`JobCommand::wallets_needed`] names.
pub struct JobContext<'a> {
    /// The job's id.
    pub id: &'a JobId,
    /// The job's current state.
    pub job: &'a Job,
    /// The wallets the command involves, by handle.
    pub wallets: &'a BTreeMap<Handle, Wallet>,
}

impl JobCommand {
    /// The members whose wallets the decision reads, given the job's current state.
    pub fn wallets_needed(&self, job: &Job) -> Vec<Handle> {
        let owner = job.details.as_ref().map(|d| d.owner.clone());
        let mut v = match self {
            Self::Launch(c) => vec![c.owner.clone()],
            Self::Apply { by, .. } => vec![by.clone()],
            Self::Withdraw { .. } | Self::Accept { .. } | Self::Cancel { .. } => {
                owner.into_iter().collect()
            }
            Self::Complete { .. } => owner.into_iter().chain(job.accepted.clone()).collect(),
        };
        v.sort();
        v.dedup();
        v
    }
}

impl Job {
    fn details_or_unknown(&self, id: &JobId) -> Result<&JobDetails, Rejection> {
        self.details
            .as_ref()
            .ok_or_else(|| Rejection::UnknownJob(id.clone()))
    }

    fn require_owner<'a>(&'a self, id: &JobId, by: &Handle) -> Result<&'a JobDetails, Rejection> {
        let d = self.details_or_unknown(id)?;
        if &d.owner != by {
            return Err(Rejection::NotJobOwner(d.owner.clone()));
        }
        Ok(d)
    }

    fn require_open(&self) -> Result<(), Rejection> {
        if self.status != JobStatus::Open {
            return Err(Rejection::JobNotOpen(self.status.as_str()));
        }
        Ok(())
    }

    /// The live application of `who`, if any.
    pub fn live_application(&self, who: &Handle) -> Option<&Application> {
        self.applications
            .get(who)
            .filter(|a| a.status == ApplicationStatus::Live)
    }

    /// Applies one event. Has no rules and cannot fail.
    #[must_use]
    pub fn evolve(mut self, event: &JobEvent) -> Self {
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
            JobEvent::ApplicationSubmitted { participant, pitch } => {
                self.applications.insert(
                    participant.clone(),
                    Application {
                        pitch: pitch.clone(),
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
                if let Some(a) = self.applications.get_mut(participant) {
                    a.status = ApplicationStatus::Accepted;
                }
                self.accepted = Some(participant.clone());
                self.status = JobStatus::InProgress;
            }
            JobEvent::JobCompleted { .. } => self.status = JobStatus::Completed,
            JobEvent::JobCancelled { reason } => {
                self.status = JobStatus::Cancelled;
                self.cancel_reason = Some(reason.clone());
            }
        }
        self
    }

    /// Folds a sequence of events from the default state.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a JobEvent>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}

fn wallet<'a>(ctx: &JobContext<'a>, who: &Handle) -> Result<&'a Wallet, Rejection> {
    match ctx.wallets.get(who) {
        Some(w) if w.exists() => Ok(w),
        _ => Err(Rejection::UnknownMember(who.clone())),
    }
}

/// Decides a job command against the job and the wallets it involves.
///
/// # Errors
/// The [`Rejection`] of the first rule the command breaks: `unknown_job`, `unknown_member`,
/// `job_exists`, `insufficient_credits`, `own_job`, `already_applied`, `job_not_open`,
/// `job_not_in_progress`, `no_live_application`, `application_accepted`, `not_job_owner`,
/// `balance_limit`.
pub fn decide(ctx: &JobContext<'_>, command: &JobCommand) -> Result<JobDecision, Rejection> {
    let job = ctx.job;
    let id = ctx.id;
    let mut out = JobDecision::default();
    match command {
        JobCommand::Launch(c) => {
            if job.details.is_some() {
                return Err(Rejection::JobExists(c.job.clone()));
            }
            let owner = wallet(ctx, &c.owner)?;
            if owner.balance < c.reward {
                return Err(Rejection::InsufficientCredits {
                    needed: c.reward,
                    available: owner.balance,
                });
            }
            out.job.push(JobEvent::JobLaunched {
                job: c.job.clone(),
                owner: c.owner.clone(),
                title: c.title.clone(),
                description: c.description.clone(),
                reward: c.reward,
            });
            out.wallets.push((
                c.owner.clone(),
                MemberEvent::CreditsEscrowed {
                    job: c.job.clone(),
                    amount: c.reward,
                },
            ));
        }
        JobCommand::Apply { by, pitch } => {
            let d = job.details_or_unknown(id)?;
            wallet(ctx, by)?;
            if &d.owner == by {
                return Err(Rejection::OwnJob);
            }
            job.require_open()?;
            if job.live_application(by).is_some() {
                return Err(Rejection::AlreadyApplied(by.clone()));
            }
            out.job.push(JobEvent::ApplicationSubmitted {
                participant: by.clone(),
                pitch: pitch.clone(),
            });
        }
        JobCommand::Withdraw { by } => {
            job.details_or_unknown(id)?;
            match job.applications.get(by).map(|a| a.status) {
                Some(ApplicationStatus::Live) => {}
                Some(ApplicationStatus::Accepted) => return Err(Rejection::ApplicationAccepted),
                _ => return Err(Rejection::NoLiveApplication(by.clone())),
            }
            out.job.push(JobEvent::ApplicationWithdrawn {
                participant: by.clone(),
            });
        }
        JobCommand::Accept { by, participant } => {
            job.require_owner(id, by)?;
            job.require_open()?;
            if job.live_application(participant).is_none() {
                return Err(Rejection::NoLiveApplication(participant.clone()));
            }
            out.job.push(JobEvent::ApplicantAccepted {
                participant: participant.clone(),
            });
        }
        JobCommand::Complete { by } => {
            let d = job.require_owner(id, by)?;
            if job.status != JobStatus::InProgress {
                return Err(Rejection::JobNotInProgress(job.status.as_str()));
            }
            // An in-progress job always has an accepted participant (evolve sets both).
            let participant = job
                .accepted
                .clone()
                .ok_or(Rejection::JobNotInProgress(job.status.as_str()))?;
            let paid = wallet(ctx, &participant)?;
            paid.credit(d.reward)?;
            out.job.push(JobEvent::JobCompleted {
                participant: participant.clone(),
                reward: d.reward,
            });
            out.wallets.push((
                d.owner.clone(),
                MemberEvent::EscrowReleased {
                    job: id.clone(),
                    amount: d.reward,
                },
            ));
            out.wallets.push((
                participant,
                MemberEvent::CreditsEarned {
                    job: id.clone(),
                    amount: d.reward,
                },
            ));
        }
        JobCommand::Cancel { by, reason } => {
            let d = job.require_owner(id, by)?;
            job.require_open()?;
            wallet(ctx, &d.owner)?.credit(d.reward)?;
            out.job.push(JobEvent::JobCancelled {
                reason: reason.clone(),
            });
            out.wallets.push((
                d.owner.clone(),
                MemberEvent::CreditsRefunded {
                    job: id.clone(),
                    amount: d.reward,
                },
            ));
        }
    }
    Ok(out)
}
