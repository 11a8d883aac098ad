//! MAX through GREEN-API v3: the client against a scripted instance (every request as the provider
//! sees it, every documented answer and error), and the webhook parser on notifications shaped as
//! the v3 documentation shows them. Each test names the page its payloads come from.

mod common;

use common::{refusing_url, Mock, Reply};
use otklik_core::config::{Config, MaxConfig, Secrets};
use otklik_core::machine::{Event, InputId};
use otklik_core::model::{Channel, Phone};
use otklik_core::reply::parse_reaction;
use otklik_messaging::inbound::{
    max_instance_state, parse_max, verify_bearer, DeliveryStatus, Inbound, InboundError,
};
use otklik_messaging::max::{MaxAccount, MaxClient, MaxState, Paced, MAX_TEXT_CHARS};
use otklik_messaging::SendError;
use serde_json::json;

const TOKEN: &str = "d75b3a66374942c5b3c019c698abc2067e151558acbd412345";
const INSTANCE: &str = "3100000001";

fn client(url: &str) -> MaxClient {
    MaxClient::new(
        MaxConfig {
            api_url: url.to_string(),
            instance_id: INSTANCE.to_string(),
            send_interval: std::time::Duration::from_secs(10),
        },
        TOKEN,
    )
}

fn phone(raw: &str) -> Phone {
    Phone::parse(raw, "RU").expect("a valid phone")
}

fn path(method: &str) -> String {
    format!("/v3/waInstance{INSTANCE}/{method}/{TOKEN}")
}

/// No error message may carry the token: GREEN-API puts it in the URL.
fn assert_no_token(e: &SendError) {
    assert!(!e.to_string().contains(TOKEN), "token leaked: {e}");
}

// ---- Pacing: GetSettings / SetSettings ------------------------------------------------------

/// green-api.com/v3/docs/api/send-messages-delay and account/GetSettings: the interval is read
/// first and left alone when it is already ours (a SetSettings restarts the instance).
#[tokio::test]
async fn pacing_already_in_place_is_only_read() {
    let mock = Mock::always(Reply::ok(json!({
        "wid": "79001234567@c.us",
        "delaySendMessagesMilliseconds": 10000,
        "outgoingWebhook": "yes"
    })))
    .await;
    let paced = client(&mock.url)
        .pace(std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(paced, Paced::Already);
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, path("getSettings"));
}

/// account/SetSettings: `{"delaySendMessagesMilliseconds": 10000}` → `{"saveSettings": true}`.
#[tokio::test]
async fn another_interval_is_set_once_with_only_that_parameter() {
    // One scripted answer serves both calls: GetSettings reads the 5 s, SetSettings the flag.
    let mock = Mock::always(Reply::ok(
        json!({"delaySendMessagesMilliseconds": 5000, "saveSettings": true}),
    ))
    .await;
    let paced = client(&mock.url)
        .pace(std::time::Duration::from_millis(10_000))
        .await
        .unwrap();
    assert_eq!(paced, Paced::Set { was: Some(5000) });
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path, path("setSettings"));
    assert_eq!(
        requests[1].json(),
        json!({"delaySendMessagesMilliseconds": 10000})
    );
}

#[tokio::test]
async fn pacing_not_saved_or_unreachable_is_not_sent() {
    let mock = Mock::always(Reply::ok(
        json!({"delaySendMessagesMilliseconds": 5000, "saveSettings": false}),
    ))
    .await;
    let e = client(&mock.url)
        .pace(std::time::Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::NotSent(_)), "{e:?}");
    assert_no_token(&e);
    let e = client(&refusing_url().await)
        .pace(std::time::Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::NotSent(_)), "{e:?}");
    assert_no_token(&e);
}

// ---- SendMessage ---------------------------------------------------------------------------

