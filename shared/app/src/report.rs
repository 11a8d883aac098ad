//! Collecting the KPI report's facts from the store (the arithmetic is `otklik_core::kpi`, the
//! dashboard's `otklik_core::dashboard`). The figures of a period come from the per-day counters
//! ([`by_days`]); [`gather`] and [`facts_between`] read every survey asked in a window (the lists
//! of rated orders, the digest, and the reference the counters are tested against).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use otklik_core::config::ComplaintsConfig;
use otklik_core::dashboard::{OpenCase, OrderFacts};
use otklik_core::kpi::fold::{report_of, within};
use otklik_core::kpi::{report, Report, SurveyFacts};
use otklik_core::machine::Survey;
use otklik_core::model::SurveyId;
use otklik_core::ports::{PortError, SurveyStore};

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
/// The surveys come from the `sent` index by period; the complaint tracks in batched reads, only
/// of the surveys that decided a complaint.
pub async fn facts_between(
    store: &DynamoStore,
    complaints: &ComplaintsConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OrderFacts>, PortError> {
    let surveys = store.surveys_sent_between(from, to).await?;
    let with_complaint: Vec<SurveyId> = surveys
        .iter()
        .filter(|s| s.complaint_decided())
        .map(|s| s.id.clone())
        .collect();
    let mut tracks = store.complaint_tracks(&with_complaint).await?;
    Ok(surveys
        .into_iter()
        .filter_map(|s| {
            let track = tracks.remove(s.id.as_str());
            facts_of(complaints, s, track)
        })
        .collect())
}

/// The surveys asked between `from` and `to` that `employee` worked and that were rated 1–3 (an
/// employee's page), `take` of them after the first `skip` in the page's order (lowest rating
/// first, then newest): read through the employee's own list, not the period's surveys.
pub async fn low_ratings_of(
    store: &DynamoStore,
    complaints: &ComplaintsConfig,
    employee: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    skip: usize,
    take: usize,
) -> Result<Vec<OrderFacts>, PortError> {
    let mut facts: Vec<OrderFacts> = store
        .low_rated_of(employee, from, to, skip, take)
        .await?
        .into_iter()
        .filter_map(|(s, track)| facts_of(complaints, s, track))
        .collect();
    // Batched reads answer in any order: one fixed order (the page sorts by itself).
    facts.sort_by(|a, b| a.kpi.survey.cmp(&b.kpi.survey));
    Ok(facts)
}

/// A survey's facts with its complaint's track; `None` for a survey never sent.
fn facts_of(
    complaints: &ComplaintsConfig,
    s: Survey,
    track: Option<otklik_core::complaint::ComplaintTrack>,
) -> Option<OrderFacts> {
    let (Some(channel), Some(sent_at)) = (s.channel, s.sent_at) else {
        return None;
    };
    Some(OrderFacts {
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
    })
}

/// The KPI report of the shop's days `from..=to` from the per-day counters the saves keep
/// (`otklik_core::kpi::fold`): a query per month of the period, whatever the number of surveys.
/// The same figures as [`gather`] over the same days (tested); the names as in [`gather`].
pub async fn by_days(
    store: &DynamoStore,
    from: NaiveDate,
    to: NaiveDate,
    names: &BTreeMap<u64, String>,
) -> Result<Report, PortError> {
    let cells = store.kpi_cells(from, to).await?;
    let unnamed = report_of(within(&cells, from, to), names);
    let ids = unnamed.employees.iter().filter_map(|r| r.employee_id);
    let names = names_for(store, ids, names).await?;
    Ok(report_of(within(&cells, from, to), &names))
}

/// The complaints the counters list as open, of surveys asked between `from` and `to` (the
/// dashboard's open complaints): the list's entries carry them; an entry an older build put is
/// completed from its survey, in batched reads.
pub async fn open_cases(
    store: &DynamoStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<OpenCase>, PortError> {
    let mut out = Vec::new();
    let mut bare = Vec::new();
    for (id, case) in store.report_open_complaints().await? {
        match case {
            Some(c) => out.push(c),
            None => bare.push(id),
        }
    }
    if !bare.is_empty() {
        for (s, track) in store.surveys_with_tracks(&bare).await? {
            if let Some(c) = track.and_then(|t| OpenCase::from_survey(&s, &t)) {
                out.push(c);
            }
        }
    }
    out.retain(|c| c.sent_at >= from && c.sent_at <= to);
    // Batched reads answer in any order: one fixed order (the page sorts by age itself).
    out.sort_by(|a, b| a.survey.cmp(&b.survey));
    Ok(out)
}

/// `known` names, and those of `ids` it lacks as the CRM writer stored them.
pub async fn names_for(
    store: &DynamoStore,
    ids: impl IntoIterator<Item = u64>,
    known: &BTreeMap<u64, String>,
) -> Result<BTreeMap<u64, String>, PortError> {
    let mut names = known.clone();
    let unnamed: BTreeSet<u64> = ids.into_iter().filter(|e| !names.contains_key(e)).collect();
    if !unnamed.is_empty() {
        names.extend(store.employee_names(unnamed).await?);
    }
    Ok(names)
}

/// Reads the customers' words of the surveys `wanted` picks (only for what a page or file
/// shows), a hundred surveys per batched read.
pub async fn attach_words(
    store: &DynamoStore,
    facts: &mut [OrderFacts],
    wanted: impl Fn(&OrderFacts) -> bool,
) -> Result<(), PortError> {
    let mut ids = Vec::new();
    for f in facts.iter().filter(|f| wanted(f)) {
        ids.push(
            SurveyId::parse(&f.kpi.survey)
                .map_err(|e| PortError::Permanent(format!("survey id {:?}: {e}", f.kpi.survey)))?,
        );
    }
    let mut words = store.words_of_many(&ids).await?;
    for f in facts.iter_mut().filter(|f| wanted(f)) {
        f.words = words.remove(&f.kpi.survey).unwrap_or_default();
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

/// What [`rebuild`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Surveys read, and those whose part was (re)added or that the `sent` index lacked.
    pub surveys: usize,
    pub surveys_folded: usize,
    /// Complaints read, and those whose part was (re)added.
    pub complaints: usize,
    pub complaints_folded: usize,
    /// Entries put on the employees' lists of low ratings (all of them, again).
    pub listed: usize,
}

impl std::fmt::Display for Rebuilt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} surveys and {} of {} complaints added to the KPI counters and the reports' index (the rest were already there); {} entries on the employees' lists of low ratings",
            self.surveys_folded, self.surveys, self.complaints_folded, self.complaints, self.listed
        )
    }
}

