//! Hypermedia: the `_links` a response carries to what the caller may do next. Reads link to
//! their paths; commands come from the view's actions (what the domain says the viewer may do
//! now), each to its command's path, so no rule is restated here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tally_api::paths;
use tally_ports::ActionView;
use utoipa::ToSchema;

/// One link: where, and with which method (omitted for `GET`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// The target.
    pub href: String,
    /// The method to use, when not `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Links by relation name (`self`, `history`, and a command's name for each action).
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

    /// Adds a `POST` link per kind of command among `actions` (the command's name is the
    /// relation; its fields are in the view's `actions`).
    #[must_use]
    pub fn commands(mut self, actions: &[ActionView]) -> Self {
        for a in actions {
            let Some(kind) = a.kind() else { continue };
            if self.0.contains_key(&a.command) {
                continue;
            }
            let key = match kind.target() {
                tally_domain::Target::On(k) => a
                    .given
                    .get(k.key_field())
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                tally_domain::Target::New(_) => String::new(),
            };
            self = self.action(&a.command, "POST", paths::command_on(kind, &key));
        }
        self
    }
}

/// A response body with its links: the body's own fields, plus `_links`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Linked<T> {
    /// The body.
    #[serde(flatten)]
    pub body: T,
    /// What the caller may do next.
    #[serde(rename = "_links")]
    pub links: Links,
}

/// A list with its links: `{"items": [...], "_links": {...}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
    /// What the caller may do next.
    #[serde(rename = "_links")]
    pub links: Links,
}
