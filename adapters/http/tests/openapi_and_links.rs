//! The OpenAPI document covers every route and describes the real bodies; responses link to
//! what the caller may do next.

mod common;

use common::App;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[test]
fn every_route_of_the_router_is_in_the_openapi_document() {
    let doc = tally_http::openapi::json().clone();
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

/// Every OpenAPI link names, in camel case, an operation the document has (so that a client
/// or a stateful fuzzer can follow it), with the parameters that operation takes.
#[test]
fn every_link_names_an_operation_of_the_document() {
    let doc = tally_http::openapi::json();
    let mut ops = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ops.insert(id, op).is_none(), "operation id {id} twice");
            }
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for r in op["responses"].as_object().unwrap().values() {
                for (name, link) in r["links"].as_object().into_iter().flatten() {
                    links += 1;
                    let id = link["operationId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("link {name} names no operationId: {link}"));
                    let target = ops.get(id).unwrap_or_else(|| panic!("no operation {id}"));
                    let names: BTreeSet<&str> = target["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["name"].as_str())
                        .collect();
                    for p in link["parameters"].as_object().unwrap().keys() {
                        assert!(names.contains(p.as_str()), "{id} takes no {p}");
                    }
                }
            }
        }
    }
    assert!(links >= 10, "only {links} links");
}

/// The property names of a schema in the document, through `$ref`s and `allOf`s.
fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    let s = &doc["components"]["schemas"][schema];
    assert!(s.is_object(), "no schema {schema}");
    props_of(doc, s)
}

fn props_of(doc: &Value, s: &Value) -> BTreeSet<String> {
    if let Some(r) = s["$ref"].as_str() {
        return properties(doc, r.trim_start_matches("#/components/schemas/"));
    }
    let mut out: BTreeSet<String> = s["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for part in s["allOf"].as_array().into_iter().flatten() {
        out.extend(props_of(doc, part));
    }
    out
}

/// The schema of the items of a list schema.
fn item_props(doc: &Value, schema: &str) -> BTreeSet<String> {
    let s = &doc["components"]["schemas"][schema]["properties"]["items"]["items"];
    props_of(doc, s)
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
            &format!("/api/v1/jobs/{job}/apply"),
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
    let schemas = app.get("/api/v1/schemas", None).await.body;
    let problem = app.get("/api/v1/feed", Some(&bob)).await.body;
    let cases = [
        ("CommandReceipt", &applied.body),
        ("EventRef", &applied.body["events"][0]),
        ("Linked_WalletView", &wallet),
        ("RecordedEvent", &wallet["history"][0]),
        ("EscrowLine", &wallet["escrow"][0]),
        ("ActionView", &wallet["actions"][0]),
        ("Linked_JobOwnerView", &owner),
        ("JobSummary", &owner["job"]),
        ("ApplicationView", &owner["applications"][0]),
        ("ActionView", &owner["actions"][0]),
        ("Linked_JobParticipantView", &part),
        ("JobList", &board),
        ("MemberList", &members),
        ("Items_RecordedEvent", &history),
        ("Linked_Snapshot", &state),
        ("CloudEvent", &feed[0]),
        ("Items_SchemaEntry", &schemas),
        ("SchemaEntry", &schemas["items"][0]),
        ("Problem", &problem),
    ];
    for (schema, body) in cases {
        let mut want = properties(&doc, schema);
        if schema == "Problem" {
            want.remove("field"); // only for invalid input
        }
        if schema == "CloudEvent" {
            want.remove("method"); // only on the erasure of a member
        }
        assert_eq!(keys(body), want, "{schema}: {body}");
    }
    assert_eq!(
        keys(&board["items"][0]),
        item_props(&doc, "JobList"),
        "a board item: {board}"
    );
    assert_eq!(
        keys(&members["items"][0]),
        item_props(&doc, "MemberList"),
        "a member: {members}"
    );
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
        rels(&open).contains("cancel_job") && !rels(&open).contains("accept_applicant"),
        "{open}"
    );
    let p = app.get(&public, Some(&bob)).await.body;
    assert!(rels(&p).contains("apply"), "{p}");
    assert_eq!(p["_links"]["apply"]["method"], "POST");

    let a = app
        .post(
            &format!("/api/v1/jobs/{job}/apply"),
            Some(&bob),
            json!({"pitch": "me"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let p = app.get(&public, Some(&bob)).await.body;
    assert!(
        rels(&p).contains("withdraw_application") && !rels(&p).contains("apply"),
        "{p}"
    );
    let with_applicant = app.get(&owner_view, Some(&alice)).await.body;
    assert!(
        rels(&with_applicant).is_superset(&["accept_applicant", "cancel_job"].into()),
        "{with_applicant}"
    );

    let href = with_applicant["_links"]["accept_applicant"]["href"]
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
        r.contains("complete_job") && !r.contains("cancel_job") && !r.contains("accept_applicant"),
        "{in_progress}"
    );

    let href = in_progress["_links"]["complete_job"]["href"]
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
            .any(|r| ["accept_applicant", "cancel_job", "complete_job"].contains(r)),
        "{done}"
    );
    // An admin sees the owner's view but is offered none of the owner's actions.
    let admin = app.get(&owner_view, Some(&app.admin)).await.body;
    assert!(!rels(&admin).contains("complete_job"));
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
    assert!(rels(&wallet).contains("grant_credits"));
}

/// The paths commands had before they took their names still work, marked deprecated.
#[tokio::test]
async fn the_former_command_paths_still_work_and_are_deprecated() {
    let doc = tally_http::openapi::json();
    let op = &doc["paths"]["/api/v1/members/{handle}/grants"]["post"];
    assert_eq!(op["deprecated"], true, "{op}");
    assert_eq!(
        doc["paths"]["/api/v1/members/{handle}/grant-credits"]["post"]["deprecated"],
        Value::Null
    );
    let app = App::start().await;
    let alice = app.member("alice", 10).await;
    let a = app
        .post(
            "/api/v1/members/alice/grants",
            Some(&app.admin),
            json!({"amount": 5, "reason": "old client"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let w = app.get("/api/v1/members/alice/wallet", Some(&alice)).await;
    assert_eq!(w.body["balance"], 15, "{}", w.body);
}
