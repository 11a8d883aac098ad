//! The survey email: plain text from a named person of a named shop, five rating links, signed.
//!
//! Dispatch builds an [`EmailDraft`] with [`survey_email`] when the survey goes out by email (no
//! WhatsApp, or WhatsApp failed) and the SES adapter sends [`to_mime`]'s raw message. Nothing here
//! looks like a mailing: no HTML, no logo, no order details, just a few lines someone could type.
//! Nothing looks forged either: the From line, the opening and the signature name one person and
//! one shop ([`crate::texts::Who`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::config::EmailConfig;
use crate::model::{Email, Rating};
use crate::texts::{fnv1a64, rating_label, Ask, Lang, Texts, Who};

/// Body lines longer than this are broken, at sentence ends first: some clients and gateways
/// hard-wrap long lines mid-sentence, which looks broken; a break after a full stop looks typed.
const MAX_BODY_LINE: usize = 100;
/// RFC 2047: an encoded-word is at most 75 characters, and a line holding one at most 76.
const MAX_ENCODED_WORD: usize = 75;
const MAX_ENCODED_LINE: usize = 76;
/// RFC 5322's recommended header line length; plain ASCII headers are folded to it.
const FOLD_AT: usize = 78;

/// An email ready to be rendered ([`to_mime`]) or handed to a provider field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDraft {
    pub from_name: String,
    pub from_address: String,
    pub reply_to: String,
    pub to: Email,
    pub subject: String,
    /// Plain text with `\n` line ends.
    pub body: String,
    /// The opt-out link, for `List-Unsubscribe` (one click, RFC 8058).
    pub unsubscribe_url: String,
}

/// Which words an email uses: our texts in `lang`, for the question or its reminder, the variant
/// chosen by `seed` (use the same seed as for the messenger so a customer meets one voice), from
/// `who`.
#[derive(Debug, Clone, Copy)]
pub struct Wording<'a> {
    pub texts: &'a Texts,
    pub ask: Ask,
    pub lang: Lang,
    pub seed: &'a str,
    pub who: &'a Who,
}

/// The survey email for one customer. `links` are the five rating links from
/// [`crate::links::rating_links`], listed best first whatever order they come in.
pub fn survey_email(
    wording: Wording<'_>,
    cfg: &EmailConfig,
    to: Email,
    links: &[(Rating, String)],
    unsubscribe_url: String,
) -> EmailDraft {
    let Wording {
        texts,
        ask,
        lang,
        seed,
        who,
    } = wording;
    let mut lines: Vec<String> = Vec::new();
    let (subject, request) = ask.email();
    for paragraph in texts.ask(request, lang, seed, who).lines() {
        lines.extend(wrap(paragraph, MAX_BODY_LINE));
    }
    lines.push(String::new());
    let mut links: Vec<&(Rating, String)> = links.iter().collect();
    links.sort_by_key(|(rating, _)| std::cmp::Reverse(*rating));
    for (rating, url) in links {
        // "5 — отлично: https://…": the digit first, as the customer would have typed it.
        lines.push(format!("{rating} — {}: {url}", rating_label(*rating, lang)));
    }
    lines.push(String::new());
    lines.push(sign_off(lang, seed).to_string());
    // Signed as the From line reads: the same full name, then the shop.
    let from_name = cfg.from_name.trim();
    lines.push(from_name.to_string());
    lines.push(shop_line(&who.shop, lang));
    let signature = cfg.signature.trim();
    if !signature.is_empty() {
        lines.push(signature.to_string());
    }
    EmailDraft {
        from_name: format!("{from_name}, {}", who.shop),
        from_address: cfg.from_address.trim().to_string(),
        reply_to: cfg.reply_to.trim().to_string(),
        to,
        subject: texts.ask(subject, lang, seed, who),
        body: lines.join("\n"),
        unsubscribe_url,
    }
}

/// The shop under the sender's name in the signature.
fn shop_line(shop: &str, lang: Lang) -> String {
    match lang {
        Lang::Ru | Lang::Uk => format!("магазин «{shop}»"),
        Lang::En => shop.to_string(),
    }
}

