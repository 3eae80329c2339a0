//! The pages take care with what cannot be undone: cancelling, completing and paying, and
//! large grants are confirmed first; a form sent twice (Back, then send) records once and says
//! so; what was typed survives a stale form or an ended session; receipts speak plainly.

mod common;
mod web;

use common::App;
use reqwest::StatusCode;
use web::{Browser, Got, admin, launch, member};

/// The receipt's sentence, unescaped, without its markup.
fn said(g: &Got) -> String {
    let from = g
        .html
        .find("data-text=\"said\"")
        .expect("a receipt in words")
        + 17;
    let rest = &g.html[from..];
    let text = &rest[..rest.find("</p>").unwrap()];
    let mut out = String::new();
    let mut tag = false;
    for c in text.chars() {
        match c {
            '<' => tag = true,
            '>' => tag = false,
            c if !tag => out.push(c),
            _ => {}
        }
    }
    web::unescape(&out)
}

/// A job launched by `owner` with bob accepted for it.
async fn in_progress(app: &App, owner: &Browser) -> String {
    let job = launch(owner, "Logo design", "30").await;
    let bob = member(app, "bob", 0).await;
    let apply = format!("/jobs/{job}/apply");
    bob.submit(&apply, &apply, &[("pitch", "Me")]).await;
    let accept = format!("/jobs/{job}/accept-applicant");
    let done = owner
        .submit(&accept, &accept, &[("participant", "bob")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    job
}

#[tokio::test]
async fn cancelling_a_job_asks_first_in_plain_words_and_records_nothing_until_confirmed() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let job = launch(&alice, "Logo design", "30").await;
    let before = app.feed().await.len();
    let cancel = format!("/jobs/{job}/cancel-job");
    let asked = alice
        .submit(&cancel, &cancel, &[("reason", "Found someone")])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.html);
    assert!(asked.has("id=\"confirm-form\""), "{}", asked.html);
    assert!(asked.has("You are about to cancel") && asked.has("Logo design"));
    assert!(
        asked.has("30 <abbr title=\"credits\">cr</abbr>"),
        "{}",
        asked.html
    );
    assert!(asked.has("@alice") && asked.has("Found someone"));
    assert!(asked.has("Nothing is recorded until you confirm"));
    assert_eq!(app.feed().await.len(), before, "nothing recorded yet");
    // Go back: the form again, with what was typed and the same form id.
    let back = asked
        .attr("id=\"go-back\"", "href")
        .unwrap()
        .replace("&amp;", "&");
    let id = asked
        .hidden_fields("confirm-form")
        .into_iter()
        .find(|(k, _)| k == "command_id")
        .unwrap()
        .1;
    assert!(back.contains(&format!("form={id}")), "{back}");
    let form = alice.get(&back).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.has(">Found someone</textarea>"), "{}", form.html);
    assert_eq!(form.attr("name=\"command_id\"", "value"), Some(id));

    let done = alice.send(&asked, "confirm-form", &cancel, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(app.feed().await.len(), before + 2, "cancelled and refunded");
    let page = alice.follow(&done).await;
    assert_eq!(
        said(&page),
        "You cancelled “Logo design” and its 30 cr went back to your wallet."
    );
    // The same confirmation sent again records nothing more.
    alice.send(&asked, "confirm-form", &cancel, &[]).await;
    assert_eq!(app.feed().await.len(), before + 2);
}

#[tokio::test]
async fn completing_and_paying_asks_first_naming_who_is_paid() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let job = in_progress(&app, &alice).await;
    let before = app.feed().await.len();
    // The action form on the job's page asks first too.
    let owner = alice.get(&format!("/jobs/{job}")).await;
    let complete = format!("/jobs/{job}/complete-job");
    let asked = alice
        .send(&owner, "action-0-complete_job", &complete, &[])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.html);
    assert!(
        asked.has("@bob</strong> is paid its reward of <span class=\"credits\">30 <abbr"),
        "{}",
        asked.html
    );
    assert!(asked.has("Yes, complete it and pay @bob"));
    assert_eq!(app.feed().await.len(), before);
    let done = alice.send(&asked, "confirm-form", &complete, &[]).await;
    let page = alice.follow(&done).await;
    assert_eq!(
        said(&page),
        "You completed “Logo design” and paid @bob its reward of 30 cr."
    );
    assert!(page.has(&format!("href=\"/jobs/{job}\">“Logo design”</a>")));
    assert!(
        page.has("data-event-type=\"JobCompleted\"")
            && page.has("data-event-type=\"CreditsEarned\"")
    );
    assert!(app.feed().await.len() > before, "recorded once confirmed");
}

