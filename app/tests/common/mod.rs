//! The harness of the tests that run `tally` as processes on PostgreSQL.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tally_ports::driven::EventStore;
use tally_postgres::testing::TestDb;

pub const ADMIN_PASSWORD: &str = "processes-admin-password";

/// A `tally` process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn tally(db: &TestDb, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tally"));
    c.args(["--storage", "postgres", "--database-url", db.url()])
        .args(args)
        .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("TALLY_MASTER_KEY", tally_postgres::testing::TEST_MASTER_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

pub fn run(db: &TestDb, args: &[&str]) {
    let status = tally(db, args).status().expect("tally runs");
    assert!(status.success(), "tally {args:?}: {status}");
}

/// `tally serve` on a free port, ready, with an admin session.
pub async fn serve(db: &TestDb, http: &reqwest::Client) -> (Process, String, String) {
    serve_with(db, http, free_port(), &[]).await
}

/// A free port on the loopback address.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `tally serve` on `port` with more arguments, ready, with an admin session.
pub async fn serve_with(
    db: &TestDb,
    http: &reqwest::Client,
    port: u16,
    more: &[&str],
) -> (Process, String, String) {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    args.extend(more);
    let child = tally(db, &args).spawn().expect("tally serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "tally serve was not ready in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let session: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"name": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = session["token"].as_str().unwrap().to_owned();
    (Process(child), base, admin)
}

/// The position of the last event in `db`.
pub async fn head(db: &TestDb) -> u64 {
    db.store().head().await.unwrap().unwrap_or(0)
}
