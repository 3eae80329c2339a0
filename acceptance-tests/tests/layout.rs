//! The pages' layout in a real browser (headless Chromium): every main page fits a 390 px
//! phone screen and a 1280 px one with no sideways scrolling (their tables stacked rows of
//! labelled cells on the phone), and after a failed submit the
//! error summary has the focus.
//!
//! Chromium and ChromeDriver must be installed: without them these tests fail and say what to
//! install (they are never skipped). `TALLY_SCREENSHOTS=<dir>` keeps a PNG of every page at
//! each width.

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Client;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use tally_acceptance::browser;
use tally_domain::{CommandKind, Raw};
use tally_ports::identity::{Identity, IdentityService, NewToken, PasswordCost, SignUp};
use tally_ports::webhooks::{Attempted, DeliveryStatus, Endpoint, WebhookStore};
use tally_ports::{Actor, Ctx, Input, Tally};
use tokio::sync::Mutex;

/// One browser at a time: the machine is small, and both tests share the one session.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A phone (an iPhone 12 to 15's CSS width) and a laptop.
const WIDTHS: [u32; 2] = [390, 1280];

/// The service with a little of everything in it, and where to find it.
struct Site {
    url: String,
    job: String,
    server: tally_http::testing::Server,
}

fn admin() -> Ctx {
    Ctx::new(Actor::admin("admin"))
}

fn as_member(h: &str) -> Ctx {
    Ctx::new(Actor::Member(
        tally_domain::Handle::parse(h).expect("a handle"),
    ))
}

