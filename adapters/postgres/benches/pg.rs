//! The PostgreSQL adapter's benchmark, on a fresh database of the server in `DATABASE_URL`:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tally-postgres --bench pg`
//!
//! Prints one table: grant commands through `TallyService` over `PgStore` with 1, 4 and 16
//! concurrent clients, on distinct wallets (also with a service that keeps no states in
//! memory, so that every command reads the state cache) and on one hot wallet; one command
//! on an entity with 10,000 events (warm state cache, cold replay) beside one on a new
//! entity, with no states kept in memory; and, in the same
//! run and on the same pool, two reference transactions: (a) a raw single-row INSERT, (b) the
//! minimal serializable command (`BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT max(version);
//! INSERT one event; COMMIT`). Tally's throughput figures are also given as a ratio to (b).
//!
//! Every service here commits commands together (group commit, the default on PostgreSQL)
//! unless its row says otherwise; the last rows set group commit beside each command alone
//! (`PG_BENCH_ONLY=group` runs only those; `PG_BENCH_LANES` and `PG_BENCH_BATCH` change its
//! configuration).
//!
//! The machine is shared, so its speed drifts: the scenarios compared with each other run
//! interleaved, in several short rounds, and each figure sums its rounds.

use futures::future::BoxFuture;
use serde_json::json;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tally_domain::{
    Credits, Entity, EventType, GrantCategory, Handle, MemberEvent, Reason, Wallet,
};
use tally_ports::codec;
use tally_ports::driven::{AppendPlan, EventStore, StreamAppend};
use tally_ports::{
    Actor, CommandKind, Ctx, EntityRef, Input, RecordedEvent, StreamId, Tally, TallyService,
};
use tally_postgres::testing::TestDb;
use tally_postgres::{PgOptions, PgStore};
use uuid::Uuid;

const WARMUP: Duration = Duration::from_millis(200);
const MEASURE: Duration = Duration::from_millis(800);
const ROUNDS: usize = 3;
const CLIENTS: [usize; 3] = [1, 4, 16];
const BIG: u64 = 10_000;

type Op = Arc<dyn Fn(usize) -> BoxFuture<'static, ()> + Send + Sync>;

/// One line of the table.
struct Line {
    what: String,
    clients: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    extra: String,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Latencies of the measured runs of one scenario, over its rounds.
#[derive(Default)]
struct Sample {
    lat: Vec<Duration>,
    secs: f64,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.lat.len() as f64 / self.secs
    }

    fn p99(&mut self) -> Duration {
        self.lat.sort_unstable();
        pct(&self.lat, 0.99)
    }

    fn line(&mut self, what: &str, clients: usize, extra: String) -> Line {
        self.lat.sort_unstable();
        Line {
            what: what.into(),
            clients,
            per_sec: self.rate(),
            p50: pct(&self.lat, 0.5),
            p99: pct(&self.lat, 0.99),
            extra,
        }
    }
}

/// Runs `op` in `clients` loops for WARMUP + MEASURE, adding the MEASURE part to `into`.
async fn throughput(clients: usize, op: &Op, into: &mut Sample) {
    let start = Instant::now();
    let from = start + WARMUP;
    let until = from + MEASURE;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let t = Instant::now();
                if t >= until {
                    break;
                }
                op(c).await;
                if t >= from {
                    lat.push(t.elapsed());
                }
            }
            lat
        }));
    }
    for t in tasks {
        into.lat.extend(t.await.expect("client"));
    }
    into.secs += MEASURE.as_secs_f64();
}

/// Times `n` sequential runs of `op(i)` (after `prepare(i)`, untimed).
async fn single<P, F>(n: usize, prepare: P, op: F) -> (Duration, Duration)
where
    P: Fn(usize) -> BoxFuture<'static, ()>,
    F: Fn(usize) -> BoxFuture<'static, ()>,
{
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        prepare(i).await;
        let t = Instant::now();
        op(i).await;
        lat.push(t.elapsed());
    }
    lat.sort_unstable();
    (pct(&lat, 0.5), pct(&lat, 0.99))
}

fn admin() -> Ctx {
    Ctx::new(Actor::admin("bench"))
}

