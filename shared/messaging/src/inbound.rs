//! Receivers: provider webhooks (Meta Cloud API, Green-API for WhatsApp and for MAX) →
//! authenticated, deduplicable domain inputs. Pure functions over the request's parts: the HTTP handler reads the body and headers,
//! calls these, and hands the results to the state machine; nothing here does I/O or logs.
//!
//! Error messages name JSON paths and field names only, never values, so a handler may log them
//! without leaking a phone number or a customer's words.

use hmac::{Hmac, Mac};
use otklik_core::machine::{Event, IdSpace, InputId};
use otklik_core::model::{Channel, DomainError, Phone};
use otklik_core::reply::{parse_button_payload, parse_reaction};
use otklik_core::whatsapp_template::rating_of_button_text;

use crate::max::MaxState;
use otklik_core::secrets::secret_eq;
use serde_json::Value;
use sha2::Sha256;

/// Bodies larger than this are refused before parsing. Real webhooks are a few kilobytes; a batch
/// of Meta statuses stays far below this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("the webhook signature does not match the body")]
    BadSignature,
    #[error("the webhook signature header is missing")]
    MissingSignature,
    #[error("the webhook token is missing or wrong")]
    BadToken,
    #[error("the webhook subscription handshake was refused")]
    BadHandshake,
    /// Not JSON, or not the shape the provider documents; the message names the path.
    #[error("malformed webhook: {0}")]
    Malformed(String),
    #[error("webhook body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
}

/// What a webhook told us. Serializable: `provider-webhooks` queues each item as it was parsed,
/// for `inbound-worker` to apply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inbound {
    /// A customer's message.
    Message {
        from: Phone,
        /// The provider's message id (Green-API: `<chatId>/<idMessage>`; MAX:
        /// `max:<chatId>/<idMessage>`), for deduplication.
        id: InputId,
        /// `Event::Text` or `Event::Choice`, `via` the channel the webhook came from.
        event: Event,
        /// The id of our message this one quotes or reacts to, when the provider gives it.
        context_message_id: Option<String>,
        /// The provider's chat with the sender when it is not the phone itself (MAX: the numeric
        /// chatId, where a reply must go). `None` for WhatsApp.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat_id: Option<String>,
        /// For an edit: the input id the edited message has (or will have) here. `event` is the
        /// new content; the worker applies it in the original's place if the original was not
        /// acted on yet, else as `Event::Edited`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edits: Option<InputId>,
        /// The sender's business-scoped user id when Meta names it beside the number (the
        /// message's `from_user_id`, else `contacts[].user_id` of the contact whose `wa_id` is
        /// `from`): the worker learns it for the survey the message is routed to, as it does from
        /// a status's `recipient_user_id`, and routes by it when the number has no survey (a
        /// customer who changed number). `None` for GREEN-API and MAX.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// A customer's message that carries no phone number we can use, only the customer's
    /// business-scoped user id (Meta's "BSUID", `from_user_id`): a WhatsApp user who adopted a
    /// username and whose number Meta withholds, or a `from` that is no possible phone number. The
    /// worker routes it by the user id learned from the statuses of our own messages
    /// ([`Inbound::Status`]'s `recipient_user_id`), a quote only among that user's surveys; one
    /// it cannot route it keeps as an [`Inbound::Unusable`] made of `at`, `reason` and `raw`.
    ///
    /// Shape: Meta's "Business-scoped user IDs" page
    /// (developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/):
    /// every messages webhook carries `from_user_id` (and `contacts[].user_id`); `from` and
    /// `contacts[].wa_id` are omitted when the user's phone number is unavailable.
    UserMessage {
        /// The BSUID, e.g. `US.13491208655302741918`: stable per business, not a phone number.
        user_id: String,
        /// The provider's message id, for deduplication.
        id: InputId,
        /// As for [`Inbound::Message`].
        event: Event,
        /// The id of our message this one quotes or reacts to.
        context_message_id: Option<String>,
        /// For an edit: the input id of the edited message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edits: Option<InputId>,
        /// Where in the body it was, for the operator if it is kept.
        at: String,
        /// Why it could not be read by number (naming fields only).
        reason: String,
        /// The item's JSON, cut at [`UNUSABLE_RAW_BYTES`], kept only if it cannot be routed.
        raw: String,
    },
    /// A delivery status of one of our messages.
    Status {
        /// The provider's id of our message (what the send returned).
        message_id: String,
        /// `<message_id>:<status>`: a repeated status is the same input, a new status is not.
        id: InputId,
        status: DeliveryStatus,
        /// For failures: Meta's error code ("131026"), Green-API's status ("noAccount"),
        /// SMS.ru's `smsru:<code>`.
        reason: Option<String>,
        /// The channel of the message. Items queued before MAX and SMS existed are WhatsApp's.
        #[serde(default = "whatsapp")]
        via: Channel,
        /// The recipient's business-scoped user id, when the status carries it (Meta's
        /// `recipient_user_id`, on sent/delivered/read statuses; see [`Inbound::UserMessage`]):
        /// the worker learns from it which user id our message went to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recipient_user_id: Option<String>,
    },
    /// Meta's word that a customer's business-scoped user id changed: a `system` message of type
    /// `user_changed_user_id` (only the user id changed) or `user_changed_number` (a new number,
    /// which also makes a new user id), with the new id in `system.user_id` and the old one in
    /// `system.previous_user_id` — the "System messages webhook reference"
    /// (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/system/)
    /// and the changelog of Aug 11, 2026, which also says `user_id_update` is not a webhook field
    /// one can subscribe to: such changes come only as these system messages. The worker lets the
    /// new id find every survey the old id or the old number (`from`) had, so an answer after the
    /// change still finds its survey. Not the customer's words: nothing is rated.
    UserIdChanged {
        /// The new business-scoped user id.
        user_id: String,
        /// The one it replaces, when Meta gives it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_user_id: Option<String>,
        /// The number the customer had (`from`), when Meta gives it and it is a possible one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Phone>,
    },
    /// An item of an authentic webhook that we cannot use (a message without a sender, a shape
    /// we do not understand). The rest of the webhook is processed; this one is logged, counted
    /// and kept for an operator to look at (`otklik inbound unusable`), never refused: refusing
    /// would make the provider retry the whole POST and finally drop every other item with it.
    Unusable {
        /// `meta`, `green-api`, `max` or `smsru`.
        provider: String,
        /// Where in the body: `entry[0].changes[0].value.messages[1]`, or `body` for GREEN-API's
        /// one-notification webhooks.
        at: String,
        /// Why, naming fields only, never their values (it is logged).
        reason: String,
        /// The item's JSON as the provider sent it, cut at [`UNUSABLE_RAW_BYTES`]: for the
        /// operator only, never logged (it may hold a phone number and the customer's words).
        raw: String,
    },
    /// An error the provider reported: Meta's `value.errors[]` (about the account or the webhook,
    /// not one of our messages), the `errors[]` of a failed Meta status, a GREEN-API failure
    /// status (WhatsApp and MAX) with its `description`. Never queued: the webhook logs and
    /// counts it (`ProviderErrors`; `ProviderAccountErrors` when core's
    /// `provider_errors` rules say the whole account is affected).
    ProviderError {
        /// `meta`, `green-api` or `max`.
        provider: String,
        /// Meta's numeric code ("130429"), GREEN-API's status ("noActiveSession").
        code: String,
        /// The provider's words for it (Meta's `title`, GREEN-API's `description`), cut at
        /// [`ERROR_DETAIL_CHARS`]: errors describe our account or the message, not the customer.
        detail: Option<String>,
    },
}

/// How much of an error's description is kept.
pub const ERROR_DETAIL_CHARS: usize = 200;

fn provider_error(provider: &str, code: String, detail: Option<&str>) -> Inbound {
    Inbound::ProviderError {
        provider: provider.to_string(),
        code,
        detail: detail
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(ERROR_DETAIL_CHARS).collect()),
    }
}

/// A Meta `errors[]` element's code: a number, or a string some BSPs send.
fn meta_error_code(e: &Value) -> Option<String> {
    match e.get("code") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(c)) if !c.trim().is_empty() => Some(c.trim().to_string()),
        _ => None,
    }
}

/// How much of an unusable item is kept for inspection.
pub const UNUSABLE_RAW_BYTES: usize = 4096;

pub(crate) fn unusable(
    provider: &str,
    at: String,
    reason: impl Into<String>,
    raw: &Value,
) -> Inbound {
    Inbound::Unusable {
        provider: provider.to_string(),
        at,
        reason: reason.into(),
        raw: cut_raw(raw),
    }
}

/// An item's JSON, cut at [`UNUSABLE_RAW_BYTES`] on a character boundary.
fn cut_raw(raw: &Value) -> String {
    let mut raw = raw.to_string();
    if raw.len() > UNUSABLE_RAW_BYTES {
        let mut cut = UNUSABLE_RAW_BYTES;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
    }
    raw
}

fn whatsapp() -> Channel {
    Channel::Whatsapp
}

impl Inbound {
    /// The state machine's view of a status: delivered/read move `sent` on, a failure may fall
    /// back to email. `sent` adds nothing (dispatch already recorded the send) and a message is
    /// not a status, so both give `None`.
    pub fn status_event(&self) -> Option<Event> {
        match self {
            Inbound::Status {
                status,
                reason,
                via,
                ..
            } => match status {
                DeliveryStatus::Sent => None,
                DeliveryStatus::Delivered | DeliveryStatus::Read => Some(Event::Delivered),
                DeliveryStatus::Failed => Some(Event::DeliveryFailed {
                    channel: *via,
                    reason: reason.clone().unwrap_or_else(|| "failed".to_string()),
                }),
            },
            Inbound::Message { .. }
            | Inbound::UserMessage { .. }
            | Inbound::UserIdChanged { .. }
            | Inbound::Unusable { .. }
            | Inbound::ProviderError { .. } => None,
        }
    }
}

/// A delivery status, common to every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    /// Meta `failed`; Green-API (WhatsApp and MAX) `failed`, `noAccount`, `notInGroup`,
    /// `yellowCard`; an undelivered SMS.
    Failed,
}

/// Verifies Meta's `X-Hub-Signature-256: sha256=<hex>` over the exact raw body, in constant time.
///
/// An empty app secret never verifies: it would mean a missing configuration, and an HMAC under
/// an empty key is one anybody can compute.
pub fn verify_meta_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), InboundError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(InboundError::MissingSignature)?;
    if app_secret.is_empty() {
        return Err(InboundError::BadSignature);
    }
    let (scheme, hex) = header.split_once('=').ok_or(InboundError::BadSignature)?;
    if !scheme.eq_ignore_ascii_case("sha256") {
        return Err(InboundError::BadSignature);
    }
    // Decoding the attacker's own hex need not be constant time; the comparison below is.
    let claimed = decode_sha256_hex(hex).ok_or(InboundError::BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| InboundError::BadSignature)?;
    mac.update(raw_body);
    mac.verify_slice(&claimed)
        .map_err(|_| InboundError::BadSignature)
}

