//! GREEN-API v3: an instance over an ordinary MAX account, as Otklik calls it —
//! `sendMessage`, `checkAccount` and `getStateInstance` under `/v3/waInstance{id}/{method}/{token}`
//! — and the notifications it posts (`incomingMessageReceived`, `outgoingMessageStatus`,
//! `stateInstanceChanged`). Refusals and `instanceData` come from the WhatsApp instance's helpers.
//!
//! Built to green-api.com/v3/docs: api/sending/SendMessage, api/service/CheckAccount,
//! api/account/GetStateInstance (states as in api/account/GetAccountSettings),
//! api/receiving/notifications-format/incoming-message/Webhook-IncomingMessageReceived (and its
//! TextMessage, ExtendedTextMessage, quoted and reaction pages),
//! api/receiving/notifications-format/statuses/OutgoingMessageStatus.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::green_api::{instance_object, object, unauthorized, validation, Refusal};
use crate::model::{self, MessageKind, Provider, Reply, SentMessage, SimError, StatusUpdate};
use crate::{Sim, SimConfig};

/// The v3 docs' limit for `sendMessage` (WhatsApp's is 20 000).
const MAX_MESSAGE: usize = 4_000;

/// `stateInstance` values of a v3 instance (GetStateInstance / GetAccountSettings).
pub const STATES: [&str; 5] = [
    "authorized",
    "notAuthorized",
    "blocked",
    "starting",
    "suspended",
];

/// Statuses of `outgoingMessageStatus` a v3 instance posts. There is no `noAccount` on MAX: a
/// message that cannot reach anyone is `failed`.
const STATUSES: [&str; 4] = ["sent", "delivered", "read", "failed"];

/// The MAX `chatId` of a person's account, derived from their number so that every run (and
/// every reset) gives the same chat the same id: 8 digits, as in the v3 docs' examples. It shares
/// no digits with the number on purpose: code that mistakes one for the other fails here too.
pub fn chat_id_for(phone: &str) -> String {
    // FNV-1a: tiny, stable across builds and platforms (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in model::digits(phone).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (10_000_000 + hash % 89_999_999).to_string()
}

