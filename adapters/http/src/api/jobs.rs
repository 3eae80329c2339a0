//! Jobs: the board, a job as a participant or its owner sees it, its history and its state as
//! it was.

use super::{Problems, StateQuery};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_domain::CommandKind;
use tally_ports::Error;
use tally_ports::jobs::{Cursor, JobListing, JobQuery, parse_statuses};
use tally_ports::{
    Actor, EntityKind, EntityRef, HistoryEntry, JobOwnerView, JobParticipantView, Snapshot,
};
use utoipa::IntoParams;
use utoipa::ToSchema;

/// Which jobs to list: the job board by default (open jobs, newest first).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobsQuery {
    /// At most this many (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// Statuses, comma-separated (`open`, `in_progress`, `completed`, `cancelled`, or `all`);
    /// default `open`. Others than `open` need `owner` or `applicant` set to the caller, or
    /// an admin.
    status: Option<String>,
    /// Only this member's jobs.
    owner: Option<String>,
    /// Only the jobs this member applied to (the member, or an admin).
    applicant: Option<String>,
    /// Words that must each begin a word of the title or description.
    #[param(max_length = 200)]
    q: Option<String>,
    /// The least reward.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807i64)]
    min_reward: Option<u64>,
    /// The greatest reward.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807i64)]
    max_reward: Option<u64>,
    /// The page of jobs launched before this job (the `next` link).
    before: Option<String>,
    /// The page of jobs launched after this job (the `prev` link).
    after: Option<String>,
}

impl JobsQuery {
    /// The query as a page's address gives it: every field as text (a number that does not
    /// parse is named in the error, as the JSON API's query extractor would).
    ///
    /// # Errors
    /// `invalid_query`, naming the field.
    pub(crate) fn from_text(
        raw: &std::collections::HashMap<String, String>,
    ) -> Result<Self, Error> {
        let text = |k: &str| raw.get(k).filter(|v| !v.trim().is_empty()).cloned();
        let number = |k: &str| {
            text(k)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        Error::invalid(
                            k,
                            "invalid_query",
                            format!("{} is a whole number, 0 or more", k.replace('_', " ")),
                        )
                    })
                })
                .transpose()
        };
        Ok(Self {
            limit: number("limit")?,
            status: text("status"),
            owner: text("owner"),
            applicant: text("applicant"),
            q: text("q"),
            min_reward: number("min_reward")?,
            max_reward: number("max_reward")?,
            before: text("before"),
            after: text("after"),
        })
    }

    /// The query the port takes, checked.
    ///
    /// # Errors
    /// `invalid_query` or `conflicting_query`, naming the field.
    pub(crate) fn parse(self, default_limit: u64) -> Result<JobQuery, Error> {
        let limit = self.limit.unwrap_or(default_limit);
        if !(1..=500).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                "invalid_query",
                "limit is a whole number from 1 to 500",
            ));
        }
        let limit = usize::try_from(limit).unwrap_or(500);
        let statuses = match self.status.as_deref() {
            None => Vec::new(),
            Some(s) => parse_statuses(s).map_err(|w| {
                Error::invalid(
                    "status",
                    "invalid_query",
                    format!(
                        "'{w}' is not a job status: use open, in_progress, completed, cancelled or all"
                    ),
                )
            })?,
        };
        for (field, v) in [
            ("min_reward", self.min_reward),
            ("max_reward", self.max_reward),
        ] {
            if v.is_some_and(|v| i64::try_from(v).is_err()) {
                return Err(Error::invalid(
                    field,
                    "invalid_query",
                    format!("{field} is at most {}", i64::MAX),
                ));
            }
        }
        let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let cursor = match (present(self.before), present(self.after)) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "before",
                    "conflicting_query",
                    "give before or after, not both",
                ));
            }
            (Some(b), None) => Cursor::Before(b),
            (None, Some(a)) => Cursor::After(a),
            (None, None) => Cursor::First,
        };
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(Error::invalid(
                "q",
                "invalid_query",
                "a search is at most 200 characters",
            ));
        }
        Ok(JobQuery {
            statuses,
            owner: self.owner.filter(|o| !o.is_empty()),
            applicant: self.applicant.filter(|a| !a.is_empty()),
            text: self.q.filter(|q| !q.trim().is_empty()),
            min_reward: self.min_reward,
            max_reward: self.max_reward,
            cursor,
            limit,
        })
    }
}