/// green-api.com/v3/docs/api/sending/SendMessage: `{"chatId": "10000000", "message": …}` →
/// `{"idMessage": "2712345112345"}`.
#[tokio::test]
async fn send_text_posts_the_chat_id_and_text_and_returns_the_id_message() {
    let mock = Mock::always(Reply::ok(json!({"idMessage": "2712345112345"}))).await;
    let id = client(&mock.url)
        .send_text("10000000", "Здравствуйте! Оцените заказ от 1 до 5 🙂")
        .await
        .unwrap();
    assert_eq!(id, "2712345112345");
    let r = mock.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, path("sendMessage"));
    assert!(r
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(
        r.json(),
        json!({"chatId": "10000000", "message": "Здравствуйте! Оцените заказ от 1 до 5 🙂"})
    );
}

#[tokio::test]
async fn an_api_url_that_already_ends_in_v3_is_not_doubled() {
    let mock = Mock::always(Reply::ok(json!({"idMessage": "1"}))).await;
    client(&format!("{}/v3/", mock.url))
        .send_text("10000000", "x")
        .await
        .unwrap();
    assert_eq!(mock.last().path, path("sendMessage"));
}

/// green-api.com/v3/docs/api/chat-id: personal chats are positive numbers ("10000000"), groups
/// negative ("-10000000000000"); the WhatsApp form "7999…@c.us" is not a MAX chat id.
#[tokio::test]
async fn send_text_refuses_what_is_not_a_personal_chat_without_calling() {
    let mock = Mock::always(Reply::ok(json!({"idMessage": "1"}))).await;
    let max = client(&mock.url);
    for chat in ["", "-10000000000000", "79991234567@c.us", "10000000 "] {
        let e = max.send_text(chat, "x").await.unwrap_err();
        assert!(matches!(e, SendError::NotSent(_)), "{chat:?}: {e}");
    }
    let long = "я".repeat(MAX_TEXT_CHARS + 1);
    assert!(matches!(
        max.send_text("10000000", &long).await,
        Err(SendError::NotSent(_))
    ));
    assert!(mock.requests().is_empty(), "nothing may reach the provider");
}

/// green-api.com/v3/docs/api/common-errors and the SendMessage page: 400 validation, 401 bad
/// token, 403 "Your account is suspended" (GetStateInstance page), 429 too many requests: the
/// provider took nothing. 5xx, or a 200 we cannot read: it may have sent.
#[tokio::test]
async fn send_errors_say_whether_the_message_may_have_gone() {
    for (reply, not_sent) in [
        (
            Reply::json(
                400,
                json!({"code": 400, "message": "Validation failed", "description": "'chatId' is required"}),
            ),
            true,
        ),
        (Reply::text(401, ""), true),
        (
            Reply::json(
                403,
                json!({"code": 403, "message": "Your account is suspended"}),
            ),
            true,
        ),
        (Reply::text(429, "Too Many Requests"), true),
        (Reply::text(503, "Service Unavailable"), true),
        (Reply::text(500, "Internal Server Error"), false),
        (Reply::text(502, "Bad Gateway"), false),
        (Reply::text(200, "<html>ok</html>"), false),
        (Reply::ok(json!({})), false),
        (Reply::ok(json!({"idMessage": ""})), false),
    ] {
        let mock = Mock::always(reply.clone()).await;
        let e = client(&mock.url)
            .send_text("10000000", "x")
            .await
            .unwrap_err();
        assert_eq!(
            matches!(e, SendError::NotSent(_)),
            not_sent,
            "{reply:?} → {e}"
        );
        assert!(matches!(e, SendError::NotSent(_) | SendError::Unknown(_)));
        assert_no_token(&e);
    }
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_names_no_token() {
    let e = client(&refusing_url().await)
        .send_text("10000000", "x")
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::NotSent(_)), "{e}");
    assert_no_token(&e);
}

// ---- CheckAccount --------------------------------------------------------------------------

