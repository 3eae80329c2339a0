//! Jobs: the board, launch, the owner's and the participant's views, applications,
//! acceptance, completion, cancellation, history and state as of.

use super::{CommandHeaders, Problems, StateQuery, items, receipt};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Path, Query};
use crate::links::{Linked, Links, path};
use crate::openapi::schema::{
    HistoryDoc, JobBoardDoc, JobOwnerDoc, JobParticipantDoc, ReceiptDoc, SnapshotDoc,
};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_ports::{
    Actor, ApplicationStatus, EntityRef, JobOwnerView, JobParticipantView, JobStatus, JobSummary,
    LaunchJobInput,
};
use utoipa::{IntoParams, ToSchema};

pub(crate) fn router() -> Routes {
    Routes::new()
        .get("/api/v1/jobs", board)
        .post("/api/v1/jobs", launch)
        .get("/api/v1/jobs/{id}", participant_view)
        .get("/api/v1/jobs/{id}/owner-view", owner_view)
        .post("/api/v1/jobs/{id}/applications", apply)
        .post("/api/v1/jobs/{id}/withdraw", withdraw)
        .post("/api/v1/jobs/{id}/accept", accept)
        .post("/api/v1/jobs/{id}/complete", complete)
        .post("/api/v1/jobs/{id}/cancel", cancel)
        .get("/api/v1/jobs/{id}/history", history)
        .get("/api/v1/jobs/{id}/state", state_as_of)
}

/// Launch a job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    /// 1-120 characters.
    pub title: String,
    /// May be empty; at most 5000 characters.
    #[serde(default)]
    pub description: String,
    /// At least 1, at most the owner's balance.
    pub reward: i64,
}

/// Apply to a job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Why you: 1-2000 characters.
    pub pitch: String,
}

/// Accept an applicant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The applicant's handle.
    pub participant: String,
}

/// Cancel a job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (may be empty).
    #[serde(default)]
    pub reason: String,
}

/// How many jobs the board shows.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BoardQuery {
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
}

type Id = Path<String>;

fn is(actor: &Actor, who: &str) -> bool {
    matches!(actor, Actor::Member(h) if h.as_str() == who)
}

/// What a job links to for someone who is not its owner.
fn job_links(actor: &Actor, job: &JobSummary, mine: Option<ApplicationStatus>) -> Links {
    let id = &job.id;
    let open = job.status == JobStatus::Open;
    let member = matches!(actor, Actor::Member(_));
    let owner = is(actor, &job.owner);
    let live = mine == Some(ApplicationStatus::Live);
    Links::new()
        .get("self", path::job(id, ""))
        .action_if(
            open && member && !owner && !live,
            "apply",
            "POST",
            path::job(id, "applications"),
        )
        .action_if(live, "withdraw", "POST", path::job(id, "withdraw"))
        .get("board", path::jobs())
}

/// What the owner (or an admin) may do with a job.
fn owner_links(actor: &Actor, v: &JobOwnerView) -> Links {
    let id = &v.job.id;
    let owner = is(actor, &v.job.owner);
    let open = v.job.status == JobStatus::Open;
    let live = v
        .applications
        .iter()
        .any(|a| a.status == ApplicationStatus::Live);
    Links::new()
        .get("self", path::job(id, "owner-view"))
        .get("job", path::job(id, ""))
        .get("history", path::job(id, "history"))
        .action_if(
            owner && open && live,
            "accept",
            "POST",
            path::job(id, "accept"),
        )
        .action_if(owner && open, "cancel", "POST", path::job(id, "cancel"))
        .action_if(
            owner && v.job.status == JobStatus::InProgress,
            "complete",
            "POST",
            path::job(id, "complete"),
        )
}

/// What a command on a job links to next.
fn after(id: &str) -> Links {
    Links::new()
        .get("job", path::job(id, ""))
        .get("owner_view", path::job(id, "owner-view"))
}

/// Open jobs, newest first (anyone).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(BoardQuery),
    responses((status = 200, description = "The job board", body = JobBoardDoc), Problems))]
async fn board(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<BoardQuery>,
) -> Result<Response, ApiError> {
    let jobs = s
        .tally
        .job_board(&ctx, q.limit.unwrap_or(50).min(500))
        .await?;
    let jobs = jobs
        .into_iter()
        .map(|j| {
            let links = job_links(&ctx.actor, &j, None);
            Linked { body: j, links }
        })
        .collect();
    let links = Links::new().get("self", path::jobs()).action_if(
        matches!(ctx.actor, Actor::Member(_)),
        "launch",
        "POST",
        path::jobs(),
    );
    Ok(items(jobs, links).into_response())
}

