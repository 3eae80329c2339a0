//! The reports over HTTP, on memory and PostgreSQL: a background follower folds the history;
//! an admin reads daily totals and fraud signals once they have caught up.

mod common;
mod web;

use common::{App, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// The reports once they have folded every event recorded so far.
async fn caught_up(app: &App) -> Value {
    let head: u64 = app.feed().await.last().unwrap()["sequence"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for _ in 0..500 {
        let r = app.get("/api/v1/reports", Some(&app.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if r.body["checkpoint"] == head && r.body["behind"] == 0 {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the reports never caught up with position {head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_fold_the_history_into_daily_totals_and_fraud_signals() {
    for app in App::each().await {
        let olive = app.member("olive", 100).await;
        let pat = app.member("pat", 0).await;
        let a = app
            .post(
                "/api/v1/members/pat/grant-credits",
                Some(&app.admin),
                json!({"amount": 7, "reason": "spring", "category": "promotion"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        for _ in 0..3 {
            let job = app.job(&olive, 5).await;
            let c = app
                .post(
                    &format!("/api/v1/jobs/{job}/cancel-job"),
                    Some(&olive),
                    json!({"reason": "no"}),
                )
                .await;
            assert_eq!(c.status, StatusCode::OK, "{}", c.body);
        }
        let r = caught_up(&app).await;
        let day = &r["daily"][0];
        assert_eq!(day["granted"], 107, "{r}");
        assert_eq!(
            day["granted_by_category"],
            json!({"other": 100, "promotion": 7})
        );
        assert_eq!(
            (day["escrowed"].clone(), day["refunded"].clone()),
            (json!(15), json!(15))
        );
        assert_eq!(
            (day["jobs_launched"].clone(), day["jobs_cancelled"].clone()),
            (json!(3), json!(3))
        );
        assert_eq!(day["members_registered"], 2);
        let rules: Vec<&str> = r["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["rule"].as_str().unwrap())
            .collect();
        // Olive escrowed seconds after her grant; then cancelled three jobs in a row.
        assert_eq!(rules, ["quick_cash_out", "refund_churn"], "{r}");
        assert_eq!(r["signals"][1]["members"], json!(["olive"]));
        assert_eq!(r["signals"][1]["positions"].as_array().unwrap().len(), 3);
        // The page shows the same, with a chart.
        let page = web::admin(&app).await.get("/admin/reports").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.has("Up to date") && page.has("<svg") && page.has("Refund churn"),
            "{}",
            page.html
        );
        assert_eq!(
            page.attr("class=\"day\"", "data-granted").as_deref(),
            Some("107")
        );
        assert_eq!(
            page.attr("class=\"signal\"", "data-rule").as_deref(),
            Some("refund_churn")
        );
        // Each of a signal's events links to its entity as that event left it.
        let last = r["signals"][1]["positions"][2].as_u64().unwrap();
        let link = format!("/admin/events/{last}");
        assert!(page.has(&format!("href=\"{link}\"")), "{}", page.html);
        let admin = web::admin(&app).await;
        let to = admin.get(&link).await;
        assert_eq!(to.status, StatusCode::SEE_OTHER);
        let state = to.location.clone().unwrap();
        assert!(
            state.starts_with("/jobs/") && state.contains("/state?version="),
            "{state}"
        );
        let shown = admin.follow(&to).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
        assert!(shown.has("cancelled"), "{}", shown.html);
        let nowhere = admin.get("/admin/events/999999").await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
        assert_eq!(nowhere.error_code().as_deref(), Some("no_such_position"));
        // Admins only.
        assert_problem(
            &app.get("/api/v1/reports", Some(&pat)).await,
            403,
            "admin_only",
        );
        assert_problem(&app.get("/api/v1/reports", None).await, 401, "unauthorized");
    }
}

/// A wallet page shows the balance over time, worked back from the balance now.
#[tokio::test]
async fn the_wallet_page_charts_the_balance_over_time() {
    let app = App::start().await;
    let olive = app.member("olive", 100).await;
    let job = app.job(&olive, 30).await;
    let c = app
        .post(
            &format!("/api/v1/jobs/{job}/cancel-job"),
            Some(&olive),
            json!({"reason": "no"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let page = web::admin(&app).await.get("/members/olive/wallet").await;
    assert_eq!(page.status, StatusCode::OK);
    // Granted (100), escrowed (70), refunded (100): the balance after each movement, as a
    // step line (the balance holds until the next movement) and as a table.
    let balances: Vec<String> = page
        .html
        .split("<tr class=\"point\"")
        .skip(1)
        .map(|r| {
            r.split("data-balance=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(balances, ["100", "70", "100"]);
    let points = page.attr("<polyline", "points").expect("a chart");
    let ys: Vec<f64> = points
        .split(' ')
        .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ys.len(), 5, "two steps: {points}");
    assert!(
        ys[0] == ys[1] && ys[2] > ys[1] && ys[3] == ys[2] && ys[4] == ys[0],
        "{ys:?} (SVG y grows downwards)"
    );
    assert!(
        page.has("Available balance over time: <span class=\"credits\">100 "),
        "{}",
        page.html
    );
}
