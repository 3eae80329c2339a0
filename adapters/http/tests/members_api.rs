//! `GET /api/v1/members`: the admins' list, searched by part of a handle or name, paged by
//! handle with `next`/`prev` links and a count, on both storages.

mod common;

use common::{App, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn handles(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["handle"].as_str().unwrap())
        .collect()
}

fn link<'a>(list: &'a Value, rel: &str) -> Option<&'a str> {
    list["_links"][rel]["href"].as_str()
}

async fn list(app: &App, path: &str) -> Value {
    let a = app.get(path, Some(&app.admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
    a.body
}

#[tokio::test]
async fn members_are_listed_by_handle_page_by_page_with_links_and_a_count() {
    for app in App::each().await {
        for h in ["erin", "alice", "dave", "bob", "carol"] {
            app.member(h, 0).await;
        }
        let first = list(&app, "/api/v1/members?limit=2").await;
        assert_eq!(handles(&first), ["alice", "bob"]);
        assert_eq!(
            (first["total"].as_u64(), first["total_exact"].as_bool()),
            (Some(5), Some(true))
        );
        assert_eq!(link(&first, "self"), Some("/api/v1/members?limit=2"));
        assert_eq!(link(&first, "prev"), None);
        let next = link(&first, "next").unwrap();
        assert_eq!(next, "/api/v1/members?after=bob&limit=2");
        let second = list(&app, next).await;
        assert_eq!(handles(&second), ["carol", "dave"]);
        assert_eq!(second["total"], 5);
        let third = list(&app, link(&second, "next").unwrap()).await;
        assert_eq!(handles(&third), ["erin"]);
        assert_eq!(link(&third, "next"), None);
        let back = link(&third, "prev").unwrap();
        assert_eq!(back, "/api/v1/members?before=erin&limit=2");
        assert_eq!(handles(&list(&app, back).await), ["carol", "dave"]);
        let back_to_first = list(&app, link(&second, "prev").unwrap()).await;
        assert_eq!(handles(&back_to_first), ["alice", "bob"]);
        assert_eq!(link(&back_to_first, "prev"), None);
    }
}

#[tokio::test]
async fn a_search_finds_part_of_a_handle_or_a_name_in_any_case() {
    for app in App::each().await {
        for (h, name) in [
            ("alice", "Alice Liddell"),
            ("bob", "Bob Marley"),
            ("carol", "Caroline 100%"),
        ] {
            let a = app
                .post(
                    "/api/v1/members",
                    Some(&app.admin),
                    json!({"handle": h, "display_name": name}),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        }
        let li = list(&app, "/api/v1/members?q=LI").await;
        assert_eq!(handles(&li), ["alice", "carol"]);
        assert_eq!(li["total"], 2);
        assert_eq!(
            handles(&list(&app, "/api/v1/members?q=marl").await),
            ["bob"]
        );
        assert_eq!(handles(&list(&app, "/api/v1/members?q=ob").await), ["bob"]);
        // LIKE's wildcards are only characters here.
        assert_eq!(
            handles(&list(&app, "/api/v1/members?q=0%25").await),
            ["carol"]
        );
        assert_eq!(
            handles(&list(&app, "/api/v1/members?q=_").await),
            Vec::<&str>::new()
        );
        let paged = list(&app, "/api/v1/members?q=l&limit=1").await;
        assert_eq!(handles(&paged), ["alice"]);
        assert_eq!(paged["total"], 3);
        assert_eq!(
            link(&paged, "next"),
            Some("/api/v1/members?q=l&after=alice&limit=1")
        );
    }
}

#[tokio::test]
async fn each_member_says_when_they_joined_were_last_active_and_whether_they_can_log_in() {
    for app in App::each().await {
        app.member("alice", 10).await; // with an account
        let a = app
            .post(
                "/api/v1/members",
                Some(&app.admin),
                json!({"handle": "bob", "display_name": "Bob"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let page = list(&app, "/api/v1/members").await;
        let alice = &page["items"][0];
        assert_eq!(alice["has_account"], true, "{alice}");
        assert_eq!(page["items"][1]["has_account"], false);
        let joined: chrono::DateTime<chrono::Utc> =
            alice["joined_at"].as_str().unwrap().parse().unwrap();
        let active: chrono::DateTime<chrono::Utc> =
            alice["last_active_at"].as_str().unwrap().parse().unwrap();
        assert!(
            active > joined,
            "alice was granted credits after joining: {alice}"
        );
        assert_eq!(alice["balance"], 10);
        assert_eq!(
            alice["_links"]["self"]["href"],
            "/api/v1/members/alice/wallet"
        );
        assert_eq!(page["_links"]["register_member"]["method"], "POST");
    }
}

#[tokio::test]
async fn a_bad_member_query_is_refused_with_the_field_named() {
    let app = App::start().await;
    let bob = app.member("bob", 0).await;
    assert_problem(
        &app.get("/api/v1/members", Some(&bob)).await,
        403,
        "admin_only",
    );
    assert_problem(&app.get("/api/v1/members", None).await, 401, "unauthorized");
    for (q, code) in [
        ("limit=0", "invalid_query"),
        ("limit=501", "invalid_query"),
        ("after=alice&before=bob", "conflicting_query"),
        ("after=Not%20A%20Handle", "invalid_handle"),
    ] {
        let a = app
            .get(&format!("/api/v1/members?{q}"), Some(&app.admin))
            .await;
        assert_problem(&a, 422, code);
    }
    let long = "x".repeat(101);
    let a = app
        .get(&format!("/api/v1/members?q={long}"), Some(&app.admin))
        .await;
    assert_problem(&a, 422, "invalid_query");
}
