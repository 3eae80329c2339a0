//! The driving ports, through the pages: a command is its page's form, filled with the
//! command's fields (wherever the pages say that command's form is); a view is its page, read
//! from its hooks.

use super::driver::{BrowserTally, browser_error, enc, new_password};
use super::read::{self, Scrape, error_of, parse, text, time};
use super::session::{Memory, Who};
use async_trait::async_trait;
use chrono::SecondsFormat;
use tally_domain::{CommandKind, Target};
use tally_http::command_pages;
use tally_ports::accounts::Principal;
use tally_ports::feed::{FeedRequest, FeedStart};
use tally_ports::identity::{
    AccountView, CreatedToken, Identity, NewAccount, NewSession, NewToken, SignUp, SignedUp,
    TokenView,
};
use tally_ports::inbox::{InboxPage, InboxQuery, MarkRead, NotificationView};
use tally_ports::jobs::{JobListing, JobPage, JobQuery};
use tally_ports::members::{MemberListing, MemberPage, MemberQuery};
use tally_ports::statement::{BalancePoint, Statement, StatementLine, StatementQuery};
use tally_ports::{
    Actor, AsOf, Ctx, EntityKind, EntityRef, Error, FeedPage, HistoryEntry, Input, JobOwnerView,
    JobParticipantView, Receipt, Result, Snapshot, State, StreamId, Tally, WalletView,
};

impl BrowserTally {
    /// As `ctx`'s actor: opens `page`, fills its form `form` with `fields`, puts the command
    /// id in it if the caller chose one, submits (and confirms, when the page asks first), and
    /// reads the receipt on the page the redirect leads to (or the error on the form shown
    /// again).
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
        let mut after = self.submit(form, &fields, "", &[]).await?;
        if after.confirm.is_some() && error_of(&after).is_none() {
            // The question says what will happen; a person who meant it confirms.
            after = self.submit(CONFIRM_FORM, &[], "", &[]).await?;
        }
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

    fn history_page(entity: &EntityRef) -> String {
        match entity.kind {
            EntityKind::Member => format!("/members/{}/history", enc(&entity.key)),
            EntityKind::Job => format!("/jobs/{}/history", enc(&entity.key)),
        }
    }
}

/// The notifications on the inbox page.
const NOTIFICATIONS: &str = "#notifications li.notification";

/// The inbox page at the address its links make.
fn inbox_page(q: &InboxQuery) -> String {
    let mut pairs = vec![format!("limit={}", q.limit)];
    if q.unread_only {
        pairs.push("unread=true".to_owned());
    }
    if let Some(b) = q.before {
        pairs.push(format!("before={b}"));
    }
    format!("/inbox?{}", pairs.join("&"))
}

