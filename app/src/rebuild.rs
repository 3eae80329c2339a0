//! `tally rebuild --reports`: folds the whole history from position 0 into fresh reports, then
//! swaps them in at once (the service keeps serving the old ones until then), showing its
//! progress: a bar on a terminal, a line every 100,000 events otherwise. At the end, a table
//! of counts per entity kind and per event type, the time and the rate.
//!
//! `tally rebuild --cache`: folds every entity from its events alone and rewrites its state
//! cache row (never over a newer one: the service keeps serving and writing meanwhile), with
//! the same kind of progress, and the counts per entity kind, the time and the rate.

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
    /// The state cache (every entity's current state).
    #[arg(long)]
    pub cache: bool,
    /// Events per read (at most 10,000).
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
}

/// Runs the rebuild.
pub async fn run(storage: StorageArgs, args: RebuildArgs) -> Result<()> {
    if !args.reports && !args.cache {
        bail!("say what to rebuild: --reports and/or --cache");
    }
    let opened = storage.open().await?;
    if args.reports {
        reports(&opened, &args).await?;
    }
    if args.cache {
        cache(&opened).await?;
    }
    Ok(())
}

/// A progress bar on a terminal (hidden otherwise) over `total` things.
fn bar(total: u64, what: &str) -> Result<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{elapsed_precise}} [{{wide_bar}}] {{pos}}/{{len}} {what}, {{per_sec}}, {{eta}} left"
        ))
        .context("the progress template")?,
    );
    Ok(bar)
}

/// Rebuilds the state cache, kind by kind.
async fn cache(opened: &crate::config::Opened) -> Result<()> {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut counts = BTreeMap::new();
    for kind in tally_ports::EntityKind::ALL {
        let mut shown: Option<ProgressBar> = None;
        let mut next_line = 10_000;
        let n = opened
            .tally
            .rebuild_cache(kind, &mut |done, total| {
                let b = shown.get_or_insert_with(|| {
                    bar(total, &format!("{} states", kind.as_str()))
                        .unwrap_or_else(|_| ProgressBar::hidden())
                });
                b.set_position(done);
                if !terminal && done >= next_line {
                    eprintln!("rebuild: {done} of {total} {} states", kind.as_str());
                    next_line += 10_000;
                }
            })
            .await
            .with_context(|| format!("rebuilding the cached {} states", kind.as_str()))?;
        if let Some(b) = shown {
            b.finish_and_clear();
        }
        counts.insert(kind.as_str(), n);
    }
    let secs = started.elapsed().as_secs_f64();
    let n: u64 = counts.values().sum();
    println!(
        "rebuilt the state cache of {n} entities in {secs:.2} s ({:.0} entities/s)",
        n as f64 / secs.max(1e-9)
    );
    println!("{:<28} {:>12}", "entity kind", "states");
    for (k, c) in &counts {
        println!("{k:<28} {c:>12}");
    }
    Ok(())
}

/// Rebuilds the reports from position 0 and swaps them in.
async fn reports(opened: &crate::config::Opened, args: &RebuildArgs) -> Result<()> {
    let store = opened.tally.store().clone();
    let total = store.head().await?.unwrap_or(0);
    let terminal = std::io::stderr().is_terminal();
    let bar = bar(total, "events")?;
    let started = Instant::now();
    let mut reports = Reports::new();
    let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut next_line = 100_000;
    // Reads run ahead of the fold, several at once, so that both PostgreSQL and the decoding
    // of rows keep the cores busy: range k starts at position k * batch. A full page of
    // `batch` events ends at or past the next range's start (positions only ever skip), so
    // the pages meet with no gap; what two pages both hold is folded once (the fold skips
    // what is at or below its checkpoint). A page that comes back short has met the
    // horizon: the reads ahead are dropped (they may have started past events that
    // committed since) and the rest is read in order from the checkpoint.
    const AHEAD: usize = 3;
    let batch = args.batch.clamp(1, 10_000);
    let read = |after: u64| {
        let store = store.clone();
        tokio::spawn(async move { store.read_all(after, batch).await })
    };
    let mut ahead = std::collections::VecDeque::new();
    let mut next_start = 0u64;
    let mut in_order = false;
    loop {
        if in_order {
            ahead.push_back(read(reports.checkpoint));
        } else {
            while ahead.len() < AHEAD {
                ahead.push_back(read(next_start));
                next_start += batch as u64;
            }
        }
        let events = ahead
            .pop_front()
            .context("a read ahead")?
            .await
            .context("reading the history")??;
        if events.is_empty() {
            break;
        }
        if events.len() < batch && !in_order {
            in_order = true;
            for r in ahead.drain(..) {
                r.abort();
            }
        }
        for e in events.iter().filter(|e| e.position > reports.checkpoint) {
            *by_kind.entry(e.stream.kind().as_str()).or_default() += 1;
            *by_type.entry(e.event_type.clone()).or_default() += 1;
        }
        reports
            .apply_all(&events)
            .map_err(anyhow::Error::msg)
            .context("folding the history")?;
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
