//! The KPI report (SPEC §6): per employee and for the team, from rated surveys, their credits and
//! their complaints. Pure: the adapters collect the facts, this module only counts, so the figures
//! are checked against a hand-computed fixture.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::model::Channel;

/// What the report needs to know about a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintFacts {
    pub opened_at: DateTime<Utc>,
    /// When it reached a final status, and whether that status was "resolved".
    pub closed: Option<(DateTime<Utc>, bool)>,
}

/// One survey asked in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyFacts {
    pub survey: String,
    /// The channel the question is on (after a fallback: the fallback's).
    pub channel: Channel,
    /// Every channel we asked on, the reminder's included (empty for a survey saved before it was
    /// recorded: then `channel` alone).
    pub asked: Vec<Channel>,
    /// The channel the answer came on, when recorded (else `channel`).
    pub answered_via: Option<Channel>,
    /// 1–5 when answered.
    pub rating: Option<u8>,
    /// Everyone credited for the order (SPEC §6).
    pub employees: Vec<u64>,
    pub complaint: Option<ComplaintFacts>,
    /// Not rated, and the customer's words are waiting for a person to read them (the inspector
    /// was asked to look because we could not read them as an answer).
    pub awaiting_human: bool,
}

/// One line of the report: an employee, or the team (`employee_id` = None).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub employee_id: Option<u64>,
    pub name: Option<String>,
    pub rated_orders: u32,
    /// Two decimals.
    pub average_rating: Option<f64>,
    /// Share of 4–5 among rated orders, one decimal.
    pub csat_percent: Option<f64>,
    /// Ratings of 1–2.
    pub low_ratings: u32,
    pub complaints_opened: u32,
    pub complaints_resolved: u32,
    /// Median hours from opening to a "resolved" status, one decimal.
    pub median_resolve_hours: Option<f64>,
    /// How many rated orders got each rating: `[ones, twos, threes, fours, fives]`.
    pub distribution: [u32; 5],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelRate {
    pub asked: u32,
    pub answered: u32,
    /// One decimal.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub employees: Vec<Row>,
    pub team: Row,
    pub response_rate_by_channel: BTreeMap<String, ChannelRate>,
    /// Surveys asked in the period, not rated, whose words wait for a person to read them.
    pub awaiting_human: u32,
}

/// Whether a survey's customer wrote words we could not read as an answer, and they still wait
/// for a person: nothing rated yet, the inspector was asked to look, and the survey is still
/// waiting for an answer (or expired unanswered). Closed surveys' later messages are a different
/// matter (a new problem) and do not count here.
pub fn awaiting_human(survey: &crate::machine::Survey) -> bool {
    survey.rating.is_none()
        && survey.last_inspector_notice_at.is_some()
        && (survey.state.is_awaiting() || survey.state == crate::model::SurveyState::Expired)
}

pub(crate) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

pub(crate) fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

fn row<'a>(
    employee_id: Option<u64>,
    name: Option<String>,
    surveys: impl Iterator<Item = &'a SurveyFacts>,
) -> Row {
    let mut ratings = Vec::new();
    let (mut opened, mut resolved) = (0, 0);
    let mut hours = Vec::new();
    let mut distribution = [0u32; 5];
    for s in surveys {
        let Some(r) = s.rating else { continue };
        ratings.push(r);
        if let Some(slot) = distribution.get_mut(usize::from(r).wrapping_sub(1)) {
            *slot += 1;
        }
        if let Some(c) = &s.complaint {
            opened += 1;
            if let Some((at, true)) = c.closed {
                resolved += 1;
                hours.push((at - c.opened_at).num_seconds() as f64 / 3600.0);
            }
        }
    }
    let n = ratings.len() as u32;
    let sum: u32 = ratings.iter().map(|&r| u32::from(r)).sum();
    let happy = ratings.iter().filter(|&&r| r >= 4).count() as f64;
    Row {
        employee_id,
        name,
        rated_orders: n,
        average_rating: (n > 0).then(|| round(f64::from(sum) / f64::from(n), 2)),
        csat_percent: (n > 0).then(|| round(happy * 100.0 / f64::from(n), 1)),
        low_ratings: ratings.iter().filter(|&&r| r <= 2).count() as u32,
        complaints_opened: opened,
        complaints_resolved: resolved,
        median_resolve_hours: median(hours).map(|h| round(h, 1)),
        distribution,
    }
}

