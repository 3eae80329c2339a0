//! Forms: the posted fields, and the markup of labelled inputs that show what was typed and
//! what was wrong with it.

use super::layout;
use super::security::{COMMAND_ID_FIELD, CSRF_FIELD};
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::BTreeMap;
use tally_ports::Error;
use uuid::Uuid;

/// The fields of a posted form, as typed (the port parses them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(BTreeMap<String, String>);

impl Fields {
    /// A field's value; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// Fields from pairs (to show a form with values that were not posted).
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// A whole number typed into `name`.
    ///
    /// # Errors
    /// `Invalid` with `code` when it is not one.
    pub(crate) fn int(&self, name: &str, code: &str, what: &str) -> Result<i64, Error> {
        self.get(name)
            .trim()
            .parse()
            .map_err(|_| Error::invalid(name, code, format!("{what} is a whole number")))
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
    Number,
    Password,
    NewPassword,
    TextArea,
}

/// One labelled field. `error` marks it invalid and ties it to the error message.
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: &'a str,
    pub(crate) kind: Kind,
    pub(crate) hint: Option<&'a str>,
    pub(crate) required: bool,
    pub(crate) list: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub(crate) fn new(name: &'a str, label: &'a str, kind: Kind) -> Self {
        Self {
            name,
            label,
            kind,
            hint: None,
            required: true,
            list: None,
        }
    }

    #[must_use]
    pub(crate) fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Suggestions from a `datalist`.
    #[must_use]
    pub(crate) fn list(mut self, id: &'a str) -> Self {
        self.list = Some(id);
        self
    }

    #[must_use]
    pub(crate) fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// The field, showing `values` (never for passwords) and whether `error` is about it.
    pub(crate) fn render(&self, values: &Fields, error: Option<&Error>) -> Markup {
        let id = format!("field-{}", self.name);
        let hint_id = format!("{id}-hint");
        let invalid = matches!(error, Some(Error::Invalid { field, .. }) if field == self.name);
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.clone());
        }
        if invalid {
            described.push("error".to_owned());
        }
        let described = (!described.is_empty()).then(|| described.join(" "));
        let value = values.get(self.name);
        html! {
            div.field.invalid[invalid] {
                label for=(id) {
                    (self.label)
                    @if !self.required { " " span.muted { "(optional)" } }
                }
                @if let Some(h) = self.hint { p.hint id=(hint_id) { (h) } }
                @match self.kind {
                    Kind::TextArea => textarea id=(id) name=(self.name) rows="5"
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required] { (value) },
                    Kind::Password | Kind::NewPassword => input id=(id) name=(self.name) type="password"
                        autocomplete=(if self.kind == Kind::Password { "current-password" } else { "new-password" })
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid.then_some("true")]
                        required[self.required];
                    Kind::Number => input id=(id) name=(self.name) type="number" inputmode="numeric"
                        value=(value) aria-describedby=[described.as_deref()]
                        aria-invalid=[invalid.then_some("true")] required[self.required];
                    Kind::Text => input id=(id) name=(self.name) type="text" value=(value) list=[self.list]
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

/// A one-button form (a command without input), e.g. "Complete the job".
pub(crate) fn button_form(
    id: &str,
    action: &str,
    button: &str,
    csrf: &str,
    extra: Markup,
) -> Markup {
    html! {
        form.inline id=(id) method="post" action=(action) {
            (hidden(csrf, Some(&Fields::default())))
            (extra)
            button type="submit" { (button) }
        }
    }
}
