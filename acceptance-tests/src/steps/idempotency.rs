//! Idempotent commands: a command repeated with the same command id is recorded once; a
//! command id reused for another command is refused.

use super::commands::{grant, launch, register};
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Result, bail, ensure};
use cucumber::{then, when};

#[when(expr = "{actor} grants {int} credits to {word} with the command id {string}")]
async fn grants_with_id(
    w: &mut TallyWorld,
    who: Who,
    amount: i64,
    handle: String,
    id: String,
) -> Result<()> {
    let ctx = who.ctx().with_command_id(w.command_id(&id));
    let t = w.begin().await?;
    let r = t.execute(&ctx, grant(&handle, amount, "")).await;
    w.settle_command(r);
    Ok(())
}

#[when(
    expr = "{actor} launches the job {string} with a reward of {int} credits with the command id {string}"
)]
async fn launches_with_id(
    w: &mut TallyWorld,
    who: Who,
    title: String,
    reward: i64,
    id: String,
) -> Result<()> {
    let ctx = who.ctx().with_command_id(w.command_id(&id));
    let t = w.begin().await?;
    let r = t.execute(&ctx, launch(&title, reward)).await;
    if let Some(r) = w.settle_command(r) {
        w.remember_launch(&title, &r)?;
    }
    Ok(())
}

#[when(expr = "{actor} registers {string} named {string} with the command id {string}")]
async fn registers_with_id(
    w: &mut TallyWorld,
    who: Who,
    handle: String,
    name: String,
    id: String,
) -> Result<()> {
    let ctx = who.ctx().with_command_id(w.command_id(&id));
    let t = w.begin().await?;
    let r = t.execute(&ctx, register(&handle, &name)).await;
    w.settle_command(r);
    Ok(())
}

#[then("both receipts are the same")]
async fn same_receipts(w: &mut TallyWorld) -> Result<()> {
    w.succeeded()?;
    let [.., first, second] = w.receipts.as_slice() else {
        bail!("two commands were not accepted: {:?}", w.receipts)
    };
    ensure!(
        !first.events.is_empty(),
        "the first command recorded nothing"
    );
    ensure!(
        first == second,
        "the receipts differ: {first:?} and {second:?}"
    );
    Ok(())
}