#[tokio::test]
async fn a_grant_above_the_threshold_asks_first_and_a_small_one_does_not() {
    let app = App::start().await;
    app.member("bob", 0).await;
    let root = admin(&app).await;
    let grant = "/members/bob/grant-credits";
    let small = root.submit(grant, grant, &[("amount", "10000")]).await;
    assert_eq!(
        small.status,
        StatusCode::SEE_OTHER,
        "10,000 needs no confirmation"
    );
    let page = root.follow(&small).await;
    assert_eq!(said(&page), "You granted 10000 cr to @bob.");

    let before = app.feed().await.len();
    let big = root
        .submit(grant, grant, &[("amount", "250000"), ("reason", "Prize")])
        .await;
    assert_eq!(big.status, StatusCode::OK, "{}", big.html);
    assert!(big.has("You are about to grant"), "{}", big.html);
    let cr =
        |n: &str| format!("<span class=\"credits\">{n} <abbr title=\"credits\">cr</abbr></span>");
    let threshold = format!("more than {}", cr("10,000"));
    assert!(big.has(&threshold), "the threshold is said: {}", big.html);
    assert!(big.has(&format!("from {} to {}", cr("10,000"), cr("260,000"))));
    assert!(big.has(">Yes, grant 250,000 cr</button>"));
    assert_eq!(app.feed().await.len(), before);
    let done = root.send(&big, "confirm-form", grant, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(app.feed().await.len(), before + 1);

    // Beyond what the domain allows, there is nothing to confirm: the rule says no.
    let absurd = root.submit(grant, grant, &[("amount", "2000000")]).await;
    assert_eq!(absurd.status, StatusCode::BAD_REQUEST);
    assert_eq!(absurd.error_code().as_deref(), Some("invalid_amount"));
}

#[tokio::test]
async fn the_same_launch_form_sent_twice_launches_one_job_and_says_it_was_already_launched() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let fresh = alice.get("/jobs/new").await;
    assert_eq!(
        fresh.status,
        StatusCode::SEE_OTHER,
        "a new form gets its id"
    );
    let at = fresh.location.clone().unwrap();
    assert!(at.starts_with("/jobs/new?form="), "{at}");
    let fields = [
        ("title", "Logo design"),
        ("description", "A fox"),
        ("reward", "30"),
    ];
    let first = alice.submit(&at, "/jobs", &fields).await;
    let page = alice.follow(&first).await;
    assert_eq!(
        said(&page),
        "You launched “Logo design” and 30 cr are held in escrow until it is completed or cancelled."
    );
    assert!(page.has(">Launch another job</a>"));
    // Back: the same address shows the same form id, and sending it again records nothing.
    let before = app.feed().await.len();
    let again = alice.submit(&at, "/jobs", &fields).await;
    assert_eq!(again.location, first.location, "the same job");
    let page = alice.follow(&again).await;
    assert!(
        said(&page).starts_with("Already launched: "),
        "{}",
        said(&page)
    );
    assert!(page.has("data-again=\"true\""));
    assert_eq!(app.feed().await.len(), before, "no second job");
    let wallet = alice.get("/members/alice/wallet").await;
    assert_eq!(
        wallet.attr("id=\"wallet\"", "data-balance").as_deref(),
        Some("70")
    );

    // Changed and sent again: refused, with a link to the first job and a new form.
    let changed = alice
        .submit(
            &at,
            "/jobs",
            &[("title", "Logo design, v2"), ("reward", "30")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.html);
    let job = first.location.clone().unwrap();
    assert!(
        changed.has(&format!("href=\"{job}\">“Logo design”</a>")),
        "{}",
        changed.html
    );
    let new_id = changed.attr("name=\"command_id\"", "value").unwrap();
    assert!(!at.ends_with(&new_id), "a new form id");
    assert!(changed.has("value=\"Logo design, v2\""));
    let second = alice
        .send(
            &changed,
            "launch_job-form",
            "/jobs",
            &[("title", "Logo design, v2"), ("reward", "30")],
        )
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.html);
    assert_ne!(second.location, first.location);
}

