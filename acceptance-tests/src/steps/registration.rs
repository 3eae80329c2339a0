//! Registering members: by the admin, or by a visitor signing up.

use super::commands::{grant, register};
use super::params::{Who, display_name, text_of};
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::{gherkin::Step, given, then, when};
use tally_ports::identity::SignUp;
use tally_ports::{Actor, Ctx};

/// Registers `handle` (by the admin) and grants it `credits` if any.
pub(crate) async fn member_with(w: &mut TallyWorld, handle: &str, credits: i64) -> Result<()> {
    member_named(w, handle, &display_name(handle), credits).await
}

/// Registers `handle` named `name` (by the admin) and grants it `credits` if any.
async fn member_named(w: &mut TallyWorld, handle: &str, name: &str, credits: i64) -> Result<()> {
    let t = w.tally();
    let admin = TallyWorld::admin();
    t.execute(&admin, register(handle, name))
        .await
        .with_context(|| format!("registering {handle}"))?;
    if credits > 0 {
        t.execute(&admin, grant(handle, credits, "welcome"))
            .await
            .with_context(|| format!("granting {credits} credits to {handle}"))?;
    }
    Ok(())
}

#[given(expr = "{word} is a member")]
async fn is_a_member(w: &mut TallyWorld, handle: String) -> Result<()> {
    member_with(w, &handle, 0).await
}

#[given(expr = "{word} is a member with {int} credits")]
async fn is_a_member_with(w: &mut TallyWorld, handle: String, credits: i64) -> Result<()> {
    member_with(w, &handle, credits).await
}

/// A table with a `member` column and optional `name` and `credits` columns.
#[given("these members:")]
async fn these_members(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let table = step.table.as_ref().context("a table of members")?;
    let header = table.rows.first().context("a header row")?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let member = col("member").context("a 'member' column")?;
    let credits = col("credits");
    let name = col("name");
    for row in table.rows.iter().skip(1) {
        let n = match credits {
            Some(c) => row[c].parse().context("credits are a number")?,
            None => 0,
        };
        let handle = &row[member];
        let named = name.map_or_else(|| display_name(handle), |c| row[c].clone());
        member_named(w, handle, &named, n).await?;
    }
    Ok(())
}

async fn registers_as(w: &mut TallyWorld, who: &Who, handle: String, name: String) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), register(&handle, &name)).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} registers {string} named {string}")]
async fn registers(w: &mut TallyWorld, who: Who, handle: String, name: String) -> Result<()> {
    registers_as(w, &who, handle, name).await
}

#[when(expr = "{actor} registers {string} with a name of {int} characters")]
async fn registers_long(w: &mut TallyWorld, who: Who, handle: String, n: i64) -> Result<()> {
    registers_as(w, &who, handle, text_of(n)).await
}

#[when(expr = "a visitor signs up as {string} named {string}")]
async fn signs_up(w: &mut TallyWorld, handle: String, name: String) -> Result<()> {
    w.begin().await?;
    let sign_up = SignUp {
        handle,
        display_name: name,
        password: "a fine password".into(),
    };
    let r = w
        .identity()
        .sign_up(&Ctx::new(Actor::Anonymous), sign_up)
        .await;
    w.settle_command(r.map(|done| done.receipt));
    Ok(())
}

#[then(expr = "{word} is a member named {string}")]
async fn is_named(w: &mut TallyWorld, handle: String, name: String) -> Result<()> {
    let v = w.wallet(&handle).await?;
    ensure!(
        v.display_name == name,
        "{handle} is named {:?}",
        v.display_name
    );
    Ok(())
}

#[then(expr = "there is no member {string}")]
async fn no_member(w: &mut TallyWorld, handle: String) -> Result<()> {
    match w.tally().wallet(&TallyWorld::admin(), &handle).await {
        Err(e) if ["unknown_member", "invalid_handle"].contains(&e.code()) => Ok(()),
        Err(e) => bail!("looking for {handle:?} failed with {:?}: {e}", e.code()),
        Ok(v) => bail!("{handle:?} is a member named {:?}", v.display_name),
    }
}

#[then(expr = "there is/are {int} member(s)")]
async fn members_count(w: &mut TallyWorld, n: usize) -> Result<()> {
    let all = w.tally().members(&TallyWorld::admin()).await?;
    ensure!(
        all.len() == n,
        "the members are {:?}",
        all.iter().map(|m| &m.handle).collect::<Vec<_>>()
    );
    Ok(())
}
