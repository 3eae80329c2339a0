//! Granting credits, and reading a wallet's balance and escrow.

pub(crate) use super::commands::grant;
use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};

#[given(expr = "the admin has granted {int} credits to {word}")]
async fn has_granted(w: &mut TallyWorld, amount: i64, handle: String) -> Result<()> {
    w.tally()
        .execute(&TallyWorld::admin(), grant(&handle, amount, "a grant"))
        .await
        .with_context(|| format!("granting {amount} credits to {handle}"))?;
    Ok(())
}

#[when(expr = "{actor} grants {int} credits to {word}")]
async fn grants(w: &mut TallyWorld, who: Who, amount: i64, handle: String) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), grant(&handle, amount, "")).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} grants {int} credits to {word} for {string}")]
async fn grants_for(
    w: &mut TallyWorld,
    who: Who,
    amount: i64,
    handle: String,
    reason: String,
) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), grant(&handle, amount, &reason)).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} grants {int} credits to {word} for {string} in the category {word}")]
async fn grants_in(
    w: &mut TallyWorld,
    who: Who,
    amount: i64,
    handle: String,
    reason: String,
    category: String,
) -> Result<()> {
    let t = w.begin().await?;
    let input = super::commands::grant_in(&handle, amount, &reason, &category);
    let r = t.execute(&who.ctx(), input).await;
    w.settle_command(r);
    Ok(())
}

#[then(expr = "{word}'s latest grant is in the category {word}")]
async fn latest_grant_category(w: &mut TallyWorld, handle: String, category: String) -> Result<()> {
    let h = w
        .tally()
        .history(
            &TallyWorld::admin(),
            &tally_ports::EntityRef::member(&handle),
        )
        .await
        .context("the admin reading a wallet's history")?;
    let last = h
        .iter()
        .rev()
        .find(|e| e.event_type == "CreditsGranted")
        .with_context(|| format!("{handle} was never granted credits"))?;
    ensure!(
        last.payload["category"] == category.as_str()
            && Some(last.schema_version)
                == tally_ports::contracts::current_version("CreditsGranted"),
        "{handle}'s latest grant is {} (schema version {})",
        last.payload,
        last.schema_version
    );
    Ok(())
}

#[then(expr = "{word} has {int} credits")]
async fn has_credits(w: &mut TallyWorld, handle: String, balance: u64) -> Result<()> {
    let v = w.wallet(&handle).await?;
    ensure!(
        v.balance == balance,
        "{handle} has {} credits{}",
        v.balance,
        w.after_last()
    );
    Ok(())
}

#[then(expr = "{word} has {int} credits and {int} in escrow")]
async fn has_credits_and_escrow(
    w: &mut TallyWorld,
    handle: String,
    balance: u64,
    escrowed: u64,
) -> Result<()> {
    let v = w.wallet(&handle).await?;
    ensure!(
        (v.balance, v.escrowed) == (balance, escrowed),
        "{handle} has {} credits and {} in escrow{}",
        v.balance,
        v.escrowed,
        w.after_last()
    );
    Ok(())
}

#[then(expr = "{word} has been granted {int} credits in all")]
async fn granted_in_all(w: &mut TallyWorld, handle: String, total: u64) -> Result<()> {
    let v = w.wallet(&handle).await?;
    ensure!(
        v.total_granted == total,
        "{handle} has been granted {} credits in all",
        v.total_granted
    );
    Ok(())
}
