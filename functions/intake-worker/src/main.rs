//! Lambda entry point of `intake-worker`: builds every client once per cold start.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_intake_worker::Worker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = Worker::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(app.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
