//! Tally's driving port over the JSON API: [`HttpTally`] implements [`Tally`] by calling a
//! running Tally web service, so that the same tests run in process and over HTTP.
//!
//! Problem responses are mapped back to the same [`Error`] variants and codes the service
//! returns in process (the reverse of the server's mapping). Who acts is chosen per call by
//! `Ctx::actor`, through a [`TokenSource`] that gives each actor's bearer token; the
//! `Ctx::command_id` travels as the `Idempotency-Key` header.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod tokens;

pub use tokens::{ProvisioningTokens, StaticTokens, TokenSource, log_in};

use async_trait::async_trait;
use reqwest::{Client, Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tally_ports::{
    AsOf, Ctx, EntityKind, EntityRef, Error, FeedPage, GrantCreditsInput, HistoryEntry,
    JobOwnerView, JobParticipantView, JobSummary, LaunchJobInput, MemberSummary, Receipt,
    RegisterMemberInput, Result, Snapshot, Tally, WalletView,
};

/// A problem report, as the server sends it.
#[derive(Debug, Deserialize)]
struct Problem {
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    field: Option<String>,
}

/// Maps a problem response back to the driving port's error (STYLE rule 13).
fn to_error(status: StatusCode, body: &[u8]) -> Error {
    let Ok(p) = serde_json::from_slice::<Problem>(body) else {
        return Error::infrastructure(format!(
            "HTTP {status} without a problem report: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    };
    let (code, message) = (p.code, p.detail);
    match status.as_u16() {
        400 | 413 | 415 => Error::Invalid {
            field: p.field.unwrap_or_else(|| "body".into()),
            code,
            message,
        },
        401 => Error::Unauthorized { message },
        403 => Error::Forbidden { code, message },
        404 => Error::NotFound { code, message },
        409 => Error::Conflict { code, message },
        422 => Error::Rejected { code, message },
        _ => Error::Infrastructure {
            message: format!("HTTP {status}: {message}"),
        },
    }
}

/// A list as the API sends it.
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
}

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
        })
    }

    /// The URL of `segments` under the base (each segment percent-encoded, so that a key can
    /// never escape its place in the path).
    fn url(&self, segments: &[&str]) -> Url {
        url(&self.base, segments)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        ctx: &Ctx,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<T> {
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
        send(req).await
    }

    async fn get<T: DeserializeOwned>(&self, ctx: &Ctx, url: Url) -> Result<T> {
        self.call(ctx, Method::GET, url, None).await
    }

    async fn post(&self, ctx: &Ctx, url: Url, body: Option<Value>) -> Result<Receipt> {
        self.call(ctx, Method::POST, url, body).await
    }

    fn entity_url(&self, e: &EntityRef, what: &str) -> Url {
        match e.kind {
            EntityKind::Member => self.url(&["members", &e.key, what]),
            EntityKind::Job => self.url(&["jobs", &e.key, what]),
        }
    }
}

pub(crate) fn parse_base(base_url: &str) -> Result<Url> {
    Url::parse(base_url).map_err(|e| Error::invalid("base_url", "invalid_url", e.to_string()))
}

pub(crate) fn client() -> Result<Client> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(Error::infrastructure)
}

pub(crate) fn url(base: &Url, segments: &[&str]) -> Url {
    let mut u = base.clone();
    if let Ok(mut p) = u.path_segments_mut() {
        p.pop_if_empty().extend(["api", "v1"]).extend(segments);
    }
    u
}

/// Sends a request and decodes the answer, or maps the problem back to an [`Error`].
pub(crate) async fn send<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T> {
    let res = req
        .send()
        .await
        .map_err(|e| Error::infrastructure(format!("calling the Tally service: {e}")))?;
    let status = res.status();
    let body = res
        .bytes()
        .await
        .map_err(|e| Error::infrastructure(format!("reading the answer: {e}")))?;
    if !status.is_success() {
        return Err(to_error(status, &body));
    }
    serde_json::from_slice(&body)
        .map_err(|e| Error::infrastructure(format!("decoding the answer ({status}): {e}")))
}

#[async_trait]
impl Tally for HttpTally {
    async fn register_member(&self, ctx: &Ctx, input: RegisterMemberInput) -> Result<Receipt> {
        let body = json!({"handle": input.handle, "display_name": input.display_name});
        self.post(ctx, self.url(&["members"]), Some(body)).await
    }

    async fn grant_credits(&self, ctx: &Ctx, input: GrantCreditsInput) -> Result<Receipt> {
        let url = self.url(&["members", &input.handle, "grants"]);
        let body = json!({"amount": input.amount, "reason": input.reason});
        self.post(ctx, url, Some(body)).await
    }

    async fn launch_job(&self, ctx: &Ctx, input: LaunchJobInput) -> Result<Receipt> {
        let body = json!({
            "title": input.title, "description": input.description, "reward": input.reward
        });
        self.post(ctx, self.url(&["jobs"]), Some(body)).await
    }

