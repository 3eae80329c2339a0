//! Bad input over HTTP: every refusal is a problem with a reason, and records nothing.

mod common;

use common::{App, answer, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Sends a raw body with a content type.
async fn raw(
    app: &App,
    path: &str,
    token: &str,
    ct: &str,
    body: impl Into<reqwest::Body>,
) -> common::Answer {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// (path, token, body, status, code, field)
type Case<'a> = (&'a str, &'a str, &'a str, u16, &'a str, Option<&'a str>);

#[tokio::test]
async fn rejected_requests_answer_with_a_problem_and_record_nothing() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let admin = app.admin.clone();
    let grant = "/api/v1/members/alice/grant-credits";
    let json_cases: Vec<Case> = vec![
        // (path, token, body, status, code, field)
        (
            grant,
            &admin,
            r#"{"amount": 5"#,
            400,
            "malformed_json",
            Some("body"),
        ),
        (
            grant,
            &admin,
            "not json at all",
            400,
            "malformed_json",
            Some("body"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 5} trailing"#,
            400,
            "malformed_json",
            Some("body"),
        ),
        (grant, &admin, "", 400, "malformed_json", Some("body")),
        (grant, &admin, "[5]", 400, "invalid_body", Some("body")),
        (grant, &admin, "5", 400, "invalid_body", Some("body")),
        (
            grant,
            &admin,
            r#"{"amount": "5"}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 5.5}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": null}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 5, "reason": 7}"#,
            400,
            "invalid_field",
            Some("reason"),
        ),
        (grant, &admin, "{}", 400, "missing_field", Some("amount")),
        (
            grant,
            &admin,
            r#"{"amount": 5, "handle": "bob"}"#,
            400,
            "unknown_field",
            Some("handle"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": -5}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 0}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 1000001}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 9223372036854775807}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": -9223372036854775808}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 9223372036854775808}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 100000000000000000000000}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
        (
            grant,
            &admin,
            r#"{"amount": 5, "reason": "a\u0007b"}"#,
            400,
            "invalid_reason",
            Some("reason"),
        ),
        (
            "/api/v1/members/ghost/grant-credits",
            &admin,
            r#"{"amount": 5}"#,
            404,
            "unknown_member",
            None,
        ),
        (
            "/api/v1/members/Not%20Valid/grant-credits",
            &admin,
            r#"{"amount": 5}"#,
            400,
            "invalid_handle",
            Some("handle"),
        ),
        (
            "/api/v1/members",
            &admin,
            r#"{"handle": "x", "display_name": "X"}"#,
            400,
            "invalid_handle",
            Some("handle"),
        ),
        (
            "/api/v1/members",
            &admin,
            r#"{"handle": "alice", "display_name": "A"}"#,
            422,
            "handle_taken",
            None,
        ),
        (
            "/api/v1/members",
            &admin,
            r#"{"handle": "bob", "display_name": ""}"#,
            400,
            "invalid_display_name",
            Some("display_name"),
        ),
        (
            "/api/v1/jobs",
            &alice,
            r#"{"title": "", "reward": 5}"#,
            400,
            "invalid_title",
            Some("title"),
        ),
        (
            "/api/v1/jobs",
            &alice,
            r#"{"title": "T", "reward": -1}"#,
            400,
            "invalid_reward",
            Some("reward"),
        ),
        (
            "/api/v1/jobs",
            &alice,
            r#"{"title": "T", "reward": 101}"#,
            422,
            "insufficient_credits",
            None,
        ),
        (
            "/api/v1/jobs",
            &alice,
            r#"{"title": "T", "reward": 1.5e-3}"#,
            400,
            "invalid_field",
            Some("reward"),
        ),
        (
            "/api/v1/jobs",
            &admin,
            r#"{"title": "T", "reward": 5}"#,
            403,
            "members_only",
            None,
        ),
        (
            "/api/v1/jobs/no-such-job/apply",
            &alice,
            r#"{"pitch": "p"}"#,
            404,
            "unknown_job",
            None,
        ),
        (
            "/api/v1/jobs/BAD_ID/apply",
            &alice,
            r#"{"pitch": "p"}"#,
            400,
            "invalid_job_id",
            Some("job"),
        ),
        (
            "/api/v1/session",
            "",
            r#"{"name": "alice"}"#,
            400,
            "missing_field",
            Some("password"),
        ),
        (
            "/api/v1/tokens",
            &alice,
            r#"{"name": ""}"#,
            400,
            "invalid_token_name",
            Some("name"),
        ),
        (
            "/api/v1/tokens",
            &alice,
            r#"{"name": "x", "expires_in_days": -1}"#,
            400,
            "invalid_expiry",
            Some("expires_in_days"),
        ),
        (
            "/api/v1/tokens",
            &alice,
            r#"{"name": "x", "expires_in_days": 2.5}"#,
            400,
            "invalid_field",
            Some("expires_in_days"),
        ),
        (
            "/api/v1/members/alice/grant-credits",
            &admin,
            r#"{"amount": 2.5, "reason": "half"}"#,
            400,
            "invalid_field",
            Some("amount"),
        ),
    ];
    let before = app.feed().await;
    for (path, token, body, status, code, field) in json_cases {
        let a = raw(&app, path, token, "application/json", body.to_owned()).await;
        assert_eq!(a.status.as_u16(), status, "{path} {body}: {}", a.body);
        assert_problem(&a, status, code);
        assert_eq!(a.body["field"].as_str(), field, "{path} {body}: {}", a.body);
        assert!(!a.body["detail"].as_str().unwrap().is_empty());
        assert_eq!(app.feed().await, before, "{path} {body} recorded something");
    }
    // Not JSON at all.
    let a = raw(&app, grant, &admin, "text/plain", r#"{"amount": 5}"#).await;
    assert_problem(&a, 415, "unsupported_media_type");
    // Query and path parameters.
    for (path, code) in [
        ("/api/v1/feed?after=-1", "invalid_query"),
        ("/api/v1/jobs?limit=lots", "invalid_query"),
        ("/api/v1/members/alice/state?at=yesterday", "invalid_query"),
    ] {
        assert_problem(&app.get(path, Some(&admin)).await, 400, code);
    }
    let a = app
        .get("/api/v1/members/alice/state?version=99", Some(&admin))
        .await;
    assert_problem(&a, 404, "no_such_version");
    // Neither bound is the latest; both are the stricter of the two.
    let latest = app.get("/api/v1/members/alice/state", Some(&admin)).await;
    assert_eq!(latest.status.as_u16(), 200, "{}", latest.body);
    assert_eq!(latest.body["version"], latest.body["latest_version"]);
    let far = "2999-01-01T00:00:00Z";
    let both = app
        .get(
            &format!("/api/v1/members/alice/state?version=1&at={far}"),
            Some(&admin),
        )
        .await;
    assert_eq!(both.body["version"], 1, "{}", both.body);
    let a = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/tokens/not-a-uuid",
            Some(&alice),
            None,
        )
        .await;
    assert_problem(&a, 400, "invalid_path");
    let a = app
        .call(reqwest::Method::PATCH, "/api/v1/jobs", Some(&alice), None)
        .await;
    assert_problem(&a, 405, "method_not_allowed");
    assert_eq!(app.feed().await, before);
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_with_413_and_records_nothing() {
    let app = App::start().await;
    let _ = app.member("alice", 0).await;
    let before = app.feed().await;
    let reason = "x".repeat(10 * 1024 * 1024);
    let body = json!({"amount": 5, "reason": reason}).to_string();
    let a = raw(
        &app,
        "/api/v1/members/alice/grant-credits",
        &app.admin,
        "application/json",
        body,
    )
    .await;
    assert_problem(&a, 413, "body_too_large");
    // Just over the limit, streamed without a length, is refused too.
    let body = format!(r#"{{"amount": 5, "reason": "{}"}}"#, "y".repeat(64 * 1024));
    let stream = futures_stream(body);
    let a = raw(
        &app,
        "/api/v1/members/alice/grant-credits",
        &app.admin,
        "application/json",
        stream,
    )
    .await;
    assert_problem(&a, 413, "body_too_large");
    assert_eq!(app.feed().await, before);
}

/// A body of unknown length (chunked).
fn futures_stream(s: String) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = s
        .into_bytes()
        .chunks(4096)
        .map(|c| Ok(c.to_vec()))
        .collect();
    reqwest::Body::wrap_stream(tokio_stream_iter(chunks))
}

