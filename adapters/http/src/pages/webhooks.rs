//! Webhook pages: a member's (or an admin's) endpoints (register, pause, resume, delete) and,
//! for admins, the deliveries: attempts, status, last error, next attempt, dead letters, and
//! a button that sends one again.

use super::forms::{self, Field, Fields, Kind};
use super::page::Page;
use super::security::Flash;
use crate::AppState;
use crate::api::webhooks::{DeliveryParams, admin};
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use tally_domain::NotificationKind;
use tally_ports::Error;
use tally_ports::webhooks::{Delivery, DeliveryStatus, Endpoint, NewEndpoint};
use uuid::Uuid;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(register))
        .route("/webhooks/{id}/pause", post(pause))
        .route("/webhooks/{id}/resume", post(resume))
        .route("/webhooks/{id}/delete", post(delete))
        .route("/admin/webhooks/deliveries", get(deliveries))
        .route("/admin/webhooks/deliveries/{id}/redeliver", post(redeliver))
}

const TITLE: &str = "Webhooks";

fn kind_field(k: NotificationKind) -> String {
    format!("kind_{}", k.as_str())
}

fn register_form(p: &Page, values: &Fields, e: Option<&Error>) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), None))
        (Field::new("url", "URL", Kind::Text)
            .hint("Where each notification is POSTed, signed: an https:// (or http://) address of a public host.")
            .render(values, e))
        fieldset #kinds {
            legend { "Which notifications" }
            p.hint { "None ticked: every kind." }
            @for k in NotificationKind::ALL {
                label.check {
                    input type="checkbox" name=(kind_field(k)) value="on" checked[values.has(&kind_field(k))];
                    " " code { (k.as_str()) }
                }
            }
        }
    };
    forms::form("webhook-form", "/webhooks", "Register the endpoint", inner)
}

