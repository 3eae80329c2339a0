//! Load on the JSON API: requests per second and latency percentiles of a read (`GET` a
//! wallet) and a command (`POST` a grant), at 1 and 16 keep-alive connections, against a
//! server running in this process.
//!
//! Run: `cargo bench -p tally-http --bench http` (about 20 seconds). Server and load client
//! share the machine's cores, so the numbers are a floor, and comparable between runs.
#![forbid(unsafe_code)]

use reqwest::{Client, Method};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_http::testing::{Server, spawn};
use tally_http::{AppState, HttpConfig};
use tally_ports::TallyService;
use tally_ports::accounts::Accounts;
use tally_ports::identity::{PasswordCost, bootstrap_admin};
use tally_postgres::testing::TestDb;

/// How long each measurement runs, after a short warm-up.
const MEASURE: Duration = Duration::from_secs(3);
const WARM_UP: Duration = Duration::from_millis(500);
const CONNECTIONS: [usize; 2] = [1, 16];
const PASSWORD: &str = "benchmark admin password";

/// Where the server keeps its data.
#[derive(Debug, Clone, Copy)]
enum Storage {
    Memory,
    /// A fresh database on the server at `DATABASE_URL` (accounts stay in memory: the rows
    /// measure the event store).
    Postgres,
}

impl Storage {
    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Postgres => "postgres",
        }
    }

    async fn open(self) -> (Arc<TallyService>, Arc<dyn Accounts>, Option<TestDb>) {
        let accounts = Arc::new(tally_memory::MemoryAccounts::new());
        match self {
            Self::Memory => (Arc::new(tally_memory::service().0), accounts, None),
            Self::Postgres => {
                let db = TestDb::create().await;
                (Arc::new(db.store().service()), accounts, Some(db))
            }
        }
    }
}

/// A running server with an admin token and one member (`reader`) to read.
struct Fixture {
    _server: Server,
    _db: Option<TestDb>,
    url: String,
    admin: String,
    reader: String,
}

async fn call(
    c: &Client,
    m: Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> bool {
    let mut req = c.request(m, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(res) => {
            let ok = res.status().is_success();
            // Read the body so that the connection is reused.
            ok & res.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}

async fn setup(storage: Storage) -> Fixture {
    let (tally, accounts, db) = storage.open().await;
    bootstrap_admin(accounts.as_ref(), Some(PASSWORD), PasswordCost::Minimal)
        .await
        .expect("admin account");
    let config = HttpConfig {
        password_cost: PasswordCost::Minimal,
        ..HttpConfig::default()
    };
    let server = spawn(AppState::new(tally, accounts).with_config(config))
        .await
        .expect("server");
    let url = server.url();
    let admin = log_in(&url, "admin", PASSWORD).await;
    let c = Client::new();
    let api = |p: &str| format!("{url}/api/v1{p}");
    let mut handles = vec!["reader".to_owned()];
    handles.extend((0..16).map(|i| format!("target{i}")));
    for h in &handles {
        let body = json!({"handle": h, "display_name": h});
        assert!(call(&c, Method::POST, api("/members"), &admin, Some(body)).await);
    }
    let grant = json!({"amount": 1000, "reason": "seed"});
    assert!(
        call(
            &c,
            Method::POST,
            api("/members/reader/grant-credits"),
            &admin,
            Some(grant)
        )
        .await
    );
    let body = json!({"name": "reader", "password": PASSWORD});
    assert!(call(&c, Method::POST, api("/accounts"), &admin, Some(body)).await);
    let reader = log_in(&url, "reader", PASSWORD).await;
    Fixture {
        _server: server,
        _db: db,
        url,
        admin,
        reader,
    }
}

/// Logs in over the API (the bench does not depend on the client crate).
async fn log_in(url: &str, name: &str, password: &str) -> String {
    let res = Client::new()
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .expect("log in");
    let v: serde_json::Value = res.json().await.expect("session");
    v["token"].as_str().expect("token").to_owned()
}

#[derive(Debug, Clone, Copy)]
enum Load {
    GetWallet,
    PostGrant,
}

impl Load {
    fn name(self) -> &'static str {
        match self {
            Self::GetWallet => "GET wallet",
            Self::PostGrant => "POST grant",
        }
    }
}

/// One connection's loop: its own client (so its own keep-alive connection).
async fn worker(f: Arc<Fixture>, load: Load, id: usize, until: Instant) -> (Vec<Duration>, usize) {
    let c = Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let (mut lat, mut errors) = (Vec::new(), 0);
    let wallet = format!("{}/api/v1/members/reader/wallet", f.url);
    let grant = format!("{}/api/v1/members/target{id}/grant-credits", f.url);
    while Instant::now() < until {
        let t = Instant::now();
        let ok = match load {
            Load::GetWallet => call(&c, Method::GET, wallet.clone(), &f.reader, None).await,
            Load::PostGrant => {
                let body = json!({"amount": 1, "reason": "bench"});
                call(&c, Method::POST, grant.clone(), &f.admin, Some(body)).await
            }
        };
        lat.push(t.elapsed());
        errors += usize::from(!ok);
    }
    (lat, errors)
}

/// Runs `load` on `conns` connections: warm-up, then the measurement.
async fn measure(
    f: &Arc<Fixture>,
    load: Load,
    conns: usize,
) -> (usize, f64, Duration, Duration, usize) {
    let run = |d: Duration| {
        let until = Instant::now() + d;
        let tasks: Vec<_> = (0..conns)
            .map(|i| tokio::spawn(worker(f.clone(), load, i, until)))
            .collect();
        async move {
            let mut all = Vec::new();
            let mut errors = 0;
            for t in tasks {
                let (l, e) = t.await.expect("worker");
                all.extend(l);
                errors += e;
            }
            (all, errors)
        }
    };
    let _ = run(WARM_UP).await;
    let start = Instant::now();
    let (mut lat, errors) = run(MEASURE).await;
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: usize| lat.get(lat.len() * p / 100).copied().unwrap_or_default();
    (lat.len(), lat.len() as f64 / secs, pct(50), pct(99), errors)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "{:<8} {:<11} {:>5} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "storage", "request", "conns", "requests", "req/s", "p50 ms", "p99 ms", "errors"
        );
        let mut storages = vec![Storage::Memory];
        if std::env::var_os("DATABASE_URL").is_some() {
            storages.push(Storage::Postgres);
        } else {
            println!("(no DATABASE_URL: the postgres rows are left out; set it to measure them)");
        }
        for storage in storages {
            let f = Arc::new(setup(storage).await);
            for load in [Load::GetWallet, Load::PostGrant] {
                for conns in CONNECTIONS {
                    let (n, rps, p50, p99, errors) = measure(&f, load, conns).await;
                    println!(
                        "{:<8} {:<11} {:>5} {:>9} {:>9.0} {:>9.3} {:>9.3} {:>6}",
                        storage.name(),
                        load.name(),
                        conns,
                        n,
                        rps,
                        p50.as_secs_f64() * 1e3,
                        p99.as_secs_f64() * 1e3,
                        errors
                    );
                }
            }
        }
    });
}
