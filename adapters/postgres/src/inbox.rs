//! The outbox's read side on PostgreSQL: a member's inbox (the append statement writes the
//! rows, in the command's transaction).

use crate::PgStore;
use crate::error::outside;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tally_domain::Handle;
use tally_ports::driven::{Outbox, StoreError};
use tally_ports::inbox::{InboxItem, InboxQuery, MarkRead, OutboxMessage, StoredInbox};
use uuid::Uuid;

type Row = (
    Uuid,
    serde_json::Value,
    Uuid,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn item((id, body, command_id, time, read_at): Row) -> Result<InboxItem, StoreError> {
    Ok(InboxItem {
        message: OutboxMessage {
            id,
            notification: serde_json::from_value(body).map_err(|e| {
                StoreError::Other(format!("notification {id} does not decode: {e}"))
            })?,
            command_id,
            time,
        },
        read_at,
    })
}

#[async_trait]
impl Outbox for PgStore {
    async fn inbox(&self, recipient: &Handle, q: &InboxQuery) -> Result<StoredInbox, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, body, command_id, created_at, read_at FROM notifications
             WHERE recipient = $1 AND ($2::uuid IS NULL OR id < $2)
               AND (NOT $3 OR read_at IS NULL)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(recipient.as_str())
        .bind(q.before)
        .bind(q.unread_only)
        .bind(i64::try_from(q.limit + 1).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(|e| outside("reading an inbox", &e))?;
        let items = rows.into_iter().map(item).collect::<Result<_, _>>()?;
        Ok(StoredInbox {
            items,
            unread: self.unread(recipient).await?,
        })
    }

    async fn unread(&self, recipient: &Handle) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE recipient = $1 AND read_at IS NULL",
        )
        .bind(recipient.as_str())
        .fetch_one(self.pool())
        .await
        .map_err(|e| outside("counting unread notifications", &e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn mark_read(
        &self,
        recipient: &Handle,
        which: MarkRead,
        at: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let (found, marked): (i64, i64) = match which {
            MarkRead::One(id) => sqlx::query_as(
                "WITH mine AS (SELECT id, read_at FROM notifications
                               WHERE recipient = $1 AND id = $2),
                      marked AS (UPDATE notifications n SET read_at = $3 FROM mine
                                 WHERE n.id = mine.id AND mine.read_at IS NULL RETURNING 1)
                 SELECT (SELECT count(*) FROM mine), (SELECT count(*) FROM marked)",
            )
            .bind(recipient.as_str())
            .bind(id),
            MarkRead::All => sqlx::query_as(
                "WITH marked AS (UPDATE notifications SET read_at = $3
                                 WHERE recipient = $1 AND read_at IS NULL
                                   AND $2::uuid IS NULL RETURNING 1)
                 SELECT 1::int8, (SELECT count(*) FROM marked)",
            )
            .bind(recipient.as_str())
            .bind(None::<Uuid>),
        }
        .bind(at)
        .fetch_one(self.pool())
        .await
        .map_err(|e| outside("marking notifications read", &e))?;
        Ok((found > 0).then(|| u64::try_from(marked).unwrap_or(0)))
    }
}
