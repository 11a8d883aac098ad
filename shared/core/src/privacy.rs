//! Personal data kept only as long as needed (SPEC §8): the keyed hash that stands in for a phone,
//! an email or a provider's id wherever the store needs to find something by them, and what of a
//! survey is dropped once it is closed and past `privacy.contact_retention` or on `otklik forget`.
//! The adapters only apply these rules; which fields are personal is decided here.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::machine::{Command, Contact, Effect, Survey};
use crate::model::{Email, Phone};

type HmacSha256 = Hmac<Sha256>;

/// How many bytes of the HMAC a hash keeps (hex-encoded: twice as many characters). 128 bits: no
/// two phones of a shop's customers collide, and the keys stay short.
const HASH_BYTES: usize = 16;

/// A keyed hash (HMAC-SHA256) of personal data. Without the key, a table dump cannot be turned
/// back into phone numbers by hashing every possible number (an unkeyed hash could: there are
/// only about 10¹⁰ of them).
#[derive(Clone)]
pub struct ContactHasher {
    mac: HmacSha256,
}

impl std::fmt::Debug for ContactHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactHasher(***)")
    }
}

impl ContactHasher {
    /// A hasher keyed with a dedicated contact key.
    pub fn new(key: &[u8]) -> ContactHasher {
        ContactHasher {
            mac: HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length"),
        }
    }

    fn hex(&self, kind: &str, value: &str) -> String {
        let mut mac = self.mac.clone();
        // The kind is part of the input, so a phone and an email (or an id) never share a hash.
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        tag[..HASH_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A phone, in its E.164 form (any spelling of the same number hashes the same).
    pub fn phone(&self, phone: &Phone) -> String {
        self.hex("phone", phone.e164())
    }

    /// An email, case-insensitively (mailboxes are in practice).
    pub fn email(&self, email: &Email) -> String {
        self.hex("email", &email.as_str().to_lowercase())
    }

    /// Any other identifier that may carry personal data: a provider's message id (Meta's
    /// `wamid.` is base64 around the customer's number, GREEN-API's chats are `7900…@c.us`), a
    /// customer key of the frequency cap.
    pub fn id(&self, id: &str) -> String {
        self.hex("id", id)
    }

    /// An effect's idempotency key as the store keeps it: `<survey>/<effect>` stays readable
    /// (no personal data there, and an operator can tell whose effect it is), the input part of
    /// a per-input effect (`<survey>/<effect>/<input id>`) is hashed.
    pub fn effect_key(&self, key: &str) -> String {
        let mut parts = key.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(survey), Some(effect), Some(input)) => {
                format!("{survey}/{effect}/{}", self.id(input))
            }
            _ => key.to_string(),
        }
    }
}

