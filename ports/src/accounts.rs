//! The accounts port: who may log in, their sessions and API tokens.
//!
//! Plain CRUD, not event-sourced: this is the source of truth for authentication only. The
//! event history records which actor did each thing; it never records log-ins.
//!
//! Secrets never reach a store in the clear. Callers hash passwords (Argon2, a PHC string)
//! and session and API token secrets (a fast hash is enough for long random secrets) before
//! calling this port, so an implementation only stores and compares strings. Every method is
//! one simple statement against a table, so a SQL implementation stays straightforward.

use crate::error::{Conflict, Error, NotFound, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An administrator: the account name is the admin's name.
    Admin,
    /// A member: the account name is the member's handle.
    Member,
}

impl Role {
    /// The role as a word: `admin` or `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Parses `admin` or `member`.
    ///
    /// # Errors
    /// `invalid_role` otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(Error::invalid(
                "role",
                "invalid_role",
                "a role is 'admin' or 'member'",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account that may log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The unique name: a member's handle, or an admin's name.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// The password's hash (a PHC string such as `$argon2id$...`).
    pub password_hash: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Scope {
    /// Everything its account may do (sessions, and API tokens by default).
    #[default]
    #[serde(rename = "account")]
    Account,
    /// Read the history feed (and the published event schemas), nothing else: a service
    /// account for a peripheral service. Only admins create them.
    #[serde(rename = "feed:read")]
    FeedRead,
}

impl Scope {
    /// The scope as a word: `account` or `feed:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::FeedRead => "feed:read",
        }
    }

    /// Parses `account` or `feed:read`.
    ///
    /// # Errors
    /// `invalid_scope` otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "account" => Ok(Self::Account),
            "feed:read" => Ok(Self::FeedRead),
            _ => Err(Error::invalid(
                "scope",
                "invalid_scope",
                "a token's scope is 'account' or 'feed:read'",
            )),
        }
    }
}

/// A signed-in identity, as a session or an API token resolves to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account's name.
    pub name: String,
    /// The account's role.
    pub role: Role,
    /// What the credential may do.
    #[serde(default)]
    pub scope: Scope,
}

/// A log-in session, found by the hash of its opaque random token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The hash of the session token (the token itself is only ever held by the client).
    pub token_hash: String,
    /// The account signed in.
    pub account: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// An API token, as stored and listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// The token's id (to list and revoke it).
    pub id: Uuid,
    /// The account it acts as.
    pub account: String,
    /// A label its owner chose, e.g. `ci`.
    pub name: String,
    /// The hash of the secret.
    pub secret_hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops being valid, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do.
    pub scope: Scope,
}

/// Accounts, sessions and API tokens.
///
/// Lookups by secret take `now` so that expired sessions and tokens are never returned, and
/// so that implementations need no clock of their own.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Creates an account.
    ///
    /// # Errors
    /// `Conflict` with code `account_exists` when the name is taken; `Infrastructure` when
    /// storage fails.
    async fn create_account(&self, account: Account) -> Result<()>;

    /// The account with this name, if any.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn account(&self, name: &str) -> Result<Option<Account>>;

    /// Which of these handles have a member account (for the admins' list of members). The
    /// provided implementation asks [`Accounts::account`] for each; a store answers in one
    /// lookup.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn member_accounts(&self, handles: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for h in handles {
            if let Some(a) = self.account(h).await?
                && a.role == Role::Member
            {
                out.push(a.name);
            }
        }
        Ok(out)
    }

    /// Replaces an account's password hash.
    ///
    /// # Errors
    /// `NotFound` with code `unknown_account`; `Infrastructure` when storage fails.
    async fn set_password(&self, name: &str, password_hash: &str) -> Result<()>;

    /// Stores a new session.
    ///
    /// # Errors
    /// `NotFound` with code `unknown_account` when the account does not exist;
    /// `Infrastructure` when storage fails (including a token hash that is already stored).
    async fn create_session(&self, session: Session) -> Result<()>;

    /// Who a session token (by its hash) signs in, unless the session expired at `now`.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>>;

    /// Deletes a session (logging out). Deleting an unknown session is not an error.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Stores a new API token.
    ///
    /// # Errors
    /// `NotFound` with code `unknown_account` when the account does not exist;
    /// `Infrastructure` when storage fails.
    async fn create_api_token(&self, token: ApiToken) -> Result<()>;

    /// Who an API token (by the hash of its secret) acts as, unless it expired at `now` or
    /// was revoked.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn api_token(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>>;

    /// An account's API tokens (revoked ones are gone), oldest first.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn api_tokens(&self, account: &str) -> Result<Vec<ApiToken>>;

    /// Revokes (deletes) one of an account's API tokens.
    ///
    /// # Errors
    /// `NotFound` with code `unknown_token` when the account has no such token;
    /// `Infrastructure` when storage fails.
    async fn revoke_api_token(&self, account: &str, id: Uuid) -> Result<()>;

    /// Deletes a forgotten member's account with its sessions and API tokens: nobody signs
    /// in as them again, and their handle cannot be registered again (its stream stays).
    /// Deleting an account that is not there is not an error.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn forget_account(&self, name: &str) -> Result<()>;

    /// Checks that storage answers.
    ///
    /// # Errors
    /// `Infrastructure` when it does not.
    async fn ping(&self) -> Result<()>;
}

/// `Conflict` for a name that is taken (for implementations).
pub fn account_exists(name: &str) -> Error {
    Conflict::AccountExists {
        name: name.to_owned(),
    }
    .into()
}

/// `NotFound` for an account that does not exist (for implementations).
pub fn unknown_account(name: &str) -> Error {
    NotFound::UnknownAccount {
        name: name.to_owned(),
    }
    .into()
}

/// `NotFound` for an API token that does not exist (for implementations).
pub fn unknown_token(id: Uuid) -> Error {
    NotFound::UnknownToken { id }.into()
}
