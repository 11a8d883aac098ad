//! `kpi-digest`: the weekly digest for the shop's owner (issue 21), by email.
//!
//! Its schedule fires every hour; each firing does nothing until this week's `report.digest_day`
//! and `digest_hour` (shop's time zone) have come, then claims the week per recipient and sends
//! through SES — so a firing twice, or every hour after, mails nobody twice. The work is
//! `otklik_app::digest`; the figures and words `otklik_core::digest`. `otklik report digest` runs
//! the same handler against the local stack.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use otklik_app::digest::{DigestSender, Fired};
use otklik_app::env::{BoxError, Parts};
use otklik_aws::store::DynamoStore;
use otklik_core::config::Config;
use otklik_core::ports::PortError;
use otklik_messaging::SesMailer;
use serde::Deserialize;

/// The schedule's input.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct DigestEvent {
    /// Marks the event as the digest's (the template's schedule sets it).
    #[serde(default)]
    pub digest: bool,
    /// The dashboard's address, `<api>/reports`: the template writes the API's URL here, since
    /// the function cannot name its own API without a dependency cycle.
    #[serde(default)]
    pub reports_url: Option<String>,
}

pub struct KpiDigest {
    pub store: DynamoStore,
    pub mailer: SesMailer,
    pub config: Arc<Config>,
    /// `OTKLIK_REPORT_TOKEN`: signs the dashboard link in the mail.
    pub report_token: Option<String>,
}

impl KpiDigest {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, the report token from the secret.
    pub async fn from_env() -> Result<Self, BoxError> {
        Self::from_parts(&Parts::from_env("kpi-digest").await?).await
    }

    /// Built from parts already at hand (the CLI, the tests): the same handler as on Lambda.
    pub async fn from_parts(p: &Parts) -> Result<Self, BoxError> {
        Ok(KpiDigest {
            store: p.store(),
            mailer: SesMailer::new(aws_sdk_sesv2::Client::new(&p.clients.sdk)),
            config: p.config.clone(),
            report_token: p.report_token.clone(),
        })
    }

    /// One firing at `now`; `reports_url` is the dashboard's address for the mail's links.
    pub async fn fire(
        &self,
        reports_url: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Fired, PortError> {
        let reports_url = reports_url
            .map(str::trim)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        DigestSender {
            store: &self.store,
            mailer: &self.mailer,
            config: &self.config,
            report_token: self.report_token.as_deref(),
            reports_url,
        }
        .fire(now)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedules_input_is_read_and_anything_else_is_empty() {
        let e: DigestEvent = serde_json::from_str(
            r#"{"digest": true, "reports_url": "https://abc.execute-api.eu-central-1.amazonaws.com/reports"}"#,
        )
        .unwrap();
        assert!(e.digest);
        assert_eq!(
            e.reports_url.as_deref(),
            Some("https://abc.execute-api.eu-central-1.amazonaws.com/reports")
        );
        // A test invoke from the console with `{}` still fires (without links to the dashboard).
        assert_eq!(
            serde_json::from_str::<DigestEvent>("{}").unwrap(),
            DigestEvent::default()
        );
    }
}
