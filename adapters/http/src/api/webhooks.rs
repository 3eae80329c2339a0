//! Webhook endpoints (registered by admins for every member's notifications, by members for
//! their own; listed, paused, resumed, deleted) and deliveries (admins: attempts, status,
//! last error, dead letters, redelivery).

use super::{Problems, items};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, CallCtx, Path, Query};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use tally_api::paths::{self, with_id};
use tally_ports::Error;
use tally_ports::webhooks::{
    Delivery, DeliveryQuery, DeliveryStatus, Endpoint, NewEndpoint, WebhookAdmin,
};
use utoipa::IntoParams;
use uuid::Uuid;

/// The webhook use cases, or a clear error on a server that keeps none.
pub(crate) fn admin(s: &AppState) -> Result<Arc<WebhookAdmin>, Error> {
    s.webhooks
        .clone()
        .ok_or_else(|| Error::infrastructure("this server is not configured for webhooks"))
}

fn linked(e: Endpoint) -> Linked<Endpoint> {
    let id = e.id.to_string();
    let toggle = if e.paused {
        ("resume", paths::WEBHOOK_RESUME)
    } else {
        ("pause", paths::WEBHOOK_PAUSE)
    };
    let links = Links::new()
        .action(toggle.0, "POST", with_id(toggle.1, &id))
        .action("delete", "DELETE", with_id(paths::WEBHOOK, &id));
    Linked { body: e, links }
}

/// Register a webhook endpoint. An admin's receives every member's notifications of its
/// kinds; a member's only their own. The answer holds the signing secret.
#[utoipa::path(post, path = paths::WEBHOOKS, tag = "webhooks", operation_id = "register_webhook",
    request_body = NewEndpoint,
    responses((status = 201, description = "Registered", body = Linked<Endpoint>), Problems))]
pub(crate) async fn register(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Body(new): Body<NewEndpoint>,
) -> Result<Response, ApiError> {
    // A URL or kind the schema allows but that cannot be used: 422, naming the field.
    let e = admin(&s)?
        .register(&ctx.actor, new)
        .await
        .map_err(super::unprocessable)?;
    let location = with_id(paths::WEBHOOK, &e.id.to_string());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(linked(e)),
    )
        .into_response())
}

/// The caller's webhook endpoints (an admin: every endpoint), oldest first.
#[utoipa::path(get, path = paths::WEBHOOKS, tag = "webhooks", operation_id = "webhooks",
    responses((status = 200, description = "The endpoints", body = Items<Linked<Endpoint>>), Problems))]
pub(crate) async fn list(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
) -> Result<Response, ApiError> {
    let endpoints = admin(&s)?.endpoints(&ctx.actor).await?;
    let links =
        Links::new()
            .get("self", paths::WEBHOOKS)
            .action("register", "POST", paths::WEBHOOKS);
    Ok(items(endpoints.into_iter().map(linked).collect(), links).into_response())
}

/// Pause one of the caller's endpoints: deliveries wait until it is resumed.
#[utoipa::path(post, path = paths::WEBHOOK_PAUSE, tag = "webhooks", operation_id = "pause_webhook",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 200, description = "Paused", body = Linked<Endpoint>), Problems))]
pub(crate) async fn pause(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<Json<Linked<Endpoint>>, ApiError> {
    Ok(Json(linked(
        admin(&s)?.set_paused(&ctx.actor, id, true).await?,
    )))
}

/// Resume one of the caller's endpoints: what waited is sent.
#[utoipa::path(post, path = paths::WEBHOOK_RESUME, tag = "webhooks", operation_id = "resume_webhook",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 200, description = "Resumed", body = Linked<Endpoint>), Problems))]
pub(crate) async fn resume(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<Json<Linked<Endpoint>>, ApiError> {
    Ok(Json(linked(
        admin(&s)?.set_paused(&ctx.actor, id, false).await?,
    )))
}

/// Delete one of the caller's endpoints and its deliveries.
#[utoipa::path(delete, path = paths::WEBHOOK, tag = "webhooks", operation_id = "delete_webhook",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"), Problems))]
pub(crate) async fn delete(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    admin(&s)?.delete(&ctx.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which deliveries to list. Read as text, so that a bad value gets a message naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveryParams {
    /// Only those `pending`, `delivered` or `dead` (dead letters).
    #[param(value_type = Option<String>)]
    pub(crate) status: Option<String>,
    /// Only those to this endpoint.
    #[param(value_type = Option<Uuid>)]
    pub(crate) endpoint: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 500)]
    pub(crate) limit: Option<String>,
}

impl DeliveryParams {
    /// The query, checked.
    ///
    /// # Errors
    /// `invalid_query`, naming the field.
    pub(crate) fn parse(&self) -> Result<DeliveryQuery, Error> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
        let status = text(&self.status)
            .map(|s| {
                DeliveryStatus::parse(&s).ok_or_else(|| {
                    Error::invalid(
                        "status",
                        "invalid_query",
                        "status is pending, delivered or dead",
                    )
                })
            })
            .transpose()?;
        let endpoint = text(&self.endpoint)
            .map(|e| {
                Uuid::parse_str(&e).map_err(|_| {
                    Error::invalid("endpoint", "invalid_query", "endpoint is an endpoint's id")
                })
            })
            .transpose()?;
        let limit = match text(&self.limit) {
            None => 50,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        "limit",
                        "invalid_query",
                        "limit is a whole number from 1 to 500",
                    )
                })?,
        };
        Ok(DeliveryQuery {
            status,
            endpoint,
            limit,
        })
    }
}

/// Webhook deliveries, newest first (admins): attempts, status, last error, next attempt.
#[utoipa::path(get, path = paths::DELIVERIES, tag = "webhooks", operation_id = "webhook_deliveries",
    params(DeliveryParams),
    responses((status = 200, description = "The deliveries", body = Items<Linked<Delivery>>), Problems))]
pub(crate) async fn deliveries(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Query(q): Query<DeliveryParams>,
) -> Result<Response, ApiError> {
    let q = q.parse().map_err(super::unprocessable)?;
    let found = admin(&s)?.deliveries(&ctx.actor, q).await?;
    let rows = found
        .into_iter()
        .map(|d| {
            let links = Links::new().action(
                "redeliver",
                "POST",
                with_id(paths::REDELIVER, &d.id.to_string()),
            );
            Linked { body: d, links }
        })
        .collect();
    Ok(items(rows, Links::new().get("self", paths::DELIVERIES)).into_response())
}

/// Send a delivery again from its first attempt (admins): a dead letter, or any other.
#[utoipa::path(post, path = paths::REDELIVER, tag = "webhooks", operation_id = "redeliver",
    params(("id" = Uuid, Path, description = "The delivery's id")),
    responses((status = 202, description = "Queued again"), Problems))]
pub(crate) async fn redeliver(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    admin(&s)?.redeliver(&ctx.actor, id).await?;
    Ok(StatusCode::ACCEPTED)
}