fn tokio_stream_iter(
    v: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static {
    futures_util::stream::iter(v)
}

#[tokio::test]
async fn sql_and_html_payloads_are_stored_verbatim_and_come_back_intact() {
    let app = App::start().await;
    let sql = "'; DROP TABLE events; --";
    let html = "<script>alert(1)</script>";
    let a = app
        .post(
            "/api/v1/members",
            Some(&app.admin),
            json!({"handle": "mallory", "display_name": sql}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let g = app
        .post(
            "/api/v1/members/mallory/grant-credits",
            Some(&app.admin),
            json!({"amount": 50, "reason": html}),
        )
        .await;
    assert_eq!(g.status, StatusCode::OK);
    let pw = json!({"name": "mallory", "password": "mallory-password"});
    assert_eq!(
        app.post("/api/v1/accounts", Some(&app.admin), pw)
            .await
            .status,
        StatusCode::CREATED
    );
    let mallory = app.log_in("mallory", "mallory-password").await;
    let bob = app.member("bob", 0).await;
    let launch = json!({"title": html, "description": format!("{sql}\n{html}"), "reward": 10});
    let l = app.post("/api/v1/jobs", Some(&mallory), launch).await;
    assert_eq!(l.status, StatusCode::CREATED, "{}", l.body);
    let job = l.body["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("job:")
        .to_owned();
    let p = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": sql}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);

    let w = app
        .get("/api/v1/members/mallory/wallet", Some(&mallory))
        .await;
    assert_eq!(w.headers["content-type"], "application/json");
    assert_eq!(w.body["display_name"], sql);
    let granted = w.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "CreditsGranted");
    assert_eq!(granted.unwrap()["payload"]["reason"], html);
    let v = app
        .get(&format!("/api/v1/jobs/{job}/owner-view"), Some(&mallory))
        .await;
    assert_eq!(v.body["job"]["title"], html);
    assert_eq!(
        v.body["job"]["description"],
        Value::from(format!("{sql}\n{html}"))
    );
    assert_eq!(v.body["applications"][0]["pitch"], sql);
    let board = app.get("/api/v1/jobs", None).await;
    assert_eq!(board.body["items"][0]["title"], html);
    // The store still works: nothing was dropped.
    assert!(app.feed().await.len() >= 6);
}

/// JSON Schema counts `5.0` as an integer, so a whole number written with a zero fraction is
/// accepted wherever a whole number is asked for; `null` is "no expiry", as documented.
#[tokio::test]
async fn whole_numbers_may_have_a_zero_fraction() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let a = app
        .post(
            "/api/v1/members/alice/grant-credits",
            Some(&app.admin),
            json!({"amount": 5.0, "reason": "five"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let w = app.get("/api/v1/members/alice/wallet", Some(&alice)).await;
    assert_eq!(w.body["balance"], 105, "{}", w.body);
    for (days, expiry) in [(json!(30.0), true), (Value::Null, false)] {
        let t = app
            .post(
                "/api/v1/tokens",
                Some(&alice),
                json!({"name": "ci", "expires_in_days": days}),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        assert_eq!(!t.body["expires_at"].is_null(), expiry, "{}", t.body);
    }
}
