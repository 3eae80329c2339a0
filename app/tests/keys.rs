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