/// green-api.com/v3/docs/api/service/CheckAccount: `{"phoneNumber": 79991234567}` (an integer) →
/// `{"exist": true, "chatId": "11111111"}` or `{"exist": false, "chatId": ""}`.
#[tokio::test]
async fn check_account_posts_the_number_as_an_integer_and_reads_exist_and_chat_id() {
    let mock = Mock::always(Reply::ok(json!({"exist": true, "chatId": "11111111"}))).await;
    let got = client(&mock.url)
        .check_account(&phone("+7 999 123-45-67"))
        .await
        .unwrap();
    assert_eq!(
        got,
        MaxAccount::Exists {
            chat_id: "11111111".into()
        }
    );
    let r = mock.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, path("checkAccount"));
    assert_eq!(r.json(), json!({"phoneNumber": 79991234567u64}));
    assert!(r.json()["phoneNumber"].is_u64(), "a number, not a string");

    let mock = Mock::always(Reply::ok(json!({"exist": false, "chatId": ""}))).await;
    assert_eq!(
        client(&mock.url)
            .check_account(&phone("+79991234567"))
            .await
            .unwrap(),
        MaxAccount::Missing
    );
}

/// CheckAccount: "only numbers of Russia and Belarus, codes 7 and 375".
#[tokio::test]
async fn only_russian_and_belarusian_numbers_are_checked() {
    let mock = Mock::always(Reply::ok(json!({"exist": true, "chatId": "22222222"}))).await;
    let max = client(&mock.url);
    assert!(matches!(
        max.check_account(&phone("+375 29 123-45-67"))
            .await
            .unwrap(),
        MaxAccount::Exists { .. }
    ));
    assert_eq!(mock.last().json(), json!({"phoneNumber": 375291234567u64}));
    let asked = mock.requests().len();
    for other in ["+49 1512 3456789", "+998 90 123 45 67", "+380 50 123 4567"] {
        assert_eq!(
            max.check_account(&phone(other)).await.unwrap(),
            MaxAccount::NotCheckable,
            "{other}"
        );
    }
    assert_eq!(mock.requests().len(), asked, "nobody was asked about them");
}

/// A failed check sent nothing to anyone: always `NotSent`, even a 5xx. An unauthorized
/// instance answers `{"status": false, "reason": …}` without `exist`.
#[tokio::test]
async fn a_failed_check_is_always_not_sent() {
    for reply in [
        Reply::text(500, "Internal Server Error"),
        Reply::json(400, json!({"code": 400, "message": "Validation failed"})),
        Reply::ok(json!({"status": false, "reason": "instance not authorized"})),
        Reply::ok(json!({"exist": true, "chatId": ""})),
        Reply::text(200, "not json"),
    ] {
        let mock = Mock::always(reply.clone()).await;
        let e = client(&mock.url)
            .check_account(&phone("+79991234567"))
            .await
            .unwrap_err();
        assert!(matches!(e, SendError::NotSent(_)), "{reply:?} → {e}");
        assert_no_token(&e);
    }
}

// ---- GetStateInstance ----------------------------------------------------------------------

/// green-api.com/v3/docs/api/account/GetStateInstance: GET → `{"stateInstance": "authorized"}`;
/// the states are notAuthorized, authorized, blocked, starting, suspended.
#[tokio::test]
async fn state_reads_every_documented_state() {
    for (raw, state) in [
        ("authorized", MaxState::Authorized),
        ("notAuthorized", MaxState::NotAuthorized),
        ("blocked", MaxState::Blocked),
        ("starting", MaxState::Starting),
        ("suspended", MaxState::Suspended),
        ("pendingPassword", MaxState::Other("pendingPassword".into())),
    ] {
        let mock = Mock::always(Reply::ok(json!({"stateInstance": raw}))).await;
        let got = client(&mock.url).state().await.unwrap();
        assert_eq!(got, state);
        assert_eq!(got.as_str(), raw);
        let r = mock.last();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, path("getStateInstance"));
    }
    let mock = Mock::always(Reply::text(500, "")).await;
    assert!(matches!(
        client(&mock.url).state().await,
        Err(SendError::NotSent(_))
    ));
}

