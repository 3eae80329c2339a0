//! Log in, log out, sign up.

use super::forms::{self, Field, Fields, Kind};
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use crate::auth::{self, SESSION_COOKIE};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use tally_ports::accounts::{Account, Role, Session};
use tally_ports::{Ctx, Error, Receipt, RegisterMemberInput};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
        .route("/signup", get(signup_page).post(sign_up))
}

/// Only a path on this site may be where a log-in leads (never `//elsewhere`).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}

/// The log-in form.
pub(crate) fn login_form(p: &Page, name: &str, next: Option<&str>, e: Option<&Error>) -> Markup {
    let values = Fields::from_pairs([("name", name)]);
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        input type="hidden" name="next" value=(safe_next(next.unwrap_or("/")));
        (Field::new("name", "Handle or admin name", Kind::Text).render(&values, e))
        (Field::new("password", "Password", Kind::Password).render(&values, e))
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

/// The session cookie (the same one the JSON API sets).
fn session_cookie(s: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if s.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let c = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Opens a session for an account and answers with a redirect that sets its cookie.
async fn sign_in_and_go(
    p: &Page,
    account: &str,
    to: &str,
    flash: &Flash,
) -> Result<Response, Error> {
    let s = &p.state;
    let token = auth::new_secret(auth::SESSION_PREFIX)?;
    let now = Utc::now();
    s.accounts
        .create_session(Session {
            token_hash: auth::secret_hash(&token),
            account: account.to_owned(),
            created_at: now,
            expires_at: now + s.config.session_ttl,
        })
        .await?;
    let mut res = p.see_other(to, flash);
    let c = session_cookie(s, &token, s.config.session_ttl.num_seconds());
    res.headers_mut().append(header::SET_COOKIE, c);
    Ok(res)
}

async fn log_in(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let (name, next) = (f.get("name").trim(), safe_next(f.get("next")));
    let account = match p.state.accounts.account(name).await {
        Ok(a) => a,
        Err(e) => return p.error_page(e, "Log in", None),
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let ok = auth::verify_password(f.get("password").to_owned(), hash).await;
    let refused = Error::Unauthorized {
        message: "wrong name or password".into(),
    };
    let Some(a) = account.filter(|_| ok) else {
        return p.error_page(
            refused.clone(),
            "Log in",
            Some(login_form(&p, name, Some(next), Some(&refused))),
        );
    };
    let note = Flash::note(format!("Welcome, {}.", a.name));
    sign_in_and_go(&p, &a.name, next, &note)
        .await
        .unwrap_or_else(|e| p.error_page(e, "Log in", None))
}

async fn log_out(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    if let Some(token) = &p.session
        && let Err(e) = p
            .state
            .accounts
            .delete_session(&auth::secret_hash(token))
            .await
    {
        return p.error_page(e, "Log out", None);
    }
    let mut res = p.see_other("/", &Flash::note("You are signed out."));
    res.headers_mut()
        .append(header::SET_COOKIE, session_cookie(&p.state, "", 0));
    res
}

fn signup_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("handle", "Handle", Kind::Text)
            .hint("3 to 32 characters: lowercase letters, digits, - and _, starting with a letter.")
            .render(values, e))
        (Field::new("display_name", "Your name", Kind::Text).hint("As others will see it.").render(values, e))
        (Field::new("password", "Password", Kind::NewPassword).hint("8 to 256 characters.").render(values, e))
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

/// Registers the member and creates their account. A repeated sign-up (a double submit with
/// the same idempotency key and password) gets the first one's receipt, and is signed in.
async fn register_with_account(p: &Page, ctx: &Ctx, f: &Fields) -> Result<Receipt, Error> {
    let s = &p.state;
    let (handle, password) = (f.get("handle"), f.get("password"));
    auth::check_password(password)?;
    let input = RegisterMemberInput {
        handle: handle.to_owned(),
        display_name: f.get("display_name").to_owned(),
    };
    let taken = || Error::Rejected {
        code: "handle_taken".into(),
        message: format!("the handle '{handle}' is already taken"),
    };
    match s.accounts.account(handle).await? {
        Some(a) if a.role == Role::Member => {
            if !auth::verify_password(password.to_owned(), Some(a.password_hash)).await {
                return Err(taken());
            }
            // Only the same command (by its id) answers with a receipt: a replay.
            s.tally.register_member(ctx, input).await
        }
        Some(_) => Err(taken()),
        None => {
            let receipt = s.tally.register_member(ctx, input).await?;
            let hash = auth::hash_password(password.to_owned(), s.config.password_cost).await?;
            s.accounts
                .create_account(Account {
                    name: handle.to_owned(),
                    role: Role::Member,
                    password_hash: hash,
                    created_at: Utc::now(),
                })
                .await?;
            Ok(receipt)
        }
    }
}

async fn sign_up(p: Page, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let failed = |e: Error| {
        let form = signup_form(&p, &f, Some(&e));
        p.error_page(e, "Sign up", Some(form))
    };
    let receipt = match register_with_account(&p, &ctx, &f).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let handle = f.get("handle");
    let to = format!("/members/{}/wallet", seg(handle));
    match sign_in_and_go(&p, handle, &to, &Flash::receipt(receipt)).await {
        Ok(res) => res,
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
