//! Regression tests for the defects a black-box review found (see the README's security
//! section): each failed before its fix.

mod common;
mod web;

use common::{App, answer, assert_problem};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use tally_http::HttpConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use web::Browser;

/// A NUL byte (which PostgreSQL refuses in text) or a number beyond its `bigint` never reaches
/// a query: every name, key and number is parsed into its domain range first. On both
/// storages, each is a 4xx problem, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_and_huge_numbers_are_refused_before_they_reach_storage() {
    for app in App::each().await {
        let _alice = app.member("alice", 10).await;
        let before = app.feed().await;
        let log_in = app
            .post(
                "/api/v1/session",
                None,
                json!({"name": "adm\u{0}in", "password": "whatever1"}),
            )
            .await;
        assert_problem(&log_in, 401, "unauthorized");
        let sign_up = app
            .post(
                "/api/v1/signup",
                None,
                json!({"handle": "ev\u{0}e", "display_name": "Eve", "password": "long enough"}),
            )
            .await;
        assert_problem(&sign_up, 400, "invalid_handle");
        let account = app
            .post(
                "/api/v1/accounts",
                Some(&app.admin),
                json!({"name": "ro\u{0}ot", "password": "long enough", "role": "admin"}),
            )
            .await;
        assert_problem(&account, 400, "invalid_name");
        let title = app
            .post(
                "/api/v1/members",
                Some(&app.admin),
                json!({"handle": "bob", "display_name": "B\u{0}b"}),
            )
            .await;
        assert_problem(&title, 400, "invalid_display_name");
        for (path, code) in [
            ("/api/v1/feed?after=9223372036854775808", "invalid_query"),
            ("/api/v1/feed?limit=99999999999999999999", "invalid_query"),
            (
                "/api/v1/members/alice/state?version=9223372036854775808",
                "invalid_query",
            ),
            (
                "/api/v1/members/alice/state?at=-10000-01-01T00:00:00Z",
                "invalid_query",
            ),
            ("/api/v1/members/al%00ice/wallet", "invalid_handle"),
            ("/api/v1/jobs/j%00b", "invalid_job_id"),
        ] {
            let a = app.get(path, Some(&app.admin)).await;
            assert_problem(&a, 400, code);
        }
        // The pages' forms, too.
        let b = Browser::new(&app);
        let page = b
            .submit(
                "/login",
                "/login",
                &[("name", "adm\u{0}in"), ("password", "whatever1")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
        let page = b
            .submit(
                "/signup",
                "/signup",
                &[
                    ("handle", "ev\u{0}e"),
                    ("display_name", "Eve"),
                    ("password", "long enough"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
        assert_eq!(app.feed().await, before, "a refusal recorded something");
    }
}

/// Sends `head` and then `body`, and reads what the server answers (until it closes, or for
/// at most `wait`).
async fn raw_exchange(app: &App, head: &str, body: &[u8], wait: Duration) -> String {
    let mut s = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// A body declared larger than the limit is refused before any of it is read, with a problem;
/// before, the server waited for the body until the request timed out.
#[tokio::test]
async fn a_declared_oversized_body_is_refused_at_once_with_a_problem() {
    let app = App::start_with(HttpConfig {
        request_timeout: Duration::from_secs(300),
        ..HttpConfig::default()
    })
    .await;
    let head = format!(
        "POST /api/v1/members/alice/grant-credits HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n",
        app.server.addr, app.admin
    );
    // Far less than the request timeout: an answer within it can only be the refusal.
    let got = raw_exchange(&app, &head, br#"{"amount": 5"#, Duration::from_secs(60)).await;
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(got.contains("application/problem+json"), "{got}");
    assert!(got.contains("\"code\":\"body_too_large\""), "{got}");
}

/// A request that takes too long is answered with a problem (it was an empty 408).
#[tokio::test]
async fn a_request_that_times_out_is_answered_with_a_problem() {
    let app = App::start_with(HttpConfig {
        request_timeout: Duration::from_secs(1),
        ..HttpConfig::default()
    })
    .await;
    let head = format!(
        "POST /api/v1/members/alice/grant-credits HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
        app.server.addr, app.admin
    );
    let got = raw_exchange(&app, &head, br#"{"amount": 5"#, Duration::from_secs(60)).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("application/problem+json"), "{got}");
    assert!(got.contains("\"code\":\"request_timeout\""), "{got}");
    assert!(got.contains("Idempotency-Key"), "{got}");
}

/// Headers sent, and the status and code expected.
type Attempt<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);

/// A change to the JSON API authenticated by the session cookie must come from this site:
/// a cross-site form post or fetch is refused, whatever its content type; bearer tokens are
/// not concerned.
#[tokio::test]
async fn cookie_authenticated_api_changes_must_come_from_this_site() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 30).await;
    let ok = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let accept = format!("/api/v1/jobs/{job}/accept-applicant");
    let ok = app
        .post(&accept, Some(&alice), json!({"participant": "bob"}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let complete = app.url(&format!("/api/v1/jobs/{job}/complete-job"));
    let cookie = format!(
        "tally_session={}",
        app.log_in("alice", "alice-password").await
    );
    let before = app.feed().await;
    let own = format!("http://{}", app.server.addr);
    let attempts: [Attempt; 5] = [
        (
            &[("origin", "http://evil.example")],
            403,
            "cross_site_request",
        ),
        (
            &[
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
            "cross_site_request",
        ),
        (
            &[("sec-fetch-site", "same-site")],
            403,
            "cross_site_request",
        ),
        // No sign of where it comes from.
        (&[], 403, "cross_site_request"),
        // From this site, but a form body: only JSON goes to the JSON API.
        (
            &[
                ("origin", own.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            415,
            "unsupported_media_type",
        ),
    ];
    for (headers, status, code) in attempts {
        let mut req = app.client.post(&complete).header("cookie", &cookie);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let a = answer(req.send().await.unwrap()).await;
        assert_problem(&a, status, code);
        assert_eq!(app.feed().await, before, "{headers:?} recorded something");
    }
    // From this site's pages: paid out.
    let a = answer(
        app.client
            .post(&complete)
            .header("cookie", &cookie)
            .header("origin", &own)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // A bearer token is sent on purpose: where the request comes from does not matter.
    let a = answer(
        app.client
            .post(app.url("/api/v1/members/bob/grant-credits"))
            .bearer_auth(&app.admin)
            .header("origin", "http://elsewhere.example")
            .json(&json!({"amount": 1, "reason": "script"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// Nobody registers a member without an account: anonymously, only by signing up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_caller_cannot_register_a_member() {
    for app in App::each().await {
        let before = app.feed().await;
        let a = app
            .post(
                "/api/v1/members",
                None,
                json!({"handle": "squatter", "display_name": "S"}),
            )
            .await;
        assert_problem(&a, 401, "unauthorized");
        assert_eq!(app.feed().await, before);
        // The handle is still free to sign up with.
        let a = app
            .post(
                "/api/v1/signup",
                None,
                json!({"handle": "squatter", "display_name": "S", "password": "long enough"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
}

/// Sign-up and log-in attempts are limited per client address (the API's and the pages').
#[tokio::test]
async fn sign_up_and_log_in_attempts_are_limited_per_address() {
    // The app's own admin log-in is the first of the 4.
    let app = App::start_with(HttpConfig {
        auth_attempts_per_minute: 4,
        ..HttpConfig::default()
    })
    .await;
    let wrong = json!({"name": "admin", "password": "not the password"});
    for _ in 0..2 {
        let a = app.post("/api/v1/session", None, wrong.clone()).await;
        assert_problem(&a, 401, "unauthorized");
    }
    let a = app
        .post(
            "/api/v1/signup",
            None,
            json!({"handle": "carol", "display_name": "C", "password": "long enough"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let before = app.feed().await;
    let limited = app
        .post(
            "/api/v1/signup",
            None,
            json!({"handle": "dave", "display_name": "D", "password": "long enough"}),
        )
        .await;
    assert_problem(&limited, 429, "too_many_attempts");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    assert_eq!(
        app.feed().await,
        before,
        "a limited sign-up recorded something"
    );
    // Even the right password waits, and so do the pages' forms.
    let right = json!({"name": "admin", "password": common::ADMIN_PASSWORD});
    assert_problem(
        &app.post("/api/v1/session", None, right).await,
        429,
        "too_many_attempts",
    );
    let b = Browser::new(&app);
    let page = b
        .submit("/login", "/login", &[("name", "admin"), ("password", "x")])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.html);
    // Everything else still answers.
    assert_eq!(app.get("/api/v1/jobs", None).await.status, StatusCode::OK);
}

/// Text that hides or spoofs is refused in every text value: invisible-only, and the
/// bidirectional controls.
#[tokio::test]
async fn text_that_hides_or_spoofs_is_refused() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 10).await;
    let before = app.feed().await;
    for (title, code) in [
        ("\u{200b}", "invalid_title"),
        ("\u{200b}\u{200b}\u{2060}", "invalid_title"),
        ("abc\u{202e}def", "invalid_title"),
        ("fine \u{2066}title", "invalid_title"),
    ] {
        let a = app
            .post(
                "/api/v1/jobs",
                Some(&alice),
                json!({"title": title, "reward": 5}),
            )
            .await;
        assert_problem(&a, 400, code);
    }
    let a = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": "\u{202e}gnp.exe"}),
        )
        .await;
    assert_problem(&a, 400, "invalid_pitch");
    assert_eq!(app.feed().await, before);
}

/// Media types and the bearer scheme are read as RFC 9110 says.
#[tokio::test]
async fn media_types_and_the_bearer_scheme_are_compared_as_the_rfc_says() {
    let app = App::start().await;
    let _ = app.member("alice", 0).await;
    let grant = app.url("/api/v1/members/alice/grant-credits");
    let body = r#"{"amount": 1, "reason": "x"}"#;
    for (ct, status) in [
        ("Application/JSON", 200),
        ("application/json; charset=UTF-8", 200),
        ("application/jsonx", 415),
        ("application/json-patch+json", 415),
    ] {
        let a = app
            .client
            .request(Method::POST, &grant)
            .bearer_auth(&app.admin)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(a.status().as_u16(), status, "{ct}");
    }
    let a = app
        .client
        .get(app.url("/api/v1/members"))
        .header("authorization", format!("bearer {}", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::OK);
}

/// Log-in attempts are limited per account too, wherever they come from: a guesser spread
/// over many addresses is stopped at the account. The password is not checked beyond the
/// limit (even the right one waits); other accounts are not affected.
#[tokio::test]
async fn log_in_attempts_are_limited_per_account() {
    let app = App::start_with(HttpConfig {
        // The per-address limit out of the way: only the account's applies here.
        auth_attempts_per_minute: 10_000,
        login_attempts_per_account: 3,
        ..HttpConfig::default()
    })
    .await;
    // Her first log-in (for her token) is the first of the 3.
    app.member("alice", 0).await;
    let wrong = json!({"name": "alice", "password": "not the password"});
    for _ in 0..2 {
        assert_problem(
            &app.post("/api/v1/session", None, wrong.clone()).await,
            401,
            "unauthorized",
        );
    }
    // The name as typed, in other letters, is the same account.
    let right = json!({"name": "ALICE", "password": "alice-password"});
    let limited = app.post("/api/v1/session", None, right).await;
    assert_problem(&limited, 429, "too_many_attempts");
    assert!(
        limited.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("this account"),
        "{}",
        limited.body
    );
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    // The page's form is limited by the same count.
    let b = Browser::new(&app);
    let page = b
        .submit(
            "/login",
            "/login",
            &[("name", "alice"), ("password", "alice-password")],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.html);
    // Another account logs in as usual.
    app.log_in("admin", common::ADMIN_PASSWORD).await;
}

/// Pages carry the security headers: a CSP that forbids framing, no MIME sniffing, no
/// referrer to other sites.
#[tokio::test]
async fn pages_carry_security_headers() {
    let app = App::start().await;
    for path in ["/login", "/jobs"] {
        let res = common::client()
            .get(app.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

/// The session cookie is `Secure` when the request reached a proxy over HTTPS (as the proxy
/// says: `X-Forwarded-Proto` or `Forwarded`), and not over plain HTTP (unless configured).
#[tokio::test]
async fn cookies_are_secure_over_https() {
    let app = App::start().await;
    let body = json!({"name": "admin", "password": common::ADMIN_PASSWORD});
    let cookie = |headers: Vec<(&'static str, &'static str)>| {
        let (app, body) = (&app, body.clone());
        async move {
            let mut req = common::client()
                .post(app.url("/api/v1/session"))
                .json(&body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.headers()["set-cookie"].to_str().unwrap().to_owned()
        }
    };
    let plain = cookie(vec![]).await;
    assert!(!plain.contains("Secure"), "{plain}");
    for h in [
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=1.2.3.4;proto=https"),
    ] {
        let c = cookie(vec![h]).await;
        assert!(c.contains("; Secure"), "{h:?}: {c}");
        assert!(c.contains("HttpOnly"), "{h:?}: {c}");
    }
}
