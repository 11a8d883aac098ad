//! MAX, the Russian national messenger, through a GREEN-API v3 instance: an ordinary MAX account of
//! a real person behind an HTTP gateway (MAX's own bot API cannot start a conversation). This module
//! sends text, asks whether a phone has MAX, and reads the instance's state; it decides nothing.
//!
//! Built to green-api.com/v3/docs: api/sending/SendMessage, api/service/CheckAccount,
//! api/account/GetStateInstance, api/chat-id. Errors map exactly as for the WhatsApp GREEN-API
//! client (`SendError::NotSent` when the provider certainly did nothing).

use otklik_core::config::{Config, MaxConfig, Secrets};
use otklik_core::model::Phone;
use serde_json::{json, Value};

use crate::{call_json, green_api_url, http, SendError};

/// SendMessage refuses longer texts (green-api.com/v3/docs/api/sending/SendMessage).
pub const MAX_TEXT_CHARS: usize = 4000;

/// What CheckAccount said about a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxAccount {
    /// The phone has MAX; messages go to this numeric personal chat id.
    Exists { chat_id: String },
    /// The phone has no MAX account.
    Missing,
    /// CheckAccount only takes Russian (+7) and Belarusian (+375) numbers: nobody was asked.
    NotCheckable,
}

/// The instance's state as GetStateInstance reports it
/// (green-api.com/v3/docs/api/account/GetStateInstance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxState {
    Authorized,
    /// The account is logged out of the instance: nothing is sent until someone logs in again.
    NotAuthorized,
    /// MAX blocked the account.
    Blocked,
    /// Rebooting or in maintenance; usually `authorized` again within minutes.
    Starting,
    /// Temporary restrictions: sends to numbers outside the account's contacts answer 403.
    Suspended,
    /// A state the documentation did not list when this was written; kept verbatim.
    Other(String),
}

impl MaxState {
    /// Whether the instance sends in this state. Logged out, blocked or suspended, it does not
    /// (a suspended one refuses numbers outside its contacts, which is every customer); a
    /// restart or a state we do not know is given the benefit of the doubt.
    pub fn can_send(&self) -> bool {
        !matches!(
            self,
            MaxState::NotAuthorized | MaxState::Blocked | MaxState::Suspended
        )
    }

    pub fn parse(raw: &str) -> MaxState {
        match raw {
            "authorized" => MaxState::Authorized,
            "notAuthorized" => MaxState::NotAuthorized,
            "blocked" => MaxState::Blocked,
            "starting" => MaxState::Starting,
            "suspended" => MaxState::Suspended,
            other => MaxState::Other(other.to_string()),
        }
    }

    /// The documented name (`notAuthorized`…), for logs and alarms.
    pub fn as_str(&self) -> &str {
        match self {
            MaxState::Authorized => "authorized",
            MaxState::NotAuthorized => "notAuthorized",
            MaxState::Blocked => "blocked",
            MaxState::Starting => "starting",
            MaxState::Suspended => "suspended",
            MaxState::Other(s) => s,
        }
    }
}

/// A GREEN-API v3 instance logged in to one MAX account.
#[derive(Clone)]
pub struct MaxClient {
    http: reqwest::Client,
    config: MaxConfig,
    token: String,
}

impl std::fmt::Debug for MaxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxClient")
            .field("instance", &self.config.instance_id)
            .finish_non_exhaustive()
    }
}

impl MaxClient {
    pub fn new(config: MaxConfig, token: impl Into<String>) -> Self {
        MaxClient {
            http: http(),
            config,
            token: token.into(),
        }
    }

    /// The client for `[max]`, or `None` when MAX is not configured. `Secrets::load` already
    /// refused a `[max]` without its token.
    pub fn from_config(config: &Config, secrets: &Secrets) -> Option<MaxClient> {
        match (&config.max, &secrets.max_token) {
            (Some(m), Some(t)) => Some(MaxClient::new(m.clone(), t.expose())),
            _ => None,
        }
    }

    /// `{apiUrl}/v3/waInstance{id}/{method}/{token}`. The v3 docs call the prefix optional; it is
    /// kept so a WhatsApp instance's URL given here by mistake cannot pass for MAX. An `api_url`
    /// already ending in `/v3` is taken as it is.
    fn url(&self, method: &str) -> String {
        let base = self.config.api_url.trim_end_matches('/');
        let base = base.strip_suffix("/v3").unwrap_or(base);
        green_api_url(base, "/v3", &self.config.instance_id, method, &self.token)
    }

