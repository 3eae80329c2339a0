//! The pages' forms: post, redirect, get (with the receipt shown once); a refused form shown
//! again; the same form sent twice; signing up, in and out; `/` for browsers and programs.

mod common;
mod web;

use common::App;
use reqwest::{StatusCode, header};
use web::{Browser, Got, admin, member};

#[tokio::test]
async fn a_command_redirects_to_a_page_that_shows_its_effect_and_receipt_once() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let done = alice
        .submit(
            "/jobs/new",
            "/jobs",
            &[
                ("title", "Logo design"),
                ("description", ""),
                ("reward", "30"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let to = done.location.clone().unwrap();
    assert!(to.starts_with("/jobs/"), "{to}");
    let page = alice.follow(&done).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("id=\"receipt\""), "{}", page.html);
    assert!(
        page.has("data-event-type=\"JobLaunched\"")
            && page.has("data-event-type=\"CreditsEscrowed\"")
    );
    assert_eq!(
        page.attr("id=\"job\"", "data-status").as_deref(),
        Some("open")
    );
    // Read-your-writes: the wallet already holds the escrow.
    let wallet = alice.get("/members/alice/wallet").await;
    assert_eq!(
        wallet.attr("id=\"wallet\"", "data-balance").as_deref(),
        Some("70")
    );
    assert_eq!(
        wallet.attr("id=\"wallet\"", "data-escrowed").as_deref(),
        Some("30")
    );
    assert!(!wallet.has("id=\"receipt\""), "the receipt is shown once");
}

#[tokio::test]
async fn a_refused_form_is_shown_again_with_the_message_the_code_the_input_and_the_status() {
    let app = App::start().await;
    let alice = member(&app, "alice", 20).await;
    let poor = alice
        .submit(
            "/jobs/new",
            "/jobs",
            &[
                ("title", "Big & bold"),
                ("description", "Lots"),
                ("reward", "21"),
            ],
        )
        .await;
    assert_eq!(poor.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(poor.error_code().as_deref(), Some("insufficient_credits"));
    assert!(
        poor.has("value=\"Big &amp; bold\"") && poor.has(">Lots</textarea>"),
        "{}",
        poor.html
    );
    assert!(poor.has("value=\"21\""));
    assert!(
        poor.has("id=\"launch_job-form\""),
        "the form is shown again"
    );

    let bad = alice
        .submit("/jobs/new", "/jobs", &[("title", ""), ("reward", "5")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code().as_deref(), Some("invalid_title"));
    assert_eq!(
        bad.attr("id=\"error\"", "data-error-field").as_deref(),
        Some("title")
    );
    assert!(bad.has("aria-invalid=\"true\""));

    let grant = alice.get("/admin/grants/new").await;
    assert_eq!(grant.status, StatusCode::FORBIDDEN);
    assert_eq!(grant.error_code().as_deref(), Some("admin_only"));
    let ghost = alice
        .get("/jobs/0192f1c2-7b7e-7cc0-9d1e-1b2c3d4e5f60/apply")
        .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND);
    assert_eq!(ghost.error_code().as_deref(), Some("unknown_job"));
    let visitor = Browser::new(&app).get("/jobs/new").await;
    assert_eq!(visitor.status, StatusCode::UNAUTHORIZED);
    assert!(
        visitor.has("id=\"login-form\""),
        "a visitor is offered the log-in form"
    );
}

#[tokio::test]
async fn the_same_form_sent_twice_records_once_and_a_reused_key_is_a_conflict() {
    let app = App::start().await;
    app.member("alice", 0).await;
    let root = admin(&app).await;
    let pick = root.get("/admin/grants/new?handle=alice").await;
    assert_eq!(
        pick.status,
        StatusCode::SEE_OTHER,
        "the grant page of alice"
    );
    let form = root.page(pick.location.as_deref().unwrap()).await;
    let (csrf, id) = (
        form.csrf(),
        form.attr("name=\"command_id\"", "value").unwrap(),
    );
    let before = app.feed().await.len();
    let send = |amount: &'static str| {
        let (csrf, id) = (csrf.clone(), id.clone());
        let root = &root;
        async move {
            let f = [
                ("csrf", csrf.as_str()),
                ("command_id", id.as_str()),
                ("handle", "alice"),
                ("amount", amount),
            ];
            root.post("/members/alice/grant-credits", &f).await
        }
    };
    // Each redirect is followed before the next send: the flash cookie holds one receipt.
    let a = root.follow(&send("100").await).await;
    let b = root.follow(&send("100").await).await;
    let pos = |g: &Got| g.attr("class=\"receipt-event\"", "data-position");
    assert_eq!(pos(&a), pos(&b), "both show the first command's receipt");
    assert_eq!(app.feed().await.len(), before + 1);
    let other = send("200").await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.error_code().as_deref(), Some("command_id_reused"));
}

