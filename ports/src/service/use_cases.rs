//! The driving port, implemented: parse the input, check who may act, run or read.

use super::command::Cmd;
use super::*;
use crate::actor::{Actor, Ctx};
use crate::driven::CacheFilter;
use crate::envelope::{EntityKind, EntityRef, RecordedEvent, StreamId};
use crate::error::{Error, Result};
use async_trait::async_trait;
use tally_domain::{
    Credits, Description, DisplayName, GrantCredits, Handle, JobCommand, JobId, LaunchJob,
    MemberCommand, Pitch, Reason, RegisterMember, Title,
};

#[async_trait]
impl Tally for TallyService {
    async fn register_member(&self, ctx: &Ctx, input: RegisterMemberInput) -> Result<Receipt> {
        if matches!(ctx.actor, Actor::Member(_)) {
            return Err(Error::forbidden(
                "admin_only",
                "members cannot register other members",
            ));
        }
        let c = RegisterMember {
            handle: Handle::parse(&input.handle)?,
            display_name: DisplayName::parse(&input.display_name)?,
        };
        self.execute(
            ctx,
            "register_member",
            &input,
            Cmd::Member(MemberCommand::Register(c)),
        )
        .await
    }

    async fn grant_credits(&self, ctx: &Ctx, input: GrantCreditsInput) -> Result<Receipt> {
        require_admin(ctx)?;
        let c = GrantCredits {
            handle: Handle::parse(&input.handle)?,
            amount: Credits::parse_grant(input.amount)?,
            reason: Reason::parse(&input.reason)?,
        };
        self.execute(
            ctx,
            "grant_credits",
            &input,
            Cmd::Member(MemberCommand::Grant(c)),
        )
        .await
    }

    async fn launch_job(&self, ctx: &Ctx, input: LaunchJobInput) -> Result<Receipt> {
        let owner = acting_member(ctx)?;
        let title = Title::parse(&input.title)?;
        let description = Description::parse(&input.description)?;
        let reward = Credits::parse_reward(input.reward)?;
        // With a client-chosen command id, the job id is derived from it, so that a repeated
        // launch names the same job; otherwise a fresh id.
        let id = ctx.command_id.unwrap_or_else(|| self.ids.new_id());
        let job = JobId::parse(&id.to_string())?;
        let c = LaunchJob {
            job: job.clone(),
            owner,
            title,
            description,
            reward,
        };
        self.execute(
            ctx,
            "launch_job",
            &input,
            Cmd::Job(job, JobCommand::Launch(c)),
        )
        .await
    }

