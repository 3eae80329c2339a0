//! Helpers shared by the behaviour tests.

use sqlx::{PgPool, Row};
use std::collections::HashMap;
use tally_contract::inputs;
use tally_ports::{Actor, Ctx, Tally, TallyService};
use uuid::Uuid;

pub fn admin() -> Ctx {
    Ctx::new(Actor::admin("root"))
}

pub fn member(h: &str) -> Ctx {
    Ctx::new(Actor::member(h))
}

pub async fn register(svc: &TallyService, handle: &str, credits: i64) {
    svc.execute(&admin(), inputs::register(handle, handle))
        .await
        .expect("register");
    if credits > 0 {
        grant(svc, handle, credits).await.expect("grant");
    }
}

pub async fn grant(
    svc: &TallyService,
    handle: &str,
    amount: i64,
) -> tally_ports::Result<tally_ports::Receipt> {
    svc.execute(&admin(), inputs::grant(handle, amount, "test"))
        .await
}

pub async fn launch(
    svc: &TallyService,
    owner: &str,
    title: &str,
    reward: i64,
) -> tally_ports::Result<tally_ports::Receipt> {
    svc.execute(&member(owner), inputs::launch(title, reward))
        .await
}

/// How many events each command recorded.
pub async fn events_per_command(pool: &PgPool) -> HashMap<Uuid, i64> {
    sqlx::query("SELECT command_id, count(*) FROM events GROUP BY command_id")
        .fetch_all(pool)
        .await
        .expect("count")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Replays every wallet from the raw events with signed arithmetic: fails if a balance ever
/// went below zero, and checks the conservation law: credits granted = balances + rewards
/// of open and in-progress jobs. Returns (granted, balances, escrowed by live jobs).
pub async fn check_the_books(pool: &PgPool) -> (i64, i64, i64) {
    let rows = sqlx::query(
        "SELECT stream, event_type, coalesce((payload->>'amount')::bigint,
                                             (payload->>'reward')::bigint, 0)
         FROM events ORDER BY stream, version",
    )
    .fetch_all(pool)
    .await
    .expect("events");
    let mut balances: HashMap<String, i64> = HashMap::new();
    let mut live_jobs: HashMap<String, i64> = HashMap::new();
    let mut granted = 0;
    for r in &rows {
        let (stream, t, amount): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        let b = balances.entry(stream.clone()).or_default();
        match t.as_str() {
            "CreditsGranted" => {
                granted += amount;
                *b += amount;
            }
            "CreditsEscrowed" => *b -= amount,
            "CreditsEarned" | "CreditsRefunded" => *b += amount,
            "JobLaunched" => {
                live_jobs.insert(stream.clone(), amount);
            }
            "JobCompleted" | "JobCancelled" => {
                live_jobs.remove(&stream);
            }
            _ => {}
        }
        assert!(*b >= 0, "{stream} went negative: {b}");
    }
    let balance: i64 = balances
        .iter()
        .filter(|(s, _)| s.starts_with("member:"))
        .map(|(_, b)| b)
        .sum();
    let escrowed: i64 = live_jobs.values().sum();
    assert_eq!(
        granted,
        balance + escrowed,
        "conservation: granted = balances + escrow of live jobs"
    );
    (granted, balance, escrowed)
}

/// Launch commands are all or nothing: every JobLaunched has its CreditsEscrowed (same
/// command id) and the other way round.
pub async fn check_launches_are_whole(pool: &PgPool) -> i64 {
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
             SELECT command_id,
                    count(*) FILTER (WHERE event_type = 'JobLaunched') AS launched,
                    count(*) FILTER (WHERE event_type = 'CreditsEscrowed') AS escrowed
             FROM events GROUP BY command_id) c
         WHERE launched <> escrowed",
    )
    .fetch_one(pool)
    .await
    .expect("launches");
    assert_eq!(broken, 0, "a launch was half-recorded");
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'JobLaunched'")
        .fetch_one(pool)
        .await
        .expect("count")
}
