//! Reports over the whole history: daily totals and fraud signals, as a pure fold over
//! recorded events in global order (no I/O, no clock): the same events always give the same
//! reports, whoever folds them and however they are batched.
//!
//! [`Reports::apply`] takes each event once, in position order, and remembers the last
//! position folded ([`Reports::checkpoint`]), so that a follower of the feed can store the
//! reports with their checkpoint and resume exactly where it stopped.
//!
//! The fraud rules, as the product defines them:
//! - **collusion**: the same participant is paid by the same owner 3 or more times within
//!   24 hours (counted on `JobCompleted`, whose job names the owner);
//! - **refund churn**: an owner cancels 3 or more jobs within 24 hours;
//! - **quick cash-out**: credits granted to a member leave their balance (escrowed into a job
//!   they launch) within 60 seconds of the grant.

use crate::codec;
use crate::driven::{EventStore, ReportStore, StoreError};
use crate::envelope::RecordedEvent;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use tally_domain::{Actor, Event, GrantCategory, JobEvent, MemberEvent};

/// The format of saved reports: raise it whenever [`Reports`] changes shape, and stores
/// discard reports saved in another format (they are folded again from position 0).
pub const FORMAT: u32 = 1;

/// How many events within [`WINDOW`] make collusion or refund churn.
pub const REPEATS: usize = 3;
/// The window of collusion and refund churn.
pub const WINDOW: Duration = Duration::hours(24);
/// The window of a quick cash-out.
pub const CASH_OUT: Duration = Duration::seconds(60);

/// One UTC day's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyTotals {
    /// Credits granted, in all.
    pub granted: u64,
    /// Credits granted, by category (`promotion`, `purchase`, `compensation`, `other`).
    pub granted_by_category: BTreeMap<String, u64>,
    /// Credits moved into escrow by launches.
    pub escrowed: u64,
    /// Credits paid to participants.
    pub earned: u64,
    /// Credits refunded to owners by cancellations.
    pub refunded: u64,
    /// Jobs launched.
    pub jobs_launched: u64,
    /// Jobs completed.
    pub jobs_completed: u64,
    /// Jobs cancelled.
    pub jobs_cancelled: u64,
    /// Members registered.
    pub members_registered: u64,
    /// Members who did something that day (issued a command that recorded an event).
    pub active_members: u64,
}

/// What a fraud signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudRule {
    /// The same participant paid by the same owner 3 or more times within 24 hours.
    Collusion,
    /// An owner cancelling 3 or more jobs within 24 hours.
    RefundChurn,
    /// Granted credits escrowed away within 60 seconds.
    QuickCashOut,
}

/// A fraud signal: the rule, the members involved, and the events that raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudSignal {
    /// The rule.
    pub rule: FraudRule,
    /// The members involved (handles).
    pub members: Vec<String>,
    /// The positions of the events that raised it, in order.
    pub positions: Vec<u64>,
    /// When the last of them was recorded.
    pub time: DateTime<Utc>,
}

/// The reports, as folded up to [`Reports::checkpoint`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reports {
    /// The last position folded (0: none).
    pub checkpoint: u64,
    /// When the last event folded was recorded.
    pub checkpoint_time: Option<DateTime<Utc>>,
    /// Totals per UTC day.
    pub daily: BTreeMap<NaiveDate, DailyTotals>,
    /// Fraud signals, in the order they were raised.
    pub signals: Vec<FraudSignal>,
    /// What the rules need to remember (not part of the reports' meaning).
    #[serde(default)]
    memory: Memory,
}

/// What the fold remembers between events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Memory {
    /// Each job's owner.
    owners: HashMap<String, String>,
    /// Recent completions by `owner participant` (handles hold no spaces): (time,
    /// position).
    paid: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
    /// Recent cancellations by owner.
    cancelled: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
    /// Each member's last grant: (time, position).
    last_grant: HashMap<String, (DateTime<Utc>, u64)>,
    /// The members active on each day (to count each once).
    active: BTreeMap<NaiveDate, BTreeSet<String>>,
}

