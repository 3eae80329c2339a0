//! Asking first: cancelling a job, completing and paying one, and a grant of more than
//! [`CONFIRM_GRANTS_ABOVE`] credits are shown back in plain words (the job's title, the
//! amounts, who gets paid) before anything is recorded. The confirmation is a page with a
//! form that posts the same fields again, with the same command id and [`CONFIRM_FIELD`], and
//! a link back to the form. No script: a page is the question.
//!
//! This is the pages' concern only: the JSON API runs a command when it is sent.

use super::forms::{self, Fields};
use super::page::{Page, seg};
use super::security::{COMMAND_ID_FIELD, CSRF_FIELD};
use axum::response::Response;
use maud::{Markup, html};
use tally_domain::{CommandKind, Shape};
use uuid::Uuid;

/// The hidden field that says a person has confirmed the command.
pub(crate) const CONFIRM_FIELD: &str = "confirm";

/// Grants of more than this many credits are confirmed first: a hundred times the largest
/// grant the demo data makes, and a hundredth of the largest grant the domain allows, so a
/// slip of the finger (an extra zero or two) is caught while everyday grants go straight
/// through.
pub(crate) const CONFIRM_GRANTS_ABOVE: u64 = 10_000;

/// What a confirmation says.
pub(crate) struct Question {
    /// What happens, in sentences.
    pub(crate) lines: Vec<Markup>,
    /// The words on the button that confirms.
    pub(crate) button: String,
    /// Whether the button is styled as something that cannot be undone.
    pub(crate) danger: bool,
}

/// Whether a posted form was confirmed.
pub(crate) fn confirmed(f: &Fields) -> bool {
    f.get(CONFIRM_FIELD) == "yes"
}

/// `250,000`: grouped by thousands, so that an extra zero shows.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `250,000 cr`.
fn cr(n: u64) -> Markup {
    html! { span.credits { (grouped(n)) " " abbr title="credits" { "cr" } } }
}

/// The question to ask before running `kind` on `key` with `f`, if it needs one. A command
/// the viewer may not issue now asks nothing: it runs, and the service says why not.
pub(crate) async fn question(
    p: &Page,
    kind: CommandKind,
    key: Option<&str>,
    f: &Fields,
) -> Option<Question> {
    let ctx = p.ctx();
    let key = key?;
    match kind {
        CommandKind::CancelJob | CommandKind::CompleteJob => {
            let v = p.state.tally.job_owner_view(&ctx, key).await.ok()?;
            // The domain says what the viewer may do now: nothing to confirm otherwise.
            if !v.actions.iter().any(|a| a.kind() == Some(kind)) {
                return None;
            }
            let title = html! { strong data-text="title" { "“" (v.job.title) "”" } };
            let reward = cr(v.job.reward);
            if kind == CommandKind::CancelJob {
                let live = v
                    .applications
                    .iter()
                    .filter(|a| a.status.as_str() == "live")
                    .count();
                let reason = f.get("reason").trim();
                Some(Question {
                    lines: vec![
                        html! { "You are about to cancel " (title) ", which is still open." },
                        html! { "Its reward of " (reward) ", held in escrow, goes back to the wallet of @" (v.job.owner) "." },
                        html! {
                            @match live {
                                0 => "Nobody has a live application to it.",
                                1 => "The one live application to it will be closed.",
                                n => { "The " (n) " live applications to it will be closed." },
                            }
                        },
                        html! { @if reason.is_empty() { "No reason is given." } @else { "The reason given: " q { (reason) } } },
                        html! { "A cancelled job cannot be opened again." },
                    ],
                    button: "Yes, cancel the job".to_owned(),
                    danger: true,
                })
            } else {
                let who = v.accepted.clone().unwrap_or_default();
                Some(Question {
                    lines: vec![
                        html! { "You are about to mark " (title) " as completed." },
                        html! { strong { "@" (who) } " is paid its reward of " (reward) ", from the escrow of @" (v.job.owner) "." },
                        html! { "A payment cannot be taken back." },
                    ],
                    button: format!("Yes, complete it and pay @{who}"),
                    danger: false,
                })
            }
        }
        CommandKind::GrantCredits => {
            let amount: i64 = f.get("amount").trim().parse().ok()?;
            let max = kind
                .fields()
                .iter()
                .find(|s| s.name == "amount")
                .and_then(|s| match s.rule.shape {
                    Shape::Integer { max, .. } => Some(max),
                    _ => None,
                })?;
            // Out of range: the service refuses it anyway, with the rule.
            let amount = u64::try_from(amount).ok()?;
            if amount <= CONFIRM_GRANTS_ABOVE || i64::try_from(amount).ok()? > max {
                return None;
            }
            let w = p.state.tally.wallet(&ctx, key).await.ok()?;
            let reason = f.get("reason").trim();
            let category = f.get("category").trim();
            Some(Question {
                lines: vec![
                    html! { "You are about to grant " strong data-text="amount" { (cr(amount)) } " to " strong { (w.display_name) } " " span.handle { "@" (w.handle) } "." },
                    html! { "Their balance goes from " (cr(w.balance)) " to " (cr(w.balance.saturating_add(amount))) "." },
                    html! {
                        @if !category.is_empty() { "Category: " (category) ". " }
                        @if reason.is_empty() { "No reason is given." } @else { "The reason given: " q { (reason) } }
                    },
                    html! { "Tally asks before any grant of more than " (cr(CONFIRM_GRANTS_ABOVE)) "; a grant cannot be taken back." },
                ],
                button: format!("Yes, grant {} cr", grouped(amount)),
                danger: false,
            })
        }
        _ => None,
    }
}

