//! The operator CLI's commands that talk to the outside world, as a library so tests drive them.

pub mod crm_setup;
pub mod kpi;
pub mod ops;
pub mod privacy;
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

/// An AWS SDK failure, as `PortError`/`ProvisionError` carry it (the SDK's whole error context,
/// debug dump included), in one sentence naming what to set or create: the person at the terminal
/// acts on a variable or a table name, not on a `DispatchFailure { … }`. `table` is the stack's
/// table name, `endpoint` the `AWS_ENDPOINT_URL` in effect, if any.
pub fn aws_trouble(message: &str, table: &str, endpoint: Option<&str>) -> String {
    let has = |needle: &str| message.contains(needle);
    if has("ResourceNotFoundException") {
        format!(
            "the table {table} does not exist: check OTKLIK_STACK (the stack's name) and \
             AWS_REGION, deploy the stack, or for the local stack run scripts/local-up.sh"
        )
    } else if has("loading credentials") || has("no credentials") || has("NoCredentials") {
        "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
         (for the local stack, load .local/<you>/stack.env, which sets AWS_ENDPOINT_URL too)"
            .into()
    } else if has("UnrecognizedClientException")
        || has("InvalidSignatureException")
        || has("ExpiredToken")
        || has("AccessDenied")
    {
        "AWS refused the credentials (unknown, expired or without access to the stack): check \
         AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
            .into()
    } else if has("dispatch failure") || has("Connect") || has("timed out") || has("timeout") {
        match endpoint {
            Some(url) => format!(
                "cannot reach AWS at AWS_ENDPOINT_URL={url}: is the local stack running \
                 (scripts/local-up.sh)?"
            ),
            None => "cannot reach AWS: check the network and AWS_REGION (or set \
                     AWS_ENDPOINT_URL for the local stack)"
                .into(),
        }
    } else {
        // Something else: its first clause, without the SDK's debug dump in parentheses.
        let head = message.split(" (").next().unwrap_or(message);
        format!("AWS answered: {}", head.trim())
    }
}

/// A retailCRM failure of `crm setup`, naming what to check: the account URL when it cannot be
/// reached, the key when it is refused (the error says so itself), else the error's own words.
pub fn crm_trouble(e: &otklik_retailcrm::CrmError, url: &str) -> String {
    use otklik_retailcrm::CrmError;
    match e {
        CrmError::Network(_) | CrmError::Timeout => {
            format!("cannot reach retailCRM at {url} (crm.url): check the address and the network")
        }
        other => other.to_string(),
    }
}

/// `3 problems`, `1 problem`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Each config problem on a line of its own, led by where it is (`otklik.toml:37:`, the line of
/// its key, or of its table when the key is missing) so an editor's "go to line" finds it.
pub fn problem_lines(path: &str, text: &str, problems: &[cfg::ConfigError]) -> Vec<String> {
    problems
        .iter()
        .map(|p| match p.key().and_then(|k| cfg::line_of(text, k)) {
            Some(line) => format!("{path}:{line}: {p}"),
            None => format!("{path}: {p}"),
        })
        .collect()
}

/// One Secrets Manager secret an installation creates: its name, the keys `config` needs in it
/// (each with what it is for) and the functions that read it.
#[derive(Debug, Clone)]
pub struct SecretToCreate {
    pub name: String,
    pub def: &'static otklik_aws::resources::SecretDef,
    pub keys: Vec<(&'static str, &'static str)>,
    pub readers: Vec<&'static str>,
}

/// The secrets to create under `prefix` for `config`, in `resources::SECRETS` order: those holding
/// at least one key it needs (a purpose it does not use needs no secret).
pub fn secrets_to_create(config: &Config, prefix: &str) -> Vec<SecretToCreate> {
    let keys = secret_keys(config);
    otklik_aws::resources::SECRETS
        .iter()
        .filter_map(|def| {
            let mine: Vec<_> = keys
                .iter()
                .filter(|(k, _)| def.keys.contains(k))
                .copied()
                .collect();
            (!mine.is_empty()).then(|| SecretToCreate {
                name: def.name(prefix),
                def,
                keys: mine,
                readers: otklik_aws::resources::FUNCTIONS
                    .iter()
                    .filter(|f| f.secrets().contains(&def))
                    .map(|f| f.name)
                    .collect(),
            })
        })
        .collect()
}

/// The keys the installation's secrets must hold for `config`, each with what it is for.
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
            cfg::ENV_CONTACT_KEY,
            "random string of 32+ characters, set once and never changed; keys the hashes that stand for phones and emails (do-not-contact list). Optional: without it they are keyed from the link secret",
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
