//! The webhook sender: POSTs a signed delivery over HTTP with no redirects followed, the
//! answer's body read up to a few KiB, within the attempt's timeout; and unless private
//! addresses are allowed, a host that resolves (now, not only when the endpoint was
//! registered) to a loopback, private or link-local address is refused.

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::sync::Arc;
use std::time::Duration;
use tally_ports::webhooks::{Sent, WebhookSender, check_url, forbidden};

/// The most of an answer's body kept (for the delivery's last error).
const BODY_LIMIT: usize = 4 * 1024;

/// Resolves names with the system's resolver and drops forbidden addresses, so that a name
/// that moved to a private address since its endpoint was registered (DNS rebinding) is not
/// reached.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !forbidden(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Sends webhook deliveries with `reqwest`.
pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookSender {
    /// A sender; `allow_private` lets endpoints be at loopback, private or link-local
    /// addresses (tests, a receiver on the same network).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(allow_private: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(64)
            .user_agent("Tally-Webhooks/1");
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build().map_err(|e| e.to_string())?,
            allow_private,
        })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Sent {
        let failed = |error: String| Sent {
            status: None,
            error: Some(error),
        };
        // An address literal in the URL does not go through the resolver: checked here.
        if !self.allow_private
            && let Err(e) = check_url(url, false).await
        {
            return failed(e.to_string());
        }
        let mut request = self.client.post(url).timeout(timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let attempt = async {
            let mut response = request.send().await?;
            let status = response.status();
            let mut kept = Vec::new();
            while kept.len() < BODY_LIMIT {
                match response.chunk().await? {
                    Some(chunk) => kept.extend_from_slice(&chunk),
                    None => break,
                }
            }
            kept.truncate(BODY_LIMIT);
            Ok::<_, reqwest::Error>((status, kept))
        };
        match tokio::time::timeout(timeout, attempt).await {
            Err(_) => failed(format!("no answer within {} ms", timeout.as_millis())),
            Ok(Err(e)) if e.is_timeout() => {
                failed(format!("no answer within {} ms", timeout.as_millis()))
            }
            Ok(Err(e)) => failed(error_chain(&e)),
            Ok(Ok((status, _))) if status.is_success() => Sent {
                status: Some(status.as_u16()),
                error: None,
            },
            Ok(Ok((status, body))) => {
                let text = String::from_utf8_lossy(&body);
                let text: String = text.chars().take(200).collect();
                Sent {
                    status: Some(status.as_u16()),
                    error: Some(if status.is_redirection() {
                        format!("answered {status}: redirects are not followed")
                    } else if text.trim().is_empty() {
                        format!("answered {status}")
                    } else {
                        format!("answered {status}: {}", text.trim())
                    }),
                }
            }
        }
    }
}

/// An error and its causes, in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
