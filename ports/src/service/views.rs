//! The driving port, implemented: a command goes to [`TallyService::execute_input`]; a view
//! reads the states it shows (through the cache), asks the domain who may see it and what the
//! viewer may do now, and renders.

use super::*;
use crate::ctx::Ctx;
use crate::driving::*;
use crate::envelope::EntityRef;
use crate::error::NotFound;
use crate::feed::{FeedRequest, FeedStart, MAX_LIMIT, MAX_WAIT};
use crate::jobs::{COUNT_CAP, Cursor, DEFAULT_PAGE, JobListing, JobPage, JobQuery, MAX_PAGE};
use crate::members::{self, MemberCursor, MemberListing, MemberPage, MemberQuery};
use crate::statement::{
    BalancePoint, CHART_POINTS, DEFAULT_LINES, LineKind, MAX_LINES, Statement, StatementLine,
    StatementQuery, sample,
};
use async_trait::async_trait;
use std::time::Duration;
use tally_domain::affordance::{self, Action};
use tally_domain::{Actor, Handle, JobId, JobStatus, Rejection};

#[async_trait]
impl Tally for TallyService {
    async fn execute(&self, ctx: &Ctx, input: Input) -> Result<Receipt> {
        self.execute_input(ctx, input).await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        let h = Handle::parse(handle)?;
        let stream = StreamId::member(&h);
        let v = self.read(&stream).await?;
        let w = v.state.as_wallet().cloned().unwrap_or_default();
        let p = w.visible_to(&h, &ctx.actor)?;
        let history = self
            .store
            .load(&stream, v.version.saturating_sub(WALLET_HISTORY))
            .await
            .map_err(store_error)?;
        let history = current_versions(history)?;
        let actions = self.actions(ctx, &stream, &v, w.candidates(&h)).await?;
        Ok(WalletView {
            handle: p.handle.to_string(),
            display_name: p.display_name.to_string(),
            balance: w.balance.get(),
            escrowed: w.escrowed().get(),
            escrow: w
                .escrow
                .iter()
                .map(|(j, c)| EscrowLine {
                    job: j.to_string(),
                    amount: c.get(),
                })
                .collect(),
            total_granted: w.total_granted.get(),
            total_earned: w.total_earned.get(),
            total_refunded: w.total_refunded.get(),
            total_paid_out: w.total_paid_out.get(),
            version: v.version,
            history,
            actions,
        })
    }

