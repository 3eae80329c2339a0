//! Jobs: the board, launching one, and a job as a participant or its owner sees it.

use super::events::{self, time};
use super::layout::credits;
use super::page::{Page, seg};
use crate::AppState;
use crate::api::jobs::JobsQuery;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use std::collections::HashMap;
use tally_ports::jobs::{Cursor, DEFAULT_PAGE, JobPage, JobQuery};
use tally_ports::{
    ActionView, Actor, ApplicationStatus, ApplicationView, JobOwnerView, JobParticipantView,
    JobStatus, JobSummary,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(board))
        .route("/my/jobs", get(mine))
        .route("/my/applications", get(applied))
        .route("/admin/jobs", get(all_jobs))
        .route("/jobs/{id}", get(participant_view))
        .route("/jobs/{id}/owner", get(owner_view))
}

/// A job's status, in words and as a badge (never by colour alone).
pub(crate) fn status(s: JobStatus) -> Markup {
    html! { span class=(format!("badge status-{}", s.as_str())) { (s.as_str().replace('_', " ")) } }
}

pub(crate) fn app_status(s: ApplicationStatus) -> Markup {
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

/// The page's address for a list at `path` with `q`.
fn list_url(path: &str, q: &JobQuery) -> String {
    crate::api::jobs::page_url(path, q)
}

/// Which list of jobs a page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// Open jobs, searched and filtered: anyone.
    Board,
    /// The viewer's own jobs, by status.
    Mine,
    /// The jobs the viewer applied to, with their application's status.
    Applied,
    /// Every job in every state (admins).
    All,
}

impl ListKind {
    fn path(self) -> &'static str {
        match self {
            Self::Board => "/jobs",
            Self::Mine => "/my/jobs",
            Self::Applied => "/my/applications",
            Self::All => "/admin/jobs",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Board => "Job board",
            Self::Mine => "My jobs",
            Self::Applied => "My applications",
            Self::All => "All jobs",
        }
    }
}

/// `3 open jobs`, `more than 1,000 jobs`.
fn count(page: &JobPage, noun: &str) -> String {
    let n = thousands(page.total);
    let plural = if page.total == 1 { "" } else { "s" };
    if page.total_exact {
        format!("{n} {noun}{plural}")
    } else {
        format!("about {n} {noun}s")
    }
}

/// `12345` -> `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The search form of the board (and of the admins' list): a GET form, so that a search is
/// an address one can keep or share.
fn search_form(kind: ListKind, q: &JobQuery) -> Markup {
    let v = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let max = tally_domain::values::MAX_REWARD;
    html! {
        form.search #job-search method="get" action=(kind.path()) role="search" {
            div.field {
                label for="q" { "Search titles and descriptions" }
                input #q type="search" name="q" maxlength="200" value=(q.text.clone().unwrap_or_default())
                    aria-describedby="q-hint";
                p.hint #q-hint { "Words that begin words of the job, e.g. " i { "logo des" } "." }
            }
            div.field.pair {
                div {
                    label for="min_reward" { "Reward from" }
                    input #min_reward type="number" inputmode="numeric" name="min_reward" min="0" max=(max) value=(v(q.min_reward));
                }
                div {
                    label for="max_reward" { "to" }
                    input #max_reward type="number" inputmode="numeric" name="max_reward" min="0" max=(max) value=(v(q.max_reward));
                }
            }
            @for (k, val) in q.to_pairs().into_iter().filter(|(k, _)| *k == "status" || *k == "owner") {
                input type="hidden" name=(k) value=(val);
            }
            button type="submit" { "Search" }
            @if q.text.is_some() || q.min_reward.is_some() || q.max_reward.is_some() {
                " " a href=(list_url(kind.path(), &JobQuery { text: None, min_reward: None, max_reward: None, ..q.at(Cursor::First) })) { "Clear the search" }
            }
        }
    }
}

/// Status tabs for the lists that hold jobs in every state.
fn status_tabs(kind: ListKind, q: &JobQuery) -> Markup {
    let current: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
    let tabs: [(&str, Vec<JobStatus>); 5] = [
        ("All", Vec::new()),
        ("Open", vec![JobStatus::Open]),
        ("In progress", vec![JobStatus::InProgress]),
        ("Completed", vec![JobStatus::Completed]),
        ("Cancelled", vec![JobStatus::Cancelled]),
    ];
    html! {
        nav.tabs aria-label="By status" {
            ul {
                @for (label, statuses) in tabs {
                    @let all = statuses.is_empty();
                    @let chosen = if all { current.len() != 1 } else { current == [statuses[0].as_str()] };
                    @let target = JobQuery { statuses: if all { every_status() } else { statuses }, ..q.at(Cursor::First) };
                    li {
                        a href=(list_url(kind.path(), &target)) aria-current=[chosen.then_some("page")] { (label) }
                    }
                }
            }
        }
    }
}

