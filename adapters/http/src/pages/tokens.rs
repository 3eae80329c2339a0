//! API tokens of the signed-in admin, and service accounts: `feed:read` tokens for peripheral
//! services that follow the history feed. Create (the secret is shown once), list, revoke.

use super::forms::{self, Field, Fields, Kind};
use super::page::Page;
use super::security::Flash;
use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use tally_ports::Error;
use tally_ports::identity::{NewToken, TOKEN_DAYS_MAX, TOKEN_NAME, TokenView};
use uuid::Uuid;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(list).post(create))
        .route("/admin/tokens/{id}/revoke", post(revoke))
}

fn create_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        ({
            let f = Field::rule("name", &TOKEN_NAME);
            let hint = format!("{} E.g. the service that will use it.", f.hint.clone().unwrap_or_default());
            f.hint(&hint)
        }.render(values, e))
        (Field::new("scope", "What it may do", Kind::Select(&["feed:read", "account"]))
            .hint("feed:read: read the history feed and nothing else (a service account). \
                   account: everything you may do, as you.")
            .render(values, e))
        ({
            let mut f = Field::new("expires_in_days", "Expires after (days)", Kind::Number)
                .hint(&format!("1 to {TOKEN_DAYS_MAX}; leave empty for never."));
            f.required = false;
            f.limits = Some((1, i64::try_from(TOKEN_DAYS_MAX).unwrap_or(i64::MAX)));
            f
        }.render(values, e))
    };
    forms::form("token-form", "/admin/tokens", "Create the token", inner)
}

fn token_rows(p: &Page, tokens: &[TokenView]) -> Markup {
    html! {
        @for t in tokens {
            tr.token data-scope=(t.scope) data-id=(t.id) {
                td data-label="Name" { (t.name) }
                td data-label="Scope" { code { (t.scope) } }
                td data-label="Created" { (super::events::date(&t.created_at)) }
                td data-label="Expires" { @match t.expires_at { Some(e) => (super::events::time(&e)), None => "never" } }
                td data-label="Actions" {
                    form method="post" action=(format!("/admin/tokens/{}/revoke", t.id)) {
                        (forms::hidden(p.csrf(), None))
                        button.danger type="submit" aria-label=(format!("Revoke {}", t.name)) { "Revoke" }
                    }
                }
            }
        }
    }
}

async fn page_with(
    p: &Page,
    values: &Fields,
    e: Option<&Error>,
    created: Option<Markup>,
) -> Response {
    let tokens = match p.state.identity.tokens(&p.ctx()).await {
        Ok(t) => t,
        Err(e) => return p.error_page(e, "API tokens", None),
    };
    let body = html! {
        h1 { "API tokens and service accounts" }
        @if let Some(c) = created { (c) }
        p {
            "A peripheral service follows the history at " code { "/api/v1/feed" }
            " with a " code { "feed:read" } " token, sent as " code { "Authorization: Bearer <token>" }
            "; such a token is refused everywhere else."
        }
        div.table-wrap {
            table #tokens {
                caption { "Your tokens (" (tokens.len()) ")" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Scope" } th scope="col" { "Created" }
                    th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if tokens.is_empty() { tr { td colspan="5" { "No tokens yet." } } }
                    (token_rows(p, &tokens))
                }
            }
        }
        h2 { "New token" }
        (create_form(p, values, e))
    };
    p.ok("API tokens", body)
}

async fn list(p: Page) -> Response {
    let values = Fields::from_pairs([("scope", "feed:read")]);
    page_with(&p, &values, None, None).await
}

async fn create(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let expires = f.get("expires_in_days").trim();
    let expires_in_days = match expires {
        "" => None,
        d => match d.parse::<u64>() {
            Ok(d) => Some(d),
            Err(_) => {
                let e = Error::invalid(
                    "expires_in_days",
                    "invalid_expiry",
                    "a token expires in 1 to 3650 days: give a whole number, or nothing",
                );
                let form = create_form(&p, &f, Some(&e));
                return p.error_page(e, "API tokens", Some(form));
            }
        },
    };
    let new = NewToken {
        name: f.get("name").trim().to_owned(),
        expires_in_days,
        scope: Some(f.get("scope").to_owned()).filter(|s| !s.is_empty()),
    };
    match p.state.identity.create_token(&p.ctx(), new).await {
        Ok(t) => {
            let created = html! {
                div.notice role="status" #created-token {
                    p { "Token " strong { (t.details.name) } " (" code { (t.details.scope) } ") is ready. "
                        "Copy its secret now: it is shown this once." }
                    p { code #token-secret { (t.token) } }
                }
            };
            page_with(
                &p,
                &Fields::from_pairs([("scope", "feed:read")]),
                None,
                Some(created),
            )
            .await
        }
        Err(e) => {
            let form = create_form(&p, &f, Some(&e));
            p.error_page(e, "API tokens", Some(form))
        }
    }
}

async fn revoke(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    match p.state.identity.revoke_token(&p.ctx(), id).await {
        Ok(()) => p.see_other(
            "/admin/tokens",
            &Flash::note("The token is revoked: it stops working at once."),
        ),
        Err(e) => p.error_page(e, "API tokens", None),
    }
}
