//! The frame around every page: head, navigation for who is signed in, the receipt of the
//! last command, errors; and small pieces of markup the pages share.
//!
//! Every value a test or a tool reads is in an `id` or a `data-*` attribute, and exact text
//! sits alone in an element marked `data-text="<name>"`, so that nobody scrapes prose.

use super::security::{CSRF_FIELD, Flash};
use crate::error::Problem;
use maud::{DOCTYPE, Markup, html};
use tally_ports::{Actor, Error, EventRef};
use uuid::Uuid;

/// What the frame needs to know.
pub(crate) struct Chrome<'a> {
    pub(crate) title: String,
    pub(crate) actor: &'a Actor,
    pub(crate) csrf: &'a str,
    pub(crate) flash: Option<&'a Flash>,
    /// The page's own address (the settings link comes back to it).
    pub(crate) here: &'a str,
    /// How many of the member's notifications are unread.
    pub(crate) unread: u64,
}

/// A whole document.
pub(crate) fn document(c: &Chrome<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Changes on every render: a driver waits for it to change after a submit.
                meta name="tally-render" content=(Uuid::now_v7());
                title { (c.title) " · Tally" }
                link rel="stylesheet" href=(super::assets::STYLESHEET.as_str());
                link rel="icon" href="data:,";
            }
            body data-actor=(c.actor) {
                a.skip href="#main" { "Skip to content" }
                (nav(c))
                main #main {
                    @if let Some(f) = c.flash { (flash(f)) }
                    (body)
                }
                footer.site {
                    p { "Tally · every credit accounted for. " a href="/api/v1" { "JSON API" } " · " (super::zone::note(c.here)) }
                }
            }
        }
    }
}

