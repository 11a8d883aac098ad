//! Loading a function's configuration at cold start: `otklik.toml` from `OTKLIK_CONFIG` (default
//! `otklik.toml` beside the binary's working directory) and secrets from the environment.

use otklik_core::config::{Config, Secrets};

/// What building a function from its environment can fail with (the Lambda runtime's error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything a function is built from: on Lambda read from the environment at cold start
/// ([`Parts::from_env`]), in the local runner and in tests put together directly. Each function's
/// `from_parts` takes what it needs, so the two paths build the very same handler.
#[derive(Debug, Clone)]
pub struct Parts {
    pub config: std::sync::Arc<Config>,
    /// `None` for functions that hold no secret (the KPI route).
    pub secrets: Option<Secrets>,
    pub clients: crate::Clients,
    pub names: crate::resources::Names,
    /// `OTKLIK_REPORT_TOKEN` (only the KPI route reads it).
    pub report_token: Option<String>,
}

/// What a function reads from the installation's secret at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Every secret its config needs (retailCRM key, tokens, link key).
    Secrets,
    /// Only the KPI report's bearer token.
    ReportToken,
    /// Nothing: the secret is not read at all (one network call less at cold start).
    Nothing,
}

impl Parts {
    /// The config, the clients and the stack's names, plus what `reads` asks of the secret.
    pub async fn from_env(reads: Reads) -> Result<Parts, BoxError> {
        let mut config = load_config()?;
        if let Some(share) = crm_rate_share()? {
            // Several instances each pace themselves: each gets its share of the account's limit.
            config.crm.rate_limit_per_second = config.crm.rate_limit_per_second.min(share);
        }
        let clients = crate::Clients::from_env().await;
        let source = match reads {
            Reads::Nothing => SecretSource::default(),
            Reads::Secrets | Reads::ReportToken => SecretSource::from_env(&clients.sdk).await?,
        };
        let secrets = match reads {
            Reads::Secrets => Some(
                Secrets::load(&config, |k| source.get(k))
                    .map_err(|e| format!("{e} ({})", source.describe()))?,
            ),
            Reads::ReportToken | Reads::Nothing => None,
        };
        Ok(Parts {
            config: std::sync::Arc::new(config),
            secrets,
            clients,
            names: crate::resources::Names::from_env(),
            report_token: source
                .get(otklik_core::config::ENV_REPORT_TOKEN)
                .filter(|t| !t.trim().is_empty()),
        })
    }

    /// The survey store on the stack's table.
    pub fn store(&self) -> crate::store::DynamoStore {
        crate::store::DynamoStore::new(self.clients.dynamodb.clone(), &self.names)
    }

    /// The engine the reply functions share: the store, the effect queues, the machine's settings.
    pub async fn engine(&self) -> Result<crate::engine::Engine, BoxError> {
        Ok(crate::engine::Engine {
            store: self.store(),
            queues: crate::engine::EffectQueues::connect(self.clients.sqs.clone(), &self.names)
                .await?,
            machine: otklik_core::machine::MachineConfig::from(self.config.as_ref()),
        })
    }

    pub fn secrets(&self) -> Result<&Secrets, BoxError> {
        self.secrets
            .as_ref()
            .ok_or_else(|| "this function needs its secrets (OTKLIK_*) loaded".into())
    }
}

/// Names the Secrets Manager secret (name or ARN) holding the installation's secrets: a JSON object
/// whose keys are the `OTKLIK_*` variable names. Set by the SAM template; unset locally.
pub const ENV_SECRETS_ID: &str = "OTKLIK_SECRETS_ID";

/// Where a function's secrets come from: on AWS the one Secrets Manager secret named by
/// [`ENV_SECRETS_ID`], read once per cold start (so no secret sits in the function's
/// configuration); locally the environment. A key missing from the secret falls back to the
/// environment.
#[derive(Debug, Default)]
pub struct SecretSource {
    id: Option<String>,
    values: std::collections::HashMap<String, String>,
}

impl SecretSource {
    /// The secret named by `OTKLIK_SECRETS_ID`, if set; otherwise the environment alone.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<SecretSource, BoxError> {
        match std::env::var(ENV_SECRETS_ID)
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(id) => Ok(SecretSource::fetch(sdk, &id).await?),
            None => Ok(SecretSource::default()),
        }
    }

    /// Reads the secret `id` (name or ARN). The error names the secret and says what is wrong,
    /// never what it holds.
    pub async fn fetch(sdk: &aws_config::SdkConfig, id: &str) -> Result<SecretSource, String> {
        let out = aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot read secret {id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| format!("secret {id} has no string value (store a JSON object)"))?;
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "secret {id} is not a JSON object of OTKLIK_* keys (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let obj = json
            .as_object()
            .ok_or_else(|| format!("secret {id} must be a JSON object of OTKLIK_* keys"))?;
        let mut values = std::collections::HashMap::new();
        for (k, v) in obj {
            let v = v
                .as_str()
                .ok_or_else(|| format!("secret {id}: the value of {k} must be a string"))?;
            values.insert(k.clone(), v.to_string());
        }
        Ok(SecretSource {
            id: Some(id.to_string()),
            values,
        })
    }

    /// The value of `key`: from the secret, else from the environment.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    }

    /// Where values are looked up, for error messages.
    pub fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("looked up in secret {id}, then the environment"),
            None => "looked up in the environment; OTKLIK_SECRETS_ID is not set".to_string(),
        }
    }
}

/// This instance's share of the retailCRM rate limit (`OTKLIK_CRM_RATE_PER_SECOND`, set by the
/// template from `resources::FunctionDef::crm_rate`).
pub const ENV_CRM_RATE: &str = "OTKLIK_CRM_RATE_PER_SECOND";

fn crm_rate_share() -> Result<Option<u32>, String> {
    match std::env::var(ENV_CRM_RATE) {
        Err(_) => Ok(None),
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!(
                "{ENV_CRM_RATE} must be a whole number of requests per second, at least 1 (got {v:?})"
            )),
        },
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
