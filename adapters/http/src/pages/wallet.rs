//! A member's wallet: balance, escrow per job (by title), lifetime totals, the balance over
//! time, and the statement (filtered, paged, as CSV).

use super::events::{self, time};
use super::layout::credits;
use super::page::{Page, seg};
use crate::AppState;
use crate::api::statement::StatementParams;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use std::collections::HashMap;
use tally_ports::WalletView;
use tally_ports::statement::{LineKind, MAX_LINES, Statement, StatementLine};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/members/{handle}/wallet", get(show))
        .route("/members/{handle}/statement.csv", get(csv))
}

async fn show(
    p: Page,
    Path(handle): Path<String>,
    Query(params): Query<StatementParams>,
) -> Response {
    let q = match params.parse_in(super::zone::viewer()) {
        Ok(q) => q,
        Err(e) => return p.error_page(e, "Wallet", None),
    };
    let t = &p.state.tally;
    let w = match t.wallet(&p.ctx(), &handle).await {
        Ok(w) => w,
        Err(e) => return p.error_page(e, "Wallet", None),
    };
    let st = match t.statement(&p.ctx(), &handle, q).await {
        Ok(s) => s,
        Err(e) => return p.error_page(e, "Wallet", None),
    };
    let titles = match super::jobs::active_titles(&p, &w).await {
        Ok(t) => t,
        Err(e) => return p.error_page(e, "Wallet", None),
    };
    let title = format!("{}'s wallet", w.display_name);
    let body = html! {
        (wallet(&w, &st, &titles))
        (statement(&w, &st, &params))
        (super::jobs::actions(&p, &w.actions))
    };
    p.ok(&title, body)
}

