//! Webhooks end to end, on memory and on PostgreSQL, delivered by the real dispatcher and
//! HTTP sender to a real receiver (an HTTP server in the test, on a free loopback port) that
//! checks every signature and dedupes by `webhook-id`, as the README tells receivers to.

mod common;
mod web;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use common::App;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_contract::inputs::{accept, apply, grant, launch, register};
use tally_http_client::HttpWebhookSender;
use tally_ports::driven::{Clock, EventStore, IdGenerator};
use tally_ports::webhooks::{
    DeliveryPolicy, DeliveryQuery, DeliveryStatus, Dispatcher, NewEndpoint, WebhookAdmin,
    WebhookSender, WebhookStore, verify,
};
use tally_ports::{Actor, Ctx, Tally, TallyService};

/// What the receiver does with a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// 503 for the first `n` requests of each message, then 200.
    FailFirst(usize),
    /// 503 always.
    Fail,
    /// Never answers (within a minute).
    Hang,
}

#[derive(Debug, Clone)]
struct Request {
    id: String,
    signed: bool,
    signer: Option<usize>,
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    mode: Option<Mode>,
    requests: Vec<Request>,
    /// What the receiver kept: each message once.
    accepted: Vec<(String, Value)>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    inner: Arc<Mutex<Inner>>,
    /// Requests that have arrived (also those still hanging).
    arrived: Arc<AtomicU64>,
}

impl Receiver {
    async fn start(mode: Mode) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            mode: Some(mode),
            ..Inner::default()
        }));
        let arrived = Arc::new(AtomicU64::new(0));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state((inner.clone(), arrived.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            inner,
            arrived,
        }
    }

    fn trust(&self, secret: &str) {
        self.inner.lock().unwrap().secrets.push(secret.to_owned());
    }

    fn set(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = Some(mode);
    }

    fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    fn accepted(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().accepted.clone()
    }
}

type ReceiverState = (Arc<Mutex<Inner>>, Arc<AtomicU64>);

async fn hook(
    State((inner, arrived)): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> AxStatus {
    arrived.fetch_add(1, Ordering::SeqCst);
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, ts, sig) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let mode = {
        let mut g = inner.lock().unwrap();
        // Which endpoint's secret signed it (one message may go to several endpoints).
        let signer = ts.parse::<i64>().ok().and_then(|ts| {
            g.secrets
                .iter()
                .position(|s| verify(s, &id, ts, &body, &sig))
        });
        g.requests.push(Request {
            id: id.clone(),
            signed: signer.is_some(),
            signer,
        });
        if signer.is_none() {
            return AxStatus::UNAUTHORIZED;
        }
        let seen = g
            .requests
            .iter()
            .filter(|r| r.id == id && r.signer == signer)
            .count();
        match g.mode.unwrap() {
            Mode::FailFirst(n) if seen <= n => return AxStatus::SERVICE_UNAVAILABLE,
            Mode::Fail => return AxStatus::SERVICE_UNAVAILABLE,
            Mode::Hang => Mode::Hang,
            m => {
                // Deduped by webhook-id: a message delivered again is acknowledged, not kept
                // twice.
                if !g.accepted.iter().any(|(a, _)| *a == id) {
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    g.accepted.push((id.clone(), body));
                }
                m
            }
        }
    };
    if mode == Mode::Hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    AxStatus::OK
}

/// Fast retries, for tests.
fn policy() -> DeliveryPolicy {
    DeliveryPolicy {
        attempts: 5,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(20),
        allow_private: true,
        ..DeliveryPolicy::default()
    }
}

/// A dispatcher running in the background until dropped.
struct Running {
    dispatcher: Arc<Dispatcher>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn run(store: Arc<dyn WebhookStore>, policy: DeliveryPolicy) -> Running {
    let sender = HttpWebhookSender::new(policy.allow_private).unwrap();
    let dispatcher = Arc::new(Dispatcher::new(store, Arc::new(sender), policy));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dispatcher.clone().run(async move {
        let _ = stopped.await;
    }));
    Running {
        dispatcher,
        stop: Some(stop),
    }
}