impl Memory {
    /// Drops what is kept about member `handle`.
    fn forget(&mut self, handle: &str) {
        self.last_grant.remove(handle);
        self.cancelled.remove(handle);
        self.paid
            .retain(|pair, _| pair.split(' ').all(|h| h != handle));
        for members in self.active.values_mut() {
            members.remove(handle);
        }
    }
}

/// Keeps the events within `WINDOW` of `now`, adds this one, and says whether that makes
/// exactly [`REPEATS`] (so that one run of repeats raises one signal).
fn repeats(q: &mut VecDeque<(DateTime<Utc>, u64)>, now: DateTime<Utc>, position: u64) -> bool {
    while q.front().is_some_and(|(t, _)| now - *t >= WINDOW) {
        q.pop_front();
    }
    q.push_back((now, position));
    q.len() == REPEATS
}

impl Reports {
    /// Empty reports, at position 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds events in global order. Events at or below the checkpoint are skipped (a
    /// follower that re-reads a page it already folded counts nothing twice).
    ///
    /// # Errors
    /// When an event does not decode (corrupt or from a newer build).
    pub fn apply_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Result<(), String> {
        for e in events {
            self.apply(e)?;
        }
        Ok(())
    }

    /// Folds one event (skipped at or below the checkpoint).
    ///
    /// # Errors
    /// When the event does not decode (corrupt or from a newer build).
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), String> {
        if e.position <= self.checkpoint {
            return Ok(());
        }
        let event = codec::decode(e.stream.kind(), &e.as_fold())?;
        let day = e.time.date_naive();
        if let Actor::Member(h) = &e.actor
            && self
                .memory
                .active
                .entry(day)
                .or_default()
                .insert(h.to_string())
        {
            self.daily.entry(day).or_default().active_members += 1;
        }
        let key = e.stream.key().to_owned();
        match &event {
            Event::Member(m) => self.member(&key, m, e),
            Event::Job(j) => self.job(&key, j, e),
        }
        self.checkpoint = e.position;
        self.checkpoint_time = Some(e.time);
        Ok(())
    }

    fn today(&mut self, e: &RecordedEvent) -> &mut DailyTotals {
        self.daily.entry(e.time.date_naive()).or_default()
    }

    fn member(&mut self, handle: &str, m: &MemberEvent, e: &RecordedEvent) {
        match m {
            MemberEvent::MemberRegistered { .. } => self.today(e).members_registered += 1,
            MemberEvent::CreditsGranted {
                amount, category, ..
            } => {
                let d = self.today(e);
                d.granted += amount.get();
                *d.granted_by_category
                    .entry(category_name(*category))
                    .or_default() += amount.get();
                self.memory
                    .last_grant
                    .insert(handle.to_owned(), (e.time, e.position));
            }
            MemberEvent::CreditsEscrowed { amount, .. } => {
                self.today(e).escrowed += amount.get();
                if let Some((t, p)) = self.memory.last_grant.get(handle).copied()
                    && e.time - t <= CASH_OUT
                {
                    self.memory.last_grant.remove(handle);
                    self.signals.push(FraudSignal {
                        rule: FraudRule::QuickCashOut,
                        members: vec![handle.to_owned()],
                        positions: vec![p, e.position],
                        time: e.time,
                    });
                }
            }
            MemberEvent::CreditsEarned { amount, .. } => self.today(e).earned += amount.get(),
            MemberEvent::CreditsRefunded { amount, .. } => self.today(e).refunded += amount.get(),
            MemberEvent::EscrowReleased { .. } => {}
            // What the worker kept about a forgotten member goes (their past signals stay:
            // they name a handle, a pseudonym, and the positions of the events).
            MemberEvent::MemberForgotten {} => self.memory.forget(handle),
        }
    }

    fn job(&mut self, job: &str, j: &JobEvent, e: &RecordedEvent) {
        match j {
            JobEvent::JobLaunched { owner, .. } => {
                self.today(e).jobs_launched += 1;
                self.memory.owners.insert(job.to_owned(), owner.to_string());
            }
            JobEvent::JobCompleted { participant, .. } => {
                self.today(e).jobs_completed += 1;
                let Some(owner) = self.memory.owners.get(job).cloned() else {
                    return;
                };
                let pair = format!("{owner} {participant}");
                let q = self.memory.paid.entry(pair).or_default();
                if repeats(q, e.time, e.position) {
                    let positions = q.iter().map(|(_, p)| *p).collect();
                    self.signals.push(FraudSignal {
                        rule: FraudRule::Collusion,
                        members: vec![owner, participant.to_string()],
                        positions,
                        time: e.time,
                    });
                }
            }
            JobEvent::JobCancelled { .. } => {
                self.today(e).jobs_cancelled += 1;
                let Some(owner) = self.memory.owners.get(job).cloned() else {
                    return;
                };
                let q = self.memory.cancelled.entry(owner.clone()).or_default();
                if repeats(q, e.time, e.position) {
                    let positions = q.iter().map(|(_, p)| *p).collect();
                    self.signals.push(FraudSignal {
                        rule: FraudRule::RefundChurn,
                        members: vec![owner],
                        positions,
                        time: e.time,
                    });
                }
            }
            JobEvent::ApplicationSubmitted { .. }
            | JobEvent::ApplicationWithdrawn { .. }
            | JobEvent::ApplicantAccepted { .. }
            | JobEvent::JobDescriptionEdited { .. } => {}
        }
    }
}

