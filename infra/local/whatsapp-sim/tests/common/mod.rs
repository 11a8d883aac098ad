//! Shared test pieces: a tiny webhook receiver standing in for Otklik's webhooks, and an
//! independent check of Meta's signature.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use otklik_whatsapp_sim::{spawn, SimConfig, SimHandle};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

pub const META_TOKEN: &str = "meta-token";
pub const PHONE_ID: &str = "100000000000001";
pub const APP_SECRET: &str = "test-app-secret";
pub const GREEN_INSTANCE: &str = "1101000001";
pub const GREEN_TOKEN: &str = "green-token";
pub const GREEN_HOOK_TOKEN: &str = "hook-token";
pub const MAX_INSTANCE: &str = "3100000001";
pub const MAX_TOKEN: &str = "max-token";
pub const MAX_HOOK_TOKEN: &str = "max-hook-token";
pub const SMSRU_API_ID: &str = "smsru-api-id";

/// One request the receiver got.
#[derive(Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

#[derive(Clone)]
struct Shared {
    got: mpsc::UnboundedSender<Received>,
    answer: Arc<Mutex<(u16, String)>>,
}

/// Stands in for our webhook endpoint: records every POST and answers as told.
pub struct Receiver {
    pub url: String,
    got: mpsc::UnboundedReceiver<Received>,
    answer: Arc<Mutex<(u16, String)>>,
}

async fn record(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let _ = shared.got.send(Received {
        headers,
        body: body.to_vec(),
    });
    let (status, body) = shared.answer.lock().unwrap().clone();
    (StatusCode::from_u16(status).unwrap(), body)
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let answer = Arc::new(Mutex::new((200, "ok".to_owned())));
        let shared = Shared {
            got: tx,
            answer: answer.clone(),
        };
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            got: rx,
            answer,
        }
    }

    /// What the receiver answers from now on.
    pub fn answer_with(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_owned());
    }

    /// The next request, or a panic after five seconds.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), self.got.recv())
            .await
            .expect("a webhook call within 5 s")
            .expect("the receiver is running")
    }

    /// Asserts nothing more arrives for a while.
    pub async fn assert_quiet(&mut self) {
        if let Ok(Some(extra)) =
            tokio::time::timeout(Duration::from_millis(300), self.got.recv()).await
        {
            panic!(
                "unexpected webhook call: {}",
                String::from_utf8_lossy(&extra.body)
            );
        }
    }
}

/// HMAC-SHA256 computed here, not with the simulator's helper, so a wrong helper cannot hide.
pub fn expected_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Asserts the request carries Meta's signature of its exact bytes under `APP_SECRET`.
pub fn assert_signed(got: &Received) {
    let header = got
        .header("x-hub-signature-256")
        .expect("Meta webhooks carry X-Hub-Signature-256");
    assert_eq!(header, expected_signature(APP_SECRET, &got.body));
}

/// A simulator whose webhooks (Meta, Green-API, MAX, SMS.ru callbacks) all go to `receiver`.
pub async fn start_with(receiver: &Receiver, config: SimConfig) -> SimHandle {
    let sim = spawn(SimConfig {
        meta_webhook_url: Some(receiver.url.clone()),
        meta_app_secret: APP_SECRET.into(),
        green_api_webhook_url: Some(receiver.url.clone()),
        green_api_webhook_token: GREEN_HOOK_TOKEN.into(),
        max_webhook_url: Some(receiver.url.clone()),
        max_webhook_token: MAX_HOOK_TOKEN.into(),
        smsru_callback_url: Some(receiver.url.clone()),
        ..config
    })
    .await
    .expect("simulator starts");
    sim
}

pub async fn start(receiver: &Receiver) -> SimHandle {
    start_with(receiver, SimConfig::default()).await
}

pub fn meta_url(sim: &SimHandle) -> String {
    format!("{}/v21.0/{PHONE_ID}/messages", sim.url())
}

pub fn green_url(sim: &SimHandle, method: &str) -> String {
    format!(
        "{}/waInstance{GREEN_INSTANCE}/{method}/{GREEN_TOKEN}",
        sim.url()
    )
}

pub fn max_url(sim: &SimHandle, method: &str) -> String {
    format!(
        "{}/v3/waInstance{MAX_INSTANCE}/{method}/{MAX_TOKEN}",
        sim.url()
    )
}

/// POSTs JSON; returns the status and the body as text.
pub async fn post_json(url: String, body: Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// GETs a URL; returns the status and the body as text.
pub async fn get_text(url: String) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Sends a Meta message with the right token; returns the status and the JSON answer.
pub async fn meta_send(sim: &SimHandle, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(meta_url(sim))
        .bearer_auth(META_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

pub fn meta_text(to: &str, body: &str) -> Value {
    serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "preview_url": false, "body": body },
    })
}

/// The first message or status object of a Meta webhook.
pub fn meta_value(payload: &Value) -> &Value {
    assert_eq!(payload["object"], "whatsapp_business_account");
    let change = &payload["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["messaging_product"], "whatsapp");
    &change["value"]
}
