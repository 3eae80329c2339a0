//! `tally rebuild --reports`: folds the whole history from position 0 into fresh reports, then
//! swaps them in at once (the service keeps serving the old ones until then), showing its
//! progress: a bar on a terminal, a line every 100,000 events otherwise. At the end, a table
//! of counts per entity kind and per event type, the time and the rate.

use crate::config::StorageArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;
use tally_ports::reports::Reports;

/// What to rebuild.
#[derive(Debug, Clone, Args)]
pub struct RebuildArgs {
    /// The reports (daily totals, fraud signals).
    #[arg(long)]
    pub reports: bool,
    /// Events per read.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

/// Runs the rebuild.
pub async fn run(storage: StorageArgs, args: RebuildArgs) -> Result<()> {
    if !args.reports {
        bail!("say what to rebuild: --reports");
    }
    let opened = storage.open().await?;
    let store = opened.tally.store().clone();
    let total = store.head().await?.unwrap_or(0);
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} events, {per_sec}, {eta} left",
            )
            .context("the progress template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut reports = Reports::new();
    let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut next_line = 100_000;
    loop {
        let events = store
            .read_all(reports.checkpoint, args.batch.clamp(1, 1000))
            .await?;
        if events.is_empty() {
            break;
        }
        reports
            .apply_all(&events)
            .map_err(anyhow::Error::msg)
            .context("folding the history")?;
        for e in &events {
            *by_kind.entry(e.stream.kind().as_str()).or_default() += 1;
            *by_type.entry(e.event_type.clone()).or_default() += 1;
        }
        bar.set_position(reports.checkpoint);
        if !terminal && reports.checkpoint >= next_line {
            eprintln!("rebuild: {} of {total} events", reports.checkpoint);
            next_line += 100_000;
        }
    }
    opened
        .reports
        .replace_reports(&reports)
        .await
        .context("swapping the rebuilt reports in")?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let n = reports.checkpoint;
    println!(
        "rebuilt the reports from {n} events in {secs:.2} s ({:.0} events/s)",
        n as f64 / secs.max(1e-9)
    );
    println!("{:<28} {:>12}", "entity kind", "events");
    for (k, c) in &by_kind {
        println!("{k:<28} {c:>12}");
    }
    println!("{:<28} {:>12}", "event type", "events");
    for (t, c) in &by_type {
        println!("{t:<28} {c:>12}");
    }
    println!(
        "{} days of totals, {} fraud signals",
        reports.daily.len(),
        reports.signals.len()
    );
    Ok(())
}
