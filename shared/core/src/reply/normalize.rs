//! Step one of reading a reply: one canonical spelling for whatever a phone keyboard produced
//! (NFKC, no emoji variation selectors or skin tones, lower case, one apostrophe, one dash), then
//! tokens: words, digit runs and single symbols, each knowing whether it was glued to the last.

use unicode_normalization::UnicodeNormalization;

/// Punctuation that carries no meaning on its own ("...", ")", "!"). Not '?' (a question), not
/// '*' (stars), not '#', '$', '%' (order numbers, prices, percentages).
pub(super) fn is_quiet_punct(c: char) -> bool {
    (c.is_ascii_punctuation() && !matches!(c, '?' | '*' | '#' | '$' | '%'))
        || matches!(c, '«' | '»' | '„' | '“' | '”' | '‚' | '•' | '·')
}

/// One canonical spelling for everything a phone keyboard can produce: NFKC (fullwidth "４" is
/// "4", "①" is "1"), no emoji presentation selectors, keycap combiners or skin tones (so "5️⃣" is
/// "5" and "👍🏽" is "👍"), lower case, ё as е, one apostrophe, one dash.
pub(super) fn normalise(text: &str) -> String {
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
pub(super) enum TokKind {
    Word,
    Num,
    Sym,
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub(super) kind: TokKind,
    pub(super) text: String,
    /// No whitespace before it: "5ка", "1500₽" and "12.05" are glued, "5 мая" is not.
    pub(super) glued: bool,
}

/// Words (letters with inner apostrophes or hyphens: "п'ять", "стоп-кран"), digit runs, and one
/// token per other character. Whitespace only sets `glued`.
pub(super) fn tokenize(s: &str) -> Vec<Tok> {
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
