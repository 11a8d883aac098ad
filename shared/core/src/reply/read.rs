//! Step three of reading a reply: the whole message, tokenised and looked up, into one [`Reply`].
//! Message-wide checks first (opt-out, question, phone number, length), then every number-like
//! item with its neighbours; what was found is weighed only once the whole message is read.

use super::lexicon::{
    digit_value, emoji_polarity, listed, Item, Lx, GRADE_SUFFIXES, OFF_SCALE, OPT_OUT_ALONE,
    OPT_OUT_PHRASES, OPT_OUT_POLITE, OPT_OUT_WORDS, QUESTION_LEAD_INS, QUESTION_MARKS,
    QUESTION_WORDS,
};
use super::normalize::{Tok, TokKind};
use super::types::{rating_reply, unreadable, ParserOptions, Reply, UnreadableReason};

/// Beyond this many words (or letters) a message is a story, and a number inside a story is more
/// likely a detail than a rating.
pub(super) const MAX_WORDS: usize = 8;
pub(super) const MAX_LETTERS: usize = 60;

/// The customer asks us to stop writing: an opt-out word or phrase anywhere, or a lone "стоп".
pub(super) fn is_opt_out(toks: &[Tok]) -> bool {
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
pub(super) fn is_question(norm: &str, toks: &[Tok]) -> bool {
    if norm.contains(QUESTION_MARKS) {
        return true;
    }
    let first = toks
        .iter()
        .find(|t| t.kind != TokKind::Sym && !listed(QUESTION_LEAD_INS, &t.text));
    first.is_some_and(|t| listed(QUESTION_WORDS, &t.text))
}

pub(super) fn is_long(norm: &str, toks: &[Tok]) -> bool {
    toks.iter().filter(|t| t.kind != TokKind::Sym).count() > MAX_WORDS
        || norm.chars().filter(|c| c.is_alphanumeric()).count() > MAX_LETTERS
}

/// "+7 900 123-45-67", "8 (900) 123 45 67", "89001234567", or a local "123-45-67". Checked on the
/// whole text because a phone spans several tokens.
pub(super) fn looks_like_phone(norm: &str) -> bool {
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

pub(super) fn analyse(items: &[Item], opts: &ParserOptions) -> Reply {
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
