//! Reports and fraud signals: eventually consistent, so every check waits first for the
//! reports to catch up with the history ("when the reports have caught up"), through the
//! driving port. Time passes on the scenario's clock.

use super::commands;
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use std::time::Duration;
use tally_ports::reports::{FraudRule, ReportsView};

fn pass(w: &TallyWorld, d: chrono::Duration) -> Result<()> {
    w.clock()
        .context("this target's clock cannot be moved on")?
        .advance(d);
    Ok(())
}

#[given(regex = r"^(\d+) (hour|hours|minute|minutes|second|seconds) pass(?:es)?$")]
async fn time_passes(w: &mut TallyWorld, n: i64, unit: String) -> Result<()> {
    let d = match unit.trim_end_matches('s') {
        "hour" => chrono::Duration::hours(n),
        "minute" => chrono::Duration::minutes(n),
        _ => chrono::Duration::seconds(n),
    };
    pass(w, d)
}

/// Launches a job for `owner` with a title nobody else used in the scenario.
async fn launch_one(w: &mut TallyWorld, owner: &str, reward: i64) -> Result<String> {
    w.jobs_made += 1;
    let title = format!("Job {}", w.jobs_made);
    let r = w
        .tally()
        .execute(
            &TallyWorld::member(owner)?,
            commands::launch(&title, reward),
        )
        .await
        .with_context(|| format!("{owner} launching {title:?}"))?;
    w.remember_launch(&title, &r)
}

#[given(expr = "{word} has paid {word} for a job")]
async fn has_paid(w: &mut TallyWorld, owner: String, participant: String) -> Result<()> {
    let job = launch_one(w, &owner, 10).await?;
    let (o, p) = (
        TallyWorld::member(&owner)?,
        TallyWorld::member(&participant)?,
    );
    let t = w.tally();
    t.execute(&p, commands::apply(&job, "I can do it")).await?;
    t.execute(&o, commands::accept(&job, &participant)).await?;
    t.execute(&o, commands::complete(&job))
        .await
        .with_context(|| format!("{owner} paying {participant}"))?;
    Ok(())
}

#[given(expr = "{word} has launched and cancelled a job")]
async fn launched_and_cancelled(w: &mut TallyWorld, owner: String) -> Result<()> {
    let job = launch_one(w, &owner, 10).await?;
    w.tally()
        .execute(
            &TallyWorld::member(&owner)?,
            commands::cancel(&job, "changed my mind"),
        )
        .await
        .with_context(|| format!("{owner} cancelling"))?;
    Ok(())
}

#[when("the reports have caught up")]
async fn caught_up(w: &mut TallyWorld) -> Result<()> {
    let mut last = None;
    for _ in 0..200 {
        let r = w.tally().reports(&TallyWorld::admin()).await?;
        if r.behind == 0 && r.checkpoint > 0 {
            w.reports = Some(r);
            return Ok(());
        }
        last = Some((r.checkpoint, r.behind));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the reports did not catch up in 10 s (checkpoint, behind: {last:?})")
}

fn reports(w: &TallyWorld) -> Result<&ReportsView> {
    w.reports
        .as_ref()
        .context("read the reports first: \"when the reports have caught up\"")
}

#[then("the day's totals are:")]
async fn day_totals(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let r = reports(w)?;
    ensure!(r.daily.len() == 1, "one day expected, got {:?}", r.daily);
    let t = &r.daily[0].totals;
    let table = step.table.as_ref().context("a table of totals")?;
    for row in &table.rows {
        let (name, want) = (row[0].trim(), row[1].trim().parse::<u64>()?);
        let got = match name {
            "granted" => t.granted,
            "escrowed" => t.escrowed,
            "earned" => t.earned,
            "refunded" => t.refunded,
            "jobs launched" => t.jobs_launched,
            "jobs completed" => t.jobs_completed,
            "jobs cancelled" => t.jobs_cancelled,
            "members registered" => t.members_registered,
            "active members" => t.active_members,
            other => bail!("no total called {other:?}"),
        };
        ensure!(got == want, "{name}: {got}, expected {want}");
    }
    Ok(())
}

fn rule(name: &str) -> Result<FraudRule> {
    Ok(match name {
        "collusion" => FraudRule::Collusion,
        "refund churn" => FraudRule::RefundChurn,
        "quick cash-out" => FraudRule::QuickCashOut,
        other => bail!("no fraud rule called {other:?}"),
    })
}

#[then(
    regex = r"^there is an? (collusion|refund churn|quick cash-out) signal about (\w+)(?: and (\w+))?$"
)]
async fn signal_about(
    w: &mut TallyWorld,
    name: String,
    first: String,
    second: String,
) -> Result<()> {
    let r = reports(w)?;
    let rule = rule(&name)?;
    let mut members = vec![first];
    if !second.is_empty() {
        members.push(second);
    }
    members.sort();
    let found = r.signals.iter().filter(|s| s.rule == rule).any(|s| {
        let mut m = s.members.clone();
        m.sort();
        m == members && !s.positions.is_empty()
    });
    ensure!(
        found,
        "no {name} signal about {members:?} in {:?}",
        r.signals
    );
    Ok(())
}

#[then(regex = r"^there is no (collusion|refund churn|quick cash-out) signal$")]
async fn no_signal(w: &mut TallyWorld, name: String) -> Result<()> {
    let rule = rule(&name)?;
    let r = reports(w)?;
    let raised: Vec<_> = r.signals.iter().filter(|s| s.rule == rule).collect();
    ensure!(raised.is_empty(), "{name} signals: {raised:?}");
    Ok(())
}

#[then("there are no fraud signals")]
async fn no_signals(w: &mut TallyWorld) -> Result<()> {
    let r = reports(w)?;
    ensure!(r.signals.is_empty(), "signals: {:?}", r.signals);
    Ok(())
}
