//! Who sees what: a participant sees a job's public details and only their own application;
//! the owner sees every pitch; a member sees only their own wallet.

use super::params::{AppStatus, Who};
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{gherkin::Step, then, when};

#[when(expr = "{actor} looks at the job {string}")]
async fn looks_at_job(w: &mut TallyWorld, who: Who, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t.job_participant_view(&who.ctx(), &id).await;
    w.participant_view = w.settle(r);
    Ok(())
}

#[when(expr = "{actor} looks at every application to the job {string}")]
async fn looks_at_applications(w: &mut TallyWorld, who: Who, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t.job_owner_view(&who.ctx(), &id).await;
    w.owner_view = w.settle(r);
    Ok(())
}

#[when(expr = "{actor} looks at {word}'s wallet")]
async fn looks_at_wallet(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    let t = w.begin().await?;
    let r = t.wallet(&who.ctx(), &handle).await;
    w.wallet_view = w.settle(r);
    Ok(())
}

#[then(expr = "they see the job {string} offering {int} credits")]
async fn they_see_job(w: &mut TallyWorld, title: String, reward: u64) -> Result<()> {
    w.succeeded()?;
    let v = w
        .participant_view
        .as_ref()
        .context("no job was looked at")?;
    ensure!(
        (v.job.title.as_str(), v.job.reward) == (title.as_str(), reward),
        "they see {:?} offering {}",
        v.job.title,
        v.job.reward
    );
    Ok(())
}

#[then(expr = "they see their own {application} application with the pitch {string}")]
async fn they_see_their_own(w: &mut TallyWorld, status: AppStatus, pitch: String) -> Result<()> {
    w.succeeded()?;
    let v = w
        .participant_view
        .as_ref()
        .context("no job was looked at")?;
    let mine = v
        .my_application
        .as_ref()
        .context("they see no application")?;
    ensure!(
        (mine.status, mine.pitch.as_str()) == (status.0, pitch.as_str()),
        "they see their {} application {:?}",
        mine.status.as_str(),
        mine.pitch
    );
    Ok(())
}

#[then("they see no application")]
async fn they_see_none(w: &mut TallyWorld) -> Result<()> {
    w.succeeded()?;
    let v = w
        .participant_view
        .as_ref()
        .context("no job was looked at")?;
    ensure!(
        v.my_application.is_none(),
        "they see {:?}",
        v.my_application
    );
    Ok(())
}

#[then(expr = "they do not see the pitch {string}")]
async fn they_do_not_see(w: &mut TallyWorld, pitch: String) -> Result<()> {
    w.succeeded()?;
    let v = w
        .participant_view
        .as_ref()
        .context("no job was looked at")?;
    // Anywhere in what they were shown, not only where applications usually appear.
    let shown = format!("{v:?}");
    ensure!(!shown.contains(&pitch), "they see {pitch:?} in {shown}");
    Ok(())
}

/// A table with `member`, `pitch` and `status` columns, in any order of rows.
#[then("they see these applications:")]
async fn they_see_applications(w: &mut TallyWorld, step: &Step) -> Result<()> {
    w.succeeded()?;
    let v = w
        .owner_view
        .as_ref()
        .context("no applications were looked at")?;
    let table = step.table.as_ref().context("a table of applications")?;
    let mut expected: Vec<(String, String, String)> = table
        .rows
        .iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let mut seen: Vec<(String, String, String)> = v
        .applications
        .iter()
        .map(|a| {
            (
                a.participant.clone(),
                a.pitch.clone(),
                a.status.as_str().to_owned(),
            )
        })
        .collect();
    expected.sort();
    seen.sort();
    ensure!(seen == expected, "they see {seen:?}");
    Ok(())
}

#[then(expr = "they see a balance of {int} credits")]
async fn they_see_balance(w: &mut TallyWorld, balance: u64) -> Result<()> {
    w.succeeded()?;
    let v = w.wallet_view.as_ref().context("no wallet was looked at")?;
    ensure!(v.balance == balance, "they see a balance of {}", v.balance);
    Ok(())
}
