//! The webhook handler's unit tests: authentication, parsing and what each answer says.

use super::*;
use otklik_core::ports::{PortError, PortResult};
use std::sync::Mutex;

/// The queue as the handler sees it: what was sent, or a failure from the n-th send on.
#[derive(Default)]
struct Sent {
    bodies: Mutex<Vec<String>>,
    fail_from: Option<usize>,
}

impl Queue for Sent {
    async fn send(&self, body: &str) -> PortResult<()> {
        let mut bodies = self.bodies.lock().unwrap();
        if self.fail_from.is_some_and(|n| bodies.len() >= n) {
            return Err(PortError::Transient("queue unavailable".into()));
        }
        bodies.push(body.to_string());
        Ok(())
    }
}

const APP_SECRET: &str = "app-secret";

/// Metrics are captured process-wide: the tests that look at them take turns.
async fn capturing() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

fn app(fail_from: Option<usize>) -> ProviderWebhooks<Sent> {
    ProviderWebhooks {
        queue: Sent {
            fail_from,
            ..Default::default()
        },
        secrets: WebhookSecrets {
            meta_app_secret: Some(APP_SECRET.into()),
            ..Default::default()
        },
        installation: Default::default(),
        default_region: "RU".into(),
    }
}

/// A Meta webhook with one customer's "5" and two statuses of our question, `sent` and
/// `delivered`.
fn body() -> Vec<u8> {
    let value = serde_json::json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "79990000000", "phone_number_id": "1065"},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": "79001234567"}],
        "messages": [{"from": "79001234567", "id": "wamid.A", "timestamp": "1717000000",
            "type": "text", "text": {"body": "5"}}],
        "statuses": [
            {"id": "wamid.Q", "status": "sent", "timestamp": "1717000001",
                "recipient_id": "79001234567"},
            {"id": "wamid.Q", "status": "delivered", "timestamp": "1717000002",
                "recipient_id": "79001234567"}
        ]
    });
    serde_json::json!({"object": "whatsapp_business_account",
        "entry": [{"id": "1022", "changes": [{"value": value, "field": "messages"}]}]})
    .to_string()
    .into_bytes()
}

fn post(body: &[u8], signature: Option<String>) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://api.example/webhooks/whatsapp/meta");
    if let Some(s) = signature {
        b = b.header("x-hub-signature-256", s);
    }
    b.body(Body::Binary(body.to_vec())).unwrap()
}

fn signed(body: &[u8]) -> Option<String> {
    Some(otklik_whatsapp_sim::meta_signature(
        APP_SECRET.as_bytes(),
        body,
    ))
}

fn status_and_json(r: Response<Body>) -> (u16, serde_json::Value) {
    let text = match r.body() {
        Body::Text(t) => t.clone(),
        other => panic!("a JSON body, got {other:?}"),
    };
    (r.status().as_u16(), serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_signed_webhook_is_queued_item_by_item_before_the_200() {
    let app = app(None);
    let body = body();
    let (status, answer) = status_and_json(app.handle(post(&body, signed(&body))).await);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["items"], 3);
    assert_eq!(answer["queued"], 2);
    let queued: Vec<Inbound> = app
        .queue
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let parsed = parse_meta(&body, "RU").unwrap();
    // The message and the `delivered` status, as parsed, in the webhook's order; the `sent`
    // status changes nothing and is not queued.
    let expected: Vec<Inbound> = parsed.into_iter().filter(worth_queueing).collect();
    assert_eq!(queued, expected);
    assert!(matches!(queued[0], Inbound::Message { .. }));
    assert!(matches!(queued[1], Inbound::Status { .. }));
}

#[tokio::test]
async fn a_queue_failure_asks_the_provider_to_retry() {
    let app = app(Some(1));
    let body = body();
    let (status, answer) = status_and_json(app.handle(post(&body, signed(&body))).await);
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "unavailable", "{answer}");
}