/// Adds to the per-day counters every survey and complaint whose part is missing or stale:
/// those saved before the counters existed (once, after the upgrade), or by a store without the
/// shop's settings. Each goes through the store's own conditional save, so running it twice, or
/// while the functions run, counts nothing twice. `store` must keep the counters
/// ([`DynamoStore::folding`]).
pub async fn rebuild(
    store: &DynamoStore,
    complaints: &ComplaintsConfig,
) -> Result<Rebuilt, PortError> {
    use otklik_core::kpi::fold::{complaint_part, survey_part};
    let Some(tz) = store.folding_tz() else {
        return Err(PortError::Permanent(
            "this store does not keep the KPI counters (no shop settings)".into(),
        ));
    };
    let mut done = Rebuilt::default();
    let every = store.every_survey().await?;
    // The employees' lists of low ratings: put again for every survey (idempotent), since a
    // survey saved before they existed has none and nothing else would add them.
    let surveys: Vec<Survey> = every.iter().map(|(s, _)| s.clone()).collect();
    done.listed = store.put_listings(&surveys).await?;
    for (s, indexed) in &every {
        done.surveys += 1;
        if *indexed && s.kpi == survey_part(s, tz) {
            continue;
        }
        // Saving again writes the counters' part and the `sent` index's keys (a survey saved
        // before the index existed lacks them, and no report would list it).
        let folded = crate::retry::retry_on_conflict(format!("survey {}", s.id), |_| async {
            let Some(current) = store.get(&s.id).await? else {
                return Ok(false);
            };
            if *indexed && current.kpi == survey_part(&current, tz) {
                return Ok(false);
            }
            store.save(&current).await?;
            Ok(true)
        })
        .await?;
        done.surveys_folded += usize::from(folded);
    }
    for id in store.complaint_surveys().await? {
        done.complaints += 1;
        let folded = crate::retry::retry_on_conflict(format!("complaint {id}"), |_| async {
            let (Some((mut track, version)), Some(s)) =
                (store.complaint_track(&id).await?, store.get(&id).await?)
            else {
                return Ok(false);
            };
            if track.kpi == complaint_part(&s, &track, complaints, tz) {
                return Ok(false);
            }
            store.save_complaint_track(&id, &mut track, version).await?;
            Ok(true)
        })
        .await?;
        done.complaints_folded += usize::from(folded);
    }
    Ok(done)
}
