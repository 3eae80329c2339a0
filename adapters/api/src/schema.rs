//! JSON Schemas (draft 2020-12, which OpenAPI 3.1 uses) of command bodies, derived from the
//! domain's value rules: the limits a client reads are the ones the service enforces, exactly
//! (a pattern says what the text parser checks, character for character).

use crate::body::body_fields;
use serde_json::Value;
use tally_domain::CommandKind;

pub use tally_ports::schema::{object, rule, text_pattern};

/// The schema of a command's JSON body.
pub fn command_body(kind: CommandKind) -> Value {
    let mut s = object(body_fields(kind), kind.doc());
    if kind == CommandKind::ForgetMember {
        s["properties"]["password"] = serde_json::json!({
            "type": "string",
            "description": "Your password, when you ask to be forgotten yourself (admins leave it out)",
        });
    }
    s
}

/// The schema's name of a command's body in the OpenAPI document, e.g. `CancelJob`.
pub fn command_body_name(kind: CommandKind) -> String {
    kind.name()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_schema_states_the_rules() {
        let s = command_body(CommandKind::GrantCredits);
        assert_eq!(s["required"], json!(["amount"]));
        assert_eq!(s["properties"]["amount"]["minimum"], 1);
        assert_eq!(s["properties"]["amount"]["maximum"], 1_000_000);
        assert_eq!(s["properties"]["reason"]["maxLength"], 500);
        assert!(
            s["properties"].get("handle").is_none(),
            "the key is in the path"
        );
        assert_eq!(command_body_name(CommandKind::CancelJob), "CancelJob");
        let r = command_body(CommandKind::RegisterMember);
        assert_eq!(
            r["properties"]["handle"]["pattern"],
            "^[a-z][a-z0-9_-]{2,31}$"
        );
    }
}
