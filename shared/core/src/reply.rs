//! The customer reply parser: turns what a customer typed, tapped or reacted with on WhatsApp into
//! one [`Reply`] that the rating state machine can act on (a rating, yes/no, an opt-out, or
//! "unreadable"). It is conservative on purpose: a wrong rating opens or hides a complaint, while an
//! unreadable reply only costs an inspector a glance, so anything in doubt comes back `Unreadable`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

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

/// Beyond this many words (or letters) a message is a story, and a number inside a story is more
/// likely a detail than a rating.
const MAX_WORDS: usize = 8;
const MAX_LETTERS: usize = 60;

/// A number, but not a point on the 1–5 scale ("05", the 7 in "7 из 10").
const OFF_SCALE: u64 = u64::MAX;

const QUESTION_MARKS: [char; 4] = ['?', '¿', '❓', '❔'];

fn unreadable(reason: UnreadableReason) -> Reply {
    Reply::Unreadable { reason }
}

fn on_scale(v: u64) -> Option<Reply> {
    let value = Rating::new(u8::try_from(v).ok()?).ok()?;
    Some(Reply::Rating { value })
}

fn rating_reply(v: u64) -> Reply {
    on_scale(v).unwrap_or(unreadable(UnreadableReason::OutOfRange))
}

fn lone_digit(s: &str) -> Option<u64> {
    (s.len() == 1 && s.bytes().all(|b| b.is_ascii_digit())).then(|| digit_value(s))
}

