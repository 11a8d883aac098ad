//! Lambda entry point of `history-poller` (run every few minutes by an EventBridge schedule).

use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, INTAKE_QUEUE};
use otklik_history_poller::Poller;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = Names::from_env();
    let crm = otklik_retailcrm::ClientConfig::for_otklik(&config, secrets.crm_api_key.expose());
    let poller = Poller {
        crm: otklik_retailcrm::RetailCrm::new(crm)?,
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        queue: SqsQueue::connect(clients.sqs.clone(), &names, &INTAKE_QUEUE).await?,
        config: Arc::new(config),
    };
    let poller = &poller;
    run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Error>(poller.run(chrono::Utc::now()).await?)
        },
    ))
    .await
}