/// The inbox page, read from its hooks.
fn read_inbox(s: &Scrape) -> Result<InboxPage> {
    let main = s.main("inbox")?;
    let opt = |h: &read::Hooks, k: &str| h.get(k).cloned();
    let items = s
        .list(0)
        .iter()
        .map(|h| {
            Ok(NotificationView {
                id: parse(h, "id")?,
                kind: text(h, "kind")?.to_owned(),
                summary: text(h, "summary")?.to_owned(),
                job: opt(h, "job"),
                job_title: opt(h, "jobTitle"),
                member: opt(h, "member"),
                amount: h
                    .get("amount")
                    .map(|a| a.parse())
                    .transpose()
                    .map_err(browser_error)?,
                reason: opt(h, "reason"),
                time: time(h, "time")?,
                command_id: parse(h, "commandId")?,
                read_at: match h.get("readAt") {
                    Some(_) => Some(time(h, "readAt")?),
                    None => None,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(InboxPage {
        member: text(main, "member")?.to_owned(),
        items,
        unread: parse(main, "unread")?,
        next: main
            .get("next")
            .map(|n| n.parse())
            .transpose()
            .map_err(browser_error)?,
    })
}

/// The form that confirms a command the pages ask about first.
const CONFIRM_FORM: &str = "confirm-form";

/// The selector of the action forms a view's page shows.
const ACTIONS: &str = "form.action[data-action]";

#[async_trait]
impl Tally for BrowserTally {
    async fn execute(&self, ctx: &Ctx, input: Input) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let key = input.key().unwrap_or_default();
        let key_field = match input.kind.target() {
            Target::On(k) => Some(k.key_field()),
            Target::New(_) => None,
        };
        let values: Vec<(String, String)> = input
            .fields
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != key_field)
            .map(|(k, v)| (k.clone(), v.to_text()))
            .collect();
        let mut fields: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Registering a member on the pages gives them an account too: it takes a password.
        let registering = input.kind == CommandKind::RegisterMember;
        let handle = input
            .fields
            .get("handle")
            .map(|h| h.to_text())
            .unwrap_or_default();
        let password = m
            .passwords
            .get(&handle)
            .cloned()
            .unwrap_or_else(new_password);
        if registering {
            fields.push(("password", &password));
        }
        let page = command_pages::page(input.kind, &key);
        let r = self
            .command(
                &mut m,
                ctx,
                &page,
                &command_pages::form_id(input.kind),
                &fields,
            )
            .await?;
        if registering {
            m.passwords.entry(handle).or_insert(password);
        }
        Ok(r)
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        let page = format!("/members/{}/wallet", enc(handle));
        let lists = ["#escrow tr.escrow", "#history tr.event", ACTIONS];
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
            actions: read::actions(s.list(2))?,
        })
    }

    async fn statement(&self, ctx: &Ctx, handle: &str, q: StatementQuery) -> Result<Statement> {
        // The wallet page, as its filter form and "older" link address it.
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let [k] = q.kinds[..] {
            pairs.push(("kind", k.as_str().to_owned()));
        } else if !q.kinds.is_empty() {
            let kinds: Vec<&str> = q.kinds.iter().map(|k| k.as_str()).collect();
            pairs.push(("kind", kinds.join(",")));
        }
        let rfc =
            |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        if let Some(f) = &q.from {
            pairs.push(("from", rfc(f)));
        }
        if let Some(u) = &q.until {
            pairs.push(("until", rfc(u)));
        }
        if let Some(b) = q.before {
            pairs.push(("before", b.to_string()));
        }
        if q.limit != 0 {
            pairs.push(("limit", q.limit.to_string()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let page = format!("/members/{}/wallet?{}", enc(handle), query.join("&"));
        let lists = ["#statement tr.line", "#balance-points tr.point"];
        let s = self
            .view(&ctx.actor, &page, "#statement-section", &lists)
            .await?;
        let w = s.main("statement")?;
        let opt = |h: &read::Hooks, k: &str| h.get(k).cloned();
        let lines = s
            .list(0)
            .iter()
            .map(|h| {
                Ok(StatementLine {
                    version: parse(h, "version")?,
                    time: time(h, "time")?,
                    kind: read::word_of(text(h, "kind")?)?,
                    amount: parse(h, "amount")?,
                    change: parse(h, "change")?,
                    escrow_change: parse(h, "escrowChange")?,
                    balance: parse(h, "balance")?,
                    job: opt(h, "job"),
                    job_title: opt(h, "jobTitle"),
                    counterpart: opt(h, "counterpart"),
                    reason: opt(h, "reason"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let chart = s
            .list(1)
            .iter()
            .map(|h| {
                Ok(BalancePoint {
                    time: time(h, "time")?,
                    balance: parse(h, "balance")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement {
            handle: text(w, "handle")?.to_owned(),
            display_name: text(w, "displayName")?.to_owned(),
            balance: parse(w, "balance")?,
            escrowed: parse(w, "escrowed")?,
            lines,
            total: parse(w, "total")?,
            older: w.get("older").map(|_| parse(w, "older")).transpose()?,
            chart,
        })
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        let page = format!("/jobs/{}/owner", enc(job));
        let s = self
            .view(
                &ctx.actor,
                &page,
                "#job",
                &["#applications tr.application", ACTIONS],
            )
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
            actions: read::actions(s.list(1))?,
        })
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        // The owner and admins are led on to the owner's page, which shows no application of
        // theirs: they have none (owners cannot apply to their jobs, admins to any).
        let page = format!("/jobs/{}", enc(job));
        let s = self
            .view(&ctx.actor, &page, "#job", &["#my-application", ACTIONS])
            .await?;
        Ok(JobParticipantView {
            job: read::job(s.main("job")?)?,
            my_application: s.list(0).first().map(read::application).transpose()?,
            actions: read::actions(s.list(1))?,
        })
    }

    async fn jobs(&self, ctx: &Ctx, q: JobQuery) -> Result<JobPage> {
        // The page a person would open for this list: their own jobs or applications, the
        // admins' list of every job, or the board; with the list's address as its links and
        // search form make it.
        let me = match &ctx.actor {
            Actor::Member(h) => Some(h.as_str()),
            _ => None,
        };
        let path = if q.applicant.is_some() && q.applicant.as_deref() == me {
            "/my/applications"
        } else if q.owner.is_some() && q.owner.as_deref() == me {
            "/my/jobs"
        } else if ctx.actor.is_privileged() && !q.statuses.is_empty() {
            "/admin/jobs"
        } else {
            "/jobs"
        };
        let mut pairs = q.to_pairs();
        if q.statuses.is_empty() {
            pairs.push(("status", "open".to_owned()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let page = format!("{path}?{}", query.join("&"));
        let s = self
            .view(&ctx.actor, &page, "#job-list", &["#job-list tr.job"])
            .await?;
        let main = s.main("list of jobs")?;
        let jobs = s
            .list(0)
            .iter()
            .map(|h| {
                Ok(JobListing {
                    job: read::job(h)?,
                    applications: parse(h, "applications")?,
                    my_application: h
                        .get("myApplication")
                        .map(|w| read::word_of(w))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(JobPage {
            jobs,
            total: parse(main, "total")?,
            total_exact: parse(main, "totalExact")?,
            older: main.get("older").cloned(),
            newer: main.get("newer").cloned(),
        })
    }

    async fn find_members(&self, ctx: &Ctx, q: MemberQuery) -> Result<MemberPage> {
        // The admins' page of members, at the address its search form and links make.
        let query: Vec<String> = q
            .to_pairs()
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let page = format!("/admin/members?{}", query.join("&"));
        let s = self
            .view(&ctx.actor, &page, "#member-list", &["#members tr.member"])
            .await?;
        let main = s.main("list of members")?;
        let members = s
            .list(0)
            .iter()
            .map(|h| {
                Ok(MemberListing {
                    member: read::member(h)?,
                    joined_at: time(h, "joinedAt")?,
                    last_active_at: time(h, "lastActiveAt")?,
                    has_account: h.get("hasAccount").map(|b| b == "true"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MemberPage {
            members,
            total: parse(main, "total")?,
            total_exact: parse(main, "totalExact")?,
            next: main.get("next").cloned(),
            prev: main.get("prev").cloned(),
        })
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
        // The pages look by version or by time (a version asked for wins). A time to the
        // microsecond cannot be typed into a date-and-time field (it takes seconds, or
        // milliseconds at most): the page's address takes it exactly, as the links to a
        // moment carry it.
        let s = match (at.version, at.time) {
            (Some(v), _) => {
                self.submit(
                    "version-form",
                    &[("version", &v.to_string())],
                    "#snapshot",
                    &[],
                )
                .await?
            }
            (None, Some(t)) => {
                let exact = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                let page = match entity.kind {
                    EntityKind::Member => format!("/members/{}/state", enc(&entity.key)),
                    EntityKind::Job => format!("/jobs/{}/state", enc(&entity.key)),
                };
                self.goto(&format!("{page}?at={}", enc(&exact))).await?;
                self.scrape("#snapshot", &[]).await?
            }
            (None, None) => {
                self.submit("version-form", &[("version", "")], "#snapshot", &[])
                    .await?
            }
        };
        if let Some(e) = error_of(&s) {
            return Err(e);
        }
        let h = s.main("state")?;
        let state: State = serde_json::from_str(text(h, "state")?)
            .map_err(|e| browser_error(format!("the state shown: {e}")))?;
        Ok(Snapshot {
            stream: StreamId::parse(text(h, "stream")?)?,
            version: parse(h, "version")?,
            latest_version: parse(h, "latestVersion")?,
            time: time(h, "time")?,
            state,
        })
    }

    async fn inbox(&self, ctx: &Ctx, q: InboxQuery) -> Result<InboxPage> {
        let s = self
            .view(&ctx.actor, &inbox_page(&q), "#inbox", &[NOTIFICATIONS])
            .await?;
        read_inbox(&s)
    }

    async fn unread_notifications(&self, ctx: &Ctx) -> Result<u64> {
        if ctx.actor.as_member().is_none() {
            return Ok(0);
        }
        // The count every page's header shows.
        let s = self.view(&ctx.actor, "/jobs", "#inbox-link", &[]).await?;
        parse(s.main("count of unread notifications")?, "unread")
    }

    async fn mark_read(&self, ctx: &Ctx, which: MarkRead) -> Result<u64> {
        let mut m = self.memory.lock().await;
        self.act_as(&mut m, &ctx.actor).await?;
        let q = InboxQuery::newest(tally_ports::inbox::MAX_PAGE);
        let opened = self
            .read(&inbox_page(&q), "#inbox", &[NOTIFICATIONS])
            .await?;
        self.check_actor(&opened, &ctx.actor)?;
        let before = read_inbox(&opened)?;
        let form = match which {
            // A person marks one read with its button, shown on their own unread ones only:
            // someone else's is nowhere on their page.
            MarkRead::One(id) => match before.items.iter().find(|n| n.id == id) {
                Some(n) if !n.unread() => return Ok(0),
                Some(_) => format!("read-{id}"),
                None => return Err(tally_ports::NotFound::NoSuchNotification { id }.into()),
            },
            MarkRead::All if before.unread == 0 => return Ok(0),
            MarkRead::All => "mark-all-read".to_owned(),
        };
        let after = self.submit(&form, &[], "#inbox", &[NOTIFICATIONS]).await?;
        if let Some(e) = error_of(&after) {
            return Err(e);
        }
        Ok(before.unread - read_inbox(&after)?.unread)
    }

    async fn reports(&self, ctx: &Ctx) -> Result<tally_ports::reports::ReportsView> {
        let s = self
            .view(
                &ctx.actor,
                "/admin/reports",
                "#lag",
                &["#daily tr.day", "#signals li.signal"],
            )
            .await?;
        read::reports(&s)
    }

    async fn read_feed(&self, ctx: &Ctx, req: FeedRequest) -> Result<FeedPage> {
        // The feed page shows the history from a position, oldest first (or before one),
        // at once, filtered by one event type, a member and a job.
        let f = &req.filter;
        if !f.kinds.is_empty() || f.types.len() > 1 || !req.wait.is_zero() {
            return Err(Error::infrastructure(
                "the feed page reads by one event type, a member and a job, without waiting",
            ));
        }
        let limit = req.limit;
        let mut pairs = vec![("order", "oldest".to_owned()), ("limit", limit.to_string())];
        match req.start {
            FeedStart::After(p) => pairs.push(("after", p.to_string())),
            FeedStart::Before(p) => pairs.push(("before", p.to_string())),
            FeedStart::AfterEvent(_) => {
                return Err(Error::infrastructure(
                    "the feed page reads from a position, not after an event id",
                ));
            }
        }
        let filters = [
            ("type", f.types.first()),
            ("member", f.member.as_ref()),
            ("job", f.job.as_ref()),
        ];
        for (k, v) in filters {
            if let Some(v) = v {
                pairs.push((k, v.clone()));
            }
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        let page = format!("/admin/feed?{}", query.join("&"));
        let s = self
            .view(&ctx.actor, &page, "#feed", &["#feed-events tr.event"])
            .await?;
        let main = s.main("feed")?;
        Ok(FeedPage {
            after: parse(main, "after")?,
            events: read::events(s.list(0))?,
            next_after: parse(main, "nextAfter")?,
        })
    }
}

fn not_on_pages(what: &str) -> Error {
    Error::infrastructure(format!("the pages do not {what}"))
}

#[async_trait]
impl Identity for BrowserTally {
    async fn sign_up(&self, ctx: &Ctx, s: SignUp) -> Result<SignedUp> {
        let mut m = self.memory.lock().await;
        let fields = [
            ("handle", s.handle.as_str()),
            ("display_name", s.display_name.as_str()),
            ("password", s.password.as_str()),
        ];
        // A visitor signs up, and is then signed in as the new member.
        let receipt = self
            .command(&mut m, ctx, "/signup", "signup-form", &fields)
            .await?;
        m.passwords.insert(s.handle.clone(), s.password.clone());
        self.remember_session(&mut m, Who::Member(s.handle.clone()))
            .await?;
        let actor = Actor::Member(tally_domain::Handle::parse(&s.handle)?);
        Ok(SignedUp {
            receipt,
            session: NewSession {
                name: s.handle,
                role: tally_ports::accounts::Role::Member,
                actor,
                // The session lives in the browser's cookie jar, not here.
                token: String::new(),
                expires_at: chrono::Utc::now(),
            },
        })
    }

    async fn register_with_account(&self, ctx: &Ctx, s: SignUp) -> Result<Receipt> {
        let mut m = self.memory.lock().await;
        let fields = [
            ("handle", s.handle.as_str()),
            ("display_name", s.display_name.as_str()),
            ("password", s.password.as_str()),
        ];
        let page = command_pages::page(CommandKind::RegisterMember, "");
        let form = command_pages::form_id(CommandKind::RegisterMember);
        let r = self.command(&mut m, ctx, &page, &form, &fields).await?;
        m.passwords.entry(s.handle).or_insert(s.password);
        Ok(r)
    }

    async fn create_account(&self, _ctx: &Ctx, _a: NewAccount) -> Result<AccountView> {
        Err(not_on_pages("create accounts for the scenarios"))
    }

    async fn log_in(&self, _name: &str, _password: &str) -> Result<NewSession> {
        Err(not_on_pages("log in for the scenarios (the driver does)"))
    }

    async fn log_out(&self, _session_token: &str) -> Result<()> {
        Err(not_on_pages("log out for the scenarios"))
    }

    async fn resolve(&self, _credential: &str) -> Result<Principal> {
        Err(not_on_pages("resolve credentials"))
    }

    async fn create_token(&self, _ctx: &Ctx, _t: NewToken) -> Result<CreatedToken> {
        Err(not_on_pages("manage API tokens"))
    }

    async fn tokens(&self, _ctx: &Ctx) -> Result<Vec<TokenView>> {
        Err(not_on_pages("manage API tokens"))
    }

    async fn revoke_token(&self, _ctx: &Ctx, _id: uuid::Uuid) -> Result<()> {
        Err(not_on_pages("manage API tokens"))
    }
}
