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

/// What an event of the wallet did to its available balance.
fn delta(e: &tally_ports::RecordedEvent) -> i128 {
    let amount = i128::from(e.payload["amount"].as_u64().unwrap_or(0));
    match e.event_type.as_str() {
        "CreditsGranted" | "CreditsEarned" | "CreditsRefunded" => amount,
        "CreditsEscrowed" => -amount,
        _ => 0,
    }
}

/// The balance after each recent event, worked back from the balance now, as a line (no
/// script: SVG drawn here).
fn balance_chart(w: &WalletView) -> Markup {
    let mut after = i128::from(w.balance);
    let mut points: Vec<(chrono::DateTime<chrono::Utc>, i128)> = Vec::new();
    for e in w.history.iter().rev() {
        points.push((e.time, after));
        after -= delta(e);
    }
    points.reverse();
    if points.len() < 2 {
        return html! {};
    }
    let (width, height, pad) = (640.0_f64, 160.0_f64, 24.0_f64);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let step = (width - 2.0 * pad) / (points.len() - 1) as f64;
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, b))| {
            let x = pad + i as f64 * step;
            let y = height - pad - (height - 2.0 * pad) * (*b as f64) / max;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (first, last) = (points[0], points[points.len() - 1]);
    html! {
        figure.chart #balance-chart {
            svg viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height)
                role="img" aria-labelledby="balance-caption" {
                polyline points=(path.join(" ")) fill="none" stroke="#2f6fb0" stroke-width="2" {}
                line x1=(pad) y1=(height - pad) x2=(width - pad) y2=(height - pad) stroke="currentColor" {}
                text x="0" y="12" font-size="10" { (max as i128) }
            }
            figcaption #balance-caption {
                "Available balance over the last " (points.len()) " events: from "
                (credits(u64::try_from(first.1).unwrap_or(0))) " ("
                time datetime=(first.0.to_rfc3339()) { (first.0.format("%Y-%m-%d")) } ") to "
                (credits(u64::try_from(last.1).unwrap_or(0))) " now."
            }
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
            (balance_chart(w))
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
                                    td data-label="Job" { a href=(format!("/jobs/{}", seg(&l.job))) { code { (l.job) } } }
                                    td.num data-label="Held" { (credits(l.amount)) }
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
