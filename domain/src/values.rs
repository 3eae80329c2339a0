//! Parsed value types. Each is a newtype with a private field, built only by parsing what a
//! person sent ("parse, don't validate"), and each states its own rule ([`Value::RULE`]):
//! forms take their limits from it, and the API's schemas are derived from it, so that no
//! adapter restates a rule and none can drift.
//!
//! Deserialization does not check the rules on purpose: stored events and cached states were
//! checked when they were first decided, and a rule tightened later must not make history
//! unreadable. Input from outside arrives as [`Raw`] values and goes through [`Value::parse`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of input could not be parsed into a value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    /// The input field at fault, e.g. `handle` or `participant`.
    pub field: String,
    /// A stable machine code, e.g. `invalid_handle`.
    pub code: String,
    /// A message a person can act on.
    pub message: String,
}

impl InvalidValue {
    /// An invalid value of `field`, with a code and a message.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What a person sent for one field, before parsing: text (all a form can send), a whole
/// number, or anything else (as its JSON text), which no rule accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// Something that is neither (a fraction, a boolean, a list...), as sent.
    Other(String),
}

impl Raw {
    /// The value as text, as a form field holds it.
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(s) | Self::Other(s) => s.clone(),
            Self::Int(n) => n.to_string(),
        }
    }
}

impl From<&str> for Raw {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Raw {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Raw {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

/// The shape of what a field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Free text, trimmed, counted in characters.
    Text {
        /// The fewest characters (0: the field may be left out, and then is empty).
        min: usize,
        /// The most characters.
        max: usize,
        /// Whether line breaks are allowed.
        multiline: bool,
    },
    /// An identifier: `min` to `max` characters matching a pattern (ECMA-262 regex syntax).
    Pattern {
        /// The pattern, anchored.
        regex: &'static str,
        /// The fewest characters.
        min: usize,
        /// The most characters.
        max: usize,
    },
    /// A whole number in a range.
    Integer {
        /// The least.
        min: i64,
        /// The most.
        max: i64,
    },
    /// One of a few words.
    OneOf(&'static [&'static str]),
}

/// What a value type accepts, stated once: forms, schemas and error messages come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The code of a refusal, e.g. `invalid_title`.
    pub code: &'static str,
    /// What the value is, for messages: `a title`.
    pub what: &'static str,
    /// What it accepts.
    pub shape: Shape,
    /// Whether the field may be left out.
    pub optional: bool,
    /// The rule in words, for people (form hints, schema descriptions).
    pub hint: &'static str,
}

impl Rule {
    /// A rule for one line of text of `min..=max` characters (required when `min > 0`), by the
    /// rules of every text value (see [`Rule::parse_text`]).
    pub const fn line(
        code: &'static str,
        what: &'static str,
        min: usize,
        max: usize,
        hint: &'static str,
    ) -> Self {
        Self {
            code,
            what,
            shape: Shape::Text {
                min,
                max,
                multiline: false,
            },
            optional: min == 0,
            hint,
        }
    }

    fn refuse(&self, field: &str, message: impl Into<String>) -> InvalidValue {
        InvalidValue::new(field, self.code, message)
    }

    /// Parses text by this rule (a [`Shape::Text`] rule), for text that is not one of the
    /// domain's values but follows the same rules (an API token's name, say).
    ///
    /// # Errors
    /// The rule's code, naming `field`.
    ///
    /// # Panics
    /// If the rule is not a text rule.
    pub fn parse_text(&self, field: &str, raw: Option<&Raw>) -> Result<String, InvalidValue> {
        parse_text(self, field, raw)
    }
}

/// A value type that can be parsed from what a person sent, and that states its rule.
pub trait Value: Sized {
    /// What the value accepts.
    const RULE: Rule;
    /// Whether the value may be absent where it is stored (`null` in a payload): true for
    /// `Option`s only.
    const NULLABLE: bool = false;

