//! In-memory benchmark: commands per second (1 and 2 tasks) and the time to load an entity
//! with 10,000 events with and without the state cache.
//!
//! Run: `cargo bench -p tally-memory --bench memory`

use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_ports::{Actor, CommandKind, Ctx, EntityRef, Input, Tally, TallyService};

fn admin() -> Ctx {
    Ctx::new(Actor::admin("root"))
}

fn grant(handle: &str) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", handle)
        .with("amount", 1)
        .with("reason", "bench")
}

async fn register(svc: &dyn Tally, handle: &str) {
    let input = Input::new(CommandKind::RegisterMember)
        .with("handle", handle)
        .with("display_name", handle);
    svc.execute(&admin(), input).await.expect("register");
}

/// Runs `tasks` tasks issuing grants for `window`; `hot` puts them all on one wallet.
async fn throughput(tasks: usize, hot: bool, window: Duration) -> (f64, Vec<Duration>) {
    let (svc, _) = tally_memory::service();
    let svc = Arc::new(svc);
    for t in 0..tasks {
        register(svc.as_ref(), &format!("wallet{t}")).await;
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let svc = svc.clone();
        let handle = if hot {
            "wallet0".to_owned()
        } else {
            format!("wallet{t}")
        };
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while start.elapsed() < window {
                let t0 = Instant::now();
                svc.execute(&admin(), grant(&handle)).await.expect("grant");
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("task"));
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / secs, all)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let window = Duration::from_secs(2);
    println!("Tally in-memory benchmark ({} s per row)", window.as_secs());
    println!(
        "{:<34} {:>12} {:>10} {:>10}",
        "commands (grant)", "commands/s", "p50", "p99"
    );
    for (label, tasks, hot, checked) in [
        ("1 task", 1, false, true),
        ("1 task, payloads not checked", 1, false, false),
        ("2 tasks, distinct wallets", 2, false, true),
        ("2 tasks, one wallet", 2, true, true),
        ("2 tasks, one wallet, not checked", 2, true, false),
    ] {
        tally_ports::contracts::set_checking_for_benchmarks(checked);
        let (rate, lat) = throughput(tasks, hot, window).await;
        tally_ports::contracts::set_checking_for_benchmarks(true);
        println!(
            "{label:<34} {rate:>12.0} {:>10.1?} {:>10.1?}",
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }

    let (svc, store) = tally_memory::service();
    register(&svc, "big").await;
    for _ in 0..9_999 {
        svc.execute(&admin(), grant("big")).await.expect("grant");
    }
    let big = EntityRef::member("big");
    // Loads through the state cache or the events, not from the states kept in memory.
    let svc = TallyService::new(Arc::new(store.clone()), Arc::new(store.clone())).with_memo(0);
    let runs = 30;
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let (v, _) = svc.current_state(&big).await.expect("load");
        warm.push(t0.elapsed());
        assert_eq!(v, 10_000);
        store.clear_cache();
        let t0 = Instant::now();
        let (v, _) = svc.current_state(&big).await.expect("load");
        cold.push(t0.elapsed());
        assert_eq!(v, 10_000);
    }
    println!();
    println!("{:<34} {:>12}", "load a 10,000-event entity", "median");
    println!(
        "{:<34} {:>12.1?}",
        "with the state cache (warm)",
        median(warm)
    );
    println!(
        "{:<34} {:>12.1?}",
        "without it (replay all events)",
        median(cold)
    );
    upcasting(runs).await;
    checking();
}

/// The time to check one grant's payload against its published schema.
fn checking() {
    let payload = serde_json::json!({"amount": 1, "reason": "bench", "category": "other"});
    let n = 200_000;
    tally_ports::contracts::check("CreditsGranted", 2, &payload).expect("valid");
    let t0 = Instant::now();
    for _ in 0..n {
        tally_ports::contracts::check("CreditsGranted", 2, std::hint::black_box(&payload))
            .expect("valid");
    }
    println!();
    println!(
        "{:<34} {:>10.0} ns",
        "check one grant's payload",
        t0.elapsed().as_secs_f64() * 1e9 / f64::from(n)
    );
}

/// A cold replay of 10,000 grants stored as version 1 (each upcast as it is read) beside
/// 10,000 stored at the current version.
async fn upcasting(runs: usize) {
    let store = tally_memory::MemoryStore::new();
    let svc = TallyService::new(Arc::new(store.clone()), Arc::new(store.clone())).with_memo(0);
    for (handle, version, payload) in [
        (
            "current",
            2,
            serde_json::json!({"amount": 1, "reason": "bench", "category": "other"}),
        ),
        (
            "old",
            1,
            serde_json::json!({"amount": 1, "reason": "bench"}),
        ),
    ] {
        let stream = tally_ports::StreamId::parse(&format!("member:{handle}")).expect("stream");
        let event = |v: u64, event_type: &str, schema_version: u32, payload: serde_json::Value| {
            let id = uuid::Uuid::now_v7();
            tally_ports::RecordedEvent {
                position: 0,
                stream: stream.clone(),
                version: v,
                event_id: id,
                event_type: event_type.into(),
                schema_version,
                payload,
                time: chrono::Utc::now(),
                actor: Actor::admin("root"),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            }
        };
        let mut events = vec![event(
            1,
            "MemberRegistered",
            1,
            serde_json::json!({"handle": handle, "display_name": handle}),
        )];
        events.extend((2..=10_001).map(|v| event(v, "CreditsGranted", version, payload.clone())));
        store
            .insert_as_stored(tally_ports::driven::AppendPlan {
                streams: vec![tally_ports::driven::StreamAppend {
                    stream: stream.clone(),
                    expected_version: 0,
                    events,
                }],
                command: None,
                cache: Vec::new(),
                outbox: Vec::new(),
                erase: Vec::new(),
            })
            .expect("stored");
    }
    // Alternately, so that both see the same machine.
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, handle) in ["current", "old"].into_iter().enumerate() {
            store.clear_cache();
            let t0 = Instant::now();
            let (v, _) = svc
                .current_state(&EntityRef::member(handle))
                .await
                .expect("load");
            times[i].push(t0.elapsed());
            assert_eq!(v, 10_001);
        }
    }
    let medians = times.map(median);
    println!();
    println!("{:<34} {:>12}", "cold replay of 10,000 grants", "median");
    println!(
        "{:<34} {:>12.1?}",
        "stored at the current version (v2)", medians[0]
    );
    println!(
        "{:<34} {:>12.1?}",
        "stored as v1 (upcast as read)", medians[1]
    );
    println!(
        "{:<34} {:>11.2}x",
        "upcasting costs",
        medians[1].as_secs_f64() / medians[0].as_secs_f64()
    );
}
