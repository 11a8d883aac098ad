//! The local stack's configuration: the documented example `otklik.toml` pointed at the
//! simulators, with fixed local secrets. Tests, the demo and the sandbox all start from this, so
//! they exercise the same configuration a shop starts from.

use otklik_app::engine::{EffectQueues, Engine};
use otklik_aws::resources::Names;
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::config::{Config, Secrets};
use otklik_core::machine::MachineConfig;

/// The example configuration shipped with the project.
pub const EXAMPLE_CONFIG: &str = include_str!("../../../../otklik.example.toml");

/// Local secrets (never used anywhere but on this machine).
pub const CRM_API_KEY: &str = "sim-key";
pub const TRIGGER_SECRET: &str = "local-trigger-secret";
pub const LINK_SECRET: &str = "local-link-secret-0123456789abcdef0123456789";
pub const CONTACT_KEY: &str = "local-contact-key-0123456789abcdef0123456789";
pub const META_ACCESS_TOKEN: &str = "meta-token";
pub const META_APP_SECRET: &str = "local-meta-app-secret";
pub const META_VERIFY_TOKEN: &str = "local-meta-verify-token";
pub const GREEN_API_TOKEN: &str = "green-token";
pub const GREEN_API_WEBHOOK_TOKEN: &str = "local-green-webhook-token";
pub const REPORT_TOKEN: &str = "local-report-token";
pub const MAX_INSTANCE: &str = "3100000001";
pub const MAX_TOKEN: &str = "local-max-token";
pub const MAX_WEBHOOK_TOKEN: &str = "local-max-webhook-token";
pub const SMSRU_API_ID: &str = "local-smsru-api-id";
pub const SMS_CALLBACK_SECRET: &str = "local-sms-callback-secret-0123456789";

/// Stands for the provider simulator's URL in a config edit (`local::Options::config_edit`),
/// which cannot know it: the stack puts the address in.
pub const SIM_URL: &str = "@PROVIDER_SIM_URL@";

/// The simulator's MAX instance and SMS.ru, as `[max]` and `[sms]` tables.
fn max_and_sms() -> String {
    format!(
        "[max]\napi_url = \"{SIM_URL}\"\ninstance_id = \"{MAX_INSTANCE}\"\n\n\
         [sms]\nprovider = \"smsru\"\napi_url = \"{SIM_URL}\"\nsender = \"Otklik\"\n"
    )
}

/// A shop in Russia in 2026: MAX first, then an SMS with a short link, then email
/// (docs/channels.md), on the simulator's MAX instance and SMS.ru.
/// Reminders on, as in a real installation (the local stack's default is off: see
/// [`config_text`]).
pub fn reminders_on(config: String) -> String {
    config.replace("reminder_after = \"off\"", "reminder_after = \"24h\"")
}

/// The Russian shop with its reminder, and links that may be tapped a second after they arrive
/// (time passes thousands of times faster here).
pub fn russia_2026_reminding(config: String) -> String {
    russia_2026(reminders_on(config))
        .replace("min_click_delay = \"15s\"", "min_click_delay = \"1s\"")
}

pub fn russia_2026(config: String) -> String {
    format!(
        "{config}\n[channels]\nchain = [\"max\", \"sms\", \"email\"]\n\n{}",
        max_and_sms()
    )
}

/// The site code of the Russian shop in the retailCRM simulator's demo account.
pub const RUSSIA_SITE: &str = "russia-2026";

/// The configuration plus a Russian site of its own (`sites.russia-2026.channels`: MAX, SMS,
/// email) on the simulator's MAX instance and SMS.ru; every other site keeps its chain. What
/// `make local-up` (so the sandbox) and the demo's third shop run.
pub fn with_russia_site(config: String) -> String {
    format!(
        "{config}\n[sites.{RUSSIA_SITE}]\ntimezone = \"Europe/Moscow\"\n\
         channels = [\"max\", \"sms\", \"email\"]\n\n{}",
        max_and_sms()
    )
}

/// Where the local parts listen.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub retailcrm: String,
    pub whatsapp: String,
    /// The API's base URL (rating links point here).
    pub api: String,
    /// `meta` or `green-api`.
    pub provider: String,
}

/// The example configuration pointed at the local endpoints.
pub fn config(e: &Endpoints) -> Result<Config, String> {
    Config::from_toml(&config_text(e)).map_err(|e| e.to_string())
}

