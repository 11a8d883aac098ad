//! The simulator's vocabulary: what was sent, who has WhatsApp or MAX, what a customer answers,
//! what a status update says, which SMS went out, and what our webhooks answered back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which provider a message went through (and whose webhook format is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provider {
    /// Meta's WhatsApp Cloud API.
    #[serde(rename = "meta")]
    Meta,
    /// Green-API, a gateway over an ordinary WhatsApp account.
    #[serde(rename = "green-api")]
    GreenApi,
    /// GREEN-API v3: the same gateway over an ordinary MAX account.
    #[serde(rename = "max")]
    Max,
    /// SMS.ru: one-way SMS; only its delivery callbacks use this name.
    #[serde(rename = "sms-ru")]
    SmsRu,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Meta => "meta",
            Provider::GreenApi => "green-api",
            Provider::Max => "max",
            Provider::SmsRu => "sms-ru",
        }
    }
}

/// What kind of message a send carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Free text (Meta `type: text`, every Green-API `sendMessage`).
    Text,
    /// An approved Meta template (`type: template`).
    Template,
    /// A Meta interactive message with reply buttons (`type: interactive`).
    Interactive,
}

/// One send the simulator accepted (`GET /sim/messages`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// The id the provider answered with (`wamid.…` or Green-API's `idMessage`).
    pub id: String,
    pub provider: Provider,
    /// The recipient, digits only (`79001234567`).
    pub to: String,
    pub kind: MessageKind,
    /// The text body (text messages) or the body text of an interactive message.
    pub text: Option<String>,
    /// Template name.
    pub template: Option<String>,
    /// Template language code (`ru`, `en_US`).
    pub language: Option<String>,
    /// Text parameters of the template's header and body, in order.
    pub params: Vec<String>,
    /// Quick-reply payloads of a template, or reply ids of an interactive message, in order.
    pub buttons: Vec<String>,
    /// Whether the recipient had an account on the messenger (WhatsApp, MAX) when it was sent.
    pub has_whatsapp: bool,
    /// MAX only: the chat the message went to (`chatId` as sent, a number as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    pub at: DateTime<Utc>,
    /// The request body exactly as the client sent it, for assertions the fields above miss.
    pub request: Value,
}

/// Which numbers have WhatsApp (`PUT /sim/numbers`). Numbers are compared by their digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NumberBook {
    pub with_whatsapp: Vec<String>,
    /// Numbers without WhatsApp; needed when `default` is true.
    pub without_whatsapp: Vec<String>,
    /// The answer for numbers on neither list.
    pub default: bool,
}

impl Default for NumberBook {
    fn default() -> Self {
        NumberBook {
            with_whatsapp: Vec::new(),
            without_whatsapp: Vec::new(),
            default: true,
        }
    }
}

impl NumberBook {
    /// `without_whatsapp` wins over `with_whatsapp`: a number listed on both is treated as the
    /// harder case, which is the one a test most likely meant.
    pub fn has_whatsapp(&self, number: &str) -> bool {
        let digits = digits(number);
        if self.without_whatsapp.iter().any(|n| digits_eq(n, &digits)) {
            false
        } else if self.with_whatsapp.iter().any(|n| digits_eq(n, &digits)) {
            true
        } else {
            self.default
        }
    }
}

fn digits_eq(listed: &str, digits_only: &str) -> bool {
    digits(listed) == digits_only
}

/// Keeps the digits of a phone number (`+7 900 123-45-67` → `79001234567`).
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// Who has a MAX account (`PUT /sim/max/numbers`). Numbers are compared by their digits; only
/// Russian (+7) and Belarusian (+375) numbers can have one, as `checkAccount` accepts no others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MaxBook {
    pub with_max: Vec<String>,
    /// Numbers without MAX; needed when `default` is true.
    pub without_max: Vec<String>,
    /// The answer for +7/+375 numbers on neither list.
    pub default: bool,
    /// Numbers whose account exists (`checkAccount` says so) but whose messages do not get
    /// through: each send is accepted, then reported `failed`, as when MAX drops a message.
    pub failing: Vec<String>,
    /// The same as `failing`, under the name the fault run uses (the account deleted or the chat
    /// blocked since the check).
    pub undeliverable: Vec<String>,
}

