//! The accounts port on PostgreSQL: accounts, sessions and API tokens, one statement each.
//!
//! It runs on the [`PgStore`]'s connections (the ones it keeps ready, then its pool), never
//! beside them: a second user of the same pool would wait for connections the store keeps.

use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Row, postgres::PgRow};
use tally_ports::accounts::{
    Account, Accounts, ApiToken, Principal, Role, Scope, Session, account_exists, unknown_account,
    unknown_token,
};
use tally_ports::{Error, Result};
use uuid::Uuid;

/// Accounts, sessions and API tokens in PostgreSQL (tables from the embedded migrations).
#[derive(Debug, Clone)]
pub struct PgAccounts {
    store: PgStore,
}

impl PgAccounts {
    /// Accounts in the store's database (migrated), on the store's connections.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }

    /// Who a secret's hash (a session's or an API token's) signs in, if it is valid `now`.
    async fn principal_by(
        &self,
        what: &str,
        sql: &'static str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(sql)
                    .bind(hash)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed(what, "", &e))?
            .map(|r| principal(&r))
            .transpose()
    }
}

/// Maps a driver error at this seam: unique and foreign-key violations are the port's
/// `account_exists` and `unknown_account`; anything else is an infrastructure failure.
fn failed(what: &str, name: &str, e: &sqlx::Error) -> Error {
    match e.as_database_error().and_then(|d| d.code()).as_deref() {
        Some("23505") => account_exists(name),
        Some("23503") => unknown_account(name),
        _ => Error::infrastructure(format!("{what}: {e}")),
    }
}

/// Like [`failed`], for rows keyed by a secret's hash: a duplicate hash is not a taken name.
fn secret_failed(what: &str, duplicate: &str, account: &str, e: &sqlx::Error) -> Error {
    match e.as_database_error().and_then(|d| d.code()).as_deref() {
        Some("23505") => Error::infrastructure(duplicate),
        _ => failed(what, account, e),
    }
}

fn principal(row: &PgRow) -> Result<Principal> {
    let role: String = row.try_get("role").map_err(Error::infrastructure)?;
    // Sessions select no scope: they may do everything their account may.
    let scope = match row.try_get::<String, _>("scope") {
        Ok(s) => Scope::parse(&s)?,
        Err(_) => Scope::Account,
    };
    Ok(Principal {
        name: row.try_get("name").map_err(Error::infrastructure)?,
        role: Role::parse(&role)?,
        scope,
    })
}

fn api_token(row: &PgRow) -> Result<ApiToken> {
    let get = |e: sqlx::Error| Error::infrastructure(format!("reading an API token: {e}"));
    Ok(ApiToken {
        id: row.try_get("id").map_err(get)?,
        account: row.try_get("account").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        secret_hash: row.try_get("secret_hash").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        scope: Scope::parse(&row.try_get::<String, _>("scope").map_err(get)?)?,
    })
}

#[async_trait]
impl Accounts for PgAccounts {
    async fn create_account(&self, a: Account) -> Result<()> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(
            "INSERT INTO accounts (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&a.name)
        .bind(a.role.as_str())
        .bind(&a.password_hash)
        .bind(a.created_at)
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("creating an account", &a.name, &e))?;
        Ok(())
    }

    async fn account(&self, name: &str) -> Result<Option<Account>> {
        let row = self
            .store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(
                    "SELECT name, role, password_hash, created_at FROM accounts WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&mut *conn)
                .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("reading an account", name, &e))?;
        row.map(|r| {
            let p = principal(&r)?;
            Ok(Account {
                name: p.name,
                role: p.role,
                password_hash: r.try_get("password_hash").map_err(Error::infrastructure)?,
                created_at: r.try_get("created_at").map_err(Error::infrastructure)?,
            })
        })
        .transpose()
    }

    async fn member_accounts(&self, handles: &[String]) -> Result<Vec<String>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query_scalar(
                    "SELECT name FROM accounts WHERE name = ANY($1::text[]) AND role = 'member'",
                )
                .bind(handles)
                .fetch_all(&mut *conn)
                .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("finding member accounts", "", &e))
    }

    async fn set_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let done = self
            .store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query("UPDATE accounts SET password_hash = $2 WHERE name = $1")
                    .bind(name)
                    .bind(password_hash)
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("setting a password", name, &e))?;
        if done.rows_affected() == 0 {
            return Err(unknown_account(name));
        }
        Ok(())
    }

    async fn create_session(&self, s: Session) -> Result<()> {
        // The account's expired sessions go in the same statement, so the table stays small.
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(
                    "WITH gone AS (DELETE FROM sessions WHERE account = $2 AND expires_at <= $3)
             INSERT INTO sessions (token_hash, account, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
                )
                .bind(&s.token_hash)
                .bind(&s.account)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&mut *conn)
                .await;
                (conn, r)
            })
            .await
            .map_err(|e| {
                secret_failed(
                    "creating a session",
                    "duplicate session token",
                    &s.account,
                    &e,
                )
            })?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
        self.principal_by(
            "reading a session",
            "SELECT a.name, a.role FROM sessions s JOIN accounts a ON a.name = s.account
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            token_hash,
            now,
        )
        .await
    }

    async fn forget_account(&self, name: &str) -> Result<()> {
        // Sessions and tokens go with it (ON DELETE CASCADE). The command that forgot the
        // member already did this in its transaction: usually there is nothing left.
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query("DELETE FROM accounts WHERE name = $1 AND role = 'member'")
                    .bind(name)
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("deleting a forgotten member's account", "", &e))?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("deleting a session", "", &e))?;
        Ok(())
    }

    async fn create_api_token(&self, t: ApiToken) -> Result<()> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(
            "INSERT INTO api_tokens (id, account, name, secret_hash, created_at, expires_at, scope)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(t.id)
        .bind(&t.account)
        .bind(&t.name)
        .bind(&t.secret_hash)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.scope.as_str())
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| {
                secret_failed(
                    "creating an API token",
                    "duplicate API token",
                    &t.account,
                    &e,
                )
            })?;
        Ok(())
    }

    async fn api_token(&self, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
        self.principal_by(
            "reading an API token",
            "SELECT a.name, a.role, t.scope FROM api_tokens t JOIN accounts a ON a.name = t.account
             WHERE t.secret_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)",
            secret_hash,
            now,
        )
        .await
    }

    async fn api_tokens(&self, account: &str) -> Result<Vec<ApiToken>> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query(
                    "SELECT id, account, name, secret_hash, created_at, expires_at, scope FROM api_tokens
             WHERE account = $1 ORDER BY created_at, id",
                )
                .bind(account)
                .fetch_all(&mut *conn)
                .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("listing API tokens", account, &e))?
            .iter()
            .map(api_token)
            .collect()
    }

    async fn revoke_api_token(&self, account: &str, id: Uuid) -> Result<()> {
        let done = self
            .store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND account = $2")
                    .bind(id)
                    .bind(account)
                    .execute(&mut *conn)
                    .await;
                (conn, r)
            })
            .await
            .map_err(|e| failed("revoking an API token", account, &e))?;
        if done.rows_affected() == 0 {
            return Err(unknown_token(id));
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.store
            .reads
            .once(|mut conn| async {
                let r = sqlx::query("SELECT 1").execute(&mut *conn).await;
                (conn, r)
            })
            .await
            .map_err(|e| Error::infrastructure(format!("accounts storage: {e}")))?;
        Ok(())
    }
}
