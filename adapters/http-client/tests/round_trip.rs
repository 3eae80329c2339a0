//! Every method of the driving port, through `HttpTally` against a real server, gives the
//! same results and the same errors as calling the application service in process.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_http::{AppState, HttpConfig};
use tally_http_client::{HttpTally, ProvisioningTokens, log_in};
use tally_memory::MemoryAccounts;
use tally_ports::identity::{PasswordCost, bootstrap_admin};
use tally_ports::{Actor, AsOf, CommandKind, Ctx, EntityRef, Input, Result, Tally};
use uuid::Uuid;

/// What one call gave, made comparable: ids and times that differ from run to run removed.
fn outcome<T: serde::Serialize>(r: Result<T>) -> Value {
    fn scrub(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["event_id", "time", "launched_at"] {
                    m.remove(k);
                }
                m.values_mut().for_each(scrub);
            }
            Value::Array(a) => a.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    let mut v = match r {
        Ok(v) => serde_json::json!({"ok": v}),
        Err(e) => serde_json::json!({"err": e}),
    };
    scrub(&mut v);
    v
}

/// A command context with a fixed command id, so that job ids and receipts are the same on
/// both sides.
fn cmd(actor: &Actor, n: u128) -> Ctx {
    Ctx::new(actor.clone()).with_command_id(Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0000 + n,
    ))
}

fn register(h: &str) -> Input {
    Input::new(CommandKind::RegisterMember)
        .with("handle", h)
        .with("display_name", format!("{h} the member"))
}

fn grant(h: &str, amount: i64) -> Input {
    Input::new(CommandKind::GrantCredits)
        .with("handle", h)
        .with("amount", amount)
        .with("reason", "welcome")
}

fn launch(title: &str, reward: i64) -> Input {
    Input::new(CommandKind::LaunchJob)
        .with("title", title)
        .with("description", "details")
        .with("reward", reward)
}

fn on(kind: CommandKind, job: &str) -> Input {
    Input::new(kind).with("job", job)
}

