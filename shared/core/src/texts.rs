//! Every sentence Otklik writes, per language: what we say to the customer, in several phrasings
//! per message, and, one wording each, what we write into retailCRM ([`crm`]) and the landing
//! page's words ([`landing`]).
//!
//! Dispatch picks the question, the machine's `MessageKind` picks the follow-up; this module turns
//! either into words. Messages must read as written by a person, so every kind has several
//! variants and a customer is given one of them by a stable hash of a seed (their contact key).
//! The shop may replace any kind's variants in `[texts]` of `otklik.toml`, and any CRM or landing
//! text in `[texts.crm.<lang>]` / `[texts.landing.<lang>]`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config_error::ConfigError;
use crate::message_kind::MessageKind;
use crate::sms_segments as segments;

/// The most segments an ask's SMS may cost with its link.
pub const MAX_SMS_SEGMENTS: usize = 2;

pub mod crm;
pub mod landing;

pub use crm::CrmText;
pub use landing::LandingText;

/// A language we can write in. Russian is the default and the fallback.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ru,
    Uk,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ru, Lang::Uk, Lang::En];

    /// The config key of the language (`ru`, `uk`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Uk => "uk",
            Lang::En => "en",
        }
    }
}

/// One thing we say. The first three open a survey; the rest answer the customer's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextKind {
    /// The WhatsApp question: how did it go, 1–5.
    Request,
    /// The survey email's subject.
    EmailSubject,
    /// The email's text above the five rating links.
    EmailRequest,
    /// After a 4–5: a sincere thank-you, and that it counts.
    Thanks,
    /// After a 1–2: the quality team has it, someone will get in touch.
    ComplaintAcknowledged,
    /// After a 3: shall we call you? (yes/no)
    AskContactConsent,
    /// After a 3 and "yes".
    ContactConfirmed,
    /// After a 3 and "no": sorry, goodbye.
    Apology,
    /// After an opt-out: no more messages.
    OptOutConfirmed,
    /// The SMS question, before its one short link (`sms::request_sms` puts the link last).
    SmsRequest,
    /// The one reminder in a messenger, when the question went unanswered: asks again in other
    /// words, without reproach.
    Reminder,
    /// The reminder SMS, before its short link (the same length rule as [`TextKind::SmsRequest`]).
    SmsReminder,
    /// The reminder email's subject.
    EmailReminderSubject,
    /// The reminder email's text above the five rating links.
    EmailReminder,
    /// Words we could not read: received, a colleague will reply.
    HandedToColleague,
}

impl TextKind {
    pub const ALL: [TextKind; 15] = [
        TextKind::Request,
        TextKind::EmailSubject,
        TextKind::EmailRequest,
        TextKind::Thanks,
        TextKind::ComplaintAcknowledged,
        TextKind::AskContactConsent,
        TextKind::ContactConfirmed,
        TextKind::Apology,
        TextKind::OptOutConfirmed,
        TextKind::SmsRequest,
        TextKind::Reminder,
        TextKind::SmsReminder,
        TextKind::EmailReminderSubject,
        TextKind::EmailReminder,
        TextKind::HandedToColleague,
    ];

    /// Whether the kind is an SMS text that carries a link after it (and so must stay short).
    pub fn is_sms(self) -> bool {
        matches!(self, TextKind::SmsRequest | TextKind::SmsReminder)
    }

    /// Whether the kind asks for a rating (the question or its reminder, on any channel). Those
    /// reach someone who has not heard from us yet, so they say who writes and from which shop.
    pub fn is_ask(self) -> bool {
        matches!(
            self,
            TextKind::Request
                | TextKind::EmailSubject
                | TextKind::EmailRequest
                | TextKind::SmsRequest
                | TextKind::Reminder
                | TextKind::SmsReminder
                | TextKind::EmailReminderSubject
                | TextKind::EmailReminder
        )
    }

    /// The blanks a variant of this kind may hold: `{sender}` and `{shop}` in an ask, none in an
    /// answer (the customer already knows who they are talking to by then).
    pub fn blanks(self) -> &'static [&'static str] {
        if self.is_ask() {
            &["sender", "shop"]
        } else {
            &[]
        }
    }

    /// The config key of the kind, as written under `[texts.<lang>]`.
    pub fn key(self) -> &'static str {
        match self {
            TextKind::Request => "request",
            TextKind::EmailSubject => "email_subject",
            TextKind::EmailRequest => "email_request",
            TextKind::Thanks => "thanks",
            TextKind::ComplaintAcknowledged => "complaint_acknowledged",
            TextKind::AskContactConsent => "ask_contact_consent",
            TextKind::ContactConfirmed => "contact_confirmed",
            TextKind::Apology => "apology",
            TextKind::OptOutConfirmed => "opt_out_confirmed",
            TextKind::SmsRequest => "sms_request",
            TextKind::Reminder => "reminder",
            TextKind::SmsReminder => "sms_reminder",
            TextKind::EmailReminderSubject => "email_reminder_subject",
            TextKind::EmailReminder => "email_reminder",
            TextKind::HandedToColleague => "handed_to_colleague",
        }
    }
}

/// Which of a survey's asks a message is: the question, or its one reminder. Each has its own
/// words on every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    Question,
    Reminder,
}

impl Ask {
    /// The words in a messenger (WhatsApp, MAX).
    pub fn messenger(self) -> TextKind {
        match self {
            Ask::Question => TextKind::Request,
            Ask::Reminder => TextKind::Reminder,
        }
    }

    /// The words of the SMS, before its link.
    pub fn sms(self) -> TextKind {
        match self {
            Ask::Question => TextKind::SmsRequest,
            Ask::Reminder => TextKind::SmsReminder,
        }
    }

    /// The email's subject and the text above its links.
    pub fn email(self) -> (TextKind, TextKind) {
        match self {
            Ask::Question => (TextKind::EmailSubject, TextKind::EmailRequest),
            Ask::Reminder => (TextKind::EmailReminderSubject, TextKind::EmailReminder),
        }
    }
}

impl From<MessageKind> for TextKind {
    fn from(kind: MessageKind) -> Self {
        match kind {
            MessageKind::Thanks => TextKind::Thanks,
            MessageKind::ComplaintAcknowledged => TextKind::ComplaintAcknowledged,
            MessageKind::AskContactConsent => TextKind::AskContactConsent,
            MessageKind::ContactConfirmed => TextKind::ContactConfirmed,
            MessageKind::Apology => TextKind::Apology,
            MessageKind::OptOutConfirmed => TextKind::OptOutConfirmed,
            MessageKind::HandedToColleague => TextKind::HandedToColleague,
        }
    }
}

/// Who asks: the sender's first name and the shop's name, filled into every ask's `{sender}` and
/// `{shop}` (from `[shop]` of `otklik.toml`, see [`crate::config::Config::who`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub sender: String,
    pub shop: String,
}

impl Who {
    fn values(&self) -> [(&str, &str); 2] {
        [
            ("sender", self.sender.as_str()),
            ("shop", self.shop.as_str()),
        ]
    }
}

/// `[texts]` of `otklik.toml`: the language to write in and, per language and kind, variants
/// that replace ours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextsConfig {
    /// The language of every text: the customer's messages, the landing page and what we write
    /// into retailCRM (Russian when absent).
    #[serde(default)]
    pub language: Option<Lang>,
    #[serde(default)]
    pub ru: BTreeMap<TextKind, Vec<String>>,
    #[serde(default)]
    pub uk: BTreeMap<TextKind, Vec<String>>,
    #[serde(default)]
    pub en: BTreeMap<TextKind, Vec<String>>,
    /// `[texts.crm.<lang>]`: what we write into retailCRM, one text per key.
    #[serde(default)]
    pub crm: WordingOverrides<CrmText>,
    /// `[texts.landing.<lang>]`: the landing page's words, one text per key.
    #[serde(default)]
    pub landing: WordingOverrides<LandingText>,
}

