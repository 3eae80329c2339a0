//! Webhooks: the outbox's messages delivered to peripheral services and members' own tools,
//! signed with the Standard Webhooks scheme, retried with backoff, dead-lettered after a
//! bounded number of attempts. Never history: a delivery's outcome is logged, counted and
//! shown to admins, and is never an event.
//!
//! - An endpoint (URL, secret, the notification kinds it wants) is registered by an admin
//!   (it receives every member's notifications of those kinds) or by a member (only their
//!   own). [`WebhookAdmin`] is the use cases; [`WebhookStore`] keeps endpoints and
//!   deliveries.
//! - A command's transaction queues one delivery per matching endpoint with its outbox rows
//!   (the store's append does it, [`crate::driven::AppendPlan::outbox`]): nothing is queued
//!   for a command that does not commit.
//! - The [`Dispatcher`] claims due deliveries (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
//!   that several processes may run it), leasing each for the attempt's timeout plus a margin
//!   (a dispatcher killed mid-delivery leaves it to be claimed again when the lease ends: at
//!   least once), and sends each on its own task, so that a slow endpoint holds only its own
//!   deliveries.

use crate::error::{Error, Result};
use crate::inbox::OutboxMessage;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tally_domain::{Actor, NotificationKind, Rejection};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed: a dead letter, until an admin redelivers it.
    Dead,
}

impl DeliveryStatus {
    /// The status as a word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// The status named by `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// The member who registered it (it receives only their notifications), or `null` for
    /// an admin's (it receives every member's).
    pub owner: Option<String>,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The notification kinds it receives (empty: every kind).
    pub kinds: Vec<String>,
    /// The signing secret (`whsec_` and base64), as the Standard Webhooks libraries take it.
    pub secret: String,
    /// Whether deliveries wait (they are queued, and sent once it is resumed).
    pub paused: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// Whether a notification to `recipient` of `kind` goes to this endpoint.
    pub fn wants(&self, recipient: &str, kind: &str) -> bool {
        self.owner.as_deref().is_none_or(|o| o == recipient)
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
    }
}

/// An endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewEndpoint {
    /// Where deliveries are POSTed: an `http` or `https` URL of a public address.
    pub url: String,
    /// The notification kinds it receives (`application_received`, `application_accepted`,
    /// `application_not_selected`, `job_cancelled`, `job_paid`, `credits_granted`); empty or
    /// absent: every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// One delivery of one message to one endpoint, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint: Uuid,
    /// The endpoint's URL.
    pub url: String,
    /// The message (the notification's id: the `webhook-id` header of every attempt).
    pub message: Uuid,
    /// The notification's kind.
    pub kind: String,
    /// Its recipient.
    pub recipient: String,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What went wrong last, if anything did.
    pub last_error: Option<String>,
    /// The HTTP status the endpoint last answered with, if it answered.
    pub last_status: Option<u16>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for an attempt: what to send where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The delivery.
    pub id: Uuid,
    /// Its attempt number (1 for the first).
    pub attempt: u32,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's secret.
    pub secret: String,
    /// The message.
    pub message: OutboxMessage,
}

/// How an attempt ended, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// The delivery.
    pub id: Uuid,
    /// Its new status.
    pub status: DeliveryStatus,
    /// When to try again (pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What went wrong, if anything did.
    pub error: Option<String>,
    /// The HTTP status answered, if any.
    pub http_status: Option<u16>,
    /// When it was delivered.
    pub at: DateTime<Utc>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only those of this status.
    pub status: Option<DeliveryStatus>,
    /// Only those to this endpoint.
    pub endpoint: Option<Uuid>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Where endpoints and deliveries are kept. The store's appends queue deliveries for the
