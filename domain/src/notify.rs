//! The notification policy: who is told what when a command's events are recorded.
//!
//! Pure, like decisions: given the states the decision read (before its events) and the
//! events it recorded, [`notifications`] says which member is told what. Nothing here is an
//! event: a notification is a side effect, written to an outbox in the same transaction as
//! the events that cause it, and delivered from there (in-app, webhooks). The history never
//! records whether it was delivered.

use crate::command::Change;
use crate::entity::{Event, States};
use crate::job::{ApplicationStatus, JobEvent};
use crate::member::MemberEvent;
use crate::stream::EntityKind;
use crate::values::{Credits, Handle, JobId, Reason, Title};
use serde::{Deserialize, Serialize};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The owner of a job: someone applied to it.
    ApplicationReceived,
    /// An applicant: the owner accepted them.
    ApplicationAccepted,
    /// An applicant whose application was still live: the job went to someone else.
    ApplicationNotSelected,
    /// An applicant whose application was still live: the owner cancelled the job.
    JobCancelled,
    /// The participant: the job was completed and they were paid its reward.
    JobPaid,
    /// A member: an admin granted them credits.
    CreditsGranted,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 6] = [
        Self::ApplicationReceived,
        Self::ApplicationAccepted,
        Self::ApplicationNotSelected,
        Self::JobCancelled,
        Self::JobPaid,
        Self::CreditsGranted,
    ];

    /// The kind as a word, e.g. `application_received` (how webhooks subscribe to it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApplicationReceived => "application_received",
            Self::ApplicationAccepted => "application_accepted",
            Self::ApplicationNotSelected => "application_not_selected",
            Self::JobCancelled => "job_cancelled",
            Self::JobPaid => "job_paid",
            Self::CreditsGranted => "credits_granted",
        }
    }

    /// The kind named by `s` (see [`NotificationKind::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the kind means, for people choosing what a webhook receives.
    pub fn doc(self) -> &'static str {
        match self {
            Self::ApplicationReceived => "someone applied to a job you own",
            Self::ApplicationAccepted => "your application was accepted",
            Self::ApplicationNotSelected => "a job you applied to went to someone else",
            Self::JobCancelled => "a job you applied to was cancelled",
            Self::JobPaid => "a job you did was completed and paid",
            Self::CreditsGranted => "credits were granted to you",
        }
    }
}

/// A job as a notification names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMention {
    /// The job's id.
    pub id: JobId,
    /// Its title.
    pub title: Title,
}

/// One member told one thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Who is told.
    pub recipient: Handle,
    /// What about.
    pub kind: NotificationKind,
    /// The job concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobMention>,
    /// The other member concerned (the applicant, for the owner), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Handle>,
    /// The credits concerned (a reward paid, a grant), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Credits>,
    /// The reason given (a cancellation's, a grant's), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

impl Notification {
    fn new(recipient: &Handle, kind: NotificationKind) -> Self {
        Self {
            recipient: recipient.clone(),
            kind,
            job: None,
            member: None,
            amount: None,
            reason: None,
        }
    }

    /// What it says, in words, to its recipient, e.g. `bob applied to "Logo design"`.
    pub fn summary(&self) -> String {
        let title = self.job.as_ref().map_or_else(
            || "a job".to_owned(),
            |j| format!("\u{201c}{}\u{201d}", j.title),
        );
        let amount = self.amount.map(|a| format!("{a} cr")).unwrap_or_default();
        let reason = self
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        match self.kind {
            NotificationKind::ApplicationReceived => match &self.member {
                Some(m) => format!("{m} applied to {title}"),
                None => format!("Someone applied to {title}"),
            },
            NotificationKind::ApplicationAccepted => {
                format!("You were accepted for {title}")
            }
            NotificationKind::ApplicationNotSelected => {
                format!("{title} went to someone else")
            }
            NotificationKind::JobCancelled => format!("{title} was cancelled{reason}"),
            NotificationKind::JobPaid => format!("You were paid {amount} for {title}"),
            NotificationKind::CreditsGranted => format!("You were granted {amount}{reason}"),
        }
    }
}

/// Who is told what once `changes` are recorded, `before` being the states the decision read
/// (the job's owner, title and applicants are read there). In the order of the events; one
/// notification per recipient and event.
pub fn notifications(before: &States, changes: &[Change]) -> Vec<Notification> {
    let mut out = Vec::new();
    for (stream, event) in changes {
        match (stream.kind(), event) {
            (EntityKind::Job, Event::Job(e)) => {
                let Ok(id) = JobId::parse(stream.key()) else {
                    continue;
                };
                let job = before.job(&id);
                let Some(details) = &job.details else {
                    continue; // launched by this very command: nobody to tell yet
                };
                let mention = || JobMention {
                    id: id.clone(),
                    title: details.title.clone(),
                };
                let about = |to: &Handle, kind| Notification {
                    job: Some(mention()),
                    ..Notification::new(to, kind)
                };
                // The applicants whose application was still live before this event.
                let live = || {
                    job.applications
                        .iter()
                        .filter(|(_, a)| a.status == ApplicationStatus::Live)
                        .map(|(h, _)| h)
                };
                match e {
                    JobEvent::ApplicationSubmitted { participant, .. } => out.push(Notification {
                        member: Some(participant.clone()),
                        ..about(&details.owner, NotificationKind::ApplicationReceived)
                    }),
                    JobEvent::ApplicantAccepted { participant } => {
                        out.push(about(participant, NotificationKind::ApplicationAccepted));
                        out.extend(
                            live()
                                .filter(|h| *h != participant)
                                .map(|h| about(h, NotificationKind::ApplicationNotSelected)),
                        );
                    }
                    JobEvent::JobCancelled { reason } => {
                        out.extend(live().chain(job.accepted.iter()).map(|h| Notification {
                            reason: Some(reason.clone()),
                            ..about(h, NotificationKind::JobCancelled)
                        }));
                    }
                    JobEvent::JobCompleted {
                        participant,
                        reward,
                    } => out.push(Notification {
                        amount: Some(*reward),
                        ..about(participant, NotificationKind::JobPaid)
                    }),
                    JobEvent::JobLaunched { .. }
                    | JobEvent::ApplicationWithdrawn { .. }
                    | JobEvent::JobDescriptionEdited { .. } => {}
                }
            }
            (
                EntityKind::Member,
                Event::Member(MemberEvent::CreditsGranted { amount, reason, .. }),
            ) => {
                let Ok(member) = Handle::parse(stream.key()) else {
                    continue;
                };
                out.push(Notification {
                    amount: Some(*amount),
                    reason: Some(reason.clone()),
                    ..Notification::new(&member, NotificationKind::CreditsGranted)
                });
            }
            _ => {}
        }
    }
    out
}
