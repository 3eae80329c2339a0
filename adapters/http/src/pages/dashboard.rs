//! The dashboard: where `/` leads a person, according to who they are.

use super::jobs::status;
use super::layout::credits;
use super::page::{Page, seg};
use axum::response::Response;
use maud::{Markup, html};
use tally_ports::{Actor, Error};

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
                        li { (status(j.status)) " " strong { (j.title) } " · " (credits(j.reward)) " · by @" (j.owner) }
                    }
                    @if jobs.is_empty() { li.muted { "No open jobs right now." } }
                }
                p { a href="/jobs" { "The whole job board" } }
            }
        }),
        Actor::Member(h) => t.wallet(&ctx, h.as_str()).await.map(|w| {
            let me = seg(&w.handle);
            html! {
                h1 { "Hello, " (w.display_name) }
                (super::wallet::figures(&w))
                p.actions {
                    a.button href="/jobs/new" { "Launch a job" } " "
                    a href="/jobs" { "Find a job" } " · "
                    a href=(format!("/members/{me}/wallet")) { "My wallet" } " · "
                    a href=(format!("/members/{me}/history")) { "My history" }
                }
                @if !w.escrow.is_empty() {
                    h2 { "Your jobs holding credits" }
                    ul { @for l in &w.escrow {
                        li { a href=(format!("/jobs/{}", seg(&l.job))) { code { (l.job) } } " holds " (credits(l.amount)) }
                    } }
                }
            }
        }),
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
