//! Lambda entry point of `crm-writer`. Its reserved concurrency (see the template) together with
//! the client's pacer keeps the account under retailCRM's rate limit.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_crm_writer::CrmWriter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = CrmWriter::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(app.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
