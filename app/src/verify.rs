//! `tally verify`: checks a PostgreSQL history after an incident, reading only.
//!
//! - every stream's versions run 1, 2, ... with no gap, and its `streams` row says its last;
//! - positions are unique (the primary key) and in transaction order (a later position never
//!   belongs to an older transaction: what makes the gap-free feed safe);
//! - every recorded command id's events are present: its positions hold exactly its events;
//! - the conservation law: credits granted = members' balances + the escrow of live jobs, and
//!   no balance ever went below zero, replayed from the events alone;
//! - every cached state equals a fresh fold of its stream's events (all rows, or `--sample`).
//! - how many personal fields are stored in plaintext (before encryption; `tally seal-history`
//!   seals them): said, not a failure.
//!
//! It prints a table of what was checked, and exits non-zero naming the offending streams or
//! commands when anything is wrong.

use crate::config::{Storage, StorageArgs};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::PgPool;
use std::io::IsTerminal;
use std::time::Instant;

/// What to check.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Compare this many cached states per entity kind, picked at random (default: all).
    #[arg(long)]
    pub sample: Option<usize>,
}

/// One line of the table.
struct Checked {
    what: &'static str,
    looked_at: i64,
    problems: Vec<String>,
    /// Said after the status.
    note: String,
}

/// Runs the checks and prints the table.
///
/// # Errors
/// When anything is wrong (after the table), or storage fails.
pub async fn run(storage: StorageArgs, args: VerifyArgs) -> Result<()> {
    if storage.storage != Storage::Postgres {
        bail!(
            "tally verify checks a PostgreSQL history (memory storage keeps nothing between runs): \
             use --storage postgres with DATABASE_URL"
        );
    }
    let started = Instant::now();
    let store = storage.postgres().await?;
    let pool = store.pool().clone();
    let mut lines = vec![
        versions(&pool).await?,
        positions(&pool).await?,
        commands(&pool).await?,
        conservation(&pool).await?,
    ];
    let (personal, plaintext) = store.personal_fields_stored().await?;
    lines.push(Checked {
        what: "personal fields sealed",
        looked_at: personal,
        problems: Vec::new(),
        note: if plaintext == 0 {
            " (none in plaintext)".to_owned()
        } else {
            format!(" ({plaintext} stored before encryption: run tally seal-history)")
        },
    });
    let svc = storage.pg_service(&store)?;
    for kind in tally_ports::EntityKind::ALL {
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} [{{wide_bar}}] {{pos}}/{{len}} cached {} states, {{per_sec}}, {{eta}} left",
                    kind.as_str()
                ))
                .context("the progress template")?,
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let check = svc
            .verify_cache(kind, args.sample, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await
            .with_context(|| format!("checking the cached {} states", kind.as_str()))?;
        bar.finish_and_clear();
        lines.push(Checked {
            what: match kind {
                tally_ports::EntityKind::Member => "cached member states = fresh folds",
                tally_ports::EntityKind::Job => "cached job states = fresh folds",
            },
            looked_at: i64::try_from(check.checked).unwrap_or(i64::MAX),
            problems: check
                .wrong
                .iter()
                .map(|s| format!("{s}: the cached state is not what its events fold to"))
                .collect(),
            note: match check.uncached {
                0 => String::new(),
                n => format!(" ({n} with no cache row: built when first read)"),
            },
        });
    }
    println!(
        "{:<44} {:>12} {:>9}  status",
        "check", "looked at", "problems"
    );
    let mut bad = 0;
    for l in &lines {
        println!(
            "{:<44} {:>12} {:>9}  {}{}",
            l.what,
            l.looked_at,
            l.problems.len(),
            if l.problems.is_empty() { "ok" } else { "WRONG" },
            l.note
        );
        bad += l.problems.len();
    }
    println!("(checked in {:.2} s)", started.elapsed().as_secs_f64());
    if bad > 0 {
        eprintln!("\nWhat is wrong:");
        for l in &lines {
            for p in l.problems.iter().take(50) {
                eprintln!("  {}: {p}", l.what);
            }
            if l.problems.len() > 50 {
                eprintln!("  {}: ... and {} more", l.what, l.problems.len() - 50);
            }
        }
        bail!("the history failed {bad} check(s)");
    }
    Ok(())
}

async fn versions(pool: &PgPool) -> Result<Checked> {
    let looked_at: i64 = sqlx::query_scalar("SELECT count(*) FROM streams")
        .fetch_one(pool)
        .await?;
    let rows: Vec<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT coalesce(e.stream, s.stream), coalesce(e.n, 0), coalesce(e.lo, 0),
                coalesce(e.hi, 0), s.version
         FROM (SELECT stream, count(*) n, min(version) lo, max(version) hi
               FROM events GROUP BY stream) e
         FULL JOIN streams s ON s.stream = e.stream
         WHERE e.stream IS NULL OR s.stream IS NULL
            OR e.lo <> 1 OR e.hi <> e.n OR s.version <> e.hi
         ORDER BY 1 LIMIT 1000",
    )
    .fetch_all(pool)
    .await
    .context("checking stream versions")?;
    Ok(Checked {
        what: "stream versions contiguous from 1",
        looked_at,
        note: String::new(),
        problems: rows
            .into_iter()
            .map(|(stream, n, lo, hi, recorded)| match recorded {
                None => format!("{stream}: has events but no streams row"),
                Some(v) if n == 0 => format!("{stream}: the streams row says v{v}, no events"),
                Some(v) => {
                    format!("{stream}: {n} events, versions {lo}..{hi}, the streams row says v{v}")
                }
            })
            .collect(),
    })
}