    async fn apply(&self, ctx: &Ctx, job: &str, pitch: &str) -> Result<Receipt> {
        let url = self.url(&["jobs", job, "applications"]);
        self.post(ctx, url, Some(json!({"pitch": pitch}))).await
    }

    async fn withdraw_application(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        self.post(ctx, self.url(&["jobs", job, "withdraw"]), None)
            .await
    }

    async fn accept_applicant(&self, ctx: &Ctx, job: &str, participant: &str) -> Result<Receipt> {
        let url = self.url(&["jobs", job, "accept"]);
        self.post(ctx, url, Some(json!({"participant": participant})))
            .await
    }

    async fn complete_job(&self, ctx: &Ctx, job: &str) -> Result<Receipt> {
        self.post(ctx, self.url(&["jobs", job, "complete"]), None)
            .await
    }

    async fn cancel_job(&self, ctx: &Ctx, job: &str, reason: &str) -> Result<Receipt> {
        let url = self.url(&["jobs", job, "cancel"]);
        self.post(ctx, url, Some(json!({"reason": reason}))).await
    }

    async fn wallet(&self, ctx: &Ctx, handle: &str) -> Result<WalletView> {
        self.get(ctx, self.url(&["members", handle, "wallet"]))
            .await
    }

    async fn job_owner_view(&self, ctx: &Ctx, job: &str) -> Result<JobOwnerView> {
        self.get(ctx, self.url(&["jobs", job, "owner-view"])).await
    }

    async fn job_participant_view(&self, ctx: &Ctx, job: &str) -> Result<JobParticipantView> {
        self.get(ctx, self.url(&["jobs", job])).await
    }

    async fn job_board(&self, ctx: &Ctx, limit: usize) -> Result<Vec<JobSummary>> {
        let mut url = self.url(&["jobs"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        let page: Items<JobSummary> = self.get(ctx, url).await?;
        Ok(page.items)
    }

    async fn members(&self, ctx: &Ctx) -> Result<Vec<MemberSummary>> {
        let page: Items<MemberSummary> = self.get(ctx, self.url(&["members"])).await?;
        Ok(page.items)
    }

    async fn history(&self, ctx: &Ctx, entity: &EntityRef) -> Result<Vec<HistoryEntry>> {
        let page: Items<HistoryEntry> = self.get(ctx, self.entity_url(entity, "history")).await?;
        Ok(page.items)
    }

    async fn state_as_of(&self, ctx: &Ctx, entity: &EntityRef, at: AsOf) -> Result<Snapshot> {
        let mut url = self.entity_url(entity, "state");
        match at {
            AsOf::Version(v) => url.query_pairs_mut().append_pair("version", &v.to_string()),
            AsOf::Time(t) => url.query_pairs_mut().append_pair("at", &t.to_rfc3339()),
        };
        self.get(ctx, url).await
    }

    async fn feed(&self, ctx: &Ctx, after: u64, limit: usize) -> Result<FeedPage> {
        let mut url = self.url(&["feed"]);
        url.query_pairs_mut()
            .append_pair("after", &after.to_string())
            .append_pair("limit", &limit.to_string());
        self.get(ctx, url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_map_back_to_the_same_errors() {
        let p = |status: u16, code: &str, field: Option<&str>| {
            let body = json!({"type": "x", "title": "t", "status": status, "detail": "why",
                "code": code, "field": field});
            to_error(
                StatusCode::from_u16(status).unwrap(),
                body.to_string().as_bytes(),
            )
        };
        assert_eq!(
            p(400, "invalid_amount", Some("amount")),
            Error::invalid("amount", "invalid_amount", "why")
        );
        assert_eq!(
            p(401, "unauthorized", None),
            Error::Unauthorized {
                message: "why".into()
            }
        );
        assert_eq!(
            p(403, "admin_only", None),
            Error::forbidden("admin_only", "why")
        );
        assert_eq!(
            p(404, "unknown_job", None),
            Error::not_found("unknown_job", "why")
        );
        assert_eq!(p(409, "conflict", None).code(), "conflict");
        assert_eq!(
            p(422, "insufficient_credits", None).code(),
            "insufficient_credits"
        );
        assert_eq!(p(500, "internal", None).code(), "internal");
        assert_eq!(
            to_error(StatusCode::BAD_GATEWAY, b"<html>").code(),
            "internal"
        );
    }

    #[test]
    fn keys_cannot_escape_their_path_segment() {
        let base = Url::parse("http://h:1/").unwrap();
        assert_eq!(
            url(&base, &["jobs", "../members", "owner-view"]).as_str(),
            "http://h:1/api/v1/jobs/..%2Fmembers/owner-view"
        );
    }
}
