//! Times on the pages: in the viewer's time zone (a setting kept in a cookie, UTC until
//! chosen, and said next to times), while every `data-*` hook stays in UTC; time travel
//! from a date, or a date and time, read in that zone.

mod common;
mod web;

use chrono::{Duration, Utc};
use chrono_tz::Tz;
use common::App;
use reqwest::StatusCode;
use web::{Browser, admin};

/// Chooses `tz` on the settings page, coming back to `next`.
async fn choose_zone(b: &Browser, tz: &str, next: &str) {
    let done = b
        .submit(
            &format!("/settings?next={next}"),
            "/settings",
            &[("tz", tz), ("next", next)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location.as_deref(), Some(next));
    let back = b.follow(&done).await;
    assert!(
        back.has(&format!("Times now show in {tz}.")),
        "{}",
        back.html
    );
}

#[tokio::test]
async fn times_are_in_utc_until_a_zone_is_chosen_and_the_pages_say_so() {
    let app = App::start().await;
    app.member("alice", 100).await;
    let admin = admin(&app).await;
    let page = admin.get("/members/alice/history").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("times in UTC · "), "{}", page.html);
    assert!(page.has("href=\"/settings?next=%2Fmembers%2Falice%2Fhistory\""));
    let shown = page.attr("<time", "datetime").unwrap();
    assert!(shown.ends_with('Z'), "{shown}");
    let today = Utc::now().format("%Y-%m-%d").to_string();
    assert!(page.has(" UTC</time>") && page.has(&today), "{}", page.html);
}

#[tokio::test]
async fn a_chosen_zone_is_kept_and_times_show_in_it_while_the_hooks_stay_in_utc() {
    let app = App::start().await;
    app.member("alice", 100).await;
    let admin = admin(&app).await;
    let settings = admin.get("/settings").await;
    assert!(
        settings.has("<option value=\"Europe/Paris\">") && settings.has("name=\"tz\""),
        "{}",
        settings.html
    );
    choose_zone(&admin, "Asia/Kolkata", "/members/alice/history").await;
    let page = admin.get("/members/alice/history").await;
    assert!(page.has("times in Asia/Kolkata · "), "{}", page.html);
    assert!(page.has(" IST</time>"), "{}", page.html);
    // The hooks the tools read are as they were: UTC, RFC 3339.
    let hook = page.attr("tr class=\"event\"", "data-time").unwrap();
    assert!(hook.ends_with('Z'), "{hook}");
    let t: chrono::DateTime<Utc> = hook.parse().unwrap();
    let local = t.with_timezone(&"Asia/Kolkata".parse::<Tz>().unwrap());
    assert!(
        page.has(&local.format("%Y-%m-%d %H:%M:%S IST").to_string()),
        "{}",
        page.html
    );
    assert!(
        page.has("(Asia/Kolkata)"),
        "the exact time, in the zone, in the title"
    );
    // The settings page shows the choice.
    let settings = admin.get("/settings").await;
    assert!(settings.has("<option value=\"Asia/Kolkata\" selected>"));
}

#[tokio::test]
async fn a_zone_that_is_not_in_the_list_is_refused_and_a_bad_cookie_means_utc() {
    let app = App::start().await;
    let admin = admin(&app).await;
    let refused = admin
        .submit("/settings", "/settings", &[("tz", "Mars/Olympus")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert_eq!(refused.error_code().as_deref(), Some("invalid_time_zone"));
    let res = common::client()
        .get(app.url("/login"))
        .header("accept", "text/html")
        .header("cookie", "tally_tz=Not/AZone")
        .send()
        .await
        .unwrap();
    let page = Browser::got(res).await;
    assert!(page.has("times in UTC"), "{}", page.html);
}

#[tokio::test]
async fn time_travel_takes_a_day_or_a_date_and_time_read_in_the_viewers_zone() {
    let app = App::start().await;
    app.member("alice", 100).await;
    let admin = admin(&app).await;
    let history = admin.get("/members/alice/history").await;
    assert!(
        history.has("type=\"date\"") && history.has("type=\"datetime-local\""),
        "{}",
        history.html
    );
    // Kiribati's Line Islands are 14 hours ahead of UTC: a local time typed there is not
    // the same moment as the same digits in UTC.
    choose_zone(&admin, "Pacific/Kiritimati", "/members/alice/history").await;
    let zone: Tz = "Pacific/Kiritimati".parse().unwrap();
    let now = Utc::now().with_timezone(&zone);
    let soon = (now + Duration::minutes(2))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let latest = admin.get(&format!("/members/alice/state?at={soon}")).await;
    assert_eq!(latest.status, StatusCode::OK, "{}", latest.html);
    assert_eq!(
        latest.attr("id=\"snapshot\"", "data-version").as_deref(),
        Some("2")
    );
    // The same digits in UTC are 14 hours earlier here: before alice existed.
    let utc_digits = (Utc::now() + Duration::minutes(2))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let before = admin
        .get(&format!("/members/alice/state?at={utc_digits}"))
        .await;
    assert_eq!(before.error_code().as_deref(), Some("no_such_version"));
    // A day: everything recorded by its end, in the zone.
    let today = now.format("%Y-%m-%d").to_string();
    let day = admin.get(&format!("/members/alice/state?on={today}")).await;
    assert_eq!(
        day.attr("id=\"snapshot\"", "data-version").as_deref(),
        Some("2"),
        "{}",
        day.html
    );
    let yesterday = (now - Duration::days(1)).format("%Y-%m-%d").to_string();
    let none = admin
        .get(&format!("/members/alice/state?on={yesterday}"))
        .await;
    assert_eq!(none.error_code().as_deref(), Some("no_such_version"));
    // The form shows the moment asked for, in the zone.
    assert!(latest.has(&format!("value=\"{soon}\"")), "{}", latest.html);
    // An exact time, as links carry it, still works; nonsense is refused on its field.
    let exact = chrono::Utc::now().to_rfc3339();
    let linked = admin
        .get(&format!(
            "/members/alice/state?at={}",
            exact.replace('+', "%2B")
        ))
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.html);
    let bad = admin.get("/members/alice/state?at=next+tuesday").await;
    assert_eq!(bad.error_code().as_deref(), Some("invalid_as_of"));
    assert!(bad.has("aria-invalid=\"true\""));
}
