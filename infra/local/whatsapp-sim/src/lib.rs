//! A WhatsApp simulator for tests and the demo: Meta's Cloud API and Green-API as Otklik calls
//! them, a book of which numbers have WhatsApp, delivery statuses posted back automatically, and a
//! customer who answers through our webhooks exactly as the providers would deliver it.
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
mod green_api;
mod meta;
pub mod model;
mod sim;
mod webhook;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use model::{
    Answer, Delivered, MessageKind, NumberBook, Provider, Reply, SentMessage, SimError, Stats,
    StatusUpdate, WebhookDelivery, WebhookStats,
};
pub use sim::{ConfigPatch, Sim};
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
    /// doubling up to 5 s), as the providers retry failed deliveries. 0: one attempt.
    pub webhook_retries: u32,
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
        }
    }
}

/// The whole HTTP surface: the two providers' APIs and the `/sim/…` control routes.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(admin::routes())
        // Both providers use three path segments; one route tells them apart, because the router
        // cannot match a segment by its `waInstance` prefix.
        .route("/{first}/{second}/{third}", post(provider_call))
        .fallback(not_found)
        .with_state(sim)
}

async fn provider_call(
    State(sim): State<Sim>,
    Path((first, second, third)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if first.starts_with("waInstance") {
        green_api::handle(&sim, &first, &second, &third, &body)
    } else if third == "messages" {
        meta::send(&sim, &first, &second, &headers, &body)
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
