//! What was typed survives a refused form. A command form whose CSRF check fails (it was
//! shown before the person logged in again) is shown again with what was typed and a fresh
//! token; one whose session is gone shows what was typed and a log-in form that carries it
//! (as hidden `draft:` fields) and returns to the form, filled in, once logged in. Passwords
//! are never carried nor shown again.

use super::commands;
use super::forms::{Fields, label_of};
use super::page::Page;
use super::security::{CSRF_FIELD, same_token};
use crate::error::Problem;
use axum::response::Response;
use maud::{Markup, html};
use tally_domain::{CommandKind, EntityKind, Target};

/// The prefix of the hidden log-in fields that carry a refused form's fields.
pub(crate) const DRAFT_PREFIX: &str = "draft:";
/// The log-in field naming where the carried form posts (a path on this site).
pub(crate) const RETURN_TO_FIELD: &str = "return_to";

/// A refused form's fields, to carry through a log-in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    /// Where the form posts.
    pub(crate) return_to: String,
    /// What was typed (the command id included), never a password nor the CSRF token.
    pub(crate) fields: Vec<(String, String)>,
}

/// Whether a field is worth carrying.
fn carried(name: &str) -> bool {
    name != CSRF_FIELD
        && name != super::confirm::CONFIRM_FIELD
        && !name.contains("password")
        && !name.starts_with(DRAFT_PREFIX)
        && name != RETURN_TO_FIELD
        && name != "next"
}

impl Draft {
    /// The draft of form fields `f` that posted to `return_to`.
    pub(crate) fn of(return_to: &str, f: &Fields) -> Self {
        Self {
            return_to: return_to.to_owned(),
            fields: f
                .iter()
                .filter(|(k, _)| carried(k))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The draft a log-in form carried, if any (its `return_to` a path on this site).
    pub(crate) fn carried_by(f: &Fields) -> Option<Self> {
        let return_to = f.get(RETURN_TO_FIELD);
        if !super::session::is_local(return_to) {
            return None;
        }
        let fields = f
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(DRAFT_PREFIX)?.to_owned(), v.to_owned())))
            .filter(|(k, _)| carried(k))
            .collect();
        Some(Self {
            return_to: return_to.to_owned(),
            fields,
        })
    }

    /// The fields, as a form's.
    pub(crate) fn values(&self) -> Fields {
        Fields::from_pairs(self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The hidden fields of a log-in form that carry it.
    pub(crate) fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name=(RETURN_TO_FIELD) value=(self.return_to);
            @for (k, v) in &self.fields {
                input type="hidden" name=(format!("{DRAFT_PREFIX}{k}")) value=(v);
            }
        }
    }
}

/// Whether the form `f` passes the CSRF check of `p`.
pub(crate) fn csrf_ok(p: &Page, f: &Fields) -> bool {
    same_token(f.get(CSRF_FIELD), p.csrf())
}

/// What was typed into the fields of `kind`, for people to see that it is kept.
fn typed(kind: CommandKind, f: &Fields) -> Markup {
    let shown: Vec<_> = tally_api::body::body_fields(kind)
        .filter(|s| !f.get(s.name).trim().is_empty())
        .collect();
    html! {
        @if !shown.is_empty() {
            section.card #kept aria-labelledby="kept-title" {
                h2 #kept-title { "What you typed (kept)" }
                dl.kept {
                    @for s in shown {
                        dt { (label_of(s.name)) }
                        dd data-field=(s.name) { (f.get(s.name)) }
                    }
                }
            }
        }
    }
}

/// The answer to a command form of `kind` (posted to `action`) that did not pass the CSRF
/// check, or came with no session: `form` again when signed in; else the log-in form that
/// carries the fields back. Nothing is recorded either way.
pub(crate) fn refused(
    p: &Page,
    kind: CommandKind,
    action: &str,
    f: &Fields,
    form: Markup,
) -> Response {
    if p.signed_in() {
        let problem = Problem::new(
            403,
            "csrf_failed",
            "this form was out of date (it was shown before you last logged in, or did not come from Tally), so nothing was done; what you typed is below: check it and send it again",
        );
        return p.problem_page(&problem, kind.label(), Some(form), false);
    }
    let problem = Problem::new(
        401,
        "session_ended",
        "you are not logged in (your session may have ended), so nothing was done; log in and your form comes back as you typed it, ready to send",
    );
    let draft = Draft::of(action, f);
    let login = super::session::login_form_with(p, "", None, None, Some(&draft));
    let body = html! { (login) (typed(kind, f)) };
    p.problem_page(&problem, kind.label(), Some(body), false)
}

/// After a log-in, the form that could not be sent before it (`d`), filled in as it was, for
/// the session just opened; `None` when the draft is no command's form.
pub(crate) async fn resume(p: &Page, d: &Draft) -> Option<Response> {
    let (kind, key) = command_at(&d.return_to)?;
    let note = html! {
        div.notice #notice role="status" {
            p data-text="note" {
                "You are logged in as " strong { (super::layout::who(&p.actor)) } ". "
                "What you typed is below, as you left it: check it and send it."
            }
        }
    };
    Some(match commands::above(p, kind, &key).await {
        Ok(m) => p.ok(
            kind.label(),
            commands::body(p, kind, &key, &d.values(), html! { (note) (m) }),
        ),
        Err(res) => *res,
    })
}

/// The command whose form posts to `path`, and its entity's key.
fn command_at(path: &str) -> Option<(CommandKind, String)> {
    CommandKind::ALL.iter().find_map(|&kind| {
        let key = match kind.target() {
            Target::New(EntityKind::Job) => String::new(),
            Target::New(EntityKind::Member) => return None,
            Target::On(k) => {
                let prefix = match k {
                    EntityKind::Job => "/jobs/",
                    EntityKind::Member => "/members/",
                };
                let rest = path.strip_prefix(prefix)?;
                rest.strip_suffix(&format!("/{}", tally_api::paths::slug(kind)))?
                    .to_owned()
            }
        };
        // Keys need no escaping; one that did would not come back the same.
        (commands::posts_to(kind, &key) == path).then_some((kind, key))
    })
}
