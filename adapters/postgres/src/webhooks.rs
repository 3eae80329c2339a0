//! Webhook endpoints and deliveries on PostgreSQL. The append statement queues deliveries
//! (its `queued` step) in the command's transaction; dispatchers claim due ones with
//! `FOR UPDATE SKIP LOCKED`, so that several processes share the queue without sending a
//! delivery twice at once, and a claim's lease (its `next_attempt_at`) hands a delivery to
//! another dispatcher if the one that claimed it dies.

use crate::PgStore;
use crate::error::outside;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tally_ports::Error;
use tally_ports::driven::StoreError;
use tally_ports::inbox::OutboxMessage;
use tally_ports::webhooks::{
    Attempted, Claimed, Delivery, DeliveryQuery, DeliveryStatus, Endpoint, WebhookStore,
};
use uuid::Uuid;

fn failed(what: &str, e: &sqlx::Error) -> Error {
    match outside(what, e) {
        StoreError::Other(m) => Error::infrastructure(m),
        other => Error::infrastructure(other),
    }
}

type EndpointRow = (
    Uuid,
    Option<String>,
    String,
    Vec<String>,
    String,
    bool,
    DateTime<Utc>,
);

fn endpoint((id, owner, url, kinds, secret, paused, created_at): EndpointRow) -> Endpoint {
    Endpoint {
        id,
        owner,
        url,
        kinds,
        secret,
        paused,
        created_at,
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn add_endpoint(&self, e: &Endpoint) -> tally_ports::Result<()> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, owner, url, kinds, secret, paused, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.id)
        .bind(e.owner.as_deref())
        .bind(&e.url)
        .bind(&e.kinds)
        .bind(&e.secret)
        .bind(e.paused)
        .bind(e.created_at)
        .execute(self.pool())
        .await
        .map_err(|e| failed("registering a webhook endpoint", &e))?;
        Ok(())
    }

    async fn endpoints(&self, owner: Option<Option<&str>>) -> tally_ports::Result<Vec<Endpoint>> {
        let rows: Vec<EndpointRow> = sqlx::query_as(
            "SELECT id, owner, url, kinds, secret, paused, created_at FROM webhook_endpoints
             WHERE NOT $1 OR owner IS NOT DISTINCT FROM $2
             ORDER BY created_at, id",
        )
        .bind(owner.is_some())
        .bind(owner.flatten())
        .fetch_all(self.pool())
        .await
        .map_err(|e| failed("listing webhook endpoints", &e))?;
        Ok(rows.into_iter().map(endpoint).collect())
    }

    async fn set_paused(&self, id: Uuid, paused: bool) -> tally_ports::Result<bool> {
        let r = sqlx::query("UPDATE webhook_endpoints SET paused = $2 WHERE id = $1")
            .bind(id)
            .bind(paused)
            .execute(self.pool())
            .await
            .map_err(|e| failed("pausing a webhook endpoint", &e))?;
        Ok(r.rows_affected() > 0)
    }

    async fn delete_endpoint(&self, id: Uuid) -> tally_ports::Result<bool> {
        let (deleted,): (i64,) = sqlx::query_as(
            "WITH gone AS (DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id),
                  deliveries AS (DELETE FROM webhook_deliveries WHERE endpoint = $1)
             SELECT count(*) FROM gone",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await
        .map_err(|e| failed("deleting a webhook endpoint", &e))?;
        Ok(deleted > 0)
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> tally_ports::Result<Vec<Claimed>> {
        type Row = (
            Uuid,
            i32,
            String,
            String,
            Uuid,
            serde_json::Value,
            Uuid,
            DateTime<Utc>,
        );
        // Autocommit, READ COMMITTED: the row locks last for this statement only; the lease
        // (next_attempt_at) is what keeps other dispatchers off the claimed rows after it.
        let rows: Vec<Row> = sqlx::query_as(
            "WITH due AS (
                 SELECT d.id FROM webhook_deliveries d
                 JOIN webhook_endpoints e ON e.id = d.endpoint AND NOT e.paused
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                 ORDER BY d.next_attempt_at
                 LIMIT $3
                 FOR UPDATE OF d SKIP LOCKED
             ),
             claimed AS (
                 UPDATE webhook_deliveries d
                 SET attempts = d.attempts + 1, next_attempt_at = $2
                 FROM due WHERE d.id = due.id
                 RETURNING d.id, d.attempts, d.endpoint, d.message
             )
             SELECT c.id, c.attempts, e.url, e.secret, n.id, n.body, n.command_id, n.created_at
             FROM claimed c
             JOIN webhook_endpoints e ON e.id = c.endpoint
             JOIN notifications n ON n.id = c.message",
        )
        .bind(now)
        .bind(lease_until)
        .bind(count(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| failed("claiming webhook deliveries", &e))?;
        rows.into_iter()
            .map(
                |(id, attempt, url, secret, message, body, command_id, time)| {
                    Ok(Claimed {
                        id,
                        attempt: u32::try_from(attempt).unwrap_or(0),
                        url,
                        secret,
                        message: OutboxMessage {
                            id: message,
                            notification: serde_json::from_value(body).map_err(|e| {
                                Error::infrastructure(format!(
                                    "notification {message} does not decode: {e}"
                                ))
                            })?,
                            command_id,
                            time,
                        },
                    })
                },
            )
            .collect()
    }

    async fn record(&self, outcomes: &[Attempted]) -> tally_ports::Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = outcomes.iter().map(|o| o.id).collect();
        let status: Vec<&str> = outcomes.iter().map(|o| o.status.as_str()).collect();
        let next: Vec<Option<DateTime<Utc>>> = outcomes.iter().map(|o| o.next_attempt_at).collect();
        let error: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
        let http: Vec<Option<i32>> = outcomes
            .iter()
            .map(|o| o.http_status.map(i32::from))
            .collect();
        let at: Vec<DateTime<Utc>> = outcomes.iter().map(|o| o.at).collect();
        // One statement for a batch of outcomes (the dispatcher groups those that finish
        // while one is being written).
        sqlx::query(
            "UPDATE webhook_deliveries d
             SET status = u.status,
                 next_attempt_at = coalesce(u.next, d.next_attempt_at),
                 last_error = u.error,
                 last_status = u.http,
                 delivered_at = CASE WHEN u.status = 'delivered' THEN u.at END
             FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::int4[],
                         $6::timestamptz[]) AS u(id, status, next, error, http, at)
             WHERE d.id = u.id",
        )
        .bind(&ids)
        .bind(&status)
        .bind(&next)
        .bind(&error)
        .bind(&http)
        .bind(&at)
        .execute(self.pool())
        .await
        .map_err(|e| failed("recording webhook attempts", &e))?;
        Ok(())
    }

    async fn deliveries(&self, q: &DeliveryQuery) -> tally_ports::Result<Vec<Delivery>> {
        type Row = (
            Uuid,
            Uuid,
            String,
            Uuid,
            String,
            String,
            String,
            i32,
            DateTime<Utc>,
            Option<String>,
            Option<i32>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.id, d.endpoint, e.url, d.message, n.kind, n.recipient, d.status,
                    d.attempts, d.next_attempt_at, d.last_error, d.last_status, d.delivered_at
             FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint
             JOIN notifications n ON n.id = d.message
             WHERE ($1::text IS NULL OR d.status = $1) AND ($2::uuid IS NULL OR d.endpoint = $2)
             ORDER BY d.created_at DESC, d.id DESC
             LIMIT $3",
        )
        .bind(q.status.map(DeliveryStatus::as_str))
        .bind(q.endpoint)
        .bind(count(q.limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| failed("listing webhook deliveries", &e))?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    endpoint,
                    url,
                    message,
                    kind,
                    recipient,
                    status,
                    attempts,
                    next,
                    error,
                    http,
                    delivered_at,
                )| {
                    let status = DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending);
                    Delivery {
                        id,
                        endpoint,
                        url,
                        message,
                        kind,
                        recipient,
                        status,
                        attempts: u32::try_from(attempts).unwrap_or(0),
                        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next),
                        last_error: error,
                        last_status: http.and_then(|h| u16::try_from(h).ok()),
                        delivered_at,
                    }
                },
            )
            .collect())
    }

    async fn redeliver(&self, id: Uuid, now: DateTime<Utc>) -> tally_ports::Result<bool> {
        let r = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| failed("queueing a webhook delivery again", &e))?;
        Ok(r.rows_affected() > 0)
    }

    async fn backlog(&self) -> tally_ports::Result<tally_ports::webhooks::Backlog> {
        // Each count on its partial index.
        let (pending, dead, oldest): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
                    (SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'),
                    (SELECT min(created_at) FROM webhook_deliveries WHERE status = 'pending')",
        )
        .fetch_one(self.pool())
        .await
        .map_err(|e| failed("counting webhook deliveries", &e))?;
        Ok(tally_ports::webhooks::Backlog {
            pending: pending.max(0) as u64,
            dead: dead.max(0) as u64,
            oldest_pending: oldest,
        })
    }
}