/// The value of a digit run; a leading zero ("05") is nobody's way of writing a rating.
fn digit_value(s: &str) -> u64 {
    if s.len() > 1 && s.starts_with('0') {
        return OFF_SCALE;
    }
    s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// Punctuation that carries no meaning on its own ("...", ")", "!"). Not '?' (a question), not
/// '*' (stars), not '#', '$', '%' (order numbers, prices, percentages).
fn is_quiet_punct(c: char) -> bool {
    (c.is_ascii_punctuation() && !matches!(c, '?' | '*' | '#' | '$' | '%'))
        || matches!(c, '«' | '»' | '„' | '“' | '”' | '‚' | '•' | '·')
}

/// One canonical spelling for everything a phone keyboard can produce: NFKC (fullwidth "４" is
/// "4", "①" is "1"), no emoji presentation selectors, keycap combiners or skin tones (so "5️⃣" is
/// "5" and "👍🏽" is "👍"), lower case, ё as е, one apostrophe, one dash.
fn normalise(text: &str) -> String {
    // NFKC turns "№" into "No", which would read as the English "no".
    let pre: String = text
        .chars()
        .map(|c| if c == '№' { '#' } else { c })
        .collect();
    let mut out = String::with_capacity(pre.len());
    for c in pre.nfkc() {
        match c {
            '\u{FE00}'..='\u{FE0F}'
            | '\u{20E3}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{1F3FB}'..='\u{1F3FF}' => {}
            '\u{1F51F}' => out.push_str("10"),
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{02B9}' | '\u{2032}' | '`'
            | '\u{00B4}' => out.push('\''),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{2044}' | '\u{2215}' => out.push('/'),
            c if c.is_whitespace() => out.push(' '),
            c => out.extend(c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l })),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    Word,
    Num,
    Sym,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: TokKind,
    text: String,
    /// No whitespace before it: "5ка", "1500₽" and "12.05" are glued, "5 мая" is not.
    glued: bool,
}

/// Words (letters with inner apostrophes or hyphens: "п'ять", "стоп-кран"), digit runs, and one
/// token per other character. Whitespace only sets `glued`.
fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut glued = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            glued = false;
            i += 1;
            continue;
        }
        let start = i;
        let kind = if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            TokKind::Num
        } else if c.is_alphabetic() {
            while i < chars.len()
                && (chars[i].is_alphabetic()
                    || (matches!(chars[i], '\'' | '-')
                        && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())))
            {
                i += 1;
            }
            TokKind::Word
        } else {
            i += 1;
            TokKind::Sym
        };
        let text: String = chars[start..i].iter().collect();
        let text = if kind == TokKind::Word {
            fold_homoglyphs(text)
        } else {
            text
        };
        toks.push(Tok { kind, text, glued });
        glued = true;
    }
    toks
}

/// Phones mix layouts: "дa" with a Latin "a" must still be "да". Only words that already mix
/// scripts are folded, so English words stay English.
fn fold_homoglyphs(word: String) -> String {
    let cyrillic = word.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    let latin = word.chars().any(|c| c.is_ascii_alphabetic());
    if !(cyrillic && latin) {
        return word;
    }
    word.chars()
        .map(|c| match c {
            'a' => 'а',
            'b' => 'в',
            'c' => 'с',
            'e' => 'е',
            'h' => 'н',
            'i' => 'і',
            'k' => 'к',
            'm' => 'м',
            'o' => 'о',
            'p' => 'р',
            't' => 'т',
            'x' => 'х',
            'y' => 'у',
            other => other,
        })
        .collect()
}

/// Single words that always mean "stop messaging me", wherever they stand.
const OPT_OUT_WORDS: &str = "отписаться отпишите отпишитесь отписка отписываюсь отписать \
    відписатися відпишіть відпишіться відписка unsubscribe unsub optout opt-out";

/// Phrases that mean the same (matched on whole words, anywhere in the message).
const OPT_OUT_PHRASES: &[&str] = &[
    "не пишите",
    "не писать мне",
    "больше не писать",
    "не надо мне писать",
    "не надо писать",
    "не нужно писать",
    "не нужно мне писать",
    "хватит писать",
    "хватит мне писать",
    "перестаньте писать",
    "перестаньте мне писать",
    "не присылайте",
    "не беспокойте",
    "не пишіть",
    "не треба писати",
    "не турбуйте",
    "opt out",
    "stop messaging",
    "stop texting",
    "stop writing",
    "don't message",
    "dont message",
    "do not message",
    "don't text",
    "do not text",
    "don't contact",
    "do not contact",
    "don't write",
    "do not write",
];

/// "стоп" is an opt-out only on its own ("СТОП!", "стоп, пожалуйста", even "стоп 5": an opt-out
/// we miss is spam, a rating we miss is one survey): inside a sentence it is a word like any other
/// ("стоп-кран сломался").
const OPT_OUT_ALONE: &str = "стоп stop";
const OPT_OUT_POLITE: &str = "пожалуйста please все уже будь ласка";

fn is_opt_out(toks: &[Tok]) -> bool {
    let words: Vec<&str> = toks
        .iter()
        .filter(|t| t.kind == TokKind::Word)
        .map(|t| t.text.as_str())
        .collect();
    if words.iter().any(|w| listed(OPT_OUT_WORDS, w)) {
        return true;
    }
    let joined = format!(" {} ", words.join(" "));
    if OPT_OUT_PHRASES
        .iter()
        .any(|p| joined.contains(&format!(" {p} ")))
    {
        return true;
    }
    words.iter().any(|w| listed(OPT_OUT_ALONE, w))
        && words
            .iter()
            .all(|w| listed(OPT_OUT_ALONE, w) || listed(OPT_OUT_POLITE, w))
}

/// A question mark anywhere, or a message that opens with a question word ("где мой заказ").
fn is_question(norm: &str, toks: &[Tok]) -> bool {
    if norm.contains(QUESTION_MARKS) {
        return true;
    }
    let first = toks.iter().find(|t| {
        t.kind != TokKind::Sym
            && !matches!(
                t.text.as_str(),
                "а" | "и" | "ну" | "но" | "і" | "але" | "so" | "and" | "but"
            )
    });
    first.is_some_and(|t| {
        matches!(
            t.text.as_str(),
            "где"
                | "когда"
                | "почему"
                | "зачем"
                | "сколько"
                | "куда"
                | "откуда"
                | "кто"
                | "де"
                | "коли"
                | "чому"
                | "навіщо"
                | "скільки"
                | "куди"
                | "хто"
                | "where"
                | "when"
                | "why"
                | "who"
        )
    })
}

fn is_long(norm: &str, toks: &[Tok]) -> bool {
    toks.iter().filter(|t| t.kind != TokKind::Sym).count() > MAX_WORDS
        || norm.chars().filter(|c| c.is_alphanumeric()).count() > MAX_LETTERS
}

/// "+7 900 123-45-67", "8 (900) 123 45 67", "89001234567", or a local "123-45-67". Checked on the
/// whole text because a phone spans several tokens.
fn looks_like_phone(norm: &str) -> bool {
    let chars: Vec<char> = norm.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() || matches!(chars[i], '+' | '(') {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || matches!(chars[j], ' ' | '+' | '(' | ')' | '-' | '.'))
            {
                j += 1;
            }
            if phone_shaped(&chars[i..j]) {
                return true;
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    false
}

fn phone_shaped(run: &[char]) -> bool {
    // (digits in the group, the separator just before it)
    let mut groups: Vec<(usize, Option<char>)> = Vec::new();
    let mut len = 0;
    let mut sep = None;
    let mut pending = None;
    for &c in run {
        if c.is_ascii_digit() {
            if len == 0 {
                sep = pending;
            }
            len += 1;
        } else {
            if len > 0 {
                groups.push((len, sep));
                len = 0;
            }
            pending = Some(c);
        }
    }
    if len > 0 {
        groups.push((len, sep));
    }
    let digits: usize = groups.iter().map(|g| g.0).sum();
    let longest = groups.iter().map(|g| g.0).max().unwrap_or(0);
    // "5 5 5 5 5 5 5 5 5 5" has ten digits but is an enthusiastic rating, not a phone.
    if digits >= 10 && longest >= 3 {
        return true;
    }
    groups
        .windows(3)
        .any(|w| w[0].0 == 3 && w[1] == (2, Some('-')) && w[2] == (2, Some('-')))
}

/// What a word or symbol means to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lx {
    /// A digit run (value and text are on the item).
    Num,
    /// A cardinal number word: "пять", "п'ять", "five".
    Card(u64),
    /// A school-grade noun: "пятёрка", "кол", "четвірка".
    Grade(u64),
    /// A sentiment word and the rating it stands for.
    Sent(u64),
    Yes,
    /// "конечно", "sure": yes on its own, an intensifier next to a no ("конечно нет").
    YesWeak,
    No,
    /// "баллов", "звёзд", "stars": may follow a rating.
    Unit,
    /// "оценка", "ставлю", "на": may precede a rating.
    Cue,
    /// "из", "of", "з": "4 из 5".
    ScaleOf,
    Currency,
    TimeUnit,
    Month,
    /// "в", "к", "после": "в 5" is a time.
    TimePrep,
    OrderWord,
    Hedge,
    Not,
    Plus,
    Minus,
    /// Politeness, greetings, particles: known, harmless words.
    Filler,
    /// "позвоните", "звонок": fine next to a yes/no.
    Call,
    /// "всё ок": fine, or "no need to call"? Never a decision on its own.
    Ambiguous,
    Unknown,
    Star,
    EmptyStar,
    Asterisk,
    Slash,
    Dash,
    Hash,
    CurrencySym,
    Percent,
    Other,
}

const LEXICON: &[(Lx, &str)] = &[
    (Lx::Card(0), "ноль нуль zero"),
    (Lx::Card(1), "один одна одну one"),
    (Lx::Card(2), "два две дві two"),
    (Lx::Card(3), "три three"),
    (Lx::Card(4), "четыре чотири four"),
    (Lx::Card(5), "пять пяти п'ять п'яти five"),
    (Lx::Card(6), "шесть шість six"),
    (Lx::Card(7), "семь сім seven"),
    (Lx::Card(8), "восемь вісім eight"),
    (Lx::Card(9), "девять дев'ять nine"),
    (Lx::Card(10), "десять десяти ten"),
    (Lx::Card(100), "сто hundred"),
    (
        Lx::Grade(1),
        "кол единица единицу единичка единичку одиниця одиницю одиничка одиничку",
    ),
    (
        Lx::Grade(2),
        "двойка двойку двоечка двоечку двояк двійка двійку двієчка двієчку",
    ),
    (
        Lx::Grade(3),
        "тройка тройку троечка троечку трояк трояка трійка трійку трієчка трієчку",
    ),
    (
        Lx::Grade(4),
        "четверка четверку четверочка четверочку четвірка четвірку четвірочка \
        четвірочку",
    ),
    (
        Lx::Grade(5),
        "пятерка пятерку пятерочка пятерочку п'ятірка п'ятірку п'ятірочка п'ятірочку \
        пятірка пятірку",
    ),
    (
        Lx::Sent(5),
        "отлично отличненько супер суперски прекрасно замечательно великолепно \
        идеально превосходно шикарно класс классно круто чудесно відмінно чудово ідеально класно \
        perfect excellent great awesome amazing super fantastic wonderful",
    ),
    (Lx::Sent(4), "хорошо неплохо добре непогано гарно good nice"),
    (
        Lx::Sent(3),
        "нормально норм нормас средне сойдет пойдет посередньо so-so average",
    ),
    (Lx::Sent(2), "плохо погано слабо bad poor"),
    (
        Lx::Sent(1),
        "ужасно ужас кошмар отвратительно отвратно жуть мерзко жахливо жах огидно \
        terrible awful horrible",
    ),
    (
        Lx::Yes,
        "да ага угу можно давайте давай ок окей оке оки ok okay ладно хочу согласен \
        согласна так авжеж можна згоден згодна yes yep yeah yup",
    ),
    (
        Lx::YesWeak,
        "конечно обязательно звісно звичайно sure certainly",
    ),
    (Lx::No, "нет неа не-а ненадо ненужно ні no nope nah"),
    (
        Lx::Unit,
        "балл балла баллов баллы бал бала балов балів бали звезд звезды звезда звезду \
        звездочки звездочек звездочку зірок зірки зірка зірку зірочок star stars point points",
    ),
    (
        Lx::Cue,
        "на оценка оценку оценкой оцениваю оценил оценила оценим ставлю поставлю поставил \
        поставила ставим даю оцінка оцінку оцінюю rating rate score give",
    ),
    (Lx::ScaleOf, "из of з із зі"),
    (
        Lx::Currency,
        "руб рубль рубля рублей р rub rur грн гривен гривень гривні гривня гривна \
        гривны uah тенге тг kzt usd долларов доллара доллар баксов бакса dollars dollar bucks \
        eur euro евро євро сум сумов коп копеек тыс тысяч тысячи тыщ тр",
    ),
    (
        Lx::TimeUnit,
        "час часа часов часу часам ч мин минут минуты минуту сек секунд вечера утра \
        ночи дня am pm h hr hrs hour hours min mins minutes годин години година годину хвилин \
        хвилини хвилину ранку вечора ночі",
    ),
    (
        Lx::Month,
        "января февраля марта апреля мая июня июля августа сентября октября ноября \
        декабря январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь \
        січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня \
        january february march april may june july august september october november december \
        jan feb mar apr jun jul aug sep sept oct nov dec",
    ),
    (
        Lx::TimePrep,
        "в во к ко после до через at о об після близько",
    ),
    (
        Lx::OrderWord,
        "заказ заказа заказе заказу заказом номер номером order замовлення трек \
        track артикул",
    ),
    (
        Lx::Hedge,
        "бы б если якби би якщо would if скорее скорей вероятно пожалуй почти майже \
        almost максимум минимум больше меньше более менее more less більше менше около примерно \
        приблизно наверное наверно может возможно мабуть може maybe probably где-то чем than ніж",
    ),
    (Lx::Not, "не not"),
    (Lx::Plus, "плюс плюсом plus"),
    (
        Lx::Minus,
        "минус минусом мінус мінусом minus половиной половинкой половина половиною half",
    ),
    (
        Lx::Call,
        "звоните позвоните перезвоните звонить позвонить перезвонить наберите набирайте \
        звонок звонка жду call дзвоніть подзвоніть зателефонуйте телефонуйте передзвоніть \
        дзвонити чекаю",
    ),
    (
        Lx::Filler,
        "спасибо спасибки спасибочки спасиб спс пасиб благодарю благодарим большое \
        огромное вам вас тебе пожалуйста пожалуйсто плиз пжл пж please pls plz thanks thank thx \
        ty you дякую дякуємо щиро дуже будь ласка все всем весь вся было была был были очень \
        просто вполне целом общем и или а но же вот ну еще уже мой моя мое мне меня я мы нам нас \
        это my i me it it's is was the a an and or but very all everything і й та або але було \
        була був мені мене моя здравствуйте здрасте добрый доброго добрий день вечер утро привет \
        приветствую вітаю привіт hello hi хорошего всего между с от за твердая твердую твердо \
        уверенная уверенную крепкая крепкую чистая чистую заслуженная заслуженную тоже также \
        думаю solid по возможных можливих",
    ),
];

/// Two-word expressions whose meaning is not the sum of their words.
const PHRASES: &[(Lx, &str, &str)] = &[
    (Lx::Sent(3), "так", "себе"),
    (Lx::Sent(3), "так", "собі"),
    (Lx::No, "не", "надо"),
    (Lx::No, "не", "нужно"),
    (Lx::No, "не", "стоит"),
    (Lx::No, "не", "хочу"),
    (Lx::No, "не", "треба"),
    (Lx::No, "не", "потрібно"),
    (Lx::ScaleOf, "out", "of"),
    (Lx::Filler, "thank", "you"),
    (Lx::Filler, "в", "целом"),
    (Lx::Filler, "в", "общем"),
    (Lx::Filler, "до", "свидания"),
    (Lx::YesWeak, "of", "course"),
    (Lx::Plus, "с", "плюсом"),
    (Lx::Minus, "с", "минусом"),
    (Lx::Ambiguous, "все", "ок"),
    (Lx::Ambiguous, "все", "окей"),
    (Lx::Ambiguous, "все", "ok"),
    (Lx::Ambiguous, "все", "норм"),
    (Lx::Ambiguous, "в", "порядке"),
    (Lx::Ambiguous, "all", "ok"),
    (Lx::Ambiguous, "all", "good"),
];

/// What a digit glued to a Russian/Ukrainian ending still means as a grade: "5ка", "5-ку", "5ть",
/// "из 5-ти".
const GRADE_SUFFIXES: &str = "ка ку ке ки кой очка очку ерка ерку ерочка ерочку ть ти ірка ірку";

const PLEASANT_CORE: &str = "спасибо спасибки спасибочки спасиб спс пасиб благодарю благодарим \
    благодарна благодарен мерси thanks thank thx ty дякую дякуємо ок окей ok okay хорошо ладно \
    понятно понял поняла ясно принято отлично супер класс cheers свидания побачення";

const PLEASANT_EXTRA: &str = "большое огромное вам вас тебе и а ну вот всего доброго хорошего \
    дня вечера до пожалуйста за помощь все you very much so a lot щиро дуже гарного і";

const PLEASANT_EMOJI: &[char] = &[
    '🙏', '👍', '👌', '❤', '♥', '💐', '🌹', '🌷', '🌸', '😊', '☺', '🙂', '😉', '🤝', '💖', '💕',
    '😘', '🥰', '🤗', '👏', '✨',
];

/// Whether `word` is one of the space-separated words of `list` (word lists are kept as text so
/// they read like a dictionary rather than a column of quotes).
fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn lookup(word: &str) -> Option<Lx> {
    LEXICON
        .iter()
        .find(|(_, words)| listed(words, word))
        .map(|(lx, _)| *lx)
}

fn word_lx(word: &str) -> Lx {
    if let Some(lx) = lookup(word) {
        return lx;
    }
    // "да-да", "нет-нет-нет": a repeated word means the word.
    if let Some((head, rest)) = word.split_once('-') {
        if rest.split('-').all(|p| p == head) {
            return lookup(head).unwrap_or(Lx::Unknown);
        }
    }
    Lx::Unknown
}

fn sym_lx(c: char) -> Lx {
    match c {
        '⭐' | '🌟' | '★' => Lx::Star,
        '☆' => Lx::EmptyStar,
        '*' => Lx::Asterisk,
        '/' => Lx::Slash,
        '-' => Lx::Dash,
        '#' => Lx::Hash,
        '$' | '€' | '£' | '₽' | '₴' | '₸' | '¥' | '₼' | '₾' => Lx::CurrencySym,
        '%' | '‰' | '°' => Lx::Percent,
        '👍' | '👌' | '✅' | '✔' | '☑' => Lx::Yes,
        '👎' | '❌' => Lx::No,
        '🤔' => Lx::Hedge,
        _ => Lx::Other,
    }
}

/// Emoji that say how the customer feels; used only to veto a digit that says the opposite.
fn emoji_polarity(c: char) -> i8 {
    match c {
        '❤' | '♥' | '😍' | '🥰' | '😊' | '☺' | '😀' | '😃' | '😁' | '🔥' | '👏' | '💯' | '💖'
        | '💕' | '🤩' | '😘' => 1,
        '😡' | '🤬' | '😠' | '😞' | '😢' | '😭' | '💩' | '😤' | '😒' | '🙁' | '☹' | '😣' | '😫'
        | '👎' => -1,
        _ => 0,
    }
}

#[derive(Debug, Clone)]
struct Item {
    lx: Lx,
    text: String,
    /// For `Lx::Num`: the digit run's value.
    value: u64,
    glued: bool,
    word: bool,
}

fn lex(toks: &[Tok]) -> Vec<Item> {
    let mut items = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        let mut item = Item {
            lx: Lx::Other,
            text: tok.text.clone(),
            value: 0,
            glued: tok.glued,
            word: tok.kind == TokKind::Word,
        };
        match tok.kind {
            TokKind::Num => {
                item.lx = Lx::Num;
                item.value = digit_value(&tok.text);
            }
            TokKind::Sym => item.lx = sym_lx(tok.text.chars().next().unwrap_or(' ')),
            TokKind::Word => {
                let phrase = toks
                    .get(i + 1)
                    .filter(|n| n.kind == TokKind::Word)
                    .and_then(|n| {
                        PHRASES
                            .iter()
                            .find(|(_, a, b)| *a == tok.text && *b == n.text)
                    });
                if let Some((lx, a, b)) = phrase {
                    item.lx = *lx;
                    item.text = format!("{a} {b}");
                    items.push(item);
                    i += 2;
                    continue;
                }
                item.lx = word_lx(&tok.text);
            }
        }
        items.push(item);
        i += 1;
    }
    items
}

/// Message-wide facts that change how a number is read.
struct Ctx {
    /// "оценка", "ставлю", "на"...: "оцениваю в 5" is a rating, a bare "в 5" is a time.
    has_cue: bool,
    /// Any word we do not know (call words included): number words are not trusted then.
    has_unknown: bool,
}

/// Everything found in a message, decided on only once the whole message has been read.
#[derive(Debug, Default)]
struct Signals {
    /// Ratings said with digits, grade words, number words or stars (`OFF_SCALE` for off-scale).
    hard: Vec<u64>,
    /// Ratings implied by sentiment words.
    soft: Vec<u64>,
    asterisk_runs: Vec<usize>,
    number_seen: bool,
    positive: bool,
    negative: bool,
    yes: usize,
    yes_weak: usize,
    no: usize,
    unknown: bool,
    call: bool,
    ambiguous: bool,
    hedge: bool,
    minus: bool,
    free_not: bool,
}

impl Signals {
    fn note(&mut self, item: &Item, prev: Option<Lx>) {
        match item.lx {
            // "не плохо" is not "плохо": a negated sentiment word is just an unknown word.
            Lx::Sent(_) if prev == Some(Lx::Not) => self.unknown = true,
            Lx::Sent(v) => {
                self.soft.push(v);
                self.positive |= v >= 4;
                self.negative |= v <= 2;
            }
            Lx::Yes => self.yes += 1,
            Lx::YesWeak => self.yes_weak += 1,
            Lx::No => self.no += 1,
            Lx::Hedge => self.hedge = true,
            Lx::Minus => self.minus = true,
            Lx::Not => self.free_not = true,
            Lx::Call => self.call = true,
            Lx::Ambiguous => self.ambiguous = true,
            Lx::Unknown => self.unknown = true,
            _ => {}
        }
        if !item.word {
            match item.text.chars().next().map(emoji_polarity) {
                Some(1) => self.positive = true,
                Some(-1) => self.negative = true,
                _ => {}
            }
        }
    }
}

fn analyse(items: &[Item], opts: &ParserOptions) -> Reply {
    let ctx = Ctx {
        has_cue: items.iter().any(|it| it.lx == Lx::Cue),
        has_unknown: items
            .iter()
            .enumerate()
            .any(|(k, it)| matches!(it.lx, Lx::Unknown | Lx::Call) && !is_number_suffix(items, k)),
    };
    let mut sig = Signals::default();
    let mut i = 0;
    while i < items.len() {
        let prev = i.checked_sub(1).map(|k| items[k].lx);
        i = match items[i].lx {
            Lx::Num | Lx::Card(_) | Lx::Grade(_) => match read_number(items, i, &ctx, &mut sig) {
                Ok(next) => next,
                Err(reason) => return unreadable(reason),
            },
            Lx::Star | Lx::EmptyStar => star_run(items, i, &mut sig),
            Lx::Asterisk => {
                let end = i + items[i..]
                    .iter()
                    .take_while(|it| it.lx == Lx::Asterisk)
                    .count();
                sig.asterisk_runs.push(end - i);
                end
            }
            _ => {
                sig.note(&items[i], prev);
                i + 1
            }
        };
    }
    resolve(sig, opts)
}

/// The word right after a digit, glued to it: the "ка" of "5ка" or "5-ка".
fn is_number_suffix(items: &[Item], k: usize) -> bool {
    let item = &items[k];
    item.word
        && item.glued
        && match k {
            0 => false,
            1 => items[0].lx == Lx::Num,
            _ => {
                items[k - 1].lx == Lx::Num
                    || (items[k - 1].lx == Lx::Dash
                        && items[k - 1].glued
                        && items[k - 2].lx == Lx::Num)
            }
        }
}

/// Reads the number-like item at `i` (digits, number word, grade word) with its surroundings and
/// either records a candidate rating and returns where to continue, or says why the message
/// cannot be trusted.
fn read_number(
    items: &[Item],
    i: usize,
    ctx: &Ctx,
    sig: &mut Signals,
) -> Result<usize, UnreadableReason> {
    use UnreadableReason as R;
    sig.number_seen = true;
    let item = &items[i];
    let mut j = i + 1;
    let mut value;
    // Length of a bare digit run: 5+ digits are an order number, 4 may be a year.
    let mut digits = 0;
    match item.lx {
        Lx::Num => {
            if let Some((parts, seps, end)) = compound(items, i) {
                if negated(items, i) {
                    return Err(R::Negated);
                }
                sig.hard.extend(compound_values(&parts, &seps)?);
                return Ok(end);
            }
            value = item.value;
            digits = item.text.len();
            // "5 000 рублей": a thousands separator, not two numbers.
            while item.text.len() <= 3 {
                match items.get(j) {
                    Some(n) if n.lx == Lx::Num && !n.glued && n.text.len() == 3 => {
                        value = value.saturating_mul(1000).saturating_add(n.value);
                        digits = 0;
                        j += 1;
                    }
                    _ => break,
                }
            }
            j = number_suffix(items, j)?;
        }
        Lx::Card(v) => {
            if ctx.has_unknown {
                return Err(R::NumberInText);
            }
            value = v;
        }
        Lx::Grade(v) => value = v,
        _ => return Ok(j),
    }
    let prev = i.checked_sub(1).map(|k| items[k].lx);
    let next = items.get(j).map(|n| n.lx);
    if prev == Some(Lx::CurrencySym) || matches!(next, Some(Lx::CurrencySym | Lx::Currency)) {
        return Err(R::LooksLikePrice);
    }
    if prev == Some(Lx::Month) || next == Some(Lx::Month) {
        return Err(R::LooksLikeDate);
    }
    if next == Some(Lx::TimeUnit) {
        return Err(R::LooksLikeTime);
    }
    if next == Some(Lx::Percent) {
        return Err(R::NumberInText);
    }
    if prev == Some(Lx::TimePrep)
        && !matches!(item.lx, Lx::Grade(_))
        && next != Some(Lx::Unit)
        && !ctx.has_cue
    {
        return Err(R::LooksLikeTime);
    }
    if after_order_word(items, i) || digits >= 5 {
        return Err(R::LooksLikeOrderNumber);
    }
    if digits == 4 && (1900..=2100).contains(&value) {
        return Err(R::LooksLikeDate);
    }
    if negated(items, i) {
        return Err(R::Negated);
    }
    // "4 из 5", "5 / 5", "ten out of ten": only a 5-point scale gives a rating.
    if matches!(next, Some(Lx::ScaleOf | Lx::Slash)) {
        if let Some(of) = items.get(j + 1).and_then(scale_value) {
            if of != 5 {
                value = OFF_SCALE;
            }
            j = number_suffix(items, j + 2)?;
        }
    }
    if item.lx == Lx::Num && items.get(j).is_some_and(|n| n.lx == Lx::Unknown) {
        return Err(R::NumberInText);
    }
    sig.hard.push(value);
    Ok(j)
}

fn scale_value(item: &Item) -> Option<u64> {
    match item.lx {
        Lx::Num => Some(item.value),
        Lx::Card(v) => Some(v),
        _ => None,
    }
}

/// "не 5", "не на 5".
fn negated(items: &[Item], i: usize) -> bool {
    let before = |k: usize| i.checked_sub(k).map(|k| items[k].lx);
    before(1) == Some(Lx::Not) || (before(1) == Some(Lx::Cue) && before(2) == Some(Lx::Not))
}

/// "заказ 12345", "заказ № 5", "#5", "заказ номер: 123".
fn after_order_word(items: &[Item], i: usize) -> bool {
    for item in items[i.saturating_sub(3)..i].iter().rev() {
        match item.lx {
            Lx::Hash | Lx::OrderWord => return true,
            Lx::Dash => {}
            Lx::Other if item.text == ":" => {}
            _ => return false,
        }
    }
    false
}

/// Whatever is glued right after a digit run at `j`: a grade ending is fine ("5ка"), a unit is
/// fine ("5звезд"), anything else makes the number something other than a rating.
fn number_suffix(items: &[Item], j: usize) -> Result<usize, UnreadableReason> {
    use UnreadableReason as R;
    let Some(first) = items.get(j).filter(|n| n.glued) else {
        return Ok(j);
    };
    let (word, end) = if first.lx == Lx::Dash {
        match items.get(j + 1) {
            Some(w) if w.glued && w.word => (w, j + 2),
            // "5-": a grade with a minus, or a range cut short.
            _ => return Err(R::NotWholeNumber),
        }
    } else if first.word {
        (first, j + 1)
    } else {
        return Ok(j);
    };
    if listed(GRADE_SUFFIXES, &word.text) || word.lx == Lx::Unit {
        return Ok(end);
    }
    // "3из5": left in place for the scale check.
    if word.lx == Lx::ScaleOf && first.word {
        return Ok(j);
    }
    Err(match word.lx {
        Lx::Currency => R::LooksLikePrice,
        // "5к", "5k": thousands.
        _ if matches!(word.text.as_str(), "к" | "k" | "т") => R::LooksLikePrice,
        Lx::TimeUnit => R::LooksLikeTime,
        Lx::Month => R::LooksLikeDate,
        _ => R::NumberInText,
    })
}

/// Digit runs glued by separators: "12.05", "4,5", "5:30", "3/5", "4-5", "12/05/2024".
fn compound(items: &[Item], i: usize) -> Option<(Vec<&str>, Vec<char>, usize)> {
    let mut parts = vec![items[i].text.as_str()];
    let mut seps = Vec::new();
    let mut k = i + 1;
    while let (Some(sep), Some(num)) = (items.get(k), items.get(k + 1)) {
        let c = sep.text.chars().next().unwrap_or(' ');
        if !(sep.glued
            && num.glued
            && num.lx == Lx::Num
            && matches!(c, '.' | ',' | '/' | ':' | '-'))
        {
            break;
        }
        parts.push(num.text.as_str());
        seps.push(c);
        k += 2;
    }
    (!seps.is_empty()).then_some((parts, seps, k))
}

fn compound_values(parts: &[&str], seps: &[char]) -> Result<Vec<u64>, UnreadableReason> {
    use UnreadableReason as R;
    if seps.contains(&':') {
        return Err(R::LooksLikeTime);
    }
    let [a, b] = parts else {
        let same = seps.iter().all(|&c| c == seps[0]);
        return Err(if same && matches!(seps[0], '.' | '/' | '-') {
            R::LooksLikeDate
        } else {
            R::NotWholeNumber
        });
    };
    match seps[0] {
        '/' if *b == "5" => Ok(vec![digit_value(a)]),
        '/' if matches!(*b, "10" | "100") && digit_value(a) <= digit_value(b) => {
            Ok(vec![OFF_SCALE])
        }
        '/' if is_day_month(a, b) => Err(R::LooksLikeDate),
        '/' => Ok(vec![OFF_SCALE]),
        // "4.5" is a score between two ratings; "12.05" a date; "5.30" a time.
        '.' if b.len() == 1 => Err(R::NotWholeNumber),
        '.' if is_day_month(a, b) => Err(R::LooksLikeDate),
        '.' if is_clock(a, b) => Err(R::LooksLikeTime),
        // "4-5": a range, so two candidates.
        '-' => Ok(vec![digit_value(a), digit_value(b)]),
        _ => Err(R::NotWholeNumber),
    }
}

fn is_day_month(a: &str, b: &str) -> bool {
    a.len() <= 2
        && b.len() == 2
        && (1..=31).contains(&a.parse::<u64>().unwrap_or(0))
        && (1..=12).contains(&b.parse::<u64>().unwrap_or(0))
}

fn is_clock(a: &str, b: &str) -> bool {
    a.len() <= 2
        && b.len() == 2
        && a.parse::<u64>().unwrap_or(99) <= 23
        && b.parse::<u64>().unwrap_or(99) <= 59
}

/// A run of stars is a rating of its count; "★★★☆☆" counts the filled ones out of five. A single
/// star next to a number is that number's unit ("5⭐"), not a second rating.
fn star_run(items: &[Item], i: usize, sig: &mut Signals) -> usize {
    let mut end = i;
    let (mut filled, mut empty) = (0u64, 0u64);
    while let Some(item) = items.get(end) {
        match item.lx {
            Lx::Star => filled += 1,
            Lx::EmptyStar => empty += 1,
            // "⭐, ⭐, ⭐" is one run.
            Lx::Other
                if item.text == ","
                    && items
                        .get(end + 1)
                        .is_some_and(|n| matches!(n.lx, Lx::Star | Lx::EmptyStar)) => {}
            _ => break,
        }
        end += 1;
    }
    let is_label = |k: Option<usize>| {
        k.and_then(|k| items.get(k))
            .is_some_and(|n| matches!(n.lx, Lx::Num | Lx::Card(_) | Lx::Grade(_) | Lx::Unit))
    };
    if empty > 0 {
        sig.hard.push(if filled > 0 && filled + empty == 5 {
            filled
        } else {
            OFF_SCALE
        });
    } else if !(filled == 1 && (is_label(i.checked_sub(1)) || is_label(Some(end)))) {
        sig.hard.push(filled);
    }
    end
}

fn resolve(mut sig: Signals, opts: &ParserOptions) -> Reply {
    use UnreadableReason as R;
    // "*****" is five stars, but only when nothing else in the message is a number: around a
    // digit, asterisks are WhatsApp bold ("*5*").
    if sig.hard.is_empty() && !sig.number_seen {
        let runs = sig.asterisk_runs.iter().filter(|&&n| n >= 2);
        sig.hard.extend(runs.map(|&n| n as u64));
    }
    if let Some(&v) = sig.hard.first() {
        if sig.hard.iter().any(|&h| h != v) {
            return unreadable(R::TwoDifferentNumbers);
        }
        if !(1..=5).contains(&v) {
            return unreadable(R::OutOfRange);
        }
        if sig.hedge {
            return unreadable(R::Hedged);
        }
        if sig.minus {
            return unreadable(R::NotWholeNumber);
        }
        if (v >= 4 && sig.negative) || (v <= 2 && sig.positive) {
            return unreadable(R::Contradictory);
        }
        return rating_reply(v);
    }
    // "конечно нет" is "of course not": a weak yes only counts when there is no no.
    let yes = sig.yes + if sig.no == 0 { sig.yes_weak } else { 0 };
    if yes > 0 || sig.no > 0 {
        if yes > 0 && sig.no > 0 {
            return unreadable(R::Contradictory);
        }
        // "да, курьер опоздал" agrees with something, but not necessarily with our question.
        if sig.unknown || sig.ambiguous || sig.hedge || sig.free_not {
            return unreadable(R::NoRating);
        }
        return if yes > 0 { Reply::Yes } else { Reply::No };
    }
    if opts.sentiment_words && !sig.soft.is_empty() {
        // Words are only trusted when they are the whole message ("всё отлично, спасибо").
        if sig.unknown || sig.call || sig.ambiguous || sig.free_not || sig.hedge || sig.minus {
            return unreadable(R::NoRating);
        }
        let v = sig.soft[0];
        if sig.soft.iter().any(|&s| s != v) {
            return unreadable(R::Contradictory);
        }
        if (v >= 4 && sig.negative) || (v <= 2 && sig.positive) {
            return unreadable(R::Contradictory);
        }
        return rating_reply(v);
    }
    unreadable(R::NoRating)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `"1"`..`"5"` for a rating, `"yes"`, `"no"`, `"opt_out"`, or the unreadable reason's phrase.
    fn compact(reply: &Reply) -> String {
        match reply {
            Reply::Rating { value } => value.value().to_string(),
            Reply::Yes => "yes".into(),
            Reply::No => "no".into(),
            Reply::OptOut => "opt_out".into(),
            Reply::Unreadable { reason } => reason.to_string(),
        }
    }

    const TWO: &str = "two different numbers";
    const QUESTION: &str = "a question";
    const LONG: &str = "long text";
    const NONE: &str = "no rating found";
    const RANGE: &str = "number out of range";
    const DATE: &str = "looks like a date";
    const PRICE: &str = "looks like a price";
    const PHONE: &str = "looks like a phone number";
    const TIME: &str = "looks like a time";
    const ORDER: &str = "looks like an order number";
    const FRACTION: &str = "not a whole number";
    const IN_TEXT: &str = "a number inside other text";
    const HEDGED: &str = "hedged or conditional rating";
    const NEGATED: &str = "negated rating";
    const CONTRA: &str = "contradictory answer";
    const EMPTY: &str = "empty";

    /// Realistic replies with the default options (sentiment words off).
    const CASES: &[(&str, &str)] = &[
        // A lone digit, dressed up the ways phones dress it.
        ("5", "5"),
        ("5!", "5"),
        ("5)", "5"),
        ("5.", "5"),
        (" 5 ", "5"),
        ("5!!!", "5"),
        ("5)))", "5"),
        ("(4)", "4"),
        ("5\u{FE0F}\u{20E3}", "5"),
        ("5\u{20E3}", "5"),
        ("３\u{FE0F}\u{20E3}", "3"),
        ("４", "4"),
        ("⑤", "5"),
        ("5 👍", "5"),
        ("👍 5", "5"),
        ("5+", "5"),
        ("4+", "4"),
        ("5++", "5"),
        ("*5*", "5"),
        ("— 5", "5"),
        // Scales, cues and units.
        ("3/5", "3"),
        ("5 / 5", "5"),
        ("4 из 5", "4"),
        ("5 из 5!", "5"),
        ("5 of 5", "5"),
        ("4 out of 5", "4"),
        ("4 з 5", "4"),
        ("на 4", "4"),
        ("На 5 баллов", "5"),
        ("оценка 3", "3"),
        ("Оценка: 5", "5"),
        ("ставлю 4", "4"),
        ("Ставлю 5 звёзд", "5"),
        ("5 баллов", "5"),
        ("3 звезды", "3"),
        ("5 stars", "5"),
        ("Оцінка 5", "5"),
        ("оцениваю в 5 баллов", "5"),
        ("5ка", "5"),
        ("3из5", "3"),
        ("Все отлично, 5 из 5 возможных", "5"),
        ("5 по всем пунктам", "5"),
        ("на 5-ку", "5"),
        ("из 5-ти 5", "5"),
        // Stars.
        ("⭐⭐⭐⭐⭐", "5"),
        ("⭐️⭐️⭐️", "3"),
        ("⭐ ⭐ ⭐ ⭐", "4"),
        ("★★★★☆", "4"),
        ("🌟🌟", "2"),
        ("⭐", "1"),
        ("*****", "5"),
        ("5⭐", "5"),
        ("5 ⭐⭐⭐⭐⭐", "5"),
        ("⭐⭐⭐⭐⭐⭐⭐", RANGE),
        ("*", NONE),
        // Number words and grades, Russian, Ukrainian, English.
        ("пять", "5"),
        ("Пятёрка!", "5"),
        ("пятерочка", "5"),
        ("ПЯТЁРОЧКА", "5"),
        ("четверка", "4"),
        ("четвёрочка", "4"),
        ("тройка", "3"),
        ("трояк", "3"),
        ("двойка", "2"),
        ("двоечка", "2"),
        ("единица", "1"),
        ("кол", "1"),
        ("один", "1"),
        ("ЧЕТЫРЕ", "4"),
        ("три.", "3"),
        ("два", "2"),
        ("на пять", "5"),
        ("оценка пять", "5"),
        ("пять баллов", "5"),
        ("пять из пяти", "5"),
        ("твердая пятерка", "5"),
        ("Твёрдая четвёрка", "4"),
        ("пять с плюсом", "5"),
        ("п'ять", "5"),
        ("п’ять", "5"),
        ("пʼять", "5"),
        ("п'ятірка", "5"),
        ("пʼятірка", "5"),
        ("чотири", "4"),
        ("четвірка", "4"),
        ("трійка", "3"),
        ("двійка", "2"),
        ("одиниця", "1"),
        ("five", "5"),
        ("Four", "4"),
        ("one", "1"),
        ("five stars", "5"),
        ("four out of five", "4"),
        // Repeats agree with themselves.
        ("5 5 5", "5"),
        ("5, 5", "5"),
        ("5 и 5", "5"),
        ("5, пятерка", "5"),
        ("⭐⭐⭐⭐⭐ 5", "5"),
        // A digit with a short comment.
        ("Спасибо, всё хорошо, 5", "5"),
        ("Добрый день! 5", "5"),
        ("Курьер молодец, 5", "5"),
        ("5, курьер молодец", "5"),
        ("5 спасибо", "5"),
        ("Да, 5", "5"),
        ("5, всё отлично", "5"),
        ("1, курьер нахамил", "1"),
        ("1 😡", "1"),
        // Yes / no for "shall we call you?".
        ("да", "yes"),
        ("Да!", "yes"),
        ("дa", "yes"),
        ("да-да", "yes"),
        ("ага", "yes"),
        ("конечно", "yes"),
        ("можно", "yes"),
        ("давайте", "yes"),
        ("Да, пожалуйста", "yes"),
        ("да, позвоните", "yes"),
        ("Так", "yes"),
        ("Так, будь ласка", "yes"),
        ("yes", "yes"),
        ("Yep", "yes"),
        ("ok", "yes"),
        ("Ок", "yes"),
        ("👍", "yes"),
        ("👍🏽", "yes"),
        ("нет", "no"),
        ("Нет, спасибо", "no"),
        ("нет спасибо", "no"),
        ("нeт", "no"),
        ("нет-нет", "no"),
        ("не надо", "no"),
        ("Не нужно, спасибо", "no"),
        ("ні", "no"),
        ("Ні, дякую", "no"),
        ("no", "no"),
        ("nope", "no"),
        ("👎", "no"),
        ("конечно нет", "no"),
        ("да нет", CONTRA),
        ("да, курьер опоздал", NONE),
        ("нет, курьер хамил", NONE),
        ("всё ок", NONE),
        // Opt-out wins.
        ("стоп", "opt_out"),
        ("STOP", "opt_out"),
        ("Стоп, пожалуйста", "opt_out"),
        ("отписаться", "opt_out"),
        ("Отпишите меня", "opt_out"),
        ("не пишите мне больше", "opt_out"),
        ("Больше не пишите!", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("відписатися", "opt_out"),
        ("Не пишіть мені", "opt_out"),
        ("5, и больше не пишите", "opt_out"),
        ("Как отписаться?", "opt_out"),
        (
            "Всё понравилось, но больше не пишите мне сюда, пожалуйста, сообщений и так много",
            "opt_out",
        ),
        ("стоп-кран", NONE),
        ("Стоп-кран сломался, а так всё норм", NONE),
        ("стоп 5", "opt_out"),
        ("стоп, 5 баллов", "5"),
        // Two candidates.
        ("3 или 4", TWO),
        ("на 4, курьер на 2", TWO),
        ("4-5", TWO),
        ("4 - 5", TWO),
        ("между 3 и 4", TWO),
        ("1 2 3 4 5", TWO),
        ("4 ⭐⭐⭐⭐⭐", TWO),
        ("пятерка, но вообще 4", TWO),
        // Questions.
        ("а где мой заказ?", QUESTION),
        ("5?", QUESTION),
        ("?", QUESTION),
        ("Да?", QUESTION),
        ("а когда привезут", QUESTION),
        ("Где заказ", QUESTION),
        // Long text.
        ("Курьер опоздал на 2 часа, но в целом всё хорошо", LONG),
        (
            "Всё пришло вовремя, курьер вежливый, упаковка целая, ставлю 5",
            LONG,
        ),
        (
            "Замечательнейший магазинчик, великолепнейшая доставочка, прекраснейший курьерчик 5",
            LONG,
        ),
        // Dates.
        ("12.05", DATE),
        ("12/05/2024", DATE),
        ("5 мая", DATE),
        ("привезли 5 мая", DATE),
        ("May 5", DATE),
        ("2024", DATE),
        ("03.04.24", DATE),
        // Prices.
        ("500 руб", PRICE),
        ("500 руб.", PRICE),
        ("1500₽", PRICE),
        ("5 000 рублей", PRICE),
        ("$5", PRICE),
        ("5р", PRICE),
        ("200 грн", PRICE),
        ("5к", PRICE),
        // Phones.
        ("+7 900 123-45-67", PHONE),
        ("89001234567", PHONE),
        ("8 (900) 123-45-67", PHONE),
        ("123-45-67", PHONE),
        ("звоните 8-900-123-45-67", PHONE),
        // Off the scale.
        ("0", RANGE),
        ("6", RANGE),
        ("10", RANGE),
        ("10 из 10", RANGE),
        ("5/10", RANGE),
        ("10/10", RANGE),
        ("ten out of ten", RANGE),
        ("на все 100", RANGE),
        ("на все сто", RANGE),
        ("55", RANGE),
        ("05", RANGE),
        ("🔟", RANGE),
        // Order numbers.
        ("заказ 12345", ORDER),
        ("№12345", ORDER),
        ("заказ №5", ORDER),
        ("12345", ORDER),
        ("номер заказа: 4", ORDER),
        // Times.
        ("в 5 вечера", TIME),
        ("5:30", TIME),
        ("в 5", TIME),
        ("через 5 минут", TIME),
        ("2 дня", TIME),
        ("после 4", TIME),
        // Not whole.
        ("4.5", FRACTION),
        ("4,5", FRACTION),
        ("5 с минусом", FRACTION),
        ("5-", FRACTION),
        ("четверка с минусом", FRACTION),
        ("4 с половиной", FRACTION),
        ("четыре с половиной", FRACTION),
        // Numbers that count something.
        ("5 курьер молодец", IN_TEXT),
        ("2 коробки не пришли", IN_TEXT),
        ("5 дней ждала", IN_TEXT),
        ("100%", IN_TEXT),
        ("5й", IN_TEXT),
        ("пять, курьер молодец", IN_TEXT),
        ("один вопрос", IN_TEXT),
        ("я один дома", IN_TEXT),
        // Hedged or negated.
        ("почти 5", HEDGED),
        ("поставил бы 5", HEDGED),
        ("наверное 4", HEDGED),
        ("Скорее 4", HEDGED),
        ("5 🤔", HEDGED),
        ("не 5", NEGATED),
        ("не на 5", NEGATED),
        ("не пятерка", NEGATED),
        // The message disagrees with itself.
        ("5, ужасно", CONTRA),
        ("1, всё отлично", CONTRA),
        ("1 ❤️", CONTRA),
        ("5 😡", CONTRA),
        // Nothing to read.
        ("", EMPTY),
        ("   ", EMPTY),
        ("...", EMPTY),
        ("\u{FE0F}", EMPTY),
        ("спасибо", NONE),
        ("😊", NONE),
        ("🙏", NONE),
        ("отлично", NONE),
        ("Спасибо, всё отлично!", NONE),
    ];

    #[test]
    fn table_of_realistic_replies() {
        let opts = ParserOptions::default();
        let failures: Vec<String> = CASES
            .iter()
            .filter_map(|&(input, want)| {
                let got = compact(&parse_reply(input, &opts));
                (got != want).then(|| format!("{input:?}: want {want:?}, got {got:?}"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} rows failed:\n{}",
            failures.len(),
            CASES.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn table_is_big_and_covers_every_outcome() {
        assert!(CASES.len() >= 90, "only {} rows", CASES.len());
        let mut wanted: Vec<&str> = CASES.iter().map(|&(_, want)| want).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for expected in ["1", "2", "3", "4", "5", "yes", "no", "opt_out"] {
            assert!(wanted.contains(&expected), "no row expects {expected}");
        }
        for reason in UnreadableReason::ALL {
            assert!(
                wanted.contains(&reason.as_str()),
                "no row expects {reason:?}"
            );
        }
    }

    /// (input, with sentiment words off, with sentiment words on)
    const SENTIMENT: &[(&str, &str, &str)] = &[
        ("отлично", NONE, "5"),
        ("Всё отлично, спасибо!", NONE, "5"),
        ("супер", NONE, "5"),
        ("Excellent", NONE, "5"),
        ("чудово", NONE, "5"),
        ("хорошо", NONE, "4"),
        ("всё хорошо", NONE, "4"),
        ("неплохо", NONE, "4"),
        ("нормально", NONE, "3"),
        ("так себе", NONE, "3"),
        ("плохо", NONE, "2"),
        ("погано", NONE, "2"),
        ("ужасно", NONE, "1"),
        ("Ужасно!!!", NONE, "1"),
        ("очень плохо", NONE, "2"),
        // Negated, mixed, or inside other text: never a rating.
        ("не плохо", NONE, NONE),
        ("не всё отлично", NONE, NONE),
        ("отлично, но курьер хамил", NONE, NONE),
        ("отлично, позвоните", NONE, NONE),
        ("хорошо, но плохо", NONE, CONTRA),
        ("отлично 😡", NONE, CONTRA),
        // A digit decides either way; the words may only veto it.
        ("5, всё отлично", "5", "5"),
        ("4, хорошо", "4", "4"),
        ("5, ужасно", CONTRA, CONTRA),
        // Yes/no beats a sentiment word.
        ("да, отлично", "yes", "yes"),
        ("нет, всё хорошо", "no", "no"),
    ];

    #[test]
    fn sentiment_words_only_count_when_enabled() {
        let off = ParserOptions::default();
        let on = ParserOptions {
            sentiment_words: true,
        };
        let failures: Vec<String> = SENTIMENT
            .iter()
            .filter_map(|&(input, want_off, want_on)| {
                let got_off = compact(&parse_reply(input, &off));
                let got_on = compact(&parse_reply(input, &on));
                (got_off != want_off || got_on != want_on).then(|| {
                    format!("{input:?}: want off={want_off:?} on={want_on:?}, got off={got_off:?} on={got_on:?}")
                })
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn button_payloads() {
        let rows: &[(&str, Option<&str>)] = &[
            ("5", Some("5")),
            ("1", Some("1")),
            ("rating_5", Some("5")),
            ("rating:4", Some("4")),
            ("RATE_3", Some("3")),
            ("rating-2", Some("2")),
            ("score_1", Some("1")),
            ("5_stars", Some("5")),
            (" rating_5 ", Some("5")),
            ("yes", Some("yes")),
            ("YES", Some("yes")),
            ("no", Some("no")),
            ("contact_yes", Some("yes")),
            ("contact_no", Some("no")),
            ("callback:yes", Some("yes")),
            ("stop", Some("opt_out")),
            ("STOP", Some("opt_out")),
            ("opt_out", Some("opt_out")),
            ("unsubscribe", Some("opt_out")),
            ("rating_6", None),
            ("rating_0", None),
            ("6", None),
            ("rating_55", None),
            ("order_5", None),
            ("maybe", None),
            ("contact_maybe", None),
            ("", None),
        ];
        for &(payload, want) in rows {
            let got = parse_button_payload(payload);
            assert_eq!(
                got.as_ref().map(compact).as_deref(),
                want,
                "payload {payload:?}"
            );
        }
    }

    #[test]
    fn reactions() {
        let rows: &[(&str, &str)] = &[
            ("1\u{FE0F}\u{20E3}", "1"),
            ("2\u{FE0F}\u{20E3}", "2"),
            ("3\u{FE0F}\u{20E3}", "3"),
            ("4\u{FE0F}\u{20E3}", "4"),
            ("5\u{FE0F}\u{20E3}", "5"),
            ("5\u{20E3}", "5"),
            ("0\u{FE0F}\u{20E3}", RANGE),
            ("9\u{FE0F}\u{20E3}", RANGE),
            ("🔟", RANGE),
            ("👍", "yes"),
            ("👍🏻", "yes"),
            ("👎", "no"),
            ("👎🏿", "no"),
            // One star: ambiguous between "1 star" and "great", so a human decides.
            ("⭐", NONE),
            ("⭐\u{FE0F}", NONE),
            ("🌟", NONE),
            ("❤\u{FE0F}", NONE),
            ("😂", NONE),
            ("", EMPTY),
        ];
        for &(emoji, want) in rows {
            assert_eq!(compact(&parse_reaction(emoji)), want, "reaction {emoji:?}");
        }
    }

    #[test]
    fn pleasantries() {
        for text in [
            "спасибо",
            "Спасибо!",
            "СПАСИБО БОЛЬШОЕ!!!",
            "благодарю",
            "thanks",
            "Thank you very much",
            "дякую",
            "Щиро дякую!",
            "🙏",
            "🙏🙏🙏",
            "ок спасибо",
            "Ок, спасибо 👍",
            "спасибо, всего доброго",
            "Хорошо, спасибо",
            "спс)",
        ] {
            assert!(is_pleasantry(text), "{text:?} should be a pleasantry");
        }
        for text in [
            "",
            "😡",
            "спасибо, а где мой заказ?",
            "спасибо?",
            "спасибо, 1",
            "спасибо, но курьер нахамил",
            "верните деньги",
            "да",
            "нет",
            "спасибо спасибо спасибо спасибо спасибо спасибо спасибо спасибо спасибо",
        ] {
            assert!(!is_pleasantry(text), "{text:?} should not be a pleasantry");
        }
    }

    #[test]
    fn json_shape() {
        let five = Reply::Rating {
            value: Rating::new(5).unwrap(),
        };
        let two = Reply::Unreadable {
            reason: UnreadableReason::TwoDifferentNumbers,
        };
        let rows = [
            (five, r#"{"kind":"rating","value":5}"#),
            (Reply::Yes, r#"{"kind":"yes"}"#),
            (Reply::No, r#"{"kind":"no"}"#),
            (Reply::OptOut, r#"{"kind":"opt_out"}"#),
            (
                two,
                r#"{"kind":"unreadable","reason":"two different numbers"}"#,
            ),
        ];
        for (reply, json) in rows {
            assert_eq!(serde_json::to_string(&reply).unwrap(), json);
            assert_eq!(serde_json::from_str::<Reply>(json).unwrap(), reply);
        }
        assert!(serde_json::from_str::<Reply>(r#"{"kind":"rating","value":6}"#).is_err());
        assert!(serde_json::from_str::<Reply>(r#"{"kind":"unreadable","reason":"nope"}"#).is_err());
    }

    #[test]
    fn every_reason_round_trips_through_its_phrase() {
        let mut phrases: Vec<&str> = UnreadableReason::ALL.iter().map(|r| r.as_str()).collect();
        phrases.sort_unstable();
        phrases.dedup();
        assert_eq!(
            phrases.len(),
            UnreadableReason::ALL.len(),
            "phrases must be unique"
        );
        for reason in UnreadableReason::ALL {
            let phrase = reason.to_string();
            assert!(phrase.chars().all(|c| !c.is_uppercase()), "{phrase:?}");
            assert_eq!(phrase.parse::<UnreadableReason>(), Ok(reason));
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{phrase}\""));
            assert_eq!(
                serde_json::from_str::<UnreadableReason>(&json).unwrap(),
                reason
            );
        }
        assert_eq!(
            "Two different numbers".parse::<UnreadableReason>(),
            Err(UnknownReason("Two different numbers".into()))
        );
    }

    #[test]
    fn parser_options_from_config() {
        let default: ParserOptions = serde_json::from_str("{}").unwrap();
        assert!(!default.sentiment_words);
        assert_eq!(default, ParserOptions::default());
        let on: ParserOptions = serde_json::from_str(r#"{"sentiment_words":true}"#).unwrap();
        assert!(on.sentiment_words);
        assert!(serde_json::from_str::<ParserOptions>(r#"{"sentiment":true}"#).is_err());
    }

    /// Deterministic pseudo-random messages built from the characters the parser cares about:
    /// nothing may panic, an added question mark always makes a question (unless it is an
    /// opt-out), and an added "отпишите меня" always opts out.
    #[test]
    fn odd_input_keeps_the_invariants() {
        const POOL: &[&str] = &[
            "5",
            "0",
            "12",
            "1500",
            "-",
            "/",
            ".",
            ",",
            ":",
            "+",
            "*",
            "#",
            "№",
            "$",
            "₽",
            "%",
            " ",
            " ",
            "\u{FE0F}",
            "\u{20E3}",
            "\u{200D}",
            "⭐",
            "☆",
            "👍",
            "👎",
            "😡",
            "🏽",
            "ка",
            "из",
            "на",
            "не",
            "да",
            "нет",
            "пять",
            "пятерка",
            "мая",
            "руб",
            "заказ",
            "в",
            "часа",
            "бы",
            "отлично",
            "курьер",
            "с",
            "плюсом",
            "п'ять",
            "ʼ",
            "стоп",
            "ok",
            "(",
            ")",
            "é",
        ];
        let opts = ParserOptions {
            sentiment_words: true,
        };
        let mut seed: u64 = 0x5eed;
        for _ in 0..1500 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..(seed >> 60) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(POOL[(seed >> 33) as usize % POOL.len()]);
            }
            let first = parse_reply(&text, &opts);
            assert_eq!(
                parse_reply(&text, &opts),
                first,
                "{text:?} is not deterministic"
            );
            let asked = parse_reply(&format!("{text}?"), &opts);
            assert!(
                matches!(
                    asked,
                    Reply::OptOut
                        | Reply::Unreadable {
                            reason: UnreadableReason::Question
                        }
                ),
                "{text:?}? gave {asked:?}"
            );
            let out = parse_reply(&format!("{text} отпишите меня"), &opts);
            assert_eq!(out, Reply::OptOut, "{text:?}");
            parse_button_payload(&text);
            parse_reaction(&text);
            is_pleasantry(&text);
        }
    }

    #[test]
    fn opt_out_wins_over_a_rating_and_a_question() {
        let opts = ParserOptions::default();
        for text in [
            "5, и отпишите меня",
            "1 unsubscribe",
            "можно больше не писать мне?",
        ] {
            assert_eq!(parse_reply(text, &opts), Reply::OptOut, "{text:?}");
        }
    }
}
