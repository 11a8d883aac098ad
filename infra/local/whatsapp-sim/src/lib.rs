//! A messaging-provider simulator for tests, the demo and the sandbox: Meta's Cloud API and
//! Green-API (WhatsApp), a GREEN-API v3 MAX instance and SMS.ru as Otklik calls them, books of who
//! has WhatsApp or MAX, delivery statuses posted back automatically, and a customer who answers
//! through our webhooks exactly as the providers would deliver it (or reads an SMS).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use otklik_whatsapp_sim::{spawn, Reply, SimConfig};
//! let sim = spawn(SimConfig::default()).await?;
//! sim.state().set_meta_webhook("http://127.0.0.1:9000/webhooks/meta", "app-secret")?;
//! // … our code sends through sim.url() …
//! let sent = sim.state().messages();
//! sim.state().reply(&Reply::button("79001234567", "rating_5", "5")).await?;
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
pub mod faults;
mod green_api;
pub mod max;
mod meta;
pub mod model;
mod sim;
pub mod smsru;
mod webhook;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use model::{
    Answer, ChatLine, Delivered, MaxBook, MessageKind, NumberBook, Provider, Reply, SentMessage,
    SimError, SmsBook, SmsRecord, Stats, StatusUpdate, WebhookDelivery, WebhookStats,
};
pub use sim::{ConfigPatch, Sim, Template};
pub use webhook::meta_signature;

/// How the simulated accounts are set up; `PUT /sim/config` changes it at run time and
/// `POST /sim/reset` returns to the value the simulator was started with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimConfig {
    /// Meta: the one access token accepted as `Authorization: Bearer …`.
    pub meta_token: String,
    /// Meta: the business phone number id in `/{version}/{id}/messages`.
    pub meta_phone_number_id: String,
    /// Meta: the WhatsApp Business Account id (`entry[].id` of webhooks).
    pub meta_business_account_id: String,
    /// Green-API: `idInstance` in `/waInstance{id}/…`.
    pub green_api_instance: String,
    /// Green-API: `apiTokenInstance`, the last path segment.
    pub green_api_token: String,
    /// The business's own number, digits: Meta's `display_phone_number`, Green-API's `wid`.
    pub business_phone: String,
    /// Where Meta webhooks go; `None`: nowhere (automatic statuses are skipped).
    pub meta_webhook_url: Option<String>,
    /// Signs Meta webhooks (`X-Hub-Signature-256`).
    pub meta_app_secret: String,
    /// Where Green-API webhooks go.
    pub green_api_webhook_url: Option<String>,
    /// Sent as `Authorization: Bearer …` with Green-API webhooks; empty: no header.
    pub green_api_webhook_token: String,
    /// Post status webhooks for every send on their own (sent + delivered, or the failure).
    pub auto_statuses: bool,
    /// Post every automatic status webhook this many times, to exercise deduplication.
    pub duplicate_statuses: u32,
    /// Wait this long after a send before its automatic statuses.
    pub status_delay_ms: u64,
    /// Post automatic statuses newest first ("delivered" before "sent"): neither provider
    /// promises webhook order.
    pub reverse_statuses: bool,
    /// Post a webhook that was not answered 2xx again, up to this many times (after 200 ms,
    /// doubling up to 5 s), as the providers retry failed deliveries. 0: one attempt. SMS.ru
    /// callbacks count as failed unless answered `100`.
    pub webhook_retries: u32,
    /// GREEN-API v3 (MAX): `idInstance` in `/v3/waInstance{id}/…`.
    #[serde(default = "default_max_instance")]
    pub max_instance: String,
    /// GREEN-API v3 (MAX): `apiTokenInstance`.
    #[serde(default = "default_max_token")]
    pub max_token: String,
    /// Where the MAX instance's webhooks go.
    #[serde(default)]
    pub max_webhook_url: Option<String>,
    /// Sent as `Authorization: Bearer …` with MAX webhooks; empty: no header.
    #[serde(default = "default_max_webhook_token")]
    pub max_webhook_token: String,
    /// SMS.ru: the one `api_id` accepted.
    #[serde(default = "default_smsru_api_id")]
    pub smsru_api_id: String,
    /// SMS.ru: where delivery status callbacks go (`data[]` form posts).
    #[serde(default)]
    pub smsru_callback_url: Option<String>,
    /// SMS.ru: sender names (`from`) approved for the account; empty: any name is accepted.
    #[serde(default)]
    pub smsru_senders: Vec<String>,
}

fn default_max_instance() -> String {
    "3100000001".into()
}

fn default_max_token() -> String {
    "max-token".into()
}