/// Launch a job as the signed-in member, escrowing its reward.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", params(CommandHeaders),
    request_body = LaunchRequest,
    responses((status = 201, description = "Launched", body = ReceiptDoc), Problems))]
async fn launch(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(r): Body<LaunchRequest>,
) -> Result<Response, ApiError> {
    let input = LaunchJobInput {
        title: r.title,
        description: r.description,
        reward: r.reward,
    };
    let rec = s.tally.launch_job(&ctx, input).await?;
    let id = rec.launched_job().unwrap_or_default().to_owned();
    Ok(receipt(rec, after(&id), Some(path::job(&id, "owner-view"))))
}

/// A job as a participant sees it: public details and only the caller's own application.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = JobParticipantDoc), Problems))]
async fn participant_view(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let v: JobParticipantView = s.tally.job_participant_view(&ctx, &id).await?;
    let mine = v.my_application.as_ref().map(|a| a.status);
    let mut links = job_links(&ctx.actor, &v.job, mine);
    if is(&ctx.actor, &v.job.owner) || ctx.actor.is_privileged() {
        links = links.get("owner_view", path::job(&id, "owner-view"));
    }
    Ok(Json(Linked { body: v, links }).into_response())
}

/// A job with every application and pitch (its owner or an admin).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/owner-view", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job, everything", body = JobOwnerDoc), Problems))]
async fn owner_view(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let v = s.tally.job_owner_view(&ctx, &id).await?;
    let links = owner_links(&ctx.actor, &v);
    Ok(Json(Linked { body: v, links }).into_response())
}

/// Apply to a job as the signed-in member.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/applications", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), CommandHeaders),
    request_body = ApplyRequest,
    responses((status = 200, description = "Applied", body = ReceiptDoc), Problems))]
async fn apply(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
    Body(r): Body<ApplyRequest>,
) -> Result<Response, ApiError> {
    let rec = s.tally.apply(&ctx, &id, &r.pitch).await?;
    Ok(receipt(rec, after(&id), None))
}

/// Withdraw the signed-in member's live application.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/withdraw", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), CommandHeaders),
    responses((status = 200, description = "Withdrawn", body = ReceiptDoc), Problems))]
async fn withdraw(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let rec = s.tally.withdraw_application(&ctx, &id).await?;
    Ok(receipt(rec, after(&id), None))
}

/// Accept an applicant (the owner).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/accept", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), CommandHeaders),
    request_body = AcceptRequest,
    responses((status = 200, description = "Accepted", body = ReceiptDoc), Problems))]
async fn accept(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
    Body(r): Body<AcceptRequest>,
) -> Result<Response, ApiError> {
    let rec = s.tally.accept_applicant(&ctx, &id, &r.participant).await?;
    Ok(receipt(rec, after(&id), None))
}

/// Complete a job in progress, paying its participant (the owner).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/complete", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), CommandHeaders),
    responses((status = 200, description = "Completed", body = ReceiptDoc), Problems))]
async fn complete(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let rec = s.tally.complete_job(&ctx, &id).await?;
    Ok(receipt(rec, after(&id), None))
}

/// Cancel an open job, refunding its owner (the owner).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), CommandHeaders),
    request_body = CancelRequest,
    responses((status = 200, description = "Cancelled", body = ReceiptDoc), Problems))]
async fn cancel(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
    Body(r): Body<CancelRequest>,
) -> Result<Response, ApiError> {
    let rec = s.tally.cancel_job(&ctx, &id, &r.reason).await?;
    Ok(receipt(rec, after(&id), None))
}

/// Every event of a job, oldest first (its owner or an admin: it holds every pitch).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/history", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The history", body = HistoryDoc), Problems))]
async fn history(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
) -> Result<Response, ApiError> {
    let href = path::job(&id, "history");
    super::history(s.tally.as_ref(), &ctx, EntityRef::job(id), href).await
}

/// A job as it was at a version or time (its owner or an admin).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/state", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), StateQuery),
    responses((status = 200, description = "The state then", body = SnapshotDoc), Problems))]
async fn state_as_of(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Id,
    Query(q): Query<StateQuery>,
) -> Result<Response, ApiError> {
    let href = path::job(&id, "history");
    super::state_as_of(s.tally.as_ref(), &ctx, EntityRef::job(id), &q, href).await
}
