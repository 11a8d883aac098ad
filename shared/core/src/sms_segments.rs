//! SMS segment arithmetic (GSM 03.38 and UCS-2), apart from the SMS composition so that the checks
//! of a shop's SMS wordings in `texts` can use it without importing `sms`.

/// A link as long as the ones we make (`https://` + a short host + `/s/` + a 12-character id), for
/// checking a wording before any link exists.
pub const TYPICAL_LINK: &str = "https://otzyv.example.ru/s/AbCdEf123456";

/// How many SMS segments `text` is billed as.
pub fn segments(text: &str) -> usize {
    let gsm: Option<usize> = text.chars().map(gsm7_septets).sum();
    let (single, part, len) = match gsm {
        Some(septets) => (160, 153, septets),
        // UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        None => (70, 67, text.encode_utf16().count()),
    };
    if len <= single {
        1
    } else {
        len.div_ceil(part)
    }
}

/// Septets a character takes in GSM 03.38 (the extension table's characters take an escape and
/// themselves), or `None` when it has no GSM-7 form.
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENDED: &str = "^{}\\[~]|€\u{000C}";
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_gsm7_and_ucs2_rules() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // An extension character costs two septets.
        assert_eq!(segments(&format!("{}€", "a".repeat(158))), 1);
        assert_eq!(segments(&format!("{}€", "a".repeat(159))), 2);
        // One Cyrillic letter makes the whole SMS UCS-2.
        assert_eq!(segments(&"я".repeat(70)), 1);
        assert_eq!(segments(&format!("{}я", "a".repeat(69))), 1);
        assert_eq!(segments(&"я".repeat(71)), 2);
        assert_eq!(segments(&"я".repeat(134)), 2);
        assert_eq!(segments(&"я".repeat(135)), 3);
        // An emoji is two UTF-16 units.
        assert_eq!(segments(&format!("{}🙂", "я".repeat(68))), 1);
        assert_eq!(segments(&format!("{}🙂", "я".repeat(69))), 2);
    }
}
