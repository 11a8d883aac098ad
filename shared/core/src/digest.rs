//! The weekly digest by email (issue 21): last week against the week before, the three lowest
//! ratings with the customers' words, complaints past their SLA, and a signed dashboard link.
//! Pure: its figures are [`dashboard::period_report`]'s and [`dashboard::open_complaints`]'s over
//! the facts the app layer gathers; this module only decides when a digest is due and which week
//! it tells about, and words it (ru/uk/en) as plain text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::{ComplaintsConfig, ReportConfig};
use crate::dashboard::{
    self, employee_label, order_url, OpenComplaint, OrderFacts, Period, RatedOrder, SortKey, Words,
};
use crate::kpi::{Report, Row};
use crate::texts::Lang;

#[cfg(test)]
mod tests;
mod words;

pub use words::DigestWords;

/// How long the dashboard link in a digest works: the next digest brings a new one after a week,
/// and a second week leaves room for a mail read late; longer would keep a forwarded link alive
/// for nothing.
pub const LINK_TTL: Duration = Duration::from_secs(14 * 86_400);
/// How many of the week's lowest ratings the digest quotes.
pub const LOWEST: usize = 3;
/// Ratings above this are not quoted as "lowest": a 4 or a 5 is nothing to look into.
pub const LOWEST_UP_TO: u8 = 3;
/// A customer's words are cut here in the mail (the dashboard shows them whole).
const WORDS_CHARS: usize = 300;

/// The week a digest tells about — the last whole Monday-to-Sunday week before the one in which
/// it is sent, in the shop's time zone — and the week before it, to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestWeek {
    pub week: Period,
    pub before: Period,
}

impl DigestWeek {
    /// The week a digest sent at `now` tells about.
    pub fn reported(now: DateTime<Utc>, tz: Tz) -> DigestWeek {
        let today = now.with_timezone(&tz).date_naive();
        let this_monday = monday_of(today);
        let monday = this_monday - Days::new(7);
        let week = |from: NaiveDate| Period {
            preset: dashboard::Preset::Range,
            from,
            to: from + Days::new(6),
        };
        DigestWeek {
            week: week(monday),
            before: week(monday - Days::new(7)),
        }
    }

    /// The week's ISO name, `2026-W46`: the key that lets one digest per week and recipient out.
    pub fn key(&self) -> String {
        let iso = self.week.from.iso_week();
        format!("{}-W{:02}", iso.year(), iso.week())
    }

    /// The first day whose surveys the digest reads: the dashboard's window for the same week
    /// (its trend's first Monday), so open complaints are the ones the dashboard lists.
    pub fn window_start(&self) -> NaiveDate {
        self.week.window_start().min(self.before.from)
    }
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// When this week's digest is due: `digest_hour` o'clock on `digest_day` of the week holding
/// `now`, in the shop's time zone. An hour the clock skips that night (a DST change) moves to the
/// first moment after it.
pub fn due_at(cfg: &ReportConfig, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let day = monday_of(today) + Days::new(u64::from(cfg.digest_day.num_days_from_monday()));
    let hour = cfg.digest_hour.min(23);
    (hour..=23)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        // A day with no hour left after the gap does not exist in any time zone; be safe anyway.
        .unwrap_or_else(|| {
            tz.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).expect("an hour of 0–23"))
                .with_timezone(&Utc)
        })
}

/// Whether a firing at `now` should send this week's digest: the week's due moment has come.
/// The schedule fires every hour, so a firing missed or refused (SES throttled) is made up by the
/// next one; the per-week claim keeps every later firing of the week from sending again.
pub fn is_due(cfg: &ReportConfig, now: DateTime<Utc>, tz: Tz) -> bool {
    now >= due_at(cfg, now, tz)
}

/// Everything a digest says, computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub weeks: DigestWeek,
    /// Last week's KPI: the very report the dashboard and `otklik kpi` give for those days.
    pub week: Report,
    /// The week before's.
    pub before: Report,
    /// Last week's lowest ratings (1–3 only), worst first, then newest: at most [`LOWEST`].
    pub lowest: Vec<RatedOrder>,
    /// Open complaints that waited past their SLA, oldest first, as the dashboard lists them.
    pub past_sla: Vec<OpenComplaint>,
}