#[test]
fn the_client_comes_from_max_and_its_token() {
    let example = include_str!("../../../otklik.example.toml");
    let text = format!(
        "{example}\n[max]\napi_url = \"https://3100.api.green-api.com\"\ninstance_id = \"{INSTANCE}\"\n"
    );
    let config = Config::from_toml(&text).unwrap();
    let secrets = Secrets::load(&config, |k| {
        Some(match k {
            "OTKLIK_LINK_SECRET" => "l".repeat(40),
            "OTKLIK_CONTACT_KEY" => "k".repeat(40),
            "OTKLIK_SMS_CALLBACK_SECRET" => "c".repeat(32),
            "OTKLIK_MAX_TOKEN" => TOKEN.to_string(),
            _ => "x".to_string(),
        })
    })
    .unwrap();
    let built = MaxClient::from_config(&config, &secrets).expect("[max] is configured");
    assert!(!format!("{built:?}").contains(TOKEN));
    let plain = Config::from_toml(example).unwrap();
    assert!(MaxClient::from_config(&plain, &secrets).is_none());
}

// ---- notifications -------------------------------------------------------------------------

const CUSTOMER: &str = "+79991112233";
const WEBHOOK_TOKEN: &str = "hook-token";

/// The v3 envelope of an incoming message (green-api.com/v3/docs/api/receiving/
/// notifications-format/incoming-message/Webhook-IncomingMessageReceived; values from the v3
/// reaction example of the same docs).
fn incoming(message_data: &str) -> Vec<u8> {
    incoming_from("10000000", "79991112233", message_data)
}

fn incoming_from(chat: &str, sender_phone: &str, message_data: &str) -> Vec<u8> {
    format!(
        r#"{{
            "typeWebhook": "incomingMessageReceived",
            "instanceData": {{"idInstance": 3100000000, "wid": "79991234567@c.us", "typeInstance": "v3"}},
            "timestamp": 1705895506,
            "idMessage": "2755232962562",
            "senderData": {{
                "chatId": "{chat}",
                "sender": "{chat}",
                "chatName": "Ходабрыш Пробешёлов",
                "senderName": "Ходабрыш Пробешёлов",
                "senderContactName": "Ходабрыш Пробешёлов",
                "senderPhoneNumber": {sender_phone}
            }},
            "messageData": {message_data}
        }}"#
    )
    .into_bytes()
}

/// green-api.com/v3/docs/api/receiving/notifications-format/statuses/OutgoingMessageStatus.
fn status_body(status: &str) -> Vec<u8> {
    format!(
        r#"{{
            "typeWebhook": "outgoingMessageStatus",
            "chatId": "10000000",
            "instanceData": {{"idInstance": 3100000000, "wid": "79991234567@c.us", "typeInstance": "v3"}},
            "timestamp": 1705901090,
            "idMessage": "2712345112345",
            "status": "{status}",
            "description": "",
            "sendByApi": true
        }}"#
    )
    .into_bytes()
}

fn one(body: &[u8]) -> Inbound {
    let mut got = parse_max(body, "RU").expect("parses");
    assert_eq!(got.len(), 1, "{got:?}");
    got.remove(0)
}

fn expect_message(item: Inbound, event: Event, context: Option<&str>) {
    assert_eq!(
        item,
        Inbound::Message {
            from: phone(CUSTOMER),
            id: InputId::new("max:10000000/2755232962562").unwrap(),
            event,
            context_message_id: context.map(str::to_string),
            chat_id: Some("10000000".into()),
            user_id: None,
            edits: None,
        }
    );
}

fn text(s: &str) -> Event {
    Event::Text {
        text: s.into(),
        via: Channel::Max,
    }
}

/// v3 …/incoming-message/TextMessage: `messageData.textMessageData.textMessage`.
#[test]
fn a_text_message_comes_from_the_sender_phone_via_max() {
    let item = one(&incoming(
        r#"{"typeMessage": "textMessage", "textMessageData": {"textMessage": "5, всё отлично"}}"#,
    ));
    expect_message(item, text("5, всё отлично"), None);
}

