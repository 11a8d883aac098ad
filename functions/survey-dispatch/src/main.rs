//! Lambda entry point of `survey-dispatch`: every client is built once per cold start.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_survey_dispatch::Dispatcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_aws::env::init_logging();
    let (config, secrets) = otklik_aws::env::load_all()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = otklik_aws::Clients::from_env().await;
    let names = otklik_aws::resources::Names::from_env();
    let dispatcher = Dispatcher {
        crm: otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
            &config,
            secrets.crm_api_key.expose(),
        ))?,
        store: otklik_aws::store::DynamoStore::new(clients.dynamodb.clone(), &names),
        whatsapp: otklik_messaging::Whatsapp::from_config(&config, &secrets),
        mailer: otklik_messaging::SesMailer::new(aws_sdk_sesv2::Client::new(&sdk)),
        texts: otklik_core::texts::Texts::from_config(&config.texts)?,
        signer: otklik_core::links::LinkSigner::new(secrets.link_secret.expose().as_bytes()),
        config: Arc::new(config),
    };
    let dispatcher = &dispatcher;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(
            dispatcher
                .handle_batch(event.payload, chrono::Utc::now())
                .await,
        )
    }))
    .await
}
