//! Every command, through one generic handler: the route, its OpenAPI operation and its body
//! schema all come from the domain's declaration of the command ([`CommandKind`]), so a new
//! command needs nothing here.

use super::{Problems, command_headers};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, JsonObject, Path};
use crate::links::Links;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value};
use tally_api::{body, paths, schema};
use tally_domain::{CommandKind, EntityKind, Target};
use tally_ports::{Ctx, Receipt};
use utoipa::IntoResponses;
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, Paths,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, Schema};
use utoipa_axum::router::UtoipaMethodRouter;

/// The paths commands had before each took its name (`/api/v1/jobs/{id}/cancel-job`): still
/// served, with the same bodies and answers, and marked deprecated in the document, so that
/// clients written against them keep working. New commands get no alias.
pub(crate) const ALIASES: &[(CommandKind, &str)] = &[
    (CommandKind::GrantCredits, "/api/v1/members/{handle}/grants"),
    (CommandKind::Apply, "/api/v1/jobs/{id}/applications"),
    (
        CommandKind::WithdrawApplication,
        "/api/v1/jobs/{id}/withdraw",
    ),
    (CommandKind::AcceptApplicant, "/api/v1/jobs/{id}/accept"),
    (CommandKind::CompleteJob, "/api/v1/jobs/{id}/complete"),
    (CommandKind::CancelJob, "/api/v1/jobs/{id}/cancel"),
];

/// The route of a command of `kind`: `POST` to its path, its operation, and its body's schema.
pub(crate) fn route(kind: CommandKind) -> UtoipaMethodRouter<AppState> {
    route_at(kind, &paths::command(kind), None)
}

/// The deprecated alias of a command's route (see [`ALIASES`]).
pub(crate) fn alias(kind: CommandKind, path: &str) -> UtoipaMethodRouter<AppState> {
    route_at(kind, path, Some(format!("{}_deprecated_path", kind.name())))
}

fn route_at(
    kind: CommandKind,
    path: &str,
    alias_id: Option<String>,
) -> UtoipaMethodRouter<AppState> {
    let method_router = match kind.target() {
        Target::On(_) => post(
            move |State(s): State<AppState>,
                  CallCtx(ctx): CallCtx,
                  Path(key): Path<String>,
                  JsonObject(body): JsonObject| async move {
                run(&s, &ctx, kind, Some(&key), &body).await
            },
        ),
        Target::New(_) => post(
            move |State(s): State<AppState>,
                  CallCtx(ctx): CallCtx,
                  JsonObject(body): JsonObject| async move {
                run(&s, &ctx, kind, None, &body).await
            },
        ),
    };
    let body_schema: RefOr<Schema> =
        serde_json::from_value(schema::command_body(kind)).expect("body schemas are schemas");
    let schemas = vec![(schema::command_body_name(kind), body_schema)];
    let mut op = operation(kind);
    if let Some(id) = alias_id {
        op.operation_id = Some(id);
        op.deprecated = Some(utoipa::openapi::Deprecated::True);
        op.description = Some(format!(
            "Deprecated: the same command at {}.",
            paths::command(kind)
        ));
    }
    let paths = Paths::builder()
        .path(path, PathItem::new(HttpMethod::Post, op))
        .build();
    (schemas, paths, method_router)
}

/// Runs the command on the driving port and answers with its receipt.
async fn run(
    s: &AppState,
    ctx: &Ctx,
    kind: CommandKind,
    key: Option<&str>,
    fields: &Map<String, Value>,
) -> Result<Response, ApiError> {
    let password = fields.get(crate::reauth::FIELD).and_then(Value::as_str);
    crate::reauth::check(s.identity.as_ref(), ctx, kind, key, password).await?;
    let input = body::input(kind, key, fields)?;
    let receipt = s.tally.execute(ctx, input).await?;
    Ok(answer(kind, key, receipt))
}

/// What a command answers: its receipt, the key of the entity it was about (or created), and
/// links to what it changed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandAnswer {
    /// What it recorded.
    #[serde(flatten)]
    receipt: Receipt,
    /// The key of the entity it was about, or created: a handle or a job id.
    key: String,
    /// Where to look next.
    #[serde(rename = "_links")]
    links: Links,
}