/// Calls every method of the port, successes and failures, and returns what each gave.
async fn script(t: &dyn Tally) -> Vec<(String, Value)> {
    let admin = Actor::admin("admin");
    let (alice, bob, carol) = (
        Actor::member("alice"),
        Actor::member("bob"),
        Actor::member("carol"),
    );
    let anon = Actor::Anonymous;
    let read = |a: &Actor| Ctx::new(a.clone());
    let mut out: Vec<(String, Value)> = Vec::new();
    macro_rules! step {
        ($name:expr, $call:expr) => {
            out.push(($name.to_string(), outcome($call.await)))
        };
    }
    step!(
        "register alice",
        t.execute(&cmd(&admin, 1), register("alice"))
    );
    step!(
        "a visitor registers bob",
        t.execute(&cmd(&anon, 2), register("bob"))
    );
    step!("register bob", t.execute(&cmd(&admin, 6), register("bob")));
    step!(
        "register carol",
        t.execute(&cmd(&admin, 3), register("carol"))
    );
    step!(
        "register bad handle",
        t.execute(&cmd(&admin, 4), register("X"))
    );
    step!(
        "register taken",
        t.execute(&cmd(&admin, 5), register("alice"))
    );
    step!(
        "grant alice",
        t.execute(&cmd(&admin, 10), grant("alice", 100))
    );
    step!(
        "grant again (same id)",
        t.execute(&cmd(&admin, 10), grant("alice", 100))
    );
    step!(
        "grant id reused",
        t.execute(&cmd(&admin, 10), grant("alice", 7))
    );
    step!(
        "grant anonymous",
        t.execute(&cmd(&anon, 11), grant("alice", 5))
    );
    step!(
        "grant ghost",
        t.execute(&cmd(&admin, 12), grant("ghost", 5))
    );
    step!("grant zero", t.execute(&cmd(&admin, 13), grant("alice", 0)));
    step!(
        "grant huge",
        t.execute(&cmd(&admin, 14), grant("alice", i64::MAX))
    );
    step!("launch j1", t.execute(&cmd(&alice, 20), launch("Logo", 30)));
    step!(
        "launch j2",
        t.execute(&cmd(&alice, 21), launch("Flyer", 10))
    );
    step!(
        "launch too dear",
        t.execute(&cmd(&alice, 22), launch("Castle", 1000))
    );
    step!(
        "launch anonymous",
        t.execute(&cmd(&anon, 23), launch("Nope", 1))
    );
    step!(
        "launch as admin",
        t.execute(&cmd(&admin, 24), launch("Nope", 1))
    );
    step!(
        "launch untitled",
        t.execute(&cmd(&alice, 25), launch(" ", 1))
    );
    step!(
        "grant as member",
        t.execute(&cmd(&bob, 26), grant("bob", 5))
    );
    let j1 = cmd(&alice, 20).command_id.unwrap().to_string();
    let j2 = cmd(&alice, 21).command_id.unwrap().to_string();
    step!(
        "register as member",
        t.execute(&cmd(&alice, 27), register("dave"))
    );
    step!(
        "bob applies",
        t.execute(
            &cmd(&bob, 30),
            on(CommandKind::Apply, &j1).with("pitch", "I draw well")
        )
    );
    step!(
        "alice applies to her own",
        t.execute(
            &cmd(&alice, 31),
            on(CommandKind::Apply, &j1).with("pitch", "me")
        )
    );
    step!(
        "bob applies again",
        t.execute(
            &cmd(&bob, 32),
            on(CommandKind::Apply, &j1).with("pitch", "me again")
        )
    );
    step!(
        "apply unknown job",
        t.execute(
            &cmd(&bob, 33),
            on(CommandKind::Apply, "no-such-job").with("pitch", "hi")
        )
    );
    step!(
        "apply bad job id",
        t.execute(
            &cmd(&bob, 34),
            on(CommandKind::Apply, "Bad/Id").with("pitch", "hi")
        )
    );
    step!(
        "carol applies",
        t.execute(
            &cmd(&carol, 35),
            on(CommandKind::Apply, &j1).with("pitch", "pick me")
        )
    );
    step!(
        "carol withdraws",
        t.execute(&cmd(&carol, 36), on(CommandKind::WithdrawApplication, &j1))
    );
    step!(
        "carol withdraws again",
        t.execute(&cmd(&carol, 37), on(CommandKind::WithdrawApplication, &j1))
    );
    step!(
        "participant view bob",
        t.job_participant_view(&read(&bob), &j1)
    );
    step!(
        "participant view carol",
        t.job_participant_view(&read(&carol), &j1)
    );
    step!(
        "participant view anonymous",
        t.job_participant_view(&read(&anon), &j1)
    );
    step!(
        "participant view unknown",
        t.job_participant_view(&read(&bob), "nope")
    );
    step!("owner view alice", t.job_owner_view(&read(&alice), &j1));
    step!("owner view bob", t.job_owner_view(&read(&bob), &j1));
    step!("owner view admin", t.job_owner_view(&read(&admin), &j1));
    step!(
        "bob accepts",
        t.execute(
            &cmd(&bob, 40),
            on(CommandKind::AcceptApplicant, &j1).with("participant", "bob")
        )
    );
    step!(
        "accept not applied",
        t.execute(
            &cmd(&alice, 41),
            on(CommandKind::AcceptApplicant, &j1).with("participant", "carol")
        )
    );
    step!(
        "alice accepts bob",
        t.execute(
            &cmd(&alice, 42),
            on(CommandKind::AcceptApplicant, &j1).with("participant", "bob")
        )
    );
    step!(
        "bob withdraws accepted",
        t.execute(&cmd(&bob, 43), on(CommandKind::WithdrawApplication, &j1))
    );
    step!(
        "cancel in progress",
        t.execute(
            &cmd(&alice, 44),
            on(CommandKind::CancelJob, &j1).with("reason", "changed my mind")
        )
    );
    step!(
        "complete j1",
        t.execute(&cmd(&alice, 45), on(CommandKind::CompleteJob, &j1))
    );
    step!(
        "complete again",
        t.execute(&cmd(&alice, 46), on(CommandKind::CompleteJob, &j1))
    );
    step!(
        "bob cancels j2",
        t.execute(
            &cmd(&bob, 50),
            on(CommandKind::CancelJob, &j2).with("reason", "mine now")
        )
    );
    step!(
        "alice cancels j2",
        t.execute(
            &cmd(&alice, 51),
            on(CommandKind::CancelJob, &j2).with("reason", "no budget")
        )
    );
    step!(
        "cancel again",
        t.execute(
            &cmd(&alice, 52),
            on(CommandKind::CancelJob, &j2).with("reason", "")
        )
    );
    step!(
        "complete open job",
        t.execute(&cmd(&alice, 53), on(CommandKind::CompleteJob, &j2))
    );
    step!("wallet alice", t.wallet(&read(&alice), "alice"));
    step!("wallet bob", t.wallet(&read(&bob), "bob"));
    step!("wallet alice by bob", t.wallet(&read(&bob), "alice"));
    step!("wallet by admin", t.wallet(&read(&admin), "bob"));
    step!("wallet anonymous", t.wallet(&read(&anon), "bob"));
    step!("wallet ghost", t.wallet(&read(&admin), "ghost"));
    step!("wallet bad handle", t.wallet(&read(&admin), "No Way"));
    step!(
        "launch j3",
        t.execute(&cmd(&alice, 60), launch("Poster", 5))
    );
    step!("board anonymous", t.job_board(&read(&anon), 10));
    step!("board bob", t.job_board(&read(&bob), 1));
    step!("members", t.members(&read(&admin)));
    step!("members by bob", t.members(&read(&bob)));
    step!("members anonymous", t.members(&read(&anon)));
    let alice_ref = EntityRef::member("alice");
    let j1_ref = EntityRef::job(j1.clone());
    step!("history alice", t.history(&read(&alice), &alice_ref));
    step!("history j1 admin", t.history(&read(&admin), &j1_ref));
    step!("history j1 bob", t.history(&read(&bob), &j1_ref));
    step!(
        "history ghost",
        t.history(&read(&admin), &EntityRef::member("ghost"))
    );
    step!(
        "state alice v2",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::version(2))
    );
    step!(
        "state alice v99",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::version(99))
    );
    let past = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let future = Utc.with_ymd_and_hms(2999, 1, 1, 0, 0, 0).unwrap();
    step!(
        "state alice in 2000",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::time(past))
    );
    step!(
        "state alice now",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::time(future))
    );
    step!(
        "state j1 v1",
        t.state_as_of(&read(&admin), &j1_ref, AsOf::version(1))
    );
    step!(
        "state j1 by bob",
        t.state_as_of(&read(&bob), &j1_ref, AsOf::version(1))
    );
    step!("feed first page", t.feed(&read(&admin), 0, 5));
    step!("feed the rest", t.feed(&read(&admin), 5, 1000));
    step!("feed by bob", t.feed(&read(&bob), 0, 10));
    step!("feed anonymous", t.feed(&read(&anon), 0, 10));
    out
}

