//! Configuration: command-line flags, each also read from an environment variable.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::sync::Arc;
use tally_ports::TallyService;
use tally_ports::accounts::Accounts;
use tally_ports::keys::{DataKeys, MasterKey};
use tally_postgres::{PgAccounts, PgOptions, PgStore};

/// Tally: an event-sourced credits marketplace.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
pub struct Cli {
    /// Where Tally keeps its history.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// How log lines are written to standard error (the level: `RUST_LOG`).
    #[arg(
        long,
        env = "TALLY_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: crate::telemetry::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (JSON API and pages).
    Serve(crate::serve::ServeArgs),
    /// Record a realistic demo data set (members, grants, jobs in every state) and print a
    /// summary; with `--scale N`, a synthetic history of about N events instead.
    Seed {
        /// About how many events to record, in batches (for demos and benchmarks).
        #[arg(long, conflicts_with = "open_jobs")]
        scale: Option<u64>,
        /// This many open jobs instead (for the job board's benchmark).
        #[arg(long)]
        open_jobs: Option<u64>,
    },
    /// Apply the database migrations (PostgreSQL storage) and exit.
    Migrate,
    /// Follow a running service's HTTP feed into the reports kept in this process's own
    /// storage, as a peripheral service would.
    ReportWorker(crate::report_worker::WorkerArgs),
    /// Recompute what is derived from the history, from position 0, with progress.
    Rebuild(crate::rebuild::RebuildArgs),
    /// Check a PostgreSQL history (versions, positions, commands, the books, the state
    /// cache); exits non-zero naming what is wrong.
    Verify(crate::verify::VerifyArgs),
    /// Re-wrap every data key of personal data with a new master key (PostgreSQL), touching
    /// no event; then configure the new key as TALLY_MASTER_KEY.
    RotateMasterKey(crate::keys::RotateArgs),
    /// Seal the personal fields of events stored in plaintext (before encryption) with
    /// their subjects' keys (PostgreSQL): the one rewrite of stored events Tally allows;
    /// resumable, audited in `history_sealing`, with progress.
    SealHistory(crate::keys::SealArgs),
    /// Measure reading the history as it is stored (the report fold, the HTTP feed, long
    /// polls) and a command's latency; see `scripts/bench-history.sh`.
    Bench(crate::bench::BenchArgs),
}

/// Which storage adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    /// In memory: nothing to set up; everything is lost when the process stops.
    Memory,
    /// PostgreSQL, at `DATABASE_URL`.
    Postgres,
}

/// Storage settings.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Storage adapter: `memory` (the default, no setup) or `postgres`.
    #[arg(
        long,
        env = "TALLY_STORAGE",
        value_enum,
        default_value = "memory",
        global = true
    )]
    pub storage: Storage,
    /// PostgreSQL connection URL (with `--storage postgres`).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most PostgreSQL connections in each of the two pools (commands, reads).
    #[arg(long, env = "TALLY_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,
    /// Group commit (PostgreSQL): the most commands landed together in one transaction;
    /// `0` commits each command in a transaction of its own. Commands that arrive while a
    /// batch is in flight go together in the next (no timer), each with its own guard and
    /// answer.
    #[arg(
        long,
        env = "TALLY_GROUP_COMMIT_MAX",
        default_value_t = tally_ports::service::GroupCommit::default().max_batch,
        global = true
    )]
    pub group_commit_max: usize,
    /// A hot standby of the database (PostgreSQL streaming replication) for the reads that
    /// are not part of a command: the feed, histories, the job board, member lists, reports.
    /// Commands, accounts and webhooks stay on `DATABASE_URL`.
    #[arg(
        long,
        env = "TALLY_READ_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub read_database_url: Option<String>,
    /// How long a read on the standby waits for it to replay this process's last commit
    /// before it is served by the primary instead (milliseconds).
    #[arg(
        long,
        env = "TALLY_REPLICA_MAX_WAIT_MS",
        default_value_t = 1000,
        global = true
    )]
    pub replica_max_wait_ms: u64,
    /// The master key that wraps the data keys of personal data: 64 hex digits (see the
    /// README's Personal data).
    #[arg(long, env = "TALLY_MASTER_KEY", global = true, hide_env_values = true)]
    pub master_key: Option<String>,
    /// Apply pending migrations on start-up (PostgreSQL).
    #[arg(long, env = "TALLY_MIGRATE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub migrate_on_start: bool,
}