fn grant(handle: &str) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", handle)
        .with("amount", 1)
        .with("reason", "bench")
}

async fn register(svc: &TallyService, handle: &str) {
    let input = Input::new(CommandKind::RegisterMember)
        .with("handle", handle)
        .with("display_name", handle);
    svc.execute(&admin(), input).await.expect("register");
}

fn service(store: &PgStore) -> Arc<TallyService> {
    Arc::new(store.service())
}

/// The keys of personal data, in the bench's database.
fn keys(store: &PgStore) -> Arc<tally_ports::keys::DataKeys> {
    let master = tally_ports::keys::MasterKey::parse(tally_postgres::testing::TEST_MASTER_KEY)
        .expect("a master key");
    Arc::new(tally_ports::keys::DataKeys::new(
        Arc::new(tally_postgres::PgKeys::new(store.clone())),
        master,
    ))
}

/// A service that seals personal data (as `tally serve` runs).
fn service_sealed(store: &PgStore) -> Arc<TallyService> {
    Arc::new(store.service().with_keys(keys(store)))
}

/// The group commit's configuration for the bench: `PG_BENCH_LANES` and `PG_BENCH_BATCH`
/// override the defaults.
fn grouping() -> tally_ports::service::GroupCommit {
    let d = tally_ports::service::GroupCommit::default();
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    tally_ports::service::GroupCommit {
        lanes: var("PG_BENCH_LANES", d.lanes),
        max_batch: var("PG_BENCH_BATCH", d.max_batch),
    }
}

/// What group commit gives: (a) and (b), then grants on distinct wallets, grants on one hot
/// wallet and launches on distinct owners, each through a service that commits commands
/// together and one that commits each alone, interleaved, at 1, 16 and 64 clients.
async fn group_commit(store: &PgStore, lines: &mut Vec<Line>) {
    let grouped = || Arc::new(store.service().with_group_commit(Some(grouping())));
    let alone = || Arc::new(store.service().with_group_commit(None));
    let mut hot_one = [0.0f64; 2];
    for &c in &[1, 16, 64] {
        let b_retries = Arc::new(AtomicU64::new(0));
        let a = reference_a(store.pool());
        let b = reference_b(store.pool(), c, b_retries.clone());
        let (gd, gd_svc) = tally_grants(grouped(), "gd", c, true).await;
        let (ad, ad_svc) = tally_grants(alone(), "ad", c, true).await;
        let (gh, gh_svc) = tally_grants(grouped(), "gh", c, false).await;
        let (ah, ah_svc) = tally_grants(alone(), "ah", c, false).await;
        let (gl_svc, al_svc) = (grouped(), alone());
        let gl = tally_launches(gl_svc.clone(), "gl", c).await;
        let al = tally_launches(al_svc.clone(), "al", c).await;
        let all: [&Op; 8] = [&a, &b, &gd, &ad, &gh, &ah, &gl, &al];
        let mut samples: [Sample; 8] = Default::default();
        for round in 0..ROUNDS {
            let order: [usize; 8] = if round % 2 == 0 {
                [0, 1, 2, 3, 4, 5, 6, 7]
            } else {
                [1, 0, 3, 2, 5, 4, 7, 6]
            };
            for i in order {
                throughput(c, all[i], &mut samples[i]).await;
            }
        }
        let (ra, rb) = (samples[0].rate(), samples[1].rate());
        let b_p99 = samples[1].p99();
        lines.push(samples[0].line("(a) raw single-row INSERT", c, String::new()));
        lines.push(samples[1].line(
            "(b) minimal serializable command",
            c,
            format!("retries {}", b_retries.load(Ordering::Relaxed)),
        ));
        let vs = |s: &mut Sample| {
            let (rate, p99) = (s.rate(), s.p99());
            format!(
                "{:.0}% of (a), {:.0}% of (b); p99 {} (b)'s",
                100.0 * rate / ra,
                100.0 * rate / rb,
                if p99 <= b_p99 { "within" } else { "above" }
            )
        };
        for (i, what, svc) in [
            (2, "Grant, distinct wallets, group commit", &gd_svc),
            (3, "  the same, each command alone", &ad_svc),
        ] {
            let extra = format!("{}; {}", vs(&mut samples[i]), stats(svc));
            lines.push(samples[i].line(what, c, extra));
        }
        for (k, (i, what, svc)) in [
            (4, "Grant, one hot wallet, group commit", &gh_svc),
            (5, "  the same, each command alone", &ah_svc),
        ]
        .into_iter()
        .enumerate()
        {
            let rate = samples[i].rate();
            if c == 1 {
                hot_one[k] = rate;
            }
            let extra = format!(
                "{:.1}x its 1-client rate; {}",
                rate / hot_one[k],
                stats(svc)
            );
            lines.push(samples[i].line(what, c, extra));
        }
        for (i, what, svc) in [
            (6, "Launch, distinct owners, group commit", &gl_svc),
            (7, "  the same, each command alone", &al_svc),
        ] {
            let extra = format!("{}; {}", vs(&mut samples[i]), stats(svc));
            lines.push(samples[i].line(what, c, extra));
        }
    }
}