/// Per language, texts that replace ours one by one (a key not given keeps ours).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "K: Deserialize<'de> + Ord"))]
pub struct WordingOverrides<K: Ord> {
    #[serde(default)]
    pub ru: BTreeMap<K, String>,
    #[serde(default)]
    pub uk: BTreeMap<K, String>,
    #[serde(default)]
    pub en: BTreeMap<K, String>,
}

// By hand: the derive would ask `K: Default`, which the key enums have no reason to be.
impl<K: Ord> Default for WordingOverrides<K> {
    fn default() -> Self {
        WordingOverrides {
            ru: BTreeMap::new(),
            uk: BTreeMap::new(),
            en: BTreeMap::new(),
        }
    }
}

/// Every text we can say or write, with the installation's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    language: Lang,
    variants: BTreeMap<(Lang, TextKind), Vec<String>>,
    /// The shop's CRM and landing texts; ours for every key not here.
    crm: BTreeMap<(Lang, CrmText), String>,
    landing: BTreeMap<(Lang, LandingText), String>,
}

impl Texts {
    /// Our own texts, in Russian, Ukrainian and English.
    pub fn defaults() -> Texts {
        let mut variants = BTreeMap::new();
        for lang in Lang::ALL {
            for kind in TextKind::ALL {
                let list = default_variants(lang, kind);
                if !list.is_empty() {
                    variants.insert(
                        (lang, kind),
                        list.iter().map(|s| (*s).to_string()).collect(),
                    );
                }
            }
        }
        Texts {
            language: Lang::default(),
            variants,
            crm: BTreeMap::new(),
            landing: BTreeMap::new(),
        }
    }

    /// Our texts with the shop's overrides: a kind given in the config replaces all our variants
    /// of that kind in that language (mixing a shop's voice with ours would read oddly).
    pub fn from_config(cfg: &TextsConfig) -> Result<Texts, ConfigError> {
        let mut texts = Texts::defaults();
        texts.language = cfg.language.unwrap_or_default();
        for (lang, overrides) in [
            (Lang::Ru, &cfg.ru),
            (Lang::Uk, &cfg.uk),
            (Lang::En, &cfg.en),
        ] {
            for (kind, list) in overrides {
                let key = format!("texts.{}.{}", lang.code(), kind.key());
                if list.is_empty() {
                    return Err(ConfigError::Invalid {
                        key,
                        message: "give at least one variant, or remove the key to use ours".into(),
                    });
                }
                for (i, variant) in list.iter().enumerate() {
                    if let Some(problem) = variant_problem(*kind, variant) {
                        return Err(ConfigError::Invalid {
                            key: format!("{key}[{i}]"),
                            message: problem,
                        });
                    }
                }
                let cleaned = list.iter().map(|v| v.trim().to_string()).collect();
                texts.variants.insert((lang, *kind), cleaned);
            }
        }
        texts.crm = wording_overrides(&cfg.crm)?;
        texts.landing = wording_overrides(&cfg.landing)?;
        Ok(texts)
    }

    /// The language messages are written in.
    pub fn language(&self) -> Lang {
        self.language
    }

    /// All variants of a kind. A language without the kind falls back to Russian, which is
    /// always complete.
    pub fn variants(&self, kind: TextKind, lang: Lang) -> &[String] {
        self.variants
            .get(&(lang, kind))
            .or_else(|| self.variants.get(&(Lang::Ru, kind)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// One variant, chosen by `seed` and the kind: the same seed always gets the same wording of
    /// a kind, so a retry or a redelivery never switches voice. The callers pass
    /// [`Survey::wording_seed`](crate::machine::Survey::wording_seed) (the customer and the
    /// survey): every message of one survey is worded the same way, while a repeat customer's
    /// next survey usually gets other words, and different customers are spread over all
    /// variants.
    pub fn pick(&self, kind: TextKind, lang: Lang, seed: &str) -> &str {
        let list = self.variants(kind, lang);
        if list.is_empty() {
            return "";
        }
        let hash = fnv1a64(&[seed.as_bytes(), b"\x00", kind.key().as_bytes()]);
        // A u64 modulo a handful of variants cannot overflow usize on any target we build for.
        let index = (hash % list.len() as u64) as usize;
        &list[index]
    }

    /// An ask's words for one customer: the variant [`Texts::pick`] chooses, with `{sender}` and
    /// `{shop}` filled in.
    pub fn ask(&self, kind: TextKind, lang: Lang, seed: &str, who: &Who) -> String {
        fill(self.pick(kind, lang, seed), &who.values())
    }

    /// Every variant of a kind as a customer would read it from `who` (for checks and tests that
    /// recognise a message we sent).
    pub fn asks(&self, kind: TextKind, lang: Lang, who: &Who) -> Vec<String> {
        self.variants(kind, lang)
            .iter()
            .map(|v| fill(v, &who.values()))
            .collect()
    }

    /// Checks the asks against the names they will carry: in the language in use, every SMS with
    /// its link fits [`MAX_SMS_SEGMENTS`], and every ask the shop wrote itself names the shop
    /// (`{shop}` or the name as it is). The error names the shop's variant, or `shop.name` when
    /// only the name makes one of ours too long.
    pub fn check_asks(&self, cfg: &TextsConfig, who: &Who) -> Result<(), ConfigError> {
        let lang = self.language;
        let shops = |l: Lang| match l {
            Lang::Ru => &cfg.ru,
            Lang::Uk => &cfg.uk,
            Lang::En => &cfg.en,
        };
        for l in Lang::ALL {
            for (kind, list) in shops(l) {
                if !kind.is_ask() {
                    continue;
                }
                for (i, v) in list.iter().enumerate() {
                    if !v.contains("{shop}") && !v.contains(who.shop.as_str()) {
                        return Err(ConfigError::Invalid {
                            key: format!("texts.{}.{}[{i}]", l.code(), kind.key()),
                            message: "say who asks: name the shop with {shop} (and the sender \
                                      with {sender}), a stranger's question reads as spam"
                                .into(),
                        });
                    }
                }
            }
        }
        for kind in TextKind::ALL.into_iter().filter(|k| k.is_sms()) {
            let shop_wrote = shops(lang).contains_key(&kind);
            for (i, text) in self.asks(kind, lang, who).iter().enumerate() {
                let with_link = format!("{text} {}", segments::TYPICAL_LINK);
                let n = segments::segments(&with_link);
                if n <= MAX_SMS_SEGMENTS {
                    continue;
                }
                let (key, message) = if shop_wrote {
                    (
                        format!("texts.{}.{}[{i}]", lang.code(), kind.key()),
                        format!(
                            "with the names and its link this SMS takes {n} segments; keep it \
                             to {MAX_SMS_SEGMENTS} (about 90 Cyrillic characters before the link)"
                        ),
                    )
                } else {
                    (
                        "shop.name".to_string(),
                        format!(
                            "with the shop's name \"{}\" and the sender \"{}\" our SMS \"{text}\" \
                             takes {n} segments with its link; use a shorter name, or write your \
                             own texts.{}.{}",
                            who.shop,
                            who.sender,
                            lang.code(),
                            kind.key()
                        ),
                    )
                };
                return Err(ConfigError::Invalid { key, message });
            }
        }
        Ok(())
    }

    /// A text we write into retailCRM, its blanks (`{order}`) still open: the shop's when it gave
    /// one, else ours. [`crate::crm_texts`] fills them in.
    pub fn crm(&self, key: CrmText, lang: Lang) -> &str {
        self.crm
            .get(&(lang, key))
            .map_or_else(|| ours(key, lang), String::as_str)
    }

    /// A text of the landing page, its blanks still open: the shop's when it gave one, else ours.
    pub fn landing(&self, key: LandingText, lang: Lang) -> &str {
        self.landing
            .get(&(lang, key))
            .map_or_else(|| ours(key, lang), String::as_str)
    }
}

/// A text written once per language, with named blanks in braces that the code fills in. Two
/// sets of them, [`CrmText`] and [`LandingText`], share the config rules and the filling.
pub(crate) trait Wording: Copy + Ord + 'static {
    /// The table under `[texts]` that overrides them, e.g. `crm`.
    const TABLE: &'static str;
    const ALL: &'static [Self];
    /// The config key.
    fn key(self) -> &'static str;
    /// The blanks the text may hold, e.g. `order` for `{order}`.
    fn blanks(self) -> &'static [&'static str];
    /// Ours in Russian, Ukrainian and English.
    fn ours(self) -> [&'static str; 3];
}

/// The text a config key names.
fn parse_key<K: Wording>(key: &str) -> Result<K, String> {
    K::ALL
        .iter()
        .copied()
        .find(|k| k.key() == key)
        .ok_or_else(|| {
            let keys: Vec<String> = K::ALL.iter().map(|k| format!("`{}`", k.key())).collect();
            format!("unknown text `{key}`, expected one of {}", keys.join(", "))
        })
}

/// Our wording of `key` in `lang`.
fn ours<K: Wording>(key: K, lang: Lang) -> &'static str {
    let [ru, uk, en] = key.ours();
    match lang {
        Lang::Ru => ru,
        Lang::Uk => uk,
        Lang::En => en,
    }
}

/// The shop's texts of one table, checked and trimmed; the error names the key.
fn wording_overrides<K: Wording>(
    cfg: &WordingOverrides<K>,
) -> Result<BTreeMap<(Lang, K), String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (lang, overrides) in [
        (Lang::Ru, &cfg.ru),
        (Lang::Uk, &cfg.uk),
        (Lang::En, &cfg.en),
    ] {
        for (key, text) in overrides {
            if let Some(problem) = wording_problem(*key, text) {
                return Err(ConfigError::Invalid {
                    key: format!("texts.{}.{}.{}", K::TABLE, lang.code(), key.key()),
                    message: problem,
                });
            }
            out.insert((lang, *key), text.trim().to_string());
        }
    }
    Ok(out)
}

