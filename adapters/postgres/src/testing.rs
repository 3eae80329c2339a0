//! Test provisioning: a fresh, migrated database per test, dropped afterwards.
//!
//! The server comes from `DATABASE_URL` (a role that may `CREATE DATABASE`); otherwise,
//! with the `testcontainers` feature, from a PostgreSQL container when a Docker engine
//! answers; otherwise [`TestDb::create`] panics saying what to set. It never skips.

use crate::{PgOptions, PgStore};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// What to set when there is no server to test against.
pub const NO_SERVER: &str = "PostgreSQL tests need a server: set \
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres (a server whose role may CREATE \
    DATABASE), or enable --features testcontainers with a Docker engine";

/// What to set when there is no standby to test reads on a replica against.
pub const NO_REPLICA: &str = "replica tests need a hot standby of the test server: run \
    scripts/test.sh (it creates one with pg_basebackup on port 5433 and sets \
    TALLY_REPLICA_URL), or set TALLY_REPLICA_URL=postgres://postgres@127.0.0.1:5433/postgres \
    yourself; TALLY_SKIP_REPLICA=1 leaves these tests out, knowingly";

/// The master key of personal data that tests share (services over one test database must
/// agree on it). Never a production key: production keys are made by `tally` and configured
/// as `TALLY_MASTER_KEY`.
pub const TEST_MASTER_KEY: &str =
    "7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11e7a11";

/// A fresh database on the test server, migrated, with a store connected to it.
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
    store: PgStore,
    dropped: bool,
    #[cfg(feature = "testcontainers")]
    _container: Option<testcontainers::ContainerAsync<testcontainers_modules::postgres::Postgres>>,
}

/// `url` with its database replaced by `database` (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}

impl TestDb {
    /// Creates a database with a random name on the test server, migrates it and connects
    /// a [`PgStore`] (pool of 16) to it.
    ///
    /// # Panics
    /// When there is no test server (see the module docs) or it refuses to create the
    /// database.
    pub async fn create() -> Self {
        Self::create_with(PgOptions::default()).await
    }

    /// Like [`TestDb::create`], with these pool options.
    ///
    /// # Panics
    /// As [`TestDb::create`].
    pub async fn create_with(opts: PgOptions) -> Self {
        #[cfg(feature = "testcontainers")]
        let (admin_url, container) = server().await;
        #[cfg(not(feature = "testcontainers"))]
        let admin_url = server();
        let name = format!("tally_test_{:016x}", fastrand::u64(..));
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test server ({admin_url}): {e}"));
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}\n{NO_SERVER}"));
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        let store = PgStore::connect(&url, opts)
            .await
            .unwrap_or_else(|e| panic!("connecting to {name}: {e}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrating {name}: {e}"));
        Self {
            name,
            url,
            admin_url,
            store,
            dropped: false,
            #[cfg(feature = "testcontainers")]
            _container: container,
        }
    }

    /// The store on the test database.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// The test database's URL (for another process, pool or service).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test database's URL on the hot standby of the test server (`TALLY_REPLICA_URL`,
    /// which `scripts/test.sh` sets after creating one), once the standby has it.
    ///
    /// # Panics
    /// When `TALLY_REPLICA_URL` is not set, or the standby does not have the database
    /// within 30 s.
    pub async fn replica_url(&self) -> String {
        let base = std::env::var("TALLY_REPLICA_URL").unwrap_or_else(|_| panic!("{NO_REPLICA}"));
        let url = with_database(&base, &self.name);
        // CREATE DATABASE and the migrations reach the standby when it has replayed them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let ready = match PgConnection::connect(&url).await {
                Ok(mut c) => {
                    let migrated: Result<Option<i64>, _> =
                        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
                            .fetch_one(&mut c)
                            .await;
                    let _ = c.close().await;
                    migrated.ok().flatten().is_some()
                }
                Err(_) => false,
            };
            if ready {
                return url;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the standby at {base} did not have {} within 30 s",
                self.name
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A store on the test database whose views read on the standby (see
    /// [`PgStore::with_replica`]).
    ///
    /// # Panics
    /// As [`TestDb::replica_url`], or when the standby refuses connections.
    pub async fn store_with_replica(&self) -> PgStore {
        let url = self.replica_url().await;
        PgStore::connect(&self.url, PgOptions::default())
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name))
            .with_replica(
                &url,
                &PgOptions::default(),
                std::time::Duration::from_secs(2),
            )
            .await
            .unwrap_or_else(|e| panic!("connecting to the standby ({url}): {e}"))
    }

    /// Inserts events as raw rows, as an older build stored them (see [`insert_raw`]).
    pub async fn insert_raw(&self, events: &[tally_ports::RecordedEvent]) {
        insert_raw(&self.store, events).await;
    }

    /// The test database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the pool and drops the database.
    ///
    /// # Panics
    /// When the server refuses to drop it.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        drop_database(&self.admin_url, &self.name)
            .await
            .unwrap_or_else(|e| panic!("dropping {}: {e}", self.name));
        self.dropped = true;
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Best effort, and synchronous (Drop cannot wait for a future): a thread with its
        // own runtime, so that this works inside and outside of a runtime alike.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropping = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(drop_database(&admin_url, &name)).ok()
        });
        let _ = dropping.join();
    }
}