/// v3 …/incoming-message/TextMessage, a quote: `quotedMessage.stanzaId` is our message.
#[test]
fn a_quoted_reply_keeps_the_id_of_our_message() {
    let item = one(&incoming(
        r#"{"typeMessage": "textMessage",
            "textMessageData": {"textMessage": "4", "isForwarded": false, "forwardingScore": 0},
            "quotedMessage": {"stanzaId": "2712345112345", "participant": "10000001", "typeMessage": "textMessage", "textMessage": "Оцените заказ"}}"#,
    ));
    expect_message(item, text("4"), Some("2712345112345"));
}

/// v3 …/incoming-message/ExtendedTextMessage: `messageData.extendedTextMessageData.text`.
#[test]
fn an_extended_text_message_is_text() {
    let item = one(&incoming(
        r#"{"typeMessage": "extendedTextMessage",
            "extendedTextMessageData": {"text": "3 https://example.ru/x", "description": "", "title": "", "previewType": "None", "jpegThumbnail": "", "forwardingScore": 0, "isForwarded": false}}"#,
    ));
    expect_message(item, text("3 https://example.ru/x"), None);
}

/// The older `quotedMessage` type (…/incoming-message/QuotedMessage): the quoted id sits in
/// `extendedTextMessageData.stanzaId`.
#[test]
fn the_older_quoted_message_type_is_read_too() {
    let item = one(&incoming(
        r#"{"typeMessage": "quotedMessage",
            "extendedTextMessageData": {"text": "2", "stanzaId": "2712345112345", "participant": "10000001"}}"#,
    ));
    expect_message(item, text("2"), Some("2712345112345"));
}

/// v3 …/incoming-message/ReactionMessage, its own example: 👍 on message 115144403609924049.
#[test]
fn a_reaction_is_a_choice_on_the_message_it_reacts_to() {
    let item = one(&incoming(
        r#"{"typeMessage": "reactionMessage",
            "extendedTextMessageData": {"text": "👍"},
            "quotedMessage": {"stanzaId": "115144403609924049", "participant": "10000001"}}"#,
    ));
    expect_message(
        item,
        Event::Choice {
            reply: parse_reaction("👍"),
            via: Channel::Max,
        },
        Some("115144403609924049"),
    );
    // A removed reaction (empty text) says nothing new.
    let removed = incoming(
        r#"{"typeMessage": "reactionMessage", "extendedTextMessageData": {"text": ""}, "quotedMessage": {"stanzaId": "1", "participant": "2"}}"#,
    );
    assert_eq!(parse_max(&removed, "RU").unwrap(), vec![]);
}

/// v3 …/incoming-message/ImageMessage: media reach the inspector as a placeholder.
#[test]
fn media_become_a_placeholder() {
    let item = one(&incoming(
        r#"{"typeMessage": "imageMessage", "fileMessageData": {"downloadUrl": "https://x", "caption": "вот", "fileName": "a.jpg", "jpegThumbnail": "", "mimeType": "image/jpeg", "isForwarded": false, "forwardingScore": 0}}"#,
    ));
    expect_message(item, text("[image] вот"), None);
}

