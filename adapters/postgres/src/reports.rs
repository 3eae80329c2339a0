//! The reports on PostgreSQL: one row holding the document and its checkpoint, written by
//! one statement, and never replaced by an older checkpoint (two followers racing cannot
//! take the reports back).

use crate::PgStore;
use crate::error::outside;
use async_trait::async_trait;
use tally_ports::driven::{ReportStore, StoreError};
use tally_ports::reports::{FORMAT, Reports};

/// The name of Tally's one report set (the table can hold others, a rebuild's say).
const NAME: &str = "main";

#[async_trait]
impl ReportStore for PgStore {
    async fn load_reports(&self) -> Result<Reports, StoreError> {
        let row: Option<(i32, serde_json::Value)> =
            sqlx::query_as("SELECT format, doc FROM reports WHERE name = $1")
                .bind(NAME)
                .fetch_optional(self.views().await.pool())
                .await
                .map_err(|e| outside("reading the reports", &e))?;
        Ok(match row {
            Some((format, doc)) if u32::try_from(format) == Ok(FORMAT) => {
                serde_json::from_value(doc).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "saved reports do not decode; folding again from 0");
                    Reports::new()
                })
            }
            Some((format, _)) => {
                tracing::info!(
                    format,
                    "saved reports are of another format; folding again from 0"
                );
                Reports::new()
            }
            None => Reports::new(),
        })
    }

    async fn replace_reports(&self, reports: &Reports) -> Result<(), StoreError> {
        self.write_reports(reports, true).await.map(|_| ())
    }

    async fn save_reports(&self, reports: &Reports) -> Result<bool, StoreError> {
        self.write_reports(reports, false).await
    }
}

impl PgStore {
    /// Writes the reports unless newer ones are saved (or whatever is saved, with `replace`).
    async fn write_reports(&self, reports: &Reports, replace: bool) -> Result<bool, StoreError> {
        let doc = serde_json::to_value(reports).map_err(|e| StoreError::Other(e.to_string()))?;
        let checkpoint = i64::try_from(reports.checkpoint)
            .map_err(|_| StoreError::Other("checkpoint out of range".into()))?;
        let format = i32::try_from(FORMAT).unwrap_or(i32::MAX);
        let done = sqlx::query(
            "INSERT INTO reports AS r (name, format, checkpoint, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE
                 SET format = EXCLUDED.format, checkpoint = EXCLUDED.checkpoint,
                     doc = EXCLUDED.doc, updated_at = now()
                 WHERE $5 OR r.checkpoint < EXCLUDED.checkpoint OR r.format <> EXCLUDED.format",
        )
        .bind(NAME)
        .bind(format)
        .bind(checkpoint)
        .bind(doc)
        .bind(replace)
        .execute(self.pool())
        .await
        .map_err(|e| outside("saving the reports", &e))?;
        // The next view read on a standby waits until it has these reports.
        self.wrote_elsewhere();
        Ok(done.rows_affected() == 1)
    }
}