/// When a closed survey's personal data is due to go: `retention` after it closed. `None` while
/// the survey is open (its contact is still needed) and for one already erased.
pub fn erase_due(survey: &Survey, retention: std::time::Duration) -> Option<DateTime<Utc>> {
    if survey.personal_data_erased() {
        return None;
    }
    if !survey.state.is_terminal() {
        return None;
    }
    // Only a survey closed by an answer has `closed_at`; an expired, skipped or failed one ended
    // when it was last touched: the last answer, else the send, else the planned send.
    let closed = survey
        .closed_at
        .or(survey.replied_at)
        .or(survey.sent_at)
        .unwrap_or(survey.send_at);
    let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    Some(
        closed
            .checked_add_signed(keep)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// What erasing took out of one survey, in plain words for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub phone: bool,
    pub email: bool,
    /// Provider ids (message ids, chats) the survey remembered.
    pub ids: usize,
    /// Customer's words carried in effects still waiting in the outbox.
    pub words: usize,
}

impl Erased {
    pub fn anything(&self) -> bool {
        self.phone || self.email || self.ids > 0 || self.words > 0
    }
}

impl Survey {
    /// Whether [`Survey::erase_personal_data`] ran on this survey.
    pub fn personal_data_erased(&self) -> bool {
        self.erased_at.is_some()
    }

    /// Drops what identifies the customer or is in their words, and keeps what the KPI needs
    /// (order, state, rating, times, channels, employees): the contact, the provider's message
    /// id, the ids of the inputs seen (a replay this late is no longer expected; providers retry
    /// for a day), and the words of effects still in the outbox (their keys are kept, so the
    /// consumer still finds them done or does them without the words).
    pub fn erase_personal_data(&mut self, now: DateTime<Utc>) -> Erased {
        let mut out = Erased {
            phone: self.contact.phone.is_some(),
            email: self.contact.email.is_some(),
            ..Erased::default()
        };
        self.contact = Contact::default();
        if self.provider_message_id.take().is_some() {
            out.ids += 1;
        }
        out.ids += self.seen_inputs.len();
        self.seen_inputs.clear();
        // A per-input effect (`<survey>/<effect>/<input id>`) names a provider id in its key and
        // is about the customer's words: it goes. A once-only one stays, without words, so its
        // consumer still finds it done (or does it, wordless).
        let before = self.pending.len();
        self.pending
            .retain(|e| e.key.splitn(3, '/').nth(2).is_none());
        out.words += before - self.pending.len();
        for Effect { command, .. } in &mut self.pending {
            let words = match command {
                Command::SaveWords { text, .. } | Command::NotifyInspector { text, .. } => {
                    Some(text)
                }
                Command::OpenComplaint {
                    words: Some(text), ..
                } => Some(text),
                _ => None,
            };
            if let Some(text) = words.filter(|t| !t.is_empty()) {
                text.clear();
                out.words += 1;
            }
        }
        self.erased_at = Some(now);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderRef, Rating};

    fn hasher() -> ContactHasher {
        ContactHasher::new(b"k".repeat(32).as_slice())
    }

    #[test]
    fn a_hash_is_keyed_stable_and_says_nothing_of_the_number() {
        let p = Phone::parse("+79001234567", "RU").unwrap();
        let same = Phone::parse("8 900 123-45-67", "RU").unwrap();
        let h = hasher();
        assert_eq!(h.phone(&p), h.phone(&same));
        assert_eq!(h.phone(&p).len(), 2 * HASH_BYTES);
        assert!(!h.phone(&p).contains("9001234567"));
        assert_ne!(h.phone(&p), ContactHasher::new(b"other key").phone(&p));
        assert_ne!(h.phone(&p), h.id(p.e164()), "kinds never share a hash");
        let e1 = Email::parse("Ann@Shop.ru").unwrap();
        let e2 = Email::parse("ann@shop.ru").unwrap();
        assert_eq!(h.email(&e1), h.email(&e2));
        // Fixed value: a hash computed by an older build must match this one's, or every
        // do-not-contact entry would be lost on an upgrade.
        // (HMAC-SHA256 over "phone\0+79001234567", first 16 bytes, as Python's hmac gives it.)
        assert_eq!(h.phone(&p), "6c8a07ef6426d1e9c631f123e536b51f");
    }

    #[test]
    fn an_effect_key_keeps_survey_and_effect_and_hashes_the_input() {
        let h = hasher();
        assert_eq!(
            h.effect_key("s-main-1/write-rating"),
            "s-main-1/write-rating"
        );
        let k = h.effect_key("s-main-1/words/79001234567@c.us/BAE5");
        assert!(k.starts_with("s-main-1/words/"), "{k}");
        assert!(!k.contains("7900"), "{k}");
        assert_eq!(k, h.effect_key("s-main-1/words/79001234567@c.us/BAE5"));
    }

    fn closed_survey() -> Survey {
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut s = Survey::new(
            OrderRef::new("main", 1001).unwrap(),
            Contact {
                phone: Some(Phone::parse("+79001234567", "RU").unwrap()),
                email: Some(Email::parse("ann@shop.ru").unwrap()),
            },
            t,
            t,
        );
        s.state = crate::model::SurveyState::Closed {
            outcome: crate::model::Outcome::Rated,
        };
        s.rating = Some(Rating::new(2).unwrap());
        s.closed_at = Some(t);
        s.provider_message_id = Some("wamid.HBgLNzkwMDEyMzQ1NjcVAgA=".into());
        s.seen_inputs
            .push(crate::machine::InputId::new("79001234567@c.us/BAE5").unwrap());
        s.pending.push(Effect {
            key: "s-main-1001/words/79001234567@c.us/BAE5".into(),
            command: Command::SaveWords {
                text: "курьер нагрубил".into(),
                via: None,
                at: None,
            },
        });
        s
    }

    #[test]
    fn erasing_keeps_the_rating_and_drops_contact_ids_and_words() {
        let mut s = closed_survey();
        let due = erase_due(&s, std::time::Duration::from_secs(30 * 86_400)).unwrap();
        assert_eq!(due, s.closed_at.unwrap() + chrono::Duration::days(30));
        let erased = s.erase_personal_data(due);
        assert_eq!(
            erased,
            Erased {
                phone: true,
                email: true,
                ids: 2,
                words: 1
            }
        );
        let doc = serde_json::to_string(&s).unwrap();
        for gone in ["9001234567", "ann@shop.ru", "курьер", "wamid"] {
            assert!(!doc.contains(gone), "{gone} still in {doc}");
        }
        assert_eq!(s.rating.unwrap().value(), 2);
        assert!(s.personal_data_erased());
        assert_eq!(erase_due(&s, std::time::Duration::ZERO), None, "once");
        let again: Survey = serde_json::from_str(&doc).unwrap();
        assert!(again.personal_data_erased());
    }

    #[test]
    fn an_open_survey_is_never_due() {
        let mut s = closed_survey();
        s.state = crate::model::SurveyState::AwaitingRating;
        s.closed_at = None;
        assert_eq!(erase_due(&s, std::time::Duration::ZERO), None);
    }
}
