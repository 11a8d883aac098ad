//! Lambda entry point of `provider-webhooks`: the queue and the webhook secrets once per cold start.

use lambda_http::{run, service_fn, Error, Request};
use otklik_provider_webhooks::ProviderWebhooks;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = ProviderWebhooks::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
