//! The published event contracts: one JSON Schema (draft 2020-12) per event type and
//! schema version, exactly the files of `contracts/schemas`. Public: they describe shapes,
//! not data.

use super::Problems;
use crate::error::ApiError;
use crate::extract::Path;
use crate::links::{Items, Links};
use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tally_api::paths;
use tally_ports::contracts;
use tally_ports::{Error, NotFound};
use utoipa::{IntoParams, ToSchema};

/// The media type of a JSON Schema document.
pub(crate) const SCHEMA_JSON: &str = "application/schema+json";

/// One published schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaEntry {
    /// The event type, e.g. `CreditsGranted`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The schema version.
    pub version: u32,
    /// Whether this build writes this version (older ones are upcast when read).
    pub current: bool,
    /// The schema's `$id`, which feed items name as their `dataschema`.
    pub id: String,
    /// Where to read it.
    pub href: String,
}

/// Every published event schema, by type then version.
#[utoipa::path(get, path = paths::SCHEMAS, tag = "schemas", operation_id = "schemas",
    responses((status = 200, description = "Every event type's schemas", body = Items<SchemaEntry>), Problems))]
pub(crate) async fn index() -> Json<Items<SchemaEntry>> {
    let items = contracts::published()
        .iter()
        .map(|p| SchemaEntry {
            event_type: p.event_type.to_owned(),
            version: p.version,
            current: contracts::current_version(p.event_type) == Some(p.version),
            id: contracts::schema_id(p.event_type, p.version),
            href: paths::schema(p.event_type, p.version),
        })
        .collect();
    Json(Items {
        items,
        links: Links::new().get("self", paths::SCHEMAS),
    })
}

/// Which schema.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SchemaPath {
    /// The event type, e.g. `CreditsGranted`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: String,
    /// The schema version (1, 2, ...).
    #[param(minimum = 1, maximum = 4_294_967_295i64)]
    version: u32,
}

/// One event type's JSON Schema at one version, as published (`application/schema+json`).
#[utoipa::path(get, path = paths::SCHEMA, tag = "schemas", operation_id = "schema",
    params(SchemaPath),
    responses((status = 200, description = "The schema", body = Object, content_type = "application/schema+json"), Problems))]
pub(crate) async fn one(Path(p): Path<SchemaPath>) -> Result<Response, ApiError> {
    let found = contracts::find(&p.event_type, p.version).ok_or_else(|| {
        Error::NotFound(NotFound::NoSuchSchema {
            event_type: p.event_type.clone(),
            version: p.version,
        })
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, SCHEMA_JSON),
            // A published version never changes.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        found.text,
    )
        .into_response())
}
