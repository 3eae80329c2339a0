//! The pages refuse forged forms, escape what people typed, and never show a participant
//! another applicant's pitch.

mod common;
mod web;

use common::App;
use reqwest::StatusCode;
use web::{Browser, admin, launch, member};

#[tokio::test]
async fn a_form_without_a_valid_csrf_token_is_refused_with_403_and_records_nothing() {
    let app = App::start().await;
    let bob = member(&app, "bob", 0).await;
    let root = admin(&app).await;
    let before = app.feed().await;

    let fields = [("amount", "5"), ("reason", "x")];
    let missing = root.post("/members/bob/grant-credits", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.error_code().as_deref(), Some("csrf_failed"));
    // A token from another session is no better than none.
    let bobs = bob.page("/jobs/new").await.csrf();
    let mut stolen = vec![("csrf", bobs.as_str())];
    stolen.extend_from_slice(&fields);
    assert_eq!(
        root.post("/members/bob/grant-credits", &stolen)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Anonymous forms use a double-submit cookie: a fresh browser without it is refused.
    let visitor = Browser::new(&app);
    let signup = [
        ("csrf", "guess"),
        ("handle", "eve"),
        ("display_name", "Eve"),
        ("password", "long enough"),
    ];
    let refused = visitor.post("/signup", &signup).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code().as_deref(), Some("csrf_failed"));
    // What was typed comes back, but never the password.
    assert!(refused.has("value=\"eve\"") && refused.has("value=\"Eve\""));
    assert!(!refused.has("long enough"), "{}", refused.html);
    assert_eq!(
        app.feed().await,
        before,
        "a refused form recorded something"
    );

    // With the page's own token, the same grant goes through.
    let ok = root
        .submit(
            "/members/bob/grant-credits",
            "/members/bob/grant-credits",
            &fields,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html);
    assert_eq!(app.feed().await.len(), before.len() + 1);
}

#[tokio::test]
async fn script_payloads_are_escaped_on_every_page() {
    let app = App::start().await;
    let root = admin(&app).await;
    let evil = "<script>alert('x')</script>";
    let r = root
        .submit(
            "/admin/members/new",
            "/admin/members",
            &[
                ("handle", "mallory"),
                ("display_name", evil),
                ("password", "mallory-password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    root.submit(
        "/members/mallory/grant-credits",
        "/members/mallory/grant-credits",
        &[("amount", "50"), ("reason", evil)],
    )
    .await;
    let mallory = Browser::log_in(&app, "mallory", "mallory-password").await;
    let job = launch(&mallory, evil, "10").await;
    let bob = member(&app, "bob", 0).await;
    bob.submit(
        &format!("/jobs/{job}/apply"),
        &format!("/jobs/{job}/apply"),
        &[("pitch", evil)],
    )
    .await;

    let pages = [
        (&root, "/admin/members".to_owned()),
        (&root, "/members/mallory/wallet".to_owned()),
        (&root, "/members/mallory/history".to_owned()),
        (&root, "/admin/feed".to_owned()),
        (&mallory, "/jobs".to_owned()),
        (&mallory, format!("/jobs/{job}/owner")),
        (&mallory, format!("/jobs/{job}/history")),
        (&mallory, format!("/jobs/{job}/state?version=2")),
        (&bob, format!("/jobs/{job}")),
    ];
    let home = root.get("/").await;
    assert!(!home.has("<script"), "{}", home.html);
    for (b, path) in pages {
        let g = b.get(&path).await;
        assert_eq!(g.status, StatusCode::OK, "{path}: {}", g.html);
        assert!(
            !g.has("<script"),
            "{path} has a raw script tag:\n{}",
            g.html
        );
        assert!(g.has("&lt;script&gt;"), "{path} does not show the text");
    }
    // An error page shows what was typed, escaped too.
    let again = root
        .submit(
            "/admin/members/new",
            "/admin/members",
            &[
                ("handle", evil),
                ("display_name", evil),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        !again.has("<script") && again.has("&lt;script&gt;"),
        "{}",
        again.html
    );
}

#[tokio::test]
async fn a_participant_never_sees_another_applicants_pitch_on_any_page() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let bob = member(&app, "bob", 0).await;
    let carol = member(&app, "carol", 0).await;
    let job = launch(&alice, "Logo design", "30").await;
    let apply = format!("/jobs/{job}/apply");
    bob.submit(&apply, &apply, &[("pitch", "Bob's secret plan")])
        .await;
    carol
        .submit(&apply, &apply, &[("pitch", "Carol's secret plan")])
        .await;

    let mut seen = 0;
    for path in [
        format!("/jobs/{job}"),
        format!("/jobs/{job}/apply"),
        format!("/jobs/{job}/withdraw-application"),
        format!("/jobs/{job}/owner"),
        format!("/jobs/{job}/accept-applicant?participant=carol"),
        format!("/jobs/{job}/cancel-job"),
        format!("/jobs/{job}/history"),
        format!("/jobs/{job}/state?version=3"),
        "/jobs".to_owned(),
        "/".to_owned(),
        "/members/bob/wallet".to_owned(),
        "/members/bob/history".to_owned(),
        "/members/carol/wallet".to_owned(),
        "/admin/feed".to_owned(),
        "/admin/members".to_owned(),
    ] {
        let g = bob.page(&path).await;
        assert!(
            !g.has("Carol&#39;s secret") && !g.has("Carol's secret"),
            "{path} shows Carol's pitch"
        );
        seen += usize::from(g.has("Bob&#39;s secret plan") || g.has("Bob's secret plan"));
    }
    assert!(seen >= 1, "bob sees his own pitch somewhere");
    let own = bob.get(&format!("/jobs/{job}")).await;
    assert_eq!(
        own.attr("id=\"my-application\"", "data-status").as_deref(),
        Some("live")
    );
    let refused = bob.get(&format!("/jobs/{job}/owner")).await;
    assert_eq!(refused.error_code().as_deref(), Some("not_job_owner"));

    // The owner sees every application and its pitch, with a button to accept each, at the
    // job's own address.
    let owner = alice.get(&format!("/jobs/{job}")).await;
    assert_eq!(owner.status, StatusCode::OK);
    assert!(
        owner.has("Bob&#39;s secret plan") || owner.has("Bob's secret plan"),
        "{}",
        owner.html
    );
    assert!(owner.has("Carol&#39;s secret plan") || owner.has("Carol's secret plan"));
    assert!(owner.has(">Accept @bob</button>") && owner.has(">Accept @carol</button>"));
}

/// The pages' CSP allows no inline styles (`style-src 'self'`), so none may rely on one: a
/// `style` attribute would be silently ignored by the browser (charts once overflowed phones
/// that way). Every styled thing goes through the stylesheet.
#[tokio::test]
async fn no_page_relies_on_an_inline_style() {
    let app = App::start().await;
    let alice = web::member(&app, "alice", 100).await;
    web::launch(&alice, "Logo design", "30").await;
    let admin = web::admin(&app).await;
    let mut pages = vec![
        alice.get("/").await,
        alice.get("/members/alice/wallet").await,
        alice.get("/jobs").await,
    ];
    for path in [
        "/admin/reports",
        "/admin/members",
        "/admin/feed",
        "/admin/tokens",
    ] {
        pages.push(admin.get(path).await);
    }
    for p in &pages {
        assert_eq!(p.status, reqwest::StatusCode::OK, "{}", p.html);
        assert!(!p.has(" style="), "an inline style: {}", p.html);
        assert!(p.has("/static/tally-"), "the stylesheet link");
    }
}
