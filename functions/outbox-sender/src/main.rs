//! Lambda entry point of `outbox-sender`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_outbox_sender::OutboxSender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = otklik_aws::resources::Names::from_env();
    let sender = OutboxSender {
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        whatsapp: otklik_messaging::Whatsapp::from_config(&config, &secrets),
        texts: otklik_core::texts::Texts::from_config(&config.texts)?,
        config: Arc::new(config),
    };
    let sender = &sender;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(sender.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
