//! Commands racing each other: the rules hold and no credit is created or lost.

use super::commands::{self, grant, launch};
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{given, then, when};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tally_domain::ApplicationStatus;
use tally_ports::{Ctx, EntityRef, Error, Receipt, Tally};

/// The business rules a racing command may run into; any other refusal is a fault.
const RULES: &[&str] = &[
    "insufficient_credits",
    "own_job",
    "already_applied",
    "job_not_open",
    "job_not_in_progress",
    "no_live_application",
    "application_accepted",
];

/// What a burst of concurrent commands did.
#[derive(Debug, Default)]
pub(crate) struct Burst {
    /// The receipts of the commands that succeeded.
    succeeded: Vec<Receipt>,
    /// The codes of the commands that failed, with how many failed so.
    failed: BTreeMap<String, usize>,
    /// Failures that no business rule explains.
    unexpected: Vec<String>,
}

impl Burst {
    fn add(&mut self, what: &str, r: Result<Receipt, Error>) {
        match r {
            Ok(receipt) => self.succeeded.push(receipt),
            Err(e) => {
                if !RULES.contains(&e.code()) {
                    self.unexpected.push(format!("{what}: {:?}: {e}", e.code()));
                }
                *self.failed.entry(e.code().to_owned()).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, other: Burst) {
        self.succeeded.extend(other.succeeded);
        for (code, n) in other.failed {
            *self.failed.entry(code).or_default() += n;
        }
        self.unexpected.extend(other.unexpected);
    }
}

/// Runs futures on the runtime's threads at once, and collects what they did.
async fn at_once(futures: Vec<BoxFuture<'static, Burst>>) -> Result<Burst> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut burst = Burst::default();
    for h in handles {
        burst.merge(h.await.context("a racing task panicked")?);
    }
    Ok(burst)
}

fn burst(w: &TallyWorld) -> Result<&Burst> {
    w.burst.as_ref().context("no commands raced")
}

#[given(expr = "{int} applicants are members")]
async fn applicants(w: &mut TallyWorld, n: usize) -> Result<()> {
    for i in 1..=n {
        super::registration::member_with(w, &format!("applicant-{i}"), 0).await?;
    }
    Ok(())
}

#[given(expr = "{int} racing members with {int} credits each")]
async fn racers(w: &mut TallyWorld, n: usize, credits: i64) -> Result<()> {
    for i in 1..=n {
        super::registration::member_with(w, &format!("racer-{i}"), credits).await?;
    }
    Ok(())
}

#[when(expr = "{word} launches {int} jobs at once, each with a reward of {int} credits")]
async fn launches_at_once(w: &mut TallyWorld, owner: String, n: usize, reward: i64) -> Result<()> {
    let ctx = TallyWorld::member(&owner)?;
    let t = w.tally();
    let tasks = (1..=n)
        .map(|i| {
            let (t, ctx) = (Arc::clone(&t), ctx.clone());
            async move {
                let mut b = Burst::default();
                let r = t.execute(&ctx, launch(&format!("Job {i}"), reward)).await;
                b.add("launch", r);
                b
            }
            .boxed()
        })
        .collect();
    w.burst = Some(at_once(tasks).await?);
    Ok(())
}

#[when(
    expr = "the admin grants {int} credits to {word} {int} times at once with the command id {string}"
)]
async fn grants_at_once(
    w: &mut TallyWorld,
    amount: i64,
    handle: String,
    n: usize,
    id: String,
) -> Result<()> {
    let ctx = TallyWorld::admin().with_command_id(w.command_id(&id));
    let t = w.tally();
    let tasks = (0..n)
        .map(|_| {
            let (t, ctx, input) = (Arc::clone(&t), ctx.clone(), grant(&handle, amount, ""));
            async move {
                let mut b = Burst::default();
                b.add("grant", t.execute(&ctx, input).await);
                b
            }
            .boxed()
        })
        .collect();
    w.burst = Some(at_once(tasks).await?);
    Ok(())
}

