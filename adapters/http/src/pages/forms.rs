//! Forms: the posted fields, and the markup of labelled inputs that show what was typed, what
//! was wrong with it, and the limits the domain sets (from the value's rule: `maxlength`,
//! `min`, `max`, a hint), so no page restates a rule.

use super::layout;
use super::security::{COMMAND_ID_FIELD, CSRF_FIELD};
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::BTreeMap;
use tally_domain::{FieldSpec, Rule, Shape};
use tally_ports::Error;
use tally_ports::identity::{PASSWORD_MAX, PASSWORD_MIN};
use uuid::Uuid;

/// The fields of a posted form, as typed (the port parses them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(BTreeMap<String, String>);

impl Fields {
    /// A field's value; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// Whether the field was sent.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Sets a field (to show a form with values that were not posted).
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    /// Every field sent, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Fields from pairs.
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Form::<Vec<(String, String)>>::from_request(req, state).await {
            // The first value of a repeated field wins, as with a hand-written form.
            Ok(Form(pairs)) => {
                let mut m = BTreeMap::new();
                for (k, v) in pairs {
                    m.entry(k).or_insert(v);
                }
                Ok(Self(m))
            }
            Err(r) => {
                let status = r.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "body_too_large"
                } else {
                    "unreadable_form"
                };
                let e = Error::invalid("body", code, r.body_text());
                Err((status, layout::bare_error_document(&e)).into_response())
            }
        }
    }
}

/// The hidden fields every form posts: the CSRF token and, for commands, the idempotency key
/// (a new one when the form is first shown; the same one when it is shown again after a
/// failure, so that repeating a command whose outcome is unknown is safe).
pub(crate) fn hidden(csrf: &str, command: Option<&Fields>) -> Markup {
    let id = command.map(|f| match f.get(COMMAND_ID_FIELD) {
        "" => Uuid::now_v7().to_string(),
        id => id.to_owned(),
    });
    html! {
        input type="hidden" name=(CSRF_FIELD) value=(csrf);
        @if let Some(id) = id {
            input type="hidden" name=(COMMAND_ID_FIELD) value=(id);
        }
    }
}

/// What kind of input a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// One of these words, as a `select`.
    Select(&'static [&'static str]),
    Number,
    Password,
    NewPassword,
    TextArea,
}

/// One labelled field. `error` marks it invalid and ties it to the error message.
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: String,
    pub(crate) kind: Kind,
    pub(crate) hint: Option<String>,
    pub(crate) required: bool,
    pub(crate) list: Option<&'a str>,
    /// `maxlength` for text, `min` and `max` for numbers.
    pub(crate) limits: Option<(i64, i64)>,
    /// Prefixed to the input's `id`, when a page has several forms with the same field.
    pub(crate) scope: String,
}