    async fn statement(&self, ctx: &Ctx, handle: &str, q: StatementQuery) -> Result<Statement> {
        let h = Handle::parse(handle)?;
        let stream = StreamId::member(&h);
        let events = self.full_history(&stream).await?;
        let now = fold(&stream, &events)?;
        let w = now.state.as_wallet().cloned().unwrap_or_default();
        let profile = w.visible_to(&h, &ctx.actor)?.clone();
        let limit = match q.limit {
            0 => DEFAULT_LINES,
            n => n.min(MAX_LINES),
        };
        // The balance after each line is the domain's own fold, event by event.
        let mut v = Versioned::empty(&stream);
        let (mut lines, mut points) = (Vec::new(), Vec::new());
        for e in &events {
            v.fold(&stream, e.as_fold())?;
            let Some(kind) = LineKind::of_event(&e.event_type) else {
                continue;
            };
            let balance = v.state.as_wallet().map_or(0, |w| w.balance.get());
            points.push(BalancePoint {
                time: e.time,
                balance,
            });
            let amount = e.payload["amount"].as_u64().unwrap_or(0);
            let (change, escrow_change) = kind.effects(amount);
            lines.push(StatementLine {
                version: e.version,
                time: e.time,
                kind,
                amount,
                change,
                escrow_change,
                balance,
                job: e.payload["job"].as_str().map(str::to_owned),
                job_title: None,
                counterpart: None,
                reason: e.payload["reason"]
                    .as_str()
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
            });
        }
        lines.retain(|l| q.shows(l));
        let total = lines.len() as u64;
        let mut page: Vec<StatementLine> = lines
            .into_iter()
            .rev()
            .filter(|l| q.before.is_none_or(|b| l.version < b))
            .take(limit + 1)
            .collect();
        let older = (page.len() > limit).then(|| page[limit - 1].version);
        page.truncate(limit);
        // The page's jobs, each read once: their titles, and who was on the other side.
        let jobs: Vec<StreamId> = page
            .iter()
            .filter_map(|l| JobId::parse(l.job.as_deref()?).ok())
            .map(|id| StreamId::job(&id))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut known = Known::default();
        self.read_into(&jobs, &mut known).await?;
        for l in &mut page {
            let Some(id) = l.job.as_deref().and_then(|j| JobId::parse(j).ok()) else {
                continue;
            };
            let v = known.get(&StreamId::job(&id));
            let Some(j) = v.state.as_job() else { continue };
            l.job_title = j.details.as_ref().map(|d| d.title.to_string());
            l.counterpart = match l.kind {
                LineKind::Earned => j.details.as_ref().map(|d| d.owner.to_string()),
                LineKind::PaidOut => j.accepted.as_ref().map(ToString::to_string),
                _ => None,
            };
        }
        Ok(Statement {
            handle: profile.handle.to_string(),
            display_name: profile.display_name.to_string(),
            balance: w.balance.get(),
            escrowed: w.escrowed().get(),
            lines: page,
            total,
            older,
            chart: sample(&points, CHART_POINTS),
        })
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        let id = JobId::parse(job)?;
        let (v, summary) = self.read_job(&id).await?;
        let j = v.state.as_job().cloned().unwrap_or_default();
        j.open_to(&id, &ctx.actor)?;
        let actions = self
            .actions(ctx, &StreamId::job(&id), &v, j.candidates(&id))
            .await?;
        Ok(JobOwnerView {
            applications: j
                .applications
                .iter()
                .map(|(h, a)| application_view(h, a))
                .collect(),
            accepted: j.accepted.as_ref().map(ToString::to_string),
            cancel_reason: j.cancel_reason.as_ref().map(ToString::to_string),
            job: summary,
            actions,
        })
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        let id = JobId::parse(job)?;
        let (v, summary) = self.read_job(&id).await?;
        let j = v.state.as_job().cloned().unwrap_or_default();
        // Only a member has an application; an admin named like a member sees none.
        let mine = match &ctx.actor {
            Actor::Member(h) => j.applications.get(h).map(|a| application_view(h, a)),
            _ => None,
        };
        let actions = self
            .actions(ctx, &StreamId::job(&id), &v, j.candidates(&id))
            .await?;
        Ok(JobParticipantView {
            job: summary,
            my_application: mine,
            actions,
        })
    }

