//! The entry points: `/` and `/api/v1` (an index of links), health checks, the OpenAPI
//! document.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::links::{API, Links, path};
use crate::openapi::schema::{Health, Index};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tally_ports::Actor;

pub(crate) fn router() -> Routes {
    Routes::new()
        .get("/", root)
        .get("/api/v1", index)
        .get("/api/v1/openapi.json", openapi)
        .get("/health/live", live)
        .get("/health/ready", ready)
}

/// The root: for now the API's index (it will serve the HTML pages later).
#[utoipa::path(get, path = "/", tag = "index",
    responses((status = 200, description = "Links to everything", body = Index), Problems))]
async fn root(caller: Caller) -> Json<Index> {
    index(caller).await
}

/// Where to go from here, for this caller.
#[utoipa::path(get, path = "/api/v1", tag = "index",
    responses((status = 200, description = "Links to everything", body = Index), Problems))]
async fn index(caller: Caller) -> Json<Index> {
    let a = &caller.actor;
    let mut links = Links::new()
        .get("self", API)
        .get("openapi", format!("{API}/openapi.json"))
        .get("jobs", path::jobs())
        .get("session", format!("{API}/session"));
    links = match a {
        Actor::Anonymous => links
            .action("log_in", "POST", format!("{API}/session"))
            .action("sign_up", "POST", format!("{API}/signup")),
        Actor::Member(h) => links
            .get("wallet", path::wallet(h.as_str()))
            .action("launch_job", "POST", path::jobs())
            .get("tokens", format!("{API}/tokens"))
            .action("log_out", "DELETE", format!("{API}/session")),
        _ => links
            .get("members", path::members())
            .get("feed", format!("{API}/feed"))
            .action("create_account", "POST", format!("{API}/accounts"))
            .get("tokens", format!("{API}/tokens"))
            .action("log_out", "DELETE", format!("{API}/session")),
    };
    Json(Index {
        service: "tally".into(),
        actor: a.to_string(),
        links,
    })
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "index",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The process can serve: its storage answers.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, description = "Ready", body = Health), Problems))]
async fn ready(State(s): State<AppState>) -> Result<Response, ApiError> {
    s.readiness.ready().await?;
    s.accounts.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
    })
    .into_response())
}
