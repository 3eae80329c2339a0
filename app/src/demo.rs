//! The demo data set: members, grants, and jobs in every state, recorded through the driving
//! port like any other commands.

use anyhow::{Context, Result};
use std::fmt;
use tally_ports::{Actor, CommandKind, Ctx, Input, JobStatus, Tally};

/// What the seed recorded.
#[derive(Debug, Default)]
pub struct Summary {
    /// Members registered.
    pub members: usize,
    /// Credits granted in all.
    pub granted: u64,
    /// Jobs by status: open, in progress, completed, cancelled.
    pub jobs: [usize; 4],
    /// Events recorded.
    pub events: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [open, in_progress, completed, cancelled] = self.jobs;
        writeln!(f, "demo data recorded:")?;
        writeln!(f, "  members:  {}", self.members)?;
        writeln!(f, "  granted:  {} credits", self.granted)?;
        writeln!(
            f,
            "  jobs:     {open} open, {in_progress} in progress, {completed} completed, {cancelled} cancelled"
        )?;
        write!(f, "  events:   {}", self.events)
    }
}

/// The demo members' handles.
pub const HANDLES: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

const MEMBERS: [(&str, &str, i64); 6] = [
    ("alice", "Alice Liddell", 500),
    ("bob", "Bob Marley", 300),
    ("carol", "Carol Danvers", 250),
    ("dave", "Dave Bowman", 120),
    ("erin", "Erin Brockovich", 80),
    ("frank", "Frank Herbert", 0),
];

/// A demo job: owner, title, description, reward, applicants, and what happens next.
type DemoJob = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static [&'static str],
    Next,
);

const JOBS: [DemoJob; 7] = [
    (
        "alice",
        "Design a logo for the bakery",
        "Two colours, works in black and white.",
        120,
        &["bob", "carol"],
        Next::Complete("bob"),
    ),
    (
        "alice",
        "Proofread the spring newsletter",
        "About 2,000 words.",
        40,
        &["erin", "dave"],
        Next::Accept("erin"),
    ),
    (
        "bob",
        "Fix the shop's contact form",
        "It swallows messages with accents.",
        90,
        &["carol", "frank"],
        Next::Stay,
    ),
    (
        "carol",
        "Photograph the new menu",
        "Twelve dishes, natural light.",
        60,
        &["alice"],
        Next::Cancel,
    ),
    (
        "dave",
        "Translate the FAQ into French",
        "",
        50,
        &["alice", "erin"],
        Next::Withdraw("erin"),
    ),
    (
        "alice",
        "Tune the piano in the hall",
        "Before the concert on Friday.",
        35,
        &[],
        Next::Stay,
    ),
    (
        "bob",
        "Water the plants in August",
        "Three weeks, twice a week.",
        25,
        &["dave"],
        Next::Complete("dave"),
    ),
];

#[derive(Debug, Clone, Copy)]
enum Next {
    Stay,
    Accept(&'static str),
    Complete(&'static str),
    Cancel,
    Withdraw(&'static str),
}

fn member(h: &str) -> Ctx {
    Ctx::new(Actor::member(h))
}

fn on_job(kind: CommandKind, job: &str) -> Input {
    Input::new(kind).with("job", job)
}

/// Records the demo data set, as `admin` (an admin or system actor).
pub async fn seed(tally: &dyn Tally, admin: &Ctx) -> Result<Summary> {
    let mut s = Summary::default();
    let mut events = 0;
    for (handle, name, credits) in MEMBERS {
        let register = Input::new(CommandKind::RegisterMember)
            .with("handle", handle)
            .with("display_name", name);
        let r = tally
            .execute(admin, register)
            .await
            .with_context(|| format!("registering {handle}"))?;
        events += r.events.len();
        s.members += 1;
        if credits > 0 {
            let grant = Input::new(CommandKind::GrantCredits)
                .with("handle", handle)
                .with("amount", credits)
                .with("reason", "welcome credits");
            let r = tally
                .execute(admin, grant)
                .await
                .with_context(|| format!("granting to {handle}"))?;
            events += r.events.len();
            s.granted += credits as u64;
        }
    }
    for (owner, title, description, reward, applicants, next) in JOBS {
        let launch = Input::new(CommandKind::LaunchJob)
            .with("title", title)
            .with("description", description)
            .with("reward", reward);
        let r = tally
            .execute(&member(owner), launch)
            .await
            .with_context(|| format!("launching {title:?}"))?;
        events += r.events.len();
        let job = r
            .launched_job()
            .context("a launch names its job")?
            .to_owned();
        for a in applicants {
            let pitch = format!("{a} here: I have done this kind of work before.");
            let apply = on_job(CommandKind::Apply, &job).with("pitch", pitch);
            events += tally.execute(&member(a), apply).await?.events.len();
        }
        let o = member(owner);
        let status = match next {
            Next::Stay => JobStatus::Open,
            Next::Withdraw(who) => {
                let withdraw = on_job(CommandKind::WithdrawApplication, &job);
                events += tally.execute(&member(who), withdraw).await?.events.len();
                JobStatus::Open
            }
            Next::Accept(who) => {
                let accept = on_job(CommandKind::AcceptApplicant, &job).with("participant", who);
                events += tally.execute(&o, accept).await?.events.len();
                JobStatus::InProgress
            }
            Next::Complete(who) => {
                let accept = on_job(CommandKind::AcceptApplicant, &job).with("participant", who);
                events += tally.execute(&o, accept).await?.events.len();
                let complete = on_job(CommandKind::CompleteJob, &job);
                events += tally.execute(&o, complete).await?.events.len();
                JobStatus::Completed
            }
            Next::Cancel => {
                let cancel =
                    on_job(CommandKind::CancelJob, &job).with("reason", "the menu changed");
                events += tally.execute(&o, cancel).await?.events.len();
                JobStatus::Cancelled
            }
        };
        let i = match status {
            JobStatus::Open => 0,
            JobStatus::InProgress => 1,
            JobStatus::Completed => 2,
            _ => 3,
        };
        s.jobs[i] += 1;
    }
    s.events = events;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_seed_records_jobs_in_every_state_and_conserves_credits() {
        let (svc, store) = tally_memory::service();
        let admin = Ctx::new(Actor::System("seed".into()));
        let s = seed(&svc, &admin).await.unwrap();
        assert_eq!(s.members, 6);
        assert!(MEMBERS.iter().map(|m| m.0).eq(HANDLES));
        assert!(s.jobs.iter().all(|n| *n > 0), "{s:?}");
        assert_eq!(s.events, store.event_count());
        let members = svc.members(&admin).await.unwrap();
        let held: u64 = members.iter().map(|m| m.balance + m.escrowed).sum();
        assert_eq!(held, s.granted, "conservation");
        // A second seed on the same storage refuses cleanly (handles are taken).
        assert!(seed(&svc, &admin).await.is_err());
    }
}
