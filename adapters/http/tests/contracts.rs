//! The published event contracts over HTTP: the schema index and documents, and feed items
//! that name their schema and serve the current version of old events.

mod common;

use common::{App, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tally_api::cloudevents::CloudEvent;
use tally_ports::{RecordedEvent, StreamId, contracts};

#[tokio::test]
async fn every_published_schema_is_served_as_stored_to_anyone() {
    let app = App::start().await;
    let index = app.get("/api/v1/schemas", None).await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.body);
    let items = index.body["items"].as_array().unwrap();
    assert_eq!(items.len(), contracts::published().len());
    let grants: Vec<(u64, bool)> = items
        .iter()
        .filter(|i| i["type"] == "CreditsGranted")
        .map(|i| {
            (
                i["version"].as_u64().unwrap(),
                i["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(grants, [(1, false), (2, false), (3, true)]);
    for item in items {
        let href = item["href"].as_str().unwrap();
        let res = app.client.get(app.url(href)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{href}");
        assert_eq!(res.headers()["content-type"], "application/schema+json");
        let text = res.text().await.unwrap();
        let (t, v) = (
            item["type"].as_str().unwrap(),
            u32::try_from(item["version"].as_u64().unwrap()).unwrap(),
        );
        // Byte for byte the file in contracts/schemas.
        let file = std::fs::read_to_string(format!(
            "{}/../../contracts/schemas/{}",
            env!("CARGO_MANIFEST_DIR"),
            contracts::schema_file(t, v)
        ))
        .unwrap();
        assert_eq!(text, file, "{href}");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["$id"], item["id"]);
    }
    for path in ["/api/v1/schemas/Nope/1", "/api/v1/schemas/CreditsGranted/4"] {
        assert_problem(&app.get(path, None).await, 404, "no_such_schema");
    }
    let bad = app.get("/api/v1/schemas/CreditsGranted/x", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

/// A grant's category is one of its words, or left out (then `other`); blank is not a word.
#[tokio::test]
async fn a_grant_category_is_one_of_its_words_or_left_out() {
    let app = App::start().await;
    app.member("alice", 0).await;
    let grant = |body: Value| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/members/alice/grant-credits",
                Some(&app.admin),
                body,
            )
            .await
        }
    };
    for bad in ["", " ", "bribe", "Promotion"] {
        let a = grant(json!({"amount": 5, "reason": "r", "category": bad})).await;
        assert_problem(&a, 400, "invalid_category");
    }
    let ok = grant(json!({"amount": 5, "reason": "r", "category": "purchase"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let ok = grant(json!({"amount": 5, "reason": "r"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let categories: Vec<Value> = app
        .feed()
        .await
        .iter()
        .filter(|e| e["type"] == "CreditsGranted")
        .map(|e| e["data"]["category"].clone())
        .collect();
    assert_eq!(categories, [json!("purchase"), json!("other")]);
}

/// On PostgreSQL, with an old grant stored as a raw v1 row: the feed serves it as v2 (the
/// upcast `category`), and every item names the schema its payload follows.
#[tokio::test]
async fn the_feed_serves_current_versions_and_names_their_schemas() {
    let app = App::start_postgres().await;
    app.member("alice", 10).await;
    let before = app.feed().await;
    let grant = before
        .iter()
        .find(|e| e["type"] == "CreditsGranted")
        .unwrap();
    let cloud: CloudEvent = serde_json::from_value(grant.clone()).unwrap();
    let mut old = RecordedEvent::try_from(cloud).unwrap();
    old.version = 3;
    old.event_id = uuid::Uuid::now_v7();
    old.schema_version = 1;
    old.payload = json!({"amount": 7, "reason": "from an older build"});
    assert_eq!(old.stream, StreamId::parse("member:alice").unwrap());
    app.db.as_ref().unwrap().insert_raw(&[old]).await;
    let feed = app.feed().await;
    assert_eq!(feed.len(), before.len() + 1);
    for e in &feed {
        let t = e["type"].as_str().unwrap();
        let v = contracts::current_version(t).unwrap();
        assert_eq!(e["schemaversion"], v, "{e}");
        assert_eq!(e["dataschema"], contracts::schema_id(t, v), "{e}");
    }
    let last = feed.last().unwrap();
    assert_eq!(
        last["data"],
        json!({"amount": 7, "reason": "from an older build", "category": "other"})
    );
    let wallet = app
        .get("/api/v1/members/alice/wallet", Some(&app.admin))
        .await;
    assert_eq!(wallet.body["balance"], 17, "{}", wallet.body);
}
