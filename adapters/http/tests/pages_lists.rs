//! The pages of lists: the job board searched, filtered and paged; a member's jobs; a job's
//! public page for visitors; the wallet's statement and its CSV export.

mod common;
mod web;

use common::App;
use reqwest::{StatusCode, header};
use serde_json::json;
use web::{Browser, member};

/// Launches a job through the API with a title and description; returns its id.
async fn job(app: &App, token: &str, title: &str, description: &str, reward: i64) -> String {
    let a = app
        .post(
            "/api/v1/jobs",
            Some(token),
            json!({"title": title, "description": description, "reward": reward}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["events"][0]["stream"]
        .as_str()
        .unwrap()
        .trim_start_matches("job:")
        .to_owned()
}

/// The ids of the jobs a list page shows, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("<tr class=\"job\" data-job-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_board_is_searched_filtered_and_paged_newest_first() {
    let app = App::start().await;
    let alice = app.member("alice", 10_000).await;
    let logo = job(&app, &alice, "Logo design", "A logo.", 10).await;
    let poster = job(&app, &alice, "Poster", "For the design fair.", 50).await;
    let mut others = Vec::new();
    for i in 0..23 {
        others.push(job(&app, &alice, &format!("Fence {i}"), "Paint it.", 5).await);
    }
    let visitor = Browser::new(&app);

    let first = visitor.get("/jobs").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.attr("id=\"job-list\"", "data-total").as_deref(),
        Some("25")
    );
    let ids = listed(&first.html);
    assert_eq!(ids.len(), 20, "a page of 20");
    assert_eq!(ids[0], *others.last().unwrap(), "newest first");
    assert!(first.has("rel=\"next\""), "a link to the next page");
    let older = first.attr("id=\"job-list\"", "data-older").unwrap();
    let second = visitor.get(&format!("/jobs?before={older}")).await;
    let rest = listed(&second.html);
    assert_eq!(rest.len(), 5);
    assert_eq!(rest.last(), Some(&logo), "the oldest last");
    assert!(second.has("rel=\"prev\""), "a link back");

    let searched = visitor.get("/jobs?q=DESIGN").await;
    assert_eq!(listed(&searched.html), vec![poster.clone(), logo.clone()]);
    assert!(searched.has("match your search"), "{}", searched.html);
    assert!(
        searched.has("value=\"DESIGN\""),
        "the search box keeps the words"
    );
    let prefix = visitor.get("/jobs?q=log+des").await;
    assert_eq!(listed(&prefix.html), vec![logo.clone()]);
    let rich = visitor.get("/jobs?min_reward=20&max_reward=100").await;
    assert_eq!(listed(&rich.html), vec![poster]);
    let none = visitor.get("/jobs?q=painting").await;
    assert!(listed(&none.html).is_empty());
    assert!(none.has("No job matches your search."));

    // Bad input: the field named, the status the API would use.
    let bad = visitor.get("/jobs?min_reward=lots").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert_eq!(bad.error_code().as_deref(), Some("invalid_query"));
    assert!(bad.has("min reward is a whole number"), "{}", bad.html);
    let range = visitor.get("/jobs?min_reward=9&max_reward=1").await;
    assert_eq!(range.error_code().as_deref(), Some("invalid_range"));
}

