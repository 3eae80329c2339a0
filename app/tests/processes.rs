//! The reports with real processes on PostgreSQL: `tally serve`, `tally report-worker` killed
//! mid-run (SIGKILL) and started again, and `tally rebuild --reports` while commands keep
//! arriving. Each ends with exactly the reports of a clean fold of the whole history.

mod common;

use common::{Process, head, run, serve, tally};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tally_ports::driven::{EventStore, ReportStore};
use tally_ports::reports::Reports;
use tally_postgres::testing::TestDb;

/// The reports a clean fold of the whole history gives.
async fn clean(db: &TestDb) -> Reports {
    let store = db.store();
    let mut r = Reports::new();
    loop {
        let page = store.read_all(r.checkpoint, 1000).await.unwrap();
        if page.is_empty() {
            return r;
        }
        r.apply_all(&page).unwrap();
    }
}

/// Waits until the reports kept in `db` have folded `head` events.
async fn caught_up(db: &TestDb, head: u64) -> Reports {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = db.store().load_reports().await.unwrap();
        if r.checkpoint >= head {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the reports stopped at {} of {head}",
            r.checkpoint
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_worker_killed_mid_run_resumes_to_a_clean_rebuild() {
    let (service_db, worker_db) = (TestDb::create().await, TestDb::create().await);
    run(&service_db, &["seed", "--scale", "20000"]);
    let http = reqwest::Client::new();
    let (_serve, base, admin) = serve(&service_db, &http).await;
    let token: Value = http
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"name": "report-worker", "scope": "feed:read"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let total = head(&service_db).await;
    let worker = |once: bool| {
        let mut args = vec!["report-worker", "--feed-url", &base, "--token", &token];
        args.extend(["--batch", "100"]);
        if once {
            args.push("--once");
        }
        tally(&worker_db, &args)
    };
    // Killed (SIGKILL: no goodbye) once it has saved some batches, well before the end.
    let mut first = Process(worker(false).spawn().expect("the worker starts"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = worker_db.store().load_reports().await.unwrap().checkpoint;
        if at >= 1000 {
            assert!(at < total, "the worker finished before it could be killed");
            break;
        }
        assert!(Instant::now() < deadline, "the worker saved nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let killed_at = worker_db.store().load_reports().await.unwrap().checkpoint;
    assert!(killed_at < total, "killed at {killed_at} of {total}");
    // Started again: it resumes from its checkpoint.
    let status = worker(true).status().unwrap();
    assert!(status.success());
    let resumed = caught_up(&worker_db, total).await;
    let clean = clean(&service_db).await;
    assert_eq!(
        resumed, clean,
        "the resumed worker's reports are a clean fold's"
    );
    // And the service's own follower, in process, made the same.
    assert_eq!(caught_up(&service_db, total).await, clean);
    eprintln!("killed at {killed_at} of {total} events, resumed to a clean rebuild");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_while_commands_arrive_ends_equal_to_a_clean_rebuild() {
    let db = TestDb::create().await;
    run(&db, &["seed", "--scale", "20000"]);
    let http = reqwest::Client::new();
    let (_serve, base, admin) = serve(&db, &http).await;
    let registered = http
        .post(format!("{base}/api/v1/members"))
        .bearer_auth(&admin)
        .json(&json!({"handle": "busy", "display_name": "Busy"}))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
    let stop = Instant::now() + Duration::from_secs(4);
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (http, base, admin) = (http.clone(), base.clone(), admin.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < stop {
                    let r = http
                        .post(format!("{base}/api/v1/members/busy/grant-credits"))
                        .bearer_auth(&admin)
                        .json(&json!({"amount": 1, "category": "promotion"}))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success(), "{}", r.status());
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rebuild = tokio::task::spawn_blocking({
        let mut c = tally(&db, &["rebuild", "--reports", "--batch", "500"]);
        move || c.status().unwrap()
    });
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    assert!(rebuild.await.unwrap().success());
    let total = head(&db).await;
    let kept = caught_up(&db, total).await;
    assert_eq!(kept, clean(&db).await, "equal to a clean rebuild");
    eprintln!("{written} commands while rebuilding; {total} events");
}
