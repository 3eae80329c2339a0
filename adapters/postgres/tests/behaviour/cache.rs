//! The state cache: written in the command's transaction, never trusted blindly.

use crate::common::*;
use serde_json::json;
use sqlx::Row;
use tally_contract::inputs;
use tally_domain::{Handle, JobId};
use tally_ports::driven::{CachedState, StateCache};
use tally_ports::{Actor, Ctx, EntityKind, EntityRef, StreamId, Tally};
use tally_postgres::testing::TestDb;

fn alice() -> StreamId {
    StreamId::member(&Handle::parse("alice").unwrap())
}

fn row(stream: &StreamId, version: u64, format: &str, state: serde_json::Value) -> CachedState {
    CachedState {
        stream: stream.clone(),
        version,
        format: format.into(),
        state,
    }
}

async fn cache_row(db: &TestDb, s: &StreamId) -> Option<CachedState> {
    db.store().get(std::slice::from_ref(s)).await.unwrap().pop()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_writes_its_cache_rows_in_its_own_transaction() {
    let db = TestDb::create().await;
    let svc = db.store().service();
    register(&svc, "alice", 100).await;
    // No `put` after the commit: the rows came with the append, at the stream's version.
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM streams s LEFT JOIN state_cache c USING (stream)
         WHERE c.version IS DISTINCT FROM s.version",
    )
    .fetch_one(db.store().pool())
    .await
    .unwrap();
    assert_eq!(stale, 0);
    let r = cache_row(&db, &alice()).await.unwrap();
    assert_eq!((r.version, r.state["balance"].clone()), (2, json!(100)));
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_format_and_garbage_rows_are_ignored_and_rewritten() {
    let db = TestDb::create().await;
    let svc = db.store().service();
    register(&svc, "alice", 100).await;
    let fmt = svc.format(EntityKind::Member).to_owned();

    // An old format claiming a fortune at a far version.
    db.store()
        .force_cache_row(&row(
            &alice(),
            999,
            "Wallet/0000000000000000",
            json!({"balance": 1_000_000}),
        ))
        .await
        .unwrap();
    assert_eq!(svc.wallet(&admin(), "alice").await.unwrap().balance, 100);
    grant(&svc, "alice", 5).await.unwrap();
    let r = cache_row(&db, &alice()).await.unwrap();
    assert_eq!((r.format.as_str(), r.version), (fmt.as_str(), 3));
    assert_eq!(r.state["balance"], 105);

    // Garbage in the current format, at the current version: queries stay right (they
    // rebuild), and the next command rewrites the row.
    db.store()
        .force_cache_row(&row(&alice(), 3, &fmt, json!("garbage")))
        .await
        .unwrap();
    let w = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!((w.balance, w.version), (105, 3));
    grant(&svc, "alice", 1).await.unwrap();
    let r = cache_row(&db, &alice()).await.unwrap();
    assert_eq!((r.version, r.state["balance"].clone()), (4, json!(106)));

    // Undecodable for the state type although valid JSON of the right format.
    db.store()
        .force_cache_row(&row(&alice(), 4, &fmt, json!({"balance": "lots"})))
        .await
        .unwrap();
    let bobby = Ctx::new(Actor::member("alice"));
    svc.execute(&bobby, inputs::launch("Logo", 6))
        .await
        .unwrap();
    let w = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!((w.balance, w.escrowed, w.version), (100, 6, 5));
    assert_eq!(
        cache_row(&db, &alice()).await.unwrap().state["balance"],
        100
    );
    check_the_books(db.store().pool()).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncating_the_cache_loses_nothing() {
    let db = TestDb::create().await;
    let svc = db.store().service();
    register(&svc, "alice", 100).await;
    register(&svc, "bobby", 0).await;
    let job = launch(&svc, "alice", "Logo", 30)
        .await
        .unwrap()
        .launched_job()
        .unwrap()
        .to_owned();
    svc.execute(&member("bobby"), inputs::apply(&job, "me"))
        .await
        .unwrap();
    db.store().clear_cache().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM state_cache")
        .fetch_one(db.store().pool())
        .await
        .unwrap();
    assert_eq!(rows, 0);

    let w = svc.wallet(&admin(), "alice").await.unwrap();
    assert_eq!((w.balance, w.escrowed), (70, 30));
    let board = svc
        .job_board(&Ctx::new(Actor::Anonymous), 10)
        .await
        .unwrap();
    assert_eq!(board.len(), 1);
    let view = svc.job_owner_view(&member("alice"), &job).await.unwrap();
    assert_eq!(view.applications.len(), 1);
    // Commands go on from the events, and rebuild the rows.
    svc.execute(&member("alice"), inputs::accept(&job, "bobby"))
        .await
        .unwrap();
    svc.execute(&member("alice"), inputs::complete(&job))
        .await
        .unwrap();
    let w = svc.wallet(&admin(), "bobby").await.unwrap();
    assert_eq!(w.balance, 30);
    let j = StreamId::job(&JobId::parse(&job).unwrap());
    assert_eq!(
        cache_row(&db, &j).await.unwrap().state["status"],
        "completed"
    );
    assert!(
        svc.job_board(&Ctx::new(Actor::Anonymous), 10)
            .await
            .unwrap()
            .is_empty()
    );
    check_the_books(db.store().pool()).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_is_right_after_rows_are_deleted_staled_or_foreign() {
    let db = TestDb::create().await;
    let svc = db.store().service();
    register(&svc, "alice", 100).await;
    register(&svc, "bobby", 0).await;
    let mut jobs = Vec::new();
    for t in ["one", "two", "three", "four", "five"] {
        let r = launch(&svc, "alice", t, 10).await.unwrap();
        jobs.push(r.launched_job().unwrap().to_owned());
    }
    let stream = |i: usize| StreamId::job(&JobId::parse(&jobs[i]).unwrap());
    let pool = db.store().pool();
    // "one": cancelled, but its row says open (stale).
    let open_row = cache_row(&db, &stream(0)).await.unwrap();
    svc.execute(&member("alice"), inputs::cancel(&jobs[0], "no"))
        .await
        .unwrap();
    db.store().force_cache_row(&open_row).await.unwrap();
    // "two": its row is gone.
    sqlx::query("DELETE FROM state_cache WHERE stream = $1")
        .bind(stream(1).to_string())
        .execute(pool)
        .await
        .unwrap();
    // "three": a row of another format.
    db.store()
        .force_cache_row(&row(&stream(2), 1, "Job/0", json!({"status": "open"})))
        .await
        .unwrap();
    // "four": an application came after its row was written (stale, yet still open).
    let four = cache_row(&db, &stream(3)).await.unwrap();
    svc.execute(&member("bobby"), inputs::apply(&jobs[3], "me"))
        .await
        .unwrap();
    db.store().force_cache_row(&four).await.unwrap();

    let board = svc
        .job_board(&Ctx::new(Actor::Anonymous), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = board.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            jobs[4].as_str(),
            jobs[3].as_str(),
            jobs[2].as_str(),
            jobs[1].as_str()
        ],
        "open jobs, newest first"
    );
    // Listing rebuilt and rewrote every missing, stale or foreign row.
    let fmt = svc.format(EntityKind::Job).to_owned();
    let listed = db
        .store()
        .list(
            EntityKind::Job,
            tally_ports::driven::CacheFilter::OpenJobs,
            &fmt,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 4, "only the fresh open rows remain to list");
    assert!(
        listed
            .iter()
            .all(|l| l.cached.as_ref().is_some_and(|c| c.version == l.version))
    );
    let four = cache_row(&db, &stream(3)).await.unwrap();
    assert_eq!(
        (
            four.version,
            four.state["applications"].as_object().map(|a| a.len())
        ),
        (2, Some(1))
    );
    let one = cache_row(&db, &stream(0)).await.unwrap();
    assert_eq!(
        (one.state["status"].clone(), one.version),
        (json!("cancelled"), 2)
    );
    let kinds: Vec<(String, String)> = sqlx::query(
        "SELECT stream, coalesce(status, '') FROM state_cache WHERE kind = 'job' ORDER BY stream",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    let history = svc
        .history(&admin(), &EntityRef::job(jobs[0].clone()))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    db.cleanup().await;
}
