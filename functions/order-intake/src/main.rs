//! Lambda entry point of `order-intake`: builds the queue client once, then serves requests.

use lambda_http::{run, service_fn, Error, Request};
use otklik_order_intake::Intake;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = Intake::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
