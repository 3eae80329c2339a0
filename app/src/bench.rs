//! `tally bench`: what reading the history costs, on the configured storage as it is (run it
//! on an empty database and on one seeded by `tally seed --scale`, as
//! `scripts/bench-history.sh` does, to see how costs grow with the history).
//!
//! Prints one line per figure: the pure report fold in memory, the HTTP feed read by one
//! client in pages of 1,000, a feed page at the start against one at the head, the wake-up
//! of a long poll after a commit, and a command's latency.

use crate::config::StorageArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;
use std::time::{Duration, Instant};
use tally_http::{AppState, HttpConfig};
use tally_ports::identity::{NewToken, PasswordCost, bootstrap_admin};
use tally_ports::reports::Reports;
use tally_ports::{Actor, CommandKind, Ctx, Input, Tally};

/// How much to measure.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// At most this many events read through the HTTP feed for its throughput.
    #[arg(long, default_value_t = 200_000)]
    pub feed_events: u64,
    /// Samples of each latency.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Another (e.g. empty) database: commands are timed on both, in alternating rounds.
    #[arg(long)]
    pub against: Option<String>,
    /// Time the job board's pages instead (first page, a later page, searches), here and,
    /// with --against, on the other database in alternating rounds.
    #[arg(long)]
    pub board: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the benchmark.
