//! `tally verify` on a real PostgreSQL history: a sound one passes; copies corrupted on
//! purpose (an event deleted, a cached state tampered with) fail, naming the offending
//! stream; and a `pg_dump` of the database restored into a new one verifies and answers the
//! same views (the README's backup recipe).

use std::process::{Command, Output};
use std::sync::Arc;
use tally_ports::{Actor, CommandKind, Ctx, EntityRef, Input, Tally};
use tally_postgres::testing::TestDb;

fn verify(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--storage", "postgres", "--database-url", url, "verify"])
        .env("TALLY_MASTER_KEY", tally_postgres::testing::TEST_MASTER_KEY)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("tally verify runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Members, grants, a completed job, a cancelled one and an open one with an applicant.
async fn history(db: &TestDb) {
    let svc = Arc::new(db.store().service());
    let admin = Ctx::new(Actor::admin("admin"));
    for h in ["alice", "bobby", "carol"] {
        let input = Input::new(CommandKind::RegisterMember)
            .with("handle", h)
            .with("display_name", h);
        svc.execute(&admin, input).await.unwrap();
        let grant = Input::new(CommandKind::GrantCredits)
            .with("handle", h)
            .with("amount", 100)
            .with("reason", "welcome");
        svc.execute(&admin, grant).await.unwrap();
    }
    let alice = Ctx::new(Actor::member("alice"));
    let bobby = Ctx::new(Actor::member("bobby"));
    let launch = |t: &str| {
        Input::new(CommandKind::LaunchJob)
            .with("title", t)
            .with("description", "")
            .with("reward", 30)
    };
    for (title, end) in [("Logo", "complete"), ("Menu", "cancel"), ("Flyer", "open")] {
        let job = svc.execute(&alice, launch(title)).await.unwrap();
        let job = job.launched_job().unwrap().to_owned();
        let apply = Input::new(CommandKind::Apply)
            .with("job", job.as_str())
            .with("pitch", "me");
        svc.execute(&bobby, apply).await.unwrap();
        match end {
            "complete" => {
                let accept = Input::new(CommandKind::AcceptApplicant)
                    .with("job", job.as_str())
                    .with("participant", "bobby");
                svc.execute(&alice, accept).await.unwrap();
                let done = Input::new(CommandKind::CompleteJob).with("job", job.as_str());
                svc.execute(&alice, done).await.unwrap();
            }
            "cancel" => {
                let cancel = Input::new(CommandKind::CancelJob)
                    .with("job", job.as_str())
                    .with("reason", "changed my mind");
                svc.execute(&alice, cancel).await.unwrap();
            }
            _ => {}
        }
    }
}

async fn sql(db: &TestDb, statement: &str) {
    sqlx::raw_sql(statement)
        .execute(db.store().pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[tokio::test]
async fn a_sound_history_verifies_and_corrupted_copies_are_caught() {
    let db = TestDb::create().await;
    history(&db).await;
    let ok = verify(db.url());
    assert!(ok.status.success(), "{}", text(&ok));
    let out = text(&ok);
    for check in [
        "stream versions contiguous from 1",
        "positions unique, in transaction order",
        "recorded commands' events present",
        "conservation: granted = balances + escrow",
        "cached member states = fresh folds",
        "cached job states = fresh folds",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(check))
            .unwrap_or_else(|| panic!("no line for {check}: {out}"));
        assert!(line.ends_with("ok"), "{line}");
    }

    // A tampered cache row: caught, naming the stream.
    sql(
        &db,
        "UPDATE state_cache SET state = jsonb_set(state, '{tampered}', 'true')
         WHERE stream = 'member:carol'",
    )
    .await;
    let bad = verify(db.url());
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(
        text(&bad).contains("member:carol: the cached state is not what its events fold to"),
        "{}",
        text(&bad)
    );

    // A deleted event (a grant): versions, the command and the books all say so.
    let db2 = TestDb::create().await;
    history(&db2).await;
    sql(
        &db2,
        "DELETE FROM events WHERE stream = 'member:alice' AND event_type = 'CreditsGranted'",
    )
    .await;
    let bad = verify(db2.url());
    let out = text(&bad);
    assert!(!bad.status.success(), "{out}");
    assert!(
        out.contains("member:alice: 6 events, versions 1..7"),
        "{out}"
    );
    assert!(out.contains("of its 1 events there"), "{out}");
    // alice escrowed the rewards of her three jobs out of the grant that is gone.
    assert!(
        out.contains("member:alice: the balance is -30 after v"),
        "{out}"
    );
    assert!(
        out.contains("member:alice: the cached state is not what its events fold to"),
        "{out}"
    );
    db.cleanup().await;
    db2.cleanup().await;
}

/// The README's backup recipe: `pg_dump -Fc`, `pg_restore` into a new database; the copy
/// verifies and shows the same wallets and jobs.
#[tokio::test]
async fn a_restored_dump_verifies_and_shows_the_same_views() {
    let db = TestDb::create().await;
    history(&db).await;
    let copy = TestDb::create().await;
    let dump = std::env::temp_dir().join(format!("{}.dump", db.name()));
    let st = Command::new("pg_dump")
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(db.url())
        .status()
        .expect("pg_dump runs (apt-get install postgresql-client)");
    assert!(st.success(), "pg_dump: {st}");
    // The copy was migrated on creation: empty it, then restore everything into it.
    sql(&copy, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;").await;
    let st = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "-d", copy.url()])
        .arg(&dump)
        .status()
        .expect("pg_restore runs");
    assert!(st.success(), "pg_restore: {st}");
    let _ = std::fs::remove_file(&dump);
    let ok = verify(copy.url());
    assert!(ok.status.success(), "{}", text(&ok));
    let (a, b) = (db.store().service(), copy.store().service());
    let admin = Ctx::new(Actor::admin("admin"));
    for h in ["alice", "bobby", "carol"] {
        let who = EntityRef::member(h);
        let x = a.history(&admin, &who).await.unwrap();
        let y = b.history(&admin, &who).await.unwrap();
        assert_eq!(
            serde_json::to_value(&x).unwrap(),
            serde_json::to_value(&y).unwrap(),
            "{h}'s history"
        );
    }
    let anyone = Ctx::new(Actor::Anonymous);
    assert_eq!(
        serde_json::to_value(a.job_board(&anyone, 50).await.unwrap()).unwrap(),
        serde_json::to_value(b.job_board(&anyone, 50).await.unwrap()).unwrap(),
        "the job board"
    );
    for h in ["alice", "bobby", "carol"] {
        assert_eq!(
            serde_json::to_value(a.wallet(&admin, h).await.unwrap()).unwrap(),
            serde_json::to_value(b.wallet(&admin, h).await.unwrap()).unwrap(),
            "{h}'s wallet"
        );
    }
    db.cleanup().await;
    copy.cleanup().await;
}