/// The report over `surveys` (all asked in the period). `names` labels employees.
pub fn report(surveys: &[SurveyFacts], names: &BTreeMap<u64, String>) -> Report {
    let employees: BTreeSet<u64> = surveys
        .iter()
        .filter(|s| s.rating.is_some())
        .flat_map(|s| s.employees.iter().copied())
        .collect();
    let rows = employees
        .into_iter()
        .map(|e| {
            row(
                Some(e),
                names.get(&e).cloned(),
                surveys.iter().filter(|s| s.employees.contains(&e)),
            )
        })
        .collect();
    Report {
        employees: rows,
        team: row(None, None, surveys.iter()),
        response_rate_by_channel: rates_by_channel(surveys),
        awaiting_human: surveys.iter().filter(|s| s.awaiting_human).count() as u32,
    }
}

/// Asked and rated per channel. A survey counts as asked on every channel it was asked on (a
/// failed MAX message and the SMS after it, a reminder by email: each), and as rated on the
/// channel the rating came on. WhatsApp and email always appear (shops before MAX and SMS read
/// them); MAX and SMS when something was asked there.
fn rates_by_channel(surveys: &[SurveyFacts]) -> BTreeMap<String, ChannelRate> {
    let mut rates = BTreeMap::new();
    for channel in Channel::ALL {
        let asked_on = |s: &&SurveyFacts| {
            if s.asked.is_empty() {
                s.channel == channel
            } else {
                s.asked.contains(&channel)
            }
        };
        let n = surveys.iter().filter(asked_on).count() as u32;
        let answered = surveys
            .iter()
            .filter(|s| s.rating.is_some() && s.answered_via.unwrap_or(s.channel) == channel)
            .count() as u32;
        if n == 0 && matches!(channel, Channel::Max | Channel::Sms) {
            continue;
        }
        rates.insert(
            channel.to_string(),
            ChannelRate {
                asked: n,
                answered,
                percent: (n > 0).then(|| round(f64::from(answered) * 100.0 / f64::from(n), 1)),
            },
        );
    }
    rates
}

fn cell(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{v}"))
}

/// Headers in plain words; what each figure counts is said once under the table ([`NOTES`]).
const HEADER: [&str; 9] = [
    "employee",
    "id",
    "rated orders",
    "average",
    "CSAT %",
    "rated 1–2",
    "complaints",
    "resolved",
    "median h to resolve",
];

/// What the figures count, printed under the table.
const NOTES: [&str; 3] = [
    "CSAT % = share of 4–5 among rated orders; every employee who worked an order shares its rating.",
    "complaints = ratings of 1–2, plus 3s whose customer asked to be called back.",
    "median h to resolve = hours from a complaint's opening to its resolved status.",
];

fn cells(r: &Row) -> [String; 9] {
    let who = match (r.employee_id, &r.name) {
        (None, _) => "team".to_string(),
        (Some(_), Some(name)) if !name.trim().is_empty() => name.clone(),
        // A name retailCRM has not given us yet: the id says who it is.
        (Some(id), _) => format!("#{id}"),
    };
    [
        who,
        r.employee_id.map_or_else(String::new, |e| e.to_string()),
        r.rated_orders.to_string(),
        cell(r.average_rating),
        cell(r.csat_percent),
        r.low_ratings.to_string(),
        r.complaints_opened.to_string(),
        r.complaints_resolved.to_string(),
        cell(r.median_resolve_hours),
    ]
}

