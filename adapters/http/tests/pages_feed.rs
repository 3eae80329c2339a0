//! The admins' history feed page: newest first by default (oldest first on request), paged
//! both ways, filtered by event type, member and job, each event told in words with its
//! job's title, the raw envelope on demand; on both storages.

mod common;
mod web;

use common::App;
use reqwest::StatusCode;
use serde_json::json;
use web::{Got, admin};

/// Every value of `attr` on the page's feed rows, in the order shown.
fn hooks<'a>(page: &'a Got, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    page.html
        .split("<tr class=\"event\"")
        .skip(1)
        .filter_map(|row| {
            let start = row.find(&needle)? + needle.len();
            Some(&row[start..start + row[start..].find('"')?])
        })
        .collect()
}

fn positions(page: &Got) -> Vec<u64> {
    hooks(page, "data-position")
        .iter()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// The `href` of the link `rel` on the page, `&amp;`s undone.
fn rel(page: &Got, rel: &str) -> Option<String> {
    page.attr(&format!("rel=\"{rel}\""), "href")
        .or_else(|| {
            // `href` may come before `rel` in the tag.
            let at = page.html.find(&format!("rel=\"{rel}\""))?;
            let tag = page.html[..at].rfind("<a ")?;
            let open = &page.html[tag..at];
            let start = open.find("href=\"")? + 6;
            Some(open[start..start + open[start..].find('"')?].to_owned())
        })
        .map(|h| h.replace("&amp;", "&"))
}

/// alice (100 credits) launches "Paint the fence" for 30; bob (no credits) applies.
async fn history(app: &App) -> String {
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 30).await;
    let a = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": "I paint"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    job
}

#[tokio::test]
async fn the_feed_shows_the_newest_first_each_event_in_words_with_the_raw_envelope_on_demand() {
    for app in App::each().await {
        let job = history(&app).await;
        let admin = admin(&app).await;
        let page = admin.get("/admin/feed").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        let shown = positions(&page);
        assert_eq!(shown, [6, 5, 4, 3, 2, 1], "{}", page.html);
        assert_eq!(
            hooks(&page, "data-event-type")[..3],
            ["ApplicationSubmitted", "CreditsEscrowed", "JobLaunched"]
        );
        assert_eq!(
            page.attr("id=\"feed\"", "data-order").as_deref(),
            Some("newest")
        );
        let title = format!("href=\"/jobs/{job}\">‘Paint the fence’</a>");
        assert!(page.has(&title), "{}", page.html);
        for words in [
            ">bob</a> applied to <a",
            ">alice</a> launched <a",
            "the admin granted <span class=\"credits\">100 <abbr",
            " to <a href=\"/members/alice/wallet\">alice</a>",
            "went into escrow for <a",
            "the admin registered <a href=\"/members/bob/wallet\">bob</a>",
        ] {
            assert!(page.has(words), "{words:?} in {}", page.html);
        }
        // The raw envelope, on demand.
        assert!(page.has("<details"), "{}", page.html);
        assert!(
            page.has(&format!("<dd><code>job:{job}</code> v2</dd>")),
            "{}",
            page.html
        );
        assert!(
            page.has("times in UTC"),
            "the zone is said next to the times"
        );
    }
}

#[tokio::test]
async fn the_feed_pages_both_ways_newest_first_or_oldest_first() {
    for app in App::each().await {
        history(&app).await;
        let admin = admin(&app).await;
        let first = admin.get("/admin/feed?limit=2").await;
        assert_eq!(positions(&first), [6, 5]);
        assert_eq!(rel(&first, "prev"), None, "nothing is newer");
        let older = admin.get(&rel(&first, "next").unwrap()).await;
        assert_eq!(positions(&older), [4, 3]);
        let oldest = admin.get(&rel(&older, "next").unwrap()).await;
        assert_eq!(positions(&oldest), [2, 1]);
        assert_eq!(rel(&oldest, "next"), None, "nothing is older");
        let newer = admin.get(&rel(&oldest, "prev").unwrap()).await;
        assert_eq!(positions(&newer), [4, 3]);

        let start = admin.get("/admin/feed?order=oldest&limit=4").await;
        assert_eq!(positions(&start), [1, 2, 3, 4]);
        assert_eq!(
            start.attr("id=\"feed\"", "data-order").as_deref(),
            Some("oldest")
        );
        let later = admin.get(&rel(&start, "next").unwrap()).await;
        assert_eq!(positions(&later), [5, 6]);
        assert!(later.has("You are up to date."));
        let earlier = admin.get(&rel(&later, "prev").unwrap()).await;
        assert_eq!(positions(&earlier), [1, 2, 3, 4]);
        // The toggle keeps the filters and starts again.
        let toggled = admin
            .get("/admin/feed?type=CreditsGranted&order=oldest")
            .await;
        assert!(
            toggled.has("href=\"/admin/feed?type=CreditsGranted\""),
            "{}",
            toggled.html
        );
    }
}

#[tokio::test]
async fn the_feed_filters_by_event_type_member_and_job() {
    for app in App::each().await {
        let job = history(&app).await;
        let admin = admin(&app).await;
        let grants = admin.get("/admin/feed?type=CreditsGranted").await;
        assert_eq!(hooks(&grants, "data-event-type"), ["CreditsGranted"]);
        // bob's: his wallet's registration, and his application (on the job, by him).
        let bob = admin.get("/admin/feed?member=bob").await;
        assert_eq!(
            hooks(&bob, "data-event-type"),
            ["ApplicationSubmitted", "MemberRegistered"],
            "{}",
            bob.html
        );
        // The job's: its own stream, and the wallet events that name it.
        let of_job = admin.get(&format!("/admin/feed?job={job}")).await;
        assert_eq!(
            hooks(&of_job, "data-event-type"),
            ["ApplicationSubmitted", "CreditsEscrowed", "JobLaunched"]
        );
        let both = admin
            .get(&format!("/admin/feed?job={job}&member=alice&order=oldest"))
            .await;
        assert_eq!(
            hooks(&both, "data-event-type"),
            ["JobLaunched", "CreditsEscrowed"]
        );
        let none = admin.get("/admin/feed?member=bob&type=JobLaunched").await;
        assert!(positions(&none).is_empty());
        assert!(none.has("No event matches these filters."), "{}", none.html);
        // The form shows what is filtered.
        assert!(bob.has("value=\"bob\""));
        for (q, code) in [
            ("type=NoSuchEvent", "invalid_query"),
            ("member=Not%20a%20handle", "invalid_handle"),
            ("job=..%2F", "invalid_job_id"),
        ] {
            let bad = admin.get(&format!("/admin/feed?{q}")).await;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{q}: {}", bad.html);
            assert_eq!(bad.error_code().as_deref(), Some(code), "{q}");
        }
    }
}

#[tokio::test]
async fn a_job_launched_on_an_earlier_page_is_still_named_by_its_title() {
    let app = App::start().await;
    let job = history(&app).await;
    let admin = admin(&app).await;
    let page = admin.get("/admin/feed?limit=1").await;
    assert_eq!(hooks(&page, "data-event-type"), ["ApplicationSubmitted"]);
    assert!(
        page.has(&format!("href=\"/jobs/{job}\">‘Paint the fence’</a>")),
        "{}",
        page.html
    );
}

#[tokio::test]
async fn the_feed_page_is_for_admins() {
    let app = App::start().await;
    let bob = web::member(&app, "bob", 0).await;
    let page = bob.get("/admin/feed").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.error_code().as_deref(), Some("admin_only"));
}