#[tokio::test]
async fn a_visitor_reads_a_jobs_public_page_and_is_asked_to_log_in_to_apply() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let id = job(&app, &alice, "Logo design", "A logo.", 10).await;
    let visitor = Browser::new(&app);
    let page = visitor.get(&format!("/jobs/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.has("Logo design"));
    assert!(page.has("id=\"log-in-to-apply\""), "{}", page.html);
    assert!(page.has(&format!("/login?next=%2Fjobs%2F{id}")));
    assert!(
        !page.has("id=\"applications\""),
        "no applications for visitors"
    );
    assert!(!page.has("data-action"), "nothing a visitor may do");
}

#[tokio::test]
async fn a_member_lists_their_jobs_by_status_and_a_visitor_may_not() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let token = app.log_in("alice", "alice-password").await;
    let open = job(&app, &token, "Open one", "", 10).await;
    let gone = job(&app, &token, "Gone one", "", 10).await;
    let a = app
        .post(
            &format!("/api/v1/jobs/{gone}/cancel-job"),
            Some(&token),
            json!({"reason": "no"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let mine = alice.get("/my/jobs").await;
    assert_eq!(listed(&mine.html), vec![gone.clone(), open.clone()]);
    assert!(mine.has("aria-current=\"page\""), "a status tab is marked");
    let cancelled = alice.get("/my/jobs?status=cancelled").await;
    assert_eq!(listed(&cancelled.html), vec![gone]);
    let home = alice.get("/").await;
    assert!(home.has("Jobs you launched (2 jobs)"), "{}", home.html);
    assert!(home.has(&format!("href=\"/jobs/{open}\"")));
    let visitor = Browser::new(&app).get("/my/jobs").await;
    assert_eq!(visitor.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_statement_is_newest_first_and_exports_as_csv_safe_for_spreadsheets() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let token = app.log_in("alice", "alice-password").await;
    let a = app
        .post(
            "/api/v1/members/alice/grant-credits",
            Some(&app.admin),
            json!({"amount": 5, "reason": "=HYPERLINK(\"http://x\")"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    job(&app, &token, "Logo, design", "", 30).await;
    let w = alice.get("/members/alice/wallet").await;
    let kinds: Vec<String> = w
        .html
        .split("<tr class=\"line\" data-version=\"")
        .skip(1)
        .map(|s| {
            s.split("data-kind=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["escrowed", "granted", "granted"], "newest first");
    assert!(w.has("\u{2212}30"), "a signed amount");
    assert!(w.has("id=\"balance-chart\""), "the balance over time");
    let only = alice.get("/members/alice/wallet?kind=escrowed").await;
    assert_eq!(
        only.attr("id=\"statement-section\"", "data-total")
            .as_deref(),
        Some("1")
    );

    let csv = alice.get_raw("/members/alice/statement.csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        csv.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("alice-statement.csv")
    );
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "time,kind,amount,change,balance,job,job_title,counterpart,reason,version"
    );
    assert_eq!(lines.len(), 4, "{body}");
    assert!(
        lines[1].contains(",granted,100,100,100,"),
        "oldest first: {body}"
    );
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "a formula is defused: {body}"
    );
    assert!(
        lines[3].contains(",escrowed,30,-30,75,") && lines[3].contains("\"Logo, design\""),
        "{body}"
    );

    let bob = member(&app, "bob", 0).await;
    let refused = bob.get("/members/alice/statement.csv").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code().as_deref(), Some("not_your_wallet"));
}

#[tokio::test]
async fn an_admin_is_told_that_launching_is_for_members_before_filling_in_the_form() {
    let app = App::start().await;
    let admin = web::admin(&app).await;
    let page = admin.get("/jobs/new").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert_eq!(page.error_code().as_deref(), Some("members_only"));
    assert!(!page.has("name=\"title\""), "no form to fill in");
}

#[tokio::test]
async fn a_members_handle_in_a_history_leads_to_a_page_anyone_may_open() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let token = app.log_in("alice", "alice-password").await;
    let id = job(&app, &token, "Logo design", "", 10).await;
    let bob = app.member("bob", 0).await;
    let a = app
        .post(
            &format!("/api/v1/jobs/{id}/apply"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let history = alice.get(&format!("/jobs/{id}/history")).await;
    assert!(history.has("href=\"/jobs?owner=bob\""), "{}", history.html);
    assert!(
        !history.has("href=\"/members/bob/wallet\""),
        "not bob's wallet: alice may not see it"
    );
    assert_eq!(alice.get("/jobs?owner=bob").await.status, StatusCode::OK);
}
