//! The job board: open jobs, newest first.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{gherkin::Step, then, when};
use tally_ports::{Ctx, JobSummary};

/// How many jobs a board shows in these scenarios: more than any scenario launches.
const BOARD: usize = 100;

#[when(expr = "{actor} looks at the job board")]
async fn looks_at_board(w: &mut TallyWorld, who: Who) -> Result<()> {
    let t = w.begin().await?;
    let r = t.job_board(&who.ctx(), BOARD).await;
    w.board = w.settle(r);
    Ok(())
}

/// The board the scenario looked at, or the board as a visitor sees it now.
async fn board(w: &TallyWorld) -> Result<Vec<JobSummary>> {
    if let Some(b) = &w.board {
        return Ok(b.clone());
    }
    w.tally()
        .job_board(&Ctx::new(tally_ports::Actor::Anonymous), BOARD)
        .await
        .context("a visitor looking at the job board")
}

/// A table with `title`, `owner` and `reward` columns, in the order the board shows them.
#[then("the job board shows:")]
async fn board_shows(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let table = step.table.as_ref().context("a table of jobs")?;
    let expected: Vec<(String, String, String)> = table
        .rows
        .iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let seen: Vec<(String, String, String)> = board(w)
        .await?
        .iter()
        .map(|j| (j.title.clone(), j.owner.clone(), j.reward.to_string()))
        .collect();
    ensure!(seen == expected, "the job board shows {seen:?}");
    Ok(())
}

#[then("the job board is empty")]
async fn board_empty(w: &mut TallyWorld) -> Result<()> {
    let b = board(w).await?;
    ensure!(
        b.is_empty(),
        "the job board shows {:?}",
        b.iter().map(|j| &j.title).collect::<Vec<_>>()
    );
    Ok(())
}

#[then(expr = "the job board shows {int} job(s)")]
async fn board_count(w: &mut TallyWorld, n: usize) -> Result<()> {
    let b = board(w).await?;
    ensure!(b.len() == n, "the job board shows {} jobs", b.len());
    Ok(())
}

#[then(expr = "the job board does not show {string}")]
async fn board_lacks(w: &mut TallyWorld, title: String) -> Result<()> {
    let b = board(w).await?;
    ensure!(
        b.iter().all(|j| j.title != title),
        "the job board shows {title:?}"
    );
    Ok(())
}