/// Members, grants, jobs (one with a long unbroken title, one completed, one cancelled),
/// applications and a token; the reports follow in the background.
async fn site() -> Result<Site> {
    let (svc, store) = tally_memory::service();
    let reports: Arc<dyn tally_ports::driven::ReportStore> = Arc::new(store.clone());
    let follower = tally_ports::reports::Follower::new(svc.store().clone(), reports.clone(), 100);
    tokio::spawn(follower.run(std::time::Duration::from_millis(20)));
    let svc = Arc::new(svc.with_reports(reports));
    let accounts = Arc::new(tally_memory::MemoryAccounts::new());
    let identity = IdentityService::new(accounts.clone(), svc.clone())
        .with_password_cost(PasswordCost::Minimal);
    for (h, name) in [
        ("alice", "Alice Liddell"),
        ("bob", "Bob Marley"),
        ("carol", "Carol Danvers"),
    ] {
        let s = SignUp {
            handle: h.into(),
            display_name: name.into(),
            password: format!("{h}-password"),
        };
        identity.register_with_account(&admin(), s).await?;
        let grant = Input::new(CommandKind::GrantCredits)
            .with("handle", h)
            .with("amount", Raw::Int(500))
            .with(
                "reason",
                "Welcome to Tally, with a reason long enough to wrap on a phone",
            );
        svc.execute(&admin(), grant).await?;
    }
    let launch = |title: &str, reward: i64| {
        Input::new(CommandKind::LaunchJob)
            .with("title", title)
            .with(
                "description",
                "A description that says what the job is about, at some length, so that it wraps.",
            )
            .with("reward", Raw::Int(reward))
    };
    let alice = as_member("alice");
    let job = svc
        .execute(&alice, launch("Logo design for a bakery", 30))
        .await?;
    let job = job.launched_job().context("a job")?.to_owned();
    svc.execute(
        &alice,
        launch(
            "Averyveryverylongtitlewithoutanyspacesatallthatmustnotwidenthepage",
            12,
        ),
    )
    .await?;
    for (who, pitch) in [
        ("bob", "I draw logos; see my portfolio."),
        ("carol", "Ten years of bakery branding."),
    ] {
        let apply = Input::new(CommandKind::Apply)
            .with("job", job.as_str())
            .with("pitch", pitch)
            .with("proposed_days", Raw::Int(12));
        svc.execute(&as_member(who), apply).await?;
    }
    let done = svc.execute(&alice, launch("Menu card", 40)).await?;
    let done = done.launched_job().context("a job")?.to_owned();
    let apply = Input::new(CommandKind::Apply)
        .with("job", done.as_str())
        .with("pitch", "Me");
    svc.execute(&as_member("bob"), apply).await?;
    let accept = Input::new(CommandKind::AcceptApplicant)
        .with("job", done.as_str())
        .with("participant", "bob");
    svc.execute(&alice, accept).await?;
    svc.execute(
        &alice,
        Input::new(CommandKind::CompleteJob).with("job", done.as_str()),
    )
    .await?;
    let gone = svc.execute(&as_member("bob"), launch("Flyers", 20)).await?;
    let gone = gone.launched_job().context("a job")?.to_owned();
    let cancel = Input::new(CommandKind::CancelJob)
        .with("job", gone.as_str())
        .with("reason", "Plans changed");
    svc.execute(&as_member("bob"), cancel).await?;
    // An endpoint and a dead letter, for the webhook pages.
    let hooks: Arc<dyn WebhookStore> = Arc::new(store.clone());
    let now = chrono::Utc::now();
    for (owner, url) in [
        (
            None,
            "https://hooks.example.com/tally/notifications/with/a/long/path",
        ),
        (Some("alice"), "https://alice.example.com/hook"),
    ] {
        hooks
            .add_endpoint(&Endpoint {
                id: uuid::Uuid::now_v7(),
                owner: owner.map(str::to_owned),
                url: url.to_owned(),
                kinds: vec!["application_received".into(), "job_paid".into()],
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
                paused: owner.is_some(),
                created_at: now,
            })
            .await?;
    }
    svc.execute(&alice, launch("Poster", 10)).await?;
    let poster = svc.execute(&alice, launch("Banner", 10)).await?;
    let banner = poster.launched_job().context("a job")?.to_owned();
    let apply = Input::new(CommandKind::Apply)
        .with("job", banner.as_str())
        .with("pitch", "Me");
    svc.execute(&as_member("carol"), apply).await?;
    let claimed = hooks
        .claim(now + chrono::Duration::hours(1), now, 10)
        .await?;
    let outcomes: Vec<Attempted> = claimed
        .iter()
        .map(|c| Attempted {
            id: c.id,
            status: DeliveryStatus::Dead,
            next_attempt_at: None,
            error: Some("answered 503 Service Unavailable: upstream connect error or disconnect/reset before headers".into()),
            http_status: Some(503),
            at: now,
        })
        .collect();
    hooks.record(&outcomes).await?;
    let server =
        tally_acceptance::http::serve_with(svc.clone(), accounts.clone(), Some(hooks)).await?;
    let token = NewToken {
        name: "reports-exporter".into(),
        expires_in_days: Some(30),
        scope: Some("feed:read".into()),
    };
    let root = IdentityService::new(accounts, svc).with_password_cost(PasswordCost::Minimal);
    root.create_token(&admin(), token).await?;
    Ok(Site {
        url: server.url(),
        job,
        server,
    })
}