fn default_max_webhook_token() -> String {
    "max-webhook-token".into()
}

fn default_smsru_api_id() -> String {
    "smsru-api-id".into()
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            meta_token: "meta-token".into(),
            meta_phone_number_id: "100000000000001".into(),
            meta_business_account_id: "100000000000002".into(),
            green_api_instance: "1101000001".into(),
            green_api_token: "green-token".into(),
            business_phone: "79000000001".into(),
            meta_webhook_url: None,
            meta_app_secret: "meta-app-secret".into(),
            green_api_webhook_url: None,
            green_api_webhook_token: "green-webhook-token".into(),
            auto_statuses: true,
            duplicate_statuses: 1,
            status_delay_ms: 20,
            reverse_statuses: false,
            webhook_retries: 0,
            max_instance: default_max_instance(),
            max_token: default_max_token(),
            max_webhook_url: None,
            max_webhook_token: default_max_webhook_token(),
            smsru_api_id: default_smsru_api_id(),
            smsru_callback_url: None,
            smsru_senders: Vec::new(),
        }
    }
}

/// The whole HTTP surface: the providers' APIs and the `/sim/…` control routes.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(admin::routes())
        // SMS.ru takes GET and POST alike.
        .route("/sms/send", any(sms_send))
        .route("/sms/status", any(smsru::status))
        .route("/v3/{instance}/{method}/{token}", any(max_call))
        // Meta, Green-API and the MAX instance without its optional `v3` prefix all use three
        // path segments; one route tells them apart, because the router cannot match a segment
        // by its `waInstance` prefix.
        .route("/{first}/{second}/{third}", any(provider_call))
        .fallback(not_found)
        .with_state(sim)
}

async fn sms_send(State(sim): State<Sim>, query: axum::extract::RawQuery, body: Bytes) -> Response {
    let send = smsru::send(State(sim.clone()), query, body);
    faults::send_with_faults(&sim, send).await
}

async fn max_call(
    State(sim): State<Sim>,
    Path((instance, method, token)): Path<(String, String, String)>,
    http_method: Method,
    body: Bytes,
) -> Response {
    if instance.starts_with("waInstance") {
        max_method(&sim, &instance, &method, &token, &http_method, &body).await
    } else {
        not_found().await
    }
}

/// A MAX instance's method; `sendMessage` under the injected faults (`faults`).
async fn max_method(
    sim: &Sim,
    instance: &str,
    method: &str,
    token: &str,
    http_method: &Method,
    body: &[u8],
) -> Response {
    let call = async { max::handle(sim, instance, method, token, http_method, body) };
    if method.eq_ignore_ascii_case("sendMessage") {
        faults::send_with_faults(sim, call).await
    } else {
        call.await
    }
}

async fn provider_call(
    State(sim): State<Sim>,
    Path((first, second, third)): Path<(String, String, String)>,
    http_method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_max = first.strip_prefix("waInstance") == Some(sim.config().max_instance.as_str());
    if is_max {
        max_method(&sim, &first, &second, &third, &http_method, &body).await
    } else if http_method != Method::POST {
        // Every WhatsApp method simulated here is a POST.
        (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response()
    } else if first.starts_with("waInstance") {
        green_api::handle(&sim, &first, &second, &third, &body)
    } else if third == "messages" {
        meta::send(&sim, &first, &second, &headers, &body)
    } else if third == "message_templates" {
        meta::create_template(&sim, &first, &second, &headers, &body)
    } else {
        not_found().await
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response()
}

/// A running simulator. Dropping the handle stops the server too.
pub struct SimHandle {
    addr: SocketAddr,
    sim: Sim,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the base URL for both providers (Meta's `graph.facebook.com`,
    /// Green-API's `apiUrl`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared simulator, to set up and inspect directly.
    pub fn state(&self) -> Sim {
        self.sim.clone()
    }

    /// Serves until the task ends (for the binary: until the process is stopped).
    pub async fn wait(self) {
        let SimHandle { stop, task, .. } = self;
        let _ = task.await;
        drop(stop);
    }

    /// Stops accepting, lets requests in flight finish for a moment, then stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        // A `/sim/reply` waiting on a slow receiver must not hold the caller up for long.
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Starts a simulator on 127.0.0.1 with a free port.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    serve(listener, Sim::new(config)).await
}

/// Serves `sim` on an already bound listener (the binary binds the address it was given).
pub async fn serve(listener: TcpListener, sim: Sim) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let app = router(sim.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "simulator server stopped");
        }
    });
    Ok(SimHandle {
        addr,
        sim,
        stop,
        task,
    })
}
