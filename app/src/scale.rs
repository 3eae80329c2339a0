//! `tally seed --scale N`: a realistic synthetic history of about N events, appended in
//! batches of about 1,000 events (each batch one transaction), for demos and benchmarks:
//! many members with grants of every category; jobs in every state (open, in progress,
//! completed, cancelled) with applications; and a few planted fraud patterns (collusion,
//! refund churn, quick cash-outs). Every event is what a command would have recorded, so
//! every fold and rule holds; it skips the commands themselves to be fast.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;
use tally_ports::driven::{AppendPlan, EventStore, StreamAppend};
use tally_ports::{Actor, RecordedEvent, StreamId};
use uuid::Uuid;

/// How many events go into one transaction.
const BATCH: usize = 1000;

struct Seeder {
    store: Arc<dyn EventStore>,
    versions: HashMap<StreamId, u64>,
    /// Events waiting for the next batch, in order, by stream.
    pending: Vec<RecordedEvent>,
    time: DateTime<Utc>,
    written: u64,
    bar: ProgressBar,
    rng: fastrand::Rng,
}

impl Seeder {
    fn stream(kind: &str, key: &str) -> StreamId {
        StreamId::parse(&format!("{kind}:{key}")).expect("a generated key is valid")
    }

    /// Records one event after `gap` seconds.
    async fn push(
        &mut self,
        stream: StreamId,
        actor: &Actor,
        event_type: &str,
        payload: Value,
        gap: i64,
    ) -> Result<()> {
        self.time += Duration::seconds(gap);
        let v = self.versions.entry(stream.clone()).or_default();
        *v += 1;
        let id = Uuid::now_v7();
        self.pending.push(RecordedEvent {
            position: 0,
            stream,
            version: *v,
            event_id: id,
            event_type: event_type.to_owned(),
            schema_version: tally_ports::contracts::current_version(event_type)
                .context("a known event type")?,
            payload,
            time: self.time,
            actor: actor.clone(),
            command_id: id,
            correlation_id: id,
            causation_id: id,
        });
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends what is pending in one transaction, one stream after another.
    async fn flush(&mut self) -> Result<()> {
        let mut streams: Vec<StreamAppend> = Vec::new();
        for e in self.pending.drain(..) {
            match streams.iter_mut().find(|a| a.stream == e.stream) {
                Some(a) => a.events.push(e),
                None => streams.push(StreamAppend {
                    stream: e.stream.clone(),
                    expected_version: e.version - 1,
                    events: vec![e],
                }),
            }
        }
        let n: usize = streams.iter().map(|s| s.events.len()).sum();
        let mut tx = self.store.begin().await?;
        tx.append(AppendPlan {
            streams,
            command: None,
            cache: Vec::new(),
            outbox: Vec::new(),
            erase: Vec::new(),
        })
        .await?;
        tx.commit().await?;
        self.written += n as u64;
        self.bar.set_position(self.written);
        Ok(())
    }

    async fn member(&mut self, h: &str, credits: u64, category: &str, gap: i64) -> Result<()> {
        let admin = Actor::admin("seed");
        let s = Self::stream("member", h);
        self.push(
            s.clone(),
            &admin,
            "MemberRegistered",
            json!({"handle": h, "display_name": format!("Member {h}")}),
            gap,
        )
        .await?;
        self.push(
            s,
            &admin,
            "CreditsGranted",
            json!({"amount": credits, "reason": "Welcome", "category": category}),
            5,
        )
        .await
    }

    /// A job by `owner`, applied to by `applicants`, ending as `end` says.
    async fn job(&mut self, owner: &str, applicants: &[String], end: End, gap: i64) -> Result<()> {
        let id = Uuid::now_v7().to_string();
        let (j, o) = (Self::stream("job", &id), Self::stream("member", owner));
        let by = Actor::member(owner);
        let reward = 1 + self.rng.u64(0..5);
        self.push(j.clone(), &by, "JobLaunched", json!({"job": id, "owner": owner,
            "title": format!("Job {}", &id[id.len() - 6..]), "description": "Synthetic.", "reward": reward}), gap).await?;
        self.push(
            o.clone(),
            &by,
            "CreditsEscrowed",
            json!({"job": id, "amount": reward}),
            0,
        )
        .await?;
        for a in applicants {
            let days = if self.rng.bool() {
                json!(self.rng.u16(1..30))
            } else {
                Value::Null
            };
            self.push(
                j.clone(),
                &Actor::member(a),
                "ApplicationSubmitted",
                json!({"participant": a, "pitch": "I can do it.", "proposed_days": days}),
                30,
            )
            .await?;
        }
        // Accepting needs an applicant: without one, the job stays open.
        let end = match (end, applicants.first()) {
            (End::InProgress | End::Completed, None) => End::Open,
            (e, _) => e,
        };
        match end {
            End::Open => {}
            End::Cancelled => {
                self.push(
                    j,
                    &by,
                    "JobCancelled",
                    json!({"reason": "No longer needed."}),
                    60,
                )
                .await?;
                self.push(
                    o,
                    &by,
                    "CreditsRefunded",
                    json!({"job": id, "amount": reward}),
                    0,
                )
                .await?;
            }
            End::InProgress => {
                let p = applicants[0].clone();
                self.push(j, &by, "ApplicantAccepted", json!({"participant": p}), 60)
                    .await?;
            }
            End::Completed => {
                let p = applicants[0].clone();
                self.push(
                    j.clone(),
                    &by,
                    "ApplicantAccepted",
                    json!({"participant": p}),
                    60,
                )
                .await?;
                self.push(
                    j,
                    &by,
                    "JobCompleted",
                    json!({"participant": p, "reward": reward}),
                    600,
                )
                .await?;
                self.push(
                    Self::stream("member", &p),
                    &by,
                    "CreditsEarned",
                    json!({"job": id, "amount": reward}),
                    0,
                )
                .await?;
                self.push(
                    o,
                    &by,
                    "EscrowReleased",
                    json!({"job": id, "amount": reward}),
                    0,
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Open,
    InProgress,
    Completed,
    Cancelled,
}

/// Records about `scale` events; returns how many it recorded.
pub async fn seed(store: Arc<dyn EventStore>, scale: u64) -> Result<u64> {
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(scale);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} events, {per_sec}",
            )
            .context("the progress template")?,
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let start = Utc::now() - Duration::days(30);
    let mut s = Seeder {
        store,
        versions: HashMap::new(),
        pending: Vec::new(),
        time: start,
        written: 0,
        bar,
        rng: fastrand::Rng::with_seed(20261202),
    };
    let started = Instant::now();
    // One member per ~200 events, each with enough credits for the jobs they launch.
    let members = (scale / 200).max(6);
    let tag = Uuid::now_v7().simple().to_string();
    let tag = &tag[tag.len() - 6..];
    let handle = |i: u64| format!("m{tag}-{i}");
    let categories = ["promotion", "purchase", "compensation", "other"];
    for i in 0..members {
        let c = categories[s.rng.usize(0..4)];
        s.member(&handle(i), 1_000_000, c, 120).await?;
    }
    // The planted patterns first: collusion, refund churn, a quick cash-out.
    let (o, p) = (handle(0), handle(1));
    for _ in 0..3 {
        s.job(&o, std::slice::from_ref(&p), End::Completed, 60)
            .await?;
    }
    for _ in 0..3 {
        s.job(&handle(2), &[], End::Cancelled, 60).await?;
    }
    let quick = format!("q{tag}");
    s.member(&quick, 10, "promotion", 60).await?;
    s.job(&quick, &[], End::Open, 20).await?;
    // Then jobs until the history has about `scale` events, spread over the 30 days.
    let gap = (30 * 86_400 / (scale / 7).max(1)).max(1) as i64;
    while s.written + s.pending.len() as u64 + 10 < scale {
        let owner = handle(s.rng.u64(0..members));
        let n = s.rng.usize(0..4);
        let applicants: Vec<String> = (0..n)
            .map(|_| handle(s.rng.u64(0..members)))
            .filter(|a| *a != owner)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let end = match s.rng.u8(0..10) {
            0..=4 => End::Completed,
            5..=6 => End::Cancelled,
            7 => End::InProgress,
            _ => End::Open,
        };
        s.job(&owner, &applicants, end, gap).await?;
    }
    s.flush().await?;
    s.bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} events ({members} members) in {secs:.1} s ({:.0} events/s)",
        s.written,
        s.written as f64 / secs.max(1e-9)
    );
    Ok(s.written)
}

/// Words job titles are made of: a rare word (one job in 1,000 has it) and a common one (one
/// in 25), for the job board's search benchmark.
const ADJECTIVES: [&str; 25] = [
    "quick", "careful", "small", "large", "urgent", "simple", "modern", "classic", "bold", "quiet",
    "bright", "clean", "friendly", "formal", "playful", "local", "remote", "weekly", "annual",
    "custom", "minimal", "vivid", "gentle", "sharp", "warm",
];
const NOUNS: [&str; 40] = [
    "logo",
    "website",
    "poster",
    "flyer",
    "brochure",
    "banner",
    "menu",
    "video",
    "podcast",
    "translation",
    "review",
    "survey",
    "report",
    "dataset",
    "model",
    "garden",
    "kitchen",
    "bicycle",
    "lesson",
    "tutoring",
    "recipe",
    "portrait",
    "mural",
    "song",
    "jingle",
    "script",
    "article",
    "newsletter",
    "catalogue",
    "label",
    "package",
    "invitation",
    "map",
    "chart",
    "animation",
    "icon",
    "font",
    "photo",
    "sketch",
    "costume",
];

/// `tally seed --open-jobs N`: N open jobs (launched and escrowed, no application), by about
/// one owner per 50 jobs, titled from word lists; returns how many events it recorded. The
/// state cache is not written: `tally rebuild --cache` fills it.
pub async fn seed_open_jobs(store: Arc<dyn EventStore>, jobs: u64) -> Result<u64> {
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(jobs);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} jobs, {per_sec}",
            )
            .context("the progress template")?,
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let mut s = Seeder {
        store,
        versions: HashMap::new(),
        pending: Vec::new(),
        time: Utc::now() - Duration::days(30),
        written: 0,
        bar: ProgressBar::hidden(),
        rng: fastrand::Rng::with_seed(20261204),
    };
    let started = Instant::now();
    let owners = (jobs / 50).max(2);
    let tag = Uuid::now_v7().simple().to_string();
    let handle = |i: u64| format!("o{}-{i}", &tag[tag.len() - 6..]);
    for i in 0..owners {
        s.member(&handle(i), 1_000_000_000, "purchase", 1).await?;
    }
    for n in 0..jobs {
        let owner = handle(n % owners);
        let id = Uuid::now_v7().to_string();
        let (j, o) = (Seeder::stream("job", &id), Seeder::stream("member", &owner));
        let by = Actor::member(&owner);
        let reward = 1 + s.rng.u64(0..100);
        // One job in 1,000 is "rare"; the rest say what they are.
        let title = if n % 1000 == 7 {
            format!("Rare {} needed", NOUNS[s.rng.usize(0..NOUNS.len())])
        } else {
            format!(
                "{} {}",
                ADJECTIVES[s.rng.usize(0..ADJECTIVES.len())],
                NOUNS[s.rng.usize(0..NOUNS.len())]
            )
        };
        let description = format!(
            "A {} {} for our {}: details on request.",
            ADJECTIVES[s.rng.usize(0..ADJECTIVES.len())],
            NOUNS[s.rng.usize(0..NOUNS.len())],
            NOUNS[s.rng.usize(0..NOUNS.len())]
        );
        s.push(
            j,
            &by,
            "JobLaunched",
            json!({"job": id, "owner": owner, "title": title,
            "description": description, "reward": reward}),
            1,
        )
        .await?;
        s.push(
            o,
            &by,
            "CreditsEscrowed",
            json!({"job": id, "amount": reward}),
            0,
        )
        .await?;
        bar.set_position(n + 1);
    }
    s.flush().await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {jobs} open jobs ({} events, {owners} owners) in {secs:.1} s",
        s.written
    );
    Ok(s.written)
}
