//! Jobs: the board, launching one, and a job as a participant or its owner sees it.

use super::events::{self, time};
use super::layout::credits;
use super::page::{Page, seg};
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::{
    ActionView, Actor, ApplicationStatus, ApplicationView, JobOwnerView, JobParticipantView,
    JobStatus, JobSummary,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(board))
        .route("/jobs/{id}", get(participant_view))
        .route("/jobs/{id}/owner", get(owner_view))
}

/// A job's status, in words and as a badge (never by colour alone).
pub(crate) fn status(s: JobStatus) -> Markup {
    html! { span class=(format!("badge status-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

fn app_status(s: ApplicationStatus) -> Markup {
    html! { span class=(format!("badge app-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

/// The public details of a job, with its figures in `data-*` attributes.
pub(crate) fn summary(j: &JobSummary, owner: Option<&JobOwnerView>) -> Markup {
    let accepted = owner.and_then(|o| o.accepted.as_deref());
    let reason = owner.and_then(|o| o.cancel_reason.as_deref());
    html! {
        section #job .card aria-labelledby="job-title" data-job-id=(j.id) data-owner=(j.owner)
            data-reward=(j.reward) data-status=(j.status.as_str())
            data-launched-at=(events::exact(&j.launched_at)) data-version=(j.version)
            data-accepted=[accepted] data-cancel-reason=[reason] {
            h1 #job-title data-text="title" { (j.title) }
            p.meta {
                (status(j.status)) " · reward " (credits(j.reward)) " · by "
                strong { "@" (j.owner) } " · launched " (time(&j.launched_at))
            }
            div.description data-text="description" { (j.description) }
            @if let Some(a) = accepted { p { "Participant: " strong { "@" (a) } } }
            @if let Some(r) = reason {
                p { "Cancelled because: " @if r.is_empty() { span.muted { "no reason given" } } @else { (r) } }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct BoardQuery {
    limit: Option<String>,
}

async fn board(p: Page, Query(q): Query<BoardQuery>) -> Response {
    let limit = q
        .limit
        .and_then(|l| l.parse().ok())
        .unwrap_or(50usize)
        .min(500);
    let jobs = match p.state.tally.job_board(&p.ctx(), limit).await {
        Ok(j) => j,
        Err(e) => return p.error_page(e, "Job board", None),
    };
    let body = html! {
        h1 { "Job board" }
        p { "Open jobs, newest first." @if matches!(p.actor, Actor::Member(_)) { " " a.button href="/jobs/new" { "Launch a job" } } }
        div.table-wrap {
            table #board {
                caption.visually-hidden { "Open jobs" }
                thead { tr { th scope="col" { "Job" } th scope="col" { "Owner" } th scope="col" { "Reward" } th scope="col" { "Launched" } } }
                tbody {
                    @if jobs.is_empty() { tr { td colspan="4" { "No open jobs right now." } } }
                    @for j in &jobs {
                        tr.job data-job-id=(j.id) data-owner=(j.owner) data-reward=(j.reward)
                            data-status=(j.status.as_str()) data-launched-at=(events::exact(&j.launched_at))
                            data-version=(j.version) {
                            td data-label="Job" {
                                a href=(format!("/jobs/{}", seg(&j.id))) data-text="title" { (j.title) }
                                p.clamp.muted data-text="description" { (j.description) }
                            }
                            td data-label="Owner" { "@" (j.owner) }
                            td.num data-label="Reward" { (credits(j.reward)) }
                            td data-label="Launched" { (time(&j.launched_at)) }
                        }
                    }
                }
            }
        }
    };
    p.ok("Job board", body)
}

/// `1 day`, `12 days`.
fn days(n: u16) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

/// The viewer's own application.
fn my_application(a: &ApplicationView) -> Markup {
    html! {
        section #my-application .card aria-labelledby="mine-title" data-participant=(a.participant)
            data-status=(a.status.as_str()) data-proposed-days=[a.proposed_days] {
            h2 #mine-title { "Your application " (app_status(a.status)) }
            blockquote.pitch data-text="pitch" { (a.pitch) }
            @if let Some(d) = a.proposed_days { p { "You expect to need " (days(d)) "." } }
        }
    }
}

/// What the viewer may do now, as forms.
pub(crate) fn actions(p: &Page, actions: &[ActionView]) -> Markup {
    html! {
        @if !actions.is_empty() {
            section.card #actions aria-labelledby="actions-title" {
                h2 #actions-title { "What you can do" }
                (super::commands::actions(p, actions))
            }
        }
    }
}

async fn participant_view(p: Page, Path(id): Path<String>) -> Response {
    let v: JobParticipantView = match p.state.tally.job_participant_view(&p.ctx(), &id).await {
        Ok(v) => v,
        Err(e) => return p.error_page(e, "Job", None),
    };
    let owner = matches!(&p.actor, Actor::Member(h) if h.as_str() == v.job.owner);
    if owner || p.actor.is_privileged() {
        // The owner and admins see everything, at the job's one address.
        return owner_view(p, Path(id)).await;
    }
    let j = &v.job;
    let body = html! {
        (summary(j, None))
        @if let Some(a) = &v.my_application { (my_application(a)) }
        (actions(&p, &v.actions))
        p { a href="/jobs" { "Back to the job board" } }
    };
    p.ok(&j.title, body)
}

/// Every application.
fn applications(v: &JobOwnerView) -> Markup {
    html! {
        section aria-labelledby="apps-title" {
            h2 #apps-title { "Applications (" (v.applications.len()) ")" }
            div.table-wrap {
                table #applications {
                    thead { tr { th scope="col" { "Applicant" } th scope="col" { "Pitch" } th scope="col" { "Expects to need" } th scope="col" { "Status" } } }
                    tbody {
                        @if v.applications.is_empty() { tr { td colspan="4" { "Nobody has applied yet." } } }
                        @for a in &v.applications {
                            tr.application data-participant=(a.participant) data-status=(a.status.as_str())
                                data-proposed-days=[a.proposed_days] {
                                td data-label="Applicant" { "@" (a.participant) }
                                td.pitch data-label="Pitch" data-text="pitch" { (a.pitch) }
                                td data-label="Expects to need" { @match a.proposed_days { Some(d) => (days(d)), None => span.muted { "not said" } } }
                                td data-label="Status" { (app_status(a.status)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn owner_view(p: Page, Path(id): Path<String>) -> Response {
    let v = match p.state.tally.job_owner_view(&p.ctx(), &id).await {
        Ok(v) => v,
        Err(e) => return p.error_page(e, "Job", None),
    };
    let body = html! {
        (summary(&v.job, Some(&v)))
        (applications(&v))
        (actions(&p, &v.actions))
        p {
            a href=(format!("/jobs/{}/history", seg(&id))) { "History and time travel" }
            " · " a href="/jobs" { "Job board" }
        }
    };
    p.ok(&v.job.title, body)
}
