//! A browser for the page tests: cookies kept, redirects not followed (to see each 303),
//! asking for HTML, forms posted as `application/x-www-form-urlencoded`.
#![allow(dead_code)]

use crate::common::{self, App};
use reqwest::{Client, StatusCode, header};

/// A browser: cookies kept, redirects not followed, asking for HTML.
pub struct Browser {
    client: Client,
    base: String,
}

/// A page as the browser received it.
pub struct Got {
    pub status: StatusCode,
    pub html: String,
    pub location: Option<String>,
}

impl Got {
    /// The value of the first `attr="..."` after `marker` (or anywhere, with an empty marker).
    pub fn attr(&self, marker: &str, attr: &str) -> Option<String> {
        let from = self.html.find(marker)?;
        let rest = &self.html[from..];
        let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
        let end = rest[start..].find('"')?;
        Some(rest[start..start + end].to_owned())
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        self.attr("name=\"csrf\"", "value")
            .expect("a form with a CSRF token")
    }

    pub fn error_code(&self) -> Option<String> {
        self.attr("id=\"error\"", "data-error-code")
    }

    /// The hidden fields of the form `id`, as a browser would post them (unescaped).
    pub fn hidden_fields(&self, id: &str) -> Vec<(String, String)> {
        let Some(start) = self.html.find(&format!(" id=\"{id}\" method=\"post\"")) else {
            panic!("no form #{id} in {}", self.html);
        };
        let form = &self.html[start..];
        let form = &form[..form.find("</form>").unwrap_or(form.len())];
        let mut out = Vec::new();
        for part in form.split("<input type=\"hidden\" ").skip(1) {
            let value_of = |attr: &str| {
                let from = part.find(&format!("{attr}=\""))? + attr.len() + 2;
                let len = part[from..].find('"')?;
                Some(unescape(&part[from..from + len]))
            };
            if let (Some(n), Some(v)) = (value_of("name"), value_of("value")) {
                out.push((n, v));
            }
        }
        out
    }

    pub fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

/// Text from HTML with maud's escapes undone.
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(app: &App) -> Self {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(
                [(
                    header::ACCEPT,
                    "text/html,application/xhtml+xml".parse().unwrap(),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .unwrap();
        Self {
            client,
            base: app.server.url(),
        }
    }

    pub async fn got(res: reqwest::Response) -> Got {
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        Got {
            status,
            html: res.text().await.unwrap(),
            location,
        }
    }

    pub async fn get(&self, path: &str) -> Got {
        Self::got(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The answer as it came (headers and body), for what is not a page.
    #[allow(dead_code)]
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Got {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::got(res).await
    }

    /// Opens `path`, following redirects (a command's page first redirects to itself with
    /// a new form id).
    pub async fn page(&self, path: &str) -> Got {
        let mut got = self.get(path).await;
        for _ in 0..3 {
            match (&got.status, &got.location) {
                (&StatusCode::SEE_OTHER, Some(to)) => got = self.get(&to.clone()).await,
                _ => break,
            }
        }
        got
    }

    /// Shows `page`, then posts its form with `fields` plus its CSRF token and command id.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Got {
        let form = self.page(page).await;
        assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.html);
        let csrf = form.csrf();
        let id = form
            .attr("name=\"command_id\"", "value")
            .unwrap_or_default();
        let mut all = vec![("csrf", csrf.as_str()), ("command_id", id.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Posts the form `id` of `page` as it is (its hidden fields), with `extra` fields.
    pub async fn send(&self, page: &Got, id: &str, action: &str, extra: &[(&str, &str)]) -> Got {
        let fields = page.hidden_fields(id);
        let mut all: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(extra);
        self.post(action, &all).await
    }

    pub async fn follow(&self, g: &Got) -> Got {
        assert_eq!(g.status, StatusCode::SEE_OTHER, "{}", g.html);
        self.get(g.location.as_deref().unwrap()).await
    }

    pub async fn log_in(app: &App, name: &str, password: &str) -> Self {
        let b = Self::new(app);
        let done = b
            .submit(
                "/login",
                "/login",
                &[("name", name), ("password", password)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
        b
    }
}

pub async fn admin(app: &App) -> Browser {
    Browser::log_in(app, "admin", common::ADMIN_PASSWORD).await
}

pub async fn member(app: &App, handle: &str, credits: i64) -> Browser {
    app.member(handle, credits).await;
    Browser::log_in(app, handle, &format!("{handle}-password")).await
}

/// Launches a job through the page and returns its id.
pub async fn launch(b: &Browser, title: &str, reward: &str) -> String {
    let done = b
        .submit(
            "/jobs/new",
            "/jobs",
            &[
                ("title", title),
                ("description", "Details."),
                ("reward", reward),
            ],
        )
        .await;
    let loc = done.location.clone().expect("a redirect to the new job");
    let loc = loc.split('?').next().unwrap_or_default().to_owned();
    loc.trim_start_matches("/jobs/")
        .trim_end_matches("/owner")
        .to_owned()
}
