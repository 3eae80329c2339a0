//! Data keys in PostgreSQL, in their own table (`member_keys`), apart from the events (see
//! [`tally_ports::keys`]).

use crate::PgStore;
use async_trait::async_trait;
use tally_ports::keys::{KeyStore, WrappedKey};
use tally_ports::{Error, Result};

/// Wrapped data keys in the store's database.
#[derive(Debug, Clone)]
pub struct PgKeys {
    store: PgStore,
}

impl PgKeys {
    /// Keys in the store's database (migrated).
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }
}

fn failed(what: &str, e: &sqlx::Error) -> Error {
    Error::infrastructure(format!("{what}: {e}"))
}

#[async_trait]
impl KeyStore for PgKeys {
    async fn key(&self, subject: &str) -> Result<Option<WrappedKey>> {
        let row: Option<(String, Vec<u8>)> =
            sqlx::query_as("SELECT master, wrapped FROM member_keys WHERE subject = $1")
                .bind(subject)
                .fetch_optional(self.store.pool())
                .await
                .map_err(|e| failed("reading a data key", &e))?;
        Ok(row.map(|(master, wrapped)| WrappedKey { master, wrapped }))
    }

    async fn add_key(&self, subject: &str, key: WrappedKey) -> Result<WrappedKey> {
        // Inserted unless there is one; either way, the one kept is returned. `DO UPDATE`
        // (a no-op) rather than `DO NOTHING` plus a second SELECT: that SELECT runs in the
        // statement's snapshot, taken before a concurrent insert committed, so it would find
        // no row; `DO UPDATE` waits for that insert and returns the row it kept.
        let (master, wrapped): (String, Vec<u8>) = sqlx::query_as(
            "INSERT INTO member_keys (subject, master, wrapped) VALUES ($1, $2, $3)
             ON CONFLICT (subject) DO UPDATE SET subject = member_keys.subject
             RETURNING master, wrapped",
        )
        .bind(subject)
        .bind(&key.master)
        .bind(&key.wrapped)
        .fetch_one(self.store.pool())
        .await
        .map_err(|e| failed("keeping a data key", &e))?;
        Ok(WrappedKey { master, wrapped })
    }

    async fn delete_key(&self, subject: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM member_keys WHERE subject = $1")
            .bind(subject)
            .execute(self.store.pool())
            .await
            .map_err(|e| failed("deleting a data key", &e))?;
        Ok(r.rows_affected() > 0)
    }

    async fn keys(&self) -> Result<Vec<(String, WrappedKey)>> {
        let rows: Vec<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT subject, master, wrapped FROM member_keys ORDER BY subject")
                .fetch_all(self.store.pool())
                .await
                .map_err(|e| failed("listing data keys", &e))?;
        Ok(rows
            .into_iter()
            .map(|(s, master, wrapped)| (s, WrappedKey { master, wrapped }))
            .collect())
    }

    async fn rewrap(&self, keys: &[(String, WrappedKey)]) -> Result<()> {
        let subjects: Vec<&str> = keys.iter().map(|(s, _)| s.as_str()).collect();
        let masters: Vec<&str> = keys.iter().map(|(_, k)| k.master.as_str()).collect();
        let wrapped: Vec<&[u8]> = keys.iter().map(|(_, k)| k.wrapped.as_slice()).collect();
        // One statement: all or none.
        sqlx::query(
            "UPDATE member_keys k SET master = r.master, wrapped = r.wrapped
             FROM unnest($1::text[], $2::text[], $3::bytea[]) AS r(subject, master, wrapped)
             WHERE k.subject = r.subject",
        )
        .bind(&subjects)
        .bind(&masters)
        .bind(&wrapped)
        .execute(self.store.pool())
        .await
        .map_err(|e| failed("re-wrapping data keys", &e))?;
        Ok(())
    }
}
