//! Every method of the driving port, through `HttpTally` against a real server, gives the
//! same results and the same errors as calling the application service in process.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tally_http::auth::{PasswordCost, bootstrap_admin};
use tally_http::{AppState, HttpConfig};
use tally_http_client::{HttpTally, ProvisioningTokens, log_in};
use tally_memory::MemoryAccounts;
use tally_ports::{
    Actor, AsOf, Ctx, EntityRef, GrantCreditsInput, LaunchJobInput, RegisterMemberInput, Result,
    Tally,
};
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

fn register(h: &str) -> RegisterMemberInput {
    RegisterMemberInput {
        handle: h.into(),
        display_name: format!("{h} the member"),
    }
}

fn grant(h: &str, amount: i64) -> GrantCreditsInput {
    GrantCreditsInput {
        handle: h.into(),
        amount,
        reason: "welcome".into(),
    }
}

fn launch(title: &str, reward: i64) -> LaunchJobInput {
    LaunchJobInput {
        title: title.into(),
        description: "details".into(),
        reward,
    }
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
        t.register_member(&cmd(&admin, 1), register("alice"))
    );
    step!(
        "sign up bob",
        t.register_member(&cmd(&anon, 2), register("bob"))
    );
    step!(
        "register carol",
        t.register_member(&cmd(&admin, 3), register("carol"))
    );
    step!(
        "register bad handle",
        t.register_member(&cmd(&admin, 4), register("X"))
    );
    step!(
        "register taken",
        t.register_member(&cmd(&admin, 5), register("alice"))
    );
    step!(
        "grant alice",
        t.grant_credits(&cmd(&admin, 10), grant("alice", 100))
    );
    step!(
        "grant again (same id)",
        t.grant_credits(&cmd(&admin, 10), grant("alice", 100))
    );
    step!(
        "grant id reused",
        t.grant_credits(&cmd(&admin, 10), grant("alice", 7))
    );
    step!(
        "grant anonymous",
        t.grant_credits(&cmd(&anon, 11), grant("alice", 5))
    );
    step!(
        "grant ghost",
        t.grant_credits(&cmd(&admin, 12), grant("ghost", 5))
    );
    step!(
        "grant zero",
        t.grant_credits(&cmd(&admin, 13), grant("alice", 0))
    );
    step!(
        "grant huge",
        t.grant_credits(&cmd(&admin, 14), grant("alice", i64::MAX))
    );
    step!(
        "launch j1",
        t.launch_job(&cmd(&alice, 20), launch("Logo", 30))
    );
    step!(
        "launch j2",
        t.launch_job(&cmd(&alice, 21), launch("Flyer", 10))
    );
    step!(
        "launch too dear",
        t.launch_job(&cmd(&alice, 22), launch("Castle", 1000))
    );
    step!(
        "launch anonymous",
        t.launch_job(&cmd(&anon, 23), launch("Nope", 1))
    );
    step!(
        "launch as admin",
        t.launch_job(&cmd(&admin, 24), launch("Nope", 1))
    );
    step!(
        "launch untitled",
        t.launch_job(&cmd(&alice, 25), launch(" ", 1))
    );
    step!(
        "grant as member",
        t.grant_credits(&cmd(&bob, 26), grant("bob", 5))
    );
    let j1 = cmd(&alice, 20).command_id.unwrap().to_string();
    let j2 = cmd(&alice, 21).command_id.unwrap().to_string();
    step!(
        "register as member",
        t.register_member(&cmd(&alice, 27), register("dave"))
    );
    step!("bob applies", t.apply(&cmd(&bob, 30), &j1, "I draw well"));
    step!(
        "alice applies to her own",
        t.apply(&cmd(&alice, 31), &j1, "me")
    );
    step!(
        "bob applies again",
        t.apply(&cmd(&bob, 32), &j1, "me again")
    );
    step!(
        "apply unknown job",
        t.apply(&cmd(&bob, 33), "no-such-job", "hi")
    );
    step!("apply bad job id", t.apply(&cmd(&bob, 34), "Bad/Id", "hi"));
    step!("carol applies", t.apply(&cmd(&carol, 35), &j1, "pick me"));
    step!(
        "carol withdraws",
        t.withdraw_application(&cmd(&carol, 36), &j1)
    );
    step!(
        "carol withdraws again",
        t.withdraw_application(&cmd(&carol, 37), &j1)
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
        t.accept_applicant(&cmd(&bob, 40), &j1, "bob")
    );
    step!(
        "accept not applied",
        t.accept_applicant(&cmd(&alice, 41), &j1, "carol")
    );
    step!(
        "alice accepts bob",
        t.accept_applicant(&cmd(&alice, 42), &j1, "bob")
    );
    step!(
        "bob withdraws accepted",
        t.withdraw_application(&cmd(&bob, 43), &j1)
    );
    step!(
        "cancel in progress",
        t.cancel_job(&cmd(&alice, 44), &j1, "changed my mind")
    );
    step!("complete j1", t.complete_job(&cmd(&alice, 45), &j1));
    step!("complete again", t.complete_job(&cmd(&alice, 46), &j1));
    step!(
        "bob cancels j2",
        t.cancel_job(&cmd(&bob, 50), &j2, "mine now")
    );
    step!(
        "alice cancels j2",
        t.cancel_job(&cmd(&alice, 51), &j2, "no budget")
    );
    step!("cancel again", t.cancel_job(&cmd(&alice, 52), &j2, ""));
    step!("complete open job", t.complete_job(&cmd(&alice, 53), &j2));
    step!("wallet alice", t.wallet(&read(&alice), "alice"));
    step!("wallet bob", t.wallet(&read(&bob), "bob"));
    step!("wallet alice by bob", t.wallet(&read(&bob), "alice"));
    step!("wallet by admin", t.wallet(&read(&admin), "bob"));
    step!("wallet anonymous", t.wallet(&read(&anon), "bob"));
    step!("wallet ghost", t.wallet(&read(&admin), "ghost"));
    step!("wallet bad handle", t.wallet(&read(&admin), "No Way"));
    step!(
        "launch j3",
        t.launch_job(&cmd(&alice, 60), launch("Poster", 5))
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
        t.state_as_of(&read(&alice), &alice_ref, AsOf::Version(2))
    );
    step!(
        "state alice v99",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::Version(99))
    );
    let past = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let future = Utc.with_ymd_and_hms(2999, 1, 1, 0, 0, 0).unwrap();
    step!(
        "state alice in 2000",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::Time(past))
    );
    step!(
        "state alice now",
        t.state_as_of(&read(&alice), &alice_ref, AsOf::Time(future))
    );
    step!(
        "state j1 v1",
        t.state_as_of(&read(&admin), &j1_ref, AsOf::Version(1))
    );
    step!(
        "state j1 by bob",
        t.state_as_of(&read(&bob), &j1_ref, AsOf::Version(1))
    );
    step!("feed first page", t.feed(&read(&admin), 0, 5));
    step!("feed the rest", t.feed(&read(&admin), 5, 1000));
    step!("feed by bob", t.feed(&read(&bob), 0, 10));
    step!("feed anonymous", t.feed(&read(&anon), 0, 10));
    out
}