    async fn jobs(&self, ctx: &Ctx, q: JobQuery) -> Result<JobPage> {
        let q = checked_query(ctx, q)?;
        let mut found = self.cache.jobs(&q, self.format(EntityKind::Job)).await;
        // Rows to rebuild first (a cleared cache, a new state format): rebuilt from their
        // events, written back, and the page asked again, once.
        if let Ok(c) = &found
            && !c.repair.is_empty()
        {
            self.repair(c.repair.clone()).await?;
            found = self.cache.jobs(&q, self.format(EntityKind::Job)).await;
        }
        let found = found.map_err(store_error)?;
        let ascending = matches!(q.cursor, Cursor::After(_));
        let more = found.rows.len() > q.limit;
        let mut jobs = Vec::with_capacity(q.limit);
        for item in found.rows.into_iter().take(q.limit) {
            let mut v = item
                .cached
                .as_ref()
                .and_then(|c| self.decode_row(c))
                .unwrap_or_else(|| Versioned::empty(&item.stream));
            if v.version < item.version {
                self.catch_up(&item.stream, &mut v).await?;
            }
            let Some(j) = v.state.as_job() else { continue };
            let Some(job) = summary(j, v.version, item.created_at) else {
                continue;
            };
            jobs.push(JobListing {
                applications: u32::try_from(j.applications.len()).unwrap_or(u32::MAX),
                my_application: match &ctx.actor {
                    Actor::Member(h) => j.applications.get(h).map(|a| a.status),
                    _ => None,
                },
                job,
            });
        }
        if ascending {
            jobs.reverse();
        }
        let (first, last) = (
            jobs.first().map(|j| j.job.id.clone()),
            jobs.last().map(|j| j.job.id.clone()),
        );
        let (older, newer) = match q.cursor {
            Cursor::First => (last.filter(|_| more), None),
            Cursor::Before(_) => (last.filter(|_| more), first),
            Cursor::After(_) => (last, first.filter(|_| more)),
        };
        Ok(JobPage {
            total: if found.total_exact {
                found.total
            } else {
                found.total.max(COUNT_CAP + 1)
            },
            total_exact: found.total_exact,
            jobs,
            older,
            newer,
        })
    }

    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        require_admin(&ctx.actor)?;
        let mut v: Vec<MemberSummary> = self
            .list(EntityKind::Member, CacheFilter::All)
            .await?
            .into_iter()
            .filter_map(|(_, v)| {
                let w = v.state.as_wallet()?;
                let p = w.profile.as_ref()?;
                Some(MemberSummary {
                    handle: p.handle.to_string(),
                    display_name: p.display_name.to_string(),
                    balance: w.balance.get(),
                    escrowed: w.escrowed().get(),
                })
            })
            .collect();
        v.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok(v)
    }

    async fn find_members(&self, ctx: &Ctx, q: MemberQuery) -> Result<MemberPage> {
        require_admin(&ctx.actor)?;
        let q = checked_member_query(q)?;
        let format = self.format(EntityKind::Member);
        let mut found = self.cache.members(&q, format).await;
        // As for the job lists: rows to rebuild first, then the page asked again, once.
        if let Ok(c) = &found
            && !c.repair.is_empty()
        {
            self.repair(c.repair.clone()).await?;
            found = self.cache.members(&q, format).await;
        }
        let found = found.map_err(store_error)?;
        let backwards = matches!(q.cursor, MemberCursor::Before(_));
        let more = found.rows.len() > q.limit;
        let mut members = Vec::with_capacity(q.limit);
        for item in found.rows.into_iter().take(q.limit) {
            let l = &item.listed;
            let mut v = l
                .cached
                .as_ref()
                .and_then(|c| self.decode_row(c))
                .unwrap_or_else(|| Versioned::empty(&l.stream));
            if v.version < l.version {
                self.catch_up(&l.stream, &mut v).await?;
            }
            let Some(w) = v.state.as_wallet() else {
                continue;
            };
            let Some(p) = w.profile.as_ref() else {
                continue;
            };
            members.push(MemberListing {
                member: MemberSummary {
                    handle: p.handle.to_string(),
                    display_name: p.display_name.to_string(),
                    balance: w.balance.get(),
                    escrowed: w.escrowed().get(),
                },
                joined_at: l.created_at,
                last_active_at: item.last_event_at,
                has_account: None,
            });
        }
        if backwards {
            members.reverse();
        }
        if let Some(accounts) = &self.accounts {
            let handles: Vec<String> = members.iter().map(|m| m.member.handle.clone()).collect();
            let with = accounts.member_accounts(&handles).await?;
            for m in &mut members {
                m.has_account = Some(with.contains(&m.member.handle));
            }
        }
        let (first, last) = (
            members.first().map(|m| m.member.handle.clone()),
            members.last().map(|m| m.member.handle.clone()),
        );
        let (next, prev) = match q.cursor {
            MemberCursor::First => (last.filter(|_| more), None),
            MemberCursor::After(_) => (last.filter(|_| more), first),
            MemberCursor::Before(_) => (last, first.filter(|_| more)),
        };
        Ok(MemberPage {
            total: found.total.min(COUNT_CAP),
            total_exact: found.total <= COUNT_CAP,
            members,
            next,
            prev,
        })
    }

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let now = fold(&stream, &events)?;
        may_read(ctx, &stream, &now)?;
        Ok(events)
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let now = fold(&stream, &events)?;
        may_read(ctx, &stream, &now)?;
        let upto: Vec<RecordedEvent> = events
            .into_iter()
            .take_while(|e| {
                at.version.is_none_or(|v| e.version <= v) && at.time.is_none_or(|t| e.time <= t)
            })
            .collect();
        // A version asked for must exist (up to the time, when one is given too).
        let exists = at.version.is_none_or(|v| v <= now.version);
        let last = match upto.last() {
            Some(e) if exists => e,
            _ => {
                return Err(NotFound::NoSuchVersion {
                    stream,
                    latest: now.version,
                }
                .into());
            }
        };
        let (version, time) = (last.version, last.time);
        let then = fold(&stream, &upto)?;
        Ok(Snapshot {
            stream,
            version,
            latest_version: now.version,
            time,
            state: then.state,
        })
    }

    async fn reports(&self, ctx: &Ctx) -> Result<crate::reports::ReportsView> {
        let Some(reports) = self.reports.as_ref() else {
            return Err(crate::Error::infrastructure(
                "this service keeps no reports",
            ));
        };
        crate::reports::view(ctx, self.store.as_ref(), reports.as_ref()).await
    }

    async fn inbox(
        &self,
        ctx: &Ctx,
        q: crate::inbox::InboxQuery,
    ) -> Result<crate::inbox::InboxPage> {
        let (me, outbox) = self.inbox_of(ctx)?;
        let limit = q.limit.clamp(1, crate::inbox::MAX_PAGE);
        let q = crate::inbox::InboxQuery { limit, ..q };
        let mut stored = outbox.inbox(me, &q).await.map_err(store_error)?;
        let next = if stored.items.len() > limit {
            stored.items.truncate(limit);
            stored.items.last().map(|i| i.message.id)
        } else {
            None
        };
        Ok(crate::inbox::InboxPage {
            member: me.to_string(),
            items: stored.items.iter().map(Into::into).collect(),
            unread: stored.unread,
            next,
        })
    }

    async fn unread_notifications(&self, ctx: &Ctx) -> Result<u64> {
        match (ctx.actor.as_member(), self.outbox.as_ref()) {
            (Some(me), Some(outbox)) => outbox.unread(me).await.map_err(store_error),
            _ => Ok(0),
        }
    }

    async fn mark_read(&self, ctx: &Ctx, which: crate::inbox::MarkRead) -> Result<u64> {
        let (me, outbox) = self.inbox_of(ctx)?;
        match outbox
            .mark_read(me, which, self.clock.now())
            .await
            .map_err(store_error)?
        {
            Some(marked) => Ok(marked),
            // Not theirs, which is not told apart from not existing.
            None => match which {
                crate::inbox::MarkRead::One(id) => {
                    Err(crate::NotFound::NoSuchNotification { id }.into())
                }
                crate::inbox::MarkRead::All => Ok(0),
            },
        }
    }

    async fn read_feed(&self, ctx: &Ctx, req: FeedRequest) -> Result<FeedPage> {
        require_admin(&ctx.actor)?;
        if let Some(h) = &req.filter.member {
            Handle::parse(h)?;
        }
        if let Some(j) = &req.filter.job {
            JobId::parse(j)?;
        }
        let limit = req.limit.clamp(1, MAX_LIMIT);
        let after = match req.start {
            FeedStart::Before(before) => return self.feed_before(before, limit, &req.filter).await,
            FeedStart::After(p) => p,
            FeedStart::AfterEvent(id) => self
                .store
                .position_of(id)
                .await
                .map_err(store_error)?
                .ok_or(NotFound::NoSuchEvent { id })?,
        };
        let deadline = tokio::time::Instant::now() + req.wait.min(MAX_WAIT);
        let _waiting = (!req.wait.is_zero()).then(crate::telemetry::LongPoll::start);
        // Subscribed before reading, so that a commit between the read and the wait wakes it.
        let mut commits = self.store.commits();
        let mut recheck = Duration::from_millis(5);
        let events = loop {
            let events = self
                .store
                .read_matching(after, limit, &req.filter)
                .await
                .map_err(store_error)?;
            let now = tokio::time::Instant::now();
            if !events.is_empty() || now >= deadline {
                break events;
            }
            // Woken by a commit, or after `recheck` at the latest: a commit may be held back
            // by an older transaction still in flight, and one that rolls back wakes nobody,
            // so the gap-free horizon is re-checked at a growing interval (up to 0.5 s).
            let nap = recheck.min(deadline - now);
            match commits.as_mut() {
                Some(rx) => match tokio::time::timeout(nap, rx.changed()).await {
                    Ok(Ok(())) => {
                        recheck = Duration::from_millis(5);
                        continue;
                    }
                    Ok(Err(_)) => commits = None, // the store is gone: nap from now on
                    Err(_) => {}
                },
                None => tokio::time::sleep(nap).await,
            }
            recheck = (recheck * 2).min(Duration::from_millis(500));
        };
        let next_after = events.last().map_or(after, |e| e.position);
        // How far behind the head this reader is: a short page is caught up (to the
        // gap-free horizon); only a full one asks where the head is.
        let lag = if events.len() == limit {
            let head = self.store.head().await.map_err(store_error)?.unwrap_or(0);
            head.saturating_sub(next_after)
        } else {
            0
        };
        metrics::histogram!(crate::telemetry::FEED_LAG).record(lag as f64);
        let events = super::current_versions(events)?;
        Ok(FeedPage {
            after,
            events,
            next_after,
        })
    }
}