/// Where a follower reads the global order: the event store in process, or a service's
/// HTTP feed (the way a peripheral service reads it).
#[async_trait::async_trait]
pub trait History: Send + Sync {
    /// Up to `limit` events after `position`, in global order, with no gap.
    ///
    /// # Errors
    /// When the history cannot be read.
    async fn after(&self, position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;
}

/// The history of an event store, in process.
pub struct StoreHistory(pub Arc<dyn EventStore>);

#[async_trait::async_trait]
impl History for StoreHistory {
    async fn after(&self, position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_all(position, limit).await
    }
}

/// Follows the history into the reports: reads the global order after the saved checkpoint
/// a batch at a time, folds it, and saves the reports with the new checkpoint in one step.
/// Several followers may run at once: a save never goes back to an older checkpoint.
pub struct Follower {
    events: Arc<dyn History>,
    reports: Arc<dyn ReportStore>,
    batch: usize,
}

impl Follower {
    /// A follower of an event store into `reports`, `batch` events at a time (at most
    /// 1,000).
    pub fn new(events: Arc<dyn EventStore>, reports: Arc<dyn ReportStore>, batch: usize) -> Self {
        Self::of(Arc::new(StoreHistory(events)), reports, batch)
    }

    /// A follower of any history (a service's HTTP feed, say) into `reports`.
    pub fn of(events: Arc<dyn History>, reports: Arc<dyn ReportStore>, batch: usize) -> Self {
        Self {
            events,
            reports,
            batch: batch.clamp(1, 1000),
        }
    }

    /// Folds one batch after the saved checkpoint and saves it; returns how many events it
    /// folded (0: caught up).
    ///
    /// # Errors
    /// When storage fails or an event does not decode; nothing of the batch is saved then.
    pub async fn step(&self) -> Result<usize, StoreError> {
        let mut r = self.reports.load_reports().await?;
        let events = self.events.after(r.checkpoint, self.batch).await?;
        if events.is_empty() {
            return Ok(0);
        }
        r.apply_all(&events).map_err(StoreError::Other)?;
        self.reports.save_reports(&r).await?;
        Ok(events.len())
    }

    /// Folds until caught up; returns how many events it folded.
    ///
    /// # Errors
    /// As [`Follower::step`].
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            match self.step().await? {
                0 => return Ok(n),
                k => n += k,
            }
        }
    }

    /// Follows for ever: catches up, then looks again every `idle` (the gap-free global
    /// order makes polling safe: an event is never visible before every earlier one is).
    /// Failures are logged and retried after `idle`.
    pub async fn run(self, idle: std::time::Duration) {
        loop {
            match self.catch_up().await {
                Ok(n) if n > 0 => tracing::debug!(events = n, "reports caught up"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "following the history into the reports"),
            }
            tokio::time::sleep(idle).await;
        }
    }
}