/// Webhook-IncomingMessageReceived: `senderPhoneNumber` is 0 when the number is hidden or the
/// chat is a group; group chat ids are negative (api/chat-id). A group is not a customer:
/// skipped. A person whose number is hidden or not even a possible number cannot be routed by
/// it: kept as unusable (issue 18), never dropped silently.
#[test]
fn groups_are_skipped_and_unroutable_senders_kept() {
    let data = r#"{"typeMessage": "textMessage", "textMessageData": {"textMessage": "5"}}"#;
    assert_eq!(
        parse_max(&incoming_from("-10000000000000", "79991112233", data), "RU").unwrap(),
        vec![]
    );
    for body in [
        incoming_from("10000000", "0", data),
        incoming_from("10000000", "12", data),
    ] {
        assert!(matches!(
            &parse_max(&body, "RU").unwrap()[..],
            [Inbound::Unusable { provider, reason, .. }]
                if provider == "max" && reason.contains("cannot be routed")
        ));
    }
    let group_type = String::from_utf8(incoming(data)).unwrap().replace(
        r#""sender": "10000000","#,
        r#""sender": "10000000", "chatType": "group","#,
    );
    assert_eq!(parse_max(group_type.as_bytes(), "RU").unwrap(), vec![]);
    let user_type = String::from_utf8(incoming(data)).unwrap().replace(
        r#""sender": "10000000","#,
        r#""sender": "10000000", "chatType": "user","#,
    );
    assert_eq!(parse_max(user_type.as_bytes(), "RU").unwrap().len(), 1);
    // A phone given as a string is the same phone.
    let as_string = incoming_from("10000000", r#""79991112233""#, data);
    expect_message(one(&as_string), text("5"), None);
    // A possible number the phone library does not know (+7 600…) is routed by its digits, the
    // chatId riding along as for any sender (issue 18, item 3).
    match one(&incoming_from("10000000", "76001234567", data)) {
        Inbound::Message { from, chat_id, .. } => {
            assert_eq!(from.digits(), "76001234567");
            assert!(!from.is_validated());
            assert_eq!(chat_id.as_deref(), Some("10000000"));
        }
        other => panic!("{other:?}"),
    }
}

/// OutgoingMessageStatus: delivered, read, failed (and GREEN-API's sent, noAccount…).
#[test]
fn statuses_of_our_messages_are_via_max() {
    for (raw, status, reason) in [
        ("sent", DeliveryStatus::Sent, None),
        ("delivered", DeliveryStatus::Delivered, None),
        ("read", DeliveryStatus::Read, None),
        ("failed", DeliveryStatus::Failed, Some("failed")),
        ("noAccount", DeliveryStatus::Failed, Some("noAccount")),
        ("notInGroup", DeliveryStatus::Failed, Some("notInGroup")),
        (
            "noActiveSession",
            DeliveryStatus::Failed,
            Some("noActiveSession"),
        ),
    ] {
        let mut got = parse_max(&status_body(raw), "RU").expect("parses");
        // A failure also reports the provider's error (counted by the webhook, never queued).
        if status == DeliveryStatus::Failed {
            assert_eq!(
                got.pop(),
                Some(Inbound::ProviderError {
                    provider: "max".into(),
                    code: raw.into(),
                    detail: None,
                }),
                "{raw}"
            );
        }
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got.remove(0),
            Inbound::Status {
                message_id: "2712345112345".into(),
                id: InputId::new(format!("max:2712345112345:{raw}")).unwrap(),
                status,
                reason: reason.map(str::to_string),
                via: Channel::Max,
                recipient_user_id: None,
            }
        );
    }
    assert_eq!(
        parse_max(&status_body("noAccount"), "RU").unwrap()[0].status_event(),
        Some(Event::DeliveryFailed {
            channel: Channel::Max,
            reason: "noAccount".into()
        })
    );
    assert_eq!(
        one(&status_body("read")).status_event(),
        Some(Event::Delivered)
    );
    assert_eq!(parse_max(&status_body("pending"), "RU").unwrap(), vec![]);
}

