//! The SMS question: our words, then the one short link, and how many segments that costs.
//!
//! A phone splits a long SMS into parts: 160 characters in one GSM-7 SMS (153 per part once
//! split), but any character outside GSM-7 — Cyrillic among them — makes the whole SMS UCS-2,
//! 70 characters in one SMS and 67 per part. The request must fit one segment where possible and
//! two at most, so it stays short and carries no order number, sum or name.

pub use crate::sms_segments::segments;
use crate::texts::{Lang, TextKind, Texts};

/// The most segments a request SMS may cost.
pub const MAX_SEGMENTS: usize = 2;

/// The request SMS: one of our wordings (rotating by `seed`), then the link, last, so the phone
/// shows it whole and tappable.
pub fn request_sms(texts: &Texts, lang: Lang, seed: &str, link: &str) -> String {
    format!("{} {link}", texts.pick(TextKind::SmsRequest, lang, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = crate::sms_segments::TYPICAL_LINK;

    #[test]
    fn every_built_in_request_fits_two_segments_with_its_link_last() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            let variants = t.variants(TextKind::SmsRequest, lang);
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
        let sms = request_sms(&t, Lang::Ru, "+79001234567/s1", LINK);
        assert!(sms.ends_with(&format!(" {LINK}")), "{sms}");
        assert!(t
            .variants(TextKind::SmsRequest, Lang::Ru)
            .iter()
            .any(|v| sms.starts_with(v.as_str())));
    }
}
