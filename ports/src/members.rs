//! The admins' list of members: searched by handle or display name, ordered by handle, a page
//! at a time, with a count; each member with when they joined, when they were last active and
//! whether they have an account to log in with. Selected from the state cache through
//! indexes, never by scanning events.
//!
//! A page is cut by a cursor (the last or first handle of the page beside it), so a later
//! page costs what the first one does.

use crate::driving::MemberSummary;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use utoipa::ToSchema;

/// Most members in one page.
pub const MAX_PAGE: usize = 500;

/// A page's size when none is asked for.
pub const DEFAULT_PAGE: usize = 50;

/// The longest search, in characters.
pub const MAX_TEXT: usize = 100;

/// Which members to list: those whose handle or display name contains the text (any case),
/// by handle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberQuery {
    /// Text that the handle or the display name must contain, in any case.
    pub text: Option<String>,
    /// Where the page starts.
    pub cursor: MemberCursor,
    /// Most members on the page (1 to [`MAX_PAGE`]; 0: [`DEFAULT_PAGE`]).
    pub limit: usize,
}

/// Where a page of members starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberCursor {
    /// The first handles.
    #[default]
    First,
    /// The handles after this one (the next page).
    After(String),
    /// The handles before this one (the page before), still in handle order.
    Before(String),
}

impl MemberQuery {
    /// Every member, by handle, `limit` at a time.
    pub fn all(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The search as compared: lower case, without control characters, trimmed, at most
    /// [`MAX_TEXT`] characters; `None` when nothing is left.
    pub fn needle(&self) -> Option<String> {
        let t: String = self
            .text
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TEXT)
            .collect::<String>()
            .trim()
            .to_lowercase();
        (!t.is_empty()).then_some(t)
    }

    /// Whether a member's cached state (the JSON of a `Wallet`) meets the search: a
    /// registered member whose handle or display name contains [`MemberQuery::needle`]. The
    /// in-memory cache lists with it; the PostgreSQL cache asks the same in SQL.
    pub fn matches(&self, state: &Json) -> bool {
        let profile = &state["profile"];
        let (Some(handle), Some(name)) =
            (profile["handle"].as_str(), profile["display_name"].as_str())
        else {
            return false;
        };
        self.needle()
            .is_none_or(|n| handle.to_lowercase().contains(&n) || name.to_lowercase().contains(&n))
    }

    /// The query as URL query pairs (`q`, `after` or `before`, `limit`), as the JSON API and
    /// the pages read them; what is not set is left out.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(t) = &self.text {
            out.push(("q", t.clone()));
        }
        match &self.cursor {
            MemberCursor::First => {}
            MemberCursor::After(h) => out.push(("after", h.clone())),
            MemberCursor::Before(h) => out.push(("before", h.clone())),
        }
        if self.limit != 0 {
            out.push(("limit", self.limit.to_string()));
        }
        out
    }

    /// The same query from another page.
    #[must_use]
    pub fn at(&self, cursor: MemberCursor) -> Self {
        Self {
            cursor,
            ..self.clone()
        }
    }
}

/// One member in the admins' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberListing {
    /// Who, and their wallet's figures.
    #[serde(flatten)]
    pub member: MemberSummary,
    /// When they joined (their wallet's first event).
    pub joined_at: DateTime<Utc>,
    /// When their wallet last changed (its latest event).
    pub last_active_at: DateTime<Utc>,
    /// Whether they have an account to log in with; null when this service keeps no
    /// accounts.
    pub has_account: Option<bool>,
}

/// A page of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberPage {
    /// The members, by handle.
    pub members: Vec<MemberListing>,
    /// How many members match in all, counted up to [`crate::jobs::COUNT_CAP`].
    pub total: u64,
    /// Whether `total` is exact (false: at least that many).
    pub total_exact: bool,
    /// The cursor of the next page (the last handle of this one), if there are more.
    pub next: Option<String>,
    /// The cursor of the page before (the first handle of this one), if this is not the
    /// first page.
    pub prev: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(text: &str) -> MemberQuery {
        MemberQuery {
            text: Some(text.to_owned()),
            ..MemberQuery::default()
        }
    }

    #[test]
    fn a_search_matches_part_of_the_handle_or_the_name_in_any_case() {
        let alice = json!({"profile": {"handle": "alice", "display_name": "Alice Liddell"}});
        assert!(q("LIDD").matches(&alice));
        assert!(q("lic").matches(&alice));
        assert!(q("  ali ").matches(&alice));
        assert!(!q("bob").matches(&alice));
        // The handle and the name are not one text: nothing matches across them.
        assert!(!q("ealice").matches(&alice));
        assert!(MemberQuery::default().matches(&alice));
        assert!(!MemberQuery::default().matches(&json!({"profile": null})));
    }

    #[test]
    fn a_search_of_only_spaces_or_control_characters_is_no_search() {
        assert_eq!(q(" \t\u{1f} ").needle(), None);
        assert_eq!(q("Al\u{1f}i").needle().as_deref(), Some("ali"));
    }
}
