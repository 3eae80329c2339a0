//! What an operator relies on, with the real binary on PostgreSQL: the metrics count a known
//! workload, and a server killed (SIGKILL) under load, three times, loses no command it
//! acknowledged and records none twice.

mod common;

use common::{free_port, head, run, serve, serve_with};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tally_postgres::testing::TestDb;
use uuid::Uuid;

/// The value of the sample of `name` whose labels include every one of `labels`, if any.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn must(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or_else(|| panic!("no sample {name} {labels:?} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_a_known_workload() {
    let db = TestDb::create().await;
    let http = reqwest::Client::new();
    let metrics_port = free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let (_serve, base, admin) =
        serve_with(&db, &http, free_port(), &["--metrics-listen", &listen]).await;
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}/api/v1{path}"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    // The workload: two members registered, one grant, one grant refused (no such member).
    for h in ["alice", "bob"] {
        let r = post("/members", json!({"handle": h, "display_name": h}))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = post("/members/alice/grant-credits", json!({"amount": 50}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = post("/members/nobody/grant-credits", json!({"amount": 5}))
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let refused: serde_json::Value = r.json().await.unwrap();
    let code = refused["code"].as_str().unwrap().to_owned();
    // A full page of the feed: its reader is behind by the rest of the history.
    let r = http
        .get(format!("{base}/api/v1/feed?limit=1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let total = head(&db).await;
    assert_eq!(total, 3, "two registrations and a grant");

    // Only admins read /metrics on the main listener.
    let url = format!("{base}/metrics");
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let scrape = || async {
        let r = http.get(&url).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        r.text().await.unwrap()
    };
    // The reports' follower catches up within its interval.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = scrape().await;
        if sample(
            &text,
            "tally_follower_lag_events",
            &[("follower", "reports")],
        ) == Some(0.0)
        {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the reports never caught up:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ok = [("outcome", "ok"), ("code", "ok")];
    let register = [&[("type", "register_member")][..], &ok].concat();
    assert_eq!(must(&text, "tally_commands_total", &register), 2.0);
    let grant = [&[("type", "grant_credits")][..], &ok].concat();
    assert_eq!(must(&text, "tally_commands_total", &grant), 1.0);
    let rejected = [
        ("type", "grant_credits"),
        ("outcome", "rejected"),
        ("code", code.as_str()),
    ];
    assert_eq!(must(&text, "tally_commands_total", &rejected), 1.0);
    assert_eq!(
        must(
            &text,
            "tally_command_duration_seconds_count",
            &[("type", "register_member")]
        ),
        2.0
    );
    // Every command that committed did so on its first attempt, in one statement.
    assert_eq!(
        must(&text, "tally_command_fast_path_total", &[("result", "hit")]),
        3.0
    );
    assert!(sample(&text, "tally_command_retries_total", &[]).unwrap_or(0.0) == 0.0);
    assert!(must(&text, "tally_state_lookups_total", &[("source", "miss")]) >= 1.0);
    assert_eq!(
        must(
            &text,
            "tally_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/members"),
                ("status", "201")
            ]
        ),
        2.0
    );
    assert_eq!(
        must(
            &text,
            "tally_http_request_duration_seconds_count",
            &[
                ("method", "POST"),
                ("route", "/api/v1/members/{handle}/grant-credits")
            ]
        ),
        2.0
    );
    assert!(
        text.contains("tally_http_request_duration_seconds_bucket{"),
        "a histogram"
    );
    // The feed reader read one event of three: two behind.
    assert_eq!(must(&text, "tally_feed_lag_events_sum", &[]), 2.0);
    assert_eq!(must(&text, "tally_history_head_position", &[]), 3.0);
    assert_eq!(must(&text, "tally_webhook_deliveries_pending", &[]), 0.0);
    for pool in ["commands", "reads"] {
        must(
            &text,
            "tally_db_connections",
            &[("pool", pool), ("state", "idle")],
        );
        assert_eq!(must(&text, "tally_db_waiting", &[("pool", pool)]), 0.0);
    }
    assert!(text.contains("# HELP tally_commands_total"), "help texts");
    // The listener of its own serves the same, without credentials.
    let other = http
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    let other = other.text().await.unwrap();
    assert_eq!(must(&other, "tally_commands_total", &register), 2.0);
}

/// Grants with their own idempotency keys from `clients` tasks until the server stops
/// answering; the keys of those answered 2xx.
async fn grants_until_killed(
    base: &str,
    admin: &str,
    members: &[String],
    stop: Arc<AtomicBool>,
) -> Vec<Uuid> {
    let mut tasks = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let (base, admin, member, stop) = (
            base.to_owned(),
            admin.to_owned(),
            member.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut acked = Vec::new();
            // Half the clients grant to one shared wallet: conflicts and retries under load.
            let to = if i % 2 == 0 {
                member
            } else {
                "shared".to_owned()
            };
            while !stop.load(Ordering::Relaxed) {
                let key = Uuid::now_v7();
                let r = http
                    .post(format!("{base}/api/v1/members/{to}/grant-credits"))
                    .bearer_auth(&admin)
                    .header("idempotency-key", key.to_string())
                    .json(&json!({"amount": 1}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => acked.push(key),
                    Ok(r) if r.status().is_server_error() => {}
                    Ok(r) => panic!("grant to {to}: {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
            acked
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_no_acknowledged_command() {
    let db = TestDb::create().await;
    let http = reqwest::Client::new();
    let members: Vec<String> = (0..8).map(|i| format!("member{i}")).collect();
    let mut acked: Vec<Uuid> = Vec::new();
    for round in 1..=3 {
        let (mut server, base, admin) = serve(&db, &http).await;
        if round == 1 {
            for h in members.iter().chain(std::iter::once(&"shared".to_owned())) {
                let r = http
                    .post(format!("{base}/api/v1/members"))
                    .bearer_auth(&admin)
                    .json(&json!({"handle": h, "display_name": h}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn({
            let (base, admin, members, stop) =
                (base.clone(), admin.clone(), members.clone(), stop.clone());
            async move { grants_until_killed(&base, &admin, &members, stop).await }
        });
        // Killed mid-load: no goodbye, commands in flight at every stage.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let got = load.await.unwrap();
        assert!(!got.is_empty(), "round {round}: nothing was acknowledged");
        eprintln!(
            "round {round}: {} grants acknowledged before the kill",
            got.len()
        );
        acked.extend(got);
    }
    // Every acknowledged command is recorded exactly once (its one event, its one record).
    let pool = db.store().pool();
    let ids: Vec<Uuid> = acked.clone();
    let (events, recorded): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE command_id = ANY($1)),
                (SELECT count(*) FROM commands WHERE command_id = ANY($1))",
    )
    .bind(&ids)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        events as usize,
        acked.len(),
        "events of acknowledged commands"
    );
    assert_eq!(recorded as usize, acked.len(), "command records");
    // No command recorded twice, acknowledged or not.
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT command_id FROM events GROUP BY command_id
                               HAVING count(*) > 1) t",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(twice, 0, "commands recorded twice");
    // The history is sound, the conservation law included.
    run(&db, &["verify"]);
    // And a repeated acknowledged command answers with its receipt, recording nothing.
    let (_server, base, admin) = serve(&db, &http).await;
    let before = head(&db).await;
    let r = http
        .post(format!("{base}/api/v1/members/member0/grant-credits"))
        .bearer_auth(&admin)
        .header("idempotency-key", acked[0].to_string())
        .json(&json!({"amount": 1}))
        .send()
        .await
        .unwrap();
    // The first acknowledged key may have been a grant to the shared wallet: then this is
    // another command under its key (409), which records nothing either.
    assert!(
        r.status() == StatusCode::OK || r.status() == StatusCode::CONFLICT,
        "{}",
        r.status()
    );
    assert_eq!(head(&db).await, before, "a repeat recorded something");
    eprintln!(
        "{} acknowledged grants over 3 kills: each recorded once",
        acked.len()
    );
}

/// What the OTLP receiver was sent: (path, body) of each request.
type Received = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal OTLP/HTTP receiver: answers 200 to every request and keeps (path, body).
async fn otlp_receiver() -> (u16, Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 8192];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < end + len {
                        let mut chunk = [0u8; 8192];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end..end + len].to_vec();
                    buf.drain(..end + len);
                    kept.lock().unwrap().push((path, body));
                    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if conn.write_all(ok.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A caller's W3C trace is continued: the server answers with a `traceparent` of the same
/// trace, exports the request's and the command's spans (with the command's id and type,
/// and each attempt with its streams) to the OTLP endpoint, and writes JSON log lines that
/// carry the trace id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_go_to_otlp_and_logs_are_json_lines() {
    use std::io::BufRead;
    let (otlp, received) = otlp_receiver().await;
    let port = free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--storage", "memory", "--log-format", "json", "serve"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TALLY_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tally serve starts");
    let lines: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let stderr = child.stderr.take().unwrap();
    let kept = lines.clone();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            kept.lock().unwrap().push(l);
        }
    });
    let _server = common::Process(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let session: serde_json::Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"name": "admin", "password": common::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = session["token"].as_str().unwrap().to_owned();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let r = http
        .post(format!("{base}/api/v1/members"))
        .bearer_auth(&admin)
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .json(&json!({"handle": "alice", "display_name": "Alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let answered = r.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(answered.starts_with(&format!("00-{trace}-")), "{answered}");
    assert!(
        !answered.contains("b7ad6b7169203331"),
        "the server's own span: {answered}"
    );
    // The spans reach the receiver, in the caller's trace.
    let id = unhex(trace);
    let has = |body: &[u8], what: &[u8]| body.windows(what.len()).any(|w| w == what);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = received.lock().unwrap().clone();
        let traced: Vec<&Vec<u8>> = got
            .iter()
            .filter(|(p, b)| p == "/v1/traces" && has(b, &id))
            .map(|(_, b)| b)
            .collect();
        let all: Vec<u8> = traced.iter().flat_map(|b| b.iter().copied()).collect();
        if [
            &b"command"[..],
            b"register_member",
            b"attempt",
            b"streams",
            b"command_id",
            b"tally",
        ]
        .iter()
        .all(|w| has(&all, w))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no spans of the trace at the OTLP endpoint ({} requests: {:?})",
            got.len(),
            got.iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every log line is a JSON object; the request's carry the trace id.
    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty(), "no log lines");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string(), "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains(trace) && l.contains("request_id")),
        "no log line with the trace id: {lines:#?}"
    );
}
