//! The reports page (admins): how far the reports have caught up, the daily totals as a chart
//! and a table, and the fraud signals with links to the entities involved. No script: the
//! chart is SVG drawn on the server.

use super::layout::credits;
use super::page::{Page, seg};
use crate::AppState;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, PreEscaped, html};
use tally_ports::reports::{DayView, FraudRule, ReportsView};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/admin/reports", get(show))
}

async fn show(p: Page) -> Response {
    let r = match p.state.tally.reports(&p.ctx()).await {
        Ok(r) => r,
        Err(e) => return p.error_page(e, "Reports", None),
    };
    let body = html! {
        h1 { "Reports" }
        (lag(&r))
        section aria-labelledby="daily-title" {
            h2 #daily-title { "Credits per day" }
            @if r.daily.is_empty() { p { "Nothing has happened yet." } }
            @else {
                (chart(&r.daily))
                (table(&r.daily))
            }
        }
        section aria-labelledby="signals-title" {
            h2 #signals-title { "Fraud signals (" (r.signals.len()) ")" }
            (signals(&r))
        }
    };
    p.ok("Reports", body)
}

fn lag(r: &ReportsView) -> Markup {
    html! {
        p #lag data-checkpoint=(r.checkpoint) data-behind=(r.behind) {
            @if r.behind == 0 { "Up to date: " } @else { "Catching up: " (r.behind) " events behind; " }
            "folded up to event #" (r.checkpoint)
            @if let Some(t) = r.checkpoint_time { ", recorded " (super::events::ago(&t)) }
            "."
        }
    }
}

/// Granted, escrowed, earned and refunded per day, as grouped bars (the last 30 days).
fn chart(days: &[DayView]) -> Markup {
    const SERIES: [(&str, &str); 4] = [
        ("granted", "#2f6fb0"),
        ("escrowed", "#b07a2f"),
        ("earned", "#2f9a5a"),
        ("refunded", "#9a2f4e"),
    ];
    let days = &days[days.len().saturating_sub(30)..];
    let value = |d: &DayView, i: usize| match i {
        0 => d.totals.granted,
        1 => d.totals.escrowed,
        2 => d.totals.earned,
        _ => d.totals.refunded,
    };
    let max = days
        .iter()
        .flat_map(|d| (0..4).map(move |i| value(d, i)))
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, pad) = (640.0_f64, 220.0_f64, 30.0_f64);
    // At most 80 wide per day, so that a short history does not draw giant bars.
    let group = ((w - pad) / days.len() as f64).min(80.0);
    let bar = (group * 0.8 / 4.0).max(1.0);
    let mut svg = String::new();
    for (n, d) in days.iter().enumerate() {
        for (i, (name, colour)) in SERIES.iter().enumerate() {
            let v = value(d, i);
            let bh = (h - pad) * v as f64 / max as f64;
            let x = pad + n as f64 * group + i as f64 * bar;
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{bh:.1}" fill="{colour}"><title>{} {name}: {v}</title></rect>"#,
                h - pad - bh,
                d.day
            ));
        }
        if days.len() <= 10 || n % (days.len() / 10).max(1) == 0 {
            svg.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                pad + n as f64 * group,
                h - pad + 14.0,
                d.day.format("%m-%d")
            ));
        }
    }
    svg.push_str(&format!(
        r#"<text x="0" y="12" font-size="10">{max}</text><line x1="{pad}" y1="{0}" x2="{w}" y2="{0}" stroke="currentColor"/>"#,
        h - pad
    ));
    html! {
        figure.chart #daily-chart {
            svg viewBox=(format!("0 0 {w} {h}")) role="img" aria-labelledby="chart-caption"
                width=(w) height=(h) {
                (PreEscaped(svg))
            }
            figcaption #chart-caption {
                "Credits per day (UTC), last " (days.len()) " days: "
                @for (i, (name, colour)) in SERIES.iter().enumerate() {
                    @if i > 0 { ", " }
                    span class=(format!("swatch series-{name}")) data-colour=(colour) { "■ " } (name)
                }
                "."
            }
        }
    }
}

fn table(days: &[DayView]) -> Markup {
    html! {
        div.table-wrap {
            table #daily {
                thead { tr {
                    th scope="col" { "Day (UTC)" } th scope="col" { "Granted" } th scope="col" { "Escrowed" }
                    th scope="col" { "Earned" } th scope="col" { "Refunded" } th scope="col" { "Jobs launched" }
                    th scope="col" { "Completed" } th scope="col" { "Cancelled" } th scope="col" { "New members" }
                    th scope="col" { "Active members" }
                } }
                tbody {
                    @for d in days.iter().rev() {
                        @let t = &d.totals;
                        tr.day data-day=(d.day) data-granted=(t.granted) data-escrowed=(t.escrowed)
                            data-earned=(t.earned) data-refunded=(t.refunded)
                            data-jobs-launched=(t.jobs_launched) data-jobs-completed=(t.jobs_completed)
                            data-jobs-cancelled=(t.jobs_cancelled)
                            data-members-registered=(t.members_registered)
                            data-active-members=(t.active_members) {
                            th scope="row" data-label="Day (UTC)" { (d.day) }
                            td.num data-label="Granted" {
                                (credits(t.granted))
                                @for (c, n) in &t.granted_by_category { br; span.muted { (c) " " (credits(*n)) } }
                            }
                            td.num data-label="Escrowed" { (credits(t.escrowed)) }
                            td.num data-label="Earned" { (credits(t.earned)) }
                            td.num data-label="Refunded" { (credits(t.refunded)) }
                            td.num data-label="Jobs launched" { (t.jobs_launched) }
                            td.num data-label="Completed" { (t.jobs_completed) }
                            td.num data-label="Cancelled" { (t.jobs_cancelled) }
                            td.num data-label="New members" { (t.members_registered) }
                            td.num data-label="Active members" { (t.active_members) }
                        }
                    }
                }
            }
        }
    }
}

fn rule_name(r: FraudRule) -> &'static str {
    match r {
        FraudRule::Collusion => {
            "Collusion: one participant paid by one owner 3 times within 24 hours"
        }
        FraudRule::RefundChurn => "Refund churn: 3 jobs cancelled by one owner within 24 hours",
        FraudRule::QuickCashOut => "Quick cash-out: granted credits escrowed within 60 seconds",
    }
}

fn signals(r: &ReportsView) -> Markup {
    html! {
        @if r.signals.is_empty() { p { "None." } }
        ul #signals {
            @for s in r.signals.iter().rev() {
                li.signal data-rule=(serde_json::to_value(s.rule).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
                    data-members=(s.members.join(",")) data-positions=(s.positions.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
                    data-time=(s.time.to_rfc3339()) {
                    strong { (rule_name(s.rule)) } " — "
                    @for (i, m) in s.members.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/members/{}/history", seg(m))) { "@" (m) }
                    }
                    "; events "
                    @for (i, pos) in s.positions.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/admin/events/{pos}")) title="The entity as this event left it" { "#" (pos) }
                    }
                    ", " (super::events::time(&s.time))
                }
            }
        }
    }
}