#[tokio::test]
async fn signing_up_signs_the_member_in_and_logging_out_ends_the_session() {
    let app = App::start().await;
    let b = Browser::new(&app);
    let done = b
        .submit(
            "/signup",
            "/signup",
            &[
                ("handle", "dave"),
                ("display_name", "Dave"),
                ("password", "dave-password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let wallet = b.follow(&done).await;
    assert!(wallet.has("data-actor=\"member:dave\""), "{}", wallet.html);
    assert!(wallet.has("data-event-type=\"MemberRegistered\""));
    let csrf = wallet.csrf();
    let out = b.post("/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = b.get("/members/dave/wallet").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let wrong = b
        .submit(
            "/login",
            "/login",
            &[("name", "dave"), ("password", "not it at all")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.has("value=\"dave\""), "the name is kept");
}

#[tokio::test]
async fn the_root_is_a_page_for_browsers_and_the_index_for_programs() {
    let app = App::start().await;
    let page = Browser::new(&app).get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("<!DOCTYPE html>") && page.has("href=\"/signup\""));
    let css = page.attr("rel=\"stylesheet\"", "href").unwrap();
    let sheet = app.client.get(app.url(&css)).send().await.unwrap();
    assert_eq!(
        sheet.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    assert!(sheet.text().await.unwrap().contains(":focus-visible"));
    let json = app.get("/", None).await;
    assert_eq!(json.body["service"], "tally");
    let nowhere = Browser::new(&app).get("/nowhere").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.error_code().as_deref(), Some("no_page"));
}

/// An admin makes a `feed:read` service token on the tokens page (its secret shown once),
/// the token reads the feed and nothing else, and revoking it on the page stops it.
#[tokio::test]
async fn an_admin_makes_and_revokes_a_service_token_on_the_tokens_page() {
    let app = App::start().await;
    let admin = admin(&app).await;
    let made = admin
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[
                ("name", "reports-service"),
                ("scope", "feed:read"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.html);
    assert!(made.has("id=\"created-token\""), "{}", made.html);
    let secret = made.html.split("id=\"token-secret\">").nth(1).unwrap();
    let secret = secret.split('<').next().unwrap().to_owned();
    assert!(made.has("data-scope=\"feed:read\""));
    let feed = app.get("/api/v1/feed", Some(&secret)).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    let members = app.get("/api/v1/members", Some(&secret)).await;
    assert_eq!(members.status, StatusCode::FORBIDDEN);
    assert!(!admin.get("/admin/tokens").await.has(&secret), "shown once");

    let bad = admin
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[
                ("name", ""),
                ("scope", "feed:read"),
                ("expires_in_days", "soon"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert_eq!(bad.error_code().as_deref(), Some("invalid_expiry"));

    let id = made.attr("data-scope=\"feed:read\"", "data-id").unwrap();
    let page = admin.get("/admin/tokens").await;
    let revoked = admin
        .post(
            &format!("/admin/tokens/{id}/revoke"),
            &[("csrf", page.csrf().as_str())],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/feed", Some(&secret)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The tag (`<input ...>` or `<textarea ...>`) of the field `name` in `html`, after `from`.
fn tag_of<'a>(html: &'a str, from: &str, name: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("no {from}"));
    let at = start
        + html[start..]
            .find(&format!(" name=\"{name}\""))
            .unwrap_or_else(|| panic!("no field {name} after {from}"));
    let open = html[..at].rfind('<').unwrap();
    &html[open..at + html[at..].find('>').unwrap()]
}

/// What a field's rule says its input must carry, and a number its hint must say.
fn limits_of(rule: &tally_domain::Rule) -> (Vec<String>, Option<String>) {
    use tally_domain::Shape;
    match rule.shape {
        Shape::Text { max, .. } | Shape::Pattern { max, .. } => {
            (vec![format!("maxlength=\"{max}\"")], Some(max.to_string()))
        }
        Shape::Integer { min, max } => (
            vec![format!("min=\"{min}\""), format!("max=\"{max}\"")],
            None,
        ),
        Shape::OneOf(_) => (vec![], None),
    }
}

fn assert_limited(page: &Got, form: &str, name: &str, rule: &tally_domain::Rule) {
    let tag = tag_of(&page.html, &format!("id=\"{form}\""), name);
    let (attrs, said) = limits_of(rule);
    for a in attrs {
        assert!(tag.contains(&a), "#{form} {name}: no {a} in {tag}");
    }
    if let Some(n) = said {
        let marker = format!("id=\"field-{name}-hint\"");
        let at = page
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("#{form} {name} has no hint"));
        let hint = &page.html[at..at + page.html[at..].find("</p>").unwrap()];
        assert!(
            hint.contains(&n),
            "#{form} {name}: the hint does not say {n}: {hint}"
        );
    }
}

#[tokio::test]
async fn every_input_with_a_limit_carries_it_from_the_domain_and_says_it() {
    use tally_domain::{CommandKind, DisplayName, EntityKind, Handle, Target, Value};
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let job = web::launch(&alice, "Logo design", "30").await;
    app.member("bob", 0).await;
    let root = admin(&app).await;
    for &kind in CommandKind::ALL {
        let (who, key) = match kind.target() {
            Target::New(EntityKind::Member) => continue,
            Target::On(EntityKind::Member) => (&root, "bob"),
            Target::On(EntityKind::Job) => (&alice, job.as_str()),
            Target::New(EntityKind::Job) => (&alice, ""),
        };
        let page = who.page(&tally_http::command_pages::page(kind, key)).await;
        assert_eq!(page.status, StatusCode::OK, "{kind:?}: {}", page.html);
        let form = tally_http::command_pages::form_id(kind);
        for spec in tally_api::body::body_fields(kind) {
            assert_limited(&page, &form, spec.name, &spec.rule);
        }
    }
    // Forms outside the commands take their limits from the same rules.
    let visitor = Browser::new(&app);
    let signup = visitor.get("/signup").await;
    assert_limited(&signup, "signup-form", "handle", &Handle::RULE);
    assert_limited(&signup, "signup-form", "display_name", &DisplayName::RULE);
    let password = tag_of(&signup.html, "id=\"signup-form\"", "password");
    let (min, max) = (
        tally_ports::identity::PASSWORD_MIN,
        tally_ports::identity::PASSWORD_MAX,
    );
    assert!(
        password.contains(&format!("minlength=\"{min}\" maxlength=\"{max}\"")),
        "{password}"
    );
    let tokens = root.get("/admin/tokens").await;
    assert_limited(
        &tokens,
        "token-form",
        "name",
        &tally_ports::identity::TOKEN_NAME,
    );
    let days = tag_of(&tokens.html, "id=\"token-form\"", "expires_in_days");
    let most = tally_ports::identity::TOKEN_DAYS_MAX;
    assert!(days.contains(&format!("max=\"{most}\"")), "{days}");
}

#[tokio::test]
async fn after_a_failed_submit_the_error_summary_takes_the_focus_and_links_the_field() {
    let app = App::start().await;
    let alice = member(&app, "alice", 100).await;
    let bad = alice
        .submit("/jobs/new", "/jobs", &[("title", ""), ("reward", "5")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let at = bad.html.find("id=\"error\"").unwrap();
    let open = bad.html[..at].rfind('<').unwrap();
    let tag = &bad.html[open..at + bad.html[at..].find('>').unwrap()];
    assert!(
        tag.contains("tabindex=\"-1\"") && tag.contains("autofocus"),
        "{tag}"
    );
    assert!(
        bad.has("<a href=\"#field-title\">Go to the field: Title</a>"),
        "{}",
        bad.html
    );
    assert_eq!(
        bad.html.matches("autofocus").count(),
        1,
        "one thing takes the focus"
    );
}
