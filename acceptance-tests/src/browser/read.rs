//! What the pages show, read back into the driving port's types: errors from `#error`,
//! receipts from `#receipt`, views from their `data-*` hooks.

use super::driver::browser_error;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::str::FromStr;
use tally_ports::{
    ActionView, Actor, ApplicationView, Error, EventRef, JobSummary, MemberSummary, Receipt,
    RecordedEvent, Result, StreamId,
};

/// One element's hooks: its `data-*` attributes (camelCased, as the DOM's `dataset` names
/// them) and the exact text of its `data-text` descendants.
pub(crate) type Hooks = HashMap<String, String>;

/// Everything read from a page in one go.
#[derive(Debug, Deserialize)]
pub(crate) struct Scrape {
    pub(crate) actor: Option<String>,
    pub(crate) render: Option<String>,
    pub(crate) error: Option<Hooks>,
    pub(crate) receipt: Option<Hooks>,
    /// The question a page asks before a command that cannot be undone.
    pub(crate) confirm: Option<Hooks>,
    pub(crate) receipt_events: Vec<Hooks>,
    pub(crate) main: Option<Hooks>,
    pub(crate) lists: Vec<Vec<Hooks>>,
}

impl Scrape {
    /// The main element.
    pub(crate) fn main(&self, what: &str) -> Result<&Hooks> {
        self.main
            .as_ref()
            .ok_or_else(|| browser_error(format!("the page shows no {what}")))
    }

    /// The `i`th list.
    pub(crate) fn list(&self, i: usize) -> &[Hooks] {
        self.lists.get(i).map_or(&[], Vec::as_slice)
    }
}

/// A hook's value.
pub(crate) fn text<'a>(h: &'a Hooks, key: &str) -> Result<&'a str> {
    h.get(key)
        .map(String::as_str)
        .ok_or_else(|| browser_error(format!("no {key:?} in {h:?}")))
}

/// A hook's value, parsed.
pub(crate) fn parse<T: FromStr>(h: &Hooks, key: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let s = text(h, key)?;
    s.parse()
        .map_err(|e| browser_error(format!("{key} = {s:?}: {e}")))
}

/// A hook's value read as a JSON string of a serde enum (`open`, `in_progress`...).
fn word<T: DeserializeOwned>(h: &Hooks, key: &str) -> Result<T> {
    let s = text(h, key)?;
    word_of(s).map_err(|e| browser_error(format!("{key}: {e}")))
}

/// A word as a serde enum's value.
pub(crate) fn word_of<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| browser_error(format!("{s:?}: {e}")))
}

pub(crate) fn time(h: &Hooks, key: &str) -> Result<DateTime<Utc>> {
    let s = text(h, key)?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| browser_error(format!("{key} = {s:?}: {e}")))
}

/// The error a page shows, as the port's error: the page carries the problem document the
/// JSON API would send, read back the way the Rust client reads it.
pub(crate) fn error_of(s: &Scrape) -> Option<Error> {
    let h = s.error.as_ref()?;
    let problem = h.get("problem")?;
    Some(
        match serde_json::from_str::<tally_api::problem::Problem>(problem) {
            Ok(p) => p.to_error(),
            Err(e) => browser_error(format!("the error shown: {e}")),
        },
    )
}

/// The actions a view's page offers, from its action forms.
pub(crate) fn actions(forms: &[Hooks]) -> Result<Vec<ActionView>> {
    forms
        .iter()
        .map(|f| {
            let json = text(f, "action")?;
            serde_json::from_str(json).map_err(|e| browser_error(format!("action {json:?}: {e}")))
        })
        .collect()
}

