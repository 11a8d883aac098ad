//! Meta's WhatsApp Cloud API: `POST /{version}/{phone-number-id}/messages` with a bearer token,
//! answered and refused the way Graph API does, and the webhook payloads Meta posts back
//! (customer messages and delivery statuses).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::model::{self, MessageKind, Provider, Reply, SentMessage, SimError, StatusUpdate};
use crate::{Sim, SimConfig};

/// Meta's limits that a real send would trip over; the simulator refuses the same requests.
const MAX_TEXT_BODY: usize = 4096;
const MAX_INTERACTIVE_BODY: usize = 1024;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE: usize = 20;
const MAX_BUTTON_ID: usize = 256;

const ERROR_CODES_URL: &str =
    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// A Graph API error answer: `{"error":{"message","type","code",…,"fbtrace_id"}}`.
struct GraphError {
    status: StatusCode,
    code: u32,
    kind: &'static str,
    message: String,
    /// More members of the error object (`error_subcode`, `error_data`).
    extra: Value,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("message".into(), self.message.into());
        error.insert("type".into(), self.kind.into());
        error.insert("code".into(), self.code.into());
        if let Value::Object(extra) = self.extra {
            error.extend(extra);
        }
        error.insert("fbtrace_id".into(), model::fbtrace_id().into());
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

fn graph_error(
    status: StatusCode,
    code: u32,
    kind: &'static str,
    message: &str,
    extra: Value,
) -> GraphError {
    GraphError {
        status,
        code,
        kind,
        message: message.to_owned(),
        extra,
    }
}

/// `(#100) …`: the catch-all for a request body Graph API cannot use.
fn invalid(message: &str) -> GraphError {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        "OAuthException",
        &format!("(#100) {message}"),
        json!({}),
    )
}

fn unauthorized(message: &str) -> GraphError {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        "OAuthException",
        message,
        json!({}),
    )
}

fn token_ok(headers: &HeaderMap, expected: &str) -> Result<(), &'static str> {
    let Some(value) = headers.get("authorization") else {
        return Err("An access token is required to request this resource.");
    };
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && token == expected => {
            Ok(())
        }
        _ => Err("Invalid OAuth access token - Cannot parse access token"),
    }
}

/// `v21.0`, `v22.0`…: anything else is not a Graph API version.
fn version_ok(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.splitn(2, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next().unwrap_or("0");
    !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit())
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// What a valid request asked to send.
struct Content {
    kind: MessageKind,
    text: Option<String>,
    template: Option<String>,
    language: Option<String>,
    params: Vec<String>,
    buttons: Vec<String>,
}

impl Content {
    fn of(kind: MessageKind) -> Content {
        Content {
            kind,
            text: None,
            template: None,
            language: None,
            params: Vec::new(),
            buttons: Vec::new(),
        }
    }
}

fn text_content(request: &Value) -> Result<Content, GraphError> {
    let body = str_at(request, &["text", "body"])
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| invalid("The parameter text['body'] is required."))?;
    if body.chars().count() > MAX_TEXT_BODY {
        return Err(invalid(&format!(
            "Param text['body'] must be at most {MAX_TEXT_BODY} characters long."
        )));
    }
    Ok(Content {
        text: Some(body.to_owned()),
        ..Content::of(MessageKind::Text)
    })
}

fn template_content(request: &Value) -> Result<Content, GraphError> {
    let template = request
        .get("template")
        .ok_or_else(|| invalid("The parameter template is required."))?;
    let name = str_at(template, &["name"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("The parameter template['name'] is required."))?;
    let language = str_at(template, &["language", "code"])
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid("The parameter template['language']['code'] is required."))?;
    let mut content = Content {
        template: Some(name.to_owned()),
        language: Some(language.to_owned()),
        ..Content::of(MessageKind::Template)
    };
    let components = match template.get("components") {
        None | Some(Value::Null) => return Ok(content),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(invalid("Param template['components'] must be an array.")),
    };
    for component in components {
        let kind = str_at(component, &["type"]).ok_or_else(|| {
            invalid("The parameter template['components'][]['type'] is required.")
        })?;
        let parameters = component
            .get("parameters")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        match kind.to_ascii_lowercase().as_str() {
            "header" | "body" => content.params.extend(
                parameters
                    .iter()
                    .filter(|p| str_at(p, &["type"]) == Some("text"))
                    .filter_map(|p| str_at(p, &["text"]).map(str::to_owned)),
            ),
            "button" => {
                if str_at(component, &["sub_type"]).is_none() {
                    return Err(invalid(
                        "The parameter template['components'][]['sub_type'] is required for buttons.",
                    ));
                }
                if str_at(component, &["sub_type"]) == Some("quick_reply") {
                    content.buttons.extend(
                        parameters
                            .iter()
                            .filter_map(|p| str_at(p, &["payload"]).map(str::to_owned)),
                    );
                }
            }
            "footer" => {}
            other => {
                return Err(invalid(&format!(
                    "Param template['components'][]['type'] must be one of {{HEADER, BODY, FOOTER, BUTTON}} - got \"{other}\"."
                )))
            }
        }
    }
    Ok(content)
}

