//! [`Page`]: what every page handler starts from (who is calling, the CSRF token, the flash
//! left by the last command) and how it answers (a page, an error page, a redirect).

use super::layout::{self, Chrome};
use super::security::{
    self, COMMAND_ID_FIELD, CSRF_COOKIE, CSRF_FIELD, FLASH_COOKIE, Flash, same_token,
};
use crate::AppState;
use crate::error::{Problem, status_of};
use crate::extract::Caller;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::Markup;
use std::convert::Infallible;
use tally_ports::accounts::Principal;
use tally_ports::{Actor, Ctx, Error};
use uuid::Uuid;

/// The request as the pages see it.
pub(crate) struct Page {
    /// The service.
    pub(crate) state: AppState,
    /// Who is calling (anonymous when not signed in, or signed in with an expired session).
    pub(crate) actor: Actor,
    /// The signed-in account.
    pub(crate) principal: Option<Principal>,
    /// The session token, if signed in with a session cookie.
    pub(crate) session: Option<String>,
    /// This request's path and query (where to come back to after logging in).
    pub(crate) here: String,
    csrf: String,
    /// How many of the member's notifications are unread (0 for anyone else), for the header.
    unread: u64,
    new_csrf_cookie: bool,
    flash: Option<Flash>,
    had_flash: bool,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // A credential that does not resolve leaves a browser simply signed out.
        let caller = Caller::from_request_parts(parts, state).await.ok();
        let (actor, principal, session) = match caller {
            Some(c) => (c.actor, c.principal, c.session),
            None => (Actor::Anonymous, None, None),
        };
        let jar = security::cookies(&parts.headers);
        let get = |name: &str| {
            jar.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let flash_cookie = get(FLASH_COOKIE);
        let (csrf, new_csrf_cookie) = match (&session, get(CSRF_COOKIE)) {
            (Some(s), _) => (security::session_csrf(s), false),
            (None, Some(c)) => (c, false),
            (None, None) => (security::new_anonymous_token(), true),
        };
        // The header's count of unread notifications: a storage failure leaves it out
        // rather than failing the page.
        let unread = match &actor {
            Actor::Member(_) => state
                .tally
                .unread_notifications(&Ctx::new(actor.clone()))
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "counting unread notifications");
                    0
                }),
            _ => 0,
        };
        Ok(Self {
            state: state.clone(),
            unread,
            actor,
            principal,
            session,
            here: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), ToString::to_string),
            csrf,
            new_csrf_cookie,
            had_flash: flash_cookie.is_some(),
            flash: flash_cookie.as_deref().and_then(Flash::decode),
        })
    }
}