/// An opened storage: the application service over it, and the accounts kept beside it.
pub struct Opened {
    /// The application service.
    pub tally: Arc<TallyService>,
    /// Accounts, sessions and API tokens (in the same storage as the events).
    pub accounts: Arc<dyn Accounts>,
    /// Where the reports are kept (in the same storage).
    pub reports: Arc<dyn tally_ports::driven::ReportStore>,
    /// Webhook endpoints and deliveries (in the same storage; the appends queue them).
    pub webhooks: Arc<dyn tally_ports::webhooks::WebhookStore>,
    /// The PostgreSQL store, when that is the storage (for its pools' metrics).
    pub pg: Option<PgStore>,
}

impl StorageArgs {
    /// Opens the configured storage.
    pub async fn open(&self) -> Result<Opened> {
        match self.storage {
            Storage::Memory => {
                let (svc, store) = tally_memory::service();
                let accounts = Arc::new(tally_memory::MemoryAccounts::new());
                let master = match self.master_key()? {
                    Some(m) => m,
                    None => {
                        let m = MasterKey::generate().context("making a master key")?;
                        // Logged (as JSON with --log-format json): shown once, at start.
                        tracing::warn!(
                            master_key = %m.to_hex(),
                            "no TALLY_MASTER_KEY: the personal data of this run (memory storage) \
                             is sealed with a master key made now"
                        );
                        m
                    }
                };
                let keys = DataKeys::new(Arc::new(tally_memory::MemoryKeys::new()), master);
                Ok(Opened {
                    tally: Arc::new(
                        svc.with_keys(Arc::new(keys))
                            .with_reports(Arc::new(store.clone()))
                            .with_accounts(accounts.clone()),
                    ),
                    accounts,
                    reports: Arc::new(store.clone()),
                    webhooks: Arc::new(store),
                    pg: None,
                })
            }
            Storage::Postgres => {
                let store = self.postgres().await?;
                if self.migrate_on_start {
                    store.migrate().await.context("applying migrations")?;
                }
                let accounts = Arc::new(PgAccounts::new(store.clone()));
                Ok(Opened {
                    tally: Arc::new(
                        self.pg_service(&store)?
                            .with_reports(Arc::new(store.clone()))
                            .with_accounts(accounts.clone()),
                    ),
                    accounts,
                    reports: Arc::new(store.clone()),
                    webhooks: Arc::new(store.clone()),
                    pg: Some(store),
                })
            }
        }
    }

    /// The service over a PostgreSQL store, sealing personal data with the configured
    /// master key (which PostgreSQL storage requires).
    pub(crate) fn pg_service(&self, store: &PgStore) -> Result<TallyService> {
        let Some(master) = self.master_key()? else {
            bail!(
                "--storage postgres needs TALLY_MASTER_KEY: 64 hex digits that wrap the keys of \
                 personal data (keep it apart from the database's backups), e.g. this one, made \
                 now: {}",
                MasterKey::generate()
                    .context("making a master key")?
                    .to_hex()
            );
        };
        let keys = DataKeys::new(Arc::new(tally_postgres::PgKeys::new(store.clone())), master);
        let group = (self.group_commit_max > 0).then(|| tally_ports::service::GroupCommit {
            max_batch: self.group_commit_max,
            ..Default::default()
        });
        Ok(store
            .service()
            .with_group_commit(group)
            .with_keys(Arc::new(keys)))
    }

    /// The configured master key, if any.
    pub(crate) fn master_key(&self) -> Result<Option<MasterKey>> {
        self.master_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| MasterKey::parse(k).context("TALLY_MASTER_KEY"))
            .transpose()
    }

    pub(crate) async fn postgres(&self) -> Result<PgStore> {
        let Some(url) = self.database_url.as_deref() else {
            bail!(
                "--storage postgres needs DATABASE_URL (or --database-url), e.g. \
                 postgres://postgres@127.0.0.1:5432/tally"
            );
        };
        let opts = PgOptions {
            pool_size: self.pool_size,
            ..PgOptions::default()
        };
        let store = PgStore::connect(url, opts.clone())
            .await
            .context("connecting to PostgreSQL")?;
        match self.read_database_url.as_deref().filter(|u| !u.is_empty()) {
            None => Ok(store),
            Some(read) => {
                let wait = std::time::Duration::from_millis(self.replica_max_wait_ms);
                let store = store
                    .with_replica(read, &opts, wait)
                    .await
                    .context("connecting to the read replica (TALLY_READ_DATABASE_URL)")?;
                tracing::info!("reads that are not part of a command go to the read replica");
                Ok(store)
            }
        }
    }

    /// Applies migrations.
    pub async fn migrate(&self) -> Result<()> {
        match self.storage {
            Storage::Memory => {
                bail!("the memory storage has no migrations; use --storage postgres")
            }
            Storage::Postgres => {
                let store = self.postgres().await?;
                store.migrate().await.context("applying migrations")?;
                Ok(())
            }
        }
    }
}