impl TallyService {
    /// The page of the feed just below `before`, read backwards and returned in global
    /// order: a full page starts after the position below its first event; a short one
    /// reached the start.
    async fn feed_before(
        &self,
        before: u64,
        limit: usize,
        filter: &crate::feed::FeedFilter,
    ) -> Result<FeedPage> {
        let mut events = self
            .store
            .read_before(before, limit, filter)
            .await
            .map_err(store_error)?;
        events.reverse();
        let after = match events.first() {
            Some(e) if events.len() == limit => e.position - 1,
            _ => 0,
        };
        let next_after = events.last().map_or(after, |e| e.position);
        Ok(FeedPage {
            after,
            events: super::current_versions(events)?,
            next_after,
        })
    }
}

/// A job query as asked, checked: the handles and ids parse, the limit is in range, and the
/// viewer may see what it lists. Anyone sees the open jobs (the board); a member also sees
/// their own jobs in every state and the jobs they applied to; admins see everything.
fn checked_query(ctx: &Ctx, mut q: JobQuery) -> Result<JobQuery> {
    q.limit = match q.limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    for h in [&q.owner, &q.applicant].into_iter().flatten() {
        Handle::parse(h)?;
    }
    if let Cursor::Before(id) | Cursor::After(id) = &q.cursor {
        JobId::parse(id)?;
    }
    if let (Some(min), Some(max)) = (q.min_reward, q.max_reward)
        && min > max
    {
        return Err(Error::invalid(
            "min_reward",
            "invalid_range",
            "the least reward is more than the greatest",
        ));
    }
    if ctx.actor.is_privileged() {
        return Ok(q);
    }
    let me = match &ctx.actor {
        Actor::Member(h) => Some(h.as_str()),
        _ => None,
    };
    let mine = |h: &Option<String>| h.as_deref().is_some_and(|h| Some(h) == me);
    if q.applicant.is_some() && !mine(&q.applicant) {
        return Err(match me {
            None => Rejection::SignInFirst,
            Some(_) => Rejection::AdminOnly,
        }
        .into());
    }
    let beyond_board = q.statuses().iter().any(|s| *s != JobStatus::Open);
    if beyond_board && !mine(&q.owner) && !mine(&q.applicant) {
        return Err(match me {
            None => Rejection::SignInFirst,
            Some(_) => Rejection::AdminOnly,
        }
        .into());
    }
    Ok(q)
}

