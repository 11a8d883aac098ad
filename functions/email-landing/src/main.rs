//! Lambda entry point of `email-landing`: clients, config and the link key once per cold start.

use std::sync::Arc;

use chrono::Utc;
use lambda_http::{run, service_fn, Error, Request};
use otklik_aws::engine::{EffectQueues, Engine};
use otklik_aws::resources::Names;
use otklik_aws::store::DynamoStore;
use otklik_core::links::LinkSigner;
use otklik_core::machine::MachineConfig;
use otklik_email_landing::Landing;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = Names::from_env();
    let app = Landing {
        engine: Engine {
            store: DynamoStore::new(clients.dynamodb.clone(), &names),
            queues: EffectQueues::connect(clients.sqs.clone(), &names).await?,
            machine: MachineConfig::from(&config),
        },
        signer: LinkSigner::new(secrets.link_secret.expose().as_bytes()),
        config: Arc::new(config),
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req, Utc::now()).await)
    }))
    .await
}
