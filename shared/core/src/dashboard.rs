//! The owner's dashboard (`GET /reports`, issue 21): what its pages and CSV files show, computed
//! from the same facts and the same [`kpi::report`] as `otklik kpi`, plus what only the page has —
//! the weekly trend, open complaints against their SLA, the rated orders behind an employee's
//! figures. Pure: the report function gathers the facts and sends [`page`]'s or [`csv`]'s output.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::complaint::{elapsed, ComplaintTrack};
use crate::config::ComplaintsConfig;
use crate::kpi::{self, Report, Row, SurveyFacts};
use crate::model::{Channel, OrderRef};

pub mod csv;
pub mod page;
#[cfg(test)]
mod tests;
mod words;

pub use words::Words;

/// Weeks in the trend chart: a quarter, enough to see a change last, short enough to read.
pub const TREND_WEEKS: usize = 12;
/// The longest period the page accepts: a year (a leap year's too), as every report. Longer asks
/// are refused with a page saying so, rather than reading years of surveys for one request.
pub const MAX_PERIOD_DAYS: i64 = kpi::MAX_PERIOD_DAYS;
/// Dates outside these years are typing mistakes, not periods anyone has data for.
const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 2100;

/// The periods the page offers as one-tap links; any other is a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// From the 1st of this month to today (the default).
    ThisMonth,
    /// The whole previous month.
    LastMonth,
    /// Today and the six days before it.
    Last7,
    /// Today and the 29 days before it.
    Last30,
    /// The days the person chose.
    Range,
}

impl Preset {
    pub const LINKS: [Preset; 4] = [
        Preset::ThisMonth,
        Preset::LastMonth,
        Preset::Last7,
        Preset::Last30,
    ];

    /// The value of the `period` query parameter.
    pub fn code(self) -> &'static str {
        match self {
            Preset::ThisMonth => "this-month",
            Preset::LastMonth => "last-month",
            Preset::Last7 => "last-7-days",
            Preset::Last30 => "last-30-days",
            Preset::Range => "range",
        }
    }

    fn parse(code: &str) -> Option<Preset> {
        Preset::LINKS.into_iter().find(|p| p.code() == code)
    }
}

/// The days a page is about, whole days in the shop's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub preset: Preset,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a period asked for is refused (the page says which, with a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{0:?} is not a date like 2026-11-01")]
    NotADate(String),
    #[error("both from and to are needed for a range")]
    HalfRange,
    #[error("{0:?} is not a period this page offers")]
    UnknownPreset(String),
    #[error("the last day is before the first")]
    Reversed,
    #[error("the period is {0} days long; at most {MAX_PERIOD_DAYS} are shown at once")]
    TooLong(i64),
    #[error("dates before {FIRST_YEAR} or after {LAST_YEAR} are not shown")]
    OutOfRange,
}

impl Period {
    /// A preset period as of `today` (the shop's date).
    pub fn preset(preset: Preset, today: NaiveDate) -> Period {
        let first_of_month = today.with_day(1).expect("every month has a 1st");
        let (from, to) = match preset {
            Preset::ThisMonth | Preset::Range => (first_of_month, today),
            Preset::LastMonth => {
                let from = first_of_month
                    .checked_sub_months(Months::new(1))
                    .expect("dates after year 0");
                (from, first_of_month.pred_opt().expect("dates after year 0"))
            }
            Preset::Last7 => (today - Days::new(6), today),
            Preset::Last30 => (today - Days::new(29), today),
        };
        Period { preset, from, to }
    }