#[tokio::test]
async fn an_unsigned_or_forged_webhook_queues_nothing() {
    let app = app(None);
    let body = body();
    for signature in [
        None,
        Some(otklik_whatsapp_sim::meta_signature(b"someone-else", &body)),
    ] {
        let (status, _) = status_and_json(app.handle(post(&body, signature)).await);
        assert_eq!(status, 401);
    }
    assert!(app.queue.bodies.lock().unwrap().is_empty());
}

// ---- MAX (GREEN-API v3) ------------------------------------------------------------------------

const MAX_TOKEN: &str = "max-webhook-token";
const SMS_SECRET: &str = "cb-secret-0123456789abcdefghij";

fn app_with_max_and_sms() -> ProviderWebhooks<Sent> {
    ProviderWebhooks {
        queue: Sent::default(),
        secrets: WebhookSecrets {
            max_webhook_token: Some(MAX_TOKEN.into()),
            sms_callback_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        },
        installation: Default::default(),
        default_region: "RU".into(),
    }
}

fn request(uri: &str, auth: Option<&str>, content_type: &str, body: &[u8]) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", content_type);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(Body::Binary(body.to_vec())).unwrap()
}

fn max_post(body: &[u8], auth: Option<&str>) -> Request {
    request(
        "https://api.example/webhooks/max",
        auth,
        "application/json",
        body,
    )
}

fn queued(app: &ProviderWebhooks<Sent>) -> Vec<Inbound> {
    app.queue
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect()
}

/// green-api.com/v3/docs/api/receiving/notifications-format/incoming-message/Webhook-IncomingMessageReceived
/// (the v3 example: numeric `chatId` as text, `senderPhoneNumber` a number, typeInstance "v3").
fn max_incoming(text: &str) -> Vec<u8> {
    serde_json::json!({
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": 3100000000u64, "wid": "79991234567@c.us", "typeInstance": "v3"},
        "timestamp": 1705895506,
        "idMessage": "2755232962562",
        "senderData": {
            "chatId": "10000000",
            "sender": "10000000",
            "chatName": "Ходабрыш Пробешёлов",
            "senderName": "Ходабрыш Пробешёлов",
            "senderContactName": "Ходабрыш Пробешёлов",
            "senderPhoneNumber": 79991112233u64
        },
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}
    })
    .to_string()
    .into_bytes()
}

/// green-api.com/v3/docs/api/receiving/notifications-format/statuses/OutgoingMessageStatus.
fn max_status(status: &str) -> Vec<u8> {
    serde_json::json!({
        "typeWebhook": "outgoingMessageStatus",
        "chatId": "10000000",
        "instanceData": {"idInstance": 3100000000u64, "wid": "79991234567@c.us", "typeInstance": "v3"},
        "timestamp": 1705901090,
        "idMessage": "2712345112345",
        "status": status,
        "description": "",
        "sendByApi": true
    })
    .to_string()
    .into_bytes()
}

/// green-api.com/v3/docs/api/receiving/notifications-format/StateInstanceChanged.
fn max_state(state: &str) -> Vec<u8> {
    serde_json::json!({
        "typeWebhook": "stateInstanceChanged",
        "instanceData": {"idInstance": 3100000000u64, "wid": "79991234567@c.us", "typeInstance": "v3"},
        "timestamp": 1705901090,
        "stateInstance": state
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_max_webhook_with_the_token_is_queued_as_max() {
    let app = app_with_max_and_sms();
    let bearer = format!("Bearer {MAX_TOKEN}");
    let (status, answer) = status_and_json(
        app.handle(max_post(&max_incoming("5"), Some(&bearer)))
            .await,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["items"].clone(), answer["queued"].clone()),
        (1.into(), 1.into())
    );
    let (status, answer) = status_and_json(
        app.handle(max_post(&max_status("noAccount"), Some(&bearer)))
            .await,
    );
    assert_eq!(status, 200, "{answer}");
    let got = queued(&app);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], parse_max(&max_incoming("5"), "RU").unwrap()[0]);
    match &got[0] {
        Inbound::Message { event, chat_id, .. } => {
            assert_eq!(chat_id.as_deref(), Some("10000000"));
            assert!(
                matches!(event, otklik_core::machine::Event::Text { via, .. } | otklik_core::machine::Event::Choice { via, .. } if *via == otklik_core::model::Channel::Max),
                "{event:?}"
            );
        }
        other => panic!("a message, got {other:?}"),
    }
    assert_eq!(
        got[1].status_event(),
        Some(otklik_core::machine::Event::DeliveryFailed {
            channel: otklik_core::model::Channel::Max,
            reason: "noAccount".into()
        })
    );
}

