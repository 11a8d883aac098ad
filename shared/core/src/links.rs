//! Signed rating links for the survey email (SPEC §4 "Tokens").
//!
//! Dispatch puts five of these into the email (one per rating) plus an opt-out link; the landing
//! page verifies the token before running the state machine. A token names one survey, one action
//! and an expiry, and is HMAC-signed, so nobody can rate a survey they were not sent, or turn the
//! "4" link into a "5". It carries no personal data: the survey id is derived from the order.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::{Rating, SurveyId};

type HmacSha256 = Hmac<Sha256>;

/// Format version, first byte of every payload: a future format (or key rotation scheme) can be
/// told apart from this one instead of failing its signature check mysteriously.
const VERSION: u8 = 1;
/// Tag length: 128 bits keeps the link short, and a forger guessing online has a 2^-128 chance a try.
const TAG_LEN: usize = 16;
/// Domain separation: the link key signs nothing else, but if it ever did, a link could not be
/// mistaken for another kind of signed message.
const CONTEXT: &[u8] = b"otklik/link/v1\x00";
/// Longer tokens are refused before any decoding work (survey ids are at most 64 bytes).
const MAX_TOKEN_LEN: usize = 256;
/// View nonces are signed under their own context, so a nonce can never pass as a link token.
const VIEW_CONTEXT: &[u8] = b"otklik/view/v1\x00";
const OPT_OUT: u8 = 0;
/// Far from the ratings' 1–5, so no off-by-one in a future action could turn one into the other.
const RESOLVE: u8 = 9;

/// What a link does when followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkAction {
    /// Records this rating.
    Rate(Rating),
    /// Unsubscribes the customer (the email's List-Unsubscribe target).
    OptOut,
    /// The inspector's page for an answer we could not read: they say what the customer meant
    /// (the link in their retailCRM task; never sent to a customer).
    Resolve,
}

impl LinkAction {
    fn code(self) -> u8 {
        match self {
            LinkAction::Rate(r) => r.value(),
            LinkAction::OptOut => OPT_OUT,
            LinkAction::Resolve => RESOLVE,
        }
    }

    fn from_code(code: u8) -> Option<LinkAction> {
        if code == OPT_OUT {
            Some(LinkAction::OptOut)
        } else if code == RESOLVE {
            Some(LinkAction::Resolve)
        } else {
            Rating::new(code).ok().map(LinkAction::Rate)
        }
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaim {
    pub survey: SurveyId,
    pub action: LinkAction,
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused. The landing page answers all of them with a 4xx and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of ours at all (cut off by a mail client, typed by hand, garbage).
    #[error("not a valid link")]
    Malformed,
    /// Well-formed but not signed by our key: altered, or forged.
    #[error("the link's signature does not match")]
    BadSignature,
    /// Genuine, but past its expiry.
    #[error("the link has expired")]
    Expired,
}

/// How long a rating page's view nonce stays good: a page left open overnight asks again (a
/// fresh open of the link gives a fresh nonce), and a captured nonce cannot be replayed later.
pub const VIEW_NONCE_TTL: chrono::Duration = chrono::Duration::hours(12);

/// Signs and verifies link tokens with the installation's link secret (`OTKLIK_LINK_SECRET`).
#[derive(Clone)]
pub struct LinkSigner {
    /// The keyed HMAC state; cloned per token so the key is processed once.
    mac: HmacSha256,
}

impl fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSigner(***)")
    }
}

