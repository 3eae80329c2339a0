//! The history feed over HTTP, as a peripheral service follows it: CloudEvents batches,
//! resuming after a position or an event id, filters, immutable pages, long polls, and
//! `feed:read` service tokens. On memory and on PostgreSQL.

mod common;

use common::{App, assert_problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn position(e: &Value) -> u64 {
    e["sequence"].as_str().unwrap().parse().unwrap()
}

/// An admin-made `feed:read` token.
async fn feed_token(app: &App) -> String {
    let t = app
        .post(
            "/api/v1/tokens",
            Some(&app.admin),
            json!({"name": "reports-service", "scope": "feed:read"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    assert_eq!(t.body["scope"], "feed:read");
    t.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_is_a_batch_of_cloudevents_in_global_order() {
    for app in App::each().await {
        let alice = app.member("alice", 50).await;
        app.job(&alice, 10).await;
        let a = app.get("/api/v1/feed?limit=1000", Some(&app.admin)).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            a.headers["content-type"],
            "application/cloudevents-batch+json"
        );
        let events = a.body.as_array().unwrap();
        assert!(events.len() >= 3, "{}", a.body);
        for (i, e) in events.iter().enumerate() {
            assert_eq!(position(e), i as u64 + 1, "gap-free and in order: {e}");
            assert_eq!(e["specversion"], "1.0");
            assert_eq!(e["source"], "urn:tally");
            assert_eq!(e["datacontenttype"], "application/json");
            for k in [
                "id",
                "type",
                "subject",
                "time",
                "data",
                "dataschema",
                "streamversion",
                "schemaversion",
                "actor",
                "commandid",
                "correlationid",
                "causationid",
            ] {
                assert!(!e[k].is_null(), "{k} missing: {e}");
            }
        }
        let launched = events.iter().find(|e| e["type"] == "JobLaunched").unwrap();
        assert!(launched["subject"].as_str().unwrap().starts_with("job:"));
        assert_eq!(launched["actor"], "member:alice");
        assert_eq!(launched["data"]["reward"], 10);

        // At the head: an empty batch (caught up), not cacheable.
        let head = position(events.last().unwrap());
        let a = app
            .get(&format!("/api/v1/feed?after={head}"), Some(&app.admin))
            .await;
        assert_eq!(a.body, json!([]));
        assert_eq!(a.headers["cache-control"], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_resumes_after_an_event_id_or_a_position() {
    for app in App::each().await {
        app.member("alice", 50).await;
        app.member("bob", 50).await;
        let all = app.feed().await;
        let second = &all[1];
        let by_id = app
            .get(
                &format!(
                    "/api/v1/feed?lastEventId={}",
                    second["id"].as_str().unwrap()
                ),
                Some(&app.admin),
            )
            .await;
        let by_position = app.get("/api/v1/feed?after=2", Some(&app.admin)).await;
        assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.body);
        assert_eq!(by_id.body, by_position.body);
        assert_eq!(by_id.body.as_array().unwrap()[..], all[2..]);
        // The self link names the position, so the page has one stable URL.
        let link = by_id.headers["link"].to_str().unwrap();
        assert!(link.contains("after=2&limit=100>; rel=\"self\""), "{link}");

        let unknown = app
            .get(
                &format!("/api/v1/feed?lastEventId={}", uuid::Uuid::now_v7()),
                Some(&app.admin),
            )
            .await;
        assert_problem(&unknown, 404, "no_such_event");
        let both = app
            .get(
                &format!(
                    "/api/v1/feed?after=1&lastEventId={}",
                    second["id"].as_str().unwrap()
                ),
                Some(&app.admin),
            )
            .await;
        assert_problem(&both, 422, "conflicting_query");
        for bad in [
            "/api/v1/feed?timeout=60001",
            "/api/v1/feed?types=NoSuchEvent",
            "/api/v1/feed?kinds=planet",
            "/api/v1/feed?lastEventId=nope",
        ] {
            assert_problem(&app.get(bad, Some(&app.admin)).await, 400, "invalid_query");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_pages_are_immutable_and_answer_304() {
    for app in App::each().await {
        app.member("alice", 50).await;
        app.member("bob", 50).await;
        let full = app
            .get("/api/v1/feed?after=0&limit=2", Some(&app.admin))
            .await;
        assert_eq!(full.body.as_array().unwrap().len(), 2);
        assert_eq!(
            full.headers["cache-control"],
            "private, max-age=31536000, immutable"
        );
        let etag = full.headers["etag"].to_str().unwrap().to_owned();
        let link = full.headers["link"].to_str().unwrap();
        assert!(
            link.contains("</api/v1/feed?after=2&limit=2>; rel=\"next\""),
            "{link}"
        );

        // Asked again with its tag: 304, no body; more events later do not change it.
        app.member("carol", 5).await;
        let again = app
            .client
            .get(app.url("/api/v1/feed?after=0&limit=2"))
            .bearer_auth(&app.admin)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());

        // A page that is not full is the head: not cacheable, and its tag changes with it.
        let head = app
            .get("/api/v1/feed?after=0&limit=1000", Some(&app.admin))
            .await;
        assert_eq!(head.headers["cache-control"], "no-store");
        assert_ne!(head.headers["etag"].to_str().unwrap(), etag);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_keep_global_order() {
    for app in App::each().await {
        let alice = app.member("alice", 50).await;
        app.job(&alice, 10).await;
        app.member("bob", 50).await;
        app.job(&alice, 5).await;
        let all = app.feed().await;
        let only = |pred: &dyn Fn(&Value) -> bool| -> Vec<Value> {
            all.iter().filter(|e| pred(e)).cloned().collect()
        };
        let launches = app
            .get("/api/v1/feed?types=JobLaunched", Some(&app.admin))
            .await;
        assert_eq!(
            launches.body.as_array().unwrap(),
            &only(&|e| e["type"] == "JobLaunched")
        );
        assert_eq!(launches.body.as_array().unwrap().len(), 2);
        let jobs = app.get("/api/v1/feed?kinds=job", Some(&app.admin)).await;
        assert_eq!(
            jobs.body.as_array().unwrap(),
            &only(&|e| e["subject"].as_str().unwrap().starts_with("job:"))
        );
        let both = app
            .get(
                "/api/v1/feed?types=CreditsGranted,MemberRegistered&kinds=member&limit=2",
                Some(&app.admin),
            )
            .await;
        let want = only(&|e| e["type"] == "CreditsGranted" || e["type"] == "MemberRegistered");
        assert_eq!(both.body.as_array().unwrap()[..], want[..2]);
        // Its next page resumes after the last match, with the same filters.
        let link = both.headers["link"].to_str().unwrap();
        let next = position(&want[1]);
        assert!(
            link.contains(&format!(
                "after={next}&limit=2&types=CreditsGranted,MemberRegistered&kinds=member>; rel=\"next\""
            )),
            "{link}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_read_token_reads_the_feed_and_nothing_else() {
    for app in App::each().await {
        let alice = app.member("alice", 50).await;
        let token = feed_token(&app).await;
        let feed = app.get("/api/v1/feed", Some(&token)).await;
        assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
        assert_eq!(feed.body.as_array().unwrap().len(), app.feed().await.len());
        let schema = app
            .get("/api/v1/schemas/CreditsGranted/2", Some(&token))
            .await;
        assert_eq!(schema.status, StatusCode::OK, "{}", schema.body);

        let before = app.feed().await;
        for (method, path, body) in [
            (Method::GET, "/api/v1/members", None),
            (Method::GET, "/api/v1/members/alice/wallet", None),
            (Method::GET, "/api/v1/reports", None),
            (Method::GET, "/api/v1/tokens", None),
            (
                Method::POST,
                "/api/v1/members/alice/grant-credits",
                Some(json!({"amount": 5})),
            ),
            (
                Method::POST,
                "/api/v1/tokens",
                Some(json!({"name": "escalate"})),
            ),
        ] {
            let a = app.call(method, path, Some(&token), body).await;
            assert_problem(&a, 403, "token_scope");
        }
        assert_eq!(
            app.feed().await,
            before,
            "a refused call recorded something"
        );

        // Only admins make them; revoked, it stops at once.
        let refused = app
            .post(
                "/api/v1/tokens",
                Some(&alice),
                json!({"name": "mine", "scope": "feed:read"}),
            )
            .await;
        assert_problem(&refused, 403, "admin_only");
        let bad = app
            .post(
                "/api/v1/tokens",
                Some(&app.admin),
                json!({"name": "x", "scope": "everything"}),
            )
            .await;
        assert_problem(&bad, 400, "invalid_scope");
        let list = app.get("/api/v1/tokens", Some(&app.admin)).await;
        let id = list.body["items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(list.body["items"][0]["scope"], "feed:read");
        let gone = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get("/api/v1/feed", Some(&token)).await.status, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_returns_when_an_event_commits() {
    for app in App::each().await {
        app.member("alice", 50).await;
        let head = app.feed().await.len();
        // Nothing comes: an empty batch once the time is up.
        let started = Instant::now();
        let idle = app
            .get(
                &format!("/api/v1/feed?after={head}&timeout=300"),
                Some(&app.admin),
            )
            .await;
        assert_eq!(idle.body, json!([]));
        assert!(started.elapsed() >= Duration::from_millis(300));

        // A grant commits while the poll waits: the poll answers with it, long before its
        // 20 s are up.
        let poll = {
            let (client, url, admin) = (
                app.client.clone(),
                app.url(&format!("/api/v1/feed?after={head}&timeout=20000")),
                app.admin.clone(),
            );
            tokio::spawn(async move {
                let res = client.get(url).bearer_auth(admin).send().await.unwrap();
                (Instant::now(), res.json::<Value>().await.unwrap())
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let granted = app
            .post(
                "/api/v1/members/alice/grant-credits",
                Some(&app.admin),
                json!({"amount": 7}),
            )
            .await;
        assert_eq!(granted.status, StatusCode::OK);
        let committed = Instant::now();
        let (answered, batch) = poll.await.unwrap();
        assert_eq!(batch.as_array().unwrap().len(), 1, "{batch}");
        assert_eq!(batch[0]["type"], "CreditsGranted");
        assert_eq!(position(&batch[0]), head as u64 + 1);
        assert!(
            answered.saturating_duration_since(committed) < Duration::from_secs(10),
            "the poll waited for its timeout instead of waking"
        );
    }
}

/// 8 writers for 5 s while a service long-polls with a `feed:read` token: it sees every
/// event exactly once, in order, and nothing past the gap-free horizon.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_polling_reader_sees_every_event_of_8_writers_exactly_once_in_order() {
    for app in App::each().await {
        let token = feed_token(&app).await;
        for w in 0..8 {
            app.member(&format!("writer{w}"), 0).await;
        }
        let stop = Instant::now() + Duration::from_secs(5);
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (client, url, admin) = (
                    app.client.clone(),
                    app.url(&format!("/api/v1/members/writer{w}/grant-credits")),
                    app.admin.clone(),
                );
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < stop {
                        let r = client
                            .post(&url)
                            .bearer_auth(&admin)
                            .json(&json!({"amount": 1}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), StatusCode::OK);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let reader = {
            let (client, base, token) =
                (app.client.clone(), app.url("/api/v1/feed"), token.clone());
            tokio::spawn(async move {
                let mut seen: Vec<Value> = Vec::new();
                let mut after = 0;
                let mut idle_after_stop = 0;
                loop {
                    let r = client
                        .get(format!("{base}?after={after}&limit=1000&timeout=1000"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                    let batch: Vec<Value> = r.json().await.unwrap();
                    if batch.is_empty() && Instant::now() > stop {
                        idle_after_stop += 1;
                        if idle_after_stop == 2 {
                            return seen;
                        }
                    }
                    for e in batch {
                        after = position(&e);
                        seen.push(e);
                    }
                }
            })
        };
        let mut written = 0;
        for w in writers {
            written += w.await.unwrap();
        }
        let seen = reader.await.unwrap();
        let all = app.feed_all().await;
        assert_eq!(seen.len(), all.len(), "every event, once");
        assert_eq!(seen, all, "the same events, in the same order");
        let ids: HashSet<_> = seen.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(ids.len(), seen.len(), "no event twice");
        for (i, e) in seen.iter().enumerate() {
            assert_eq!(position(e), i as u64 + 1, "no gap, no reordering");
        }
        let grants = seen
            .iter()
            .filter(|e| e["type"] == "CreditsGranted")
            .count() as u64;
        assert_eq!(grants, written, "every acknowledged grant is in the feed");
        assert!(written > 8, "the writers wrote ({written})");
    }
}

#[tokio::test]
async fn the_feed_reads_backwards_and_by_the_member_or_the_job_it_concerns() {
    for app in App::each().await {
        let alice = app.member("alice", 100).await; // 1, 2
        app.member("bob", 0).await; // 3
        let job = app.job(&alice, 10).await; // 4, 5
        let read = |q: String| {
            let app = &app;
            async move {
                app.get(&format!("/api/v1/feed?{q}"), Some(&app.admin))
                    .await
            }
        };
        let positions = |a: &common::Answer| -> Vec<u64> {
            a.body.as_array().unwrap().iter().map(position).collect()
        };
        // The newest page, still in global order, and the page before it.
        let newest = read(format!("before={}&limit=2", i64::MAX)).await;
        assert_eq!(newest.status, StatusCode::OK, "{}", newest.body);
        assert_eq!(positions(&newest), [4, 5]);
        assert_eq!(newest.headers["cache-control"], "no-store");
        let link = newest.headers["link"].to_str().unwrap();
        assert!(
            link.contains("</api/v1/feed?before=4&limit=2>; rel=\"prev\""),
            "{link}"
        );
        assert!(
            link.contains("</api/v1/feed?after=5&limit=2>; rel=\"next\""),
            "{link}"
        );
        assert_eq!(positions(&read("before=4&limit=2".into()).await), [2, 3]);
        assert_eq!(positions(&read("before=2&limit=2".into()).await), [1]);
        // What concerns bob: his registration; what concerns the job: its launch and escrow.
        assert_eq!(positions(&read("member=bob".into()).await), [3]);
        assert_eq!(positions(&read(format!("job={job}")).await), [4, 5]);
        assert_eq!(
            positions(&read(format!("job={job}&member=alice&before=5")).await),
            [4]
        );
        let refused = [
            ("before=3&after=1", 422, "conflicting_query"),
            ("before=3&timeout=100", 422, "conflicting_query"),
            ("before=0", 400, "invalid_query"),
            ("member=Not%20a%20handle", 422, "invalid_handle"),
        ];
        for (q, status, code) in refused {
            common::assert_problem(&read(q.into()).await, status, code);
        }
    }
}
