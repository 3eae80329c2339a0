//! Time travel: an entity's state as it was at an earlier version, or at an earlier time
//! taken from the times its history reports (the scenarios never control a clock).

use super::params::{Ordinal, Status, Who};
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use chrono::TimeDelta;
use cucumber::{then, when};
use tally_domain::ApplicationStatus;
use tally_ports::{AsOf, EntityRef, State};

async fn look(w: &mut TallyWorld, who: &Who, entity: EntityRef, at: AsOf) -> Result<()> {
    let t = w.begin().await?;
    let r = t.state_as_of(&who.ctx(), &entity, at).await;
    w.snapshot = w.settle(r);
    Ok(())
}

/// The time the history reports for the entity's `n`th event (1 = the first).
async fn time_of(w: &TallyWorld, entity: &EntityRef, n: usize) -> Result<AsOf> {
    let h = w
        .tally()
        .history(&TallyWorld::admin(), entity)
        .await
        .context("the admin reading the history")?;
    let e = h
        .get(n - 1)
        .with_context(|| format!("the history has {} events, not {n}", h.len()))?;
    Ok(AsOf::time(e.time))
}

/// A time just before the entity's first event.
async fn before_first(w: &TallyWorld, entity: &EntityRef) -> Result<AsOf> {
    let Some(t) = time_of(w, entity, 1).await?.time else {
        unreachable!("time_of gives a time")
    };
    Ok(AsOf::time(t - TimeDelta::microseconds(1)))
}

#[when(expr = "{actor} looks at {word}'s wallet as of version {int}")]
async fn wallet_at_version(w: &mut TallyWorld, who: Who, handle: String, v: u64) -> Result<()> {
    look(w, &who, EntityRef::member(handle), AsOf::version(v)).await
}

#[when(expr = "{actor} looks at {word}'s wallet as it was when its {ordinal} event was recorded")]
async fn wallet_at_event(w: &mut TallyWorld, who: Who, handle: String, n: Ordinal) -> Result<()> {
    let entity = EntityRef::member(handle);
    let at = time_of(w, &entity, n.0).await?;
    look(w, &who, entity, at).await
}

#[when(expr = "{actor} looks at {word}'s wallet as it was just before its first event")]
async fn wallet_before_first(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    let entity = EntityRef::member(handle);
    let at = before_first(w, &entity).await?;
    look(w, &who, entity, at).await
}

#[when(expr = "{actor} looks at the job {string} as of version {int}")]
async fn job_at_version(w: &mut TallyWorld, who: Who, title: String, v: u64) -> Result<()> {
    let id = w.job(&title)?;
    look(w, &who, EntityRef::job(id), AsOf::version(v)).await
}

#[when(expr = "{actor} looks at the job {string} as it was when its {ordinal} event was recorded")]
async fn job_at_event(w: &mut TallyWorld, who: Who, title: String, n: Ordinal) -> Result<()> {
    let entity = EntityRef::job(w.job(&title)?);
    let at = time_of(w, &entity, n.0).await?;
    look(w, &who, entity, at).await
}

fn snapshot(w: &TallyWorld) -> Result<&tally_ports::Snapshot> {
    w.succeeded()?;
    w.snapshot
        .as_ref()
        .context("no earlier state was looked at")
}

#[then(expr = "back then {word} had {int} credits and {int} in escrow")]
async fn wallet_then(w: &mut TallyWorld, handle: String, balance: u64, escrow: u64) -> Result<()> {
    let s = snapshot(w)?;
    let State::Member(wallet) = &s.state else {
        bail!("that is not a wallet: {:?}", s.stream)
    };
    ensure!(
        s.stream.key() == handle,
        "that is the wallet of {}",
        s.stream.key()
    );
    ensure!(
        (wallet.balance.get(), wallet.escrowed().get()) == (balance, escrow),
        "back then {handle} had {} credits and {} in escrow",
        wallet.balance,
        wallet.escrowed()
    );
    Ok(())
}

#[then(expr = "back then the job was {status} with {int} live application(s)")]
async fn job_then(w: &mut TallyWorld, status: Status, live: usize) -> Result<()> {
    let s = snapshot(w)?;
    let State::Job(job) = &s.state else {
        bail!("that is not a job: {:?}", s.stream)
    };
    let seen = job
        .applications
        .values()
        .filter(|a| a.status == ApplicationStatus::Live)
        .count();
    ensure!(
        job.status == status.0 && seen == live,
        "back then the job was {} with {seen} live applications",
        job.status.as_str()
    );
    Ok(())
}

#[then(expr = "that was version {int}")]
async fn that_version(w: &mut TallyWorld, v: u64) -> Result<()> {
    let s = snapshot(w)?.clone();
    ensure!(s.version == v, "that was version {}", s.version);
    // The snapshot also says how far one could travel forward: the entity's version now.
    let entity = EntityRef {
        kind: s.stream.kind(),
        key: s.stream.key().to_owned(),
    };
    let now = w
        .tally()
        .history(&TallyWorld::admin(), &entity)
        .await?
        .len() as u64;
    ensure!(
        s.latest_version == now,
        "the snapshot says the latest version is {}, the history has {now} events",
        s.latest_version
    );
    Ok(())
}
