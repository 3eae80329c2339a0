//! Schemathesis (an OpenAPI fuzzer) against the real `tally` binary, on memory and on
//! PostgreSQL storage: every check, every phase (coverage, fuzzing and the stateful phase that
//! follows the document's links), as an admin and as a member with credits. 0 failures.
//!
//! Schemathesis is a Python tool: `scripts/test.sh` installs it in a virtual environment
//! under `target/` and sets `TALLY_SCHEMATHESIS` to its `st`. Without it this test fails,
//! naming the command that installs it; `TALLY_SKIP_SCHEMATHESIS=1` leaves it out, knowingly.
//! `TALLY_SCHEMATHESIS_SEED` replaces the fixed seed (so that CI runs are reproducible).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "fuzzing-admin-password";
const SEED: &str = "20261201";

/// The `st` executable, or why there is none.
fn schemathesis() -> Option<PathBuf> {
    if std::env::var("TALLY_SKIP_SCHEMATHESIS").as_deref() == Ok("1") {
        eprintln!("TALLY_SKIP_SCHEMATHESIS=1: schemathesis is left out");
        return None;
    }
    let st = std::env::var_os("TALLY_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("st"));
    let found = Command::new(&st)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "schemathesis is not installed (looked for {st:?}): run scripts/test.sh, which \
         installs it, or `python3 -m venv target/schemathesis && target/schemathesis/bin/pip \
         install schemathesis==4.32.5` and set TALLY_SCHEMATHESIS=target/schemathesis/bin/st \
         (or set TALLY_SKIP_SCHEMATHESIS=1 to leave it out, knowingly)"
    );
    Some(st)
}

/// The binary, serving on a free loopback port; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(storage: &[&str], log: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(out_dir().join(log)).expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(storage)
            .env("TALLY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TALLY_MASTER_KEY", tally_postgres::testing::TEST_MASTER_KEY)
            // The fuzzer signs up and logs in thousands of times from one address.
            .env("TALLY_AUTH_ATTEMPTS", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the tally binary starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/health/ready", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tally exited before it was ready: {status}");
            }
            assert!(Instant::now() < deadline, "tally was not ready within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    std::fs::create_dir_all(&dir).expect("the output directory");
    dir
}

async fn post(http: &reqwest::Client, url: String, auth: Option<&str>, body: Value) -> Value {
    let mut req = http.post(&url).json(&body);
    if let Some(token) = auth {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {url}: {status} {body}");
    body
}

/// An API token for an account, from a session (a token is made with a session's rights).
async fn token(http: &reqwest::Client, base: &str, session: &str) -> String {
    let t = post(
        http,
        format!("{base}/api/v1/tokens"),
        Some(session),
        json!({"name": "schemathesis"}),
    )
    .await;
    t["token"].as_str().expect("a token").to_owned()
}

/// Tokens for the admin and for a member with credits to launch jobs.
async fn callers(http: &reqwest::Client, base: &str) -> [(&'static str, String); 2] {
    let admin = post(
        http,
        format!("{base}/api/v1/session"),
        None,
        json!({"name": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    let admin = token(http, base, admin["token"].as_str().unwrap()).await;
    let member = post(
        http,
        format!("{base}/api/v1/signup"),
        None,
        json!({"handle": "fuzzer", "display_name": "Fuzzer", "password": "fuzzing-password"}),
    )
    .await;
    for _ in 0..3 {
        post(
            http,
            format!("{base}/api/v1/members/fuzzer/grant-credits"),
            Some(&admin),
            json!({"amount": 1_000_000, "reason": "fuzzing"}),
        )
        .await;
    }
    let member = token(http, base, member["session"]["token"].as_str().unwrap()).await;
    [("admin", admin), ("member", member)]
}

/// Runs every check and phase against `server` as each caller; panics with the report's end
/// on any failure.
async fn fuzz(name: &str, mut server: Server) {
    let Some(st) = schemathesis() else { return };
    let http = reqwest::Client::new();
    server.ready(&http).await;
    let seed = std::env::var("TALLY_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.into());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    for (caller, token) in callers(&http, &server.base).await {
        let report = out_dir().join(format!("{name}-{caller}.txt"));
        let out = tokio::process::Command::new(&st)
            // Its cache (`.schemathesis/`) goes beside the reports, not into the sources.
            .current_dir(out_dir())
            .args(["--config-file", config, "run"])
            .arg(format!("{}/api/v1/openapi.json", server.base))
            // One worker: CPython 3.11 before 3.11.8 (Debian 12 ships 3.11.2) can fail
            // `ast.parse` run from two threads at once ("AST constructor recursion depth
            // mismatch"), which hypothesis does while describing strategies.
            .args(["--checks", "all", "--continue-on-failure", "--workers", "1"])
            .args(["--seed", &seed, "--no-color"])
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .output()
            .await
            .expect("schemathesis runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        std::fs::write(&report, &text).expect("the report is written");
        let summary = text.rfind("SUMMARY").map_or(&text[..], |i| &text[i..]);
        eprintln!("schemathesis on {name} as {caller}:\n{summary}");
        assert!(
            out.status.success(),
            "schemathesis found failures on {name} as {caller} (full report: {}):\n{}",
            report.display(),
            text.rfind("FAILURES").map_or(summary, |i| &text[i..])
        );
        assert!(
            text.contains(" generated, "),
            "no test case ran on {name} as {caller}:\n{summary}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_holds_its_openapi_contract_on_memory() {
    fuzz(
        "memory",
        Server::start(&["--storage", "memory"], "memory.log"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_holds_its_openapi_contract_on_postgres() {
    if schemathesis().is_none() {
        return;
    }
    let db = tally_postgres::testing::TestDb::create().await;
    let server = Server::start(
        &["--storage", "postgres", "--database-url", db.url()],
        "postgres.log",
    );
    fuzz("postgres", server).await;
    db.cleanup().await;
}
