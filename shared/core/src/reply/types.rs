//! The parser's vocabulary, shared by every stage: what a reply means ([`Reply`]), why one could
//! not be read, and the shop's parser options. It sits below the entry points in `mod.rs` so the
//! reading code can build replies without depending back on them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Rating;

/// What a customer's message means for the survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// A 1–5 rating of the order.
    Rating { value: Rating },
    /// Agreement; the state machine only uses it for "shall we call you?".
    Yes,
    /// Refusal; the state machine only uses it for "shall we call you?".
    No,
    /// The customer wants no more messages. Wins over anything else said in the same message.
    OptOut,
    /// Nothing we dare act on automatically: a human reads it.
    Unreadable { reason: UnreadableReason },
}

/// Why a reply was not read automatically. Inspectors see it and it is stored, so it serialises
/// as a short English phrase (the `Display` form) rather than a Rust identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnreadableReason {
    /// Nothing but whitespace or punctuation.
    Empty,
    /// More than one candidate rating ("3 или 4", "4-5").
    TwoDifferentNumbers,
    /// The customer asked something; answering is a human's job.
    Question,
    /// Too long to trust a number found inside it.
    LongText,
    /// No rating, yes/no or opt-out could be found.
    NoRating,
    /// A number that is not on the 1–5 scale ("0", "10 из 10", "5/10").
    OutOfRange,
    LooksLikeDate,
    LooksLikePrice,
    LooksLikePhone,
    LooksLikeTime,
    LooksLikeOrderNumber,
    /// "4.5", "4,5", "5-", "5 с минусом".
    NotWholeNumber,
    /// A digit that counts or names something ("2 коробки", "5 дней", "100%"), or a number word
    /// inside free text ("я один").
    NumberInText,
    /// A rating said with "бы", "почти", "наверное"...: not a rating the customer committed to.
    Hedged,
    /// "не 5", "не на пятерку".
    Negated,
    /// The message disagrees with itself ("5, ужасно", "да нет", "1 ❤️").
    Contradictory,
}

impl UnreadableReason {
    /// Every reason, so the phrase table is checked in one place.
    pub const ALL: [UnreadableReason; 16] = [
        UnreadableReason::Empty,
        UnreadableReason::TwoDifferentNumbers,
        UnreadableReason::Question,
        UnreadableReason::LongText,
        UnreadableReason::NoRating,
        UnreadableReason::OutOfRange,
        UnreadableReason::LooksLikeDate,
        UnreadableReason::LooksLikePrice,
        UnreadableReason::LooksLikePhone,
        UnreadableReason::LooksLikeTime,
        UnreadableReason::LooksLikeOrderNumber,
        UnreadableReason::NotWholeNumber,
        UnreadableReason::NumberInText,
        UnreadableReason::Hedged,
        UnreadableReason::Negated,
        UnreadableReason::Contradictory,
    ];

    /// The phrase shown to inspectors and stored in the survey record.
    pub fn as_str(self) -> &'static str {
        match self {
            UnreadableReason::Empty => "empty",
            UnreadableReason::TwoDifferentNumbers => "two different numbers",
            UnreadableReason::Question => "a question",
            UnreadableReason::LongText => "long text",
            UnreadableReason::NoRating => "no rating found",
            UnreadableReason::OutOfRange => "number out of range",
            UnreadableReason::LooksLikeDate => "looks like a date",
            UnreadableReason::LooksLikePrice => "looks like a price",
            UnreadableReason::LooksLikePhone => "looks like a phone number",
            UnreadableReason::LooksLikeTime => "looks like a time",
            UnreadableReason::LooksLikeOrderNumber => "looks like an order number",
            UnreadableReason::NotWholeNumber => "not a whole number",
            UnreadableReason::NumberInText => "a number inside other text",
            UnreadableReason::Hedged => "hedged or conditional rating",
            UnreadableReason::Negated => "negated rating",
            UnreadableReason::Contradictory => "contradictory answer",
        }
    }
}

impl fmt::Display for UnreadableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored reason phrase that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown unreadable reason {0:?}")]
pub struct UnknownReason(pub String);

impl FromStr for UnreadableReason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownReason(s.to_string()))
    }
}

impl Serialize for UnreadableReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UnreadableReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Per-shop parser settings (the `parser` table of the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParserOptions {
    /// Read "отлично"/"хорошо"/"нормально"/"плохо"/"ужасно" (and their Ukrainian and English
    /// counterparts) as 5/4/3/2/1. Off by default: a word is a vaguer signal than a digit, and a
    /// shop should opt into that trade. Even when off, such words still veto a digit that
    /// contradicts them ("5, ужасно").
    #[serde(default)]
    pub sentiment_words: bool,
}

pub(super) fn unreadable(reason: UnreadableReason) -> Reply {
    Reply::Unreadable { reason }
}

pub(super) fn on_scale(v: u64) -> Option<Reply> {
    let value = Rating::new(u8::try_from(v).ok()?).ok()?;
    Some(Reply::Rating { value })
}

pub(super) fn rating_reply(v: u64) -> Reply {
    on_scale(v).unwrap_or(unreadable(UnreadableReason::OutOfRange))
}