    /// Sends `text` to a personal chat; the answer's `idMessage` is what later statuses carry.
    ///
    /// `chat_id` is the numeric personal chat id from `check_account` or from the customer's own
    /// message (green-api.com/v3/docs/api/chat-id: personal chats are positive numbers, groups
    /// negative). Anything else is refused before any call.
    pub async fn send_text(&self, chat_id: &str, text: &str) -> Result<String, SendError> {
        if chat_id.is_empty() || !chat_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SendError::NotSent(
                "not a MAX personal chat id (digits only)".into(),
            ));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(SendError::NotSent(format!(
                "text longer than MAX's {MAX_TEXT_CHARS} characters"
            )));
        }
        let v = call_json(
            self.http
                .post(self.url("sendMessage"))
                .json(&json!({"chatId": chat_id, "message": text})),
        )
        .await?;
        v["idMessage"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| SendError::Unknown("the answer carries no idMessage".into()))
    }

    /// Whether `phone` has MAX, and its chat id.
    ///
    /// Only +7 and +375 numbers may be checked; others are `NotCheckable` without a call. Frequent
    /// checks of numbers without MAX can get the account restricted, so callers cache the answer
    /// per phone. A failed check sent nothing to anyone: every error is `NotSent`, safe to retry.
    pub async fn check_account(&self, phone: &Phone) -> Result<MaxAccount, SendError> {
        let digits = phone.digits();
        let checkable = (digits.starts_with('7') && digits.len() == 11)
            || (digits.starts_with("375") && digits.len() == 12);
        if !checkable {
            return Ok(MaxAccount::NotCheckable);
        }
        let number: u64 = digits
            .parse()
            .map_err(|_| SendError::NotSent("phone is not numeric".into()))?;
        let v = call_json(
            self.http
                .post(self.url("checkAccount"))
                .json(&json!({"phoneNumber": number})),
        )
        .await
        .map_err(|e| SendError::NotSent(e.to_string()))?;
        account_of(&v).map_err(SendError::NotSent)
    }

    /// The instance's state. A read: every error is `NotSent`.
    pub async fn state(&self) -> Result<MaxState, SendError> {
        let v = call_json(self.http.get(self.url("getStateInstance")))
            .await
            .map_err(|e| SendError::NotSent(e.to_string()))?;
        v["stateInstance"]
            .as_str()
            .map(MaxState::parse)
            .ok_or_else(|| SendError::NotSent("the answer carries no stateInstance".into()))
    }
}

/// What [`MaxClient::pace`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paced {
    /// The instance already sends at that interval: nothing was changed.
    Already,
    /// The interval was set; `was` is the instance's previous one in milliseconds, if it said.
    Set { was: Option<u64> },
}

impl MaxClient {
    /// Makes the instance send at most one message per `interval`: GREEN-API puts every send in
    /// the instance's queue and lets them out `delaySendMessagesMilliseconds` apart
    /// (green-api.com/v3/docs/api/send-messages-delay). `getSettings` first, and `setSettings`
    /// only on a difference: a changed setting restarts the instance (its SetSettings page).
    /// Reads and a refused write send nothing to anyone: every error is `NotSent`.
    pub async fn pace(&self, interval: std::time::Duration) -> Result<Paced, SendError> {
        let want = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        let settings = call_json(self.http.get(self.url("getSettings")))
            .await
            .map_err(|e| SendError::NotSent(e.to_string()))?;
        let was = settings["delaySendMessagesMilliseconds"].as_u64();
        if was == Some(want) {
            return Ok(Paced::Already);
        }
        let v = call_json(
            self.http
                .post(self.url("setSettings"))
                .json(&json!({ "delaySendMessagesMilliseconds": want })),
        )
        .await
        .map_err(|e| SendError::NotSent(e.to_string()))?;
        if v["saveSettings"].as_bool() != Some(true) {
            return Err(SendError::NotSent(format!("setSettings did not save: {v}")));
        }
        Ok(Paced::Set { was })
    }
}

/// `{"exist": true, "chatId": "11111111"}` or `{"exist": false, "chatId": ""}`.
fn account_of(v: &Value) -> Result<MaxAccount, String> {
    match v["exist"].as_bool() {
        Some(true) => {
            // Documented as a string; a number is accepted rather than lose a reachable customer.
            let chat_id = match &v["chatId"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            if chat_id.is_empty() || !chat_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err("exist is true but chatId is not a personal chat id".into());
            }
            Ok(MaxAccount::Exists { chat_id })
        }
        Some(false) => Ok(MaxAccount::Missing),
        // An unauthorized instance answers `{"status": false, "reason": …}` instead.
        None => Err("the answer carries no exist flag".into()),
    }
}