/// The confirmation page: the question, a form that posts `f` again (same command id, which
/// it gets here if it had none) with the confirmation, and a link back to the form.
pub(crate) fn page(p: &Page, kind: CommandKind, key: &str, f: &Fields, q: &Question) -> Response {
    let id = match f.get(COMMAND_ID_FIELD) {
        "" => Uuid::now_v7().to_string(),
        id => id.to_owned(),
    };
    let mut again = f.clone();
    again.set(COMMAND_ID_FIELD, id.clone());
    let action = super::commands::posts_to(kind, key);
    let back = back_to(kind, key, &again);
    let body = html! {
        h1 { "Please confirm: " (kind.label().to_lowercase()) }
        section.card.confirm #confirm aria-labelledby="confirm-title" data-command=(kind.name()) {
            h2 #confirm-title { "What will happen" }
            ul { @for l in &q.lines { li { (l) } } }
            p { strong { "Nothing is recorded until you confirm." } }
            form #confirm-form method="post" action=(action) novalidate {
                (forms::hidden(p.csrf(), Some(&again)))
                @for (name, value) in again.iter() {
                    @if name != CSRF_FIELD && name != COMMAND_ID_FIELD && name != CONFIRM_FIELD {
                        input type="hidden" name=(name) value=(value);
                    }
                }
                input type="hidden" name=(CONFIRM_FIELD) value="yes";
                div.actions {
                    button type="submit" class=[q.danger.then_some("danger")] { (q.button) }
                    a #go-back href=(back) { "Go back" }
                }
            }
        }
    };
    p.ok(&format!("Confirm: {}", kind.label()), body)
}

/// The command's page again, with what was typed and the same command id.
fn back_to(kind: CommandKind, key: &str, f: &Fields) -> String {
    let mut q = vec![format!("form={}", seg(f.get(COMMAND_ID_FIELD)))];
    for spec in tally_api::body::body_fields(kind) {
        if f.has(spec.name) {
            q.push(format!("{}={}", spec.name, seg(f.get(spec.name))));
        }
    }
    format!("{}?{}", super::commands::page(kind, key), q.join("&"))
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_000_000), "1,000,000");
    }
}
