//! The Prometheus exporter of `tally serve`: the recorder every crate's metrics go to, and
//! what is measured at scrape time (the history's head, how far its followers are behind,
//! the database pools).

use anyhow::{Context, Result};
use async_trait::async_trait;
use metrics::gauge;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::Arc;
use tally_ports::TallyService;
use tally_ports::driven::ReportStore;
use tally_ports::webhooks::WebhookStore;

/// The position of the last event recorded.
const HEAD: &str = "tally_history_head_position";
/// How many events a follower of the history in storage has not folded yet, by `follower`.
const LAG: &str = "tally_follower_lag_events";
/// Webhook deliveries waiting, and dead letters.
const PENDING: &str = "tally_webhook_deliveries_pending";
const DEAD: &str = "tally_webhook_deliveries_dead";
/// How long the oldest waiting webhook delivery has waited.
const OLDEST: &str = "tally_webhook_oldest_pending_seconds";
/// Database connections by `pool` and `state` (`in_use`, `idle`), and tasks waiting.
const CONNECTIONS: &str = "tally_db_connections";
const WAITING: &str = "tally_db_waiting";

/// Installs the Prometheus recorder (once per process).
pub fn install() -> Result<PrometheusHandle> {
    let seconds = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let events = [
        0.0,
        1.0,
        10.0,
        100.0,
        1_000.0,
        10_000.0,
        100_000.0,
        1_000_000.0,
    ];
    let commands = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_events".into()), &events))
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_commands".into()), &commands))
        .context("configuring the metrics' buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    tally_ports::telemetry::describe();
    tally_http::observe::describe();
    metrics::describe_gauge!(HEAD, "The position of the last event recorded");
    metrics::describe_gauge!(
        LAG,
        "Events a follower of the history in storage has not folded yet"
    );
    metrics::describe_gauge!(PENDING, "Webhook deliveries waiting for an attempt");
    metrics::describe_gauge!(DEAD, "Webhook deliveries that are dead letters");
    metrics::describe_gauge!(
        OLDEST,
        metrics::Unit::Seconds,
        "How long the oldest waiting webhook delivery has waited"
    );
    metrics::describe_gauge!(CONNECTIONS, "Database connections, by pool and state");
    metrics::describe_gauge!(WAITING, "Tasks waiting for a database connection, by pool");
    metrics::describe_counter!(
        tally_postgres::replica::READS,
        "Reads on the standby, and those sent to the primary because it lagged"
    );
    Ok(handle)
}

/// What `/metrics` renders: the recorder's metrics, with the gauges measured now.
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub tally: Arc<TallyService>,
    pub reports: Arc<dyn ReportStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub pg: Option<tally_postgres::PgStore>,
}

#[async_trait]
impl tally_http::observe::MetricsSource for Scrape {
    async fn render(&self) -> String {
        // A gauge that cannot be measured now keeps its last value; the failure is logged.
        match self.tally.store().head().await {
            Ok(head) => {
                let head = head.unwrap_or(0);
                gauge!(HEAD).set(head as f64);
                match self.reports.load_reports().await {
                    Ok(r) => gauge!(LAG, "follower" => "reports")
                        .set(head.saturating_sub(r.checkpoint) as f64),
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics: reading the reports' checkpoint")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the history's head"),
        }
        match self.webhooks.backlog().await {
            Ok(b) => {
                gauge!(PENDING).set(b.pending as f64);
                gauge!(DEAD).set(b.dead as f64);
                let waited = b.oldest_pending.map_or(0.0, |t| {
                    (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                });
                gauge!(OLDEST).set(waited);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: counting webhook deliveries"),
        }
        if let Some(pg) = &self.pg {
            for p in pg.pool_stats() {
                gauge!(CONNECTIONS, "pool" => p.name, "state" => "in_use").set(f64::from(p.in_use));
                gauge!(CONNECTIONS, "pool" => p.name, "state" => "idle").set(f64::from(p.idle));
                gauge!(WAITING, "pool" => p.name).set(f64::from(p.waiting));
            }
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}