#[tokio::test]
async fn a_max_webhook_without_or_with_a_wrong_token_queues_nothing() {
    let app = app_with_max_and_sms();
    for auth in [
        None,
        Some("Bearer someone-else"),
        // The WhatsApp instance's token is not the MAX one.
        Some("Basic bWF4LXdlYmhvb2stdG9rZW4="),
    ] {
        let (status, answer) =
            status_and_json(app.handle(max_post(&max_incoming("5"), auth)).await);
        assert_eq!(status, 401, "{auth:?}: {answer}");
        assert_eq!(answer["error"], "bad_token");
    }
    // Unconfigured: refused, never accepted unauthenticated.
    let bare = super::tests::app(None);
    let (status, _) = status_and_json(
        bare.handle(max_post(&max_incoming("5"), Some("Bearer ")))
            .await,
    );
    assert_eq!(status, 401);
    assert!(app.queue.bodies.lock().unwrap().is_empty());
    assert!(bare.queue.bodies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn what_is_not_a_max_webhook_is_a_400() {
    let app = app_with_max_and_sms();
    let bearer = format!("Bearer {MAX_TOKEN}");
    // A WhatsApp instance's notification (typeInstance "whatsapp") on the MAX route, then no JSON.
    let whatsapp = String::from_utf8(max_incoming("5"))
        .unwrap()
        .replace("\"v3\"", "\"whatsapp\"");
    for body in [
        whatsapp.as_bytes(),
        b"not json".as_slice(),
        b"{}".as_slice(),
    ] {
        let (status, answer) = status_and_json(app.handle(max_post(body, Some(&bearer))).await);
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"], "malformed");
    }
    assert!(app.queue.bodies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_max_instance_that_cannot_send_is_counted_and_nothing_is_queued() {
    let _one_at_a_time = capturing().await;
    let capture = otklik_metrics::Capture::start();
    let app = app_with_max_and_sms();
    let bearer = format!("Bearer {MAX_TOKEN}");
    for state in [
        "blocked",
        "authorized",
        "starting",
        "suspended",
        "notAuthorized",
    ] {
        let (status, answer) =
            status_and_json(app.handle(max_post(&max_state(state), Some(&bearer))).await);
        assert_eq!(status, 200, "{state}: {answer}");
        assert_eq!(answer["queued"], 0);
    }
    for (state, n) in [
        ("blocked", 1.0),
        ("suspended", 1.0),
        ("notAuthorized", 1.0),
        ("authorized", 0.0),
        ("starting", 0.0),
    ] {
        assert_eq!(
            capture.sum("MaxInstanceDown", &[("State", state)]),
            n,
            "{state}"
        );
    }
    assert!(app.queue.bodies.lock().unwrap().is_empty());
}

// ---- SMS.ru delivery callbacks -----------------------------------------------------------------

/// sms.ru/api/callback: a form POST of `data[N]` entries, each `sms_status\n<sms_id>\n<code>\n<time>`
/// (103 delivered, 104–108/150 failed), with SMS.ru's `hash`.
fn sms_callback(entries: &[(&str, i64)]) -> Vec<u8> {
    let mut form: Vec<(String, String)> = entries
        .iter()
        .enumerate()
        .map(|(i, (id, code))| {
            (
                format!("data[{i}]"),
                format!("sms_status\n{id}\n{code}\n1717000000"),
            )
        })
        .collect();
    form.push(("hash".into(), "0".repeat(64)));
    serde_urlencoded::to_string(form).unwrap().into_bytes()
}

fn sms_post(secret: &str, body: &[u8]) -> Request {
    request(
        &format!("https://api.example/webhooks/sms/{secret}"),
        None,
        "application/x-www-form-urlencoded",
        body,
    )
}

fn status_and_text(r: Response<Body>) -> (u16, String) {
    let text = match r.body() {
        Body::Text(t) => t.clone(),
        other => panic!("a text body, got {other:?}"),
    };
    (r.status().as_u16(), text)
}

#[tokio::test]
async fn an_sms_callback_is_queued_and_answered_100() {
    let app = app_with_max_and_sms();
    let body = sms_callback(&[("000000-10000001", 103), ("000000-10000002", 106)]);
    let response = app.handle(sms_post(SMS_SECRET, &body)).await;
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let (status, text) = status_and_text(response);
    assert_eq!((status, text.as_str()), (200, "100"));
    let got = queued(&app);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0].status_event(),
        Some(otklik_core::machine::Event::Delivered)
    );
    assert_eq!(
        got[1].status_event(),
        Some(otklik_core::machine::Event::DeliveryFailed {
            channel: otklik_core::model::Channel::Sms,
            reason: "smsru:106".into()
        })
    );
    assert!(
        matches!(&got[1], Inbound::Status { message_id, .. } if message_id == "000000-10000002")
    );
    // SMS.ru checks the handler with an empty form: nothing to queue, still `100`.
    let (status, text) = status_and_text(app.handle(sms_post(SMS_SECRET, b"")).await);
    assert_eq!((status, text.as_str()), (200, "100"));
    assert_eq!(queued(&app).len(), 2);
}

/// Issue 18: an authentic SMS.ru callback with one `data[]` entry we cannot read is taken whole —
/// `100`, so SMS.ru stops sending it again — with the good entries queued as statuses and the bad
/// one as an unusable item of SMS.ru's, which the worker counts and keeps.
#[tokio::test]
async fn an_sms_callback_with_one_bad_entry_queues_the_others_and_keeps_it() {
    let app = app_with_max_and_sms();
    let form: Vec<(String, String)> = vec![
        (
            "data[0]".into(),
            "sms_status\n000000-10000001\n103\n1717000000".into(),
        ),
        (
            "data[1]".into(),
            "sms_status\n000000-10000002\nok\n1717000000".into(),
        ),
        (
            "data[2]".into(),
            "sms_status\n000000-10000003\n106\n1717000000".into(),
        ),
        ("hash".into(), "0".repeat(64)),
    ];
    let body = serde_urlencoded::to_string(form).unwrap().into_bytes();
    let (status, text) = status_and_text(app.handle(sms_post(SMS_SECRET, &body)).await);
    assert_eq!((status, text.as_str()), (200, "100"));
    let got = queued(&app);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        matches!(&got[0], Inbound::Status { message_id, .. } if message_id == "000000-10000001")
    );
    assert!(matches!(
        &got[1],
        Inbound::Unusable { provider, at, reason, .. }
            if provider == "smsru" && at == "data[1]" && reason == "status code not a number"
    ));
    assert!(
        matches!(&got[2], Inbound::Status { message_id, .. } if message_id == "000000-10000003")
    );
}

#[tokio::test]
async fn an_sms_callback_to_a_wrong_secret_or_unconfigured_is_refused() {
    let app = app_with_max_and_sms();
    let body = sms_callback(&[("000000-10000001", 103)]);
    let wrong = format!("{SMS_SECRET}x");
    for secret in [wrong.as_str(), "x", &SMS_SECRET[..SMS_SECRET.len() - 1]] {
        let (status, answer) = status_and_json(app.handle(sms_post(secret, &body)).await);
        assert_eq!(status, 401, "{answer}");
    }
    // The bare route (no secret) is no route at all.
    let (status, _) = status_and_json(app.handle(sms_post("", &body)).await);
    assert_eq!(status, 404);
    let bare = super::tests::app(None);
    let (status, _) = status_and_json(bare.handle(sms_post(SMS_SECRET, &body)).await);
    assert_eq!(status, 401);
    assert!(app.queue.bodies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_callback_of_one_bad_entry_is_kept_and_a_queue_failure_is_not_100() {
    // Its only entry unreadable: still taken (`100`, or SMS.ru sends it for ever), the entry kept.
    let app = app_with_max_and_sms();
    let bad = serde_urlencoded::to_string([("data[0]", "sms_status\nonly-an-id")]).unwrap();
    let (status, text) = status_and_text(app.handle(sms_post(SMS_SECRET, bad.as_bytes())).await);
    assert_eq!((status, text.as_str()), (200, "100"));
    assert!(matches!(
        &queued(&app)[..],
        [Inbound::Unusable { provider, .. }] if provider == "smsru"
    ));
    let failing = ProviderWebhooks {
        queue: Sent {
            fail_from: Some(0),
            ..Default::default()
        },
        ..app_with_max_and_sms()
    };
    let body = sms_callback(&[("000000-10000001", 103)]);
    let (status, answer) = status_and_json(failing.handle(sms_post(SMS_SECRET, &body)).await);
    assert_eq!(status, 503, "{answer}");
}

#[test]
fn paths_name_the_provider_and_never_swallow_a_longer_path() {
    assert_eq!(provider("/webhooks/max"), Some(Provider::Max));
    assert_eq!(provider("/prod/webhooks/max/"), Some(Provider::Max));
    assert_eq!(provider("/webhooks/sms/abc"), Some(Provider::SmsRu("abc")));
    assert_eq!(provider("/webhooks/sms/"), None);
    assert_eq!(provider("/webhooks/sms"), None);
    assert_eq!(provider("/webhooks/sms/a/b"), None);
    assert_eq!(
        provider("/webhooks/whatsapp/green-api"),
        Some(Provider::GreenApi)
    );
    assert_eq!(provider("/webhooks/other"), None);
}

// ---- one item we cannot use never sinks the others ---------------------------------------------

/// A Meta webhook whose `messages` and `statuses` are these JSON values, as Meta documents the
/// envelope (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages).
fn meta_webhook(messages: &[serde_json::Value], statuses: &[serde_json::Value]) -> Vec<u8> {
    let value = serde_json::json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": "79001234567"}],
        "messages": messages,
        "statuses": statuses,
    });
    serde_json::json!({"object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]})
    .to_string()
    .into_bytes()
}

fn text_message(i: usize, body: &str) -> serde_json::Value {
    serde_json::json!({"from": format!("7900123{:04}", i), "id": format!("wamid.M{i}"),
        "timestamp": "1749416383", "type": "text", "text": {"body": body}})
}

fn read_status(i: usize) -> serde_json::Value {
    serde_json::json!({"id": format!("wamid.S{i}"), "status": "read",
        "timestamp": "1749416383", "recipient_id": "79001234567"})
}

/// Posts a signed Meta webhook to a fresh handler: its status and what it queued.
async fn post_meta(body: &[u8]) -> (u16, serde_json::Value, Vec<Inbound>) {
    let app = app(None);
    let (status, answer) = status_and_json(app.handle(post(body, signed(body))).await);
    (status, answer, queued(&app))
}

/// The acceptance case of issue 18: a message without `from` — Meta omits the phone number of a
/// user who adopted a username and carries `from_user_id` instead ("Business-scoped user IDs",
/// developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/:
/// `from` and `wa_id` omitted when the phone number is unavailable) — next to a normal one. 200;
/// both queued: the normal message as it is, the other by its user id, with its place and raw
/// JSON for the worker to keep if no status of ours named that user id.
#[tokio::test]
async fn a_message_without_from_is_queued_by_its_user_id_and_the_other_goes_on() {
    let username = serde_json::json!({"from_user_id": "US.13491208655302741918",
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "timestamp": "1749416383", "type": "text", "text": {"body": "1"}});
    let body = meta_webhook(&[username, text_message(1, "5")], &[]);
    let (status, answer, queued) = post_meta(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["unusable"], 0, "{answer}");
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert!(
        matches!(&queued[0], Inbound::UserMessage { user_id, at, reason, raw, .. }
            if user_id == "US.13491208655302741918"
                && at == "entry[0].changes[0].value.messages[0]"
                && reason == "no from" && raw.contains("from_user_id")),
        "{:?}",
        queued[0]
    );
    assert!(
        matches!(&queued[1], Inbound::Message { id, event: otklik_core::machine::Event::Text { text, .. }, .. }
            if id.as_str() == "wamid.M1" && text == "5"),
        "{:?}",
        queued[1]
    );
}

/// A `sent` status changes no survey and is not queued, unless it names the recipient's user id
/// (`recipient_user_id`, same page): the worker learns from it where our message went.
#[tokio::test]
async fn a_sent_status_is_queued_only_when_it_names_the_user_id() {
    let statuses = [
        serde_json::json!({"id": "wamid.Q1", "status": "sent", "timestamp": "1750263773",
            "recipient_id": "79001234567"}),
        serde_json::json!({"id": "wamid.Q2", "status": "sent", "timestamp": "1750263773",
            "recipient_user_id": "US.13491208655302741918"}),
    ];
    let body = meta_webhook(&[], &statuses);
    let (status, answer, queued) = post_meta(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        matches!(&queued[..], [Inbound::Status { message_id, recipient_user_id: Some(_), .. }]
            if message_id == "wamid.Q2"),
        "{queued:?}"
    );
}

/// How one item of a webhook is broken.
#[derive(Debug, Clone, Copy)]
enum Breakage {
    Removed,
    NoId,
    NoSender,
    NotAnObject,
    Empty,
}

fn broken(item: &serde_json::Value, how: Breakage, is_message: bool) -> Option<serde_json::Value> {
    let mut item = item.clone();
    let obj = item.as_object_mut().expect("items are objects");
    match how {
        Breakage::Removed => return None,
        Breakage::NoId => {
            obj.remove("id");
        }
        Breakage::NoSender => {
            obj.remove(if is_message { "from" } else { "status" });
        }
        Breakage::NotAnObject => return Some(serde_json::json!(42)),
        Breakage::Empty => return Some(serde_json::json!({})),
    }
    Some(item)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Issue 18's property: for any authentic body, removing or breaking one item never changes
    /// what happens to the others — they are queued exactly as before, in the same order; the
    /// broken one is queued as `Unusable` in its place (or is gone, when removed); the answer is
    /// 200 either way.
    #[test]
    fn breaking_one_item_never_changes_the_others(
        texts in proptest::collection::vec("[0-9а-я ]{1,12}", 0..5),
        statuses in 0usize..4,
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        how in proptest::sample::select(vec![
            Breakage::Removed, Breakage::NoId, Breakage::NoSender, Breakage::NotAnObject,
            Breakage::Empty,
        ]),
    ) {
        let messages: Vec<_> = texts.iter().enumerate().map(|(i, t)| text_message(i, t)).collect();
        let statuses: Vec<_> = (0..statuses).map(read_status).collect();
        let total = messages.len() + statuses.len();
        proptest::prop_assume!(total > 0);
        let k = pick.index(total);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (status, _, before) = rt.block_on(post_meta(&meta_webhook(&messages, &statuses)));
        proptest::prop_assert_eq!(status, 200);
        // Every item of the intact body is queued, one each, in order.
        proptest::prop_assert_eq!(before.len(), total);

        let (mut m2, mut s2) = (messages.clone(), statuses.clone());
        let (list, j, is_message) = if k < messages.len() {
            (&mut m2, k, true)
        } else {
            (&mut s2, k - messages.len(), false)
        };
        let replacement = broken(&list[j], how, is_message);
        match replacement {
            Some(v) => list[j] = v,
            None => {
                list.remove(j);
            }
        }
        let removed = matches!(how, Breakage::Removed);
        let (status, _, after) = rt.block_on(post_meta(&meta_webhook(&m2, &s2)));
        proptest::prop_assert_eq!(status, 200);

        let mut expected = before.clone();
        if removed {
            expected.remove(k);
            proptest::prop_assert_eq!(&after, &expected);
        } else {
            proptest::prop_assert_eq!(after.len(), total);
            let key = if is_message { "messages" } else { "statuses" };
            let place = format!("entry[0].changes[0].value.{key}[{j}]");
            let is_kept = matches!(&after[k], Inbound::Unusable { at, .. } if *at == place);
            proptest::prop_assert!(is_kept, "{:?}", after[k]);
            expected.remove(k);
            let mut others = after.clone();
            others.remove(k);
            proptest::prop_assert_eq!(others, expected);
        }
    }
}

// ---- provider errors ---------------------------------------------------------------------------

/// Meta's "errors" webhook (value.errors, code 130429, as in the messages webhook reference's
/// sample: developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/errors)
/// and a failed status with 131026: both counted by code, only the rate limit as the account's;
/// nothing of the errors is queued, the failed status is (it makes the survey fall back).
#[tokio::test]
async fn meta_errors_are_counted_and_account_ones_alarmed() {
    let _one_at_a_time = capturing().await;
    let capture = otklik_metrics::Capture::start();
    let value = serde_json::json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "errors": [{"code": 130429, "title": "Rate limit hit", "message": "Rate limit hit",
            "error_data": {"details": "Message failed to send because there were too many messages sent from this phone number in a short period of time"},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes"}],
        "statuses": [{"id": "wamid.Q", "status": "failed", "timestamp": "1717000002",
            "recipient_id": "79001234567",
            "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
    });
    let body = serde_json::json!({"object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]})
    .to_string()
    .into_bytes();
    let (status, answer, queued) = post_meta(&body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        matches!(&queued[..], [Inbound::Status { reason: Some(r), .. }] if r == "131026"),
        "{queued:?}"
    );
    let at = |name: &str, dims: &[(&str, &str)]| capture.sum(name, dims);
    assert_eq!(
        at(
            "ProviderErrors",
            &[("Provider", "meta"), ("Code", "130429")]
        ),
        1.0
    );
    assert_eq!(
        at(
            "ProviderErrors",
            &[("Provider", "meta"), ("Code", "131026")]
        ),
        1.0
    );
    assert_eq!(at("ProviderAccountErrors", &[("Provider", "meta")]), 1.0);
}

/// GREEN-API's failure statuses: `noActiveSession` is queued as a failure (the fallback) and
/// counted; `yellowCard` (spam restrictions on the account) is counted as the account's.
#[tokio::test]
async fn green_api_failure_statuses_are_counted_and_fall_back() {
    let _one_at_a_time = capturing().await;
    let capture = otklik_metrics::Capture::start();
    let app = app_with_max_and_sms();
    let bearer = format!("Bearer {MAX_TOKEN}");
    for raw in ["noActiveSession", "yellowCard"] {
        let (status, answer) =
            status_and_json(app.handle(max_post(&max_status(raw), Some(&bearer))).await);
        assert_eq!(status, 200, "{answer}");
    }
    let queued = queued(&app);
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert_eq!(
        queued[0].status_event(),
        Some(otklik_core::machine::Event::DeliveryFailed {
            channel: otklik_core::model::Channel::Max,
            reason: "noActiveSession".into()
        })
    );
    assert_eq!(
        capture.sum(
            "ProviderErrors",
            &[("Provider", "max"), ("Code", "noActiveSession")]
        ),
        1.0
    );
    assert_eq!(
        capture.sum("ProviderAccountErrors", &[("Provider", "max")]),
        1.0
    );
}

#[test]
fn numbers_in_provider_error_texts_are_masked() {
    assert_eq!(
        digits_masked("Number 79001234567 has no account (code 1234)"),
        "Number *********** has no account (code 1234)"
    );
    assert_eq!(digits_masked("Rate limit hit"), "Rate limit hit");
    assert_eq!(digits_masked("130429"), "******");
}

// ---- another installation's webhooks ----------------------------------------------------------

#[tokio::test]
async fn a_change_for_another_meta_number_is_not_ours_and_ours_still_goes_on() {
    // One Meta app, two numbers: a POST signed with our app secret can carry another number's
    // messages. Only ours (phone_number_id 1065, as in `body()`) is queued.
    let app = ProviderWebhooks {
        installation: Installation {
            meta_phone_number_id: Some("1065".into()),
            ..Default::default()
        },
        ..app(None)
    };
    let mut root: serde_json::Value = serde_json::from_slice(&body()).unwrap();
    let mut theirs = root["entry"][0]["changes"][0].clone();
    theirs["value"]["metadata"]["phone_number_id"] = "2077".into();
    theirs["value"]["messages"][0]["id"] = "wamid.THEIRS".into();
    root["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .insert(0, theirs);
    let both = serde_json::to_vec(&root).unwrap();
    let (status, answer) = status_and_json(app.handle(post(&both, signed(&both))).await);
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<String> = queued(&app)
        .iter()
        .filter_map(|i| match i {
            Inbound::Message { id, .. } => Some(id.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec!["wamid.A".to_string()], "{answer}");

    // A POST of only the other number's messages: 200 (nothing to retry), nothing queued.
    root["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let theirs_only = serde_json::to_vec(&root).unwrap();
    let before = queued(&app).len();
    let (status, _) = status_and_json(app.handle(post(&theirs_only, signed(&theirs_only))).await);
    assert_eq!(status, 200);
    assert_eq!(queued(&app).len(), before);
}

#[tokio::test]
async fn a_max_notification_of_another_instance_is_not_ours() {
    let app = ProviderWebhooks {
        installation: Installation {
            max_instance: Some("3100000009".into()),
            ..Default::default()
        },
        ..app_with_max_and_sms()
    };
    // `max_incoming` is instance 3100000000: authentic (our token) but another instance's.
    let body = max_incoming("5");
    let (status, _) = status_and_json(
        app.handle(max_post(&body, Some(&format!("Bearer {MAX_TOKEN}"))))
            .await,
    );
    assert_eq!(status, 200);
    assert!(queued(&app).is_empty());
    // Ours is read as always.
    let ours = ProviderWebhooks {
        installation: Installation {
            max_instance: Some("3100000000".into()),
            ..Default::default()
        },
        ..app_with_max_and_sms()
    };
    let (status, _) = status_and_json(
        ours.handle(max_post(&body, Some(&format!("Bearer {MAX_TOKEN}"))))
            .await,
    );
    assert_eq!(status, 200);
    assert_eq!(queued(&ours).len(), 1);
}

#[test]
fn refusals_are_logged_on_powers_of_two_only() {
    let counter = std::sync::atomic::AtomicU64::new(0);
    let logged: Vec<u64> = (0..10_000).filter_map(|_| sampled(&counter)).collect();
    assert_eq!(logged.len(), 14, "1, 2, 4, … 8192 of 10,000: {logged:?}");
    assert_eq!(logged[..4], [1, 2, 4, 8]);
}
