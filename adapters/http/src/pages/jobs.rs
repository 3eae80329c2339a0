//! Jobs: the board, launching one, and a job as a participant or its owner sees it.

use super::events::{self, time};
use super::forms::{self, Field, Fields, Kind};
use super::layout::credits;
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::{
    Actor, ApplicationStatus, ApplicationView, Error, JobOwnerView, JobParticipantView, JobStatus,
    JobSummary, LaunchJobInput,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(board).post(launch))
        .route("/jobs/new", get(new_job))
        .route("/jobs/{id}", get(participant_view))
        .route("/jobs/{id}/owner", get(owner_view))
}

/// A job's status, in words and as a badge (never by colour alone).
pub(crate) fn status(s: JobStatus) -> Markup {
    html! { span class=(format!("badge status-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

fn app_status(s: ApplicationStatus) -> Markup {
    html! { span class=(format!("badge app-{}", s.as_str())) { (s.as_str()) } }
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
                            td {
                                a href=(format!("/jobs/{}", seg(&j.id))) data-text="title" { (j.title) }
                                p.clamp.muted data-text="description" { (j.description) }
                            }
                            td { "@" (j.owner) }
                            td.num { (credits(j.reward)) }
                            td { (time(&j.launched_at)) }
                        }
                    }
                }
            }
        }
    };
    p.ok("Job board", body)
}

fn launch_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("title", "Title", Kind::Text).hint("1 to 120 characters.").render(values, e))
        (Field::new("description", "Description", Kind::TextArea).optional().render(values, e))
        (Field::new("reward", "Reward in credits", Kind::Number)
            .hint("Held in escrow from your balance until the job is completed or cancelled.")
            .render(values, e))
    };
    forms::form("launch-form", "/jobs", "Launch the job", inner)
}

async fn new_job(p: Page) -> Response {
    if !p.signed_in() {
        return p.error_page(Error::unauthorized(), "Launch a job", None);
    }
    let body = html! { h1 { "Launch a job" } (launch_form(&p, &Fields::default(), None)) };
    p.ok("Launch a job", body)
}

async fn launch(p: Page, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let attempt = async {
        let input = LaunchJobInput {
            title: f.get("title").to_owned(),
            description: f.get("description").to_owned(),
            reward: f.int("reward", "invalid_reward", "a reward")?,
        };
        p.state.tally.launch_job(&ctx, input).await
    };
    match attempt.await {
        Ok(r) => {
            let to = format!("/jobs/{}/owner", seg(r.launched_job().unwrap_or_default()));
            p.see_other(&to, &Flash::receipt(r))
        }
        Err(e) => {
            let form = launch_form(&p, &f, Some(&e));
            p.error_page(e, "Launch a job", Some(form))
        }
    }
}

/// The viewer's own application.
fn my_application(id: &str, a: &ApplicationView) -> Markup {
    html! {
        section #my-application .card aria-labelledby="mine-title" data-participant=(a.participant)
            data-status=(a.status.as_str()) {
            h2 #mine-title { "Your application " (app_status(a.status)) }
            blockquote.pitch data-text="pitch" { (a.pitch) }
            @if a.status == ApplicationStatus::Live {
                a.button href=(format!("/jobs/{}/withdraw", seg(id))) { "Withdraw my application" }
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
        // The owner and admins see everything on the owner's page.
        return Redirect::to(&format!("/jobs/{}/owner", seg(&id))).into_response();
    }
    let j = &v.job;
    let may_apply = j.status == JobStatus::Open
        && matches!(p.actor, Actor::Member(_))
        && v.my_application
            .as_ref()
            .is_none_or(|a| a.status == ApplicationStatus::Withdrawn);
    let body = html! {
        (summary(j, None))
        @if let Some(a) = &v.my_application { (my_application(&j.id, a)) }
        @if may_apply {
            section.card aria-labelledby="apply-title" {
                h2 #apply-title { "Apply" }
                (super::job_actions::apply_form(&p, &j.id, &Fields::default(), None))
            }
        }
        p { a href="/jobs" { "Back to the job board" } }
    };
    p.ok(&j.title, body)
}

/// Every application, with the owner's accept buttons while the job is open.
fn applications(p: &Page, v: &JobOwnerView, is_owner: bool) -> Markup {
    let open = v.job.status == JobStatus::Open;
    html! {
        section aria-labelledby="apps-title" {
            h2 #apps-title { "Applications (" (v.applications.len()) ")" }
            div.table-wrap {
                table #applications {
                    thead { tr { th scope="col" { "Applicant" } th scope="col" { "Pitch" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @if v.applications.is_empty() { tr { td colspan="4" { "Nobody has applied yet." } } }
                        @for a in &v.applications {
                            tr.application data-participant=(a.participant) data-status=(a.status.as_str()) {
                                td { "@" (a.participant) }
                                td.pitch data-text="pitch" { (a.pitch) }
                                td { (app_status(a.status)) }
                                td {
                                    @if is_owner && open && a.status == ApplicationStatus::Live {
                                        (super::job_actions::accept_button(p, &v.job.id, &a.participant))
                                    }
                                }
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
    let is_owner = matches!(&p.actor, Actor::Member(h) if h.as_str() == v.job.owner);
    let body = html! {
        (summary(&v.job, Some(&v)))
        (applications(&p, &v, is_owner))
        @if is_owner { (super::job_actions::owner_actions(&p, &v)) }
        p {
            a href=(format!("/jobs/{}/history", seg(&id))) { "History and time travel" }
            " · " a href="/jobs" { "Job board" }
        }
    };
    p.ok(&v.job.title, body)
}
