//! In-memory accounts, sessions and API tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tally_ports::Result;
use tally_ports::accounts::{
    Account, Accounts, ApiToken, Principal, Session, account_exists, unknown_account, unknown_token,
};
use uuid::Uuid;

#[derive(Default)]
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
            .and_then(|t| inner.principal(&t.account)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use tally_ports::accounts::Role;

    fn account(name: &str, role: Role) -> Account {
        Account {
            name: name.into(),
            role,
            password_hash: "$argon2id$fake".into(),
            created_at: Utc::now(),
        }
    }

    fn token(account: &str, hash: &str, expires_at: Option<DateTime<Utc>>) -> ApiToken {
        ApiToken {
            id: Uuid::now_v7(),
            account: account.into(),
            name: "ci".into(),
            secret_hash: hash.into(),
            created_at: Utc::now(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn an_account_name_is_taken_only_once() {
        let a = MemoryAccounts::new();
        a.create_account(account("alice", Role::Member))
            .await
            .unwrap();
        let err = a
            .create_account(account("alice", Role::Admin))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "account_exists");
        let found = a.account("alice").await.unwrap().unwrap();
        assert_eq!(found.role, Role::Member);
        assert!(a.account("bob").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_password_hash_can_be_replaced_for_an_existing_account_only() {
        let a = MemoryAccounts::new();
        a.create_account(account("admin", Role::Admin))
            .await
            .unwrap();
        a.set_password("admin", "$argon2id$new").await.unwrap();
        let found = a.account("admin").await.unwrap().unwrap();
        assert_eq!(found.password_hash, "$argon2id$new");
        let err = a.set_password("nobody", "x").await.unwrap_err();
        assert_eq!(err.code(), "unknown_account");
    }

    #[tokio::test]
    async fn a_session_signs_in_until_it_expires_or_is_deleted() {
        let a = MemoryAccounts::new();
        a.create_account(account("alice", Role::Member))
            .await
            .unwrap();
        let now = Utc::now();
        let session = Session {
            token_hash: "h1".into(),
            account: "alice".into(),
            created_at: now,
            expires_at: now + Duration::hours(1),
        };
        a.create_session(session).await.unwrap();
        let who = a.session("h1", now).await.unwrap().unwrap();
        assert_eq!((who.name.as_str(), who.role), ("alice", Role::Member));
        assert!(
            a.session("h1", now + Duration::hours(2))
                .await
                .unwrap()
                .is_none()
        );
        assert!(a.session("other", now).await.unwrap().is_none());
        a.delete_session("h1").await.unwrap();
        assert!(a.session("h1", now).await.unwrap().is_none());
        a.delete_session("h1").await.unwrap();
    }

    #[tokio::test]
    async fn a_session_needs_an_account() {
        let a = MemoryAccounts::new();
        let now = Utc::now();
        let err = a
            .create_session(Session {
                token_hash: "h".into(),
                account: "ghost".into(),
                created_at: now,
                expires_at: now,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "unknown_account");
    }

    #[tokio::test]
    async fn api_tokens_are_listed_per_account_and_stop_working_when_revoked() {
        let a = MemoryAccounts::new();
        for n in ["alice", "bob"] {
            a.create_account(account(n, Role::Member)).await.unwrap();
        }
        let now = Utc::now();
        let t1 = token("alice", "s1", None);
        let t2 = token("alice", "s2", Some(now - Duration::seconds(1)));
        let t3 = token("bob", "s3", None);
        for t in [&t1, &t2, &t3] {
            a.create_api_token(t.clone()).await.unwrap();
        }
        assert_eq!(a.api_tokens("alice").await.unwrap(), vec![t1.clone(), t2]);
        assert_eq!(a.api_token("s1", now).await.unwrap().unwrap().name, "alice");
        assert!(a.api_token("s2", now).await.unwrap().is_none(), "expired");
        let err = a.revoke_api_token("bob", t1.id).await.unwrap_err();
        assert_eq!(err.code(), "unknown_token", "not bob's token");
        a.revoke_api_token("alice", t1.id).await.unwrap();
        assert!(a.api_token("s1", now).await.unwrap().is_none());
        assert_eq!(a.api_tokens("alice").await.unwrap().len(), 1);
        let err = a
            .create_api_token(token("ghost", "s4", None))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "unknown_account");
    }
}
