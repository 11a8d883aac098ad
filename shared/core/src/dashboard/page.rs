//! The dashboard's HTML: server-rendered, one constant stylesheet, inline SVG charts, no script
//! and nothing loaded from elsewhere, so it reads the same with JavaScript off and its CSP allows
//! only that stylesheet's hash. Rendering only: every figure comes in computed ([`Dashboard`],
//! [`Row`], [`RatedOrder`]). Each figure carries `data-figure` (what it is) and `data-value` (the
//! number as computed), so a test can hold the page to the KPI report figure by figure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::{
    employee_label, order_url, ComplaintOutcome, Dashboard, Pager, Period, PeriodError, Preset,
    RatedOrder, SortKey, WeekFigures, Words,
};
use crate::kpi::Row;

/// What every page needs besides its figures.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub shop: &'a str,
    pub words: &'static Words,
    /// The path of the main page as the browser sees it (`/reports`, or `/<stage>/reports`).
    pub base: &'a str,
    /// `crm.url`, for links to orders.
    pub crm_url: &'a str,
    pub names: &'a BTreeMap<u64, String>,
    /// The complaints' inspector (`complaints.inspector_id`).
    pub inspector: u64,
    /// The shop's time zone, for dates shown.
    pub tz: Tz,
}

/// A page that is not a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorPage {
    /// No valid sign-in (link or cookie): 401.
    Unauthorized,
    /// A period the page does not show: 400.
    BadPeriod(PeriodError),
    /// Another parameter the page does not take (an unknown sort, a bad employee id): 400.
    BadRequest,
    /// 404.
    NotFound,
    /// The store could not be read: 503.
    Unavailable,
    /// A ratings CSV too large for one answer ([`super::MAX_CSV_ROWS`]): 400, with links to the
    /// same file in parts.
    TooManyRows {
        rows: u32,
        parts: Vec<Period>,
        employee: Option<u64>,
    },
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d232b;--mute:#5d6773;--bg:#f5f6f8;--card:#fff;--line:#dde1e6;\
--good:#2f8f5b;--mid:#c98a12;--bad:#c2413b;--accent:#2c6bb3}\
@media (prefers-color-scheme:dark){:root{--fg:#e8ebef;--mute:#a3adb8;--bg:#15191e;--card:#1f252c;\
--line:#36404a;--accent:#7fb0ea}}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
main{max-width:76rem;margin:0 auto;padding:.75rem}\
header h1{font-size:1.35rem;margin:.2rem 0}\
.shop{color:var(--mute);margin:0}\
a{color:var(--accent)}\
nav.periods{display:flex;flex-wrap:wrap;gap:.4rem;margin:.6rem 0;align-items:center}\
nav.periods a{padding:.3rem .6rem;border:1px solid var(--line);border-radius:1rem;text-decoration:none;background:var(--card)}\
nav.periods a[aria-current]{background:var(--accent);color:var(--card);border-color:var(--accent)}\
form.range{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}\
form.range input{font:inherit;padding:.2rem;max-width:10rem}\
form.range button{font:inherit;padding:.25rem .7rem}\
.period{color:var(--mute);margin:.2rem 0 .8rem}\
section{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.75rem;margin:0 0 .9rem}\
h2{font-size:1.1rem;margin:0 0 .6rem}\
h3{font-size:.95rem;margin:.9rem 0 .4rem}\
dl.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.5rem;margin:0}\
dl.cards div{border:1px solid var(--line);border-radius:.5rem;padding:.45rem .55rem}\
dl.cards dt{color:var(--mute);font-size:.8rem}\
dl.cards dd{margin:0;font-size:1.35rem;font-weight:600}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\
table{border-collapse:collapse;width:100%;font-size:.88rem}\
th,td{padding:.35rem .4rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}\
th:first-child,td:first-child{text-align:left;white-space:normal;min-width:7rem}\
th a{text-decoration:none}\
th[aria-sort] a{font-weight:700}\
td.low{color:var(--bad);font-weight:600}\
svg{display:block;max-width:100%;height:auto}\
svg text{font:11px system-ui,sans-serif;fill:currentColor}\
.hint,.notes{color:var(--mute);font-size:.85rem}\
.notes li{margin:.15rem 0}\
article.rating{border-top:1px solid var(--line);padding:.6rem 0}\
article.rating:first-of-type{border-top:0}\
article.rating .score{font-weight:700;font-size:1.1rem}\
article.rating blockquote{margin:.35rem 0;padding:.3rem .6rem;border-left:3px solid var(--line);white-space:pre-wrap;overflow-wrap:anywhere}\
.r1,.r2{color:var(--bad)}.r3{color:var(--mid)}.r4,.r5{color:var(--good)}\
.export a{margin-right:.8rem}\
.error h1{font-size:1.3rem}\
@media (min-width:48rem){main{padding:1.2rem}dl.cards{grid-template-columns:repeat(auto-fill,minmax(11rem,1fr))}}\
";

/// The Content-Security-Policy every dashboard page is served with: nothing but its own
/// stylesheet (by hash) and `data:` images; no script at all; forms only to this origin.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'",
        STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    )
}

