//! Who may do what over HTTP: credentials, sessions, tokens, accounts, request ids.

mod common;

use common::{App, answer, assert_problem, client};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn calls_without_credentials_are_unauthorized() {
    let app = App::start().await;
    let _ = app.member("alice", 100).await;
    let job = app
        .job(&app.log_in("alice", "alice-password").await, 10)
        .await;
    for (m, p) in [
        (Method::GET, "/api/v1/members/alice/wallet".to_owned()),
        (Method::GET, "/api/v1/members".to_owned()),
        (Method::GET, "/api/v1/feed".to_owned()),
        (Method::GET, format!("/api/v1/jobs/{job}/owner-view")),
        (Method::GET, "/api/v1/jobs?applicant=alice".to_owned()),
        (
            Method::GET,
            "/api/v1/jobs?owner=alice&status=all".to_owned(),
        ),
        (Method::POST, format!("/api/v1/jobs/{job}/complete-job")),
        (Method::GET, "/api/v1/tokens".to_owned()),
    ] {
        let a = app.call(m.clone(), &p, None, None).await;
        assert_problem(&a, 401, "unauthorized");
        assert!(a.headers.contains_key("www-authenticate"), "{m} {p}");
    }
    let a = app
        .post("/api/v1/jobs", None, json!({"title": "x", "reward": 1}))
        .await;
    assert_problem(&a, 401, "unauthorized");
    // Anyone may read the job board, and a job's public details (no application).
    assert_eq!(app.get("/api/v1/jobs", None).await.status, StatusCode::OK);
    let public = app.get(&format!("/api/v1/jobs/{job}"), None).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert!(public.body["my_application"].is_null(), "{}", public.body);
    assert!(
        public.body["actions"].as_array().unwrap().is_empty(),
        "{}",
        public.body
    );
}

