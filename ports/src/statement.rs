//! A wallet's statement: every movement of its credits, newest first, each with its signed
//! effect on the available balance, the balance after it, the job (by title) and who was on
//! the other side; with the balance over time for a chart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most lines in one page of a statement.
pub const MAX_LINES: usize = 500;

/// Lines in a page when none is asked for.
pub const DEFAULT_LINES: usize = 50;

/// Most points of the balance-over-time chart (a long history is sampled: the last balance
/// of each period).
pub const CHART_POINTS: usize = 200;

/// What a line of a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// An admin granted credits.
    Granted,
    /// Credits moved into escrow for a job the member launched.
    Escrowed,
    /// A cancelled job's escrow came back.
    Refunded,
    /// The member was paid for a job.
    Earned,
    /// A completed job's escrow was paid out to its participant.
    PaidOut,
}

impl LineKind {
    /// Every kind.
    pub const ALL: [LineKind; 5] = [
        Self::Granted,
        Self::Escrowed,
        Self::Refunded,
        Self::Earned,
        Self::PaidOut,
    ];

    /// The kind as a word, e.g. `paid_out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Escrowed => "escrowed",
            Self::Refunded => "refunded",
            Self::Earned => "earned",
            Self::PaidOut => "paid_out",
        }
    }

    /// The kind of a word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of line an event of this type makes, if it moves credits.
    pub fn of_event(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "CreditsGranted" => Self::Granted,
            "CreditsEscrowed" => Self::Escrowed,
            "CreditsRefunded" => Self::Refunded,
            "CreditsEarned" => Self::Earned,
            "EscrowReleased" => Self::PaidOut,
            _ => return None,
        })
    }

    /// The line's effects on the available balance and on the escrow, for `amount` credits.
    pub fn effects(self, amount: u64) -> (i64, i64) {
        let a = i64::try_from(amount).unwrap_or(i64::MAX);
        match self {
            Self::Granted | Self::Earned => (a, 0),
            Self::Escrowed => (-a, a),
            Self::Refunded => (a, -a),
            Self::PaidOut => (0, -a),
        }
    }
}

/// Which lines of a statement to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementQuery {
    /// Only these kinds (none: every kind).
    pub kinds: Vec<LineKind>,
    /// Only lines recorded at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only lines recorded before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only lines older than this wallet version (the next page).
    pub before: Option<u64>,
    /// Most lines (1 to [`MAX_LINES`]; 0: [`DEFAULT_LINES`]).
    pub limit: usize,
}

impl StatementQuery {
    /// Whether a line is shown (but the cursor).
    pub fn shows(&self, l: &StatementLine) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&l.kind))
            && self.from.is_none_or(|f| l.time >= f)
            && self.until.is_none_or(|u| l.time < u)
    }
}

/// One movement of credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    /// The wallet's version after it.
    pub version: u64,
    /// When it was recorded.
    pub time: DateTime<Utc>,
    /// What it is.
    pub kind: LineKind,
    /// The credits moved.
    pub amount: u64,
    /// Its effect on the available balance (negative: spent into escrow).
    pub change: i64,
    /// Its effect on the credits held in escrow.
    pub escrow_change: i64,
    /// The available balance after it.
    pub balance: u64,
    /// The job, for a line about one.
    pub job: Option<String>,
    /// That job's title.
    pub job_title: Option<String>,
    /// Who was on the other side: the job's owner who paid the member, or the participant
    /// the member paid.
    pub counterpart: Option<String>,
    /// Why, for a grant.
    pub reason: Option<String>,
}

/// The available balance at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalancePoint {
    /// When.
    pub time: DateTime<Utc>,
    /// The available balance then.
    pub balance: u64,
}

/// A page of a wallet's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    /// The member.
    pub handle: String,
    /// Their name.
    pub display_name: String,
    /// The available balance now.
    pub balance: u64,
    /// The credits in escrow now.
    pub escrowed: u64,
    /// The lines, newest first.
    pub lines: Vec<StatementLine>,
    /// How many lines the query shows in all.
    pub total: u64,
    /// The cursor (`before`) of the next, older page, if there is one.
    pub older: Option<u64>,
    /// The available balance over the whole history (at most [`CHART_POINTS`], oldest first).
    pub chart: Vec<BalancePoint>,
}

/// The last balance of each of at most `n` equal periods (every point when there are fewer).
pub fn sample(points: &[BalancePoint], n: usize) -> Vec<BalancePoint> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if points.len() <= n || n < 2 {
        return points.to_vec();
    }
    let span = (last.time - first.time).num_milliseconds().max(1);
    let mut out: Vec<BalancePoint> = Vec::with_capacity(n);
    let mut bucket = None;
    for p in points {
        let b = (p.time - first.time).num_milliseconds() * (n as i64 - 1) / span;
        if bucket == Some(b) {
            *out.last_mut().expect("a point of this bucket") = *p;
        } else {
            out.push(*p);
            bucket = Some(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64, balance: u64) -> BalancePoint {
        BalancePoint {
            time: DateTime::from_timestamp(s, 0).unwrap(),
            balance,
        }
    }

    #[test]
    fn a_long_history_is_sampled_to_the_last_balance_of_each_period() {
        let points: Vec<_> = (0..1000).map(|i| at(i, i as u64)).collect();
        let s = sample(&points, 10);
        assert!(s.len() <= 10, "{}", s.len());
        assert_eq!(s.last(), points.last(), "the balance now is the last point");
        assert!(s.windows(2).all(|w| w[0].time < w[1].time));
        let few: Vec<_> = (0..5).map(|i| at(i, 1)).collect();
        assert_eq!(sample(&few, 10), few);
    }

    #[test]
    fn every_kind_moves_credits_as_the_wallet_does() {
        assert_eq!(LineKind::Granted.effects(5), (5, 0));
        assert_eq!(LineKind::Escrowed.effects(5), (-5, 5));
        assert_eq!(LineKind::Refunded.effects(5), (5, -5));
        assert_eq!(LineKind::Earned.effects(5), (5, 0));
        assert_eq!(LineKind::PaidOut.effects(5), (0, -5));
        for k in LineKind::ALL {
            assert_eq!(LineKind::parse(k.as_str()), Some(k));
        }
    }
}