/// HTML-escapes text that came from anywhere (names, customers' words, statuses, the shop name).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn document(f: &Frame<'_>, title: &str, page: &str, main: &str) -> String {
    let shop = escape(f.shop);
    let mut out = String::with_capacity(main.len() + STYLE.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>{} — {shop}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body data-page=\"{page}\">\n<main>\n{main}\n</main>\n</body>\n</html>\n",
        f.words.lang,
        escape(title)
    );
    out
}

/// A figure: the text people read, and the computed number for machines.
fn figure(w: &Words, name: &str, x: Option<f64>) -> String {
    format!(
        "<span data-figure=\"{}\" data-value=\"{}\">{}</span>",
        escape(name),
        x.map(|v| v.to_string()).unwrap_or_default(),
        w.number(x)
    )
}

fn count(w: &Words, name: &str, n: u32) -> String {
    figure(w, name, Some(f64::from(n)))
}

fn card(label: &str, value: String) -> String {
    format!("<div><dt>{label}</dt><dd>{value}</dd></div>")
}

/// The figures of one row as cards; `prefix` names them (`team`, `employee`).
fn cards(w: &Words, prefix: &str, r: &Row, extra: &[String]) -> String {
    let mut out = String::from("<dl class=\"cards\">");
    for c in [
        card(
            w.rated,
            count(w, &format!("{prefix}.ratedOrders"), r.rated_orders),
        ),
        card(
            w.average,
            figure(w, &format!("{prefix}.averageRating"), r.average_rating),
        ),
        card(
            w.csat,
            figure(w, &format!("{prefix}.csatPercent"), r.csat_percent),
        ),
        card(
            w.low,
            count(w, &format!("{prefix}.lowRatings"), r.low_ratings),
        ),
        card(
            w.complaints_opened,
            count(
                w,
                &format!("{prefix}.complaintsOpened"),
                r.complaints_opened,
            ),
        ),
        card(
            w.complaints_resolved,
            count(
                w,
                &format!("{prefix}.complaintsResolved"),
                r.complaints_resolved,
            ),
        ),
        card(
            w.median_resolve,
            figure(
                w,
                &format!("{prefix}.medianResolveHours"),
                r.median_resolve_hours,
            ),
        ),
    ] {
        out.push_str(&c);
    }
    for c in extra {
        out.push_str(c);
    }
    out.push_str("</dl>");
    out
}

const COLOURS: [&str; 5] = ["#c2413b", "#e0763a", "#c98a12", "#5aa36f", "#2f8f5b"];

/// Five horizontal bars, 1 to 5, with their counts.
fn distribution_chart(w: &Words, prefix: &str, d: &[u32; 5]) -> String {
    let max = d.iter().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg viewBox=\"0 0 320 130\" width=\"320\" height=\"130\" role=\"img\" aria-label=\"{}\">",
        escape(w.distribution)
    );
    for (i, n) in d.iter().enumerate() {
        let y = 4 + i * 25;
        let len = 250.0 * f64::from(*n) / f64::from(max);
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{}\">{}</text><rect x=\"20\" y=\"{y}\" width=\"{:.1}\" height=\"18\" rx=\"3\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{}\" data-figure=\"{prefix}.distribution.{}\" data-value=\"{n}\">{n}</text>",
            y + 14,
            i + 1,
            len.max(1.0),
            COLOURS[i],
            len + 26.0,
            y + 14,
            i + 1
        );
    }
    out.push_str("</svg>");
    out
}