impl LinkSigner {
    /// A signer keyed with `secret`. The config loader insists on at least 32 characters.
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length (long ones are hashed first): this cannot fail.
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
        LinkSigner { mac }
    }

    /// The token for one survey and action, valid until `expires_at`.
    ///
    /// Layout: `base64url(payload) "." base64url(tag)`, where payload = version (1 byte), action
    /// (1 byte: 1–5 a rating, 0 opt-out), expiry (unix seconds, u32 big-endian), survey id
    /// (ASCII). The expiry is clamped into the u32 range: a link cannot outlive 2106, and an
    /// expiry before 1970 is simply already past.
    pub fn sign(&self, survey: &SurveyId, action: LinkAction, expires_at: DateTime<Utc>) -> String {
        let expiry = u32::try_from(expires_at.timestamp().max(0)).unwrap_or(u32::MAX);
        let mut payload = Vec::with_capacity(6 + survey.as_str().len());
        payload.push(VERSION);
        payload.push(action.code());
        payload.extend_from_slice(&expiry.to_be_bytes());
        payload.extend_from_slice(survey.as_str().as_bytes());
        let body = URL_SAFE_NO_PAD.encode(&payload);
        let tag = self.tag(&body);
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// Checks a token and says what it grants. The signature is checked (in constant time) before
    /// the payload is read at all; expiry last, so an expired link is known to be genuine.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaim, LinkError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let (body, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
        // The strict decoder refuses padding and stray trailing bits, so one tag has exactly one
        // spelling and no character of a token can change without the check failing.
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Malformed)?;
        if tag.len() != TAG_LEN || body.is_empty() {
            return Err(LinkError::Malformed);
        }
        // The MAC covers the payload's text, not its decoded bytes, for the same reason.
        let mut mac = self.mac.clone();
        mac.update(CONTEXT);
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&tag)
            .map_err(|_| LinkError::BadSignature)?;

        let payload = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Malformed)?;
        let [version, action, e0, e1, e2, e3, id @ ..] = payload.as_slice() else {
            return Err(LinkError::Malformed);
        };
        if *version != VERSION {
            return Err(LinkError::Malformed);
        }
        let action = LinkAction::from_code(*action).ok_or(LinkError::Malformed)?;
        let expiry = u32::from_be_bytes([*e0, *e1, *e2, *e3]);
        let expires_at =
            DateTime::from_timestamp(i64::from(expiry), 0).ok_or(LinkError::Malformed)?;
        let survey = std::str::from_utf8(id)
            .ok()
            .and_then(|s| SurveyId::parse(s).ok())
            .ok_or(LinkError::Malformed)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim {
            survey,
            action,
            expires_at,
        })
    }

    /// A nonce for one view of a landing page: when the page was served, signed together with the
    /// link's token. The page's POST brings it back, so the landing function knows which view (and
    /// so which moment) the vote comes from without storing a session, and nobody can claim a view
    /// that never happened.
    pub fn sign_view(&self, token: &str, viewed_at: DateTime<Utc>) -> String {
        let millis = viewed_at.timestamp_millis().max(0);
        let tag = self.view_tag(token, millis);
        format!("{millis}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// When the view behind `nonce` happened, if the nonce is ours, belongs to `token`, is
    /// spelled exactly as we wrote it, and is not older than [`VIEW_NONCE_TTL`] at `now`. (A
    /// probe re-spelled nonces — `00<millis>`, `+<millis>` verify against the same MAC — and
    /// replayed them at will: each spelling was a new view, and none ever expired.)
    pub fn verify_view(
        &self,
        token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, LinkError> {
        if nonce.len() > 64 {
            return Err(LinkError::Malformed);
        }
        let (spelled, tag) = nonce.split_once('.').ok_or(LinkError::Malformed)?;
        let millis: i64 = spelled.parse().map_err(|_| LinkError::Malformed)?;
        if spelled != millis.to_string() {
            return Err(LinkError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Malformed)?;
        if tag.len() != TAG_LEN || millis < 0 {
            return Err(LinkError::Malformed);
        }
        let mut mac = self.mac.clone();
        mac.update(VIEW_CONTEXT);
        mac.update(token.as_bytes());
        mac.update(b"\x00");
        mac.update(millis.to_string().as_bytes());
        mac.verify_truncated_left(&tag)
            .map_err(|_| LinkError::BadSignature)?;
        let viewed_at = DateTime::from_timestamp_millis(millis).ok_or(LinkError::Malformed)?;
        if now - viewed_at > VIEW_NONCE_TTL {
            return Err(LinkError::Expired);
        }
        Ok(viewed_at)
    }

    fn view_tag(&self, token: &str, millis: i64) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(VIEW_CONTEXT);
        mac.update(token.as_bytes());
        mac.update(b"\x00");
        mac.update(millis.to_string().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn tag(&self, body: &str) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(CONTEXT);
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

fn link_url(base_url: &str, token: &str) -> String {
    format!("{}/r/{token}", base_url.trim_end_matches('/'))
}

/// The five rating links of a survey email, best first: `(5, url)`, …, `(1, url)`.
pub fn rating_links(
    signer: &LinkSigner,
    base_url: &str,
    survey: &SurveyId,
    expires_at: DateTime<Utc>,
) -> Vec<(Rating, String)> {
    Rating::all()
        .into_iter()
        .rev()
        .map(|r| {
            let token = signer.sign(survey, LinkAction::Rate(r), expires_at);
            (r, link_url(base_url, &token))
        })
        .collect()
}

/// The survey's opt-out link (for `List-Unsubscribe`).
pub fn opt_out_link(
    signer: &LinkSigner,
    base_url: &str,
    survey: &SurveyId,
    expires_at: DateTime<Utc>,
) -> String {
    link_url(
        base_url,
        &signer.sign(survey, LinkAction::OptOut, expires_at),
    )
}

/// The inspector's link for a survey whose answer we could not read (`/r/<token>`, the landing's
/// route; the token's action tells the pages apart). Signed like the customer's links, so it
/// cannot be made from a rating link or for another survey.
pub fn resolve_link(
    signer: &LinkSigner,
    base_url: &str,
    survey: &SurveyId,
    expires_at: DateTime<Utc>,
) -> String {
    link_url(
        base_url,
        &signer.sign(survey, LinkAction::Resolve, expires_at),
    )
}

/// The id of an SMS's short link (`/s/<id>`): 12 characters of `[A-Za-z0-9]`, about 71 bits of
/// randomness. An SMS has room for no signed token, so the id is random and stored with its survey
/// and expiry; it says nothing about the customer or the order, and guessing one is hopeless.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortLinkId(String);

impl ShortLinkId {
    pub const LEN: usize = 12;
    const ALPHABET: &'static [u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// An id from `random` bytes (the caller's random source: the core has none). Bytes that would
    /// favour some characters (248..=255) are skipped; `None` when too few are left.
    pub fn from_random(random: &[u8]) -> Option<ShortLinkId> {
        let n = Self::ALPHABET.len();
        let id: String = random
            .iter()
            .filter(|&&b| usize::from(b) < 256 / n * n)
            .take(Self::LEN)
            .map(|&b| char::from(Self::ALPHABET[usize::from(b) % n]))
            .collect();
        (id.len() == Self::LEN).then_some(ShortLinkId(id))
    }

    /// An id read from a path; anything else is not one of ours.
    pub fn parse(raw: &str) -> Option<ShortLinkId> {
        (raw.len() == Self::LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| ShortLinkId(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The link that goes into the SMS.
    pub fn url(&self, base_url: &str) -> String {
        format!("{}/s/{}", base_url.trim_end_matches('/'), self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_link_id_is_twelve_alphanumerics_without_bias_and_parses_back() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let id = ShortLinkId::from_random(&bytes).unwrap();
        assert_eq!(id.as_str(), "ABCDEFGHIJKL");
        assert_eq!(ShortLinkId::parse(id.as_str()), Some(id.clone()));
        // 248..=255 would favour the first eight characters: skipped.
        let mut biased = vec![250u8; 20];
        biased.extend(0..12u8);
        assert_eq!(
            ShortLinkId::from_random(&biased).unwrap().as_str(),
            "ABCDEFGHIJKL"
        );
        assert_eq!(ShortLinkId::from_random(&[255u8; 64]), None);
        assert_eq!(ShortLinkId::from_random(&[1u8; 11]), None);
        assert_eq!(
            id.url("https://otzyv.example.ru/"),
            "https://otzyv.example.ru/s/ABCDEFGHIJKL"
        );
        for bad in [
            "",
            "ABCDEFGHIJK",
            "ABCDEFGHIJKLM",
            "ABCDEFGHIJ-L",
            "ABCDEFGHIJKЛ",
        ] {
            assert_eq!(ShortLinkId::parse(bad), None, "{bad}");
        }
        // The link fits the length the SMS wordings are checked with.
        assert!(
            id.url("https://otzyv.example.ru").len() <= crate::sms_segments::TYPICAL_LINK.len()
        );
    }

    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test";

    fn survey() -> SurveyId {
        SurveyId::parse("s-main-shop-1001").unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 20, 18, 30, 0).unwrap()
    }

    fn later() -> DateTime<Utc> {
        now() + chrono::Duration::days(30)
    }

    fn rate(n: u8) -> LinkAction {
        LinkAction::Rate(Rating::new(n).unwrap())
    }

    #[test]
    fn view_nonce_round_trips_and_is_bound_to_its_token() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(4), later());
        let other = s.sign(&survey(), rate(5), later());
        let at = now() + chrono::Duration::milliseconds(1234);
        let nonce = s.sign_view(&token, at);
        assert_eq!(s.verify_view(&token, &nonce, at), Ok(at));
        assert_eq!(
            s.verify_view(&other, &nonce, at),
            Err(LinkError::BadSignature)
        );
        let (millis, tag) = nonce.split_once('.').unwrap();
        let shifted = format!("{}.{tag}", millis.parse::<i64>().unwrap() - 60_000);
        assert_eq!(
            s.verify_view(&token, &shifted, at),
            Err(LinkError::BadSignature)
        );
        assert_eq!(s.verify_view(&token, "x", at), Err(LinkError::Malformed));
        assert_eq!(
            LinkSigner::new(b"another key, also long enough, yes").verify_view(&token, &nonce, at),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn a_view_nonce_is_good_only_as_written_and_only_for_a_while() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(4), later());
        let at = now() + chrono::Duration::milliseconds(1234);
        let nonce = s.sign_view(&token, at);
        let (millis, tag) = nonce.split_once('.').unwrap();
        for respelled in [format!("00{millis}.{tag}"), format!("+{millis}.{tag}")] {
            assert_eq!(
                s.verify_view(&token, &respelled, at),
                Err(LinkError::Malformed),
                "{respelled}"
            );
        }
        let late = at + VIEW_NONCE_TTL;
        assert_eq!(s.verify_view(&token, &nonce, late), Ok(at));
        assert_eq!(
            s.verify_view(&token, &nonce, late + chrono::Duration::seconds(1)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn round_trip() {
        let s = LinkSigner::new(KEY);
        for action in [rate(1), rate(3), rate(5), LinkAction::OptOut] {
            let token = s.sign(&survey(), action, later());
            let claim = s.verify(&token, now()).unwrap();
            assert_eq!(
                claim,
                LinkClaim {
                    survey: survey(),
                    action,
                    expires_at: later()
                }
            );
        }
    }

    #[test]
    fn tokens_are_short_and_url_safe() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(5), later());
        assert!(token.len() < 80, "{} chars: {token}", token.len());
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        let long = SurveyId::parse(&"x".repeat(64)).unwrap();
        assert!(s.verify(&s.sign(&long, rate(1), later()), now()).is_ok());
    }

    #[test]
    fn tampering_is_caught() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(4), later());
        let (body, tag) = token.split_once('.').unwrap();

        // Another survey's body under this tag.
        let other = s.sign(
            &SurveyId::parse("s-main-shop-1002").unwrap(),
            rate(4),
            later(),
        );
        let other_body = other.split_once('.').unwrap().0;
        assert_eq!(
            s.verify(&format!("{other_body}.{tag}"), now()),
            Err(LinkError::BadSignature)
        );
        // A tag of the right length that is not ours.
        let forged = URL_SAFE_NO_PAD.encode([7u8; TAG_LEN]);
        assert_eq!(
            s.verify(&format!("{body}.{forged}"), now()),
            Err(LinkError::BadSignature)
        );
        // Another key.
        let stranger = LinkSigner::new(b"another-secret-another-secret-xx");
        assert_eq!(stranger.verify(&token, now()), Err(LinkError::BadSignature));
    }

    #[test]
    fn the_inspector_link_is_its_own_action() {
        let signer = LinkSigner::new(KEY);
        let url = resolve_link(&signer, "https://f.example.ru/", &survey(), later());
        let token = url.strip_prefix("https://f.example.ru/r/").unwrap();
        let claim = signer.verify(token, now()).unwrap();
        assert_eq!(claim.action, LinkAction::Resolve);
        assert_eq!(claim.survey, survey());
        // No rating link of the same survey is the inspector's, and none can be made one.
        for r in 1..=5 {
            let rating = signer.sign(&survey(), rate(r), later());
            assert_ne!(
                signer.verify(&rating, now()).unwrap().action,
                LinkAction::Resolve
            );
        }
        assert_eq!(LinkAction::from_code(9), Some(LinkAction::Resolve));
        assert_eq!(LinkAction::from_code(6), None);
    }

    #[test]
    fn a_four_cannot_be_turned_into_a_five() {
        let s = LinkSigner::new(KEY);
        let four = s.sign(&survey(), rate(4), later());
        let five = s.sign(&survey(), rate(5), later());
        assert_ne!(four, five);
        let (body, tag) = four.split_once('.').unwrap();
        let mut payload = URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(payload[1], 4);
        payload[1] = 5;
        let edited = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&payload));
        assert_eq!(s.verify(&edited, now()), Err(LinkError::BadSignature));
        // Nor can it live longer.
        let mut payload = URL_SAFE_NO_PAD.decode(body).unwrap();
        payload[2] = 0xff;
        let edited = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&payload));
        assert_eq!(s.verify(&edited, now()), Err(LinkError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(5), later());
        let body = token.split_once('.').unwrap().0;
        for junk in [
            "",
            ".",
            "abc",
            "abc.",
            ".abc",
            "hello.world",
            "a.b.c",
            "!!!.???",
            "AAAA.AAAA",
            &format!("{body}.{}", "A".repeat(400)),
            &format!("{body}.{}=", URL_SAFE_NO_PAD.encode([0u8; TAG_LEN])),
            &format!("{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 8])),
        ] {
            assert_eq!(s.verify(junk, now()), Err(LinkError::Malformed), "{junk:?}");
        }
    }

    #[test]
    fn signed_but_unreadable_payloads_are_malformed() {
        // Only reachable with the key, but the reader must still not trust the layout.
        let s = LinkSigner::new(KEY);
        let forge = |payload: &[u8]| {
            let body = URL_SAFE_NO_PAD.encode(payload);
            format!(
                "{body}.{}",
                URL_SAFE_NO_PAD.encode(&s.tag(&body)[..TAG_LEN])
            )
        };
        let exp = u32::try_from(later().timestamp()).unwrap().to_be_bytes();
        let good = [&[VERSION, 5][..], &exp, b"s-main-shop-1001"].concat();
        assert!(s.verify(&forge(&good), now()).is_ok());
        for bad in [
            [&[2, 5][..], &exp, b"s-1"].concat(),
            [&[VERSION, 6][..], &exp, b"s-1"].concat(),
            [&[VERSION, 5][..], &exp].concat(),
            [&[VERSION, 5][..], &exp, b"bad id"].concat(),
            [&[VERSION, 5][..], &exp, &[0xff, 0xfe]].concat(),
            vec![VERSION, 5, 0],
        ] {
            assert_eq!(s.verify(&forge(&bad), now()), Err(LinkError::Malformed));
        }
    }

    #[test]
    fn expired_links_say_so() {
        let s = LinkSigner::new(KEY);
        let token = s.sign(&survey(), rate(5), now());
        assert_eq!(s.verify(&token, now()), Err(LinkError::Expired));
        assert!(s
            .verify(&token, now() - chrono::Duration::seconds(1))
            .is_ok());
        let ancient = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            s.verify(&s.sign(&survey(), rate(5), ancient), now()),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let s = LinkSigner::new(b"super-secret-link-key-0123456789");
        let printed = format!("{s:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert_eq!(printed, "LinkSigner(***)");
    }

    #[test]
    fn five_links_best_first_and_an_opt_out() {
        let s = LinkSigner::new(KEY);
        let links = rating_links(&s, "https://feedback.example.ru/", &survey(), later());
        let values: Vec<u8> = links.iter().map(|(r, _)| r.value()).collect();
        assert_eq!(values, [5, 4, 3, 2, 1]);
        for (r, url) in &links {
            let token = url
                .strip_prefix("https://feedback.example.ru/r/")
                .unwrap_or_else(|| panic!("{url}"));
            assert_eq!(s.verify(token, now()).unwrap().action, LinkAction::Rate(*r));
        }
        let out = opt_out_link(&s, "https://feedback.example.ru", &survey(), later());
        let token = out.strip_prefix("https://feedback.example.ru/r/").unwrap();
        assert_eq!(s.verify(token, now()).unwrap().action, LinkAction::OptOut);
    }

    proptest! {
        #[test]
        fn no_input_panics_the_verifier(token in ".{0,300}") {
            let s = LinkSigner::new(KEY);
            let _ = s.verify(&token, now());
        }

        #[test]
        fn no_token_shaped_input_verifies(body in "[A-Za-z0-9_-]{0,60}", tag in "[A-Za-z0-9_-]{0,30}") {
            let s = LinkSigner::new(KEY);
            let token = format!("{body}.{tag}");
            prop_assert!(s.verify(&token, now()).is_err());
        }

        #[test]
        fn changing_any_character_breaks_the_token(
            n in 1u8..=5,
            id in "[a-z0-9-]{1,40}",
            at in any::<prop::sample::Index>(),
            by in prop::sample::select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %".chars().collect::<Vec<_>>()
            ),
        ) {
            let s = LinkSigner::new(KEY);
            let token = s.sign(&SurveyId::parse(&id).unwrap(), rate(n), later());
            let mut chars: Vec<char> = token.chars().collect();
            let i = at.index(chars.len());
            prop_assume!(chars[i] != by);
            chars[i] = by;
            let altered: String = chars.into_iter().collect();
            prop_assert!(s.verify(&altered, now()).is_err(), "{} verified", altered);
        }
    }
}
