//! The JSON API's lists: jobs (filters, cursors in `next`/`prev` links, a count) and a
//! wallet's statement (a `next` link), and what they refuse.

mod common;

use common::{App, assert_problem};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn jobs_are_paged_by_links_with_a_count_and_bad_queries_are_named() {
    let app = App::start().await;
    let alice = app.member("alice", 1000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.job(&alice, 10).await);
    }
    let first = app.get("/api/v1/jobs?limit=2", None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["total"], 5);
    assert_eq!(first.body["total_exact"], true);
    let got = |b: &serde_json::Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(got(&first.body), vec![ids[4].clone(), ids[3].clone()]);
    assert!(first.body["_links"]["prev"].is_null());
    let next = first.body["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.get(&next, None).await;
    assert_eq!(got(&second.body), vec![ids[2].clone(), ids[1].clone()]);
    let prev = second.body["_links"]["prev"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(got(&app.get(&prev, None).await.body), got(&first.body));
    let cases = [
        ("/api/v1/jobs?status=closed", 422, "invalid_query"),
        ("/api/v1/jobs?limit=0", 422, "invalid_query"),
        ("/api/v1/jobs?before=x&after=y", 422, "conflicting_query"),
        ("/api/v1/jobs?before=Not%20an%20id", 422, "invalid_job_id"),
        (
            "/api/v1/jobs?min_reward=5&max_reward=1",
            422,
            "invalid_range",
        ),
        (
            "/api/v1/jobs?min_reward=9223372036854775808",
            422,
            "invalid_query",
        ),
        ("/api/v1/jobs?applicant=alice", 401, "unauthorized"),
        ("/api/v1/jobs?status=all", 401, "unauthorized"),
    ];
    for (path, status, code) in cases {
        let a = app.get(path, None).await;
        assert_problem(&a, status, code);
    }
    let bob = app.member("bob", 0).await;
    assert_problem(
        &app.get("/api/v1/jobs?applicant=alice", Some(&bob)).await,
        403,
        "admin_only",
    );
    let mine = app
        .get("/api/v1/jobs?owner=alice&status=all", Some(&alice))
        .await;
    assert_eq!(mine.body["total"], 5, "{}", mine.body);
}

#[tokio::test]
async fn a_statement_pages_by_a_next_link_and_refuses_others() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    for _ in 0..3 {
        app.job(&alice, 10).await;
    }
    let a = app
        .get("/api/v1/members/alice/statement?limit=2", Some(&alice))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["total"], 4);
    assert_eq!(a.body["balance"], 70);
    let lines = a.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["kind"], "escrowed");
    assert_eq!(lines[0]["change"], -10);
    assert_eq!(lines[0]["balance"], 70);
    assert_eq!(lines[0]["job_title"], "Paint the fence");
    let next = a.body["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.get(&next, Some(&alice)).await;
    let kinds: Vec<&str> = b.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["escrowed", "granted"]);
    assert!(b.body["_links"]["next"].is_null());
    let grants = app
        .get("/api/v1/members/alice/statement?kind=granted", Some(&alice))
        .await;
    assert_eq!(grants.body["total"], 1);
    let bob = app.member("bob", 0).await;
    assert_problem(
        &app.get("/api/v1/members/alice/statement", Some(&bob)).await,
        403,
        "not_your_wallet",
    );
    assert_problem(
        &app.get("/api/v1/members/alice/statement?kind=gift", Some(&alice))
            .await,
        422,
        "invalid_query",
    );
    assert_problem(
        &app.get(
            "/api/v1/members/alice/statement?from=yesterday",
            Some(&alice),
        )
        .await,
        422,
        "invalid_query",
    );
    // Numbers sent empty are not absent (schemathesis: ST201).
    for q in ["before=", "limit=", "before=%20"] {
        assert_problem(
            &app.get(
                &format!("/api/v1/members/alice/statement?{q}"),
                Some(&alice),
            )
            .await,
            422,
            "invalid_query",
        );
    }
    let _ = json!({});
}
