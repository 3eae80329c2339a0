//! Launching jobs: the reward moves from the owner's balance into escrow, in one step.

use super::params::{Status, Who, text_of};
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};
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
