//! Being told what concerns you: the inbox of each member, filled by the commands that
//! concern them, read and marked read.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::{then, when};
use tally_ports::inbox::{InboxPage, InboxQuery, MarkRead, NotificationView};

/// Everything `who` has been told, newest first.
async fn inbox(w: &TallyWorld, who: &str) -> Result<InboxPage> {
    w.tally()
        .inbox(&TallyWorld::member(who)?, InboxQuery::newest(100))
        .await
        .with_context(|| format!("reading {who}'s notifications"))
}

/// `who`'s one notification of `kind` about the job called `title`.
async fn told(w: &TallyWorld, who: &str, kind: &str, title: &str) -> Result<NotificationView> {
    let id = w.job(title)?;
    let page = inbox(w, who).await?;
    let mut found = page
        .items
        .iter()
        .filter(|n| n.kind == kind && n.job.as_deref() == Some(id.as_str()));
    let Some(n) = found.next() else {
        let kinds: Vec<&str> = page.items.iter().map(|n| n.summary.as_str()).collect();
        bail!("{who} was not told {kind} about {title:?}; they were told {kinds:?}");
    };
    ensure!(
        found.next().is_none(),
        "{who} was told {kind} about {title:?} more than once"
    );
    ensure!(
        n.job_title.as_deref() == Some(title),
        "the notification names the job {:?}",
        n.job_title
    );
    Ok(n.clone())
}

#[then(expr = "{word} is told that {word} applied to the job {string}")]
async fn told_applied(w: &mut TallyWorld, owner: String, who: String, title: String) -> Result<()> {
    let n = told(w, &owner, "application_received", &title).await?;
    ensure!(
        n.member.as_deref() == Some(who.as_str()),
        "it names {:?}",
        n.member
    );
    ensure!(n.summary.contains(&who), "it says {:?}", n.summary);
    Ok(())
}

#[then(expr = "{word} is told that she/he/they was/were accepted for the job {string}")]
async fn told_accepted(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    told(w, &who, "application_accepted", &title)
        .await
        .map(|_| ())
}

#[then(expr = "{word} is told that the job {string} went to someone else")]
async fn told_not_selected(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    told(w, &who, "application_not_selected", &title)
        .await
        .map(|_| ())
}

#[then(expr = "{word} is told that the job {string} was cancelled because {string}")]
async fn told_cancelled(
    w: &mut TallyWorld,
    who: String,
    title: String,
    reason: String,
) -> Result<()> {
    let n = told(w, &who, "job_cancelled", &title).await?;
    ensure!(
        n.reason.as_deref() == Some(reason.as_str()),
        "the reason given is {:?}",
        n.reason
    );
    Ok(())
}

#[then(expr = "{word} is told that she/he/they was/were paid {int} credits for the job {string}")]
async fn told_paid(w: &mut TallyWorld, who: String, amount: u64, title: String) -> Result<()> {
    let n = told(w, &who, "job_paid", &title).await?;
    ensure!(
        n.amount == Some(amount),
        "the amount told is {:?}",
        n.amount
    );
    Ok(())
}

#[then(expr = "{word} is told that she/he/they was/were granted {int} credits")]
async fn told_granted(w: &mut TallyWorld, who: String, amount: u64) -> Result<()> {
    let page = inbox(w, &who).await?;
    ensure!(
        page.items
            .iter()
            .any(|n| n.kind == "credits_granted" && n.amount == Some(amount)),
        "{who} was not told of a grant of {amount}: {:?}",
        page.items.iter().map(|n| &n.summary).collect::<Vec<_>>()
    );
    Ok(())
}

#[then(expr = "{word} is told nothing about the job {string}")]
async fn told_nothing_about(w: &mut TallyWorld, who: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let page = inbox(w, &who).await?;
    let about: Vec<&str> = page
        .items
        .iter()
        .filter(|n| n.job.as_deref() == Some(id.as_str()))
        .map(|n| n.summary.as_str())
        .collect();
    ensure!(about.is_empty(), "{who} was told {about:?}");
    Ok(())
}

#[then(regex = r"^([a-z][a-z0-9_-]*) has (\d+|no) notifications?$")]
async fn has_notifications(w: &mut TallyWorld, who: String, n: String) -> Result<()> {
    let want: usize = if n == "no" { 0 } else { n.parse()? };
    let page = inbox(w, &who).await?;
    ensure!(
        page.items.len() == want,
        "{who} has {} notifications: {:?}",
        page.items.len(),
        page.items.iter().map(|n| &n.summary).collect::<Vec<_>>()
    );
    Ok(())
}

#[then(regex = r"^([a-z][a-z0-9_-]*) has (\d+|no) unread notifications?$")]
async fn has_unread(w: &mut TallyWorld, who: String, n: String) -> Result<()> {
    let want: u64 = if n == "no" { 0 } else { n.parse()? };
    let ctx = TallyWorld::member(&who)?;
    let count = w.tally().unread_notifications(&ctx).await?;
    ensure!(count == want, "{who} has {count} unread notifications");
    let page = inbox(w, &who).await?;
    ensure!(page.unread == want, "the inbox says {} unread", page.unread);
    let unread = page.items.iter().filter(|n| n.unread()).count() as u64;
    ensure!(unread == want, "{unread} notifications are shown unread");
    Ok(())
}

#[when(expr = "{word} reads the notification that {word} applied to the job {string}")]
async fn reads(w: &mut TallyWorld, owner: String, who: String, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let page = inbox(w, &owner).await?;
    let n = page
        .items
        .iter()
        .find(|n| {
            n.kind == "application_received"
                && n.job.as_deref() == Some(id.as_str())
                && n.member.as_deref() == Some(who.as_str())
        })
        .with_context(|| format!("{owner} was not told that {who} applied"))?
        .id;
    let t = w.begin().await?;
    let r = t
        .mark_read(&TallyWorld::member(&owner)?, MarkRead::One(n))
        .await;
    w.settle(r);
    Ok(())
}

#[when(expr = "{word} marks every notification read")]
async fn marks_all(w: &mut TallyWorld, who: String) -> Result<()> {
    let t = w.begin().await?;
    let r = t.mark_read(&TallyWorld::member(&who)?, MarkRead::All).await;
    w.settle(r);
    Ok(())
}

#[when(expr = "{actor} marks {word}'s newest notification read")]
async fn marks_someone_elses(w: &mut TallyWorld, by: Who, owner: String) -> Result<()> {
    let page = inbox(w, &owner).await?;
    let n = page
        .items
        .first()
        .with_context(|| format!("{owner} has no notification"))?
        .id;
    let t = w.begin().await?;
    let r = t.mark_read(&by.ctx(), MarkRead::One(n)).await;
    w.settle(r);
    Ok(())
}

#[when(expr = "{actor} looks at her/his/their notifications")]
async fn looks(w: &mut TallyWorld, who: Who) -> Result<()> {
    let t = w.begin().await?;
    let r = t.inbox(&who.ctx(), InboxQuery::newest(20)).await;
    w.settle(r);
    Ok(())
}
