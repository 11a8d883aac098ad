//! Lambda entry point of `kpi-digest` (fired every hour by an EventBridge schedule whose input is
//! `{"digest": true, "reports_url": "<api>/reports"}`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_kpi_digest::{DigestEvent, KpiDigest};

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = KpiDigest::from_env().await?;
    let app = &app;
    run(service_fn(move |e: LambdaEvent<DigestEvent>| async move {
        let fired = app
            .fire(e.payload.reports_url.as_deref(), chrono::Utc::now())
            .await?;
        tracing::info!(outcome = %fired, "digest fired");
        Ok::<_, Error>(fired.to_string())
    }))
    .await
}