/// What sealing personal data costs: grants (the reason is personal) and launches (the
/// description) through a service that seals and one that does not, interleaved, at 1 and
/// 16 clients; and a cold replay of 10,000 grants, sealed and not.
async fn sealing(store: &PgStore, lines: &mut Vec<Line>) {
    for &c in &[1, 16] {
        let (plain, _) = tally_grants(service(store), "gp", c, true).await;
        let (sealed, _) = tally_grants(service_sealed(store), "gs", c, true).await;
        let lp = tally_launches(service(store), "lp", c).await;
        let ls = tally_launches(service_sealed(store), "ls", c).await;
        let mut samples: [Sample; 4] = Default::default();
        let all: [&Op; 4] = [&plain, &sealed, &lp, &ls];
        for round in 0..ROUNDS {
            let order: [usize; 4] = if round % 2 == 0 {
                [0, 1, 2, 3]
            } else {
                [1, 0, 3, 2]
            };
            for i in order {
                throughput(c, all[i], &mut samples[i]).await;
            }
        }
        let cost = |with: f64, without: f64| 100.0 * (without - with) / without;
        let (p, s) = (samples[0].rate(), samples[1].rate());
        lines.push(samples[0].line("Tally grant, distinct wallets, plaintext", c, String::new()));
        lines.push(samples[1].line(
            "  the same, personal data sealed",
            c,
            format!("{:.1}% slower than plaintext", cost(s, p)),
        ));
        let (p, s) = (samples[2].rate(), samples[3].rate());
        lines.push(samples[2].line("Tally launch, distinct owners, plaintext", c, String::new()));
        lines.push(samples[3].line(
            "  the same, personal data sealed",
            c,
            format!("{:.1}% slower than plaintext", cost(s, p)),
        ));
    }
    // A cold replay: 10,000 grants, their reasons sealed or not, the cache row deleted
    // before each command (keys at hand: the first replay fetched them).
    let svc = Arc::new(store.service().with_memo(0));
    let sealed_svc = Arc::new(store.service().with_memo(0).with_keys(keys(store)));
    register(&svc, "plainbig").await;
    register(&sealed_svc, "sealedbig").await;
    let sealed_store =
        tally_ports::personal::SealingStore::new(Arc::new(store.clone()), keys(store));
    for (who, st) in [
        ("plainbig", store as &dyn EventStore),
        ("sealedbig", &sealed_store),
    ] {
        let s = StreamId::member(&Handle::parse(who).expect("handle"));
        grow(st, &s, 1, BIG - 1).await;
    }
    let mut lat: [Vec<Duration>; 2] = Default::default();
    for _ in 0..15 {
        for (i, (who, s)) in [("plainbig", &svc), ("sealedbig", &sealed_svc)]
            .into_iter()
            .enumerate()
        {
            sqlx::query("DELETE FROM state_cache WHERE stream = $1")
                .bind(format!("member:{who}"))
                .execute(store.pool())
                .await
                .expect("delete the cache row");
            let t = Instant::now();
            s.execute(&admin(), grant(who)).await.expect("grant");
            lat[i].push(t.elapsed());
        }
    }
    for l in &mut lat {
        l.sort_unstable();
    }
    let (p50, s50) = (pct(&lat[0], 0.5), pct(&lat[1], 0.5));
    for (i, what) in [
        "Cold replay of 10,000 events, plaintext",
        "  the same, sealed",
    ]
    .into_iter()
    .enumerate()
    {
        let (a, b) = (pct(&lat[i], 0.5), pct(&lat[i], 0.99));
        lines.push(Line {
            what: what.to_owned(),
            clients: 1,
            per_sec: 1.0 / a.as_secs_f64(),
            p50: a,
            p99: b,
            extra: if i == 1 {
                format!(
                    "{:.2}x the plaintext replay",
                    s50.as_secs_f64() / p50.as_secs_f64()
                )
            } else {
                String::new()
            },
        });
    }
}