    /// Parses the raw input of the field `field` (`None`: the field was left out).
    ///
    /// # Errors
    /// The rule's code, naming `field`, when the input breaks the rule.
    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue>;

    /// The value as raw input, as a client sends it.
    fn to_raw(&self) -> Raw;
}

impl<T: Value> Value for Option<T> {
    const RULE: Rule = Rule {
        optional: true,
        ..T::RULE
    };
    const NULLABLE: bool = true;

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        match raw {
            None => Ok(None),
            Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
            Some(r) => T::parse(field, Some(r)).map(Some),
        }
    }

    fn to_raw(&self) -> Raw {
        match self {
            Some(v) => v.to_raw(),
            None => Raw::Text(String::new()),
        }
    }
}

/// Length of `s` in characters (not bytes), so limits mean what a person reads.
fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Bidirectional controls (U+202A-U+202E, U+2066-U+2069): they make text display in another
/// order than it is stored (`\u{202e}gnp.exe` shows as `exe.png`), so no text may hold one.
pub const BIDI_CONTROLS: &[(char, char)] = &[('\u{202a}', '\u{202e}'), ('\u{2066}', '\u{2069}')];

/// Control characters (Unicode category Cc): never in text, but line breaks and tabs in
/// multi-line text.
pub const CONTROLS: &[(char, char)] = &[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// White space, as Rust's `char::is_whitespace` (Unicode's `White_Space`) has it.
pub const WHITE_SPACE: &[(char, char)] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// Characters that show nothing: the soft hyphen, the combining grapheme joiner, the Arabic
/// letter mark, the Hangul fillers, Khmer vowel inherents, the Mongolian vowel separator,
/// zero-width spaces, joiners and direction marks, the word joiner and invisible operators,
/// variation selectors, and the byte order mark.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
];

fn within(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|(a, b)| (*a..=*b).contains(&c))
}

/// Whether `c` is a bidirectional control (see [`BIDI_CONTROLS`]).
pub fn is_bidi_control(c: char) -> bool {
    within(c, BIDI_CONTROLS)
}

/// Whether `c` shows nothing (see [`INVISIBLE`]).
pub fn is_invisible(c: char) -> bool {
    within(c, INVISIBLE)
}

/// Whether `c` may not appear in a text at all (a control character but, where `multiline`,
/// a line break or tab; a bidirectional control).
pub fn is_forbidden(c: char, multiline: bool) -> bool {
    (within(c, CONTROLS) && !(multiline && matches!(c, '\n' | '\r' | '\t'))) || is_bidi_control(c)
}

/// Whether `c` may not start or end a text: white space, what shows nothing, and what may not
/// appear at all.
pub fn is_edge_forbidden(c: char, multiline: bool) -> bool {
    within(c, WHITE_SPACE) || is_invisible(c) || is_forbidden(c, multiline)
}

/// Parses free text by a [`Shape::Text`] rule, exactly as its schema says (see
/// `tally-api`'s `schema`): `min` to `max` characters; no control characters (but line breaks
/// and tabs where multi-line) nor bidirectional controls; and, when not empty, starting and
/// ending with a visible character (forms trim what people type; the API takes text as
/// sent, so that what is stored is what was sent).
fn parse_text(rule: &Rule, field: &str, raw: Option<&Raw>) -> Result<String, InvalidValue> {
    let Shape::Text {
        min,
        max,
        multiline,
    } = rule.shape
    else {
        unreachable!("a text rule");
    };
    let what = rule.what;
    let t = match raw {
        None if rule.optional => "",
        None => return Err(rule.refuse(field, format!("{what} is required"))),
        Some(Raw::Text(s)) => s.as_str(),
        Some(_) => return Err(rule.refuse(field, format!("{what} is text"))),
    };
    if t.chars().any(is_bidi_control) {
        return Err(rule.refuse(
            field,
            format!(
                "{what} cannot contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069): they disguise text"
            ),
        ));
    }
    if t.chars().any(|c| is_forbidden(c, multiline)) {
        return Err(rule.refuse(field, format!("{what} cannot contain control characters")));
    }
    let n = chars(t);
    if n > 0 && t.chars().all(|c| within(c, WHITE_SPACE) || is_invisible(c)) {
        return Err(rule.refuse(
            field,
            format!("{what} needs at least one visible character"),
        ));
    }
    let edges = [t.chars().next(), t.chars().last()];
    if edges
        .into_iter()
        .flatten()
        .any(|c| is_edge_forbidden(c, multiline))
    {
        return Err(rule.refuse(
            field,
            format!("{what} cannot start or end with white space or an invisible character"),
        ));
    }
    if !(min..=max).contains(&n) {
        let message = if min == 0 {
            format!("{what} has at most {max} characters (this one has {n})")
        } else {
            format!("{what} has {min} to {max} characters (this one has {n})")
        };
        return Err(rule.refuse(field, message));
    }
    Ok(t.to_owned())
}

