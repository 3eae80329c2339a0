//! The OpenAPI document, from the one route registry (`api`): every route is in it,
//! with the schemas of its bodies (views derived from the port's types, command bodies from
//! the domain's rules), and nothing else is.

use std::sync::OnceLock;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tally",
        description = "An event-sourced credits marketplace. Every error is application/problem+json with a stable `code`. Authenticate with `Authorization: Bearer <token>` (an API token or a session token) or the session cookie. Views carry `actions`: what the caller may do now, each a command with the fields it is given and those to fill in; `_links` name each command's path.",
    ),
    modifiers(&Shared),
    security(("bearer" = []), ("cookie" = []), ()),
)]
struct ApiDoc;

/// What every operation shares: security schemes, the problem and receipt schemas.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
        let problem: RefOr<Schema> = serde_json::from_value(serde_json::json!({
            "type": "object",
            "description": "A problem report (RFC 9457), with the error's own details beside its stable code",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string", "description": "urn:tally:problem:<code>"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string", "description": "What happened, for a person"},
                "code": {"type": "string", "description": "A stable machine code, e.g. insufficient_credits"},
                "field": {"type": "string", "description": "The input field at fault"}
            },
            "additionalProperties": true
        }))
        .expect("a schema");
        c.schemas.insert("Problem".into(), problem);
        c.schemas.insert(
            "CommandReceipt".into(),
            crate::api::commands::CommandAnswer::schema(),
        );
        for (name, schema) in {
            let mut v = Vec::new();
            <crate::api::commands::CommandAnswer as utoipa::ToSchema>::schemas(&mut v);
            v
        } {
            c.schemas.entry(name).or_insert(schema);
        }
    }
}

/// The document before the routes join it.
pub(crate) fn base() -> Document {
    ApiDoc::openapi()
}

/// The OpenAPI document of the whole service.
pub fn document() -> Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = crate::api::router().split_for_parts().1;
        keys_by_their_rules(&mut doc);
        doc
    })
    .clone()
}

/// The served OpenAPI document, as JSON.
///
/// utoipa 5.5 serializes a link's `operationId`, `operationRef` and `requestBody` in snake
/// case, which OpenAPI tools do not read as links; this renames them (once, at first use).
pub fn json() -> &'static serde_json::Value {
    static JSON: OnceLock<serde_json::Value> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut v = serde_json::to_value(document()).expect("the document serializes");
        camel_case_links(&mut v);
        v
    })
}

fn camel_case_links(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut() {
                    let Value::Object(link) = link else { continue };
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(x) = link.remove(from) {
                            link.insert(to.to_owned(), x);
                        }
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

/// Every path parameter that names an entity takes the schema of its key's value type (a
/// handle's pattern, a job id's), so that no route restates it.
fn keys_by_their_rules(doc: &mut Document) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                if p.parameter_in != utoipa::openapi::path::ParameterIn::Path {
                    continue;
                }
                let schema = match p.name.as_str() {
                    "handle" => tally_ports::schema::handle(),
                    "id" if path.starts_with(tally_api::paths::JOBS) => {
                        tally_ports::schema::job_id()
                    }
                    _ => continue,
                };
                p.schema = Some(schema);
            }
        }
    }
}
