//! Receipts in words: after a command, the page says what happened as a person would ("You
//! launched “Logo design” and 30 cr are held in escrow"), naming the job by its title and
//! linking it, rather than by its stream and version (those stay in the receipt's hooks).
//!
//! And whether a form had been sent before: a form keeps its command id across Back (see
//! `commands`), so sending it again replays the first outcome; the receipt then says so.

use super::forms::Fields;
use super::page::{Page, seg};
use super::security::{COMMAND_ID_FIELD, Link, Said};
use axum::response::Response;
use maud::html;
use tally_domain::{CommandKind, EntityKind, Target};
use tally_ports::{EntityRef, Error, Receipt};
use uuid::Uuid;

/// Whether the command id `id` has already been recorded for this command on its entity (as
/// far as the caller may see): a launch's job is named after its command id; a command on an
/// entity left the id on the events it recorded there.
pub(crate) async fn already_sent(p: &Page, kind: CommandKind, key: Option<&str>, id: Uuid) -> bool {
    let ctx = p.ctx();
    let tally = &p.state.tally;
    match (kind.target(), key) {
        (Target::New(EntityKind::Job), _) => tally
            .job_participant_view(&ctx, &id.to_string())
            .await
            .is_ok_and(|v| v.job.id == id.to_string()),
        (Target::On(EntityKind::Member), Some(handle)) => tally
            .wallet(&ctx, handle)
            .await
            .is_ok_and(|w| w.history.iter().any(|e| e.command_id == id)),
        (Target::On(EntityKind::Job), Some(job)) => {
            let entity = EntityRef {
                kind: EntityKind::Job,
                key: job.to_owned(),
            };
            tally
                .history(&ctx, &entity)
                .await
                .is_ok_and(|h| h.iter().any(|e| e.command_id == id))
        }
        _ => false,
    }
}

/// `30 cr`.
fn cr(n: u64) -> String {
    format!("{n} cr")
}

fn job_link(title: &str, job: &str) -> Option<Link> {
    Some(Link {
        text: format!("“{title}”"),
        href: format!("/jobs/{}", seg(job)),
    })
}

/// What the command of `kind` that gave `r` did, in words; `again` when it had been sent
/// before (nothing new was recorded). `None` when the page cannot tell (the receipt then
/// lists the events).
pub(crate) async fn said(
    p: &Page,
    kind: CommandKind,
    key: Option<&str>,
    f: &Fields,
    r: &Receipt,
    again: bool,
) -> Option<Said> {
    let ctx = p.ctx();
    let tally = &p.state.tally;
    let job_key = match kind.target() {
        Target::New(EntityKind::Job) => r.launched_job(),
        Target::On(EntityKind::Job) => key,
        _ => None,
    };
    // Read after the command: the views already show it (read-your-writes).
    let job = match job_key {
        Some(j) => tally
            .job_participant_view(&ctx, j)
            .await
            .ok()
            .map(|v| v.job),
        None => None,
    };
    let owner_view = match (kind, job_key) {
        (CommandKind::CompleteJob, Some(j)) => tally.job_owner_view(&ctx, j).await.ok(),
        _ => None,
    };
    let (title, job_id, reward) = job
        .as_ref()
        .map(|j| (j.title.as_str(), j.id.as_str(), j.reward))
        .unwrap_or_default();
    let link = job.as_ref().and_then(|_| job_link(title, job_id));
    let (before, link, after, next) = match kind {
        CommandKind::LaunchJob => (
            "You launched".to_owned(),
            link,
            format!(
                "and {} are held in escrow until it is completed or cancelled.",
                cr(reward)
            ),
            Some(Link {
                text: "Launch another job".to_owned(),
                href: super::commands::page(kind, ""),
            }),
        ),
        CommandKind::Apply => ("You applied to".to_owned(), link, ".".to_owned(), None),
        CommandKind::WithdrawApplication => (
            "You withdrew your application to".to_owned(),
            link,
            ".".to_owned(),
            None,
        ),
        CommandKind::AcceptApplicant => (
            format!("You accepted @{} for", f.get("participant").trim()),
            link,
            format!(
                ": the job is in progress, and its {} stay in escrow until you complete it.",
                cr(reward)
            ),
            None,
        ),
        CommandKind::CompleteJob => {
            let to = owner_view
                .as_ref()
                .and_then(|v| v.accepted.clone())
                .map_or_else(|| "the participant".to_owned(), |h| format!("@{h}"));
            (
                "You completed".to_owned(),
                link,
                format!("and paid {to} its reward of {}.", cr(reward)),
                None,
            )
        }
        CommandKind::CancelJob => {
            let owner = job.as_ref().map(|j| j.owner.as_str()).unwrap_or_default();
            let whose = if matches!(&p.actor, tally_ports::Actor::Member(h) if h.as_str() == owner)
            {
                "your wallet".to_owned()
            } else {
                format!("the wallet of @{owner}")
            };
            (
                "You cancelled".to_owned(),
                link,
                format!("and its {} went back to {whose}.", cr(reward)),
                None,
            )
        }
        CommandKind::EditJobDescription => (
            "You changed the description of".to_owned(),
            link,
            ".".to_owned(),
            None,
        ),
        CommandKind::GrantCredits => {
            let handle = key.unwrap_or_default();
            (
                format!("You granted {} cr to", f.get("amount").trim()),
                Some(Link {
                    text: format!("@{handle}"),
                    href: format!("/members/{}/wallet", seg(handle)),
                }),
                ".".to_owned(),
                None,
            )
        }
        CommandKind::ForgetMember => (
            format!("@{} was forgotten", key.unwrap_or_default()),
            None,
            format!(
                ": their name, pitches, job descriptions and grant reasons now read as \
                 \u{201c}{}\u{201d}, everywhere; their credits and jobs stay accounted for.",
                tally_domain::FORGOTTEN
            ),
            None,
        ),
        CommandKind::RegisterMember => return None,
    };
    if job_key.is_some() && link.is_none() {
        return None;
    }
    let before = if again {
        let what = if kind == CommandKind::LaunchJob {
            "Already launched"
        } else {
            "Already done"
        };
        format!("{what}: this form had been sent before, so nothing new was recorded. {before}")
    } else {
        before
    };
    Some(Said {
        again,
        before,
        link,
        after,
        next,
    })
}

/// The answer to a form sent again with other values (its command id already ran another
/// command, `e`): the first one, linked when it launched a job, and the form again with what
/// was typed as a new form, to send deliberately.
pub(crate) async fn sent_before(
    p: &Page,
    kind: CommandKind,
    key: &str,
    f: &Fields,
    old: Option<Uuid>,
    e: Error,
) -> Response {
    let first = match (kind.target(), old) {
        (Target::New(EntityKind::Job), Some(id)) => p
            .state
            .tally
            .job_participant_view(&p.ctx(), &id.to_string())
            .await
            .ok()
            .map(|v| v.job),
        _ => None,
    };
    let mut fresh = f.clone();
    fresh.set(COMMAND_ID_FIELD, Uuid::now_v7().to_string());
    let form = html! {
        p #sent-before {
            "This form had already been sent"
            @if let Some(j) = &first {
                ": it launched " a href=(format!("/jobs/{}", seg(&j.id))) { "“" (j.title) "”" }
            }
            ". Nothing new was recorded. To send what you typed as a new "
            @if kind == CommandKind::LaunchJob { "job" } @else { "command" }
            ", use the new form below."
        }
        (super::commands::form(p, kind, key, &fresh, Some(&e)))
    };
    p.error_page(e, kind.label(), Some(form))
}