/// Weekly CSAT % as bars and the average as a line, with the Mondays under them.
fn trend_chart(w: &Words, weeks: &[WeekFigures]) -> String {
    let (left, top, width, height) = (34.0, 8.0, 560.0, 150.0);
    let step = width / weeks.len().max(1) as f64;
    let mut out = format!(
        "<svg viewBox=\"0 0 600 200\" width=\"600\" height=\"200\" role=\"img\" aria-label=\"{}\">",
        escape(w.trend)
    );
    for pct in [0, 50, 100] {
        let y = top + height * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#8889\" stroke-width=\"0.5\"/>\
             <text x=\"0\" y=\"{:.1}\">{pct}%</text>",
            left + width,
            y + 4.0
        );
    }
    let mut line = Vec::new();
    for (i, wk) in weeks.iter().enumerate() {
        let x = left + step * i as f64;
        if let Some(c) = wk.csat_percent {
            let h = height * c / 100.0;
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#5aa36f\" opacity=\"0.75\">\
                 <title>{} {}: {}%, {} {}</title></rect>",
                x + step * 0.15,
                top + height - h,
                step * 0.7,
                h.max(0.5),
                w.week,
                w.date(wk.monday),
                w.number(Some(c)),
                wk.rated_orders,
                w.rated.to_lowercase()
            );
        }
        if let Some(a) = wk.average_rating {
            // 1–5 drawn over the same height as 0–100 %.
            line.push((x + step / 2.0, top + height * (1.0 - (a - 1.0) / 4.0)));
        }
        if i % 2 == weeks.len() % 2 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + 2.0,
                top + height + 16.0,
                wk.monday.format("%d.%m")
            );
        }
    }
    if line.len() > 1 {
        let pts: Vec<String> = line.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2c6bb3\" stroke-width=\"2\"/>",
            pts.join(" ")
        );
    }
    for (x, y) in &line {
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#2c6bb3\"/>"
        );
    }
    out.push_str("</svg>");
    out
}

/// A row's 12 weeks of CSAT % as a tiny line.
fn sparkline(weeks: &[WeekFigures]) -> String {
    let step = 96.0 / weeks.len().max(1) as f64;
    let pts: Vec<String> = weeks
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.csat_percent
                .map(|c| format!("{:.1},{:.1}", step * (i as f64 + 0.5), 22.0 - c * 0.2))
        })
        .collect();
    let mut out =
        String::from("<svg viewBox=\"0 0 96 24\" width=\"96\" height=\"24\" aria-hidden=\"true\">");
    if pts.len() > 1 {
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2c6bb3\" stroke-width=\"1.5\"/>",
            pts.join(" ")
        );
    }
    for p in &pts {
        let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"1.6\" fill=\"#2c6bb3\"/>"
        );
    }
    out.push_str("</svg>");
    out
}

fn periods_nav(f: &Frame<'_>, path: &str, period: &Period, extra: &str) -> String {
    let w = f.words;
    let mut out = String::from("<nav class=\"periods\">");
    for p in Preset::LINKS {
        let label = match p {
            Preset::ThisMonth => w.this_month,
            Preset::LastMonth => w.last_month,
            Preset::Last7 => w.last_7,
            Preset::Last30 | Preset::Range => w.last_30,
        };
        let current = if period.preset == p {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{path}?period={}{extra}\"{current}>{label}</a>",
            p.code()
        );
    }
    let _ = write!(
        out,
        "<form class=\"range\" method=\"get\" action=\"{path}\"><label>{} <input type=\"date\" name=\"from\" value=\"{}\" required></label>\
         <label>{} <input type=\"date\" name=\"to\" value=\"{}\" required></label><button type=\"submit\">{}</button></form></nav>",
        w.from, period.from, w.to, period.to, w.show
    );
    let _ = write!(
        out,
        "<p class=\"period\" data-from=\"{}\" data-to=\"{}\">{}: {} – {}</p>",
        period.from,
        period.to,
        w.period,
        w.date(period.from),
        w.date(period.to)
    );
    out
}

fn channel_name<'a>(w: &'a Words, code: &'a str) -> &'a str {
    match code {
        "whatsapp" => "WhatsApp",
        "max" => "MAX",
        "sms" => "SMS",
        "email" => w.email,
        other => other,
    }
}

