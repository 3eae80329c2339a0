//! Admin pages: the members, registering a member (with an account to log in with), granting
//! credits, and giving an existing member (or another admin) an account.

use super::events;
use super::forms::{self, Field, Fields};
use super::layout::credits;
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use crate::api::members::MembersQuery;
use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use tally_domain::{CommandKind, DisplayName, Rejection, Value};
use tally_ports::identity::{ADMIN_NAME, NewAccount};
use tally_ports::members::{
    DEFAULT_PAGE, MAX_TEXT, MemberCursor, MemberListing, MemberPage, MemberQuery,
};
use tally_ports::{Actor, Error};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/members", get(members).post(register))
        .route("/admin/members/new", get(register_page))
        .route("/admin/grants/new", get(grant_page))
        .route("/admin/accounts/new", get(account_page))
        .route("/admin/accounts", post(create_account))
}

/// Who may see the admin forms. The port refuses the commands anyway; this only spares
/// members a form they cannot use, with the port's own codes.
fn admins_only(p: &Page) -> Result<(), Error> {
    match p.actor {
        Actor::Admin(_) | Actor::System(_) => Ok(()),
        Actor::Anonymous => Err(Rejection::SignInFirst.into()),
        Actor::Member(_) => Err(Rejection::AdminOnly.into()),
    }
}

fn member_rows(list: &[MemberListing]) -> Markup {
    html! {
        @for l in list {
            @let m = &l.member;
            tr.member data-handle=(m.handle) data-balance=(m.balance) data-escrowed=(m.escrowed)
                data-joined-at=(events::exact(&l.joined_at))
                data-last-active-at=(events::exact(&l.last_active_at))
                data-has-account=[l.has_account] {
                td data-label="Handle" { a href=(format!("/members/{}/wallet", seg(&m.handle))) { "@" (m.handle) } }
                td data-label="Name" data-text="display_name" { (m.display_name) }
                td.num data-label="Available" { (credits(m.balance)) }
                td.num data-label="In escrow" { (credits(m.escrowed)) }
                td data-label="Joined" { (events::date(&l.joined_at)) }
                td data-label="Last active" { (events::ago(&l.last_active_at)) }
                td data-label="Account" {
                    @match l.has_account {
                        Some(true) => span.badge.account-yes { "can log in" },
                        Some(false) => a href=(format!("/admin/accounts/new?handle={}", seg(&m.handle))) { "Give an account" },
                        None => span.muted { "unknown" },
                    }
                }
                td data-label="Actions" {
                    a href=(super::commands::page(CommandKind::GrantCredits, &m.handle)) { "Grant" } " · "
                    a href=(format!("/members/{}/history", seg(&m.handle))) { "History" }
                }
            }
        }
    }
}

fn members_url(q: &MemberQuery) -> String {
    crate::api::members::page_url("/admin/members", q)
}

/// `12 members`, `more than 1,000 members`.
fn member_count(page: &MemberPage) -> String {
    let n = super::jobs::thousands(page.total);
    match (page.total_exact, page.total) {
        (true, 1) => "1 member".to_owned(),
        (true, _) => format!("{n} members"),
        (false, _) => format!("more than {n} members"),
    }
}

/// The search form: a GET form, so that a search is an address one can keep or share.
fn member_search(q: &MemberQuery) -> Markup {
    html! {
        form.search #member-search method="get" action="/admin/members" role="search" {
            div.field {
                label for="q" { "Search by handle or name" }
                input #q type="search" name="q" maxlength=(MAX_TEXT) value=(q.text.clone().unwrap_or_default())
                    aria-describedby="q-hint";
                p.hint #q-hint { "Any part of a handle or a name, in any case, e.g. " i { "lid" } "." }
            }
            @if q.limit != 0 && q.limit != DEFAULT_PAGE { input type="hidden" name="limit" value=(q.limit); }
            button type="submit" { "Search" }
            @if q.text.is_some() {
                " " a href=(members_url(&MemberQuery { text: None, ..q.at(MemberCursor::First) })) { "Every member" }
            }
        }
    }
}

async fn members(p: Page, Query(raw): Query<HashMap<String, String>>) -> Response {
    let parsed = MembersQuery::from_text(&raw).and_then(|q| q.parse(DEFAULT_PAGE as u64));
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return p.error_page(e, "Members", None),
    };
    let page = match p.state.tally.find_members(&p.ctx(), q.clone()).await {
        Ok(l) => l,
        Err(e) => return p.error_page(e, "Members", None),
    };
    let body = html! {
        h1 { "Members" }
        p.actions {
            a.button href="/admin/members/new" { "Register a member" } " "
            a href="/admin/accounts/new" { "Give someone an account" }
        }
        (member_search(&q))
        section #member-list aria-labelledby="member-count" data-total=(page.total)
            data-total-exact=(page.total_exact) data-next=[page.next.as_deref()]
            data-prev=[page.prev.as_deref()] {
            p #member-count role="status" {
                strong { (member_count(&page)) }
                @if let Some(t) = &q.text { " match “" (t) "”" }
                @if !page.members.is_empty() { " · by handle" }
                " · " (events::zone_note(&p.here))
            }
            div.table-wrap {
                table #members {
                    caption.visually-hidden { "Members, by handle" }
                    thead { tr {
                        th scope="col" { "Handle" } th scope="col" { "Name" } th scope="col" { "Available" }
                        th scope="col" { "In escrow" } th scope="col" { "Joined" } th scope="col" { "Last active" }
                        th scope="col" { "Account" } th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @if page.members.is_empty() {
                            tr { td colspan="8" { @if q.text.is_some() { "No member matches your search." } @else { "No members yet." } } }
                        }
                        (member_rows(&page.members))
                    }
                }
            }
            @if page.prev.is_some() || page.next.is_some() {
                nav.pager aria-label="Pages" {
                    @if let Some(h) = &page.prev { a rel="prev" href=(members_url(&q.at(MemberCursor::Before(h.clone())))) { "← Previous" } }
                    @if page.prev.is_some() { " " a href=(members_url(&q.at(MemberCursor::First))) { "First" } }
                    @if let Some(h) = &page.next { " " a rel="next" href=(members_url(&q.at(MemberCursor::After(h.clone())))) { "Next →" } }
                }
            }
        }
    };
    p.ok("Members", body)
}

