//! Applying to a job, as a participant with a pitch.

use super::commands;
use super::params::{AppStatus, Who, text_of};
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};
use tally_domain::ApplicationStatus;

#[given(expr = "{word} has applied to the job {string} with the pitch {string}")]
async fn has_applied_with(
    w: &mut TallyWorld,
    who: String,
    title: String,
    pitch: String,
) -> Result<()> {
    let id = w.job(&title)?;
    w.tally()
        .execute(&TallyWorld::member(&who)?, commands::apply(&id, &pitch))
        .await
        .with_context(|| format!("{who} applying to {title:?}"))?;
    Ok(())
}

#[given(expr = "{word} has applied to the job {string}")]
async fn has_applied(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    has_applied_with(w, who.clone(), title, format!("{who} can do it")).await
}

async fn apply(w: &mut TallyWorld, who: &Who, title: &str, pitch: &str) -> Result<()> {
    let id = w.job(title)?;
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), commands::apply(&id, pitch)).await;
    w.settle_command(r);
    Ok(())
}

#[when(expr = "{actor} applies to the job {string} with the pitch {string}")]
async fn applies(w: &mut TallyWorld, who: Who, title: String, pitch: String) -> Result<()> {
    apply(w, &who, &title, &pitch).await
}

#[when(expr = "{actor} applies to the job {string} with the pitch {string} proposing {int} day(s)")]
async fn applies_proposing(
    w: &mut TallyWorld,
    who: Who,
    title: String,
    pitch: String,
    days: i64,
) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.begin().await?;
    let r = t
        .execute(&who.ctx(), commands::apply_proposing(&id, &pitch, days))
        .await;
    w.settle_command(r);
    Ok(())
}

#[then(expr = "{word} sees that {word} expects to need {int} day(s) for the job {string}")]
async fn owner_sees_days(
    w: &mut TallyWorld,
    owner: String,
    who: String,
    days: u16,
    title: String,
) -> Result<()> {
    let a = owner_sees_application(w, &owner, &who, &title).await?;
    ensure!(
        a.proposed_days == Some(days),
        "{owner} sees {who} proposing {:?} days",
        a.proposed_days
    );
    Ok(())
}

#[then(expr = "{word} sees that {word} gave no estimate for the job {string}")]
async fn owner_sees_no_days(
    w: &mut TallyWorld,
    owner: String,
    who: String,
    title: String,
) -> Result<()> {
    let a = owner_sees_application(w, &owner, &who, &title).await?;
    ensure!(
        a.proposed_days.is_none(),
        "{owner} sees {who} proposing {:?} days",
        a.proposed_days
    );
    Ok(())
}

async fn owner_sees_application(
    w: &TallyWorld,
    owner: &str,
    who: &str,
    title: &str,
) -> Result<tally_ports::ApplicationView> {
    let id = w.job(title)?;
    let v = w
        .tally()
        .job_owner_view(&TallyWorld::member(owner)?, &id)
        .await
        .with_context(|| format!("{owner} looking at {title:?}"))?;
    v.applications
        .into_iter()
        .find(|a| a.participant == who)
        .with_context(|| format!("{owner} sees no application by {who}"))
}

#[when(expr = "{actor} applies to the job {string} with a pitch of {int} characters")]
async fn applies_long(w: &mut TallyWorld, who: Who, title: String, n: i64) -> Result<()> {
    apply(w, &who, &title, &text_of(n)).await
}

#[then(expr = "{word}'s application to the job {string} is {application}")]
async fn application_is(
    w: &mut TallyWorld,
    who: String,
    title: String,
    status: AppStatus,
) -> Result<()> {
    let id = w.job(&title)?;
    let v = w
        .tally()
        .job_participant_view(&TallyWorld::member(&who)?, &id)
        .await
        .with_context(|| format!("{who} looking at {title:?}"))?;
    let mine = v
        .my_application
        .with_context(|| format!("{who} has no application to {title:?}{}", w.after_last()))?;
    ensure!(
        mine.status == status.0 && mine.participant == who,
        "{who}'s application is {} ({})",
        mine.status.as_str(),
        mine.participant
    );
    Ok(())
}

#[then(expr = "the job {string} has {int} live application(s)")]
async fn live_applications(w: &mut TallyWorld, title: String, n: usize) -> Result<()> {
    let v = w.job_as_admin(&title).await?;
    let live = v
        .applications
        .iter()
        .filter(|a| a.status == ApplicationStatus::Live)
        .count();
    ensure!(live == n, "{live} live applications: {:?}", v.applications);
    Ok(())
}
