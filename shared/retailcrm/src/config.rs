//! How to reach one retailCRM account.

use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;

/// Connection settings of one retailCRM account.
///
/// `Debug` redacts the API key, so a stray `{:?}` cannot leak it into a log.
#[derive(Clone, PartialEq)]
pub struct ClientConfig {
    /// `https://acct.retailcrm.ru`, without `/api/v5` (a trailing `/api/v5` is tolerated).
    pub base_url: String,
    pub api_key: String,
    /// Requests per second allowed for this key (retailCRM: 10). Shared by every client of the key
    /// in this process; when two clients disagree, the lower rate wins.
    pub rate_per_second: u32,
    /// The account's time zone: retailCRM sends and expects `Y-m-d H:i:s` local times.
    pub timezone: Tz,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: u32,
    /// Per attempt, from connecting to the end of the body.
    pub timeout: Duration,
}

impl ClientConfig {
    pub const DEFAULT_RATE_PER_SECOND: u32 = 10;
    pub const DEFAULT_MAX_RETRIES: u32 = 4;
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Europe::Moscow;

    /// Defaults: 10 requests/s, Europe/Moscow, 4 retries, 10 s per attempt.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            rate_per_second: Self::DEFAULT_RATE_PER_SECOND,
            timezone: Self::DEFAULT_TIMEZONE,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The settings of Otklik's configuration (`[crm]`: URL, pace, account time zone), with the key
    /// from the environment: secrets never live in the config file. Retries and timeout keep their
    /// defaults.
    pub fn for_otklik(config: &otklik_core::config::Config, api_key: &str) -> Self {
        let mut cfg = ClientConfig::new(config.crm.url.clone(), api_key);
        cfg.rate_per_second = config.crm.rate_limit_per_second;
        cfg.timezone = config.crm_timezone();
        cfg
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("rate_per_second", &self.rate_per_second)
            .field("timezone", &self.timezone)
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_redacted_debug() {
        let cfg = ClientConfig::new("https://acct.retailcrm.ru", "secret-key-123");
        assert_eq!(cfg.rate_per_second, 10);
        assert_eq!(cfg.max_retries, 4);
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.timezone, chrono_tz::Europe::Moscow);
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("secret-key-123"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn from_otklik_config() {
        let text = include_str!("../../../otklik.example.toml")
            .replace("rate_limit_per_second = 10", "rate_limit_per_second = 7");
        let config = otklik_core::config::Config::from_toml(&text).unwrap();
        let cfg = ClientConfig::for_otklik(&config, "k");
        assert_eq!(cfg.base_url, config.crm.url);
        assert_eq!(cfg.api_key, "k");
        assert_eq!(cfg.rate_per_second, 7);
        assert_eq!(cfg.timezone, config.crm_timezone());
        assert_eq!(cfg.max_retries, ClientConfig::DEFAULT_MAX_RETRIES);
    }
}
