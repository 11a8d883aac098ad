//! `make bench` (first part): what one survey costs in calls, on each path, measured on the local
//! stack, and what that makes per 10,000 surveys at AWS's public prices.
//!
//! retailCRM calls are counted at the simulator (`/sim/stats`, per route). AWS calls are counted by
//! a pass-through proxy put in front of the local AWS endpoint, per service and action. The local
//! plumbing's own calls (the consumers' `ReceiveMessage`, the scheduler's `ListSchedules`/
//! `GetSchedule`/`DeleteSchedule`) are Lambda's and the Scheduler's work on AWS; they are listed
//! apart and the cost model counts one receive per message instead.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::drive::{emails_to, eventually, open_in_browser, rating_links, Driver};
use crate::local::{LocalStack, Options};

const WAIT: Duration = Duration::from_secs(90);

pub use crate::awsproxy::{counting_proxy, AwsCounter};

/// One path's counts.
#[derive(Debug, Clone, Default)]
pub struct PathCalls {
    pub name: &'static str,
    pub crm: BTreeMap<String, u64>,
    pub aws: BTreeMap<String, u64>,
    /// Requests the HTTP API took (trigger, webhooks, pages), counted at the local gateway.
    pub http: u64,
    /// The history poller's requests while the path ran (its passes over `orders/history`),
    /// taken out of `crm`: a pass serves every order changed since the last one, so on a real day
    /// it is shared by them all, and here the poller runs every few seconds.
    pub poller: u64,
}

