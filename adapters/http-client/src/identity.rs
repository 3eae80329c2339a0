//! The identity port over the JSON API.

use crate::{TokenSource, at, client, parse_base, send};
use async_trait::async_trait;
use reqwest::{Client, Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use tally_api::paths;
use tally_ports::accounts::{Principal, Role};
use tally_ports::identity::{
    AccountView, CreatedToken, Identity, NewAccount, NewSession, NewToken, SignUp, SignedUp,
    TokenView,
};
use tally_ports::{Ctx, Error, Result};
use uuid::Uuid;

/// The identity port over HTTP. A session a sign-up or log-in opens is handed to the
/// [`TokenSource`], so that the new member's later calls carry it.
#[derive(Clone)]
pub struct HttpIdentity {
    base: Url,
    client: Client,
    tokens: Arc<dyn TokenSource>,
}

#[derive(serde::Deserialize)]
struct Listed<T> {
    items: Vec<T>,
}

#[derive(serde::Deserialize)]
struct WhoAmI {
    name: Option<String>,
    role: Option<Role>,
}

impl HttpIdentity {
    /// A client of the service at `base_url`, acting with the tokens `tokens` gives.
    ///
    /// # Errors
    /// `Invalid` for a bad URL; `Infrastructure` if the HTTP client cannot be built.
    pub fn new(base_url: &str, tokens: Arc<dyn TokenSource>) -> Result<Self> {
        Ok(Self {
            base: parse_base(base_url)?,
            client: client()?,
            tokens,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        ctx: Option<&Ctx>,
        bearer: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let mut req = self.client.request(method, at(&self.base, path));
        let token = match (bearer, ctx) {
            (Some(t), _) => Some(t.to_owned()),
            (None, Some(ctx)) => self.tokens.token(&ctx.actor).await?,
            (None, None) => None,
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(id) = ctx.and_then(|c| c.command_id) {
            req = req.header("idempotency-key", id.to_string());
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }
}

fn body<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(Error::infrastructure)
}

#[async_trait]
impl Identity for HttpIdentity {
    async fn sign_up(&self, ctx: &Ctx, s: SignUp) -> Result<SignedUp> {
        let done: SignedUp = self
            .call(
                Some(ctx),
                None,
                Method::POST,
                paths::SIGNUP,
                Some(body(&s)?),
            )
            .await?;
        self.tokens
            .remember(&done.session.actor, &done.session.token)
            .await;
        Ok(done)
    }

    async fn register_with_account(&self, ctx: &Ctx, s: SignUp) -> Result<tally_ports::Receipt> {
        // The API registers and gives an account in two calls (the pages do it in one).
        let input = tally_ports::Input::new(tally_domain::CommandKind::RegisterMember)
            .with("handle", s.handle.as_str())
            .with("display_name", s.display_name.as_str());
        let receipt: tally_ports::Receipt = self
            .call(
                Some(ctx),
                None,
                Method::POST,
                paths::MEMBERS,
                Some(Value::Object(tally_api::body::to_json(&input).1)),
            )
            .await?;
        let account = NewAccount {
            name: s.handle,
            password: s.password,
            role: Some("member".into()),
        };
        self.create_account(ctx, account).await?;
        Ok(receipt)
    }

    async fn create_account(&self, ctx: &Ctx, a: NewAccount) -> Result<AccountView> {
        self.call(
            Some(ctx),
            None,
            Method::POST,
            paths::ACCOUNTS,
            Some(body(&a)?),
        )
        .await
    }

    async fn log_in(&self, name: &str, password: &str) -> Result<NewSession> {
        let session: NewSession = self
            .call(
                None,
                None,
                Method::POST,
                paths::SESSION,
                Some(json!({"name": name, "password": password})),
            )
            .await?;
        self.tokens.remember(&session.actor, &session.token).await;
        Ok(session)
    }

    async fn log_out(&self, session_token: &str) -> Result<()> {
        let _: Value = self
            .call(
                None,
                Some(session_token),
                Method::DELETE,
                paths::SESSION,
                None,
            )
            .await?;
        Ok(())
    }

    async fn resolve(&self, credential: &str) -> Result<Principal> {
        let who: WhoAmI = self
            .call(None, Some(credential), Method::GET, paths::SESSION, None)
            .await?;
        match (who.name, who.role) {
            (Some(name), Some(role)) => Ok(Principal {
                name,
                role,
                scope: tally_ports::accounts::Scope::Account,
            }),
            _ => Err(tally_ports::Unauthorized::BadCredential.into()),
        }
    }

    async fn create_token(&self, ctx: &Ctx, t: NewToken) -> Result<CreatedToken> {
        self.call(
            Some(ctx),
            None,
            Method::POST,
            paths::TOKENS,
            Some(body(&t)?),
        )
        .await
    }

    async fn tokens(&self, ctx: &Ctx) -> Result<Vec<TokenView>> {
        let l: Listed<TokenView> = self
            .call(Some(ctx), None, Method::GET, paths::TOKENS, None)
            .await?;
        Ok(l.items)
    }

    async fn revoke_token(&self, ctx: &Ctx, id: Uuid) -> Result<()> {
        let _: Value = self
            .call(
                Some(ctx),
                None,
                Method::DELETE,
                &paths::token(&id.to_string()),
                None,
            )
            .await?;
        Ok(())
    }
}
