//! Forgetting a member: their personal data becomes unreadable everywhere, while their
//! credits and jobs stay accounted for.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};
use tally_ports::{CommandKind, EntityRef, Input};

/// Forgets `handle`.
fn forget(handle: &str) -> Input {
    Input::new(CommandKind::ForgetMember).with("handle", handle)
}

#[given(
    expr = "{word} has launched the job {string} described as {string} with a reward of {int} credits"
)]
async fn has_launched_described(
    w: &mut TallyWorld,
    owner: String,
    title: String,
    description: String,
    reward: i64,
) -> Result<()> {
    let input = Input::new(CommandKind::LaunchJob)
        .with("title", title.as_str())
        .with("description", description.as_str())
        .with("reward", reward);
    let r = w
        .tally()
        .execute(&TallyWorld::member(&owner)?, input)
        .await
        .with_context(|| format!("{owner} launching {title:?}"))?;
    w.remember_launch(&title, &r)?;
    Ok(())
}

#[given(expr = "the admin has forgotten {word}")]
async fn has_forgotten(w: &mut TallyWorld, handle: String) -> Result<()> {
    w.tally()
        .execute(&TallyWorld::admin(), forget(&handle))
        .await
        .with_context(|| format!("forgetting {handle}"))?;
    Ok(())
}

#[when(expr = "{actor} forgets {word}")]
async fn forgets(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    let t = w.begin().await?;
    let r = t.execute(&who.ctx(), forget(&handle)).await;
    w.settle_command(r);
    Ok(())
}

#[then(expr = "{actor} sees the description of the job {string} as {string}")]
async fn sees_description(
    w: &mut TallyWorld,
    who: Who,
    title: String,
    description: String,
) -> Result<()> {
    let id = w.job(&title)?;
    let v = w
        .tally()
        .job_participant_view(&who.ctx(), &id)
        .await
        .with_context(|| format!("looking at the job {title:?}"))?;
    ensure!(
        v.job.description == description,
        "the job {title:?} is described as {:?}",
        v.job.description
    );
    Ok(())
}

#[then(expr = "the history of {word} shows the grant reason {string} nowhere and {string} instead")]
async fn history_without(
    w: &mut TallyWorld,
    handle: String,
    gone: String,
    placeholder: String,
) -> Result<()> {
    let h = w
        .tally()
        .history(&TallyWorld::admin(), &EntityRef::member(&handle))
        .await
        .context("the admin reading a wallet's history")?;
    let reasons: Vec<String> = h
        .iter()
        .filter(|e| e.event_type == "CreditsGranted")
        .filter_map(|e| e.payload["reason"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        !reasons.contains(&gone),
        "the history still says {gone:?}: {reasons:?}"
    );
    ensure!(
        reasons.contains(&placeholder),
        "the grant reasons read {reasons:?}"
    );
    let all = serde_json::to_string(&h)?;
    ensure!(!all.contains(&gone), "the history still holds {gone:?}");
    ensure!(
        h.iter().any(|e| e.event_type == "MemberForgotten"),
        "the history does not record the erasure"
    );
    Ok(())
}

#[then(expr = "the feed holds {string} nowhere")]
async fn feed_without(w: &mut TallyWorld, gone: String) -> Result<()> {
    let page = w
        .tally()
        .feed(&TallyWorld::admin(), 0, 1000)
        .await
        .context("reading the feed")?;
    let all = serde_json::to_string(&page.events)?;
    ensure!(!all.contains(&gone), "the feed still holds {gone:?}");
    Ok(())
}
