//! Lambda entry point of `kpi-report`.

use lambda_http::{run, service_fn, Error, Request};
use otklik_kpi_report::KpiApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let config = otklik_aws::env::load_config()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = otklik_aws::resources::Names::from_env();
    let app = KpiApi {
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        token: std::env::var(otklik_core::config::ENV_REPORT_TOKEN)
            .ok()
            .filter(|t| !t.trim().is_empty()),
        timezone: config.timezone,
        complaints: config.complaints.clone(),
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
