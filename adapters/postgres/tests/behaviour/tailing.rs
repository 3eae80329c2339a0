//! The global order, tailed while commands commit concurrently.

use crate::common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tally_domain::Handle;
use tally_ports::driven::{AppendPlan, EventStore, StreamAppend};
use tally_ports::{Actor, RecordedEvent, StreamId};
use tally_postgres::testing::TestDb;
use uuid::Uuid;

fn event(s: &StreamId, version: u64) -> RecordedEvent {
    let id = Uuid::now_v7();
    RecordedEvent {
        position: 0,
        stream: s.clone(),
        version,
        event_id: id,
        event_type: "CreditsGranted".into(),
        schema_version: 3,
        payload: json!({ "amount": version, "reason": "tailing", "category": "other" }),
        time: chrono::Utc::now(),
        actor: Actor::admin("root"),
        command_id: id,
        correlation_id: id,
        causation_id: id,
    }
}

fn one(s: &StreamId, expected: u64) -> AppendPlan {
    AppendPlan {
        streams: vec![StreamAppend {
            stream: s.clone(),
            expected_version: expected,
            events: vec![event(s, expected + 1)],
        }],
        command: None,
        cache: Vec::new(),
        outbox: Vec::new(),
        erase: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_not_shown_while_a_lower_position_is_in_flight() {
    let db = TestDb::create().await;
    let store = db.store();
    let (a, b) = (
        StreamId::member(&Handle::parse("alice").unwrap()),
        StreamId::member(&Handle::parse("bobby").unwrap()),
    );
    // The first transaction draws the lower position and stays open...
    let mut slow = store.begin().await.unwrap();
    slow.append(one(&a, 0)).await.unwrap();
    // ...while the second draws a higher one and commits.
    let mut fast = store.begin().await.unwrap();
    fast.append(one(&b, 0)).await.unwrap();
    let fast = fast.commit().await.unwrap();
    assert!(
        store.read_all(0, 10).await.unwrap().is_empty(),
        "a tailer that saw the higher position now would skip the lower one"
    );
    let slow = slow.commit().await.unwrap();
    assert!(slow[0].position < fast[0].position);
    let all = store.read_all(0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![slow[0].position, fast[0].position]
    );
    db.cleanup().await;
}

/// Pages through the whole order.
async fn read_everything(store: &impl EventStore) -> Vec<RecordedEvent> {
    let (mut all, mut after) = (Vec::new(), 0);
    loop {
        let page = store.read_all(after, 500).await.unwrap();
        let Some(last) = page.last() else {
            return all;
        };
        after = last.position;
        all.extend(page);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tailer_sees_every_committed_event_once_in_order() {
    let db = TestDb::create().await;
    let svc = Arc::new(db.store().service());
    let writers = 8;
    for w in 0..writers {
        register(&svc, &format!("writer{w}"), 1_000_000).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (svc, stop) = (svc.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("writer{w}");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Grants (one stream) and launches (two streams, two events).
                if n.is_multiple_of(3) {
                    launch(&svc, &me, "job", 1).await.expect("launch");
                } else {
                    grant(&svc, &me, 1).await.expect("grant");
                }
                n += 1;
            }
            n
        }));
    }
    let reader = {
        let store = db.store().clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut seen, mut after, mut pages) = (Vec::<RecordedEvent>::new(), 0, 0);
            let mut quiet_since: Option<Instant> = None;
            loop {
                let page = store.read_all(after, 50).await.expect("read_all");
                pages += 1;
                if let Some(last) = page.last() {
                    after = last.position;
                    seen.extend(page);
                    quiet_since = None;
                } else if stop.load(Ordering::Relaxed) {
                    // Writers are done: stop once nothing new shows for a while.
                    let q = *quiet_since.get_or_insert_with(Instant::now);
                    if q.elapsed() > Duration::from_millis(500) {
                        return (seen, pages);
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let mut commands = 0;
    for t in tasks {
        commands += t.await.unwrap();
    }
    let (seen, pages) = reader.await.unwrap();
    let all = read_everything(db.store()).await;
    assert!(commands > 100, "only {commands} commands ran");
    assert!(pages > 10);
    assert!(seen.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(
        seen.len(),
        all.len(),
        "the tailer saw every event exactly once"
    );
    assert_eq!(seen, all);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(db.store().pool())
        .await
        .unwrap();
    assert_eq!(all.len() as i64, stored);
    db.cleanup().await;
}

/// Another process's commit wakes this one's long-polling readers (by NOTIFY, sent after the
/// commit by the other store's announcer), and a long poll through the service answers with
/// the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_in_another_process_wakes_this_ones_readers() {
    use tally_ports::Tally;
    use tally_ports::feed::{FeedRequest, FeedStart};
    let db = TestDb::create().await;
    let other = tally_postgres::PgStore::connect(db.url(), tally_postgres::PgOptions::default())
        .await
        .unwrap();
    let here = db.store().clone();
    let mut woken = here.commits().expect("PostgreSQL wakes feed readers");
    // The listener connects, and wakes readers once in case it missed something meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    woken.borrow_and_update();
    let a = StreamId::member(&Handle::parse("alice").unwrap());
    let mut tx = other.begin().await.unwrap();
    tx.append(one(&a, 0)).await.unwrap();
    tx.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken.changed())
        .await
        .expect("the other process's commit woke this one")
        .unwrap();

    let svc = Arc::new(here.service());
    let poll = {
        let svc = svc.clone();
        tokio::spawn(async move {
            let req = FeedRequest {
                start: FeedStart::After(1),
                wait: Duration::from_secs(20),
                ..FeedRequest::after(1, 10)
            };
            let page = svc.read_feed(&admin(), req).await.unwrap();
            (Instant::now(), page)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tx = other.begin().await.unwrap();
    tx.append(one(&a, 1)).await.unwrap();
    tx.commit().await.unwrap();
    let committed = Instant::now();
    let (answered, page) = poll.await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].version, 2);
    assert!(
        answered.saturating_duration_since(committed) < Duration::from_secs(10),
        "the poll waited for its timeout"
    );
    other.close().await;
}

/// A long poll woken by a commit whose position is above one still in flight answers nothing
/// yet (it re-checks the gap-free horizon), then both events once the lower one commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_never_returns_an_event_past_the_horizon() {
    use tally_ports::Tally;
    use tally_ports::feed::FeedRequest;
    let db = TestDb::create().await;
    let store = db.store().clone();
    let (a, b) = (
        StreamId::member(&Handle::parse("alice").unwrap()),
        StreamId::member(&Handle::parse("bobby").unwrap()),
    );
    let svc = Arc::new(store.service());
    let poll = {
        let svc = svc.clone();
        tokio::spawn(async move {
            let req = FeedRequest {
                wait: Duration::from_secs(20),
                ..FeedRequest::after(0, 10)
            };
            svc.read_feed(&admin(), req).await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut slow = store.begin().await.unwrap();
    slow.append(one(&a, 0)).await.unwrap();
    let mut fast = store.begin().await.unwrap();
    fast.append(one(&b, 0)).await.unwrap();
    fast.commit().await.unwrap();
    // The commit woke the poll; the horizon holds it back.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!poll.is_finished(), "the poll answered past the horizon");
    slow.commit().await.unwrap();
    let page = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the poll answered once the horizon moved")
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2]
    );
    db.cleanup().await;
}