/// Webhook-IncomingMessageReceived: typeInstance is "v3" for MAX, "whatsapp" for WhatsApp.
#[test]
fn a_whatsapp_instance_notification_is_refused() {
    let data = r#"{"typeMessage": "textMessage", "textMessageData": {"textMessage": "5"}}"#;
    let whatsapp = String::from_utf8(incoming(data))
        .unwrap()
        .replace(r#""typeInstance": "v3""#, r#""typeInstance": "whatsapp""#);
    assert!(matches!(
        parse_max(whatsapp.as_bytes(), "RU"),
        Err(InboundError::Malformed(m)) if m.contains("typeInstance")
    ));
    let none = String::from_utf8(status_body("read"))
        .unwrap()
        .replace(r#""typeInstance": "v3""#, r#""typeInstanceX": "v3""#);
    assert!(matches!(
        parse_max(none.as_bytes(), "RU"),
        Err(InboundError::Malformed(_))
    ));
}

#[test]
fn shape_errors_name_the_field_and_other_notifications_give_nothing() {
    // An authentic notification we cannot use is kept for inspection, never refused (GREEN-API
    // would retry it).
    let unusable = |body: &[u8]| match &parse_max(body, "RU").unwrap()[..] {
        [Inbound::Unusable {
            provider, reason, ..
        }] if provider == "max" => reason.clone(),
        other => panic!("{other:?}"),
    };
    let no_text = incoming(r#"{"typeMessage": "textMessage"}"#);
    assert!(unusable(&no_text).contains("textMessageData.textMessage"));
    let no_id = String::from_utf8(status_body("read"))
        .unwrap()
        .replace(r#""idMessage": "2712345112345","#, "");
    assert!(unusable(no_id.as_bytes()).contains("idMessage"));
    assert!(matches!(
        parse_max(br#"{"idMessage": "1"}"#, "RU"),
        Err(InboundError::Malformed(m)) if m == "no typeWebhook"
    ));
    let ours = String::from_utf8(incoming(
        r#"{"typeMessage": "textMessage", "textMessageData": {"textMessage": "Оцените заказ"}}"#,
    ))
    .unwrap()
    .replace("incomingMessageReceived", "outgoingAPIMessageReceived");
    assert_eq!(parse_max(ours.as_bytes(), "RU").unwrap(), vec![]);
    assert!(matches!(
        parse_max(b"not json", "RU"),
        Err(InboundError::Malformed(_))
    ));
}

/// stateInstanceChanged (as for WhatsApp, with typeInstance "v3"): the state, for the alarm.
#[test]
fn the_instance_state_notification_gives_the_state() {
    let body = |state: &str| {
        format!(
            r#"{{"typeWebhook": "stateInstanceChanged", "instanceData": {{"idInstance": 3100000000, "wid": "79991234567@c.us", "typeInstance": "v3"}}, "timestamp": 1705901090, "stateInstance": "{state}"}}"#
        )
    };
    for (raw, state) in [
        ("blocked", MaxState::Blocked),
        ("suspended", MaxState::Suspended),
        ("notAuthorized", MaxState::NotAuthorized),
        ("authorized", MaxState::Authorized),
    ] {
        assert_eq!(
            max_instance_state(body(raw).as_bytes()).unwrap(),
            Some(state)
        );
        assert_eq!(parse_max(body(raw).as_bytes(), "RU").unwrap(), vec![]);
    }
    assert_eq!(max_instance_state(&status_body("read")).unwrap(), None);
}

/// The MAX route authenticates like the WhatsApp GREEN-API one: `Authorization: Bearer <token>`.
#[test]
fn the_max_webhook_token_is_a_bearer_token() {
    assert_eq!(
        verify_bearer(WEBHOOK_TOKEN, Some("Bearer hook-token")),
        Ok(())
    );
    assert_eq!(
        verify_bearer(WEBHOOK_TOKEN, Some("Bearer other")),
        Err(InboundError::BadToken)
    );
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_max(&body, "RU");
            let _ = max_instance_state(&body);
        }

        #[test]
        fn arbitrary_field_values_never_panic(
            chat in ".{0,20}",
            phone in prop::sample::select(vec!["0", "79991112233", "-1", "1e3", "\"x\"", "null", "99999999999999999999"]),
            kind in prop::sample::select(vec!["textMessage", "reactionMessage", "quotedMessage", "imageMessage", "", "??"]),
            value in ".{0,40}",
        ) {
            let v = serde_json::to_string(&value).unwrap();
            let chat = serde_json::to_string(&chat).unwrap();
            let data = format!(r#"{{"typeMessage": "{kind}", "textMessageData": {{"textMessage": {v}}}, "extendedTextMessageData": {{"text": {v}, "stanzaId": {v}}}, "quotedMessage": {{"stanzaId": {v}}}}}"#);
            let _ = parse_max(&incoming_from(&chat[1..chat.len() - 1], phone, &data), "RU");
            let _ = parse_max(&status_body(&value.replace(['"', '\\'], "")), "RU");
        }
    }
}
