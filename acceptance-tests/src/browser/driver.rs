//! [`BrowserTally`]: a person at a browser. It signs in as whoever acts, opens pages, fills
//! and submits their forms, and reads what the pages show from their stable hooks (`id`s and
//! `data-*` attributes, and the exact text of elements marked `data-text`).

use super::read::{Scrape, error_of};
use super::session::{Memory, Who};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tally_ports::{Actor, Error, Result};
use tokio::sync::Mutex;

/// The driving port, through the pages in a real browser.
pub struct BrowserTally {
    pub(crate) client: Client,
    base: String,
    pub(crate) admin_password: String,
    pub(crate) memory: Mutex<Memory>,
    shots: Option<PathBuf>,
    shot_count: std::sync::atomic::AtomicUsize,
}

/// Reads every hook of the current page in one round trip: the signed-in actor, the render
/// id, the error and the receipt if any, one main element and lists of elements.
const SCRAPE: &str = r#"
const pick = (el) => {
  const o = Object.assign({}, el.dataset);
  el.querySelectorAll('[data-text]').forEach((c) => { o[c.dataset.text] = c.textContent; });
  return o;
};
const one = (s) => { const el = s ? document.querySelector(s) : null; return el ? pick(el) : null; };
const all = (s) => Array.from(document.querySelectorAll(s)).map(pick);
const render = document.querySelector('meta[name="tally-render"]');
return {
  actor: document.body ? (document.body.dataset.actor || null) : null,
  render: render ? render.content : null,
  error: one('#error'),
  receipt: one('#receipt'),
  confirm: one('#confirm'),
  receipt_events: all('#receipt .receipt-event'),
  main: one(arguments[0]),
  lists: (arguments[1] || []).map(all),
};
"#;

/// Fills a form's fields in one round trip (typing key by key costs three WebDriver calls
/// per field and tells the server nothing new). Every visible field filled must have a label
/// and be enabled, as a person needs; it answers the page's render id.
const FILL: &str = r#"
const form = document.getElementById(arguments[0]);
if (!form) { return { problem: 'there is no form #' + arguments[0] }; }
for (const [name, value] of arguments[1]) {
  const el = form.elements.namedItem(name);
  if (!el) { return { problem: 'the form #' + arguments[0] + ' has no field ' + name }; }
  if (el.type !== 'hidden') {
    if (el.disabled || el.readOnly) { return { problem: 'the field ' + name + ' cannot be filled' }; }
    if (!el.labels || el.labels.length === 0) { return { problem: 'the field ' + name + ' has no label' }; }
  }
  if (el.tagName === 'SELECT' && ![...el.options].some(o => o.value === String(value))) {
    // A choice the page does not offer: sent as a tampered form would send it, so that the
    // service (the one judge of input) is what refuses it.
    el.add(new Option(String(value), String(value)));
  }
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
}
const render = document.querySelector('meta[name="tally-render"]');
return { render: render ? render.content : null };
"#;

pub(crate) fn browser_error(e: impl std::fmt::Display) -> Error {
    Error::infrastructure(format!("browser: {e}"))
}

/// A path segment, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A new random password.
pub(crate) fn new_password() -> String {
    format!("pw-{}", uuid::Uuid::now_v7().simple())
}

impl BrowserTally {
    /// A driver of the service at `base` through `client`, starting signed out.
    ///
    /// # Errors
    /// When the browser cannot open the service's pages.
    pub async fn new(
        client: Client,
        base: String,
        admin_password: &str,
        shots: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let me = Self {
            client,
            base,
            admin_password: admin_password.to_owned(),
            memory: Mutex::new(Memory::default()),
            shots,
            shot_count: std::sync::atomic::AtomicUsize::new(0),
        };
        // Cookies are per host, not per port: clear what an earlier scenario left (from its
        // last page, on the same host; a new session must first open a page here).
        if me.client.delete_all_cookies().await.is_err() {
            me.goto("/login").await?;
            me.client
                .delete_all_cookies()
                .await
                .map_err(browser_error)?;
        }
        me.memory.lock().await.current = Some(Who::Visitor);
        Ok(me)
    }

    /// Opens a page (and keeps a screenshot of it when asked to).
    pub(crate) async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .map_err(browser_error)?;
        self.shot(path).await
    }

    async fn shot(&self, what: &str) -> Result<()> {
        let Some(dir) = &self.shots else {
            return Ok(());
        };
        let n = self
            .shot_count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let slug: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let slug = slug.trim_matches('-');
        let png = self.client.screenshot().await.map_err(browser_error)?;
        let file = dir.join(format!("{n:03}-{}.png", &slug[..slug.len().min(60)]));
        std::fs::write(&file, png).map_err(|e| browser_error(format!("{}: {e}", file.display())))
    }

    /// Reads the page's hooks: `main` (a selector) and `lists` (selectors of repeated items).
    pub(crate) async fn scrape(&self, main: &str, lists: &[&str]) -> Result<Scrape> {
        let v = self
            .client
            .execute(SCRAPE, vec![json!(main), json!(lists)])
            .await
            .map_err(browser_error)?;
        serde_json::from_value(v).map_err(|e| browser_error(format!("reading the page: {e}")))
    }

    /// Opens a page and reads it; an error the page shows is the call's error.
    pub(crate) async fn read(&self, path: &str, main: &str, lists: &[&str]) -> Result<Scrape> {
        self.goto(path).await?;
        let s = self.scrape(main, lists).await?;
        match error_of(&s) {
            Some(e) => Err(e),
            None => Ok(s),
        }
    }

    /// Fills the form `form` with `fields` (hidden ones too, such as a command id the caller
    /// chose, as an API client would send `Idempotency-Key`), clicks its submit button, waits
    /// for the next page and reads it (`main` and `lists` as for [`Self::scrape`]).
    pub(crate) async fn submit(
        &self,
        form: &str,
        fields: &[(&str, &str)],
        main: &str,
        lists: &[&str],
    ) -> Result<Scrape> {
        let filled = self
            .client
            .execute(FILL, vec![json!(form), json!(fields)])
            .await
            .map_err(browser_error)?;
        if let Some(problem) = filled["problem"].as_str() {
            return Err(browser_error(problem));
        }
        let before = filled["render"].as_str().map(str::to_owned);
        let css = format!("#{form} button[type=\"submit\"]");
        let button = self
            .client
            .find(Locator::Css(&css))
            .await
            .map_err(browser_error)?;
        button.click().await.map_err(browser_error)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let page = loop {
            let now = self.scrape(main, lists).await?;
            if now.render.is_some() && now.render != before {
                break now;
            }
            if Instant::now() > deadline {
                return Err(browser_error(format!(
                    "submitting #{form} led nowhere in 20 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if self.shots.is_some() {
            let url = self.client.current_url().await.map_err(browser_error)?;
            self.shot(&format!("{}-after-{form}", url.path())).await?;
        }
        Ok(page)
    }

    /// Checks that the page shows the actor the driver signed in as (cookie swapping is the
    /// driver's own trick; this keeps it honest).
    pub(crate) fn check_actor(&self, page: &Scrape, actor: &Actor) -> Result<()> {
        let want = Who::of(actor).page_actor();
        match &page.actor {
            Some(a) if *a == want => Ok(()),
            other => Err(browser_error(format!(
                "the page shows {other:?} signed in, not {want}"
            ))),
        }
    }
}