/// outbox's messages in the command's transaction.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn add_endpoint(&self, e: &Endpoint) -> Result<()>;

    /// The endpoints (of one owner: `Some(Some(h))`; admins' own: `Some(None)`; all: `None`),
    /// oldest first.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn endpoints(&self, owner: Option<Option<&str>>) -> Result<Vec<Endpoint>>;

    /// Pauses or resumes an endpoint; whether it exists.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn set_paused(&self, id: Uuid, paused: bool) -> Result<bool>;

    /// Deletes an endpoint and its deliveries; whether it existed.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn delete_endpoint(&self, id: Uuid) -> Result<bool>;

    /// Claims up to `limit` deliveries due at `now` to endpoints not paused, oldest due first:
    /// each one's attempt count goes up and its next attempt moves to `lease_until`, so that
    /// no other dispatcher claims it meanwhile (and any claims it once that passes).
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Claimed>>;

    /// Records how attempts ended.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn record(&self, outcomes: &[Attempted]) -> Result<()>;

    /// Deliveries, newest first.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>>;

    /// Puts a delivery back in the queue, due at `now`, with a fresh count of attempts;
    /// whether it exists.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn redeliver(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool>;

    /// How far behind the dispatchers are: deliveries waiting and dead letters.
    ///
    /// # Errors
    /// `Infrastructure` when storage fails.
    async fn backlog(&self) -> Result<Backlog>;
}

/// Webhook attempts, by the delivery's `status` after them (`delivered`, `pending`: to be
/// retried, `dead`).
pub const ATTEMPTS: &str = "tally_webhook_attempts_total";

/// How far behind the webhook dispatchers are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Deliveries waiting for an attempt (due or not).
    pub pending: u64,
    /// Dead letters, waiting for an admin.
    pub dead: u64,
    /// When the oldest pending delivery was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// What an endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong (timeout, refused connection, a forbidden address, a non-2xx answer
    /// with the first bytes of its body).
    pub error: Option<String>,
}

