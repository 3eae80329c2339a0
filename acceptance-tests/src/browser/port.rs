//! The driving port, one page (or one form) per use case.

use super::driver::{BrowserTally, enc, new_password};
use super::read::{self, Scrape, error_of, parse, text, time};
use super::session::{Memory, Who};
use async_trait::async_trait;
use chrono::SecondsFormat;
use tally_ports::{
    Actor, AsOf, Ctx, EntityKind, EntityRef, EntityState, FeedPage, GrantCreditsInput,
    HistoryEntry, JobOwnerView, JobParticipantView, JobSummary, LaunchJobInput, MemberSummary,
    Receipt, RegisterMemberInput, Result, Snapshot, StreamId, Tally, WalletView,
};

impl BrowserTally {
    /// As `ctx`'s actor: opens `page`, fills its form `form` with `fields`, puts the command
    /// id in it if the caller chose one, submits, and reads the receipt on the page the
    /// redirect leads to (or the error on the form shown again).
    async fn command(
        &self,
        m: &mut Memory,
        ctx: &Ctx,
        page: &str,
        form: &str,
        fields: &[(&str, &str)],
    ) -> Result<Receipt> {
        self.act_as(m, &ctx.actor).await?;
        let opened = self.read(page, "", &[]).await?;
        self.check_actor(&opened, &ctx.actor)?;
        let id = ctx.command_id.map(|id| id.to_string());
        let mut fields = fields.to_vec();
        if let Some(id) = &id {
            fields.push(("command_id", id));
        }
        let after = self.submit(form, &fields, "", &[]).await?;
        match error_of(&after) {
            Some(e) => Err(e),
            None => read::receipt(&after),
        }
    }

    /// As `actor`: opens `page` and reads its hooks.
    async fn view(&self, actor: &Actor, page: &str, main: &str, lists: &[&str]) -> Result<Scrape> {
        let mut m = self.memory.lock().await;
        self.act_as(&mut m, actor).await?;
        let s = self.read(page, main, lists).await?;
        self.check_actor(&s, actor)?;
        Ok(s)
    }

    async fn job_command(
        &self,
        ctx: &Ctx,
        job: &str,
        what: &str,
        fields: &[(&str, &str)],
    ) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let page = format!("/jobs/{}/{what}", enc(job));
        self.command(&mut m, ctx, &page, &format!("{what}-form"), fields)
            .await
    }

    fn history_page(entity: &EntityRef) -> String {
        match entity.kind {
            EntityKind::Member => format!("/members/{}/history", enc(&entity.key)),
            EntityKind::Job => format!("/jobs/{}/history", enc(&entity.key)),
        }
    }
}

