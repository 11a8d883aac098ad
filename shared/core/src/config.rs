//! `otklik.toml` → typed configuration, and secrets from the environment.
//!
//! Every function loads this once per cold start. A mistake names the key (`survey.window.start`)
//! and says what is wrong, because the person reading the error is an integrator setting up a
//! shop, not the author. Secrets never come from the file: the loader refuses them with a pointer
//! to the environment variable that should hold them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

pub use crate::config_error::ConfigError;
use crate::model::{Channel, EmployeeId};
use crate::reply::ParserOptions;
use crate::texts::{Texts, TextsConfig, Who};

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// The whole configuration of one Otklik installation (one retailCRM account).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Region for phone numbers written without a country code (ISO 3166, e.g. "RU").
    #[serde(default = "default_region")]
    pub default_region: String,
    /// Customers' time zone when neither the site nor the customer says otherwise.
    #[serde(deserialize_with = "de_tz")]
    pub timezone: Tz,
    pub crm: CrmConfig,
    pub complaints: ComplaintsConfig,
    pub survey: SurveyConfig,
    #[serde(default)]
    pub sites: BTreeMap<String, SiteConfig>,
    #[serde(default)]
    pub parser: ParserOptions,
    /// Who asks: the shop's name and the sender's first name, in every request.
    pub shop: ShopConfig,
    pub whatsapp: WhatsappConfig,
    pub email: EmailConfig,
    /// The order in which channels are tried (`[channels] chain`), for every site that does not
    /// set its own. Absent: WhatsApp (when a provider is configured), then email.
    #[serde(default)]
    pub channels: ChannelsConfig,
    /// The language of our messages and the shop's own wordings; ours when absent.
    #[serde(default)]
    pub texts: TextsConfig,
    /// MAX through GREEN-API v3; absent: no MAX.
    pub max: Option<MaxConfig>,
    /// SMS through a provider; absent: no SMS.
    pub sms: Option<SmsConfig>,
    /// The owner's reports: who gets the weekly digest, and when (`[report]`); absent: nobody.
    #[serde(default)]
    pub report: ReportConfig,
    /// How long personal data stays after a survey ends (`[privacy]`).
    #[serde(default)]
    pub privacy: PrivacyConfig,
}

/// `[privacy]`: how long a customer's phone, email and words stay on a survey after it ends
/// (SPEC §8). Ratings, credits and the KPI stay for the survey's whole life.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// After this long past its end, a survey's contact and the customer's words are erased
    /// (30 days unless set: long enough for the inspector to call back and for a complaint to be
    /// worked; "0" erases at the next daily sweep).
    #[serde(
        deserialize_with = "de_duration",
        default = "default_contact_retention"
    )]
    pub contact_retention: Duration,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            contact_retention: default_contact_retention(),
        }
    }
}

fn default_contact_retention() -> Duration {
    Duration::from_secs(30 * 86_400)
}

/// The longest `privacy.contact_retention` accepted: a survey item itself lives 400 days, and
/// keeping the contact longer than the KPI's year would keep it for the item's whole life.
pub const MAX_CONTACT_RETENTION: Duration = Duration::from_secs(365 * 86_400);

fn default_region() -> String {
    "RU".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmConfig {
    /// `https://<account>.retailcrm.ru`.
    pub url: String,
    /// Order statuses that start a survey (e.g. `complete`).
    pub survey_statuses: Vec<String>,
    /// Statuses that cancel a planned survey at send time (cancelled, returned).
    #[serde(default)]
    pub cancel_statuses: Vec<String>,
    /// Code of the read-only custom field «Оценка покупателя».
    pub rating_field: String,
    /// Code of the field that keeps the customer's own words.
    pub words_field: String,
    /// retailCRM allows 10 requests/s per API key; stay at or under it.
    #[serde(default = "default_rate")]
    pub rate_limit_per_second: u32,
    /// The account's time zone: retailCRM writes datetimes as local "Y-m-d H:i:s" in it.
    /// Defaults to the top-level `timezone`.
    #[serde(default, deserialize_with = "de_opt_tz")]
    pub timezone: Option<Tz>,
}

fn default_rate() -> u32 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintsConfig {
    /// Code of the virtual store «Рекламации».
    pub site: String,
    /// The inspector: manager of every complaint, performer of every task.
    pub inspector_id: EmployeeId,
    pub order_type: Option<String>,
    pub order_method: Option<String>,
    pub status_created: String,
    pub status_in_work: String,
    pub status_failed: String,
    pub status_resolved: String,
    /// A complaint untouched this long earns the inspector a reminder.
    #[serde(deserialize_with = "de_duration", default = "default_sla")]
    pub sla: Duration,
    /// The inspector's working hours: when set, the SLA counts only time inside them (nights and
    /// days off do not use it up); when absent, every hour counts.
    #[serde(default)]
    pub working_hours: Option<WorkingHours>,
}

/// Office hours, in the shop's time zone.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    #[serde(deserialize_with = "de_time")]
    pub start: NaiveTime,
    #[serde(deserialize_with = "de_time")]
    pub end: NaiveTime,
    /// Working days; Monday to Friday unless listed.
    #[serde(default = "weekdays", deserialize_with = "de_days")]
    pub days: Vec<Weekday>,
}

fn weekdays() -> Vec<Weekday> {
    use Weekday::*;
    vec![Mon, Tue, Wed, Thu, Fri]
}

fn default_sla() -> Duration {
    Duration::from_secs(4 * 3600)
}

/// `[report]`: the weekly digest by email (issue 21). The digest goes out once a week, at
/// `digest_hour` on `digest_day` in the shop's time zone (`timezone`), to every `digest_to`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Who gets the digest; empty (the default): nobody, and the digest's schedule does nothing.
    #[serde(default)]
    pub digest_to: Vec<String>,
    /// The day it goes out (Monday unless set): Monday morning is when a week is looked back on.
    #[serde(default = "default_digest_day", deserialize_with = "de_day")]
    pub digest_day: Weekday,
    /// The hour it goes out, 0–23 (9 unless set).
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u32,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            digest_to: Vec::new(),
            digest_day: default_digest_day(),
            digest_hour: default_digest_hour(),
        }
    }
}

/// The most addresses a digest goes to: SES takes at most 50 recipients a message, and a longer
/// list is more likely a pasted mailing list than the shop's managers.
pub const MAX_DIGEST_RECIPIENTS: usize = 20;

fn default_digest_day() -> Weekday {
    Weekday::Mon
}

fn default_digest_hour() -> u32 {
    9
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    /// Delay after the status change when no rule matches.
    #[serde(deserialize_with = "de_duration")]
    pub default_delay: Duration,
    /// Rules are tried in order; the first that matches sets the delay.
    #[serde(default)]
    pub rules: Vec<TimingRule>,
    pub window: SendWindow,
    /// Survey one customer at most once per this period.
    #[serde(deserialize_with = "de_duration")]
    pub frequency_cap: Duration,
    /// No answer within this period after sending → expired.
    #[serde(deserialize_with = "de_duration")]
    pub reply_window: Duration,
    /// Several unreadable messages within this period make one inspector task, not many.
    #[serde(deserialize_with = "de_duration", default = "default_batch")]
    pub inspector_batch_window: Duration,
    /// No answer this long after the question → ask once more (moved into the send window).
    /// `None` (written `"off"`): never remind.
    #[serde(deserialize_with = "de_reminder", default = "default_reminder")]
    pub reminder_after: Option<Duration>,
}

fn default_reminder() -> Option<Duration> {
    Some(Duration::from_secs(24 * 3600))
}

fn de_reminder<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let raw = String::deserialize(d)?;
    if raw.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    parse_duration(&raw)
        .map_err(|e| serde::de::Error::custom(format!("{e}, or \"off\"")))
        .map(Some)
}

fn default_batch() -> Duration {
    Duration::from_secs(15 * 60)
}

/// One timing rule. Every criterion given must match; an absent criterion matches anything.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TimingRule {
    /// A label for logs and reports.
    pub name: Option<String>,
    pub site: Option<String>,
    pub order_type: Option<String>,
    pub order_method: Option<String>,
    pub delivery_type: Option<String>,
    /// Matches when any item of the order belongs to this product group.
    pub product_group: Option<String>,
    #[serde(deserialize_with = "de_duration")]
    pub delay: Duration,
}

/// When messages may go out, in the customer's local time.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    #[serde(deserialize_with = "de_time")]
    pub start: NaiveTime,
    #[serde(deserialize_with = "de_time")]
    pub end: NaiveTime,
    /// Days on which sending is allowed. Customers shop at weekends, so all seven by default.
    #[serde(default = "all_days", deserialize_with = "de_days")]
    pub days: Vec<Weekday>,
}

fn all_days() -> Vec<Weekday> {
    use Weekday::*;
    vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun]
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Time zone of this site's customers, when it differs from the default.
    #[serde(default, deserialize_with = "de_opt_tz")]
    pub timezone: Option<Tz>,
    /// `false` switches surveys off for this site (e.g. the complaints store itself).
    #[serde(default = "yes")]
    pub surveys: bool,
    /// This site's own channel chain (e.g. a Kazakh site of a Russian shop), instead of
    /// `[channels] chain`.
    #[serde(default)]
    pub channels: Option<Vec<Channel>>,
}

/// `[channels]`: how a survey reaches the customer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Tried in this order: the question goes out on the first channel on which the customer can
    /// be reached, and falls down the chain when that one fails. E.g. `["max", "sms", "email"]`
    /// for Russia, `["whatsapp", "email"]` for Kazakhstan.
    #[serde(default)]
    pub chain: Option<Vec<Channel>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhatsappProvider {
    Meta,
    GreenApi,
    /// Email only.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    pub provider: WhatsappProvider,
    pub meta: Option<MetaConfig>,
    pub green_api: Option<GreenApiConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    #[serde(default = "meta_url")]
    pub api_url: String,
    pub api_version: String,
    pub phone_number_id: String,
    /// An approved utility template for messages outside the 24-hour window.
    pub template_name: String,
    pub template_language: String,
    /// Whether the template carries quick-reply buttons 1–5.
    #[serde(default)]
    pub template_has_buttons: bool,
    /// The rating each of the template's five quick-reply buttons means, first button first
    /// (docs/channels.md, "The WhatsApp template"). Each send puts `rating_<n>` on the button
    /// at that place, so a template laid out 1→5 needs `[1, 2, 3, 4, 5]` here; otherwise every
    /// rating would arrive reversed. Default `[5, 4, 3, 2, 1]`: the best first, as
    /// `otklik whatsapp template` creates it.
    #[serde(default = "default_button_ratings")]
    pub template_button_ratings: Vec<u8>,
    /// The WhatsApp Business Account id (WhatsApp Manager → Account tools), under which
    /// `otklik whatsapp template` creates the template. Only that command needs it.
    #[serde(default)]
    pub business_account_id: Option<String>,
}