async fn positions(pool: &PgPool) -> Result<Checked> {
    let looked_at: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT position, stream FROM (
             SELECT position, stream, tx_id, lag(tx_id) OVER (ORDER BY position) AS before
             FROM events) t
         WHERE tx_id < before ORDER BY position LIMIT 1000",
    )
    .fetch_all(pool)
    .await
    .context("checking positions")?;
    Ok(Checked {
        what: "positions unique, in transaction order",
        looked_at,
        note: String::new(),
        problems: rows
            .into_iter()
            .map(|(p, s)| {
                format!(
                    "position {p} ({s}) was written by an older transaction than the one before it"
                )
            })
            .collect(),
    })
}

async fn commands(pool: &PgPool) -> Result<Checked> {
    let looked_at: i64 =
        sqlx::query_scalar("SELECT count(*) FROM commands WHERE first_position IS NOT NULL")
            .fetch_one(pool)
            .await?;
    let rows: Vec<(uuid::Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.command_id, c.first_position, c.last_position,
                (SELECT count(*) FROM events e
                 WHERE e.position BETWEEN c.first_position AND c.last_position
                   AND e.command_id = c.command_id)
         FROM commands c
         WHERE c.first_position IS NOT NULL
           AND (SELECT count(*) FROM events e
                WHERE e.position BETWEEN c.first_position AND c.last_position
                  AND e.command_id = c.command_id)
               <> c.last_position - c.first_position + 1
         LIMIT 1000",
    )
    .fetch_all(pool)
    .await
    .context("checking recorded commands")?;
    Ok(Checked {
        what: "recorded commands' events present",
        looked_at,
        note: String::new(),
        problems: rows
            .into_iter()
            .map(|(id, first, last, found)| {
                format!(
                    "command {id}: positions {first}..={last}, {found} of its {} events there",
                    last - first + 1
                )
            })
            .collect(),
    })
}

async fn conservation(pool: &PgPool) -> Result<Checked> {
    // Each member event's effect on the balance, in stream order.
    let negative: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT ON (stream) stream, version, running FROM (
             SELECT stream, version,
                    (sum(CASE event_type
                           WHEN 'CreditsGranted' THEN amount WHEN 'CreditsEarned' THEN amount
                           WHEN 'CreditsRefunded' THEN amount WHEN 'CreditsEscrowed' THEN -amount
                           ELSE 0 END) OVER (PARTITION BY stream ORDER BY version))::bigint
                        AS running
             FROM (SELECT stream, version, event_type,
                          coalesce((payload->>'amount')::bigint, 0) AS amount
                   FROM events WHERE stream LIKE 'member:%') m) t
         WHERE running < 0 ORDER BY stream, version LIMIT 1000",
    )
    .fetch_all(pool)
    .await
    .context("replaying balances")?;
    let (granted, balances, escrowed, members): (i64, i64, i64, i64) = sqlx::query_as(
        "WITH m AS (SELECT stream, event_type, coalesce((payload->>'amount')::bigint, 0) AS a
                    FROM events WHERE stream LIKE 'member:%')
         SELECT
           coalesce((SELECT sum(a) FROM m WHERE event_type = 'CreditsGranted'), 0)::bigint,
           coalesce((SELECT sum(CASE event_type
                                  WHEN 'CreditsGranted' THEN a WHEN 'CreditsEarned' THEN a
                                  WHEN 'CreditsRefunded' THEN a WHEN 'CreditsEscrowed' THEN -a
                                  ELSE 0 END) FROM m), 0)::bigint,
           coalesce((SELECT sum((l.payload->>'reward')::bigint) FROM events l
                     WHERE l.event_type = 'JobLaunched'
                       AND NOT EXISTS (SELECT 1 FROM events x WHERE x.stream = l.stream
                                       AND x.event_type IN ('JobCompleted', 'JobCancelled'))),
                    0)::bigint,
           (SELECT count(DISTINCT stream) FROM m)",
    )
    .fetch_one(pool)
    .await
    .context("summing the books")?;
    let mut problems: Vec<String> = negative
        .into_iter()
        .map(|(s, v, b)| format!("{s}: the balance is {b} after v{v} (first below zero)"))
        .collect();
    if granted != balances + escrowed {
        problems.push(format!(
            "credits granted {granted} <> balances {balances} + escrow of live jobs {escrowed}"
        ));
    }
    Ok(Checked {
        what: "conservation: granted = balances + escrow",
        looked_at: members,
        problems,
        note: String::new(),
    })
}
