//! Tally's HTTP adapter: the JSON API under `/api/v1` (every command and view of the driving
//! port, and the identity port: accounts, sessions and API tokens), health checks, the
//! OpenAPI document at `/api/v1/openapi.json`, and HTML pages for people (`pages`: `/` is
//! their dashboard for a browser, and the API's index for other clients).
//!
//! Handlers parse input, call one port method as the authenticated actor, and render the
//! result: views with hypermedia `_links` built from the actions the domain says the caller
//! may take. Who may do what is the domain's business; this adapter only establishes who is
//! calling. Errors are `application/problem+json` (the mapping of `tally-api`).
//!
//! ```no_run
//! # async fn run(state: tally_http::AppState) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let app = tally_http::router(state);
//! // The peer address keys the sign-up and log-in limits.
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
pub mod error;
pub mod extract;
pub mod limits;
pub mod links;
pub mod observe;
pub mod openapi;
mod pages;
mod reauth;
pub mod testing;

/// Where each command's page and form are, for browser drivers (the pages' own paths).
pub mod command_pages {
    pub use crate::pages::commands::{form_id, page};
}

use async_trait::async_trait;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tally_ports::accounts::Accounts;
use tally_ports::identity::{Identity, IdentityService, PasswordCost};
use tally_ports::webhooks::WebhookAdmin;
use tally_ports::{Result, Tally, TallyService};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Something whose storage can be checked (`/health/ready`).
#[async_trait]
pub trait Readiness: Send + Sync {
    /// Checks that storage answers.
    ///
    /// # Errors
    /// `Infrastructure` when it does not.
    async fn ready(&self) -> Result<()>;
}

/// The readiness of the service's storage: the event store and the accounts.
struct Storage {
    service: Arc<TallyService>,
    accounts: Arc<dyn Accounts>,
}

#[async_trait]
impl Readiness for Storage {
    async fn ready(&self) -> Result<()> {
        self.service.ready().await?;
        self.accounts.ping().await
    }
}

/// Settings of the web service.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The largest request body accepted (larger ones get 413).
    pub body_limit: usize,
    /// How long a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// How long a log-in session lasts.
    pub session_ttl: chrono::Duration,
    /// Whether the session cookie is marked `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// How expensive password hashing is.
    pub password_cost: PasswordCost,
    /// How many sign-up and log-in attempts one client address may make a minute.
    pub auth_attempts_per_minute: u32,
    /// How many log-in attempts may name one account a minute, from anywhere.
    pub login_attempts_per_account: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            session_ttl: chrono::Duration::hours(12),
            secure_cookies: false,
            password_cost: PasswordCost::Standard,
            auth_attempts_per_minute: 20,
            login_attempts_per_account: 10,
        }
    }
}

/// What every handler uses: the driving ports, the readiness check, the settings.
#[derive(Clone)]
pub struct AppState {
    /// The commands and views.
    pub tally: Arc<dyn Tally>,
    /// Sign-up, accounts, log-in, sessions, tokens.
    pub identity: Arc<dyn Identity>,
    /// The storage check behind `/health/ready`.
    pub readiness: Arc<dyn Readiness>,
    /// Settings.
    pub config: Arc<HttpConfig>,
    auth_limiter: Arc<limits::AuthLimiter>,
    pub(crate) service: Arc<TallyService>,
    accounts: Arc<dyn Accounts>,
    /// Webhook endpoints and deliveries, when the storage keeps them.
    pub(crate) webhooks: Option<Arc<WebhookAdmin>>,
    /// What `/metrics` shows, when metrics are recorded.
    pub(crate) metrics: Option<Arc<dyn observe::MetricsSource>>,
}

impl AppState {
    /// A state over the application service and an accounts store, with default settings.
    pub fn new(service: Arc<TallyService>, accounts: Arc<dyn Accounts>) -> Self {
        Self::with(service, accounts, HttpConfig::default())
    }

    fn with(service: Arc<TallyService>, accounts: Arc<dyn Accounts>, config: HttpConfig) -> Self {
        let identity = IdentityService::new(accounts.clone(), service.clone())
            .with_password_cost(config.password_cost)
            .with_session_ttl(config.session_ttl);
        Self {
            tally: service.clone(),
            identity: Arc::new(identity),
            readiness: Arc::new(Storage {
                service: service.clone(),
                accounts: accounts.clone(),
            }),
            auth_limiter: Arc::new(limits::AuthLimiter::per_minute(
                config.auth_attempts_per_minute,
                config.login_attempts_per_account,
            )),
            config: Arc::new(config),
            service,
            accounts,
            webhooks: None,
            metrics: None,
        }
    }

    /// The same state with other settings.
    #[must_use]
    pub fn with_config(self, config: HttpConfig) -> Self {
        Self {
            webhooks: self.webhooks.clone(),
            metrics: self.metrics.clone(),
            ..Self::with(self.service, self.accounts, config)
        }
    }

    /// The same state with metrics: `/metrics` (for admins) renders `source`.
    #[must_use]
    pub fn with_metrics(self, source: Arc<dyn observe::MetricsSource>) -> Self {
        Self {
            metrics: Some(source),
            ..self
        }
    }

    /// The same state with webhooks: their API and pages, over `admin`.
    #[must_use]
    pub fn with_webhooks(self, admin: Arc<WebhookAdmin>) -> Self {
        Self {
            webhooks: Some(admin),
            ..self
        }
    }
}

/// The whole web service: every route, with request ids, tracing, a body limit, a timeout;
/// problems for every error of the API, error pages for the HTML pages.
pub fn router(state: AppState) -> Router {
    let (api, _) = api::router().split_for_parts();
    let body_limit = state.config.body_limit;
    let timeout = state.config.request_timeout;
    // The problem layer wraps the API's routes only: the pages answer errors with pages.
    let api = api
        .layer(axum::middleware::map_response(error::problems_everywhere))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::html_root,
        ));
    api.merge(pages::router())
        .route("/metrics", axum::routing::get(observe::page))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(observe::track))
        .layer(axum::middleware::from_fn(observe::secure_cookies))
        // The viewer's time zone for every page (`/` and the error pages too).
        .layer(axum::middleware::from_fn(pages::zone::scope))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::auth_attempts,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::timeout_problem,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::declared_length,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    // The caller's W3C trace, in the logs (the OTLP export, when on, continues
                    // it in the binary's layer).
                    let trace_id = req
                        .headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .and_then(observe::trace_id);
                    let span = tracing::info_span!(
                        "request",
                        request_id = %id,
                        trace_id = tracing::field::Empty,
                        method = %req.method(),
                        path = %req.uri().path(),
                    );
                    if let Some(t) = trace_id {
                        span.record("trace_id", t);
                    }
                    span
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Every route of the JSON API, as (method, path template), from the OpenAPI document (the
/// routes come from the same registry).
pub fn route_list() -> Vec<(Method, String)> {
    let doc = openapi::document();
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::DELETE, item.delete.is_some()),
            (Method::PATCH, item.patch.is_some()),
        ];
        for (m, present) in ops {
            if present {
                out.push((m, path.clone()));
            }
        }
    }
    out
}
