//! Lambda entry point of `inbound-worker`: clients once per cold start, no secret.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_inbound_worker::InboundWorker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = InboundWorker::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(app.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
