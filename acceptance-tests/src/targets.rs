//! The targets the scenarios run against: the same `.feature` files, different backends.
//!
//! A target builds a fresh backend for every scenario (cucumber runs scenarios concurrently,
//! and a scenario must never see another one's members or jobs), and may tear it down when the
//! scenario ends. To add a target (PostgreSQL, the HTTP server, a browser), add a variant to
//! [`Target`] and a case to each `match` below; no feature file changes.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tally_ports::accounts::Accounts;
use tally_ports::driven::{Clock, ReportStore, SystemClock};
use tally_ports::identity::{Identity, IdentityService, PasswordCost};
use tally_ports::keys::{DataKeys, MasterKey};
use tally_ports::reports::Follower;
use tally_ports::{RecordedEvent, Tally, TallyService};
use tally_postgres::testing::TestDb;
use tally_postgres::{PgAccounts, PgOptions};

/// Where the scenarios run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The domain with the in-memory adapters, in process: milliseconds per scenario.
    Memory,
    /// Through the HTTP client adapter, against the real web service spawned in process on a
    /// free port, with in-memory storage.
    Http,
    /// The service over the PostgreSQL adapter, in process: a fresh database per scenario on
    /// the server at `DATABASE_URL`.
    Postgres,
    /// The web service with PostgreSQL storage, through the HTTP client adapter.
    HttpPostgres,
    /// The service over PostgreSQL with its views read on a hot standby (streaming
    /// replication, `TALLY_REPLICA_URL`), in process: read-your-writes must hold.
    PostgresReplica,
    /// Through the HTML pages, clicked in headless Chromium over WebDriver, against the web
    /// service spawned in process on a free port, with PostgreSQL storage
    /// (`TALLY_BROWSER_STORAGE=memory`: in memory). One scenario at a time; scenarios about
    /// machine concurrency (`@concurrency`) do not run here.
    Browser,
}