#[tokio::test]
async fn a_participant_cannot_see_the_owner_view_or_another_members_wallet() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 10).await;
    let a = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let before = app.feed().await.len();
    assert_problem(
        &app.get(&format!("/api/v1/jobs/{job}/owner-view"), Some(&bob))
            .await,
        403,
        "not_job_owner",
    );
    assert_problem(
        &app.get(&format!("/api/v1/jobs/{job}/history"), Some(&bob))
            .await,
        403,
        "not_job_owner",
    );
    assert_problem(
        &app.get("/api/v1/members/alice/wallet", Some(&bob)).await,
        403,
        "not_your_wallet",
    );
    assert_problem(
        &app.get("/api/v1/members/alice/history", Some(&bob)).await,
        403,
        "not_your_wallet",
    );
    assert_problem(
        &app.get("/api/v1/feed", Some(&bob)).await,
        403,
        "admin_only",
    );
    assert_problem(
        &app.post(
            "/api/v1/members/bob/grant-credits",
            Some(&bob),
            json!({"amount": 5}),
        )
        .await,
        403,
        "admin_only",
    );
    assert_problem(
        &app.call(
            Method::POST,
            &format!("/api/v1/jobs/{job}/cancel-job"),
            Some(&bob),
            Some(json!({})),
        )
        .await,
        403,
        "not_job_owner",
    );
    // The participant sees the job and only their own application.
    let v = app.get(&format!("/api/v1/jobs/{job}"), Some(&bob)).await;
    assert_eq!(v.body["my_application"]["pitch"], "me");
    assert!(v.body.get("applications").is_none());
    assert_eq!(app.feed().await.len(), before, "a refusal records nothing");
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized() {
    let app = App::start().await;
    let session = app.member("alice", 0).await;
    let a = app
        .post(
            "/api/v1/tokens",
            Some(&session),
            json!({"name": "ci", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let token = a.body["token"].as_str().unwrap().to_owned();
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tly_pat_"));
    assert_eq!(
        app.get("/api/v1/members/alice/wallet", Some(&token))
            .await
            .status,
        StatusCode::OK
    );

    let list = app.get("/api/v1/tokens", Some(&token)).await;
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert!(
        !list.body.to_string().contains(&token[8..]),
        "the secret is shown once only"
    );

    let a = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_problem(
        &app.get("/api/v1/members/alice/wallet", Some(&token)).await,
        401,
        "unauthorized",
    );
    // Even where anonymous callers are welcome, a bad credential is not silently ignored.
    assert_problem(
        &app.get("/api/v1/jobs", Some(&token)).await,
        401,
        "unauthorized",
    );
    let a = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&session),
            None,
        )
        .await;
    assert_problem(&a, 404, "unknown_token");
}

#[tokio::test]
async fn unknown_and_malformed_credentials_are_unauthorized() {
    let app = App::start().await;
    for t in ["tly_pat_00", "tly_ses_00", "garbage", ""] {
        assert_problem(
            &app.get("/api/v1/members", Some(t)).await,
            401,
            "unauthorized",
        );
    }
    let a = answer(
        app.client
            .get(app.url("/api/v1/members"))
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&a, 401, "unauthorized");
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_without_saying_which_part_was_wrong() {
    let app = App::start().await;
    let _ = app.member("alice", 0).await;
    let wrong = app
        .post(
            "/api/v1/session",
            None,
            json!({"name": "alice", "password": "nope-nope"}),
        )
        .await;
    let nobody = app
        .post(
            "/api/v1/session",
            None,
            json!({"name": "zed", "password": "nope-nope"}),
        )
        .await;
    assert_problem(&wrong, 401, "unauthorized");
    assert_eq!(wrong.body["detail"], nobody.body["detail"]);
}

#[tokio::test]
async fn a_session_cookie_signs_in_until_logging_out() {
    let app = App::start().await;
    let _ = app.member("alice", 0).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = browser
        .post(app.url("/api/v1/session"))
        .json(&json!({"name": "alice", "password": "alice-password"}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tally_session=tly_ses_"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let wallet = |c: &reqwest::Client| c.get(app.url("/api/v1/members/alice/wallet")).send();
    assert_eq!(wallet(&browser).await.unwrap().status(), StatusCode::OK);
    let who = answer(
        browser
            .get(app.url("/api/v1/session"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(who.body["actor"], "member:alice");
    // A browser says where a change comes from (and a cookie-authenticated one must come
    // from this site).
    let out = browser
        .delete(app.url("/api/v1/session"))
        .header("origin", app.server.url())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        wallet(&browser).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // A stale cookie is simply signed out: public resources still answer.
    let stale = app
        .client
        .get(app.url("/api/v1/jobs"))
        .header("cookie", "tally_session=tly_ses_stale")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    // The old session token is dead too, not just the cookie.
    let old = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("tally_session=");
    assert_problem(
        &app.get("/api/v1/members/alice/wallet", Some(old)).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn signing_up_registers_the_member_and_signs_them_in() {
    let app = App::start().await;
    let a = app
        .post(
            "/api/v1/signup",
            None,
            json!({"handle": "carol", "display_name": "Carol", "password": "carol-password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let token = a.body["session"]["token"].as_str().unwrap();
    let w = app.get("/api/v1/members/carol/wallet", Some(token)).await;
    assert_eq!(w.body["display_name"], "Carol");
    let events = app.feed().await;
    assert_eq!(events.last().unwrap()["actor"], "anonymous");
    // The same handle cannot sign up twice, and a short password records nothing.
    let again = app
        .post(
            "/api/v1/signup",
            None,
            json!({"handle": "carol", "display_name": "C", "password": "another-password"}),
        )
        .await;
    assert_problem(&again, 422, "handle_taken");
    let short = app
        .post(
            "/api/v1/signup",
            None,
            json!({"handle": "dave", "display_name": "D", "password": "short"}),
        )
        .await;
    assert_problem(&short, 400, "invalid_password");
    assert_eq!(app.feed().await.len(), events.len());
}

#[tokio::test]
async fn only_admins_create_accounts_and_only_for_registered_members() {
    let app = App::start().await;
    let alice = app.member("alice", 0).await;
    let body = json!({"name": "alice", "password": "another-password"});
    assert_problem(
        &app.post("/api/v1/accounts", None, body.clone()).await,
        401,
        "unauthorized",
    );
    assert_problem(
        &app.post("/api/v1/accounts", Some(&alice), body.clone())
            .await,
        403,
        "admin_only",
    );
    assert_problem(
        &app.post("/api/v1/accounts", Some(&app.admin), body).await,
        409,
        "account_exists",
    );
    let ghost = json!({"name": "ghost", "password": "ghost-password"});
    assert_problem(
        &app.post("/api/v1/accounts", Some(&app.admin), ghost).await,
        404,
        "unknown_member",
    );
    let admin2 = json!({"name": "root", "password": "root-password", "role": "admin"});
    assert_eq!(
        app.post("/api/v1/accounts", Some(&app.admin), admin2)
            .await
            .status,
        StatusCode::CREATED
    );
    let root = app.log_in("root", "root-password").await;
    assert_eq!(
        app.get("/api/v1/members", Some(&root)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_idempotency_key_makes_a_repeated_command_record_nothing_new() {
    let app = App::start().await;
    let _ = app.member("alice", 0).await;
    let key = uuid::Uuid::now_v7().to_string();
    let grant = || {
        app.client
            .post(app.url("/api/v1/members/alice/grant-credits"))
            .bearer_auth(&app.admin)
            .header("idempotency-key", &key)
            .json(&json!({"amount": 5}))
            .send()
    };
    let first = answer(grant().await.unwrap()).await;
    let n = app.feed().await.len();
    let second = answer(grant().await.unwrap()).await;
    assert_eq!(first.body["command_id"], key.as_str());
    assert_eq!(first.body["events"], second.body["events"]);
    assert_eq!(app.feed().await.len(), n);
    let bad = answer(
        app.client
            .post(app.url("/api/v1/members/alice/grant-credits"))
            .bearer_auth(&app.admin)
            .header("idempotency-key", "not-a-uuid")
            .json(&json!({"amount": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&bad, 400, "invalid_header");
    assert_eq!(app.feed().await.len(), n);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = App::start().await;
    let c = client();
    let a = c.get(app.url("/health/live")).send().await.unwrap();
    let id = a.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let b = c
        .get(app.url("/nowhere"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(b.headers()["x-request-id"], "trace-me-42");
    assert_problem(&answer(b).await, 404, "no_route");
    let r = app.get("/health/ready", None).await;
    assert_eq!(r.body["status"], "ok");
}

struct Down;

#[async_trait::async_trait]
impl tally_http::Readiness for Down {
    async fn ready(&self) -> tally_ports::Result<()> {
        Err(tally_ports::Error::infrastructure(
            "db at 10.0.0.7:5432: password authentication failed",
        ))
    }
}

#[tokio::test]
async fn an_internal_error_is_an_opaque_problem() {
    let (svc, _) = tally_memory::service();
    let mut state = tally_http::AppState::new(
        std::sync::Arc::new(svc),
        std::sync::Arc::new(tally_memory::MemoryAccounts::new()),
    );
    state.readiness = std::sync::Arc::new(Down);
    let server = tally_http::testing::spawn(state).await.unwrap();
    let a = answer(
        client()
            .get(format!("{}/health/ready", server.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&a, 500, "internal");
    let text = a.body.to_string();
    assert!(
        !text.contains("10.0.0.7") && !text.contains("password"),
        "{text}"
    );
    server.shutdown().await.unwrap();
}
