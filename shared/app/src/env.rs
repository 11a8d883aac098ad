//! Loading a function's configuration at cold start: `otklik.toml` from `OTKLIK_CONFIG` (default
//! `otklik.toml` beside the binary's working directory) and the secrets the function is granted.

use otklik_core::config::{Config, Secrets};

/// What building a function from its environment can fail with (the Lambda runtime's error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything a function is built from: on Lambda read from the environment at cold start
/// ([`Parts::from_env`]), in the local runner and in tests put together directly. Each function's
/// `from_parts` takes what it needs, so the two paths build the very same handler.
#[derive(Debug, Clone)]
pub struct Parts {
    pub config: std::sync::Arc<Config>,
    /// The secrets this function holds (`None` in parts put together without any).
    pub secrets: Option<Secrets>,
    pub clients: otklik_aws::Clients,
    pub names: otklik_aws::resources::Names,
    /// `OTKLIK_REPORT_TOKEN` (only the KPI route reads it).
    pub report_token: Option<String>,
}

impl Parts {
    /// The config, the clients and the stack's names, plus exactly the secrets `function` is
    /// granted in `otklik_aws::resources` (and so in the template): on AWS the Secrets Manager
    /// secrets its role may read, locally the same keys from the environment.
    pub async fn from_env(function: &str) -> Result<Parts, BoxError> {
        let def = otklik_aws::resources::function(function)
            .ok_or_else(|| format!("{function} is not a function of resources::FUNCTIONS"))?;
        let config = load_config()?;
        let clients = otklik_aws::Clients::from_env().await;
        let source = if def.secrets().is_empty() {
            // Nothing to read: no network call at cold start.
            otklik_aws::secrets::SecretSource::default()
        } else {
            otklik_aws::secrets::SecretSource::for_function(&clients.sdk, def).await?
        };
        let secrets = Secrets::load_scoped(&config, source.scope(), |k| source.get(k))
            .map_err(|e| format!("{function}: {e} ({})", source.describe()))?;
        Ok(Parts {
            config: std::sync::Arc::new(config),
            secrets: Some(secrets),
            clients,
            names: otklik_aws::resources::Names::from_env(),
            report_token: source
                .get(otklik_core::config::ENV_REPORT_TOKEN)
                .filter(|t| !t.trim().is_empty()),
        })
    }

    /// These parts as `function` would have them on AWS: only the keys of the secrets it is
    /// granted. The local stack builds every function in one process from parts holding all the
    /// keys, and each through this, so a function that uses a key it is not granted fails there
    /// as it would on AWS.
    pub fn for_function(&self, function: &str) -> Result<Parts, BoxError> {
        let def = otklik_aws::resources::function(function)
            .ok_or_else(|| format!("{function} is not a function of resources::FUNCTIONS"))?;
        let scope = def.secret_keys();
        Ok(Parts {
            secrets: self.secrets.as_ref().map(|s| s.restricted(&scope)),
            report_token: self
                .report_token
                .clone()
                .filter(|_| scope.contains(&otklik_core::config::ENV_REPORT_TOKEN)),
            ..self.clone()
        })
    }

    /// The survey store on the stack's table, hashing personal keys with the installation's
    /// contact key when the function holds it (a report-only function reads no key and looks
    /// nothing up by a phone).
    pub fn store(&self) -> otklik_aws::store::DynamoStore {
        let store = otklik_aws::store::DynamoStore::new(self.clients.dynamodb.clone(), &self.names)
            .folding(self.config.timezone, self.config.complaints.clone());
        match self.secrets.as_ref().and_then(|s| s.contact_hasher()) {
            Some(hasher) => store.with_hasher(hasher),
            None => store,
        }
    }

    /// The engine the reply functions share: the store, the effect queues, the machine's settings.
    pub async fn engine(&self) -> Result<crate::engine::Engine, BoxError> {
        Ok(crate::engine::Engine {
            queues: Some(
                crate::engine::EffectQueues::connect(self.clients.sqs.clone(), &self.names).await?,
            ),
            ..self.engine_without_queues()
        })
    }

    /// survey-dispatch's engine: it queues only the next channel's question
    /// ([`crate::engine::EffectQueues::dispatch_only`]).
    pub async fn dispatch_engine(&self) -> Result<crate::engine::Engine, BoxError> {
        Ok(crate::engine::Engine {
            queues: Some(
                crate::engine::EffectQueues::dispatch_only(self.clients.sqs.clone(), &self.names)
                    .await?,
            ),
            ..self.engine_without_queues()
        })
    }

    /// An engine that queues nothing: anything it saves in a survey's outbox stays there for the
    /// next engine that can queue it (a test's, counting what a save keeps).
    pub fn engine_without_queues(&self) -> crate::engine::Engine {
        crate::engine::Engine {
            store: self.store(),
            queues: None,
            machine: otklik_core::machine::MachineConfig::from(self.config.as_ref()),
        }
    }

    /// The function's retailCRM client: the configured account and the secret's key, every call
    /// through the budget this installation shares across all its functions and instances
    /// (`otklik_core::crm_budget`, kept in the main table), so a lone busy function may use the
    /// account's whole `crm.rate_limit_per_second` and several share it.
    pub fn crm(&self) -> Result<otklik_retailcrm::RetailCrm, BoxError> {
        let cfg = otklik_retailcrm::ClientConfig::for_otklik(
            &self.config,
            self.secrets()?.crm_api_key()?.expose(),
        );
        let gate = otklik_retailcrm::SharedGate::new(
            self.store(),
            otklik_core::crm_budget::Budget::per_second(self.config.crm.rate_limit_per_second),
        );
        Ok(otklik_retailcrm::RetailCrm::with_gate(
            cfg,
            std::sync::Arc::new(gate),
        )?)
    }

    pub fn secrets(&self) -> Result<&Secrets, BoxError> {
        self.secrets
            .as_ref()
            .ok_or_else(|| "this function needs its secrets (OTKLIK_*) loaded".into())
    }
}

/// Reads and parses the config file named by `OTKLIK_CONFIG`. The error says which file and why.
pub fn load_config() -> Result<Config, String> {
    let path = std::env::var("OTKLIK_CONFIG").unwrap_or_else(|_| "otklik.toml".to_string());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config file {path}: {e} (set OTKLIK_CONFIG)"))?;
    Config::from_toml(&text).map_err(|e| format!("{path}: {e}"))
}

/// Structured JSON logs for Lambda (CloudWatch), level from `RUST_LOG` (default info).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .try_init();
}