/// A service that keeps no state in memory: every command reads the state cache.
fn service_without_memo(store: &PgStore) -> Arc<TallyService> {
    Arc::new(store.service().with_memo(0))
}

/// A service that tells nobody: no outbox, so no policy and no notification rows.
fn service_without_outbox(store: &PgStore) -> Arc<TallyService> {
    Arc::new(TallyService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    ))
}

/// Tally launches (a job, its escrow on the owner's wallet), each client its own owner.
async fn tally_launches(svc: Arc<TallyService>, prefix: &str, clients: usize) -> Op {
    let mut owners = Vec::new();
    for c in 0..clients {
        let h = format!("{prefix}{clients}x{c}");
        register(&svc, &h).await;
        let input = Input::new(CommandKind::GrantCredits)
            .with("handle", h.as_str())
            .with("amount", 1_000_000)
            .with("reason", "bench");
        svc.execute(&admin(), input).await.expect("grant");
        owners.push(h);
    }
    let owners = Arc::new(owners);
    Arc::new(move |c| {
        let (s, owners) = (svc.clone(), owners.clone());
        Box::pin(async move {
            let input = Input::new(CommandKind::LaunchJob)
                .with("title", "Bench job")
                .with("description", "")
                .with("reward", 1);
            // Out of retries (serialization failures on the newest jobs' index pages): counted
            // in the service's conflicts, shown in the row.
            match s.execute(&Ctx::new(Actor::member(&owners[c])), input).await {
                Ok(_) | Err(tally_ports::Error::Conflict(_)) => {}
                Err(e) => panic!("launch: {e:?}"),
            }
        })
    })
}

/// Tally grants, each client on its own wallet (`distinct`) or all on one.
async fn tally_grants(
    svc: Arc<TallyService>,
    prefix: &str,
    clients: usize,
    distinct: bool,
) -> (Op, Arc<TallyService>) {
    let names: Vec<String> = (0..clients)
        .map(|c| {
            if distinct {
                format!("{prefix}{clients}x{c}")
            } else {
                format!("{prefix}{clients}")
            }
        })
        .collect();
    let mut seen = Vec::new();
    for n in &names {
        if !seen.contains(n) {
            register(&svc, n).await;
            seen.push(n.clone());
        }
    }
    let names = Arc::new(names);
    let s = svc.clone();
    let op: Op = Arc::new(move |c| {
        let (s, names) = (s.clone(), names.clone());
        Box::pin(async move {
            // A command that still conflicts after every retry is counted by the service
            // (`conflicts` in the notes), not fatal to the run.
            match s.execute(&admin(), grant(&names[c])).await {
                Ok(_) | Err(tally_ports::Error::Conflict(_)) => {}
                Err(e) => panic!("grant: {e}"),
            }
        })
    });
    (op, svc)
}

fn stats(svc: &TallyService) -> String {
    format!(
        "retries {}, conflicts {}",
        svc.stats().retries.load(Ordering::Relaxed),
        svc.stats().conflicts.load(Ordering::Relaxed)
    )
}

const REF_SCHEMA: &str = "
CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream text NOT NULL, payload jsonb NOT NULL, time timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_ref (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream text NOT NULL, version bigint NOT NULL, payload jsonb NOT NULL,
    time timestamptz NOT NULL DEFAULT now(), UNIQUE (stream, version));";

