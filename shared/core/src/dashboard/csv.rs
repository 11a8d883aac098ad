//! The dashboard's CSV files: one row per employee (the page's table) and one per rated order.
//!
//! Dialect, chosen so a double-click opens it right in a Russian-locale Excel (the shops Otklik is
//! for) and it still reads anywhere else: UTF-8 with a byte-order mark (Excel takes BOM-less
//! UTF-8 for the ANSI code page and garbles Cyrillic), `;` between fields (the list separator of
//! the ru/uk locales, where `,` is the decimal mark), a decimal comma in numbers for ru/uk shops
//! (a point for en), CRLF line ends (RFC 4180), every text field in double quotes with `"`
//! doubled. A text that starts with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, so a
//! customer's words can never run as a spreadsheet formula.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{employee_label, order_url, ComplaintOutcome, RatedOrder, Words};
use crate::kpi::Row;

/// The byte-order mark that starts every file.
pub const BOM: &str = "\u{feff}";
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

fn text(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn num(w: &Words, x: Option<f64>) -> String {
    match x {
        None => String::new(),
        Some(v) if w.lang == "en" => v.to_string(),
        Some(v) => v.to_string().replace('.', ","),
    }
}

fn line(out: &mut String, cells: &[String]) {
    out.push_str(&cells.join(";"));
    out.push_str("\r\n");
}

/// The employee table as the page shows it, then the team's line.
pub fn employees(w: &Words, rows: &[Row], team: &Row, names: &BTreeMap<u64, String>) -> String {
    let mut out = String::from(BOM);
    let mut header: Vec<String> = [
        w.employee,
        "ID",
        w.rated,
        w.average,
        w.csat,
        w.low,
        w.complaints_opened,
        w.complaints_resolved,
        w.median_resolve,
    ]
    .iter()
    .map(|h| text(h))
    .collect();
    header.extend((1..=5).map(|r| text(&format!("{} {r}", w.rating))));
    line(&mut out, &header);
    for r in rows.iter().chain(std::iter::once(team)) {
        let (who, id) = match r.employee_id {
            Some(id) => (employee_label(id, names), id.to_string()),
            None => (w.team.to_string(), String::new()),
        };
        let mut cells = vec![
            text(&who),
            id,
            r.rated_orders.to_string(),
            num(w, r.average_rating),
            num(w, r.csat_percent),
            r.low_ratings.to_string(),
            r.complaints_opened.to_string(),
            r.complaints_resolved.to_string(),
            num(w, r.median_resolve_hours),
        ];
        cells.extend(r.distribution.iter().map(u32::to_string));
        line(&mut out, &cells);
    }
    out
}

/// One line per rated order.
pub fn ratings(
    w: &Words,
    orders: &[RatedOrder],
    names: &BTreeMap<u64, String>,
    crm_url: &str,
    tz: Tz,
) -> String {
    let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let mut out = String::from(BOM);
    let header: Vec<String> = [
        w.order,
        w.csv_site,
        w.csv_link,
        w.csv_survey_sent,
        w.rated_on,
        w.rating,
        w.channel,
        w.credited,
        w.csv_words,
        w.csv_complaint_status,
    ]
    .iter()
    .map(|h| text(h))
    .collect();
    line(&mut out, &header);
    for o in orders {
        let employees: Vec<String> = o
            .employees
            .iter()
            .map(|e| employee_label(*e, names))
            .collect();
        let complaint = o.complaint.map_or_else(String::new, |(id, outcome)| {
            let state = match outcome {
                ComplaintOutcome::Open => w.complaint_open,
                ComplaintOutcome::Resolved => w.complaint_resolved,
                ComplaintOutcome::Failed => w.complaint_failed,
            };
            format!("{id}: {state}")
        });
        line(
            &mut out,
            &[
                o.order.id().to_string(),
                text(o.order.site()),
                text(&order_url(crm_url, o.order.id())),
                at(o.sent_at),
                o.rated_at.map(at).unwrap_or_default(),
                o.rating.to_string(),
                text(&o.channel.to_string()),
                text(&employees.join(", ")),
                text(&if o.words.is_empty() && o.words_erased {
                    w.words_erased.to_string()
                } else {
                    o.words.join("\n")
                }),
                text(&complaint),
            ],
        );
    }
    out
}