fn local(f: &Frame<'_>, at: DateTime<Utc>) -> String {
    let l = at.with_timezone(&f.tz);
    format!("{} {}", f.words.date(l.date_naive()), l.format("%H:%M"))
}

/// The main page: the team, the trend, the employees, the open complaints.
pub fn render_dashboard(f: &Frame<'_>, d: &Dashboard, sort: SortKey, desc: bool) -> String {
    let w = f.words;
    let q = escape(&d.period.query());
    let r = &d.report;
    let mut m = String::new();
    let _ = write!(
        m,
        "<header><h1>{}</h1><p class=\"shop\">{}</p></header>",
        w.title,
        escape(f.shop)
    );
    m.push_str(&periods_nav(f, f.base, &d.period, ""));

    // The team.
    let _ = write!(m, "<section id=\"team\"><h2>{}</h2>", w.team);
    m.push_str(&cards(
        w,
        "team",
        &r.team,
        &[
            card(
                w.open_past_sla,
                count(w, "team.openPastSla", d.open_past_sla),
            ),
            card(
                w.awaiting_human,
                count(w, "team.awaitingHuman", r.awaiting_human),
            ),
        ],
    ));
    let _ = write!(m, "<h3>{}</h3>", w.distribution);
    m.push_str(&distribution_chart(w, "team", &r.team.distribution));
    let _ = write!(
        m,
        "<h3>{}</h3><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w.response, w.channel, w.asked, w.answered, w.share
    );
    for (code, rate) in &r.response_rate_by_channel {
        let c = escape(code);
        let _ = write!(
            m,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(channel_name(w, code)),
            count(w, &format!("channel.{c}.asked"), rate.asked),
            count(w, &format!("channel.{c}.answered"), rate.answered),
            figure(w, &format!("channel.{c}.percent"), rate.percent)
        );
    }
    m.push_str("</tbody></table></div></section>");

    // The trend.
    let _ = write!(
        m,
        "<section id=\"trend\"><h2>{}</h2><p class=\"hint\">{}</p>{}</section>",
        w.trend,
        w.trend_hint,
        trend_chart(w, &d.team_trend)
    );

    // The employees.
    let _ = write!(m, "<section id=\"employees\"><h2>{}</h2>", w.employees);
    if r.employees.is_empty() {
        let _ = write!(m, "<p>{}</p>", w.no_ratings);
    } else {
        let mut rows = r.employees.clone();
        super::sort_rows(&mut rows, sort, desc);
        let _ = write!(m, "<p class=\"hint\">{}</p>", w.sort_hint);
        m.push_str("<div class=\"scroll\"><table><thead><tr>");
        for (key, label) in [
            (Some(SortKey::Name), w.employee),
            (Some(SortKey::Rated), w.rated),
            (Some(SortKey::Average), w.average),
            (Some(SortKey::Csat), w.csat),
            (Some(SortKey::Low), w.low),
            (Some(SortKey::Complaints), w.complaints),
            (None, w.weeks_col),
        ] {
            match key {
                Some(k) => {
                    let active = k == sort;
                    let next_desc = if active { !desc } else { k.default_desc() };
                    let aria = if active {
                        format!(
                            " aria-sort=\"{}\"",
                            if desc { "descending" } else { "ascending" }
                        )
                    } else {
                        String::new()
                    };
                    let arrow = match (active, desc) {
                        (true, true) => " ↓",
                        (true, false) => " ↑",
                        _ => "",
                    };
                    let _ = write!(
                        m,
                        "<th{aria}><a href=\"{}?{q}&amp;sort={}&amp;dir={}#employees\">{label}{arrow}</a></th>",
                        f.base,
                        k.code(),
                        if next_desc { "desc" } else { "asc" }
                    );
                }
                None => {
                    let _ = write!(m, "<th>{label}</th>");
                }
            }
        }
        m.push_str("</tr></thead><tbody>");
        for row in &rows {
            let Some(id) = row.employee_id else { continue };
            let p = format!("employee.{id}");
            let low_class = if row.low_ratings > 0 {
                " class=\"low\""
            } else {
                ""
            };
            let _ = write!(
                m,
                "<tr data-employee=\"{id}\"><td><a href=\"{}/employee/{id}?{q}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td{low_class}>{}</td><td>{}</td><td>{}</td></tr>",
                f.base,
                escape(&employee_label(id, f.names)),
                count(w, &format!("{p}.ratedOrders"), row.rated_orders),
                figure(w, &format!("{p}.averageRating"), row.average_rating),
                figure(w, &format!("{p}.csatPercent"), row.csat_percent),
                count(w, &format!("{p}.lowRatings"), row.low_ratings),
                count(w, &format!("{p}.complaintsOpened"), row.complaints_opened),
                sparkline(d.employee_trend.get(&id).map_or(&[][..], |v| v.as_slice()))
            );
        }
        m.push_str("</tbody></table></div>");
    }
    let _ = write!(
        m,
        "<p class=\"export\">{}: <a href=\"{b}/employees.csv?{q}\" download>{}</a> <a href=\"{b}/ratings.csv?{q}\" download>{}</a></p></section>",
        w.export,
        w.export_employees,
        w.export_ratings,
        b = f.base
    );

    // Open complaints.
    let _ = write!(
        m,
        "<section id=\"complaints\"><h2>{}</h2><p>{}: {}</p>",
        w.open_complaints,
        w.inspector,
        escape(&employee_label(f.inspector, f.names))
    );
    if d.open_complaints.is_empty() {
        let _ = write!(m, "<p>{}</p>", w.none_open);
    } else {
        let _ = write!(
            m,
            "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            w.order, w.complaint, w.rating, w.opened, w.age_hours, w.sla_hours, w.status
        );
        for c in &d.open_complaints {
            let state = match (c.taken_into_work, c.past_sla) {
                (true, _) => w.taken,
                (false, false) => w.waiting,
                (false, true) => w.overdue,
            };
            let _ = write!(
                m,
                "<tr data-complaint=\"{}\"><td><a href=\"{}\" rel=\"noreferrer\">{}</a></td><td><a href=\"{}\" rel=\"noreferrer\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td{}>{} / {}</td><td>{}{}</td></tr>",
                c.complaint_order,
                escape(&order_url(f.crm_url, c.order.id())),
                c.order.id(),
                escape(&order_url(f.crm_url, c.complaint_order)),
                c.complaint_order,
                c.rating.map(|r| r.to_string()).unwrap_or_default(),
                local(f, c.opened_at),
                w.number(Some(c.age_hours)),
                if c.past_sla { " class=\"low\"" } else { "" },
                w.number(Some(c.sla_hours_used)),
                w.number(Some(c.sla_hours)),
                state,
                c.status
                    .as_deref()
                    .map(|s| format!(" ({})", escape(s)))
                    .unwrap_or_default()
            );
        }
        m.push_str("</tbody></table></div>");
    }
    m.push_str("</section>");
    m.push_str(&notes(w));
    document(f, w.title, "dashboard", &m)
}

