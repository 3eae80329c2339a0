//! Every command, as pages: a form page per command (`GET`) that posts to itself (`POST`) and
//! redirects to what it changed with the receipt, or shows the form again with what went
//! wrong; and the forms of the actions a view offers. Fields, limits and hints come from the
//! domain's declaration of the command, so a new command needs nothing here.
//!
//! A form page's address names the form (`?form=<command id>`), so a form shown again by Back
//! sends the same command, which is not recorded twice (`receipts` says so). Before running,
//! a submit passes the CSRF check (else `drafts` keeps what was typed) and, for what cannot
//! be undone, the confirmation (`confirm`); after, the receipt is said in words (`receipts`).

use super::drafts;
use super::forms::{self, Field, Fields};
use super::page::{Page, seg};
use super::security::{COMMAND_ID_FIELD, Flash};
use super::{confirm, receipts};
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use std::collections::BTreeMap;
use tally_api::paths::{segment, slug};
use tally_domain::{CommandKind, EntityKind, Raw, Rejection, Target};
use tally_ports::{ActionView, Error, Input, Receipt};
use uuid::Uuid;

/// The page of a command's form on the entity `key` (ignored for a command that creates one);
/// it posts to itself, but a launch, which posts to `/jobs`.
pub fn page(kind: CommandKind, key: &str) -> String {
    match kind.target() {
        Target::New(EntityKind::Job) => "/jobs/new".to_owned(),
        Target::New(EntityKind::Member) => "/admin/members/new".to_owned(),
        Target::On(EntityKind::Job) => format!("/jobs/{}/{}", segment(key), slug(kind)),
        Target::On(EntityKind::Member) => format!("/members/{}/{}", segment(key), slug(kind)),
    }
}

/// Where a command's form posts.
pub(crate) fn posts_to(kind: CommandKind, key: &str) -> String {
    match kind.target() {
        Target::New(EntityKind::Job) => "/jobs".to_owned(),
        _ => page(kind, key),
    }
}

/// The `id` of a command's form on its page.
pub fn form_id(kind: CommandKind) -> String {
    format!("{}-form", kind.name())
}

/// Every command's pages (registering a member is the admins' page with an account, see
/// `admin`).
pub(crate) fn router() -> Router<AppState> {
    let mut r = Router::new();
    for &kind in CommandKind::ALL {
        r = match kind.target() {
            Target::On(k) => {
                let path = match k {
                    EntityKind::Job => format!("/jobs/{{key}}/{}", slug(kind)),
                    EntityKind::Member => format!("/members/{{key}}/{}", slug(kind)),
                };
                r.route(
                    &path,
                    get(
                        move |p: Page,
                              Path(key): Path<String>,
                              Query(q): Query<BTreeMap<String, String>>| async move {
                            show(p, kind, Some(key), q).await
                        },
                    )
                    .post(
                        move |p: Page, Path(key): Path<String>, f: Fields| async move {
                            submit(p, kind, Some(key), f).await
                        },
                    ),
                )
            }
            Target::New(EntityKind::Job) => r
                .route(
                    "/jobs/new",
                    get(
                        move |p: Page, Query(q): Query<BTreeMap<String, String>>| async move {
                            show(p, kind, None, q).await
                        },
                    ),
                )
                .route(
                    "/jobs",
                    axum::routing::post(move |p: Page, f: Fields| async move {
                        submit(p, kind, None, f).await
                    }),
                ),
            Target::New(EntityKind::Member) => r,
        };
    }
    r
}

/// The fields a person fills in on a command's page: all but the key of the entity.
fn specs(kind: CommandKind) -> impl Iterator<Item = &'static tally_domain::FieldSpec> {
    tally_api::body::body_fields(kind)
}

/// The form of a command (on its page), showing `values` and `error`.
pub(crate) fn form(
    p: &Page,
    kind: CommandKind,
    key: &str,
    values: &Fields,
    error: Option<&Error>,
) -> Markup {
    let inner = html! {
        (forms::hidden(p.csrf(), Some(values)))
        @for spec in specs(kind) { (Field::of(spec).render(values, error)) }
        @if crate::reauth::needed(&p.ctx(), kind, Some(key)) {
            (Field::password(crate::reauth::FIELD, "Your password (being forgotten cannot be undone)", false).render(values, error))
        }
    };
    let class = if matches!(kind, CommandKind::CancelJob | CommandKind::ForgetMember) {
        "danger"
    } else {
        ""
    };
    forms::form_with(
        &form_id(kind),
        &posts_to(kind, key),
        kind.label(),
        class,
        inner,
    )
}