async fn over_http() -> (tally_http::testing::Server, HttpTally) {
    let (server, client, _) = over_http_with_store().await;
    (server, client)
}

async fn over_http_with_store() -> (
    tally_http::testing::Server,
    HttpTally,
    tally_memory::MemoryStore,
) {
    let (svc, store) = tally_memory::service();
    let accounts = Arc::new(MemoryAccounts::new());
    let password = "round trip admin password";
    bootstrap_admin(accounts.as_ref(), Some(password), PasswordCost::Minimal)
        .await
        .unwrap();
    let config = HttpConfig {
        password_cost: PasswordCost::Minimal,
        ..HttpConfig::default()
    };
    let state =
        AppState::new(Arc::new(svc.with_accounts(accounts.clone())), accounts).with_config(config);
    let server = tally_http::testing::spawn(state).await.unwrap();
    let url = server.url();
    let admin = log_in(&url, "admin", password).await.unwrap();
    let tokens = Arc::new(ProvisioningTokens::new(&url, admin).unwrap());
    let client = HttpTally::new(&url, tokens).unwrap();
    (server, client, store)
}

/// The client checks what it reads from the feed against the schemas the service
/// publishes: a payload that breaks its contract (here slipped into storage behind the
/// service's back, as a faulty older build might have) is named, not handed on.
#[tokio::test]
async fn the_client_refuses_feed_payloads_that_break_their_published_schema() {
    let (server, http, store) = over_http_with_store().await;
    let admin = Ctx::new(Actor::admin("admin"));
    http.execute(&admin, register("erin")).await.unwrap();
    http.execute(&admin, grant("erin", 5)).await.unwrap();
    assert_eq!(http.feed(&admin, 0, 10).await.unwrap().events.len(), 2);
    let mut bad = http.feed(&admin, 0, 10).await.unwrap().events[1].clone();
    bad.version = 3;
    bad.event_id = Uuid::now_v7();
    bad.payload["amount"] = serde_json::json!(-5);
    store
        .insert_as_stored(tally_contract::raw_plan(vec![bad]))
        .unwrap();
    let err = http.feed(&admin, 0, 10).await.unwrap_err().to_string();
    assert!(
        err.contains("event 3 (CreditsGranted v3)") && err.contains("published schema"),
        "{err}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_port_method_gives_the_same_answers_over_http_as_in_process() {
    let (direct, _) = tally_memory::service();
    let expected = script(&direct).await;
    let (server, http) = over_http().await;
    let actual = script(&http).await;
    assert_eq!(expected.len(), actual.len());
    for ((step, want), (_, got)) in expected.iter().zip(&actual) {
        assert_eq!(got, want, "step {step:?} differs over HTTP");
    }
    let oks = expected
        .iter()
        .filter(|(_, v)| v.get("ok").is_some())
        .count();
    assert!(oks >= 30, "only {oks} steps succeeded");
    // The script covers every kind of error and most codes.
    let codes: BTreeSet<String> = expected
        .iter()
        .filter_map(|(_, v)| v["err"].as_object())
        .map(|e| {
            let c = e
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("unauthorized");
            c.to_owned()
        })
        .collect();
    for c in [
        "invalid_handle",
        "handle_taken",
        "admin_only",
        "unauthorized",
        "unknown_member",
        "invalid_amount",
        "insufficient_credits",
        "members_only",
        "invalid_title",
        "own_job",
        "already_applied",
        "unknown_job",
        "invalid_job_id",
        "no_live_application",
        "not_job_owner",
        "application_accepted",
        "job_not_open",
        "job_not_in_progress",
        "not_your_wallet",
        "no_such_version",
        "command_id_reused",
    ] {
        assert!(
            codes.contains(c),
            "the script never provokes {c}: {codes:?}"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_member_without_an_account_gets_one_on_first_use_and_keeps_it() {
    let (server, http) = over_http().await;
    let admin = Ctx::new(Actor::admin("admin"));
    http.execute(&admin, register("erin")).await.unwrap();
    let erin = Ctx::new(Actor::member("erin"));
    let first = http.wallet(&erin, "erin").await.unwrap();
    let second = http.wallet(&erin, "erin").await.unwrap();
    assert_eq!(first, second);
    let stranger = Ctx::new(Actor::member("ghost"));
    let err = http.wallet(&stranger, "ghost").await.unwrap_err();
    assert_eq!(err.code(), "unknown_member");
    drop(server);
}

/// A report worker in another process follows the service's HTTP feed (each payload checked
/// against the published schemas) into its own storage: it ends with exactly the reports the
/// in-process follower makes from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_from_the_http_feed_equal_those_from_the_store() {
    use tally_ports::driven::ReportStore;
    use tally_ports::reports::Follower;
    let (server, http, store) = over_http_with_store().await;
    let admin = Ctx::new(Actor::admin("admin"));
    for h in ["olive", "pat"] {
        http.execute(&admin, register(h)).await.unwrap();
        http.execute(&admin, grant(h, 40)).await.unwrap();
    }
    let olive = Ctx::new(Actor::member("olive"));
    for i in 0..3 {
        let r = http
            .execute(&olive, launch(&format!("job {i}"), 5))
            .await
            .unwrap();
        let job = r.launched_job().unwrap().to_owned();
        let cancel = on(CommandKind::CancelJob, &job).with("reason", "changed my mind");
        http.execute(&olive, cancel).await.unwrap();
    }
    let here = tally_memory::MemoryStore::new();
    Follower::new(Arc::new(store.clone()), Arc::new(here.clone()), 1000)
        .catch_up()
        .await
        .unwrap();
    // The worker reads with a service account: a `feed:read` token an admin made.
    let url = server.url();
    let admin_token = log_in(&url, "admin", "round trip admin password")
        .await
        .unwrap();
    let as_admin = tally_http_client::StaticTokens(std::collections::HashMap::from([(
        Actor::admin("admin"),
        admin_token,
    )]));
    let identity = tally_http_client::HttpIdentity::new(&url, Arc::new(as_admin)).unwrap();
    let new = tally_ports::identity::NewToken {
        name: "report-worker".into(),
        expires_in_days: None,
        scope: Some("feed:read".into()),
    };
    let service = tally_ports::identity::Identity::create_token(&identity, &admin, new)
        .await
        .unwrap();
    assert_eq!(service.details.scope, "feed:read");
    let worker = Actor::admin("report-worker");
    let tokens = tally_http_client::StaticTokens(std::collections::HashMap::from([(
        worker.clone(),
        service.token,
    )]));
    let there = tally_memory::MemoryStore::new();
    let feed = tally_http_client::FeedHistory {
        client: HttpTally::new(&url, Arc::new(tokens)).unwrap(),
        ctx: Ctx::new(worker),
    };
    let folded = Follower::of(Arc::new(feed), Arc::new(there.clone()), 7)
        .catch_up()
        .await
        .unwrap();
    assert_eq!(folded, 16);
    let (a, b) = (
        here.load_reports().await.unwrap(),
        there.load_reports().await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a.checkpoint, 16);
    assert_eq!(a.signals.len(), 2, "{:?}", a.signals);
    server.shutdown().await.unwrap();
}
