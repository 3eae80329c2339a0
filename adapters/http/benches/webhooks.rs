//! The webhook dispatcher's throughput and latency, to a receiver in this process that
//! answers 200 at once (axum on a loopback port), on PostgreSQL (a fresh database of the
//! server in `DATABASE_URL`) and on memory:
//!
//! - throughput: N deliveries queued (by N grants, each telling its member, with one admin
//!   endpoint that wants every notification), then one dispatcher started: deliveries a
//!   second until the receiver has them all;
//! - latency: grants from 4 clients while the dispatcher runs, woken by commits: the time from
//!   the message's timestamp (the command's clock, just before its commit) to its arrival,
//!   p50 and p99.
//!
//! Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tally-http --bench webhooks`
#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::extract::State;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_http_client::HttpWebhookSender;
use tally_ports::driven::EventStore;
use tally_ports::webhooks::{DeliveryPolicy, Dispatcher, NewEndpoint, WebhookAdmin, WebhookStore};
use tally_ports::{Actor, CommandKind, Ctx, Input, Tally, TallyService};

const QUEUED: usize = 20_000;
const CLIENTS: usize = 16;

#[derive(Default)]
struct Received {
    count: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

async fn hook(State(r): State<Arc<Received>>, body: Bytes) -> axum::http::StatusCode {
    let now = chrono::Utc::now();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(t) = v["timestamp"].as_str()
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(t)
    {
        let d = (now - t.with_timezone(&chrono::Utc))
            .to_std()
            .unwrap_or_default();
        r.latencies.lock().unwrap().push(d);
    }
    r.count.fetch_add(1, Ordering::SeqCst);
    axum::http::StatusCode::OK
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn grant(handle: &str) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", handle)
        .with("amount", 1)
        .with("reason", "bench")
}

/// Registers `n` members and grants to them from `CLIENTS` clients until `total` grants.
async fn grants(svc: &Arc<TallyService>, prefix: &str, total: usize) {
    let admin = Ctx::new(Actor::admin("bench"));
    for c in 0..CLIENTS {
        let input = Input::new(CommandKind::RegisterMember)
            .with("handle", format!("{prefix}-member-{c}").as_str())
            .with("display_name", "Bench");
        svc.execute(&admin, input).await.expect("register");
    }
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (svc, admin, h) = (svc.clone(), admin.clone(), format!("{prefix}-member-{c}"));
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / CLIENTS {
                svc.execute(&admin, grant(&h)).await.expect("grant");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn measure(
    name: &str,
    svc: Arc<TallyService>,
    store: Arc<dyn WebhookStore>,
    commits: Option<tally_ports::feed::CommitsReceiver>,
) {
    let received = Arc::new(Received::default());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let policy = DeliveryPolicy {
        allow_private: true,
        ..DeliveryPolicy::default()
    };
    WebhookAdmin::new(store.clone(), &policy)
        .register(
            &Actor::admin("bench"),
            NewEndpoint {
                url,
                kinds: Vec::new(),
            },
        )
        .await
        .expect("an endpoint");

    // Throughput: a full queue, then one dispatcher.
    let t = Instant::now();
    grants(&svc, "q", QUEUED).await;
    eprintln!(
        "{name}: queued {QUEUED} deliveries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    received.latencies.lock().unwrap().clear();
    let sender = Arc::new(HttpWebhookSender::new(true).unwrap());
    let dispatcher = Arc::new(Dispatcher::new(store.clone(), sender, policy).with_wakeups(commits));
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let running = tokio::spawn(dispatcher.clone().run(async move {
        while !s.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }));
    let t = Instant::now();
    while received.count.load(Ordering::SeqCst) < QUEUED as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(t.elapsed() < Duration::from_secs(300), "deliveries stalled");
    }
    let secs = t.elapsed().as_secs_f64();
    dispatcher.idle().await;

    // Latency at a light load: one grant every 10 ms.
    received.latencies.lock().unwrap().clear();
    let before = received.count.load(Ordering::SeqCst);
    let admin = Ctx::new(Actor::admin("bench"));
    for _ in 0..300 {
        svc.execute(&admin, grant("q-member-0"))
            .await
            .expect("grant");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while received.count.load(Ordering::SeqCst) < before + 300 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut light = received.latencies.lock().unwrap().clone();
    light.sort_unstable();
    println!(
        "{name:<10} commit to delivery at 100 grants/s: p50 {:>6.1} ms  p99 {:>6.1} ms",
        pct(&light, 0.5).as_secs_f64() * 1000.0,
        pct(&light, 0.99).as_secs_f64() * 1000.0,
    );

    // Latency under full load: commands from 16 clients while the dispatcher runs.
    received.latencies.lock().unwrap().clear();
    let before = received.count.load(Ordering::SeqCst);
    let t = Instant::now();
    grants(&svc, "l", 4_000).await;
    let cmd_secs = t.elapsed().as_secs_f64();
    while received.count.load(Ordering::SeqCst) < before + 4_000 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let _ = running.await;
    let mut lat = received.latencies.lock().unwrap().clone();
    lat.sort_unstable();
    println!(
        "{name:<10} {:>8.0} deliveries/s ({QUEUED} queued, sent in {secs:.2} s); commit to delivery under full load (16 clients, {:.0} grants/s): p50 {:>6.1} ms  p99 {:>6.1} ms",
        QUEUED as f64 / secs,
        4_000.0 / cmd_secs,
        pct(&lat, 0.5).as_secs_f64() * 1000.0,
        pct(&lat, 0.99).as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    // `WEBHOOK_BENCH=memory` runs the memory store only.
    if std::env::var("WEBHOOK_BENCH").as_deref() != Ok("memory") {
        postgres().await;
    }
    let (svc, store) = tally_memory::service();
    let commits = EventStore::commits(&store);
    measure("memory", Arc::new(svc), Arc::new(store), commits).await;
}

async fn postgres() {
    let db = tally_postgres::testing::TestDb::create_with(tally_postgres::PgOptions {
        pool_size: 32,
        ..tally_postgres::PgOptions::default()
    })
    .await;
    let store = db.store().clone();
    let svc = Arc::new(store.service());
    measure(
        "postgres",
        svc,
        Arc::new(store.clone()),
        EventStore::commits(&store),
    )
    .await;
    db.cleanup().await;
}
