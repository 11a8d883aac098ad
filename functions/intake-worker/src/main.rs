//! Lambda entry point of `intake-worker`: builds every client once per cold start.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_intake_worker::Worker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let worker = Arc::new(build().await?);
    let worker = &worker;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(worker.handle_batch(event.payload, chrono::Utc::now()).await)
    }))
    .await
}

async fn build() -> Result<Worker, Error> {
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = otklik_aws::resources::Names::from_env();
    Ok(Worker {
        crm: otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
            &config,
            secrets.crm_api_key.expose(),
        ))?,
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        scheduler: otklik_aws::scheduler::from_env(&clients, &names).await?,
        config: Arc::new(config),
    })
}