impl Target {
    /// Every known target.
    pub const ALL: &'static [Target] = &[
        Target::Memory,
        Target::Http,
        Target::Postgres,
        Target::HttpPostgres,
        Target::PostgresReplica,
        Target::Browser,
    ];

    /// The target's name, as `TALLY_TARGET` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Http => "http",
            Self::Postgres => "postgres",
            Self::HttpPostgres => "http-postgres",
            Self::PostgresReplica => "postgres-replica",
            Self::Browser => "browser",
        }
    }

    /// Tags whose scenarios this target does not run (a browser cannot race 30 commands, so
    /// it excludes `concurrency`). Written without the `@`.
    pub fn excluded_tags(self) -> &'static [&'static str] {
        match self {
            Self::Memory
            | Self::Http
            | Self::Postgres
            | Self::HttpPostgres
            | Self::PostgresReplica => &[],
            Self::Browser => &["concurrency"],
        }
    }

    /// How many scenarios may run at once (`None`: cucumber's default).
    pub fn max_concurrent_scenarios(self) -> Option<usize> {
        match self {
            Self::Memory | Self::Http => None,
            // Each scenario has its own database and pool: bound the server's connections.
            Self::Postgres | Self::HttpPostgres | Self::PostgresReplica => Some(4),
            // One browser: parallel scenarios would only queue for it (and are slower on
            // two cores).
            Self::Browser => Some(1),
        }
    }

    /// Builds a fresh, empty backend for one scenario.
    ///
    /// # Errors
    /// When the backend cannot be started (the scenario then fails in its `before` hook).
    pub async fn backend(self) -> Result<Backend> {
        match self {
            Self::Memory => {
                let (service, store) = tally_memory::service();
                let service = service.with_keys(memory_keys());
                let accounts = Arc::new(tally_memory::MemoryAccounts::new());
                let kept = Kept::over(service, Arc::new(store.clone()), accounts.clone());
                Ok(kept.backend(
                    Backend::in_process(kept.service.clone(), accounts)
                        .with_past(memory_past(store)),
                ))
            }
            Self::Http => {
                let (service, store) = tally_memory::service();
                let service = service.with_keys(memory_keys());
                let accounts = Arc::new(tally_memory::MemoryAccounts::new());
                let kept = Kept::over(service, Arc::new(store.clone()), accounts.clone());
                let http = crate::http::backend(kept.service.clone(), accounts).await?;
                Ok(kept.backend(http.with_past(memory_past(store))))
            }
            Self::Postgres => {
                let (db, service) = postgres().await;
                let accounts = Arc::new(PgAccounts::new(db.store().clone()));
                let past = pg_past(db.store().clone());
                let kept = Kept::over(service, Arc::new(db.store().clone()), accounts.clone());
                Ok(kept
                    .backend(Backend::in_process(kept.service.clone(), accounts).with_past(past))
                    .then(drop_db(db)))
            }
            Self::PostgresReplica => {
                let db = TestDb::create_with(PgOptions {
                    pool_size: 8,
                    ..PgOptions::default()
                })
                .await;
                let store = db.store_with_replica().await;
                let service = store.service().with_keys(pg_keys(&store));
                let accounts = Arc::new(PgAccounts::new(store.clone()));
                let past = pg_past(store.clone());
                let kept = Kept::over(service, Arc::new(store), accounts.clone());
                Ok(kept
                    .backend(Backend::in_process(kept.service.clone(), accounts).with_past(past))
                    .then(drop_db(db)))
            }
            Self::HttpPostgres => {
                let (db, service) = postgres().await;
                let accounts = Arc::new(PgAccounts::new(db.store().clone()));
                let past = pg_past(db.store().clone());
                let kept = Kept::over(service, Arc::new(db.store().clone()), accounts.clone());
                let http = crate::http::backend(kept.service.clone(), accounts).await?;
                Ok(kept.backend(http.with_past(past)).then(drop_db(db)))
            }
            Self::Browser
                if std::env::var("TALLY_BROWSER_STORAGE").is_ok_and(|s| s == "memory") =>
            {
                let (service, store) = tally_memory::service();
                let service = service.with_keys(memory_keys());
                let accounts = Arc::new(tally_memory::MemoryAccounts::new());
                let kept = Kept::over(service, Arc::new(store.clone()), accounts.clone());
                let browser = crate::browser::backend(kept.service.clone(), accounts).await?;
                Ok(kept.backend(browser.with_past(memory_past(store))))
            }
            Self::Browser => {
                let (db, service) = postgres().await;
                let accounts = Arc::new(PgAccounts::new(db.store().clone()));
                let past = pg_past(db.store().clone());
                let kept = Kept::over(service, Arc::new(db.store().clone()), accounts.clone());
                let browser = crate::browser::backend(kept.service.clone(), accounts).await?;
                Ok(kept.backend(browser.with_past(past)).then(drop_db(db)))
            }
        }
    }

    /// Whether this target runs a scenario with these tags (Feature, Rule and Scenario tags
    /// together, without the `@`).
    pub fn runs<'a>(self, tags: impl IntoIterator<Item = &'a String>) -> bool {
        let excluded = self.excluded_tags();
        !tags.into_iter().any(|t| excluded.contains(&t.as_str()))
    }

    /// Parses one target name.
    ///
    /// # Errors
    /// For an unknown name, listing the known ones.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        match Self::ALL.iter().find(|t| t.name() == name) {
            Some(t) => Ok(*t),
            None => bail!(
                "unknown acceptance target {name:?}; known targets: {}",
                Self::known()
            ),
        }
    }

    /// Parses a comma-separated list of targets (`memory,postgres`); an empty or absent list
    /// means `memory`.
    ///
    /// # Errors
    /// For an unknown name, listing the known ones.
    pub fn parse_list(list: Option<&str>) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for name in list.unwrap_or_default().split(',') {
            if name.trim().is_empty() {
                continue;
            }
            let t = Self::parse(name)?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            out.push(Self::Memory);
        }
        Ok(out)
    }

    fn known() -> String {
        Self::ALL
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A scenario's clock: the system's, moved on by the time the scenario lets pass ("25 hours
/// pass"), and starting at 09:00 UTC today, so that a scenario's day does not end under it.
pub struct ScenarioClock {
    system: SystemClock,
    offset_ms: AtomicI64,
}

impl ScenarioClock {
    fn new() -> Self {
        let now = Utc::now();
        let nine = now
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        Self {
            system: SystemClock::default(),
            offset_ms: AtomicI64::new((nine - now).num_milliseconds()),
        }
    }

    /// Lets `d` pass.
    pub fn advance(&self, d: chrono::Duration) {
        self.offset_ms
            .fetch_add(d.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for ScenarioClock {
    fn now(&self) -> DateTime<Utc> {
        self.system.now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A scenario's service with its clock, and the reports kept by a follower of its history
/// in the background (as `tally serve` runs one), stopped with the scenario.
struct Kept {
    service: Arc<TallyService>,
    clock: Arc<ScenarioClock>,
    follower: tokio::task::AbortHandle,
}

impl Kept {
    fn over(
        service: TallyService,
        reports: Arc<dyn ReportStore>,
        accounts: Arc<dyn Accounts>,
    ) -> Self {
        let clock = Arc::new(ScenarioClock::new());
        let service = service
            .with_clock(clock.clone())
            .with_reports(reports.clone())
            .with_accounts(accounts);
        let follower = Follower::new(service.store().clone(), reports, 1000);
        let follower = tokio::spawn(follower.run(std::time::Duration::from_millis(10)));
        Self {
            service: Arc::new(service),
            clock,
            follower: follower.abort_handle(),
        }
    }

    /// `b`, with this clock, stopping the follower first when it is torn down.
    fn backend(&self, b: Backend) -> Backend {
        let follower = self.follower.clone();
        let stop: Teardown = Box::new(move || {
            Box::pin(async move {
                follower.abort();
                Ok(())
            })
        });
        let mut b = b.with_clock(self.clock.clone());
        // The follower stops before the rest (a server, a database) goes.
        let rest = b.teardown.take();
        let b = Backend {
            teardown: Some(stop),
            ..b
        };
        match rest {
            Some(rest) => b.then(rest),
            None => b,
        }
    }
}

/// A fresh, migrated database (from `DATABASE_URL`; the test provisioning fails with what to
/// set when there is no server) and a service over it.
async fn postgres() -> (TestDb, TallyService) {
    let db = TestDb::create_with(PgOptions {
        pool_size: 8,
        ..PgOptions::default()
    })
    .await;
    let service = db.store().service().with_keys(pg_keys(db.store()));
    (db, service)
}

/// Keys of personal data in memory, under a master key made now.
fn memory_keys() -> Arc<DataKeys> {
    let master = MasterKey::generate().expect("randomness for a master key");
    Arc::new(DataKeys::new(
        Arc::new(tally_memory::MemoryKeys::new()),
        master,
    ))
}

/// Keys of personal data in the test database, under the tests' master key.
fn pg_keys(store: &tally_postgres::PgStore) -> Arc<DataKeys> {
    let master = MasterKey::parse(tally_postgres::testing::TEST_MASTER_KEY).expect("a master key");
    Arc::new(DataKeys::new(
        Arc::new(tally_postgres::PgKeys::new(store.clone())),
        master,
    ))
}

/// Old events straight into a memory store.
fn memory_past(store: tally_memory::MemoryStore) -> PastWriter {
    Arc::new(move |events| {
        let plan = raw_plan(events);
        store
            .insert_as_stored(plan)
            .expect("old events follow their streams");
        Box::pin(async {})
    })
}

/// Old events as raw rows of a PostgreSQL store.
fn pg_past(store: tally_postgres::PgStore) -> PastWriter {
    Arc::new(move |events| {
        let store = store.clone();
        Box::pin(async move {
            tally_postgres::testing::insert_raw(&store, &events).await;
            // Written behind the store's back: its views wait for a standby to have it.
            store.wrote_elsewhere();
        })
    })
}

/// One stream's events, appended as they are.
fn raw_plan(events: Vec<RecordedEvent>) -> tally_ports::driven::AppendPlan {
    let first = events.first().map_or(1, |e| e.version);
    let stream = events.first().map(|e| e.stream.clone());
    tally_ports::driven::AppendPlan {
        streams: stream
            .into_iter()
            .map(|stream| tally_ports::driven::StreamAppend {
                stream,
                expected_version: first - 1,
                events: events.clone(),
            })
            .collect(),
        command: None,
        cache: Vec::new(),
        outbox: Vec::new(),
        erase: Vec::new(),
    }
}

fn drop_db(db: TestDb) -> Teardown {
    Box::new(move || {
        Box::pin(async move {
            // `cleanup`'s future is not provably `Send` (sqlx's executor lifetimes), so it runs
            // on a blocking thread of this runtime instead of inside a boxed `Send` future.
            let rt = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || rt.block_on(db.cleanup()))
                .await
                .map_err(|e| anyhow::anyhow!("dropping the scenario's database: {e}"))
        })
    })
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a target's teardown does, once, after its scenario (an `async` Drop).
pub type Teardown = Box<dyn FnOnce() -> BoxFuture<'static, Result<()>> + Send>;

/// Writes events straight into a backend's storage as an older build of Tally stored them
/// (raw rows, old schema versions), for scenarios about reading old histories.
pub type PastWriter = Arc<dyn Fn(Vec<RecordedEvent>) -> BoxFuture<'static, ()> + Send + Sync>;

/// One scenario's backend: the driving ports, and how to tear them down.
pub struct Backend {
    tally: Arc<dyn Tally>,
    identity: Arc<dyn Identity>,
    teardown: Option<Teardown>,
    past: Option<PastWriter>,
    clock: Option<Arc<ScenarioClock>>,
}

impl Backend {
    /// A backend that needs no teardown.
    pub fn new(tally: Arc<dyn Tally>, identity: Arc<dyn Identity>) -> Self {
        Self {
            tally,
            identity,
            teardown: None,
            past: None,
            clock: None,
        }
    }

    /// The same backend, whose service runs on `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<ScenarioClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The clock of this backend's service, which scenarios move on.
    pub fn clock(&self) -> Option<Arc<ScenarioClock>> {
        self.clock.clone()
    }

    /// The same backend, able to write old events into its storage.
    #[must_use]
    pub fn with_past(mut self, past: PastWriter) -> Self {
        self.past = Some(past);
        self
    }

    /// What writes old events into this backend's storage.
    pub fn past(&self) -> Option<PastWriter> {
        self.past.clone()
    }

    /// The services in process, over `service` and `accounts`.
    pub fn in_process(service: Arc<TallyService>, accounts: Arc<dyn Accounts>) -> Self {
        let identity = IdentityService::new(accounts, service.clone())
            .with_password_cost(PasswordCost::Minimal);
        Self::new(service, Arc::new(identity))
    }

    /// The same backend, with a teardown (stopping a server, dropping a database, closing a
    /// browser session).
    #[must_use]
    pub fn with_teardown(mut self, teardown: Teardown) -> Self {
        self.teardown = Some(teardown);
        self
    }

    /// The same backend, running `next` after its own teardown (if any).
    #[must_use]
    pub fn then(self, next: Teardown) -> Self {
        let first = self.teardown;
        Self {
            tally: self.tally,
            identity: self.identity,
            past: self.past,
            clock: self.clock,
            teardown: Some(Box::new(move || {
                Box::pin(async move {
                    if let Some(first) = first {
                        first().await?;
                    }
                    next().await
                })
            })),
        }
    }

    /// The commands and views.
    pub fn tally(&self) -> Arc<dyn Tally> {
        Arc::clone(&self.tally)
    }

    /// Sign-up, accounts, sessions.
    pub fn identity(&self) -> Arc<dyn Identity> {
        Arc::clone(&self.identity)
    }

    /// Tears the backend down.
    ///
    /// # Errors
    /// When the teardown fails.
    pub async fn teardown(self) -> Result<()> {
        match self.teardown {
            Some(t) => t().await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("teardown", &self.teardown.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_or_empty_list_means_memory() {
        assert_eq!(Target::parse_list(None).unwrap(), vec![Target::Memory]);
        assert_eq!(
            Target::parse_list(Some(" , ")).unwrap(),
            vec![Target::Memory]
        );
        assert_eq!(
            Target::parse_list(Some("memory, memory")).unwrap(),
            vec![Target::Memory]
        );
    }

    #[test]
    fn an_unknown_target_is_refused_with_the_known_ones() {
        let e = Target::parse_list(Some("memory,mars"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"mars\"") && e.contains("known targets: memory"),
            "{e}"
        );
    }
}