/// Parses a whole number by a [`Shape::Integer`] rule (from a form, as text).
fn parse_int(rule: &Rule, field: &str, raw: Option<&Raw>) -> Result<i64, InvalidValue> {
    let Shape::Integer { min, max } = rule.shape else {
        unreachable!("an integer rule");
    };
    let what = rule.what;
    let out_of_range = || {
        rule.refuse(
            field,
            format!("{what} is a whole number from {min} to {max}"),
        )
    };
    let n = match raw {
        None => return Err(rule.refuse(field, format!("{what} is required"))),
        Some(Raw::Int(n)) => *n,
        Some(Raw::Text(t)) => t.trim().parse::<i64>().map_err(|_| out_of_range())?,
        Some(Raw::Other(_)) => return Err(out_of_range()),
    };
    if !(min..=max).contains(&n) {
        return Err(rule.refuse(
            field,
            format!("{what} is a whole number from {min} to {max} (got {n})"),
        ));
    }
    Ok(n)
}

/// Parses an identifier by a [`Shape::Pattern`] rule, checked by `ok`.
fn parse_id(
    rule: &Rule,
    field: &str,
    raw: Option<&Raw>,
    ok: impl Fn(&str) -> bool,
) -> Result<String, InvalidValue> {
    let what = rule.what;
    match raw {
        Some(Raw::Text(s)) if ok(s) => Ok(s.clone()),
        None => Err(rule.refuse(field, format!("{what} is required"))),
        _ => Err(rule.refuse(field, rule.hint)),
    }
}