    /// The period a request asks for: `from` and `to` (a range) win over `period`; neither is this
    /// month.
    pub fn choose(
        preset: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, PeriodError> {
        let (from, to) = (blank(from), blank(to));
        if from.is_none() && to.is_none() {
            return match blank(preset) {
                None => Ok(Period::preset(Preset::ThisMonth, today)),
                Some(code) => Preset::parse(code)
                    .map(|p| Period::preset(p, today))
                    .ok_or_else(|| PeriodError::UnknownPreset(code.chars().take(40).collect())),
            };
        }
        let (Some(from), Some(to)) = (from, to) else {
            return Err(PeriodError::HalfRange);
        };
        let day = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| PeriodError::NotADate(s.chars().take(40).collect()))
        };
        Period::range(day(from)?, day(to)?)
    }

    /// A chosen range, checked.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        let sane = |d: NaiveDate| (FIRST_YEAR..=LAST_YEAR).contains(&d.year());
        if !sane(from) || !sane(to) {
            return Err(PeriodError::OutOfRange);
        }
        if to < from {
            return Err(PeriodError::Reversed);
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong(days));
        }
        Ok(Period {
            preset: Preset::Range,
            from,
            to,
        })
    }

    /// First and last second of the period, as `otklik kpi --from --to` counts them.
    pub fn instants(&self, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        kpi::days(self.from, self.to, tz)
    }

    /// The query string that asks for this period again (links between the pages keep it).
    pub fn query(&self) -> String {
        match self.preset {
            Preset::Range => format!("from={}&to={}", self.from, self.to),
            p => format!("period={}", p.code()),
        }
    }

    /// Monday of each trend week, oldest first: the [`TREND_WEEKS`] weeks ending with the one
    /// that holds the period's last day.
    pub fn trend_weeks(&self) -> Vec<NaiveDate> {
        let last = self.to - Days::new(u64::from(self.to.weekday().num_days_from_monday()));
        (0..TREND_WEEKS)
            .rev()
            .map(|back| last - Days::new(7 * back as u64))
            .collect()
    }

    /// The first day the page needs facts from: the trend's first Monday or the period's first
    /// day, whichever is earlier.
    pub fn window_start(&self) -> NaiveDate {
        self.trend_weeks()[0].min(self.from)
    }
}

/// The most rated orders one ratings CSV carries. Lambda answers a request with at most 6 MB
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>, "Invocation
/// payload"), and API Gateway waits 29 s for it; a busy shop's year (100,000 rows, each read with
/// its survey and words) passes both. A longer file is offered in parts ([`Period::parts`]).
pub const MAX_CSV_ROWS: u32 = 20_000;
/// The largest ratings CSV body answered at once: room under the 6 MB for the response's JSON
/// envelope, which escapes every quote of the file (long words can pass this before the rows do).
pub const MAX_CSV_BYTES: usize = 4_500_000;

impl Period {
    /// The period cut into parts, each a file of its own: its calendar months, or, within one
    /// month, its weeks (seven days from its first, the last one shorter), or, within a week, its
    /// days. A single day has no parts but itself.
    pub fn parts(&self) -> Vec<Period> {
        let mut parts = Vec::new();
        let mut from = self.from;
        let one_month = (self.from.year(), self.from.month()) == (self.to.year(), self.to.month());
        let step = if (self.to - self.from).num_days() < 7 {
            0
        } else {
            6
        };
        while from <= self.to {
            let end = if one_month {
                from + Days::new(step)
            } else {
                from.with_day(1)
                    .and_then(|d| d.checked_add_months(Months::new(1)))
                    .and_then(|d| d.pred_opt())
                    .expect("dates within the page's years")
            };
            let to = end.min(self.to);
            parts.push(Period {
                preset: Preset::Range,
                from,
                to,
            });
            from = to.succ_opt().expect("dates within the page's years");
        }
        parts
    }
}

/// How many 1–3 ratings an employee's page shows at once: a busy employee's year holds
/// thousands, each with the customer's words, far too long for a phone and for a quick answer;
/// fifty is a few screens on a phone, and a page that answers in about 300 ms at a year of data
/// (each listed rating is a survey, its complaint and its words to read).
pub const LOW_PER_PAGE: usize = 50;
/// The highest page number a request may name.
pub const MAX_PAGE: usize = 100_000;

/// Which part of a long list a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pager {
    /// From 1.
    pub page: usize,
    pub per_page: usize,
    /// The whole list's length.
    pub total: usize,
}

impl Pager {
    /// The page a request names (`page=`, from 1; none: the first). Anything else is refused.
    pub fn page_of(raw: Option<&str>) -> Option<usize> {
        match blank(raw) {
            None => Some(1),
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n)),
        }
    }

    /// How many of the list come before this page.
    pub fn skip(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// How many pages the list fills (at least one, if empty).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}

/// An empty parameter is an absent one (the page's form sends its date fields empty when a
/// preset is chosen); anything else, whitespace included, is read as given.
fn blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Everything known about one survey asked in the page's window.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    /// What `otklik kpi` counts, exactly as it gets it.
    pub kpi: SurveyFacts,
    pub order: OrderRef,
    pub sent_at: DateTime<Utc>,
    pub rated_at: Option<DateTime<Utc>>,
    /// The customer's own words (gathered for the ratings the page shows: 1–3, or all for the
    /// ratings CSV).
    pub words: Vec<String>,
    /// The customer's personal data, words included, left the survey (`privacy`): empty words
    /// mean "erased", not "wrote nothing".
    pub words_erased: bool,
    /// The complaint opened for it, as tracked.
    pub complaint: Option<ComplaintTrack>,
}