fn every_status() -> Vec<JobStatus> {
    JobStatus::ALL
        .into_iter()
        .filter(|s| *s != JobStatus::Draft)
        .collect()
}

/// A page of jobs as a table, with its count and the links to the pages beside it.
fn job_table(kind: ListKind, q: &JobQuery, page: &JobPage) -> Markup {
    let noun = match kind {
        ListKind::Board => "open job",
        _ => "job",
    };
    let searched = q.text.is_some() || q.min_reward.is_some() || q.max_reward.is_some();
    html! {
        section #job-list aria-labelledby="job-count" data-total=(page.total)
            data-total-exact=(page.total_exact) data-older=[page.older.as_deref()]
            data-newer=[page.newer.as_deref()] {
            p #job-count role="status" {
                strong { (count(page, noun)) }
                @if searched { " match your search" }
                @if !page.jobs.is_empty() { " · newest first" }
            }
            div.table-wrap {
                table #board .stack {
                    caption.visually-hidden { (kind.title()) }
                    thead { tr {
                        th scope="col" { "Job" }
                        th scope="col" { "Status" }
                        @if kind == ListKind::Applied { th scope="col" { "Your application" } }
                        @else { th scope="col" { "Owner" } }
                        th scope="col" { "Reward" }
                        @if kind == ListKind::Mine || kind == ListKind::All { th scope="col" { "Applications" } }
                        th scope="col" { "Launched" }
                    } }
                    tbody {
                        @if page.jobs.is_empty() {
                            tr { td colspan="6" {
                                @match (kind, searched) {
                                    (ListKind::Board, false) => "No open jobs right now.",
                                    (_, true) => "No job matches your search.",
                                    (ListKind::Mine, _) => "You have not launched a job in this state.",
                                    (ListKind::Applied, _) => "You have not applied to a job in this state.",
                                    (ListKind::All, _) => "No job in this state.",
                                }
                            } }
                        }
                        @for l in &page.jobs {
                            @let j = &l.job;
                            tr.job data-job-id=(j.id) data-owner=(j.owner) data-reward=(j.reward)
                                data-status=(j.status.as_str()) data-launched-at=(events::exact(&j.launched_at))
                                data-version=(j.version) data-applications=(l.applications)
                                data-my-application=[l.my_application.map(|a| a.as_str())] {
                                td data-label="Job" {
                                    a href=(format!("/jobs/{}", seg(&j.id))) data-text="title" { (j.title) }
                                    p.clamp.muted data-text="description" { (j.description) }
                                }
                                td data-label="Status" { (status(j.status)) }
                                @if kind == ListKind::Applied {
                                    td data-label="Your application" { @if let Some(a) = l.my_application { (app_status(a)) } }
                                } @else {
                                    td data-label="Owner" { a href=(list_url("/jobs", &JobQuery { owner: Some(j.owner.clone()), ..JobQuery::default() })) { "@" (j.owner) } }
                                }
                                td.num data-label="Reward" { (credits(j.reward)) }
                                @if kind == ListKind::Mine || kind == ListKind::All { td.num data-label="Applications" { (l.applications) } }
                                td data-label="Launched" { (time(&j.launched_at)) }
                            }
                        }
                    }
                }
            }
            @if page.newer.is_some() || page.older.is_some() {
                nav.pager aria-label="Pages" {
                    @if let Some(n) = &page.newer { a rel="prev" href=(list_url(kind.path(), &q.at(Cursor::After(n.clone())))) { "← Newer jobs" } }
                    @if page.newer.is_some() { " " a href=(list_url(kind.path(), &q.at(Cursor::First))) { "Newest" } }
                    @if let Some(o) = &page.older { " " a rel="next" href=(list_url(kind.path(), &q.at(Cursor::Before(o.clone())))) { "Older jobs →" } }
                }
            }
        }
    }
}

