//! Connections killed in the middle of transactions (`pg_terminate_backend` from another
//! connection): commands fail cleanly or retry, and nothing is ever half-recorded.

use crate::common::*;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tally_contract::inputs;
use tally_domain::Handle;
use tally_ports::driven::{AppendPlan, EventStore, StoreError, StreamAppend};
use tally_ports::{Actor, CommandKind, Error, RecordedEvent, StreamId, Tally, Unavailable};
use tally_postgres::testing::TestDb;
use uuid::Uuid;

/// Terminates every other session on the test database, waiting up to `wait_ms` for each
/// to be gone. Returns how many were inside a transaction.
async fn kill_all(killer: &mut PgConnection, wait_ms: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE in_tx) FROM (
             SELECT xact_start IS NOT NULL AS in_tx, pg_terminate_backend(pid, $1) AS gone
             FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_type = 'client backend') k",
    )
    .bind(wait_ms)
    .fetch_one(killer)
    .await
    .expect("terminate")
}

/// Begins like the service does: a dead pooled connection is a conflict, retried.
async fn begin(store: &impl EventStore) -> Box<dyn tally_ports::driven::WriteTx> {
    for _ in 0..50 {
        match store.begin().await {
            Ok(tx) => return tx,
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => panic!("begin: {e}"),
        }
    }
    panic!("no live connection after 50 tries");
}