#[tokio::test]
async fn a_stale_form_comes_back_with_what_was_typed() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let form = alice.page("/jobs/new").await;
    let id = form.attr("name=\"command_id\"", "value").unwrap();
    let before = app.feed().await.len();
    let stale = alice
        .post(
            "/jobs",
            &[
                ("csrf", "from-an-old-session"),
                ("command_id", &id),
                ("title", "Logo <design>"),
                ("description", "A fox"),
                ("reward", "30"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(stale.error_code().as_deref(), Some("csrf_failed"));
    assert!(stale.has("what you typed is below"), "{}", stale.html);
    assert!(stale.has("value=\"Logo &lt;design&gt;\"") && stale.has(">A fox</textarea>"));
    assert_eq!(app.feed().await.len(), before, "nothing recorded");
    // The form shown again carries a good token and the same command id: it goes through.
    let typed = [
        ("title", "Logo <design>"),
        ("description", "A fox"),
        ("reward", "30"),
    ];
    let done = alice.send(&stale, "launch_job-form", "/jobs", &typed).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert!(done.location.unwrap().ends_with(&id), "the same command");
}

#[tokio::test]
async fn a_form_whose_session_ended_comes_back_filled_in_after_logging_in() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let apply_as = member(&app, "bob", 0).await;
    let job = launch(&alice, "Logo design", "30").await;
    let apply = format!("/jobs/{job}/apply");
    let form = apply_as.page(&apply).await;
    // The session ends (logged out elsewhere, or expired) while the form is open.
    let logout = apply_as.post("/logout", &[("csrf", &form.csrf())]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    let mut fields = form.hidden_fields("apply-form");
    fields.push(("pitch".into(), "I draw foxes & owls".into()));
    fields.push(("proposed_days".into(), "12".into()));
    fields.push(("password".into(), "never-carried".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ended = apply_as.post(&apply, &pairs).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{}", ended.html);
    assert_eq!(ended.error_code().as_deref(), Some("session_ended"));
    assert!(ended.has("id=\"login-form\"") && ended.has("What you typed (kept)"));
    assert!(ended.has("I draw foxes &amp; owls"), "{}", ended.html);
    assert!(!ended.has("never-carried"), "a password is never carried");
    let carried = ended.hidden_fields("login-form");
    assert!(
        carried.contains(&("return_to".into(), apply.clone())),
        "{carried:?}"
    );
    assert!(carried.contains(&("draft:pitch".into(), "I draw foxes & owls".into())));

    // A wrong password keeps the draft; the right one brings the form back, filled in.
    let wrong = apply_as
        .send(
            &ended,
            "login-form",
            "/login",
            &[("name", "bob"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let back = apply_as
        .send(
            &wrong,
            "login-form",
            "/login",
            &[("name", "bob"), ("password", "bob-password")],
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.html);
    assert!(back.has("What you typed is below"), "{}", back.html);
    assert!(back.has(">I draw foxes &amp; owls</textarea>") && back.has("value=\"12\""));
    let id = form.attr("name=\"command_id\"", "value").unwrap();
    assert_eq!(back.attr("name=\"command_id\"", "value"), Some(id));
    let done = apply_as
        .send(
            &back,
            "apply-form",
            &apply,
            &[("pitch", "I draw foxes & owls"), ("proposed_days", "12")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let page = apply_as.follow(&done).await;
    assert_eq!(said(&page), "You applied to “Logo design”.");

    // A log-in never leads to another site, draft or not.
    let visitor = Browser::new(&app);
    let login = visitor.get("/login").await;
    let away = visitor
        .post(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("name", "bob"),
                ("password", "bob-password"),
                ("return_to", "//evil.example/jobs"),
                ("draft:pitch", "x"),
            ],
        )
        .await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn receipts_say_what_happened_with_the_jobs_title_linked() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let job = launch(&alice, "Logo design", "30").await;
    let bob = member(&app, "bob", 0).await;
    let apply = format!("/jobs/{job}/apply");
    bob.submit(&apply, &apply, &[("pitch", "Me")]).await;
    let accept = format!("/jobs/{job}/accept-applicant");
    let done = alice
        .submit(&accept, &accept, &[("participant", "bob")])
        .await;
    let page = alice.follow(&done).await;
    assert_eq!(
        said(&page),
        "You accepted @bob for “Logo design”: the job is in progress, and its 30 cr stay in escrow until you complete it."
    );
    // No stream or version jargon; the events stay as hooks, in words.
    assert!(!page.has(&format!("job:{job}, version")), "{}", page.html);
    assert!(page.has("data-event-type=\"ApplicantAccepted\""));
    assert!(page.has(">Applicant accepted</li>"));
}
