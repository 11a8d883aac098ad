//! `otklik crm setup`: prepares a retailCRM account for Otklik and says what is missing.
//!
//! It checks the sites, statuses and the inspector named in the config, creates the two order
//! fields we write (the rating, read-only for managers, and the customer's words) when they are
//! missing, and prints the exact trigger to paste into retailCRM. A second run changes nothing.

use otklik_core::config::Config;
use otklik_retailcrm::{CrmError, NewCustomField, RetailCrm};

/// What setup found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SetupReport {
    /// Human-readable lines, in order.
    pub lines: Vec<String>,
    /// Things the integrator must fix in retailCRM or in the config.
    pub problems: Vec<String>,
    /// Fields created by this run.
    pub created: Vec<String>,
}

impl SetupReport {
    fn ok(&mut self, s: impl Into<String>) {
        self.lines.push(format!("  ok       {}", s.into()));
    }
    fn problem(&mut self, s: impl Into<String>) {
        let s = s.into();
        self.lines.push(format!("  MISSING  {s}"));
        self.problems.push(s);
    }
    fn created(&mut self, code: &str, s: impl Into<String>) {
        self.lines.push(format!("  created  {}", s.into()));
        self.created.push(code.to_string());
    }
}

/// The statuses the trigger reports: those that start a survey, and every status a complaint
/// moves to after "created" (complaint tracking).
pub fn trigger_statuses(config: &Config) -> Vec<String> {
    let c = &config.complaints;
    let mut out = config.crm.survey_statuses.clone();
    for s in [&c.status_in_work, &c.status_resolved, &c.status_failed] {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The retailCRM trigger that calls our webhook, as text to paste.
pub fn trigger_text(config: &Config, webhook_url: &str, trigger_secret: &str) -> String {
    let statuses = trigger_statuses(config)
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Create this trigger in retailCRM (Administration → Communications → Triggers → Add):\n\
         \x20 Name:       Otklik: surveys and complaint tracking\n\
         \x20 Code:       otklik-survey\n\
         \x20 Active:     yes\n\
         \x20 Event:      Order changed\n\
         \x20 Condition:  changeSet.hasChangedField(\"status\") and changeSet.newValue(\"status\").code in [{statuses}]\n\
         \x20 Action:     HTTP request, method POST\n\
         \x20 URL:        {webhook_url}\n\
         \x20 Parameters:\n\
         \x20   orderId = {{{{ order.id }}}}\n\
         \x20   site    = {{{{ order.site.code }}}}\n\
         \x20   secret  = {trigger_secret}\n\
         Keep the secret private: it is what tells our webhook the call comes from your account.\n"
    )
}

/// Every site code the config names, once each, with where it is first named: the complaints
/// store, the `[sites.*]` tables, and the timing rules (a rule for a site that does not exist
/// would silently never match).
pub fn wanted_sites(config: &Config) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |code: &str, named_in: String| {
        if !out.iter().any(|(c, _)| c == code) {
            out.push((code.to_string(), named_in));
        }
    };
    add(&config.complaints.site, "complaints.site".into());
    for code in config.sites.keys() {
        add(code, format!("[sites.{code}]"));
    }
    for (i, rule) in config.survey.rules.iter().enumerate() {
        if let Some(site) = &rule.site {
            add(site, format!("survey.rules[{i}]"));
        }
    }
    out
}

/// Checks the account and creates what is missing.
pub async fn run(crm: &RetailCrm, config: &Config) -> Result<SetupReport, CrmError> {
    let mut r = SetupReport::default();

    r.lines.push("Sites:".into());
    let sites = crm.sites().await?;
    for (code, named_in) in wanted_sites(config) {
        match sites.iter().find(|s| s.code == code) {
            Some(s) => r.ok(format!("site {code} ({})", s.name)),
            None => r.problem(format!(
                "site {code} (named in {named_in}) does not exist in retailCRM; \
                 fix the code in otklik.toml or create the site"
            )),
        }
    }

    r.lines.push("Statuses:".into());
    let statuses = crm.statuses().await?;
    let c = &config.complaints;
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for s in &config.crm.survey_statuses {
        wanted.push(("survey", s));
    }
    for s in &config.crm.cancel_statuses {
        wanted.push(("cancel", s));
    }
    wanted.extend([
        ("complaint created", c.status_created.as_str()),
        ("complaint in work", c.status_in_work.as_str()),
        ("complaint failed", c.status_failed.as_str()),
        ("complaint resolved", c.status_resolved.as_str()),
    ]);
    for (role, code) in wanted {
        match statuses.iter().find(|s| s.code == code) {
            Some(s) if s.active => r.ok(format!("{role} status {code} ({})", s.name)),
            Some(_) => r.problem(format!("{role} status {code} exists but is not active")),
            None => r.problem(format!("{role} status {code} does not exist")),
        }
    }

    r.lines.push("Inspector:".into());
    let users = crm.users().await?;
    let inspector = c.inspector_id.get();
    match users.iter().find(|u| u.id == inspector) {
        Some(u) if u.active => {
            let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            r.ok(format!("user {inspector} ({name})"))
        }
        Some(_) => r.problem(format!("inspector user {inspector} is not active")),
        None => r.problem(format!("inspector user {inspector} does not exist")),
    }

    r.lines.push("Order fields:".into());
    let fields = crm.order_custom_fields().await?;
    // A shop's own words (`[texts.crm.<lang>]`) were checked when the config loaded.
    let texts = otklik_core::texts::Texts::from_config(&config.texts)
        .map_err(|e| CrmError::InvalidConfig(e.to_string()))?;
    let (rating_name, words_name) = otklik_core::crm_texts::field_names(&texts, texts.language());
    let wanted_fields = [
        (
            config.crm.rating_field.as_str(),
            rating_name.as_str(),
            "integer",
        ),
        (config.crm.words_field.as_str(), words_name.as_str(), "text"),
    ];
    for (code, name, kind) in wanted_fields {
        match fields.iter().find(|f| f.code == code) {
            Some(f) => {
                if f.field_type != kind {
                    r.problem(format!(
                        "field {code} has type {} but Otklik writes {kind}",
                        f.field_type
                    ));
                } else if f.view_mode.as_deref().is_some_and(|m| m == "editable") {
                    r.problem(format!(
                        "field {code} is editable by managers; set it to read-only (not_editable)"
                    ));
                } else {
                    r.ok(format!("field {code} «{}»", f.name));
                }
            }
            None => {
                crm.create_order_custom_field(&NewCustomField {
                    name: name.to_string(),
                    code: code.to_string(),
                    field_type: kind.to_string(),
                    view_mode: "not_editable".to_string(),
                })
                .await?;
                r.created(
                    code,
                    format!("field {code} «{name}» ({kind}, read-only for managers)"),
                );
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_reports_survey_and_complaint_statuses() {
        let config = Config::from_toml(include_str!("../../../otklik.example.toml")).unwrap();
        assert_eq!(
            trigger_statuses(&config),
            [
                "complete",
                "complaint-in-work",
                "complaint-resolved",
                "complaint-failed"
            ]
        );
        let text = trigger_text(&config, "https://api.example/webhooks/retailcrm", "s3cret");
        assert!(
            text.contains(
                r#"in ["complete", "complaint-in-work", "complaint-resolved", "complaint-failed"]"#
            ),
            "{text}"
        );
    }
}