fn notes(w: &Words) -> String {
    let mut out = String::from("<ul class=\"notes\">");
    for n in w.notes {
        let _ = write!(out, "<li>{n}</li>");
    }
    out.push_str("</ul>");
    out
}

/// One employee's page: their figures and trend, and every 1–3 rating of the period with the
/// customer's words and the order's link.
pub fn render_employee(
    f: &Frame<'_>,
    period: &Period,
    id: u64,
    row: Option<&Row>,
    trend: &[WeekFigures],
    low: &[RatedOrder],
    pager: &Pager,
) -> String {
    let w = f.words;
    let q = escape(&period.query());
    let name = employee_label(id, f.names);
    let path = format!("{}/employee/{id}", f.base);
    let mut m = String::new();
    let _ = write!(
        m,
        "<header><p><a href=\"{}?{q}\">{}</a></p><h1 data-employee=\"{id}\">{}</h1><p class=\"shop\">{}</p></header>",
        f.base,
        w.back,
        escape(&name),
        escape(f.shop)
    );
    m.push_str(&periods_nav(f, &path, period, ""));
    let empty = Row {
        employee_id: Some(id),
        name: None,
        rated_orders: 0,
        average_rating: None,
        csat_percent: None,
        low_ratings: 0,
        complaints_opened: 0,
        complaints_resolved: 0,
        median_resolve_hours: None,
        distribution: [0; 5],
    };
    let row = row.unwrap_or(&empty);
    let _ = write!(m, "<section id=\"figures\"><h2>{}</h2>", w.period);
    m.push_str(&cards(w, "employee", row, &[]));
    let _ = write!(m, "<h3>{}</h3>", w.distribution);
    m.push_str(&distribution_chart(w, "employee", &row.distribution));
    m.push_str("</section>");
    let _ = write!(
        m,
        "<section id=\"trend\"><h2>{}</h2><p class=\"hint\">{}</p>{}</section>",
        w.trend,
        w.trend_hint,
        trend_chart(w, trend)
    );
    let _ = write!(m, "<section id=\"ratings\"><h2>{}</h2>", w.low_title);
    if low.is_empty() {
        let _ = write!(m, "<p>{}</p>", w.no_low);
    }
    for o in low {
        let others: Vec<String> = o
            .employees
            .iter()
            .map(|e| escape(&employee_label(*e, f.names)))
            .collect();
        let _ = write!(
            m,
            "<article class=\"rating\" data-survey=\"{}\" data-rating=\"{r}\"><p><span class=\"score r{r}\">{r}</span> · {} {}</p>",
            escape(&o.survey),
            w.rated_on,
            local(f, o.rated_at.unwrap_or(o.sent_at)),
            r = o.rating
        );
        if o.words.is_empty() {
            let none = if o.words_erased {
                w.words_erased
            } else {
                w.no_words
            };
            let _ = write!(m, "<p class=\"hint\">{none}</p>");
        }
        for words in &o.words {
            let _ = write!(m, "<blockquote>{}</blockquote>", escape(words));
        }
        let _ = write!(
            m,
            "<p><a href=\"{}\" rel=\"noreferrer\" data-order=\"{}\">{}</a></p><p class=\"hint\">{}: {}</p>",
            escape(&order_url(f.crm_url, o.order.id())),
            o.order.id(),
            w.open_in_crm.replace("{id}", &o.order.id().to_string()),
            w.credited,
            others.join(", ")
        );
        if let Some((order, outcome)) = o.complaint {
            let state = match outcome {
                ComplaintOutcome::Open => w.complaint_open,
                ComplaintOutcome::Resolved => w.complaint_resolved,
                ComplaintOutcome::Failed => w.complaint_failed,
            };
            let _ = write!(
                m,
                "<p>{}: <a href=\"{}\" rel=\"noreferrer\">{order}</a> — {state}</p>",
                w.complaint,
                escape(&order_url(f.crm_url, order))
            );
        }
        m.push_str("</article>");
    }
    if pager.total > pager.per_page {
        m.push_str(&pager_nav(w, &format!("{path}?{q}"), pager));
    }
    let _ = write!(
        m,
        "<p class=\"export\">{}: <a href=\"{}/ratings.csv?{q}&amp;employee={id}\" download>{}</a></p></section>",
        w.export, f.base, w.export_ratings
    );
    m.push_str(&notes(w));
    document(f, &name, "employee", &m)
}

