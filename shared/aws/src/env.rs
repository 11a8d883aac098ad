//! Loading a function's configuration at cold start: `otklik.toml` from `OTKLIK_CONFIG` (default
//! `otklik.toml` beside the binary's working directory) and secrets from the environment.

use otklik_core::config::{Config, Secrets};

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
