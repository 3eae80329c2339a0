//! The state of one scenario: its backend (the driving port), the names the scenario uses
//! (job titles, command ids) mapped to what the port returned, and the last outcome.

use crate::targets::{Backend, Target};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use tally_ports::{
    Actor, Ctx, Error, HistoryEntry, JobOwnerView, JobParticipantView, JobSummary, Receipt,
    Snapshot, Tally, WalletView,
};
use uuid::Uuid;

/// The admin every scenario acts as when it says "the admin".
pub const ADMIN: &str = "root";

/// One scenario's world. Steps talk to Tally only through [`TallyWorld::tally`].
#[derive(Default, cucumber::World)]
pub struct TallyWorld {
    backend: Option<Backend>,
    /// Job ids, by the titles the scenario gave the jobs.
    jobs: HashMap<String, String>,
    /// Command ids, by the names the scenario gave them.
    command_ids: HashMap<String, Uuid>,
    /// The end of the global history before the last command, to prove it recorded nothing.
    head_before: Option<u64>,
    /// A position known to be at or before the end of the global history.
    head_hint: u64,
    /// The outcome of the last command or query a `When` step attempted.
    pub(crate) outcome: Option<Result<(), Error>>,
    /// The receipts of the commands `When` steps issued, in order.
    pub(crate) receipts: Vec<Receipt>,
    /// The last job seen as a participant sees it.
    pub(crate) participant_view: Option<JobParticipantView>,
    /// The last job seen as its owner sees it.
    pub(crate) owner_view: Option<JobOwnerView>,
    /// The last wallet looked at.
    pub(crate) wallet_view: Option<WalletView>,
    /// The last job board looked at.
    pub(crate) board: Option<Vec<JobSummary>>,
    /// The last page of a list of jobs looked at, who looked and what they asked.
    pub(crate) job_page: Option<tally_ports::jobs::JobPage>,
    /// The last statement looked at, and who asked what (to turn its pages).
    pub(crate) statement: Option<tally_ports::statement::Statement>,
    /// The statement last asked for.
    pub(crate) statement_query: Option<(
        tally_ports::Ctx,
        String,
        tally_ports::statement::StatementQuery,
    )>,
    /// The list of jobs last asked for, by whom (to turn its pages).
    pub(crate) job_query: Option<(tally_ports::Ctx, tally_ports::jobs::JobQuery)>,
    /// The last history read.
    pub(crate) history: Option<Vec<HistoryEntry>>,
    /// The last past state looked at.
    pub(crate) snapshot: Option<Snapshot>,
    /// What the last burst of concurrent commands did.
    pub(crate) burst: Option<crate::steps::concurrency::Burst>,
    /// The reports, once they had caught up.
    pub(crate) reports: Option<tally_ports::reports::ReportsView>,
    /// The last page of members looked at: by whom, with which query.
    pub(crate) members: Option<(
        Ctx,
        tally_ports::members::MemberQuery,
        tally_ports::members::MemberPage,
    )>,
    /// How many jobs steps launched under made-up titles.
    pub(crate) jobs_made: u32,
}

impl fmt::Debug for TallyWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What a person needs to understand a failed step; the backend is not printable.
        f.debug_struct("TallyWorld")
            .field("backend", &self.backend)
            .field("jobs", &self.jobs)
            .field("outcome", &self.outcome)
            .field("receipts", &self.receipts.len())
            .finish_non_exhaustive()
    }
}

impl TallyWorld {
    /// Gives the scenario a fresh backend of `target` (the `before` hook).
    ///
    /// # Errors
    /// When the target cannot build a backend.
    pub async fn start(&mut self, target: Target) -> Result<()> {
        let backend = target
            .backend()
            .await
            .with_context(|| format!("starting a {target} backend"))?;
        self.backend = Some(backend);
        Ok(())
    }

    /// Tears the scenario's backend down (the `after` hook).
    ///
    /// # Errors
    /// When the teardown fails.
    pub async fn stop(&mut self) -> Result<()> {
        match self.backend.take() {
            Some(b) => b.teardown().await,
            None => Ok(()),
        }
    }

    /// The driving port of commands and views.
    ///
    /// # Panics
    /// If the `before` hook gave the scenario no backend (a runner bug).
    pub fn tally(&self) -> Arc<dyn Tally> {
        self.backend
            .as_ref()
            .expect("the before hook gives every scenario a backend")
            .tally()
    }

    /// The identity port (sign-up, accounts, sessions).
    ///
    /// # Panics
    /// If the `before` hook gave the scenario no backend (a runner bug).
    pub fn identity(&self) -> Arc<dyn tally_ports::identity::Identity> {
        self.backend
            .as_ref()
            .expect("the before hook gives every scenario a backend")
            .identity()
    }

    /// What writes old events into the backend's storage.
    ///
    /// # Panics
    /// If the `before` hook gave the scenario no backend (a runner bug).
    pub fn past(&self) -> Option<crate::targets::PastWriter> {
        self.backend
            .as_ref()
            .expect("the before hook gives every scenario a backend")
            .past()
    }

    /// The clock of the scenario's service, which steps move on ("25 hours pass").
    ///
    /// # Panics
    /// If the `before` hook gave the scenario no backend (a runner bug).
    pub fn clock(&self) -> Option<Arc<crate::targets::ScenarioClock>> {
        self.backend
            .as_ref()
            .expect("the before hook gives every scenario a backend")
            .clock()
    }

    /// The context of a call by the admin.
    pub fn admin() -> Ctx {
        Ctx::new(Actor::admin(ADMIN))
    }