/// A list page: the query from the address (as the JSON API reads it), the list, the page.
async fn list_page(p: Page, kind: ListKind, raw: HashMap<String, String>) -> Response {
    let parsed = JobsQuery::from_text(&raw).and_then(|q| q.parse(DEFAULT_PAGE as u64));
    let mut q = match parsed {
        Ok(q) => q,
        Err(e) => return p.error_page(e, kind.title(), None),
    };
    let me = match &p.actor {
        Actor::Member(h) => Some(h.to_string()),
        _ => None,
    };
    match kind {
        ListKind::Board => {}
        ListKind::Mine | ListKind::Applied => {
            let Some(me) = me else {
                return p.error_page(
                    tally_domain::Rejection::SignInFirst.into(),
                    kind.title(),
                    None,
                );
            };
            if kind == ListKind::Mine {
                q.owner = Some(me);
            } else {
                q.applicant = Some(me);
            }
            if q.statuses.is_empty() {
                q.statuses = every_status();
            }
        }
        ListKind::All => {
            if q.statuses.is_empty() {
                q.statuses = every_status();
            }
        }
    }
    let page = match p.state.tally.jobs(&p.ctx(), q.clone()).await {
        Ok(j) => j,
        Err(e) => return p.error_page(e, kind.title(), None),
    };
    let body = html! {
        h1 { (kind.title()) }
        @match kind {
            ListKind::Board => p {
                "Open jobs, newest first."
                @if let Some(o) = &q.owner { " Launched by " strong { "@" (o) } ". " a href="/jobs" { "Every owner" } }
                @if matches!(p.actor, Actor::Member(_)) { " " a.button href="/jobs/new" { "Launch a job" } }
                @if !p.signed_in() { " " a href="/login?next=%2Fjobs" { "Log in" } " to apply." }
            },
            ListKind::Mine => p { "The jobs you launched, in every state. " a.button href="/jobs/new" { "Launch a job" } },
            ListKind::Applied => p { "The jobs you applied to, with where your application is. " a href="/jobs" { "Find a job" } },
            ListKind::All => p { "Every job, in every state." },
        }
        @if matches!(kind, ListKind::Mine | ListKind::Applied | ListKind::All) { (status_tabs(kind, &q)) }
        @if matches!(kind, ListKind::Board | ListKind::All) { (search_form(kind, &q)) }
        (job_table(kind, &q, &page))
    };
    p.ok(kind.title(), body)
}

async fn board(p: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    list_page(p, ListKind::Board, q).await
}

async fn mine(p: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    list_page(p, ListKind::Mine, q).await
}

async fn applied(p: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    list_page(p, ListKind::Applied, q).await
}

async fn all_jobs(p: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    list_page(p, ListKind::All, q).await
}

/// The newest few of a member's list, for the dashboard.
pub(crate) fn short_list(kind_path: &str, title: &str, page: &JobPage, empty: &str) -> Markup {
    html! {
        section.card aria-labelledby=(format!("{}-title", &kind_path[4..])) {
            h2 id=(format!("{}-title", &kind_path[4..])) { (title) " (" (count(page, "job")) ")" }
            @if page.jobs.is_empty() { p.muted { (empty) } }
            @else {
                ul.jobs {
                    @for l in &page.jobs {
                        li data-job-id=(l.job.id) {
                            a href=(format!("/jobs/{}", seg(&l.job.id))) { (l.job.title) } " · " (status(l.job.status))
                            @if let Some(a) = l.my_application { " · your application " (app_status(a)) }
                            " · " (credits(l.job.reward))
                        }
                    }
                }
                p { a href=(kind_path) { "All of them" } }
            }
        }
    }
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
    let here = format!("/jobs/{}", seg(&j.id));
    let body = html! {
        (summary(j, None))
        @if !p.signed_in() && j.status == JobStatus::Open {
            p.notice #log-in-to-apply {
                a href=(format!("/login?next={}", here.replace('/', "%2F"))) { "Log in" }
                " or " a href="/signup" { "sign up" } " to apply to this job."
            }
        }
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

/// The titles of a member's jobs that hold credits (open or in progress), by job id, for their
/// wallet and dashboard.
pub(crate) async fn active_titles(
    p: &Page,
    w: &tally_ports::WalletView,
) -> Result<HashMap<String, String>, tally_ports::Error> {
    if w.escrow.is_empty() {
        return Ok(HashMap::new());
    }
    let q = JobQuery {
        statuses: vec![JobStatus::Open, JobStatus::InProgress],
        owner: Some(w.handle.clone()),
        limit: tally_ports::jobs::MAX_PAGE,
        ..JobQuery::default()
    };
    let page = p.state.tally.jobs(&p.ctx(), q).await?;
    Ok(page
        .jobs
        .into_iter()
        .map(|l| (l.job.id, l.job.title))
        .collect())
}