fn default_button_ratings() -> Vec<u8> {
    vec![5, 4, 3, 2, 1]
}

fn meta_url() -> String {
    "https://graph.facebook.com".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreenApiConfig {
    pub api_url: String,
    pub instance_id: String,
}

/// `[shop]`: who the customer hears from. A question from a stranger reads as spam or phishing,
/// so every ask (messenger, SMS, email) names the person writing and the shop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    /// The shop's name as customers know it, without quotes and without the word "магазин": our
    /// texts write «{shop}» around it.
    pub name: String,
    /// The first name messages are written under; the first word of `email.from_name` when
    /// absent, so the email's From, its signature and the messages name one person.
    #[serde(default)]
    pub sender: Option<String>,
}

/// Signatures a phone's mail app adds: one next to an @shop address reads as a fake.
const DEVICE_SIGNATURES: &[&str] = &[
    "отправлено из",
    "отправлено с",
    "надіслано з",
    "sent from",
    "get outlook for",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// A person's name: the email comes from someone, not from a brand.
    pub from_name: String,
    pub from_address: String,
    /// A mailbox somebody reads.
    pub reply_to: String,
    /// An extra line under the sender's name and the shop (e.g. the shop's phone or site).
    /// Empty for none.
    #[serde(default)]
    pub signature: String,
    /// Base of the rating links, e.g. `https://feedback.example.ru`.
    pub landing_base_url: String,
    /// How long a rating link stays valid.
    #[serde(deserialize_with = "de_duration", default = "default_link_ttl")]
    pub link_ttl: Duration,
    /// Moved to `[shop] name`: refused in a file. The loader fills it with `shop.name` for the
    /// readers of [`EmailConfig::shop_display_name`].
    #[serde(default)]
    pub shop_name: String,
    /// Link scanners open every link of a mail within seconds: two different ratings of one survey
    /// opened within this window are treated as a scanner, not a person.
    #[serde(deserialize_with = "de_duration", default = "default_scanner_window")]
    pub scanner_window: Duration,
    /// A link opened sooner than this after the email was sent is a mail server's scanner: people
    /// do not read and click that fast.
    #[serde(deserialize_with = "de_duration", default = "default_min_click_delay")]
    pub min_click_delay: Duration,
}

fn default_scanner_window() -> Duration {
    Duration::from_secs(10)
}

fn default_min_click_delay() -> Duration {
    Duration::from_secs(15)
}

impl EmailConfig {
    /// The shop's name (`[shop] name`, which the loader copies here).
    pub fn shop_display_name(&self) -> &str {
        if self.shop_name.trim().is_empty() {
            &self.from_name
        } else {
            &self.shop_name
        }
    }
}

fn default_link_ttl() -> Duration {
    Duration::from_secs(30 * 86_400)
}

// --- field parsers: each error message says what shape was expected ---

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let raw = String::deserialize(d)?;
    parse_duration(&raw).map_err(serde::de::Error::custom)
}

/// "0", "at once", "90m", "36h", "2d", "1d 12h", "2w".
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    if s == "0" || s.eq_ignore_ascii_case("at once") {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| {
        format!("invalid duration {raw:?} ({e}); write e.g. \"0\", \"90m\", \"36h\", \"2d\", \"1d 12h\"")
    })
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let raw = String::deserialize(d)?;
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| {
        serde::de::Error::custom(format!("invalid time {raw:?}; write HH:MM, e.g. \"10:00\""))
    })
}

fn parse_tz(raw: &str) -> Result<Tz, String> {
    raw.trim().parse::<Tz>().map_err(|_| {
        format!("unknown time zone {raw:?}; use an IANA name such as \"Europe/Moscow\"")
    })
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let raw = String::deserialize(d)?;
    parse_tz(&raw).map_err(serde::de::Error::custom)
}

fn de_opt_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
    let raw = String::deserialize(d)?;
    parse_tz(&raw).map(Some).map_err(serde::de::Error::custom)
}

fn de_days<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .map(|day| {
            day.trim().parse::<Weekday>().map_err(|_| {
                serde::de::Error::custom(format!(
                    "unknown weekday {day:?}; use mon, tue, wed, thu, fri, sat, sun"
                ))
            })
        })
        .collect()
}

fn de_day<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
    let raw = String::deserialize(d)?;
    raw.trim().parse::<Weekday>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown weekday {raw:?}; use mon, tue, wed, thu, fri, sat, sun"
        ))
    })
}

/// Key names that mean "a secret" wherever they appear, with the variable that should hold them.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("api_key", ENV_CRM_API_KEY),
    ("access_token", ENV_META_ACCESS_TOKEN),
    ("app_secret", ENV_META_APP_SECRET),
    ("verify_token", ENV_META_VERIFY_TOKEN),
    ("token", ENV_GREEN_API_TOKEN),
    ("api_token", ENV_GREEN_API_TOKEN),
    ("webhook_token", ENV_GREEN_API_WEBHOOK_TOKEN),
    ("link_secret", ENV_LINK_SECRET),
    ("trigger_secret", ENV_TRIGGER_SECRET),
    ("secret", ENV_LINK_SECRET),
    ("password", ENV_CRM_API_KEY),
    ("api_id", ENV_SMSRU_API_ID),
];

fn find_secret(value: &toml::Value, path: &str) -> Option<ConfigError> {
    let table = value.as_table()?;
    for (k, v) in table {
        let key = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        if let Some((_, env)) = SECRET_KEYS.iter().find(|(name, _)| name == k) {
            return Some(ConfigError::SecretInFile { key, env });
        }
        if let Some(err) = find_secret(v, &key) {
            return Some(err);
        }
    }
    None
}