#[when(expr = "every applicant applies to the job {string} at once")]
async fn apply_at_once(w: &mut TallyWorld, title: String) -> Result<()> {
    let id = w.job(&title)?;
    let t = w.tally();
    let members = t.members(&TallyWorld::admin()).await?;
    let mut tasks = Vec::new();
    for m in members
        .iter()
        .filter(|m| m.handle.starts_with("applicant-"))
    {
        let (t, id, ctx) = (Arc::clone(&t), id.clone(), TallyWorld::member(&m.handle)?);
        let pitch = format!("{} will do it", m.handle);
        tasks.push(
            async move {
                let mut b = Burst::default();
                b.add("apply", t.execute(&ctx, commands::apply(&id, &pitch)).await);
                b
            }
            .boxed(),
        );
    }
    w.burst = Some(at_once(tasks).await?);
    Ok(())
}

/// A small deterministic generator (xorshift64*): the race differs by scheduling, not by luck.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        usize::try_from(x >> 33).unwrap_or(0) % n.max(1)
    }
}

/// Jobs launched during the race, with their owners.
type Jobs = Arc<Mutex<Vec<(String, String)>>>;

/// One member's part of the race: launching, applying to recent jobs of others, withdrawing,
/// and accepting, completing or cancelling their own.
async fn race(t: Arc<dyn Tally>, me: String, seed: u64, rounds: usize, jobs: Jobs) -> Burst {
    let mut b = Burst::default();
    let mut dice = Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let ctx = TallyWorld::member(&me).expect("racers have valid handles");
    for round in 0..rounds {
        let (mine, others): (Vec<_>, Vec<_>) = {
            let all = jobs.lock().unwrap_or_else(|e| e.into_inner());
            // The most recent jobs only, so that racers collide on the same ones.
            let recent = all.iter().rev().take(8).cloned().collect::<Vec<_>>();
            recent.into_iter().partition(|(_, owner)| owner == &me)
        };
        let pick = |v: &Vec<(String, String)>, d: &mut Dice| v.get(d.roll(v.len())).cloned();
        match dice.roll(100) {
            0..25 => {
                let reward = i64::try_from(1 + dice.roll(80)).unwrap_or(1);
                let r = t
                    .execute(&ctx, launch(&format!("{me} job {round}"), reward))
                    .await;
                if let Ok(receipt) = &r
                    && let Some(id) = receipt.launched_job()
                {
                    let mut all = jobs.lock().unwrap_or_else(|e| e.into_inner());
                    all.push((id.to_owned(), me.clone()));
                }
                b.add("launch", r);
            }
            25..55 => {
                if let Some((job, _)) = pick(&others, &mut dice) {
                    let r = t
                        .execute(&ctx, commands::apply(&job, &format!("{me} wants it")))
                        .await;
                    b.add("apply", r);
                }
            }
            55..65 => {
                if let Some((job, _)) = pick(&others, &mut dice) {
                    b.add("withdraw", t.execute(&ctx, commands::withdraw(&job)).await);
                }
            }
            65..80 => {
                if let Some((job, _)) = pick(&mine, &mut dice) {
                    match t.job_owner_view(&ctx, &job).await {
                        Ok(v) => {
                            let live = v
                                .applications
                                .iter()
                                .find(|a| a.status == ApplicationStatus::Live);
                            if let Some(a) = live {
                                let r = t
                                    .execute(&ctx, commands::accept(&job, &a.participant))
                                    .await;
                                b.add("accept", r);
                            }
                        }
                        Err(e) => b.unexpected.push(format!("owner view: {e}")),
                    }
                }
            }
            80..92 => {
                if let Some((job, _)) = pick(&mine, &mut dice) {
                    b.add("complete", t.execute(&ctx, commands::complete(&job)).await);
                }
            }
            _ => {
                if let Some((job, _)) = pick(&mine, &mut dice) {
                    b.add(
                        "cancel",
                        t.execute(&ctx, commands::cancel(&job, "changed my mind"))
                            .await,
                    );
                }
            }
        }
        tokio::task::yield_now().await;
    }
    b
}

