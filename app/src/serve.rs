//! `tally serve`: the web service.

use crate::config::StorageArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use tally_http::{AppState, HttpConfig};
use tally_ports::accounts::{Account, Accounts, Role};
use tally_ports::identity::{PasswordCost, bootstrap_admin, hash_password};
use tally_ports::webhooks::{Dispatcher, WebhookAdmin};
use tally_ports::{Actor, Ctx};

/// Web service settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed the demo data set on start.
    #[arg(long)]
    pub demo: bool,
    /// The password of the `admin` account (prefer the environment variable to the flag).
    /// Unset: on first start a random one is generated and printed once.
    #[arg(long, env = "TALLY_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    #[arg(long, env = "TALLY_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "TALLY_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// The largest request body accepted, in bytes.
    #[arg(long, env = "TALLY_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
    /// Sign-up and log-in attempts one client address may make a minute (429 beyond).
    #[arg(long, env = "TALLY_AUTH_ATTEMPTS", default_value_t = 20)]
    pub auth_attempts_per_minute: u32,
    /// Log-in attempts that may name one account a minute, from any address (429 beyond).
    #[arg(long, env = "TALLY_LOGIN_ATTEMPTS_PER_ACCOUNT", default_value_t = 10)]
    pub login_attempts_per_account: u32,
    /// Also serve `/metrics` (Prometheus), without authentication, on this address of its
    /// own (for the monitoring system; the main listener serves it to admins).
    #[arg(long, env = "TALLY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Run the webhook dispatcher in this process (on PostgreSQL several processes may).
    #[arg(long, env = "TALLY_WEBHOOK_DISPATCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhook_dispatch: bool,
    /// Let webhook endpoints be at loopback, private or link-local addresses (refused
    /// otherwise: a receiver on the same network, tests).
    #[arg(long, env = "TALLY_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Milliseconds one webhook attempt may take.
    #[arg(long, env = "TALLY_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// Attempts before a webhook delivery is a dead letter.
    #[arg(long, env = "TALLY_WEBHOOK_ATTEMPTS", default_value_t = 8)]
    pub webhook_attempts: u32,
    /// Milliseconds before the first retry of a webhook delivery (doubled each time, with
    /// jitter, up to an hour).
    #[arg(long, env = "TALLY_WEBHOOK_BACKOFF_MS", default_value_t = 5_000)]
    pub webhook_backoff_ms: u64,
}

impl ServeArgs {
    /// How webhook deliveries are attempted.
    pub fn delivery_policy(&self) -> tally_ports::webhooks::DeliveryPolicy {
        tally_ports::webhooks::DeliveryPolicy {
            attempts: self.webhook_attempts.max(1),
            backoff: Duration::from_millis(self.webhook_backoff_ms),
            timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
            allow_private: self.webhook_allow_private,
            ..tally_ports::webhooks::DeliveryPolicy::default()
        }
    }
}

