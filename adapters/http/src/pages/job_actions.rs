//! What people do to a job: apply and withdraw (participants); accept, complete and cancel
//! (its owner). Each has a page with its form (linked from the job's page, which also offers
//! the same forms inline when the job's status allows them), and a POST that redirects to the
//! job with the receipt, or shows the form again with what went wrong.

use super::forms::{self, Field, Fields, Kind};
use super::jobs::summary;
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::{Error, JobOwnerView, JobStatus, Receipt};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs/{id}/apply", get(apply_page).post(apply))
        .route("/jobs/{id}/withdraw", get(withdraw_page).post(withdraw))
        .route("/jobs/{id}/accept", get(accept_page).post(accept))
        .route("/jobs/{id}/complete", get(complete_page).post(complete))
        .route("/jobs/{id}/cancel", get(cancel_page).post(cancel))
}

fn action(id: &str, what: &str) -> String {
    format!("/jobs/{}/{what}", seg(id))
}

/// Where a command leads: the job, with its receipt; or its form again, with the error.
fn outcome(
    p: &Page,
    r: Result<Receipt, Error>,
    to: String,
    title: &str,
    form: impl FnOnce(Option<&Error>) -> Markup,
) -> Response {
    match r {
        Ok(receipt) => p.see_other(&to, &Flash::receipt(receipt)),
        Err(e) => {
            let f = form(Some(&e));
            p.error_page(e, title, Some(f))
        }
    }
}

pub(crate) fn apply_form(p: &Page, id: &str, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("pitch", "Your pitch", Kind::TextArea)
            .hint("Why you? 1 to 2000 characters. Only the job's owner reads it.")
            .render(values, e))
    };
    forms::form("apply-form", &action(id, "apply"), "Apply", inner)
}

async fn apply_page(p: Page, Path(id): Path<String>) -> Response {
    match p.state.tally.job_participant_view(&p.ctx(), &id).await {
        Ok(v) => p.ok(
            "Apply",
            html! { (summary(&v.job, None)) h2 { "Apply to this job" } (apply_form(&p, &id, &Fields::default(), None)) },
        ),
        Err(e) => p.error_page(e, "Apply", None),
    }
}

async fn apply(p: Page, Path(id): Path<String>, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let r = p.state.tally.apply(&ctx, &id, f.get("pitch")).await;
    let to = format!("/jobs/{}", seg(&id));
    outcome(&p, r, to, "Apply", |e| apply_form(&p, &id, &f, e))
}

fn withdraw_form(p: &Page, id: &str, values: &Fields) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        p { "Your application will be withdrawn. While the job is open you may apply again." }
    };
    forms::form(
        "withdraw-form",
        &action(id, "withdraw"),
        "Withdraw my application",
        inner,
    )
}

async fn withdraw_page(p: Page, Path(id): Path<String>) -> Response {
    match p.state.tally.job_participant_view(&p.ctx(), &id).await {
        Ok(v) => p.ok(
            "Withdraw",
            html! { (summary(&v.job, None)) h2 { "Withdraw your application" } (withdraw_form(&p, &id, &Fields::default())) },
        ),
        Err(e) => p.error_page(e, "Withdraw", None),
    }
}

async fn withdraw(p: Page, Path(id): Path<String>, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let r = p.state.tally.withdraw_application(&ctx, &id).await;
    let to = format!("/jobs/{}", seg(&id));
    outcome(&p, r, to, "Withdraw", |_| withdraw_form(&p, &id, &f))
}

/// The inline button on the owner's page that accepts one applicant.
pub(crate) fn accept_button(p: &Page, id: &str, participant: &str) -> Markup {
    let hidden = html! { input type="hidden" name="participant" value=(participant); };
    let form_id = format!("accept-{participant}");
    forms::button_form(
        &form_id,
        &action(id, "accept"),
        &format!("Accept @{participant}"),
        p.csrf(),
        hidden,
    )
}

