//! The HTTP target: the web service spawned in process on a free loopback port, driven
//! through the HTTP client adapter, so that every scenario crosses the real JSON API.

use crate::targets::Backend;
use anyhow::{Context, Result};
use std::sync::Arc;
use tally_http::{AppState, HttpConfig};
use tally_http_client::{HttpIdentity, HttpTally, ProvisioningTokens, log_in};
use tally_ports::TallyService;
use tally_ports::accounts::Accounts;
use tally_ports::identity::{PasswordCost, bootstrap_admin};

/// The password of the `admin` account of every spawned service.
pub const ADMIN_PASSWORD: &str = "acceptance admin password";

/// The web service over `service` and `accounts`, with an `admin` account, on a free port.
///
/// # Errors
/// When the admin account or the server cannot be set up.
pub async fn serve(
    service: Arc<TallyService>,
    accounts: Arc<dyn Accounts>,
) -> Result<tally_http::testing::Server> {
    serve_with(service, accounts, None).await
}

/// [`serve`], with webhook endpoints and deliveries kept in `webhooks` (their pages and API
/// work; private addresses allowed).
///
/// # Errors
/// As [`serve`].
pub async fn serve_with(
    service: Arc<TallyService>,
    accounts: Arc<dyn Accounts>,
    webhooks: Option<Arc<dyn tally_ports::webhooks::WebhookStore>>,
) -> Result<tally_http::testing::Server> {
    bootstrap_admin(
        accounts.as_ref(),
        Some(ADMIN_PASSWORD),
        PasswordCost::Minimal,
    )
    .await
    .context("bootstrapping the admin account")?;
    let config = HttpConfig {
        // Hashing cost and attempt limits are not what these scenarios are about.
        password_cost: PasswordCost::Minimal,
        auth_attempts_per_minute: 100_000,
        login_attempts_per_account: 100_000,
        ..HttpConfig::default()
    };
    let mut state = AppState::new(service, accounts).with_config(config);
    if let Some(store) = webhooks {
        let policy = tally_ports::webhooks::DeliveryPolicy {
            allow_private: true,
            ..Default::default()
        };
        state = state.with_webhooks(Arc::new(tally_ports::webhooks::WebhookAdmin::new(
            store, &policy,
        )));
    }
    tally_http::testing::spawn(state)
        .await
        .context("starting the web service")
}

/// Serves `service` (with `accounts`, in the same storage) and returns a backend that talks
/// to it over HTTP. Members get accounts the first time they act (the admin creates them), as
/// an admin onboarding members would.
///
/// # Errors
/// When the server cannot start or the admin cannot log in.
pub async fn backend(service: Arc<TallyService>, accounts: Arc<dyn Accounts>) -> Result<Backend> {
    let server = serve(service, accounts).await?;
    let url = server.url();
    let admin = log_in(&url, "admin", ADMIN_PASSWORD)
        .await
        .context("logging in as the admin")?;
    let tokens = Arc::new(ProvisioningTokens::new(&url, admin)?);
    let client = HttpTally::new(&url, tokens.clone())?;
    let identity = HttpIdentity::new(&url, tokens)?;
    Ok(
        Backend::new(Arc::new(client), Arc::new(identity)).with_teardown(Box::new(move || {
            Box::pin(async move { server.shutdown().await.context("stopping the web service") })
        })),
    )
}
