//! Tally's driving ports over the JSON API: [`HttpTally`] implements [`Tally`] and
//! [`HttpIdentity`] implements [`Identity`](tally_ports::identity::Identity) by calling a running Tally web service, so that
//! the same tests run in process and over HTTP.
//!
//! Both are generic: a command goes to its path with its fields as the body, whatever the
//! command ([`tally_api::paths::command_on`], [`tally_api::body::to_json`]); problem responses
//! come back as the same [`Error`] the service returns in process
//! ([`tally_api::problem::Problem::to_error`]). Who acts is chosen per call by `Ctx::actor`,
//! through a [`TokenSource`] that gives each actor's bearer token; the `Ctx::command_id`
//! travels as the `Idempotency-Key` header.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod identity;
mod tokens;
mod webhooks;

pub use identity::HttpIdentity;
pub use tokens::{ProvisioningTokens, StaticTokens, TokenSource, log_in};
pub use webhooks::HttpWebhookSender;

use async_trait::async_trait;
use reqwest::{Client, Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tally_api::cloudevents::CloudEvent;
use tally_api::paths;
use tally_api::problem::Problem;
use tally_ports::feed::{FeedRequest, FeedStart, MAX_LIMIT};
use tally_ports::inbox::{InboxPage, InboxQuery, MAX_PAGE as MAX_INBOX_PAGE, MarkRead};
use tally_ports::jobs::{JobListing, JobPage, JobQuery};
use tally_ports::members::{MemberListing, MemberPage, MemberQuery};
use tally_ports::statement::{Statement, StatementQuery};
use tally_ports::{
    AsOf, Ctx, EntityRef, Error, FeedPage, HistoryEntry, Input, JobOwnerView, JobParticipantView,
    Receipt, RecordedEvent, Result, Snapshot, Tally, WalletView,
};

/// Maps a problem response back to the driving port's error (STYLE rule 13).
fn to_error(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<Problem>(body) {
        Ok(p) => p.to_error(),
        Err(_) => Error::infrastructure(format!(
            "HTTP {status} without a problem report: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
    }
}

/// A list as the API sends it.
#[derive(Deserialize)]
struct JobList {
    items: Vec<JobListing>,
    total: u64,
    total_exact: bool,
    #[serde(rename = "_links")]
    links: serde_json::Map<String, Value>,
}

/// A page of members as the API sends it.
#[derive(Deserialize)]
struct MemberList {
    items: Vec<MemberListing>,
    total: u64,
    total_exact: bool,
    #[serde(rename = "_links")]
    links: serde_json::Map<String, Value>,
}

/// The value of `key` in the query of the link `rel` of a list's `_links`.
fn link_cursor(links: &serde_json::Map<String, Value>, rel: &str, key: &str) -> Option<String> {
    let href = links.get(rel)?.get("href")?.as_str()?;
    let u = Url::parse("http://x").ok()?.join(href).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

/// The driving port over HTTP.
#[derive(Clone)]
pub struct HttpTally {
    base: Url,
    client: Client,
    tokens: Arc<dyn TokenSource>,
    /// The published event schemas read so far, compiled: feed payloads are checked
    /// against what the service publishes, not against this build's idea of them.
    schemas: Arc<std::sync::Mutex<Validators>>,
}

/// Compiled schemas by event type and version.
type Validators = HashMap<(String, u32), Arc<jsonschema::Validator>>;

impl HttpTally {
    /// A client of the service at `base_url` (e.g. `http://127.0.0.1:8080`), acting with the
    /// tokens `tokens` gives.
    ///
    /// # Errors
    /// `Invalid` for a bad URL; `Infrastructure` if the HTTP client cannot be built.
    pub fn new(base_url: &str, tokens: Arc<dyn TokenSource>) -> Result<Self> {
        Ok(Self {
            base: parse_base(base_url)?,
            client: client()?,
            tokens,
            schemas: Arc::default(),
        })
    }

    /// The compiled published schema of an event type at a version, fetched once.
    async fn schema(&self, event_type: &str, version: u32) -> Result<Arc<jsonschema::Validator>> {
        let key = (event_type.to_owned(), version);
        if let Some(v) = self.lock_schemas().get(&key) {
            return Ok(Arc::clone(v));
        }
        let url = self.url(&paths::schema(event_type, version));
        let doc: Value = send(self.client.get(url)).await?;
        let v = Arc::new(jsonschema::draft202012::new(&doc).map_err(|e| {
            Error::infrastructure(format!(
                "the published schema of {event_type} v{version} does not compile: {e}"
            ))
        })?);
        self.lock_schemas().insert(key, Arc::clone(&v));
        Ok(v)
    }

    fn lock_schemas(&self) -> std::sync::MutexGuard<'_, Validators> {
        self.schemas.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks every payload of a feed page against its published schema.
    async fn check_feed(&self, page: &FeedPage) -> Result<()> {
        for e in &page.events {
            let v = self.schema(&e.event_type, e.schema_version).await?;
            if let Err(err) = v.validate(&e.payload) {
                return Err(Error::infrastructure(format!(
                    "the feed served event {} ({} v{}) with a payload that breaks its \
                     published schema: {err}",
                    e.position, e.event_type, e.schema_version
                )));
            }
        }
        Ok(())
    }

    /// The URL of an API path (from [`tally_api::paths`]).
    fn url(&self, path: &str) -> Url {
        at(&self.base, path)
    }

    async fn request(
        &self,
        ctx: &Ctx,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<reqwest::RequestBuilder> {
        let mut req = self.client.request(method, url);
        if let Some(token) = self.tokens.token(&ctx.actor).await? {
            req = req.bearer_auth(token);
        }
        if let Some(id) = ctx.command_id {
            req = req.header("idempotency-key", id.to_string());
        }
        if let Some(id) = ctx.correlation_id {
            req = req.header("x-correlation-id", id.to_string());
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Ok(req)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        ctx: &Ctx,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<T> {
        send(self.request(ctx, method, url, body).await?).await
    }

    async fn get<T: DeserializeOwned>(&self, ctx: &Ctx, url: Url) -> Result<T> {
        self.call(ctx, Method::GET, url, None).await
    }
}

pub(crate) fn parse_base(base_url: &str) -> Result<Url> {
    Url::parse(base_url).map_err(|e| Error::invalid("base_url", "invalid_url", e.to_string()))
}

pub(crate) fn client() -> Result<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(90))
        .build()
        .map_err(Error::infrastructure)
}

/// The URL of `path` (already percent-encoded, as [`tally_api::paths`] builds them) under the
/// base.
pub(crate) fn at(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let prefix = u.path().trim_end_matches('/').to_owned();
    u.set_path(&format!("{prefix}{path}"));
    u
}

/// Sends a request and decodes the answer, or maps the problem back to an [`Error`].
pub(crate) async fn send<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T> {
    Ok(send_for_headers(req).await?.1)
}

/// [`send`], with the answer's headers.
pub(crate) async fn send_for_headers<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
) -> Result<(reqwest::header::HeaderMap, T)> {
    let res = req
        .send()
        .await
        .map_err(|e| Error::infrastructure(format!("calling the Tally service: {e}")))?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .bytes()
        .await
        .map_err(|e| Error::infrastructure(format!("reading the answer: {e}")))?;
    if !status.is_success() {
        return Err(to_error(status, &body));
    }
    let decoded = if body.is_empty() {
        serde_json::from_value(Value::Null)
    } else {
        serde_json::from_slice(&body)
    };
    decoded
        .map(|t| (headers, t))
        .map_err(|e| Error::infrastructure(format!("decoding the answer ({status}): {e}")))
}

/// The `after` of a feed page's `self` link (`Link: <...?after=N&...>; rel="self"`).
fn self_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let own = link.split(',').find(|l| l.contains("rel=\"self\""))?;
    let query = own.split_once("?after=")?.1;
    query.split(['&', '>']).next()?.parse().ok()
}

#[async_trait]
impl Tally for HttpTally {
    async fn execute(&self, ctx: &Ctx, input: Input) -> Result<Receipt> {
        let (key, body) = tally_api::body::to_json(&input);
        let url = self.url(&paths::command_on(input.kind, &key.unwrap_or_default()));
        self.call(ctx, Method::POST, url, Some(Value::Object(body)))
            .await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        self.get(ctx, self.url(&paths::wallet(handle))).await
    }

    async fn statement(&self, ctx: &Ctx, handle: &str, q: StatementQuery) -> Result<Statement> {
        let mut url = self.url(&paths::statement(handle));
        {
            let mut pairs = url.query_pairs_mut();
            if !q.kinds.is_empty() {
                let kinds: Vec<&str> = q.kinds.iter().map(|k| k.as_str()).collect();
                pairs.append_pair("kind", &kinds.join(","));
            }
            let time = |t: &chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            };
            if let Some(f) = &q.from {
                pairs.append_pair("from", &time(f));
            }
            if let Some(u) = &q.until {
                pairs.append_pair("until", &time(u));
            }
            if let Some(b) = q.before {
                pairs.append_pair("before", &b.to_string());
            }
            if q.limit != 0 {
                pairs.append_pair("limit", &q.limit.to_string());
            }
        }
        self.get(ctx, url).await
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        self.get(ctx, self.url(&paths::job_owner(job))).await
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        self.get(ctx, self.url(&paths::job(job))).await
    }

    async fn jobs(&self, ctx: &Ctx, q: JobQuery) -> Result<JobPage> {
        let mut url = self.url(paths::JOBS);
        for (k, v) in q.to_pairs() {
            url.query_pairs_mut().append_pair(k, &v);
        }
        let page: JobList = self.get(ctx, url).await?;
        // The cursors are in the links: `?before=<id>` (next) and `?after=<id>` (prev).
        Ok(JobPage {
            older: link_cursor(&page.links, "next", "before"),
            newer: link_cursor(&page.links, "prev", "after"),
            jobs: page.items,
            total: page.total,
            total_exact: page.total_exact,
        })
    }

    async fn find_members(&self, ctx: &Ctx, q: MemberQuery) -> Result<MemberPage> {
        let mut url = self.url(paths::MEMBERS);
        for (k, v) in q.to_pairs() {
            url.query_pairs_mut().append_pair(k, &v);
        }
        let page: MemberList = self.get(ctx, url).await?;
        // The cursors are in the links: `?after=<handle>` (next) and `?before=<handle>` (prev).
        Ok(MemberPage {
            next: link_cursor(&page.links, "next", "after"),
            prev: link_cursor(&page.links, "prev", "before"),
            members: page.items,
            total: page.total,
            total_exact: page.total_exact,
        })
    }

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let url = self.url(&paths::history(entity.kind, &entity.key));
        let page: Items<HistoryEntry> = self.get(ctx, url).await?;
        Ok(page.items)
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let mut url = self.url(&paths::state(entity.kind, &entity.key));
        if let Some(v) = at.version {
            url.query_pairs_mut().append_pair("version", &v.to_string());
        }
        if let Some(t) = at.time {
            url.query_pairs_mut().append_pair("at", &t.to_rfc3339());
        }
        self.get(ctx, url).await
    }

    async fn inbox(&self, ctx: &Ctx, q: InboxQuery) -> Result<InboxPage> {
        let mut url = self.url(paths::NOTIFICATIONS);
        {
            let mut pairs = url.query_pairs_mut();
            if q.unread_only {
                pairs.append_pair("unread", "true");
            }
            if let Some(b) = q.before {
                pairs.append_pair("before", &b.to_string());
            }
            pairs.append_pair("limit", &q.limit.clamp(1, MAX_INBOX_PAGE).to_string());
        }
        self.get(ctx, url).await
    }

    async fn unread_notifications(&self, ctx: &Ctx) -> Result<u64> {
        if ctx.actor.as_member().is_none() {
            return Ok(0);
        }
        let mut url = self.url(paths::NOTIFICATIONS);
        url.query_pairs_mut().append_pair("limit", "1");
        let page: InboxPage = self.get(ctx, url).await?;
        Ok(page.unread)
    }

    async fn mark_read(&self, ctx: &Ctx, which: MarkRead) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct Marked {
            marked: u64,
        }
        let path = match which {
            MarkRead::One(id) => paths::notification_read(&id.to_string()),
            MarkRead::All => paths::NOTIFICATIONS_READ.to_owned(),
        };
        let m: Marked = self.call(ctx, Method::POST, self.url(&path), None).await?;
        Ok(m.marked)
    }

    async fn reports(&self, ctx: &Ctx) -> Result<tally_ports::reports::ReportsView> {
        self.get(ctx, self.url(paths::REPORTS)).await
    }

    async fn read_feed(&self, ctx: &Ctx, req: FeedRequest) -> Result<FeedPage> {
        let mut url = self.url(paths::FEED);
        {
            let mut q = url.query_pairs_mut();
            match req.start {
                FeedStart::After(p) => q.append_pair("after", &p.to_string()),
                FeedStart::AfterEvent(id) => q.append_pair("lastEventId", &id.to_string()),
                // The service takes positions up to i64::MAX; past the head is the newest.
                FeedStart::Before(p) => {
                    q.append_pair("before", &p.min(i64::MAX as u64).max(1).to_string())
                }
            };
            q.append_pair("limit", &req.limit.to_string());
            if !req.wait.is_zero() {
                q.append_pair("timeout", &req.wait.as_millis().to_string());
            }
            if !req.filter.types.is_empty() {
                q.append_pair("types", &req.filter.types.join(","));
            }
            if !req.filter.kinds.is_empty() {
                let kinds: Vec<_> = req.filter.kinds.iter().map(|k| k.as_str()).collect();
                q.append_pair("kinds", &kinds.join(","));
            }
            if let Some(m) = &req.filter.member {
                q.append_pair("member", m);
            }
            if let Some(j) = &req.filter.job {
                q.append_pair("job", j);
            }
        }
        let get = self.request(ctx, Method::GET, url, None).await?;
        let (headers, batch): (_, Vec<CloudEvent>) = send_for_headers(get).await?;
        let events = batch
            .into_iter()
            .map(RecordedEvent::try_from)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::infrastructure(format!("the feed served a bad CloudEvent: {e}")))?;
        let after = match req.start {
            FeedStart::After(p) => p,
            // The event's position, as the server resolved it.
            FeedStart::AfterEvent(_) => self_after(&headers)
                .ok_or_else(|| Error::infrastructure("the feed answered without a self link"))?,
            // As the service says it: a full page starts below its first event; a short
            // one reached the start.
            FeedStart::Before(_) => match events.first() {
                Some(e) if events.len() == req.limit.clamp(1, MAX_LIMIT) => e.position - 1,
                _ => 0,
            },
        };
        let page = FeedPage {
            after,
            next_after: events.last().map_or(after, |e| e.position),
            events,
        };
        self.check_feed(&page).await?;
        Ok(page)
    }
}

