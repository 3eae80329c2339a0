//! Which bearer token each actor uses.

use crate::{at, client, parse_base, send};
use async_trait::async_trait;
use reqwest::{Client, Url};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use tally_ports::{Actor, Error, Result};
use tokio::sync::Mutex;

/// Gives the bearer token to send for an actor.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The token for `actor`; `None` sends no credentials (anonymous).
    ///
    /// # Errors
    /// Whatever getting a token failed with (for instance `unknown_member`, `Unauthorized`).
    async fn token(&self, actor: &Actor) -> Result<Option<String>>;

    /// Remembers `token` as `actor`'s (a session just opened by signing up or logging in).
    async fn remember(&self, _actor: &Actor, _token: &str) {}
}

/// Fixed tokens per actor; other actors are anonymous.
#[derive(Debug, Clone, Default)]
pub struct StaticTokens(pub HashMap<Actor, String>);

#[async_trait]
impl TokenSource for StaticTokens {
    async fn token(&self, actor: &Actor) -> Result<Option<String>> {
        Ok(self.0.get(actor).cloned())
    }
}

#[derive(Deserialize)]
struct SessionAnswer {
    token: String,
}

/// Logs in with a name and password, giving a session token (usable as a bearer token).
///
/// # Errors
/// `Unauthorized` for a wrong name or password; `Infrastructure` when the service does not
/// answer.
pub async fn log_in(base_url: &str, name: &str, password: &str) -> Result<String> {
    let base = parse_base(base_url)?;
    log_in_with(&client()?, &base, name, password).await
}

async fn log_in_with(client: &Client, base: &Url, name: &str, password: &str) -> Result<String> {
    let req = client
        .post(at(base, tally_api::paths::SESSION))
        .json(&json!({"name": name, "password": password}));
    let s: SessionAnswer = send(req).await?;
    Ok(s.token)
}

/// For tests: every admin (and system) actor uses one admin token; a member gets an account
/// the first time it acts (created with the admin token and a random password, then logged
/// in), and its token is cached. Anonymous sends no token.
///
/// The events a system actor's calls record name the admin, not the system process.
pub struct ProvisioningTokens {
    base: Url,
    client: Client,
    admin_token: String,
    members: Mutex<HashMap<Actor, String>>,
}

impl ProvisioningTokens {
    /// Tokens for the service at `base_url`, provisioning members with `admin_token`.
    ///
    /// # Errors
    /// `Invalid` for a bad URL; `Infrastructure` if the HTTP client cannot be built.
    pub fn new(base_url: &str, admin_token: impl Into<String>) -> Result<Self> {
        Ok(Self {
            base: parse_base(base_url)?,
            client: client()?,
            admin_token: admin_token.into(),
            members: Mutex::new(HashMap::new()),
        })
    }

    async fn provision(&self, handle: &str) -> Result<String> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(Error::infrastructure)?;
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let req = self
            .client
            .post(at(&self.base, tally_api::paths::ACCOUNTS))
            .bearer_auth(&self.admin_token)
            .json(&json!({"name": handle, "password": password, "role": "member"}));
        let _: serde_json::Value = send(req).await?;
        log_in_with(&self.client, &self.base, handle, &password).await
    }
}

#[async_trait]
impl TokenSource for ProvisioningTokens {
    async fn token(&self, actor: &Actor) -> Result<Option<String>> {
        let handle = match actor {
            Actor::Anonymous => return Ok(None),
            Actor::Admin(_) | Actor::System(_) => return Ok(Some(self.admin_token.clone())),
            Actor::Member(h) => h.as_str(),
        };
        // Held while provisioning, so that two first calls do not both create the account.
        let mut members = self.members.lock().await;
        if let Some(t) = members.get(actor) {
            return Ok(Some(t.clone()));
        }
        let token = self.provision(handle).await?;
        members.insert(actor.clone(), token.clone());
        Ok(Some(token))
    }

    async fn remember(&self, actor: &Actor, token: &str) {
        if matches!(actor, Actor::Member(_)) {
            self.members
                .lock()
                .await
                .insert(actor.clone(), token.to_owned());
        }
    }
}