/// Green-API: `Authorization: Bearer <token>` compared in constant time. An empty expected token
/// (unconfigured) refuses everything rather than accepting `Bearer ` with nothing after it.
pub fn verify_bearer(expected: &str, header: Option<&str>) -> Result<(), InboundError> {
    if expected.is_empty() {
        return Err(InboundError::BadToken);
    }
    let header = header.map(str::trim).ok_or(InboundError::BadToken)?;
    let (scheme, token) = header.split_once(' ').ok_or(InboundError::BadToken)?;
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    if !scheme.eq_ignore_ascii_case("bearer") || !secret_eq(token.trim(), expected) {
        return Err(InboundError::BadToken);
    }
    Ok(())
}

/// A secret carried by the URL itself, for providers that sign nothing (SMS.ru's callback URL
/// ends in it), compared in constant time. An empty expected secret (unconfigured) refuses
/// everything.
pub fn verify_url_secret(expected: &str, given: &str) -> Result<(), InboundError> {
    if expected.is_empty() || !secret_eq(given, expected) {
        return Err(InboundError::BadToken);
    }
    Ok(())
}

/// Meta's GET handshake: `hub.mode == "subscribe"` and `hub.verify_token` equal to ours (constant
/// time) → the `hub.challenge` to echo back.
///
/// The challenge is echoed into a response body, so only what Meta sends (digits; we allow
/// ASCII letters, digits, `-`, `_`, `.`, up to 256 of them) is accepted: anything else could make
/// our endpoint reflect markup.
pub fn meta_handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_token: &str,
) -> Result<String, InboundError> {
    let token_ok = match token {
        Some(t) => !verify_token.is_empty() && secret_eq(t, verify_token),
        None => false,
    };
    if mode != Some("subscribe") || !token_ok {
        return Err(InboundError::BadHandshake);
    }
    match challenge {
        Some(c)
            if !c.is_empty()
                && c.len() <= 256
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            Ok(c.to_string())
        }
        _ => Err(InboundError::BadHandshake),
    }
}