fn endpoint_rows(p: &Page, endpoints: &[Endpoint]) -> Markup {
    html! {
        @for e in endpoints {
            tr.endpoint data-id=(e.id) data-paused=(e.paused) {
                td data-label="URL" { code { (e.url) } }
                td data-label="Kinds" {
                    @if e.kinds.is_empty() { "every kind" } @else { (e.kinds.join(", ")) }
                }
                @if p.actor.is_privileged() {
                    td data-label="For" { @match &e.owner { Some(h) => { "@" (h) }, None => "every member" } }
                }
                td data-label="Status" { @if e.paused { "paused" } @else { "active" } }
                td data-label="Secret" { details { summary { "Show" } code.secret { (e.secret) } } }
                td data-label="Actions" {
                    @let (action, label) = if e.paused { ("resume", "Resume") } else { ("pause", "Pause") };
                    form.inline method="post" action=(format!("/webhooks/{}/{action}", e.id)) {
                        (forms::hidden(p.csrf(), None))
                        button type="submit" data-action=(action) { (label) }
                    }
                    " "
                    form.inline method="post" action=(format!("/webhooks/{}/delete", e.id)) {
                        (forms::hidden(p.csrf(), None))
                        button.danger type="submit" data-action="delete" aria-label=(format!("Delete {}", e.url)) { "Delete" }
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
    let found = match admin(&p.state) {
        Ok(a) => a.endpoints(&p.actor).await,
        Err(e) => Err(e),
    };
    let endpoints = match found {
        Ok(x) => x,
        Err(e) => return p.error_page(e, TITLE, None),
    };
    let admin_view = p.actor.is_privileged();
    let body = html! {
        h1 { "Webhooks" }
        @if let Some(c) = created { (c) }
        p {
            @if admin_view { "An endpoint registered here receives every member's notifications of its kinds. " }
            @else { "An endpoint registered here receives your own notifications. " }
            "Each is POSTed as JSON with the Standard Webhooks headers "
            code { "webhook-id" } " (the same on every attempt), " code { "webhook-timestamp" } " and "
            code { "webhook-signature" } " (HMAC-SHA256 with the endpoint's secret); failed attempts are retried with growing pauses."
        }
        @if admin_view { p { a href="/admin/webhooks/deliveries" { "Deliveries and dead letters" } } }
        div.table-wrap {
            table #endpoints {
                caption { "Endpoints (" (endpoints.len()) ")" }
                thead { tr {
                    th scope="col" { "URL" } th scope="col" { "Kinds" }
                    @if admin_view { th scope="col" { "For" } }
                    th scope="col" { "Status" } th scope="col" { "Secret" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if endpoints.is_empty() { tr { td colspan="6" { "No endpoints yet." } } }
                    (endpoint_rows(p, &endpoints))
                }
            }
        }
        h2 { "New endpoint" }
        (register_form(p, values, e))
    };
    p.ok(TITLE, body)
}

async fn list(p: Page) -> Response {
    page_with(&p, &Fields::default(), None, None).await
}

async fn register(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let new = NewEndpoint {
        url: f.get("url").trim().to_owned(),
        kinds: NotificationKind::ALL
            .into_iter()
            .filter(|k| f.has(&kind_field(*k)))
            .map(|k| k.as_str().to_owned())
            .collect(),
    };
    let done = match admin(&p.state) {
        Ok(a) => a.register(&p.actor, new).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(e) => {
            let created = html! {
                div.notice role="status" #created-endpoint {
                    p { "Endpoint " code { (e.url) } " is registered. Its signing secret:" }
                    p { code #endpoint-secret { (e.secret) } }
                }
            };
            page_with(&p, &Fields::default(), None, Some(created)).await
        }
        Err(e) => {
            let form = register_form(&p, &f, Some(&e));
            p.error_page(e, TITLE, Some(form))
        }
    }
}

async fn set_paused(p: Page, id: Uuid, f: Fields, paused: bool) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let done = match admin(&p.state) {
        Ok(a) => a.set_paused(&p.actor, id, paused).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(e) => p.see_other(
            "/webhooks",
            &Flash::note(if paused {
                format!("{} is paused: its deliveries wait.", e.url)
            } else {
                format!("{} is resumed: what waited is being sent.", e.url)
            }),
        ),
        Err(e) => p.error_page(e, TITLE, None),
    }
}

async fn pause(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    set_paused(p, id, f, true).await
}

async fn resume(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    set_paused(p, id, f, false).await
}

async fn delete(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let done = match admin(&p.state) {
        Ok(a) => a.delete(&p.actor, id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => p.see_other(
            "/webhooks",
            &Flash::note("The endpoint and its deliveries are deleted."),
        ),
        Err(e) => p.error_page(e, TITLE, None),
    }
}

fn status_word(d: &Delivery) -> &'static str {
    match d.status {
        DeliveryStatus::Pending if d.attempts == 0 => "queued",
        DeliveryStatus::Pending => "retrying",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Dead => "dead letter",
    }
}

async fn deliveries(p: Page, Query(q): Query<DeliveryParams>) -> Response {
    const T: &str = "Webhook deliveries";
    let query = match q.parse() {
        Ok(q) => q,
        Err(e) => return p.error_page(e, T, None),
    };
    let found = match admin(&p.state) {
        Ok(a) => a.deliveries(&p.actor, query.clone()).await,
        Err(e) => Err(e),
    };
    let rows = match found {
        Ok(x) => x,
        Err(e) => return p.error_page(e, T, None),
    };
    let filter = |label: &str, status: Option<DeliveryStatus>| {
        let on = query.status == status;
        let href = match status {
            Some(s) => format!("/admin/webhooks/deliveries?status={}", s.as_str()),
            None => "/admin/webhooks/deliveries".to_owned(),
        };
        html! { a href=(href) aria-current=[on.then_some("page")] { (label) } }
    };
    let body = html! {
        h1 { "Webhook deliveries" }
        p { a href="/webhooks" { "Endpoints" } }
        nav.filters aria-label="Show" {
            (filter("All", None)) " · " (filter("Retrying", Some(DeliveryStatus::Pending))) " · "
            (filter("Delivered", Some(DeliveryStatus::Delivered))) " · " (filter("Dead letters", Some(DeliveryStatus::Dead)))
        }
        div.table-wrap {
            table #deliveries {
                caption { "Newest first (" (rows.len()) ")" }
                thead { tr {
                    th scope="col" { "Notification" } th scope="col" { "To" } th scope="col" { "Status" }
                    th scope="col" { "Attempts" } th scope="col" { "Last error" } th scope="col" { "Next attempt" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if rows.is_empty() { tr { td colspan="7" { "No deliveries." } } }
                    @for d in &rows {
                        tr.delivery data-id=(d.id) data-status=(d.status.as_str()) data-attempts=(d.attempts) data-message=(d.message) {
                            td data-label="Notification" { code { (d.kind) } " to @" (d.recipient) }
                            td data-label="To" { code { (d.url) } }
                            td data-label="Status" { (status_word(d)) }
                            td data-label="Attempts" { (d.attempts) }
                            td data-label="Last error" {
                                @match (&d.last_error, d.last_status) {
                                    (Some(e), _) => (e),
                                    (None, Some(s)) => { "answered " (s) },
                                    (None, None) => "",
                                }
                            }
                            td data-label="Next attempt" { @if let Some(t) = d.next_attempt_at { (super::events::time(&t)) } }
                            td data-label="Actions" {
                                form.inline method="post" action=(format!("/admin/webhooks/deliveries/{}/redeliver", d.id)) {
                                    (forms::hidden(p.csrf(), None))
                                    button type="submit" data-action="redeliver" { "Send again" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    p.ok(T, body)
}

async fn redeliver(p: Page, Path(id): Path<Uuid>, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let done = match admin(&p.state) {
        Ok(a) => a.redeliver(&p.actor, id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => p.see_other(
            "/admin/webhooks/deliveries",
            &Flash::note("The delivery is queued again, from its first attempt."),
        ),
        Err(e) => p.error_page(e, "Webhook deliveries", None),
    }
}