impl Report {
    /// CSV with a header line; the team is the last line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "employee,name,rated_orders,average_rating,csat_percent,low_ratings,complaints_opened,complaints_resolved,median_resolve_hours\n",
        );
        let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        for r in self.employees.iter().chain(std::iter::once(&self.team)) {
            let id = r
                .employee_id
                .map_or_else(|| "team".to_string(), |e| e.to_string());
            let name = r.name.clone().unwrap_or_default().replace('"', "\"\"");
            out.push_str(&format!(
                "{id},\"{name}\",{},{},{},{},{},{},{}\n",
                r.rated_orders,
                num(r.average_rating),
                num(r.csat_percent),
                r.low_ratings,
                r.complaints_opened,
                r.complaints_resolved,
                num(r.median_resolve_hours)
            ));
        }
        out
    }

    /// An aligned table for the terminal, then the response rate per channel.
    pub fn to_table(&self) -> String {
        let rows: Vec<[String; 9]> = self
            .employees
            .iter()
            .chain(std::iter::once(&self.team))
            .map(cells)
            .collect();
        let mut widths = HEADER.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: &[String]| {
            cols.iter()
                .zip(widths.iter())
                .enumerate()
                .map(|(i, (c, w))| {
                    let pad = w - c.chars().count();
                    // Names read left-aligned, figures right-aligned.
                    if i == 0 {
                        format!("{c}{}", " ".repeat(pad))
                    } else {
                        format!("{}{c}", " ".repeat(pad))
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = String::new();
        out.push_str(&line(&HEADER.map(String::from)));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        for (channel, rate) in &self.response_rate_by_channel {
            out.push_str(&format!(
                "response rate {channel}: {} of {} ({}%)\n",
                rate.answered,
                rate.asked,
                cell(rate.percent)
            ));
        }
        out.push_str(&format!(
            "unreadable replies waiting for a person: {}\n",
            self.awaiting_human
        ));
        for note in NOTES {
            out.push_str(note);
            out.push('\n');
        }
        out
    }
}

/// `from`..=`to` as whole days in the shop's time zone, as UTC instants.
pub fn period(from: &str, to: &str, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let (f, t) = period_days(from, to)?;
    days(f, t, tz)
}

/// The longest period a report covers: a year, a leap year's included (the dashboard's bound
/// too). Surveys are kept 400 days, so a longer period could only be partly counted; and one
/// request should not read years.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// `from`..=`to` as the shop's days, checked: dates, in order, at most [`MAX_PERIOD_DAYS`].
pub fn period_days(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let day = |s: &str, what: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            format!(
                "--{what} must be a date like 2026-11-01, not {:?}",
                s.chars().take(40).collect::<String>()
            )
        })
    };
    let (f, t) = (day(from, "from")?, day(to, "to")?);
    if t < f {
        return Err(format!("--to ({to}) is before --from ({from})"));
    }
    let n = (t - f).num_days() + 1;
    if n > MAX_PERIOD_DAYS {
        return Err(format!(
            "the period is {n} days long; a report covers at most {MAX_PERIOD_DAYS} days (a year), \
             ask for a shorter one"
        ));
    }
    Ok((f, t))
}

/// The days `f`..=`t` in the shop's time zone, as UTC instants (first and last second).
pub fn days(f: NaiveDate, t: NaiveDate, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let start = tz
        .from_local_datetime(&f.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .ok_or_else(|| format!("the start of {f} does not exist in the time zone"))?;
    let end = tz
        // The day's last instant, fractions included: a survey sent at 23:59:59.5 belongs to its
        // day (the per-day counters count it there), not to no day at all.
        .from_local_datetime(
            &t.and_hms_nano_opt(23, 59, 59, 999_999_999)
                .expect("the last instant before midnight"),
        )
        .latest()
        .ok_or_else(|| format!("the end of {t} does not exist in the time zone"))?;
    Ok((start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

pub mod fold;

#[cfg(test)]
mod tests;
