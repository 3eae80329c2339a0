//! Who the browser is signed in as: switching actors by swapping session cookies (as a
//! person with several browser profiles would), logging in the first time, and giving a
//! member an account through the admin's page when they have none yet.

use super::driver::{BrowserTally, browser_error, enc, new_password};
use super::read::error_of;
use std::collections::HashMap;
use tally_ports::{Actor, Result};

/// Who the browser is signed in as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Who {
    Visitor,
    Admin,
    Member(String),
}

impl Who {
    pub(crate) fn of(a: &Actor) -> Self {
        match a {
            Actor::Anonymous => Self::Visitor,
            // Admins and system processes act through the one admin account.
            Actor::Admin(_) | Actor::System(_) => Self::Admin,
            Actor::Member(h) => Self::Member(h.as_str().to_owned()),
        }
    }

    /// How the pages name this actor (`data-actor` on `<body>`).
    pub(crate) fn page_actor(&self) -> String {
        match self {
            Self::Visitor => "anonymous".into(),
            Self::Admin => "admin:admin".into(),
            Self::Member(h) => format!("member:{h}"),
        }
    }
}

/// What the driver remembers between calls.
#[derive(Default)]
pub(crate) struct Memory {
    /// Who the browser is signed in as now (`None`: not known yet).
    pub(crate) current: Option<Who>,
    /// Each actor's session cookie, once they logged in: switching actors swaps cookies, as
    /// a person with several browser profiles would.
    pub(crate) sessions: HashMap<Who, fantoccini::cookies::Cookie<'static>>,
    /// Members' passwords, as set when their accounts were made.
    pub(crate) passwords: HashMap<String, String>,
}

impl BrowserTally {
    /// Signs the browser in as `actor`, giving a member an account first if they have none.
    pub(crate) async fn act_as(&self, m: &mut Memory, actor: &Actor) -> Result<()> {
        let who = Who::of(actor);
        if m.current.as_ref() == Some(&who) {
            return Ok(());
        }
        if let Who::Member(h) = &who
            && !m.sessions.contains_key(&who)
            && !m.passwords.contains_key(h)
        {
            self.provision(m, h).await?;
        }
        self.switch(m, who).await
    }

    /// Swaps the session cookie for `who`'s (logging in the first time).
    async fn switch(&self, m: &mut Memory, who: Who) -> Result<()> {
        if m.current.as_ref() == Some(&who) {
            return Ok(());
        }
        // Setting a session cookie replaces the one the browser holds: one round trip.
        if let Some(c) = m.sessions.get(&who) {
            self.client
                .add_cookie(c.clone())
                .await
                .map_err(browser_error)?;
            m.current = Some(who);
            return Ok(());
        }
        self.client
            .delete_cookie(tally_http::extract::SESSION_COOKIE)
            .await
            .map_err(browser_error)?;
        m.current = Some(Who::Visitor);
        if who == Who::Visitor {
            return Ok(());
        }
        let (name, password) = match &who {
            Who::Admin => ("admin".to_owned(), self.admin_password.clone()),
            Who::Member(h) => (h.clone(), m.passwords.get(h).cloned().unwrap_or_default()),
            Who::Visitor => unreachable!("handled above"),
        };
        self.read("/login", "", &[]).await?;
        let fields = [("name", name.as_str()), ("password", password.as_str())];
        let page = self.submit("login-form", &fields, "", &[]).await?;
        if let Some(e) = error_of(&page) {
            return Err(e);
        }
        self.remember_session(m, who).await
    }

    /// Keeps the session cookie the browser now holds as `who`'s.
    pub(crate) async fn remember_session(&self, m: &mut Memory, who: Who) -> Result<()> {
        let cookie = self
            .client
            .get_named_cookie(tally_http::extract::SESSION_COOKIE)
            .await
            .map_err(browser_error)?;
        m.sessions.insert(who.clone(), cookie);
        m.current = Some(who);
        Ok(())
    }

    /// The admin gives a member an account on the accounts page; the port's refusal (no such
    /// member) is the caller's error, as it would be for the member acting.
    async fn provision(&self, m: &mut Memory, handle: &str) -> Result<()> {
        self.switch(m, Who::Admin).await?;
        self.read(
            &format!("/admin/accounts/new?handle={}", enc(handle)),
            "",
            &[],
        )
        .await?;
        let password = new_password();
        let fields = [("name", handle), ("password", password.as_str())];
        let page = self.submit("account-form", &fields, "", &[]).await?;
        if let Some(e) = error_of(&page) {
            return Err(e);
        }
        m.passwords.insert(handle.to_owned(), password);
        Ok(())
    }
}