fn accept_form(p: &Page, id: &str, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("participant", "Applicant's handle", Kind::Text)
            .hint("The job goes in progress with them; it takes no more applications.")
            .render(values, e))
    };
    forms::form("accept-form", &action(id, "accept"), "Accept", inner)
}

#[derive(Debug, Deserialize)]
struct Participant {
    #[serde(default)]
    participant: String,
}

async fn accept_page(p: Page, Path(id): Path<String>, Query(q): Query<Participant>) -> Response {
    match p.state.tally.job_owner_view(&p.ctx(), &id).await {
        Ok(v) => {
            let values = Fields::from_pairs([("participant", q.participant.as_str())]);
            let body = html! { (summary(&v.job, Some(&v))) h2 { "Accept an applicant" } (accept_form(&p, &id, &values, None)) };
            p.ok("Accept", body)
        }
        Err(e) => p.error_page(e, "Accept", None),
    }
}

async fn accept(p: Page, Path(id): Path<String>, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let r = p
        .state
        .tally
        .accept_applicant(&ctx, &id, f.get("participant"))
        .await;
    outcome(&p, r, action(&id, "owner"), "Accept", |e| {
        accept_form(&p, &id, &f, e)
    })
}

fn complete_form(p: &Page, id: &str, values: &Fields) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        p { "The reward leaves your escrow and is paid to the participant." }
    };
    forms::form(
        "complete-form",
        &action(id, "complete"),
        "Complete and pay",
        inner,
    )
}

async fn complete_page(p: Page, Path(id): Path<String>) -> Response {
    match p.state.tally.job_owner_view(&p.ctx(), &id).await {
        Ok(v) => p.ok(
            "Complete",
            html! { (summary(&v.job, Some(&v))) h2 { "Complete the job" } (complete_form(&p, &id, &Fields::default())) },
        ),
        Err(e) => p.error_page(e, "Complete", None),
    }
}

async fn complete(p: Page, Path(id): Path<String>, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let r = p.state.tally.complete_job(&ctx, &id).await;
    outcome(&p, r, action(&id, "owner"), "Complete", |_| {
        complete_form(&p, &id, &f)
    })
}

fn cancel_form(p: &Page, id: &str, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("reason", "Why cancel?", Kind::Text).optional()
            .hint("The reward returns from escrow to your balance.")
            .render(values, e))
    };
    forms::form_with(
        "cancel-form",
        &action(id, "cancel"),
        "Cancel the job",
        "danger",
        inner,
    )
}

async fn cancel_page(p: Page, Path(id): Path<String>) -> Response {
    match p.state.tally.job_owner_view(&p.ctx(), &id).await {
        Ok(v) => p.ok(
            "Cancel",
            html! { (summary(&v.job, Some(&v))) h2 { "Cancel the job" } (cancel_form(&p, &id, &Fields::default(), None)) },
        ),
        Err(e) => p.error_page(e, "Cancel", None),
    }
}

async fn cancel(p: Page, Path(id): Path<String>, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let r = p.state.tally.cancel_job(&ctx, &id, f.get("reason")).await;
    outcome(&p, r, action(&id, "owner"), "Cancel", |e| {
        cancel_form(&p, &id, &f, e)
    })
}

/// What the owner may do now, as the job's status allows.
pub(crate) fn owner_actions(p: &Page, v: &JobOwnerView) -> Markup {
    let id = &v.job.id;
    html! {
        @match v.job.status {
            JobStatus::Open => section.card aria-labelledby="actions-title" {
                h2 #actions-title { "Your actions" }
                p { "Accept one of the live applications above, or cancel the job." }
                (cancel_form(p, id, &Fields::default(), None))
            },
            JobStatus::InProgress => section.card aria-labelledby="actions-title" {
                h2 #actions-title { "Your actions" }
                (complete_form(p, id, &Fields::default()))
            },
            _ => {},
        }
    }
}