async fn over_http() -> (tally_http::testing::Server, HttpTally) {
    let (svc, _) = tally_memory::service();
    let accounts = Arc::new(MemoryAccounts::new());
    let password = "round trip admin password";
    bootstrap_admin(accounts.as_ref(), Some(password), PasswordCost::Minimal)
        .await
        .unwrap();
    let config = HttpConfig {
        password_cost: PasswordCost::Minimal,
        ..HttpConfig::default()
    };
    let state = AppState::new(Arc::new(svc), accounts).with_config(config);
    let server = tally_http::testing::spawn(state).await.unwrap();
    let url = server.url();
    let admin = log_in(&url, "admin", password).await.unwrap();
    let tokens = Arc::new(ProvisioningTokens::new(&url, admin).unwrap());
    let client = HttpTally::new(&url, tokens).unwrap();
    (server, client)
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
    http.register_member(&admin, register("erin"))
        .await
        .unwrap();
    let erin = Ctx::new(Actor::member("erin"));
    let first = http.wallet(&erin, "erin").await.unwrap();
    let second = http.wallet(&erin, "erin").await.unwrap();
    assert_eq!(first, second);
    let stranger = Ctx::new(Actor::member("ghost"));
    let err = http.wallet(&stranger, "ghost").await.unwrap_err();
    assert_eq!(err.code(), "unknown_member");
    drop(server);
}