/// Sends one signed request (an adapter: HTTP, with no redirects followed, the body read up
/// to a small limit, within `timeout`).
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` with `headers` to `url`.
    async fn send(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Sent;
}

/// How deliveries are attempted.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery is dead.
    pub attempts: u32,
    /// The pause before the first retry; doubled each time, with jitter.
    pub backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Deliveries claimed at once.
    pub batch: usize,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How often to look for due deliveries when there were none.
    pub poll: Duration,
    /// Whether endpoints may be at loopback, private or link-local addresses (tests, a
    /// receiver on the same network).
    pub allow_private: bool,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            batch: 200,
            concurrency: 64,
            poll: Duration::from_millis(500),
            allow_private: false,
        }
    }
}

impl DeliveryPolicy {
    /// The pause after failed attempt `attempt` (1, 2, ...): exponential, with full jitter in
    /// its upper half, so that failing deliveries do not come back together.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
    }

    /// How long a claim holds a delivery: the attempt's timeout and a margin.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }
}

/// The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256, keyed by
/// the secret's bytes (after `whsec_`), of `{id}.{timestamp}.{body}`.
///
/// # Errors
/// `Infrastructure` for a secret that is not `whsec_` and base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
        .ok_or_else(|| Error::infrastructure("a webhook secret is whsec_ and base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(Error::infrastructure)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Whether a signature header (`v1,<sig>`, several separated by spaces) holds the signature
/// of this message (what a receiver checks; constant-time comparison).
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(expected) = sign(secret, id, timestamp, body) else {
        return false;
    };
    header.split(' ').any(|s| {
        s.len() == expected.len()
            && s.bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// A new signing secret: 32 random bytes.
///
/// # Errors
/// `Infrastructure` if the operating system has no randomness to give.
pub fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Error::infrastructure)?;
    Ok(format!("whsec_{}", B64.encode(bytes)))
}

/// The body of a delivery: `{"type", "timestamp", "data"}` (the Standard Webhooks shape),
/// the same bytes on every attempt.
pub fn body(m: &OutboxMessage) -> Vec<u8> {
    let item = crate::inbox::InboxItem {
        message: m.clone(),
        read_at: None,
    };
    let mut data =
        serde_json::to_value(crate::inbox::NotificationView::from(&item)).unwrap_or_default();
    if let Some(o) = data.as_object_mut() {
        o.remove("read_at");
        o.insert(
            "recipient".into(),
            serde_json::Value::String(m.notification.recipient.to_string()),
        );
    }
    serde_json::to_vec(&serde_json::json!({
        "type": m.notification.kind.as_str(),
        "timestamp": m.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    }))
    .unwrap_or_default()
}

/// Whether an address is one an endpoint may not have without `allow_private`: loopback,
/// private, link-local, unspecified, shared (CGNAT), unique-local or multicast.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

fn bad_url(message: impl Into<String>) -> Error {
    Error::invalid("url", "invalid_webhook_url", message)
}

/// Checks an endpoint's URL: `http` or `https`, a host, no credentials; and unless
/// `allow_private`, every address it resolves to is public.
///
/// # Errors
/// `invalid_webhook_url` saying what is wrong.
pub async fn check_url(url: &str, allow_private: bool) -> Result<()> {
    let url = url.trim();
    if url.len() > 2000 {
        return Err(bad_url("a webhook URL is at most 2000 characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad_url("a webhook URL starts with https:// or http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.chars().any(char::is_whitespace) {
        return Err(bad_url(
            "a webhook URL names a host, with no user name, password or spaces",
        ));
    }
    let bad_port = || bad_url("the port of a webhook URL is a number from 1 to 65535");
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, rest) = v6
            .split_once(']')
            .ok_or_else(|| bad_url("an IPv6 host is in brackets"))?;
        match rest.strip_prefix(':') {
            Some(p) => (h, p.parse::<u16>().map_err(|_| bad_port())?),
            None if rest.is_empty() => (h, 0),
            None => return Err(bad_port()),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad_port())?),
            None => (authority, 0),
        }
    };
    if host.is_empty() {
        return Err(bad_url("a webhook URL names a host"));
    }
    let port = match port {
        0 if url.starts_with("https") => 443,
        0 => 80,
        p => p,
    };
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| bad_url(format!("the host {host} does not resolve: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(bad_url(format!("the host {host} does not resolve")));
    }
    if !allow_private && let Some(ip) = addrs.into_iter().find(|ip| forbidden(*ip)) {
        return Err(bad_url(format!(
            "{host} is at {ip}, a loopback, private or link-local address: webhooks go to public addresses only"
        )));
    }
    Ok(())
}

/// The webhook use cases: endpoints registered by admins (every member's notifications) and
/// by members (their own), listed, paused, resumed, deleted; deliveries seen and dead
/// letters redelivered by admins.
pub struct WebhookAdmin {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn crate::driven::Clock>,
    ids: Arc<dyn crate::driven::IdGenerator>,
    allow_private: bool,
}

/// The most endpoints one member may register.
pub const MAX_ENDPOINTS: usize = 10;

impl WebhookAdmin {
    /// The use cases over `store`.
    pub fn new(store: Arc<dyn WebhookStore>, policy: &DeliveryPolicy) -> Self {
        Self {
            store,
            clock: Arc::new(crate::driven::SystemClock::default()),
            ids: Arc::new(crate::driven::UuidV7),
            allow_private: policy.allow_private,
        }
    }

    fn owner_of(actor: &Actor) -> Result<Option<String>> {
        match actor {
            Actor::Anonymous => Err(Rejection::SignInFirst.into()),
            a if a.is_privileged() => Ok(None),
            a => Ok(a.as_member().map(ToString::to_string)),
        }
    }

    /// Registers an endpoint for the caller: an admin's receives every member's
    /// notifications of its kinds, a member's only their own.
    ///
    /// # Errors
    /// `unauthorized`; `invalid_webhook_url`, `invalid_notification_kind`,
    /// `too_many_endpoints`.
    pub async fn register(&self, actor: &Actor, new: NewEndpoint) -> Result<Endpoint> {
        let owner = Self::owner_of(actor)?;
        let mut kinds = Vec::new();
        for k in &new.kinds {
            let kind = NotificationKind::parse(k.trim()).ok_or_else(|| {
                Error::invalid(
                    "kinds",
                    "invalid_notification_kind",
                    format!(
                        "'{k}' is not a kind of notification: use {}",
                        NotificationKind::ALL
                            .map(NotificationKind::as_str)
                            .join(", ")
                    ),
                )
            })?;
            if !kinds.contains(&kind.as_str().to_owned()) {
                kinds.push(kind.as_str().to_owned());
            }
        }
        check_url(&new.url, self.allow_private).await?;
        let mine = self.store.endpoints(Some(owner.as_deref())).await?;
        if mine.len() >= MAX_ENDPOINTS {
            return Err(Error::invalid(
                "url",
                "too_many_endpoints",
                format!("at most {MAX_ENDPOINTS} endpoints each: delete one first"),
            ));
        }
        let e = Endpoint {
            id: self.ids.new_id(),
            owner,
            url: new.url.trim().to_owned(),
            kinds,
            secret: new_secret()?,
            paused: false,
            created_at: self.clock.now(),
        };
        self.store.add_endpoint(&e).await?;
        tracing::info!(endpoint = %e.id, owner = ?e.owner, url = %e.url, "webhook endpoint registered");
        Ok(e)
    }

    /// The caller's endpoints (an admin: every endpoint).
    ///
    /// # Errors
    /// `unauthorized`.
    pub async fn endpoints(&self, actor: &Actor) -> Result<Vec<Endpoint>> {
        match Self::owner_of(actor)? {
            None => self.store.endpoints(None).await,
            Some(h) => self.store.endpoints(Some(Some(&h))).await,
        }
    }

    /// One of the caller's endpoints (an admin: any).
    async fn own(&self, actor: &Actor, id: Uuid) -> Result<Endpoint> {
        self.endpoints(actor)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| crate::NotFound::NoSuchEndpoint { id }.into())
    }

    /// Pauses (deliveries wait) or resumes one of the caller's endpoints.
    ///
    /// # Errors
    /// `unauthorized`; `no_such_endpoint`.
    pub async fn set_paused(&self, actor: &Actor, id: Uuid, paused: bool) -> Result<Endpoint> {
        let mut e = self.own(actor, id).await?;
        self.store.set_paused(id, paused).await?;
        e.paused = paused;
        Ok(e)
    }

    /// Deletes one of the caller's endpoints and its deliveries.
    ///
    /// # Errors
    /// `unauthorized`; `no_such_endpoint`.
    pub async fn delete(&self, actor: &Actor, id: Uuid) -> Result<()> {
        self.own(actor, id).await?;
        self.store.delete_endpoint(id).await?;
        Ok(())
    }

    /// Deliveries (admins), newest first.
    ///
    /// # Errors
    /// `unauthorized`, `admin_only`.
    pub async fn deliveries(&self, actor: &Actor, q: DeliveryQuery) -> Result<Vec<Delivery>> {
        Self::admin(actor)?;
        let q = DeliveryQuery {
            limit: q.limit.clamp(1, 500),
            ..q
        };
        self.store.deliveries(&q).await
    }

    /// Sends a delivery again from its first attempt (admins): a dead letter, or any other.
    ///
    /// # Errors
    /// `unauthorized`, `admin_only`; `no_such_delivery`.
    pub async fn redeliver(&self, actor: &Actor, id: Uuid) -> Result<()> {
        Self::admin(actor)?;
        if !self.store.redeliver(id, self.clock.now()).await? {
            return Err(crate::NotFound::NoSuchDelivery { id }.into());
        }
        tracing::info!(delivery = %id, "webhook delivery queued again by an admin");
        Ok(())
    }

    fn admin(actor: &Actor) -> Result<()> {
        match actor {
            Actor::Anonymous => Err(Rejection::SignInFirst.into()),
            a if a.is_privileged() => Ok(()),
            _ => Err(Rejection::AdminOnly.into()),
        }
    }
}

/// Counters of the dispatcher, for logs and metrics.
#[derive(Debug, Default)]
pub struct DispatchStats {
    /// Attempts that got a 2xx.
    pub delivered: AtomicU64,
    /// Attempts that failed and will be tried again.
    pub retried: AtomicU64,
    /// Deliveries that became dead letters.
    pub dead: AtomicU64,
}

/// Delivers what the outbox queued: claims due deliveries, sends each signed on its own
/// task, records how each attempt ended.
pub struct Dispatcher {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    policy: DeliveryPolicy,
    permits: Arc<tokio::sync::Semaphore>,
    recorder: Arc<Recorder>,
    wake: Option<crate::feed::CommitsReceiver>,
    /// The counters.
    pub stats: Arc<DispatchStats>,
}

/// Records attempts' outcomes in groups: those that finish while one group is being written
/// are written together next, in one statement (so that the store's round trip is paid per
/// group, not per delivery, when many endpoints answer at once).
struct Recorder {
    store: Arc<dyn WebhookStore>,
    waiting: std::sync::Mutex<Vec<Attempted>>,
    writing: tokio::sync::Mutex<()>,
}

impl Recorder {
    /// Returns once `outcome` is written (by this call or by one that took it with its own).
    async fn record(&self, outcome: Attempted) -> Result<()> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(outcome);
        let _turn = self.writing.lock().await;
        let group = std::mem::take(
            &mut *self
                .waiting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if group.is_empty() {
            // An earlier writer took this outcome with its group.
            return Ok(());
        }
        self.store.record(&group).await
    }
}

impl Dispatcher {
    /// A dispatcher over `store`, sending with `sender`.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            recorder: Arc::new(Recorder {
                store: store.clone(),
                waiting: std::sync::Mutex::default(),
                writing: tokio::sync::Mutex::default(),
            }),
            wake: None,
            store,
            sender,
            permits: Arc::new(tokio::sync::Semaphore::new(policy.concurrency.max(1))),
            policy,
            stats: Arc::new(DispatchStats::default()),
        }
    }

    /// The same dispatcher, woken by commits (the event store's
    /// [`crate::driven::EventStore::commits`]) as well as by its poll interval, so that a
    /// new message goes out as soon as its command commits.
    #[must_use]
    pub fn with_wakeups(mut self, commits: Option<crate::feed::CommitsReceiver>) -> Self {
        self.wake = commits;
        self
    }

    /// Claims what is due and starts an attempt for each (each on its own task, at most
    /// `concurrency` at once); returns how many it started. The attempts go on after it
    /// returns; [`Dispatcher::idle`] waits for them.
    ///
    /// # Errors
    /// `Infrastructure` when the store fails.
    pub async fn tick(&self) -> Result<usize> {
        // Every attempt slot busy: wait for one to free, rather than report "nothing due"
        // (which would pause the loop for the poll interval with deliveries waiting).
        if self.permits.available_permits() == 0 {
            drop(self.permits.acquire().await);
        }
        let free = self.permits.available_permits().min(self.policy.batch);
        if free == 0 {
            return Ok(0);
        }
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.policy.lease()).unwrap_or_default();
        let claimed = self.store.claim(now, now + lease, free).await?;
        let n = claimed.len();
        for c in claimed {
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                break;
            };
            let (recorder, sender, policy, stats) = (
                self.recorder.clone(),
                self.sender.clone(),
                self.policy,
                self.stats.clone(),
            );
            tokio::spawn(async move {
                let outcome = attempt(sender.as_ref(), &policy, &c).await;
                metrics::counter!(ATTEMPTS, "status" => outcome.status.as_str()).increment(1);
                match outcome.status {
                    DeliveryStatus::Delivered => stats.delivered.fetch_add(1, Ordering::Relaxed),
                    DeliveryStatus::Pending => stats.retried.fetch_add(1, Ordering::Relaxed),
                    DeliveryStatus::Dead => stats.dead.fetch_add(1, Ordering::Relaxed),
                };
                if let Err(e) = recorder.record(outcome).await {
                    // The lease runs out and the delivery is claimed again: at least once.
                    tracing::warn!(delivery = %c.id, error = %e, "recording webhook attempts");
                }
                drop(permit);
            });
        }
        Ok(n)
    }

    /// Waits until no attempt is in flight.
    pub async fn idle(&self) {
        let all = u32::try_from(self.policy.concurrency.max(1)).unwrap_or(u32::MAX);
        if let Ok(p) = self.permits.acquire_many(all).await {
            drop(p);
        }
    }

    /// Runs until `stop` resolves: a tick whenever the last one found work, else after the
    /// poll interval.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut wake = self.wake.clone();
        loop {
            let pause = match self.tick().await {
                Ok(0) => self.policy.poll,
                Ok(_) => Duration::from_millis(1),
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries");
                    self.policy.poll * 4
                }
            };
            let woken = async {
                match wake.as_mut() {
                    Some(w) if pause > Duration::from_millis(1) => {
                        if w.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                    _ => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
                () = woken => {
                    // Commits come in bursts: one claim for those of the next few
                    // milliseconds (at most 200 claims a second, however busy the store).
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
}

/// One attempt: sign, send, and say how it ended.
async fn attempt(sender: &dyn WebhookSender, policy: &DeliveryPolicy, c: &Claimed) -> Attempted {
    let body = body(&c.message);
    let id = c.message.id.to_string();
    let timestamp = Utc::now().timestamp();
    let sent = match sign(&c.secret, &id, timestamp, &body) {
        Ok(signature) => {
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("webhook-id", id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
                ("user-agent", "Tally-Webhooks/1".to_owned()),
            ];
            sender.send(&c.url, &headers, body, policy.timeout).await
        }
        Err(e) => Sent {
            status: None,
            error: Some(e.to_string()),
        },
    };
    let now = Utc::now();
    if sent.error.is_none() && sent.status.is_some_and(|s| (200..300).contains(&s)) {
        tracing::debug!(delivery = %c.id, attempt = c.attempt, "webhook delivered");
        return Attempted {
            id: c.id,
            status: DeliveryStatus::Delivered,
            next_attempt_at: None,
            error: None,
            http_status: sent.status,
            at: now,
        };
    }
    let error = sent.error.unwrap_or_else(|| "not a 2xx answer".to_owned());
    let dead = c.attempt >= policy.attempts;
    if dead {
        tracing::warn!(delivery = %c.id, url = %c.url, attempts = c.attempt, %error, "webhook delivery is a dead letter");
    } else {
        tracing::info!(delivery = %c.id, url = %c.url, attempt = c.attempt, %error, "webhook attempt failed; retrying");
    }
    Attempted {
        id: c.id,
        status: if dead {
            DeliveryStatus::Dead
        } else {
            DeliveryStatus::Pending
        },
        next_attempt_at: (!dead).then(|| {
            now + chrono::Duration::from_std(policy.backoff_after(c.attempt)).unwrap_or_default()
        }),
        error: Some(error),
        http_status: sent.status,
        at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1_614_265_330;
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, id, ts, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(secret, id, ts, body, &format!("v1,other {sig}")));
        assert!(!verify(secret, id, ts + 1, body, &sig));
    }

    #[test]
    fn private_addresses_are_forbidden_and_public_ones_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked() {
        for bad in [
            "ftp://example.org/",
            "https://",
            "https://user:pw@example.org/",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost/hook",
            "http://example.org:99999/",
        ] {
            let e = check_url(bad, false).await.unwrap_err();
            assert_eq!(e.code(), "invalid_webhook_url", "{bad}");
        }
        check_url("http://127.0.0.1:8080/hook", true).await.unwrap();
        check_url("http://[::1]:9/hook", true).await.unwrap();
        check_url("https://93.184.216.34/hook", false)
            .await
            .unwrap();
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = DeliveryPolicy {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            ..DeliveryPolicy::default()
        };
        let first = p.backoff_after(1);
        assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
        let fourth = p.backoff_after(4);
        assert!(fourth >= Duration::from_secs(8) && fourth <= Duration::from_secs(16));
        assert!(p.backoff_after(30) <= Duration::from_secs(60));
    }
}
