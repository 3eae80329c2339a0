//! A command's JSON body, to and from the driving port's [`Input`]: the command's fields by
//! name, each a JSON string or number as its rule says, but the key of the entity it acts on,
//! which is in the path.

use serde_json::{Map, Value};
use tally_domain::{CommandKind, Raw, Shape, Target};
use tally_ports::{Error, Input};

/// The fields a command's body holds: all of its fields but the key of the entity it acts on.
pub fn body_fields(kind: CommandKind) -> impl Iterator<Item = &'static tally_domain::FieldSpec> {
    let key = match kind.target() {
        Target::On(k) => Some(k.key_field()),
        Target::New(_) => None,
    };
    kind.fields().iter().filter(move |f| Some(f.name) != key)
}

/// The input of a command of `kind` on the entity `key` (from the path; `None` for one that
/// creates an entity), from its JSON body.
///
/// # Errors
/// `Invalid` naming the field: `unknown_field` for a field the command does not take,
/// `missing_field` for a required one left out, `invalid_field` for a value of the wrong JSON
/// type (text where a whole number is wanted, `null`, say). The rules themselves are the port's to
/// check.
pub fn input(
    kind: CommandKind,
    key: Option<&str>,
    body: &Map<String, Value>,
) -> Result<Input, Error> {
    let mut input = Input::new(kind);
    if let (Target::On(k), Some(key)) = (kind.target(), key) {
        input = input.with(k.key_field(), key);
    }
    for name in body.keys() {
        // A member forgetting themselves sends their password too (checked before).
        let reauth = kind == CommandKind::ForgetMember && name == "password";
        if !reauth && !body_fields(kind).any(|f| f.name == name) {
            return Err(Error::invalid(
                name,
                "unknown_field",
                format!("{name}: this command has no such field"),
            ));
        }
    }
    for f in body_fields(kind) {
        let raw = match body.get(f.name) {
            None if f.rule.optional => continue,
            None => {
                return Err(Error::invalid(
                    f.name,
                    "missing_field",
                    format!("{}: {} is required", f.name, f.rule.what),
                ));
            }
            Some(v) => raw(f.name, &f.rule.shape, v)?,
        };
        input = input.with(f.name, raw);
    }
    Ok(input)
}

/// A JSON value as the raw input of a field of `shape`.
fn raw(name: &str, shape: &Shape, v: &Value) -> Result<Raw, Error> {
    let wrong = |what: &str| {
        Error::invalid(
            name,
            "invalid_field",
            format!("{name}: expected {what}, got {v}"),
        )
    };
    match (shape, v) {
        (Shape::Integer { .. }, Value::Number(n)) => tally_ports::whole_number(n)
            .map(Raw::Int)
            .ok_or_else(|| wrong("a whole number")),
        (Shape::Integer { .. }, _) => Err(wrong("a whole number")),
        (_, Value::String(s)) => Ok(Raw::Text(s.clone())),
        (_, _) => Err(wrong("text")),
    }
}

/// An input as what goes over the wire: the key of the entity it acts on (for the path),
/// and the JSON body.
pub fn to_json(input: &Input) -> (Option<String>, Map<String, Value>) {
    let key = input.key();
    let body = body_fields(input.kind)
        .filter_map(|f| {
            let v = input.fields.get(f.name)?;
            Some((f.name.to_owned(), tally_ports::raw_to_json(v)))
        })
        .collect();
    (key, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_body_becomes_the_input_with_the_key_from_the_path() {
        let i = input(
            CommandKind::CancelJob,
            Some("j1"),
            &obj(json!({"reason": "no"})),
        )
        .unwrap();
        assert_eq!(
            i,
            Input::new(CommandKind::CancelJob)
                .with("job", "j1")
                .with("reason", "no")
        );
        assert_eq!(
            to_json(&i),
            (Some("j1".into()), obj(json!({"reason": "no"})))
        );
        // An optional field may be left out.
        assert!(input(CommandKind::CancelJob, Some("j1"), &Map::new()).is_ok());
    }

    #[test]
    fn body_problems_name_the_field() {
        let code = |kind, v: Value| {
            let e = input(kind, Some("alice"), &obj(v)).unwrap_err();
            match e {
                Error::Invalid(v) => (v.code, v.field),
                other => panic!("{other:?}"),
            }
        };
        let g = CommandKind::GrantCredits;
        assert_eq!(
            code(g, json!({})),
            ("missing_field".into(), "amount".into())
        );
        assert_eq!(
            code(g, json!({"amount": 1, "admin": true})),
            ("unknown_field".into(), "admin".into())
        );
        assert_eq!(
            code(g, json!({"amount": "5"})),
            ("invalid_field".into(), "amount".into())
        );
        assert_eq!(
            code(g, json!({"amount": 2.5})),
            ("invalid_field".into(), "amount".into())
        );
        assert_eq!(
            code(g, json!({"amount": u64::MAX})),
            ("invalid_field".into(), "amount".into())
        );
        assert_eq!(
            code(g, json!({"amount": 1, "reason": 5})),
            ("invalid_field".into(), "reason".into())
        );
        // The key is in the path, never in the body.
        assert_eq!(
            code(g, json!({"amount": 1, "handle": "bob"})),
            ("unknown_field".into(), "handle".into())
        );
    }
}