fn nav(c: &Chrome<'_>) -> Markup {
    html! {
        header.site {
            nav aria-label="Main" {
                a.brand href="/" { "Tally" }
                ul {
                    li { a href="/jobs" { "Job board" } }
                    @match c.actor {
                        Actor::Member(h) => {
                            li { a href=(format!("/members/{h}/wallet")) { "My wallet" } }
                            li { a href="/my/jobs" { "My jobs" } }
                            li { a href="/my/applications" { "My applications" } }
                            li { a href="/jobs/new" { "Launch a job" } }
                            li { a href=(format!("/members/{h}/history")) { "My history" } }
                            li {
                                a #inbox-link href="/inbox" data-unread=(c.unread)
                                    aria-label=(match c.unread { 0 => "Notifications".to_owned(), n => format!("Notifications, {n} unread") }) {
                                    "Notifications"
                                    @if c.unread > 0 { " " span.count #unread-count data-count=(c.unread) aria-hidden="true" { (c.unread) } }
                                }
                            }
                        }
                        Actor::Admin(_) | Actor::System(_) => {
                            li { a href="/admin/members" { "Members" } }
                            li { a href="/admin/jobs" { "Jobs" } }
                            li { a href="/admin/members/new" { "Register a member" } }
                            li { a href="/admin/grants/new" { "Grant credits" } }
                            li { a href="/admin/feed" { "History feed" } }
                            li { a href="/admin/reports" { "Reports" } }
                            li { a href="/admin/tokens" { "Tokens" } }
                            li { a href="/webhooks" { "Webhooks" } }
                        }
                        Actor::Anonymous => {}
                    }
                }
                div.who {
                    @if matches!(c.actor, Actor::Anonymous) {
                        a href="/login" { "Log in" } " "
                        a.button href="/signup" { "Sign up" }
                    } @else {
                        span #signed-in-as { "Signed in as " strong { (who(c.actor)) } }
                        form.inline #logout-form method="post" action="/logout" {
                            input type="hidden" name=(CSRF_FIELD) value=(c.csrf);
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
            }
        }
    }
}

/// An actor as people read it.
pub(crate) fn who(a: &Actor) -> String {
    match a {
        Actor::Member(h) => format!("@{h}"),
        Actor::Admin(n) if n == tally_ports::identity::ADMIN => "admin".to_owned(),
        Actor::Admin(n) => format!("admin {n}"),
        Actor::System(n) => format!("system process {n}"),
        Actor::Anonymous => "a visitor".to_owned(),
    }
}

/// The receipt of the last command (or a note), shown once after its redirect: what happened
/// in words, and, folded away, the events recorded (each with its `data-*` hooks).
fn flash(f: &Flash) -> Markup {
    html! {
        @if let Some(note) = &f.note {
            div.notice #notice role="status" { p data-text="note" { (note) } }
        }
        @if let Some(r) = &f.receipt {
            section.notice.receipt #receipt role="status" aria-labelledby="receipt-title"
                data-command-id=(r.command_id) data-again=[f.said.as_ref().filter(|s| s.again).map(|_| "true")] {
                h2 #receipt-title {
                    @if f.said.as_ref().is_some_and(|s| s.again) { "Already done" } @else { "Done" }
                }
                @if let Some(s) = &f.said {
                    p data-text="said" {
                        (s.before)
                        @if let Some(l) = &s.link { " " a href=(l.href) { (l.text) } }
                        @if !s.after.starts_with(['.', ':', ',']) { " " }
                        (s.after)
                    }
                } @else if r.events.is_empty() {
                    p { "Nothing new was recorded." }
                } @else {
                    p data-text="said" {
                        (r.events.iter().map(|e| words(&e.event_type)).collect::<Vec<_>>().join(", "))
                        "."
                    }
                }
                @if !r.events.is_empty() {
                    details.recorded {
                        summary { "What was recorded in the history" }
                        ul { @for e in &r.events { (receipt_event(e)) } }
                    }
                }
                @if let Some(n) = f.said.as_ref().and_then(|s| s.next.as_ref()) {
                    p { a.button href=(n.href) { (n.text) } }
                }
            }
        }
    }
}

fn receipt_event(e: &EventRef) -> Markup {
    html! {
        li.receipt-event data-stream=(e.stream) data-version=(e.version)
            data-position=(e.position) data-event-type=(e.event_type) {
            (words(&e.event_type))
        }
    }
}

/// `CreditsEscrowed` -> `Credits escrowed`.
pub(crate) fn words(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The error box: the message for people; the stable code, the field and the whole problem
/// document (as the JSON API would send it) for programs. It takes the focus when the page
/// opens (`autofocus`; `tabindex="-1"` makes it focusable), so that after a failed submit a
/// screen reader reads it and the keyboard starts there, with no script; `field_link` links
/// the field it is about (when the page shows that field).
pub(crate) fn error_box(p: &Problem, field_link: Option<&str>) -> Markup {
    let json = serde_json::to_string(p).unwrap_or_default();
    html! {
        div.error #error role="alert" tabindex="-1" autofocus data-error-code=(p.code)
            data-error-field=[p.field.as_deref()] data-problem=(json) {
            p { strong { (lead(p.status)) " " } span data-text="message" { (p.detail) } }
            @if let Some(f) = field_link {
                p { a href=(format!("#field-{f}")) { "Go to the field: " (super::forms::label_of(f)) } }
            }
            p.muted { "Reason code: " code { (p.code) } }
        }
    }
}

/// How an error's message is introduced, by its status.
fn lead(status: u16) -> &'static str {
    match status {
        400 | 413 | 415 => "Please check what you typed:",
        401 => "Please log in:",
        403 => "Not allowed:",
        404 => "Not found:",
        409 => "Not done:",
        422 => "Not possible:",
        _ => "Sorry,",
    }
}

/// An error page's body: the error, and the form again when there is one.
pub(crate) fn error_body(title: &str, p: &Problem, form: Option<Markup>) -> Markup {
    let field_link = p.field.as_deref().filter(|f| {
        form.as_ref()
            .is_some_and(|m| m.0.contains(&format!("id=\"field-{f}\"")))
    });
    html! {
        h1 { (title) }
        (error_box(p, field_link))
        @if let Some(f) = form { (f) }
    }
}

/// A minimal document for errors found before a page could be set up (an unreadable form).
pub(crate) fn bare_error_document(e: &Error) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="tally-render" content=(Uuid::now_v7());
                title { "Error · Tally" }
                link rel="stylesheet" href=(super::assets::STYLESHEET.as_str());
            }
            body data-actor="anonymous" {
                main #main { (error_body("That did not work", &Problem::of(e), None)) p { a href="/" { "Home" } } }
            }
        }
    }
}

/// Credits, with the unit.
pub(crate) fn credits(n: u64) -> Markup {
    html! { span.credits { (n) " " abbr title="credits" { "cr" } } }
}