/// The statement as CSV: every line the filters show (not only a page), oldest first, as a
/// spreadsheet expects.
async fn csv(
    p: Page,
    Path(handle): Path<String>,
    Query(params): Query<StatementParams>,
) -> Response {
    let mut q = match params.parse_in(super::zone::viewer()) {
        Ok(q) => q,
        Err(e) => return p.error_page(e, "Statement", None),
    };
    q.limit = MAX_LINES;
    let mut lines = Vec::new();
    let mut handle_shown = handle.clone();
    loop {
        let st = match p.state.tally.statement(&p.ctx(), &handle, q.clone()).await {
            Ok(s) => s,
            Err(e) => return p.error_page(e, "Statement", None),
        };
        handle_shown.clone_from(&st.handle);
        lines.extend(st.lines);
        match st.older {
            Some(b) => q.before = Some(b),
            None => break,
        }
    }
    lines.reverse();
    let mut out = String::from(
        "time,kind,amount,change,balance,job,job_title,counterpart,reason,version\r\n",
    );
    for l in &lines {
        let row = [
            events::exact(&l.time),
            l.kind.as_str().to_owned(),
            l.amount.to_string(),
            l.change.to_string(),
            l.balance.to_string(),
            l.job.clone().unwrap_or_default(),
            cell(l.job_title.as_deref()),
            cell(l.counterpart.as_deref()),
            cell(l.reason.as_deref()),
            l.version.to_string(),
        ];
        let row: Vec<String> = row.iter().map(|c| quote(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    let name = format!("attachment; filename=\"{handle_shown}-statement.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                super::page::header_value(&name),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        out,
    )
        .into_response()
}

/// Text a person wrote, safe in a spreadsheet: a cell that a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'`.
fn cell(s: Option<&str>) -> String {
    let s = s.unwrap_or_default();
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
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

/// The available balance over the whole history, as a step line (no script: SVG drawn here),
/// with its text alternative: a caption that says where it went, and the points as a table.
fn balance_chart(st: &Statement) -> Markup {
    let points = &st.chart;
    if points.len() < 2 {
        return html! {};
    }
    let (width, height, left, pad) = (640.0_f64, 180.0_f64, 48.0_f64, 20.0_f64);
    let max = points.iter().map(|p| p.balance).max().unwrap_or(0).max(1);
    let (t0, t1) = (points[0].time, points[points.len() - 1].time);
    let span = (t1 - t0).num_milliseconds().max(1) as f64;
    let x = |t: chrono::DateTime<chrono::Utc>| {
        left + (width - left - pad) * ((t - t0).num_milliseconds() as f64 / span)
    };
    let y = |b: u64| height - pad - (height - 2.0 * pad) * (b as f64 / max as f64);
    let mut path = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            path.push(format!("{:.1},{:.1}", x(p.time), y(points[i - 1].balance)));
        }
        path.push(format!("{:.1},{:.1}", x(p.time), y(p.balance)));
    }
    let high = points
        .iter()
        .max_by_key(|p| p.balance)
        .copied()
        .unwrap_or(points[0]);
    let low = points
        .iter()
        .min_by_key(|p| p.balance)
        .copied()
        .unwrap_or(points[0]);
    // Days in the viewer's time zone, as every time on the pages.
    let zone = super::zone::viewer();
    let day =
        |t: &chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).format("%Y-%m-%d").to_string();
    html! {
        figure.chart #balance-chart {
            svg viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height)
                role="img" aria-labelledby="balance-caption" {
                line x1=(left) y1=(height - pad) x2=(width - pad) y2=(height - pad) stroke="currentColor" {}
                line x1=(left) y1=(pad) x2=(left) y2=(height - pad) stroke="currentColor" {}
                text x=(left - 4.0) y=(pad + 4.0) font-size="11" text-anchor="end" { (max) }
                text x=(left - 4.0) y=(height - pad) font-size="11" text-anchor="end" { "0" }
                text x=(left) y=(height - 4.0) font-size="11" { (day(&t0)) }
                text x=(width - pad) y=(height - 4.0) font-size="11" text-anchor="end" { (day(&t1)) }
                polyline points=(path.join(" ")) fill="none" stroke="#2f6fb0" stroke-width="2" {}
            }
            figcaption #balance-caption {
                "Available balance over time: " (credits(points[0].balance)) " on " (day(&t0))
                ", " (credits(st.balance)) " now; highest " (credits(high.balance)) " on " (day(&high.time))
                ", lowest " (credits(low.balance)) " on " (day(&low.time)) "."
            }
            details {
                summary { "The balance over time as a table" }
                div.table-wrap {
                    table #balance-points {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Available" } } }
                        tbody {
                            @for p in points {
                                tr.point data-time=(events::exact(&p.time)) data-balance=(p.balance) {
                                    td data-label="When" { (time(&p.time)) } td.num data-label="Available" { (credits(p.balance)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn wallet(w: &WalletView, st: &Statement, titles: &HashMap<String, String>) -> Markup {
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
            (balance_chart(st))
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
                    table #escrow .stack {
                        thead { tr { th scope="col" { "Job" } th scope="col" { "Held" } } }
                        tbody {
                            @for l in &w.escrow {
                                tr.escrow data-job=(l.job) data-amount=(l.amount) {
                                    td data-label="Job" { a href=(format!("/jobs/{}", seg(&l.job))) {
                                        @match titles.get(&l.job) { Some(t) => (t), None => code { (l.job) } }
                                    } }
                                    td.num data-label="Held" { (credits(l.amount)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `+30 cr`, `−30 cr` (a true minus sign), `0 cr`.
fn signed(n: i64) -> Markup {
    let sign = match n.signum() {
        1 => "+",
        -1 => "\u{2212}",
        _ => "",
    };
    let class = if n < 0 { "signed minus" } else { "signed plus" };
    html! { span class=(class) { (sign) (n.unsigned_abs()) " " abbr title="credits" { "cr" } } }
}

/// A line's job, by title, linked.
fn job_link(l: &StatementLine) -> Markup {
    html! {
        @if let Some(id) = &l.job {
            a href=(format!("/jobs/{}", seg(id))) {
                @match &l.job_title { Some(t) => { "\u{2018}" (t) "\u{2019}" }, None => code { (id) } }
            }
        }
    }
}

/// What a line is, in words, with its job linked.
fn what(l: &StatementLine) -> Markup {
    let who = html! { @if let Some(c) = &l.counterpart { strong { "@" (c) } } };
    html! {
        @match l.kind {
            LineKind::Granted => { "Granted by an admin" @if let Some(r) = &l.reason { ": " (r) } },
            LineKind::Escrowed => { "Held in escrow for " (job_link(l)) },
            LineKind::Refunded => { "Refunded from " (job_link(l)) ", cancelled" },
            LineKind::Earned => { "Paid for " (job_link(l)) @if l.counterpart.is_some() { " by " (who) } },
            LineKind::PaidOut => { "Paid out of escrow for " (job_link(l)) @if l.counterpart.is_some() { " to " (who) } },
        }
    }
}

/// The statement: a filter form, the lines newest first, a CSV link and the next page.
fn statement(w: &WalletView, st: &Statement, params: &StatementParams) -> Markup {
    let base = format!("/members/{}/wallet", seg(&w.handle));
    let csv = format!("/members/{}/statement.csv", seg(&w.handle));
    let query = params.query_string();
    let chosen = params.kind_word();
    html! {
        section #statement-section aria-labelledby="statement-title" data-total=(st.total)
            data-older=[st.older] data-handle=(st.handle) data-display-name=(st.display_name)
            data-balance=(st.balance) data-escrowed=(st.escrowed) {
            h2 #statement-title { "Statement" }
            form.search #statement-filter method="get" action=(base) {
                div.field.pair {
                    div {
                        label for="kind" { "Kind" }
                        select #kind name="kind" {
                            option value="" selected[chosen.is_empty()] { "Every kind" }
                            @for k in LineKind::ALL {
                                option value=(k.as_str()) selected[chosen == k.as_str()] { (kind_label(k)) }
                            }
                        }
                    }
                    div {
                        label for="from" { "From" }
                        input #from type="date" name="from" value=(params.date("from"));
                    }
                    div {
                        label for="until" { "Until" }
                        input #until type="date" name="until" value=(params.date("until"));
                    }
                }
                button type="submit" { "Show" } " "
                a href=(base) { "Every line" } " · "
                a href=(if query.is_empty() { csv } else { format!("{csv}?{query}") }) download { "Download as CSV" }
            }
            p.muted { (st.total) " line" @if st.total != 1 { "s" } ", newest first." }
            div.table-wrap {
                table #statement .stack {
                    caption.visually-hidden { "Every movement of this wallet's credits, newest first" }
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "What" }
                        th scope="col" { "Amount" } th scope="col" { "Balance" }
                    } }
                    tbody {
                        @if st.lines.is_empty() { tr { td colspan="4" { "No movement of credits here." } } }
                        @for l in &st.lines {
                            tr.line data-version=(l.version) data-kind=(l.kind.as_str()) data-time=(events::exact(&l.time))
                                data-amount=(l.amount) data-change=(l.change) data-escrow-change=(l.escrow_change)
                                data-balance=(l.balance) data-job=[l.job.as_deref()]
                                data-job-title=[l.job_title.as_deref()] data-counterpart=[l.counterpart.as_deref()]
                                data-reason=[l.reason.as_deref()] {
                                td data-label="When" { (time(&l.time)) }
                                td data-label="What" { (what(l)) }
                                td.num data-label="Amount" {
                                    @if l.kind == LineKind::PaidOut { span.muted { "from escrow " } (signed(l.escrow_change)) }
                                    @else { (signed(l.change)) }
                                }
                                td.num data-label="Balance" { (credits(l.balance)) }
                            }
                        }
                    }
                }
            }
            @if let Some(b) = st.older {
                nav.pager aria-label="Pages" {
                    a rel="next" href=(format!("{base}?{}", serde_urlencoded::to_string(params.older(b)).unwrap_or_default())) { "Older lines →" }
                    " " a href=(base) { "Newest" }
                }
            }
        }
    }
}

fn kind_label(k: LineKind) -> &'static str {
    match k {
        LineKind::Granted => "Granted",
        LineKind::Escrowed => "Held in escrow",
        LineKind::Refunded => "Refunded",
        LineKind::Earned => "Earned",
        LineKind::PaidOut => "Paid out of escrow",
    }
}
