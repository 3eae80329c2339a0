//! Cancelling an open job: its reward returns to the owner.

use super::commands;
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};

#[given(expr = "{word} has cancelled the job {string}")]
async fn has_cancelled(w: &mut TallyWorld, owner: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(
            &TallyWorld::member(&owner)?,
            commands::cancel(&id, "no longer needed"),
        )
        .await
        .with_context(|| format!("{owner} cancelling {title:?}"))?;
    Ok(())
}

async fn cancel(w: &mut TallyWorld, by: &Who, title: &str, reason: &str) -> Result<()> {
    let id = w.job(title)?;
    let t = w.begin().await?;
    let r = t.execute(&by.ctx(), commands::cancel(&id, reason)).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} cancels the job {string}")]
async fn cancels(w: &mut TallyWorld, by: Who, title: String) -> Result<()> {
    cancel(w, &by, &title, "").await
}

#[when(expr = "{actor} cancels the job {string} because {string}")]
async fn cancels_because(w: &mut TallyWorld, by: Who, title: String, reason: String) -> Result<()> {
    cancel(w, &by, &title, &reason).await
}

#[then(expr = "the job {string} was cancelled because {string}")]
async fn cancelled_because(w: &mut TallyWorld, title: String, reason: String) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    ensure!(
        v.cancel_reason.as_deref() == Some(reason.as_str()),
        "the job {title:?} was cancelled because {:?}",
        v.cancel_reason
    );
    Ok(())
}