/// One week of the trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekFigures {
    pub monday: NaiveDate,
    pub rated_orders: u32,
    pub average_rating: Option<f64>,
    pub csat_percent: Option<f64>,
}

impl WeekFigures {
    fn of(monday: NaiveDate, row: Option<&Row>) -> WeekFigures {
        WeekFigures {
            monday,
            rated_orders: row.map_or(0, |r| r.rated_orders),
            average_rating: row.and_then(|r| r.average_rating),
            csat_percent: row.and_then(|r| r.csat_percent),
        }
    }
}

/// A complaint not yet in a final status, for the open-complaints list.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenComplaint {
    pub survey: String,
    /// The rated order it is about.
    pub order: OrderRef,
    /// The complaint order in the complaints site.
    pub complaint_order: u64,
    pub rating: Option<u8>,
    pub employees: Vec<u64>,
    pub opened_at: DateTime<Utc>,
    /// Wall-clock hours since it was opened, one decimal.
    pub age_hours: f64,
    /// Hours of SLA time (working hours only, when configured) it waited before anyone took it
    /// into work, or has waited so far; one decimal.
    pub sla_hours_used: f64,
    pub sla_hours: f64,
    /// Not taken into work within the SLA.
    pub past_sla: bool,
    /// Somebody moved it out of "created".
    pub taken_into_work: bool,
    /// Its status code in retailCRM now, when seen.
    pub status: Option<String>,
}

/// One rated order, for an employee's page and the ratings CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct RatedOrder {
    pub survey: String,
    pub order: OrderRef,
    pub rating: u8,
    pub sent_at: DateTime<Utc>,
    pub rated_at: Option<DateTime<Utc>>,
    pub channel: Channel,
    pub employees: Vec<u64>,
    pub words: Vec<String>,
    /// See [`OrderFacts::words_erased`].
    pub words_erased: bool,
    /// The complaint order, and whether it is resolved / failed / open.
    pub complaint: Option<(u64, ComplaintOutcome)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintOutcome {
    Open,
    Resolved,
    Failed,
}

/// The main page.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub period: Period,
    /// The period's KPI: the very report `otklik kpi --from --to` prints.
    pub report: Report,
    /// The team's weeks, oldest first.
    pub team_trend: Vec<WeekFigures>,
    /// Each employee's weeks (every employee of the period's report), oldest first.
    pub employee_trend: BTreeMap<u64, Vec<WeekFigures>>,
    /// Open now, oldest first.
    pub open_complaints: Vec<OpenComplaint>,
    /// How many of those were not taken into work within the SLA.
    pub open_past_sla: u32,
}

