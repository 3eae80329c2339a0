//! `tally serve`: the web service.

use crate::config::StorageArgs;
use anyhow::{Result, bail};
use clap::Args;

/// Web service settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed the demo data set on start.
    #[arg(long)]
    pub demo: bool,
}

/// Runs the web service until SIGTERM or Ctrl-C.
pub async fn run(storage: StorageArgs, args: ServeArgs) -> Result<()> {
    let _ = (storage, args);
    bail!("the web service is not built yet")
}
