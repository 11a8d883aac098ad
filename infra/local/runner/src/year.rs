//! `make bench`, "reports at a year of data": a stack of its own seeded with a year of rated
//! orders (through the store's own item and counter code, in batches), then `GET /reports/kpi`
//! and the dashboard page timed over real HTTP for a month, a quarter and a year. Measures and
//! reports; nothing here fails a build.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, TimeZone, Utc};
use otklik_core::complaint::ComplaintTrack;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Rating, SurveyState};

use crate::local::{LocalStack, Options};
use crate::stack::REPORT_TOKEN;

/// Calls per route and period.
const CALLS: usize = 20;
/// What the issue asks of a page and of the JSON at a year of data.
pub const GOAL: Duration = Duration::from_millis(300);

/// One route over one period.
#[derive(Debug, Clone)]
pub struct Timing {
    pub route: &'static str,
    pub period: &'static str,
    pub days: i64,
    pub p50: Duration,
    pub p99: Duration,
    /// The function's own account of its time (`Server-Timing`), each part's median in ms.
    pub parts: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct YearOfData {
    pub orders: u64,
    pub complaints: u64,
    pub seed_secs: f64,
    pub timings: Vec<Timing>,
    /// The machine's one-minute load average when the timing began and ended (other work on the
    /// same cores slows every figure).
    pub load: (String, String),
}

/// A small deterministic generator: the same year every run.
struct Dice(u64);
impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Seeds `orders` rated orders over the 365 days before `today` (the shop's days) and times the
/// report routes.
pub async fn reports_at_a_year(aws: &str, orders: u64) -> Result<YearOfData, String> {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let stack = LocalStack::start(Options {
        stack: format!("year{}", nanos % 1_000_000_000),
        aws_endpoint: Some(aws.to_string()),
        // Nothing to poll: the year is seeded, not ordered.
        poll_every: Duration::from_secs(3600),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let store = stack.parts.store();
    let cfg = &stack.parts.config.complaints;
    let tz = stack.parts.config.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let first = today - Days::new(365);

    println!("  seeding {orders} rated orders over 365 days…");
    let started = Instant::now();
    let mut dice = Dice(2026);
    let mut surveys = Vec::with_capacity(orders as usize);
    let mut complaints = Vec::new();
    let weights = [1u64, 2, 4, 13, 30]; // ratings 1..5, a shop doing well
    for k in 0..orders {
        let day = first + Days::new(dice.next(365));
        let local = day.and_hms_opt(8, 0, 0).expect("8 o'clock exists")
            + chrono::Duration::minutes(dice.next(14 * 60) as i64);
        let sent = tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or("a local time without an instant")?;
        let mut s = Survey::new(
            OrderRef::new("main-shop", 100_000 + k).map_err(|e| e.to_string())?,
            Contact {
                phone: None,
                email: None,
            },
            sent,
            sent,
        );
        let channel = [
            Channel::Whatsapp,
            Channel::Whatsapp,
            Channel::Email,
            Channel::Max,
        ][dice.next(4) as usize];
        let mut roll = dice.next(weights.iter().sum());
        let mut r = 1u8;
        for w in weights {
            if roll < w {
                break;
            }
            roll -= w;
            r += 1;
        }
        s.channel = Some(channel);
        s.asked = vec![channel];
        s.sent_at = Some(sent);
        s.state = SurveyState::AwaitingRating;
        s.rating = Some(Rating::new(r).map_err(|e| e.to_string())?);
        s.rated_at = Some(sent + chrono::Duration::minutes(20));
        s.replied_via = Some(channel);
        // Twelve people, one or two per order.
        s.employees = (0..1 + dice.next(2))
            .map(|_| EmployeeId::new(11 + dice.next(12)).expect("ids are positive"))
            .collect();
        if r <= 2 {
            // As the machine leaves it when it decides the complaint (the reports read tracks
            // only of such surveys).
            s.done
                .insert(otklik_core::machine::OPEN_COMPLAINT.to_string());
            let opened = sent + chrono::Duration::hours(1);
            let mut t = ComplaintTrack::new(900_000 + k, opened);
            // Older complaints were dealt with; those of the last days may still be open.
            if day + Days::new(3) < today {
                t.observe(
                    &cfg.status_in_work,
                    opened + chrono::Duration::hours(2),
                    cfg,
                );
                let end = if dice.next(5) == 0 {
                    &cfg.status_failed
                } else {
                    &cfg.status_resolved
                };
                t.observe(
                    end,
                    opened + chrono::Duration::hours(4 + dice.next(40) as i64),
                    cfg,
                );
            }
            complaints.push((s.id.clone(), t));
        }
        surveys.push(s);
    }
    store
        .seed_counted(&surveys, &complaints)
        .await
        .map_err(|e| e.to_string())?;
    let seed_secs = started.elapsed().as_secs_f64();
    println!("  seeded in {seed_secs:.0} s; timing the reports…");

    let http = reqwest::Client::new();
    let base = format!("{}/reports", stack.api.url());
    let periods: [(&str, NaiveDate); 3] = [
        ("a month", today - Days::new(29)),
        ("a quarter", today - Days::new(90)),
        ("a year", today - Days::new(364)),
    ];
    let mut timings = Vec::new();
    let load_before = load_average();
    for (route, path) in [
        ("GET /reports/kpi (JSON)", "/kpi"),
        ("GET /reports (page)", ""),
        // An employee's page: the first fifty of their 1–3 ratings of the period.
        ("GET /reports/employee/11 (page)", "/employee/11"),
    ] {
        for (name, from) in periods {
            let url = format!("{base}{path}?from={from}&to={today}");
            let mut took = Vec::with_capacity(CALLS);
            let mut parts: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            // One call first, not counted: the connection and the function's first request.
            call(&http, &url).await?;
            for _ in 0..CALLS {
                let t = Instant::now();
                let timing = call(&http, &url).await?;
                took.push(t.elapsed());
                for (name, ms) in server_timing(&timing) {
                    parts.entry(name).or_default().push(ms);
                }
            }
            took.sort();
            let parts: Vec<(String, f64)> = parts
                .into_iter()
                .map(|(name, mut v)| {
                    v.sort_by(f64::total_cmp);
                    (name, v[v.len() / 2])
                })
                .collect();
            let timing = Timing {
                route,
                period: name,
                days: (today - from).num_days() + 1,
                p50: took[took.len() / 2],
                p99: took[((took.len() as f64 * 0.99).ceil() as usize).min(took.len()) - 1],
                parts,
            };
            println!(
                "    {route}, {name}: p50 {} ms, p99 {} ms (in the function: {})",
                timing.p50.as_millis(),
                timing.p99.as_millis(),
                parts_text(&timing.parts)
            );
            timings.push(timing);
        }
    }
    Ok(YearOfData {
        orders,
        complaints: complaints.len() as u64,
        seed_secs,
        timings,
        load: (load_before, load_average()),
    })
}

/// The one-minute load average (`/proc/loadavg`), or "unknown" where there is none.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// The function's `Server-Timing` parts: `figures;dur=12.5, list;dur=3.0` → (name, ms).
fn server_timing(header: &str) -> Vec<(String, f64)> {
    header
        .split(',')
        .filter_map(|part| {
            let (name, dur) = part.trim().split_once(";dur=")?;
            Some((name.to_string(), dur.parse().ok()?))
        })
        .collect()
}

fn parts_text(parts: &[(String, f64)]) -> String {
    if parts.is_empty() {
        return "not told".into();
    }
    parts
        .iter()
        .map(|(name, ms)| format!("{name} {ms:.0} ms"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One timed call; its `Server-Timing` header (empty if none).
async fn call(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let r = http
        .get(url)
        .bearer_auth(REPORT_TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let timing = r
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let status = r.status();
    let body = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{url}: {status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    Ok(timing)
}

/// The report's section.
pub fn markdown(y: &YearOfData, machine: &str, date: &str) -> String {
    let mut s = String::from("\n## Reports at a year of data\n\n");
    s.push_str(&format!(
        "A stack of its own seeded with {} rated orders spread over the last 365 days ({} with a \
         complaint), written with the store's own item and counter code in batches ({:.0} s), \
         then each route called {CALLS} times per period over real HTTP through the local gateway \
         (the debug build the local stack runs), after one call not counted. That first call also \
         packed each month's summary, as the first read after a month changes does; the figures \
         are of the calls after it, nothing changing meanwhile (a month changed since its last \
         read is read cell by cell once: not measured here). The figures come from the per-day \
         counters (docs/dashboard.md); the goal is about {} ms, held to the p99.\n\n",
        y.orders,
        y.complaints,
        y.seed_secs,
        GOAL.as_millis()
    ));
    s.push_str(
        "| route | period | days | p50 | p99 | goal | in the function (p50 of each part) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for t in &y.timings {
        let met = if t.p99 <= GOAL { "met" } else { "missed" };
        s.push_str(&format!(
            "| {} | {} | {} | {} ms | {} ms | ~{} ms: {met} | {} |\n",
            t.route,
            t.period,
            t.days,
            t.p50.as_millis(),
            t.p99.as_millis(),
            GOAL.as_millis(),
            parts_text(&t.parts)
        ));
    }
    s.push_str(
        "\nThe parts are the function's own `Server-Timing` header: \"figures\" reads the \
         counters (and, on the main page, the open complaints) and folds them; \"list\" reads an \
         employee page's surveys and words; \"render\" writes the HTML. The JSON route tells \
         none. The rest of a call's time is the local gateway and the HTTP round trip.\n",
    );
    // What the employee's page costs, so the figures above read right.
    s.push_str(
        "\nAn employee's page shows fifty of their 1–3 ratings at a time, with the customer's \
         words (lowest first, then newest; the timed call is the first page). Its list entries \
         are keyed by rating, so it walks the 1s from the newest month back, then the 2s and the \
         3s, and stops once it has the page; then it reads only that page's surveys, complaints \
         and words in batched reads (docs/dashboard.md). A year costs it about what a month \
         does; a later page also walks the entries before it.\n",
    );
    s.push_str(&format!(
        "\nThe machine's load average (1 min) was {} when the timing began and {} when it ended.\n",
        y.load.0, y.load.1
    ));
    s.push_str(&format!("\nMeasured on {date}, on {machine}.\n"));
    s
}

/// `old` (an earlier report) with this section replaced, or added at the end.
pub fn splice(old: &str, section: &str) -> String {
    const HEAD: &str = "\n## Reports at a year of data";
    let Some(a) = old.find(HEAD) else {
        return format!("{}\n{}", old.trim_end(), section);
    };
    let rest = &old[a + HEAD.len()..];
    let b = rest.find("\n## ").map_or(old.len(), |i| a + HEAD.len() + i);
    format!("{}\n{}{}", old[..a].trim_end(), section, &old[b..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_server_timing_is_read_part_by_part() {
        assert_eq!(
            server_timing("figures;dur=12.5, list;dur=3.0,render;dur=0.4"),
            [
                ("figures".to_string(), 12.5),
                ("list".to_string(), 3.0),
                ("render".to_string(), 0.4)
            ]
        );
        assert!(server_timing("").is_empty());
        assert_eq!(server_timing("odd, x;dur=y, a;dur=1").len(), 1);
        assert_eq!(
            parts_text(&server_timing("figures;dur=12.5, list;dur=3")),
            "figures 12 ms, list 3 ms"
        );
        assert_eq!(parts_text(&[]), "not told");
    }

    #[test]
    fn the_section_replaces_its_old_self_and_keeps_the_rest() {
        let old = "# Performance\n\nintro\n\n## December peak\n\npeak\n";
        let once = splice(old, "\n## Reports at a year of data\n\nfirst\n");
        assert!(
            once.contains("## December peak\n\npeak") && once.ends_with("first\n"),
            "{once}"
        );
        let twice = splice(&once, "\n## Reports at a year of data\n\nsecond\n");
        assert!(
            !twice.contains("first") && twice.contains("second"),
            "{twice}"
        );
        assert_eq!(twice.matches("## Reports at a year of data").count(), 1);
        let mid = "# P\n\n## Reports at a year of data\n\nold\n\n## Later\n\nkept\n";
        let replaced = splice(mid, "\n## Reports at a year of data\n\nnew\n");
        assert!(
            replaced.contains("new")
                && replaced.contains("## Later\n\nkept")
                && !replaced.contains("old"),
            "{replaced}"
        );
    }
}