/// A page of jobs with its count and the links to the pages beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// The jobs, newest first.
    pub items: Vec<Linked<JobListing>>,
    /// How many jobs match in all: exact up to 200, else an estimate.
    pub total: u64,
    /// Whether `total` is exact (false: an estimate, more than 200).
    pub total_exact: bool,
    /// `self`, `next` (older jobs) and `prev` (newer jobs) when there are such pages.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// The address of a page of jobs.
pub(crate) fn page_url(base: &str, q: &JobQuery) -> String {
    let pairs = q.to_pairs();
    if pairs.is_empty() {
        return base.to_owned();
    }
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

type Id = Path<String>;

/// A page of jobs, newest first: the job board (open jobs, anyone), a member's jobs
/// (`owner`), the jobs a member applied to (`applicant`), every job (admins); searched with
/// `q`, filtered by reward; paged with `before`/`after` cursors (`next` and `prev` links).
#[utoipa::path(get, path = paths::JOBS, tag = "jobs", operation_id = "job_board", params(JobsQuery),
    responses((status = 200, description = "A page of jobs", body = JobList), Problems))]
pub(crate) async fn board(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<JobsQuery>,
) -> Result<Response, ApiError> {
    let q = q.parse(50).map_err(super::unprocessable)?;
    // Every invalid input of a list is its query's: 422 (the schema allows any text there).
    let page = s
        .tally
        .jobs(&ctx, q.clone())
        .await
        .map_err(super::unprocessable)?;
    let items = page
        .jobs
        .into_iter()
        .map(|j| {
            let links = Links::new().get("self", paths::job(&j.job.id));
            Linked { body: j, links }
        })
        .collect();
    let mut links = Links::new().get("self", page_url(paths::JOBS, &q));
    if let Some(older) = page.older {
        links = links.get("next", page_url(paths::JOBS, &q.at(Cursor::Before(older))));
    }
    if let Some(newer) = page.newer {
        links = links.get("prev", page_url(paths::JOBS, &q.at(Cursor::After(newer))));
    }
    if matches!(ctx.actor, Actor::Member(_)) {
        links = links.action(CommandKind::LaunchJob.name(), "POST", paths::JOBS);
    }
    Ok(Json(JobList {
        items,
        total: page.total,
        total_exact: page.total_exact,
        links,
    })
    .into_response())
}

/// A job as a participant sees it: public details and only the caller's own application,
/// with what the caller may do.
#[utoipa::path(get, path = paths::JOB, tag = "jobs", operation_id = "job",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = Linked<JobParticipantView>), Problems))]
pub(crate) async fn participant_view(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let v = s.tally.job_participant_view(&ctx, &id).await?;
    let mut links = Links::new()
        .get("self", paths::job(&v.job.id))
        .get("board", paths::JOBS)
        .commands(&v.actions);
    if ctx.actor.is_privileged()
        || matches!(&ctx.actor, Actor::Member(h) if h.as_str() == v.job.owner)
    {
        links = links
            .get("owner_view", paths::job_owner(&v.job.id))
            .get("history", paths::history(EntityKind::Job, &v.job.id));
    }
    Ok(Json(Linked { body: v, links }).into_response())
}

/// A job with every application and pitch (its owner or an admin), with what the caller may
/// do.
#[utoipa::path(get, path = paths::JOB_OWNER, tag = "jobs", operation_id = "job_owner_view",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job, everything", body = Linked<JobOwnerView>), Problems))]
pub(crate) async fn owner_view(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let v = s.tally.job_owner_view(&ctx, &id).await?;
    let links = Links::new()
        .get("self", paths::job_owner(&v.job.id))
        .get("job", paths::job(&v.job.id))
        .get("history", paths::history(EntityKind::Job, &v.job.id))
        .commands(&v.actions);
    Ok(Json(Linked { body: v, links }).into_response())
}

/// Every event of a job, oldest first (its owner or an admin: it holds every pitch).
#[utoipa::path(get, path = paths::JOB_HISTORY, tag = "jobs", operation_id = "job_history",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The history", body = Items<HistoryEntry>), Problems))]
pub(crate) async fn history(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    super::history(s.tally.as_ref(), &ctx, EntityRef::job(id)).await
}

/// A job as it was at a version or time (its owner or an admin).
#[utoipa::path(get, path = paths::JOB_STATE, tag = "jobs", operation_id = "job_state",
    params(("id" = String, Path, description = "The job's id"), StateQuery),
    responses((status = 200, description = "The state then", body = Linked<Snapshot>), Problems))]
pub(crate) async fn state_as_of(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
    Query(q): Query<StateQuery>,
) -> Result<Response, ApiError> {
    super::state_as_of(s.tally.as_ref(), &ctx, EntityRef::job(id), &q).await
}
