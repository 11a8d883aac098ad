//! Collecting the KPI report's facts from the store (the arithmetic is `otklik_core::kpi`, the
//! dashboard's `otklik_core::dashboard`): one pass over the surveys asked in a window, each with
//! its complaint's track, the employees' names, and the customers' words where a page shows them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use otklik_core::config::ComplaintsConfig;
use otklik_core::dashboard::OrderFacts;
use otklik_core::kpi::{report, Report, SurveyFacts};
use otklik_core::model::SurveyId;
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
    let facts = facts_between(store, complaints, from, to).await?;
    let names = names_of(store, &facts, [], names).await?;
    let kpi: Vec<SurveyFacts> = facts.into_iter().map(|f| f.kpi).collect();
    Ok(report(&kpi, &names))
}

/// Every survey asked between `from` and `to`, as the KPI and the dashboard count it (a survey
/// never sent on any channel is not asked, and not counted). No words yet: [`attach_words`].
pub async fn facts_between(
    store: &DynamoStore,
    complaints: &ComplaintsConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OrderFacts>, PortError> {
    let mut facts = Vec::new();
    for s in store.surveys_sent_between(from, to).await? {
        let (Some(channel), Some(sent_at)) = (s.channel, s.sent_at) else {
            continue;
        };
        let track = store.complaint_track(&s.id).await?.map(|(track, _)| track);
        facts.push(OrderFacts {
            kpi: SurveyFacts {
                survey: s.id.to_string(),
                channel,
                asked: s.asked.clone(),
                answered_via: s.replied_via,
                rating: s.rating.map(|r| r.value()),
                employees: s.employees.iter().map(|e| e.get()).collect(),
                complaint: track.as_ref().map(|t| t.facts(complaints)),
                awaiting_human: otklik_core::kpi::awaiting_human(&s),
            },
            order: s.order.clone(),
            sent_at,
            rated_at: s.rated_at,
            words: Vec::new(),
            words_erased: s.personal_data_erased(),
            complaint: track,
        });
    }
    Ok(facts)
}

/// Reads the customers' words of the surveys `wanted` picks (one read each: only for what a page
/// or file shows).
pub async fn attach_words(
    store: &DynamoStore,
    facts: &mut [OrderFacts],
    wanted: impl Fn(&OrderFacts) -> bool,
) -> Result<(), PortError> {
    for f in facts.iter_mut().filter(|f| wanted(f)) {
        let id = SurveyId::parse(&f.kpi.survey)
            .map_err(|e| PortError::Permanent(format!("survey id {:?}: {e}", f.kpi.survey)))?;
        f.words = store.words_of(&id).await?;
    }
    Ok(())
}

/// The names of everyone the facts credit, and of `also` (the inspector): `known` first, the
/// rest as the CRM writer stored them.
pub async fn names_of(
    store: &DynamoStore,
    facts: &[OrderFacts],
    also: impl IntoIterator<Item = u64>,
    known: &BTreeMap<u64, String>,
) -> Result<BTreeMap<u64, String>, PortError> {
    let mut names = known.clone();
    let unnamed: BTreeSet<u64> = facts
        .iter()
        .flat_map(|f| f.kpi.employees.iter().copied())
        .chain(also)
        .filter(|e| !names.contains_key(e))
        .collect();
    names.extend(store.employee_names(unnamed).await?);
    Ok(names)
}
