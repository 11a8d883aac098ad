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

impl Parts {
    /// The config, the clients and the stack's names, plus every secret when `with_secrets`.
    pub async fn from_env(with_secrets: bool) -> Result<Parts, BoxError> {
        let (config, secrets) = if with_secrets {
            let (c, s) = load_all()?;
            (c, Some(s))
        } else {
            (load_config()?, None)
        };
        Ok(Parts {
            config: std::sync::Arc::new(config),
            secrets,
            clients: crate::Clients::from_env().await,
            names: crate::resources::Names::from_env(),
            report_token: std::env::var(otklik_core::config::ENV_REPORT_TOKEN)
                .ok()
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

/// Reads and parses the config file named by `OTKLIK_CONFIG`. The error says which file and why.
pub fn load_config() -> Result<Config, String> {
    let path = std::env::var("OTKLIK_CONFIG").unwrap_or_else(|_| "otklik.toml".to_string());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config file {path}: {e} (set OTKLIK_CONFIG)"))?;
    Config::from_toml(&text).map_err(|e| format!("{path}: {e}"))
}

/// Config plus every secret it requires.
pub fn load_all() -> Result<(Config, Secrets), String> {
    let config = load_config()?;
    let secrets = Secrets::load(&config, |k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    Ok((config, secrets))
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