/// The reports as an admin reads them, with how far they have caught up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportsView {
    /// The last position folded (0: none yet).
    pub checkpoint: u64,
    /// When the last event folded was recorded.
    pub checkpoint_time: Option<DateTime<Utc>>,
    /// How many recorded events are not folded yet (counted up to 1,000).
    pub behind: u64,
    /// Totals per UTC day, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub daily: Vec<DayView>,
    /// Fraud signals, in the order they were raised.
    #[schema(value_type = Vec<Object>)]
    pub signals: Vec<FraudSignal>,
}

/// One day's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayView {
    /// The UTC day.
    pub day: NaiveDate,
    /// Its totals.
    #[serde(flatten)]
    pub totals: DailyTotals,
}

/// The reports, for admins.
///
/// # Errors
/// `Rejected` (`sign_in_first`, `admin_only`) for anyone but an admin; `Infrastructure` when
/// storage fails.
pub async fn view(
    ctx: &crate::Ctx,
    events: &dyn EventStore,
    reports: &dyn ReportStore,
) -> crate::Result<ReportsView> {
    match &ctx.actor {
        Actor::Anonymous => return Err(tally_domain::Rejection::SignInFirst.into()),
        a if a.is_privileged() => {}
        _ => return Err(tally_domain::Rejection::AdminOnly.into()),
    }
    let failed = |e: StoreError| crate::Error::infrastructure(e.to_string());
    let r = reports.load_reports().await.map_err(failed)?;
    let behind = events
        .read_all(r.checkpoint, 1000)
        .await
        .map_err(failed)?
        .len() as u64;
    Ok(ReportsView {
        checkpoint: r.checkpoint,
        checkpoint_time: r.checkpoint_time,
        behind,
        daily: r
            .daily
            .into_iter()
            .map(|(day, totals)| DayView { day, totals })
            .collect(),
        signals: r.signals,
    })
}

