//! The JSON API: one route registry ([`router`]) from which the routes and the OpenAPI
//! document both come. Reads are handlers annotated with `#[utoipa::path]`; commands are one
//! generic handler per command kind ([`commands`]), their paths and body schemas derived from
//! the domain's declaration of the command.

pub(crate) mod accounts;
pub(crate) mod commands;
pub(crate) mod feed;
pub(crate) mod inbox;
pub(crate) mod index;
pub(crate) mod jobs;
pub(crate) mod members;
pub(crate) mod reports;
pub(crate) mod schemas;
pub(crate) mod session;
pub(crate) mod statement;
pub(crate) mod tokens;
pub(crate) mod webhooks;

use crate::AppState;
use crate::error::{ApiError, PROBLEM_JSON};
use crate::links::{Items, Linked, Links};
use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use tally_domain::CommandKind;
use tally_ports::{AsOf, Ctx, EntityRef, Error, Tally};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the JSON API, with its OpenAPI description.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    let mut r = OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(index::root))
        .routes(routes!(index::index))
        .routes(routes!(index::openapi))
        .routes(routes!(index::live))
        .routes(routes!(index::ready))
        .routes(routes!(members::list))
        .routes(routes!(members::wallet))
        .routes(routes!(statement::statement))
        .routes(routes!(members::history))
        .routes(routes!(members::state_as_of))
        .routes(routes!(jobs::board))
        .routes(routes!(jobs::participant_view))
        .routes(routes!(jobs::owner_view))
        .routes(routes!(jobs::history))
        .routes(routes!(jobs::state_as_of))
        .routes(routes!(feed::feed))
        .routes(routes!(reports::reports))
        .routes(routes!(schemas::index))
        .routes(routes!(schemas::one))
        .routes(routes!(
            session::log_in,
            session::who_am_i,
            session::log_out
        ))
        .routes(routes!(session::sign_up))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(accounts::create))
        .routes(routes!(inbox::inbox))
        .routes(routes!(inbox::mark_all))
        .routes(routes!(inbox::mark_one))
        .routes(routes!(webhooks::register, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::pause))
        .routes(routes!(webhooks::resume))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver));
    for kind in CommandKind::ALL {
        r = r.routes(commands::route(*kind));
    }
    for (kind, path) in commands::ALIASES {
        r = r.routes(commands::alias(*kind, path));
    }
    r
}

/// The problems any endpoint may answer with (documentation only).
pub(crate) struct Problems;

pub(crate) fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

impl IntoResponses for Problems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        BTreeMap::from([
            (
                "4XX".to_owned(),
                problem_response(
                    "A problem with the request: invalid (400), not signed in (401), not allowed (403), not found (404), conflict (409), too large (413), unsupported media type (415), rejected by a business rule (422)",
                ),
            ),
            (
                "5XX".to_owned(),
                problem_response("An internal error (opaque; logged with the request id)"),
            ),
        ])
    }
}

/// The headers a command takes (documentation only).
pub(crate) struct CommandHeaders;

impl IntoParams for CommandHeaders {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        command_headers()
    }
}

pub(crate) fn command_headers() -> Vec<Parameter> {
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

/// A list with links.
pub(crate) fn items<T: serde::Serialize>(items: Vec<T>, links: Links) -> Json<Items<T>> {
    Json(Items { items, links })
}

/// When to look at an entity: `?version=N`, `?at=<RFC 3339 time>`, both (that version, if it
/// was recorded by then), or neither (the latest).
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub(crate) struct StateQuery {
    /// After the event with this stream version (1 = the first event).
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807i64)]
    version: Option<u64>,
    /// After the last event recorded at or before this time (RFC 3339).
    at: Option<DateTime<Utc>>,
}

/// The largest position or version there can be (PostgreSQL's `bigint`).
pub(crate) const MAX_POSITION: u64 = i64::MAX as u64;

/// A query parameter's value, if it is within `min..=max` (as the document says).
/// A query the schema allows but that means nothing here (a word that is no status, a range
/// upside down, two cursors at once): 422, naming the field. Other errors as they are.
pub(crate) fn unprocessable(e: tally_ports::Error) -> ApiError {
    match e {
        tally_ports::Error::Invalid(v) => ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            &v.code,
            v.message,
        )
        .with_field(v.field),
        e => e.into(),
    }
}

pub(crate) fn within(name: &str, v: u64, min: u64, max: u64) -> Result<usize, ApiError> {
    if !(min..=max).contains(&v) {
        return Err(Error::invalid(
            name,
            "invalid_query",
            format!("{name} is a whole number from {min} to {max}"),
        )
        .into());
    }
    usize::try_from(v).map_err(|_| {
        Error::invalid(name, "invalid_query", format!("{name} is too large here")).into()
    })
}

impl StateQuery {
    fn as_of(&self) -> Result<AsOf, ApiError> {
        let version = match self.version {
            Some(v) => Some(within("version", v, 1, MAX_POSITION)? as u64),
            None => None,
        };
        // RFC 3339 has four-digit years; chrono reads more, which no store need hold.
        if let Some(t) = self.at
            && !(1..=9999).contains(&chrono::Datelike::year(&t))
        {
            return Err(Error::invalid(
                "at",
                "invalid_query",
                "at is an RFC 3339 time, in the years 0001 to 9999",
            )
            .into());
        }
        Ok(AsOf {
            version,
            time: self.at,
        })
    }
}

/// An entity's history, with links.
pub(crate) async fn history(
    tally: &dyn Tally,
    ctx: &Ctx,
    entity: EntityRef,
) -> Result<Response, ApiError> {
    let events = tally.history(ctx, &entity).await?;
    let links = Links::new().get("self", tally_api::paths::history(entity.kind, &entity.key));
    Ok(items(events, links).into_response())
}

/// An entity's state as of a version or time, with links.
pub(crate) async fn state_as_of(
    tally: &dyn Tally,
    ctx: &Ctx,
    entity: EntityRef,
    q: &StateQuery,
) -> Result<Response, ApiError> {
    let snapshot = tally.state_as_of(ctx, &entity, q.as_of()?).await?;
    let links = Links::new().get(
        "history",
        tally_api::paths::history(entity.kind, &entity.key),
    );
    Ok(Json(Linked {
        body: snapshot,
        links,
    })
    .into_response())
}