/// A member query as asked, checked: the cursor is a handle, the search is not too long, the
/// limit is in range.
fn checked_member_query(mut q: MemberQuery) -> Result<MemberQuery> {
    q.limit = match q.limit {
        0 => members::DEFAULT_PAGE,
        n => n.min(members::MAX_PAGE),
    };
    if let MemberCursor::After(h) | MemberCursor::Before(h) = &q.cursor {
        Handle::parse(h)?;
    }
    if q.text
        .as_deref()
        .is_some_and(|t| t.chars().count() > members::MAX_TEXT)
    {
        return Err(Error::invalid(
            "q",
            "invalid_query",
            format!("a search is at most {} characters", members::MAX_TEXT),
        ));
    }
    Ok(q)
}

/// Refuses unless the actor is an admin (or a system process).
impl TallyService {
    /// The viewer's handle and the outbox, for the inbox's use cases (members only).
    fn inbox_of<'a>(&'a self, ctx: &'a Ctx) -> Result<(&'a Handle, &'a dyn crate::driven::Outbox)> {
        let me = match &ctx.actor {
            Actor::Anonymous => return Err(Rejection::SignInFirst.into()),
            a => a.as_member().ok_or(Rejection::MembersOnly)?,
        };
        let outbox = self
            .outbox
            .as_deref()
            .ok_or_else(|| crate::Error::infrastructure("this service keeps no outbox"))?;
        Ok((me, outbox))
    }
}

