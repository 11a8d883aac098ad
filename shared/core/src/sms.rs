//! The SMS question: our words, then the one short link, and how many segments that costs.
//!
//! A phone splits a long SMS into parts: 160 characters in one GSM-7 SMS (153 per part once
//! split), but any character outside GSM-7 — Cyrillic among them — makes the whole SMS UCS-2,
//! 70 characters in one SMS and 67 per part. The request must fit one segment where possible and
//! two at most, so it stays short and carries no order number, sum or name.

pub use crate::sms_segments::segments;
use crate::texts::{Ask, Lang, Texts, Who};

/// The most segments a request SMS may cost (the config check holds every wording to it, with
/// the shop's names filled in).
pub const MAX_SEGMENTS: usize = crate::texts::MAX_SMS_SEGMENTS;

/// The request (or reminder) SMS: one of our wordings (rotating by `seed`) saying who asks, then
/// the link, last, so the phone shows it whole and tappable.
pub fn request_sms(
    texts: &Texts,
    ask: Ask,
    lang: Lang,
    seed: &str,
    who: &Who,
    link: &str,
) -> String {
    format!("{} {link}", texts.ask(ask.sms(), lang, seed, who))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::TextKind;

    const LINK: &str = crate::sms_segments::TYPICAL_LINK;

    /// Names as long as a shop would reasonably give: a long first name and a two-word shop.
    fn long_who() -> Who {
        Who {
            sender: "Александра".into(),
            shop: "Дом и Сад Маркет".into(),
        }
    }

    #[test]
    fn every_built_in_request_fits_two_segments_with_its_link_last() {
        let t = Texts::defaults();
        let who = long_who();
        for (lang, kind) in Lang::ALL
            .into_iter()
            .flat_map(|l| [(l, TextKind::SmsRequest), (l, TextKind::SmsReminder)])
        {
            let variants = t.asks(kind, lang, &who);
            assert!(!variants.is_empty(), "{lang:?}");
            for v in variants {
                let sms = format!("{v} {LINK}");
                assert!(
                    segments(&sms) <= MAX_SEGMENTS,
                    "{lang:?}: {sms} ({} chars)",
                    sms.chars().count()
                );
                // Who asks is said, with the shop's name as given.
                assert!(
                    v.contains("Александра") && v.contains("Дом и Сад Маркет"),
                    "{v}"
                );
                assert!(!v.chars().any(|c| c.is_ascii_digit()), "no numbers: {v}");
            }
        }
        let sms = request_sms(&t, Ask::Question, Lang::Ru, "+79001234567/s1", &who, LINK);
        assert!(sms.ends_with(&format!(" {LINK}")), "{sms}");
        assert!(t
            .asks(TextKind::SmsRequest, Lang::Ru, &who)
            .iter()
            .any(|v| sms.starts_with(v.as_str())));
        let reminder = request_sms(&t, Ask::Reminder, Lang::Ru, "+79001234567/s1", &who, LINK);
        assert!(t
            .asks(TextKind::SmsReminder, Lang::Ru, &who)
            .iter()
            .any(|v| reminder.starts_with(v.as_str())));
    }
}
