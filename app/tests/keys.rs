//! `tally rotate-master-key` on PostgreSQL: every data key re-wrapped, no event touched.

mod common;

use std::sync::Arc;
use tally_contract::inputs;
use tally_ports::keys::{DataKeys, MasterKey};
use tally_ports::{Actor, Ctx, Tally};
use tally_postgres::PgKeys;
use tally_postgres::testing::TestDb;

async fn events_digest(db: &TestDb) -> (i64, String) {
    sqlx::query_as(
        "SELECT count(*), coalesce(md5(string_agg(e::text, '|' ORDER BY position)), '')
         FROM events e",
    )
    .fetch_one(db.store().pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_master_key_rewraps_the_keys_and_touches_no_event() {
    let db = TestDb::create().await;
    let svc = db.store().service();
    let admin = Ctx::new(Actor::admin("root"));
    for h in ["alice", "bobby"] {
        svc.execute(&admin, inputs::register(h, h)).await.unwrap();
    }
    let (old, new) = (
        MasterKey::generate().unwrap(),
        MasterKey::generate().unwrap(),
    );
    let keys = DataKeys::new(Arc::new(PgKeys::new(db.store().clone())), old.clone());
    let sealed = keys.seal("alice", "Alice Liddell").await.unwrap();
    keys.seal("bobby", "Bob").await.unwrap();
    let before = events_digest(&db).await;
    assert_eq!(before.0, 2);

    let out = common::tally(&db, &["rotate-master-key"])
        .env("TALLY_MASTER_KEY", old.to_hex())
        .env("TALLY_NEW_MASTER_KEY", new.to_hex())
        .stdout(std::process::Stdio::piped())
        .output()
        .expect("tally runs");
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 data keys re-wrapped"), "{said}");
    assert!(said.contains(new.id()), "{said}");

    assert_eq!(events_digest(&db).await, before, "the events changed");
    let rotated = DataKeys::new(Arc::new(PgKeys::new(db.store().clone())), new);
    assert_eq!(
        rotated.open(&sealed).await.unwrap().as_deref(),
        Some("Alice Liddell")
    );
    // A wrong current key changes nothing and says so.
    let wrong = common::tally(&db, &["rotate-master-key"])
        .env("TALLY_MASTER_KEY", old.to_hex())
        .env(
            "TALLY_NEW_MASTER_KEY",
            MasterKey::generate().unwrap().to_hex(),
        )
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert_eq!(
        rotated.open(&sealed).await.unwrap().as_deref(),
        Some("Alice Liddell")
    );
}

/// Events stored in plaintext by a build before encryption: `tally seal-history` seals their
/// personal fields in batches, resumes where a killed run got to, changes nothing when run
/// again, audits every run, and every reader still sees what was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealing_the_history_resumes_after_a_kill_and_is_idempotent() {
    use tally_postgres::testing::TEST_MASTER_KEY;
    let db = TestDb::create().await;
    // As an older build wrote them: no keys, plaintext.
    let old = db.store().service();
    let admin = Ctx::new(Actor::admin("root"));
    for i in 0..150 {
        let h = format!("member{i:03}");
        old.execute(&admin, inputs::register(&h, &format!("Plain Name {i:03}")))
            .await
            .unwrap();
        old.execute(
            &admin,
            inputs::grant(&h, 5, &format!("Plain reason {i:03}")),
        )
        .await
        .unwrap();
    }
    assert_eq!(db.store().personal_fields_stored().await.unwrap().1, 300);

    // A run killed part-way: its committed batches stay, its audit row says how far.
    let mut child = common::tally(&db, &["seal-history", "--batch", "1"])
        .spawn()
        .expect("tally runs");
    let pool = db.store().pool().clone();
    let reached = loop {
        let p: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM history_sealing WHERE finished_at IS NULL AND position > 20",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(p) = p {
            break p;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = db.store().personal_fields_stored().await.unwrap().1;
    assert!(
        left < 300 && left > 0,
        "{left} left after the kill (reached {reached})"
    );

    // Resumed: from where the killed run's last batch committed, to the end.
    let out = common::tally(&db, &["seal-history", "--batch", "50"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("0 personal fields left in plaintext"),
        "{said}"
    );
    assert_eq!(db.store().personal_fields_stored().await.unwrap().1, 0);
    let runs: Vec<(i64, i64, Option<chrono::DateTime<chrono::Utc>>, i64)> = sqlx::query_as(
        "SELECT resumed_from, position, finished_at, fields_sealed FROM history_sealing ORDER BY run",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs[0].2.is_none(), "the killed run is not marked finished");
    assert_eq!(
        runs[1].0, runs[0].1,
        "the second run resumed where the first got to"
    );
    assert_eq!(
        runs[0].3 + runs[1].3,
        300,
        "every field sealed exactly once: {runs:?}"
    );

    // Idempotent: from the start again, nothing is sealed twice.
    let before = events_digest(&db).await;
    let again = common::tally(&db, &["seal-history", "--from-start"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("sealed 0 fields in 0 events"), "{said}");
    assert_eq!(
        events_digest(&db).await,
        before,
        "a second run changed events"
    );

    // Nothing plaintext in the history; every reader sees what was written.
    let text: String = sqlx::query_scalar("SELECT string_agg(payload::text, '|') FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!text.contains("Plain Name") && !text.contains("Plain reason"));
    let master = MasterKey::parse(TEST_MASTER_KEY).unwrap();
    let keys = DataKeys::new(Arc::new(PgKeys::new(db.store().clone())), master);
    let sealed = db.store().service().with_keys(Arc::new(keys));
    db.store().clear_cache().await.unwrap();
    let w = sealed.wallet(&admin, "member042").await.unwrap();
    assert_eq!(w.display_name, "Plain Name 042");
    let h = sealed
        .history(&admin, &tally_ports::EntityRef::member("member042"))
        .await
        .unwrap();
    assert_eq!(h[1].payload["reason"], "Plain reason 042");
    // And `tally verify` says so.
    let v = common::tally(&db, &["verify"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{said}");
    assert!(
        said.contains("personal fields sealed") && said.contains("none in plaintext"),
        "{said}"
    );
}