fn require_admin(a: &Actor) -> Result<()> {
    match a {
        Actor::Anonymous => Err(Rejection::SignInFirst.into()),
        a if a.is_privileged() => Ok(()),
        _ => Err(Rejection::AdminOnly.into()),
    }
}

/// Folds a stream's events from the start.
fn fold(stream: &StreamId, events: &[RecordedEvent]) -> Result<Versioned> {
    let mut v = Versioned::empty(stream);
    for e in events {
        v.fold(stream, e.as_fold())?;
    }
    Ok(v)
}

/// Checks that `ctx` may read the history of `stream`, whose current state is `v`: a wallet's
/// member, a job's owner, or an admin.
fn may_read(ctx: &Ctx, stream: &StreamId, v: &Versioned) -> Result<()> {
    match &v.state {
        tally_domain::State::Member(w) => {
            w.visible_to(&Handle::parse(stream.key())?, &ctx.actor)?;
        }
        tally_domain::State::Job(j) => {
            j.open_to(&JobId::parse(stream.key())?, &ctx.actor)?;
        }
    }
    Ok(())
}

fn summary(
    j: &tally_domain::Job,
    version: u64,
    launched_at: chrono::DateTime<chrono::Utc>,
) -> Option<JobSummary> {
    let d = j.details.as_ref()?;
    Some(JobSummary {
        id: d.id.to_string(),
        owner: d.owner.to_string(),
        title: d.title.to_string(),
        description: d.description.to_string(),
        reward: d.reward.get(),
        status: j.status,
        launched_at,
        version,
    })
}

fn application_view(who: &Handle, a: &tally_domain::Application) -> ApplicationView {
    ApplicationView {
        participant: who.to_string(),
        pitch: a.pitch.to_string(),
        proposed_days: a.proposed_days.map(tally_domain::ProposedDays::days),
        status: a.status,
    }
}

impl TallyService {
    /// A job's current state and public summary, from its (short) full stream; for anyone,
    /// visitors too (the public details; who may see more is checked by the caller).
    async fn read_job(&self, id: &JobId) -> Result<(Versioned, JobSummary)> {
        let stream = StreamId::job(id);
        let events = self.full_history(&stream).await?;
        let v = fold(&stream, &events)?;
        let unknown = || Error::from(Rejection::UnknownJob { job: id.clone() });
        let first = events.first().ok_or_else(unknown)?;
        let s = v
            .state
            .as_job()
            .and_then(|j| summary(j, v.version, first.time))
            .ok_or_else(unknown)?;
        Ok((v, s))
    }

    /// What `ctx`'s actor may do now with the entity of `stream` (whose state is `current`):
    /// the candidates the decision accepts, on the states they read.
    async fn actions(
        &self,
        ctx: &Ctx,
        stream: &StreamId,
        current: &Versioned,
        candidates: Vec<Action>,
    ) -> Result<Vec<ActionView>> {
        let mut known = Known::default();
        known.set(stream, current.clone());
        loop {
            let more: Vec<StreamId> = affordance::reads(&candidates, &ctx.actor, known.states())
                .into_iter()
                .filter(|s| !known.holds(s))
                .collect();
            if more.is_empty() {
                break;
            }
            self.read_into(&more, &mut known).await?;
        }
        Ok(affordance::offered(candidates, &ctx.actor, known.states())
            .iter()
            .map(ActionView::from)
            .collect())
    }
}
