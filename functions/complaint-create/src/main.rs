//! Lambda entry point of `complaint-create`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_complaint_create::ComplaintCreator;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = otklik_aws::resources::Names::from_env();
    let writer = ComplaintCreator {
        crm: otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
            &config,
            secrets.crm_api_key.expose(),
        ))?,
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        config: Arc::new(config),
    };
    let writer = &writer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(writer.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}
