//! The error of loading the configuration. Its own module because two loaders report it: `config`
//! for `otklik.toml` as a whole and `texts` for its `[texts]` tables, which `config` builds on.

/// A configuration error, always naming the key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("not valid TOML: {0}")]
    Syntax(String),
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("config key `{key}` looks like a secret; secrets never go in otklik.toml. Set the environment variable {env} instead")]
    SecretInFile { key: String, env: &'static str },
    #[error("secret {env} is not set ({why})")]
    MissingSecret {
        env: &'static str,
        why: &'static str,
    },
}

impl ConfigError {
    /// The key the error is about, when it names one (a syntax error names a line instead).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::SecretInFile { key, .. } => Some(key),
            ConfigError::Syntax(_) | ConfigError::MissingSecret { .. } => None,
        }
    }
}