/// A page that says what went wrong and what to do, never a stack trace.
pub fn render_error(f: &Frame<'_>, e: &ErrorPage) -> String {
    let w = f.words;
    let (title, body, link) = match e {
        ErrorPage::Unauthorized => (w.unauthorized_title, w.unauthorized_body.to_string(), false),
        ErrorPage::BadPeriod(p) => (w.bad_period_title, period_problem(w, p), true),
        ErrorPage::BadRequest => (w.bad_request_title, w.bad_request_body.to_string(), true),
        ErrorPage::NotFound => (w.not_found_title, w.not_found_body.to_string(), true),
        ErrorPage::Unavailable => (w.unavailable_title, w.unavailable_body.to_string(), true),
        ErrorPage::TooManyRows { rows, .. } => {
            (w.too_many_rows_title, too_many_rows(w, *rows), true)
        }
    };
    let kind = match e {
        ErrorPage::Unauthorized => "unauthorized",
        ErrorPage::BadPeriod(_) => "bad-period",
        ErrorPage::BadRequest => "bad-request",
        ErrorPage::NotFound => "not-found",
        ErrorPage::Unavailable => "unavailable",
        ErrorPage::TooManyRows { .. } => "too-many-rows",
    };
    let mut m = format!(
        "<section class=\"error\" data-error=\"{kind}\"><h1>{title}</h1><p>{}</p>",
        escape(&body)
    );
    if let ErrorPage::TooManyRows {
        parts, employee, ..
    } = e
    {
        m.push_str("<ul class=\"parts\">");
        for part in parts {
            let who = employee.map_or(String::new(), |id| format!("&amp;employee={id}"));
            let _ = write!(
                m,
                "<li><a href=\"{}/ratings.csv?from={}&amp;to={}{who}\" download>{} — {}</a></li>",
                f.base, part.from, part.to, part.from, part.to
            );
        }
        m.push_str("</ul>");
    }
    if link {
        let _ = write!(m, "<p><a href=\"{}\">{}</a></p>", f.base, w.to_dashboard);
    }
    m.push_str("</section>");
    document(f, title, "error", &m)
}

