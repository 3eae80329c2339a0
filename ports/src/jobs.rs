//! Lists of jobs: the job board, a member's jobs and applications, and the admins' list of
//! every job. Selected from the state cache through indexes (never by scanning events),
//! newest first, a page at a time, with a count.
//!
//! Jobs are ordered by their id: a UUIDv7, whose text orders by the time it was drawn, i.e.
//! the order in which the jobs were launched. A page is cut by a cursor (the last or first id
//! of the page before), so a later page costs what the first one does.

use crate::driving::JobSummary;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tally_domain::{ApplicationStatus, JobStatus};
use utoipa::ToSchema;

/// Most jobs in one page.
pub const MAX_PAGE: usize = 500;

/// A page's size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// Matches are counted exactly up to this many; beyond, a list gives the storage's estimate
/// ("about 100,000 jobs"). Counting finds this many matches first, so a filter that keeps one
/// job in ten reads ten times as many rows: an exact count of a huge result would cost a pass
/// over all of it on every page.
pub const COUNT_CAP: u64 = 200;

/// Most words in a text search; a word's longest prefix that is matched.
pub const MAX_WORDS: usize = 8;
const MAX_WORD: usize = 40;

/// Which jobs to list. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    /// The statuses wanted; empty means "open" (the job board).
    pub statuses: Vec<JobStatus>,
    /// Only this owner's jobs.
    pub owner: Option<String>,
    /// Only the jobs this member applied to.
    pub applicant: Option<String>,
    /// Words that must each begin a word of the title or the description (any case).
    pub text: Option<String>,
    /// The least reward.
    pub min_reward: Option<u64>,
    /// The greatest reward.
    pub max_reward: Option<u64>,
    /// Where the page starts.
    pub cursor: Cursor,
    /// Most jobs on the page (1 to [`MAX_PAGE`]).
    pub limit: usize,
}

/// Where a page of jobs starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    /// The newest jobs.
    #[default]
    First,
    /// The jobs launched before this one (the next page).
    Before(String),
    /// The jobs launched after this one (the page before), still shown newest first.
    After(String),
}

impl JobQuery {
    /// The job board: open jobs, newest first.
    pub fn board(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The statuses listed: those asked for, or "open".
    pub fn statuses(&self) -> Vec<JobStatus> {
        if self.statuses.is_empty() {
            vec![JobStatus::Open]
        } else {
            self.statuses.clone()
        }
    }

    /// The search's words: lower case, letters and digits only, at most [`MAX_WORDS`].
    pub fn words(&self) -> Vec<String> {
        words(self.text.as_deref().unwrap_or_default())
            .into_iter()
            .map(|w| w.chars().take(MAX_WORD).collect())
            .take(MAX_WORDS)
            .collect()
    }

    /// Whether a job's cached state (the JSON of a `Job`) meets every condition but the
    /// cursor. The in-memory cache lists with it; the PostgreSQL cache asks the same in SQL
    /// (a text search there is PostgreSQL's `simple` full-text search, which splits words
    /// the same way for ordinary text).
    pub fn matches(&self, state: &Json) -> bool {
        let details = &state["details"];
        let text = |k: &str| details[k].as_str().unwrap_or_default();
        let status_ok = self
            .statuses()
            .iter()
            .any(|s| state["status"].as_str() == Some(s.as_str()));
        let reward = details["reward"].as_u64().unwrap_or_default();
        let searched = self.words();
        let found = searched.is_empty() || {
            let mut have = words(text("title"));
            have.extend(words(text("description")));
            searched
                .iter()
                .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
        };
        !details.is_null()
            && status_ok
            && self.owner.as_deref().is_none_or(|o| text("owner") == o)
            && self
                .applicant
                .as_deref()
                .is_none_or(|a| state["applications"].get(a).is_some())
            && self.min_reward.is_none_or(|m| reward >= m)
            && self.max_reward.is_none_or(|m| reward <= m)
            && found
    }
}

impl JobQuery {
    /// The query as URL query pairs (`status`, `owner`, `applicant`, `q`, `min_reward`,
    /// `max_reward`, `before` or `after`, `limit`), as the JSON API and the pages read them;
    /// what is not set is left out.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.statuses.is_empty() {
            let s: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            out.push(("status", s.join(",")));
        }
        let texts = [
            ("owner", &self.owner),
            ("applicant", &self.applicant),
            ("q", &self.text),
        ];
        for (k, v) in texts {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        }
        for (k, v) in [
            ("min_reward", self.min_reward),
            ("max_reward", self.max_reward),
        ] {
            if let Some(v) = v {
                out.push((k, v.to_string()));
            }
        }
        match &self.cursor {
            Cursor::First => {}
            Cursor::Before(id) => out.push(("before", id.clone())),
            Cursor::After(id) => out.push(("after", id.clone())),
        }
        if self.limit != 0 {
            out.push(("limit", self.limit.to_string()));
        }
        out
    }

    /// The same query from another page.
    #[must_use]
    pub fn at(&self, cursor: Cursor) -> Self {
        Self {
            cursor,
            ..self.clone()
        }
    }
}

/// Statuses from their words, comma-separated (`open,in_progress`); `all` for every status a
/// launched job can be in.
///
/// # Errors
/// The word that is not a status.
pub fn parse_statuses(s: &str) -> Result<Vec<JobStatus>, String> {
    let mut out = Vec::new();
    for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if w == "all" {
            out.extend(JobStatus::ALL.iter().filter(|s| **s != JobStatus::Draft));
            continue;
        }
        match JobStatus::ALL
            .iter()
            .find(|s| s.as_str() == w && **s != JobStatus::Draft)
        {
            Some(s) => out.push(*s),
            None => return Err(w.to_owned()),
        }
    }
    out.sort_by_key(|s| s.as_str());
    out.dedup();
    Ok(out)
}

/// Lower-case words of letters and digits.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// One job in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobListing {
    /// The public details.
    #[serde(flatten)]
    pub job: JobSummary,
    /// How many applications it has had (the owner's and admins' lists; 0 otherwise).
    pub applications: u32,
    /// The viewer's own application's status, when the viewer applied.
    #[schema(schema_with = crate::schema::optional_application_status)]
    pub my_application: Option<ApplicationStatus>,
}

/// A page of jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    /// The jobs, newest first.
    pub jobs: Vec<JobListing>,
    /// How many jobs match in all: exact up to [`COUNT_CAP`], else an estimate.
    pub total: u64,
    /// Whether `total` is exact (false: an estimate, more than [`COUNT_CAP`]).
    pub total_exact: bool,
    /// The cursor of the next (older) page, if there are older jobs.
    pub older: Option<String>,
    /// The cursor of the page before (newer jobs), if this is not the first page.
    pub newer: Option<String>,
}