fn interactive_content(request: &Value) -> Result<Content, GraphError> {
    let interactive = request
        .get("interactive")
        .ok_or_else(|| invalid("The parameter interactive is required."))?;
    match str_at(interactive, &["type"]) {
        Some("button") => {}
        Some(other) => {
            // Lists, flows and catalogues exist at Meta, but Otklik only sends reply buttons.
            return Err(invalid(&format!(
                "Param interactive['type'] \"{other}\" is not simulated; use \"button\"."
            )));
        }
        None => return Err(invalid("The parameter interactive['type'] is required.")),
    }
    let body = str_at(interactive, &["body", "text"])
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| invalid("The parameter interactive['body']['text'] is required."))?;
    if body.chars().count() > MAX_INTERACTIVE_BODY {
        return Err(invalid(&format!(
            "Param interactive['body']['text'] must be at most {MAX_INTERACTIVE_BODY} characters long."
        )));
    }
    let buttons = interactive
        .get("action")
        .and_then(|a| a.get("buttons"))
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("The parameter interactive['action']['buttons'] is required."))?;
    if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
        return Err(invalid(&format!(
            "Param interactive['action']['buttons'] must have 1 to {MAX_BUTTONS} buttons."
        )));
    }
    let mut ids = Vec::with_capacity(buttons.len());
    for button in buttons {
        if str_at(button, &["type"]) != Some("reply") {
            return Err(invalid(
                "Param interactive['action']['buttons'][]['type'] must be \"reply\".",
            ));
        }
        let id = str_at(button, &["reply", "id"]).filter(|i| !i.is_empty());
        let title = str_at(button, &["reply", "title"]).filter(|t| !t.is_empty());
        let (Some(id), Some(title)) = (id, title) else {
            return Err(invalid(
                "The parameters interactive['action']['buttons'][]['reply']['id'] and ['title'] are required.",
            ));
        };
        if title.chars().count() > MAX_BUTTON_TITLE || id.chars().count() > MAX_BUTTON_ID {
            return Err(invalid(&format!(
                "Button title must be at most {MAX_BUTTON_TITLE} characters, id at most {MAX_BUTTON_ID}."
            )));
        }
        if ids.iter().any(|known| known == id) {
            return Err(invalid("Button ids must be unique."));
        }
        ids.push(id.to_owned());
    }
    Ok(Content {
        text: Some(body.to_owned()),
        buttons: ids,
        ..Content::of(MessageKind::Interactive)
    })
}

/// The recipient as digits: `+` and digits only, 8–15 of them (E.164).
fn recipient(to: &str) -> Option<String> {
    let digits = to.strip_prefix('+').unwrap_or(to);
    (digits.bytes().all(|b| b.is_ascii_digit()) && (8..=15).contains(&digits.len()))
        .then(|| digits.to_owned())
}

/// `POST /{version}/{phone_number_id}/messages`.
pub(crate) fn send(
    sim: &Sim,
    version: &str,
    phone_number_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let config = sim.config();
    if let Err(message) = token_ok(headers, &config.meta_token) {
        sim.count_unauthorized();
        return unauthorized(message).into_response();
    }
    let result = validate(&config, version, phone_number_id, body);
    let (request, to_input, to, content) = match result {
        Ok(ok) => ok,
        Err(error) => {
            sim.count_bad_request();
            return error.into_response();
        }
    };
    let id = model::wamid();
    let has_whatsapp = sim.has_whatsapp(&to);
    sim.record_send(SentMessage {
        id: id.clone(),
        provider: Provider::Meta,
        to: to.clone(),
        kind: content.kind,
        text: content.text,
        template: content.template,
        language: content.language,
        params: content.params,
        buttons: content.buttons,
        has_whatsapp,
        chat_id: None,
        at: Utc::now(),
        request,
    });
    // Meta answers the same whether or not the number has WhatsApp; the failure comes later as
    // a status.
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to_input, "wa_id": to }],
        "messages": [{ "id": id }],
    }))
    .into_response()
}

