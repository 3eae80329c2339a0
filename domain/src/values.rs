//! Parsed value types. Each is a newtype with a private field, built only through `parse`,
//! so a value that exists is a valid one ("parse, don't validate").
//!
//! Deserialization is `transparent` on purpose: stored events and cached states were validated
//! when they were first decided, and a rule tightened later must not make history unreadable.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of input could not be parsed into a value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    /// The input field at fault, e.g. `handle`.
    pub field: &'static str,
    /// A stable machine code, e.g. `invalid_handle`.
    pub code: &'static str,
    /// A message a person can act on.
    pub message: String,
}

impl InvalidValue {
    fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// Length of `s` in characters (not bytes), so limits mean what a person reads.
fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Rejects control characters other than newlines and tabs: they make text unreadable in
/// histories and can smuggle terminal escapes into logs.
fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
}

/// A member's handle: 3-32 characters of `a-z 0-9 - _`, starting with a letter.
/// It is the natural key of the member's wallet stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    /// Parses a handle.
    ///
    /// # Errors
    /// `invalid_handle` when the text breaks the handle rules.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let err = |m: &str| InvalidValue::new("handle", "invalid_handle", m);
        let n = s.len();
        if !(3..=32).contains(&n) {
            return Err(err("a handle has 3 to 32 characters"));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(err("a handle starts with a lowercase letter"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(err(
                "a handle has only lowercase letters, digits, '-' and '_'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Defines a free-text newtype with trimmed length limits.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $code:literal, $min:literal, $max:literal, $newlines:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Parses a ", $field, ": surrounding white space is trimmed; then ",
                stringify!($min), " to ", stringify!($max), " characters.")]
            ///
            /// # Errors
            #[doc = concat!("`", $code, "` when the text is too short, too long or has control characters.")]
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                let t = s.trim();
                let n = chars(t);
                if !($min..=$max).contains(&n) {
                    let message = if $min == 0 {
                        format!("a {} has at most {} characters (this one has {})", $field, $max, n)
                    } else {
                        format!("a {} has {} to {} characters (this one has {})", $field, $min, $max, n)
                    };
                    return Err(InvalidValue::new($field, $code, message));
                }
                if has_control(t, $newlines) {
                    return Err(InvalidValue::new(
                        $field,
                        $code,
                        format!("a {} cannot contain control characters", $field),
                    ));
                }
                Ok(Self(t.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// The name shown for a member, e.g. "Alice Liddell".
    DisplayName, "display_name", "invalid_display_name", 1, 80, false
);
text_value!(
    /// A job's title: 1-120 characters.
    Title, "title", "invalid_title", 1, 120, false
);
text_value!(
    /// A job's description; may be empty.
    Description, "description", "invalid_description", 0, 5000, true
);
text_value!(
    /// A participant's pitch for a job.
    Pitch, "pitch", "invalid_pitch", 1, 2000, true
);
text_value!(
    /// Why something was done (a grant, a cancellation); may be empty.
    Reason, "reason", "invalid_reason", 0, 500, true
);

/// An amount of credits; never negative.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Credits(u64);

/// The largest single grant.
pub const MAX_GRANT: u64 = 1_000_000;
/// The largest reward a job may offer (a bound against absurd input; a reward is also bounded
/// by the owner's balance).
pub const MAX_REWARD: u64 = 1_000_000_000;

impl Credits {
    /// Zero credits.
    pub const ZERO: Credits = Credits(0);

    /// A raw amount, with no rule but non-negativity (which the type enforces).
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// The number of credits.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Parses a grant amount: 1 to 1,000,000.
    ///
    /// # Errors
    /// `invalid_amount` when out of range.
    pub fn parse_grant(n: i64) -> Result<Self, InvalidValue> {
        if n < 1 || n as u64 > MAX_GRANT {
            return Err(InvalidValue::new(
                "amount",
                "invalid_amount",
                format!("an amount is a whole number from 1 to {MAX_GRANT} (got {n})"),
            ));
        }
        Ok(Self(n as u64))
    }

    /// Parses a job reward: 1 to 1,000,000,000 (and, by the rules, at most the owner's balance).
    ///
    /// # Errors
    /// `invalid_reward` when out of range.
    pub fn parse_reward(n: i64) -> Result<Self, InvalidValue> {
        if n < 1 || n as u64 > MAX_REWARD {
            return Err(InvalidValue::new(
                "reward",
                "invalid_reward",
                format!("a reward is a whole number from 1 to {MAX_REWARD} (got {n})"),
            ));
        }
        Ok(Self(n as u64))
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        self.0.checked_add(other.0).map(Credits)
    }

    /// `self - other`, or `None` if that would go below zero.
    pub fn checked_sub(self, other: Credits) -> Option<Credits> {
        self.0.checked_sub(other.0).map(Credits)
    }

    /// `self + other`, saturating (for lifetime totals, which never decide anything).
    pub fn saturating_add(self, other: Credits) -> Credits {
        Credits(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A job's identifier, chosen by the server (a UUIDv7 in its text form, or any slug of
/// 1-64 characters of `a-z 0-9 -`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// Parses a job id.
    ///
    /// # Errors
    /// `invalid_job_id` when empty, too long, or with other characters.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(InvalidValue::new(
                "job",
                "invalid_job_id",
                "a job id has 1 to 64 characters of a-z, 0-9 and '-'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_rules() {
        for ok in ["abc", "alice", "a-b_c9", &"a".repeat(32)] {
            assert!(Handle::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "",
            "9lives",
            "Alice",
            "al ice",
            "al.ice",
            "-abc",
            "é-abc",
            &"a".repeat(33),
        ] {
            assert_eq!(
                Handle::parse(bad).unwrap_err().code,
                "invalid_handle",
                "{bad}"
            );
        }
    }

    #[test]
    fn titles_are_trimmed_and_counted_in_characters() {
        assert_eq!(Title::parse("  Logo  ").unwrap().as_str(), "Logo");
        assert!(Title::parse(&"é".repeat(120)).is_ok());
        assert_eq!(
            Title::parse(&"é".repeat(121)).unwrap_err().code,
            "invalid_title"
        );
        assert_eq!(Title::parse("   ").unwrap_err().code, "invalid_title");
        assert_eq!(
            Title::parse("a\u{1b}[31m").unwrap_err().code,
            "invalid_title"
        );
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("").is_ok());
        assert!(Pitch::parse("").is_err());
    }

    #[test]
    fn amounts_and_rewards_have_bounds() {
        assert_eq!(Credits::parse_grant(1).unwrap().get(), 1);
        assert_eq!(Credits::parse_grant(1_000_000).unwrap().get(), 1_000_000);
        for bad in [0, -5, 1_000_001, i64::MAX, i64::MIN] {
            assert_eq!(
                Credits::parse_grant(bad).unwrap_err().code,
                "invalid_amount"
            );
        }
        assert!(Credits::parse_reward(1).is_ok());
        for bad in [0, -1, 1_000_000_001, i64::MIN] {
            assert_eq!(
                Credits::parse_reward(bad).unwrap_err().code,
                "invalid_reward"
            );
        }
    }

    #[test]
    fn job_ids_are_slugs() {
        assert!(JobId::parse("0192f1c2-7b7e-7cc0-9d1e-1b2c3d4e5f60").is_ok());
        assert!(JobId::parse("").is_err());
        assert!(JobId::parse("../etc").is_err());
        assert!(JobId::parse(&"a".repeat(65)).is_err());
    }
}