/// A member's handle: 3-32 characters of `a-z 0-9 - _`, starting with a letter.
/// It is the natural key of the member's wallet stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    /// Whether `s` follows the handle rules.
    fn valid(s: &str) -> bool {
        (3..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    }

    /// Parses a handle.
    ///
    /// # Errors
    /// `invalid_handle` when the text breaks the handle rules.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        <Self as Value>::parse("handle", Some(&Raw::from(s)))
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Value for Handle {
    const RULE: Rule = Rule {
        code: "invalid_handle",
        what: "a handle",
        shape: Shape::Pattern {
            regex: "^[a-z][a-z0-9_-]{2,31}$",
            min: 3,
            max: 32,
        },
        optional: false,
        hint: "a handle has 3 to 32 characters: lowercase letters, digits, '-' and '_', starting with a letter",
    };

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        parse_id(&Self::RULE, field, raw, Self::valid).map(Self)
    }

    fn to_raw(&self) -> Raw {
        Raw::Text(self.0.clone())
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Defines a free-text newtype and its rule.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $what:literal, $field:literal, $code:literal,
     $min:literal, $max:literal, $multiline:literal, $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Parses ", $what, ": ", stringify!($min), " to ", stringify!($max),
                " characters, starting and ending with a visible one.")]
            ///
            /// # Errors
            #[doc = concat!("`", $code, "` when the text breaks the rule.")]
            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                <Self as Value>::parse($field, Some(&Raw::from(s)))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Value for $name {
            const RULE: Rule = Rule {
                code: $code,
                what: $what,
                shape: Shape::Text { min: $min, max: $max, multiline: $multiline },
                optional: $min == 0,
                hint: $hint,
            };

            fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
                parse_text(&Self::RULE, field, raw).map(Self)
            }

            fn to_raw(&self) -> Raw {
                Raw::Text(self.0.clone())
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
    DisplayName, "a display name", "display_name", "invalid_display_name", 1, 80, false,
    "1 to 80 characters, as others will see it"
);
text_value!(
    /// A job's title: 1-120 characters.
    Title, "a title", "title", "invalid_title", 1, 120, false,
    "1 to 120 characters"
);
text_value!(
    /// A job's description; may be empty.
    Description, "a description", "description", "invalid_description", 0, 5000, true,
    "at most 5000 characters; may be empty"
);
text_value!(
    /// A participant's pitch for a job.
    Pitch, "a pitch", "pitch", "invalid_pitch", 1, 2000, true,
    "why you: 1 to 2000 characters; only the job's owner reads it"
);
text_value!(
    /// Why something was done (a grant, a cancellation); may be empty.
    Reason, "a reason", "reason", "invalid_reason", 0, 500, true,
    "at most 500 characters; may be empty"
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

impl Value for Credits {
    const RULE: Rule = Rule {
        code: "invalid_credits",
        what: "an amount of credits",
        shape: Shape::Integer {
            min: 0,
            max: i64::MAX,
        },
        optional: false,
        hint: "a whole number of credits, never negative",
    };

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        parse_int(&Self::RULE, field, raw).map(|n| Self(n.unsigned_abs()))
    }

    fn to_raw(&self) -> Raw {
        Raw::Int(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Defines a bounded amount of credits as a command takes it.
macro_rules! credits_value {
    ($(#[$doc:meta])* $name:ident, $what:literal, $field:literal, $code:literal, $max:expr, $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Credits);

        impl $name {
            #[doc = concat!("Parses ", $what, ".")]
            ///
            /// # Errors
            #[doc = concat!("`", $code, "` when out of range.")]
            pub fn parse(n: i64) -> Result<Self, InvalidValue> {
                <Self as Value>::parse($field, Some(&Raw::Int(n)))
            }

            /// The credits.
            pub fn credits(self) -> Credits {
                self.0
            }
        }

        impl Value for $name {
            const RULE: Rule = Rule {
                code: $code,
                what: $what,
                shape: Shape::Integer { min: 1, max: $max as i64 },
                optional: false,
                hint: $hint,
            };

            fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
                parse_int(&Self::RULE, field, raw).map(|n| Self(Credits(n.unsigned_abs())))
            }

            fn to_raw(&self) -> Raw {
                self.0.to_raw()
            }
        }
    };
}

credits_value!(
    /// How many credits one grant gives: 1 to 1,000,000.
    Amount, "an amount", "amount", "invalid_amount", MAX_GRANT,
    "1 to 1,000,000 credits"
);
credits_value!(
    /// What a job pays on completion: 1 to 1,000,000,000 (and at most the owner's balance).
    Reward, "a reward", "reward", "invalid_reward", MAX_REWARD,
    "at least 1 credit, at most your balance; held in escrow until the job is completed or cancelled"
);

/// What a grant is for, chosen by the admin who grants: `promotion`, `purchase`,
/// `compensation` or `other` (the default, and what grants recorded before categories
/// existed read as).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantCategory {
    /// Given away to attract or keep members.
    Promotion,
    /// Bought by the member.
    Purchase,
    /// Making good a loss or a fault.
    Compensation,
    /// Anything else.
    #[default]
    Other,
}

impl GrantCategory {
    /// Every category, in the order forms offer them: the default first.
    pub const ALL: [Self; 4] = [
        Self::Other,
        Self::Promotion,
        Self::Purchase,
        Self::Compensation,
    ];

    /// The category's stable name, e.g. `promotion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promotion => "promotion",
            Self::Purchase => "purchase",
            Self::Compensation => "compensation",
            Self::Other => "other",
        }
    }

    /// Parses a category by its name.
    ///
    /// # Errors
    /// `invalid_category` for any other word.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        <Self as Value>::parse("category", Some(&Raw::from(s)))
    }
}