type Valid = (Value, String, String, Content);

fn validate(
    config: &SimConfig,
    version: &str,
    phone_number_id: &str,
    body: &[u8],
) -> Result<Valid, GraphError> {
    if !version_ok(version) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            2500,
            "OAuthException",
            &format!("Unknown path components: /{version}/{phone_number_id}/messages"),
            json!({}),
        ));
    }
    if phone_number_id != config.meta_phone_number_id {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "GraphMethodException",
            &format!(
                "Unsupported post request. Object with ID '{phone_number_id}' does not exist, \
                 cannot be loaded due to missing permissions, or does not support this operation."
            ),
            json!({ "error_subcode": 33 }),
        ));
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("Invalid parameter: the body must be a JSON object."))?;
    if !request.is_object() {
        return Err(invalid(
            "Invalid parameter: the body must be a JSON object.",
        ));
    }
    match request.get("messaging_product").and_then(Value::as_str) {
        Some("whatsapp") => {}
        Some(other) => {
            return Err(invalid(&format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got \"{other}\"."
            )))
        }
        None => return Err(invalid("The parameter messaging_product is required.")),
    }
    if let Some(kind) = request.get("recipient_type") {
        if kind.as_str() != Some("individual") {
            return Err(invalid(
                "Param recipient_type must be \"individual\" for one customer.",
            ));
        }
    }
    let to_input = request
        .get("to")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("The parameter to is required."))?
        .to_owned();
    let to = recipient(&to_input).ok_or_else(|| {
        graph_error(
            StatusCode::BAD_REQUEST,
            131009,
            "OAuthException",
            "(#131009) Parameter value is not valid",
            json!({ "error_data": {
                "messaging_product": "whatsapp",
                "details": "Recipient phone number must be digits in international format"
            }}),
        )
    })?;
    // Meta treats a missing type as text.
    let content = match request
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text")
    {
        "text" => text_content(&request)?,
        "template" => template_content(&request)?,
        "interactive" => interactive_content(&request)?,
        other => {
            return Err(invalid(&format!(
                "Param type \"{other}\" is not simulated; use text, template or interactive."
            )))
        }
    };
    Ok((request, to_input, to, content))
}

/// Meta's limits on a template (WhatsApp Business Platform, "Template fundamentals" and the
/// template components pages): a name of lowercase letters, digits and underscores up to 512
/// characters, a body of at most 1024 characters, at most 10 quick-reply buttons of 25.
const MAX_TEMPLATE_NAME: usize = 512;
const MAX_TEMPLATE_BODY: usize = 1024;
const MAX_QUICK_REPLIES: usize = 10;
const MAX_QUICK_REPLY_TEXT: usize = 25;

/// The error Graph API gives when a template of that name already exists in that language:
/// code 100 with subcode 2388024 and words for people in `error_user_title`/`error_user_msg`.
fn template_exists(name: &str, language: &str) -> GraphError {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        "OAuthException",
        "Invalid parameter",
        json!({
            "error_subcode": 2388024,
            "is_transient": false,
            "error_user_title": "Content in this language already exists",
            "error_user_msg": format!(
                "There is already {language} content for the template {name}. Choose another name or language."
            ),
        }),
    )
}

/// `POST /{version}/{WABA-ID}/message_templates`: checks the request as Meta documents it, keeps
/// the template (status `PENDING`) and answers `{"id","status","category"}`.
pub(crate) fn create_template(
    sim: &Sim,
    version: &str,
    waba_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let config = sim.config();
    if let Err(message) = token_ok(headers, &config.meta_token) {
        sim.count_unauthorized();
        return unauthorized(message).into_response();
    }
    match validate_template(&config, version, waba_id, body) {
        Ok(mut template) => {
            let mut st = sim.lock();
            if st
                .templates
                .iter()
                .any(|t| t.name == template.name && t.language == template.language)
            {
                drop(st);
                sim.count_bad_request();
                return template_exists(&template.name, &template.language).into_response();
            }
            template.id = format!("{}", 1_627_019_861_106_475_u64 + st.templates.len() as u64);
            let answer = json!({
                "id": template.id,
                "status": template.status,
                "category": template.category,
            });
            st.templates.push(template);
            Json(answer).into_response()
        }
        Err(error) => {
            sim.count_bad_request();
            error.into_response()
        }
    }
}

