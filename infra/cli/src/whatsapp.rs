//! `otklik whatsapp template`: creates the question template a Meta shop needs, from the config,
//! through Meta's message templates API, so the buttons' order is the one the sends assume.

use otklik_core::config::{Config, WhatsappProvider, ENV_META_ACCESS_TOKEN};
use otklik_core::whatsapp_template::{spec, TemplateSpec};
use otklik_messaging::MetaClient;

/// What the command needs before it calls Meta, or the sentence saying what is missing.
pub fn prepare(config: &Config) -> Result<(TemplateSpec, String), String> {
    if config.whatsapp.provider != WhatsappProvider::Meta {
        return Err(
            "whatsapp.provider is not \"meta\": only Meta's WhatsApp Cloud API needs an approved \
             template (GREEN-API and MAX send our own words)"
                .into(),
        );
    }
    let template = spec(config).ok_or("the [whatsapp.meta] table is missing")?;
    let waba = config
        .whatsapp
        .meta
        .as_ref()
        .and_then(|m| m.business_account_id.clone())
        .filter(|id| !id.trim().is_empty())
        .ok_or(
            "set whatsapp.meta.business_account_id to the WhatsApp Business Account id \
             (WhatsApp Manager → Account tools → Phone numbers shows it)",
        )?;
    Ok((template, waba))
}

/// Creates the template under the account `waba`; the lines to print on success.
pub async fn create(
    config: &Config,
    template: &TemplateSpec,
    waba: &str,
    token: Option<&str>,
) -> Result<Vec<String>, String> {
    let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        format!("{ENV_META_ACCESS_TOKEN} is not set: Meta needs it to create the template")
    })?;
    let meta = config
        .whatsapp
        .meta
        .clone()
        .ok_or("the [whatsapp.meta] table is missing")?;
    let created = MetaClient::new(meta, token)
        .create_template(waba, template)
        .await
        .map_err(|e| e.to_string())?;
    Ok(vec![
        format!(
            "Template {} ({}) created: id {}, status {}.",
            template.name, template.language, created.id, created.status
        ),
        "Meta reviews it (usually within minutes, at most a day); surveys on WhatsApp can go out \
         once WhatsApp Manager shows it as Active."
            .into(),
    ])
}
