//! The KPI kept as per-day counters, so a report reads a period's days instead of every survey.
//!
//! Each survey and each complaint adds a *part* to the counters of the day it was asked (the
//! shop's day). The part last added is kept in the survey's (or complaint's) own document; a save
//! adds the difference between the new part and the kept one, in the same conditional write, so a
//! redelivered or retried change adds nothing and a crash leaves both or neither. [`report_of`]
//! turns a period's counters into the very [`Report`] that [`kpi::report`] computes per survey.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::complaint::ComplaintTrack;
use crate::config::ComplaintsConfig;
use crate::kpi::{self, ChannelRate, ComplaintFacts, Report, Row, SurveyFacts};
use crate::machine::Survey;
use crate::model::Channel;

/// Whose counters: the team's, or one employee's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    Team,
    Employee(u64),
}

impl RowKey {
    /// How the key is written after the day in a stored sort key.
    pub fn code(self) -> String {
        match self {
            RowKey::Team => "t".into(),
            RowKey::Employee(e) => format!("e#{e}"),
        }
    }

    pub fn parse(code: &str) -> Option<RowKey> {
        match code {
            "t" => Some(RowKey::Team),
            _ => code.strip_prefix("e#")?.parse().ok().map(RowKey::Employee),
        }
    }
}

/// The shop's day an instant falls on: the day whose counters it adds to.
pub fn day_of(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// What a survey adds to the counters, as last added (kept in the survey's document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SurveyPart {
    pub day: NaiveDate,
    /// The channels asked on, once each.
    pub asked: BTreeSet<Channel>,
    /// The rating and the channel it came on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated: Option<(u8, Channel)>,
    /// Everyone credited, once each.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub employees: BTreeSet<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_human: bool,
}

/// What a complaint adds to the counters of its survey's day and crew, as last added (kept in the
/// complaint's document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplaintPart {
    pub day: NaiveDate,
    pub survey: String,
    pub employees: BTreeSet<u64>,
    /// Seconds from opening to the resolved status, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_secs: Option<i64>,
    /// Not in a final status: listed among the open complaints.
    pub open: bool,
}

/// The per-survey facts exactly as the per-survey report reads them (`otklik_app::report`).
/// `None` for a survey never sent: it is not asked, and not counted.
pub fn survey_facts(s: &Survey) -> Option<SurveyFacts> {
    let channel = s.channel?;
    s.sent_at?;
    Some(SurveyFacts {
        survey: s.id.to_string(),
        channel,
        asked: s.asked.clone(),
        answered_via: s.replied_via,
        rating: s.rating.map(|r| r.value()),
        employees: s.employees.iter().map(|e| e.get()).collect(),
        complaint: None,
        awaiting_human: kpi::awaiting_human(s),
    })
}

/// The part a survey adds now.
pub fn survey_part(s: &Survey, tz: Tz) -> Option<SurveyPart> {
    let f = survey_facts(s)?;
    let sent_at = s.sent_at?;
    let asked: BTreeSet<Channel> = if f.asked.is_empty() {
        BTreeSet::from([f.channel])
    } else {
        f.asked.iter().copied().collect()
    };
    Some(SurveyPart {
        day: day_of(sent_at, tz),
        asked,
        rated: f.rating.map(|r| (r, f.answered_via.unwrap_or(f.channel))),
        employees: f.employees.iter().copied().collect(),
        awaiting_human: f.awaiting_human,
    })
}

/// The part a complaint adds now: only a rated, sent survey's complaint counts (as in
/// [`kpi::report`], whose rows skip unrated surveys).
pub fn complaint_part(
    s: &Survey,
    track: &ComplaintTrack,
    cfg: &ComplaintsConfig,
    tz: Tz,
) -> Option<ComplaintPart> {
    let part = survey_part(s, tz)?;
    part.rated?;
    let ComplaintFacts { opened_at, closed } = track.facts(cfg);
    Some(ComplaintPart {
        day: part.day,
        survey: s.id.to_string(),
        employees: part.employees,
        resolved_secs: match closed {
            Some((at, true)) => Some((at - opened_at).num_seconds()),
            _ => None,
        },
        open: closed.is_none(),
    })
}

