//! Completing a job: the participant is paid the reward out of the owner's escrow.

use super::commands;
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result};
use cucumber::{given, when};

#[given(expr = "{word} has completed the job {string}")]
async fn has_completed(w: &mut TallyWorld, owner: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(&TallyWorld::member(&owner)?, commands::complete(&id))
        .await
        .with_context(|| format!("{owner} completing {title:?}"))?;
    Ok(())
}

#[when(expr = "{actor} completes the job {string}")]
async fn completes(w: &mut TallyWorld, by: Who, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t.execute(&by.ctx(), commands::complete(&id)).await;
    w.settle_command(r);
    Ok(())
}
