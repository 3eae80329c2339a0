//! The viewer's time zone: chosen on `/settings`, kept in a cookie (`tally_tz=Europe/Paris`),
//! UTC until then. Pages show times in it; every `data-*` hook stays in UTC (RFC 3339).
//!
//! The zone is a setting of the whole request, like a language: a middleware reads it once
//! and every time rendered while the request is handled uses it ([`viewer`]), so that each
//! page's renderers need not pass it down (and pages that show a time need no change).

use super::forms::Fields;
use super::page::{Page, header_value};
use super::security::{self, Flash};
use crate::AppState;
use axum::Router;
use axum::extract::{Query, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;
use tally_ports::Error;

/// The cookie that holds the viewer's zone, by its IANA name.
pub(crate) const TZ_COOKIE: &str = "tally_tz";

tokio::task_local! {
    static ZONE: Tz;
}

/// The zone of the viewer whose request is being handled (UTC outside a request).
pub(crate) fn viewer() -> Tz {
    ZONE.try_with(|z| *z).unwrap_or(Tz::UTC)
}

/// A zone from its IANA name (`Europe/Paris`, `UTC`), exactly as listed.
pub(crate) fn parse(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

/// Runs the rest of the request in the zone its cookie names.
pub(crate) async fn scope(req: Request, next: Next) -> Response {
    let tz = security::cookies(req.headers())
        .into_iter()
        .find(|(k, _)| k == TZ_COOKIE)
        .and_then(|(_, v)| parse(&v))
        .unwrap_or(Tz::UTC);
    ZONE.scope(tz, next.run(req)).await
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/settings", get(settings).post(choose))
}

/// Where to come back to: a path of this site, else the settings page.
fn back_to(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/settings"
    }
}

/// `times in UTC · change`: next to times, so that nobody misreads them.
pub(crate) fn note(here: &str) -> Markup {
    let href = format!(
        "/settings?{}",
        serde_urlencoded::to_string([("next", here)]).unwrap_or_default()
    );
    html! {
        span.zone-note data-zone=(viewer().name()) {
            "times in " (viewer().name()) " · " a href=(href) { "change" }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Back {
    #[serde(default)]
    next: String,
}

async fn settings(p: Page, Query(q): Query<Back>) -> Response {
    let tz = viewer();
    let body = html! {
        h1 { "Settings" }
        section.card aria-labelledby="zone-title" {
            h2 #zone-title { "Time zone" }
            p { "Times are shown in " strong #current-zone data-zone=(tz.name()) { (tz.name()) } "." }
            form #zone-form method="post" action="/settings" {
                input type="hidden" name=(security::CSRF_FIELD) value=(p.csrf());
                input type="hidden" name="next" value=(back_to(&q.next));
                div.field {
                    label for="field-tz" { "Show times in" }
                    p.hint #field-tz-hint { "Kept in this browser (a cookie)." }
                    select #field-tz name="tz" aria-describedby="field-tz-hint" {
                        @for z in chrono_tz::TZ_VARIANTS {
                            option value=(z.name()) selected[z == tz] { (z.name()) }
                        }
                    }
                }
                div.actions { button type="submit" { "Save" } }
            }
        }
    };
    p.ok("Settings", body)
}

async fn choose(p: Page, f: Fields) -> Response {
    if let Err(res) = p.command(&f) {
        return *res;
    }
    let Some(tz) = parse(f.get("tz")) else {
        let e = Error::invalid(
            "tz",
            "invalid_time_zone",
            "choose a time zone from the list (an IANA name such as Europe/Paris)",
        );
        return p.error_page(e, "Settings", None);
    };
    let mut res = p.see_other(
        back_to(f.get("next")),
        &Flash::note(format!("Times now show in {}.", tz.name())),
    );
    let cookie = security::cookie(
        TZ_COOKIE,
        tz.name(),
        400 * 24 * 3600,
        "Lax",
        p.state.config.secure_cookies,
    );
    res.headers_mut()
        .append(header::SET_COOKIE, header_value(&cookie));
    res
}

/// A time as typed in a form, in `tz`: a date (`2025-03-01`: the end of that day, everything
/// recorded on it), a date and time from a `datetime-local` field (`2025-03-01T09:30`, or with
/// seconds: that moment), or an exact RFC 3339 time with its offset (as links carry it).
///
/// # Errors
/// A message for people when it is none of those, or names a moment the zone skipped.
pub(crate) fn parse_local(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        // The end of the day: just before the next one starts (at midnight, or whenever
        // the zone's next day begins).
        let next = d
            .succ_opt()
            .and_then(|n| n.and_hms_opt(0, 0, 0))
            .ok_or("that date is out of range")?;
        let start = earliest(tz, next).ok_or("that date is out of range")?;
        return Ok(start - Duration::microseconds(1));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .ok_or("a time is a date (2025-03-01), or a date and a time (2025-03-01T09:30)")?;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // Clocks went back: the time came twice; the first of them.
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{} never happened in {}: the clocks went forward",
            local.format("%Y-%m-%d %H:%M"),
            tz.name()
        )),
    }
}

/// The first moment of a local time in `tz`, or of the first that exists after it.
fn earliest(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=24).find_map(|h| {
        tz.from_local_datetime(&(local + Duration::hours(h)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_local_time_is_read_in_the_viewers_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            parse_local("2025-03-01T09:30", paris).unwrap(),
            utc("2025-03-01T08:30:00Z")
        );
        assert_eq!(
            parse_local("2025-07-01T09:30:15", paris).unwrap(),
            utc("2025-07-01T07:30:15Z")
        );
        assert_eq!(
            parse_local("2025-03-01T09:30", Tz::UTC).unwrap(),
            utc("2025-03-01T09:30:00Z")
        );
    }

    #[test]
    fn a_date_means_the_end_of_that_day_in_the_viewers_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            parse_local("2025-03-01", paris).unwrap(),
            utc("2025-03-01T22:59:59.999999Z")
        );
    }

    #[test]
    fn an_exact_time_with_its_offset_is_taken_as_it_is() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            parse_local("2025-03-01T09:30:00.123456Z", paris).unwrap(),
            utc("2025-03-01T09:30:00.123456Z")
        );
    }

    #[test]
    fn a_time_the_clocks_skipped_is_refused_and_a_doubled_one_is_its_first() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let err = parse_local("2025-03-30T02:30", paris).unwrap_err();
        assert!(err.contains("never happened"), "{err}");
        assert_eq!(
            parse_local("2025-10-26T02:30", paris).unwrap(),
            utc("2025-10-26T00:30:00Z")
        );
        assert!(parse_local("yesterday", paris).is_err());
    }

    #[test]
    fn only_this_sites_paths_are_gone_back_to() {
        assert_eq!(back_to("/admin/feed?x=1"), "/admin/feed?x=1");
        assert_eq!(back_to("//evil.example"), "/settings");
        assert_eq!(back_to("https://evil.example"), "/settings");
        assert_eq!(back_to(""), "/settings");
    }
}
