//! A retailCRM API v5 simulator: the subset Otklik uses (docs/retailcrm-contract.md) over an
//! in-memory shop, with a change history, the per-key rate limit, fault injection and the order
//! trigger. Tests start it in-process on a free port; the demo runs the `retailcrm-sim` binary.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = otklik_retailcrm_sim::spawn(Default::default()).await?;
//! sim.state().seed_demo();
//! println!("retailCRM at {}", sim.url());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
mod api;
mod conn;
pub mod model;
pub mod seed;
mod sim;
pub mod trigger;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use model::{Actor, SimError};
pub use seed::{demo_seed, Seed};
pub use sim::{Faults, Sim, Stats, TriggerDelivery, TriggerStats};
pub use trigger::{Trigger, TriggerFormat};

/// How the simulated account is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The one API key the account accepts.
    pub api_key: String,
    /// Requests per key allowed within any sliding second; more get HTTP 503.
    pub rate_limit: u32,
    /// The account's time zone: every datetime the API shows is local to it.
    pub timezone: chrono_tz::Tz,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-key".into(),
            rate_limit: 10,
            timezone: chrono_tz::Europe::Moscow,
        }
    }
}

/// The whole HTTP surface: `/api/v5/…` and the `/sim/…` control routes.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(api::routes(sim.clone()))
        .merge(admin::routes())
        .fallback(fallback)
        .with_state(sim)
}

async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        api::not_found().await
    } else {
        (axum::http::StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// A running simulator. Dropping the handle stops the server too.
pub struct SimHandle {
    addr: SocketAddr,
    sim: Sim,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (the retailCRM account URL, without `/api/v5`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared model, to inspect or change the account directly.
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
        // A request held by a timeout fault must not hold the caller up for half a minute.
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Starts a simulator on 127.0.0.1 with a free port; the account starts empty (see
/// [`Sim::seed_demo`]).
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    serve(listener, Sim::new(config)).await
}

/// Serves `sim` on an already bound listener (the binary binds the address it was given).
pub async fn serve(listener: TcpListener, sim: Sim) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let app = router(sim.clone()).into_make_service_with_connect_info::<conn::Cut>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server =
            axum::serve(conn::CuttableListener(listener), app).with_graceful_shutdown(async {
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
