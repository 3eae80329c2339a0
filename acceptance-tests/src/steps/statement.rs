//! A wallet's statement: movements of credits, newest first, with signed amounts, the running
//! balance, the job's title and the other side.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, ensure};
use cucumber::{gherkin::Step, then, when};
use tally_ports::statement::{LineKind, Statement, StatementQuery};

async fn ask(w: &mut TallyWorld, who: &Who, handle: String, q: StatementQuery) -> Result<()> {
    let t = w.begin().await?;
    let ctx = who.ctx();
    let r = t.statement(&ctx, &handle, q.clone()).await;
    w.statement = w.settle(r);
    w.statement_query = Some((ctx, handle, q));
    Ok(())
}

fn own(who: &Who) -> Result<String> {
    match &who.0 {
        tally_ports::Actor::Member(h) => Ok(h.to_string()),
        a => anyhow::bail!("{a:?} has no wallet"),
    }
}

#[when(expr = "{actor} looks at her/his/their statement")]
async fn own_statement(w: &mut TallyWorld, who: Who) -> Result<()> {
    let h = own(&who)?;
    ask(w, &who, h, StatementQuery::default()).await
}

#[when(expr = "{actor} looks at her/his/their statement {int} line(s) at a time")]
async fn own_paged(w: &mut TallyWorld, who: Who, n: usize) -> Result<()> {
    let h = own(&who)?;
    let q = StatementQuery {
        limit: n,
        ..StatementQuery::default()
    };
    ask(w, &who, h, q).await
}

#[when(expr = "{actor} looks at the {word} lines of her/his/their statement")]
async fn own_kind(w: &mut TallyWorld, who: Who, kind: String) -> Result<()> {
    let h = own(&who)?;
    let k = LineKind::parse(&kind).with_context(|| format!("no kind of line {kind:?}"))?;
    let q = StatementQuery {
        kinds: vec![k],
        ..StatementQuery::default()
    };
    ask(w, &who, h, q).await
}

#[when(expr = "{actor} looks at {word}'s statement")]
async fn statement_of(w: &mut TallyWorld, who: Who, handle: String) -> Result<()> {
    ask(w, &who, handle, StatementQuery::default()).await
}

#[when("they turn to the older lines")]
async fn older(w: &mut TallyWorld) -> Result<()> {
    let (ctx, handle, q) = w.statement_query.clone().context("no statement was read")?;
    let before = w
        .statement
        .as_ref()
        .and_then(|s| s.older)
        .context("there are no older lines")?;
    let t = w.begin().await?;
    let q = StatementQuery {
        before: Some(before),
        ..q
    };
    let r = t.statement(&ctx, &handle, q.clone()).await;
    w.statement = w.settle(r);
    w.statement_query = Some((ctx, handle, q));
    Ok(())
}

fn statement(w: &TallyWorld) -> Result<&Statement> {
    w.succeeded()?;
    w.statement.as_ref().context("no statement was read")
}

/// `+30`, `-30`, `0`.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// A table with `what`, `change`, `balance`, `job` (its title) and `other side` columns, newest
/// first.
#[then("the statement shows:")]
async fn shows(w: &mut TallyWorld, step: &Step) -> Result<()> {
    let table = step.table.as_ref().context("a table of lines")?;
    let header = table.rows.first().context("a header row")?;
    let seen: Vec<Vec<String>> = statement(w)?
        .lines
        .iter()
        .map(|l| {
            header
                .iter()
                .map(|c| match c.as_str() {
                    "what" => Ok(l.kind.as_str().replace('_', " ")),
                    "change" => Ok(signed(l.change)),
                    "balance" => Ok(l.balance.to_string()),
                    "job" => Ok(l.job_title.clone().unwrap_or_default()),
                    "other side" => Ok(l.counterpart.clone().unwrap_or_default()),
                    "reason" => Ok(l.reason.clone().unwrap_or_default()),
                    other => anyhow::bail!("no column {other:?}"),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let expected: Vec<Vec<String>> = table.rows.iter().skip(1).cloned().collect();
    ensure!(seen == expected, "the statement shows {seen:?}");
    Ok(())
}

#[then(expr = "the statement counts {int} line(s) in all")]
async fn counts(w: &mut TallyWorld, n: u64) -> Result<()> {
    let s = statement(w)?;
    ensure!(s.total == n, "the statement counts {}", s.total);
    Ok(())
}

#[then("there are no older lines")]
async fn no_older(w: &mut TallyWorld) -> Result<()> {
    ensure!(statement(w)?.older.is_none(), "there are older lines");
    Ok(())
}

#[then(expr = "the balance over time goes {string}")]
async fn chart(w: &mut TallyWorld, points: String) -> Result<()> {
    let seen: Vec<String> = statement(w)?
        .chart
        .iter()
        .map(|p| p.balance.to_string())
        .collect();
    ensure!(
        seen.join(", ") == points,
        "the balance over time goes {seen:?}"
    );
    Ok(())
}
