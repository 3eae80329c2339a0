//! Lists of jobs: the board searched, filtered and paged; a member's own jobs and the jobs
//! they applied to; every job, for admins.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::{gherkin::Step, then, when};
use tally_ports::jobs::{Cursor, JobPage, JobQuery};
use tally_ports::{Actor, JobStatus};

/// Every status a launched job can be in.
fn every_status() -> Vec<JobStatus> {
    tally_ports::jobs::parse_statuses("all").expect("`all` is a status list")
}

/// Asks for a list and keeps its page (or the refusal).
async fn ask(w: &mut TallyWorld, who: &Who, q: JobQuery) -> Result<()> {
    let t = w.begin().await?;
    let ctx = who.ctx();
    let r = t.jobs(&ctx, q.clone()).await;
    w.job_page = w.settle(r);
    w.job_query = Some((ctx, q));
    Ok(())
}

fn member(who: &Who) -> Result<String> {
    match &who.0 {
        Actor::Member(h) => Ok(h.to_string()),
        a => bail!("{a:?} is not a member"),
    }
}

#[when(expr = "{actor} looks at the job board {int} at a time")]
async fn board_paged(w: &mut TallyWorld, who: Who, n: usize) -> Result<()> {
    ask(w, &who, JobQuery::board(n)).await
}

#[when(expr = "{actor} searches the job board for {string}")]
async fn search(w: &mut TallyWorld, who: Who, text: String) -> Result<()> {
    let q = JobQuery {
        text: Some(text),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks for open jobs with a reward from {int} to {int} credits")]
async fn by_reward(w: &mut TallyWorld, who: Who, min: u64, max: u64) -> Result<()> {
    let q = JobQuery {
        min_reward: Some(min),
        max_reward: Some(max),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at the jobs she/he/they launched")]
async fn launched(w: &mut TallyWorld, who: Who) -> Result<()> {
    let q = JobQuery {
        statuses: every_status(),
        owner: Some(member(&who)?),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at the jobs she/he/they launched that are {word}")]
async fn launched_in(w: &mut TallyWorld, who: Who, status: String) -> Result<()> {
    let statuses = tally_ports::jobs::parse_statuses(&status.replace(' ', "_"))
        .map_err(|w| anyhow::anyhow!("no status {w:?}"))?;
    let q = JobQuery {
        statuses,
        owner: Some(member(&who)?),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at the jobs she/he/they applied to")]
async fn applied(w: &mut TallyWorld, who: Who) -> Result<()> {
    let q = JobQuery {
        statuses: every_status(),
        applicant: Some(member(&who)?),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at the jobs that {word} applied to")]
async fn applied_by(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    let q = JobQuery {
        statuses: every_status(),
        applicant: Some(handle),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at {word}'s jobs that are no longer open")]
async fn closed_of(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    let q = JobQuery {
        statuses: vec![JobStatus::Completed, JobStatus::Cancelled],
        owner: Some(handle),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

#[when(expr = "{actor} looks at every job")]
async fn every_job(w: &mut TallyWorld, who: Who) -> Result<()> {
    let q = JobQuery {
        statuses: every_status(),
        ..JobQuery::board(20)
    };
    ask(w, &who, q).await
}

/// Turns to the page before or after the one looked at.
async fn turn(w: &mut TallyWorld, older: bool) -> Result<()> {
    let (ctx, q) = w.job_query.clone().context("no list was looked at")?;
    let page = w.job_page.as_ref().context("the list was refused")?;
    let cursor = if older {
        Cursor::Before(page.older.clone().context("there is no next page")?)
    } else {
        Cursor::After(page.newer.clone().context("there is no previous page")?)
    };
    let t = w.begin().await?;
    let q = q.at(cursor);
    let r = t.jobs(&ctx, q.clone()).await;
    w.job_page = w.settle(r);
    w.job_query = Some((ctx, q));
    Ok(())
}

#[when("they turn to the next page")]
async fn next_page(w: &mut TallyWorld) -> Result<()> {
    turn(w, true).await
}

#[when("they turn to the previous page")]
async fn previous_page(w: &mut TallyWorld) -> Result<()> {
    turn(w, false).await
}

fn page(w: &TallyWorld) -> Result<&JobPage> {
    w.succeeded()?;
    w.job_page.as_ref().context("no list of jobs was looked at")
}

/// A table whose header names the columns to compare: `title`, `owner`, `reward`, `status`,
/// `application` (the viewer's own) and `applications` (how many), in the list's order.
#[then("the list shows:")]
async fn list_shows(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let table = step.table.as_ref().context("a table of jobs")?;
    let header = table.rows.first().context("a header row")?;
    let p = page(w)?;
    let seen: Vec<Vec<String>> = p
        .jobs
        .iter()
        .map(|l| {
            header
                .iter()
                .map(|c| match c.as_str() {
                    "title" => Ok(l.job.title.clone()),
                    "owner" => Ok(l.job.owner.clone()),
                    "reward" => Ok(l.job.reward.to_string()),
                    "status" => Ok(l.job.status.as_str().replace('_', " ")),
                    "application" => Ok(l
                        .my_application
                        .map(|a| a.as_str().replace('_', " "))
                        .unwrap_or_default()),
                    "applications" => Ok(l.applications.to_string()),
                    other => bail!("no column {other:?}"),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let expected: Vec<Vec<String>> = table.rows.iter().skip(1).cloned().collect();
    ensure!(seen == expected, "the list shows {seen:?}");
    Ok(())
}

#[then("the list is empty")]
async fn list_empty(w: &mut TallyWorld) -> Result<()> {
    let p = page(w)?;
    ensure!(p.jobs.is_empty(), "the list shows {:?}", p.jobs);
    Ok(())
}

#[then(expr = "the list counts {int} job(s) in all")]
async fn list_counts(w: &mut TallyWorld, n: u64) -> Result<()> {
    let p = page(w)?;
    ensure!(
        p.total == n && p.total_exact,
        "the list counts {} (exact: {})",
        p.total,
        p.total_exact
    );
    Ok(())
}

#[then("there is a next page")]
async fn has_next(w: &mut TallyWorld) -> Result<()> {
    ensure!(page(w)?.older.is_some(), "there is no next page");
    Ok(())
}

#[then("there is no next page")]
async fn no_next(w: &mut TallyWorld) -> Result<()> {
    ensure!(page(w)?.older.is_none(), "there is a next page");
    Ok(())
}

#[then("there is no previous page")]
async fn no_previous(w: &mut TallyWorld) -> Result<()> {
    ensure!(page(w)?.newer.is_none(), "there is a previous page");
    Ok(())
}