/// The text of [`config`]: what `make local-up` writes to `.local/otklik.toml`.
pub fn config_text(e: &Endpoints) -> String {
    EXAMPLE_CONFIG
        .replace(
            "url = \"https://demo.retailcrm.ru\"",
            &format!("url = \"{}\"", e.retailcrm),
        )
        .replace(
            "api_url = \"https://graph.facebook.com\"",
            &format!("api_url = \"{}\"", e.whatsapp),
        )
        .replace(
            "api_url = \"https://api.green-api.com\"",
            &format!("api_url = \"{}\"", e.whatsapp),
        )
        .replace(
            "landing_base_url = \"https://feedback.example.ru\"",
            &format!("landing_base_url = \"{}\"", e.api),
        )
        .replace(
            "provider = \"meta\"",
            &format!("provider = \"{}\"", e.provider),
        )
        // Local time runs thousands of times faster, so a day's reminder would overtake most
        // scripted answers; the stack runs without it unless a test or the demo turns it on
        // ([`reminders_on`]).
        .replace("reminder_after = \"24h\"", "reminder_after = \"off\"")
}

/// Every local secret under the name the functions read it by: one list for [`secrets`],
/// `.local/stack.env` and the cold-start bench's Secrets Manager secret.
pub const SECRETS: [(&str, &str); 14] = [
    ("OTKLIK_CRM_API_KEY", CRM_API_KEY),
    ("OTKLIK_TRIGGER_SECRET", TRIGGER_SECRET),
    ("OTKLIK_LINK_SECRET", LINK_SECRET),
    ("OTKLIK_CONTACT_KEY", CONTACT_KEY),
    ("OTKLIK_META_ACCESS_TOKEN", META_ACCESS_TOKEN),
    ("OTKLIK_META_APP_SECRET", META_APP_SECRET),
    ("OTKLIK_META_VERIFY_TOKEN", META_VERIFY_TOKEN),
    ("OTKLIK_GREEN_API_TOKEN", GREEN_API_TOKEN),
    ("OTKLIK_GREEN_API_WEBHOOK_TOKEN", GREEN_API_WEBHOOK_TOKEN),
    ("OTKLIK_REPORT_TOKEN", REPORT_TOKEN),
    ("OTKLIK_MAX_TOKEN", MAX_TOKEN),
    ("OTKLIK_MAX_WEBHOOK_TOKEN", MAX_WEBHOOK_TOKEN),
    ("OTKLIK_SMSRU_API_ID", SMSRU_API_ID),
    ("OTKLIK_SMS_CALLBACK_SECRET", SMS_CALLBACK_SECRET),
];

/// The local secrets, as the functions would read them from their environment.
pub fn secrets(config: &Config) -> Result<Secrets, String> {
    Secrets::load(config, |k| {
        SECRETS
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .map_err(|e| e.to_string())
}

/// What has to exist before the functions run: the stack's table, queues and schedule group, the
/// configured sender verified in SES (SES sends only from a verified identity), and the shop's
/// side as `otklik crm setup` makes it.
pub async fn prepare(clients: &Clients, names: &Names, config: &Config) -> Result<(), String> {
    otklik_aws::provision::ensure_all(clients, names)
        .await
        .map_err(|e| format!("provisioning {}: {e}", names.stack))?;
    let _ = aws_sdk_sesv2::Client::new(&clients.sdk)
        .create_email_identity()
        .email_identity(config.email.from_address.as_str())
        .send()
        .await;
    let crm = otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
        config,
        CRM_API_KEY,
    ))
    .map_err(|e| e.to_string())?;
    otklik_cli::crm_setup::run(&crm, config)
        .await
        .map_err(|e| format!("crm setup: {e}"))?;
    Ok(())
}

/// The engine the reply functions share, on `names`' table and queues.
pub async fn engine(clients: &Clients, names: &Names, config: &Config) -> Result<Engine, String> {
    Ok(Engine {
        store: DynamoStore::new(clients.dynamodb.clone(), names)
            .with_hasher(
                secrets(config)?
                    .contact_hasher()
                    .ok_or("the local secrets lack OTKLIK_CONTACT_KEY")?,
            )
            .folding(config.timezone, config.complaints.clone()),
        queues: Some(
            EffectQueues::connect(clients.sqs.clone(), names)
                .await
                .map_err(|e| e.to_string())?,
        ),
        machine: MachineConfig::from(config),
    })
}