fn register_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::rule("handle", &tally_domain::Handle::RULE).render(values, e))
        (Field::rule("display_name", &DisplayName::RULE).labelled("Name").render(values, e))
        ({
            let f = Field::password("password", "Initial password", true);
            let hint = format!("{} Tell the member; they log in with their handle and it.", f.hint.clone().unwrap_or_default());
            f.hint(&hint)
        }.render(values, e))
    };
    forms::form(
        &super::commands::form_id(CommandKind::RegisterMember),
        "/admin/members",
        "Register",
        inner,
    )
}

async fn register_page(p: Page) -> Response {
    if let Err(e) = admins_only(&p) {
        return p.error_page(e, "Register a member", None);
    }
    let body = html! { h1 { "Register a member" } (register_form(&p, &Fields::default(), None)) };
    p.ok("Register a member", body)
}

async fn register(p: Page, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    match p
        .state
        .identity
        .register_with_account(&ctx, super::session::sign_up_of(&f))
        .await
    {
        Ok(r) => {
            let to = format!("/members/{}/wallet", seg(f.get("handle")));
            p.see_other(&to, &Flash::receipt(r))
        }
        Err(e) => {
            let form = register_form(&p, &f, Some(&e));
            p.error_page(e, "Register a member", Some(form))
        }
    }
}

#[derive(Debug, Deserialize)]
struct Handle {
    #[serde(default)]
    handle: String,
}

/// Granting credits: the member's own grant page; without a member yet, a form to pick one.
async fn grant_page(p: Page, Query(q): Query<Handle>) -> Response {
    let handle = q.handle.trim();
    if !handle.is_empty() {
        return Redirect::to(&super::commands::page(CommandKind::GrantCredits, handle))
            .into_response();
    }
    // The members' list fills the handle suggestions; asking for it is also the port's
    // check that the caller is an admin.
    match p.state.tally.members(&p.ctx()).await {
        Ok(list) => {
            let body = html! {
                h1 { "Grant credits" }
                form #pick-member method="get" action="/admin/grants/new" {
                    (Field::rule("handle", &tally_domain::Handle::RULE).labelled("Member's handle").list("member-handles").render(&Fields::default(), None))
                    datalist #member-handles { @for m in &list { option value=(m.handle) { (m.display_name) } } }
                    div.actions { button type="submit" { "Next" } }
                }
            };
            p.ok("Grant credits", body)
        }
        Err(e) => p.error_page(e, "Grant credits", None),
    }
}

fn account_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let role = values.get("role");
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        (Field::rule("name", &ADMIN_NAME).labelled("Member's handle, or a new admin's name").render(values, e))
        (Field::password("password", "Password", true).render(values, e))
        div.field {
            label for="field-role" { "Role" }
            select #field-role name="role" {
                option value="member" selected[role != "admin"] { "Member" }
                option value="admin" selected[role == "admin"] { "Admin" }
            }
        }
    };
    forms::form(
        "account-form",
        "/admin/accounts",
        "Create the account",
        inner,
    )
}

async fn account_page(p: Page, Query(q): Query<Handle>) -> Response {
    if let Err(e) = admins_only(&p) {
        return p.error_page(e, "New account", None);
    }
    let values = Fields::from_pairs([("name", q.handle.as_str())]);
    let body = html! {
        h1 { "Give someone an account" }
        p { "A registered member without an account cannot log in. Admins need no membership." }
        (account_form(&p, &values, None))
    };
    p.ok("New account", body)
}

async fn create_account(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let account = NewAccount {
        name: f.get("name").trim().to_owned(),
        password: f.get("password").to_owned(),
        role: Some(match f.get("role") {
            "" => "member".to_owned(),
            r => r.to_owned(),
        }),
    };
    match p.state.identity.create_account(&p.ctx(), account).await {
        Ok(a) => p.see_other(
            "/admin/members",
            &Flash::note(format!("{} has an account now and can log in.", a.name)),
        ),
        Err(e) => {
            let form = account_form(&p, &f, Some(&e));
            p.error_page(e, "New account", Some(form))
        }
    }
}