impl Value for GrantCategory {
    const RULE: Rule = Rule {
        code: "invalid_category",
        what: "a category",
        shape: Shape::OneOf(&["other", "promotion", "purchase", "compensation"]),
        // Left out, a grant is `other`: clients written before categories keep working.
        optional: true,
        hint: "other (the default), promotion, purchase or compensation",
    };

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        match raw {
            // Left out: the default. Sent, it must be one of the words (not even blank).
            None => Ok(Self::Other),
            Some(Raw::Text(t)) => Self::ALL
                .into_iter()
                .find(|c| c.as_str() == t.trim())
                .ok_or_else(|| Self::RULE.refuse(field, Self::RULE.hint)),
            Some(_) => Err(Self::RULE.refuse(field, Self::RULE.hint)),
        }
    }

    fn to_raw(&self) -> Raw {
        Raw::Text(self.as_str().to_owned())
    }
}

impl fmt::Display for GrantCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An applicant's estimate of how many days the job will take them: 1 to 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProposedDays(u16);

impl ProposedDays {
    /// Parses a number of days.
    ///
    /// # Errors
    /// `invalid_proposed_days` when out of range.
    pub fn parse(n: i64) -> Result<Self, InvalidValue> {
        <Self as Value>::parse("proposed_days", Some(&Raw::Int(n)))
    }

    /// The days.
    pub fn days(self) -> u16 {
        self.0
    }
}

impl Value for ProposedDays {
    const RULE: Rule = Rule {
        code: "invalid_proposed_days",
        what: "an estimate in days",
        shape: Shape::Integer { min: 1, max: 365 },
        optional: false,
        hint: "how many days you expect the job to take you: 1 to 365",
    };

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        // In range, so the conversion cannot fail.
        parse_int(&Self::RULE, field, raw).map(|n| Self(u16::try_from(n).unwrap_or(365)))
    }

    fn to_raw(&self) -> Raw {
        Raw::Int(i64::from(self.0))
    }
}

