//! Admin pages: the members, registering a member (with an account to log in with), granting
//! credits, and giving an existing member (or another admin) an account.

use super::forms::{self, Field, Fields, Kind};
use super::layout::credits;
use super::page::{Page, seg};
use super::security::Flash;
use crate::AppState;
use crate::auth;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::accounts::{Account, Role};
use tally_ports::{
    Actor, Ctx, Error, GrantCreditsInput, MemberSummary, Receipt, RegisterMemberInput,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/members", get(members).post(register))
        .route("/admin/members/new", get(register_page))
        .route("/admin/grants/new", get(grant_page))
        .route("/admin/grants", post(grant))
        .route("/admin/accounts/new", get(account_page))
        .route("/admin/accounts", post(create_account))
}

/// Who may see the admin forms. The port refuses the commands anyway; this only spares
/// members a form they cannot use, with the port's own codes.
fn admins_only(p: &Page) -> Result<(), Error> {
    match p.actor {
        Actor::Admin(_) | Actor::System(_) => Ok(()),
        Actor::Anonymous => Err(Error::unauthorized()),
        Actor::Member(_) => Err(Error::forbidden("admin_only", "only an admin may do this")),
    }
}

fn member_rows(list: &[MemberSummary]) -> Markup {
    html! {
        @for m in list {
            tr.member data-handle=(m.handle) data-balance=(m.balance) data-escrowed=(m.escrowed) {
                td { a href=(format!("/members/{}/wallet", seg(&m.handle))) { "@" (m.handle) } }
                td data-text="display_name" { (m.display_name) }
                td.num { (credits(m.balance)) }
                td.num { (credits(m.escrowed)) }
                td {
                    a href=(format!("/admin/grants/new?handle={}", seg(&m.handle))) { "Grant" } " · "
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
        (Field::new("handle", "Handle", Kind::Text)
            .hint("3 to 32 characters: lowercase letters, digits, - and _, starting with a letter.")
            .render(values, e))
        (Field::new("display_name", "Name", Kind::Text).render(values, e))
        (Field::new("password", "Initial password", Kind::NewPassword)
            .hint("8 to 256 characters. Tell the member; they log in with their handle and it.")
            .render(values, e))
    };
    forms::form("register-form", "/admin/members", "Register", inner)
}

async fn register_page(p: Page) -> Response {
    if let Err(e) = admins_only(&p) {
        return p.error_page(e, "Register a member", None);
    }
    let body = html! { h1 { "Register a member" } (register_form(&p, &Fields::default(), None)) };
    p.ok("Register a member", body)
}

/// Registers the member, then creates their account. Repeating the same command (same
/// idempotency key) answers with the first receipt and leaves the account as it is.
async fn register_with_account(p: &Page, ctx: &Ctx, f: &Fields) -> Result<Receipt, Error> {
    let s = &p.state;
    let (handle, password) = (f.get("handle"), f.get("password"));
    auth::check_password(password)?;
    let existing = s.accounts.account(handle).await?;
    if existing.as_ref().is_some_and(|a| a.role == Role::Admin) {
        return Err(Error::Rejected {
            code: "handle_taken".into(),
            message: format!("the handle '{handle}' is already taken"),
        });
    }
    let input = RegisterMemberInput {
        handle: handle.to_owned(),
        display_name: f.get("display_name").to_owned(),
    };
    let receipt = s.tally.register_member(ctx, input).await?;
    if existing.is_none() {
        let hash = auth::hash_password(password.to_owned(), s.config.password_cost).await?;
        let account = Account {
            name: handle.to_owned(),
            role: Role::Member,
            password_hash: hash,
            created_at: Utc::now(),
        };
        s.accounts.create_account(account).await?;
    }
    Ok(receipt)
}

async fn register(p: Page, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    match register_with_account(&p, &ctx, &f).await {
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

fn grant_form(p: &Page, values: &Fields, e: Option<&Error>, list: &[MemberSummary]) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        (Field::new("handle", "Member's handle", Kind::Text).list("member-handles").render(values, e))
        datalist #member-handles { @for m in list { option value=(m.handle) { (m.display_name) } } }
        (Field::new("amount", "Credits", Kind::Number).hint("1 to 1,000,000.").render(values, e))
        (Field::new("reason", "Reason", Kind::Text).optional().render(values, e))
    };
    forms::form("grant-form", "/admin/grants", "Grant", inner)
}

#[derive(Debug, Deserialize)]
struct Handle {
    #[serde(default)]
    handle: String,
}

async fn grant_page(p: Page, Query(q): Query<Handle>) -> Response {
    // The members' list fills the handle suggestions; asking for it is also the port's
    // check that the caller is an admin.
    match p.state.tally.members(&p.ctx()).await {
        Ok(list) => {
            let values = Fields::from_pairs([("handle", q.handle.as_str())]);
            let body = html! { h1 { "Grant credits" } (grant_form(&p, &values, None, &list)) };
            p.ok("Grant credits", body)
        }
        Err(e) => p.error_page(e, "Grant credits", None),
    }
}

async fn grant(p: Page, f: Fields) -> Response {
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    let attempt = async {
        let input = GrantCreditsInput {
            handle: f.get("handle").to_owned(),
            amount: f.int("amount", "invalid_amount", "an amount")?,
            reason: f.get("reason").to_owned(),
        };
        p.state.tally.grant_credits(&ctx, input).await
    };
    match attempt.await {
        Ok(r) => {
            let to = format!("/members/{}/wallet", seg(f.get("handle")));
            p.see_other(&to, &Flash::receipt(r))
        }
        Err(e) => {
            let form = grant_form(&p, &f, Some(&e), &[]);
            p.error_page(e, "Grant credits", Some(form))
        }
    }
}

fn account_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let role = values.get("role");
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        (Field::new("name", "Member's handle, or a new admin's name", Kind::Text).render(values, e))
        (Field::new("password", "Password", Kind::NewPassword).hint("8 to 256 characters.").render(values, e))
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

/// Accounts are not a use case of the driving port: like the JSON API, this page checks the
/// role itself, and asks the port whether a member exists.
async fn new_account(p: &Page, f: &Fields) -> Result<String, Error> {
    admins_only(p)?;
    let role = Role::parse(match f.get("role") {
        "" => "member",
        r => r,
    })?;
    let (name, password) = (f.get("name").trim(), f.get("password"));
    auth::check_password(password)?;
    if role == Role::Member {
        p.state.tally.wallet(&p.ctx(), name).await?;
    } else if !(1..=64).contains(&name.chars().count()) || name.contains(char::is_control) {
        return Err(Error::invalid(
            "name",
            "invalid_name",
            "an admin's name has 1 to 64 characters",
        ));
    }
    let hash = auth::hash_password(password.to_owned(), p.state.config.password_cost).await?;
    let account = Account {
        name: name.to_owned(),
        role,
        password_hash: hash,
        created_at: Utc::now(),
    };
    p.state.accounts.create_account(account).await?;
    Ok(name.to_owned())
}

async fn create_account(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    match new_account(&p, &f).await {
        Ok(name) => p.see_other(
            "/admin/members",
            &Flash::note(format!("{name} has an account now and can log in.")),
        ),
        Err(e) => {
            let form = account_form(&p, &f, Some(&e));
            p.error_page(e, "New account", Some(form))
        }
    }
}
