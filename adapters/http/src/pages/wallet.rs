//! A member's wallet: balance, escrow per job, lifetime totals, and the recent history.

use super::events::{self, Columns};
use super::layout::credits;
use super::page::{Page, seg};
use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use tally_ports::WalletView;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/members/{handle}/wallet", get(show))
}

async fn show(p: Page, Path(handle): Path<String>) -> Response {
    match p.state.tally.wallet(&p.ctx(), &handle).await {
        Ok(w) => {
            let title = format!("{}'s wallet", w.display_name);
            let body = html! { (wallet(&w)) (super::jobs::actions(&p, &w.actions)) };
            p.ok(&title, body)
        }
        Err(e) => p.error_page(e, "Wallet", None),
    }
}

/// The balance and escrow figures (also on the dashboard).
pub(crate) fn figures(w: &WalletView) -> Markup {
    html! {
        dl.figures {
            div { dt { "Available" } dd #balance { (credits(w.balance)) } }
            div { dt { "In escrow" } dd #escrowed { (credits(w.escrowed)) } }
        }
    }
}

fn wallet(w: &WalletView) -> Markup {
    let h = seg(&w.handle);
    html! {
        section #wallet aria-labelledby="wallet-title" data-handle=(w.handle)
            data-balance=(w.balance) data-escrowed=(w.escrowed)
            data-total-granted=(w.total_granted) data-total-earned=(w.total_earned)
            data-total-refunded=(w.total_refunded) data-total-paid-out=(w.total_paid_out)
            data-version=(w.version) {
            h1 #wallet-title {
                span data-text="display_name" { (w.display_name) }
                " " span.handle { "@" (w.handle) }
            }
            (figures(w))
            h2 { "All time" }
            dl.figures.small {
                div { dt { "Granted" } dd { (credits(w.total_granted)) } }
                div { dt { "Earned" } dd { (credits(w.total_earned)) } }
                div { dt { "Refunded" } dd { (credits(w.total_refunded)) } }
                div { dt { "Paid out to participants" } dd { (credits(w.total_paid_out)) } }
            }
            p.actions {
                a href=(format!("/members/{h}/history")) { "Full history and time travel" }
            }
        }
        section aria-labelledby="escrow-title" {
            h2 #escrow-title { "Held in escrow" }
            @if w.escrow.is_empty() {
                p.muted { "Nothing is held for any job." }
            } @else {
                div.table-wrap {
                    table #escrow {
                        thead { tr { th scope="col" { "Job" } th scope="col" { "Held" } } }
                        tbody {
                            @for l in &w.escrow {
                                tr.escrow data-job=(l.job) data-amount=(l.amount) {
                                    td { a href=(format!("/jobs/{}", seg(&l.job))) { code { (l.job) } } }
                                    td.num { (credits(l.amount)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="history-title" {
            h2 #history-title { "Recent history" }
            (events::table("history", "What happened to this wallet, oldest first", &w.history, Columns::Entity))
        }
    }
}
