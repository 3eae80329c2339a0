//! The entry points: `/` and `/api/v1` (an index of links), health checks, the OpenAPI
//! document.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::links::Links;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tally_api::paths::{self, API};
use tally_domain::CommandKind;
use tally_ports::Actor;
use utoipa::ToSchema;

/// The index of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct Index {
    /// `tally`.
    pub service: String,
    /// Who is calling.
    pub actor: String,
    /// Where to go.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// A health check's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// The root: the API's index for programs (browsers get the dashboard page).
#[utoipa::path(get, path = "/", tag = "index", operation_id = "root",
    responses((status = 200, description = "Links to everything", body = Index), Problems))]
pub(crate) async fn root(caller: Caller) -> Json<Index> {
    index(caller).await
}

/// Where to go from here, for this caller.
#[utoipa::path(get, path = paths::API, tag = "index", operation_id = "index",
    responses((status = 200, description = "Links to everything", body = Index), Problems))]
pub(crate) async fn index(caller: Caller) -> Json<Index> {
    let a = &caller.actor;
    let mut links = Links::new()
        .get("self", API)
        .get("openapi", paths::OPENAPI)
        .get("jobs", paths::JOBS)
        .get("session", paths::SESSION);
    links = match a {
        Actor::Anonymous => {
            links
                .action("log_in", "POST", paths::SESSION)
                .action("sign_up", "POST", paths::SIGNUP)
        }
        Actor::Member(h) => links
            .get("wallet", paths::wallet(h.as_str()))
            .action(CommandKind::LaunchJob.name(), "POST", paths::JOBS)
            .get("tokens", paths::TOKENS)
            .action("log_out", "DELETE", paths::SESSION),
        _ => links
            .get("members", paths::MEMBERS)
            .get("feed", paths::FEED)
            .action(CommandKind::RegisterMember.name(), "POST", paths::MEMBERS)
            .action("create_account", "POST", paths::ACCOUNTS)
            .get("tokens", paths::TOKENS)
            .action("log_out", "DELETE", paths::SESSION),
    };
    Json(Index {
        service: "tally".into(),
        actor: a.to_string(),
        links,
    })
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = paths::OPENAPI, tag = "index", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi() -> Json<&'static serde_json::Value> {
    Json(crate::openapi::json())
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", operation_id = "live",
    responses((status = 200, description = "Alive", body = Health)))]
pub(crate) async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The process can serve: its storage answers.
#[utoipa::path(get, path = "/health/ready", tag = "health", operation_id = "ready",
    responses((status = 200, description = "Ready", body = Health), Problems))]
pub(crate) async fn ready(State(s): State<AppState>) -> Result<Response, ApiError> {
    s.readiness.ready().await?;
    Ok(Json(Health {
        status: "ok".into(),
    })
    .into_response())
}