async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    secs: u64,
    mut f: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn register_endpoint(app: &App, token: &str, url: &str, kinds: &[&str]) -> Value {
    let a = app
        .post(
            "/api/v1/webhooks",
            Some(token),
            json!({"url": url, "kinds": kinds}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body
}

async fn deliveries(app: &App, query: &str) -> Vec<Value> {
    let a = app
        .get(
            &format!("/api/v1/webhook-deliveries{query}"),
            Some(&app.admin),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["items"].as_array().unwrap().clone()
}

/// A receiver that fails the first two attempts of each message gets every message on the
/// third, signed, with the same `webhook-id` each time, and keeps each once (also when an
/// admin sends one again); a member's endpoint gets only that member's notifications of its
/// kinds.
#[tokio::test]
async fn a_receiver_that_fails_at_first_gets_each_message_once_signed_with_a_stable_id() {
    for app in App::each().await {
        let receiver = Receiver::start(Mode::FailFirst(2)).await;
        let all = register_endpoint(&app, &app.admin, &receiver.url, &[]).await;
        receiver.trust(all["secret"].as_str().unwrap());
        let alice = app.member("alice", 100).await;
        let bob = app.member("bob", 0).await;
        let carol = app.member("carol", 0).await;
        let bobs = register_endpoint(&app, &bob, &receiver.url, &["application_accepted"]).await;
        receiver.trust(bobs["secret"].as_str().unwrap());
        assert_eq!(bobs["owner"], "bob");
        let job = app.job(&alice, 30).await;
        for who in [&bob, &carol] {
            let a = app
                .post(
                    &format!("/api/v1/jobs/{job}/apply"),
                    Some(who),
                    json!({"pitch": "me"}),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
        let a = app
            .post(
                &format!("/api/v1/jobs/{job}/accept"),
                Some(&alice),
                json!({"participant": "bob"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        // Told: alice (granted, 2 applications), bob (accepted), carol (not selected); the
        // admin's endpoint gets all 5, bob's the one acceptance.
        let _running = run(app.webhooks.clone(), policy());
        eventually("every delivery delivered", 30, || async {
            let d = deliveries(&app, "").await;
            d.len() == 6 && d.iter().all(|d| d["status"] == "delivered")
        })
        .await;
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), 5, "each message kept once: {accepted:?}");
        for d in deliveries(&app, "").await {
            assert_eq!(d["attempts"], 3, "{d}");
            assert_eq!(d["last_status"], 200, "{d}");
        }
        let requests = receiver.requests();
        assert!(requests.iter().all(|r| r.signed), "every request is signed");
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for r in &requests {
            *per_id.entry(&r.id).or_default() += 1;
        }
        // Five messages; bob's acceptance went to two endpoints: 3 attempts each.
        assert_eq!(per_id.len(), 5, "{per_id:?}");
        let accepted_id = &accepted
            .iter()
            .find(|(_, b)| b["type"] == "application_accepted")
            .unwrap()
            .0;
        for (id, n) in &per_id {
            let want = if id == accepted_id { 6 } else { 3 };
            assert_eq!(*n, want, "attempts of {id}");
        }
        // Every webhook-id is the notification's id in its recipient's inbox.
        let inbox = app.get("/api/v1/notifications", Some(&alice)).await;
        for n in inbox.body["items"].as_array().unwrap() {
            assert!(per_id.contains_key(n["id"].as_str().unwrap()), "{n}");
        }
        // The body: the Standard Webhooks shape.
        let (_, body) = accepted
            .iter()
            .find(|(_, b)| b["type"] == "credits_granted")
            .unwrap();
        assert_eq!(body["data"]["recipient"], "alice", "{body}");
        assert!(body["timestamp"].is_string(), "{body}");
        // An admin sends one again: it arrives with the same id, and is not kept twice.
        let one = deliveries(&app, "").await[0].clone();
        let again = app
            .post(
                one["_links"]["redeliver"]["href"].as_str().unwrap(),
                Some(&app.admin),
                json!({}),
            )
            .await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
        let before = receiver.requests().len();
        receiver.set(Mode::FailFirst(0));
        eventually("the redelivery arrives", 30, || async {
            receiver.requests().len() > before
        })
        .await;
        let last = receiver.requests().last().unwrap().clone();
        assert_eq!(last.id, one["message"].as_str().unwrap());
        assert_eq!(receiver.accepted().len(), 5, "deduped by webhook-id");
        // bob sees his own endpoint only; carol none; the admin both.
        let list = |t: String| {
            let app = &app;
            async move {
                app.get("/api/v1/webhooks", Some(&t)).await.body["items"]
                    .as_array()
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(list(bob.clone()).await, 1);
        assert_eq!(list(carol.clone()).await, 0);
        assert_eq!(list(app.admin.clone()).await, 2);
        // carol may not pause or delete bob's endpoint, nor see deliveries.
        let bobs_id = bobs["id"].as_str().unwrap();
        let a = app
            .post(
                &format!("/api/v1/webhooks/{bobs_id}/pause"),
                Some(&carol),
                json!({}),
            )
            .await;
        common::assert_problem(&a, 404, "no_such_endpoint");
        let a = app.get("/api/v1/webhook-deliveries", Some(&carol)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    }
}

/// A receiver that hangs is timed out; after the bound the delivery is a dead letter, shown
/// to admins with its error; the admin page sends it again, and it is delivered.
#[tokio::test]
async fn a_hanging_receiver_is_timed_out_dead_lettered_and_redelivered_from_the_admin_page() {
    for app in App::each().await {
        let receiver = Receiver::start(Mode::Hang).await;
        let e = register_endpoint(&app, &app.admin, &receiver.url, &["credits_granted"]).await;
        receiver.trust(e["secret"].as_str().unwrap());
        let _running = run(
            app.webhooks.clone(),
            DeliveryPolicy {
                attempts: 2,
                timeout: Duration::from_millis(300),
                ..policy()
            },
        );
        app.member("alice", 10).await;
        eventually("a dead letter", 30, || async {
            deliveries(&app, "?status=dead").await.len() == 1
        })
        .await;
        let dead = &deliveries(&app, "?status=dead").await[0];
        assert_eq!(dead["attempts"], 2, "{dead}");
        assert_eq!(
            dead["last_error"], "no answer within 300 ms",
            "the timeout is the error: {dead}"
        );
        assert!(dead["next_attempt_at"].is_null(), "{dead}");
        assert_eq!(receiver.arrived.load(Ordering::SeqCst), 2);
        // Commands went on meanwhile, undelayed by the endpoint: the grant was answered.
        // Now the receiver answers; the admin page's button sends the dead letter again.
        receiver.set(Mode::FailFirst(0));
        let admin = web::admin(&app).await;
        let page = admin.page("/admin/webhooks/deliveries?status=dead").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        assert!(page.has("dead letter"), "{}", page.html);
        assert!(page.has("no answer within 300 ms"), "{}", page.html);
        let id = dead["id"].as_str().unwrap();
        let action = format!("/admin/webhooks/deliveries/{id}/redeliver");
        assert!(page.html.contains(&action), "{}", page.html);
        let done = admin.post(&action, &[("csrf", &page.csrf())]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
        eventually("delivered after the redelivery", 30, || async {
            deliveries(&app, "").await[0]["status"] == "delivered"
        })
        .await;
        assert_eq!(receiver.accepted().len(), 1);
        let after = admin.page("/admin/webhooks/deliveries").await;
        assert!(
            after.html.contains("data-status=\"delivered\""),
            "{}",
            after.html
        );
    }
}

/// Pausing an endpoint holds its deliveries; resuming sends them. Deleting one removes it
/// and its deliveries. Done from the endpoints page, as a member.
#[tokio::test]
async fn a_member_pauses_resumes_and_deletes_an_endpoint_from_the_page() {
    let app = App::start().await;
    let receiver = Receiver::start(Mode::FailFirst(0)).await;
    let alice = web::member(&app, "alice", 0).await;
    let done = alice
        .submit("/webhooks", "/webhooks", &[("url", &receiver.url)])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(
        done.html.contains("id=\"endpoint-secret\""),
        "{}",
        done.html
    );
    let listed = WebhookStore::endpoints(app.webhooks.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].owner.as_deref(), Some("alice"));
    receiver.trust(&listed[0].secret);
    let id = listed[0].id;
    let page = alice.page("/webhooks").await;
    let paused = alice
        .post(&format!("/webhooks/{id}/pause"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.html);
    let _running = run(app.webhooks.clone(), policy());
    let a = app
        .post(
            "/api/v1/members/alice/grant-credits",
            Some(&app.admin),
            json!({"amount": 5}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.arrived.load(Ordering::SeqCst),
        0,
        "paused: nothing sent"
    );
    let page = alice.page("/webhooks").await;
    assert!(page.html.contains("data-paused=\"true\""), "{}", page.html);
    let resumed = alice
        .post(&format!("/webhooks/{id}/resume"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.html);
    eventually("sent once resumed", 30, || async {
        receiver.accepted().len() == 1
    })
    .await;
    let page = alice.page("/webhooks").await;
    let deleted = alice
        .post(&format!("/webhooks/{id}/delete"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.html);
    assert!(
        WebhookStore::endpoints(app.webhooks.as_ref(), None)
            .await
            .unwrap()
            .is_empty()
    );
    let all = WebhookStore::deliveries(
        app.webhooks.as_ref(),
        &DeliveryQuery {
            limit: 10,
            ..DeliveryQuery::default()
        },
    )
    .await
    .unwrap();
    assert!(all.is_empty(), "its deliveries went with it");
    // A bad URL on the page: the form again, with the reason, and nothing registered.
    let bad = alice
        .submit("/webhooks", "/webhooks", &[("url", "ftp://example.com/")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert!(bad.has("starts with https://"), "{}", bad.html);
    assert!(
        WebhookStore::endpoints(app.webhooks.as_ref(), None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Without `allow_private`, endpoints at loopback, private, link-local or unspecified
/// addresses are refused when registered (422 with the reason) and when sent to; redirects
/// are not followed; a large answer is read only up to a few KiB.
#[tokio::test]
async fn unsafe_endpoints_are_refused_and_redirects_not_followed() {
    let store = tally_memory::MemoryStore::new();
    let strict = WebhookAdmin::new(Arc::new(store.clone()), &DeliveryPolicy::default());
    let admin = Actor::admin("admin");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "not a url",
    ] {
        let e = strict
            .register(
                &admin,
                NewEndpoint {
                    url: url.into(),
                    kinds: vec![],
                },
            )
            .await
            .expect_err(url);
        assert_eq!(e.code(), "invalid_webhook_url", "{url}: {e}");
    }
    let e = strict
        .register(
            &admin,
            NewEndpoint {
                url: "https://example.com/".into(),
                kinds: vec!["everything".into()],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_notification_kind", "{e}");
    assert!(
        WebhookStore::endpoints(&store, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing registered"
    );
    // Over HTTP: 422 naming the field.
    let app = App::start().await;
    let a = app
        .post(
            "/api/v1/webhooks",
            Some(&app.admin),
            json!({"url": "gopher://example.com/"}),
        )
        .await;
    common::assert_problem(&a, 422, "invalid_webhook_url");

    // The sender, strict, refuses a loopback receiver at send time, sending nothing.
    let receiver = Receiver::start(Mode::FailFirst(0)).await;
    let strict_sender = HttpWebhookSender::new(false).unwrap();
    let sent = strict_sender
        .send(&receiver.url, &[], b"{}".to_vec(), Duration::from_secs(2))
        .await;
    assert!(sent.status.is_none(), "{sent:?}");
    assert!(sent.error.unwrap().contains("public addresses only"));
    assert_eq!(receiver.arrived.load(Ordering::SeqCst), 0);

    // Redirects are not followed; big bodies are cut.
    let hits = Arc::new(AtomicU64::new(0));
    let target_hits = hits.clone();
    let app = axum::Router::new()
        .route(
            "/moved",
            axum::routing::post(|| async {
                (
                    AxStatus::TEMPORARY_REDIRECT,
                    [("location", "/target")],
                    "moved",
                )
            }),
        )
        .route(
            "/target",
            axum::routing::post(move || {
                target_hits.fetch_add(1, Ordering::SeqCst);
                async { AxStatus::OK }
            }),
        )
        .route(
            "/big",
            axum::routing::post(|| async {
                (AxStatus::INTERNAL_SERVER_ERROR, "x".repeat(1 << 20))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sender = HttpWebhookSender::new(true).unwrap();
    let sent = sender
        .send(
            &format!("{base}/moved"),
            &[],
            b"{}".to_vec(),
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(sent.status, Some(307));
    assert!(sent.error.unwrap().contains("redirects are not followed"));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
    let sent = sender
        .send(
            &format!("{base}/big"),
            &[],
            b"{}".to_vec(),
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(sent.status, Some(500));
    assert!(sent.error.unwrap().len() < 300, "the body is cut");
}

/// A clock that ticks a millisecond per reading, and ids counted from 1: the same commands
/// record the same history, byte for byte.
struct Ticks(AtomicU64);

impl Clock for Ticks {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000 + 1000 * n as i64).unwrap()
    }
}

struct Counted(AtomicU64);

impl IdGenerator for Counted {
    fn new_id(&self) -> uuid::Uuid {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        uuid::Uuid::from_u128((0x0190_0000_0000_7000_8000u128 << 32) | u128::from(n))
    }
}

/// The history with a receiver that fails every attempt is byte for byte the history with
/// one that accepts everything: delivery outcomes are never events.
#[tokio::test]
async fn the_history_is_the_same_whether_webhooks_fail_or_work() {
    async fn script(
        svc: TallyService,
        store: Arc<dyn EventStore>,
        hooks: Arc<dyn WebhookStore>,
        mode: Mode,
    ) -> (Vec<u8>, Vec<DeliveryStatus>) {
        let svc = svc
            .with_clock(Arc::new(Ticks(AtomicU64::new(0))))
            .with_ids(Arc::new(Counted(AtomicU64::new(1))));
        let receiver = Receiver::start(mode).await;
        let admin = WebhookAdmin::new(hooks.clone(), &policy());
        let e = admin
            .register(
                &Actor::admin("admin"),
                NewEndpoint {
                    url: receiver.url.clone(),
                    kinds: vec![],
                },
            )
            .await
            .unwrap();
        receiver.trust(&e.secret);
        let running = run(
            hooks.clone(),
            DeliveryPolicy {
                attempts: 2,
                ..policy()
            },
        );
        let sys = Ctx::new(Actor::admin("admin"));
        for h in ["alice", "bob", "carol"] {
            svc.execute(&sys, register(h, h)).await.unwrap();
        }
        svc.execute(&sys, grant("alice", 100, "welcome"))
            .await
            .unwrap();
        let alice = Ctx::new(Actor::member("alice"));
        let r = svc
            .execute(&alice, launch("Logo design", 40))
            .await
            .unwrap();
        let job = r.events[0].stream.key().to_owned();
        for h in ["bob", "carol"] {
            svc.execute(&Ctx::new(Actor::member(h)), apply(&job, "me"))
                .await
                .unwrap();
        }
        svc.execute(&alice, accept(&job, "bob")).await.unwrap();
        // Every delivery settled (delivered, or dead after its attempts).
        let q = DeliveryQuery {
            limit: 100,
            ..DeliveryQuery::default()
        };
        eventually("deliveries settle", 30, || async {
            let d = hooks.deliveries(&q).await.unwrap();
            d.len() == 5 && d.iter().all(|d| d.status != DeliveryStatus::Pending)
        })
        .await;
        running.dispatcher.idle().await;
        let history = store.read_all(0, 10_000).await.unwrap();
        let statuses = hooks
            .deliveries(&q)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.status)
            .collect();
        (serde_json::to_vec(&history).unwrap(), statuses)
    }
    // Memory.
    let mut runs = Vec::new();
    for mode in [Mode::Fail, Mode::FailFirst(0)] {
        let (svc, store) = tally_memory::service();
        runs.push(script(svc, Arc::new(store.clone()), Arc::new(store), mode).await);
    }
    // PostgreSQL.
    let mut dbs = Vec::new();
    for mode in [Mode::Fail, Mode::FailFirst(0)] {
        let db = tally_postgres::testing::TestDb::create().await;
        let s = db.store().clone();
        runs.push(script(s.service(), Arc::new(s.clone()), Arc::new(s), mode).await);
        dbs.push(db);
    }
    for pair in runs.chunks(2) {
        let [(failing, dead), (working, delivered)] = pair else {
            unreachable!()
        };
        assert!(dead.iter().all(|s| *s == DeliveryStatus::Dead), "{dead:?}");
        assert!(
            delivered.iter().all(|s| *s == DeliveryStatus::Delivered),
            "{delivered:?}"
        );
        assert!(!failing.is_empty());
        assert_eq!(
            failing, working,
            "the history differs between failing and working webhooks"
        );
    }
    for db in dbs {
        db.cleanup().await;
    }
}

/// On PostgreSQL, a dispatcher killed in the middle of an attempt (its runtime and its
/// connections gone at once, as with a killed process) leaves the delivery leased; when the
/// lease ends another dispatcher sends it again, with the same `webhook-id`. Two dispatchers
/// at once never send one delivery twice.
#[tokio::test]
async fn a_dispatcher_killed_mid_delivery_is_taken_over_and_two_share_the_queue() {
    let db = tally_postgres::testing::TestDb::create().await;
    let store = db.store().clone();
    let svc = store.service();
    let receiver = Receiver::start(Mode::Hang).await;
    let admin = WebhookAdmin::new(Arc::new(store.clone()), &policy());
    let e = admin
        .register(
            &Actor::admin("admin"),
            NewEndpoint {
                url: receiver.url.clone(),
                kinds: vec![],
            },
        )
        .await
        .unwrap();
    receiver.trust(&e.secret);
    let sys = Ctx::new(Actor::admin("admin"));
    svc.execute(&sys, register("alice", "Alice")).await.unwrap();
    svc.execute(&sys, grant("alice", 5, "")).await.unwrap();
    // The doomed dispatcher: its own runtime on its own thread, its own pool.
    let url = db.url().to_owned();
    let doomed = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let own = tally_postgres::PgStore::connect(&url, tally_postgres::PgOptions::default())
                .await
                .unwrap();
            let d = Dispatcher::new(
                Arc::new(own),
                Arc::new(HttpWebhookSender::new(true).unwrap()),
                DeliveryPolicy {
                    timeout: Duration::from_millis(500),
                    ..policy()
                },
            );
            assert_eq!(d.tick().await.unwrap(), 1);
        });
        rt
    })
    .await
    .unwrap();
    eventually("the doomed attempt arrives", 30, || async {
        receiver.arrived.load(Ordering::SeqCst) == 1
    })
    .await;
    // Killed mid-attempt: nothing recorded, the delivery is leased.
    doomed.shutdown_background();
    let leased = admin
        .deliveries(&sys.actor, DeliveryQuery::default())
        .await
        .unwrap();
    assert_eq!(leased[0].status, DeliveryStatus::Pending);
    assert_eq!(leased[0].attempts, 1);
    receiver.set(Mode::FailFirst(0));
    // The survivor takes it over once the lease (2 × 500 ms + 1 s) has run out.
    let _running = run(
        Arc::new(store.clone()),
        DeliveryPolicy {
            timeout: Duration::from_millis(500),
            ..policy()
        },
    );
    eventually("delivered by the survivor", 30, || async {
        admin
            .deliveries(&sys.actor, DeliveryQuery::default())
            .await
            .unwrap()[0]
            .status
            == DeliveryStatus::Delivered
    })
    .await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].id, requests[1].id, "the same webhook-id");
    let d = &admin
        .deliveries(&sys.actor, DeliveryQuery::default())
        .await
        .unwrap()[0];
    assert_eq!(d.attempts, 2);

    // Two dispatchers on one queue: 60 messages, each sent once.
    drop(_running);
    let _a = run(Arc::new(store.clone()), policy());
    let _b = run(Arc::new(store.clone()), policy());
    for i in 0..60 {
        svc.execute(&sys, grant("alice", 1, &format!("grant {i}")))
            .await
            .unwrap();
    }
    eventually("all 61 accepted", 30, || async {
        receiver.accepted().len() == 61
    })
    .await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.requests() {
        *per_id.entry(r.id).or_default() += 1;
    }
    let twice: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(
        twice.len(),
        1,
        "only the killed one was sent twice: {twice:?}"
    );
    drop((_a, _b));
    db.cleanup().await;
}
