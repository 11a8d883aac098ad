//! Green-API: `sendMessage` and `checkWhatsapp` under `/waInstance{id}/{method}/{token}`, and the
//! webhooks the gateway posts (`incomingMessageReceived`, `outgoingMessageStatus`). The helpers
//! every GREEN-API instance shares (refusals, body checks, `instanceData`) live here too; the MAX
//! instance (`max.rs`) uses them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::model::{self, MessageKind, Provider, Reply, SentMessage, SimError, StatusUpdate};
use crate::{Sim, SimConfig};

/// Green-API's documented limit for `sendMessage`.
const MAX_MESSAGE: usize = 20_000;

/// A refusal as Green-API words it: a status and a line of text.
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub text: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, self.text).into_response()
    }
}

pub(crate) fn validation(details: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        text: format!("Validation failed. Details: {details}"),
    }
}

/// `/waInstance{id}/{method}/{token}`; `instance_segment` is the `waInstance{id}` part.
pub(crate) fn handle(
    sim: &Sim,
    instance_segment: &str,
    method: &str,
    token: &str,
    body: &[u8],
) -> Response {
    let config = sim.config();
    let instance = instance_segment.strip_prefix("waInstance").unwrap_or("");
    if instance != config.green_api_instance || token != config.green_api_token {
        return unauthorized(sim);
    }
    // Green-API accepts method names in any case (`sendMessage`, `SendMessage`).
    let result = if method.eq_ignore_ascii_case("sendMessage") {
        send_message(sim, body)
    } else if method.eq_ignore_ascii_case("checkWhatsapp") {
        check_whatsapp(sim, body)
    } else {
        return (StatusCode::NOT_FOUND, "method not simulated").into_response();
    };
    result.unwrap_or_else(|refusal| {
        sim.count_bad_request();
        refusal.into_response()
    })
}

/// GREEN-API's answer to a wrong instance id or token (its standard error 401).
pub(crate) fn unauthorized(sim: &Sim) -> Response {
    sim.count_unauthorized();
    (StatusCode::UNAUTHORIZED, "Unauthorized").into_response()
}

/// The request body as a non-empty JSON object, or the gateway's validation refusal.
pub(crate) fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) if !map.is_empty() => Ok(map),
        Ok(Value::Object(_)) => Err(validation("'value' must have at least 1 key")),
        _ => Err(validation("the body must be a JSON object")),
    }
}

/// A personal chat id: `<international number>@c.us`.
fn personal_chat(chat_id: &str) -> Option<String> {
    let number = chat_id.strip_suffix("@c.us")?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then(|| number.to_owned())
}

fn send_message(sim: &Sim, body: &[u8]) -> Result<Response, Refusal> {
    let request = object(body)?;
    let chat_id = match request.get("chatId") {
        Some(Value::String(c)) => c,
        Some(_) => return Err(validation("'chatId' must be a string")),
        None => return Err(validation("'chatId' is required")),
    };
    // Otklik writes to people, never to groups; a group id here is a bug worth a loud 400.
    let to = personal_chat(chat_id)
        .ok_or_else(|| validation("'chatId' must be a personal chat id like 79001234567@c.us"))?;
    let message = match request.get("message") {
        Some(Value::String(m)) if !m.is_empty() => m,
        Some(Value::String(_)) => return Err(validation("'message' must not be empty")),
        Some(_) => return Err(validation("'message' must be a string")),
        None => return Err(validation("'message' is required")),
    };
    if message.chars().count() > MAX_MESSAGE {
        return Err(validation(&format!(
            "'message' must be at most {MAX_MESSAGE} characters"
        )));
    }
    let id = model::green_api_outgoing_id();
    let has_whatsapp = sim.has_whatsapp(&to);
    sim.record_send(SentMessage {
        id: id.clone(),
        provider: Provider::GreenApi,
        to,
        kind: MessageKind::Text,
        text: Some(message.clone()),
        template: None,
        language: None,
        params: Vec::new(),
        buttons: Vec::new(),
        has_whatsapp,
        chat_id: None,
        at: Utc::now(),
        request: Value::Object(request),
    });
    // Accepted even without WhatsApp on the number: the gateway reports `noAccount` later.
    Ok(Json(json!({ "idMessage": id })).into_response())
}