/// Computes the digest of `weeks` from the facts read since [`DigestWeek::window_start`].
pub fn digest(
    weeks: DigestWeek,
    facts: &[OrderFacts],
    names: &BTreeMap<u64, String>,
    cfg: &ComplaintsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Digest, String> {
    let week = dashboard::period_report(&weeks.week, facts, names, tz)?;
    let before = dashboard::period_report(&weeks.before, facts, names, tz)?;
    let mut lowest = dashboard::rated_orders(&weeks.week, facts, None, LOWEST_UP_TO, cfg, tz)?;
    lowest.truncate(LOWEST);
    let past_sla = dashboard::open_complaints(facts, cfg, tz, now)
        .into_iter()
        .filter(|c| c.past_sla)
        .collect();
    Ok(Digest {
        weeks,
        week,
        before,
        lowest,
        past_sla,
    })
}

/// What the mail needs besides the figures.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub shop: &'a str,
    pub lang: Lang,
    /// `crm.url`, for the orders' links.
    pub crm_url: &'a str,
    /// The dashboard's address (`<api>/reports`); `None` when the digest was fired without it.
    pub reports_url: Option<&'a str>,
    /// The signed sign-in link and when it stops working; `None` without a report token.
    pub signin: Option<(&'a str, DateTime<Utc>)>,
    pub names: &'a BTreeMap<u64, String>,
    pub tz: Tz,
}

/// A rendered digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    /// Plain text, `\n` line ends.
    pub text: String,
}

