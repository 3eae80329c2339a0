//! The history of an entity: every event, with who did it and when.

use super::params::{Who, describe};
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{gherkin::Step, then, when};
use tally_ports::{EntityRef, HistoryEntry};

async fn read(w: &mut TallyWorld, who: &Who, entity: EntityRef) -> Result<()> {
    let t = w.begin().await?;
    let r = t.history(&who.ctx(), &entity).await;
    w.history = w.settle(r);
    Ok(())
}

#[when(expr = "{actor} reads the history of {word}'s wallet")]
async fn reads_wallet(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    read(w, &who, EntityRef::member(handle)).await
}

#[when(expr = "{actor} reads the history of the job {string}")]
async fn reads_job(w: &mut TallyWorld, who: Who, title: String) -> Result<()> {
    let id = w.job(&title)?;
    read(w, &who, EntityRef::job(id)).await
}

fn read_history(w: &TallyWorld) -> Result<&[HistoryEntry]> {
    w.succeeded()?;
    w.history.as_deref().context("no history was read")
}

/// A table with `event` and `by` columns, oldest first.
#[then("the history reads:")]
async fn history_reads(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let table = step.table.as_ref().context("a table of events")?;
    let expected: Vec<(String, String)> = table
        .rows
        .iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let seen: Vec<(String, String)> = read_history(w)?
        .iter()
        .map(|e| (e.event_type.clone(), describe(&e.actor)))
        .collect();
    ensure!(seen == expected, "the history reads {seen:?}");
    Ok(())
}

#[then("every event in it has a time, in the order they happened")]
async fn in_order(w: &mut TallyWorld) -> Result<()> {
    let h = read_history(w)?;
    for (i, e) in h.iter().enumerate() {
        ensure!(
            e.version == i as u64 + 1,
            "event {} has version {}",
            i + 1,
            e.version
        );
    }
    for pair in h.windows(2) {
        ensure!(
            pair[0].time < pair[1].time && pair[0].position < pair[1].position,
            "{} (v{}, {}) is not before {} (v{}, {})",
            pair[0].event_type,
            pair[0].version,
            pair[0].time,
            pair[1].event_type,
            pair[1].version,
            pair[1].time
        );
    }
    Ok(())
}

async fn count(w: &TallyWorld, entity: EntityRef, event_type: &str) -> Result<usize> {
    let h = w
        .tally()
        .history(&TallyWorld::admin(), &entity)
        .await
        .context("the admin reading a history")?;
    Ok(h.iter().filter(|e| e.event_type == event_type).count())
}

#[then(expr = "{word}'s wallet records {int} {word} event(s)")]
async fn wallet_records(w: &mut TallyWorld, handle: String, n: usize, event: String) -> Result<()> {
    let seen = count(w, EntityRef::member(&handle), &event).await?;
    ensure!(seen == n, "{handle}'s wallet records {seen} {event} events");
    Ok(())
}

#[then(expr = "the job {string} records {int} {word} event(s)")]
async fn job_records(w: &mut TallyWorld, title: String, n: usize, event: String) -> Result<()> {
    let id = w.job(&title)?;
    let seen = count(w, EntityRef::job(id), &event).await?;
    ensure!(seen == n, "the job {title:?} records {seen} {event} events");
    Ok(())
}
