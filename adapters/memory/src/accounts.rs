//! In-memory accounts, sessions and API tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tally_ports::Result;
use tally_ports::accounts::{
    Account, Accounts, ApiToken, Principal, Scope, Session, account_exists, unknown_account,
    unknown_token,
};
use uuid::Uuid;

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<String, Account>,
    /// By token hash.
    sessions: HashMap<String, Session>,
    /// In creation order (a handful per account).
    tokens: Vec<ApiToken>,
}

impl Inner {
    fn principal(&self, name: &str) -> Option<Principal> {
        self.accounts.get(name).map(|a| Principal {
            name: a.name.clone(),
            role: a.role,
            scope: Scope::Account,
        })
    }
}

/// Accounts kept in memory (tests, the demo, the default storage). Cheap to clone: clones
/// share the same data.
#[derive(Clone, Default)]
pub struct MemoryAccounts {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryAccounts {
    /// Every account, session and token, printed (for tests that search a dump).
    pub fn dump(&self) -> String {
        format!("{:#?}", *self.lock())
    }

    /// No accounts.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single insert or remove, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Accounts for MemoryAccounts {
    async fn create_account(&self, account: Account) -> Result<()> {
        let mut inner = self.lock();
        if inner.accounts.contains_key(&account.name) {
            return Err(account_exists(&account.name));
        }
        inner.accounts.insert(account.name.clone(), account);
        Ok(())
    }

    async fn account(&self, name: &str) -> Result<Option<Account>> {
        Ok(self.lock().accounts.get(name).cloned())
    }

    async fn member_accounts(&self, handles: &[String]) -> Result<Vec<String>> {
        let inner = self.lock();
        Ok(handles
            .iter()
            .filter(|h| {
                inner
                    .accounts
                    .get(h.as_str())
                    .is_some_and(|a| a.role == tally_ports::accounts::Role::Member)
            })
            .cloned()
            .collect())
    }

    async fn set_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let mut inner = self.lock();
        let a = inner
            .accounts
            .get_mut(name)
            .ok_or_else(|| unknown_account(name))?;
        password_hash.clone_into(&mut a.password_hash);
        Ok(())
    }

    async fn create_session(&self, session: Session) -> Result<()> {
        let mut inner = self.lock();
        if !inner.accounts.contains_key(&session.account) {
            return Err(unknown_account(&session.account));
        }
        if inner.sessions.contains_key(&session.token_hash) {
            return Err(tally_ports::Error::infrastructure(
                "duplicate session token",
            ));
        }
        inner.sessions.insert(session.token_hash.clone(), session);
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
        let inner = self.lock();
        Ok(inner
            .sessions
            .get(token_hash)
            .filter(|s| s.expires_at > now)
            .and_then(|s| inner.principal(&s.account)))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.lock().sessions.remove(token_hash);
        Ok(())
    }

    async fn forget_account(&self, name: &str) -> Result<()> {
        let mut inner = self.lock();
        if inner
            .accounts
            .get(name)
            .is_some_and(|a| a.role == tally_ports::accounts::Role::Member)
        {
            inner.accounts.remove(name);
            inner.sessions.retain(|_, s| s.account != name);
            inner.tokens.retain(|t| t.account != name);
        }
        Ok(())
    }

    async fn create_api_token(&self, token: ApiToken) -> Result<()> {
        let mut inner = self.lock();
        if !inner.accounts.contains_key(&token.account) {
            return Err(unknown_account(&token.account));
        }
        inner.tokens.push(token);
        Ok(())
    }

    async fn api_token(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
        let inner = self.lock();
        Ok(inner
            .tokens
            .iter()
            .find(|t| t.secret_hash == secret_hash)
            .filter(|t| t.expires_at.is_none_or(|e| e > now))
            .and_then(|t| {
                inner.principal(&t.account).map(|p| Principal {
                    scope: t.scope,
                    ..p
                })
            }))
    }

    async fn api_tokens(&self, account: &str) -> Result<Vec<ApiToken>> {
        Ok(self
            .lock()
            .tokens
            .iter()
            .filter(|t| t.account == account)
            .cloned()
            .collect())
    }

    async fn revoke_api_token(&self, account: &str, id: Uuid) -> Result<()> {
        let mut inner = self.lock();
        let i = inner
            .tokens
            .iter()
            .position(|t| t.id == id && t.account == account)
            .ok_or_else(|| unknown_token(id))?;
        inner.tokens.remove(i);
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}