/// How a person would end a short note. Not configurable: it is one or two words before the name.
fn sign_off(lang: Lang, seed: &str) -> &'static str {
    let options: &[&str] = match lang {
        Lang::Ru => &["Спасибо!", "Заранее спасибо!", "Хорошего дня!"],
        Lang::Uk => &["Дякую!", "Гарного дня!"],
        Lang::En => &["Thanks!", "Have a good day!"],
    };
    let at = fnv1a64(&[seed.as_bytes(), b"\x00sign-off"]) % options.len() as u64;
    options[at as usize]
}

/// Breaks a long line at sentence ends, and a sentence that is still too long at spaces.
fn wrap(line: &str, max: usize) -> Vec<String> {
    let line = line.trim();
    if line.chars().count() <= max {
        return vec![line.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in sentences(line)
        .into_iter()
        .flat_map(|s| words_within(s, max))
    {
        let joined = current.chars().count() + 1 + piece.chars().count();
        if current.is_empty() {
            current = piece;
        } else if joined <= max {
            current.push(' ');
            current.push_str(&piece);
        } else {
            out.push(std::mem::replace(&mut current, piece));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Splits after ".", "!", "?", "…" followed by a space.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_end = false;
    for (i, c) in text.char_indices() {
        if c == ' ' && prev_end {
            out.push(text[start..i].trim());
            start = i;
        }
        prev_end = matches!(c, '.' | '!' | '?' | '…');
    }
    out.push(text[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// A sentence as pieces of at most `max` characters, broken at spaces (a single longer word, such
/// as a URL, stays whole: breaking it would break the link).
fn words_within(sentence: &str, max: usize) -> Vec<String> {
    if sentence.chars().count() <= max {
        return vec![sentence.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for word in sentence.split_whitespace() {
        if current.is_empty() {
            current.push_str(word);
        } else if current.chars().count() + 1 + word.chars().count() <= max {
            current.push(' ');
            current.push_str(word);
        } else {
            out.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The draft as a complete RFC 5322 message (CRLF line ends, UTF-8 body in base64), ready for
/// SES `SendEmail` with raw content. `message_id` is written as `<message_id>`.
pub fn to_mime(draft: &EmailDraft, message_id: &str, date: DateTime<Utc>) -> String {
    let mut out = String::new();
    let from = format!(
        "{} <{}>",
        display_name(&draft.from_name, "From: ".len()),
        one_line(&draft.from_address)
    );
    header(&mut out, "From", &from);
    header(&mut out, "To", &one_line(draft.to.as_str()));
    header(&mut out, "Reply-To", &one_line(&draft.reply_to));
    header(
        &mut out,
        "Subject",
        &unstructured(&draft.subject, "Subject: ".len()),
    );
    header(&mut out, "Date", &date.to_rfc2822());
    let id: String = one_line(message_id)
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | ' '))
        .collect();
    header(&mut out, "Message-ID", &format!("<{id}>"));
    header(&mut out, "MIME-Version", "1.0");
    header(&mut out, "Content-Type", "text/plain; charset=UTF-8");
    header(&mut out, "Content-Transfer-Encoding", "base64");
    // RFC 2369 + RFC 8058: mail apps show an "unsubscribe" button that POSTs to our opt-out link,
    // which beats being marked as spam by someone who just wants us gone.
    header(
        &mut out,
        "List-Unsubscribe",
        &format!("<{}>", one_line(&draft.unsubscribe_url)),
    );
    header(
        &mut out,
        "List-Unsubscribe-Post",
        "List-Unsubscribe=One-Click",
    );
    out.push_str("\r\n");
    push_body(&mut out, &draft.body);
    out
}

/// A plain-text body in base64 after the headers' blank line.
fn push_body(out: &mut String, body: &str) {
    // text/plain's canonical form has CRLF line ends, so they are converted before encoding.
    let body = body
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let encoded = STANDARD.encode(body.as_bytes());
    // Base64 is ASCII, so slicing by bytes never cuts a character.
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
}

/// An internal mail (the owner's weekly digest): from us to someone at the shop, so no Reply-To
/// and no List-Unsubscribe (the shop's own config names who gets it).
#[derive(Debug, Clone, Copy)]
pub struct PlainMail<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    /// Plain text with `\n` line ends.
    pub body: &'a str,
}

/// [`PlainMail`] as a complete RFC 5322 message, headers written as [`to_mime`] writes them.
pub fn plain_mime(mail: &PlainMail<'_>, message_id: &str, date: DateTime<Utc>) -> String {
    let mut out = String::new();
    let from = format!(
        "{} <{}>",
        display_name(mail.from_name, "From: ".len()),
        one_line(mail.from_address)
    );
    header(&mut out, "From", &from);
    header(&mut out, "To", &one_line(mail.to));
    header(
        &mut out,
        "Subject",
        &unstructured(mail.subject, "Subject: ".len()),
    );
    header(&mut out, "Date", &date.to_rfc2822());
    let id: String = one_line(message_id)
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | ' '))
        .collect();
    header(&mut out, "Message-ID", &format!("<{id}>"));
    header(&mut out, "MIME-Version", "1.0");
    header(&mut out, "Content-Type", "text/plain; charset=UTF-8");
    header(&mut out, "Content-Transfer-Encoding", "base64");
    out.push_str("\r\n");
    push_body(&mut out, mail.body);
    out
}

fn header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// A value with every control character (CR and LF above all: header injection) turned into a
/// space, so nothing from a config or a draft can start a header of its own.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Printable ASCII only, and nothing a decoder could take for an encoded-word.
fn is_plain_ascii(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) && !s.contains("=?")
}

/// A display name: as is when it is plain ASCII words, a quoted string when it has RFC 5322
/// specials (`Smirnova, Anna`), encoded-words otherwise (`Анна Смирнова`).
fn display_name(name: &str, used: usize) -> String {
    let name = one_line(name);
    if !is_plain_ascii(&name) || name.len() + used > FOLD_AT {
        return encoded_words(&name, used);
    }
    let special = |c: char| "()<>[]:;@\\,.\"".contains(c);
    if name.chars().any(special) {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    } else {
        name
    }
}

/// An unstructured header value (Subject): ASCII folded at spaces, anything else as encoded-words.
fn unstructured(value: &str, used: usize) -> String {
    let value = one_line(value);
    // A word that cannot be folded would make an over-long line; encoded-words split anywhere.
    let foldable = value.split(' ').all(|w| w.len() + 1 < FOLD_AT - used);
    if !is_plain_ascii(&value) || !foldable {
        return encoded_words(&value, used);
    }
    let mut out = String::new();
    let mut line_len = used;
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 {
            if line_len + 1 + word.len() > FOLD_AT {
                out.push_str("\r\n");
                line_len = 0;
            }
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// RFC 2047 "B" encoded-words, each holding whole characters, each at most 75 characters and
/// each on its own line of at most 76 (the first shares its line with the header name, whose
/// length is `used`). Adjacent encoded-words are joined by decoders without the folding space.
fn encoded_words(text: &str, used: usize) -> String {
    const OVERHEAD: usize = "=?UTF-8?B??=".len();
    // Base64 turns each 3 bytes into 4 characters.
    let capacity = |budget: usize| (budget.saturating_sub(OVERHEAD) / 4 * 3).max(6);
    let first_budget = MAX_ENCODED_WORD.min(MAX_ENCODED_LINE.saturating_sub(used));
    let mut words = Vec::new();
    let mut chunk = String::new();
    let mut limit = capacity(first_budget);
    for c in text.chars() {
        if !chunk.is_empty() && chunk.len() + c.len_utf8() > limit {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
            chunk.clear();
            limit = capacity(MAX_ENCODED_WORD);
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::{opt_out_link, rating_links, LinkSigner};
    use crate::model::SurveyId;
    use chrono::TimeZone;
    use std::time::Duration;

    fn cfg(signature: &str) -> EmailConfig {
        EmailConfig {
            from_name: "Анна Смирнова".into(),
            from_address: "anna.smirnova@example.ru".into(),
            reply_to: "quality@example.ru".into(),
            signature: signature.into(),
            landing_base_url: "https://feedback.example.ru".into(),
            link_ttl: Duration::from_secs(30 * 86_400),
            shop_name: String::new(),
            scanner_window: Duration::from_secs(10),
            min_click_delay: Duration::from_secs(15),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 20, 18, 30, 0).unwrap()
    }

    fn draft_for(lang: Lang, seed: &str, signature: &str) -> EmailDraft {
        ask_for(Ask::Question, lang, seed, signature)
    }

    use crate::texts::TextKind;

    fn ask_for(ask: Ask, lang: Lang, seed: &str, signature: &str) -> EmailDraft {
        let signer = LinkSigner::new(b"0123456789abcdef0123456789abcdef");
        let survey = SurveyId::parse("s-main-shop-1001").unwrap();
        let expires = now() + chrono::Duration::days(30);
        let base = "https://feedback.example.ru";
        let mut links = rating_links(&signer, base, &survey, expires);
        // Whatever order they arrive in, the email lists them best first.
        links.reverse();
        survey_email(
            Wording {
                texts: &Texts::defaults(),
                ask,
                lang,
                seed,
                who: &Who {
                    sender: "Анна".into(),
                    shop: "Пример".into(),
                },
            },
            &cfg(signature),
            Email::parse("ivan@mail.ru").unwrap(),
            &links,
            opt_out_link(&signer, base, &survey, expires),
        )
    }

    /// Decodes a header value made of RFC 2047 "B" encoded-words (and plain text between).
    fn decode_words(value: &str) -> String {
        let mut bytes = Vec::new();
        let mut rest = value;
        while let Some(start) = rest.find("=?") {
            let plain = &rest[..start];
            if !plain.trim().is_empty() {
                bytes.extend_from_slice(plain.as_bytes());
            }
            let word = &rest[start + 2..];
            let end = word.find("?=").expect("unterminated encoded-word");
            let mut parts = word[..end].splitn(3, '?');
            let (charset, enc, data) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            assert!(charset.eq_ignore_ascii_case("utf-8"), "{charset}");
            assert!(enc.eq_ignore_ascii_case("b"), "{enc}");
            bytes.extend(STANDARD.decode(data).expect("bad base64 in encoded-word"));
            rest = &word[end + 2..];
        }
        bytes.extend_from_slice(rest.as_bytes());
        String::from_utf8(bytes).expect("encoded-words split a character")
    }

    /// Header name → unfolded value, and the raw body.
    fn parse(mime: &str) -> (Vec<(String, String)>, String) {
        let (head, body) = mime.split_once("\r\n\r\n").expect("no blank line");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                headers.last_mut().unwrap().1.push_str(line);
            } else {
                let (name, value) = line.split_once(": ").expect("header without colon");
                headers.push((name.to_string(), value.to_string()));
            }
        }
        (headers, body.to_string())
    }

    fn get<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        let found: Vec<_> = headers.iter().filter(|(n, _)| n == name).collect();
        assert_eq!(found.len(), 1, "header {name}: {found:?}");
        &found[0].1
    }

    #[test]
    fn the_body_has_five_links_best_first_and_the_footer_last() {
        for lang in Lang::ALL {
            let d = draft_for(lang, "ivan@mail.ru", "example.ru, +7 800 000-00-00");
            let link_lines: Vec<&str> = d.body.lines().filter(|l| l.contains("https://")).collect();
            assert_eq!(link_lines.len(), 5, "{}", d.body);
            for (line, want) in link_lines.iter().zip(["5", "4", "3", "2", "1"]) {
                assert!(line.starts_with(&format!("{want} — ")), "{line}");
            }
            let urls: std::collections::BTreeSet<_> = link_lines
                .iter()
                .map(|l| l.split_whitespace().last().unwrap())
                .collect();
            assert_eq!(urls.len(), 5, "links must differ");
            assert_eq!(d.body.lines().last(), Some("example.ru, +7 800 000-00-00"));
            // Signed as the From line reads: the person, then the shop; the opening says the
            // same, and so does the subject's shop.
            let lines: Vec<&str> = d.body.lines().collect();
            let shop = if lang == Lang::En {
                "Пример"
            } else {
                "магазин «Пример»"
            };
            assert_eq!(
                lines[lines.len() - 3..lines.len() - 1],
                ["Анна Смирнова", shop]
            );
            assert_eq!(d.from_name, "Анна Смирнова, Пример");
            let opening = d.body.split("\n\n").next().unwrap();
            assert!(
                opening.contains("Анна") && opening.contains("Пример"),
                "{opening}"
            );
            assert!(d.subject.contains("Пример"), "{}", d.subject);
            for fake in ["Отправлено", "Sent from", "Надіслано"] {
                assert!(!d.body.contains(fake), "{}", d.body);
            }
            assert!(!d.body.contains('{') && !d.body.contains('<') && !d.body.contains('>'));
            for line in d.body.lines().filter(|l| !l.contains("https://")) {
                assert!(line.chars().count() <= MAX_BODY_LINE, "{line}");
            }
            assert!(!d.subject.is_empty() && !d.subject.contains('{'));
            assert_eq!(d.to.as_str(), "ivan@mail.ru");
            assert_eq!(d.from_address, "anna.smirnova@example.ru");
        }
        let d = draft_for(Lang::Ru, "seed", "example.ru, +7 800 000-00-00");
        // The opening tells the customer a click is enough.
        let opening = d.body.split("\n\n").next().unwrap();
        assert!(
            opening.contains("ссыл") && opening.contains("не"),
            "{opening}"
        );
    }

    #[test]
    fn the_reminder_asks_again_in_its_own_words_with_the_same_five_links() {
        let t = Texts::defaults();
        let who = Who {
            sender: "Анна".into(),
            shop: "Пример".into(),
        };
        for lang in Lang::ALL {
            let seed = "ivan@mail.ru/s-main-shop-1001";
            let first = ask_for(Ask::Question, lang, seed, "");
            let again = ask_for(Ask::Reminder, lang, seed, "");
            assert!(
                t.asks(TextKind::EmailReminderSubject, lang, &who)
                    .contains(&again.subject),
                "{lang:?}: {}",
                again.subject
            );
            assert_ne!(first.subject, again.subject);
            let opening = again.body.split("\n\n").next().unwrap().replace('\n', " ");
            assert!(
                t.asks(TextKind::EmailReminder, lang, &who)
                    .contains(&opening),
                "{lang:?}: {opening}"
            );
            let links = |d: &EmailDraft| d.body.lines().filter(|l| l.contains("https://")).count();
            assert_eq!(links(&again), 5);
        }
    }

    #[test]
    fn without_a_signature_the_shop_ends_the_body() {
        let d = draft_for(Lang::Ru, "ivan@mail.ru", "  ");
        assert_eq!(d.body.lines().last(), Some("магазин «Пример»"));
    }

    #[test]
    fn the_same_seed_gives_the_same_email() {
        assert_eq!(
            draft_for(Lang::Ru, "a@b.ru", "x"),
            draft_for(Lang::Ru, "a@b.ru", "x")
        );
    }

    #[test]
    fn long_lines_break_at_sentences() {
        let text = "Первое предложение довольно длинное, чтобы занять место в строке письма. \
                    Второе тоже не короткое, и вместе они не помещаются в одну строку.";
        let lines = wrap(text, 100);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].ends_with("письма."));
        let words = "слово ".repeat(40);
        for l in wrap(&words, 100) {
            assert!(l.chars().count() <= 100);
        }
        assert_eq!(wrap("коротко", 100), ["коротко"]);
    }

    #[test]
    fn mime_has_every_header_and_crlf_only() {
        let d = draft_for(Lang::Ru, "ivan@mail.ru", "example.ru, +7 800 000-00-00");
        let mime = to_mime(&d, "s-main-shop-1001.1@example.ru", now());
        assert!(!mime.replace("\r\n", "").contains('\n'), "bare LF");
        assert!(!mime.replace("\r\n", "").contains('\r'), "bare CR");
        assert!(mime.ends_with("\r\n"));
        for line in mime.split("\r\n") {
            assert!(line.len() <= 998, "line of {} chars", line.len());
        }
        let (h, body) = parse(&mime);
        assert_eq!(
            decode_words(get(&h, "From")),
            "Анна Смирнова, Пример <anna.smirnova@example.ru>"
        );
        assert!(get(&h, "From").starts_with("=?UTF-8?B?"));
        assert_eq!(get(&h, "To"), "ivan@mail.ru");
        assert_eq!(get(&h, "Reply-To"), "quality@example.ru");
        assert_eq!(decode_words(get(&h, "Subject")), d.subject);
        assert_eq!(get(&h, "Date"), "Fri, 20 Dec 2024 18:30:00 +0000");
        assert_eq!(get(&h, "Message-ID"), "<s-main-shop-1001.1@example.ru>");
        assert_eq!(get(&h, "MIME-Version"), "1.0");
        assert_eq!(get(&h, "Content-Type"), "text/plain; charset=UTF-8");
        assert_eq!(get(&h, "Content-Transfer-Encoding"), "base64");
        assert_eq!(
            get(&h, "List-Unsubscribe"),
            format!("<{}>", d.unsubscribe_url)
        );
        assert_eq!(
            get(&h, "List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        for line in body.split("\r\n") {
            assert!(line.len() <= 76);
        }
        let decoded = STANDARD.decode(body.replace("\r\n", "")).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            d.body.replace('\n', "\r\n")
        );
        assert!(!mime.contains("text/html"));
    }

    #[test]
    fn long_subjects_fold_into_short_encoded_words() {
        let mut d = draft_for(Lang::Ru, "x", "");
        d.subject = "Очень длинная тема письма, которая никак не поместится в одно закодированное слово 🙂 честно".into();
        let mime = to_mime(&d, "id@example.ru", now());
        let head = mime.split("\r\n\r\n").next().unwrap();
        let subject_lines: Vec<&str> = head
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Subject: "))
            .take_while(|l| l.starts_with("Subject: ") || l.starts_with(' '))
            .collect();
        assert!(subject_lines.len() > 2, "{subject_lines:?}");
        for line in &subject_lines {
            assert!(line.len() <= MAX_ENCODED_LINE, "{line}");
            let word = line.trim_start_matches("Subject: ").trim();
            assert!(word.len() <= MAX_ENCODED_WORD, "{word}");
            assert!(
                word.starts_with("=?UTF-8?B?") && word.ends_with("?="),
                "{word}"
            );
        }
        let (h, _) = parse(&mime);
        assert_eq!(decode_words(get(&h, "Subject")), d.subject);
    }

    #[test]
    fn ascii_names_and_subjects_stay_readable() {
        let mut d = draft_for(Lang::En, "x", "Sent from my iPhone");
        d.from_name = "Anna Smirnova".into();
        d.subject = "How was your order?".into();
        let (h, _) = parse(&to_mime(&d, "id@example.com", now()));
        assert_eq!(get(&h, "From"), "Anna Smirnova <anna.smirnova@example.ru>");
        assert_eq!(get(&h, "Subject"), "How was your order?");

        d.from_name = "Smirnova, \"Anna\" A.".into();
        let (h, _) = parse(&to_mime(&d, "id@example.com", now()));
        assert_eq!(
            get(&h, "From"),
            "\"Smirnova, \\\"Anna\\\" A.\" <anna.smirnova@example.ru>"
        );

        // Something that looks like an encoded-word is encoded, so it cannot be misread.
        d.subject = "=?UTF-8?B?AAAA?=".into();
        let (h, _) = parse(&to_mime(&d, "id@example.com", now()));
        assert_eq!(decode_words(get(&h, "Subject")), d.subject);

        d.subject = "A fairly long plain English subject line that will need folding somewhere past seventy-eight".into();
        let mime = to_mime(&d, "id@example.com", now());
        let head = mime.split("\r\n\r\n").next().unwrap();
        let subject_lines: Vec<&str> = head
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Subject: "))
            .take_while(|l| l.starts_with("Subject: ") || l.starts_with(' '))
            .collect();
        assert!(subject_lines.len() > 1, "{subject_lines:?}");
        for line in subject_lines {
            assert!(line.len() <= FOLD_AT, "{line}");
        }
        let (h, _) = parse(&mime);
        assert_eq!(get(&h, "Subject"), d.subject);
    }

    #[test]
    fn nothing_can_inject_a_header() {
        let mut d = draft_for(Lang::En, "x", "");
        d.subject = "Hello\r\nBcc: victim@example.com".into();
        d.from_name = "Anna\nX-Evil: 1".into();
        d.unsubscribe_url = "https://x.example/r/t\r\nBcc: a@b.c".into();
        let mime = to_mime(&d, "id\r\nX-Evil: 2", now());
        let head = mime.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(
                !line.starts_with("Bcc") && !line.starts_with("X-Evil"),
                "{line}"
            );
        }
    }
}
