//! A wallet's statement: its movements of credits, newest first, filtered and paged.

use super::Problems;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CallCtx, Path, Query};
use crate::links::{Linked, Links};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tally_api::paths;
use tally_ports::Error;
use tally_ports::statement::{LineKind, MAX_LINES, Statement, StatementQuery};
use utoipa::IntoParams;

/// Which lines of a statement to show. Every field is read as text, so that the pages and the
/// API refuse the same input with the same message.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatementParams {
    /// Kinds, comma-separated: `granted`, `escrowed`, `refunded`, `earned`, `paid_out`
    /// (default: every kind).
    kind: Option<String>,
    /// Lines recorded from this date (`YYYY-MM-DD`, from its start in UTC) or time (RFC 3339).
    from: Option<String>,
    /// Lines recorded up to this date (`YYYY-MM-DD`, to its end in UTC) or before this time
    /// (RFC 3339).
    until: Option<String>,
    /// Lines older than this wallet version (the `next` link).
    #[param(value_type = Option<u64>, minimum = 1)]
    before: Option<String>,
    /// At most this many lines (default 50, at most 500).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 500)]
    limit: Option<String>,
}

/// `from`/`until` as a time: a date (its start, or for `until` the start of the next day, in
/// `zone`) or an RFC 3339 time.
fn moment(field: &str, s: &str, end_of_day: bool, zone: Tz) -> Result<DateTime<Utc>, Error> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        // A midnight the clocks skipped: the day starts an hour later.
        let local = zone.from_local_datetime(&midnight).earliest().or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        });
        return Ok(local.map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::invalid(
                field,
                "invalid_query",
                format!(
                    "{field} is a date (YYYY-MM-DD) or a time (RFC 3339, e.g. 2026-12-01T09:30:00Z)"
                ),
            )
        })
}

/// A field's text, unless it is blank.
fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl StatementParams {
    /// The query as it was sent, checked.
    ///
    /// # Errors
    /// `invalid_query`, naming the field.
    pub(crate) fn parse(&self) -> Result<StatementQuery, Error> {
        self.parse_in(Tz::UTC)
    }

    /// The query, its dates read in `zone` (a page's viewer's).
    ///
    /// # Errors
    /// `invalid_query`, naming the field.
    pub(crate) fn parse_in(&self, zone: Tz) -> Result<StatementQuery, Error> {
        let mut kinds = Vec::new();
        for w in text(&self.kind)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
        {
            if w.is_empty() {
                continue;
            }
            kinds.push(LineKind::parse(w).ok_or_else(|| {
                Error::invalid(
                    "kind",
                    "invalid_query",
                    format!("'{w}' is not a kind of line: use granted, escrowed, refunded, earned or paid_out"),
                )
            })?);
        }
        // A number sent empty is not absent (its schema says a number); only the page's
        // filter form sends empty fields, and it has none of these.
        let number = |field: &str, v: &Option<String>, min: u64, max: u64| {
            v.as_deref()
                .map(str::trim)
                .map(|v| {
                    v.parse::<u64>()
                        .ok()
                        .filter(|n| (min..=max).contains(n))
                        .ok_or_else(|| {
                            Error::invalid(
                                field,
                                "invalid_query",
                                format!("{field} is a whole number from {min} to {max}"),
                            )
                        })
                })
                .transpose()
        };
        let from = text(&self.from)
            .map(|s| moment("from", s, false, zone))
            .transpose()?;
        let until = text(&self.until)
            .map(|s| moment("until", s, true, zone))
            .transpose()?;
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            return Err(Error::invalid(
                "from",
                "invalid_query",
                "from is after until: nothing is in between",
            ));
        }
        Ok(StatementQuery {
            kinds,
            from,
            until,
            before: number("before", &self.before, 1, i64::MAX as u64)?,
            limit: number("limit", &self.limit, 1, MAX_LINES as u64)?
                .map_or(0, |n| usize::try_from(n).unwrap_or(MAX_LINES)),
        })
    }

    /// The query as it was sent, as an address's query string (blank fields left out).
    pub(crate) fn query_string(&self) -> String {
        let mut pairs = self.older(0);
        pairs.pop();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The kind chosen, when one is (for a select).
    pub(crate) fn kind_word(&self) -> &str {
        text(&self.kind).unwrap_or_default()
    }

    /// A date field as a date input shows it (`YYYY-MM-DD`), or blank.
    pub(crate) fn date(&self, field: &str) -> String {
        let v = match field {
            "from" => &self.from,
            _ => &self.until,
        };
        text(v)
            .filter(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The same query from an older page.
    pub(crate) fn older(&self, before: u64) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = [
            ("kind", &self.kind),
            ("from", &self.from),
            ("until", &self.until),
            ("limit", &self.limit),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
        out.push(("before", before.to_string()));
        out
    }
}

/// A wallet's statement (the member or an admin): its movements of credits, newest first,
/// each with its signed effect on the available balance, the balance after it, the job's
/// title and who was on the other side; with the balance over time.
#[utoipa::path(get, path = paths::STATEMENT, tag = "members", operation_id = "statement",
    params(("handle" = String, Path, description = "The member's handle"), StatementParams),
    responses((status = 200, description = "The statement", body = Linked<Statement>), Problems))]
pub(crate) async fn statement(
    State(s): State<AppState>,
    CallCtx(ctx): CallCtx,
    Path(handle): Path<String>,
    Query(q): Query<StatementParams>,
) -> Result<Response, ApiError> {
    let query = q.parse().map_err(super::unprocessable)?;
    let st = s.tally.statement(&ctx, &handle, query).await?;
    let here = paths::statement(&st.handle);
    let mut links = Links::new()
        .get("self", here.clone())
        .get("wallet", paths::wallet(&st.handle));
    if let Some(b) = st.older {
        let query = serde_urlencoded::to_string(q.older(b)).unwrap_or_default();
        links = links.get("next", format!("{here}?{query}"));
    }
    Ok(Json(Linked { body: st, links }).into_response())
}