/// One row's counters of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// Counters by name: `rated`, `sum`, `r1`..`r5`, `opened`, `resolved`, `awaiting`,
    /// `asked_<channel>`, `answered_<channel>`.
    pub counts: BTreeMap<String, i64>,
    /// Seconds to resolve, per survey whose complaint was resolved.
    pub resolved_secs: BTreeMap<String, i64>,
}

impl Cell {
    fn count(&self, name: &str) -> i64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    fn bump(&mut self, name: &str, by: i64) {
        *self.counts.entry(name.to_string()).or_default() += by;
    }

    /// Adds a change (in memory: tests and seeding fold the same way the store does).
    pub fn apply(&mut self, d: &CellDelta) {
        for (k, v) in &d.add {
            self.bump(k, *v);
        }
        for k in &d.remove {
            self.resolved_secs.remove(k);
        }
        for (k, v) in &d.set {
            self.resolved_secs.insert(k.clone(), *v);
        }
    }

    fn merge(&mut self, other: &Cell) {
        for (k, v) in &other.counts {
            self.bump(k, *v);
        }
        self.resolved_secs
            .extend(other.resolved_secs.iter().map(|(k, v)| (k.clone(), *v)));
    }
}

/// Counters by day and row.
pub type Cells = BTreeMap<(NaiveDate, RowKey), Cell>;

/// The counters a survey's part adds.
pub fn survey_cells(p: Option<&SurveyPart>) -> Cells {
    let mut out = Cells::new();
    let Some(p) = p else { return out };
    let team = out.entry((p.day, RowKey::Team)).or_default();
    for c in &p.asked {
        team.bump(&format!("asked_{c}"), 1);
    }
    if p.awaiting_human {
        team.bump("awaiting", 1);
    }
    if let Some((r, via)) = p.rated {
        team.bump(&format!("answered_{via}"), 1);
        let rows =
            std::iter::once(RowKey::Team).chain(p.employees.iter().map(|e| RowKey::Employee(*e)));
        for row in rows {
            let cell = out.entry((p.day, row)).or_default();
            cell.bump("rated", 1);
            cell.bump("sum", i64::from(r));
            cell.bump(&format!("r{r}"), 1);
        }
    }
    out
}

/// The counters a complaint's part adds.
pub fn complaint_cells(p: Option<&ComplaintPart>) -> Cells {
    let mut out = Cells::new();
    let Some(p) = p else { return out };
    let rows =
        std::iter::once(RowKey::Team).chain(p.employees.iter().map(|e| RowKey::Employee(*e)));
    for row in rows {
        let cell = out.entry((p.day, row)).or_default();
        cell.bump("opened", 1);
        if let Some(secs) = p.resolved_secs {
            cell.bump("resolved", 1);
            cell.resolved_secs.insert(p.survey.clone(), secs);
        }
    }
    out
}

/// The change to one stored cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellDelta {
    pub add: BTreeMap<String, i64>,
    pub set: BTreeMap<String, i64>,
    pub remove: BTreeSet<String>,
}

impl CellDelta {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.set.is_empty() && self.remove.is_empty()
    }
}

/// Changes by day and row; empty when nothing changes (a repeated save).
pub type Delta = BTreeMap<(NaiveDate, RowKey), CellDelta>;

/// What turns the counters `old` adds into those `new` adds.
pub fn delta(old: &Cells, new: &Cells) -> Delta {
    let empty = Cell::default();
    let keys: BTreeSet<&(NaiveDate, RowKey)> = old.keys().chain(new.keys()).collect();
    let mut out = Delta::new();
    for key in keys {
        let (o, n) = (
            old.get(key).unwrap_or(&empty),
            new.get(key).unwrap_or(&empty),
        );
        let mut d = CellDelta::default();
        for name in o.counts.keys().chain(n.counts.keys()) {
            let by = n.count(name) - o.count(name);
            if by != 0 {
                d.add.insert(name.clone(), by);
            }
        }
        for (k, v) in &n.resolved_secs {
            if o.resolved_secs.get(k) != Some(v) {
                d.set.insert(k.clone(), *v);
            }
        }
        for k in o.resolved_secs.keys() {
            if !n.resolved_secs.contains_key(k) {
                d.remove.insert(k.clone());
            }
        }
        if !d.is_empty() {
            out.insert(*key, d);
        }
    }
    out
}