/// The digest in the shop's language, as plain text.
pub fn render(d: &Digest, l: &Letter<'_>) -> Mail {
    let w = Words::of(l.lang);
    let dw = DigestWords::of(l.lang);
    let (from, to) = (w.date(d.weeks.week.from), w.date(d.weeks.week.to));
    let subject = format!("{}: {} {from} – {to}", l.shop.trim(), dw.subject);
    let mut t = String::new();
    let _ = writeln!(t, "{} {from} – {to}", dw.heading);
    let _ = writeln!(
        t,
        "{} {} – {}.",
        dw.compared_with,
        w.date(d.weeks.before.from),
        w.date(d.weeks.before.to)
    );
    t.push('\n');

    // The team, each figure beside the week before's.
    let _ = writeln!(t, "{}", w.team);
    let (a, b) = (&d.week.team, &d.before.team);
    let count = |x: u32| Some(f64::from(x));
    let lines: [(&str, Option<f64>, Option<f64>); 6] = [
        (w.rated, count(a.rated_orders), count(b.rated_orders)),
        (w.average, a.average_rating, b.average_rating),
        (w.csat, a.csat_percent, b.csat_percent),
        (w.low, count(a.low_ratings), count(b.low_ratings)),
        (
            w.complaints_opened,
            count(a.complaints_opened),
            count(b.complaints_opened),
        ),
        (
            w.complaints_resolved,
            count(a.complaints_resolved),
            count(b.complaints_resolved),
        ),
    ];
    for (label, now, then) in lines {
        let _ = writeln!(
            t,
            "- {label}: {} ({} {})",
            w.number(now),
            dw.before,
            w.number(then)
        );
    }
    // A channel nobody was asked on last week says nothing.
    for (channel, rate) in d
        .week
        .response_rate_by_channel
        .iter()
        .filter(|(_, r)| r.asked > 0)
    {
        let name = if channel == "email" { w.email } else { channel };
        let _ = writeln!(
            t,
            "- {} {name}: {} / {} ({} %)",
            dw.answered_on,
            rate.answered,
            rate.asked,
            w.number(rate.percent)
        );
    }
    if d.week.awaiting_human > 0 {
        let _ = writeln!(t, "- {}: {}", w.awaiting_human, d.week.awaiting_human);
    }
    t.push('\n');

    // Everyone rated last week, most rated first, with their average the week before.
    let _ = writeln!(t, "{}", w.employees);
    if d.week.employees.is_empty() {
        let _ = writeln!(t, "{}", w.no_ratings);
    }
    let mut rows = d.week.employees.clone();
    dashboard::sort_rows(&mut rows, SortKey::Rated, true);
    for r in &rows {
        let Some(id) = r.employee_id else { continue };
        let before = d
            .before
            .employees
            .iter()
            .find(|x| x.employee_id == Some(id))
            .and_then(|x: &Row| x.average_rating);
        let _ = writeln!(
            t,
            "- {}: {} {}, {} {} ({} {}), {} {}",
            employee_label(id, l.names),
            dw.rated_short,
            r.rated_orders,
            dw.average_short,
            w.number(r.average_rating),
            dw.before,
            w.number(before),
            dw.low_short,
            r.low_ratings
        );
    }
    t.push('\n');

    let _ = writeln!(t, "{}", dw.lowest);
    if d.lowest.is_empty() {
        let _ = writeln!(t, "{}", dw.no_lowest);
    }
    for (i, o) in d.lowest.iter().enumerate() {
        let who: Vec<String> = o
            .employees
            .iter()
            .map(|e| employee_label(*e, l.names))
            .collect();
        let _ = writeln!(
            t,
            "{}. {} {} · {} {} · {}",
            i + 1,
            w.rating,
            o.rating,
            w.order,
            o.order.id(),
            who.join(", ")
        );
        let said = quote(&o.words);
        let _ = writeln!(
            t,
            "   {}",
            if said.is_empty() && o.words_erased {
                w.words_erased.to_string()
            } else if said.is_empty() {
                w.no_words.to_string()
            } else {
                format!("«{said}»")
            }
        );
        let _ = writeln!(
            t,
            "   {}: {}",
            dw.in_crm,
            order_url(l.crm_url, o.order.id())
        );
        if let Some(base) = l.reports_url {
            for e in &o.employees {
                let _ = writeln!(
                    t,
                    "   {} — {}: {}",
                    employee_label(*e, l.names),
                    dw.employee_page,
                    employee_url(base, *e, &d.weeks.week)
                );
            }
        }
    }
    t.push('\n');

    let _ = writeln!(t, "{}: {}", dw.past_sla, d.past_sla.len());
    for c in &d.past_sla {
        let opened = c.opened_at.with_timezone(&l.tz);
        let _ = writeln!(
            t,
            "- {} {} ({} {}): {} {}, {}",
            w.order,
            c.order.id(),
            w.rating.to_lowercase(),
            c.rating.map(|r| r.to_string()).unwrap_or_default(),
            w.opened.to_lowercase(),
            format_args!("{} {}", w.date(opened.date_naive()), opened.format("%H:%M")),
            if c.taken_into_work {
                w.taken
            } else {
                w.waiting
            }
        );
        let _ = writeln!(
            t,
            "  {}: {} / {} {}",
            dw.sla_used,
            w.number(Some(c.sla_hours_used)),
            w.number(Some(c.sla_hours)),
            dw.hours
        );
        let _ = writeln!(
            t,
            "  {}: {}",
            w.complaint,
            order_url(l.crm_url, c.complaint_order)
        );
    }
    t.push('\n');

    let _ = writeln!(t, "{}", dw.dashboard);
    match l.signin {
        Some((link, until)) => {
            let _ = writeln!(t, "{link}");
            let _ = writeln!(
                t,
                "{} {}. {}",
                dw.link_until,
                w.date(until.with_timezone(&l.tz).date_naive()),
                dw.link_warning
            );
        }
        None => {
            let _ = writeln!(t, "{}", dw.no_link);
        }
    }
    t.push('\n');
    for note in dw.notes {
        let _ = writeln!(t, "{note}");
    }
    Mail { subject, text: t }
}

/// One employee's page of the dashboard for `period`.
pub fn employee_url(reports_url: &str, id: u64, period: &Period) -> String {
    format!(
        "{}/employee/{id}?{}",
        reports_url.trim_end_matches('/'),
        period.query()
    )
}

/// A customer's words on one line, cut to [`WORDS_CHARS`].
fn quote(words: &[String]) -> String {
    let joined = words
        .iter()
        .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    if joined.chars().count() <= WORDS_CHARS {
        return joined;
    }
    let cut: String = joined.chars().take(WORDS_CHARS).collect();
    format!("{}…", cut.trim_end())
}

/// `Date`/`Message-ID` aside, the digest as a plain-text RFC 5322 message to `to`.
pub fn to_mime(
    mail: &Mail,
    from_name: &str,
    from_address: &str,
    to: &str,
    message_id: &str,
    date: DateTime<Utc>,
) -> String {
    crate::email::plain_mime(
        &crate::email::PlainMail {
            from_name,
            from_address,
            to,
            subject: &mail.subject,
            body: &mail.text,
        },
        message_id,
        date,
    )
}