/// (a) a raw single-row INSERT transaction.
fn reference_a(pool: &PgPool) -> Op {
    let pool = pool.clone();
    Arc::new(move |c| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query("INSERT INTO bench_raw (stream, payload) VALUES ($1, $2)")
                .bind(format!("member:a{c}"))
                .bind(json!({"amount": 1, "reason": "bench"}))
                .execute(&pool)
                .await
                .expect("insert");
        })
    })
}

/// (b) the minimal serializable command, retried on serialization failures (counted in
/// `retries`).
fn reference_b(pool: &PgPool, clients: usize, retries: Arc<AtomicU64>) -> Op {
    let pool = pool.clone();
    Arc::new(move |c| {
        let (pool, retries) = (pool.clone(), retries.clone());
        Box::pin(async move {
            let stream = format!("member:b{clients}x{c}");
            loop {
                let attempt = async {
                    let mut tx = pool
                        .begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE")
                        .await?;
                    let v: Option<i64> =
                        sqlx::query_scalar("SELECT max(version) FROM bench_ref WHERE stream = $1")
                            .bind(&stream)
                            .fetch_one(&mut *tx)
                            .await?;
                    sqlx::query(
                        "INSERT INTO bench_ref (stream, version, payload) VALUES ($1, $2, $3)",
                    )
                    .bind(&stream)
                    .bind(v.unwrap_or(0) + 1)
                    .bind(json!({"amount": 1, "reason": "bench"}))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                }
                .await;
                match attempt {
                    Ok(()) => break,
                    Err(sqlx::Error::Database(e))
                        if matches!(e.code().as_deref(), Some("40001" | "40P01" | "23505")) =>
                    {
                        retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_micros(500 + fastrand::u64(..1500)))
                            .await;
                    }
                    Err(e) => panic!("reference (b): {e}"),
                }
            }
        })
    })
}