/// A survey about to be saved: the part it adds now, and the change from the part it added last
/// (its `kpi`). The store saves the survey with the new part and adds the change in one write.
pub fn refold_survey(s: &Survey, tz: Tz) -> (Option<SurveyPart>, Delta) {
    let new = survey_part(s, tz);
    let d = delta(&survey_cells(s.kpi.as_ref()), &survey_cells(new.as_ref()));
    (new, d)
}

/// A complaint about to be saved, with its survey as stored: as [`refold_survey`].
pub fn refold_complaint(
    s: &Survey,
    track: &ComplaintTrack,
    cfg: &ComplaintsConfig,
    tz: Tz,
) -> (Option<ComplaintPart>, Delta) {
    let new = complaint_part(s, track, cfg, tz);
    let d = delta(
        &complaint_cells(track.kpi.as_ref()),
        &complaint_cells(new.as_ref()),
    );
    (new, d)
}

/// Adds `d` to in-memory counters.
pub fn apply(cells: &mut Cells, d: &Delta) {
    for (key, cd) in d {
        cells.entry(*key).or_default().apply(cd);
    }
}

fn row_of(employee_id: Option<u64>, name: Option<String>, c: &Cell) -> Row {
    let n = c.count("rated").max(0) as u32;
    let dist = [1, 2, 3, 4, 5].map(|r| c.count(&format!("r{r}")).max(0) as u32);
    let sum = c.count("sum").max(0) as u32;
    let happy = f64::from(dist[3] + dist[4]);
    let hours: Vec<f64> = c
        .resolved_secs
        .values()
        .map(|s| *s as f64 / 3600.0)
        .collect();
    Row {
        employee_id,
        name,
        rated_orders: n,
        average_rating: (n > 0).then(|| kpi::round(f64::from(sum) / f64::from(n), 2)),
        csat_percent: (n > 0).then(|| kpi::round(happy * 100.0 / f64::from(n), 1)),
        low_ratings: dist[0] + dist[1],
        complaints_opened: c.count("opened").max(0) as u32,
        complaints_resolved: c.count("resolved").max(0) as u32,
        median_resolve_hours: kpi::median(hours).map(|h| kpi::round(h, 1)),
        distribution: dist,
    }
}

/// The report of a period from its days' counters (every cell of the period's days, none else).
pub fn report_of<'a>(
    cells: impl IntoIterator<Item = (&'a RowKey, &'a Cell)>,
    names: &BTreeMap<u64, String>,
) -> Report {
    let mut rows: BTreeMap<RowKey, Cell> = BTreeMap::new();
    for (key, cell) in cells {
        rows.entry(*key).or_default().merge(cell);
    }
    let team = rows.remove(&RowKey::Team).unwrap_or_default();
    let employees = rows
        .iter()
        .filter(|(_, c)| c.count("rated") > 0)
        .filter_map(|(k, c)| match k {
            RowKey::Employee(e) => Some(row_of(Some(*e), names.get(e).cloned(), c)),
            RowKey::Team => None,
        })
        .collect();
    let mut rates = BTreeMap::new();
    for channel in Channel::ALL {
        let asked = team.count(&format!("asked_{channel}")).max(0) as u32;
        let answered = team.count(&format!("answered_{channel}")).max(0) as u32;
        if asked == 0 && matches!(channel, Channel::Max | Channel::Sms) {
            continue;
        }
        rates.insert(
            channel.to_string(),
            ChannelRate {
                asked,
                answered,
                percent: (asked > 0)
                    .then(|| kpi::round(f64::from(answered) * 100.0 / f64::from(asked), 1)),
            },
        );
    }
    Report {
        employees,
        team: row_of(None, None, &team),
        response_rate_by_channel: rates,
        awaiting_human: team.count("awaiting").max(0) as u32,
    }
}

/// The cells of the days `from..=to`.
pub fn within(
    cells: &Cells,
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = (&RowKey, &Cell)> {
    cells
        .range((from, RowKey::Team)..)
        .take_while(move |((d, _), _)| *d <= to)
        .map(|((_, k), c)| (k, c))
}

#[cfg(test)]
mod tests;
