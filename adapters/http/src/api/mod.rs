//! The resources, one module each with its `router()`, and what they share.

pub(crate) mod accounts;
pub(crate) mod feed;
pub(crate) mod index;
pub(crate) mod jobs;
pub(crate) mod members;
pub(crate) mod session;
pub(crate) mod tokens;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::links::{Items, Linked, Links};
use crate::routes::Routes;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use tally_ports::{AsOf, Ctx, EntityRef, Error, Receipt, Tally};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{IntoParams, IntoResponses, ToSchema};

/// Every route of the service.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .merge(index::router())
        .merge(members::router())
        .merge(jobs::router())
        .merge(feed::router())
        .merge(session::router())
        .merge(tokens::router())
        .merge(accounts::router())
}

/// The problems any endpoint may answer with (documentation only).
pub(crate) struct Problems;

impl IntoResponses for Problems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let problem = |d: &str| {
            ResponseBuilder::new()
                .description(d)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into()
        };
        BTreeMap::from([
            (
                "4XX".to_owned(),
                problem(
                    "A problem with the request: invalid (400), not signed in (401), not allowed (403), not found (404), conflict (409), too large (413), rejected by a business rule (422)",
                ),
            ),
            (
                "5XX".to_owned(),
                problem("An internal error (opaque; logged with the request id)"),
            ),
        ])
    }
}

/// The headers a command takes (documentation only).
pub(crate) struct CommandHeaders;

impl IntoParams for CommandHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let header = |name: &str, d: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .description(Some(d))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Uuid,
                        ))),
                ))
                .build()
        };
        vec![
            header(
                "Idempotency-Key",
                "A client-chosen command id (UUID): repeating the command with it returns the first outcome and records nothing new",
            ),
            header(
                "X-Correlation-Id",
                "Ties the command to a wider piece of work (UUID)",
            ),
        ]
    }
}

/// A command's answer: the receipt with links, as 200 or 201 (with `Location`).
pub(crate) fn receipt(r: Receipt, links: Links, created: Option<String>) -> Response {
    let body = Json(Linked { body: r, links });
    match created {
        Some(loc) => (StatusCode::CREATED, [(header::LOCATION, loc)], body).into_response(),
        None => body.into_response(),
    }
}

/// A list with links.
pub(crate) fn items<T: serde::Serialize>(items: Vec<T>, links: Links) -> Json<Items<T>> {
    Json(Items { items, links })
}

/// When to look at an entity: `?version=N` or `?at=<RFC 3339 time>`.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub(crate) struct StateQuery {
    /// After the event with this stream version (1 = the first event).
    version: Option<u64>,
    /// After the last event recorded at or before this time (RFC 3339).
    at: Option<DateTime<Utc>>,
}

impl StateQuery {
    fn as_of(&self) -> Result<AsOf, ApiError> {
        match (self.version, self.at) {
            (Some(v), None) => Ok(AsOf::Version(v)),
            (None, Some(t)) => Ok(AsOf::Time(t)),
            _ => Err(Error::invalid(
                "query",
                "invalid_as_of",
                "give exactly one of ?version=N or ?at=<time>",
            )
            .into()),
        }
    }
}

/// An entity's history, with links.
pub(crate) async fn history(
    tally: &dyn Tally,
    ctx: &Ctx,
    entity: EntityRef,
    self_href: String,
) -> Result<Response, ApiError> {
    let events = tally.history(ctx, &entity).await?;
    Ok(items(events, Links::new().get("self", self_href)).into_response())
}

/// An entity's state as of a version or time, with links.
pub(crate) async fn state_as_of(
    tally: &dyn Tally,
    ctx: &Ctx,
    entity: EntityRef,
    q: &StateQuery,
    history_href: String,
) -> Result<Response, ApiError> {
    let snapshot = tally.state_as_of(ctx, &entity, q.as_of()?).await?;
    let links = Links::new().get("history", history_href);
    Ok(Json(Linked {
        body: snapshot,
        links,
    })
    .into_response())
}
