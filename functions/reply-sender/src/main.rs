//! Lambda entry point of `reply-sender`.

// The cold start's future (config, each secret, clients, then the runtime) nests deeper than the
// compiler's default layout depth.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_reply_sender::ReplySender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = ReplySender::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(app.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
