//! Reads on a hot standby (`TALLY_REPLICA_URL`, created by `scripts/test.sh`): they are served
//! by the standby, a process reads its own writes even when the standby lags, and the global
//! order tailed on the standby while the primary takes concurrent writes has no gap.

use crate::common::*;
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tally_ports::driven::EventStore;
use tally_postgres::testing::TestDb;

/// The standby is shared: a test that pauses its replay runs alone.
static STANDBY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether to run (an explicit opt-out, said aloud; otherwise a missing standby fails).
fn wanted() -> bool {
    if std::env::var("TALLY_SKIP_REPLICA").is_ok_and(|v| v == "1") {
        eprintln!("TALLY_SKIP_REPLICA=1: the replica tests are left out");
        return false;
    }
    true
}

async fn on_standby(url: &str, sql: &str) {
    let mut c = sqlx::postgres::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

async fn head_on(store: &impl EventStore) -> u64 {
    store.head().await.unwrap().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_served_by_the_standby_and_a_process_reads_its_own_writes() {
    if !wanted() {
        return;
    }
    let _alone = STANDBY.lock().await;
    let db = TestDb::create().await;
    let replica = db.store_with_replica().await;
    let standby_url = db.replica_url().await;
    let svc = replica.service();
    register(&svc, "alice", 10).await;
    // Its own commits: the standby is waited for, and has them.
    assert_eq!(head_on(&replica).await, 2);
    // Replay paused: the standby stops at what it has.
    on_standby(&standby_url, "SELECT pg_wal_replay_pause()").await;
    let resume = scopeguard(standby_url.clone());
    // Another process's commit (the primary-only store): this store does not wait for it,
    // and the standby does not have it. So the read was served by the standby.
    let other = db.store().service();
    register(&other, "bobby", 0).await;
    assert_eq!(head_on(db.store()).await, 3, "the primary has it");
    assert_eq!(
        head_on(&replica).await,
        2,
        "a read not after this process's own commit is the standby's"
    );
    // Its own commit while the standby is paused: the read waits (2 s at most), then goes to
    // the primary, and sees it.
    let started = Instant::now();
    grant(&svc, "alice", 5).await.unwrap();
    assert_eq!(head_on(&replica).await, 4, "read-your-writes");
    // (Its bound is 2 s; it gives up a last nap early.)
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "it waited for the standby first"
    );
    drop(resume);
    on_standby(&standby_url, "SELECT pg_wal_replay_resume()").await;
    // Replaying again: the standby catches up and serves the reads.
    let deadline = Instant::now() + Duration::from_secs(20);
    while head_on(&replica).await != 4 {
        assert!(Instant::now() < deadline, "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Resumes replay if the test fails while it is paused (the standby is shared).
struct Resume(Option<String>);

fn scopeguard(url: String) -> Resume {
    Resume(Some(url))
}

impl Drop for Resume {
    fn drop(&mut self) {
        if let Some(url) = self.0.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(on_standby(&url, "SELECT pg_wal_replay_resume()"));
            })
            .join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_order_tailed_on_the_standby_has_no_gap_under_concurrent_writes() {
    if !wanted() {
        return;
    }
    let _alone = STANDBY.lock().await;
    let db = TestDb::create().await;
    let replica = db.store_with_replica().await;
    let primary = db.store().service();
    let members: Vec<String> = (0..8).map(|i| format!("writer{i}")).collect();
    for m in &members {
        register(&primary, m, 0).await;
    }
    // Writers on the primary (8 at once), for 3 s.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for m in members.clone() {
        let (svc, stop) = (db.store().service(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                grant(&svc, &m, 1).await.expect("grant");
                n += 1;
            }
            n
        }));
    }
    // A reader tails the global order on the standby, from the start.
    let (mut after, mut seen) = (0u64, Vec::new());
    let started = Instant::now();
    let mut done = false;
    loop {
        let page = replica.read_all(after, 100).await.unwrap();
        if let Some(last) = page.last() {
            after = last.position;
        }
        seen.extend(page.iter().map(|e| e.position));
        if !done && started.elapsed() > Duration::from_secs(3) {
            stop.store(true, Ordering::Relaxed);
            for w in writers.drain(..) {
                w.await.unwrap();
            }
            done = true;
        }
        if done && page.is_empty() && after >= head_on(db.store()).await {
            break;
        }
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    // Exactly the primary's order: nothing skipped, nothing twice.
    let mut all = Vec::new();
    let mut from = 0;
    loop {
        let page = db.store().read_all(from, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position;
        all.extend(page.iter().map(|e| e.position));
    }
    assert!(all.len() > 100, "only {} events were written", all.len());
    assert_eq!(
        seen, all,
        "the standby's tail differs from the primary's order"
    );
    eprintln!(
        "tailed {} events on the standby while 8 writers committed",
        seen.len()
    );
}