#[async_trait]
impl Tally for BrowserTally {
    async fn register_member(&self, ctx: &Ctx, input: RegisterMemberInput) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let h = input.handle.as_str();
        let password = m.passwords.get(h).cloned().unwrap_or_else(new_password);
        let fields = [
            ("handle", h),
            ("display_name", input.display_name.as_str()),
            ("password", password.as_str()),
        ];
        if ctx.actor == Actor::Anonymous {
            // A visitor signs up, and is then signed in as the new member.
            let r = self
                .command(&mut m, ctx, "/signup", "signup-form", &fields)
                .await?;
            m.passwords.insert(h.to_owned(), password);
            self.remember_session(&mut m, Who::Member(h.to_owned()))
                .await?;
            return Ok(r);
        }
        let r = self
            .command(&mut m, ctx, "/admin/members/new", "register-form", &fields)
            .await?;
        m.passwords.entry(h.to_owned()).or_insert(password);
        Ok(r)
    }

    async fn grant_credits(&self, ctx: &Ctx, input: GrantCreditsInput) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let page = format!("/admin/grants/new?handle={}", enc(&input.handle));
        let amount = input.amount.to_string();
        let fields = [
            ("handle", input.handle.as_str()),
            ("amount", &amount),
            ("reason", &input.reason),
        ];
        self.command(&mut m, ctx, &page, "grant-form", &fields)
            .await
    }

    async fn launch_job(&self, ctx: &Ctx, input: LaunchJobInput) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let reward = input.reward.to_string();
        let fields = [
            ("title", input.title.as_str()),
            ("description", &input.description),
            ("reward", &reward),
        ];
        self.command(&mut m, ctx, "/jobs/new", "launch-form", &fields)
            .await
    }

    async fn apply(&self, ctx: &Ctx, job: &str, pitch: &str) -> Result<Receipt> {
        self.job_command(ctx, job, "apply", &[("pitch", pitch)])
            .await
    }

    async fn withdraw_application(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        self.job_command(ctx, job, "withdraw", &[]).await
    }

    async fn accept_applicant(&self, ctx: &Ctx, job: &str, participant: &str) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let page = format!("/jobs/{}/accept?participant={}", enc(job), enc(participant));
        self.command(
            &mut m,
            ctx,
            &page,
            "accept-form",
            &[("participant", participant)],
        )
        .await
    }

    async fn complete_job(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        self.job_command(ctx, job, "complete", &[]).await
    }

    async fn cancel_job(&self, ctx: &Ctx, job: &str, reason: &str) -> Result<Receipt> {
        self.job_command(ctx, job, "cancel", &[("reason", reason)])
            .await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        let page = format!("/members/{}/wallet", enc(handle));
        let lists = ["#escrow tr.escrow", "#history tr.event"];
        let s = self.view(&ctx.actor, &page, "#wallet", &lists).await?;
        let w = s.main("wallet")?;
        let escrow = s
            .list(0)
            .iter()
            .map(|l| {
                Ok(tally_ports::EscrowLine {
                    job: text(l, "job")?.to_owned(),
                    amount: parse(l, "amount")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(WalletView {
            handle: text(w, "handle")?.to_owned(),
            display_name: text(w, "display_name")?.to_owned(),
            balance: parse(w, "balance")?,
            escrowed: parse(w, "escrowed")?,
            escrow,
            total_granted: parse(w, "totalGranted")?,
            total_earned: parse(w, "totalEarned")?,
            total_refunded: parse(w, "totalRefunded")?,
            total_paid_out: parse(w, "totalPaidOut")?,
            version: parse(w, "version")?,
            history: read::events(s.list(1))?,
        })
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        let page = format!("/jobs/{}/owner", enc(job));
        let s = self
            .view(&ctx.actor, &page, "#job", &["#applications tr.application"])
            .await?;
        let j = s.main("job")?;
        Ok(JobOwnerView {
            job: read::job(j)?,
            applications: s
                .list(0)
                .iter()
                .map(read::application)
                .collect::<Result<_>>()?,
            accepted: j.get("accepted").cloned(),
            cancel_reason: j.get("cancelReason").cloned(),
        })
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        // The owner and admins are led on to the owner's page, which shows no application of
        // theirs: they have none (owners cannot apply to their jobs, admins to any).
        let page = format!("/jobs/{}", enc(job));
        let s = self
            .view(&ctx.actor, &page, "#job", &["#my-application"])
            .await?;
        Ok(JobParticipantView {
            job: read::job(s.main("job")?)?,
            my_application: s.list(0).first().map(read::application).transpose()?,
        })
    }

    async fn job_board(&self, ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>> {
        let page = format!("/jobs?limit={limit}");
        let s = self.view(&ctx.actor, &page, "", &["#board tr.job"]).await?;
        s.list(0).iter().map(read::job).collect()
    }

    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        let s = self
            .view(&ctx.actor, "/admin/members", "", &["#members tr.member"])
            .await?;
        s.list(0).iter().map(read::member).collect()
    }

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let page = Self::history_page(entity);
        let s = self
            .view(&ctx.actor, &page, "", &["#history tr.event"])
            .await?;
        read::events(s.list(0))
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let mut m = self.memory.lock().await;
        self.act_as(&mut m, &ctx.actor).await?;
        let opened = self.read(&Self::history_page(entity), "", &[]).await?;
        self.check_actor(&opened, &ctx.actor)?;
        let (form, field, value) = match at {
            AsOf::Version(v) => ("version-form", "version", v.to_string()),
            AsOf::Time(t) => (
                "time-form",
                "at",
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        };
        let s = self
            .submit(form, &[(field, &value)], "#snapshot", &[])
            .await?;
        if let Some(e) = error_of(&s) {
            return Err(e);
        }
        let h = s.main("state")?;
        let state: EntityState = serde_json::from_str(text(h, "state")?)
            .map_err(|e| super::driver::browser_error(format!("the state shown: {e}")))?;
        Ok(Snapshot {
            stream: StreamId::parse(text(h, "stream")?)?,
            version: parse(h, "version")?,
            latest_version: parse(h, "latestVersion")?,
            time: time(h, "time")?,
            state,
        })
    }

    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage> {
        let page = format!("/admin/feed?after={after}&limit={limit}");
        let s = self
            .view(&ctx.actor, &page, "#feed", &["#feed-events tr.event"])
            .await?;
        let f = s.main("feed")?;
        Ok(FeedPage {
            events: read::events(s.list(0))?,
            next_after: parse(f, "nextAfter")?,
        })
    }
}
