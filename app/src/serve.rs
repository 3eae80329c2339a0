//! `tally serve`: the web service.

use crate::config::StorageArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::time::Duration;
use tally_http::{AppState, HttpConfig};
use tally_ports::accounts::{Account, Accounts, Role};
use tally_ports::identity::{PasswordCost, bootstrap_admin, hash_password};
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
}

/// Runs the web service until SIGTERM or Ctrl-C; requests in flight finish first.
pub async fn run(storage: StorageArgs, args: ServeArgs) -> Result<()> {
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
        ..HttpConfig::default()
    };
    // The reports follow the history in the background, eventually consistent.
    let follower = tally_ports::reports::Follower::new(
        opened.tally.store().clone(),
        opened.reports.clone(),
        1000,
    );
    tokio::spawn(follower.run(Duration::from_millis(250)));
    let state = AppState::new(opened.tally, accounts).with_config(config);
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
    axum::serve(
        listener,
        tally_http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
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
