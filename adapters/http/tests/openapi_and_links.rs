//! The OpenAPI document covers every route and describes the real bodies; responses link to
//! what the caller may do next.

mod common;

use common::App;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[test]
fn every_route_of_the_router_is_in_the_openapi_document() {
    let doc = serde_json::to_value(tally_http::openapi::document()).unwrap();
    let routes = tally_http::route_list();
    assert!(routes.len() >= 30, "{routes:?}");
    for (method, path) in &routes {
        let op = &doc["paths"][path][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "the document lists routes the router does not serve"
    );
}

/// The property names of a schema in the document.
fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    let s = &doc["components"]["schemas"][schema];
    let props = s["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"));
    props.keys().cloned().collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn response_bodies_have_the_documented_shapes() {
    let app = App::start().await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 10).await;
    let applied = app
        .post(
            &format!("/api/v1/jobs/{job}/applications"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    let wallet = app
        .get("/api/v1/members/alice/wallet", Some(&alice))
        .await
        .body;
    let owner = app
        .get(&format!("/api/v1/jobs/{job}/owner-view"), Some(&alice))
        .await
        .body;
    let part = app
        .get(&format!("/api/v1/jobs/{job}"), Some(&bob))
        .await
        .body;
    let board = app.get("/api/v1/jobs", None).await.body;
    let members = app.get("/api/v1/members", Some(&app.admin)).await.body;
    let history = app
        .get("/api/v1/members/alice/history", Some(&alice))
        .await
        .body;
    let state = app
        .get("/api/v1/members/alice/state?version=1", Some(&alice))
        .await
        .body;
    let feed = app.get("/api/v1/feed", Some(&app.admin)).await.body;
    let problem = app.get("/api/v1/feed", Some(&bob)).await.body;
    let cases = [
        ("ReceiptDoc", &applied.body),
        ("EventRefDoc", &applied.body["events"][0]),
        ("WalletDoc", &wallet),
        ("EventDoc", &wallet["history"][0]),
        ("EscrowLineDoc", &wallet["escrow"][0]),
        ("JobOwnerDoc", &owner),
        ("JobSummaryDoc", &owner["job"]),
        ("ApplicationDoc", &owner["applications"][0]),
        ("JobParticipantDoc", &part),
        ("JobBoardDoc", &board),
        ("JobBoardItemDoc", &board["items"][0]),
        ("MembersDoc", &members),
        ("MemberSummaryDoc", &members["items"][0]),
        ("HistoryDoc", &history),
        ("SnapshotDoc", &state),
        ("EntityStateDoc", &state["state"]),
        ("FeedDoc", &feed),
        ("Problem", &problem),
    ];
    for (schema, body) in cases {
        let mut want = properties(&doc, schema);
        if schema == "Problem" {
            want.remove("field"); // only for invalid input
        }
        assert_eq!(keys(body), want, "{schema}: {body}");
    }
}

/// The relations of a body's `_links`.
fn rels(v: &Value) -> BTreeSet<&str> {
    v["_links"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn a_job_links_to_the_actions_its_status_allows() {
    let app = App::start().await;
    let alice = app.member("alice", 100).await;
    let bob = app.member("bob", 0).await;
    let job = app.job(&alice, 10).await;
    let owner_view = format!("/api/v1/jobs/{job}/owner-view");
    let public = format!("/api/v1/jobs/{job}");

    let open = app.get(&owner_view, Some(&alice)).await.body;
    assert!(
        rels(&open).contains("cancel") && !rels(&open).contains("accept"),
        "{open}"
    );
    let p = app.get(&public, Some(&bob)).await.body;
    assert!(rels(&p).contains("apply"), "{p}");
    assert_eq!(p["_links"]["apply"]["method"], "POST");

    let a = app
        .post(
            &format!("/api/v1/jobs/{job}/applications"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let p = app.get(&public, Some(&bob)).await.body;
    assert!(
        rels(&p).contains("withdraw") && !rels(&p).contains("apply"),
        "{p}"
    );
    let with_applicant = app.get(&owner_view, Some(&alice)).await.body;
    assert!(
        rels(&with_applicant).is_superset(&["accept", "cancel"].into()),
        "{with_applicant}"
    );

    let href = with_applicant["_links"]["accept"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app
        .post(&href, Some(&alice), json!({"participant": "bob"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let in_progress = app.get(&owner_view, Some(&alice)).await.body;
    let r = rels(&in_progress);
    assert!(
        r.contains("complete") && !r.contains("cancel") && !r.contains("accept"),
        "{in_progress}"
    );

    let href = in_progress["_links"]["complete"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.call(reqwest::Method::POST, &href, Some(&alice), None)
            .await
            .status,
        StatusCode::OK
    );
    let done = app.get(&owner_view, Some(&alice)).await.body;
    assert!(
        !rels(&done)
            .iter()
            .any(|r| ["accept", "cancel", "complete"].contains(r)),
        "{done}"
    );
    // An admin sees the owner's view but is offered none of the owner's actions.
    let admin = app.get(&owner_view, Some(&app.admin)).await.body;
    assert!(!rels(&admin).contains("complete"));
}

#[tokio::test]
async fn the_index_links_to_what_the_caller_may_do() {
    let app = App::start().await;
    let alice = app.member("alice", 0).await;
    let anon = app.get("/", None).await.body;
    assert!(
        rels(&anon).is_superset(&["log_in", "sign_up", "openapi"].into()),
        "{anon}"
    );
    let member = app.get("/api/v1", Some(&alice)).await.body;
    assert_eq!(
        member["_links"]["wallet"]["href"],
        "/api/v1/members/alice/wallet"
    );
    let admin = app.get("/api/v1", Some(&app.admin)).await.body;
    assert!(
        rels(&admin).is_superset(&["members", "feed", "create_account"].into()),
        "{admin}"
    );
    let wallet = app
        .get("/api/v1/members/alice/wallet", Some(&app.admin))
        .await
        .body;
    assert!(rels(&wallet).contains("grant"));
}