/// `/v3/waInstance{id}/{method}/{token}` (the `v3` prefix is optional for the gateway, so the
/// router also sends `/waInstance{maxId}/…` here).
pub(crate) fn handle(
    sim: &Sim,
    instance_segment: &str,
    method: &str,
    token: &str,
    http_method: &Method,
    body: &[u8],
) -> Response {
    let config = sim.config();
    let instance = instance_segment.strip_prefix("waInstance").unwrap_or("");
    if instance != config.max_instance || token != config.max_token {
        return unauthorized(sim);
    }
    let (verb, result) = if method.eq_ignore_ascii_case("sendMessage") {
        (Method::POST, send_message(sim, body))
    } else if method.eq_ignore_ascii_case("checkAccount") {
        (Method::POST, check_account(sim, body))
    } else if method.eq_ignore_ascii_case("getStateInstance") {
        (
            Method::GET,
            Ok(Json(json!({ "stateInstance": sim.max_state() })).into_response()),
        )
    } else {
        return (StatusCode::NOT_FOUND, "method not simulated").into_response();
    };
    if http_method != verb {
        return (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    }
    result.unwrap_or_else(|refusal| {
        sim.count_bad_request();
        refusal.into_response()
    })
}

fn send_message(sim: &Sim, body: &[u8]) -> Result<Response, Refusal> {
    let request = object(body)?;
    let chat_id = match request.get("chatId") {
        Some(Value::String(c)) if !c.is_empty() => c.clone(),
        Some(Value::String(_)) => return Err(validation("'chatId' must not be empty")),
        Some(_) => return Err(validation("'chatId' must be a string")),
        None => return Err(validation("'chatId' is required")),
    };
    // A MAX chat id is a number written as text; `79…@c.us` is WhatsApp's form and a negative id
    // is a group, which Otklik never writes to.
    if !chat_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(validation(
            "'chatId' must be a MAX personal chat id (digits, e.g. \"10000000\") or a phone number",
        ));
    }
    let message = match request.get("message") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::String(_)) => return Err(validation("'message' must not be empty")),
        Some(_) => return Err(validation("'message' must be a string")),
        None => return Err(validation("'message' is required")),
    };
    if message.chars().count() > MAX_MESSAGE {
        return Err(validation(&format!(
            "'message' must be at most {MAX_MESSAGE} characters"
        )));
    }
    // The docs allow the first message to go to a phone number; later ones use the chat id.
    let (to, chat, has_max) = if model::max_region(&chat_id) {
        let has = sim.has_max(&chat_id);
        let chat = if has {
            chat_id_for(&chat_id)
        } else {
            chat_id.clone()
        };
        (chat_id.clone(), chat, has)
    } else {
        match sim.max_phone_of(&chat_id) {
            Some(phone) => {
                let has = sim.has_max(&phone);
                (phone, chat_id.clone(), has)
            }
            // A chat nobody known to the simulator has: accepted, then `failed`.
            None => (chat_id.clone(), chat_id.clone(), false),
        }
    };
    // An account that cannot be written to any more still takes the send; the status says so.
    let delivers = has_max && !sim.max_numbers().undeliverable(&to);
    let id = model::max_message_id();
    sim.record_send(SentMessage {
        id: id.clone(),
        provider: Provider::Max,
        to,
        kind: MessageKind::Text,
        text: Some(message),
        template: None,
        language: None,
        params: Vec::new(),
        buttons: Vec::new(),
        has_whatsapp: delivers,
        chat_id: Some(chat),
        at: Utc::now(),
        request: Value::Object(request),
    });
    Ok(Json(json!({ "idMessage": id })).into_response())
}

fn check_account(sim: &Sim, body: &[u8]) -> Result<Response, Refusal> {
    let request = object(body)?;
    sim.count_max_check();
    let number = match request.get("phoneNumber") {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| validation("Wrong format. 'phoneNumber' must contain only digits"))?,
        Some(_) => {
            return Err(validation(
                "Wrong format. 'phoneNumber' must contain only digits",
            ))
        }
        None => return Err(validation("'phoneNumber' is required")),
    };
    match request.get("force") {
        None | Some(Value::Bool(_)) => {}
        Some(_) => return Err(validation("'force' must be a boolean")),
    }
    let digits = number.to_string();
    if !model::max_region(&digits) {
        return Err(validation(
            "'phoneNumber' must be a number of Russia (7, 11 digits) or Belarus (375, 12 digits)",
        ));
    }
    let exist = sim.has_max(&digits);
    let chat_id = if exist {
        let chat = chat_id_for(&digits);
        sim.remember_max_chat(&chat, &digits);
        chat
    } else {
        String::new()
    };
    Ok(Json(json!({ "exist": exist, "chatId": chat_id })).into_response())
}

fn instance_data(config: &SimConfig) -> Value {
    // A MAX account's own id is a chat id like anyone else's.
    instance_object(
        &config.max_instance,
        &chat_id_for(&config.business_phone),
        "v3",
    )
}

/// What the customer's message quotes: our message's id and, when we know it, its text.
pub(crate) struct Quote {
    pub id: String,
    pub text: Option<String>,
}