impl Config {
    /// Parses and validates the text of `otklik.toml`; the first problem when there are several.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::check(text).map_err(|mut problems| problems.swap_remove(0))
    }

    /// Parses and validates the text of `otklik.toml`, and says every problem at once: a person
    /// fixing a file should not need one run per mistake. Never an empty `Err`.
    ///
    /// A TOML syntax error stops everything (nothing after it can be read). Otherwise every key
    /// that looks like a secret, every key of the wrong shape (each one is set aside and the file
    /// read again, up to [`MAX_PROBLEMS`] times; a required key missing ends that), and, when the
    /// rest could be read, every rule the values break.
    pub fn check(text: &str) -> Result<Config, Vec<ConfigError>> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| {
            // Where, in the words of an editor's status bar: a person fixes the file by line.
            let at = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}: ")
            });
            // toml's message may run over lines ("invalid table header\nexpected `.`, `]`"):
            // one line each, so a list of problems stays one problem a line.
            let message = e.message().trim().replace('\n', "; ");
            vec![ConfigError::Syntax(format!(
                "{}{message}",
                at.unwrap_or_default()
            ))]
        })?;
        let mut problems = Vec::new();
        // A secret's key is reported once, as a secret, not again as an unknown key.
        while let Some(err) = find_secret(&value, "") {
            let ConfigError::SecretInFile { key, .. } = &err else {
                break;
            };
            if !remove_key(&mut value, key) {
                problems.push(err);
                break;
            }
            problems.push(err);
        }
        let mut set_aside: Vec<String> = Vec::new();
        let config = loop {
            match serde_path_to_error::deserialize::<_, Config>(value.clone()) {
                Ok(config) => break Some(config),
                Err(e) => {
                    let (key, message, missing) = serde_words(&e);
                    // A key set aside for its shape is then missing: said once already.
                    if missing && set_aside.contains(&key) {
                        break None;
                    }
                    problems.push(invalid(&key, message));
                    if missing || problems.len() >= MAX_PROBLEMS || !remove_key(&mut value, &key) {
                        break None;
                    }
                    set_aside.push(key);
                }
            }
        };
        if let Some(mut config) = config {
            if !config.email.shop_name.trim().is_empty() {
                problems.push(invalid(
                    "email.shop_name",
                    "moved: write the shop's name as `name` in a [shop] table, it now names the \
                     shop in every message, not only on the landing page",
                ));
            }
            config.email.shop_name = config.shop.name.trim().to_string();
            problems.extend(config.problems());
            if problems.is_empty() {
                return Ok(config);
            }
        }
        Err(problems)
    }

    /// Who asks, as every request names them.
    pub fn who(&self) -> Who {
        let sender = match &self.shop.sender {
            Some(name) => name.trim(),
            None => self.email.from_name.split_whitespace().next().unwrap_or(""),
        };
        Who {
            sender: sender.to_string(),
            shop: self.shop.name.trim().to_string(),
        }
    }

    /// `[shop]` and the email's sender: named, consistent, and nothing that looks forged.
    fn validate_shop(&self) -> Result<(), ConfigError> {
        let name = self.shop.name.trim();
        if name.is_empty() {
            return Err(invalid(
                "shop.name",
                "give the shop's name as customers know it: every message says who asks",
            ));
        }
        if name.chars().any(|c| "«»\"„“”{}".contains(c)) {
            return Err(invalid(
                "shop.name",
                "write the name without quotes or braces: our texts put it in «» themselves",
            ));
        }
        if name.to_lowercase().starts_with("магазин ") {
            return Err(invalid(
                "shop.name",
                "write the name without the word \"магазин\": our texts say «магазин «…»» themselves",
            ));
        }
        if let Some(sender) = &self.shop.sender {
            let sender = sender.trim();
            if sender.is_empty() || sender.split_whitespace().count() > 1 || sender.contains('{') {
                return Err(invalid(
                    "shop.sender",
                    "one first name, or leave it out to use the first word of email.from_name",
                ));
            }
            // The From line, the signature and the messages must name one person.
            if self.email.from_name.split_whitespace().next() != Some(sender) {
                return Err(invalid(
                    "shop.sender",
                    format!(
                        "the email comes from \"{}\" but messages would be signed \"{sender}\"; \
                         use one name (or leave shop.sender out)",
                        self.email.from_name.trim()
                    ),
                ));
            }
        }
        let signature = self.email.signature.to_lowercase();
        if DEVICE_SIGNATURES.iter().any(|d| signature.contains(d)) {
            return Err(invalid(
                "email.signature",
                "a phone app's signature next to the shop's address reads as a fake; leave it \
                 empty or give a line the shop stands behind (its phone or site)",
            ));
        }
        Ok(())
    }

    /// Rules that types alone cannot say.
    fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if self
            .default_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            out.push(invalid(
                "default_region",
                format!(
                    "unknown region {:?}; use an ISO 3166 code such as \"RU\"",
                    self.default_region
                ),
            ));
        }
        if self.privacy.contact_retention > MAX_CONTACT_RETENTION {
            out.push(invalid(
                "privacy.contact_retention",
                "at most \"365d\": the survey's rating outlives it, its contact should not",
            ));
        }
        let url_ok = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        if !url_ok(&self.crm.url) {
            out.push(invalid("crm.url", "must be an http(s) URL"));
        }
        if self.crm.survey_statuses.is_empty() {
            out.push(invalid(
                "crm.survey_statuses",
                "name at least one status (e.g. \"complete\")",
            ));
        }
        if let Some(s) = self
            .crm
            .survey_statuses
            .iter()
            .find(|s| self.crm.cancel_statuses.contains(s))
        {
            out.push(invalid(
                "crm.cancel_statuses",
                format!("status {s:?} is also a survey status"),
            ));
        }
        if self.crm.rating_field.trim().is_empty() {
            out.push(invalid("crm.rating_field", "must not be empty"));
        }
        if self.crm.words_field.trim().is_empty() {
            out.push(invalid("crm.words_field", "must not be empty"));
        }
        if !(1..=10).contains(&self.crm.rate_limit_per_second) {
            out.push(invalid(
                "crm.rate_limit_per_second",
                "must be 1..=10 (retailCRM allows 10 requests/s per key)",
            ));
        }
        let c = &self.complaints;
        let statuses = [
            ("complaints.status_created", &c.status_created),
            ("complaints.status_in_work", &c.status_in_work),
            ("complaints.status_failed", &c.status_failed),
            ("complaints.status_resolved", &c.status_resolved),
        ];
        for (key, s) in statuses {
            if s.trim().is_empty() {
                out.push(invalid(key, "must not be empty"));
            }
        }
        if c.site.trim().is_empty() {
            out.push(invalid("complaints.site", "must not be empty"));
        }
        let mut distinct: Vec<&String> = statuses.iter().map(|(_, s)| *s).collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != statuses.len() {
            out.push(invalid(
                "complaints",
                "the four complaint statuses must be four different codes",
            ));
        }
        if let Some(h) = &c.working_hours {
            if h.start >= h.end {
                out.push(invalid(
                    "complaints.working_hours",
                    format!(
                        "start {} must be before end {}",
                        h.start.format("%H:%M"),
                        h.end.format("%H:%M")
                    ),
                ));
            }
            if h.days.is_empty() {
                out.push(invalid(
                    "complaints.working_hours.days",
                    "name at least one working day",
                ));
            }
        }
        if self.sites.get(&c.site).is_some_and(|s| s.surveys) {
            out.push(invalid(
                format!("sites.{}.surveys", c.site).as_str(),
                "the complaints store must not survey its own orders; set surveys = false",
            ));
        }
        let w = &self.survey.window;
        if w.start >= w.end {
            out.push(invalid(
                "survey.window",
                format!(
                    "start {} must be before end {} (windows over midnight are not supported)",
                    w.start.format("%H:%M"),
                    w.end.format("%H:%M")
                ),
            ));
        }
        if w.days.is_empty() {
            out.push(invalid("survey.window.days", "allow at least one day"));
        }
        if self.survey.reply_window.is_zero() {
            out.push(invalid("survey.reply_window", "must be longer than zero"));
        }
        // Cross-field sense: a rating link must outlive the survey it answers, and the delay
        // before a click counts is about scanners (seconds), not about people (days).
        if self.email.link_ttl < self.survey.reply_window {
            out.push(invalid(
                "email.link_ttl",
                format!(
                    "{} is shorter than survey.reply_window ({}): the email's links would stop \
                     working while the survey still waits for an answer",
                    humantime::format_duration(self.email.link_ttl),
                    humantime::format_duration(self.survey.reply_window)
                ),
            ));
        }
        if self.email.min_click_delay > Duration::from_secs(600) {
            out.push(invalid(
                "email.min_click_delay",
                "at most 10m: it only has to outlast a mail scanner's visit (15s is typical); \
                 longer makes real customers' clicks ask for a confirmation",
            ));
        }
        if let Some(after) = self.survey.reminder_after {
            // A reminder due after the survey expired, or at once, asks nobody anything useful.
            if after.is_zero() || after >= self.survey.reply_window {
                out.push(invalid(
                    "survey.reminder_after",
                    format!(
                        "must be longer than zero and shorter than survey.reply_window ({}), or \"off\"",
                        humantime::format_duration(self.survey.reply_window)
                    ),
                ));
            }
        }
        for (i, rule) in self.survey.rules.iter().enumerate() {
            let matches_something = rule.site.is_some()
                || rule.order_type.is_some()
                || rule.order_method.is_some()
                || rule.delivery_type.is_some()
                || rule.product_group.is_some();
            if !matches_something {
                out.push(invalid(
                    &format!("survey.rules[{i}]"),
                    "a rule needs at least one of site, order_type, order_method, delivery_type, product_group (use survey.default_delay for everything else)",
                ));
            }
        }
        match self.whatsapp.provider {
            WhatsappProvider::Meta if self.whatsapp.meta.is_none() => out.push(invalid(
                "whatsapp.meta",
                "provider is \"meta\" but the [whatsapp.meta] table is missing",
            )),
            WhatsappProvider::Meta => {
                if let Some(meta) = &self.whatsapp.meta {
                    if let Err(e) = check_button_ratings(&meta.template_button_ratings) {
                        out.push(e);
                    }
                }
            }
            WhatsappProvider::GreenApi if self.whatsapp.green_api.is_none() => out.push(invalid(
                "whatsapp.green_api",
                "provider is \"green-api\" but the [whatsapp.green_api] table is missing",
            )),
            _ => {}
        }
        let chains = std::iter::once(("channels.chain".to_string(), &self.channels.chain)).chain(
            self.sites
                .iter()
                .map(|(code, site)| (format!("sites.{code}.channels"), &site.channels)),
        );
        for (key, chain) in chains {
            let Some(chain) = chain else { continue };
            if chain.is_empty() {
                out.push(invalid(&key, "name at least one channel"));
            }
            for (i, c) in chain.iter().enumerate() {
                if chain[..i].contains(c) {
                    out.push(invalid(&key, format!("{c} is named twice")));
                }
                if *c == Channel::Whatsapp && self.whatsapp.provider == WhatsappProvider::None {
                    out.push(invalid(
                        &key,
                        "whatsapp is in the chain but whatsapp.provider is \"none\"",
                    ));
                }
            }
        }
        if crate::model::Email::parse(&self.email.from_address).is_err() {
            out.push(invalid("email.from_address", "not an email address"));
        }
        if crate::model::Email::parse(&self.email.reply_to).is_err() {
            out.push(invalid("email.reply_to", "not an email address"));
        }
        if self.email.from_name.trim().is_empty() {
            out.push(invalid(
                "email.from_name",
                "give a person's name: the email must come from someone",
            ));
        }
        if !url_ok(&self.email.landing_base_url) {
            out.push(invalid("email.landing_base_url", "must be an http(s) URL"));
        }
        if let Err(e) = self.validate_report() {
            out.push(e);
        }
        if let Err(e) = self.validate_shop() {
            out.push(e);
        }
        // Builds the texts once to check every override; functions build them again at start.
        match Texts::from_config(&self.texts) {
            Ok(texts) => {
                if let Err(e) = texts.check_asks(&self.texts, &self.who()) {
                    out.push(e);
                }
            }
            Err(e) => out.push(e),
        }
        self.validate_max_and_sms(&mut out);
        out
    }

    fn validate_report(&self) -> Result<(), ConfigError> {
        let r = &self.report;
        if r.digest_hour > 23 {
            return Err(invalid(
                "report.digest_hour",
                format!("{} is not an hour; use 0–23", r.digest_hour),
            ));
        }
        if r.digest_to.len() > MAX_DIGEST_RECIPIENTS {
            return Err(invalid(
                "report.digest_to",
                format!(
                    "{} addresses; at most {MAX_DIGEST_RECIPIENTS} (use a team mailbox instead)",
                    r.digest_to.len()
                ),
            ));
        }
        let mut seen = Vec::new();
        for (i, to) in r.digest_to.iter().enumerate() {
            let Ok(email) = crate::model::Email::parse(to) else {
                // The address itself stays out of the message: the error may end up in a log.
                return Err(invalid(
                    &format!("report.digest_to[{i}]"),
                    "not an email address",
                ));
            };
            let key = email.as_str().to_lowercase();
            if seen.contains(&key) {
                return Err(invalid(
                    &format!("report.digest_to[{i}]"),
                    "named twice: each address gets one digest",
                ));
            }
            seen.push(key);
        }
        Ok(())
    }

    /// Time zone for a customer of this site.
    pub fn timezone_for_site(&self, site: &str) -> Tz {
        self.sites
            .get(site)
            .and_then(|s| s.timezone)
            .unwrap_or(self.timezone)
    }

    /// The retailCRM account's time zone.
    pub fn crm_timezone(&self) -> Tz {
        self.crm.timezone.unwrap_or(self.timezone)
    }

    /// The channels a customer of `site` is asked on, in order of preference.
    pub fn chain_for_site(&self, site: &str) -> Vec<Channel> {
        if let Some(own) = self.sites.get(site).and_then(|s| s.channels.clone()) {
            return own;
        }
        if let Some(chain) = &self.channels.chain {
            return chain.clone();
        }
        // Before chains existed every installation asked on WhatsApp, then by email.
        let mut legacy = Vec::new();
        if self.whatsapp.provider != WhatsappProvider::None {
            legacy.push(Channel::Whatsapp);
        }
        legacy.push(Channel::Email);
        legacy
    }

    /// Whether orders of this site get surveys at all.
    pub fn surveys_site(&self, site: &str) -> bool {
        site != self.complaints.site && self.sites.get(site).is_none_or(|s| s.surveys)
    }
}