impl fmt::Display for ProposedDays {
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
    fn valid(s: &str) -> bool {
        (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    /// Parses a job id.
    ///
    /// # Errors
    /// `invalid_job_id` when empty, too long, or with other characters.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        <Self as Value>::parse("job", Some(&Raw::from(s)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Value for JobId {
    const RULE: Rule = Rule {
        code: "invalid_job_id",
        what: "a job id",
        shape: Shape::Pattern {
            regex: "^[a-z0-9-]{1,64}$",
            min: 1,
            max: 64,
        },
        optional: false,
        hint: "a job id has 1 to 64 characters of a-z, 0-9 and '-'",
    };

    fn parse(field: &str, raw: Option<&Raw>) -> Result<Self, InvalidValue> {
        parse_id(&Self::RULE, field, raw, Self::valid).map(Self)
    }

    fn to_raw(&self) -> Raw {
        Raw::Text(self.0.clone())
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
            "adm\u{0}in",
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
    fn the_handle_pattern_says_what_the_parser_checks() {
        // The schema's pattern, checked by hand against the same inputs as the parser.
        assert_eq!(
            Handle::RULE.shape,
            Shape::Pattern {
                regex: "^[a-z][a-z0-9_-]{2,31}$",
                min: 3,
                max: 32
            }
        );
    }

    #[test]
    fn titles_are_counted_in_characters_and_start_and_end_visibly() {
        assert_eq!(Title::parse("Logo design").unwrap().as_str(), "Logo design");
        for bad in ["  Logo", "Logo ", "\u{200b}Logo", "Logo\u{feff}"] {
            let e = Title::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_title", "{bad:?}");
            assert!(e.message.contains("start or end"), "{}", e.message);
        }
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
        assert!(Description::parse("ends with a break\n").is_err());
        assert!(Pitch::parse("").is_err());
    }

    #[test]
    fn text_of_only_invisible_characters_is_empty() {
        for bad in ["\u{200b}", "\u{200b}\u{200b} \u{feff}", "\u{2060}\u{00ad}"] {
            let e = Title::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_title", "{bad:?}");
            assert!(e.message.contains("visible"), "{}", e.message);
        }
        assert!(Title::parse("a\u{200b}b").is_ok());
        // An optional text may be empty, invisibly or not.
        assert!(Reason::parse("").is_ok());
    }

    #[test]
    fn bidirectional_controls_are_refused_in_every_text() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let s = format!("abc{c}def");
            assert_eq!(Title::parse(&s).unwrap_err().code, "invalid_title");
            assert_eq!(Pitch::parse(&s).unwrap_err().code, "invalid_pitch");
            assert_eq!(
                Description::parse(&s).unwrap_err().code,
                "invalid_description"
            );
            assert_eq!(Reason::parse(&s).unwrap_err().code, "invalid_reason");
            assert_eq!(
                DisplayName::parse(&s).unwrap_err().code,
                "invalid_display_name"
            );
        }
        assert_eq!(
            Pitch::parse("\u{202e}gnp.exe").unwrap_err().code,
            "invalid_pitch"
        );
    }

    #[test]
    fn amounts_and_rewards_have_bounds() {
        assert_eq!(Amount::parse(1).unwrap().credits().get(), 1);
        assert_eq!(Amount::parse(1_000_000).unwrap().credits().get(), 1_000_000);
        for bad in [0, -5, 1_000_001, i64::MAX, i64::MIN] {
            assert_eq!(Amount::parse(bad).unwrap_err().code, "invalid_amount");
        }
        assert!(Reward::parse(1).is_ok());
        for bad in [0, -1, 1_000_000_001, i64::MIN] {
            assert_eq!(Reward::parse(bad).unwrap_err().code, "invalid_reward");
        }
    }

    #[test]
    fn numbers_typed_as_text_parse_and_other_input_is_refused() {
        let p = |r: Raw| <Amount as Value>::parse("amount", Some(&r));
        assert_eq!(p(Raw::from(" 25 ")).unwrap().credits().get(), 25);
        assert_eq!(p(Raw::from("2.5")).unwrap_err().code, "invalid_amount");
        assert_eq!(
            p(Raw::Other("true".into())).unwrap_err().code,
            "invalid_amount"
        );
        let missing = <Amount as Value>::parse("amount", None).unwrap_err();
        assert_eq!(
            (missing.field.as_str(), missing.code.as_str()),
            ("amount", "invalid_amount")
        );
        // The field named is the one the input used.
        let e = <Handle as Value>::parse("participant", Some(&Raw::from("X"))).unwrap_err();
        assert_eq!(e.field, "participant");
    }

    #[test]
    fn optional_values_may_be_left_out() {
        assert_eq!(<Option<Amount> as Value>::parse("n", None).unwrap(), None);
        const { assert!(<Option<Amount> as Value>::RULE.optional) };
        assert_eq!(
            <Option<Amount> as Value>::parse("n", Some(&Raw::Int(3))).unwrap(),
            Some(Amount::parse(3).unwrap())
        );
    }

    #[test]
    fn job_ids_are_slugs() {
        assert!(JobId::parse("0192f1c2-7b7e-7cc0-9d1e-1b2c3d4e5f60").is_ok());
        assert!(JobId::parse("").is_err());
        assert!(JobId::parse("../etc").is_err());
        assert!(JobId::parse(&"a".repeat(65)).is_err());
    }
}