/// Where a long list stands and the way to its neighbours: "101–200 of 1750", previous, next.
/// `here` is the page's address with its query, already escaped.
fn pager_nav(w: &Words, here: &str, p: &Pager) -> String {
    let first = (p.skip() + 1).min(p.total);
    let last = (p.skip() + p.per_page).min(p.total);
    let mut m = format!(
        "<nav class=\"pager\" data-page=\"{}\" data-pages=\"{}\" data-total=\"{}\"><span>{} {first}–{last} {} {}</span>",
        p.page,
        p.pages(),
        p.total,
        w.shown,
        w.shown_of,
        p.total
    );
    if p.page > 1 {
        let _ = write!(
            m,
            " <a rel=\"prev\" href=\"{here}&amp;page={}\">{}</a>",
            (p.page - 1).min(p.pages()),
            w.previous
        );
    }
    if p.page < p.pages() {
        let _ = write!(
            m,
            " <a rel=\"next\" href=\"{here}&amp;page={}\">{}</a>",
            p.page + 1,
            w.next
        );
    }
    m.push_str("</nav>");
    m
}

/// Why a ratings file comes in parts, in the page's language.
fn too_many_rows(w: &Words, rows: u32) -> String {
    match w.lang {
        "ru" => format!(
            "Оценённых заказов в этом периоде — {rows}: для одного файла это слишком много. \
             Скачайте его по частям:"
        ),
        "uk" => format!(
            "Оцінених замовлень у цьому періоді — {rows}: для одного файлу це забагато. \
             Завантажте його частинами:"
        ),
        _ => format!(
            "This period holds {rows} rated orders, more than one file can carry. \
             Download it in parts:"
        ),
    }
}

/// What is wrong with a period, in the page's language.
fn period_problem(w: &Words, p: &PeriodError) -> String {
    let ru = w.lang == "ru";
    let uk = w.lang == "uk";
    match p {
        PeriodError::NotADate(s) if ru => format!("«{s}» — не дата вида 2026-11-01."),
        PeriodError::NotADate(s) if uk => format!("«{s}» — не дата виду 2026-11-01."),
        PeriodError::HalfRange if ru => "Для своего периода нужны обе даты: «с» и «по».".into(),
        PeriodError::HalfRange if uk => {
            "Для свого періоду потрібні обидві дати: «з» і «по».".into()
        }
        PeriodError::UnknownPreset(_) if ru => "Такого периода в отчёте нет.".into(),
        PeriodError::UnknownPreset(_) if uk => "Такого періоду у звіті немає.".into(),
        PeriodError::Reversed if ru => "Последний день раньше первого.".into(),
        PeriodError::Reversed if uk => "Останній день раніше за перший.".into(),
        PeriodError::TooLong(d) if ru => format!(
            "Выбрано {d} дн.; отчёт показывает не больше {} дней сразу.",
            super::MAX_PERIOD_DAYS
        ),
        PeriodError::TooLong(d) if uk => format!(
            "Вибрано {d} дн.; звіт показує не більше {} днів одразу.",
            super::MAX_PERIOD_DAYS
        ),
        PeriodError::OutOfRange if ru => "Даты должны быть между 2000 и 2100 годом.".into(),
        PeriodError::OutOfRange if uk => "Дати мають бути між 2000 і 2100 роком.".into(),
        other => format!("{}.", capitalise(&other.to_string())),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