fn plan(s: &StreamId, expected: u64) -> AppendPlan {
    let id = Uuid::now_v7();
    AppendPlan {
        streams: vec![StreamAppend {
            stream: s.clone(),
            expected_version: expected,
            events: vec![RecordedEvent {
                position: 0,
                stream: s.clone(),
                version: expected + 1,
                event_id: id,
                event_type: "CreditsGranted".into(),
                schema_version: 3,
                payload: json!({"amount": 1, "reason": "chaos", "category": "other"}),
                time: chrono::Utc::now(),
                actor: Actor::admin("root"),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            }],
        }],
        command: None,
        cache: Vec::new(),
        outbox: Vec::new(),
        erase: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_before_commit_is_a_safe_retry_and_during_commit_an_unknown() {
    let db = TestDb::create().await;
    let store = db.store();
    let mut killer = PgConnection::connect(db.url()).await.unwrap();
    let a = StreamId::member(&Handle::parse("alice").unwrap());

    // Killed before the append: a conflict (nothing was committed; retry elsewhere).
    let mut tx = begin(store).await;
    assert!(tx.load(&[(a.clone(), 0)]).await.unwrap()[0].is_empty());
    assert_eq!(kill_all(&mut killer, 5000).await, 1);
    let lost = tx.append(plan(&a, 0)).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    drop(tx);

    // Killed after the append, before the commit: the commit cannot know what happened.
    let mut tx = begin(store).await;
    tx.append(plan(&a, 0)).await.unwrap();
    assert_eq!(kill_all(&mut killer, 5000).await, 1);
    let unknown = tx.commit().await;
    assert!(
        matches!(unknown, Err(StoreError::Unknown(_))),
        "{unknown:?}"
    );

    // Nothing was recorded, and the store works on fresh connections.
    assert!(store.load(&a, 0).await.unwrap().is_empty());
    let mut tx = begin(store).await;
    tx.append(plan(&a, 0)).await.unwrap();
    assert_eq!(tx.commit().await.unwrap().len(), 1);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_whose_connections_are_killed_are_resolved_or_named() {
    let db = TestDb::create().await;
    let svc = Arc::new(db.store().service());
    let owners = 6;
    for o in 0..owners {
        register(&svc, &format!("owner{o}"), 1_000_000).await;
    }
    // Each owner issues commands until this many are acknowledged, while sessions are killed:
    // a count of commands, not a time window, so that a slow machine runs longer instead of
    // failing.
    const PER_OWNER: usize = 12;
    let done = Arc::new(AtomicU64::new(0));
    let (ok, conflict) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for o in 0..owners {
        let (svc, done) = (svc.clone(), done.clone());
        let (ok, conflict) = (ok.clone(), conflict.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("owner{o}");
            let (mut acked, mut unknown) = (Vec::new(), Vec::new());
            while acked.len() < PER_OWNER {
                // Launches write two streams: the job and the owner's escrow. No client
                // idempotency key: the service's own command id must resolve what is lost.
                let input = if fastrand::bool() {
                    inputs::launch("chaos", 1)
                } else {
                    inputs::grant(&me, 1, "test")
                };
                let ctx = if input.kind == CommandKind::LaunchJob {
                    member(&me)
                } else {
                    admin()
                };
                match svc.execute(&ctx, input.clone()).await {
                    Ok(r) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        acked.push((r.command_id, r.events.len()));
                    }
                    // Lost at commit, and the lookup failed too: named, to repeat.
                    Err(Error::Unavailable(Unavailable::OutcomeUnknown { command_id })) => {
                        unknown.push((ctx, input, command_id));
                    }
                    // Killed at every retry (before or at commit: not recorded).
                    Err(
                        Error::Conflict { .. }
                        | Error::Unavailable(Unavailable::NotRecorded { .. }),
                    ) => {
                        conflict.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => panic!("unexpected failure: {e:?}"),
                }
            }
            done.fetch_add(1, Ordering::Relaxed);
            (acked, unknown)
        }));
    }
    let mut killer = PgConnection::connect(db.url()).await.unwrap();
    let (mut kills, mut in_tx) = (0, 0);
    while done.load(Ordering::Relaxed) < owners as u64 {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(5..40))).await;
        in_tx += kill_all(&mut killer, 0).await;
        kills += 1;
    }
    let (mut acked, mut unknown) = (Vec::new(), Vec::new());
    for t in tasks {
        let (a, u) = t.await.unwrap();
        acked.extend(a);
        unknown.extend(u);
    }
    // Each command named as unknown, repeated with its id, answers its outcome: recorded
    // once, whether the lost commit had gone through or not.
    let named = unknown.len();
    for (ctx, input, id) in unknown {
        let again = svc
            .execute(&ctx.with_command_id(id), input)
            .await
            .unwrap_or_else(|e| panic!("repeating {id}: {e:?}"));
        assert_eq!(again.command_id, id);
        acked.push((id, again.events.len()));
    }
    // The checks run on fresh connections: the store's pool may still hold sessions that the
    // last kill round terminated (it does not test connections before handing them out).
    let fresh = sqlx::PgPool::connect(db.url())
        .await
        .expect("connecting to check");
    let pool = &fresh;
    let launched = check_launches_are_whole(pool).await;
    check_the_books(pool).await;
    let per_command = events_per_command(pool).await;
    for (id, n) in &acked {
        assert_eq!(per_command.get(id), Some(&(*n as i64)), "command {id}");
    }
    // Every command is recorded: none was left unknown to its caller.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM commands")
        .fetch_one(pool)
        .await
        .unwrap();
    let ok = ok.load(Ordering::Relaxed);
    let conflict = conflict.load(Ordering::Relaxed);
    let resolved = svc.stats().resolved.load(Ordering::Relaxed);
    let batched = svc.stats().batched.load(Ordering::Relaxed);
    eprintln!(
        "{kills} kill rounds, {in_tx} sessions killed inside a transaction; {ok} commands ok \
         ({resolved} of them after a lost commit, resolved by their id; {batched} landed in a \
         batch with others), {named} named as unknown and repeated, {conflict} out of \
         retries; {launched} jobs launched; {recorded} command ids recorded"
    );
    assert!(in_tx > 0, "no transaction was ever interrupted");
    // Group commit is on: the commands of different owners went together, so batches were
    // among what the kills interrupted.
    assert!(batched > 0, "no two commands ever landed together");
    assert_eq!(
        ok,
        (owners * PER_OWNER) as u64,
        "every owner's commands got through"
    );
    assert_eq!(
        recorded as usize,
        acked.len() + owners * 2,
        "every acknowledged command (and the setup's) records its id, once"
    );
    // Afterwards the service works as usual.
    grant(&svc, "owner0", 1).await.unwrap();
    fresh.close().await;
    db.cleanup().await;
}