/// The admin's part of the race: grants to random racers.
async fn grants(t: Arc<dyn Tally>, racers: Vec<String>, n: usize) -> Burst {
    let mut b = Burst::default();
    let mut dice = Dice(0x5eed);
    let admin = TallyWorld::admin();
    for _ in 0..n {
        let who = &racers[dice.roll(racers.len())];
        let amount = i64::try_from(1 + dice.roll(100)).unwrap_or(1);
        b.add("grant", t.execute(&admin, grant(who, amount, "race")).await);
        tokio::task::yield_now().await;
    }
    b
}

#[when(
    "the members race, launching, applying, withdrawing, accepting, completing and cancelling jobs while the admin grants credits"
)]
async fn the_race(w: &mut TallyWorld) -> Result<()> {
    let t = w.tally();
    let racers: Vec<String> = t
        .members(&TallyWorld::admin())
        .await?
        .into_iter()
        .map(|m| m.handle)
        .collect();
    let jobs: Jobs = Arc::default();
    let mut tasks: Vec<_> = (1..)
        .zip(&racers)
        .map(|(seed, me)| race(Arc::clone(&t), me.clone(), seed, 60, Arc::clone(&jobs)).boxed())
        .collect();
    tasks.push(grants(Arc::clone(&t), racers.clone(), 40).boxed());
    let b = at_once(tasks).await?;
    ensure!(
        b.succeeded.len() > 50,
        "the race did too little to prove anything: {} commands succeeded ({:?} failed)",
        b.succeeded.len(),
        b.failed
    );
    w.burst = Some(b);
    Ok(())
}

#[then(expr = "{int} of them succeed(s)")]
async fn n_succeed(w: &mut TallyWorld, n: usize) -> Result<()> {
    let b = burst(w)?;
    ensure!(
        b.succeeded.len() == n,
        "{} succeeded; failures: {:?}",
        b.succeeded.len(),
        b.failed
    );
    Ok(())
}

#[then(expr = "the other {int} are rejected with {string}")]
async fn others_rejected(w: &mut TallyWorld, n: usize, code: String) -> Result<()> {
    let b = burst(w)?;
    let only: BTreeMap<String, usize> = [(code, n)].into();
    ensure!(b.failed == only, "the failures are {:?}", b.failed);
    Ok(())
}

#[then("they all name the same events")]
async fn same_events(w: &mut TallyWorld) -> Result<()> {
    let b = burst(w)?;
    let first = b.succeeded.first().context("none succeeded")?;
    ensure!(
        b.succeeded.iter().all(|r| r == first),
        "the receipts differ: {:?}",
        b.succeeded
    );
    Ok(())
}

#[then("every command either succeeded or was refused by a business rule")]
async fn only_rules(w: &mut TallyWorld) -> Result<()> {
    let b = burst(w)?;
    ensure!(
        b.unexpected.is_empty(),
        "{} commands failed for another reason: {:?}",
        b.unexpected.len(),
        b.unexpected
    );
    Ok(())
}

/// Every credit in the system, as the admin sees it through the port.
#[derive(Debug, Default)]
struct Ledger {
    /// From the global history: every CreditsGranted.
    granted_in_history: u64,
    /// From the wallets: their lifetime grants.
    granted_in_wallets: u64,
    balances: u64,
    /// Rewards of the jobs that hold escrow (open or in progress).
    held_by_jobs: u64,
    /// What the wallets say they hold in escrow.
    escrowed_in_wallets: u64,
}

