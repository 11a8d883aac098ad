//! SMS: one short message from the shop's registered sender name, carrying one link to our page.
//! `SmsSender` is the seam (a second provider is one more file and one more arm of `Sms`);
//! `SmsRu` is the provider we ship. Also the parser of SMS.ru's delivery-status callbacks.
//!
//! Built to sms.ru/api/send (the request and its JSON answer), sms.ru/api/status (the status
//! codes) and sms.ru/api/callback (the callback's `data[]` entries and the "100" it expects back).

use std::future::Future;

use otklik_core::config::{Config, Secrets, SmsConfig, SmsProvider};
use otklik_core::machine::{IdSpace, InputId};
use otklik_core::model::{Channel, Phone};
use serde_json::Value;

use crate::inbound::{DeliveryStatus, Inbound, InboundError, MAX_BODY_BYTES};
use crate::{call_json, http, SendError};

/// Sends one SMS. Returns the provider's id of the message, which its delivery statuses carry.
pub trait SmsSender: Send + Sync {
    fn send(
        &self,
        phone: &Phone,
        text: &str,
    ) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// The configured SMS provider.
#[derive(Debug, Clone)]
pub enum Sms {
    SmsRu(SmsRu),
}

impl Sms {
    /// The sender for `[sms]`, or `None` when SMS is not configured. `Secrets::load` already
    /// refused an `[sms]` without its provider's secret.
    pub fn from_config(config: &Config, secrets: &Secrets) -> Option<Sms> {
        let sms = config.sms.as_ref()?;
        match sms.provider {
            SmsProvider::Smsru => secrets
                .smsru_api_id
                .as_ref()
                .map(|id| Sms::SmsRu(SmsRu::new(sms.clone(), id.expose()))),
        }
    }
}

impl SmsSender for Sms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        match self {
            Sms::SmsRu(s) => s.send(phone, text).await,
        }
    }
}

/// SMS.ru.
#[derive(Clone)]
pub struct SmsRu {
    http: reqwest::Client,
    config: SmsConfig,
    api_id: String,
}

impl std::fmt::Debug for SmsRu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsRu")
            .field("sender", &self.config.sender)
            .field("test", &self.config.test)
            .finish_non_exhaustive()
    }
}

impl SmsRu {
    pub fn new(config: SmsConfig, api_id: impl Into<String>) -> Self {
        SmsRu {
            http: http(),
            config,
            api_id: api_id.into(),
        }
    }
}

impl SmsSender for SmsRu {
    /// `POST {api_url}/sms/send` as a form: `api_id`, `to`, `msg`, `from`, `json=1`, and `test=1`
    /// when configured. A POST keeps the api_id and the text out of URLs (and so out of access
    /// logs). The answer is read by `smsru_send_outcome`.
    async fn send(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        let to = phone.digits();
        let mut form: Vec<(&str, &str)> = vec![
            ("api_id", &self.api_id),
            ("to", to),
            ("msg", text),
            ("from", &self.config.sender),
            ("json", "1"),
        ];
        if self.config.test {
            form.push(("test", "1"));
        }
        let url = format!("{}/sms/send", self.config.api_url.trim_end_matches('/'));
        let v = call_json(self.http.post(url).form(&form)).await?;
        smsru_send_outcome(&v, to)
    }
}