impl Page {
    /// The context of a query.
    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::new(self.actor.clone())
    }

    /// The same request as seen by the session just opened (to answer a log-in with a page
    /// for the new session, whose forms carry its CSRF token).
    pub(crate) fn signed_in_as(&self, s: &tally_ports::identity::NewSession) -> Self {
        Self {
            state: self.state.clone(),
            actor: s.actor.clone(),
            principal: Some(Principal {
                name: s.name.clone(),
                role: s.role,
                scope: tally_ports::accounts::Scope::default(),
            }),
            session: Some(s.token.clone()),
            here: self.here.clone(),
            unread: 0,
            csrf: security::session_csrf(&s.token),
            new_csrf_cookie: false,
            flash: None,
            had_flash: self.had_flash,
        }
    }

    /// The CSRF token the page's forms carry.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether the caller is signed in.
    pub(crate) fn signed_in(&self) -> bool {
        !matches!(self.actor, Actor::Anonymous)
    }

    /// The context of a command posted with `fields`: refuses a missing or wrong CSRF token
    /// (before anything else happens, so nothing is recorded), and takes the form's command id.
    ///
    /// # Errors
    /// The error page to answer with.
    pub(crate) fn command(&self, fields: &super::forms::Fields) -> Result<Ctx, Box<Response>> {
        if !same_token(fields.get(CSRF_FIELD), &self.csrf) {
            let p = Problem::new(
                403,
                "csrf_failed",
                "this form is out of date or did not come from Tally; reload the page and send it again",
            );
            return Err(Box::new(self.problem_page(&p, "Form refused", None, false)));
        }
        let command_id = match fields.get(COMMAND_ID_FIELD) {
            "" => None,
            s => Some(Uuid::parse_str(s.trim()).map_err(|_| {
                let e = Error::invalid(
                    COMMAND_ID_FIELD,
                    "invalid_command_id",
                    "the form's command id is not a UUID; reload the page",
                );
                Box::new(self.error_page(e, "Form refused", None))
            })?),
        };
        Ok(Ctx {
            actor: self.actor.clone(),
            command_id,
            correlation_id: None,
        })
    }

    fn chrome(&self, title: &str) -> Chrome<'_> {
        Chrome {
            title: title.to_owned(),
            actor: &self.actor,
            csrf: &self.csrf,
            flash: self.flash.as_ref(),
            here: &self.here,
            unread: self.unread,
        }
    }

    /// A page with `status`: the layout around `body`.
    pub(crate) fn render(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        let doc = layout::document(&self.chrome(title), body);
        let mut res = (status, doc).into_response();
        self.finish(res.headers_mut());
        res
    }

    /// A page with status 200.
    pub(crate) fn ok(&self, title: &str, body: Markup) -> Response {
        self.render(StatusCode::OK, title, body)
    }

    /// A page for an error: its message and code, and `form` again when one was sent (with
    /// what the user typed). Without a form, a caller who is not signed in gets the log-in form.
    pub(crate) fn error_page(&self, e: Error, title: &str, form: Option<Markup>) -> Response {
        if let Error::Infrastructure(message) = &e {
            tracing::error!(error = %message, "internal error");
        }
        let p = Problem::of(&e);
        let signed_out = status_of(&e) == StatusCode::UNAUTHORIZED;
        self.problem_page(&p, title, form, signed_out)
    }

    /// A page for a problem (see [`Page::error_page`]); `log_in` offers the log-in form when
    /// there is no other form.
    pub(crate) fn problem_page(
        &self,
        p: &Problem,
        title: &str,
        form: Option<Markup>,
        log_in: bool,
    ) -> Response {
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let form = match form {
            Some(f) => Some(f),
            None if log_in => Some(super::session::login_form(self, "", Some(&self.here), None)),
            None => None,
        };
        let body = layout::error_body(title, p, form);
        self.render(status, title, body)
    }

    /// After a command: 303 See Other to `to`, which shows `flash` once.
    pub(crate) fn see_other(&self, to: &str, flash: &Flash) -> Response {
        let mut res = (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, header_value(to))],
        )
            .into_response();
        let secure = self.state.config.secure_cookies;
        let c = security::cookie(FLASH_COOKIE, &flash.encode(), 60, "Lax", secure);
        res.headers_mut()
            .append(header::SET_COOKIE, header_value(&c));
        self.security_headers(res.headers_mut());
        res
    }

    /// The headers every page carries; the cookies it sets or clears.
    fn finish(&self, h: &mut HeaderMap) {
        let secure = self.state.config.secure_cookies;
        if self.new_csrf_cookie {
            // Strict: the token must never travel with a request another site starts.
            let c = security::cookie(CSRF_COOKIE, &self.csrf, 12 * 3600, "Strict", secure);
            h.append(header::SET_COOKIE, header_value(&c));
        }
        if self.had_flash {
            let c = security::cookie(FLASH_COOKIE, "", 0, "Lax", secure);
            h.append(header::SET_COOKIE, header_value(&c));
        }
        self.security_headers(h);
    }

    fn security_headers(&self, h: &mut HeaderMap) {
        // No script at all, no framing, forms post only here.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
}

pub(crate) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("/"))
}

/// A path segment, percent-encoded so that a key can never escape its place in a URL.
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("alice"), "alice");
        assert_eq!(seg("../x y"), "..%2Fx%20y");
    }
}
