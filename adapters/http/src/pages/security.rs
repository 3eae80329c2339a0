//! What keeps the pages' forms honest: CSRF tokens, and the cookies the pages use (the
//! double-submit token of anonymous visitors, and the one-shot flash that carries a
//! command's receipt across its redirect).

use serde::{Deserialize, Serialize};
use tally_ports::Receipt;
use tally_ports::identity::{derived, hex as hex_of, new_secret};

/// The cookie holding an anonymous visitor's CSRF token (double submit).
pub(crate) const CSRF_COOKIE: &str = "tally_csrf";
/// The cookie carrying the outcome of the last command to the page after its redirect.
pub(crate) const FLASH_COOKIE: &str = "tally_flash";
/// The hidden form field holding the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// The hidden form field holding the command id (the idempotency key).
pub(crate) const COMMAND_ID_FIELD: &str = "command_id";

/// The CSRF token of a signed-in browser: a hash of its session token, separated by purpose
/// from the hash the accounts store keeps. The session token is 256 random bits that only the
/// browser (in an HttpOnly cookie) and this server know, so another site can neither read nor
/// guess the token; and no server key needs configuring or sharing between instances.
pub(crate) fn session_csrf(session: &str) -> String {
    derived("tally csrf v1", session)
}

/// A fresh random token for an anonymous visitor's forms (log in, sign up).
pub(crate) fn new_anonymous_token() -> String {
    // Randomness failing is as good as impossible; a constant token would only weaken the
    // log-in and sign-up forms, which are anonymous anyway.
    new_secret("").unwrap_or_default()
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// What the page after a redirect shows once: a command's receipt, or a note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flash {
    /// A short note for things that record no event (an account created, signed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// The receipt of the command just run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) receipt: Option<Receipt>,
    /// The receipt in words, when the page that ran the command could say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) said: Option<Said>,
}

/// A receipt in words: what happened, with what it happened to linked by its name (a job's
/// title, a member's handle), and what one may do next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Said {
    /// Whether nothing new was recorded because the same form had been sent before.
    #[serde(default)]
    pub(crate) again: bool,
    /// The words before the link: `You launched`.
    pub(crate) before: String,
    /// What it happened to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) link: Option<Link>,
    /// The words after it: `and 30 cr are held in escrow.`
    pub(crate) after: String,
    /// What one may do next (`Launch another job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<Link>,
}

/// A link: its words and where it leads (a path on this site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Link {
    /// The words.
    pub(crate) text: String,
    /// The path.
    pub(crate) href: String,
}

impl Flash {
    /// A flash with a receipt.
    pub(crate) fn receipt(r: Receipt) -> Self {
        Self {
            note: None,
            receipt: Some(r),
            said: None,
        }
    }

    /// A flash with a receipt and what it means, in words.
    pub(crate) fn said(r: Receipt, said: Said) -> Self {
        Self {
            note: None,
            receipt: Some(r),
            said: Some(said),
        }
    }

    /// A flash with a note.
    pub(crate) fn note(n: impl Into<String>) -> Self {
        Self {
            note: Some(n.into()),
            receipt: None,
            said: None,
        }
    }

    /// The cookie value: the JSON, hex-encoded (cookie values cannot hold quotes or commas).
    /// It is only ever shown back to the browser that holds it, escaped like any text.
    pub(crate) fn encode(&self) -> String {
        hex(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    /// Reads a cookie value; anything malformed is simply no flash.
    pub(crate) fn decode(s: &str) -> Option<Self> {
        let bytes = unhex(s)?;
        serde_json::from_slice(&bytes).ok()
    }
}

fn hex(bytes: &[u8]) -> String {
    hex_of(bytes)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 8192 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A `Set-Cookie` value for the pages' cookies: always `Path=/`, `HttpOnly`, `SameSite`.
pub(crate) fn cookie(
    name: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
    secure: bool,
) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
}

/// The cookies a request carries, by name (the first of each name wins).
pub(crate) fn cookies(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_differs_from_its_stored_hash_and_is_stable() {
        let s = new_secret(tally_ports::identity::SESSION_PREFIX).unwrap();
        assert_eq!(session_csrf(&s), session_csrf(&s));
        assert_ne!(session_csrf(&s), tally_ports::identity::secret_hash(&s));
        assert_ne!(session_csrf(&s), session_csrf(&format!("{s}x")));
    }

    #[test]
    fn tokens_compare_equal_only_when_equal_and_not_empty() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", ""));
    }

    #[test]
    fn a_flash_survives_its_cookie_and_garbage_is_no_flash() {
        let f = Flash::note("signed out; see you");
        assert_eq!(Flash::decode(&f.encode()), Some(f));
        assert_eq!(Flash::decode("zz"), None);
        assert_eq!(Flash::decode("abc"), None);
    }
}