/// What the entity looks like, above a command's form (its public details).
async fn context(p: &Page, kind: CommandKind, key: &str) -> Result<Markup, Error> {
    let ctx = p.ctx();
    Ok(match kind.target().kind() {
        EntityKind::Job if !key.is_empty() => {
            let v = p.state.tally.job_participant_view(&ctx, key).await?;
            super::jobs::summary(&v.job, None)
        }
        EntityKind::Member if !key.is_empty() => {
            let w = p.state.tally.wallet(&ctx, key).await?;
            html! { p { "For " strong { (w.display_name) } " " span.handle { "@" (w.handle) } } }
        }
        _ => html! {},
    })
}

/// The query parameter that names a form: its command id. It is in the page's address, so a
/// form shown again by Back or a reload sends the same command again, which the service then
/// does not record twice (the page says the form had been sent).
pub(crate) const FORM_PARAM: &str = "form";

async fn show(
    p: Page,
    kind: CommandKind,
    key: Option<String>,
    q: BTreeMap<String, String>,
) -> Response {
    let key = key.unwrap_or_default();
    if !p.signed_in() {
        return p.error_page(
            tally_domain::Rejection::SignInFirst.into(),
            kind.label(),
            None,
        );
    }
    // Launching is for members: an admin is told so before filling in a form that would be
    // refused.
    if kind == CommandKind::LaunchJob && !matches!(p.actor, tally_ports::Actor::Member(_)) {
        return p.error_page(
            tally_domain::Rejection::MembersOnly.into(),
            kind.label(),
            None,
        );
    }
    let above = match above(&p, kind, &key).await {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let Some(id) = q.get(FORM_PARAM).and_then(|f| Uuid::parse_str(f).ok()) else {
        return Redirect::to(&fresh_form(kind, &key, &q)).into_response();
    };
    let mut values = Fields::default();
    for spec in specs(kind) {
        if let Some(v) = q.get(spec.name) {
            values.set(spec.name, v.clone());
        }
    }
    values.set(COMMAND_ID_FIELD, id.to_string());
    p.ok(kind.label(), body(&p, kind, &key, &values, above))
}

/// The address of a new form for `kind` on `key`: its page with a new command id, and the
/// values of `q` but an old form's id.
pub(crate) fn fresh_form(kind: CommandKind, key: &str, q: &BTreeMap<String, String>) -> String {
    let mut pairs = vec![format!("{FORM_PARAM}={}", Uuid::now_v7())];
    for (k, v) in q.iter().filter(|(k, _)| *k != FORM_PARAM) {
        pairs.push(format!("{}={}", seg(k), seg(v)));
    }
    format!("{}?{}", page(kind, key), pairs.join("&"))
}

/// What the entity looks like, above its command's form, if the viewer may see it (the
/// command itself says whether they may issue it: a member may not see another's wallet, nor
/// grant to it; the refusal that counts is the command's). An entity that does not exist has
/// no form: the error page.
pub(crate) async fn above(p: &Page, kind: CommandKind, key: &str) -> Result<Markup, Box<Response>> {
    match context(p, kind, key).await {
        Ok(m) => Ok(m),
        Err(
            e @ (Error::Invalid(_)
            | Error::Rejected(Rejection::UnknownJob { .. } | Rejection::UnknownMember { .. })),
        ) => Err(Box::new(p.error_page(e, kind.label(), None))),
        Err(_) => Ok(html! {}),
    }
}

/// A command's page: `above` (what the entity looks like, and any note), and the form with
/// `values`.
pub(crate) fn body(
    p: &Page,
    kind: CommandKind,
    key: &str,
    values: &Fields,
    above: Markup,
) -> Markup {
    html! {
        (above)
        h1 { (kind.label()) }
        p.lead { (kind.doc().trim()) }
        (form(p, kind, key, values, None))
    }
}

/// The command's input from a posted form: the key from the path, the command's fields as
/// typed (trimmed: the service takes text as sent), nothing else.
fn input(kind: CommandKind, key: Option<&str>, f: &Fields) -> Input {
    let mut input = Input::new(kind);
    if let (Target::On(k), Some(key)) = (kind.target(), key) {
        input = input.with(k.key_field(), key);
    }
    for spec in specs(kind) {
        if f.has(spec.name) {
            input = input.with(spec.name, Raw::Text(f.get(spec.name).trim().to_owned()));
        }
    }
    input
}

/// Where a command leads: what it changed.
fn after(kind: CommandKind, key: Option<&str>, r: &Receipt) -> String {
    match kind.target() {
        Target::New(EntityKind::Job) => {
            format!("/jobs/{}", segment(r.launched_job().unwrap_or_default()))
        }
        Target::On(EntityKind::Job) => format!("/jobs/{}", segment(key.unwrap_or_default())),
        Target::On(EntityKind::Member) | Target::New(EntityKind::Member) => {
            format!("/members/{}/wallet", segment(key.unwrap_or_default()))
        }
    }
}

async fn submit(p: Page, kind: CommandKind, key: Option<String>, f: Fields) -> Response {
    let key_s = key.as_deref().unwrap_or_default();
    // Refused before anything else: nothing is recorded, and what was typed is kept.
    if !p.signed_in() || !drafts::csrf_ok(&p, &f) {
        let again = form(&p, kind, key_s, &f, None);
        return drafts::refused(&p, kind, &posts_to(kind, key_s), &f, again);
    }
    let ctx = match p.command(&f) {
        Ok(c) => c,
        Err(res) => return *res,
    };
    if !confirm::confirmed(&f)
        && let Some(q) = confirm::question(&p, kind, key.as_deref(), &f).await
    {
        return confirm::page(&p, kind, key_s, &f, &q);
    }
    let again = match ctx.command_id {
        Some(id) => receipts::already_sent(&p, kind, key.as_deref(), id).await,
        None => false,
    };
    let password = f
        .has(crate::reauth::FIELD)
        .then(|| f.get(crate::reauth::FIELD));
    let result = match crate::reauth::check(
        p.state.identity.as_ref(),
        &ctx,
        kind,
        key.as_deref(),
        password,
    )
    .await
    {
        Ok(()) => {
            p.state
                .tally
                .execute(&ctx, input(kind, key.as_deref(), &f))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => {
            let flash = match receipts::said(&p, kind, key.as_deref(), &f, &r, again).await {
                Some(said) => Flash::said(r.clone(), said),
                None => Flash::receipt(r.clone()),
            };
            // A member who forgot themselves is signed out: their wallet is not theirs to
            // see any more, so the job board says it was done.
            let to = if crate::reauth::needed(&ctx, kind, key.as_deref()) {
                "/".to_owned()
            } else {
                after(kind, key.as_deref(), &r)
            };
            p.see_other(&to, &flash)
        }
        Err(e) if crate::error::Problem::of(&e).code == "command_id_reused" => {
            receipts::sent_before(&p, kind, key_s, &f, ctx.command_id, e).await
        }
        Err(e) => {
            let form = form(&p, kind, key_s, &f, Some(&e));
            p.error_page(e, kind.label(), Some(form))
        }
    }
}

/// The forms of the actions a view offers: the given fields hidden, those to fill in shown,
/// each posting to its command's page. Each form carries its action in `data-action`.
pub(crate) fn actions(p: &Page, actions: &[ActionView]) -> Markup {
    html! {
        @for (i, a) in actions.iter().enumerate() {
            @if let Some(kind) = a.kind() { (action(p, kind, a, i)) }
        }
    }
}

fn action(p: &Page, kind: CommandKind, a: &ActionView, i: usize) -> Markup {
    let key = match kind.target() {
        Target::On(k) => a
            .given
            .get(k.key_field())
            .and_then(|v| v.as_str())
            .unwrap_or_default(),
        Target::New(_) => "",
    };
    let mut values = Fields::default();
    for q in &a.ask {
        let v = match &q.initial {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        values.set(&q.field, v);
    }
    let json = serde_json::to_string(a).unwrap_or_default();
    let class = if matches!(kind, CommandKind::CancelJob) {
        Some("danger")
    } else {
        None
    };
    html! {
        form.action id=(format!("action-{i}-{}", kind.name())) method="post" action=(posts_to(kind, key))
            data-command=(a.command) data-action=(json) novalidate {
            (forms::hidden(p.csrf(), Some(&Fields::default())))
            @for (name, v) in &a.given {
                @if !matches!(kind.target(), Target::On(k) if k.key_field() == name) {
                    input type="hidden" name=(name) value=(match v { serde_json::Value::String(s) => s.clone(), o => o.to_string() });
                }
            }
            @for q in &a.ask {
                @if let Some(spec) = kind.fields().iter().find(|s| s.name == q.field) {
                    (Field::of(spec).scoped(&format!("a{i}-")).render(&values, None))
                }
            }
            button type="submit" class=[class] { (a.label) }
        }
    }
}
