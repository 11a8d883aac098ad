//! Collecting the KPI report's facts from the store (the arithmetic is `otklik_core::kpi`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use otklik_core::config::ComplaintsConfig;
use otklik_core::kpi::{report, Report, SurveyFacts};
use otklik_core::ports::PortError;

use otklik_aws::store::DynamoStore;

/// Collects the facts and computes the report. `names` labels employees; one it lacks is looked up
/// among the names the CRM writer keeps (`DynamoStore::employee_names`).
pub async fn gather(
    store: &DynamoStore,
    complaints: &ComplaintsConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    names: &BTreeMap<u64, String>,
) -> Result<Report, PortError> {
    let mut facts = Vec::new();
    for s in store.surveys_sent_between(from, to).await? {
        let Some(channel) = s.channel else { continue };
        let complaint = store
            .complaint_track(&s.id)
            .await?
            .map(|(track, _)| track.facts(complaints));
        facts.push(SurveyFacts {
            survey: s.id.to_string(),
            channel,
            asked: s.asked.clone(),
            answered_via: s.replied_via,
            rating: s.rating.map(|r| r.value()),
            employees: s.employees.iter().map(|e| e.get()).collect(),
            complaint,
        });
    }
    let mut names = names.clone();
    let unnamed: std::collections::BTreeSet<u64> = facts
        .iter()
        .flat_map(|f| f.employees.iter().copied())
        .filter(|e| !names.contains_key(e))
        .collect();
    names.extend(store.employee_names(unnamed).await?);
    Ok(report(&facts, &names))
}