/// Parses a Meta Cloud API webhook: every `entry[].changes[]` with `field == "messages"`, each of
/// its `messages[]` and `statuses[]`, in order. Other fields (account updates, templates…) are
/// ignored.
///
/// Choices made here:
/// - `text` → `Event::Text`; `button` and `interactive` (button/list reply) → `Event::Choice` when
///   the payload/id is one of ours, otherwise the visible text as `Event::Text`; `reaction` →
///   `Event::Choice` through `parse_reaction`, with the reacted-to message as context. A removed
///   reaction (no emoji) is skipped: it takes nothing back and says nothing new.
/// - Anything else the customer sends (image, sticker, audio, location…) becomes `Event::Text`
///   with a placeholder like `[image]` (plus the caption, if any), so it reaches the order and the
///   inspector instead of vanishing; the reply parser never reads a placeholder as a rating.
///   `system` messages (the customer changed number) and `revoke` (a deleted message) are not
///   the customer's words: skipped. An `edit` gives the new content, with `edits` naming the
///   original.
/// - A sender that is not even a possible phone number cannot be routed: the message is
///   [`Inbound::Unusable`] (kept, counted), never skipped silently. Statuses other than
///   sent/delivered/read/failed (Meta's `deleted`, `warning`) are skipped. `value.errors` and a
///   failed status's `errors[]` give [`Inbound::ProviderError`]s.
/// - A message or status we cannot use (without its id, sender or type; an entry or change of a
///   shape we do not understand) becomes an [`Inbound::Unusable`] in its place, and the others
///   are read as usual: one bad item must not sink the POST (Meta would retry it and finally drop
///   every item in it). Only a body that is not a Meta webhook at all (not JSON, no `entry`
///   array) is `Malformed`.
pub fn parse_meta(raw_body: &[u8], default_region: &str) -> Result<Vec<Inbound>, InboundError> {
    let root = json_object(raw_body)?;
    // Without an entry array it is not a Meta webhook at all: the one shape we refuse.
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no entry array"))?;
    let mut out = Vec::new();
    let bad = |at: String, why: &str, raw: &Value| unusable("meta", at, why, raw);
    for (ei, entry) in entries.iter().enumerate() {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            out.push(bad(format!("entry[{ei}]"), "no changes array", entry));
            continue;
        };
        for (ci, change) in changes.iter().enumerate() {
            let at = format!("entry[{ei}].changes[{ci}]");
            if change.get("field").and_then(Value::as_str) != Some("messages") {
                continue;
            }
            let Some(value) = change.get("value").and_then(Value::as_object) else {
                out.push(bad(at, "no value object", change));
                continue;
            };
            // Errors about the account or the webhook itself (130429 rate limit hit…), not about
            // one message: "errors" webhook of Meta's messages webhook reference
            // (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/errors).
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                for e in errors {
                    let code = meta_error_code(e).unwrap_or_else(|| "unknown".into());
                    out.push(provider_error("meta", code, str_at(e, &["title"])));
                }
            }
            for key in ["messages", "statuses"] {
                let items = match value.get(key) {
                    None | Some(Value::Null) => &[][..],
                    Some(Value::Array(items)) => items,
                    Some(other) => {
                        out.push(bad(format!("{at}.value.{key}"), "not an array", other));
                        continue;
                    }
                };
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{at}.value.{key}[{i}]");
                    let parsed = if key == "messages" {
                        meta_message(item, value, default_region, &item_at).map(Vec::from_iter)
                    } else {
                        meta_status(item)
                    };
                    match parsed {
                        Ok(one) => out.extend(one),
                        Err(why) => out.push(bad(item_at, &why, item)),
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Parses a Green-API webhook. `incomingMessageReceived` from a personal chat gives a message
/// (`textMessage`, `extendedTextMessage` and the older `quotedMessage` as text, `reactionMessage`
/// through `parse_reaction`, anything else as a placeholder like `[image]`, as for Meta);
/// `outgoingMessageStatus` gives a status (`noAccount`, `failed`, `notInGroup`, `yellowCard`,
/// `noActiveSession` → `Failed` with the status as reason, plus a `ProviderError` keeping the
/// `description`); `{{SWE001}}` in place of a text is the placeholder `[undecryptable]`;
/// `editedMessage` gives the new text with `edits`, `deletedMessage` nothing. Group chats (`@g.us`) and other chats that are not a
/// person's number are ignored, as is every other `typeWebhook` (`stateInstanceChanged`,
/// `outgoingMessageReceived`, …): `Ok(vec![])`. A MAX instance's notification
/// (`instanceData.typeInstance` `v3`) is `Malformed`: it belongs to `parse_max`.
pub fn parse_green_api(
    raw_body: &[u8],
    default_region: &str,
) -> Result<Vec<Inbound>, InboundError> {
    let root = json_object(raw_body)?;
    let kind = str_at(&root, &["typeWebhook"]).ok_or_else(|| malformed("no typeWebhook"))?;
    // A MAX instance's notification on the WhatsApp route would file its statuses under WhatsApp.
    if str_at(&root, &["instanceData", "typeInstance"]) == Some("v3") {
        return Err(malformed(
            "instanceData.typeInstance is v3: a MAX instance's notification, use the MAX route",
        ));
    }
    let parsed = match kind {
        "incomingMessageReceived" => green_message(&root, default_region).map(Vec::from_iter),
        "outgoingMessageStatus" => green_status(&root, IdSpace::Whatsapp, Channel::Whatsapp),
        _ => return Ok(Vec::new()),
    };
    Ok(one_notification("green-api", parsed, &root))
}

/// A GREEN-API notification is one item: read, or kept as [`Inbound::Unusable`] when it is an
/// authentic notification of a family we act on whose content we cannot use (GREEN-API, like
/// Meta, would retry a refused one).
fn one_notification(
    provider: &str,
    parsed: Result<Vec<Inbound>, String>,
    root: &Value,
) -> Vec<Inbound> {
    match parsed {
        Ok(items) => items,
        Err(why) => vec![unusable(provider, "body".into(), why, root)],
    }
}

/// Parses a GREEN-API v3 notification of a MAX instance
/// (green-api.com/v3/docs/api/receiving/notifications-format): the same families as
/// `parse_green_api`, with MAX's differences.
///
/// - `incomingMessageReceived` from a personal chat gives a message `via: Channel::Max`
///   (`textMessage`, `extendedTextMessage`, the older `quotedMessage`, `reactionMessage`, anything
///   else as a placeholder). The sender is `senderData.senderPhoneNumber` (a number); MAX sends 0
///   when the person hides it: such a message cannot be routed and is [`Inbound::Unusable`]
///   (kept, counted). A group's (negative `chatId`, or a `chatType` other than `user`) is
///   skipped. The numeric `chatId` rides along as `chat_id`, where a reply goes.
/// - `outgoingMessageStatus` gives a status `via: Channel::Max`, mapped as for WhatsApp
///   (`noAccount`, `failed`… → `Failed` with the status as reason).
/// - Ids are prefixed `max:` so they can never meet a WhatsApp id in the deduplication table.
/// - `instanceData.typeInstance` must be `v3`: a WhatsApp instance's webhook pointed at the MAX
///   route is `Malformed`, not read as MAX. Every other `typeWebhook` gives `Ok(vec![])`
///   (`stateInstanceChanged` is read by `max_instance_state`).
pub fn parse_max(raw_body: &[u8], default_region: &str) -> Result<Vec<Inbound>, InboundError> {
    let root = json_object(raw_body)?;
    let kind = str_at(&root, &["typeWebhook"]).ok_or_else(|| malformed("no typeWebhook"))?;
    let parsed = match kind {
        "incomingMessageReceived" => {
            require_v3(&root)?;
            max_message(&root, default_region).map(Vec::from_iter)
        }
        "outgoingMessageStatus" => {
            require_v3(&root)?;
            green_status(&root, IdSpace::Max, Channel::Max)
        }
        _ => return Ok(Vec::new()),
    };
    Ok(one_notification("max", parsed, &root))
}

/// The instance's new state when the notification is `stateInstanceChanged` (`notAuthorized`,
/// `blocked`, `suspended`… as GetStateInstance names them), `None` for any other notification.
pub fn max_instance_state(raw_body: &[u8]) -> Result<Option<MaxState>, InboundError> {
    let root = json_object(raw_body)?;
    let kind = str_at(&root, &["typeWebhook"]).ok_or_else(|| malformed("no typeWebhook"))?;
    if kind != "stateInstanceChanged" {
        return Ok(None);
    }
    require_v3(&root)?;
    let state = non_empty(&root, &["stateInstance"])
        .ok_or_else(|| malformed("stateInstanceChanged without stateInstance"))?;
    Ok(Some(MaxState::parse(state)))
}

fn require_v3(root: &Value) -> Result<(), InboundError> {
    match str_at(root, &["instanceData", "typeInstance"]) {
        Some("v3") => Ok(()),
        Some(_) => Err(malformed(
            "instanceData.typeInstance is not v3: not a MAX instance's notification",
        )),
        None => Err(malformed("no instanceData.typeInstance")),
    }
}

fn max_message(root: &Value, region: &str) -> Result<Option<Inbound>, String> {
    let chat = id_at(root, &["senderData", "chatId"]).ok_or("no senderData.chatId")?;
    let id_message = non_empty(root, &["idMessage"]).ok_or("no idMessage")?;
    let kind = str_at(root, &["messageData", "typeMessage"]).ok_or("no messageData.typeMessage")?;
    // A person's chat is a positive number; groups are negative.
    let personal = !chat.is_empty() && chat.bytes().all(|b| b.is_ascii_digit());
    let chat_type = str_at(root, &["senderData", "chatType"]);
    if !personal || chat_type.is_some_and(|t| t != "user") {
        return Ok(None);
    }
    // A person who hides their number (MAX sends 0) or whose number is not even a possible one cannot be
    // routed by it: kept as unusable (logged, counted, listed) rather than lost without a trace.
    let phone = id_at(root, &["senderData", "senderPhoneNumber"])
        .ok_or("senderData.senderPhoneNumber hidden (0) or absent: the sender cannot be routed")?;
    let from = phone_from_digits(&phone, region).ok_or(UNROUTABLE_NUMBER)?;
    let Some((event, context, edited)) = green_event(&root["messageData"], kind, Channel::Max)?
    else {
        return Ok(None);
    };
    let edits = edited
        .map(|original| {
            input_id(InputId::provider_message(
                IdSpace::Max,
                Some(&chat),
                &original,
            ))
        })
        .transpose()?;
    Ok(Some(Inbound::Message {
        from,
        id: input_id(InputId::provider_message(
            IdSpace::Max,
            Some(&chat),
            id_message,
        ))?,
        event,
        context_message_id: context,
        chat_id: Some(chat),
        edits,
        user_id: None,
    }))
}

/// A numeric id that GREEN-API v3 documents as a number in one place and a string in another
/// (`senderPhoneNumber`: 79876543210; `chatId`: "10000000"): either, as its decimal text. Zero
/// and empty are "absent".
fn id_at(v: &Value, path: &[&str]) -> Option<String> {
    let s = match path.iter().try_fold(v, |v, key| v.get(key))? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s != "0").then_some(s)
}

/// Who sent a Meta message: a number we can route by, or only the business-scoped user id.
enum MetaSender {
    /// The number, and the user id Meta names beside it, if any.
    Phone(Phone, Option<String>),
    /// The user id, and why the phone could not be used.
    User(String, &'static str),
}

/// `value`: the change's `value`, whose `contacts[]` may name the sender's user id.
fn meta_message(
    m: &Value,
    value: &serde_json::Map<String, Value>,
    region: &str,
    at: &str,
) -> Result<Option<Inbound>, String> {
    let id = non_empty(m, &["id"]).ok_or("no id")?;
    // A username's holder comes without `from` but with `from_user_id` (Meta's
    // "Business-scoped user IDs" page, developers.facebook.com/documentation/business-messaging/
    // whatsapp/business-scoped-user-ids/); the user id also routes a `from` that is no possible
    // number.
    let user_id = non_empty(m, &["from_user_id"]).map(str::to_string);
    let from = str_at(m, &["from"]);
    let kind = str_at(m, &["type"]).ok_or("no type")?;
    // A user id or number change: not words, but it says where the customer's next answer comes
    // from. (It may come without `from`: a user id change of a username's holder.)
    if kind == "system" {
        return Ok(user_id_change(m, from, region));
    }
    if from.is_none() && user_id.is_none() {
        return Err("no from".into());
    }
    // Not the customer's words: a deleted message (`revoke`: what it said is taken back, and
    // silence says nothing).
    if kind == "revoke" {
        return Ok(None);
    }
    // The sender's user id: on the message itself, else on its contact (the `contacts[]` entry
    // whose `wa_id` is the sender's number; Meta's "Business-scoped user IDs" page: every
    // messages webhook's contacts carry `user_id`).
    let user_id = user_id.or_else(|| from.and_then(|f| contact_user_id(value, f)));
    let sender = match from.and_then(|f| phone_from_digits(f, region)) {
        Some(phone) => MetaSender::Phone(phone, user_id),
        None => {
            let reason = if from.is_some() {
                UNROUTABLE_NUMBER
            } else {
                "no from"
            };
            MetaSender::User(user_id.ok_or(reason)?, reason)
        }
    };
    let raw = m;
    // An edit carries the new message inside `edit.message` and names the original
    // (pywa's and Meta's `edit` shape: `edit.original_message_id`, `edit.message.type`…).
    let (m, kind, edits) = if kind == "edit" {
        let original = non_empty(m, &["edit", "original_message_id"])
            .ok_or("edit without edit.original_message_id")?;
        let inner = m
            .get("edit")
            .and_then(|e| e.get("message"))
            .ok_or("edit without edit.message")?;
        let inner_kind = str_at(inner, &["type"]).ok_or("edit without edit.message.type")?;
        let original = input_id(InputId::provider_message(IdSpace::Whatsapp, None, original))?;
        (inner, inner_kind, Some(original))
    } else {
        (m, kind, None)
    };
    let Some((event, context)) = meta_event(m, kind)? else {
        return Ok(None);
    };
    let id = input_id(InputId::provider_message(IdSpace::Whatsapp, None, id))?;
    Ok(Some(match sender {
        MetaSender::Phone(from, user_id) => Inbound::Message {
            from,
            id,
            event,
            context_message_id: context,
            chat_id: None,
            edits,
            user_id,
        },
        MetaSender::User(user_id, reason) => Inbound::UserMessage {
            user_id,
            id,
            event,
            context_message_id: context,
            edits,
            at: at.to_string(),
            reason: reason.to_string(),
            raw: cut_raw(raw),
        },
    }))
}

/// The `user_id` of the `contacts[]` entry whose `wa_id` is `from`.
fn contact_user_id(value: &serde_json::Map<String, Value>, from: &str) -> Option<String> {
    value
        .get("contacts")?
        .as_array()?
        .iter()
        .find(|c| str_at(c, &["wa_id"]) == Some(from))
        .and_then(|c| non_empty(c, &["user_id"]))
        .map(str::to_string)
}

/// A `system` message → [`Inbound::UserIdChanged`] when it is one of the two identity changes and
/// names the new user id; any other system message (or one without `system.user_id`, as before
/// usernames) says nothing we act on.
fn user_id_change(m: &Value, from: Option<&str>, region: &str) -> Option<Inbound> {
    let kind = str_at(m, &["system", "type"])?;
    if !matches!(kind, "user_changed_user_id" | "user_changed_number") {
        return None;
    }
    Some(Inbound::UserIdChanged {
        user_id: non_empty(m, &["system", "user_id"])?.to_string(),
        previous_user_id: non_empty(m, &["system", "previous_user_id"]).map(str::to_string),
        from: from.and_then(|f| phone_from_digits(f, region)),
    })
}

/// A Meta message's content (or an edit's new content) → the event and the id of our message it
/// quotes or reacts to. `Ok(None)`: nothing to act on (a removed reaction).
fn meta_event(m: &Value, kind: &str) -> Result<Option<(Event, Option<String>)>, String> {
    let mut context = non_empty(m, &["context", "id"]).map(str::to_string);
    let event = match kind {
        "text" => text(str_at(m, &["text", "body"]).ok_or("text without text.body")?),
        "button" => {
            let payload = str_at(m, &["button", "payload"]);
            let label = str_at(m, &["button", "text"]);
            choice_or_text(payload, label).ok_or("button without payload or text")?
        }
        "interactive" => match str_at(m, &["interactive", "type"]) {
            Some(t @ ("button_reply" | "list_reply")) => {
                let id = str_at(m, &["interactive", t, "id"]);
                let title = str_at(m, &["interactive", t, "title"]);
                choice_or_text(id, title).ok_or("interactive reply without id or title")?
            }
            // Flows and other interactive answers carry no rating we asked for.
            _ => text("[interactive]"),
        },
        "reaction" => {
            let Some(emoji) = non_empty(m, &["reaction", "emoji"]) else {
                return Ok(None);
            };
            if let Some(target) = non_empty(m, &["reaction", "message_id"]) {
                context = Some(target.to_string());
            }
            Event::Choice {
                reply: parse_reaction(emoji),
                via: Channel::Whatsapp,
            }
        }
        other => placeholder(other, str_at(m, &[other, "caption"])),
    };
    Ok(Some((event, context)))
}

fn meta_status(s: &Value) -> Result<Vec<Inbound>, String> {
    let message_id = non_empty(s, &["id"]).ok_or("no id")?;
    let raw = str_at(s, &["status"]).ok_or("no status")?;
    let status = match raw {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return Ok(Vec::new()),
    };
    let errors: &[Value] = match status {
        DeliveryStatus::Failed => s.get("errors").and_then(Value::as_array).map_or(&[], |v| v),
        _ => &[],
    };
    // The code is what the fallback rule keys on (131026); the title only when there is no code.
    let reason = errors.first().and_then(|e| {
        meta_error_code(e).or_else(|| e.get("title").and_then(Value::as_str).map(str::to_string))
    });
    let mut out = vec![Inbound::Status {
        message_id: message_id.to_string(),
        id: input_id(InputId::provider_status(IdSpace::Whatsapp, message_id, raw))?,
        status,
        reason,
        via: Channel::Whatsapp,
        // Sent, delivered and read statuses name the recipient's business-scoped user id
        // (`recipient_user_id`; `recipient_id`, the phone, is omitted when unavailable): Meta's
        // "Business-scoped user IDs" page, status messages webhooks.
        recipient_user_id: non_empty(s, &["recipient_user_id"]).map(str::to_string),
    }];
    out.extend(errors.iter().filter_map(|e| {
        Some(provider_error(
            "meta",
            meta_error_code(e)?,
            str_at(e, &["title"]),
        ))
    }));
    Ok(out)
}

fn green_message(root: &Value, region: &str) -> Result<Option<Inbound>, String> {
    let chat = str_at(root, &["senderData", "chatId"]).ok_or("no senderData.chatId")?;
    let id_message = non_empty(root, &["idMessage"]).ok_or("no idMessage")?;
    let kind = str_at(root, &["messageData", "typeMessage"]).ok_or("no messageData.typeMessage")?;
    // Only a person's chat is a customer; groups and broadcasts are not ours to answer.
    let Some(digits) = chat.strip_suffix("@c.us") else {
        return Ok(None);
    };
    let from = phone_from_digits(digits, region).ok_or(UNROUTABLE_NUMBER)?;
    let Some((event, context, edited)) =
        green_event(&root["messageData"], kind, Channel::Whatsapp)?
    else {
        return Ok(None);
    };
    let edits = edited
        .map(|original| {
            input_id(InputId::provider_message(
                IdSpace::Whatsapp,
                Some(chat),
                &original,
            ))
        })
        .transpose()?;
    Ok(Some(Inbound::Message {
        from,
        id: input_id(InputId::provider_message(
            IdSpace::Whatsapp,
            Some(chat),
            id_message,
        ))?,
        event,
        context_message_id: context,
        chat_id: None,
        edits,
        user_id: None,
    }))
}

/// GREEN-API's `messageData` (the same for WhatsApp and MAX) → the event, `via` the given
/// channel, the id of the message it quotes or reacts to, and for an `editedMessage` the id of
/// the message edited (green-api.com/en/docs/api/receiving/notifications-format/incoming-message/EditedMessage:
/// `editedMessageData.textMessage`, `.stanzaId`). `Ok(None)`: nothing to act on (a
/// `deletedMessage`, which takes words back and says none; a
/// removed reaction).
fn green_event(data: &Value, kind: &str, via: Channel) -> Result<Option<GreenContent>, String> {
    let mut context = non_empty(data, &["quotedMessage", "stanzaId"]).map(str::to_string);
    let mut edited = None;
    let event = match kind {
        "deletedMessage" => return Ok(None),
        "editedMessage" => {
            let words = str_at(data, &["editedMessageData", "textMessage"])
                .ok_or("editedMessage without editedMessageData.textMessage")?;
            edited = Some(
                non_empty(data, &["editedMessageData", "stanzaId"])
                    .ok_or("editedMessage without editedMessageData.stanzaId")?
                    .to_string(),
            );
            if is_green_marker(words) {
                placeholder_via("undecryptable", None, via)
            } else {
                text_via(words, via)
            }
        }
        "textMessage" => {
            let words = str_at(data, &["textMessageData", "textMessage"])
                .ok_or("textMessage without textMessageData.textMessage")?;
            if is_green_marker(words) {
                // Not the customer's words: a placeholder, which the reply parser never reads as
                // a rating; the inspector sees an unreadable reply and may ask the customer.
                placeholder_via("undecryptable", None, via)
            } else {
                text_via(words, via)
            }
        }
        "extendedTextMessage" | "quotedMessage" => {
            // The older quotedMessage type keeps the quoted id next to the text.
            if context.is_none() {
                context =
                    non_empty(data, &["extendedTextMessageData", "stanzaId"]).map(str::to_string);
            }
            text_via(
                str_at(data, &["extendedTextMessageData", "text"])
                    .ok_or("extendedTextMessage without extendedTextMessageData.text")?,
                via,
            )
        }
        "reactionMessage" => {
            let Some(emoji) = non_empty(data, &["extendedTextMessageData", "text"]) else {
                return Ok(None);
            };
            Event::Choice {
                reply: parse_reaction(emoji),
                via,
            }
        }
        other => {
            let caption = str_at(data, &["fileMessageData", "caption"]);
            placeholder_via(other.strip_suffix("Message").unwrap_or(other), caption, via)
        }
    };
    Ok(Some((event, context, edited)))
}

/// What `green_event` read: the event, the id of our message it quotes or reacts to, and the id
/// of the customer's message an edit replaces.
type GreenContent = (Event, Option<String>, Option<String>);

/// An `outgoingMessageStatus` of GREEN-API, the same for its WhatsApp and its MAX (v3)
/// instances; a failure also gives a `ProviderError` with GREEN-API's `description`.
fn green_status(root: &Value, space: IdSpace, via: Channel) -> Result<Vec<Inbound>, String> {
    let message_id = non_empty(root, &["idMessage"]).ok_or("no idMessage")?;
    let raw = str_at(root, &["status"]).ok_or("no status")?;
    let Some((status, reason)) = green_delivery(raw) else {
        return Ok(Vec::new());
    };
    let mut out = vec![Inbound::Status {
        message_id: message_id.to_string(),
        id: input_id(InputId::provider_status(space, message_id, raw))?,
        status,
        reason,
        via,
        recipient_user_id: None,
    }];
    if status == DeliveryStatus::Failed {
        let provider = if via == Channel::Max {
            "max"
        } else {
            "green-api"
        };
        out.push(provider_error(
            provider,
            raw.to_string(),
            str_at(root, &["description"]),
        ));
    }
    Ok(out)
}

/// A GREEN-API `outgoingMessageStatus` status (WhatsApp and MAX) → ours; a failure keeps the raw
/// status as its reason. `None` for a status we do not act on.
fn green_delivery(raw: &str) -> Option<(DeliveryStatus, Option<String>)> {
    Some(match raw {
        "sent" => (DeliveryStatus::Sent, None),
        "delivered" => (DeliveryStatus::Delivered, None),
        "read" => (DeliveryStatus::Read, None),
        // noActiveSession is documented only on GREEN-API's WABA product page
        // (green-api.com/en/waba/api/receiving/notifications-format/outgoing-message/OutgoingMessageStatus:
        // "the 24-hour window for sending messages is closed"); neither the WhatsApp-instance
        // list (which has failed, noAccount, notInGroup, yellowCard) nor the v3/MAX one
        // (delivered, read, failed) names it. Whatever an instance means by it, the message was
        // not delivered, so the survey falls down its chain.
        "failed" | "noAccount" | "notInGroup" | "yellowCard" | "noActiveSession" => {
            (DeliveryStatus::Failed, Some(raw.to_string()))
        }
        _ => return None,
    })
}

/// GREEN-API's markers in place of a message's text, `{{SWE001}}` for one it could not decrypt
/// (GREEN-API's API reference, "Error SWE001"): `{{SWE` and digits, `}}`.
fn is_green_marker(text: &str) -> bool {
    text.trim()
        .strip_prefix("{{SWE")
        .and_then(|t| t.strip_suffix("}}"))
        .is_some_and(|code| !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()))
}

/// A quick-reply payload or reply id of ours → `Choice`; an unknown one (a template changed
/// without us) → the label the customer saw, as text, so a human still reads the answer.
fn choice_or_text(payload: Option<&str>, label: Option<&str>) -> Option<Event> {
    if let Some(reply) = payload.and_then(parse_button_payload) {
        return Some(Event::Choice {
            reply,
            via: Channel::Whatsapp,
        });
    }
    // A template sent without our payloads (`template_has_buttons = false` on a template that has
    // buttons after all) comes back with the button's own text: ours ("5 — отлично") still names
    // the rating, whatever place the button had.
    if let Some(rating) = label.and_then(rating_of_button_text) {
        return Some(Event::Choice {
            reply: otklik_core::reply::Reply::Rating { value: rating },
            via: Channel::Whatsapp,
        });
    }
    label.or(payload).map(text)
}

fn text(s: &str) -> Event {
    text_via(s, Channel::Whatsapp)
}

fn text_via(s: &str, via: Channel) -> Event {
    Event::Text {
        text: s.to_string(),
        via,
    }
}

/// `[image]`, `[sticker] caption`… The kind comes from the provider, so it is kept to a short
/// identifier: the placeholder must never smuggle text that the reply parser would read.
fn placeholder(kind: &str, caption: Option<&str>) -> Event {
    placeholder_via(kind, caption, Channel::Whatsapp)
}

fn placeholder_via(kind: &str, caption: Option<&str>, via: Channel) -> Event {
    let kind = if !kind.is_empty()
        && kind.len() <= 32
        && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        kind.to_ascii_lowercase()
    } else {
        "message".to_string()
    };
    match caption.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => text_via(&format!("[{kind}] {c}"), via),
        None => text_via(&format!("[{kind}]"), via),
    }
}