    async fn apply(&self, ctx: &Ctx, job: &str, pitch: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, pitch);
        let pitch = Pitch::parse(pitch)?;
        self.execute(
            ctx,
            "apply",
            &input,
            Cmd::Job(id, JobCommand::Apply { by, pitch }),
        )
        .await
    }

    async fn withdraw_application(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        self.execute(
            ctx,
            "withdraw",
            &job,
            Cmd::Job(id, JobCommand::Withdraw { by }),
        )
        .await
    }

    async fn accept_applicant(&self, ctx: &Ctx, job: &str, participant: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, participant);
        let participant = Handle::parse(participant)?;
        self.execute(
            ctx,
            "accept",
            &input,
            Cmd::Job(id, JobCommand::Accept { by, participant }),
        )
        .await
    }

    async fn complete_job(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        self.execute(
            ctx,
            "complete",
            &job,
            Cmd::Job(id, JobCommand::Complete { by }),
        )
        .await
    }

    async fn cancel_job(&self, ctx: &Ctx, job: &str, reason: &str) -> Result<Receipt> {
        let by = acting_member(ctx)?;
        let id = job_id(job)?;
        let input = (job, reason);
        let reason = Reason::parse(reason)?;
        self.execute(
            ctx,
            "cancel",
            &input,
            Cmd::Job(id, JobCommand::Cancel { by, reason }),
        )
        .await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        let h = Handle::parse(handle)?;
        let stream = StreamId::member(&h);
        let l = self.read(&stream).await?;
        self.may_read(ctx, &stream, &l)?;
        let w = l.wallet();
        let p = w.require(&h)?;
        let history = self
            .store
            .load(&stream, l.version.saturating_sub(WALLET_HISTORY))
            .await
            .map_err(store_error)?;
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
            version: l.version,
            history,
        })
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        let who = signed_in(ctx)?;
        let (j, summary) = self.read_job(job).await?;
        if !ctx.actor.is_privileged() && summary.owner != who {
            return Err(Error::forbidden(
                "not_job_owner",
                format!(
                    "only the job's owner, '{}', may see every application",
                    summary.owner
                ),
            ));
        }
        Ok(JobOwnerView {
            applications: j
                .applications
                .iter()
                .map(|(h, a)| application_view(h, a))
                .collect(),
            accepted: j.accepted.as_ref().map(ToString::to_string),
            cancel_reason: j.cancel_reason.as_ref().map(ToString::to_string),
            job: summary,
        })
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        signed_in(ctx)?;
        let (j, summary) = self.read_job(job).await?;
        // Only a member has an application; an admin named like a member sees none.
        let mine = match &ctx.actor {
            Actor::Member(h) => j.applications.get(h).map(|a| application_view(h, a)),
            _ => None,
        };
        Ok(JobParticipantView {
            job: summary,
            my_application: mine,
        })
    }

    async fn job_board(&self, _ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>> {
        let mut open: Vec<(JobSummary, u64)> = self
            .list(EntityKind::Job, CacheFilter::OpenJobs)
            .await?
            .into_iter()
            .filter_map(|(item, l)| {
                let j = l.job();
                (j.status == tally_domain::JobStatus::Open)
                    .then(|| summary(&j, l.version, item.created_at))
                    .flatten()
                    .map(|s| (s, item.created_position))
            })
            .collect();
        open.sort_by_key(|(s, position)| std::cmp::Reverse((s.launched_at, *position)));
        Ok(open.into_iter().take(limit).map(|(s, _)| s).collect())
    }

    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        require_admin(ctx)?;
        let mut v: Vec<MemberSummary> = self
            .list(EntityKind::Member, CacheFilter::All)
            .await?
            .into_iter()
            .filter_map(|(_, l)| {
                let w = l.wallet();
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

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let mut l = Loaded::empty(stream.kind());
        l.fold(&events)?;
        self.may_read(ctx, &stream, &l)?;
        Ok(events)
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let stream = entity.stream()?;
        let events = self.full_history(&stream).await?;
        let mut now = Loaded::empty(stream.kind());
        now.fold(&events)?;
        self.may_read(ctx, &stream, &now)?;
        let upto: Vec<RecordedEvent> = events
            .into_iter()
            .take_while(|e| match at {
                AsOf::Version(v) => e.version <= v,
                AsOf::Time(t) => e.time <= t,
            })
            .collect();
        let last = match (upto.last(), at) {
            (Some(e), AsOf::Version(v)) if e.version == v => e,
            (Some(e), AsOf::Time(_)) => e,
            _ => {
                return Err(Error::not_found(
                    "no_such_version",
                    format!(
                        "{stream} has no such version (it is at version {})",
                        now.version
                    ),
                ));
            }
        };
        let (version, time) = (last.version, last.time);
        let mut then = Loaded::empty(stream.kind());
        then.fold(&upto)?;
        Ok(Snapshot {
            stream,
            version,
            latest_version: now.version,
            time,
            state: match then.state {
                St::Wallet(w) => EntityState::Member(w),
                St::Job(j) => EntityState::Job(j),
            },
        })
    }

    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage> {
        require_admin(ctx)?;
        let events = self
            .store
            .read_all(after, limit.clamp(1, 1000))
            .await
            .map_err(store_error)?;
        let next_after = events.last().map_or(after, |e| e.position);
        Ok(FeedPage { events, next_after })
    }
}