/// The five buttons must name every rating once: a button missing or named twice would make one
/// rating impossible to give by tapping.
fn check_button_ratings(ratings: &[u8]) -> Result<(), ConfigError> {
    let mut sorted = ratings.to_vec();
    sorted.sort_unstable();
    if sorted != [1, 2, 3, 4, 5] {
        return Err(invalid(
            "whatsapp.meta.template_button_ratings",
            "give the rating of each of the template's five buttons, first button first, \
             each of 1 to 5 once, e.g. [5, 4, 3, 2, 1]",
        ));
    }
    Ok(())
}

/// `config check` stops listing after this many problems of shape: by then the file is likely
/// not an `otklik.toml` at all.
pub const MAX_PROBLEMS: usize = 30;

/// Removes `key` (`a.b[2].c`) from the document; false when it is not there.
fn remove_key(value: &mut toml::Value, key: &str) -> bool {
    let parts = key_parts(key);
    let Some((last, head)) = parts.split_last() else {
        return false;
    };
    let mut at = value;
    for part in head {
        let next = match (part, at) {
            (KeyPart::Name(n), toml::Value::Table(t)) => t.get_mut(n.as_str()),
            (KeyPart::Index(i), toml::Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    match (last, at) {
        (KeyPart::Name(n), toml::Value::Table(t)) => t.remove(n.as_str()).is_some(),
        // The later elements move up one: a second bad element of the same list is then named
        // one index early, a price worth paying for listing it at all.
        (KeyPart::Index(i), toml::Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyPart {
    Name(String),
    Index(usize),
}

/// The line (1-based) of `otklik.toml` where `key` (`survey.window.start`, `survey.rules[1]`) is
/// written, or its nearest table when the key itself is not (a missing key); `None` when neither
/// is found. A plain reading of `[table]`, `[[array]]` and `key = ` lines: enough for the files
/// people write, which is what an error points into.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let want = key_parts(key);
    let mut best: Option<(usize, usize)> = None; // (matched parts, line)
    let mut table: Vec<KeyPart> = Vec::new();
    let mut seen_arrays: BTreeMap<String, usize> = BTreeMap::new();
    let consider = |path: &[KeyPart], line: usize, best: &mut Option<(usize, usize)>| {
        let matched = path.iter().zip(&want).take_while(|(a, b)| a == b).count();
        if matched == path.len() && matched > best.map_or(0, |b| b.0) {
            *best = Some((matched, line));
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_string();
            let n = seen_arrays.entry(name.clone()).or_insert(0);
            table = key_parts(&name);
            table.push(KeyPart::Index(*n));
            *n += 1;
            consider(&table, i + 1, &mut best);
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            table = key_parts(name.trim());
            consider(&table, i + 1, &mut best);
        } else if let Some((k, _)) = line.split_once('=') {
            let mut path = table.clone();
            path.extend(key_parts(k.trim().trim_matches('"')));
            consider(&path, i + 1, &mut best);
        }
    }
    best.map(|(_, line)| line)
}

/// `survey.rules[1].delay` → `survey`, `rules`, 1, `delay`.
fn key_parts(key: &str) -> Vec<KeyPart> {
    let mut out = Vec::new();
    for piece in key.split('.').filter(|p| !p.is_empty()) {
        let mut rest = piece;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(KeyPart::Name(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                if let Ok(i) = stripped[..close].parse() {
                    out.push(KeyPart::Index(i));
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(KeyPart::Name(rest.to_string()));
        }
    }
    out
}

/// A deserialization error in our words: the key it is about (for a missing key, the key itself,
/// not its table), what to write instead of serde's "invalid type: string, expected u32", and
/// whether it was a missing key.
fn serde_words(e: &serde_path_to_error::Error<toml::de::Error>) -> (String, String, bool) {
    let path = e.path().to_string();
    let parent = if path == "." { String::new() } else { path };
    let raw = e.inner().message().to_string();
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    if let Some(name) = between(&raw, "missing field `", "`") {
        return (
            join(name),
            "is missing; add it (otklik.example.toml shows every key with an example)".into(),
            true,
        );
    }
    if let Some(name) = between(&raw, "unknown field `", "`") {
        // serde's path already ends at the unknown key for some shapes and at its table for others.
        let key = if parent.ends_with(name) {
            parent.clone()
        } else {
            join(name)
        };
        let known = raw
            .split_once("expected one of ")
            .map(|(_, list)| format!("; the keys here are {}", list.replace('`', "")))
            .or_else(|| {
                raw.split_once("expected ")
                    .map(|(_, one)| format!("; the key here is {}", one.replace('`', "")))
            })
            .unwrap_or_default();
        return (key, format!("unknown key (a typo?){known}"), false);
    }
    let key = if parent.is_empty() {
        "(top level)".to_string()
    } else {
        parent
    };
    if let Some(got) = between(&raw, "unknown variant `", "`") {
        let choices = raw
            .split_once("expected one of ")
            .or_else(|| raw.split_once("expected "))
            .map(|(_, l)| format!("; write one of {}", l.replace('`', "\"")))
            .unwrap_or_default();
        return (key, format!("unknown value \"{got}\"{choices}"), false);
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (got, wanted) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (
            key,
            format!("{}, not {}", wanted_words(wanted), got_words(got)),
            false,
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        let (got, wanted) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (
            key,
            format!("{}, not {}", wanted_words(wanted), got_words(got)),
            false,
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid length ") {
        let (got, wanted) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return (key, format!("must have {wanted} items, not {got}"), false);
    }
    // Our own parsers' words (durations, times, zones) are already meant for people.
    (key, raw, false)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// serde's name of what it wanted, as an integrator writes it in TOML.
fn wanted_words(wanted: &str) -> String {
    let w = wanted.trim();
    if matches!(w, "u8" | "u16" | "u32" | "u64" | "usize") {
        "must be a whole number of 0 or more, without quotes (e.g. 10)".into()
    } else if matches!(w, "i8" | "i16" | "i32" | "i64" | "isize") {
        "must be a whole number, without quotes".into()
    } else if w.contains("bool") {
        "must be true or false, without quotes".into()
    } else if w.contains("string") || w.contains("str") {
        "must be text in double quotes (e.g. \"10:00\")".into()
    } else if w.contains("sequence") || w.contains("array") {
        "must be a list in brackets (e.g. [\"complete\"])".into()
    } else if w.starts_with("struct") || w.contains("map") {
        "must be a table of keys".into()
    } else if w.is_empty() {
        "has the wrong kind of value".into()
    } else {
        format!("must be {w}")
    }
}

/// serde's description of what it found (`string "10"`, `integer `5``), as the file shows it.
fn got_words(got: &str) -> String {
    let g = got.trim().replace('`', "");
    if let Some(s) = g.strip_prefix("string ") {
        format!("the text {s}")
    } else if let Some(n) = g.strip_prefix("integer ") {
        format!("the number {n}")
    } else if let Some(n) = g.strip_prefix("floating point ") {
        format!("the number {n}")
    } else if g.starts_with("sequence") {
        "a list".into()
    } else if g.starts_with("map") {
        "a table".into()
    } else {
        g
    }
}

// --- MAX and SMS ---

/// `[max]`: a MAX account of a real person, reached through a GREEN-API v3 instance
/// (green-api.com/v3/docs/before-start). The token is a secret: `OTKLIK_MAX_TOKEN`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxConfig {
    /// The instance's `apiUrl` from the GREEN-API console, e.g. `https://3100.api.green-api.com`;
    /// the client adds `/v3`.
    pub api_url: String,
    /// `idInstance`: digits only.
    pub instance_id: String,
    /// The least time between two messages the instance sends (its `delaySendMessagesMilliseconds`,
    /// which queues our sends and lets them out one by one): a person's account that fires a
    /// December peak's questions in a burst looks like spam. GREEN-API allows 0.5 s – 10 min.
    #[serde(deserialize_with = "de_duration", default = "default_max_interval")]
    pub send_interval: Duration,
}

fn default_max_interval() -> Duration {
    Duration::from_secs(10)
}

/// GREEN-API's bounds for `delaySendMessagesMilliseconds` (green-api.com/v3/docs/api/send-messages-delay).
pub const MAX_SEND_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_millis(500), Duration::from_secs(600));

/// Which SMS provider `[sms]` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmsProvider {
    /// SMS.ru (sms.ru/api).
    Smsru,
}

/// `[sms]`: one SMS with a short link, from the shop's registered sender name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    #[serde(default = "smsru_url")]
    pub api_url: String,
    /// The sender name registered with the provider (what the phone shows as "from").
    pub sender: String,
    /// SMS.ru `test=1`: the provider answers as if it sent, sends nothing and charges nothing.
    #[serde(default)]
    pub test: bool,
}

fn smsru_url() -> String {
    "https://sms.ru".to_string()
}

/// GSM sender names (alphanumeric originators) are at most 11 characters.
const MAX_SENDER_CHARS: usize = 11;

impl Config {
    fn validate_max_and_sms(&self, out: &mut Vec<ConfigError>) {
        let url_ok = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        if let Some(max) = &self.max {
            if !url_ok(&max.api_url) {
                out.push(invalid("max.api_url", "must be an http(s) URL"));
            }
            if max.instance_id.is_empty() || !max.instance_id.bytes().all(|b| b.is_ascii_digit()) {
                out.push(invalid(
                    "max.instance_id",
                    "the idInstance of the GREEN-API console: digits only",
                ));
            }
            let (least, most) = MAX_SEND_INTERVAL_RANGE;
            if max.send_interval < least || max.send_interval > most {
                out.push(invalid(
                    "max.send_interval",
                    "GREEN-API paces an instance between 0.5s and 10m; write e.g. \"10s\"",
                ));
            }
        }
        if let Some(sms) = &self.sms {
            if !url_ok(&sms.api_url) {
                out.push(invalid("sms.api_url", "must be an http(s) URL"));
            }
            let sender = sms.sender.trim();
            if sender.is_empty() || sender.chars().count() > MAX_SENDER_CHARS {
                out.push(invalid(
                    "sms.sender",
                    format!(
                        "give the sender name registered with the provider (1 to {MAX_SENDER_CHARS} characters)"
                    ),
                ));
            }
        }
    }
}

// --- secrets ---

pub const ENV_CRM_API_KEY: &str = "OTKLIK_CRM_API_KEY";
pub const ENV_META_ACCESS_TOKEN: &str = "OTKLIK_META_ACCESS_TOKEN";
pub const ENV_META_APP_SECRET: &str = "OTKLIK_META_APP_SECRET";
pub const ENV_META_VERIFY_TOKEN: &str = "OTKLIK_META_VERIFY_TOKEN";
pub const ENV_GREEN_API_TOKEN: &str = "OTKLIK_GREEN_API_TOKEN";
pub const ENV_GREEN_API_WEBHOOK_TOKEN: &str = "OTKLIK_GREEN_API_WEBHOOK_TOKEN";
pub const ENV_LINK_SECRET: &str = "OTKLIK_LINK_SECRET";
pub const ENV_TRIGGER_SECRET: &str = "OTKLIK_TRIGGER_SECRET";
/// The key of the contact hash (`privacy::ContactHasher`): the do-not-contact list and every
/// store key that would otherwise hold a phone, an email or a provider id. Required by every
/// function that writes such keys; set once and never changed (docs/operations.md).
pub const ENV_CONTACT_KEY: &str = "OTKLIK_CONTACT_KEY";
/// Bearer token of the KPI report route; the route refuses everyone without it.
pub const ENV_REPORT_TOKEN: &str = "OTKLIK_REPORT_TOKEN";
/// The GREEN-API v3 instance token of `[max]` (`apiTokenInstance`).
pub const ENV_MAX_TOKEN: &str = "OTKLIK_MAX_TOKEN";
/// The bearer token GREEN-API puts on the MAX instance's webhooks.
pub const ENV_MAX_WEBHOOK_TOKEN: &str = "OTKLIK_MAX_WEBHOOK_TOKEN";
/// SMS.ru `api_id` of `[sms] provider = "smsru"`.
pub const ENV_SMSRU_API_ID: &str = "OTKLIK_SMSRU_API_ID";
/// The secret that ends the SMS.ru callback URL (`/webhooks/sms/<secret>`): SMS.ru signs nothing,
/// so the URL itself is the credential.
pub const ENV_SMS_CALLBACK_SECRET: &str = "OTKLIK_SMS_CALLBACK_SECRET";
/// Every secret key the product knows. Each lives in exactly one of the installation's secrets
/// (`otklik_aws::resources::SECRETS`), and a function reads only those of the secrets it holds.
pub const SECRET_ENV_KEYS: &[&str] = &[
    ENV_CRM_API_KEY,
    ENV_TRIGGER_SECRET,
    ENV_LINK_SECRET,
    ENV_CONTACT_KEY,
    ENV_META_ACCESS_TOKEN,
    ENV_META_APP_SECRET,
    ENV_META_VERIFY_TOKEN,
    ENV_GREEN_API_TOKEN,
    ENV_GREEN_API_WEBHOOK_TOKEN,
    ENV_REPORT_TOKEN,
    ENV_MAX_TOKEN,
    ENV_MAX_WEBHOOK_TOKEN,
    ENV_SMSRU_API_ID,
    ENV_SMS_CALLBACK_SECRET,
];
/// A callback secret shorter than this could be guessed from the outside.
pub const MIN_SMS_CALLBACK_SECRET_CHARS: usize = 24;

/// A secret value. Debug and Display print `***`, so a secret cannot slip into a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The secrets one function holds. Which ones are required depends on the WhatsApp provider, on
/// whether `[max]` and `[sms]` are configured, and on the keys the function may read at all
/// ([`Secrets::load_scoped`]): a key outside them is `None` however it is configured, and the
/// accessors of the three always-needed ones say so.
#[derive(Debug, Clone)]
pub struct Secrets {
    crm_api_key: Option<Secret>,
    link_secret: Option<Secret>,
    trigger_secret: Option<Secret>,
    /// `OTKLIK_CONTACT_KEY`: keys the hashes that stand for phones, emails and providers' ids in
    /// the table ([`Secrets::contact_hasher`]).
    contact_key: Option<Secret>,
    pub meta_access_token: Option<Secret>,
    pub meta_app_secret: Option<Secret>,
    pub meta_verify_token: Option<Secret>,
    pub green_api_token: Option<Secret>,
    pub green_api_webhook_token: Option<Secret>,
    /// Required when `[max]` is configured.
    pub max_token: Option<Secret>,
    pub max_webhook_token: Option<Secret>,
    /// Required when `[sms] provider = "smsru"`.
    pub smsru_api_id: Option<Secret>,
    /// Without it the SMS.ru callback route refuses every call (delivery statuses then never
    /// arrive, so a failed SMS does not fall down the chain).
    pub sms_callback_secret: Option<Secret>,
}

const WHY_CRM_API_KEY: &str = "every retailCRM call needs it";
const WHY_LINK_SECRET: &str = "signs the email rating links";
const WHY_TRIGGER_SECRET: &str = "authenticates the retailCRM trigger";
const WHY_CONTACT_KEY: &str = "keys the hashes of phones, emails and providers' ids in the table";

impl Secrets {
    /// The hasher of personal keys, keyed with `OTKLIK_CONTACT_KEY`; `None` in a function not
    /// granted the key (it looks nothing up by a phone, an email or a provider's id). One key
    /// for every function, never derived from another secret: a function without that secret
    /// would otherwise hash differently from the rest.
    pub fn contact_hasher(&self) -> Option<crate::privacy::ContactHasher> {
        self.contact_key
            .as_ref()
            .map(|k| crate::privacy::ContactHasher::new(k.expose().as_bytes()))
    }

    /// Reads every secret through `lookup` (the environment at the edge: the CLI and the local
    /// stack). The core itself never touches the process environment.
    pub fn load(
        config: &Config,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, ConfigError> {
        Secrets::load_scoped(config, SECRET_ENV_KEYS, lookup)
    }

    /// Reads only the keys in `scope` (a function's, `FunctionDef::secret_keys`): one outside it
    /// is never looked up, and only those inside it are required. A function built from these
    /// fails at cold start if it uses a key it was not granted, rather than reading it.
    pub fn load_scoped(
        config: &Config,
        scope: &[&str],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Secrets, ConfigError> {
        let get = |env: &'static str| {
            if !scope.contains(&env) {
                return None;
            }
            lookup(env)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(Secret)
        };
        let need = |env: &'static str, why: &'static str| {
            if !scope.contains(&env) {
                return Ok(None);
            }
            get(env)
                .map(Some)
                .ok_or(ConfigError::MissingSecret { env, why })
        };
        let link_secret = need(ENV_LINK_SECRET, WHY_LINK_SECRET)?;
        if link_secret.as_ref().is_some_and(|s| s.0.len() < 32) {
            return Err(ConfigError::MissingSecret {
                env: ENV_LINK_SECRET,
                why: "must be at least 32 characters; a short key makes links forgeable",
            });
        }
        let secrets = Secrets {
            crm_api_key: need(ENV_CRM_API_KEY, WHY_CRM_API_KEY)?,
            link_secret,
            trigger_secret: need(ENV_TRIGGER_SECRET, WHY_TRIGGER_SECRET)?,
            contact_key: need(ENV_CONTACT_KEY, WHY_CONTACT_KEY)?,
            meta_access_token: get(ENV_META_ACCESS_TOKEN),
            meta_app_secret: get(ENV_META_APP_SECRET),
            meta_verify_token: get(ENV_META_VERIFY_TOKEN),
            green_api_token: get(ENV_GREEN_API_TOKEN),
            green_api_webhook_token: get(ENV_GREEN_API_WEBHOOK_TOKEN),
            max_token: get(ENV_MAX_TOKEN),
            max_webhook_token: get(ENV_MAX_WEBHOOK_TOKEN),
            smsru_api_id: get(ENV_SMSRU_API_ID),
            sms_callback_secret: get(ENV_SMS_CALLBACK_SECRET),
        };
        if secrets.contact_key.as_ref().is_some_and(|s| s.0.len() < 32) {
            return Err(ConfigError::MissingSecret {
                env: ENV_CONTACT_KEY,
                why: "must be at least 32 characters; a short key lets a leaked table be read",
            });
        }
        if secrets
            .sms_callback_secret
            .as_ref()
            .is_some_and(|s| s.0.chars().count() < MIN_SMS_CALLBACK_SECRET_CHARS)
        {
            return Err(ConfigError::MissingSecret {
                env: ENV_SMS_CALLBACK_SECRET,
                why: "must be at least 24 characters; a short one in a URL can be guessed",
            });
        }
        match config.whatsapp.provider {
            WhatsappProvider::Meta => {
                let why = "whatsapp.provider is \"meta\"";
                for (v, env) in [
                    (&secrets.meta_access_token, ENV_META_ACCESS_TOKEN),
                    (&secrets.meta_app_secret, ENV_META_APP_SECRET),
                    (&secrets.meta_verify_token, ENV_META_VERIFY_TOKEN),
                ] {
                    if v.is_none() && scope.contains(&env) {
                        return Err(ConfigError::MissingSecret { env, why });
                    }
                }
            }
            WhatsappProvider::GreenApi => {
                let why = "whatsapp.provider is \"green-api\"";
                for (v, env) in [
                    (&secrets.green_api_token, ENV_GREEN_API_TOKEN),
                    (
                        &secrets.green_api_webhook_token,
                        ENV_GREEN_API_WEBHOOK_TOKEN,
                    ),
                ] {
                    if v.is_none() && scope.contains(&env) {
                        return Err(ConfigError::MissingSecret { env, why });
                    }
                }
            }
            WhatsappProvider::None => {}
        }
        if config.max.is_some() {
            let why = "the [max] table is configured";
            for (v, env) in [
                (&secrets.max_token, ENV_MAX_TOKEN),
                (&secrets.max_webhook_token, ENV_MAX_WEBHOOK_TOKEN),
            ] {
                if v.is_none() && scope.contains(&env) {
                    return Err(ConfigError::MissingSecret { env, why });
                }
            }
        }
        if let Some(SmsConfig {
            provider: SmsProvider::Smsru,
            ..
        }) = &config.sms
        {
            if secrets.smsru_api_id.is_none() && scope.contains(&ENV_SMSRU_API_ID) {
                return Err(ConfigError::MissingSecret {
                    env: ENV_SMSRU_API_ID,
                    why: "sms.provider is \"smsru\"",
                });
            }
        }
        Ok(secrets)
    }

    /// The retailCRM API key; an error names it if this function was not granted it.
    pub fn crm_api_key(&self) -> Result<&Secret, ConfigError> {
        self.crm_api_key.as_ref().ok_or(ConfigError::MissingSecret {
            env: ENV_CRM_API_KEY,
            why: WHY_CRM_API_KEY,
        })
    }

    /// The key signing the rating links; an error names it if this function was not granted it.
    pub fn link_secret(&self) -> Result<&Secret, ConfigError> {
        self.link_secret.as_ref().ok_or(ConfigError::MissingSecret {
            env: ENV_LINK_SECRET,
            why: WHY_LINK_SECRET,
        })
    }

    /// The trigger's shared secret; an error names it if this function was not granted it.
    pub fn trigger_secret(&self) -> Result<&Secret, ConfigError> {
        self.trigger_secret
            .as_ref()
            .ok_or(ConfigError::MissingSecret {
                env: ENV_TRIGGER_SECRET,
                why: WHY_TRIGGER_SECRET,
            })
    }

    /// These secrets with every key outside `scope` dropped: what one function holds when all
    /// of them were loaded at once (the local stack runs every function in one process).
    pub fn restricted(&self, scope: &[&str]) -> Secrets {
        let keep = |v: &Option<Secret>, env: &str| v.clone().filter(|_| scope.contains(&env));
        Secrets {
            crm_api_key: keep(&self.crm_api_key, ENV_CRM_API_KEY),
            link_secret: keep(&self.link_secret, ENV_LINK_SECRET),
            trigger_secret: keep(&self.trigger_secret, ENV_TRIGGER_SECRET),
            contact_key: keep(&self.contact_key, ENV_CONTACT_KEY),
            meta_access_token: keep(&self.meta_access_token, ENV_META_ACCESS_TOKEN),
            meta_app_secret: keep(&self.meta_app_secret, ENV_META_APP_SECRET),
            meta_verify_token: keep(&self.meta_verify_token, ENV_META_VERIFY_TOKEN),
            green_api_token: keep(&self.green_api_token, ENV_GREEN_API_TOKEN),
            green_api_webhook_token: keep(
                &self.green_api_webhook_token,
                ENV_GREEN_API_WEBHOOK_TOKEN,
            ),
            max_token: keep(&self.max_token, ENV_MAX_TOKEN),
            max_webhook_token: keep(&self.max_webhook_token, ENV_MAX_WEBHOOK_TOKEN),
            smsru_api_id: keep(&self.smsru_api_id, ENV_SMSRU_API_ID),
            sms_callback_secret: keep(&self.sms_callback_secret, ENV_SMS_CALLBACK_SECRET),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../otklik.example.toml");

    /// The example with one line-initial snippet replaced (comments mention keys too).
    fn with(replace: &str, by: &str) -> String {
        let at = format!("\n{replace}");
        assert!(
            EXAMPLE.contains(&at),
            "example lacks {replace:?} at a line start"
        );
        EXAMPLE.replacen(&at, &format!("\n{by}"), 1)
    }

    /// The config fuzzer starts from this seed: a config the loader refuses would only ever
    /// exercise the first error path, so it must stay one the loader takes whole.
    #[test]
    fn the_config_fuzzers_seed_is_a_config_we_accept() {
        let seed = include_str!("../../../fuzz/corpus/config/example.toml");
        if let Err(e) = Config::from_toml(seed) {
            panic!("fuzz/corpus/config/example.toml is refused: {e}");
        }
        assert!(Config::check(seed).is_ok(), "config check finds problems");
    }

    fn err_of(text: &str) -> String {
        Config::from_toml(text).unwrap_err().to_string()
    }

    fn problems_of(text: &str) -> Vec<String> {
        Config::check(text)
            .expect_err("problems")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn check_reports_every_problem_at_once_in_our_words() {
        let text = with(
            "rate_limit_per_second = 10",
            "rate_limit_per_second = \"ten\"\nfoo = 1",
        )
        .replacen("start = \"10:00\"", "start = \"22:00\"", 1)
        .replace("min_click_delay = \"15s\"", "min_click_delay = \"2d\"");
        let problems = problems_of(&text);
        let all = problems.join("\n");
        for key in [
            "crm.rate_limit_per_second",
            "crm.foo",
            "survey.window",
            "email.min_click_delay",
        ] {
            assert!(
                all.contains(&format!("`{key}`")),
                "{key} missing from:\n{all}"
            );
        }
        assert!(all.contains("whole number"), "{all}");
        assert!(all.contains("unknown key (a typo?)"), "{all}");
        for serde in [
            "invalid type",
            "expected u32",
            "unknown field",
            "expected one of",
        ] {
            assert!(!all.contains(serde), "{serde} in:\n{all}");
        }
        // from_toml still fails on the first.
        assert_eq!(err_of(&text), problems[0]);
    }

    #[test]
    fn a_wrong_required_value_is_said_once_and_a_secret_once() {
        let text = with("provider = \"meta\"", "provider = \"viber\"")
            .replace("[crm]\n", "[crm]\napi_key = \"abc\"\n");
        let problems = problems_of(&text);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("crm.api_key") && problems[0].contains(ENV_CRM_API_KEY));
        assert!(
            problems[1].contains("whatsapp.provider")
                && problems[1].contains("unknown value \"viber\"")
                && problems[1].contains("\"meta\""),
            "{problems:#?}"
        );
        let missing = problems_of(&EXAMPLE.replace("reply_window =", "# reply_window ="));
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].contains("`survey.reply_window`: is missing"),
            "{missing:?}"
        );
    }

    #[test]
    fn a_key_is_found_on_its_line() {
        let line = |key: &str| {
            line_of(EXAMPLE, key).map(|n| EXAMPLE.lines().nth(n - 1).unwrap().trim().to_string())
        };
        assert!(line("survey.window.start").unwrap().starts_with("start = "));
        assert_eq!(line("whatsapp.meta").unwrap(), "[whatsapp.meta]");
        assert!(line("crm.rate_limit_per_second")
            .unwrap()
            .starts_with("rate_limit_per_second"));
        // A key not written points at its table.
        assert_eq!(line("email.no_such_key").unwrap(), "[email]");
        assert!(line("survey.rules[1]")
            .unwrap()
            .starts_with("[[survey.rules]]"));
        assert_eq!(line_of(EXAMPLE, "nowhere.at.all"), None);
    }

    #[test]
    fn the_shop_and_its_sender_are_named_consistently() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        assert_eq!(
            c.who(),
            Who {
                sender: "Анна".into(),
                shop: "Пример".into()
            }
        );
        // The old readers of the landing's shop name see the same name.
        assert_eq!(c.email.shop_display_name(), "Пример");
        let c = Config::from_toml(&with("# sender = \"Анна\"", "sender = \"Анна\"")).unwrap();
        assert_eq!(c.who().sender, "Анна");

        for (replace, by, key, says) in [
            (
                "name = \"Пример\"",
                "name = \"  \"",
                "shop.name",
                "every message",
            ),
            (
                "name = \"Пример\"",
                "name = \"«Пример»\"",
                "shop.name",
                "quotes",
            ),
            (
                "name = \"Пример\"",
                "name = \"Магазин Пример\"",
                "shop.name",
                "магазин",
            ),
            (
                "name = \"Пример\"",
                "name = \"Интернет-гипермаркет товаров для дома, дачи и сада\"",
                "shop.name",
                "segments",
            ),
            (
                "# sender = \"Анна\"",
                "sender = \"Аня\"",
                "shop.sender",
                "one name",
            ),
            (
                "# sender = \"Анна\"",
                "sender = \"Анна С.\"",
                "shop.sender",
                "first name",
            ),
            (
                "signature = \"\"",
                "signature = \"Отправлено из Mail.ru для Android\"",
                "email.signature",
                "fake",
            ),
            (
                "signature = \"\"",
                "signature = \"Sent from my iPhone\"",
                "email.signature",
                "fake",
            ),
            (
                "link_ttl = \"30d\"",
                "link_ttl = \"30d\"\nshop_name = \"Пример\"",
                "email.shop_name",
                "[shop]",
            ),
        ] {
            let e = err_of(&with(replace, by));
            assert!(
                e.contains(&format!("`{key}`")) && e.contains(says),
                "{by}: {e}"
            );
        }
        // Without [shop] the loader names the table.
        let e = err_of(&EXAMPLE.replace("[shop]\n", "[unused]\n"));
        assert!(e.contains("shop"), "{e}");
    }

    #[test]
    fn the_documented_example_parses() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        assert_eq!(c.crm.survey_statuses, vec!["complete".to_string()]);
        assert_eq!(c.survey.default_delay, Duration::from_secs(2 * 86_400));
        assert_eq!(
            c.survey.window.start,
            NaiveTime::from_hms_opt(10, 0, 0).unwrap()
        );
        assert_eq!(c.survey.window.days.len(), 7);
        assert!(c.survey.rules.len() >= 2);
        assert_eq!(c.timezone, chrono_tz::Europe::Moscow);
        assert_eq!(
            c.timezone_for_site("ural-shop"),
            chrono_tz::Asia::Yekaterinburg
        );
        assert!(!c.surveys_site(&c.complaints.site));
        assert!(c.surveys_site("main-shop"));
        let h = c.complaints.working_hours.as_ref().unwrap();
        assert_eq!(h.start, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(h.days.len(), 5);
    }

    #[test]
    fn the_digest_goes_to_nobody_unless_named_and_its_settings_are_checked() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        assert_eq!(c.report, ReportConfig::default());
        assert!(c.report.digest_to.is_empty());
        assert_eq!(
            (c.report.digest_day, c.report.digest_hour),
            (Weekday::Mon, 9)
        );
        let report = |body: &str| format!("{EXAMPLE}\n[report]\n{body}\n");
        let c = Config::from_toml(&report(
            "digest_to = [\"owner@shop.example\", \"sales@shop.example\"]\ndigest_day = \"fri\"\ndigest_hour = 17",
        ))
        .unwrap();
        assert_eq!(c.report.digest_to.len(), 2);
        assert_eq!(
            (c.report.digest_day, c.report.digest_hour),
            (Weekday::Fri, 17)
        );
        let e = err_of(&report("digest_hour = 24"));
        assert!(
            e.contains("report.digest_hour") && e.contains("0–23"),
            "{e}"
        );
        let e = err_of(&report("digest_day = \"someday\""));
        assert!(
            e.contains("report.digest_day") && e.contains("weekday"),
            "{e}"
        );
        let e = err_of(&report(
            "digest_to = [\"owner@shop.example\", \"not an address\"]",
        ));
        assert!(e.contains("report.digest_to[1]"), "{e}");
        assert!(!e.contains("not an address\""), "the value stays out: {e}");
        let e = err_of(&report(
            "digest_to = [\"owner@shop.example\", \"Owner@Shop.example\"]",
        ));
        assert!(e.contains("named twice"), "{e}");
        let many: Vec<String> = (0..=MAX_DIGEST_RECIPIENTS)
            .map(|i| format!("\"m{i}@shop.example\""))
            .collect();
        let e = err_of(&report(&format!("digest_to = [{}]", many.join(", "))));
        assert!(e.contains("at most"), "{e}");
        let e = err_of(&report("digest_cc = []"));
        assert!(e.contains("digest_cc"), "{e}");
    }

    #[test]
    fn complaint_settings_are_checked() {
        let e = err_of(&with(
            "status_failed = \"complaint-failed\"",
            "status_failed = \"complaint-resolved\"",
        ));
        assert!(e.contains("four different codes"), "{e}");
        let e = err_of(&with("start = \"09:00\"", "start = \"19:00\""));
        assert!(
            e.contains("complaints.working_hours") && e.contains("before end"),
            "{e}"
        );
        let no_hours = EXAMPLE.replace("[complaints.working_hours]", "[unused]");
        assert!(
            Config::from_toml(&no_hours).is_err(),
            "unknown tables are refused"
        );
        let c = Config::from_toml(&with(
            "days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]",
            "",
        ))
        .unwrap();
        assert_eq!(
            c.complaints.working_hours.unwrap().days.len(),
            5,
            "weekdays by default"
        );
    }

    #[test]
    fn the_chain_is_the_shops_with_a_sites_own_and_a_legacy_default() {
        let plain = Config::from_toml(EXAMPLE).unwrap();
        // No [channels]: WhatsApp (a provider is configured), then email, as before chains.
        assert_eq!(
            plain.chain_for_site("main-shop"),
            vec![Channel::Whatsapp, Channel::Email]
        );
        let text = format!(
            "{EXAMPLE}\n[channels]\nchain = [\"max\", \"sms\", \"email\"]\n\n\
             [sites.kz-shop]\nchannels = [\"whatsapp\", \"email\"]\n"
        );
        let c = Config::from_toml(&text).unwrap();
        assert_eq!(
            c.chain_for_site("main-shop"),
            vec![Channel::Max, Channel::Sms, Channel::Email]
        );
        assert_eq!(
            c.chain_for_site("kz-shop"),
            vec![Channel::Whatsapp, Channel::Email]
        );
    }

    #[test]
    fn a_bad_chain_is_refused_with_its_key() {
        let chain = |c: &str| err_of(&format!("{EXAMPLE}\n[channels]\nchain = {c}\n"));
        let e = chain("[]");
        assert!(
            e.contains("channels.chain") && e.contains("at least one"),
            "{e}"
        );
        let e = chain("[\"sms\", \"email\", \"sms\"]");
        assert!(
            e.contains("channels.chain") && e.contains("sms is named twice"),
            "{e}"
        );
        let e = chain("[\"telegram\", \"email\"]");
        assert!(
            e.contains("channels.chain") && e.contains("telegram"),
            "{e}"
        );
        let e = err_of(&format!(
            "{EXAMPLE}\n[sites.kz-shop]\nchannels = [\"email\", \"email\"]\n"
        ));
        assert!(e.contains("sites.kz-shop.channels"), "{e}");
    }

    #[test]
    fn the_reminder_is_a_day_by_default_off_on_request_and_before_expiry() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        assert_eq!(
            c.survey.reminder_after,
            Some(Duration::from_secs(24 * 3600))
        );
        let without = EXAMPLE.replace("reminder_after = \"24h\"\n", "");
        assert_ne!(without, EXAMPLE, "the example shows the key");
        let c = Config::from_toml(&without).unwrap();
        assert_eq!(
            c.survey.reminder_after,
            Some(Duration::from_secs(24 * 3600))
        );
        let off = with("reminder_after = \"24h\"", "reminder_after = \"off\"");
        assert_eq!(Config::from_toml(&off).unwrap().survey.reminder_after, None);
        for bad in ["\"7d\"", "\"8d\"", "\"0\""] {
            let e = err_of(&with(
                "reminder_after = \"24h\"",
                &format!("reminder_after = {bad}"),
            ));
            assert!(
                e.contains("survey.reminder_after") && e.contains("reply_window"),
                "{bad}: {e}"
            );
        }
        let e = err_of(&with(
            "reminder_after = \"24h\"",
            "reminder_after = \"soon\"",
        ));
        assert!(
            e.contains("survey.reminder_after") && e.contains("\"off\""),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        let e = err_of(&with("start = \"10:00\"", "start = \"25:00\""));
        assert!(
            e.contains("survey.window.start") && e.contains("HH:MM"),
            "{e}"
        );

        let e = err_of(&with(
            "default_delay = \"2d\"",
            "default_delay = \"two days\"",
        ));
        assert!(
            e.contains("survey.default_delay") && e.contains("invalid duration"),
            "{e}"
        );

        let e = err_of(&with(
            "timezone = \"Europe/Moscow\"",
            "timezone = \"Moscow\"",
        ));
        assert!(e.contains("`timezone`") && e.contains("IANA"), "{e}");

        let e = err_of(&with("inspector_id = 7", "inspector_id = 0"));
        assert!(e.contains("complaints.inspector_id"), "{e}");

        let e = err_of(&with(
            "rate_limit_per_second = 10",
            "rate_limit_per_second = 50",
        ));
        assert!(e.contains("crm.rate_limit_per_second"), "{e}");

        let e = err_of(&with("start = \"10:00\"", "start = \"22:00\""));
        assert!(
            e.contains("survey.window") && e.contains("before end"),
            "{e}"
        );

        let e = err_of(&with("rating_field =", "ratng_field ="));
        assert!(e.contains("ratng_field") || e.contains("crm"), "{e}");
        assert!(e.contains("unknown key"), "{e}");

        let e = err_of(&with("provider = \"meta\"", "provider = \"viber\""));
        assert!(
            e.contains("whatsapp.provider") && e.contains("viber"),
            "{e}"
        );

        let e = err_of(&with(
            "from_address = \"anna.smirnova@example.ru\"",
            "from_address = \"anna\"",
        ));
        assert!(e.contains("email.from_address"), "{e}");

        let e = err_of(&with("[[survey.rules]]\n", "[[survey.rules]]\ndays = 3\n"));
        assert!(e.contains("survey.rules[0]") && e.contains("days"), "{e}");

        let e = err_of("timezone = ");
        assert!(e.contains("not valid TOML"), "{e}");
        let e = err_of(&with("link_ttl = \"30d\"", "link_ttl = \"3d\""));
        assert!(
            e.contains("email.link_ttl") && e.contains("reply_window"),
            "{e}"
        );
        let e = err_of(&with(
            "min_click_delay = \"15s\"",
            "min_click_delay = \"2d\"",
        ));
        assert!(e.contains("email.min_click_delay"), "{e}");
        // Where: the line and column, counted as an editor counts them.
        let e = err_of("default_region = \"RU\"\ntimezone = \"Europe/Moscow\n");
        assert!(e.contains("line 2, column"), "{e}");
    }

    #[test]
    fn a_rule_must_match_something() {
        let text = format!("{EXAMPLE}\n[[survey.rules]]\ndelay = \"1h\"\n");
        let e = err_of(&text);
        assert!(
            e.contains("survey.rules[") && e.contains("at least one of"),
            "{e}"
        );
    }

    #[test]
    fn secrets_in_the_file_are_refused_with_the_variable_to_use() {
        let e = err_of(&with("[crm]\n", "[crm]\napi_key = \"abc\"\n"));
        assert!(
            e.contains("crm.api_key") && e.contains(ENV_CRM_API_KEY),
            "{e}"
        );
        let e = err_of(&with(
            "[whatsapp.meta]\n",
            "[whatsapp.meta]\napp_secret = \"x\"\n",
        ));
        assert!(e.contains(ENV_META_APP_SECRET), "{e}");
    }

    #[test]
    fn secrets_come_from_the_lookup_and_never_print() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        let env = |k: &str| -> Option<String> {
            match k {
                ENV_CRM_API_KEY => Some("crm-key".into()),
                ENV_LINK_SECRET => Some("l".repeat(40)),
                ENV_CONTACT_KEY => Some("k".repeat(40)),
                ENV_TRIGGER_SECRET => Some("trig".into()),
                ENV_META_ACCESS_TOKEN => Some("meta-token".into()),
                ENV_META_APP_SECRET => Some("app-secret".into()),
                ENV_META_VERIFY_TOKEN => Some("verify".into()),
                _ => None,
            }
        };
        let s = Secrets::load(&c, env).unwrap();
        assert!(s.contact_hasher().is_some());
        // The contact key is required wherever it is in scope, and never short.
        for (value, problem) in [(None, "hashes"), (Some("k".repeat(31)), "32")] {
            let err = Secrets::load(&c, |k| {
                if k == ENV_CONTACT_KEY {
                    value.clone()
                } else {
                    env(k)
                }
            })
            .unwrap_err()
            .to_string();
            assert!(
                err.contains(ENV_CONTACT_KEY) && err.contains(problem),
                "{err}"
            );
        }
        // A function not granted it holds none, and hashes nothing.
        let scoped = Secrets::load_scoped(&c, &[ENV_REPORT_TOKEN], env).unwrap();
        assert!(scoped.contact_hasher().is_none());
        assert_eq!(s.crm_api_key().unwrap().expose(), "crm-key");
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("crm-key") && !printed.contains("app-secret"),
            "{printed}"
        );

        let missing = Secrets::load(&c, |k| {
            if k == ENV_META_APP_SECRET {
                None
            } else {
                env(k)
            }
        })
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains(ENV_META_APP_SECRET) && missing.contains("meta"),
            "{missing}"
        );

        let short = Secrets::load(&c, |k| {
            if k == ENV_LINK_SECRET {
                Some("short".into())
            } else {
                env(k)
            }
        })
        .unwrap_err()
        .to_string();
        assert!(short.contains("32 characters"), "{short}");
    }

    #[test]
    fn a_scoped_load_reads_and_requires_only_its_keys() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        let asked = std::cell::RefCell::new(Vec::new());
        // Everything is on offer; the webhook's scope takes only the Meta app's two checks.
        let all = |k: &str| -> Option<String> {
            asked.borrow_mut().push(k.to_string());
            Some("v".repeat(40))
        };
        let scope = [ENV_META_APP_SECRET, ENV_META_VERIFY_TOKEN];
        let s = Secrets::load_scoped(&c, &scope, all).unwrap();
        assert_eq!(*asked.borrow(), scope.map(String::from).to_vec());
        assert!(s.meta_app_secret.is_some() && s.meta_access_token.is_none());
        let e = s.crm_api_key().unwrap_err().to_string();
        assert!(e.contains(ENV_CRM_API_KEY), "{e}");
        assert!(s.link_secret().is_err() && s.trigger_secret().is_err());
        // Nothing outside the scope is required, however the config is set…
        assert!(Secrets::load_scoped(&c, &[ENV_LINK_SECRET], |k| {
            (k == ENV_LINK_SECRET).then(|| "l".repeat(40))
        })
        .is_ok());
        // …and what is inside it still is.
        let e = Secrets::load_scoped(&c, &scope, |k| {
            (k == ENV_META_APP_SECRET).then(|| "x".into())
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains(ENV_META_VERIFY_TOKEN), "{e}");
        // Restricting what was loaded whole gives the same as loading scoped.
        let whole = Secrets::load(&c, |_| Some("w".repeat(40))).unwrap();
        let part = whole.restricted(&[ENV_CRM_API_KEY]);
        assert!(part.crm_api_key().is_ok() && part.link_secret().is_err());
        assert!(part.meta_access_token.is_none() && whole.meta_access_token.is_some());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("at once").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("36h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(
            parse_duration("1d 12h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert!(parse_duration("soon").is_err());
    }
    // ---- [max] and [sms] ------------------------------------------------------------------------

    const MAX_AND_SMS: &str = "\n[max]\napi_url = \"https://3100.api.green-api.com\"\ninstance_id = \"3100000001\"\n\n[sms]\nprovider = \"smsru\"\nsender = \"MyShop\"\n";

    fn example_with_max_and_sms() -> String {
        format!("{EXAMPLE}{MAX_AND_SMS}")
    }

    #[test]
    fn max_and_sms_tables_parse_with_their_defaults() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        assert!(c.max.is_none() && c.sms.is_none(), "both are optional");
        let c = Config::from_toml(&example_with_max_and_sms()).unwrap();
        let max = c.max.expect("[max]");
        assert_eq!(max.api_url, "https://3100.api.green-api.com");
        assert_eq!(max.instance_id, "3100000001");
        assert_eq!(max.send_interval, Duration::from_secs(10));
        let sms = c.sms.expect("[sms]");
        assert_eq!(sms.provider, SmsProvider::Smsru);
        assert_eq!(sms.api_url, "https://sms.ru");
        assert_eq!(sms.sender, "MyShop");
        assert!(!sms.test);
        let c = Config::from_toml(&format!(
            "{EXAMPLE}{}",
            MAX_AND_SMS.replace(
                "sender = \"MyShop\"\n",
                "sender = \"MyShop\"\napi_url = \"http://127.0.0.1:9\"\ntest = true\n",
            )
        ))
        .unwrap();
        let sms = c.sms.unwrap();
        assert!(sms.test);
        assert_eq!(sms.api_url, "http://127.0.0.1:9");
    }

    #[test]
    fn max_and_sms_errors_name_the_key() {
        for (from, to, key) in [
            (
                "instance_id = \"3100000001\"",
                "instance_id = \"31x\"",
                "max.instance_id",
            ),
            (
                "api_url = \"https://3100.api.green-api.com\"",
                "api_url = \"3100.api.green-api.com\"",
                "max.api_url",
            ),
            (
                "instance_id = \"3100000001\"",
                "instance_id = \"3100000001\"\nsend_interval = \"100ms\"",
                "max.send_interval",
            ),
            (
                "instance_id = \"3100000001\"",
                "instance_id = \"3100000001\"\nsend_interval = \"11m\"",
                "max.send_interval",
            ),
            (
                "sender = \"MyShop\"",
                "sender = \"A-very-long-sender\"",
                "sms.sender",
            ),
            ("sender = \"MyShop\"", "sender = \" \"", "sms.sender"),
            (
                "provider = \"smsru\"",
                "provider = \"twilio\"",
                "sms.provider",
            ),
            (
                "sender = \"MyShop\"",
                "sender = \"MyShop\"\nfrom = \"x\"",
                "sms",
            ),
        ] {
            assert!(MAX_AND_SMS.contains(from), "{from}");
            let e = err_of(&format!("{EXAMPLE}{}", MAX_AND_SMS.replacen(from, to, 1)));
            assert!(e.contains(&format!("`{key}")), "{key}: {e}");
        }
        let e = err_of(&format!(
            "{EXAMPLE}{}",
            MAX_AND_SMS.replacen("[sms]\n", "[sms]\napi_id = \"abc\"\n", 1)
        ));
        assert!(
            e.contains("sms.api_id") && e.contains(ENV_SMSRU_API_ID),
            "{e}"
        );
    }

    #[test]
    fn max_and_sms_need_their_secrets() {
        let c = Config::from_toml(&example_with_max_and_sms()).unwrap();
        let env = |k: &str| -> Option<String> {
            match k {
                ENV_CRM_API_KEY => Some("crm-key".into()),
                ENV_LINK_SECRET => Some("l".repeat(40)),
                ENV_CONTACT_KEY => Some("k".repeat(40)),
                ENV_TRIGGER_SECRET => Some("trig".into()),
                ENV_META_ACCESS_TOKEN => Some("meta-token".into()),
                ENV_META_APP_SECRET => Some("app-secret".into()),
                ENV_META_VERIFY_TOKEN => Some("verify".into()),
                ENV_MAX_TOKEN => Some("max-token".into()),
                ENV_MAX_WEBHOOK_TOKEN => Some("max-hook".into()),
                ENV_SMSRU_API_ID => Some("sms-api-id".into()),
                _ => None,
            }
        };
        let s = Secrets::load(&c, env).unwrap();
        assert_eq!(s.max_token.as_ref().map(Secret::expose), Some("max-token"));
        assert_eq!(
            s.max_webhook_token.as_ref().map(Secret::expose),
            Some("max-hook")
        );
        assert_eq!(
            s.smsru_api_id.as_ref().map(Secret::expose),
            Some("sms-api-id")
        );
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("max-token") && !printed.contains("sms-api-id"),
            "{printed}"
        );
        for (gone, table) in [
            (ENV_MAX_TOKEN, "[max]"),
            (ENV_MAX_WEBHOOK_TOKEN, "[max]"),
            (ENV_SMSRU_API_ID, "smsru"),
        ] {
            let e = Secrets::load(&c, |k| if k == gone { None } else { env(k) })
                .unwrap_err()
                .to_string();
            assert!(e.contains(gone) && e.contains(table), "{e}");
        }
        // Without the tables nothing of theirs is required.
        let plain = Config::from_toml(EXAMPLE).unwrap();
        let s = Secrets::load(&plain, |k| match k {
            ENV_MAX_TOKEN | ENV_MAX_WEBHOOK_TOKEN | ENV_SMSRU_API_ID => None,
            _ => env(k),
        })
        .unwrap();
        assert!(s.max_token.is_none() && s.smsru_api_id.is_none());
    }

    #[test]
    fn the_sms_callback_secret_is_optional_but_never_short() {
        let c = Config::from_toml(EXAMPLE).unwrap();
        let env = |callback: Option<&str>| {
            let callback = callback.map(str::to_string);
            move |k: &str| -> Option<String> {
                match k {
                    ENV_CRM_API_KEY => Some("crm-key".into()),
                    ENV_LINK_SECRET => Some("l".repeat(40)),
                    ENV_CONTACT_KEY => Some("k".repeat(40)),
                    ENV_TRIGGER_SECRET => Some("trig".into()),
                    ENV_META_ACCESS_TOKEN | ENV_META_APP_SECRET | ENV_META_VERIFY_TOKEN => {
                        Some("meta".into())
                    }
                    ENV_SMS_CALLBACK_SECRET => callback.clone(),
                    _ => None,
                }
            }
        };
        assert!(Secrets::load(&c, env(None))
            .unwrap()
            .sms_callback_secret
            .is_none());
        let long = "k".repeat(MIN_SMS_CALLBACK_SECRET_CHARS);
        let s = Secrets::load(&c, env(Some(&long))).unwrap();
        assert_eq!(
            s.sms_callback_secret.as_ref().map(Secret::expose),
            Some(long.as_str())
        );
        assert!(!format!("{s:?}").contains(&long));
        let short = "k".repeat(MIN_SMS_CALLBACK_SECRET_CHARS - 1);
        let e = Secrets::load(&c, env(Some(&short)))
            .unwrap_err()
            .to_string();
        assert!(e.contains(ENV_SMS_CALLBACK_SECRET), "{e}");
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = include_str!("../../../otklik.example.toml");

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Anything at all: an error or a config, never a panic.
        #[test]
        fn arbitrary_text_never_panics_the_config_parser(text in "\\PC{0,400}") {
            let _ = Config::from_toml(&text);
        }

        /// The shipped example with one line dropped, doubled or given another value: the
        /// parser's validation runs on nearly valid files, which random text never reaches.
        #[test]
        fn a_mutated_example_never_panics_and_errors_name_a_key(
            line in any::<prop::sample::Index>(),
            how in 0u8..4,
            value in prop::sample::select(vec![
                "\"\"", "0", "-1", "99999999999", "\"0s\"", "\"25:00\"", "\"Mars/Olympus\"",
                "[]", "{}", "true", "\"😀\"", "1.5", "\"1000000d\"",
            ]),
        ) {
            let lines: Vec<&str> = EXAMPLE.lines().collect();
            let i = line.index(lines.len());
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            match how {
                0 => { out.remove(i); }
                1 => { out.insert(i, lines[i].to_string()); }
                _ => {
                    if let Some((k, _)) = lines[i].split_once('=') {
                        out[i] = format!("{k}= {value}");
                    }
                }
            }
            if let Err(e) = Config::from_toml(&out.join("\n")) {
                prop_assert!(!e.to_string().trim().is_empty());
            }
        }
    }
}
