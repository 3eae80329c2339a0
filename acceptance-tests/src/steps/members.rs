//! Finding members: the admins' list, searched and paged.

use super::params::Who;
use crate::TallyWorld;
use anyhow::{Context, Result, bail, ensure};
use cucumber::{given, then, when};
use tally_ports::identity::SignUp;
use tally_ports::members::{MemberCursor, MemberListing, MemberQuery};
use tally_ports::{Actor, Ctx};

/// A page size larger than any scenario's list.
const ALL: usize = 100;

async fn look(w: &mut TallyWorld, who: &Who, q: MemberQuery) -> Result<()> {
    let t = w.begin().await?;
    let r = t.find_members(&who.ctx(), q.clone()).await;
    w.members = w.settle(r).map(|p| (who.ctx(), q, p));
    Ok(())
}

#[when(expr = "{actor} looks for members matching {string}")]
async fn looks_for(w: &mut TallyWorld, who: Who, text: String) -> Result<()> {
    let q = MemberQuery {
        text: Some(text),
        ..MemberQuery::all(ALL)
    };
    look(w, &who, q).await
}

#[when(expr = "{actor} looks for members matching {string} {int} at a time")]
async fn looks_for_paged(w: &mut TallyWorld, who: Who, text: String, n: usize) -> Result<()> {
    let q = MemberQuery {
        text: Some(text),
        ..MemberQuery::all(n)
    };
    look(w, &who, q).await
}

#[when(expr = "{actor} looks at the members {int} at a time")]
async fn looks_paged(w: &mut TallyWorld, who: Who, n: usize) -> Result<()> {
    look(w, &who, MemberQuery::all(n)).await
}

/// The page beside the last one looked at, by the same viewer with the same search.
async fn turn(w: &mut TallyWorld, forward: bool) -> Result<()> {
    let (ctx, q, page) = w
        .members
        .clone()
        .context("no list of members was looked at")?;
    let cursor = if forward {
        MemberCursor::After(page.next.context("there is no next page")?)
    } else {
        MemberCursor::Before(page.prev.context("there is no page before")?)
    };
    look(w, &Who(ctx.actor), q.at(cursor)).await
}

#[when("the admin turns to the next page of members")]
async fn next_page(w: &mut TallyWorld) -> Result<()> {
    turn(w, true).await
}

#[when("the admin turns back a page of members")]
async fn page_back(w: &mut TallyWorld) -> Result<()> {
    turn(w, false).await
}

fn found(w: &TallyWorld) -> Result<&[MemberListing]> {
    Ok(&w
        .members
        .as_ref()
        .context("no list of members was looked at")?
        .2
        .members)
}

/// `alice`, `alice and bob`, `alice, bob and carol`.
#[then(regex = r"^the members found are ([a-z0-9_, -]+?(?: and [a-z0-9_-]+)?)$")]
async fn found_are(w: &mut TallyWorld, list: String) -> Result<()> {
    let expected: Vec<&str> = list
        .split([','])
        .flat_map(|s| s.split(" and "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let seen: Vec<&str> = found(w)?.iter().map(|m| m.member.handle.as_str()).collect();
    ensure!(seen == expected, "the members found are {seen:?}");
    Ok(())
}

#[then("no member is found")]
async fn none_found(w: &mut TallyWorld) -> Result<()> {
    let seen: Vec<&str> = found(w)?.iter().map(|m| m.member.handle.as_str()).collect();
    ensure!(seen.is_empty(), "the members found are {seen:?}");
    Ok(())
}

#[then(regex = r"^(\d+) members? match(?:es)?$")]
async fn count(w: &mut TallyWorld, n: u64) -> Result<()> {
    let page = &w
        .members
        .as_ref()
        .context("no list of members was looked at")?
        .2;
    ensure!(
        page.total == n && page.total_exact,
        "{} members match (exact: {})",
        page.total,
        page.total_exact
    );
    Ok(())
}

#[then("there is no next page of members")]
async fn no_next(w: &mut TallyWorld) -> Result<()> {
    let page = &w
        .members
        .as_ref()
        .context("no list of members was looked at")?
        .2;
    ensure!(
        page.next.is_none(),
        "there is a next page after {:?}",
        page.next
    );
    Ok(())
}

fn listed<'a>(w: &'a TallyWorld, handle: &str) -> Result<&'a MemberListing> {
    found(w)?
        .iter()
        .find(|m| m.member.handle == handle)
        .with_context(|| format!("{handle} is not among the members found"))
}

#[then(expr = "{word} joined {int} hours before they were last active")]
async fn joined_before(w: &mut TallyWorld, handle: String, hours: i64) -> Result<()> {
    let m = listed(w, &handle)?;
    let gap = m.last_active_at - m.joined_at;
    // The scenario's clock moved on by the hours; the commands themselves took moments.
    let want = chrono::Duration::hours(hours);
    ensure!(
        gap >= want && gap < want + chrono::Duration::minutes(1),
        "{handle} joined at {} and was last active at {}",
        m.joined_at,
        m.last_active_at
    );
    Ok(())
}

#[then(expr = "{word} has an account")]
async fn has_account(w: &mut TallyWorld, handle: String) -> Result<()> {
    match listed(w, &handle)?.has_account {
        Some(true) => Ok(()),
        other => bail!("the list says {handle} has an account: {other:?}"),
    }
}

#[given(expr = "{word} has signed up")]
async fn signed_up(w: &mut TallyWorld, handle: String) -> Result<()> {
    let sign_up = SignUp {
        display_name: super::params::display_name(&handle),
        handle,
        password: "a fine password".into(),
    };
    w.identity()
        .sign_up(&Ctx::new(Actor::Anonymous), sign_up)
        .await
        .context("signing up")?;
    Ok(())
}