impl PathCalls {
    pub fn crm_total(&self) -> u64 {
        self.crm.values().sum()
    }
    /// The calls that are the survey's own (not the local stand-ins' polling).
    pub fn aws_own(&self) -> BTreeMap<String, u64> {
        self.aws
            .iter()
            .filter(|(k, _)| !is_plumbing(k))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// The local stand-ins' own calls (Lambda's and the Scheduler's work on AWS).
pub fn is_plumbing(action: &str) -> bool {
    action.starts_with("other ")
        || matches!(
            action,
            "sqs ReceiveMessage"
                | "scheduler ListSchedules"
                | "scheduler GetSchedule"
                | "scheduler DeleteSchedule"
        )
}

/// How often the poller runs while paths are counted.
const POLL_EVERY_SECS: u64 = 2;

async fn settle(d: &Driver) {
    // Queues drain and the last writes land; then one more quiet second.
    let _ = eventually("quiet", Duration::from_secs(20), || async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(Some(()))
    })
    .await;
    let _ = d;
}

async fn crm_stats(crm: &str) -> Result<BTreeMap<String, u64>, String> {
    let http = reqwest::Client::new();
    let v: Value = http
        .get(format!("{crm}/sim/stats"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let by: BTreeMap<String, u64> = v["byRoute"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect();
    http.delete(format!("{crm}/sim/stats"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(by)
}

fn take_requests() -> u64 {
    crate::gateway::REQUESTS.swap(0, std::sync::atomic::Ordering::Relaxed)
}

async fn rating_of(d: &Driver, id: u64) -> Result<Option<Value>, String> {
    let v = d.order("main-shop", id).await?["customFields"]["otklik_rating"].clone();
    Ok((!v.is_null()).then_some(v))
}

/// Runs the three paths on a fresh stack whose AWS calls pass `counter`.
pub async fn calls_per_survey(counter: &AwsCounter, moto: &str) -> Result<Vec<PathCalls>, String> {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let stack = LocalStack::start(Options {
        stack: format!("bench{}", nanos % 1_000_000_000),
        speed: 1e7,
        // The poller runs as on AWS (its reads counted apart, `PathCalls::poller`: a pass serves
        // every order changed since the last one); dispatch takes who worked an order from its
        // fold once a pass has covered the order, and reads the order's history before that.
        poll_every: Duration::from_secs(POLL_EVERY_SECS),
        config_edit: Some(|t: String| {
            t.replace("min_click_delay = \"15s\"", "min_click_delay = \"1s\"")
        }),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let d = Driver::new(stack.crm_sim.url(), stack.wa_sim.url(), stack.api.url());
    let crm = stack.crm_sim.url();
    // Sent mail is read from the endpoint itself, past the proxy, so reading it is not counted.
    let aws = moto.to_string();
    d.whatsapp_numbers(&["+79005550301", "+79005550303"], &[])
        .await?;
    settle(&d).await;
    crm_stats(&crm).await?;
    counter.take();
    take_requests();
    let mut poller_seen = stack.poller_crm.calls_by_route();
    // The poller's calls since the last path, taken out of the route counts, each from its own
    // route: its passes over `orders/history`, and the `GET users` it makes when a page names
    // someone without a name yet.
    let mut own = |mut crm: BTreeMap<String, u64>| {
        let now = stack.poller_crm.calls_by_route();
        let mut poller = 0;
        for (route, n) in &now {
            let n = n - poller_seen.get(route).copied().unwrap_or(0);
            poller += n;
            let (method, path) = route.split_once(' ').unwrap_or(("GET", route));
            if let Some(c) = crm.get_mut(&format!("{method} /api/v5/{path}")) {
                *c = c.saturating_sub(n);
            }
        }
        poller_seen = now;
        crm.retain(|_, v| *v > 0);
        (crm, poller)
    };
    let mut out = Vec::new();

    // 1. Five stars on WhatsApp.
    let phone = "+79005550301";
    let id = d
        .new_order(
            "main-shop",
            11,
            json!({"phone": phone, "customer": {"id": 3001}}),
        )
        .await?;
    d.set_status("main-shop", id, "complete", 11).await?;
    eventually("the question", WAIT, || async {
        Ok(d.messages_to(phone).await?.into_iter().next())
    })
    .await?;
    d.say("meta", phone, "5").await?;
    eventually("the rating", WAIT, || rating_of(&d, id)).await?;
    eventually("the thanks", WAIT, || async {
        Ok((d.messages_to(phone).await?.len() >= 2).then_some(()))
    })
    .await?;
    settle(&d).await;
    let path_crm = own(crm_stats(&crm).await?);
    out.push(PathCalls {
        name: "5 stars on WhatsApp",
        crm: path_crm.0,
        aws: counter.take(),
        http: take_requests(),
        poller: path_crm.1,
    });

    // 2. Email: a click on the fifth star.
    let email = "bench.buyer@example.ru";
    let id = d
        .new_order(
            "main-shop",
            11,
            json!({"email": email, "customer": {"id": 3002}}),
        )
        .await?;
    d.set_status("main-shop", id, "complete", 11).await?;
    let links = eventually("the email", WAIT, || async {
        let api = d.api.clone();
        Ok(emails_to(&aws, email)
            .await?
            .iter()
            .map(|raw| rating_links(raw))
            .find(|l| l.len() == 5 && l.values().all(|u| u.starts_with(&api))))
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    open_in_browser(&links[&5], true).await?;
    eventually("the rating", WAIT, || rating_of(&d, id)).await?;
    settle(&d).await;
    let path_crm = own(crm_stats(&crm).await?);
    out.push(PathCalls {
        name: "5 stars by email",
        crm: path_crm.0,
        aws: counter.take(),
        http: take_requests(),
        poller: path_crm.1,
    });

    // 3. A complaint: 1 with words on WhatsApp.
    let phone = "+79005550303";
    let id = d
        .new_order(
            "main-shop",
            11,
            json!({"phone": phone, "customer": {"id": 3003}}),
        )
        .await?;
    d.set_status("main-shop", id, "complete", 11).await?;
    eventually("the question", WAIT, || async {
        Ok(d.messages_to(phone).await?.into_iter().next())
    })
    .await?;
    d.say("meta", phone, "1, коробка пришла мятая").await?;
    eventually("the rating", WAIT, || rating_of(&d, id)).await?;
    eventually("the complaint", WAIT, || async {
        Ok((!d.orders("reklamacii").await?.is_empty()).then_some(()))
    })
    .await?;
    settle(&d).await;
    let path_crm = own(crm_stats(&crm).await?);
    out.push(PathCalls {
        name: "complaint (1 on WhatsApp)",
        crm: path_crm.0,
        aws: counter.take(),
        http: take_requests(),
        poller: path_crm.1,
    });
    Ok(out)
}

/// Public list prices (us-east-1, USD), as of the date in docs/performance.md.
pub mod price {
    /// Lambda: per request, and per GB-second on arm64.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    /// DynamoDB on demand: per write and read request unit.
    pub const DDB_WRITE: f64 = 0.625 / 1e6;
    pub const DDB_READ: f64 = 0.125 / 1e6;
    /// SQS standard: per request (64 KB chunk).
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// EventBridge Scheduler: per invocation.
    pub const SCHEDULER_INVOCATION: f64 = 1.00 / 1e6;
    /// SES: per email.
    pub const SES_EMAIL: f64 = 0.10 / 1000.0;
    /// API Gateway HTTP API: per request.
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
}

/// The AWS cost of one survey on a path, from its counted calls. Lambda time is taken as
/// 128 MB × 100 ms per invocation (a generous figure for these handlers); invocations are the
/// HTTP requests plus one per queued message (batches of one, the worst case).
pub fn cost_of(p: &PathCalls, http_requests: u64) -> f64 {
    let a = p.aws_own();
    let n = |k: &str| *a.get(k).unwrap_or(&0) as f64;
    let writes = n("dynamodb PutItem") + n("dynamodb UpdateItem") + n("dynamodb DeleteItem");
    let reads = n("dynamodb GetItem") + n("dynamodb Query") + n("dynamodb Scan");
    let sends = n("sqs SendMessage");
    // Each message is received once and deleted once on AWS (the proxy saw local polling).
    let sqs = sends + n("sqs DeleteMessage") + n("sqs DeleteMessageBatch") + sends;
    let invocations = http_requests as f64 + sends;
    invocations * (price::LAMBDA_REQUEST + 0.128 * 0.1 * price::LAMBDA_GB_SECOND_ARM)
        + writes * price::DDB_WRITE
        + reads * price::DDB_READ
        + sqs * price::SQS_REQUEST
        + n("scheduler CreateSchedule") * price::SCHEDULER_INVOCATION
        + n("sesv2 SendEmail") * price::SES_EMAIL
        + http_requests as f64 * price::HTTP_API_REQUEST
}

/// The report: one table per measure, as Markdown.
pub fn report(
    paths: &[PathCalls],
    cold: Option<&crate::coldstart::ColdStarts>,
    peak: Option<&crate::peak::Peak>,
    machine: &str,
    date: &str,
) -> String {
    let mut s = String::new();
    s.push_str("# Performance\n\n");
    s.push_str(&format!(
        "Written by `make bench` on {date}, on {machine}. A benchmark, not a test: it measures \
         and reports; nothing here fails a build.\n\n"
    ));
    s.push_str("## Calls per survey, by path\n\n");
    s.push_str(
        "Counted on the local stack: retailCRM calls at the simulator, AWS calls by a proxy in \
         front of the local AWS endpoint. From the order's completion to the last effect \
         (rating written, credits, thanks or complaint).\n\n",
    );
    s.push_str(
        "The history poller runs every few seconds here, as its schedule runs it on AWS; its \
         reads (one `orders/history` page per pass, whatever the number of orders it covers, and \
         one `GET users` in a pass whose pages name an employee without a known name: the names \
         the KPI reports show, read off the survey's path) are counted apart in the last column, \
         not as the survey's.\n\n",
    );
    s.push_str(
        "| path | retailCRM calls | AWS calls (own) | target | the poller's reads meanwhile (apart) |\n\
         |---|---|---|---|---|\n",
    );
    for p in paths {
        let target = if p.name.starts_with("5 stars on WhatsApp") {
            if p.crm_total() <= 3 {
                "≤ 3 retailCRM calls: met"
            } else {
                "≤ 3 retailCRM calls: **missed**"
            }
        } else {
            ""
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            p.name,
            p.crm_total(),
            p.aws_own().values().sum::<u64>(),
            target,
            p.poller
        ));
    }
    for p in paths {
        s.push_str(&format!(
            "\n### {}\n\n| call | count |\n|---|---|\n",
            p.name
        ));
        for (k, v) in &p.crm {
            s.push_str(&format!("| retailCRM `{k}` | {v} |\n"));
        }
        for (k, v) in &p.aws {
            let note = if is_plumbing(k) {
                " (local plumbing; Lambda's or the Scheduler's own work on AWS)"
            } else {
                ""
            };
            s.push_str(&format!("| AWS `{k}`{note} | {v} |\n"));
        }
    }
    s.push_str("\n## AWS cost per 10,000 surveys\n\n");
    s.push_str(
        "From the counted calls and public us-east-1 list prices (`bench::price`): Lambda \
         requests plus 128 MB × 100 ms each (one invocation per HTTP request and per queued \
         message), DynamoDB on-demand request units (one per call; items are under 1 KB), SQS \
         requests (send, receive and delete per message), Scheduler invocations, SES emails, HTTP \
         API requests. Free tiers are ignored; fixed monthly costs (the secret, the dashboard, \
         alarms, custom metrics) are not per survey.\n\n",
    );
    s.push_str("| path | HTTP API requests per survey (counted) | USD per 10,000 surveys |\n|---|---|---|\n");
    for p in paths {
        let http = http_requests(p);
        s.push_str(&format!(
            "| {} | {} | {:.4} |\n",
            p.name,
            http,
            cost_of(p, http) * 10_000.0
        ));
    }
    s.push_str(&crate::coldstart::markdown(cold));
    // The quiet day's figure of the budget's goals is the 5-star WhatsApp path counted above.
    let quiet = paths
        .iter()
        .find(|p| p.name.starts_with("5 stars on WhatsApp"))
        .map(PathCalls::crm_total);
    s.push_str(&peak_section(peak, quiet, machine, date));
    s
}

/// The December peak's section, or why it is missing.
pub fn peak_section(
    peak: Option<&crate::peak::Peak>,
    quiet_calls: Option<u64>,
    machine: &str,
    date: &str,
) -> String {
    match peak {
        Some(p) => {
            let mut s = crate::peak::markdown(p, quiet_calls);
            s.push_str(&format!("\nMeasured on {date}, on {machine}.\n"));
            s
        }
        None => "\n## December peak\n\nNot run this time (`BENCH_PEAK=0`).\n".to_string(),
    }
}

/// `report` with only the December peak new: the rest of `old` (an earlier report) is kept.
pub fn splice_peak(old: &str, section: &str) -> String {
    let cut = ["\n## December peak", "\n## Not measured yet"]
        .iter()
        .filter_map(|h| old.find(h))
        .min()
        .unwrap_or(old.len());
    let mut s = old[..cut].trim_end().to_string();
    s.push('\n');
    s.push_str(section);
    // The sections after the old peak's stay (the year of data is written by its own run).
    let mut later = old[cut..]
        .split("\n## ")
        .skip(1)
        .filter(|sec| !sec.starts_with("December peak") && !sec.starts_with("Not measured yet"));
    if let Some(first) = later.next() {
        s = s.trim_end().to_string();
        s.push('\n');
        for sec in std::iter::once(first).chain(later) {
            s.push_str("\n## ");
            s.push_str(sec);
        }
    }
    s
}

/// `new` with its cold-start section replaced by `old`'s (an earlier report), marked as kept: a run
/// without the release builds (`BENCH_COLD=0`) keeps the last measured cold starts rather than
/// dropping them. Without such a section in `old`, `new` is returned as it is.
pub fn keep_cold_section(new: &str, old: &str) -> String {
    const HEAD: &str = "\n## Cold start and peak memory\n";
    const NEXT: &str = "\n## December peak";
    let section = |r: &str| -> Option<(usize, usize)> {
        let a = r.find(HEAD)?;
        let b = r[a + HEAD.len()..]
            .find(NEXT)
            .map_or(r.len(), |i| a + HEAD.len() + i);
        Some((a, b))
    };
    let (Some((na, nb)), Some((oa, ob))) = (section(new), section(old)) else {
        return new.to_string();
    };
    const KEPT: &str = "Kept from the previous report: this run skipped the release builds and \
                        the cold starts (`BENCH_COLD=0`); nothing in it changed them.";
    // The old section may say so already (it was kept before): said once, not once per run.
    let kept: String = old[oa + HEAD.len()..ob]
        .trim_start_matches('\n')
        .split_inclusive('\n')
        .skip_while(|l| l.trim().is_empty() || l.trim() == KEPT)
        .collect();
    format!(
        "{}{HEAD}\n{KEPT}\n\n{}{}",
        &new[..na],
        kept.trim_end_matches('\n').to_string() + "\n",
        &new[nb..]
    )
}

fn http_requests(p: &PathCalls) -> u64 {
    p.http
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsproxy::action_of;

    fn headers(target: Option<&str>) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        if let Some(t) = target {
            h.insert("x-amz-target", t.parse().unwrap());
        }
        h
    }

    #[test]
    fn calls_are_named_by_service_and_action() {
        let a =
            |m: &str, p: &str, t: Option<&str>, b: &str| action_of(m, p, &headers(t), b.as_bytes());
        assert_eq!(
            a("POST", "/", Some("DynamoDB_20120810.PutItem"), ""),
            "dynamodb PutItem"
        );
        assert_eq!(
            a("POST", "/", Some("AmazonSQS.SendMessage"), ""),
            "sqs SendMessage"
        );
        assert_eq!(
            a("POST", "/", Some("secretsmanager.GetSecretValue"), ""),
            "secretsmanager GetSecretValue"
        );
        assert_eq!(
            a("POST", "/", None, "Action=DeleteMessage&x=1"),
            "sqs DeleteMessage"
        );
        assert_eq!(
            a("POST", "/schedules/s-1", None, ""),
            "scheduler CreateSchedule"
        );
        assert_eq!(
            a("GET", "/schedules?ScheduleGroup=g", None, ""),
            "scheduler ListSchedules"
        );
        assert_eq!(
            a("GET", "/schedules/s-1", None, ""),
            "scheduler GetSchedule"
        );
        assert_eq!(
            a("DELETE", "/schedules/s-1", None, ""),
            "scheduler DeleteSchedule"
        );
        assert_eq!(
            a("POST", "/v2/email/outbound-emails", None, ""),
            "sesv2 SendEmail"
        );
        assert!(is_plumbing("sqs ReceiveMessage"));
        assert!(is_plumbing(&a("GET", "/moto-api/data.json", None, "")));
        assert!(!is_plumbing("sqs SendMessage"));
    }

    #[test]
    fn a_peak_alone_replaces_only_its_own_section() {
        // A section after the peak's (the year of data) is kept, after the new peak.
        let with_year =
            "# P\n\n## December peak\n\nold peak\n\n## Reports at a year of data\n\nyear\n";
        let spliced = splice_peak(with_year, "\n## December peak\n\nnew peak\n");
        assert_eq!(
            spliced,
            "# P\n\n## December peak\n\nnew peak\n\n## Reports at a year of data\n\nyear\n"
        );
        let old = "# Performance\n\n## Calls\n\nkept\n\n## December peak\n\nold numbers\n";
        let new = splice_peak(old, "\n## December peak\n\nnew numbers\n");
        assert!(new.contains("kept"), "{new}");
        assert!(new.contains("new numbers"), "{new}");
        assert!(!new.contains("old numbers"), "{new}");
        assert_eq!(new.matches("## December peak").count(), 1, "{new}");
        let older = "# Performance\n\nkept\n\n## Not measured yet\n\n- the peak\n";
        let new = splice_peak(older, "\n## December peak\n\nx\n");
        assert!(!new.contains("Not measured yet"), "{new}");
        assert!(new.ends_with("x\n"), "{new}");
    }

    #[test]
    fn a_run_without_cold_starts_keeps_the_last_measured_ones() {
        let old = "# P\n\n## Calls\n\nold calls\n\n## Cold start and peak memory\n\n| f | 23 ms |\n\n## December peak\n\nold peak\n";
        let new = "# P\n\n## Calls\n\nnew calls\n\n## Cold start and peak memory\n\nNot measured in this run\n\n## December peak\n\nnew peak\n";
        let r = keep_cold_section(new, old);
        assert!(r.contains("new calls") && r.contains("new peak"), "{r}");
        assert!(
            r.contains("| f | 23 ms |") && r.contains("Kept from the previous report"),
            "{r}"
        );
        assert!(!r.contains("Not measured in this run"), "{r}");
        assert!(!r.contains("old calls") && !r.contains("old peak"), "{r}");
        assert_eq!(r.matches("## Cold start").count(), 1, "{r}");
        // Nothing to keep: the new report as it is.
        assert_eq!(keep_cold_section(new, "# P\n"), new);
    }

    #[test]
    fn a_kept_cold_start_section_says_it_was_kept_once_however_often_it_is_kept() {
        let new =
            "# P\n\n## Cold start and peak memory\n\nnot measured\n\n## December peak\n\nnew\n";
        let old = "# P\n\n## Cold start and peak memory\n\n| table |\n\n## December peak\n\nold\n";
        let once = keep_cold_section(new, old);
        let twice = keep_cold_section(new, &once);
        assert_eq!(once, twice);
        assert_eq!(
            twice.matches("Kept from the previous report").count(),
            1,
            "{twice}"
        );
        assert!(twice.contains("| table |") && twice.contains("new\n") && !twice.contains("old\n"));
    }

    #[test]
    fn cost_adds_up_the_counted_calls_and_ignores_the_plumbing() {
        let mut p = PathCalls {
            name: "x",
            ..Default::default()
        };
        assert_eq!(cost_of(&p, 0), 0.0);
        p.aws.insert("sqs ReceiveMessage".into(), 1000);
        assert_eq!(cost_of(&p, 0), 0.0, "local polling is not the survey's");
        p.aws.insert("sesv2 SendEmail".into(), 1);
        let one_email = cost_of(&p, 0);
        assert!((one_email - price::SES_EMAIL).abs() < 1e-12);
        p.aws.insert("sqs SendMessage".into(), 1);
        // A message: send + receive (+ its invocation); more than the email alone.
        assert!(cost_of(&p, 0) > one_email + 2.0 * price::SQS_REQUEST);
        assert!(cost_of(&p, 1) > cost_of(&p, 0));
    }
}
