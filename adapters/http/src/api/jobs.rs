//! Jobs: the board, a job as a participant or its owner sees it, its history and its state as
//! it was.

use super::{Problems, StateQuery, items};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_api::paths;
use tally_domain::CommandKind;
use tally_ports::{
    Actor, EntityKind, EntityRef, HistoryEntry, JobOwnerView, JobParticipantView, JobSummary,
    Snapshot,
};
use utoipa::IntoParams;

/// How many jobs the board shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BoardQuery {
    /// At most this many (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

type Id = Path<String>;

/// Open jobs, newest first (anyone).
#[utoipa::path(get, path = paths::JOBS, tag = "jobs", operation_id = "job_board", params(BoardQuery),
    responses((status = 200, description = "The job board", body = Items<Linked<JobSummary>>), Problems))]
pub(crate) async fn board(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<BoardQuery>,
) -> Result<Response, ApiError> {
    let limit = super::within("limit", q.limit.map_or(50, u64::from), 1, 500)?;
    let jobs = s.tally.job_board(&ctx, limit).await?;
    let jobs = jobs
        .into_iter()
        .map(|j| {
            let links = Links::new().get("self", paths::job(&j.id));
            Linked { body: j, links }
        })
        .collect();
    let mut links = Links::new().get("self", paths::JOBS);
    if matches!(ctx.actor, Actor::Member(_)) {
        links = links.action(CommandKind::LaunchJob.name(), "POST", paths::JOBS);
    }
    Ok(items(jobs, links).into_response())
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
