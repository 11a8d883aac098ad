//! The operator CLI's commands that talk to the outside world, as a library so tests drive them.

pub mod crm_setup;
pub mod kpi;
pub mod whatsapp;

use otklik_core::config::{self as cfg, Config, WhatsappProvider};

/// `otklik report link`: the dashboard's sign-in link for the API at `api_url`, signed with the
/// report token, valid for `ttl`; and when it expires.
pub fn report_link(
    ttl: &str,
    api_url: Option<&str>,
    report_token: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, chrono::DateTime<chrono::Utc>), String> {
    let ttl = otklik_core::report_access::parse_ttl(ttl)?;
    let api = api_url
        .map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or("give the API's URL with --url (the stack's ApiUrl output) or OTKLIK_API_URL")?;
    let token = report_token
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("{} is not set: it signs the link", cfg::ENV_REPORT_TOKEN))?;
    let key = otklik_core::report_access::ReportKey::new(token);
    let reports = format!("{}/reports", api.trim_end_matches('/'));
    let until = now + chrono::Duration::from_std(ttl).map_err(|e| e.to_string())?;
    Ok((key.link(&reports, ttl, now), until))
}

/// The keys the installation's secret must hold for `config`, each with what it is for.
pub fn secret_keys(config: &Config) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![
        (cfg::ENV_CRM_API_KEY, "retailCRM API key"),
        (
            cfg::ENV_TRIGGER_SECRET,
            "random string; the retailCRM trigger sends it",
        ),
        (
            cfg::ENV_LINK_SECRET,
            "random string of 32+ characters; signs the email links",
        ),
        (
            cfg::ENV_REPORT_TOKEN,
            "random string; bearer token of the KPI report route, and the key of the dashboard's sign-in links",
        ),
    ];
    match config.whatsapp.provider {
        WhatsappProvider::Meta => keys.extend([
            (cfg::ENV_META_ACCESS_TOKEN, "Meta system user access token"),
            (cfg::ENV_META_APP_SECRET, "Meta app secret"),
            (
                cfg::ENV_META_VERIFY_TOKEN,
                "random string; also typed into the Meta webhook settings",
            ),
        ]),
        WhatsappProvider::GreenApi => keys.extend([
            (cfg::ENV_GREEN_API_TOKEN, "Green-API instance token"),
            (
                cfg::ENV_GREEN_API_WEBHOOK_TOKEN,
                "random string; also set as the Green-API webhook authorization",
            ),
        ]),
        WhatsappProvider::None => {}
    }
    if config.max.is_some() {
        keys.extend([
            (
                cfg::ENV_MAX_TOKEN,
                "GREEN-API v3 instance token of the MAX account",
            ),
            (
                cfg::ENV_MAX_WEBHOOK_TOKEN,
                "random string; also set as the MAX instance's webhook authorization",
            ),
        ]);
    }
    if config.sms.is_some() {
        keys.extend([
            (cfg::ENV_SMSRU_API_ID, "SMS.ru api_id"),
            (
                cfg::ENV_SMS_CALLBACK_SECRET,
                "random string of 24+ characters; ends the SMS.ru callback URL",
            ),
        ]);
    }
    keys
}