    /// The context of a call by a member.
    ///
    /// # Errors
    /// When `handle` is not a valid handle.
    pub fn member(handle: &str) -> Result<Ctx> {
        let h = tally_domain::Handle::parse(handle).map_err(|e| anyhow!("{handle:?}: {e}"))?;
        Ok(Ctx::new(Actor::Member(h)))
    }

    /// The id of the job the scenario calls `title`.
    ///
    /// # Errors
    /// When the scenario launched no job with this title.
    pub fn job(&self, title: &str) -> Result<String> {
        self.jobs.get(title).cloned().ok_or_else(|| {
            anyhow!(
                "this scenario has no job called {title:?} (it has {:?})",
                self.jobs.keys().collect::<Vec<_>>()
            )
        })
    }

    /// Names a job id.
    pub fn name_job(&mut self, title: &str, id: impl Into<String>) {
        self.jobs.insert(title.to_owned(), id.into());
    }

    /// Remembers the job a launch created under its title.
    ///
    /// # Errors
    /// When the receipt is not a launch's.
    pub fn remember_launch(&mut self, title: &str, receipt: &Receipt) -> Result<String> {
        let id = receipt
            .launched_job()
            .with_context(|| format!("the launch of {title:?} recorded no JobLaunched"))?
            .to_owned();
        self.name_job(title, id.clone());
        Ok(id)
    }

    /// The command id the scenario calls `name` (a new one the first time).
    pub fn command_id(&mut self, name: &str) -> Uuid {
        *self
            .command_ids
            .entry(name.to_owned())
            .or_insert_with(Uuid::now_v7)
    }

    /// The position of the last event of the global history, once the feed has settled.
    ///
    /// The feed never skips an event, but on PostgreSQL it may show an acknowledged event a
    /// moment late (while a transaction that began earlier, even in another database of the
    /// same server, is still running). So the end is read until two reads a little apart
    /// agree, for at most about a second.
    ///
    /// # Errors
    /// When the history feed cannot be read.
    pub async fn head(&mut self) -> Result<u64> {
        let mut last = self.read_head().await?;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let now = self.read_head().await?;
            if now == last {
                break;
            }
            last = now;
        }
        Ok(last)
    }

    async fn read_head(&mut self) -> Result<u64> {
        let tally = self.tally();
        let admin = Self::admin();
        let mut after = self.head_hint;
        loop {
            let page = tally
                .feed(&admin, after, 1000)
                .await
                .context("reading the history feed")?;
            if page.events.is_empty() {
                self.head_hint = after;
                return Ok(after);
            }
            after = page.next_after;
        }
    }

    /// Prepares a `When` step's command or query: forgets the last outcome and notes the end
    /// of the history, then hands out the driving port.
    ///
    /// # Errors
    /// When the history feed cannot be read.
    pub async fn begin(&mut self) -> Result<Arc<dyn Tally>> {
        self.outcome = None;
        self.head_before = Some(self.head().await?);
        Ok(self.tally())
    }

    /// Keeps the outcome of a `When` step's query; gives its value back on success.
    pub fn settle<T>(&mut self, r: Result<T, Error>) -> Option<T> {
        match r {
            Ok(v) => {
                self.outcome = Some(Ok(()));
                Some(v)
            }
            Err(e) => {
                self.outcome = Some(Err(e));
                None
            }
        }
    }

    /// Keeps the outcome of a `When` step's command, and its receipt.
    pub fn settle_command(&mut self, r: Result<Receipt, Error>) -> Option<Receipt> {
        let receipt = self.settle(r)?;
        self.receipts.push(receipt.clone());
        Some(receipt)
    }

    /// The error the last `When` step ended with.
    ///
    /// # Errors
    /// When it did not fail (or no `When` step ran).
    pub fn error(&self) -> Result<&Error> {
        match &self.outcome {
            Some(Err(e)) => Ok(e),
            Some(Ok(())) => bail!("it succeeded"),
            None => bail!("no command or query was attempted"),
        }
    }

    /// Succeeds if the last `When` step succeeded.
    ///
    /// # Errors
    /// With the error it failed with.
    pub fn succeeded(&self) -> Result<()> {
        match &self.outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => bail!("it failed with {:?}: {e}", e.code()),
            None => bail!("no command or query was attempted"),
        }
    }

    /// The end of the history before the last `When` step.
    ///
    /// # Errors
    /// When no `When` step ran.
    pub fn head_before(&self) -> Result<u64> {
        self.head_before
            .context("no command was attempted, so nothing to compare with")
    }

    /// A hint to add to an assertion that fails after a `When` step: how that step ended.
    pub fn after_last(&self) -> String {
        match &self.outcome {
            Some(Err(e)) => format!(" (the last command failed with {:?}: {e})", e.code()),
            _ => String::new(),
        }
    }

    /// The current wallet of a member, as the admin sees it.
    ///
    /// # Errors
    /// When the port refuses.
    pub async fn wallet(&self, handle: &str) -> Result<WalletView> {
        let w = self
            .tally()
            .wallet(&Self::admin(), handle)
            .await
            .with_context(|| format!("the admin looking at {handle}'s wallet"))?;
        Ok(w)
    }

    /// A job as the admin sees it (everything).
    ///
    /// # Errors
    /// When the port refuses.
    pub async fn job_as_admin(&self, title: &str) -> Result<JobOwnerView> {
        let id = self.job(title)?;
        let v = self
            .tally()
            .job_owner_view(&Self::admin(), &id)
            .await
            .with_context(|| format!("the admin looking at the job {title:?}"))?;
        Ok(v)
    }
}