fn category_name(c: GrantCategory) -> String {
    c.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamId;
    use serde_json::{Value, json};
    use uuid::Uuid;

    /// A history written event by event, each at a time given in minutes from a start.
    #[derive(Default)]
    struct History {
        events: Vec<RecordedEvent>,
        versions: HashMap<String, u64>,
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
            .unwrap()
            .to_utc()
    }

    impl History {
        fn at(&mut self, minutes: f64, stream: &str, actor: &str, t: &str, p: Value) -> u64 {
            let v = self.versions.entry(stream.to_owned()).or_default();
            *v += 1;
            let id = Uuid::now_v7();
            let position = self.events.len() as u64 + 1;
            let (t, schema_version) = (t.to_owned(), crate::contracts::current_version(t).unwrap());
            self.events.push(RecordedEvent {
                position,
                stream: StreamId::parse(stream).unwrap(),
                version: *v,
                event_id: id,
                event_type: t,
                schema_version,
                payload: p,
                time: t0() + Duration::milliseconds((minutes * 60_000.0) as i64),
                actor: actor.parse().unwrap(),
                command_id: id,
                correlation_id: id,
                causation_id: id,
            });
            position
        }
        fn member(&mut self, m: f64, h: &str) {
            self.at(
                m,
                &format!("member:{h}"),
                "admin:root",
                "MemberRegistered",
                json!({"handle": h, "display_name": h}),
            );
        }
        fn grant(&mut self, m: f64, h: &str, n: u64, category: &str) -> u64 {
            self.at(
                m,
                &format!("member:{h}"),
                "admin:root",
                "CreditsGranted",
                json!({"amount": n, "reason": "r", "category": category}),
            )
        }
        fn launch(&mut self, m: f64, owner: &str, job: &str, reward: u64) -> u64 {
            let actor = format!("member:{owner}");
            self.at(
                m,
                &format!("job:{job}"),
                &actor,
                "JobLaunched",
                json!({"job": job,
                "owner": owner, "title": "T", "description": "", "reward": reward}),
            );
            self.at(
                m,
                &format!("member:{owner}"),
                &actor,
                "CreditsEscrowed",
                json!({"job": job, "amount": reward}),
            )
        }
        fn complete(&mut self, m: f64, owner: &str, job: &str, who: &str, reward: u64) -> u64 {
            let actor = format!("member:{owner}");
            let p = self.at(
                m,
                &format!("job:{job}"),
                &actor,
                "JobCompleted",
                json!({"participant": who, "reward": reward}),
            );
            self.at(
                m,
                &format!("member:{who}"),
                &actor,
                "CreditsEarned",
                json!({"job": job, "amount": reward}),
            );
            p
        }
        fn cancel(&mut self, m: f64, owner: &str, job: &str, reward: u64) -> u64 {
            let actor = format!("member:{owner}");
            let p = self.at(
                m,
                &format!("job:{job}"),
                &actor,
                "JobCancelled",
                json!({"reason": "r"}),
            );
            self.at(
                m,
                &format!("member:{owner}"),
                &actor,
                "CreditsRefunded",
                json!({"job": job, "amount": reward}),
            );
            p
        }
        fn reports(&self) -> Reports {
            let mut r = Reports::new();
            r.apply_all(&self.events).unwrap();
            r
        }
    }

    fn rules(r: &Reports) -> Vec<FraudRule> {
        r.signals.iter().map(|s| s.rule).collect()
    }

    #[test]
    fn daily_totals_add_up_per_utc_day_with_grants_by_category() {
        let mut h = History::default();
        h.member(0.0, "alice");
        h.member(0.0, "bob");
        h.grant(1.0, "alice", 100, "promotion");
        h.grant(2.0, "alice", 50, "purchase");
        h.launch(10.0, "alice", "j1", 30);
        h.complete(20.0, "alice", "j1", "bob", 30);
        h.launch(30.0, "alice", "j2", 10);
        h.cancel(40.0, "alice", "j2", 10);
        h.grant(24.0 * 60.0, "bob", 5, "other"); // the next day
        let r = h.reports();
        let day1 = &r.daily[&t0().date_naive()];
        assert_eq!(
            (day1.granted, day1.escrowed, day1.earned, day1.refunded),
            (150, 40, 30, 10)
        );
        assert_eq!(
            (
                day1.jobs_launched,
                day1.jobs_completed,
                day1.jobs_cancelled,
                day1.members_registered
            ),
            (2, 1, 1, 2)
        );
        assert_eq!(day1.granted_by_category["promotion"], 100);
        assert_eq!(day1.granted_by_category["purchase"], 50);
        assert_eq!(
            day1.active_members, 1,
            "alice acted; bob was only acted upon"
        );
        let day2 = &r.daily[&(t0() + Duration::days(1)).date_naive()];
        assert_eq!((day2.granted, day2.granted_by_category["other"]), (5, 5));
        assert_eq!(r.checkpoint, h.events.len() as u64);
    }

    #[test]
    fn three_payouts_from_one_owner_to_one_participant_within_a_day_are_collusion() {
        let mut h = History::default();
        let mut raised = Vec::new();
        for (i, m) in [0.0, 600.0, 1200.0].into_iter().enumerate() {
            let job = format!("j{i}");
            h.launch(m, "olive", &job, 5);
            raised.push(h.complete(m + 1.0, "olive", &job, "pat", 5));
        }
        let r = h.reports();
        assert_eq!(rules(&r), [FraudRule::Collusion]);
        assert_eq!(r.signals[0].members, ["olive", "pat"]);
        assert_eq!(r.signals[0].positions, raised);
    }

    #[test]
    fn collusion_near_misses_raise_nothing() {
        // Two payouts within a day.
        let mut h = History::default();
        for (i, m) in [0.0, 60.0].into_iter().enumerate() {
            h.launch(m, "olive", &format!("j{i}"), 5);
            h.complete(m + 1.0, "olive", &format!("j{i}"), "pat", 5);
        }
        assert!(h.reports().signals.is_empty());
        // Three, spread over 25 hours.
        let mut h = History::default();
        for (i, m) in [0.0, 12.5 * 60.0, 25.0 * 60.0].into_iter().enumerate() {
            h.launch(m, "olive", &format!("j{i}"), 5);
            h.complete(m + 0.5, "olive", &format!("j{i}"), "pat", 5);
        }
        assert!(h.reports().signals.is_empty());
        // Three within a day, to three participants.
        let mut h = History::default();
        for (i, who) in ["pat", "quinn", "ray"].into_iter().enumerate() {
            h.launch(i as f64, "olive", &format!("j{i}"), 5);
            h.complete(i as f64 + 0.5, "olive", &format!("j{i}"), who, 5);
        }
        assert!(h.reports().signals.is_empty());
    }

    #[test]
    fn three_cancellations_within_a_day_are_refund_churn_and_two_are_not() {
        let mut h = History::default();
        let mut raised = Vec::new();
        for i in 0..3 {
            let job = format!("j{i}");
            h.launch(f64::from(i) * 300.0, "olive", &job, 5);
            raised.push(h.cancel(f64::from(i) * 300.0 + 1.0, "olive", &job, 5));
            if i == 1 {
                assert!(h.reports().signals.is_empty(), "two cancellations");
            }
        }
        let r = h.reports();
        assert_eq!(rules(&r), [FraudRule::RefundChurn]);
        assert_eq!(
            (r.signals[0].members.clone(), r.signals[0].positions.clone()),
            (vec!["olive".to_owned()], raised)
        );
    }

    #[test]
    fn granted_credits_escrowed_within_a_minute_are_a_quick_cash_out() {
        let mut h = History::default();
        let grant = h.grant(0.0, "mallory", 100, "promotion");
        let escrow = h.launch(0.9, "mallory", "j1", 100);
        // Slower than a minute: nothing.
        h.grant(10.0, "honest", 100, "purchase");
        h.launch(11.5, "honest", "j2", 100);
        let r = h.reports();
        assert_eq!(rules(&r), [FraudRule::QuickCashOut]);
        assert_eq!(r.signals[0].members, ["mallory"]);
        assert_eq!(r.signals[0].positions, [grant, escrow]);
    }

    #[test]
    fn what_the_reports_kept_about_a_forgotten_member_goes() {
        let mut h = History::default();
        h.grant(0.0, "mallory", 100, "promotion");
        h.at(
            0.2,
            "member:mallory",
            "admin:root",
            "MemberForgotten",
            json!({}),
        );
        // Her last grant was dropped with her: escrowing now is no quick cash-out.
        h.launch(0.5, "mallory", "j1", 100);
        let r = h.reports();
        assert!(rules(&r).is_empty(), "{:?}", r.signals);
        assert!(r.memory.last_grant.is_empty() && !r.memory.owners.is_empty());
    }

    #[test]
    fn folding_in_batches_or_again_gives_the_same_reports() {
        let mut h = History::default();
        for i in 0..4 {
            let job = format!("j{i}");
            h.grant(f64::from(i), "olive", 10, "other");
            h.launch(f64::from(i) + 0.5, "olive", &job, 5);
            h.cancel(f64::from(i) + 0.7, "olive", &job, 5);
        }
        let whole = h.reports();
        let mut batched = Reports::new();
        for chunk in h.events.chunks(5) {
            batched.apply_all(chunk).unwrap();
            // A follower that re-reads the page it just folded counts nothing twice.
            batched.apply_all(chunk).unwrap();
        }
        assert_eq!(batched, whole);
        // And through a stored copy (the reports with their checkpoint, as JSON).
        let mut resumed: Reports =
            serde_json::from_value(serde_json::to_value(&whole).unwrap()).unwrap();
        resumed.apply_all(&h.events).unwrap();
        assert_eq!(resumed, whole);
    }
}