/// Reads SMS.ru's answer to `sms/send` with `json=1` (sms.ru/api/send):
///
/// ```json
/// {"status": "OK", "status_code": 100,
///  "sms": {"79255070602": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}},
///  "balance": 4122.56}
/// ```
///
/// A top-level `ERROR` refuses the whole request (bad api_id, no money…); otherwise the number's
/// own entry says whether that SMS was taken. Which codes are "certainly not sent" is
/// `smsru_code_not_sent`; anything else is `Unknown`, so nobody sends the SMS twice.
pub fn smsru_send_outcome(v: &Value, to: &str) -> Result<String, SendError> {
    let refused = |what: &str, entry: &Value| {
        let code = entry["status_code"].as_i64();
        let text = entry["status_text"].as_str().unwrap_or("");
        let msg = match code {
            Some(c) => format!("SMS.ru {what} {c}: {text}"),
            None => format!("SMS.ru {what} without a status_code"),
        };
        match code {
            Some(c) if smsru_code_not_sent(c) => SendError::NotSent(msg),
            _ => SendError::Unknown(msg),
        }
    };
    match v["status"].as_str() {
        Some("OK") => {}
        Some("ERROR") => return Err(refused("refused the request:", v)),
        _ => return Err(SendError::Unknown("SMS.ru answer without a status".into())),
    }
    let entries = v["sms"]
        .as_object()
        .ok_or_else(|| SendError::Unknown("SMS.ru answer without an sms object".into()))?;
    // The entry is keyed by the number as we sent it; with one number, its only entry is ours.
    let entry = entries
        .get(to)
        .or_else(|| {
            (entries.len() == 1)
                .then(|| entries.values().next())
                .flatten()
        })
        .ok_or_else(|| SendError::Unknown("SMS.ru answer has no entry for the number".into()))?;
    match (entry["status"].as_str(), entry["status_code"].as_i64()) {
        (Some("OK"), Some(100)) => entry["sms_id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| SendError::Unknown("SMS.ru took the SMS but gave no sms_id".into())),
        _ => Err(refused("did not take the SMS:", entry)),
    }
}

/// The SMS.ru codes (sms.ru/api/send, sms.ru/api/status) that mean the SMS was certainly not
/// taken: the request or the number was refused, so sending again cannot deliver it twice.
/// 500 ("server error, repeat the request") and codes not listed here are not in it.
pub fn smsru_code_not_sent(code: i64) -> bool {
    matches!(
        code,
        // 200 bad api_id, 201 not enough money, 202 bad recipient number, 203 no text,
        // 204 sender name not approved, 205 text too long, 206 daily limit, 207 no route to the
        // number, 208 bad `time`, 209 number in our stop list, 210 GET instead of POST,
        // 211 unknown method, 212 text not UTF-8, 213 more than 100 numbers.
        200..=213
        // 220 service temporarily unavailable (it took nothing).
        | 220
        // 230–233: per-number limits (daily, same text per minute/day, repeated codes).
        | 230..=233
        // 300 bad token, 301 bad api_id or password, 302 account not confirmed.
        | 300..=302
    )
}

/// What SMS.ru said happened to one of our SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsDelivery {
    /// 100 queued, 101 passed to the operator, 102 sent, on its way.
    InProgress,
    /// 103 delivered (110, read, counts too).
    Delivered,
    /// 104 expired, 105 deleted by the operator, 106 phone failure, 107 unknown reason,
    /// 108 rejected, 150 no route to the number.
    Failed,
}

/// One `sms_status` entry of an SMS.ru callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsStatusUpdate {
    /// The `sms_id` our send returned.
    pub sms_id: String,
    pub delivery: SmsDelivery,
    /// SMS.ru's status code, e.g. 103.
    pub code: i64,
}

impl SmsStatusUpdate {
    /// The same update as an inbound item for the state machine: `via: Channel::Sms`, a failure's
    /// reason `smsru:<code>`, deduplicated by id and code.
    pub fn to_inbound(&self) -> Result<Inbound, InboundError> {
        let (status, reason) = match self.delivery {
            SmsDelivery::InProgress => (DeliveryStatus::Sent, None),
            SmsDelivery::Delivered => (DeliveryStatus::Delivered, None),
            SmsDelivery::Failed => (DeliveryStatus::Failed, Some(format!("smsru:{}", self.code))),
        };
        let id = InputId::provider_status(IdSpace::SmsRu, &self.sms_id, &self.code.to_string())
            .map_err(|_| InboundError::Malformed("sms_id too long".into()))?;
        Ok(Inbound::Status {
            message_id: self.sms_id.clone(),
            id,
            status,
            reason,
            via: Channel::Sms,
            recipient_user_id: None,
        })
    }
}

/// What SMS.ru expects back from a callback handler that took the data; anything else and it
/// treats the handler as failing (sms.ru/api/callback).
pub const SMSRU_CALLBACK_ANSWER: &str = "100";

