//! HTML pages for people, rendered on the server (maud): no JavaScript, no external assets.
//!
//! One module per resource, each with its `router()`. A page handler parses what was sent,
//! calls one port method as the signed-in actor, and renders. Commands are forms that POST
//! (with a CSRF token and an idempotency key) and redirect (303) to a page that shows their
//! receipt once; a refused command shows its form again with the message, the stable code in
//! `data-error-code`, what was typed, and the status the JSON API would use.
//!
//! These routes are not part of the JSON API: they are neither in [`crate::route_list`] nor
//! in the OpenAPI document. [`commands::page`] says where each command's form is.

mod admin;
mod assets;
pub mod commands;
mod confirm;
mod dashboard;
mod drafts;
mod events;
mod feed;
mod forms;
mod history;
mod inbox;
mod jobs;
mod layout;
mod page;
mod receipts;
mod reports;
mod security;
mod session;
mod tokens;
mod wallet;
mod webhooks;
pub(crate) mod zone;

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use page::Page;

/// Every page.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", axum::routing::get(dashboard::show))
        .merge(session::router())
        .merge(wallet::router())
        .merge(jobs::router())
        .merge(commands::router())
        .merge(history::router())
        .merge(admin::router())
        .merge(feed::router())
        .merge(reports::router())
        .merge(tokens::router())
        .merge(inbox::router())
        .merge(webhooks::router())
        .merge(zone::router())
        .merge(assets::router())
}

/// Whether the client asked for HTML (a browser does; API clients do not).
fn accepts_html(h: &HeaderMap) -> bool {
    h.get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// `GET /` is the dashboard for a browser, and the JSON API's index for everyone else.
pub(crate) async fn html_root(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let is_root = req.method() == Method::GET && req.uri().path() == "/";
    if !(is_root && accepts_html(req.headers())) {
        return next.run(req).await;
    }
    let (mut parts, _) = req.into_parts();
    match Page::from_request_parts(&mut parts, &s).await {
        Ok(p) => dashboard::show(p).await,
        Err(never) => match never {},
    }
}

/// No such route: an HTML page for a browser, a problem for everyone else.
pub(crate) async fn not_found(State(s): State<AppState>, req: Request) -> Response {
    if !accepts_html(req.headers()) {
        return ApiError::new(StatusCode::NOT_FOUND, "no_route", "not found").into_response();
    }
    let (mut parts, _) = req.into_parts();
    match Page::from_request_parts(&mut parts, &s).await {
        Ok(p) => p.problem_page(
            &crate::error::Problem::new(404, "no_page", "there is no page at this address"),
            "Not found",
            None,
            false,
        ),
        Err(never) => match never {},
    }
}
