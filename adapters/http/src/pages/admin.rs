//! Admin pages: the members, registering a member (with an account to log in with), granting
//! credits, and giving an existing member (or another admin) an account.

use super::forms::{self, Field, Fields};
use super::layout::credits;
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tally_domain::{CommandKind, DisplayName, Rejection, Value};
use tally_ports::identity::{ADMIN_NAME, NewAccount};
use tally_ports::{Actor, Error, MemberSummary};

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

fn member_rows(list: &[MemberSummary]) -> Markup {
    html! {
        @for m in list {
            tr.member data-handle=(m.handle) data-balance=(m.balance) data-escrowed=(m.escrowed) {
                td data-label="Handle" { a href=(format!("/members/{}/wallet", seg(&m.handle))) { "@" (m.handle) } }
                td data-label="Name" data-text="display_name" { (m.display_name) }
                td.num data-label="Available" { (credits(m.balance)) }
                td.num data-label="In escrow" { (credits(m.escrowed)) }
                td data-label="Actions" {
                    a href=(super::commands::page(CommandKind::GrantCredits, &m.handle)) { "Grant" } " · "
                    a href=(format!("/members/{}/history", seg(&m.handle))) { "History" }
                }
            }
        }
    }
}

async fn members(p: Page) -> Response {
    let list = match p.state.tally.members(&p.ctx()).await {
        Ok(l) => l,
        Err(e) => return p.error_page(e, "Members", None),
    };
    let body = html! {
        h1 { "Members" }
        p.actions {
            a.button href="/admin/members/new" { "Register a member" } " "
            a href="/admin/accounts/new" { "Give someone an account" }
        }
        div.table-wrap {
            table #members {
                caption { (list.len()) " members, by handle" }
                thead { tr {
                    th scope="col" { "Handle" } th scope="col" { "Name" } th scope="col" { "Available" }
                    th scope="col" { "In escrow" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if list.is_empty() { tr { td colspan="5" { "No members yet." } } }
                    (member_rows(&list))
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