/// Logs in as `name` through the log-in page (after forgetting whoever was signed in).
async fn log_in(c: &Client, site: &Site, name: &str, password: &str) -> Result<()> {
    c.goto(&format!("{}/login", site.url)).await?;
    c.delete_all_cookies().await?;
    c.goto(&format!("{}/login", site.url)).await?;
    c.execute(
        "const f = document.getElementById('login-form');
         f.elements.namedItem('name').value = arguments[0];
         f.elements.namedItem('password').value = arguments[1];
         f.submit();",
        vec![json!(name), json!(password)],
    )
    .await?;
    for _ in 0..200 {
        let who: Option<String> = serde_json::from_value(
            c.execute(
                "return document.body ? document.body.dataset.actor : null;",
                vec![],
            )
            .await?,
        )?;
        if who.is_some_and(|w| w != "anonymous") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    bail!("logging in as {name} led nowhere")
}

/// Sets the viewport to `width` CSS pixels (the window is sized so that the page gets it).
async fn viewport(c: &Client, width: u32) -> Result<()> {
    c.set_window_size(width, 900).await?;
    let inner: u32 = serde_json::from_value(c.execute("return window.innerWidth;", vec![]).await?)?;
    if inner != width {
        // The window's frame takes some of it: make up the difference.
        c.set_window_size(width + (width - inner.min(width)), 900)
            .await?;
    }
    let inner: u32 = serde_json::from_value(c.execute("return window.innerWidth;", vec![]).await?)?;
    ensure!(
        inner == width,
        "the viewport is {inner} px wide, not {width}"
    );
    Ok(())
}

fn shots() -> Option<PathBuf> {
    std::env::var_os("TALLY_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// How far `path` runs wider than the viewport (0 when it fits), after checking the page is
/// not an error page; keeps a screenshot when asked.
async fn overflow(c: &Client, site: &Site, path: &str, width: u32) -> Result<i64> {
    c.goto(&format!("{}{path}", site.url)).await?;
    measure(c, path, width).await
}

/// Asks the page before cancelling `site.job` (its action form, sent and not confirmed), and
/// measures the question as [`overflow`] does.
async fn confirmation(c: &Client, site: &Site, width: u32) -> Result<i64> {
    c.goto(&format!("{}/jobs/{}", site.url, site.job)).await?;
    c.execute(
        "document.querySelector('form[data-command=\"cancel_job\"] button[type=submit]').click();",
        vec![],
    )
    .await?;
    for _ in 0..400 {
        let asked: bool = serde_json::from_value(
            c.execute("return !!document.getElementById('confirm');", vec![])
                .await?,
        )?;
        if asked {
            return measure(c, "/confirm-cancel", width).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    bail!("cancelling asked nothing")
}

/// The page shown now, measured (see [`overflow`]); `path` names it.
async fn measure(c: &Client, path: &str, width: u32) -> Result<i64> {
    let v = c
        .execute(
            "const e = document.getElementById('error');
             const cells = [...document.querySelectorAll('.table-wrap tbody td:not([colspan])')];
             return { error: e ? e.dataset.errorCode : null,
                      scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                      frames: [...document.querySelectorAll('.table-wrap')]
                        .filter((w) => w.scrollWidth > w.clientWidth).map((w) => w.querySelector('table').id),
                      unlabelled: cells.filter((c) => !c.dataset.label).length,
                      cells: cells.length,
                      stacked: cells.filter((c) => getComputedStyle(c).display !== 'table-cell'
                        && getComputedStyle(c, '::before').content === JSON.stringify(c.dataset.label)).length };",
            vec![],
        )
        .await?;
    ensure!(
        v["error"].is_null(),
        "{path} shows an error: {}",
        v["error"]
    );
    if let Some(dir) = shots() {
        std::fs::create_dir_all(&dir)?;
        let slug: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let file = dir.join(format!("{width}{}.png", &slug[..slug.len().min(60)]));
        std::fs::write(&file, c.screenshot().await?)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    ensure!(
        v["unlabelled"] == 0,
        "{path}: table cells without a data-label: {v}"
    );
    ensure!(
        v["frames"].as_array().is_some_and(Vec::is_empty),
        "{path} at {width} px: tables scrolling sideways in their frames: {}",
        v["frames"]
    );
    if width <= PHONE {
        ensure!(
            v["stacked"] == v["cells"],
            "{path} at {width} px: not every cell is stacked with its label: {v}"
        );
    } else {
        ensure!(
            v["stacked"] == 0,
            "{path} at {width} px: cells stacked on a wide screen: {v}"
        );
    }
    let scroll = v["scroll"].as_i64().context("scrollWidth")?;
    let inner = v["inner"].as_i64().context("innerWidth")?;
    Ok(scroll - inner)
}

/// Up to this width, tables are stacked rows.
const PHONE: u32 = 600;

async fn with_browser<F, Fut>(f: F) -> Result<()>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let _one = ONE_AT_A_TIME.lock().await;
    // Fails, naming the packages, when Chromium or ChromeDriver is missing.
    let guard = browser::start().await?;
    let client = guard.client().await?;
    let outcome = f(client).await;
    guard.shutdown().await?;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_fit_a_390_px_phone_and_a_1280_px_screen() -> Result<()> {
    let site = site().await?;
    let member_pages = [
        "/".to_owned(),
        "/jobs".to_owned(),
        format!("/jobs/{}", site.job),
        format!("/jobs/{}/history", site.job),
        "/jobs/new".to_owned(),
        "/members/alice/wallet".to_owned(),
        "/members/alice/history".to_owned(),
        "/my/jobs".to_owned(),
        "/my/applications".to_owned(),
        "/inbox".to_owned(),
        "/webhooks".to_owned(),
        "/jobs?q=logo&min_reward=1".to_owned(),
    ];
    let admin_pages = [
        "/admin/members",
        "/admin/feed",
        "/admin/reports",
        "/admin/tokens",
        "/admin/jobs",
        "/webhooks",
        "/admin/webhooks/deliveries",
        "/members/bob/wallet",
    ];
    let site_ref = &site;
    let outcome = with_browser(|c| async move {
        let site = site_ref;
        let mut wide = Vec::new();
        for (who, password, pages) in [
            ("alice", "alice-password", member_pages.to_vec()),
            (
                "admin",
                tally_acceptance::http::ADMIN_PASSWORD,
                admin_pages.iter().map(|p| (*p).to_owned()).collect(),
            ),
        ] {
            log_in(&c, site, who, password).await?;
            for width in WIDTHS {
                viewport(&c, width).await?;
                for path in &pages {
                    let by = overflow(&c, site, path, width).await?;
                    if by > 0 {
                        wide.push(format!("{path} as {who} is {by} px too wide at {width} px"));
                    }
                }
                if who == "alice" {
                    let by = confirmation(&c, site, width).await?;
                    if by > 0 {
                        wide.push(format!(
                            "the confirmation is {by} px too wide at {width} px"
                        ));
                    }
                }
            }
        }
        ensure!(
            wide.is_empty(),
            "pages wider than the screen:\n{}",
            wide.join("\n")
        );
        Ok(())
    })
    .await;
    site.server.shutdown().await?;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_submit_the_error_summary_has_the_focus() -> Result<()> {
    let site = site().await?;
    let site_ref = &site;
    let outcome = with_browser(|c| async move {
        let site = site_ref;
        log_in(&c, site, "alice", "alice-password").await?;
        viewport(&c, 390).await?;
        c.goto(&format!("{}/jobs/new", site.url)).await?;
        let before = c
            .execute(
                "return document.querySelector('meta[name=\"tally-render\"]').content;",
                vec![],
            )
            .await?;
        c.execute(
            "const f = document.getElementById('launch_job-form');
             f.elements.namedItem('title').value = '';
             f.elements.namedItem('reward').value = '5';
             f.querySelector('button[type=submit]').click();",
            vec![],
        )
        .await?;
        for _ in 0..400 {
            let now = c
                .execute(
                    "const m = document.querySelector('meta[name=\"tally-render\"]');
                     return { render: m ? m.content : null,
                              focused: document.activeElement ? document.activeElement.id : null,
                              error: !!document.getElementById('error') };",
                    vec![],
                )
                .await?;
            if now["render"] != before && now["error"] == true {
                ensure!(
                    now["focused"] == "error",
                    "the focus is on {:?}, not the error summary",
                    now["focused"]
                );
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        bail!("the failed submit showed no error")
    })
    .await;
    site.server.shutdown().await?;
    outcome
}
