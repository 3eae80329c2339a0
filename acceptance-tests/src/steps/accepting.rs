//! Accepting an applicant: the job is then in progress.

use super::commands;
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};

#[given(expr = "{word} has accepted {word} for the job {string}")]
async fn has_accepted(w: &mut TallyWorld, owner: String, who: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(&TallyWorld::member(&owner)?, commands::accept(&id, &who))
        .await
        .with_context(|| format!("{owner} accepting {who} for {title:?}"))?;
    Ok(())
}

#[when(expr = "{actor} accepts {word} for the job {string}")]
async fn accepts(w: &mut TallyWorld, by: Who, who: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t.execute(&by.ctx(), commands::accept(&id, &who)).await;
    w.settle_command(r);
    Ok(())
}

#[then(expr = "{word} is the participant of the job {string}")]
async fn is_participant(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        v.accepted.as_deref() == Some(who.as_str()),
        "the participant of {title:?} is {:?}{}",
        v.accepted,
        w.after_last()
    );
    Ok(())
}

#[then(expr = "the job {string} has no participant")]
async fn no_participant(w: &mut TallyWorld, title: String) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        v.accepted.is_none(),
        "the participant of {title:?} is {:?}",
        v.accepted
    );
    Ok(())
}
