//! Hypermedia: the `_links` a response carries to what the caller may do next, and the
//! paths of every resource (built in one place so that links and routes agree).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The API's root path.
pub const API: &str = "/api/v1";

/// One link: where, and with which method (omitted for `GET`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// The target.
    pub href: String,
    /// The method to use, when not `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Links by relation name (`self`, `accept`, `wallet`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct Links(pub BTreeMap<String, Link>);

impl Links {
    /// No links.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a link to read something.
    #[must_use]
    pub fn get(mut self, rel: &str, href: impl Into<String>) -> Self {
        self.0.insert(
            rel.to_owned(),
            Link {
                href: href.into(),
                method: None,
            },
        );
        self
    }

    /// Adds a link to an action with `method`.
    #[must_use]
    pub fn action(mut self, rel: &str, method: &str, href: impl Into<String>) -> Self {
        self.0.insert(
            rel.to_owned(),
            Link {
                href: href.into(),
                method: Some(method.to_owned()),
            },
        );
        self
    }

    /// Adds a link only when `cond` holds.
    #[must_use]
    pub fn action_if(self, cond: bool, rel: &str, method: &str, href: impl Into<String>) -> Self {
        if cond {
            self.action(rel, method, href)
        } else {
            self
        }
    }
}

/// A response body with its links: the body's own fields, plus `_links`.
#[derive(Debug, Clone, Serialize)]
pub struct Linked<T> {
    /// The body.
    #[serde(flatten)]
    pub body: T,
    /// What the caller may do next.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// A list with its links: `{"items": [...], "_links": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
    /// What the caller may do next.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// Paths of the resources.
pub mod path {
    use super::API;

    /// The members.
    pub fn members() -> String {
        format!("{API}/members")
    }
    /// A member's wallet.
    pub fn wallet(h: &str) -> String {
        format!("{API}/members/{h}/wallet")
    }
    /// A member's grants.
    pub fn grants(h: &str) -> String {
        format!("{API}/members/{h}/grants")
    }
    /// The jobs.
    pub fn jobs() -> String {
        format!("{API}/jobs")
    }
    /// A job, or one of its sub-resources (`""` for the job itself).
    pub fn job(id: &str, sub: &str) -> String {
        if sub.is_empty() {
            format!("{API}/jobs/{id}")
        } else {
            format!("{API}/jobs/{id}/{sub}")
        }
    }
    /// A member's sub-resource.
    pub fn member(h: &str, sub: &str) -> String {
        format!("{API}/members/{h}/{sub}")
    }
}
