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

fn app(fail_from: Option<usize>) -> WhatsappInbound<Sent> {
    WhatsappInbound {
        queue: Sent {
            fail_from,
            ..Default::default()
        },
        secrets: WebhookSecrets {
            meta_app_secret: Some(APP_SECRET.into()),
            ..Default::default()
        },
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
