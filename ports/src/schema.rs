//! JSON Schemas (draft 2020-12, which OpenAPI 3.1 uses) derived from the domain's rules and
//! lists, so that the limits a client reads are the ones the service enforces, exactly (a
//! pattern says what the text parser checks, character for character), and a new status
//! shows in the API's document without anyone restating it.

use serde_json::{Map, Value, json};
use tally_domain::values::{BIDI_CONTROLS, CONTROLS, INVISIBLE, WHITE_SPACE};
use tally_domain::{
    ApplicationStatus, DisplayName, FieldSpec, Handle, JobId, JobStatus, Rule, Shape, Value as _,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// One character for a regex character class (`\uXXXX` for all but plain letters and digits).
fn class_char(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\u{:04x}", u32::from(c))
    }
}

/// The inside of a character class holding `ranges`.
fn class(ranges: &[(char, char)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                class_char(a)
            } else {
                format!("{}-{}", class_char(a), class_char(b))
            }
        })
        .collect()
}

/// What no text may hold: control characters (but line breaks and tabs where multi-line) and
/// bidirectional controls, as ranges.
fn forbidden(multiline: bool) -> Vec<(char, char)> {
    let mut v: Vec<(char, char)> = if multiline {
        // Cc but \t \n \r.
        vec![
            ('\u{0}', '\u{8}'),
            ('\u{b}', '\u{c}'),
            ('\u{e}', '\u{1f}'),
            ('\u{7f}', '\u{9f}'),
        ]
    } else {
        CONTROLS.to_vec()
    };
    v.extend_from_slice(BIDI_CONTROLS);
    v
}

