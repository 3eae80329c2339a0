//! A real server on a free port, with memory (or PostgreSQL) storage, an admin, and a small
//! HTTP driver.
#![allow(dead_code)]

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tally_http::testing::{Server, spawn};
use tally_http::{AppState, HttpConfig};
use tally_memory::MemoryAccounts;
use tally_ports::identity::{PasswordCost, bootstrap_admin};
use tally_ports::webhooks::{DeliveryPolicy, WebhookAdmin, WebhookStore};

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct App {
    pub server: Server,
    pub client: Client,
    pub admin: String,
    /// The test database, with PostgreSQL storage (dropped with the app).
    pub db: Option<tally_postgres::testing::TestDb>,
    /// Webhook endpoints and deliveries (the server's use cases allow private addresses).
    pub webhooks: Arc<dyn WebhookStore>,
}

/// An answer: status, body (JSON, or `Null`), headers.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl App {
    /// On memory storage.
    pub async fn start() -> Self {
        Self::start_with(HttpConfig::default()).await
    }

    /// On memory storage, with these settings (the password cost is always minimal).
    pub async fn start_with(config: HttpConfig) -> Self {
        let (svc, store) = tally_memory::service();
        let keys = tally_ports::keys::DataKeys::new(
            Arc::new(tally_memory::MemoryKeys::new()),
            tally_ports::keys::MasterKey::generate().unwrap(),
        );
        Self::over(
            svc.with_keys(Arc::new(keys)),
            Arc::new(MemoryAccounts::new()),
            Arc::new(store.clone()),
            Arc::new(store),
            None,
            config,
        )
        .await
    }

    /// On a fresh PostgreSQL database (see `tally_postgres::testing`).
    pub async fn start_postgres() -> Self {
        let db = tally_postgres::testing::TestDb::create().await;
        let keys = tally_ports::keys::DataKeys::new(
            Arc::new(tally_postgres::PgKeys::new(db.store().clone())),
            tally_ports::keys::MasterKey::parse(tally_postgres::testing::TEST_MASTER_KEY).unwrap(),
        );
        let svc = db.store().service().with_keys(Arc::new(keys));
        let accounts = Arc::new(tally_postgres::PgAccounts::new(db.store().clone()));
        let reports = Arc::new(db.store().clone());
        let webhooks = Arc::new(db.store().clone());
        Self::over(
            svc,
            accounts,
            reports,
            webhooks,
            Some(db),
            HttpConfig::default(),
        )
        .await
    }

    /// Both storages, each in turn.
    pub async fn each() -> [Self; 2] {
        [Self::start().await, Self::start_postgres().await]
    }

    async fn over(
        svc: tally_ports::TallyService,
        accounts: Arc<dyn tally_ports::accounts::Accounts>,
        reports: Arc<dyn tally_ports::driven::ReportStore>,
        webhooks: Arc<dyn WebhookStore>,
        db: Option<tally_postgres::testing::TestDb>,
        config: HttpConfig,
    ) -> Self {
        bootstrap_admin(
            accounts.as_ref(),
            Some(ADMIN_PASSWORD),
            PasswordCost::Minimal,
        )
        .await
        .unwrap();
        let config = HttpConfig {
            password_cost: PasswordCost::Minimal,
            ..config
        };
        // The reports follow the history in the background, as in `tally serve`.
        let follower =
            tally_ports::reports::Follower::new(svc.store().clone(), reports.clone(), 100);
        tokio::spawn(follower.run(std::time::Duration::from_millis(20)));
        let state = AppState::new(
            Arc::new(svc.with_reports(reports).with_accounts(accounts.clone())),
            accounts,
        )
        .with_config(config)
        .with_webhooks(Arc::new(WebhookAdmin::new(
            webhooks.clone(),
            &DeliveryPolicy {
                allow_private: true,
                ..DeliveryPolicy::default()
            },
        )));
        let server = spawn(state).await.unwrap();
        let mut app = Self {
            server,
            client: client(),
            admin: String::new(),
            db,
            webhooks,
        };
        app.admin = app.log_in("admin", ADMIN_PASSWORD).await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn log_in(&self, name: &str, password: &str) -> String {
        let a = self
            .post(
                "/api/v1/session",
                None,
                json!({"name": name, "password": password}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Registers a member with credits, gives them an account, and returns their token.
    pub async fn member(&self, handle: &str, credits: i64) -> String {
        let a = self
            .post(
                "/api/v1/members",
                Some(&self.admin),
                json!({"handle": handle, "display_name": handle}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        if credits > 0 {
            let a = self
                .post(
                    &format!("/api/v1/members/{handle}/grant-credits"),
                    Some(&self.admin),
                    json!({"amount": credits}),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
        let password = format!("{handle}-password");
        let a = self
            .post(
                "/api/v1/accounts",
                Some(&self.admin),
                json!({"name": handle, "password": password}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        self.log_in(handle, &password).await
    }

    /// Launches a job as `token`'s member and returns its id.
    pub async fn job(&self, token: &str, reward: i64) -> String {
        let a = self
            .post(
                "/api/v1/jobs",
                Some(token),
                json!({"title": "Paint the fence", "reward": reward}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let loc = a.headers["location"].to_str().unwrap();
        loc.trim_start_matches("/api/v1/jobs/")
            .trim_end_matches("/owner-view")
            .to_owned()
    }

    /// Every event in the history, read from the feed as the admin.
    pub async fn feed(&self) -> Vec<Value> {
        let a = self
            .get("/api/v1/feed?after=0&limit=1000", Some(&self.admin))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body.as_array().unwrap().clone()
    }

    /// Every event in the history, page after page.
    #[allow(dead_code)]
    pub async fn feed_all(&self) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        loop {
            let a = self
                .get(
                    &format!("/api/v1/feed?after={}&limit=1000", all.len()),
                    Some(&self.admin),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            let page = a.body.as_array().unwrap().clone();
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }
}

pub async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

/// Asserts a problem answer: status, code, the problem media type and its fields.
pub fn assert_problem(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.code(), code, "{}", a.body);
    assert_eq!(
        a.headers["content-type"], "application/problem+json",
        "{}",
        a.body
    );
    for k in ["type", "title", "status", "detail", "code"] {
        assert!(!a.body[k].is_null(), "problem without {k}: {}", a.body);
    }
}
