//! The customer reply parser: turns what a customer typed, tapped or reacted with on WhatsApp into
//! one [`Reply`] that the rating state machine can act on (a rating, yes/no, an opt-out, or
//! "unreadable"). It is conservative on purpose: a wrong rating opens or hides a complaint, while an
//! unreadable reply only costs an inspector a glance, so anything in doubt comes back `Unreadable`.
//!
//! The entry points live here; below them, in the order a message passes through: `normalize`
//! (one spelling for what a phone can type, then tokens), `lexicon` (what each word and symbol
//! means), `read` (the whole message into one reply). `types` holds what they all share.

mod lexicon;
mod normalize;
mod read;
#[cfg(test)]
mod tests;
mod types;

pub use types::{ParserOptions, Reply, UnknownReason, UnreadableReason};

use lexicon::{
    digit_value, lex, listed, PLEASANT_CORE, PLEASANT_EMOJI, PLEASANT_EXTRA, QUESTION_MARKS,
};
use normalize::{is_quiet_punct, normalise, tokenize, TokKind};
use read::{analyse, is_long, is_opt_out, is_question, looks_like_phone, MAX_WORDS};
use types::{on_scale, rating_reply, unreadable};

/// Reads a customer's free-text reply.
///
/// Decisions for ambiguous forms (each pinned by a test row):
/// - "5+", "5++", "пять с плюсом" are 5 (a plus cannot push a 5-scale higher; "4+" is 4), but
///   "5-" and "5 с минусом" are unreadable: "5-" is as often a cut-off range ("5-4") as a grade.
/// - "5?" is a question: the customer is unsure or asking what we want.
/// - "ок"/"ok"/"👌" are Yes (consent). "хорошо" is a sentiment word (4), not Yes.
/// - Yes/no words next to a digit ("да, 5") do not change the rating; a rating beats yes/no.
/// - A typed run of stars counts ("⭐" alone is 1), but a lone "*" is not a star: in chats it
///   marks a typo correction.
/// - Number words ("пять", "one") count only when nothing else in the message is unknown,
///   because "один вопрос" or "один минус" are not ratings; grade nouns ("пятёрка") always count.
/// - A digit directly followed by an unknown word ("5 курьер молодец", "2 коробки") is
///   unreadable: Russian counts things that way.
pub fn parse_reply(text: &str, opts: &ParserOptions) -> Reply {
    use UnreadableReason as R;
    let norm = normalise(text);
    let norm = norm.trim();
    if norm.chars().all(|c| c.is_whitespace() || is_quiet_punct(c)) {
        return unreadable(R::Empty);
    }
    let toks = tokenize(norm);
    if is_opt_out(&toks) {
        return Reply::OptOut;
    }
    if is_question(norm, &toks) {
        return unreadable(R::Question);
    }
    if looks_like_phone(norm) {
        return unreadable(R::LooksLikePhone);
    }
    if is_long(norm, &toks) {
        return unreadable(R::LongText);
    }
    analyse(&lex(&toks), opts)
}

/// Quick-reply button payloads from WhatsApp templates: "5", "rating_5", "rating:5", "RATE_5",
/// "5_stars", "yes", "no", "contact_yes", "contact_no", "stop"... `None` when unknown: payloads are
/// ours, so an unknown one is a template misconfiguration the caller should log, not a reply.
pub fn parse_button_payload(payload: &str) -> Option<Reply> {
    let norm = normalise(payload);
    let parts: Vec<&str> = norm
        .split(|c: char| matches!(c, '_' | ':' | '-' | '.' | '/' | '=') || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let joined = parts.join("_");
    if matches!(
        joined.as_str(),
        "stop" | "opt_out" | "optout" | "unsubscribe" | "unsub" | "стоп" | "отписаться"
    ) {
        return Some(Reply::OptOut);
    }
    let (last, head) = parts.split_last()?;
    let prefix = head.join("_");
    if let Some(v) = lone_digit(last) {
        return match prefix.as_str() {
            "" | "rating" | "rate" | "score" | "stars" | "star" | "csat" | "grade" | "оценка" => {
                on_scale(v)
            }
            _ => None,
        };
    }
    if let ([first], "star" | "stars") = (head, *last) {
        return lone_digit(first).and_then(on_scale);
    }
    let consent_prefix = matches!(
        prefix.as_str(),
        "" | "contact" | "callback" | "call" | "call_back" | "call_me" | "consent"
    );
    match *last {
        "yes" | "да" if consent_prefix => Some(Reply::Yes),
        "no" | "нет" if consent_prefix => Some(Reply::No),
        _ => None,
    }
}

/// A WhatsApp reaction emoji on our message. Keycaps 1️⃣–5️⃣ are ratings and other keycaps are out
/// of range; 👍 is Yes, 👎 is No; an empty string (reaction removed) is Empty.
///
/// ⭐ (and 🌟) is deliberately *not* a rating: a reaction is a single emoji, so it cannot express a
/// count, and people react with a star to mean "great" as often as "one star". Reading it as 1
/// would open a complaint for a happy customer; reading it as 5 would hide an unhappy one.
pub fn parse_reaction(emoji: &str) -> Reply {
    let norm = normalise(emoji);
    match norm.trim() {
        "" => unreadable(UnreadableReason::Empty),
        "👍" => Reply::Yes,
        "👎" => Reply::No,
        d if (1..=2).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) => {
            rating_reply(digit_value(d))
        }
        _ => unreadable(UnreadableReason::NoRating),
    }
}

/// Short gratitude or acknowledgement with no request in it ("спасибо", "ок спасибо", "дякую",
/// "🙏"). After a survey is closed such a message needs no inspector; anything with a question, a
/// number or an unfamiliar word is not a pleasantry, so a real new problem is never swallowed.
pub fn is_pleasantry(text: &str) -> bool {
    let norm = normalise(text);
    if norm.contains(QUESTION_MARKS) {
        return false;
    }
    let mut found = false;
    let mut words = 0;
    for tok in tokenize(norm.trim()) {
        match tok.kind {
            TokKind::Num => return false,
            TokKind::Word => {
                words += 1;
                if listed(PLEASANT_CORE, &tok.text) {
                    found = true;
                } else if !listed(PLEASANT_EXTRA, &tok.text) {
                    return false;
                }
            }
            TokKind::Sym => {
                let c = tok.text.chars().next().unwrap_or(' ');
                if PLEASANT_EMOJI.contains(&c) {
                    found = true;
                } else if !is_quiet_punct(c) {
                    return false;
                }
            }
        }
    }
    found && words <= MAX_WORDS
}

fn lone_digit(s: &str) -> Option<u64> {
    (s.len() == 1 && s.bytes().all(|b| b.is_ascii_digit())).then(|| digit_value(s))
}
