//! The SMS question: our words, then the one short link, and how many segments that costs.
//!
//! A phone splits a long SMS into parts: 160 characters in one GSM-7 SMS (153 per part once
//! split), but any character outside GSM-7 — Cyrillic among them — makes the whole SMS UCS-2,
//! 70 characters in one SMS and 67 per part. The request must fit one segment where possible and
//! two at most, so it stays short and carries no order number, sum or name.

pub use crate::sms_segments::segments;
use crate::texts::{Ask, Lang, Texts};

/// The most segments a request SMS may cost.
pub const MAX_SEGMENTS: usize = 2;

/// The request (or reminder) SMS: one of our wordings (rotating by `seed`), then the link, last,
/// so the phone shows it whole and tappable.
pub fn request_sms(texts: &Texts, ask: Ask, lang: Lang, seed: &str, link: &str) -> String {
    format!("{} {link}", texts.pick(ask.sms(), lang, seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::TextKind;

    const LINK: &str = crate::sms_segments::TYPICAL_LINK;

    #[test]
    fn every_built_in_request_fits_two_segments_with_its_link_last() {
        let t = Texts::defaults();
        for (lang, kind) in Lang::ALL
            .into_iter()
            .flat_map(|l| [(l, TextKind::SmsRequest), (l, TextKind::SmsReminder)])
        {
            let variants = t.variants(kind, lang);
            assert!(!variants.is_empty(), "{lang:?}");
            for v in variants {
                let sms = format!("{v} {LINK}");
                assert!(segments(&sms) <= MAX_SEGMENTS, "{lang:?}: {sms}");
                // Ours fit one segment even in Cyrillic.
                assert_eq!(
                    segments(&sms),
                    1,
                    "{lang:?}: {sms} ({} chars)",
                    sms.chars().count()
                );
                assert!(!v.chars().any(|c| c.is_ascii_digit()), "no numbers: {v}");
            }
        }
        let sms = request_sms(&t, Ask::Question, Lang::Ru, "+79001234567/s1", LINK);
        assert!(sms.ends_with(&format!(" {LINK}")), "{sms}");
        assert!(t
            .variants(TextKind::SmsRequest, Lang::Ru)
            .iter()
            .any(|v| sms.starts_with(v.as_str())));
        let reminder = request_sms(&t, Ask::Reminder, Lang::Ru, "+79001234567/s1", LINK);
        assert!(t
            .variants(TextKind::SmsReminder, Lang::Ru)
            .iter()
            .any(|v| reminder.starts_with(v.as_str())));
    }
}
