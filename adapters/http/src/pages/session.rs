//! Log in, log out, sign up.

use super::drafts::Draft;
use super::forms::{self, Field, Fields, Kind};
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use crate::extract::session_cookie;
use axum::Router;
use axum::http::header;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use tally_domain::{DisplayName, Handle, Rule, Shape, Value};
use tally_ports::Error;
use tally_ports::identity::{ADMIN_NAME, NewSession, SignUp};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
        .route("/signup", get(signup_page).post(sign_up))
}

/// Whether `path` is a path on this site (never `//elsewhere`, `https://elsewhere`, `/\\x`).
pub(crate) fn is_local(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control())
}

/// Only a path on this site may be where a log-in leads.
fn safe_next(next: &str) -> &str {
    if is_local(next) { next } else { "/" }
}

/// The name one logs in with: a member's handle or an admin's name, as long as the longer.
fn login_name<'a>() -> Field<'a> {
    let longest = |r: &Rule| match r.shape {
        Shape::Text { max, .. } | Shape::Pattern { max, .. } => max,
        _ => 0,
    };
    let max = longest(&Handle::RULE).max(longest(&ADMIN_NAME));
    let mut f = Field::new("name", "Handle or admin name", Kind::Text);
    f.limits = Some((1, i64::try_from(max).unwrap_or(i64::MAX)));
    f
}

/// The log-in form.
pub(crate) fn login_form(p: &Page, name: &str, next: Option<&str>, e: Option<&Error>) -> Markup {
    login_form_with(p, name, next, e, None)
}

/// The log-in form, carrying the fields of a form that could not be sent (see `drafts`).
pub(crate) fn login_form_with(
    p: &Page,
    name: &str,
    next: Option<&str>,
    e: Option<&Error>,
    draft: Option<&Draft>,
) -> Markup {
    let values = Fields::from_pairs([("name", name)]);
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        input type="hidden" name="next" value=(safe_next(next.unwrap_or("/")));
        @if let Some(d) = draft { (d.hidden()) }
        (login_name().render(&values, e))
        (Field::password("password", "Password", false).render(&values, e))
    };
    html! {
        section.card aria-labelledby="login-title" {
            h2 #login-title { "Log in" }
            (forms::form("login-form", "/login", "Log in", inner))
            p { "New here? " a href="/signup" { "Sign up" } }
        }
    }
}

async fn login_page(p: Page, q: axum::extract::Query<Vec<(String, String)>>) -> Response {
    let next =
        q.0.iter()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.as_str());
    let body = html! {
        h1 { "Welcome back" }
        @if let Some(pr) = &p.principal {
            p.notice { "You are signed in as " strong { (pr.name) } ". Logging in again switches accounts." }
        }
        (login_form(&p, "", next, None))
    };
    p.ok("Log in", body)
}

/// How long the session's cookie lasts, in seconds.
fn max_age(session: &NewSession) -> i64 {
    (session.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0)
}

/// Answers with a redirect to `to` that sets the cookie of `session`.
fn signed_in(p: &Page, session: &NewSession, to: &str, flash: &Flash) -> Response {
    let mut res = p.see_other(to, flash);
    let c = session_cookie(
        p.state.config.secure_cookies,
        &session.token,
        max_age(session),
    );
    res.headers_mut().append(header::SET_COOKIE, c);
    res
}

async fn log_in(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let (name, next) = (f.get("name").trim(), safe_next(f.get("next")));
    let draft = Draft::carried_by(&f);
    if let Err(res) = crate::limits::login_attempt(&p.state, name) {
        return *res;
    }
    match p.state.identity.log_in(name, f.get("password")).await {
        Ok(session) => {
            // A form that could not be sent comes back, filled in, for the new session.
            if let Some(d) = &draft
                && let Some(mut res) = super::drafts::resume(&p.signed_in_as(&session), d).await
            {
                res.headers_mut().append(
                    header::SET_COOKIE,
                    session_cookie(
                        p.state.config.secure_cookies,
                        &session.token,
                        max_age(&session),
                    ),
                );
                return res;
            }
            let note = Flash::note(format!("Welcome, {}.", session.name));
            signed_in(&p, &session, next, &note)
        }
        Err(e @ Error::Unauthorized(_)) => {
            let form = login_form_with(&p, name, Some(next), Some(&e), draft.as_ref());
            p.error_page(e, "Log in", Some(form))
        }
        Err(e) => p.error_page(e, "Log in", None),
    }
}

async fn log_out(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    if let Some(token) = &p.session
        && let Err(e) = p.state.identity.log_out(token).await
    {
        return p.error_page(e, "Log out", None);
    }
    let mut res = p.see_other("/", &Flash::note("You are signed out."));
    res.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(p.state.config.secure_cookies, "", 0),
    );
    res
}

fn signup_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        ({
            let f = Field::rule("handle", &Handle::RULE);
            let hint = format!("{} Your handle is public and permanent: it names you in the history for good, even if you ask to be forgotten (your name and what you wrote are then erased, your handle stays).", f.hint.clone().unwrap_or_default());
            f.hint(&hint)
        }.render(values, e))
        (Field::rule("display_name", &DisplayName::RULE).labelled("Your name").render(values, e))
        (Field::password("password", "Password", true).render(values, e))
    };
    forms::form("signup-form", "/signup", "Sign up", inner)
}

async fn signup_page(p: Page) -> Response {
    let body = html! {
        h1 { "Join Tally" }
        p { "Members hold a wallet of credits, launch jobs and apply to other members' jobs." }
        (signup_form(&p, &Fields::default(), None))
    };
    p.ok("Sign up", body)
}

/// What a sign-up form asks for, trimmed as people type.
pub(crate) fn sign_up_of(f: &Fields) -> SignUp {
    SignUp {
        handle: f.get("handle").trim().to_owned(),
        display_name: f.get("display_name").trim().to_owned(),
        password: f.get("password").to_owned(),
    }
}

async fn sign_up(p: Page, f: Fields) -> Response {
    if !super::drafts::csrf_ok(&p, &f) {
        // What was typed comes back (the password field never shows a value).
        let problem = crate::error::Problem::new(
            403,
            "csrf_failed",
            "this form was out of date (or did not come from Tally), so nothing was done; what you typed is below: check it, type your password again and send it",
        );
        let form = signup_form(&p, &f, None);
        return p.problem_page(&problem, "Sign up", Some(form), false);
    }
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let failed = |e: Error| {
        let form = signup_form(&p, &f, Some(&e));
        p.error_page(e, "Sign up", Some(form))
    };
    match p.state.identity.sign_up(&ctx, sign_up_of(&f)).await {
        Ok(done) => {
            let to = format!("/members/{}/wallet", seg(&done.session.name));
            signed_in(&p, &done.session, &to, &Flash::receipt(done.receipt))
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_in_only_leads_to_this_site() {
        assert_eq!(safe_next("/jobs?limit=5"), "/jobs?limit=5");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", ""] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
