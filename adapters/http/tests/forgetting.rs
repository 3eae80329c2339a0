//! Forgetting a member over the API: the member re-enters their password (an admin does
//! not), nobody forgets someone else, the account stops working at once, and the feed says
//! `method: DELETE` for the member, which a consumer that kept a copy applies.

mod common;

use common::{App, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

const PATH: &str = "/api/v1/members/alice/forget-member";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_forgets_themselves_with_their_password_and_the_feed_says_delete() {
    for app in App::each().await {
        let alice = app.member("alice", 10).await;
        let bob = app.member("bob", 0).await;
        // A consumer of the feed that keeps each member's name.
        let mut names: HashMap<String, String> = HashMap::new();
        let apply = |names: &mut HashMap<String, String>, feed: &[Value]| {
            for e in feed {
                let subject = e["subject"].as_str().unwrap().to_owned();
                if e["method"] == "DELETE" {
                    names.remove(&subject);
                } else if let Some(n) = e["data"]["display_name"].as_str() {
                    names.insert(subject, n.to_owned());
                }
            }
        };
        apply(&mut names, &app.feed().await);
        assert_eq!(names["member:alice"], "alice");
        let before = app.feed().await.len();

        // Without the password, with a wrong one, or by someone else: refused, nothing recorded.
        assert_problem(
            &app.post(PATH, Some(&alice), json!({})).await,
            400,
            "password_required",
        );
        let wrong = app
            .post(PATH, Some(&alice), json!({"password": "not hers"}))
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        assert_problem(
            &app.post(PATH, Some(&bob), json!({})).await,
            403,
            "not_yourself",
        );
        assert_eq!(
            app.feed().await.len(),
            before,
            "a refused request recorded something"
        );

        let ok = app
            .post(PATH, Some(&alice), json!({"password": "alice-password"}))
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        // Her token and her password no longer work; her handle cannot be taken again.
        let gone = app.get("/api/v1/members/alice/wallet", Some(&alice)).await;
        assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{}", gone.body);
        let login = app
            .post(
                "/api/v1/session",
                None,
                json!({"name": "alice", "password": "alice-password"}),
            )
            .await;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.body);
        let again = app
            .post(
                "/api/v1/members",
                Some(&app.admin),
                json!({"handle": "alice", "display_name": "Another Alice"}),
            )
            .await;
        assert_problem(&again, 422, "handle_taken");

        // The feed: the erasure, as http-feeds' DELETE of the member; her name is gone from
        // every item; the consumer drops its copy.
        let feed = app.feed().await;
        let last = feed.last().unwrap();
        assert_eq!(last["type"], "MemberForgotten");
        assert_eq!(last["subject"], "member:alice");
        assert_eq!(last["method"], "DELETE");
        assert_eq!(last["actor"], "member:alice");
        assert!(
            feed[..feed.len() - 1]
                .iter()
                .all(|e| e.get("method").is_none())
        );
        let registered = feed
            .iter()
            .find(|e| e["type"] == "MemberRegistered" && e["subject"] == "member:alice")
            .unwrap();
        assert_eq!(registered["data"]["display_name"], tally_domain::FORGOTTEN);
        apply(&mut names, &feed[before..]);
        assert!(
            !names.contains_key("member:alice"),
            "the consumer kept her name"
        );
        assert_eq!(names["member:bob"], "bob");
        // The admin still sees her wallet, under the placeholder, credits intact.
        let w = app
            .get("/api/v1/members/alice/wallet", Some(&app.admin))
            .await;
        assert_eq!(w.status, StatusCode::OK, "{}", w.body);
        assert_eq!(w.body["display_name"], tally_domain::FORGOTTEN);
        assert_eq!(w.body["balance"], 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_forgets_a_member_without_a_password() {
    let app = App::start().await;
    app.member("alice", 0).await;
    let ok = app.post(PATH, Some(&app.admin), json!({})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_problem(
        &app.post(PATH, Some(&app.admin), json!({})).await,
        422,
        "member_forgotten",
    );
}
