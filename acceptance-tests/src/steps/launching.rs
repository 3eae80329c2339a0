//! Launching jobs: the reward moves from the owner's balance into escrow, in one step; and
//! editing an open job's description.

use super::params::{Status, Who, text_of};
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::{given, then, when};
use tally_ports::{CommandKind, Input, State};
use uuid::Uuid;

pub(crate) use super::commands::launch;

#[given(expr = "{word} has launched the job {string} with a reward of {int} credits")]
async fn has_launched(w: &mut TallyWorld, owner: String, title: String, reward: i64) -> Result<()> {
    let r = w
        .tally()
        .execute(&TallyWorld::member(&owner)?, launch(&title, reward))
        .await
        .with_context(|| format!("{owner} launching {title:?}"))?;
    w.remember_launch(&title, &r)?;
    Ok(())
}

#[given(expr = "no job called {string} was ever launched")]
async fn never_launched(w: &mut TallyWorld, title: String) {
    // A well-formed job id that nobody used.
    w.name_job(&title, Uuid::now_v7().to_string());
}

#[when(expr = "{actor} launches the job {string} with a reward of {int} credits")]
async fn launches(w: &mut TallyWorld, who: Who, title: String, reward: i64) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), launch(&title, reward)).await;
    if let Some(r) = w.settle_command(r) {
        w.remember_launch(&title, &r)?;
    }
    Ok(())
}

#[when(
    expr = "{actor} launches a job with a title of {int} characters and a reward of {int} credits"
)]
async fn launches_long(w: &mut TallyWorld, who: Who, n: i64, reward: i64) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), launch(&text_of(n), reward)).await;
    w.settle_command(r);
    Ok(())
}

#[then(expr = "the job {string} is {status}")]
async fn job_is(w: &mut TallyWorld, title: String, status: Status) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        v.job.status == status.0,
        "the job {title:?} is {}{}",
        v.job.status.as_str(),
        w.after_last()
    );
    Ok(())
}

#[then(expr = "the job {string} is owned by {word} and offers {int} credits")]
async fn owned_by(w: &mut TallyWorld, title: String, owner: String, reward: u64) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        (v.job.owner.as_str(), v.job.reward, v.job.title.as_str())
            == (owner.as_str(), reward, title.as_str()),
        "the job is {:?} by {} offering {}",
        v.job.title,
        v.job.owner,
        v.job.reward
    );
    Ok(())
}

#[then(expr = "{word} holds {int} credits in escrow for the job {string}")]
async fn holds_for(w: &mut TallyWorld, owner: String, amount: u64, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let v = w.wallet(&owner).await?;
    let held = v.escrow.iter().find(|l| l.job == id).map(|l| l.amount);
    ensure!(
        held == Some(amount),
        "{owner} holds {held:?} for {title:?} (escrow: {:?})",
        v.escrow
    );
    Ok(())
}

#[then(expr = "{word} holds nothing in escrow for the job {string}")]
async fn holds_nothing_for(w: &mut TallyWorld, owner: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let v = w.wallet(&owner).await?;
    ensure!(
        v.escrow.iter().all(|l| l.job != id),
        "{owner} still holds credits for {title:?}: {:?}",
        v.escrow
    );
    Ok(())
}

fn edit(job: &str, description: &str) -> Input {
    Input::new(CommandKind::EditJobDescription)
        .with("job", job)
        .with("description", description)
}

#[given(expr = "{word} has edited the description of the job {string} to {string}")]
async fn has_edited(w: &mut TallyWorld, owner: String, title: String, text: String) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(&TallyWorld::member(&owner)?, edit(&id, &text))
        .await
        .with_context(|| format!("{owner} editing {title:?}"))?;
    Ok(())
}

async fn edits_to(w: &mut TallyWorld, who: &Who, title: &str, text: &str) -> Result<()> {
    let id = w.job(title)?;
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), edit(&id, text)).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} edits the description of the job {string} to {string}")]
async fn edits(w: &mut TallyWorld, who: Who, title: String, text: String) -> Result<()> {
    edits_to(w, &who, &title, &text).await
}

#[when(expr = "{actor} edits the description of the job {string} to a text of {int} characters")]
async fn edits_long(w: &mut TallyWorld, who: Who, title: String, n: i64) -> Result<()> {
    edits_to(w, &who, &title, &text_of(n)).await
}

#[then(expr = "the job {string} has the description {string}")]
async fn has_description(w: &mut TallyWorld, title: String, text: String) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        v.job.description == text,
        "the job {title:?} has the description {:?}",
        v.job.description
    );
    Ok(())
}

#[then(expr = "they see the description {string}")]
async fn they_see_description(w: &mut TallyWorld, text: String) -> Result<()> {
    w.succeeded()?;
    let v = w
        .participant_view
        .as_ref()
        .context("no job was looked at")?;
    ensure!(
        v.job.description == text,
        "they see the description {:?}",
        v.job.description
    );
    Ok(())
}

#[then(expr = "back then the job had the description {string}")]
async fn had_description(w: &mut TallyWorld, text: String) -> Result<()> {
    w.succeeded()?;
    let s = w
        .snapshot
        .as_ref()
        .context("no earlier state was looked at")?;
    let State::Job(job) = &s.state else {
        bail!("that is not a job: {:?}", s.stream)
    };
    let then = job.details.as_ref().map(|d| d.description.as_str());
    ensure!(
        then == Some(text.as_str()),
        "back then the job had the description {then:?}"
    );
    Ok(())
}