async fn ledger(t: &Arc<dyn Tally>) -> Result<Ledger> {
    let admin = TallyWorld::admin();
    let mut l = Ledger::default();
    let mut after = 0;
    loop {
        let page = t.feed(&admin, after, 1000).await?;
        if page.events.is_empty() {
            break;
        }
        for e in page
            .events
            .iter()
            .filter(|e| e.event_type == "CreditsGranted")
        {
            l.granted_in_history += amount(&e.payload)?;
        }
        after = page.next_after;
    }
    let mut held = BTreeMap::new();
    for m in t.members(&admin).await? {
        let v = t.wallet(&admin, &m.handle).await?;
        ensure!(
            (m.balance, m.escrowed) == (v.balance, v.escrowed),
            "the members list and {}'s wallet disagree",
            m.handle
        );
        l.granted_in_wallets += v.total_granted;
        l.balances += v.balance;
        l.escrowed_in_wallets += v.escrowed;
        for line in v.escrow {
            held.insert(line.job, (m.handle.clone(), line.amount));
        }
    }
    for (job, (owner, amount)) in held {
        let v = t.job_owner_view(&admin, &job).await?;
        ensure!(
            v.job.status.holds_escrow() && v.job.owner == owner && v.job.reward == amount,
            "{owner} holds {amount} for the job {job}, which is {} by {} offering {}",
            v.job.status.as_str(),
            v.job.owner,
            v.job.reward
        );
        l.held_by_jobs += v.job.reward;
    }
    Ok(l)
}

fn amount(payload: &serde_json::Value) -> Result<u64> {
    payload["amount"]
        .as_u64()
        .with_context(|| format!("an amount in {payload}"))
}

#[then("the credits granted equal the balances plus the rewards held by open and in-progress jobs")]
async fn conservation(w: &mut TallyWorld) -> Result<()> {
    let l = ledger(&w.tally()).await?;
    ensure!(
        l.granted_in_history == l.granted_in_wallets,
        "the history grants {} credits, the wallets were granted {}",
        l.granted_in_history,
        l.granted_in_wallets
    );
    ensure!(
        l.escrowed_in_wallets == l.held_by_jobs,
        "the wallets hold {} in escrow, their jobs {}",
        l.escrowed_in_wallets,
        l.held_by_jobs
    );
    ensure!(
        l.granted_in_history == l.balances + l.held_by_jobs,
        "credits were created or lost: {l:?}"
    );
    Ok(())
}

#[then("every open or in-progress job holds its reward in its owner's escrow")]
async fn jobs_hold_rewards(w: &mut TallyWorld) -> Result<()> {
    let t = w.tally();
    let admin = TallyWorld::admin();
    let launched: BTreeSet<String> = burst(w)?
        .succeeded
        .iter()
        .filter_map(|r| r.launched_job().map(str::to_owned))
        .collect();
    ensure!(!launched.is_empty(), "no job was launched");
    for job in launched {
        let v = t.job_owner_view(&admin, &job).await?;
        let wallet = t.wallet(&admin, &v.job.owner).await?;
        let held = wallet
            .escrow
            .iter()
            .find(|l| l.job == job)
            .map(|l| l.amount);
        let expected = v.job.status.holds_escrow().then_some(v.job.reward);
        ensure!(
            held == expected,
            "the job {job} is {} with a reward of {}, and {} holds {held:?} for it",
            v.job.status.as_str(),
            v.job.reward,
            v.job.owner
        );
    }
    Ok(())
}

#[then("no wallet ever had a negative balance")]
async fn never_negative(w: &mut TallyWorld) -> Result<()> {
    let t = w.tally();
    let admin: Ctx = TallyWorld::admin();
    for m in t.members(&admin).await? {
        let history = t.history(&admin, &EntityRef::member(&m.handle)).await?;
        let mut balance: i128 = 0;
        for e in &history {
            balance += match e.event_type.as_str() {
                "CreditsGranted" | "CreditsEarned" | "CreditsRefunded" => {
                    i128::from(amount(&e.payload)?)
                }
                "CreditsEscrowed" => -i128::from(amount(&e.payload)?),
                _ => 0,
            };
            ensure!(
                balance >= 0,
                "{}'s balance went to {balance} at version {} ({})",
                m.handle,
                e.version,
                e.event_type
            );
        }
        ensure!(
            balance == i128::from(m.balance),
            "{}'s history adds up to {balance}, the wallet says {}",
            m.handle,
            m.balance
        );
    }
    Ok(())
}
