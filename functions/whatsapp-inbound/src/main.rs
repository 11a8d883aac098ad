//! Lambda entry point of `whatsapp-inbound`: clients and secrets once per cold start.

use chrono::Utc;
use lambda_http::{run, service_fn, Error, Request};
use otklik_aws::engine::{EffectQueues, Engine};
use otklik_aws::resources::Names;
use otklik_aws::store::DynamoStore;
use otklik_core::machine::MachineConfig;
use otklik_whatsapp_inbound::{WebhookSecrets, WhatsappInbound};

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let clients = otklik_aws::Clients::from_env().await;
    let names = Names::from_env();
    let app = WhatsappInbound {
        engine: Engine {
            store: DynamoStore::new(clients.dynamodb.clone(), &names),
            queues: EffectQueues::connect(clients.sqs.clone(), &names).await?,
            machine: MachineConfig::from(&config),
        },
        secrets: WebhookSecrets {
            meta_app_secret: secrets.meta_app_secret.map(|s| s.expose().to_string()),
            meta_verify_token: secrets.meta_verify_token.map(|s| s.expose().to_string()),
            green_api_webhook_token: secrets
                .green_api_webhook_token
                .map(|s| s.expose().to_string()),
        },
        default_region: config.default_region.clone(),
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req, Utc::now()).await)
    }))
    .await
}