/// Why a shop's text for `key` cannot be used, if it cannot: blank, a blank we do not fill (a
/// typo such as `{oder}` would reach the reader verbatim), or a brace without its pair.
fn wording_problem<K: Wording>(key: K, text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("a text must not be blank; remove the key to use ours".into());
    }
    blank_problem(text, key.blanks())
}

/// Why the braces of `text` cannot be filled, if they cannot: a blank not in `allowed`, or a
/// brace without its pair.
fn blank_problem(text: &str, allowed: &[&str]) -> Option<String> {
    let mut rest = text;
    loop {
        match (rest.find('{'), rest.find('}')) {
            (None, None) => return None,
            (Some(open), Some(close)) if open < close => {
                let name = &rest[open + 1..close];
                if !allowed.contains(&name) {
                    return Some(if allowed.is_empty() {
                        format!("this text has no blanks to fill; remove \"{{{name}}}\"")
                    } else {
                        let list: Vec<String> =
                            allowed.iter().map(|b| format!("{{{b}}}")).collect();
                        format!(
                            "unknown blank \"{{{name}}}\"; this text can use {}",
                            list.join(", ")
                        )
                    });
                }
                rest = &rest[close + 1..];
            }
            _ => {
                return Some(
                    "a \"{\" or \"}\" without its pair; braces only mark blanks such as {order}"
                        .into(),
                )
            }
        }
    }
}

