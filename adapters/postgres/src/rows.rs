//! Rows to port types and back.

use crate::error::corrupt;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use tally_ports::driven::{CachedState, StoreError};
use tally_ports::{Actor, FoldEvent, Payload, RecordedEvent, StreamId};
use uuid::Uuid;

/// The columns of an event, in the order [`event`] reads them.
macro_rules! event_columns {
    ($e:literal) => {
        concat!(
            $e,
            ".position, ",
            $e,
            ".stream, ",
            $e,
            ".version, ",
            $e,
            ".event_type, ",
            $e,
            ".schema_version, ",
            $e,
            ".payload, ",
            $e,
            ".actor, ",
            $e,
            ".event_id, ",
            $e,
            ".command_id, ",
            $e,
            ".correlation_id, ",
            $e,
            ".causation_id, ",
            $e,
            ".time"
        )
    };
}
pub(crate) use event_columns;

fn get<'r, T>(row: &'r PgRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    // The columns are ours (see the migrations): skip the per-value type check, which
    // costs more than decoding when replaying long streams.
    row.try_get_unchecked(i)
        .map_err(|e| corrupt(format!("column {i}: {e}")))
}

/// A stored count or version as the port's `u64`.
pub(crate) fn unsigned(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative number {v}")))
}

/// A `u64` from the port as a PostgreSQL `bigint`.
pub(crate) fn signed(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Other(format!("{v} does not fit a bigint")))
}

pub(crate) fn stream(s: &str) -> Result<StreamId, StoreError> {
    StreamId::parse(s).map_err(|e| corrupt(format!("stream {s:?}: {e}")))
}

/// Reads events from rows, reusing the stream and actor of the previous row when they
/// repeat (they nearly always do: parsing them again would cost more than the rest of the
/// row when replaying a long stream).
#[derive(Default)]
pub(crate) struct Decoder {
    stream: Option<(String, StreamId)>,
    actor: Option<(String, Actor)>,
}

impl Decoder {
    fn stream(&mut self, s: &str) -> Result<StreamId, StoreError> {
        match &self.stream {
            Some((raw, id)) if raw == s => Ok(id.clone()),
            _ => {
                let id = stream(s)?;
                self.stream = Some((s.to_owned(), id.clone()));
                Ok(id)
            }
        }
    }

    fn actor(&mut self, s: &str) -> Result<Actor, StoreError> {
        match &self.actor {
            Some((raw, a)) if raw == s => Ok(a.clone()),
            _ => {
                let a = s
                    .parse::<Actor>()
                    .map_err(|e| corrupt(format!("actor: {e}")))?;
                self.actor = Some((s.to_owned(), a.clone()));
                Ok(a)
            }
        }
    }

    /// Reads an event from `row`, whose columns from `at` on are [`event_columns`].
    pub(crate) fn event(&mut self, row: &PgRow, at: usize) -> Result<RecordedEvent, StoreError> {
        Ok(RecordedEvent {
            position: unsigned(get(row, at)?)?,
            stream: self.stream(get(row, at + 1)?)?,
            version: unsigned(get(row, at + 2)?)?,
            event_type: get(row, at + 3)?,
            schema_version: u32::try_from(get::<i32>(row, at + 4)?)
                .map_err(|_| corrupt("negative schema version"))?,
            payload: get(row, at + 5)?,
            actor: self.actor(get(row, at + 6)?)?,
            event_id: get::<Uuid>(row, at + 7)?,
            command_id: get::<Uuid>(row, at + 8)?,
            correlation_id: get::<Uuid>(row, at + 9)?,
            causation_id: get::<Uuid>(row, at + 10)?,
            time: get::<DateTime<Utc>>(row, at + 11)?,
        })
    }
}

/// Reads what folding needs from columns `at..at + 4`: version, type, schema version and
/// payload text, borrowed from the row.
pub(crate) fn fold_event(row: &PgRow, at: usize) -> Result<FoldEvent<'_>, StoreError> {
    Ok(FoldEvent {
        version: unsigned(get(row, at)?)?,
        event_type: get(row, at + 1)?,
        schema_version: u32::try_from(get::<i32>(row, at + 2)?)
            .map_err(|_| corrupt("negative schema version"))?,
        payload: Payload::Text(get(row, at + 3)?),
    })
}

/// Reads a cache row from columns `at..at + 4`: stream, version, format, state.
pub(crate) fn cached(row: &PgRow, at: usize) -> Result<CachedState, StoreError> {
    Ok(CachedState {
        stream: stream(get(row, at)?)?,
        version: unsigned(get(row, at + 1)?)?,
        format: get(row, at + 2)?,
        state: get(row, at + 3)?,
    })
}

/// Cache rows as parallel arrays (for `UNNEST`), one per stream: the newest of each.
#[derive(Default)]
pub(crate) struct CacheArrays {
    pub streams: Vec<String>,
    pub kinds: Vec<&'static str>,
    pub versions: Vec<i64>,
    pub formats: Vec<String>,
    pub states: Vec<serde_json::Value>,
}

impl CacheArrays {
    pub(crate) fn new(rows: &[CachedState]) -> Result<Self, StoreError> {
        // ON CONFLICT cannot touch one row twice in a statement: keep each stream's newest.
        let mut newest: Vec<&CachedState> = Vec::with_capacity(rows.len());
        for r in rows {
            match newest.iter_mut().find(|n| n.stream == r.stream) {
                Some(n) if n.version <= r.version => *n = r,
                Some(_) => {}
                None => newest.push(r),
            }
        }
        let mut a = Self::default();
        for r in newest {
            a.streams.push(r.stream.to_string());
            a.kinds.push(r.stream.kind().as_str());
            a.versions.push(signed(r.version)?);
            a.formats.push(r.format.clone());
            a.states.push(r.state.clone());
        }
        Ok(a)
    }
}
