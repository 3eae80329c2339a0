//! `tally rotate-master-key`: re-wraps every data key of personal data with a new master key,
//! touching no event.

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