/// The receipt the page shows after a command.
pub(crate) fn receipt(s: &Scrape) -> Result<Receipt> {
    let r = s
        .receipt
        .as_ref()
        .ok_or_else(|| browser_error("the page after the command shows no receipt"))?;
    let events = s
        .receipt_events
        .iter()
        .map(|e| {
            Ok(EventRef {
                stream: stream(e)?,
                version: parse(e, "version")?,
                position: parse(e, "position")?,
                event_type: text(e, "eventType")?.to_owned(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Receipt {
        command_id: parse(r, "commandId")?,
        events,
    })
}

fn stream(h: &Hooks) -> Result<StreamId> {
    Ok(StreamId::parse(text(h, "stream")?)?)
}

/// A history row.
pub(crate) fn event(h: &Hooks) -> Result<RecordedEvent> {
    let payload = text(h, "payload")?;
    Ok(RecordedEvent {
        position: parse(h, "position")?,
        stream: stream(h)?,
        version: parse(h, "version")?,
        event_id: parse(h, "eventId")?,
        event_type: text(h, "eventType")?.to_owned(),
        schema_version: parse(h, "schemaVersion")?,
        payload: serde_json::from_str(payload)
            .map_err(|e| browser_error(format!("payload {payload:?}: {e}")))?,
        time: time(h, "time")?,
        actor: Actor::from_str(text(h, "actor")?).map_err(browser_error)?,
        command_id: parse(h, "commandId")?,
        correlation_id: parse(h, "correlationId")?,
        causation_id: parse(h, "causationId")?,
    })
}

pub(crate) fn events(rows: &[Hooks]) -> Result<Vec<RecordedEvent>> {
    rows.iter().map(event).collect()
}

/// A job's public details.
pub(crate) fn job(h: &Hooks) -> Result<JobSummary> {
    Ok(JobSummary {
        id: text(h, "jobId")?.to_owned(),
        owner: text(h, "owner")?.to_owned(),
        title: text(h, "title")?.to_owned(),
        description: text(h, "description")?.to_owned(),
        reward: parse(h, "reward")?,
        status: word(h, "status")?,
        launched_at: time(h, "launchedAt")?,
        version: parse(h, "version")?,
    })
}

pub(crate) fn application(h: &Hooks) -> Result<ApplicationView> {
    Ok(ApplicationView {
        participant: text(h, "participant")?.to_owned(),
        pitch: text(h, "pitch")?.to_owned(),
        proposed_days: h
            .get("proposedDays")
            .map(|_| parse(h, "proposedDays"))
            .transpose()?,
        status: word(h, "status")?,
    })
}

pub(crate) fn member(h: &Hooks) -> Result<MemberSummary> {
    Ok(MemberSummary {
        handle: text(h, "handle")?.to_owned(),
        display_name: text(h, "display_name")?.to_owned(),
        balance: parse(h, "balance")?,
        escrowed: parse(h, "escrowed")?,
    })
}

/// The reports page: the lag, the days' totals and the signals.
pub(crate) fn reports(s: &Scrape) -> Result<tally_ports::reports::ReportsView> {
    use tally_ports::reports::{DailyTotals, DayView, FraudRule, FraudSignal, ReportsView};
    let lag = s.main("reports")?;
    let list = |h: &Hooks, key: &str| -> Vec<String> {
        h.get(key)
            .map(|v| {
                v.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let daily = s
        .list(0)
        .iter()
        .rev() // the page shows the newest day first
        .map(|h| {
            Ok(DayView {
                day: parse(h, "day")?,
                totals: DailyTotals {
                    granted: parse(h, "granted")?,
                    granted_by_category: Default::default(),
                    escrowed: parse(h, "escrowed")?,
                    earned: parse(h, "earned")?,
                    refunded: parse(h, "refunded")?,
                    jobs_launched: parse(h, "jobsLaunched")?,
                    jobs_completed: parse(h, "jobsCompleted")?,
                    jobs_cancelled: parse(h, "jobsCancelled")?,
                    members_registered: parse(h, "membersRegistered")?,
                    active_members: parse(h, "activeMembers")?,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let signals = s
        .list(1)
        .iter()
        .rev() // newest first on the page
        .map(|h| {
            let rule: FraudRule =
                serde_json::from_value(serde_json::Value::String(text(h, "rule")?.to_owned()))
                    .map_err(|e| browser_error(format!("rule: {e}")))?;
            Ok(FraudSignal {
                rule,
                members: list(h, "members"),
                positions: list(h, "positions")
                    .iter()
                    .map(|p| {
                        p.parse()
                            .map_err(|e| browser_error(format!("position: {e}")))
                    })
                    .collect::<Result<_>>()?,
                time: time(h, "time")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ReportsView {
        checkpoint: parse(lag, "checkpoint")?,
        checkpoint_time: None,
        behind: parse(lag, "behind")?,
        daily,
        signals,
    })
}