/// The `incomingMessageReceived` notification for a customer's text, swipe-reply or reaction.
pub(crate) fn inbound_payload(
    config: &SimConfig,
    reply: &Reply,
    from: &str,
    id: &str,
    quote: Option<Quote>,
) -> Result<Value, SimError> {
    if !model::max_region(from) {
        return Err(SimError::bad(
            "MAX accounts are on +7 and +375 numbers only: from must be one",
        ));
    }
    let ours = chat_id_for(&config.business_phone);
    let message_data = match (&reply.text, &reply.reaction, quote) {
        (Some(_), Some(_), _) | (None, None, _) => {
            return Err(SimError::bad(
                "MAX answers are text or a reaction: give text (with extended, quote or replyTo) or reaction",
            ))
        }
        (None, Some(emoji), Some(quote)) => json!({
            "typeMessage": "reactionMessage",
            "extendedTextMessageData": { "text": emoji },
            "quotedMessage": { "stanzaId": quote.id, "participant": ours },
        }),
        (None, Some(_), None) => {
            return Err(SimError::bad(
                "a reaction needs the message reacted to: replyTo (or a message sent to this number)",
            ))
        }
        (Some(text), None, Some(quote)) => json!({
            "typeMessage": "quotedMessage",
            "extendedTextMessageData": {
                "text": text,
                "stanzaId": quote.id,
                "participant": ours,
            },
            "quotedMessage": {
                "stanzaId": quote.id,
                "participant": ours,
                "typeMessage": "textMessage",
                "textMessage": quote.text.unwrap_or_default(),
            },
        }),
        (Some(text), None, None) if reply.extended => json!({
            "typeMessage": "extendedTextMessage",
            "extendedTextMessageData": {
                "text": text,
                "description": "",
                "title": "",
                "jpegThumbnail": "",
                "forwardingScore": 0,
                "isForwarded": false,
            },
        }),
        (Some(text), None, None) => json!({
            "typeMessage": "textMessage",
            "textMessageData": { "textMessage": text },
        }),
    };
    let chat = chat_id_for(from);
    let name = reply.name.as_deref().unwrap_or("Customer");
    // The number the account was registered with, as an integer like `checkAccount`'s input.
    let phone: u64 = from
        .parse()
        .map_err(|_| SimError::bad("from must be the customer's phone number"))?;
    Ok(json!({
        "typeWebhook": "incomingMessageReceived",
        "instanceData": instance_data(config),
        "timestamp": Utc::now().timestamp(),
        "idMessage": id,
        "senderData": {
            "chatId": chat,
            "chatName": name,
            "sender": chat,
            "senderName": name,
            "senderContactName": "",
            "senderPhoneNumber": phone,
        },
        "messageData": message_data,
    }))
}

/// The `outgoingMessageStatus` notification for one of our messages in chat `chat_id`.
pub(crate) fn status_payload(
    config: &SimConfig,
    update: &StatusUpdate,
    chat_id: &str,
) -> Result<Value, SimError> {
    if !STATUSES.contains(&update.status.as_str()) {
        return Err(SimError::bad(format!(
            "MAX statuses are {}; got {:?}",
            STATUSES.join(", "),
            update.status
        )));
    }
    if update.error_code.is_some() {
        return Err(SimError::bad(
            "errorCode is Meta's; MAX statuses carry a description",
        ));
    }
    let mut payload = json!({
        "typeWebhook": "outgoingMessageStatus",
        "chatId": chat_id,
        "instanceData": instance_data(config),
        "timestamp": Utc::now().timestamp(),
        "idMessage": update.message_id,
        "status": update.status,
        "sendByApi": true,
    });
    if update.status == "failed" {
        payload["description"] = "an error occurred while sending the message to MAX".into();
    }
    Ok(payload)
}

/// The `stateInstanceChanged` notification (sent when the control API changes the state).
pub(crate) fn state_payload(config: &SimConfig, state: &str) -> Value {
    json!({
        "typeWebhook": "stateInstanceChanged",
        "instanceData": instance_data(config),
        "timestamp": Utc::now().timestamp(),
        "stateInstance": state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_are_stable_eight_digit_numbers_unlike_the_phone() {
        let a = chat_id_for("79001234567");
        assert_eq!(a, chat_id_for("+7 900 123-45-67"));
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(a, chat_id_for("79001234568"));
        assert!(!"79001234567".contains(&a));
    }
}