/// The pattern of a text value: no forbidden character anywhere, and a visible one first and
/// last (see the domain's text parser).
pub fn text_pattern(min: usize, multiline: bool) -> String {
    let anywhere = class(&forbidden(multiline));
    let edge = format!("{}{}{anywhere}", class(WHITE_SPACE), class(INVISIBLE));
    let core = format!("[^{edge}](?:[^{anywhere}]*[^{edge}])?");
    if min == 0 {
        format!("^(?:{core})?$")
    } else {
        format!("^{core}$")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The JSON Schema of a value with this rule (`doc`: what the field is, for its description).
pub fn rule(rule: &Rule, doc: &str) -> Value {
    let mut s = match rule.shape {
        Shape::Text {
            min,
            max,
            multiline,
        } => json!({
            "type": "string",
            "minLength": min,
            "maxLength": max,
            "pattern": text_pattern(min, multiline),
        }),
        Shape::Pattern { regex, min, max } => json!({
            "type": "string",
            "minLength": min,
            "maxLength": max,
            "pattern": regex,
        }),
        Shape::Integer { min, max } => json!({
            "type": "integer",
            "minimum": min,
            "maximum": max,
        }),
        Shape::OneOf(words) => json!({"type": "string", "enum": words}),
    };
    let doc = doc.trim();
    let description = if doc.is_empty() {
        capitalise(rule.hint)
    } else {
        format!("{} ({})", doc.trim_end_matches('.'), rule.hint)
    };
    s["description"] = Value::String(description);
    s
}

/// The schema of an object with these fields (required unless their rule is optional; no
/// other field).
pub fn object<'a>(fields: impl IntoIterator<Item = &'a FieldSpec>, description: &str) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in fields {
        properties.insert(f.name.to_owned(), rule(&f.rule, f.doc));
        if !f.rule.optional {
            required.push(Value::String(f.name.to_owned()));
        }
    }
    json!({
        "type": "object",
        "description": description.trim(),
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A JSON Schema as an OpenAPI schema.
///
/// # Panics
/// Never for the schemas of this module (they are valid OpenAPI schemas; a test checks).
pub fn openapi(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("the schemas of this module are OpenAPI schemas")
}

fn words(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Where a job is.
pub fn job_status() -> RefOr<Schema> {
    words(
        "Where a job is: open -> in_progress -> completed; open -> cancelled (draft: never launched)",
        JobStatus::ALL.map(JobStatus::as_str),
    )
}

/// Where an application is.
pub fn application_status() -> RefOr<Schema> {
    words(
        "Where an application is",
        ApplicationStatus::ALL.map(ApplicationStatus::as_str),
    )
}

/// The viewer's own application's status, or `null` when the viewer did not apply.
pub fn optional_application_status() -> RefOr<Schema> {
    let mut v = serde_json::to_value(application_status()).expect("a schema is JSON");
    v["type"] = json!(["string", "null"]);
    if let Some(e) = v["enum"].as_array_mut() {
        e.push(Value::Null);
    }
    v["description"] =
        json!("The viewer's own application's status; null when the viewer did not apply");
    openapi(v)
}

/// A member's handle.
pub fn handle() -> RefOr<Schema> {
    openapi(rule(
        &Handle::RULE,
        "A member's handle: public and permanent",
    ))
}

/// A job's id.
pub fn job_id() -> RefOr<Schema> {
    openapi(rule(&JobId::RULE, "A job's id"))
}

/// A member's display name.
pub fn display_name() -> RefOr<Schema> {
    openapi(rule(&DisplayName::RULE, "The name shown"))
}

/// A password.
pub fn password() -> RefOr<Schema> {
    openapi(password_json())
}

fn password_json() -> Value {
    use crate::identity::{PASSWORD_MAX, PASSWORD_MIN};
    json!({
        "type": "string",
        "minLength": PASSWORD_MIN,
        "maxLength": PASSWORD_MAX,
        "description": format!("{PASSWORD_MIN} to {PASSWORD_MAX} characters"),
    })
}

/// An API token's name.
pub fn token_name() -> RefOr<Schema> {
    openapi(rule(&crate::identity::TOKEN_NAME, "A label, e.g. ci"))
}

/// A new account: a registered member's, named by the handle, or (role `admin`) an admin's.
pub fn new_account() -> RefOr<Schema> {
    use crate::identity::ADMIN_NAME;
    let password = password_json();
    let shape = |title: &str, name: Value, role: &str, required: &[&str]| {
        json!({
            "type": "object",
            "title": title,
            "required": required,
            "properties": {
                "name": name,
                "password": password,
                "role": {"type": "string", "enum": [role]},
            },
            "additionalProperties": false,
        })
    };
    openapi(json!({
        "description": "An account for a registered member (named by the handle), or for a new admin (role admin)",
        "oneOf": [
            shape(
                "Member account",
                rule(&Handle::RULE, "The registered member's handle"),
                "member",
                &["name", "password"],
            ),
            shape(
                "Admin account",
                rule(&ADMIN_NAME, "The new admin's name"),
                "admin",
                &["name", "password", "role"],
            ),
        ],
    }))
}

/// What an API token may do.
pub fn token_scope() -> RefOr<Schema> {
    openapi(json!({
        "type": ["string", "null"],
        "enum": ["account", "feed:read", null],
        "description": "account (the default: everything the account may do) or feed:read (the history feed only; admins only)",
    }))
}

/// Days until a token expires.
pub fn expiry() -> RefOr<Schema> {
    use crate::identity::TOKEN_DAYS_MAX;
    openapi(json!({
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": TOKEN_DAYS_MAX,
        "description": format!("Days until it expires (1 to {TOKEN_DAYS_MAX}); never, if absent or null"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_pattern_is_built_from_the_domain_tables() {
        let p = text_pattern(1, false);
        assert!(p.starts_with("^[^"));
        assert!(p.contains("\\u200b"), "{p}");
        assert!(p.contains("\\u202a-\\u202e"), "{p}");
        assert!(text_pattern(0, true).starts_with("^(?:"));
    }

    #[test]
    fn every_schema_here_is_an_openapi_schema() {
        for s in [
            handle(),
            job_id(),
            display_name(),
            password(),
            token_name(),
            new_account(),
            expiry(),
            job_status(),
            application_status(),
        ] {
            let v = serde_json::to_value(&s).unwrap();
            assert!(
                v["type"].is_string() || v["type"].is_array() || v["oneOf"].is_array(),
                "{v}"
            );
        }
    }
}
