//! `tally rotate-master-key`: re-wraps every data key of personal data with a new master key,
//! touching no event; `tally seal-history`: seals the personal fields of events stored in
//! plaintext.

use crate::config::{Storage, StorageArgs};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::sync::Arc;
use tally_ports::keys::{DataKeys, MasterKey};

/// What the rotation needs besides the current master key (`TALLY_MASTER_KEY`).
#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// The new master key: 64 hex digits (prefer the environment variable to the flag).
    #[arg(long, env = "TALLY_NEW_MASTER_KEY", hide_env_values = true)]
    pub new_master_key: String,
}

/// Re-wraps every data key (all or none), then says which key to configure.
pub async fn rotate(storage: StorageArgs, args: RotateArgs) -> Result<()> {
    if storage.storage != Storage::Postgres {
        bail!("the memory storage keeps its keys for one run only: there is nothing to rotate");
    }
    let current = storage
        .master_key
        .as_deref()
        .context("set TALLY_MASTER_KEY to the current master key (64 hex digits)")?;
    let current = MasterKey::parse(current).context("TALLY_MASTER_KEY")?;
    let new = MasterKey::parse(&args.new_master_key).context("TALLY_NEW_MASTER_KEY")?;
    let store = storage.postgres().await?;
    if storage.migrate_on_start {
        store.migrate().await.context("applying migrations")?;
    }
    let keys = DataKeys::new(Arc::new(tally_postgres::PgKeys::new(store)), current);
    let n = keys
        .rotate(&new)
        .await
        .context("re-wrapping the data keys")?;
    println!(
        "{n} data keys re-wrapped with master key {}; configure it as TALLY_MASTER_KEY now \
         (the old one opens none of them any more)",
        new.id()
    );
    Ok(())
}

/// How to seal the history.
#[derive(Debug, Clone, Args)]
pub struct SealArgs {
    /// Events per batch (each batch is one transaction, and where a killed run resumes).
    #[arg(long, default_value_t = 500)]
    pub batch: i64,
    /// Examine every event again, not only those after where the last run got to.
    #[arg(long)]
    pub from_start: bool,
    /// Who runs it, for the audit (default: the system user).
    #[arg(long, env = "USER", default_value = "unknown")]
    pub operator: String,
}

/// Seals, with a progress bar on a terminal, and says what it did.
pub async fn seal_history(storage: StorageArgs, args: SealArgs) -> Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    if storage.storage != Storage::Postgres {
        bail!("the memory storage seals every personal field as it is written: nothing to seal");
    }
    let master = storage
        .master_key()?
        .context("set TALLY_MASTER_KEY to the master key (64 hex digits)")?;
    let store = storage.postgres().await?;
    if storage.migrate_on_start {
        store.migrate().await.context("applying migrations")?;
    }
    let keys = DataKeys::new(Arc::new(tally_postgres::PgKeys::new(store.clone())), master);
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{wide_bar}] position {pos}/{len}, {per_sec}, {eta} left",
            )
            .context("the progress template")?,
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let done = store
        .seal_history(
            &keys,
            &args.operator,
            args.batch.max(1),
            args.from_start,
            |at, head| {
                bar.set_length(u64::try_from(head).unwrap_or(0));
                bar.set_position(u64::try_from(at).unwrap_or(0));
            },
        )
        .await
        .context("sealing the history")?;
    bar.finish_and_clear();
    let (_, left) = store.personal_fields_stored().await?;
    println!(
        "run {}: examined positions {}..={}; sealed {} fields in {} events; {left} personal \
         fields left in plaintext",
        done.run,
        done.resumed_from + 1,
        done.position,
        done.fields,
        done.events
    );
    Ok(())
}