/// Appends `n` raw CreditsGranted events to `stream`, from `version`, in batches (sealed,
/// through a sealing store).
async fn grow(store: &dyn EventStore, stream: &StreamId, mut version: u64, n: u64) {
    let grant = MemberEvent::CreditsGranted {
        amount: Credits::new(1),
        reason: Reason::parse("bench").expect("reason"),
        category: GrantCategory::Other,
    };
    let (t, payload) = codec::encode_one(&grant);
    let mut left = n;
    while left > 0 {
        let batch = left.min(1000);
        let cid = Uuid::now_v7();
        let events = (1..=batch)
            .map(|i| RecordedEvent {
                position: 0,
                stream: stream.clone(),
                version: version + i,
                event_id: Uuid::now_v7(),
                event_type: t.clone(),
                schema_version: grant.schema_version(),
                payload: payload.clone(),
                time: chrono::Utc::now(),
                actor: Actor::admin("bench"),
                command_id: cid,
                correlation_id: cid,
                causation_id: cid,
            })
            .collect();
        let mut tx = store.begin().await.expect("begin");
        tx.append(AppendPlan {
            streams: vec![StreamAppend {
                stream: stream.clone(),
                expected_version: version,
                events,
            }],
            command: None,
            cache: Vec::new(),
            outbox: Vec::new(),
            erase: Vec::new(),
        })
        .await
        .expect("append");
        tx.commit().await.expect("commit");
        version += batch;
        left -= batch;
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let db = TestDb::create_with(PgOptions {
        pool_size: 40,
        ..PgOptions::default()
    })
    .await;
    let store = db.store().clone();
    sqlx::raw_sql(REF_SCHEMA)
        .execute(store.pool())
        .await
        .expect("reference tables");
    let mut lines: Vec<Line> = Vec::new();

    // Distinct entities: (a), (b) and Tally interleaved, per client count.
    // `PG_BENCH_ONLY=outbox` runs only the outbox rows.
    let only_outbox = std::env::var("PG_BENCH_ONLY").is_ok_and(|v| v == "outbox");
    // `PG_BENCH_ONLY=sealing` runs only what sealing personal data costs.
    if std::env::var("PG_BENCH_ONLY").is_ok_and(|v| v == "sealing") {
        sealing(&store, &mut lines).await;
        print(&lines, started);
        db.cleanup().await;
        return;
    }
    // `PG_BENCH_ONLY=group` runs only the group-commit rows.
    if std::env::var("PG_BENCH_ONLY").is_ok_and(|v| v == "group") {
        group_commit(&store, &mut lines).await;
        print(&lines, started);
        db.cleanup().await;
        return;
    }
    let mut b_rates = Vec::new();
    for &c in CLIENTS.iter().filter(|_| !only_outbox) {
        let b_retries = Arc::new(AtomicU64::new(0));
        let ops = [
            reference_a(store.pool()),
            reference_b(store.pool(), c, b_retries.clone()),
        ];
        let (tally, svc) = tally_grants(service(&store), "w", c, true).await;
        let (cold_tally, cold_svc) =
            tally_grants(service_without_memo(&store), "nomemo", c, true).await;
        let (unchecked, _) = tally_grants(service(&store), "unchecked", c, true).await;
        let mut samples: [Sample; 5] = Default::default();
        let all: [&Op; 5] = [&ops[0], &ops[1], &tally, &cold_tally, &unchecked];
        for round in 0..ROUNDS {
            // Index 4: the same commands with the event contracts not checked, to show what
            // checking costs; it swaps places with the checked run every other round, so that
            // neither always follows the same neighbour.
            let order: [usize; 5] = if round % 2 == 0 {
                [0, 1, 2, 3, 4]
            } else {
                [0, 1, 4, 3, 2]
            };
            for i in order {
                tally_ports::contracts::set_checking_for_benchmarks(i != 4);
                throughput(c, all[i], &mut samples[i]).await;
            }
            tally_ports::contracts::set_checking_for_benchmarks(true);
        }
        let b = samples[1].rate();
        lines.push(samples[0].line("(a) raw single-row INSERT", c, String::new()));
        lines.push(samples[1].line(
            "(b) minimal serializable command",
            c,
            format!("retries {}", b_retries.load(Ordering::Relaxed)),
        ));
        let t = samples[2].rate();
        b_rates.push((c, b));
        lines.push(samples[2].line(
            "Tally grant, distinct wallets",
            c,
            format!("{:.0}% of (b); {}", 100.0 * t / b, stats(&svc)),
        ));
        let t = samples[3].rate();
        lines.push(samples[3].line(
            "  the same, no states kept in memory",
            c,
            format!("{:.0}% of (b); {}", 100.0 * t / b, stats(&cold_svc)),
        ));
        let u = samples[4].rate();
        lines.push(samples[4].line(
            "  the same, payloads not checked",
            c,
            format!(
                "{:.0}% of (b); checking costs {:.1}%",
                100.0 * u / b,
                100.0 * (u - samples[2].rate()) / u
            ),
        ));
    }
    // What the outbox costs: the same grants (each tells its member) and launches (they tell
    // nobody, but run the policy and the statement's outbox step) through a service with the
    // outbox and through one without, interleaved; then grants once a webhook endpoint wants
    // every notification (each grant also queues a delivery).
    for &c in &[1, 16] {
        let (told, told_svc) = tally_grants(service(&store), "told", c, true).await;
        let (untold, untold_svc) =
            tally_grants(service_without_outbox(&store), "untold", c, true).await;
        let launches_told = tally_launches(service(&store), "lt", c).await;
        let launches_untold = tally_launches(service_without_outbox(&store), "lu", c).await;
        let mut samples: [Sample; 4] = Default::default();
        let all: [&Op; 4] = [&told, &untold, &launches_told, &launches_untold];
        for round in 0..ROUNDS {
            let order: [usize; 4] = if round % 2 == 0 {
                [0, 1, 2, 3]
            } else {
                [1, 0, 3, 2]
            };
            for i in order {
                throughput(c, all[i], &mut samples[i]).await;
            }
        }
        let cost = |with: f64, without: f64| 100.0 * (without - with) / without;
        let (t, u) = (samples[0].rate(), samples[1].rate());
        lines.push(samples[0].line(
            "Tally grant, distinct wallets, outbox",
            c,
            format!(
                "{:.1}% slower than without; {}",
                cost(t, u),
                stats(&told_svc)
            ),
        ));
        lines.push(samples[1].line("  the same, no outbox", c, stats(&untold_svc)));
        let (t, u) = (samples[2].rate(), samples[3].rate());
        lines.push(samples[2].line(
            "Tally launch, distinct owners, outbox",
            c,
            format!("{:.1}% slower than without", cost(t, u)),
        ));
        lines.push(samples[3].line("  the same, no outbox", c, String::new()));
    }
    {
        use tally_ports::webhooks::{Endpoint, WebhookStore};
        let c = 16;
        let (told, told_svc) = tally_grants(service(&store), "hooked", c, true).await;
        let (untold, untold_svc) =
            tally_grants(service_without_outbox(&store), "unhooked", c, true).await;
        let endpoint = Uuid::now_v7();
        store
            .add_endpoint(&Endpoint {
                id: endpoint,
                owner: None,
                url: "https://receiver.invalid/hook".into(),
                kinds: Vec::new(),
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                paused: true,
                created_at: chrono::Utc::now(),
            })
            .await
            .expect("an endpoint");
        let mut samples: [Sample; 2] = Default::default();
        for round in 0..ROUNDS {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                throughput(c, [&told, &untold][i], &mut samples[i]).await;
            }
        }
        let (t, u) = (samples[0].rate(), samples[1].rate());
        lines.push(samples[0].line(
            "Tally grant, outbox and a webhook endpoint",
            c,
            format!(
                "{:.1}% slower than no outbox; {}",
                100.0 * (u - t) / u,
                stats(&told_svc)
            ),
        ));
        lines.push(samples[1].line("  the same, no outbox", c, stats(&untold_svc)));
        store
            .delete_endpoint(endpoint)
            .await
            .expect("the endpoint deleted");
    }

    if only_outbox {
        print(&lines, started);
        db.cleanup().await;
        return;
    }

    // One hot wallet: the client counts interleaved.
    let mut hot: Vec<(Op, Arc<TallyService>, Sample)> = Vec::new();
    for &c in &CLIENTS {
        let (op, svc) = tally_grants(service(&store), "hot", c, false).await;
        hot.push((op, svc, Sample::default()));
    }
    for _ in 0..ROUNDS {
        for ((op, _, sample), &c) in hot.iter_mut().zip(&CLIENTS) {
            throughput(c, op, sample).await;
        }
    }
    let mut hot_one = 0.0;
    for ((_, svc, sample), &c) in hot.iter_mut().zip(&CLIENTS) {
        let rate = sample.rate();
        if c == 1 {
            hot_one = rate;
        }
        let b = b_rates
            .iter()
            .find(|(n, _)| *n == c)
            .map_or(f64::NAN, |x| x.1);
        lines.push(sample.line(
            "Tally grant, one hot wallet",
            c,
            format!(
                "{:.0}% of (b); {:.0}% of 1 client; {}",
                100.0 * rate / b,
                100.0 * rate / hot_one,
                stats(svc)
            ),
        ));
    }

    // One command on an entity with 10,000 events, beside one on a new entity: through the
    // state cache (or no cache), so with no states kept in memory.
    let svc = service_without_memo(&store);
    register(&svc, "big").await;
    let big = StreamId::member(&Handle::parse("big").expect("handle"));
    grow(&store, &big, 1, BIG - 1).await;
    svc.current_state(&EntityRef::member("big"))
        .await
        .expect("warm the cache");
    // Warm commands on the big entity and commands on new entities, alternated so that a
    // change of the machine's speed hits both alike.
    for i in 0..100 {
        register(&svc, &format!("new{i}")).await;
    }
    let (mut warm, mut new) = (Vec::new(), Vec::new());
    for i in 0..100 {
        for (lat, who) in [(&mut warm, "big".to_owned()), (&mut new, format!("new{i}"))] {
            let t = Instant::now();
            svc.execute(&admin(), grant(&who)).await.expect("grant");
            lat.push(t.elapsed());
        }
    }
    warm.sort_unstable();
    new.sort_unstable();
    let (warm50, warm99, new50, new99) = (
        pct(&warm, 0.5),
        pct(&warm, 0.99),
        pct(&new, 0.5),
        pct(&new, 0.99),
    );
    let (s, pool) = (svc.clone(), store.pool().clone());
    let (cold50, cold99) = single(
        15,
        move |_| {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query("DELETE FROM state_cache WHERE stream = 'member:big'")
                    .execute(&pool)
                    .await
                    .expect("delete the cache row");
            })
        },
        move |_| {
            let s = s.clone();
            Box::pin(async move {
                s.execute(&admin(), grant("big")).await.expect("grant");
            })
        },
    )
    .await;
    // Where a cold replay goes: loading the rows, and folding them (as the service does).
    let st = store.clone();
    let b2 = big.clone();
    let (load50, _) = single(
        10,
        |_| Box::pin(async {}),
        move |_| {
            let (st, b2) = (st.clone(), b2.clone());
            Box::pin(async move {
                st.fold_events(&b2, 0, &mut |_| Ok(())).await.expect("load");
            })
        },
    )
    .await;
    let (st, b2) = (store.clone(), big.clone());
    let (txload50, _) = single(
        10,
        |_| Box::pin(async {}),
        move |_| {
            let (st, b2) = (st.clone(), b2.clone());
            Box::pin(async move {
                let mut tx = st.begin().await.expect("begin");
                tx.fold_events(&[(b2, 0)], &mut |_, _| Ok(()))
                    .await
                    .expect("load");
            })
        },
    )
    .await;
    let events: Vec<(String, u32, String)> = store
        .load(&big, 0)
        .await
        .expect("load")
        .into_iter()
        .map(|e| (e.event_type, e.schema_version, e.payload.to_string()))
        .collect();
    let mut fold = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let w = events.iter().fold(Wallet::default(), |w, (t, v, p)| {
            w.evolve(&codec::decode_one_text::<MemberEvent>(t, *v, p).expect("decode"))
        });
        fold.push(t.elapsed());
        assert!(w.profile.is_some());
    }
    fold.sort_unstable();

    let n = events.len();
    let b_p50 = lines
        .iter()
        .find(|l| l.what.starts_with("(b)") && l.clients == 1)
        .map_or(Duration::ZERO, |l| l.p50);
    let vs_b = |d: Duration| format!("{:.1}x (b)'s p50", d.as_secs_f64() / b_p50.as_secs_f64());
    for (what, p50, p99, extra) in [
        (
            format!("command on a {n}-event entity, warm cache"),
            warm50,
            warm99,
            format!(
                "{}; {:.2}x a new entity's",
                vs_b(warm50),
                warm50.as_secs_f64() / new50.as_secs_f64()
            ),
        ),
        (
            format!("command on a {n}-event entity, cold replay"),
            cold50,
            cold99,
            format!(
                "{}; of which, apart: read {} ms (in a SERIALIZABLE tx: {} ms), decode+fold {} ms (p50)",
                vs_b(cold50),
                ms(load50),
                ms(txload50),
                ms(pct(&fold, 0.5))
            ),
        ),
        (
            "command on a new entity".to_string(),
            new50,
            new99,
            vs_b(new50),
        ),
    ] {
        lines.push(Line {
            what,
            clients: 1,
            per_sec: 1.0 / p50.as_secs_f64(),
            p50,
            p99,
            extra,
        });
    }

    sealing(&store, &mut lines).await;
    group_commit(&store, &mut lines).await;
    print(&lines, started);
    db.cleanup().await;
}

fn print(lines: &[Line], started: Instant) {
    println!();
    println!(
        "{:<44} {:>7} {:>9} {:>8} {:>8}  notes",
        "scenario", "clients", "cmds/s", "p50 ms", "p99 ms"
    );
    for l in lines {
        println!(
            "{:<44} {:>7} {:>9.0} {:>8} {:>8}  {}",
            l.what,
            l.clients,
            l.per_sec,
            ms(l.p50),
            ms(l.p99),
            l.extra
        );
    }
    println!("(whole run: {:.0} s)", started.elapsed().as_secs_f64());
}
