//! ChromeDriver: found, spawned once per run on a free loopback port, asked for headless
//! Chromium sessions, and killed when the run ends.

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to get what the browser target needs.
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// The first of `names` on the `PATH`.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A running ChromeDriver. Dropping it kills the process.
pub(crate) struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Finds Chromium and ChromeDriver, starts ChromeDriver on a free loopback port and waits
    /// until it is ready (it says so at `/status`).
    ///
    /// # Errors
    /// When either is missing (naming the packages to install), or ChromeDriver does not start.
    pub(crate) async fn spawn() -> Result<Self> {
        let missing: Vec<&str> = [
            (
                "chromium",
                which(&["chromium", "chromium-browser", "google-chrome"]),
            ),
            ("chromedriver", which(&["chromedriver"])),
        ]
        .into_iter()
        .filter(|(_, found)| found.is_none())
        .map(|(name, _)| name)
        .collect();
        let Some(driver) = which(&["chromedriver"]).filter(|_| missing.is_empty()) else {
            let verb = if missing.len() > 1 { "are" } else { "is" };
            bail!(
                "the browser target needs Chromium and ChromeDriver; {} {verb} missing: {INSTALL}",
                missing.join(" and ")
            );
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port for chromedriver")?
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg("--log-level=WARNING")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", driver.display()))?;
        let me = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        me.wait_ready().await?;
        Ok(me)
    }

    async fn wait_ready(&self) -> Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = client.get(format!("{}/status", self.url)).send().await;
            if let Ok(res) = status
                && let Ok(v) = res.json::<serde_json::Value>().await
                && v["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("chromedriver at {} did not become ready in 20 s", self.url);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A new headless Chromium session with its own profile in `profile`.
    ///
    /// # Errors
    /// When Chromium does not start.
    pub(crate) async fn session(&self, profile: &Path) -> Result<Client> {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,1000", "--lang=en-US",
                    "--disable-extensions", "--disable-background-timer-throttling",
                    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                    "--mute-audio", "--no-default-browser-check", "--disable-hang-monitor",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("the capabilities are an object")
        };
        ClientBuilder::rustls()
            .context("setting up the WebDriver client")?
            .capabilities(caps)
            .connect(&self.url)
            .await
            .with_context(|| format!("starting Chromium through chromedriver ({INSTALL})"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