/// Gathers the dashboard from the facts of the page's window ([`Period::window_start`] to now).
pub fn dashboard(
    period: Period,
    facts: &[OrderFacts],
    names: &BTreeMap<u64, String>,
    cfg: &ComplaintsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Dashboard, String> {
    assemble(
        period,
        |p| period_report(p, facts, names, tz),
        open_complaints(facts, cfg, tz, now),
    )
}

/// The same dashboard from the per-day counters of the page's window (`cells`: at least
/// [`Period::window_start`] to the period's last day) and the facts of the complaints open now
/// (`open`): no survey read for the figures.
pub fn dashboard_from_cells(
    period: Period,
    cells: &kpi::fold::Cells,
    open: &[OpenCase],
    names: &BTreeMap<u64, String>,
    cfg: &ComplaintsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Dashboard, String> {
    assemble(
        period,
        |p| {
            Ok(kpi::fold::report_of(
                kpi::fold::within(cells, p.from, p.to),
                names,
            ))
        },
        open_complaints_of(open, cfg, tz, now),
    )
}

/// The period's report, the trend of its weeks (each week's report by `report`), and the open
/// complaints.
fn assemble(
    period: Period,
    report_of: impl Fn(&Period) -> Result<Report, String>,
    open_complaints: Vec<OpenComplaint>,
) -> Result<Dashboard, String> {
    let report = report_of(&period)?;
    let weeks = period.trend_weeks();
    let mut team_trend = Vec::with_capacity(weeks.len());
    let mut employee_trend: BTreeMap<u64, Vec<WeekFigures>> = report
        .employees
        .iter()
        .filter_map(|r| r.employee_id)
        .map(|e| (e, Vec::with_capacity(weeks.len())))
        .collect();
    for monday in &weeks {
        let week = Period {
            preset: Preset::Range,
            from: *monday,
            to: *monday + Days::new(6),
        };
        let r = report_of(&week)?;
        team_trend.push(WeekFigures::of(*monday, Some(&r.team)));
        for (e, trend) in employee_trend.iter_mut() {
            let row = r.employees.iter().find(|x| x.employee_id == Some(*e));
            trend.push(WeekFigures::of(*monday, row));
        }
    }
    Ok(Dashboard {
        period,
        report,
        team_trend,
        employee_trend,
        open_past_sla: open_complaints.iter().filter(|c| c.past_sla).count() as u32,
        open_complaints,
    })
}

/// The KPI report of the surveys asked within `period`: [`kpi::report`] over exactly the surveys
/// `otklik kpi` would read for the same days.
pub fn period_report(
    period: &Period,
    facts: &[OrderFacts],
    names: &BTreeMap<u64, String>,
    tz: Tz,
) -> Result<Report, String> {
    let (from, to) = period.instants(tz)?;
    let within: Vec<SurveyFacts> = facts
        .iter()
        .filter(|f| f.sent_at >= from && f.sent_at <= to)
        .map(|f| f.kpi.clone())
        .collect();
    Ok(kpi::report(&within, names))
}

/// Complaints not in a final status, oldest first, with their age against the SLA.
pub fn open_complaints(
    facts: &[OrderFacts],
    cfg: &ComplaintsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<OpenComplaint> {
    let cases: Vec<OpenCase> = facts.iter().filter_map(OpenCase::of).collect();
    open_complaints_of(&cases, cfg, tz, now)
}

/// What the main page needs of one complaint besides the clock: kept with the open list's entry
/// in the table, so the page reads no survey for it (a survey read per open complaint was most of
/// the main page's time).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenCase {
    pub survey: String,
    pub site: String,
    pub order_id: u64,
    pub rating: Option<u8>,
    pub employees: Vec<u64>,
    /// When the question went out: the page's window is by it.
    pub sent_at: DateTime<Utc>,
    pub track: ComplaintTrack,
}

impl OpenCase {
    /// The case of a survey's facts; `None` without a complaint.
    pub fn of(f: &OrderFacts) -> Option<OpenCase> {
        Some(OpenCase {
            survey: f.kpi.survey.clone(),
            site: f.order.site().to_string(),
            order_id: f.order.id(),
            rating: f.kpi.rating,
            employees: f.kpi.employees.clone(),
            sent_at: f.sent_at,
            track: f.complaint.clone()?,
        })
    }

    /// The case of a stored survey and its complaint's track; `None` for a survey never sent.
    pub fn from_survey(s: &crate::machine::Survey, track: &ComplaintTrack) -> Option<OpenCase> {
        Some(OpenCase {
            survey: s.id.to_string(),
            site: s.order.site().to_string(),
            order_id: s.order.id(),
            rating: s.rating.map(|r| r.value()),
            employees: s.employees.iter().map(|e| e.get()).collect(),
            sent_at: s.sent_at?,
            track: track.clone(),
        })
    }
}

/// The open complaints among `cases`, oldest first, measured against the SLA at `now`.
pub fn open_complaints_of(
    cases: &[OpenCase],
    cfg: &ComplaintsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<OpenComplaint> {
    let hours = |d: std::time::Duration| (d.as_secs_f64() / 3600.0 * 10.0).round() / 10.0;
    let mut out: Vec<OpenComplaint> = cases
        .iter()
        .filter_map(|f| {
            let track = &f.track;
            let order = OrderRef::new(&f.site, f.order_id).ok()?;
            if track.closed(cfg).is_some() {
                return None;
            }
            // The SLA is how long a complaint may wait for someone to take it into work (the
            // inspector's reminder counts the same way): the clock stops at the first touch.
            let until = track.first_touched_at.unwrap_or(now).min(now);
            let used = elapsed(track.opened_at, until, cfg.working_hours.as_ref(), tz);
            Some(OpenComplaint {
                survey: f.survey.clone(),
                order,
                complaint_order: track.order_id,
                rating: f.rating,
                employees: f.employees.clone(),
                opened_at: track.opened_at,
                age_hours: hours((now - track.opened_at).to_std().unwrap_or_default()),
                sla_hours_used: hours(used),
                sla_hours: hours(cfg.sla),
                past_sla: used >= cfg.sla,
                taken_into_work: !track.untouched(),
                status: track.status.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.survey.cmp(&b.survey)));
    out
}

/// The rated orders of the period, worst rating first, then newest first; `employee` keeps only
/// the orders they are credited for, `up_to` only ratings up to that value.
pub fn rated_orders(
    period: &Period,
    facts: &[OrderFacts],
    employee: Option<u64>,
    up_to: u8,
    cfg: &ComplaintsConfig,
    tz: Tz,
) -> Result<Vec<RatedOrder>, String> {
    let (from, to) = period.instants(tz)?;
    let mut out: Vec<RatedOrder> = facts
        .iter()
        .filter(|f| f.sent_at >= from && f.sent_at <= to)
        .filter(|f| employee.is_none_or(|e| f.kpi.employees.contains(&e)))
        .filter_map(|f| {
            let rating = f.kpi.rating.filter(|r| *r <= up_to)?;
            Some(RatedOrder {
                survey: f.kpi.survey.clone(),
                order: f.order.clone(),
                rating,
                sent_at: f.sent_at,
                rated_at: f.rated_at,
                channel: f.kpi.answered_via.unwrap_or(f.kpi.channel),
                employees: f.kpi.employees.clone(),
                words: f.words.clone(),
                words_erased: f.words_erased,
                complaint: f.complaint.as_ref().map(|t| {
                    let outcome = match t.closed(cfg) {
                        None => ComplaintOutcome::Open,
                        Some((_, true)) => ComplaintOutcome::Resolved,
                        Some((_, false)) => ComplaintOutcome::Failed,
                    };
                    (t.order_id, outcome)
                }),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.rating
            .cmp(&b.rating)
            .then(b.sent_at.cmp(&a.sent_at))
            .then(a.survey.cmp(&b.survey))
    });
    Ok(out)
}

/// What the employee table can be sorted by (`sort` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Rated,
    Average,
    Csat,
    Low,
    Complaints,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        SortKey::Name,
        SortKey::Rated,
        SortKey::Average,
        SortKey::Csat,
        SortKey::Low,
        SortKey::Complaints,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Rated => "rated",
            SortKey::Average => "average",
            SortKey::Csat => "csat",
            SortKey::Low => "low",
            SortKey::Complaints => "complaints",
        }
    }

    pub fn parse(code: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The direction a first click sorts in: names A→Z, figures largest first.
    pub fn default_desc(self) -> bool {
        self != SortKey::Name
    }
}

/// Sorts the employee rows; ties (and empty figures, always last) keep the order by name, then id.
pub fn sort_rows(rows: &mut [Row], key: SortKey, desc: bool) {
    let label = |r: &Row| {
        (
            r.name.clone().unwrap_or_default().to_lowercase(),
            r.employee_id,
        )
    };
    let figure = |r: &Row| -> Option<f64> {
        match key {
            SortKey::Name => None,
            SortKey::Rated => Some(f64::from(r.rated_orders)),
            SortKey::Average => r.average_rating,
            SortKey::Csat => r.csat_percent,
            SortKey::Low => Some(f64::from(r.low_ratings)),
            SortKey::Complaints => Some(f64::from(r.complaints_opened)),
        }
    };
    rows.sort_by(|a, b| {
        let by_figure = match (figure(a), figure(b)) {
            (Some(x), Some(y)) if desc => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        let by_name = if key == SortKey::Name && desc {
            label(b).cmp(&label(a))
        } else {
            label(a).cmp(&label(b))
        };
        by_figure.then(by_name)
    });
}

/// `{crm.url}/orders/{id}/edit`: where the shop opens an order in retailCRM.
pub fn order_url(crm_url: &str, order_id: u64) -> String {
    format!("{}/orders/{order_id}/edit", crm_url.trim_end_matches('/'))
}

/// How an employee is called on the pages: their name, or `#id` until retailCRM has told us.
pub fn employee_label(id: u64, names: &BTreeMap<u64, String>) -> String {
    match names.get(&id) {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => format!("#{id}"),
    }
}