fn check_whatsapp(sim: &Sim, body: &[u8]) -> Result<Response, Refusal> {
    let request = object(body)?;
    sim.count_check();
    // The documented type is an integer; a quoted number is refused, as the gateway does.
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
    let digits = number.to_string();
    if !(11..=16).contains(&digits.len()) {
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            text: "bad phone number, valid from 11 to 16 digits".into(),
        });
    }
    Ok(Json(json!({ "existsWhatsapp": sim.has_whatsapp(&digits) })).into_response())
}

fn instance_data(config: &SimConfig) -> Value {
    instance_object(
        &config.green_api_instance,
        &format!("{}@c.us", config.business_phone),
        "whatsapp",
    )
}

/// `instanceData` of every GREEN-API notification: the instance id (a number, as the gateway
/// sends it), the account's own id and the messenger (`whatsapp`, or `v3` for MAX).
pub(crate) fn instance_object(id: &str, wid: &str, type_instance: &str) -> Value {
    let id = id
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id.to_owned()));
    json!({ "idInstance": id, "wid": wid, "typeInstance": type_instance })
}

/// The `incomingMessageReceived` webhook for a customer's text.
pub(crate) fn inbound_payload(
    config: &SimConfig,
    reply: &Reply,
    from: &str,
    id: &str,
) -> Result<Value, SimError> {
    let Some(text) = &reply.text else {
        return Err(SimError::bad(
            "Green-API answers are text only: give text (and extended: true for extendedTextMessage)",
        ));
    };
    let message_data = if reply.extended {
        json!({
            "typeMessage": "extendedTextMessage",
            "extendedTextMessageData": {
                "text": text,
                "description": "",
                "title": "",
                "previewType": "None",
                "jpegThumbnail": "",
                "forwardingScore": 0,
                "isForwarded": false,
            },
        })
    } else {
        json!({
            "typeMessage": "textMessage",
            "textMessageData": { "textMessage": text },
        })
    };
    let chat = format!("{from}@c.us");
    let name = reply.name.as_deref().unwrap_or("Customer");
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
        },
        "messageData": message_data,
    }))
}

/// The `outgoingMessageStatus` webhook for one of our messages.
pub(crate) fn status_payload(
    config: &SimConfig,
    update: &StatusUpdate,
    to: &str,
) -> Result<Value, SimError> {
    const STATUSES: [&str; 7] = [
        "sent",
        "delivered",
        "read",
        "failed",
        "noAccount",
        "notInGroup",
        "yellowCard",
    ];
    if !STATUSES.contains(&update.status.as_str()) {
        return Err(SimError::bad(format!(
            "Green-API statuses are {}; got {:?}",
            STATUSES.join(", "),
            update.status
        )));
    }
    if update.error_code.is_some() {
        return Err(SimError::bad(
            "errorCode is Meta's; Green-API statuses carry a description",
        ));
    }
    let mut payload = json!({
        "typeWebhook": "outgoingMessageStatus",
        "chatId": format!("{to}@c.us"),
        "instanceData": instance_data(config),
        "timestamp": Utc::now().timestamp(),
        "idMessage": update.message_id,
        "status": update.status,
        "sendByApi": true,
    });
    if update.status == "failed" {
        payload["description"] = "an error occurred while sending the message to WhatsApp".into();
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_personal_chats_are_accepted() {
        assert_eq!(
            personal_chat("79001234567@c.us").as_deref(),
            Some("79001234567")
        );
        assert_eq!(personal_chat("79001234567"), None);
        assert_eq!(personal_chat("120363043968066561@g.us"), None);
        assert_eq!(personal_chat("+79001234567@c.us"), None);
    }
}