/// A service's history read over its HTTP feed, as `actor` (an admin, or a service token's
/// actor), with every payload checked against the published schemas: what a report worker
/// in another process follows.
pub struct FeedHistory {
    /// The client.
    pub client: HttpTally,
    /// Who reads.
    pub ctx: Ctx,
}

#[async_trait]
impl tally_ports::reports::History for FeedHistory {
    async fn after(
        &self,
        position: u64,
        limit: usize,
    ) -> std::result::Result<Vec<tally_ports::RecordedEvent>, tally_ports::driven::StoreError> {
        self.client
            .feed(&self.ctx, position, limit)
            .await
            .map(|p| p.events)
            .map_err(|e| tally_ports::driven::StoreError::Other(format!("reading the feed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::Rejection;

    #[test]
    fn problems_map_back_to_the_same_errors() {
        let e = Error::Rejected(Rejection::OwnJob);
        let body = serde_json::to_vec(&Problem::of(&e)).unwrap();
        assert_eq!(to_error(StatusCode::UNPROCESSABLE_ENTITY, &body), e);
        assert_eq!(
            to_error(StatusCode::BAD_GATEWAY, b"<html>").code(),
            "internal"
        );
    }

    #[test]
    fn keys_cannot_escape_their_path_segment() {
        let base = Url::parse("http://h:1/").unwrap();
        assert_eq!(
            at(&base, &paths::job_owner("../members")).as_str(),
            "http://h:1/api/v1/jobs/..%2Fmembers/owner-view"
        );
    }
}
