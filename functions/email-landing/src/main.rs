//! Lambda entry point of `email-landing`: clients, config and the link key once per cold start.

use lambda_http::{run, service_fn, Error, Request};
use otklik_email_landing::Landing;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = Landing::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req, chrono::Utc::now()).await)
    }))
    .await
}
