//! The browser target: every scenario clicks through the HTML pages in headless Chromium
//! (driven over WebDriver by [`BrowserTally`]), against the web service spawned in process on
//! a free port.
//!
//! The runner starts ChromeDriver once ([`start`]) and shuts it down at the end
//! ([`BrowserGuard::shutdown`]). Scenarios run one at a time. They share one browser session
//! and start with its cookies cleared: that is as isolated as a session per scenario (each
//! scenario also has its own server, storage and accounts), and saves the second Chromium takes
//! to start. `TALLY_BROWSER_SESSION=scenario` starts a session per scenario instead.
//!
//! Storage is PostgreSQL, a fresh database per scenario (see `targets`);
//! `TALLY_BROWSER_STORAGE=memory` runs on the in-memory adapters instead.
//!
//! `TALLY_SCREENSHOTS=<dir>` saves a PNG of every page visited, in a folder per scenario.

mod chromedriver;
mod driver;
mod port;
mod read;
mod session;

pub use driver::BrowserTally;

use crate::targets::Backend;
use anyhow::{Context, Result};
use chromedriver::Chromedriver;
use fantoccini::Client;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use tally_ports::TallyService;
use tally_ports::accounts::Accounts;
use tokio::sync::Mutex as AsyncMutex;
use uuid::Uuid;

/// One Chromium session and its profile directory.
struct Session {
    client: Client,
    profile: PathBuf,
}

impl Session {
    async fn open(driver: &Chromedriver) -> Result<Self> {
        let profile = std::env::temp_dir().join(format!("tally-chromium-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&profile).context("creating a Chromium profile directory")?;
        let client = driver.session(&profile).await?;
        Ok(Self { client, profile })
    }

    async fn close(self) -> Result<()> {
        let closed = self
            .client
            .close()
            .await
            .context("closing the browser session");
        let _ = std::fs::remove_dir_all(&self.profile);
        closed
    }
}

/// The browser of a run: ChromeDriver, and the shared session.
struct Browser {
    driver: Chromedriver,
    shared: AsyncMutex<Option<Session>>,
    per_scenario: bool,
}

/// The running browser, for the targets to find (weak: the runner's guard owns it).
static CURRENT: Mutex<Weak<Browser>> = Mutex::new(Weak::new());

/// The scenario about to start (its number in the run and a name for files), for screenshots.
static SCENARIO: Mutex<(usize, String)> = Mutex::new((0, String::new()));

/// Keeps the browser running; [`BrowserGuard::shutdown`] closes it. Dropped without that
/// (a panic), it still kills ChromeDriver.
pub struct BrowserGuard(Arc<Browser>);

/// Starts ChromeDriver for a run of the browser target.
///
/// # Errors
/// When Chromium or ChromeDriver is missing (the message names the packages to install) or
/// does not start.
pub async fn start() -> Result<BrowserGuard> {
    let driver = Chromedriver::spawn().await?;
    let per_scenario = std::env::var("TALLY_BROWSER_SESSION").is_ok_and(|v| v == "scenario");
    let b = Arc::new(Browser {
        driver,
        shared: AsyncMutex::new(None),
        per_scenario,
    });
    *CURRENT.lock().expect("not poisoned") = Arc::downgrade(&b);
    Ok(BrowserGuard(b))
}

impl BrowserGuard {
    /// The run's shared browser session (opened on first use), for tests that drive pages
    /// themselves (the layout checks); [`BrowserGuard::shutdown`] closes it.
    ///
    /// # Errors
    /// When Chromium does not start.
    pub async fn client(&self) -> Result<Client> {
        let mut shared = self.0.shared.lock().await;
        if shared.is_none() {
            *shared = Some(Session::open(&self.0.driver).await?);
        }
        shared
            .as_ref()
            .map(|s| s.client.clone())
            .context("a session")
    }

    /// Closes the browser session, deletes its profile, and stops ChromeDriver.
    ///
    /// # Errors
    /// When the session does not close cleanly (ChromeDriver is stopped anyway).
    pub async fn shutdown(self) -> Result<()> {
        let session = self.0.shared.lock().await.take();
        let closed = match session {
            Some(s) => s.close().await,
            None => Ok(()),
        };
        *CURRENT.lock().expect("not poisoned") = Weak::new();
        drop(self);
        closed
    }
}

/// Names the scenario that starts next (the runner calls this in its `before` hook).
pub fn scenario_starts(feature: &str, scenario: &str) {
    let mut s = SCENARIO.lock().expect("not poisoned");
    let slug: String = format!("{feature} {scenario}")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    s.0 += 1;
    s.1 = format!("{:03}-{}", s.0, &slug[..slug.len().min(90)]);
}

/// Where this scenario's screenshots go, when `TALLY_SCREENSHOTS` asks for them.
fn screenshot_dir() -> Result<Option<PathBuf>> {
    let Some(root) = std::env::var_os("TALLY_SCREENSHOTS").filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let name = SCENARIO.lock().expect("not poisoned").1.clone();
    let dir = PathBuf::from(root).join(if name.is_empty() {
        "scenario".into()
    } else {
        name
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Some(dir))
}

/// A backend for one scenario: the web service over `service` and `accounts` (fresh, empty
/// storage), and the browser with no cookies.
///
/// # Errors
/// When the browser was not started, or the server or a browser session cannot start.
pub async fn backend(service: Arc<TallyService>, accounts: Arc<dyn Accounts>) -> Result<Backend> {
    let browser =
        CURRENT.lock().expect("not poisoned").upgrade().context(
            "the browser is not running: the runner starts it before the browser target",
        )?;
    let server = crate::http::serve(service, accounts).await?;
    let (client, own) = if browser.per_scenario {
        let s = Session::open(&browser.driver).await?;
        (s.client.clone(), Some(s))
    } else {
        let mut shared = browser.shared.lock().await;
        if shared.is_none() {
            *shared = Some(Session::open(&browser.driver).await?);
        }
        (
            shared
                .as_ref()
                .map(|s| s.client.clone())
                .context("a session")?,
            None,
        )
    };
    let tally = BrowserTally::new(
        client,
        server.url(),
        crate::http::ADMIN_PASSWORD,
        screenshot_dir()?,
    )
    .await?;
    let teardown = move || -> futures::future::BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            drop(browser);
            if let Some(s) = own {
                s.close().await?;
            }
            server.shutdown().await.context("stopping the web service")
        })
    };
    let tally = Arc::new(tally);
    Ok(Backend::new(tally.clone(), tally).with_teardown(Box::new(teardown)))
}
