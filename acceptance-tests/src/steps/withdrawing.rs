//! Withdrawing an application.

use super::commands;
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result};
use cucumber::{given, when};

#[given(expr = "{word} has withdrawn from the job {string}")]
async fn has_withdrawn(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(&TallyWorld::member(&who)?, commands::withdraw(&id))
        .await
        .with_context(|| format!("{who} withdrawing from {title:?}"))?;
    Ok(())
}

#[when(expr = "{actor} withdraws from the job {string}")]
async fn withdraws(w: &mut TallyWorld, who: Who, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), commands::withdraw(&id)).await;
    w.settle_command(r);
    Ok(())
}