/// `template` with each `{name}` of `values` replaced by its value. Only the template is scanned,
/// so braces in a value (a customer's words) are written as they are.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            let (_, value) = values.iter().find(|(n, _)| *n == name)?;
            Some((value, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            // Not a blank we were given: written as it is (config checks make this unreachable
            // for the texts themselves).
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why a configured variant cannot be used, if it cannot.
fn variant_problem(kind: TextKind, variant: &str) -> Option<String> {
    if variant.trim().is_empty() {
        Some("a variant must not be blank".into())
    } else if kind.is_ask() {
        // The sender's and the shop's names are the only things filled in: no order number, sum
        // or customer name may appear.
        blank_problem(variant, kind.blanks())
    } else if variant.contains('{') || variant.contains('}') {
        Some(
            "this message is sent as written; placeholders like {name} are not filled in, \
             remove the \"{\""
                .into(),
        )
    } else {
        None
    }
}

/// FNV-1a, 64 bits, over several byte strings, with a final avalanche step.
///
/// Our own stable hash, because `DefaultHasher` may change between Rust releases and a customer
/// would then switch wording mid-dialogue. The finaliser mixes the high bits down: plain FNV's low
/// bits depend mostly on the last bytes, and seeds that differ only early (phone numbers with a
/// common tail) would otherwise crowd into a few variants.
pub(crate) fn fnv1a64(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// Our texts. Written to sound like a person from the shop on a phone: short, warm, no order
/// number, no sum, no customer name, no links. Gender-neutral (plural "we", or "I" in the present
/// tense only: «пишу», never «писала»): the sender's name is configured and may be anyone's.
fn default_variants(lang: Lang, kind: TextKind) -> &'static [&'static str] {
    use TextKind::*;
    match (lang, kind) {
        // Short: with the names, a space and the link, an SMS costs at most `MAX_SMS_SEGMENTS`;
        // `sms::tests` counts them with long names. English stays in GSM-7 (no dashes or curly
        // quotes), which doubles what a segment holds.
        (Lang::Ru, SmsRequest) => &[
            "{sender}, магазин «{shop}»: как вам заказ? Оцените тут:",
            "Это {sender} из магазина «{shop}». Всё понравилось? Оценка тут:",
            "{sender} из магазина «{shop}»: как покупка? Оцените здесь:",
            "Магазин «{shop}», {sender}: довольны заказом? Оцените:",
        ],
        (Lang::Uk, SmsRequest) => &[
            "{sender}, магазин «{shop}»: як вам замовлення? Оцініть:",
            "Це {sender} з магазину «{shop}». Усе сподобалось? Оцінка тут:",
            "{sender} з магазину «{shop}»: як покупка? Оцініть тут:",
            "Магазин «{shop}», {sender}: чи задоволені? Оцініть тут:",
        ],
        (Lang::En, SmsRequest) => &[
            "{sender} from {shop} here: how was your order? Rate it:",
            "Hi, it's {sender} from {shop}. Happy with your purchase? Rate it here:",
            "{sender} at {shop}: how did it go? Tell us here:",
            "{sender} from {shop}: did we get it right? Rate us here:",
        ],
        // The reminders: a second, lighter ask. The SMS ones under the same length rule.
        (Lang::Ru, SmsReminder) => &[
            "{sender}, магазин «{shop}»: напоминаем, оцените заказ:",
            "Это {sender} из магазина «{shop}». Есть минутка? Оценка тут:",
            "{sender}, магазин «{shop}»: ещё раз о заказе. Оценка тут:",
            "{sender} из магазина «{shop}» напоминает: оцените заказ тут:",
        ],
        (Lang::Uk, SmsReminder) => &[
            "{sender}, магазин «{shop}»: нагадуємо, оцініть покупку:",
            "Це {sender} з магазину «{shop}». Є хвилинка? Оцінка тут:",
            "{sender}, магазин «{shop}»: ще раз про замовлення. Оцінка тут:",
        ],
        (Lang::En, SmsReminder) => &[
            "{sender} from {shop}: a quick reminder to rate your order:",
            "Hi, it's {sender} from {shop}. Got a minute? Rate your order here:",
            "{sender} at {shop} again: we'd still love your rating:",
        ],
        (Lang::Ru, Reminder) => &[
            "Здравствуйте ещё раз! Это {sender} из магазина «{shop}». Если найдётся минутка, оцените, пожалуйста, заказ цифрой от 1 до 5.",
            "Добрый день! {sender}, магазин «{shop}», напоминаю о нашем вопросе: как вам заказ? Хватит одной цифры от 1 до 5.",
            "Простите, что пишу снова 🙂 Это {sender} из магазина «{shop}». Нам правда важно ваше мнение о покупке — ответите цифрой от 1 до 5?",
            "Здравствуйте! Это {sender}, магазин «{shop}». Мы писали вам насчёт заказа — если удобно, поставьте ему оценку от 1 до 5.",
        ],
        (Lang::Uk, Reminder) => &[
            "Вітаю ще раз! Це {sender} з магазину «{shop}». Якщо знайдеться хвилинка, оцініть, будь ласка, замовлення цифрою від 1 до 5.",
            "Добрий день! {sender}, магазин «{shop}», нагадую про наше запитання: як вам замовлення? Достатньо однієї цифри від 1 до 5.",
            "Вибачте, що пишу знову 🙂 Це {sender} з магазину «{shop}». Нам дуже важлива ваша думка про покупку — відповісте цифрою від 1 до 5?",
        ],
        (Lang::En, Reminder) => &[
            "Hello again! It's {sender} from {shop}. If you have a moment, how would you rate your order from 1 to 5?",
            "Hi! {sender} from {shop} here, with a gentle nudge about our question: how was your order? One number from 1 to 5 is plenty.",
            "Sorry to write again 🙂 It's {sender} from {shop}. We'd really like to know what you thought of your purchase: could you reply with a number from 1 to 5?",
        ],
        (Lang::Ru, EmailReminderSubject) => &[
            "Магазин «{shop}»: напоминаем о нашем вопросе",
            "Ещё раз о вашей покупке в магазине «{shop}»",
            "Магазин «{shop}»: ваша оценка всё ещё важна для нас",
            "Найдётся минутка? Короткий вопрос от магазина «{shop}»",
        ],
        (Lang::Uk, EmailReminderSubject) => &[
            "Магазин «{shop}»: нагадуємо про наше запитання",
            "Ще раз про вашу покупку в магазині «{shop}»",
        ],
        (Lang::En, EmailReminderSubject) => &[
            "{shop}: a quick reminder about your order",
            "{shop} asking once more: how was your purchase?",
        ],
        (Lang::Ru, EmailReminder) => &[
            "Здравствуйте! Это снова {sender} из магазина «{shop}». Пишу ещё раз: вдруг прошлое письмо затерялось. Если найдётся минутка, оцените заказ — достаточно нажать на одну из ссылок ниже.",
            "Добрый день! {sender}, магазин «{shop}». Напомню о нашем вопросе: как вам покупка? Нажмите на одну из ссылок ниже — отвечать на письмо не нужно.",
            "Здравствуйте! Это {sender}, магазин «{shop}». Возвращаюсь к нашему вопросу о заказе. Просто нажмите на ссылку с подходящей оценкой ниже — это займёт пару секунд.",
            "Добрый день! Пишет {sender} из магазина «{shop}». Если ещё не успели, расскажите, как вам заказ: нажмите на одну из ссылок ниже — писать ответ не нужно.",
        ],
        (Lang::Uk, EmailReminder) => &[
            "Вітаю! Це знову {sender} з магазину «{shop}». Пишу ще раз: раптом попередній лист загубився. Якщо знайдеться хвилинка, оцініть замовлення — достатньо натиснути одне з посилань нижче.",
            "Добрий день! {sender}, магазин «{shop}». Нагадаю про наше запитання: як вам покупка? Натисніть одне з посилань нижче — відповідати на лист не потрібно.",
        ],
        (Lang::En, EmailReminder) => &[
            "Hello again, it's {sender} from {shop}. Writing once more in case our last email got lost. If you have a moment, rate your order with one of the links below.",
            "Hi! {sender} from {shop} here. Just a reminder of our question: how was your purchase? Tap one of the links below; no need to reply.",
        ],
        // After words we could not read: no promise of what the answer will be, only that a
        // person will give it.
        (Lang::Ru, HandedToColleague) => &[
            "Спасибо, получили ваше сообщение. Передаём его коллеге — вам скоро ответят.",
            "Спасибо, сообщение дошло! Передали его коллеге, с вами свяжутся.",
            "Спасибо, что написали. Ваше сообщение прочитает специалист и ответит вам.",
            "Получили, спасибо! Коллега прочитает и ответит в ближайшее время.",
        ],
        (Lang::Uk, HandedToColleague) => &[
            "Дякуємо, отримали ваше повідомлення. Передаємо його колезі — вам скоро відповідять.",
            "Дякуємо, повідомлення дійшло! Передали його колезі, з вами зв'яжуться.",
        ],
        (Lang::En, HandedToColleague) => &[
            "Thanks, we got your message. We're passing it to a colleague who will get back to you.",
            "Got it, thank you! A colleague will read it and reply soon.",
        ],
        (Lang::Ru, Request) => &[
            "Здравствуйте! Это {sender}, магазин «{shop}». Как вам заказ, всё в порядке? Оцените, пожалуйста, от 1 до 5 — достаточно одной цифры в ответ 🙂",
            "Добрый день! Пишет {sender} из магазина «{shop}». Как всё прошло с покупкой? Напишите цифру от 1 до 5: 5 — всё отлично, 1 — совсем плохо.",
            "Здравствуйте 🙂 Это {sender} из магазина «{shop}». Подскажите, довольны покупкой? Если не сложно, ответьте одной цифрой от 1 до 5.",
            "Добрый день! {sender}, магазин «{shop}», на связи. Как вам у нас, всё понравилось? Поставьте оценку от 1 до 5 — нам это правда важно.",
            "Здравствуйте! Меня зовут {sender}, пишу из магазина «{shop}» узнать, всё ли хорошо с заказом. От 1 до 5 — на сколько оцените?",
            "Добрый день, это {sender} из магазина «{shop}». Заказ уже у вас — как впечатления? Пришлите цифру от 1 до 5, где 5 — лучше некуда.",
        ],
        (Lang::Ru, EmailSubject) => &[
            "Как вам заказ в магазине «{shop}»?",
            "Магазин «{shop}»: всё ли в порядке с покупкой?",
            "Магазин «{shop}»: как всё прошло?",
            "Один вопрос о покупке в магазине «{shop}»",
        ],
        (Lang::Ru, EmailRequest) => &[
            "Здравствуйте! Это {sender} из магазина «{shop}». Хотим узнать, как прошла ваша покупка. Отвечать на письмо не нужно: просто нажмите на одну из ссылок ниже.",
            "Добрый день! Меня зовут {sender}, я из магазина «{shop}» и хочу спросить, всё ли понравилось в заказе. Достаточно нажать на одну из ссылок ниже — писать ответ не нужно.",
            "Здравствуйте! {sender}, магазин «{shop}». Подскажите, как вам заказ? Выберите оценку и нажмите на её ссылку ниже — на письмо отвечать не нужно.",
            "Добрый день! Это {sender}, магазин «{shop}». Нам правда важно, как всё прошло. Нажмите на одну из ссылок ниже — этого достаточно, отвечать не нужно.",
        ],
        (Lang::Ru, Thanks) => &[
            "Спасибо большое! Мы обязательно учтём вашу оценку — для нас это правда важно.",
            "Спасибо, что нашли минутку ответить! Нам очень приятно, обязательно передадим это команде.",
            "От души спасибо! Команда обязательно увидит вашу оценку.",
            "Очень приятно, спасибо! Обязательно передадим вашу оценку ребятам.",
        ],
        (Lang::Ru, ComplaintAcknowledged) => &[
            "Очень жаль, что так получилось. Мы уже передали это в службу качества, с вами обязательно свяжутся и во всём разберутся.",
            "Простите, что подвели. Служба качества получила ваше обращение, специалист скоро с вами свяжется.",
            "Спасибо, что честно написали. Обращение уже в службе качества, вам позвонят или напишут в ближайшее время.",
            "Нам очень неприятно это слышать. Служба качества взяла обращение в работу, с вами свяжутся, чтобы всё исправить.",
        ],
        (Lang::Ru, AskContactConsent) => &[
            "Спасибо за честный ответ. Хотите, чтобы мы вам позвонили и разобрались, что можно было сделать лучше? Напишите «да» или «нет».",
            "Понятно, спасибо. Может, вам позвонить и обсудить, что пошло не так? Ответьте «да» или «нет».",
            "Спасибо! Нам важно понять, что улучшить. Можно нашему специалисту связаться с вами? Ответьте «да» или «нет».",
            "Благодарим за оценку. Хотите, чтобы с вами связались и обсудили заказ? Достаточно ответить «да» или «нет».",
        ],
        (Lang::Ru, ContactConfirmed) => &[
            "Хорошо, передали вашу просьбу. С вами свяжутся в ближайшее время.",
            "Договорились! Специалист службы качества скоро с вами свяжется.",
            "Спасибо! Обращение уже в службе качества, вам позвонят или напишут.",
            "Принято. Скоро свяжемся с вами и обсудим, что можно исправить.",
        ],
        (Lang::Ru, Apology) => &[
            "Понимаем. Простите, что не всё прошло гладко, постараемся исправиться. Хорошего дня!",
            "Хорошо, не будем беспокоить. Извините, если что-то было не так, и спасибо за ответ.",
            "Извините за неудобства. Спасибо, что ответили, учтём на будущее. Всего доброго!",
            "Простите, что не дотянули до пятёрки. Спасибо за честность, хорошего вам дня!",
        ],
        (Lang::Ru, OptOutConfirmed) => &[
            "Поняли, больше писать не будем. Извините за беспокойство!",
            "Хорошо, больше сообщений от нас не будет.",
            "Готово: больше не будем вас беспокоить. Всего доброго!",
            "Принято, больше не напишем. Хорошего дня!",
        ],

        (Lang::Uk, Request) => &[
            "Добрий день! Це {sender}, магазин «{shop}». Як вам замовлення, все гаразд? Оцініть, будь ласка, від 1 до 5 — достатньо однієї цифри у відповідь 🙂",
            "Вітаю! Пише {sender} з магазину «{shop}». Як вам покупка, усе добре? Напишіть цифру від 1 до 5: 5 — усе чудово, 1 — зовсім погано.",
            "Добрий день 🙂 Це {sender} з магазину «{shop}». Скажіть, чи задоволені ви покупкою? Якщо не складно, дайте відповідь однією цифрою від 1 до 5.",
        ],
        (Lang::Uk, EmailSubject) => &[
            "Як вам замовлення в магазині «{shop}»?",
            "Магазин «{shop}»: чи все гаразд із покупкою?",
        ],
        (Lang::Uk, EmailRequest) => &[
            "Вітаю! Це {sender} з магазину «{shop}». Хочемо дізнатися, чи задоволені ви покупкою. Відповідати на лист не потрібно: просто натисніть одне з посилань нижче.",
            "Добрий день! Мене звати {sender}, я з магазину «{shop}» і хочу запитати, чи все сподобалося в замовленні. Достатньо натиснути одне з посилань нижче — писати відповідь не потрібно.",
        ],
        (Lang::Uk, Thanks) => &[
            "Щиро дякуємо! Ми обов'язково врахуємо вашу оцінку — для нас це справді важливо.",
            "Дякуємо, що знайшли хвилинку! Нам дуже приємно, обов'язково передамо це команді.",
        ],
        (Lang::Uk, ComplaintAcknowledged) => &[
            "Дуже шкода, що так вийшло. Ми вже передали це до служби якості, з вами обов'язково зв'яжуться.",
            "Вибачте, що ми вас підвели. Служба якості отримала ваше звернення, фахівець незабаром з вами зв'яжеться.",
        ],
        (Lang::Uk, AskContactConsent) => &[
            "Дякуємо за чесну відповідь. Хочете, щоб ми вам зателефонували й розібралися, що можна покращити? Напишіть «так» або «ні».",
            "Зрозуміло, дякуємо. Може, вам зателефонувати й обговорити, що пішло не так? Достатньо відповісти «так» або «ні».",
        ],
        (Lang::Uk, ContactConfirmed) => &[
            "Домовилися! Фахівець служби якості незабаром з вами зв'яжеться.",
            "Добре, передали ваше прохання. Вам зателефонують або напишуть найближчим часом.",
        ],
        (Lang::Uk, Apology) => &[
            "Розуміємо. Вибачте, що не все було гаразд, ми працюватимемо над цим. Гарного дня!",
            "Добре, не турбуватимемо. Вибачте за незручності й дякуємо, що відповіли.",
        ],
        (Lang::Uk, OptOutConfirmed) => &[
            "Зрозуміли, більше не писатимемо. Вибачте за турбування!",
            "Добре, більше повідомлень від нас не буде.",
        ],

        (Lang::En, Request) => &[
            "Hi! It's {sender} from {shop}. How did your order go? Could you rate it from 1 to 5? Just reply with one digit 🙂",
            "Hello! {sender} from {shop} here, with a quick question: is everything fine with your purchase? Reply with a number from 1 to 5, where 5 is great and 1 is really bad.",
            "Hi there 🙂 It's {sender} at {shop}. Happy with your order? A quick 1 to 5 in reply would help us a lot.",
        ],
        (Lang::En, EmailSubject) => &[
            "How was your order from {shop}?",
            "{shop}: everything fine with your purchase?",
        ],
        (Lang::En, EmailRequest) => &[
            "Hello! It's {sender} from {shop}. We'd love to know how your purchase went. No need to reply to this email: just tap one of the links below.",
            "Hi, this is {sender} at {shop}, writing to ask whether you were happy with your order. One tap on a link below is enough; no need to reply.",
        ],
        (Lang::En, Thanks) => &[
            "Thank you so much! Your rating really matters to us, and the team will see it.",
            "Thanks for taking a moment! It means a lot, and we'll pass it on to the team.",
        ],
        (Lang::En, ComplaintAcknowledged) => &[
            "We're really sorry it went that way. Our quality team already has your rating, and someone will get in touch with you soon.",
            "Sorry we let you down. Our quality team has your feedback now, and a specialist will contact you shortly.",
        ],
        (Lang::En, AskContactConsent) => &[
            "Thanks for being honest. Would you like us to give you a call and talk about what we could do better? Just reply yes or no.",
            "Got it, thank you. Should someone from our team get in touch with you about it? Yes or no is enough.",
        ],
        (Lang::En, ContactConfirmed) => &[
            "Will do: someone from our quality team will be in touch soon.",
            "Great, we've passed it on. Expect a call or a message shortly.",
        ],
        (Lang::En, Apology) => &[
            "Understood. Sorry things weren't perfect; we'll work on it. Have a good day!",
            "Okay, we won't bother you. Sorry for the trouble, and thanks for replying.",
        ],
        (Lang::En, OptOutConfirmed) => &[
            "Got it, we won't message you again. Sorry for the bother!",
            "Done: you won't get any more messages from us.",
        ],
    }
}

/// A word or two for each rating, shown next to the email's links ("5 — отлично"). Fixed rather
/// than configurable: they label a scale, they do not carry the shop's voice.
pub fn rating_label(rating: crate::model::Rating, lang: Lang) -> &'static str {
    let labels: [&str; 5] = match lang {
        Lang::Ru => ["очень плохо", "плохо", "нормально", "хорошо", "отлично"],
        Lang::Uk => ["дуже погано", "погано", "нормально", "добре", "чудово"],
        Lang::En => ["very bad", "bad", "okay", "good", "great"],
    };
    labels[usize::from(rating.value() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The numbers written in a text, as strings of ASCII digits.
    fn numbers(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn every_kind_has_variants_in_every_language() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            let min = if lang == Lang::Ru { 4 } else { 2 };
            for kind in TextKind::ALL {
                let got = t.variants.get(&(lang, kind)).map_or(0, Vec::len);
                assert!(got >= min, "{lang:?} {kind:?}: {got} variants, want {min}+");
                let distinct: BTreeSet<_> = t.variants(kind, lang).iter().collect();
                assert_eq!(distinct.len(), got, "{lang:?} {kind:?} repeats a variant");
            }
        }
        assert_eq!(t.language(), Lang::Ru);
    }

    /// A thank-you is for the customer: how ratings feed anyone's pay is none of their business,
    /// and reads as if the shop asked for a favour.
    #[test]
    fn no_text_speaks_of_payroll_mechanics() {
        let t = Texts::defaults();
        let inside = [
            "зачёт",
            "залік",
            "counts for",
            "everyone who",
            "всем, кто",
            "усім, хто",
            "kpi",
            "премия",
            "премі",
            "bonus",
        ];
        for lang in Lang::ALL {
            for kind in TextKind::ALL {
                for v in t.variants(kind, lang) {
                    let lower = v.to_lowercase();
                    for word in inside {
                        assert!(!lower.contains(word), "{lang:?} {kind:?}: {v}");
                    }
                }
            }
        }
    }

    /// A shop and a sender as an integrator might name them.
    fn who() -> Who {
        Who {
            sender: "Анна".into(),
            shop: "Пример".into(),
        }
    }

    /// Every variant of `kind` as the customer reads it.
    fn said(t: &Texts, kind: TextKind, lang: Lang) -> Vec<String> {
        t.asks(kind, lang, &who())
    }

    #[test]
    fn every_ask_says_who_writes_and_from_which_shop() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            for kind in TextKind::ALL {
                for v in t.variants(kind, lang) {
                    if kind.is_ask() {
                        assert!(v.contains("{shop}"), "{lang:?} {kind:?}: {v}");
                        // A subject is the one place too short for a person's name.
                        let subject = matches!(
                            kind,
                            TextKind::EmailSubject | TextKind::EmailReminderSubject
                        );
                        assert!(subject || v.contains("{sender}"), "{lang:?} {kind:?}: {v}");
                    } else {
                        assert!(!v.contains('{'), "{lang:?} {kind:?}: {v}");
                    }
                }
            }
        }
        let filled = t.ask(TextKind::Request, Lang::Ru, "+79001234567", &who());
        assert!(
            filled.contains("Анна") && filled.contains("«Пример»"),
            "{filled}"
        );
        assert!(!filled.contains('{'), "{filled}");
        assert!(t
            .asks(TextKind::Request, Lang::Ru, &who())
            .contains(&filled));
    }

    /// The team a complaint goes to has one name wherever a customer meets it (messages and the
    /// landing page): «служба качества», «служба якості», "quality team".
    #[test]
    fn the_quality_team_has_one_name() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            let (word, before, after) = match lang {
                Lang::Ru => ("качеств", "служб", ""),
                Lang::Uk => ("якост", "служб", ""),
                Lang::En => ("quality", "", " team"),
            };
            let mut texts: Vec<String> = TextKind::ALL
                .iter()
                .flat_map(|k| t.variants(*k, lang).to_vec())
                .collect();
            texts.extend(
                LandingText::ALL
                    .iter()
                    .map(|k| t.landing(*k, lang).to_string()),
            );
            let mut seen = 0;
            for text in &texts {
                let lower = text.to_lowercase();
                for (at, _) in lower.match_indices(word) {
                    seen += 1;
                    let head = lower[..at].trim_end();
                    let named = head
                        .rsplit(' ')
                        .next()
                        .is_some_and(|w| w.starts_with(before))
                        && lower[at..]
                            .split(' ')
                            .nth(1)
                            .is_some_and(|w| after.is_empty() || w.starts_with(after.trim()));
                    assert!(named, "{lang:?}: another name for the team in {text}");
                }
            }
            assert!(seen >= 3, "{lang:?}: the team is named only {seen} times");
        }
    }

    /// What an editor holds every text of ours to, so a later edit cannot undo the native read:
    /// one space between words, a dash between words is « — » (never a hyphen or an en dash with
    /// spaces), an ellipsis is one character, no space before a comma or a full stop, quotes are
    /// «ёлочки» in Russian and Ukrainian and “curly” in English, never straight.
    #[test]
    fn every_text_keeps_our_typography() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            let mut all: Vec<String> = TextKind::ALL
                .iter()
                .flat_map(|k| t.variants(*k, lang).to_vec())
                .collect();
            all.extend(CrmText::ALL.iter().map(|k| ours(*k, lang).to_string()));
            all.extend(LandingText::ALL.iter().map(|k| ours(*k, lang).to_string()));
            for text in &all {
                for bad in ["  ", " - ", " – ", "...", " ,", " .", "\"", "\u{a0}"] {
                    assert!(!text.contains(bad), "{lang:?} has {bad:?}: {text}");
                }
                if lang == Lang::En {
                    assert!(!text.contains(['«', '»']), "{lang:?}: {text}");
                } else {
                    assert!(!text.contains(['“', '”']), "{lang:?}: {text}");
                }
                // One apostrophe throughout: the plain one (Ukrainian «зв'яжуться», English "we'll").
                assert!(!text.contains('’'), "{lang:?}: {text}");
            }
        }
        // English SMS in plain ASCII: GSM-7 segments hold twice the characters of UCS-2 ones.
        for kind in TextKind::ALL.into_iter().filter(|k| k.is_sms()) {
            for v in t.variants(kind, Lang::En) {
                assert!(v.is_ascii(), "{kind:?}: {v}");
            }
        }
    }

    /// Ukrainian calques of Russian that a native reader stumbles on; the issue named the first
    /// ones, the rest are their usual company.
    #[test]
    fn ukrainian_has_no_russian_calques() {
        let t = Texts::defaults();
        let calques = [
            "турботу",
            "ставати кращими",
            "приймати участь",
            "співпада",
            "на протязі",
            "являєть",
            "слідуюч",
            "підкажіть",
            "можливо, вам",
            "у задачі",
            "за задачею",
        ];
        let mut all: Vec<String> = TextKind::ALL
            .iter()
            .flat_map(|k| t.variants(*k, Lang::Uk).to_vec())
            .collect();
        all.extend(CrmText::ALL.iter().map(|k| ours(*k, Lang::Uk).to_string()));
        all.extend(
            LandingText::ALL
                .iter()
                .map(|k| ours(*k, Lang::Uk).to_string()),
        );
        for text in &all {
            let lower = text.to_lowercase();
            for c in calques {
                assert!(!lower.contains(c), "{c:?} in: {text}");
            }
        }
    }

    #[test]
    fn no_variant_looks_like_a_template() {
        let t = Texts::defaults();
        let forbidden = ["{", "}", "№", "руб", "₽", "http", "www.", "<", ">", "@"];
        for lang in Lang::ALL {
            for kind in TextKind::ALL {
                for v in &said(&t, kind, lang) {
                    let lower = v.to_lowercase();
                    for f in forbidden {
                        assert!(!lower.contains(f), "{lang:?} {kind:?} has {f:?}: {v}");
                    }
                    // The only numbers we ever write are points of the 1–5 scale, so nothing can
                    // pass for an order number, a sum or a date.
                    for n in numbers(v) {
                        assert!(
                            matches!(n, "1" | "2" | "3" | "4" | "5"),
                            "{lang:?} {kind:?} has the number {n}: {v}"
                        );
                    }
                    assert_eq!(v.trim(), v, "{lang:?} {kind:?} has stray spaces");
                    assert!(!v.contains('\n'), "{lang:?} {kind:?} is not one line");
                }
            }
        }
    }

    #[test]
    fn every_question_names_the_scale() {
        let t = Texts::defaults();
        for lang in Lang::ALL {
            for v in &said(&t, TextKind::Request, lang) {
                let n = numbers(v);
                // Both ends of the scale, written as digits, with the low end first: that is what
                // "from 1 to 5" looks like in any of our languages.
                let one = n.iter().position(|x| *x == "1");
                let five = n.iter().position(|x| *x == "5");
                assert!(
                    matches!((one, five), (Some(a), Some(b)) if a < b),
                    "{lang:?} request does not ask for 1 to 5: {v}"
                );
                // Short enough to read at a glance in a chat, names included.
                assert!(v.chars().count() <= 180, "{lang:?} request too long: {v}");
            }
        }
    }

    #[test]
    fn message_kinds_map_to_texts() {
        assert_eq!(TextKind::from(MessageKind::Thanks), TextKind::Thanks);
        assert_eq!(
            TextKind::from(MessageKind::OptOutConfirmed),
            TextKind::OptOutConfirmed
        );
        assert_eq!(
            TextKind::from(MessageKind::AskContactConsent),
            TextKind::AskContactConsent
        );
    }

    #[test]
    fn pick_is_deterministic_and_spreads() {
        let t = Texts::defaults();
        let a = t.pick(TextKind::Request, Lang::Ru, "+79001234567");
        for _ in 0..3 {
            assert_eq!(t.pick(TextKind::Request, Lang::Ru, "+79001234567"), a);
        }
        let all = t.variants(TextKind::Request, Lang::Ru);
        let mut hits = vec![0usize; all.len()];
        for i in 0..100 {
            let seed = format!("+7900{:07}", 1_234_500 + i);
            let picked = t.pick(TextKind::Request, Lang::Ru, &seed);
            let at = all.iter().position(|v| v == picked).unwrap();
            hits[at] += 1;
        }
        assert!(
            hits.iter().all(|&h| h > 0),
            "some variant never picked: {hits:?}"
        );
        assert!(
            hits.iter().all(|&h| h < 50),
            "one variant dominates: {hits:?}"
        );
    }

    #[test]
    fn the_hash_is_fnv1a_underneath() {
        // Known FNV-1a 64 values, before our finaliser, so the constants cannot silently drift.
        fn raw(bytes: &[u8]) -> u64 {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        }
        assert_eq!(raw(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(raw(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(raw(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a64(&[b"seed"]), fnv1a64(&[b"se", b"ed"]));
        assert_ne!(fnv1a64(&[b"seed"]), fnv1a64(&[b"seeD"]));
    }

    #[test]
    fn missing_languages_fall_back_to_russian() {
        let mut t = Texts::defaults();
        t.variants.remove(&(Lang::En, TextKind::Thanks));
        assert_eq!(
            t.variants(TextKind::Thanks, Lang::En),
            t.variants(TextKind::Thanks, Lang::Ru)
        );
        assert!(!t.pick(TextKind::Thanks, Lang::En, "x").is_empty());
    }

    #[test]
    fn config_overrides_replace_a_kind() {
        let cfg: TextsConfig = toml::from_str(
            r#"
            language = "uk"
            [ru]
            thanks = ["Спасибо!", "  Благодарим, учтём.  "]
            [en]
            request = ["Hi! 1 to 5?"]
            "#,
        )
        .unwrap();
        let t = Texts::from_config(&cfg).unwrap();
        assert_eq!(t.language(), Lang::Uk);
        assert_eq!(
            t.variants(TextKind::Thanks, Lang::Ru),
            ["Спасибо!".to_string(), "Благодарим, учтём.".to_string()]
        );
        assert_eq!(t.pick(TextKind::Request, Lang::En, "any"), "Hi! 1 to 5?");
        // Kinds not overridden keep ours.
        assert_eq!(
            t.variants(TextKind::Apology, Lang::Ru),
            Texts::defaults().variants(TextKind::Apology, Lang::Ru)
        );
        assert_eq!(
            Texts::from_config(&TextsConfig::default()).unwrap(),
            Texts::defaults()
        );
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |text: &str| {
            let cfg: TextsConfig = toml::from_str(text).unwrap();
            Texts::from_config(&cfg).unwrap_err().to_string()
        };
        let e = err("[ru]\nthanks = [\"Спасибо!\", \"   \"]");
        assert!(
            e.contains("`texts.ru.thanks[1]`") && e.contains("blank"),
            "{e}"
        );
        let e = err("[uk]\nrequest = [\"Привіт, {name}! Від 1 до 5?\"]");
        assert!(
            e.contains("`texts.uk.request[0]`") && e.contains("{sender}, {shop}"),
            "{e}"
        );
        let e = err("[ru]\nthanks = [\"Спасибо от {shop}!\"]");
        assert!(
            e.contains("`texts.ru.thanks[0]`") && e.contains("placeholder"),
            "{e}"
        );
        let e = err("[ru]\nsms_request = [\"{shop: оцените\"]");
        assert!(e.contains("without its pair"), "{e}");
        let e = err("[en]\nopt_out_confirmed = []");
        assert!(e.contains("`texts.en.opt_out_confirmed`"), "{e}");

        assert!(toml::from_str::<TextsConfig>("language = \"de\"").is_err());
        assert!(toml::from_str::<TextsConfig>("[ru]\nthankz = [\"x\"]").is_err());
        assert!(toml::from_str::<TextsConfig>("lang = \"ru\"").is_err());
    }

    #[test]
    fn kind_keys_match_serde_names() {
        for kind in TextKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.key()));
        }
        for lang in Lang::ALL {
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.code()));
        }
    }

    #[test]
    fn rating_labels() {
        use crate::model::Rating;
        let five = Rating::new(5).unwrap();
        let one = Rating::new(1).unwrap();
        assert_eq!(rating_label(five, Lang::Ru), "отлично");
        assert_eq!(rating_label(one, Lang::En), "very bad");
        for lang in Lang::ALL {
            let labels: BTreeSet<_> = Rating::all()
                .iter()
                .map(|r| rating_label(*r, lang))
                .collect();
            assert_eq!(labels.len(), 5);
        }
    }

    /// Fills every blank of `key`'s text with a sample value.
    fn filled<K: Wording>(template: &str, key: K) -> String {
        let values: Vec<(&str, &str)> = key.blanks().iter().map(|b| (*b, "X1")).collect();
        fill(template, &values)
    }

    fn check_ours<K: Wording + std::fmt::Debug + Serialize>() {
        let keys: BTreeSet<&str> = K::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), K::ALL.len(), "{}: a key twice", K::TABLE);
        for key in K::ALL {
            for lang in Lang::ALL {
                let text = ours(*key, lang);
                assert!(!text.is_empty(), "{lang:?} {key:?} is empty");
                assert_eq!(text.trim(), text, "{lang:?} {key:?} has stray spaces");
                assert!(!text.contains('\n'), "{lang:?} {key:?} is not one line");
                assert_eq!(wording_problem(*key, text), None, "{lang:?} {key:?}");
                let out = filled(text, *key);
                assert!(
                    !out.contains('{') && !out.contains('}'),
                    "{lang:?} {key:?} keeps a blank: {out}"
                );
                if lang != Lang::Ru {
                    // Written for the language, not copied from the Russian.
                    assert_ne!(text, ours(*key, Lang::Ru), "{lang:?} {key:?}");
                }
                if lang == Lang::En {
                    assert!(
                        !text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                        "{key:?} in English has Cyrillic: {text}"
                    );
                }
                if lang == Lang::Uk {
                    // Letters Ukrainian does not have: a sign of Russian left in.
                    assert!(
                        !text.chars().any(|c| "ыэъёЫЭЪЁ".contains(c)),
                        "{key:?} in Ukrainian looks Russian: {text}"
                    );
                }
            }
            // Every blank a text offers is used by ours in every language, so the docs' list of
            // blanks is the list of what ours shows.
            for blank in key.blanks() {
                for lang in Lang::ALL {
                    assert!(
                        ours(*key, lang).contains(&format!("{{{blank}}}")),
                        "{lang:?} {key:?} does not use {{{blank}}}"
                    );
                }
            }
            let json = serde_json::to_string(key).unwrap();
            assert_eq!(json, format!("\"{}\"", key.key()));
        }
    }

    #[test]
    fn every_crm_and_landing_text_is_ours_in_every_language() {
        check_ours::<CrmText>();
        check_ours::<LandingText>();
        let t = Texts::defaults();
        for lang in Lang::ALL {
            assert_eq!(
                t.crm(CrmText::ComplaintLink, lang),
                ours(CrmText::ComplaintLink, lang)
            );
            assert_eq!(
                t.landing(LandingText::Footer, lang),
                ours(LandingText::Footer, lang)
            );
        }
    }

    #[test]
    fn crm_and_landing_overrides_replace_one_text() {
        let cfg: TextsConfig = toml::from_str(
            r#"
            language = "en"
            [crm.en]
            notice_commentary = "  Customer said: {words}  "
            [crm.ru]
            complaint_link = "Жалоба: {rating}/5"
            [landing.uk]
            footer = "Пишіть нам у відповідь на лист."
            "#,
        )
        .unwrap();
        let t = Texts::from_config(&cfg).unwrap();
        assert_eq!(t.language(), Lang::En);
        assert_eq!(
            t.crm(CrmText::NoticeCommentary, Lang::En),
            "Customer said: {words}"
        );
        assert_eq!(
            t.crm(CrmText::ComplaintLink, Lang::Ru),
            "Жалоба: {rating}/5"
        );
        assert_eq!(
            t.landing(LandingText::Footer, Lang::Uk),
            "Пишіть нам у відповідь на лист."
        );
        // The same key in another language, and every other key, stay ours.
        assert_eq!(
            t.crm(CrmText::NoticeCommentary, Lang::Ru),
            "Покупатель написал: «{words}»"
        );
        assert_eq!(
            t.landing(LandingText::Footer, Lang::En),
            ours(LandingText::Footer, Lang::En)
        );
        assert_eq!(
            t.crm(CrmText::ReminderTitle, Lang::En),
            ours(CrmText::ReminderTitle, Lang::En)
        );
        // The customer messages are untouched.
        assert_eq!(
            t.variants(TextKind::Thanks, Lang::En),
            Texts::defaults().variants(TextKind::Thanks, Lang::En)
        );
    }

    #[test]
    fn asks_are_checked_against_the_names_they_carry() {
        let t = Texts::defaults();
        t.check_asks(&TextsConfig::default(), &who()).unwrap();
        // A long name makes one of our SMS three segments: the error names `shop.name`.
        let long = Who {
            sender: "Александра".into(),
            shop: "Интернет-гипермаркет товаров для дома и сада".into(),
        };
        let e = t
            .check_asks(&TextsConfig::default(), &long)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`shop.name`") && e.contains("segments"), "{e}");
        // The shop's own short SMS with that name is fine; its own long one is named.
        let cfg: TextsConfig = toml::from_str(
            "[ru]\nsms_request = [\"{shop}: оцените заказ\"]\nsms_reminder = [\"{shop}: ждём оценку\"]",
        )
        .unwrap();
        let t = Texts::from_config(&cfg).unwrap();
        t.check_asks(&cfg, &long).unwrap();
        let cfg: TextsConfig = toml::from_str(&format!(
            "[ru]\nsms_request = [\"{{shop}}: {}\"]",
            "оцените ".repeat(12)
        ))
        .unwrap();
        let t = Texts::from_config(&cfg).unwrap();
        let e = t.check_asks(&cfg, &who()).unwrap_err().to_string();
        assert!(e.contains("`texts.ru.sms_request[0]`"), "{e}");
        // An ask that does not say who asks is refused; the name written out is as good.
        for (text, ok) in [
            ("Здравствуйте! От 1 до 5?", false),
            ("Здравствуйте, это магазин Пример! От 1 до 5?", true),
            ("Это {sender}, «{shop}». От 1 до 5?", true),
        ] {
            let cfg = TextsConfig {
                uk: BTreeMap::from([(TextKind::Request, vec![text.to_string()])]),
                ..TextsConfig::default()
            };
            let got = Texts::from_config(&cfg).unwrap().check_asks(&cfg, &who());
            assert_eq!(got.is_ok(), ok, "{text}: {got:?}");
            if let Err(e) = got {
                assert!(e.to_string().contains("`texts.uk.request[0]`"), "{e}");
            }
        }
    }

    #[test]
    fn fill_fills_the_template_only() {
        assert_eq!(
            fill(
                "{title}: заказ {order}.",
                &[("title", "T"), ("order", "{title}")]
            ),
            "T: заказ {title}."
        );
        assert_eq!(fill("{a}{a}", &[("a", "1")]), "11");
        // Not a blank we were given: written as it is.
        assert_eq!(fill("a {b} c", &[]), "a {b} c");
        assert_eq!(fill("a { b", &[("b", "x")]), "a { b");
    }
}