impl Default for MaxBook {
    fn default() -> Self {
        MaxBook {
            with_max: Vec::new(),
            without_max: Vec::new(),
            default: true,
            failing: Vec::new(),
            undeliverable: Vec::new(),
        }
    }
}

impl MaxBook {
    /// `without_max` wins over `with_max`, as in [`NumberBook`]; a number MAX does not serve
    /// (neither +7 nor +375) never has an account.
    pub fn has_max(&self, number: &str) -> bool {
        let digits = digits(number);
        if !max_region(&digits) || self.without_max.iter().any(|n| digits_eq(n, &digits)) {
            false
        } else if self.with_max.iter().any(|n| digits_eq(n, &digits)) {
            true
        } else {
            self.default
        }
    }

    /// Whether a message to this number reaches the person: they have an account and it is not
    /// one of the `failing` (or `undeliverable`) ones.
    pub fn delivers_to(&self, number: &str) -> bool {
        let digits = digits(number);
        self.has_max(&digits)
            && !self
                .failing
                .iter()
                .chain(&self.undeliverable)
                .any(|n| digits_eq(n, &digits))
    }
}

/// A number `checkAccount` accepts: 11 or 12 digits, Russian (`7…`, 11 digits) or Belarusian
/// (`375…`, 12 digits).
pub fn max_region(digits: &str) -> bool {
    (digits.len() == 11 && digits.starts_with('7'))
        || (digits.len() == 12 && digits.starts_with("375"))
}

/// One line of a customer's MAX chat as the sandbox shows it (`GET /sim/max/chat`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatLine {
    /// `out`: our message to the customer; `in`: the customer's.
    pub direction: String,
    pub id: String,
    pub text: String,
    /// The message this one quotes (a swipe-reply or a reaction).
    pub quoted_message_id: Option<String>,
    /// Ours only: the latest status posted for it (`sent`, `delivered`, `read`, `failed`).
    pub status: Option<String>,
    pub at: DateTime<Utc>,
}

/// One SMS accepted by `/sms/send` (`GET /sim/sms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsRecord {
    /// SMS.ru's `sms_id` (`000000-1000001`).
    pub sms_id: String,
    /// The recipient, digits only.
    pub to: String,
    pub text: String,
    /// The sender name (`from`), when one was given.
    pub from: Option<String>,
    /// Sent with `test=1`: answered like any other, but never delivered and never reported.
    pub test: bool,
    /// Segments the text takes (GSM 7-bit: 160, or 153 per part; otherwise UCS-2: 70, or 67).
    pub segments: u32,
    /// The latest delivery status code (100 queued, 102 on its way, 103 delivered, 104–108 and
    /// 150 not delivered).
    pub status_code: i32,
    /// Every `http(s)://` link in the text, in order: what the customer can tap.
    pub links: Vec<String>,
    pub at: DateTime<Utc>,
}

/// Which numbers SMS cannot reach (`PUT /sim/sms/numbers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SmsBook {
    /// Accepted, then reported not delivered with `fail_code`.
    pub undeliverable: Vec<String>,
    /// Refused at send time with code 207 ("нельзя отправлять сообщения").
    pub refused: Vec<String>,
    /// The status code reported for `undeliverable` numbers (104–108 or 150).
    pub fail_code: i32,
}

impl Default for SmsBook {
    fn default() -> Self {
        SmsBook {
            undeliverable: Vec::new(),
            refused: Vec::new(),
            fail_code: 104,
        }
    }
}

impl SmsBook {
    pub fn undeliverable(&self, number: &str) -> bool {
        let digits = digits(number);
        self.undeliverable.iter().any(|n| digits_eq(n, &digits))
    }

    pub fn refused(&self, number: &str) -> bool {
        let digits = digits(number);
        self.refused.iter().any(|n| digits_eq(n, &digits))
    }
}

