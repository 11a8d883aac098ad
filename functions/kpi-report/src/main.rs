//! Lambda entry point of `kpi-report`.

use lambda_http::{run, service_fn, Error, Request};
use otklik_kpi_report::KpiApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = KpiApi::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
