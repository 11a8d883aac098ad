//! Adapters of Otklik's ports over AWS: the DynamoDB survey store, the SQS queues, the Scheduler,
//! the installation's secrets. They do what they are told and decide nothing; the orchestration
//! that uses them (the engine, the batch loop, the wiring) is `otklik-app`.
//!
//! The same code runs on Lambda and against the local endpoint (moto): only `AWS_ENDPOINT_URL`
//! differs. Resource names come from [`resources`], the one definition that the SAM template and
//! the local stack are checked against.

pub mod http;
pub mod provision;
pub mod queue;
pub mod resources;
pub mod scheduler;
pub mod secrets;
pub mod store;

use aws_config::BehaviorVersion;

/// The AWS clients a function needs, built once per cold start and shared by every invocation.
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    /// The loaded SDK configuration, for clients only one function needs (SES).
    pub sdk: aws_config::SdkConfig,
}

impl Clients {
    /// Loads region, credentials and (locally) `AWS_ENDPOINT_URL` from the environment.
    pub async fn from_env() -> Clients {
        Self::from_loader(aws_config::defaults(BehaviorVersion::latest())).await
    }

    /// As [`Clients::from_env`], but talking to `endpoint` (the local stack behind a proxy).
    pub async fn with_endpoint(endpoint: &str) -> Clients {
        Self::from_loader(aws_config::defaults(BehaviorVersion::latest()).endpoint_url(endpoint))
            .await
    }

    async fn from_loader(loader: aws_config::ConfigLoader) -> Clients {
        let config = loader.http_client(https_client()).load().await;
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            scheduler: aws_sdk_scheduler::Client::new(&config),
            sdk: config,
        }
    }
}

/// The SDK's own default HTTPS client (hyper, rustls on aws-lc, proxy settings from the
/// environment), except that it trusts the compiled-in roots of AWS's endpoints
/// (`otklik_tls::aws_pem_roots`) instead of loading the system's certificate store: that load was
/// the largest part of a function's cold start (see `docs/architecture.md`).
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    let trust = otklik_tls::aws_pem_roots().fold(
        tls::TrustStore::empty().with_native_roots(false),
        tls::TrustStore::with_pem_certificate,
    );
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store of PEM roots is a valid TLS context");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut conn = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context.clone());
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// Any AWS SDK error, reduced to the port's vocabulary. Throttling and service errors are
/// transient: the queue's redelivery is the retry. A request the service refuses as invalid
/// (`ValidationException`: an item over 400 KB, an attribute too large, an expression it cannot
/// read) is permanent: asking again with the same request cannot succeed, and retried as
/// transient it once cost 86 attempts and parked the whole batch in the DLQ.
pub(crate) fn port_error<E, R>(
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> otklik_core::ports::PortError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    let msg = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::ConstructionFailure(_) => otklik_core::ports::PortError::Permanent(msg),
        SdkError::ServiceError(se) if is_permanent_code(se.err().code()) => {
            otklik_core::ports::PortError::Permanent(msg)
        }
        _ => otklik_core::ports::PortError::Transient(msg),
    }
}

/// Error codes of AWS services that mean "this request can never succeed as it is".
fn is_permanent_code(code: Option<&str>) -> bool {
    matches!(code, Some("ValidationException" | "SerializationException"))
}
