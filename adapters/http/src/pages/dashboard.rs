//! The dashboard: where `/` leads a person, according to who they are.

use super::jobs::status;
use super::layout::credits;
use super::page::{Page, seg};
use axum::response::Response;
use maud::{Markup, html};
use tally_ports::jobs::JobQuery;
use tally_ports::{Actor, Error, JobStatus};

/// The dashboard (served at `/` to browsers).
pub(crate) async fn show(p: Page) -> Response {
    let ctx = p.ctx();
    let t = &p.state.tally;
    let body: Result<Markup, Error> = match &p.actor {
        Actor::Anonymous => t.job_board(&ctx, 5).await.map(|jobs| {
            html! {
                h1 { "Tally" }
                p.lead { "A marketplace where members pay each other in credits for jobs well done, and every credit is accounted for." }
                p.actions { a.button href="/signup" { "Sign up" } " " a href="/login" { "Log in" } }
                h2 { "Newest open jobs" }
                ul.jobs {
                    @for j in &jobs {
                        li { (status(j.status)) " " a href=(format!("/jobs/{}", seg(&j.id))) { strong { (j.title) } } " · " (credits(j.reward)) " · by @" (j.owner) }
                    }
                    @if jobs.is_empty() { li.muted { "No open jobs right now." } }
                }
                p { a href="/jobs" { "The whole job board" } }
            }
        }),
        Actor::Member(h) => member(&p, h.as_str()).await,
        Actor::Admin(_) | Actor::System(_) => t.members(&ctx).await.map(|list| {
            let (balance, escrow) = list.iter().fold((0, 0), |(b, e), m| (b + m.balance, e + m.escrowed));
            html! {
                h1 { "Administration" }
                dl.figures {
                    div { dt { "Members" } dd { (list.len()) } }
                    div { dt { "Credits available" } dd { (credits(balance)) } }
                    div { dt { "Credits in escrow" } dd { (credits(escrow)) } }
                }
                ul.tiles {
                    li { a href="/admin/members" { "Members" } }
                    li { a href="/admin/members/new" { "Register a member" } }
                    li { a href="/admin/grants/new" { "Grant credits" } }
                    li { a href="/admin/accounts/new" { "Give someone an account" } }
                    li { a href="/admin/feed" { "History feed" } }
                    li { a href="/admin/jobs" { "All jobs" } }
                    li { a href="/jobs" { "Job board" } }
                }
            }
        }),
    };
    match body {
        Ok(b) => p.ok("Home", b),
        Err(e) => p.error_page(e, "Home", None),
    }
}

/// A member's dashboard: their wallet's figures, the jobs they launched and the jobs they
/// applied to (the newest few of each), and what holds their credits, by job title.
async fn member(p: &Page, me: &str) -> Result<Markup, Error> {
    let (ctx, t) = (p.ctx(), &p.state.tally);
    let w = t.wallet(&ctx, me).await?;
    let statuses = JobStatus::ALL
        .into_iter()
        .filter(|s| *s != JobStatus::Draft)
        .collect::<Vec<_>>();
    let few = |owner: Option<String>, applicant: Option<String>| JobQuery {
        statuses: statuses.clone(),
        owner,
        applicant,
        limit: 5,
        ..JobQuery::default()
    };
    let launched = t.jobs(&ctx, few(Some(me.to_owned()), None)).await?;
    let applied = t.jobs(&ctx, few(None, Some(me.to_owned()))).await?;
    let titles = super::jobs::active_titles(p, &w).await?;
    let title = |id: &str| titles.get(id).cloned();
    let mine = seg(&w.handle);
    Ok(html! {
        h1 { "Hello, " (w.display_name) }
        (super::wallet::figures(&w))
        p.actions {
            a.button href="/jobs/new" { "Launch a job" } " "
            a href="/jobs" { "Find a job" } " · "
            a href=(format!("/members/{mine}/wallet")) { "My wallet" } " · "
            a href=(format!("/members/{mine}/history")) { "My history" }
        }
        @if !w.escrow.is_empty() {
            h2 { "Your jobs holding credits" }
            ul #escrow-jobs { @for l in &w.escrow {
                li data-job-id=(l.job) {
                    a href=(format!("/jobs/{}", seg(&l.job))) {
                        @match title(&l.job) { Some(t) => (t), None => code { (l.job) } }
                    }
                    " holds " (credits(l.amount))
                }
            } }
        }
        div.columns {
            (super::jobs::short_list("/my/jobs", "Jobs you launched", &launched, "You have not launched a job yet."))
            (super::jobs::short_list("/my/applications", "Jobs you applied to", &applied, "You have not applied to a job yet."))
        }
    })
}