fn validate_template(
    config: &SimConfig,
    version: &str,
    waba_id: &str,
    body: &[u8],
) -> Result<crate::sim::Template, GraphError> {
    if !version_ok(version) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            2500,
            "OAuthException",
            &format!("Unknown path components: /{version}/{waba_id}/message_templates"),
            json!({}),
        ));
    }
    if waba_id != config.meta_business_account_id {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "GraphMethodException",
            &format!(
                "Unsupported post request. Object with ID '{waba_id}' does not exist, \
                 cannot be loaded due to missing permissions, or does not support this operation."
            ),
            json!({ "error_subcode": 33 }),
        ));
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("Invalid parameter: the body must be a JSON object."))?;
    let name = str_at(&request, &["name"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("The parameter name is required."))?;
    if name.len() > MAX_TEMPLATE_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid(
            "Param name must contain only lowercase letters, numbers and underscores.",
        ));
    }
    let language = str_at(&request, &["language"])
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid("The parameter language is required."))?;
    let category = str_at(&request, &["category"])
        .ok_or_else(|| invalid("The parameter category is required."))?;
    if !matches!(category, "UTILITY" | "MARKETING" | "AUTHENTICATION") {
        return Err(invalid(&format!(
            "Param category must be one of {{UTILITY, MARKETING, AUTHENTICATION}} - got \"{category}\"."
        )));
    }
    let components = request
        .get("components")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("The parameter components is required."))?;
    let mut has_body = false;
    for component in components {
        match str_at(component, &["type"]) {
            Some("BODY") => {
                let text = str_at(component, &["text"]).unwrap_or_default();
                if text.trim().is_empty() || text.chars().count() > MAX_TEMPLATE_BODY {
                    return Err(invalid(&format!(
                        "Param components[BODY]['text'] must be 1 to {MAX_TEMPLATE_BODY} characters long."
                    )));
                }
                has_body = true;
            }
            Some("BUTTONS") => {
                let buttons = component
                    .get("buttons")
                    .and_then(Value::as_array)
                    .filter(|b| !b.is_empty() && b.len() <= MAX_QUICK_REPLIES)
                    .ok_or_else(|| {
                        invalid(&format!(
                            "Param components[BUTTONS]['buttons'] must have 1 to {MAX_QUICK_REPLIES} buttons."
                        ))
                    })?;
                for b in buttons {
                    let text = str_at(b, &["text"]).unwrap_or_default();
                    if str_at(b, &["type"]) != Some("QUICK_REPLY")
                        || text.is_empty()
                        || text.chars().count() > MAX_QUICK_REPLY_TEXT
                    {
                        return Err(invalid(&format!(
                            "Each button must be {{\"type\":\"QUICK_REPLY\",\"text\"}} with 1 to {MAX_QUICK_REPLY_TEXT} characters of text."
                        )));
                    }
                }
            }
            Some("HEADER" | "FOOTER") => {}
            _ => {
                return Err(invalid(
                    "Param components[]['type'] must be one of {HEADER, BODY, FOOTER, BUTTONS}.",
                ))
            }
        }
    }
    if !has_body {
        return Err(invalid("A template needs a BODY component."));
    }
    Ok(crate::sim::Template {
        id: String::new(),
        name: name.to_owned(),
        language: language.to_owned(),
        category: category.to_owned(),
        status: "PENDING".into(),
        components: Value::Array(components.clone()),
    })
}

/// The envelope every Meta webhook shares; `value` carries `messages` or `statuses`.
fn envelope(config: &SimConfig, value: Map<String, Value>) -> Value {
    let mut full = Map::new();
    full.insert("messaging_product".into(), "whatsapp".into());
    full.insert(
        "metadata".into(),
        json!({
            "display_phone_number": config.business_phone,
            "phone_number_id": config.meta_phone_number_id,
        }),
    );
    full.extend(value);
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": config.meta_business_account_id,
            "changes": [{ "value": full, "field": "messages" }],
        }],
    })
}