/// Why a message whose sender is not even a possible phone number (too short or long, a country
/// code nobody uses) is kept as unusable: it cannot be routed by number, and an answer must never
/// vanish without a trace. A possible number the library's metadata does not know (a range newer
/// than it) is an unvalidated [`Phone`] and is routed like any other: our survey was asked on the
/// same digits.
const UNROUTABLE_NUMBER: &str =
    "the sender's number is not a possible phone number: it cannot be routed";

/// Both providers give the sender as bare international digits ("79001234567"); the key a reply is
/// routed by is those digits, validated by the phone library or not ([`Phone::is_validated`]).
fn phone_from_digits(digits: &str, region: &str) -> Option<Phone> {
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Phone::parse(&format!("+{digits}"), region).ok()
}

fn input_id(id: Result<InputId, DomainError>) -> Result<InputId, String> {
    id.map_err(|_| "id too long or with control characters".to_string())
}

fn decode_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn json_object(raw_body: &[u8]) -> Result<Value, InboundError> {
    if raw_body.len() > MAX_BODY_BYTES {
        return Err(InboundError::TooLarge);
    }
    // serde_json's messages give line and column only, never the content.
    let value: Value =
        serde_json::from_slice(raw_body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(malformed("not a JSON object"));
    }
    Ok(value)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key))?.as_str()
}

fn non_empty<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    str_at(v, path).filter(|s| !s.is_empty())
}

