//! `tally`: the Tally service's command line. Only this crate reads the environment.
#![forbid(unsafe_code)]

mod bench;
mod config;
mod demo;
mod keys;
mod metrics;
mod rebuild;
mod report_worker;
mod scale;
mod serve;
mod telemetry;
mod verify;

use anyhow::Result;
use clap::Parser;
use config::{Cli, Command};
use tally_ports::{Actor, Ctx};

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let telemetry = telemetry::init(cli.log_format)?;
    let result = run(cli).await;
    // The exporter's client blocks: flushed off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    result
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Seed {
            scale: Some(n),
            open_jobs: None,
        } => {
            let storage = cli.storage.open().await?;
            scale::seed(storage.tally.store().clone(), n).await?;
        }
        Command::Seed {
            open_jobs: Some(n), ..
        } => {
            let storage = cli.storage.open().await?;
            scale::seed_open_jobs(storage.tally.store().clone(), n).await?;
        }
        Command::Seed { scale: None, .. } => {
            let storage = cli.storage.open().await?;
            let summary = demo::seed(
                storage.tally.as_ref(),
                &Ctx::new(Actor::System("seed".into())),
            )
            .await?;
            println!("{summary}");
            if matches!(cli.storage.storage, config::Storage::Memory) {
                eprintln!(
                    "Note: the storage is in memory, so this demo data is gone now that `seed` exits. \
                     To use it, run `tally serve --demo`, or seed PostgreSQL: `tally --storage postgres seed`."
                );
            }
        }
        Command::Migrate => {
            cli.storage.migrate().await?;
            println!("migrations applied");
        }
        Command::Serve(args) => serve::run(cli.storage, args).await?,
        Command::ReportWorker(args) => report_worker::run(cli.storage, args).await?,
        Command::Rebuild(args) => rebuild::run(cli.storage, args).await?,
        Command::Verify(args) => verify::run(cli.storage, args).await?,
        Command::Bench(args) => bench::run(cli.storage, args).await?,
        Command::RotateMasterKey(args) => keys::rotate(cli.storage, args).await?,
        Command::SealHistory(args) => keys::seal_history(cli.storage, args).await?,
    }
    Ok(())
}