#[cfg(not(feature = "testcontainers"))]
fn server() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("{NO_SERVER}"))
}

#[cfg(feature = "testcontainers")]
async fn server() -> (
    String,
    Option<testcontainers::ContainerAsync<testcontainers_modules::postgres::Postgres>>,
) {
    use testcontainers::ImageExt;
    use testcontainers::runners::AsyncRunner;
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return (url, None);
    }
    let container = testcontainers_modules::postgres::Postgres::default()
        .with_tag("15-alpine")
        .start()
        .await
        .unwrap_or_else(|e| panic!("no Docker engine answered ({e}).\n{NO_SERVER}"));
    let host = container
        .get_host()
        .await
        .unwrap_or_else(|e| panic!("container host: {e}"));
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .unwrap_or_else(|e| panic!("container port: {e}"));
    (
        format!("postgres://postgres:postgres@{host}:{port}/postgres"),
        Some(container),
    )
}

/// Inserts events as raw rows, as an older build stored them: no contract check, no
/// command record, no cache row (to test how old payloads read). Each event's stream
/// row is created or advanced to its version.
///
/// # Panics
/// When the server refuses a row.
pub async fn insert_raw(store: &PgStore, events: &[tally_ports::RecordedEvent]) {
    let mut tx = store.pool().begin().await.expect("a transaction");
    for e in events {
        let version = i64::try_from(e.version).expect("a version in range");
        let (position,): (i64,) = sqlx::query_as(
            "INSERT INTO events (stream, version, event_type, schema_version, payload, \
             actor, event_id, command_id, correlation_id, causation_id, time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING position",
        )
        .bind(e.stream.to_string())
        .bind(version)
        .bind(&e.event_type)
        .bind(i32::try_from(e.schema_version).expect("a schema version in range"))
        .bind(&e.payload)
        .bind(e.actor.to_string())
        .bind(e.event_id)
        .bind(e.command_id)
        .bind(e.correlation_id)
        .bind(e.causation_id)
        .bind(e.time)
        .fetch_one(&mut *tx)
        .await
        .expect("an event row");
        sqlx::query(
            "INSERT INTO streams (stream, kind, version, created_at, created_position) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version",
        )
        .bind(e.stream.to_string())
        .bind(e.stream.kind().as_str())
        .bind(version)
        .bind(e.time)
        .bind(position)
        .execute(&mut *tx)
        .await
        .expect("a stream row");
    }
    tx.commit().await.expect("committed");
}

/// A full `pg_dump` of the database at `url` (plain SQL, data included), as bytes: what a
/// backup of it would hold.
///
/// # Panics
/// When `pg_dump` is missing (install `postgresql-client`) or fails.
pub fn pg_dump(url: &str) -> Vec<u8> {
    let out = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--dbname", url])
        .output()
        .unwrap_or_else(|e| {
            panic!("pg_dump could not run ({e}): apt-get install postgresql-client")
        });
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn urls_get_another_database() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
    }
}