pub async fn run(storage: StorageArgs, args: BenchArgs) -> Result<()> {
    if args.board {
        return board(storage, args).await;
    }
    let opened = storage.open().await?;
    let store = opened.tally.store().clone();
    let head = store.head().await?.unwrap_or(0);
    println!("history: {head} events");

    // 1. The pure fold: the history in memory first, then folded, timed alone.
    let mut events = Vec::new();
    loop {
        let page = store
            .read_all(
                events
                    .last()
                    .map_or(0, |e: &tally_ports::RecordedEvent| e.position),
                1000,
            )
            .await?;
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    let started = Instant::now();
    let mut reports = Reports::new();
    reports.apply_all(&events).map_err(anyhow::Error::msg)?;
    let took = started.elapsed();
    if !events.is_empty() {
        println!(
            "report fold alone (in memory): {} events in {:.2} s ({:.0} events/s)",
            events.len(),
            took.as_secs_f64(),
            events.len() as f64 / took.as_secs_f64()
        );
    }
    drop(events);

    // The web service, in process, with a feed:read token.
    let password = format!("bench-{}", uuid::Uuid::now_v7());
    bootstrap_admin(
        opened.accounts.as_ref(),
        Some(&password),
        PasswordCost::Minimal,
    )
    .await?;
    let state =
        AppState::new(opened.tally.clone(), opened.accounts.clone()).with_config(HttpConfig {
            password_cost: PasswordCost::Minimal,
            ..HttpConfig::default()
        });
    let identity = state.identity.clone();
    let server = tally_http::testing::spawn(state).await?;
    let admin = Ctx::new(Actor::admin("admin"));
    let token = identity
        .create_token(
            &admin,
            NewToken {
                name: "bench".into(),
                expires_in_days: Some(1),
                scope: Some("feed:read".into()),
            },
        )
        .await?
        .token;
    let client = reqwest::Client::new();
    let base = server.url();
    let page = |after: u64, extra: &str| {
        let req = client
            .get(format!(
                "{base}/api/v1/feed?after={after}&limit=1000{extra}"
            ))
            .bearer_auth(&token);
        async move {
            let res = req.send().await.context("asking the feed")?;
            if !res.status().is_success() {
                bail!("the feed answered {}", res.status());
            }
            let batch: Vec<Value> = res.json().await.context("reading the feed")?;
            Ok(batch)
        }
    };
    let position = |e: &Value| -> u64 {
        e["sequence"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };

    // 2. Throughput of one reader.
    if head > 0 {
        let started = Instant::now();
        let (mut after, mut read) = (0, 0u64);
        while read < args.feed_events {
            let batch = page(after, "").await?;
            let Some(last) = batch.last() else { break };
            after = position(last);
            read += batch.len() as u64;
        }
        let took = started.elapsed();
        println!(
            "feed over HTTP, pages of 1,000: {read} events in {:.2} s ({:.0} events/s)",
            took.as_secs_f64(),
            read as f64 / took.as_secs_f64()
        );

        // 3. A page at the start against one at the head, asked in turn (the machine's drift
        // weighs on both alike).
        let (mut first, mut last) = (Vec::new(), Vec::new());
        for _ in 0..args.samples.min(100) {
            for (from, times) in [(0, &mut first), (head.saturating_sub(1000), &mut last)] {
                let s = Instant::now();
                page(from, "").await?;
                times.push(s.elapsed());
            }
        }
        first.sort();
        last.sort();
        let (first, last) = (percentile(&first, 0.5), percentile(&last, 0.5));
        println!(
            "feed page of 1,000 at position 0: {}; at position {}: {} ({:.2}x)",
            ms(first),
            head.saturating_sub(1000),
            ms(last),
            last.as_secs_f64() / first.as_secs_f64()
        );
    }

    // 4. Commands, and the long poll that a commit wakes.
    let bench_member = format!("bench{}", fastrand::u32(..));
    let register = Input::new(CommandKind::RegisterMember)
        .with("handle", bench_member.as_str())
        .with("display_name", "Bench");
    opened.tally.execute(&admin, register).await?;
    let grant = || {
        Input::new(CommandKind::GrantCredits)
            .with("handle", bench_member.as_str())
            .with("amount", 1)
    };
    // Commands here, and (with --against) on another database in the same rounds, so that
    // the machine's drift weighs on both alike. Warmed up first (connections, caches).
    let mut services = vec![("this history", opened.tally.clone())];
    if let Some(url) = &args.against {
        let other = StorageArgs {
            database_url: Some(url.clone()),
            ..storage.clone()
        }
        .open()
        .await
        .context("opening the --against database")?;
        let register = Input::new(CommandKind::RegisterMember)
            .with("handle", bench_member.as_str())
            .with("display_name", "Bench");
        other.tally.execute(&admin, register).await?;
        services.push(("the --against history", other.tally));
    }
    let mut samples = vec![Vec::new(); services.len()];
    for (_, svc) in &services {
        for _ in 0..50 {
            svc.execute(&admin, grant()).await?;
        }
    }
    for _ in 0..10 {
        for (i, (_, svc)) in services.iter().enumerate() {
            for _ in 0..args.samples / 2 {
                let s = Instant::now();
                svc.execute(&admin, grant()).await?;
                samples[i].push(s.elapsed());
            }
        }
    }
    let mut p50 = Vec::new();
    for ((name, _), t) in services.iter().zip(&mut samples) {
        t.sort();
        p50.push(percentile(t, 0.5));
        println!(
            "command (a grant), one client, on {name}: p50 {}, p99 {} ({} samples)",
            ms(percentile(t, 0.5)),
            ms(percentile(t, 0.99)),
            t.len()
        );
    }
    if let [here, there] = p50[..] {
        println!(
            "command p50 on this history / on the --against one: {:.2}x",
            here.as_secs_f64() / there.as_secs_f64()
        );
    }

    let mut woken = Vec::new();
    for _ in 0..args.samples {
        let after = store.head().await?.unwrap_or(0);
        let poll = tokio::spawn(page(after, "&timeout=10000"));
        // Let the poll arrive and wait.
        tokio::time::sleep(Duration::from_millis(20)).await;
        opened.tally.execute(&admin, grant()).await?;
        let acked = Instant::now();
        let batch = poll.await??;
        if batch.is_empty() {
            bail!("the long poll timed out instead of waking");
        }
        woken.push(acked.elapsed());
    }
    woken.sort();
    println!(
        "long poll: answered p50 {}, p99 {} after the command was acknowledged ({} samples)",
        ms(percentile(&woken, 0.5)),
        ms(percentile(&woken, 0.99)),
        woken.len()
    );
    server.shutdown().await?;
    Ok(())
}

/// The job board's pages as a visitor asks for them (HTML, through the web service in
/// process): the first page, a page 5,000 jobs deep (or as deep as there are jobs), a search
/// for a rare word (one job in 1,000 has it, with `tally seed --open-jobs`) and one for a
/// common word (one in 40); here and on the --against database in alternating rounds.
async fn board(storage: StorageArgs, args: BenchArgs) -> Result<()> {
    let mut urls = vec![("this database".to_owned(), storage.clone())];
    if let Some(url) = &args.against {
        urls.push((
            "the --against database".to_owned(),
            StorageArgs {
                database_url: Some(url.clone()),
                ..storage.clone()
            },
        ));
    }
    let client = reqwest::Client::new();
    let mut sites = Vec::new();
    for (name, s) in urls {
        let opened = s.open().await?;
        let state = AppState::new(opened.tally.clone(), opened.accounts.clone());
        let server = tally_http::testing::spawn(state).await?;
        let base = server.url();
        // How many open jobs, and the cursor of a page 5,000 jobs deep.
        let first: Value = client
            .get(format!("{base}/api/v1/jobs?limit=500"))
            .send()
            .await?
            .json()
            .await?;
        let mut cursor = None;
        let mut next = first["_links"]["next"]["href"].as_str().map(str::to_owned);
        for _ in 0..10 {
            let Some(href) = next else { break };
            let page: Value = client
                .get(format!("{base}{href}"))
                .send()
                .await?
                .json()
                .await?;
            cursor = page["items"]
                .as_array()
                .and_then(|i| i.last())
                .and_then(|j| j["id"].as_str())
                .map(str::to_owned);
            next = page["_links"]["next"]["href"].as_str().map(str::to_owned);
        }
        println!(
            "{name}: {}{} open jobs",
            first["total"],
            if first["total_exact"] == Value::Bool(true) {
                ""
            } else {
                "+"
            }
        );
        sites.push((name, server, cursor));
    }
    let cases = |cursor: &Option<String>| {
        vec![
            ("first page", "/jobs".to_owned()),
            (
                "a page 5,000 jobs deep",
                cursor
                    .as_ref()
                    .map_or("/jobs".to_owned(), |c| format!("/jobs?before={c}")),
            ),
            ("search for a rare word", "/jobs?q=rare".to_owned()),
            ("search for a common word", "/jobs?q=logo".to_owned()),
            (
                "reward from 90 to 100",
                "/jobs?min_reward=90&max_reward=100".to_owned(),
            ),
        ]
    };
    let n_cases = cases(&None).len();
    let mut times = vec![vec![Vec::new(); n_cases]; sites.len()];
    let get = |url: String| {
        let req = client.get(url).header("accept", "text/html");
        async move {
            let res = req.send().await.context("asking for a page")?;
            if !res.status().is_success() {
                bail!("the page answered {}", res.status());
            }
            res.bytes().await.context("reading the page")?;
            Ok(())
        }
    };
    // Warm up (connections, plans, the cache's pages in memory), then rounds in turn.
    for (_, server, cursor) in &sites {
        for (_, path) in cases(cursor) {
            for _ in 0..10 {
                get(format!("{}{path}", server.url())).await?;
            }
        }
    }
    for _ in 0..10 {
        for (i, (_, server, cursor)) in sites.iter().enumerate() {
            for (c, (_, path)) in cases(cursor).into_iter().enumerate() {
                for _ in 0..args.samples.div_ceil(10) {
                    let s = Instant::now();
                    get(format!("{}{path}", server.url())).await?;
                    times[i][c].push(s.elapsed());
                }
            }
        }
    }
    for (c, (case, _)) in cases(&None).into_iter().enumerate() {
        let mut p50 = Vec::new();
        for (i, (name, _, _)) in sites.iter().enumerate() {
            let t = &mut times[i][c];
            t.sort();
            p50.push(percentile(t, 0.5));
            println!(
                "job board, {case}, on {name}: p50 {}, p99 {}",
                ms(percentile(t, 0.5)),
                ms(percentile(t, 0.99))
            );
        }
        if let [here, there] = p50[..] {
            println!(
                "job board, {case}: this / --against: {:.2}x",
                here.as_secs_f64() / there.as_secs_f64()
            );
        }
    }
    for (_, server, _) in sites {
        server.shutdown().await?;
    }
    Ok(())
}