/// One `data[]` entry of an SMS.ru callback: a status update, or an entry we cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsCallbackItem {
    Status(SmsStatusUpdate),
    /// An `sms_status` entry without its id or code, with a bad id or a code that is not a
    /// number: kept for an operator, never a reason to refuse the others.
    Unusable {
        /// `data[<n>]`: which field of the form, counted from 0.
        at: String,
        /// Why, naming lines only, never their values.
        reason: String,
        /// The entry as sent (an sms id, a code and a time: no phone number, no words).
        raw: String,
    },
}

impl SmsCallbackItem {
    /// The item as queued for `inbound-worker`: a status `via: Channel::Sms`, or an
    /// [`Inbound::Unusable`] of provider `smsru` that the worker logs, counts in `UnusableItems`
    /// and keeps.
    pub fn to_inbound(&self) -> Inbound {
        match self {
            SmsCallbackItem::Status(update) => update.to_inbound().unwrap_or_else(|e| {
                crate::inbound::unusable(
                    "smsru",
                    "data".into(),
                    e.to_string(),
                    &Value::String(update.sms_id.clone()),
                )
            }),
            SmsCallbackItem::Unusable { at, reason, raw } => crate::inbound::unusable(
                "smsru",
                at.clone(),
                reason.clone(),
                &Value::String(raw.clone()),
            ),
        }
    }
}

/// Parses an SMS.ru callback: a form POST whose `data[]` fields each hold lines
/// `sms_status\n<sms_id>\n<status code>\n<unix time>` (sms.ru/api/callback). Entries of another
/// kind are skipped, as are status codes we do not act on (-1, not found); a form without `data`
/// (a check of the handler) gives nothing. The handler answers `SMSRU_CALLBACK_ANSWER` once the
/// items are safely queued.
///
/// Per item, as for Meta's and GREEN-API's webhooks: an `sms_status` entry we cannot read is
/// [`SmsCallbackItem::Unusable`] in its place and the others are read as usual. Refusing the
/// whole callback would make SMS.ru send it again and again (it retries until it hears "100")
/// and lose every good status in it with the bad one. Only a body that is not a form at all is
/// `Malformed`.
///
/// SMS.ru does not sign callbacks: the handler authenticates by a secret in the callback URL it
/// registered. Nothing here does I/O or logs.
pub fn parse_smsru_callback(raw_body: &[u8]) -> Result<Vec<SmsCallbackItem>, InboundError> {
    if raw_body.len() > MAX_BODY_BYTES {
        return Err(InboundError::TooLarge);
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(raw_body)
        .map_err(|_| InboundError::Malformed("not a form body".into()))?;
    let mut out = Vec::new();
    for (i, (key, value)) in fields.iter().enumerate() {
        // PHP-style arrays: `data[]`, or `data[0]`, `data[1]`…
        if !(key == "data" || key.starts_with("data[") && key.ends_with(']')) {
            continue;
        }
        let lines: Vec<&str> = value.lines().map(str::trim).collect();
        if lines.first() != Some(&"sms_status") {
            continue;
        }
        match sms_status_entry(&lines) {
            Ok(Some(update)) => out.push(SmsCallbackItem::Status(update)),
            Ok(None) => {}
            Err(reason) => out.push(SmsCallbackItem::Unusable {
                at: format!("data[{i}]"),
                reason: reason.into(),
                raw: value.clone(),
            }),
        }
    }
    Ok(out)
}

/// One `sms_status` entry's lines → its update; `Ok(None)` for a code we do not act on.
fn sms_status_entry(lines: &[&str]) -> Result<Option<SmsStatusUpdate>, &'static str> {
    let (Some(id), Some(code)) = (lines.get(1), lines.get(2)) else {
        return Err("sms_status without an id and a code");
    };
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("bad sms id");
    }
    let code: i64 = code.parse().map_err(|_| "status code not a number")?;
    let delivery = match code {
        100..=102 => SmsDelivery::InProgress,
        103 | 110 => SmsDelivery::Delivered,
        104..=108 | 150 => SmsDelivery::Failed,
        _ => return Ok(None),
    };
    Ok(Some(SmsStatusUpdate {
        sms_id: id.to_string(),
        delivery,
        code,
    }))
}