fn malformed(what: impl Into<String>) -> InboundError {
    InboundError::Malformed(what.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_core::model::Rating;
    use otklik_core::reply::{Reply, UnreadableReason};
    use otklik_whatsapp_sim::meta_signature;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"s3cret";
    const CUSTOMER: &str = "79001234567";

    fn phone() -> Phone {
        Phone::parse("+79001234567", "RU").expect("a valid Russian mobile")
    }

    fn id(s: &str) -> InputId {
        InputId::new(s).expect("a valid input id")
    }

    fn rating(v: u8) -> Reply {
        Reply::Rating {
            value: Rating::new(v).expect("on the scale"),
        }
    }

    fn choice(reply: Reply) -> Event {
        Event::Choice {
            reply,
            via: Channel::Whatsapp,
        }
    }

    fn message(wamid: &str, event: Event, context: Option<&str>) -> Inbound {
        Inbound::Message {
            from: phone(),
            id: id(wamid),
            event,
            context_message_id: context.map(str::to_string),
            chat_id: None,
            edits: None,
            user_id: None,
        }
    }

    fn status(
        message_id: &str,
        raw: &str,
        status: DeliveryStatus,
        reason: Option<&str>,
    ) -> Inbound {
        Inbound::Status {
            message_id: message_id.to_string(),
            id: id(&format!("{message_id}:{raw}")),
            status,
            reason: reason.map(str::to_string),
            via: Channel::Whatsapp,
            recipient_user_id: None,
        }
    }

    /// Meta's envelope as the simulator (and Meta) send it, around `value`'s extra keys.
    fn meta_body(value_keys: &str) -> Vec<u8> {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"79990000000","phone_number_id":"106540352242922"}},{value_keys}}},"field":"messages"}}]}}]}}"#
        )
        .into_bytes()
    }

    fn meta_messages(messages: &str) -> Vec<u8> {
        meta_body(&format!(
            r#""contacts":[{{"profile":{{"name":"Customer"}},"wa_id":"{CUSTOMER}"}}],"messages":[{messages}]"#
        ))
    }

    fn meta_one(m: &str) -> Vec<Inbound> {
        parse_meta(&meta_messages(m), "RU").expect("parses")
    }

    // ---- the queued form -------------------------------------------------------------------

    #[test]
    fn every_kind_of_item_comes_back_from_its_queued_json_unchanged() {
        let items = vec![
            message("wamid.A", choice(rating(5)), None),
            message(
                "wamid.B",
                Event::Text {
                    text: "1, курьер опоздал".into(),
                    via: Channel::Whatsapp,
                },
                Some("wamid.Q"),
            ),
            status("wamid.Q", "delivered", DeliveryStatus::Delivered, None),
            status("wamid.Q", "failed", DeliveryStatus::Failed, Some("131026")),
        ];
        for item in items {
            let json = serde_json::to_string(&item).expect("serializes");
            let back: Inbound = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, item, "{json}");
        }
        // A body that is not an item is refused, not guessed at.
        assert!(serde_json::from_str::<Inbound>(r#"{"kind":"message","from":"x"}"#).is_err());
        // Items queued before MAX and SMS (no `via`, no `chat_id`) still read, as WhatsApp's.
        let old_status = r#"{"kind":"status","message_id":"wamid.Q","id":"wamid.Q:failed","status":"failed","reason":"131026"}"#;
        assert_eq!(
            serde_json::from_str::<Inbound>(old_status).expect("an old queued status"),
            status("wamid.Q", "failed", DeliveryStatus::Failed, Some("131026"))
        );
        let old_message = serde_json::to_string(&message("wamid.A", choice(rating(5)), None))
            .expect("serializes");
        assert!(!old_message.contains("chat_id"), "{old_message}");
    }

    // ---- signatures -------------------------------------------------------------------------

    #[test]
    fn a_body_signed_like_meta_verifies() {
        let body = meta_messages(
            r#"{"from":"79001234567","id":"wamid.A","timestamp":"1717000000","type":"text","text":{"body":"5"}}"#,
        );
        let header = meta_signature(SECRET, &body);
        assert_eq!(verify_meta_signature(SECRET, &body, Some(&header)), Ok(()));
        // Uppercase hex and surrounding spaces are the same signature.
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(
            verify_meta_signature(SECRET, &body, Some(&format!(" {upper} "))),
            Ok(())
        );
    }

    #[test]
    fn a_signature_under_another_secret_is_refused() {
        let body = br#"{"entry":[]}"#;
        let header = meta_signature(b"not-our-secret", body);
        assert_eq!(
            verify_meta_signature(SECRET, body, Some(&header)),
            Err(InboundError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let body = meta_messages(
            r#"{"from":"79001234567","id":"wamid.A","timestamp":"1717000000","type":"text","text":{"body":"1"}}"#,
        );
        let header = meta_signature(SECRET, &body);
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace(r#""body":"1""#, r#""body":"5""#);
        assert_eq!(
            verify_meta_signature(SECRET, tampered.as_bytes(), Some(&header)),
            Err(InboundError::BadSignature)
        );
        // Even a re-serialisation that keeps the meaning changes the bytes, and so the signature.
        let body = br#"{"entry":[]}"#;
        let header = meta_signature(SECRET, body);
        assert_eq!(
            verify_meta_signature(SECRET, br#"{"entry": []}"#, Some(&header)),
            Err(InboundError::BadSignature)
        );
    }

    #[test]
    fn a_missing_signature_is_reported_as_missing() {
        assert_eq!(
            verify_meta_signature(SECRET, b"{}", None),
            Err(InboundError::MissingSignature)
        );
        assert_eq!(
            verify_meta_signature(SECRET, b"{}", Some("  ")),
            Err(InboundError::MissingSignature)
        );
    }

    #[test]
    fn malformed_signature_headers_are_refused() {
        let body = b"{}";
        let good = meta_signature(SECRET, body);
        let hex = &good["sha256=".len()..];
        let sha1 = format!("sha1={hex}");
        let non_hex = format!("sha256={}zz", &hex[..62]);
        let short = format!("sha256={}", &hex[..62]);
        let long = format!("sha256={hex}00");
        for header in [hex, sha1.as_str(), &non_hex, &short, &long, "sha256=", "="] {
            assert_eq!(
                verify_meta_signature(SECRET, body, Some(header)),
                Err(InboundError::BadSignature),
                "{header}"
            );
        }
    }

    #[test]
    fn an_empty_app_secret_never_verifies() {
        let body = b"{}";
        let header = meta_signature(b"", body);
        assert_eq!(
            verify_meta_signature(b"", body, Some(&header)),
            Err(InboundError::BadSignature)
        );
    }

    // ---- bearer -----------------------------------------------------------------------------

    #[test]
    fn the_configured_bearer_token_is_accepted() {
        assert_eq!(verify_bearer("tok-123", Some("Bearer tok-123")), Ok(()));
        assert_eq!(verify_bearer("tok-123", Some("bearer  tok-123 ")), Ok(()));
    }

    #[test]
    fn wrong_missing_or_other_scheme_tokens_are_refused() {
        for header in [
            Some("Bearer tok-124"),
            Some("Bearer tok-1234"),
            Some("Bearer "),
            Some("Bearer"),
            Some("tok-123"),
            Some("Basic dG9rLTEyMw=="),
            Some("Basic tok-123"),
            Some(""),
            None,
        ] {
            assert_eq!(
                verify_bearer("tok-123", header),
                Err(InboundError::BadToken),
                "{header:?}"
            );
        }
    }

    #[test]
    fn an_unconfigured_token_refuses_everything() {
        assert_eq!(
            verify_bearer("", Some("Bearer ")),
            Err(InboundError::BadToken)
        );
        assert_eq!(
            verify_bearer("", Some("Bearer x")),
            Err(InboundError::BadToken)
        );
    }

    // ---- handshake --------------------------------------------------------------------------

    #[test]
    fn the_handshake_echoes_the_challenge() {
        assert_eq!(
            meta_handshake(
                Some("subscribe"),
                Some("verify-me"),
                Some("1158201444"),
                "verify-me"
            ),
            Ok("1158201444".to_string())
        );
    }

    #[test]
    fn the_handshake_is_refused_on_any_mismatch() {
        let cases = [
            (Some("subscribe"), Some("verify-you"), Some("1158201444")),
            (Some("subscribe"), None, Some("1158201444")),
            (Some("unsubscribe"), Some("verify-me"), Some("1158201444")),
            (None, Some("verify-me"), Some("1158201444")),
            (Some("subscribe"), Some("verify-me"), None),
            (Some("subscribe"), Some("verify-me"), Some("")),
            (
                Some("subscribe"),
                Some("verify-me"),
                Some("<script>alert(1)</script>"),
            ),
        ];
        for (mode, token, challenge) in cases {
            assert_eq!(
                meta_handshake(mode, token, challenge, "verify-me"),
                Err(InboundError::BadHandshake),
                "{mode:?} {token:?} {challenge:?}"
            );
        }
        assert_eq!(
            meta_handshake(Some("subscribe"), Some(""), Some("1"), ""),
            Err(InboundError::BadHandshake),
            "an unconfigured verify token refuses"
        );
    }

    // ---- Meta messages ----------------------------------------------------------------------

    #[test]
    fn meta_text() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.HBgLNzkwMDEyMzQ1NjcVAgASGBQzQTdE","timestamp":"1717000000","type":"text","text":{"body":"Всё отлично, 5!"}}"#,
        );
        assert_eq!(
            got,
            vec![message(
                "wamid.HBgLNzkwMDEyMzQ1NjcVAgASGBQzQTdE",
                Event::Text {
                    text: "Всё отлично, 5!".into(),
                    via: Channel::Whatsapp
                },
                None
            )]
        );
    }

    #[test]
    fn meta_text_replying_to_our_message_keeps_the_context() {
        let got = meta_one(
            r#"{"context":{"from":"79990000000","id":"wamid.OURS"},"from":"79001234567","id":"wamid.B","timestamp":"1717000000","type":"text","text":{"body":"4"}}"#,
        );
        assert!(
            matches!(&got[..], [Inbound::Message { context_message_id: Some(c), .. }] if c == "wamid.OURS")
        );
    }

    #[test]
    fn meta_template_button_payload_is_a_rating() {
        let got = meta_one(
            r#"{"context":{"from":"79990000000","id":"wamid.OURS"},"from":"79001234567","id":"wamid.C","timestamp":"1717000000","type":"button","button":{"payload":"rating_5","text":"5"}}"#,
        );
        assert_eq!(
            got,
            vec![message("wamid.C", choice(rating(5)), Some("wamid.OURS"))]
        );
    }

    #[test]
    fn a_button_sent_without_our_payload_is_read_by_its_text() {
        // Meta gives the button's text as the payload when the send attached none.
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.G","timestamp":"1717000000","type":"button","button":{"payload":"1 — очень плохо","text":"1 — очень плохо"}}"#,
        );
        assert_eq!(got, vec![message("wamid.G", choice(rating(1)), None)]);
    }

    #[test]
    fn an_unknown_button_payload_becomes_the_button_text() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.D","timestamp":"1717000000","type":"button","button":{"payload":"promo_click","text":"Хочу скидку"}}"#,
        );
        assert_eq!(
            got,
            vec![message(
                "wamid.D",
                Event::Text {
                    text: "Хочу скидку".into(),
                    via: Channel::Whatsapp
                },
                None
            )]
        );
    }

    #[test]
    fn meta_interactive_button_reply_is_a_rating() {
        let got = meta_one(
            r#"{"context":{"from":"79990000000","id":"wamid.OURS"},"from":"79001234567","id":"wamid.E","timestamp":"1717000000","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"5","title":"5"}}}"#,
        );
        assert_eq!(
            got,
            vec![message("wamid.E", choice(rating(5)), Some("wamid.OURS"))]
        );
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.F","timestamp":"1717000000","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"contact_yes","title":"Да, позвоните"}}}"#,
        );
        assert_eq!(got, vec![message("wamid.F", choice(Reply::Yes), None)]);
    }

    #[test]
    fn meta_reaction_is_a_choice_on_the_reacted_message() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.G","timestamp":"1717000000","type":"reaction","reaction":{"message_id":"wamid.ASKED","emoji":"👍"}}"#,
        );
        assert_eq!(
            got,
            vec![message("wamid.G", choice(Reply::Yes), Some("wamid.ASKED"))]
        );
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.G2","timestamp":"1717000000","type":"reaction","reaction":{"message_id":"wamid.ASKED","emoji":"🔥"}}"#,
        );
        assert_eq!(
            got,
            vec![message(
                "wamid.G2",
                choice(Reply::Unreadable {
                    reason: UnreadableReason::NoRating
                }),
                Some("wamid.ASKED")
            )]
        );
    }

    #[test]
    fn a_removed_reaction_is_skipped() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.H","timestamp":"1717000000","type":"reaction","reaction":{"message_id":"wamid.ASKED"}}"#,
        );
        assert_eq!(got, vec![]);
    }

    #[test]
    fn meta_media_becomes_a_placeholder_text() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.I","timestamp":"1717000000","type":"image","image":{"mime_type":"image/jpeg","sha256":"abc","id":"1234"}}"#,
        );
        assert_eq!(
            got,
            vec![message(
                "wamid.I",
                Event::Text {
                    text: "[image]".into(),
                    via: Channel::Whatsapp
                },
                None
            )]
        );
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.J","timestamp":"1717000000","type":"image","image":{"caption":"вот что пришло","mime_type":"image/jpeg","id":"1235"}}"#,
        );
        assert!(
            matches!(&got[..], [Inbound::Message { event: Event::Text { text, .. }, .. }] if text == "[image] вот что пришло")
        );
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.K","timestamp":"1717000000","type":"sticker","sticker":{"mime_type":"image/webp","id":"1236","animated":false}}"#,
        );
        assert!(
            matches!(&got[..], [Inbound::Message { event: Event::Text { text, .. }, .. }] if text == "[sticker]")
        );
    }

    #[test]
    fn placeholders_are_never_read_as_answers() {
        // The inspector must see them: the parser has to leave every placeholder unreadable.
        let opts = otklik_core::reply::ParserOptions {
            sentiment_words: true,
        };
        for kind in [
            "image",
            "sticker",
            "audio",
            "video",
            "document",
            "location",
            "contacts",
            "unsupported",
            "undecryptable",
            "interactive",
            "message",
        ] {
            let Event::Text { text, .. } = placeholder(kind, None) else {
                unreachable!("placeholders are text")
            };
            assert!(
                matches!(
                    otklik_core::reply::parse_reply(&text, &opts),
                    Reply::Unreadable { .. }
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn meta_system_messages_are_skipped() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.L","timestamp":"1717000000","type":"system","system":{"body":"changed number","type":"user_changed_number"}}"#,
        );
        assert_eq!(got, vec![]);
    }

    /// Issue 18: a sender whose number the phone library rejects is no longer dropped silently;
    /// the answer is kept as unusable (logged, counted and listed by the worker).
    #[test]
    fn senders_the_phone_library_rejects_are_kept_not_dropped() {
        for from in ["12", "70000000000", "999123"] {
            let got = meta_one(&format!(
                r#"{{"from":"{from}","id":"wamid.M","timestamp":"1717000000","type":"text","text":{{"body":"5"}}}}"#
            ));
            assert!(
                matches!(&got[..], [Inbound::Unusable { reason, raw, .. }]
                    if reason == UNROUTABLE_NUMBER && raw.contains(from)),
                "{from}: {got:?}"
            );
        }
        let body = green_incoming(
            "70000000000@c.us",
            r#"{"typeMessage":"textMessage","textMessageData":{"textMessage":"5"}}"#,
        );
        assert!(matches!(
            &parse_green_api(&body, "RU").unwrap()[..],
            [Inbound::Unusable { reason, .. }] if reason == UNROUTABLE_NUMBER
        ));
    }

    /// Issue 18, item 2: the sender's user id is learned from the message too, not only from our
    /// statuses. Shapes as on Meta's "Business-scoped user IDs" page and its messages webhook
    /// reference: `contacts[]` carries `wa_id` and `user_id` (pywa's recorded text message has
    /// `"user_id": "US.13491208655302741918"` beside `"wa_id"`), the message may carry
    /// `from_user_id`.
    #[test]
    fn a_message_names_its_senders_user_id_from_its_contact_or_itself() {
        let text = r#"{"from":"79001234567","id":"wamid.C1","timestamp":"1697043223","type":"text","text":{"body":"5"}}"#;
        let user_of = |body: Vec<u8>| match &parse_meta(&body, "RU").unwrap()[..] {
            [Inbound::Message { user_id, from, .. }] if from == &phone() => user_id.clone(),
            other => panic!("{other:?}"),
        };
        // The contact whose wa_id is the sender's.
        let body = meta_body(&format!(
            r#""contacts":[{{"profile":{{"name":"Other"}},"wa_id":"79007654321","user_id":"RU.2"}},{{"profile":{{"name":"Test Name"}},"wa_id":"{CUSTOMER}","user_id":"US.13491208655302741918","parent_user_id":"US.ENT.11815799212886844830"}}],"messages":[{text}]"#
        ));
        assert_eq!(user_of(body).as_deref(), Some("US.13491208655302741918"));
        // The message's own from_user_id wins; another contact's user id is never taken.
        let own = text.replace(r#""type""#, r#""from_user_id":"RU.1","type""#);
        let body = meta_body(&format!(
            r#""contacts":[{{"wa_id":"{CUSTOMER}","user_id":"RU.3"}}],"messages":[{own}]"#
        ));
        assert_eq!(user_of(body).as_deref(), Some("RU.1"));
        let body = meta_body(&format!(
            r#""contacts":[{{"wa_id":"79007654321","user_id":"RU.2"}}],"messages":[{text}]"#
        ));
        assert_eq!(user_of(body), None);
        // Before usernames: no user id anywhere.
        assert!(matches!(
            &meta_one(text)[..],
            [Inbound::Message { user_id: None, .. }]
        ));
    }

    /// Issue 18, item 2: Meta's identity-change system messages ("System messages webhook
    /// reference": `system.type` `user_changed_user_id` / `user_changed_number`, the new id in
    /// `system.user_id`, the old in `system.previous_user_id`; no contacts array).
    #[test]
    fn a_user_id_change_is_learned_not_read_as_words() {
        let body = meta_body(
            r#""messages":[{"id":"wamid.S1","timestamp":"1753851315","type":"system","system":{"body":"User A changed from US.1 to US.2","user_id":"US.2","previous_user_id":"US.1","type":"user_changed_user_id"}}]"#,
        );
        assert_eq!(
            parse_meta(&body, "RU").unwrap(),
            vec![Inbound::UserIdChanged {
                user_id: "US.2".into(),
                previous_user_id: Some("US.1".into()),
                from: None,
            }]
        );
        // A new number: the old one is `from`, the new one `system.wa_id`; a new user id too.
        let body = meta_body(&format!(
            r#""messages":[{{"from":"{CUSTOMER}","id":"wamid.S2","timestamp":"1753851315","type":"system","system":{{"body":"User A changed from {CUSTOMER} to 79007654321","wa_id":"79007654321","user_id":"RU.9","previous_user_id":"RU.8","type":"user_changed_number"}}}}]"#
        ));
        let got = parse_meta(&body, "RU").unwrap();
        assert_eq!(
            got,
            vec![Inbound::UserIdChanged {
                user_id: "RU.9".into(),
                previous_user_id: Some("RU.8".into()),
                from: Some(phone()),
            }]
        );
        let json = serde_json::to_string(&got[0]).unwrap();
        assert_eq!(serde_json::from_str::<Inbound>(&json).unwrap(), got[0]);
        // The pre-username shape (no system.user_id) and other system types: nothing.
        let old = meta_body(&format!(
            r#""messages":[{{"from":"{CUSTOMER}","id":"wamid.S3","timestamp":"1","type":"system","system":{{"body":"changed","wa_id":"79007654321","type":"user_changed_number"}}}}]"#
        ));
        assert_eq!(parse_meta(&old, "RU").unwrap(), vec![]);
        let other = meta_body(
            r#""messages":[{"id":"wamid.S4","timestamp":"1","type":"system","system":{"body":"x","user_id":"US.2","type":"customer_identity_changed"}}]"#,
        );
        assert_eq!(parse_meta(&other, "RU").unwrap(), vec![]);
    }

    /// Issue 18, item 3: a possible number the phone library's metadata rejects (+7 600…, a range
    /// it does not know) is routed by its digits like any other, on all three messengers: the
    /// survey was asked on the same digits.
    #[test]
    fn a_number_the_library_does_not_know_is_routed_by_its_digits() {
        let unknown = "76001234567";
        let is_it = |got: &[Inbound]| {
            matches!(got, [Inbound::Message { from, .. }]
                if from.digits() == unknown && !from.is_validated())
        };
        let got = meta_one(&format!(
            r#"{{"from":"{unknown}","id":"wamid.N","timestamp":"1717000000","type":"text","text":{{"body":"5"}}}}"#
        ));
        assert!(is_it(&got), "{got:?}");
        let body = green_incoming(
            &format!("{unknown}@c.us"),
            r#"{"typeMessage":"textMessage","textMessageData":{"textMessage":"5"}}"#,
        );
        let got = parse_green_api(&body, "RU").unwrap();
        assert!(is_it(&got), "{got:?}");
    }

    /// Meta's `edit` (the new message inside `edit.message`, the original named by
    /// `edit.original_message_id`) is the new text, marked as an edit of the original's input id;
    /// a `revoke` (a deleted message) is not words. Shapes as in the messages webhook reference
    /// and pywa's recorded `edited_message` / `deleted_message` updates.
    #[test]
    fn meta_edits_carry_the_new_text_and_deletions_are_not_words() {
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.EDIT","timestamp":"1749854575","type":"edit","edit":{"original_message_id":"wamid.ORIG","message":{"type":"text","text":{"body":"1, курьер опоздал"}}}}"#,
        );
        assert_eq!(
            got,
            vec![Inbound::Message {
                from: phone(),
                id: id("wamid.EDIT"),
                event: Event::Text {
                    text: "1, курьер опоздал".into(),
                    via: Channel::Whatsapp
                },
                context_message_id: None,
                chat_id: None,
                edits: Some(id("wamid.ORIG")),
                user_id: None,
            }]
        );
        let caption = meta_one(
            r#"{"from":"79001234567","id":"wamid.EDIT2","timestamp":"1749854575","type":"edit","edit":{"original_message_id":"wamid.ORIG","message":{"context":{"id":"wamid.Q"},"type":"image","image":{"caption":"Updated image caption","mime_type":"image/jpeg","id":"1"}}}}"#,
        );
        assert!(matches!(&caption[..],
            [Inbound::Message { event: Event::Text { text, .. }, context_message_id: Some(c), edits: Some(_), .. }]
                if text == "[image] Updated image caption" && c == "wamid.Q"));
        let revoke = meta_one(
            r#"{"from":"79001234567","id":"wamid.DEL","timestamp":"1697043223","type":"revoke","revoke":{"original_message_id":"wamid.ORIG"}}"#,
        );
        assert_eq!(revoke, vec![]);
        // An edit that does not name its original cannot be placed: kept, not guessed at.
        let got = meta_one(
            r#"{"from":"79001234567","id":"wamid.EDIT3","timestamp":"1","type":"edit","edit":{"message":{"type":"text","text":{"body":"5"}}}}"#,
        );
        assert!(matches!(&got[..], [Inbound::Unusable { reason, .. }]
            if reason == "edit without edit.original_message_id"));
    }

    /// GREEN-API's `editedMessage` and `deletedMessage` (incoming-message/EditedMessage and
    /// DeletedMessage of its notifications format).
    #[test]
    fn green_edits_and_deletions() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"editedMessage","editedMessageData":{"textMessage":"4","stanzaId":"BAE5AFC355030F7A"}}"#,
        );
        let got = parse_green_api(&body, "RU").unwrap();
        assert!(
            matches!(&got[..],
            [Inbound::Message { event: Event::Text { text, .. }, edits: Some(e), .. }]
                if text == "4" && e.as_str() == "79001234567@c.us/BAE5AFC355030F7A"),
            "{got:?}"
        );
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"deletedMessage","deletedMessageData":{"stanzaId":"BAE5AFC355030F7A"}}"#,
        );
        assert_eq!(parse_green_api(&body, "RU").unwrap(), vec![]);
    }

    // ---- Meta statuses ----------------------------------------------------------------------

    fn meta_status_body(status_json: &str) -> Vec<u8> {
        meta_body(&format!(r#""statuses":[{status_json}]"#))
    }

    #[test]
    fn meta_statuses() {
        for (raw, expected) in [
            ("sent", DeliveryStatus::Sent),
            ("delivered", DeliveryStatus::Delivered),
            ("read", DeliveryStatus::Read),
        ] {
            let body = meta_status_body(&format!(
                r#"{{"id":"wamid.OURS","status":"{raw}","timestamp":"1717000000","recipient_id":"79001234567","pricing":{{"billable":true,"pricing_model":"PMP","category":"utility"}}}}"#
            ));
            assert_eq!(
                parse_meta(&body, "RU").unwrap(),
                vec![status("wamid.OURS", raw, expected, None)]
            );
        }
    }

    #[test]
    fn meta_failed_status_carries_the_error_code() {
        let body = meta_status_body(
            r#"{"id":"wamid.OURS","status":"failed","timestamp":"1717000000","recipient_id":"79001234567","errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}"#,
        );
        let got = parse_meta(&body, "RU").unwrap();
        assert_eq!(
            got,
            vec![
                status(
                    "wamid.OURS",
                    "failed",
                    DeliveryStatus::Failed,
                    Some("131026")
                ),
                Inbound::ProviderError {
                    provider: "meta".into(),
                    code: "131026".into(),
                    detail: Some("Message undeliverable".into()),
                }
            ]
        );
        assert_eq!(
            got[0].status_event(),
            Some(Event::DeliveryFailed {
                channel: Channel::Whatsapp,
                reason: "131026".into()
            })
        );
    }

    #[test]
    fn unknown_meta_statuses_are_skipped() {
        let body = meta_status_body(r#"{"id":"wamid.OURS","status":"deleted","timestamp":"1"}"#);
        assert_eq!(parse_meta(&body, "RU").unwrap(), vec![]);
    }

    #[test]
    fn a_meta_batch_keeps_every_item_in_order() {
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[
                {{"id":"1","changes":[
                    {{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"79990000000","phone_number_id":"1"}},
                      "contacts":[{{"profile":{{"name":"A"}},"wa_id":"{CUSTOMER}"}}],
                      "messages":[
                        {{"from":"{CUSTOMER}","id":"wamid.1","timestamp":"1","type":"text","text":{{"body":"3"}}}},
                        {{"from":"{CUSTOMER}","id":"wamid.2","timestamp":"2","type":"button","button":{{"payload":"contact_no","text":"Нет"}}}}
                      ]}}}},
                    {{"field":"account_update","value":{{"event":"VERIFIED_ACCOUNT"}}}}
                ]}},
                {{"id":"1","changes":[
                    {{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"79990000000","phone_number_id":"1"}},
                      "statuses":[{{"id":"wamid.OURS","status":"read","timestamp":"3","recipient_id":"{CUSTOMER}"}}]}}}}
                ]}}
            ]}}"#
        );
        let got = parse_meta(body.as_bytes(), "RU").unwrap();
        assert_eq!(
            got,
            vec![
                message(
                    "wamid.1",
                    Event::Text {
                        text: "3".into(),
                        via: Channel::Whatsapp
                    },
                    None
                ),
                message("wamid.2", choice(Reply::No), None),
                status("wamid.OURS", "read", DeliveryStatus::Read, None),
            ]
        );
        assert_eq!(got[2].status_event(), Some(Event::Delivered));
    }

    #[test]
    fn meta_items_we_cannot_use_are_kept_in_their_place_with_their_path() {
        let got = parse_meta(
            &meta_messages(
                r#"{"from":"79001234567","timestamp":"1","type":"text","text":{"body":"5"}}"#,
            ),
            "RU",
        )
        .unwrap();
        assert!(
            matches!(&got[..], [Inbound::Unusable { provider, at, reason, raw }]
                if provider == "meta" && at == "entry[0].changes[0].value.messages[0]"
                    && reason == "no id" && raw.contains("79001234567")),
            "{got:?}"
        );
        let got = parse_meta(&meta_body(r#""messages":{}"#), "RU").unwrap();
        assert!(
            matches!(&got[..], [Inbound::Unusable { at, reason, .. }]
                if at == "entry[0].changes[0].value.messages" && reason == "not an array"),
            "{got:?}"
        );
        let got = parse_meta(br#"{"entry":[{"id":"1"}]}"#, "RU").unwrap();
        assert!(
            matches!(&got[..], [Inbound::Unusable { at, reason, .. }]
                if at == "entry[0]" && reason == "no changes array"),
            "{got:?}"
        );
        // Not a Meta webhook at all: refused.
        assert!(matches!(
            parse_meta(br#"{"object":"x"}"#, "RU"),
            Err(InboundError::Malformed(m)) if m == "no entry array"
        ));
    }

    #[test]
    fn unusable_items_keep_at_most_a_few_kilobytes_of_the_raw_item() {
        let long = "я".repeat(UNUSABLE_RAW_BYTES);
        let body = meta_messages(&format!(
            r#"{{"id":"wamid.X","type":"text","text":{{"body":"{long}"}}}}"#
        ));
        let got = parse_meta(&body, "RU").unwrap();
        let Inbound::Unusable { raw, reason, .. } = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(reason, "no from");
        assert!(raw.len() <= UNUSABLE_RAW_BYTES && raw.len() > UNUSABLE_RAW_BYTES - 4);
    }

    // ---- usernames: business-scoped user ids ----------------------------------------------

    /// Meta's "Business-scoped user IDs" page
    /// (developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/):
    /// a user who adopted a username and whose number is unavailable comes with `contacts[]`
    /// holding `user_id` (and a `profile.username`) but no `wa_id`, and a message with
    /// `from_user_id` but no `from`. It is read as a [`Inbound::UserMessage`], keeping its place and
    /// raw JSON should the worker fail to route it.
    #[test]
    fn a_message_with_only_a_user_id_is_read_by_its_user_id() {
        let body = meta_body(
            r#""contacts":[{"profile":{"name":"Sheena Nelson","username":"@sheena"},"user_id":"US.13491208655302741918"}],"messages":[{"context":{"from":"15550783881","id":"wamid.OURS"},"from_user_id":"US.13491208655302741918","id":"wamid.U1","timestamp":"1749416383","type":"text","text":{"body":"5"}}]"#,
        );
        let got = parse_meta(&body, "RU").unwrap();
        let [Inbound::UserMessage {
            user_id,
            id: got_id,
            event,
            context_message_id,
            edits,
            at,
            reason,
            raw,
        }] = &got[..]
        else {
            panic!("{got:?}")
        };
        assert_eq!(user_id, "US.13491208655302741918");
        assert_eq!(got_id, &id("wamid.U1"));
        assert_eq!(event, &text("5"));
        assert_eq!(context_message_id.as_deref(), Some("wamid.OURS"));
        assert_eq!(edits, &None);
        assert_eq!(at, "entry[0].changes[0].value.messages[0]");
        assert_eq!(reason, "no from");
        assert!(raw.contains("from_user_id"), "{raw}");
        // It travels through the queue as it was parsed.
        let json = serde_json::to_string(&got[0]).unwrap();
        assert_eq!(serde_json::from_str::<Inbound>(&json).unwrap(), got[0]);

        // Both: the phone routes it, as before.
        let got = meta_one(
            r#"{"from":"79001234567","from_user_id":"RU.1","id":"wamid.U2","timestamp":"1","type":"text","text":{"body":"5"}}"#,
        );
        assert!(matches!(&got[..], [Inbound::Message { from, .. }] if from == &phone()));
        // A number the phone library rejects, with a user id: routed by the user id.
        let got = meta_one(
            r#"{"from":"70000000000","from_user_id":"RU.1","id":"wamid.U3","timestamp":"1","type":"text","text":{"body":"5"}}"#,
        );
        assert!(
            matches!(&got[..], [Inbound::UserMessage { user_id, reason, .. }]
                if user_id == "RU.1" && reason == UNROUTABLE_NUMBER),
            "{got:?}"
        );
        // Neither: unusable, as before; an empty user id is none.
        let got = meta_one(
            r#"{"from_user_id":"","id":"wamid.U4","timestamp":"1","type":"text","text":{"body":"5"}}"#,
        );
        assert!(matches!(&got[..], [Inbound::Unusable { reason, .. }] if reason == "no from"));
        // A user id change (`system`, user_changed_user_id) is not the customer's words.
        let got = meta_one(
            r#"{"from_user_id":"US.2","id":"wamid.U5","timestamp":"1","type":"system","system":{"body":"User changed","type":"user_changed_user_id"}}"#,
        );
        assert_eq!(got, vec![]);
    }

    /// Sent, delivered and read statuses name the recipient's user id (`recipient_user_id`), and
    /// `recipient_id` is omitted when the phone is unavailable (same page); a failed status of a
    /// message sent to a phone number carries none.
    #[test]
    fn meta_statuses_carry_the_recipients_user_id() {
        let body = meta_status_body(
            r#"{"id":"wamid.Q1","status":"delivered","timestamp":"1750263773","recipient_user_id":"US.13491208655302741918","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}}"#,
        );
        let got = parse_meta(&body, "RU").unwrap();
        assert!(
            matches!(&got[..], [Inbound::Status { message_id, recipient_user_id: Some(u), status: DeliveryStatus::Delivered, .. }]
                if message_id == "wamid.Q1" && u == "US.13491208655302741918"),
            "{got:?}"
        );
        let body = meta_status_body(
            r#"{"id":"wamid.Q1","status":"read","timestamp":"1750263773","recipient_id":"79001234567"}"#,
        );
        let got = parse_meta(&body, "RU").unwrap();
        assert!(
            matches!(
                &got[..],
                [Inbound::Status {
                    recipient_user_id: None,
                    ..
                }]
            ),
            "{got:?}"
        );
    }

    // ---- Green-API --------------------------------------------------------------------------

    fn green_incoming(chat: &str, message_data: &str) -> Vec<u8> {
        format!(
            r#"{{"typeWebhook":"incomingMessageReceived","instanceData":{{"idInstance":1101000001,"wid":"79990000000@c.us","typeInstance":"whatsapp"}},"timestamp":1717000000,"idMessage":"BAE5F4886F6F2D05","senderData":{{"chatId":"{chat}","chatName":"Customer","sender":"{chat}","senderName":"Customer","senderContactName":""}},"messageData":{message_data}}}"#
        )
        .into_bytes()
    }

    fn green_status_body(raw: &str) -> Vec<u8> {
        format!(
            r#"{{"typeWebhook":"outgoingMessageStatus","chatId":"79001234567@c.us","instanceData":{{"idInstance":1101000001,"wid":"79990000000@c.us","typeInstance":"whatsapp"}},"timestamp":1717000000,"idMessage":"BAE5OURS","status":"{raw}","sendByApi":true}}"#
        )
        .into_bytes()
    }

    const GREEN_ID: &str = "79001234567@c.us/BAE5F4886F6F2D05";

    #[test]
    fn green_text_message() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"textMessage","textMessageData":{"textMessage":"пятёрка"}}"#,
        );
        assert_eq!(
            parse_green_api(&body, "RU").unwrap(),
            vec![message(
                GREEN_ID,
                Event::Text {
                    text: "пятёрка".into(),
                    via: Channel::Whatsapp
                },
                None
            )]
        );
    }

    #[test]
    fn green_extended_text_message() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"extendedTextMessage","extendedTextMessageData":{"text":"4 из 5","description":"","title":"","previewType":"None","jpegThumbnail":"","forwardingScore":0,"isForwarded":false}}"#,
        );
        assert_eq!(
            parse_green_api(&body, "RU").unwrap(),
            vec![message(
                GREEN_ID,
                Event::Text {
                    text: "4 из 5".into(),
                    via: Channel::Whatsapp
                },
                None
            )]
        );
    }

    #[test]
    fn green_quotes_and_reactions_keep_our_message_id() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"quotedMessage","extendedTextMessageData":{"text":"3","stanzaId":"BAE5OURS","participant":"79990000000@c.us"},"quotedMessage":{"stanzaId":"BAE5OURS","participant":"79990000000@c.us","typeMessage":"textMessage","textMessage":"Как вам заказ?"}}"#,
        );
        assert!(matches!(&parse_green_api(&body, "RU").unwrap()[..],
            [Inbound::Message { context_message_id: Some(c), event: Event::Text { text, .. }, .. }] if c == "BAE5OURS" && text == "3"));
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"reactionMessage","extendedTextMessageData":{"text":"👎"},"quotedMessage":{"stanzaId":"BAE5OURS","participant":"79990000000@c.us"}}"#,
        );
        assert_eq!(
            parse_green_api(&body, "RU").unwrap(),
            vec![message(GREEN_ID, choice(Reply::No), Some("BAE5OURS"))]
        );
    }

    #[test]
    fn green_media_becomes_a_placeholder_text() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"imageMessage","fileMessageData":{"downloadUrl":"https://x","caption":"","fileName":"a.jpg","mimeType":"image/jpeg"}}"#,
        );
        assert!(matches!(&parse_green_api(&body, "RU").unwrap()[..],
            [Inbound::Message { event: Event::Text { text, .. }, .. }] if text == "[image]"));
    }

    #[test]
    fn green_no_account_is_a_failure_with_its_reason() {
        let got = parse_green_api(&green_status_body("noAccount"), "RU").unwrap();
        assert_eq!(
            got,
            vec![
                status(
                    "BAE5OURS",
                    "noAccount",
                    DeliveryStatus::Failed,
                    Some("noAccount")
                ),
                Inbound::ProviderError {
                    provider: "green-api".into(),
                    code: "noAccount".into(),
                    detail: None,
                }
            ]
        );
        assert_eq!(
            got[0].status_event(),
            Some(Event::DeliveryFailed {
                channel: Channel::Whatsapp,
                reason: "noAccount".into()
            })
        );
        assert_eq!(
            parse_green_api(&green_status_body("failed"), "RU").unwrap()[0],
            status("BAE5OURS", "failed", DeliveryStatus::Failed, Some("failed"))
        );
    }

    /// `noActiveSession` (GREEN-API could not set up encryption with the recipient) with its
    /// `description`: a failure, so the survey falls down its chain, and a provider error that
    /// keeps the description (GREEN-API's OutgoingMessageStatus notification,
    /// green-api.com/en/docs/api/receiving/notifications-format/outgoing-message/OutgoingMessageStatus).
    #[test]
    fn green_no_active_session_is_a_failure_and_keeps_its_description() {
        let body = String::from_utf8(green_status_body("noActiveSession"))
            .unwrap()
            .replace(
                r#""sendByApi":true"#,
                r#""sendByApi":true,"description":"No active session with the recipient""#,
            );
        let got = parse_green_api(body.as_bytes(), "RU").unwrap();
        assert_eq!(
            got,
            vec![
                status(
                    "BAE5OURS",
                    "noActiveSession",
                    DeliveryStatus::Failed,
                    Some("noActiveSession")
                ),
                Inbound::ProviderError {
                    provider: "green-api".into(),
                    code: "noActiveSession".into(),
                    detail: Some("No active session with the recipient".into()),
                }
            ]
        );
        assert_eq!(
            got[0].status_event(),
            Some(Event::DeliveryFailed {
                channel: Channel::Whatsapp,
                reason: "noActiveSession".into()
            })
        );
        assert_eq!(got[1].status_event(), None);
    }

    /// GREEN-API's marker for a message it could not decrypt, shaped as its API reference's
    /// "Error SWE001" example: a placeholder, never the customer's words, never a rating.
    #[test]
    fn green_swe001_is_not_the_customers_words() {
        let body = green_incoming(
            "79001234567@c.us",
            r#"{"typeMessage":"textMessage","textMessageData":{"textMessage":"{{SWE001}}"}}"#,
        );
        let got = parse_green_api(&body, "RU").unwrap();
        let [Inbound::Message {
            event: Event::Text { text, .. },
            ..
        }] = &got[..]
        else {
            panic!("{got:?}")
        };
        assert_eq!(text, "[undecryptable]");
        assert!(matches!(
            otklik_core::reply::parse_reply(text, &Default::default()),
            Reply::Unreadable { .. }
        ));
        // Words that merely look like it are the customer's.
        for words in ["{{SWE}}", "5 {{SWE001}}", "{{swe001}}"] {
            assert!(!is_green_marker(words), "{words}");
        }
        assert!(is_green_marker(" {{SWE002}} "));
    }

    /// Meta's "errors" webhook: `value.errors` with no message or status (sample of the messages
    /// webhook reference, developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/errors).
    #[test]
    fn meta_value_errors_are_provider_errors() {
        let body = meta_body(
            r#""errors":[{"code":130429,"title":"Rate limit hit","message":"Rate limit hit","error_data":{"details":"Message failed to send because there were too many messages sent from this phone number in a short period of time"},"href":"/documentation/business-messaging/whatsapp/support/error-codes"}]"#,
        );
        assert_eq!(
            parse_meta(&body, "RU").unwrap(),
            vec![Inbound::ProviderError {
                provider: "meta".into(),
                code: "130429".into(),
                detail: Some("Rate limit hit".into()),
            }]
        );
    }

    #[test]
    fn green_delivered_and_sent() {
        let got = parse_green_api(&green_status_body("delivered"), "RU").unwrap();
        assert_eq!(
            got,
            vec![status(
                "BAE5OURS",
                "delivered",
                DeliveryStatus::Delivered,
                None
            )]
        );
        assert_eq!(got[0].status_event(), Some(Event::Delivered));
        let got = parse_green_api(&green_status_body("sent"), "RU").unwrap();
        assert_eq!(got[0].status_event(), None);
    }

    #[test]
    fn a_max_notification_on_the_whatsapp_route_is_refused() {
        let body = String::from_utf8(green_status_body("noAccount"))
            .unwrap()
            .replace(r#""typeInstance":"whatsapp""#, r#""typeInstance":"v3""#);
        assert!(matches!(
            parse_green_api(body.as_bytes(), "RU"),
            Err(InboundError::Malformed(m)) if m.contains("typeInstance")
        ));
    }

    #[test]
    fn green_other_webhooks_give_nothing() {
        let body = br#"{"typeWebhook":"stateInstanceChanged","instanceData":{"idInstance":1101000001,"wid":"79990000000@c.us","typeInstance":"whatsapp"},"timestamp":1717000000,"stateInstance":"authorized"}"#;
        assert_eq!(parse_green_api(body, "RU").unwrap(), vec![]);
    }

    #[test]
    fn green_group_chats_are_ignored() {
        let body = green_incoming(
            "120363043968066561@g.us",
            r#"{"typeMessage":"textMessage","textMessageData":{"textMessage":"5"}}"#,
        );
        assert_eq!(parse_green_api(&body, "RU").unwrap(), vec![]);
    }

    #[test]
    fn green_shape_errors_are_refused_or_kept() {
        assert!(matches!(
            parse_green_api(br#"{"idMessage":"x"}"#, "RU"),
            Err(InboundError::Malformed(m)) if m == "no typeWebhook"
        ));
        // An authentic notification whose content we cannot use is kept, not refused.
        let body = green_incoming("79001234567@c.us", r#"{"typeMessage":"textMessage"}"#);
        assert!(matches!(
            &parse_green_api(&body, "RU").unwrap()[..],
            [Inbound::Unusable { provider, at, reason, .. }]
                if provider == "green-api" && at == "body"
                    && reason == "textMessage without textMessageData.textMessage"
        ));
    }

    // ---- both -------------------------------------------------------------------------------

    #[test]
    fn non_json_and_non_objects_are_malformed() {
        for body in [&b"not json"[..], b"", b"[1,2]", b"\"x\"", b"{\"entry\":"] {
            assert!(matches!(
                parse_meta(body, "RU"),
                Err(InboundError::Malformed(_))
            ));
            assert!(matches!(
                parse_green_api(body, "RU"),
                Err(InboundError::Malformed(_))
            ));
        }
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse_meta(&body, "RU"), Err(InboundError::TooLarge));
        assert_eq!(parse_green_api(&body, "RU"), Err(InboundError::TooLarge));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_meta(&body, "RU");
            let _ = parse_green_api(&body, "RU");
            let _ = verify_meta_signature(SECRET, &body, std::str::from_utf8(&body).ok());
        }

        /// Valid envelopes with arbitrary values where the fields go: the parsers reach deep
        /// into these, which random bytes almost never do.
        #[test]
        fn arbitrary_field_values_never_panic(
            from in ".{0,20}",
            id in ".{0,300}",
            kind in prop::sample::select(vec!["text", "button", "interactive", "reaction", "image", "system", "??", ""]),
            value in ".{0,40}",
        ) {
            let v = serde_json::to_string(&value).unwrap();
            let m = serde_json::json!({
                "from": from, "id": id, "type": kind,
                "text": {"body": value}, "button": {"payload": value},
                "interactive": {"type": "button_reply", "button_reply": {"id": value}},
                "reaction": {"message_id": id, "emoji": value},
                "image": {"caption": value},
            });
            let _ = parse_meta(&meta_messages(&m.to_string()), "RU");
            let _ = parse_meta(&meta_status_body(&format!(r#"{{"id":{},"status":{v},"errors":[{{"code":{v}}}]}}"#, serde_json::to_string(&id).unwrap())), "RU");
            let chat = serde_json::to_string(&format!("{from}@c.us")).unwrap();
            let _ = parse_green_api(&green_incoming(&chat[1..chat.len() - 1], &format!(r#"{{"typeMessage":{v},"textMessageData":{{"textMessage":{v}}}}}"#)), "RU");
            let _ = parse_green_api(&green_status_body(&value.replace(['"', '\\'], "")), "RU");
        }
    }
}