/// Runs the web service until SIGTERM or Ctrl-C; requests in flight finish first.
pub async fn run(storage: StorageArgs, args: ServeArgs) -> Result<()> {
    let handle = crate::metrics::install()?;
    let opened = storage.open().await?;
    let accounts = opened.accounts.clone();
    if args.demo {
        let ctx = Ctx::new(Actor::System("seed".into()));
        let summary = crate::demo::seed(opened.tally.as_ref(), &ctx)
            .await
            .context("seeding the demo data")?;
        tracing::info!("{summary}");
        demo_accounts(accounts.as_ref()).await?;
    }
    let generated = bootstrap_admin(
        accounts.as_ref(),
        args.admin_password.as_deref(),
        PasswordCost::Standard,
    )
    .await
    .context("setting up the admin account")?;
    if let Some(password) = generated {
        // Shown once: it is stored only as a hash.
        eprintln!(
            "\n  The admin account was created. Log in as `admin` with the password:\n\n      {password}\n\n  It is not shown again. Set TALLY_ADMIN_PASSWORD to choose one.\n"
        );
    }
    let config = HttpConfig {
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout),
        secure_cookies: args.secure_cookies,
        auth_attempts_per_minute: args.auth_attempts_per_minute,
        login_attempts_per_account: args.login_attempts_per_account,
        ..HttpConfig::default()
    };
    // The reports follow the history in the background, eventually consistent.
    let follower = tally_ports::reports::Follower::new(
        opened.tally.store().clone(),
        opened.reports.clone(),
        1000,
    );
    tokio::spawn(follower.run(Duration::from_millis(250)));
    let policy = args.delivery_policy();
    let webhooks = Arc::new(WebhookAdmin::new(opened.webhooks.clone(), &policy));
    // The webhook dispatcher: stops claiming on shutdown, and lets attempts in flight end.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dispatcher = if args.webhook_dispatch {
        let sender = tally_http_client::HttpWebhookSender::new(policy.allow_private)
            .map_err(anyhow::Error::msg)
            .context("building the webhook sender")?;
        let d = Arc::new(
            Dispatcher::new(opened.webhooks.clone(), Arc::new(sender), policy)
                .with_wakeups(opened.tally.store().commits()),
        );
        let mut stop = stop_rx.clone();
        let task = tokio::spawn(d.clone().run(async move {
            let _ = stop.wait_for(|s| *s).await;
        }));
        Some((d, task))
    } else {
        None
    };
    let scrape: Arc<dyn tally_http::observe::MetricsSource> = Arc::new(crate::metrics::Scrape {
        handle,
        tally: opened.tally.clone(),
        reports: opened.reports.clone(),
        webhooks: opened.webhooks.clone(),
        pg: opened.pg.clone(),
    });
    if let Some(addr) = &args.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening for metrics on {addr}"))?;
        tracing::info!(addr = %l.local_addr()?, "metrics at /metrics");
        let router = tally_http::observe::metrics_router(scrape.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, router).await {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let state = AppState::new(opened.tally, accounts)
        .with_config(config)
        .with_webhooks(webhooks)
        .with_metrics(scrape);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    // The page to open, in words a person acts on; the API's address beside it.
    let open = match addr.ip() {
        ip if ip.is_unspecified() => format!("http://127.0.0.1:{}/", addr.port()),
        _ => format!("http://{addr}/"),
    };
    tracing::info!(%addr, api = %format!("http://{addr}/api/v1"), "open {open} in a browser");
    if args.demo {
        tracing::info!("demo members: alice, bob, carol, dave, erin, frank; password tally-demo");
    }
    let mut router = tally_http::router(state);
    if crate::telemetry::exporting() {
        router = router.layer(axum::middleware::from_fn(crate::telemetry::continue_trace));
    }
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    let _ = stop_tx.send(true);
    if let Some((d, task)) = dispatcher {
        let _ = task.await;
        if tokio::time::timeout(policy.timeout + Duration::from_secs(1), d.idle())
            .await
            .is_err()
        {
            tracing::warn!("webhook attempts still in flight at shutdown: they are sent again");
        }
    }
    drop(stop_rx);
    tracing::info!("stopped");
    Ok(())
}

/// The password of every demo member's account.
const DEMO_PASSWORD: &str = "tally-demo";

/// Gives every demo member an account, so that a person can log in as one of them.
async fn demo_accounts(accounts: &dyn Accounts) -> Result<()> {
    let hash = hash_password(DEMO_PASSWORD.into(), PasswordCost::Standard)
        .await
        .context("hashing the demo password")?;
    for handle in crate::demo::HANDLES {
        if accounts.account(handle).await?.is_none() {
            accounts
                .create_account(Account {
                    name: handle.into(),
                    role: Role::Member,
                    password_hash: hash.clone(),
                    created_at: chrono::Utc::now(),
                })
                .await
                .with_context(|| format!("creating the demo account of {handle}"))?;
        }
    }
    eprintln!(
        "\n  Demo members ({}) log in with the password `{DEMO_PASSWORD}`.\n",
        crate::demo::HANDLES.join(", ")
    );
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