/// A customer's answer, delivered to our webhook as the provider would (`POST /sim/reply`).
/// Exactly one of `text`, `button_payload`, `interactive_reply_id`, `reaction` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reply {
    pub provider: Provider,
    /// The customer's number (digits; `+` and spaces are ignored).
    pub from: String,
    #[serde(default)]
    pub text: Option<String>,
    /// Green-API and MAX: deliver the text as `extendedTextMessage` (what the messenger sends
    /// for text with a link preview or typed on some clients) instead of `textMessage`.
    #[serde(default)]
    pub extended: bool,
    /// MAX only: quote our last message to this number (a swipe-reply), as `replyTo` does for a
    /// given id. Without either, a MAX text quotes nothing.
    #[serde(default)]
    pub quote: bool,
    /// Meta only: a tapped quick-reply button of a template (`type: button`).
    #[serde(default)]
    pub button_payload: Option<String>,
    /// The button's caption; defaults to the payload.
    #[serde(default)]
    pub button_text: Option<String>,
    /// Meta only: a tapped reply button of an interactive message (`button_reply.id`).
    #[serde(default)]
    pub interactive_reply_id: Option<String>,
    /// The reply button's title; defaults to the id.
    #[serde(default)]
    pub interactive_title: Option<String>,
    /// Meta and MAX: an emoji reaction to one of our messages.
    #[serde(default)]
    pub reaction: Option<String>,
    /// The id of the customer's message; generated when absent. For a reaction without
    /// `reply_to` it names the message reacted to instead (the short form `{"reaction","messageId"}`).
    #[serde(default)]
    pub message_id: Option<String>,
    /// Our message the customer answers (`context.id`, `reaction.message_id`). Defaults to the
    /// last message sent to this number through this provider.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The customer's profile name; defaults to "Customer".
    #[serde(default)]
    pub name: Option<String>,
    /// How many times to deliver the very same webhook (providers retry; we must deduplicate).
    #[serde(default)]
    pub times: Option<u32>,
}

impl Reply {
    fn blank(provider: Provider, from: &str) -> Reply {
        Reply {
            provider,
            from: from.to_owned(),
            text: None,
            extended: false,
            quote: false,
            button_payload: None,
            button_text: None,
            interactive_reply_id: None,
            interactive_title: None,
            reaction: None,
            message_id: None,
            reply_to: None,
            name: None,
            times: None,
        }
    }

    /// The customer types `text`.
    pub fn text(provider: Provider, from: &str, text: &str) -> Reply {
        Reply {
            text: Some(text.to_owned()),
            ..Reply::blank(provider, from)
        }
    }

    /// Green-API: the customer's text arrives as `extendedTextMessage`.
    pub fn extended_text(from: &str, text: &str) -> Reply {
        Reply {
            extended: true,
            ..Reply::text(Provider::GreenApi, from, text)
        }
    }

    /// MAX: the customer swipe-replies to our message `to_message` with `text`
    /// (`quotedMessage`).
    pub fn max_quoted(from: &str, text: &str, to_message: &str) -> Reply {
        Reply {
            reply_to: Some(to_message.to_owned()),
            ..Reply::text(Provider::Max, from, text)
        }
    }

    /// Meta: the customer taps a template's quick-reply button.
    pub fn button(from: &str, payload: &str, text: &str) -> Reply {
        Reply {
            button_payload: Some(payload.to_owned()),
            button_text: Some(text.to_owned()),
            ..Reply::blank(Provider::Meta, from)
        }
    }

    /// Meta: the customer taps a reply button of an interactive message.
    pub fn interactive(from: &str, id: &str, title: &str) -> Reply {
        Reply {
            interactive_reply_id: Some(id.to_owned()),
            interactive_title: Some(title.to_owned()),
            ..Reply::blank(Provider::Meta, from)
        }
    }

    /// Meta: the customer reacts with `emoji` to our message `to_message`.
    pub fn reaction(from: &str, emoji: &str, to_message: &str) -> Reply {
        Reply {
            reaction: Some(emoji.to_owned()),
            reply_to: Some(to_message.to_owned()),
            ..Reply::blank(Provider::Meta, from)
        }
    }

    /// Uses this id for the customer's message instead of a random one.
    pub fn with_message_id(mut self, id: &str) -> Reply {
        self.message_id = Some(id.to_owned());
        self
    }

    /// Answers this message of ours (`context.id`).
    pub fn replying_to(mut self, id: &str) -> Reply {
        self.reply_to = Some(id.to_owned());
        self
    }

    /// Delivers the same webhook `n` times.
    pub fn times(mut self, n: u32) -> Reply {
        self.times = Some(n);
        self
    }
}

/// A delivery status for one of our messages (`POST /sim/status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusUpdate {
    pub provider: Provider,
    pub message_id: String,
    /// Meta: `sent`, `delivered`, `read`, `failed`. Green-API: those and `noAccount`. MAX:
    /// `sent`, `delivered`, `read`, `failed`.
    pub status: String,
    /// Meta `failed` only: `errors[].code` (default 131026, undeliverable).
    #[serde(default)]
    pub error_code: Option<u32>,
    /// The recipient; defaults to the recipient of the recorded message `message_id`.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
}

