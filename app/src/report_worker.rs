//! `tally report-worker`: follows a running service's HTTP feed, the way a peripheral service
//! would, into the reports kept in this process's own storage (`--storage`), each payload
//! checked against the schemas the service publishes.

use crate::config::StorageArgs;
use anyhow::{Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tally_http_client::{FeedHistory, HttpTally, StaticTokens};
use tally_ports::reports::Follower;
use tally_ports::{Actor, Ctx};

/// Where to follow, and how.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The service to follow, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "TALLY_FEED_URL")]
    pub feed_url: String,
    /// An API token that may read the feed: a `feed:read` service token (or an admin's).
    #[arg(long, env = "TALLY_FEED_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Events per batch (each batch is folded and saved with its checkpoint at once).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Catch up, print where the reports are, and exit (instead of following for ever).
    #[arg(long)]
    pub once: bool,
}

/// Runs the worker.
pub async fn run(storage: StorageArgs, args: WorkerArgs) -> Result<()> {
    let opened = storage.open().await?;
    // The token is the credential; the actor only names it for the client.
    let reader = Actor::admin("report-worker");
    let tokens = StaticTokens(HashMap::from([(reader.clone(), args.token.clone())]));
    let client = HttpTally::new(&args.feed_url, Arc::new(tokens)).context("the feed URL")?;
    let history = FeedHistory {
        client,
        ctx: Ctx::new(reader),
    };
    let follower = Follower::of(Arc::new(history), opened.reports.clone(), args.batch);
    if args.once {
        let n = follower.catch_up().await.context("following the feed")?;
        let r = opened.reports.load_reports().await?;
        println!(
            "folded {n} events; reports at position {}; {} days, {} fraud signals",
            r.checkpoint,
            r.daily.len(),
            r.signals.len()
        );
        return Ok(());
    }
    tracing::info!(feed = %args.feed_url, "following the feed into the reports");
    follower.run(Duration::from_millis(500)).await;
    Ok(())
}