/// A command's answer: its receipt with links to what it changed; 201 with `Location` for a
/// command that creates an entity.
fn answer(kind: CommandKind, key: Option<&str>, receipt: Receipt) -> Response {
    let key = match kind.target() {
        Target::On(_) => key.unwrap_or_default().to_owned(),
        Target::New(k) => receipt
            .events
            .iter()
            .find(|e| e.stream.kind() == k)
            .map(|e| e.stream.key().to_owned())
            .unwrap_or_default(),
    };
    let links = match kind.target().kind() {
        EntityKind::Job => Links::new()
            .get("job", paths::job(&key))
            .get("owner_view", paths::job_owner(&key)),
        EntityKind::Member => Links::new().get("wallet", paths::wallet(&key)),
    };
    let created = match kind.target() {
        Target::New(EntityKind::Job) => Some(paths::job_owner(&key)),
        Target::New(EntityKind::Member) => Some(paths::wallet(&key)),
        Target::On(_) => None,
    };
    let body = Json(CommandAnswer {
        receipt,
        key,
        links,
    });
    match created {
        Some(loc) => (StatusCode::CREATED, [(header::LOCATION, loc)], body).into_response(),
        None => body.into_response(),
    }
}

/// What a client may do after the command, as OpenAPI links (which a client, or a stateful
/// test, follows with the key of the entity the command was about or created).
fn next(kind: CommandKind) -> Vec<(String, utoipa::openapi::link::Link)> {
    let k = kind.target().kind();
    let param = paths::key_param(k);
    let key = match kind.target() {
        Target::New(_) => "$response.body#/key".to_owned(),
        Target::On(_) => format!("$request.path.{param}"),
    };
    // The reads of the entity, by their operation ids, and every command on it.
    let reads: &[&str] = match k {
        EntityKind::Job => &["job", "job_owner_view", "job_history"],
        EntityKind::Member => &["wallet", "member_history"],
    };
    let commands = CommandKind::ALL
        .iter()
        .filter(|c| c.target() == Target::On(k))
        .map(|c| c.name());
    reads
        .iter()
        .copied()
        .chain(commands)
        .map(|op| {
            let link = utoipa::openapi::link::LinkBuilder::new()
                .operation_id(op)
                .parameter(param, key.clone())
                .build();
            (op.to_owned(), link)
        })
        .collect()
}

/// The command's OpenAPI operation.
fn operation(kind: CommandKind) -> utoipa::openapi::path::Operation {
    let mut params = command_headers();
    if let Target::On(k) = kind.target() {
        let key = kind
            .fields()
            .iter()
            .find(|f| f.name == k.key_field())
            .expect("a command on an entity has its key field");
        let key_schema: RefOr<Schema> =
            serde_json::from_value(schema::rule(&key.rule, key.doc)).expect("a schema");
        params.insert(
            0,
            ParameterBuilder::new()
                .name(paths::key_param(k))
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(key.doc.trim()))
                .schema(Some(key_schema))
                .build(),
        );
    }
    let has_body = body::body_fields(kind).next().is_some();
    let required = body::body_fields(kind).any(|f| !f.rule.optional);
    let (status, what) = match kind.target() {
        Target::New(_) => ("201", "Done: what it recorded (Location: the new entity)"),
        Target::On(_) => ("200", "Done: what it recorded"),
    };
    let mut responses = Problems::responses();
    let mut ok = ResponseBuilder::new().description(what).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("CommandReceipt")))
            .build(),
    );
    for (name, link) in next(kind) {
        ok = ok.link(name, link);
    }
    responses.insert(status.to_owned(), ok.build().into());
    let mut op = OperationBuilder::new()
        .operation_id(Some(kind.name()))
        .summary(Some(kind.label()))
        .description(Some(kind.doc().trim()))
        .tag("commands")
        .parameters(Some(params))
        .responses(
            utoipa::openapi::ResponsesBuilder::new()
                .responses_from_iter(responses)
                .build(),
        );
    if has_body {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if required {
                    Required::True
                } else {
                    Required::False
                }))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schema::command_body_name(kind))))
                        .build(),
                )
                .build(),
        ));
    }
    op.build()
}