/// A count of characters as an attribute's number.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `display_name` -> `Display name`.
pub(crate) fn label_of(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl<'a> Field<'a> {
    pub(crate) fn new(name: &'a str, label: &str, kind: Kind) -> Self {
        Self {
            name,
            label: label.to_owned(),
            kind,
            hint: None,
            required: true,
            list: None,
            limits: None,
            scope: String::new(),
        }
    }

    /// The field of a command or event field, as its rule says.
    pub(crate) fn of(spec: &'a FieldSpec) -> Self {
        Self::rule(spec.name, &spec.rule)
    }

    /// A field named `name` that takes what `r` accepts: its limits (`maxlength`, `min`,
    /// `max`) and its hint from the rule; a text's hint says how many characters it takes.
    pub(crate) fn rule(name: &'a str, r: &Rule) -> Self {
        let (kind, limits) = match r.shape {
            Shape::Text {
                min,
                max,
                multiline,
            } => (
                if multiline {
                    Kind::TextArea
                } else {
                    Kind::Text
                },
                Some((count(min), count(max))),
            ),
            Shape::Pattern { min, max, .. } => (Kind::Text, Some((count(min), count(max)))),
            Shape::Integer { min, max } => (Kind::Number, Some((min, max))),
            Shape::OneOf(words) => (Kind::Select(words), None),
        };
        let mut hint = r.hint.to_owned();
        if let Some(h) = hint.get_mut(0..1) {
            h.make_ascii_uppercase();
        }
        let mut hint = format!("{hint}.");
        if let (Kind::Text | Kind::TextArea, Some((_, max))) = (kind, limits)
            && !hint.contains(&max.to_string())
        {
            hint.push_str(&format!(" Up to {max} characters."));
        }
        Self {
            name,
            label: label_of(name),
            kind,
            hint: Some(hint),
            required: !r.optional,
            list: None,
            limits,
            scope: String::new(),
        }
    }

    /// A password field (`new`: one being chosen), with the identity port's length limits.
    pub(crate) fn password(name: &'a str, label: &str, new: bool) -> Self {
        let kind = if new {
            Kind::NewPassword
        } else {
            Kind::Password
        };
        let mut f = Self::new(name, label, kind);
        f.limits = Some((count(PASSWORD_MIN), count(PASSWORD_MAX)));
        if new {
            f.hint = Some(format!("{PASSWORD_MIN} to {PASSWORD_MAX} characters."));
        }
        f
    }

    /// The same field with another label.
    #[must_use]
    pub(crate) fn labelled(mut self, label: &str) -> Self {
        self.label = label.to_owned();
        self
    }

    /// The same field, its input's `id` prefixed by `scope`.
    #[must_use]
    pub(crate) fn scoped(mut self, scope: &str) -> Self {
        self.scope = scope.to_owned();
        self
    }

    #[must_use]
    pub(crate) fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    /// Suggestions from a `datalist`.
    #[must_use]
    pub(crate) fn list(mut self, id: &'a str) -> Self {
        self.list = Some(id);
        self
    }

    /// The field, showing `values` (never for passwords) and whether `error` is about it.
    pub(crate) fn render(&self, values: &Fields, error: Option<&Error>) -> Markup {
        let id = format!("{}field-{}", self.scope, self.name);
        let hint_id = format!("{id}-hint");
        let invalid = matches!(error, Some(Error::Invalid(v)) if v.field == self.name);
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.clone());
        }
        if invalid {
            described.push("error".to_owned());
        }
        let described = (!described.is_empty()).then(|| described.join(" "));
        let value = values.get(self.name);
        let (minlength, maxlength) = match (self.kind, self.limits) {
            (
                Kind::Text | Kind::TextArea | Kind::Password | Kind::NewPassword,
                Some((min, max)),
            ) => ((min > 0).then_some(min), Some(max)),
            _ => (None, None),
        };
        let (min, max) = match (self.kind, self.limits) {
            (Kind::Number, Some((min, max))) => (Some(min), Some(max)),
            _ => (None, None),
        };
        html! {
            div.field.invalid[invalid] {
                label for=(id) {
                    (self.label)
                    @if !self.required { " " span.muted { "(optional)" } }
                }
                @if let Some(h) = &self.hint { p.hint id=(hint_id) { (h) } }
                @match self.kind {
                    Kind::TextArea => textarea id=(id) name=(self.name) rows="5"
                        minlength=[minlength] maxlength=[maxlength]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required] { (value) },
                    Kind::Password | Kind::NewPassword => input id=(id) name=(self.name) type="password"
                        autocomplete=(if self.kind == Kind::Password { "current-password" } else { "new-password" })
                        minlength=[minlength.filter(|_| self.kind == Kind::NewPassword)] maxlength=[maxlength]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required];
                    Kind::Number => input id=(id) name=(self.name) type="number" inputmode="numeric"
                        value=(value) min=[min] max=[max] aria-describedby=[described.as_deref()]
                        aria-invalid=[invalid.then_some("true")] required[self.required];
                    Kind::Select(words) => select id=(id) name=(self.name)
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required] {
                        // No blank choice: the first word is the default.
                        @for w in words {
                            option value=(w) selected[value == *w] { (label_of(w)) }
                        }
                    },
                    Kind::Text => input id=(id) name=(self.name) type="text" value=(value) list=[self.list]
                        minlength=[minlength] maxlength=[maxlength]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required];
                }
            }
        }
    }
}

/// A form: `novalidate`, because the service is the one judge of input (and says why).
pub(crate) fn form(id: &str, action: &str, button: &str, inner: Markup) -> Markup {
    form_with(id, action, button, "", inner)
}

/// A form whose button has a class (`danger` for what cannot be undone).
pub(crate) fn form_with(
    id: &str,
    action: &str,
    button: &str,
    class: &str,
    inner: Markup,
) -> Markup {
    html! {
        form id=(id) method="post" action=(action) novalidate {
            (inner)
            div.actions { button type="submit" class=[(!class.is_empty()).then_some(class)] { (button) } }
        }
    }
}