impl StatusUpdate {
    pub fn new(provider: Provider, message_id: &str, status: &str) -> StatusUpdate {
        StatusUpdate {
            provider,
            message_id: message_id.to_owned(),
            status: status.to_owned(),
            error_code: None,
            to: None,
            times: None,
        }
    }

    pub fn error_code(mut self, code: u32) -> StatusUpdate {
        self.error_code = Some(code);
        self
    }

    pub fn times(mut self, n: u32) -> StatusUpdate {
        self.times = Some(n);
        self
    }
}

/// What our webhook answered to one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The HTTP status, when there was an answer at all.
    pub status: Option<u16>,
    pub body: String,
    /// Why there was no answer (connection refused, timeout).
    pub error: Option<String>,
}

/// The outcome of `POST /sim/reply` or `POST /sim/status`: the message id the webhook carried
/// and one answer per delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    pub message_id: String,
    pub answers: Vec<Answer>,
}

impl Delivered {
    /// `(status, body)` per delivery; no answer shows as status 0.
    pub fn pairs(&self) -> Vec<(u16, String)> {
        self.answers
            .iter()
            .map(|a| (a.status.unwrap_or(0), a.body.clone()))
            .collect()
    }
}

/// One webhook call the simulator made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub provider: Provider,
    /// `message` (a customer's answer) or `status`.
    pub kind: String,
    pub message_id: String,
    /// The status carried, for status webhooks.
    pub status: Option<String>,
    pub url: String,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// Webhook counters: `delivered` got a 2xx, `failed` did not, `skipped` were due but no webhook
/// URL was configured for the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStats {
    pub delivered: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// What the simulator has seen (`GET /sim/stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub meta_sends: u64,
    pub green_api_sends: u64,
    pub green_api_checks: u64,
    #[serde(default)]
    pub max_sends: u64,
    /// `checkAccount` calls: MAX can restrict an account that checks too often.
    #[serde(default)]
    pub max_checks: u64,
    /// SMS accepted by `/sms/send`, `test=1` ones included.
    #[serde(default)]
    pub sms_sends: u64,
    /// Requests refused for a wrong or missing token / instance.
    pub unauthorized: u64,
    /// Requests refused as malformed.
    pub bad_requests: u64,
    pub webhooks: WebhookStats,
    /// Automatic status webhooks still waiting to be posted.
    pub pending_statuses: u64,
    /// The latest webhook calls, oldest first (at most 500).
    pub deliveries: Vec<WebhookDelivery>,
    /// MAX and SMS.ru sends that met an injected failure (`PUT /sim/faults`).
    #[serde(default)]
    pub provider_faults: crate::faults::FaultStats,
}

/// Why a control operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no webhook URL is configured for {0} (PUT /sim/config)")]
    NoWebhook(&'static str),
}

impl SimError {
    pub(crate) fn bad(message: impl Into<String>) -> SimError {
        SimError::BadRequest(message.into())
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX_UPPER: &[u8] = b"0123456789ABCDEF";

fn random_from(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[fastrand::usize(..alphabet.len())] as char)
        .collect()
}

/// A Meta message id: `wamid.` and a base64-looking tail, as Meta's are.
pub(crate) fn wamid() -> String {
    format!("wamid.HBgL{}", random_from(ALNUM, 46))
}

/// A Green-API id of a message sent through the API (`BAE5` + hex, as the gateway issues them).
pub(crate) fn green_api_outgoing_id() -> String {
    format!("BAE5{}", random_from(HEX_UPPER, 12))
}

/// A Green-API id of an incoming message (32 hex digits, as in Green-API's examples).
pub(crate) fn green_api_incoming_id() -> String {
    random_from(HEX_UPPER, 32)
}

/// A GREEN-API v3 (MAX) message id: a long run of digits, as in the v3 docs' examples.
pub(crate) fn max_message_id() -> String {
    format!("{}{}", fastrand::u8(1..=9), random_from(b"0123456789", 21))
}

/// A Graph API trace id, present on every Meta error.
pub(crate) fn fbtrace_id() -> String {
    random_from(ALNUM, 23)
}