/// The webhook Meta posts when the customer writes, taps a button or reacts.
pub(crate) fn inbound_payload(
    config: &SimConfig,
    reply: &Reply,
    from: &str,
    id: &str,
    reply_to: Option<String>,
) -> Result<Value, SimError> {
    if reply.extended {
        return Err(SimError::bad(
            "extended is Green-API's extendedTextMessage; Meta text has one shape",
        ));
    }
    let mut message = Map::new();
    message.insert("from".into(), from.into());
    message.insert("id".into(), id.into());
    // Meta's timestamps are strings of Unix seconds.
    message.insert(
        "timestamp".into(),
        Utc::now().timestamp().to_string().into(),
    );
    let context = |target: &Option<String>| {
        target
            .as_ref()
            .map(|t| json!({ "from": config.business_phone, "id": t }))
    };
    if let Some(text) = &reply.text {
        // Typed text quotes our message only when the customer chose "reply" on it.
        if let Some(ctx) = context(&reply.reply_to) {
            message.insert("context".into(), ctx);
        }
        message.insert("type".into(), "text".into());
        message.insert("text".into(), json!({ "body": text }));
    } else if let Some(payload) = &reply.button_payload {
        if let Some(ctx) = context(&reply_to) {
            message.insert("context".into(), ctx);
        }
        let text = reply.button_text.as_deref().unwrap_or(payload);
        message.insert("type".into(), "button".into());
        message.insert("button".into(), json!({ "payload": payload, "text": text }));
    } else if let Some(reply_id) = &reply.interactive_reply_id {
        if let Some(ctx) = context(&reply_to) {
            message.insert("context".into(), ctx);
        }
        let title = reply.interactive_title.as_deref().unwrap_or(reply_id);
        message.insert("type".into(), "interactive".into());
        message.insert(
            "interactive".into(),
            json!({
                "type": "button_reply",
                "button_reply": { "id": reply_id, "title": title },
            }),
        );
    } else if let Some(emoji) = &reply.reaction {
        let target = reply_to
            .ok_or_else(|| SimError::bad("a reaction needs replyTo: the message reacted to"))?;
        message.insert("type".into(), "reaction".into());
        message.insert(
            "reaction".into(),
            json!({ "message_id": target, "emoji": emoji }),
        );
    }
    let name = reply.name.as_deref().unwrap_or("Customer");
    let mut value = Map::new();
    value.insert(
        "contacts".into(),
        json!([{ "profile": { "name": name }, "wa_id": from }]),
    );
    value.insert("messages".into(), json!([message]));
    Ok(envelope(config, value))
}

/// `errors[]` of a failed status, with the titles Meta's error-code table gives.
fn status_error(code: u32) -> Value {
    let (title, details) = match code {
        131026 => ("Message undeliverable", "Message Undeliverable."),
        131047 => (
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        ),
        131049 => (
            "This message was not delivered to maintain healthy ecosystem engagement.",
            "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        ),
        131000 => (
            "Something went wrong",
            "Message failed to send because of an unknown error.",
        ),
        _ => ("Message failed to send", "Message failed to send."),
    };
    json!({
        "code": code,
        "title": title,
        "message": title,
        "error_data": { "details": details },
        "href": ERROR_CODES_URL,
    })
}

/// The webhook Meta posts when one of our messages changes status.
pub(crate) fn status_payload(
    config: &SimConfig,
    update: &StatusUpdate,
    to: &str,
) -> Result<Value, SimError> {
    if !matches!(
        update.status.as_str(),
        "sent" | "delivered" | "read" | "failed"
    ) {
        return Err(SimError::bad(format!(
            "Meta statuses are sent, delivered, read, failed; got {:?}",
            update.status
        )));
    }
    if update.error_code.is_some() && update.status != "failed" {
        return Err(SimError::bad("errorCode goes with status \"failed\" only"));
    }
    let mut status = Map::new();
    status.insert("id".into(), update.message_id.clone().into());
    status.insert("status".into(), update.status.clone().into());
    status.insert(
        "timestamp".into(),
        Utc::now().timestamp().to_string().into(),
    );
    status.insert("recipient_id".into(), to.into());
    if update.status == "failed" {
        status.insert(
            "errors".into(),
            json!([status_error(update.error_code.unwrap_or(131026))]),
        );
    } else {
        // Per-message pricing rides on sent/delivered/read; receivers must tolerate it.
        status.insert(
            "pricing".into(),
            json!({ "billable": true, "pricing_model": "PMP", "category": "utility" }),
        );
    }
    let mut value = Map::new();
    value.insert("statuses".into(), json!([status]));
    Ok(envelope(config, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_look_like_graph_api_versions() {
        assert!(version_ok("v21.0"));
        assert!(version_ok("v22"));
        assert!(!version_ok("21.0"));
        assert!(!version_ok("v21."));
        assert!(!version_ok("vx.0"));
    }

    #[test]
    fn recipients_are_international_digits() {
        assert_eq!(recipient("79001234567").as_deref(), Some("79001234567"));
        assert_eq!(recipient("+79001234567").as_deref(), Some("79001234567"));
        assert_eq!(recipient("8 900 123-45-67"), None);
        assert_eq!(recipient("1234"), None);
    }
}
