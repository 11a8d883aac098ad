//! Lambda entry point of `order-intake`: builds the queue client once, then serves requests.

use lambda_http::{run, service_fn, Error, Request};
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, INTAKE_QUEUE};
use otklik_order_intake::Intake;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let trigger_secret = std::env::var(otklik_core::config::ENV_TRIGGER_SECRET)
        .map_err(|_| format!("{} is not set", otklik_core::config::ENV_TRIGGER_SECRET))?;
    let clients = otklik_aws::Clients::from_env().await;
    let queue = SqsQueue::connect(clients.sqs.clone(), &Names::from_env(), &INTAKE_QUEUE).await?;
    let app = Intake {
        queue,
        trigger_secret,
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
