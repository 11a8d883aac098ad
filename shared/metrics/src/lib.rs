//! Otklik's metrics, written as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! On Lambda, stdout goes to CloudWatch Logs, which turns each EMF line into metric data: no
//! `PutMetricData` call, no extra latency, no extra IAM permission. [`ALL`] is the one list of
//! every metric the code emits; the dashboard and the alarms in `infra/template.yaml` may name only
//! these (a test checks it), and [`emit`] takes only these.
//!
//! Every metric carries the `Stack` dimension (from `OTKLIK_STACK`, as the resource names do), so
//! several installations in one account stay apart. A metric may also be published per one more
//! dimension (per channel, per rating, …): the same line then yields the total and the breakdown.

use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// The CloudWatch namespace of every Otklik metric.
pub const NAMESPACE: &str = "Otklik";
/// The dimension every metric carries.
pub const STACK_DIMENSION: &str = "Stack";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric: its name, unit and the breakdowns it is published under besides the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    /// Extra dimensions, each giving one breakdown (`Stack` + that dimension). The total (`Stack`
    /// alone) is always published too.
    pub breakdowns: &'static [&'static str],
}

impl Metric {
    /// Every dimension set this metric is published under, `Stack` first.
    pub fn dimension_sets(&self) -> Vec<Vec<&'static str>> {
        std::iter::once(vec![STACK_DIMENSION])
            .chain(self.breakdowns.iter().map(|d| vec![STACK_DIMENSION, *d]))
            .collect()
    }
}

const fn count(name: &'static str, breakdowns: &'static [&'static str]) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
        breakdowns,
    }
}

/// A survey planned for a completed order.
pub const SURVEYS_CREATED: Metric = count("SurveysCreated", &[]);
/// An order we decided not to ask about (at intake or at send time), by reason.
pub const SURVEYS_SKIPPED: Metric = count("SurveysSkipped", &["Reason"]);
/// A question that reached the provider, by channel.
pub const SURVEYS_SENT: Metric = count("SurveysSent", &["Channel"]);
/// The one reminder to a customer who had not answered, by the channel it went out on.
pub const REMINDERS_SENT: Metric = count("RemindersSent", &["Channel"]);
/// A WhatsApp question that failed and was sent again by email.
pub const FALLBACKS: Metric = count("Fallbacks", &[]);
/// A question that could not be sent at all (the survey is closed as failed).
pub const DISPATCH_FAILURES: Metric = count("DispatchFailures", &[]);
/// A rating read from a reply or a click, by rating and by channel.
pub const REPLIES: Metric = count("Replies", &["Rating", "Channel"]);
/// A reply nobody could read as a rating: a task for the inspector.
pub const UNREADABLE_REPLIES: Metric = count("UnreadableReplies", &["Channel"]);
/// A customer who asked never to be contacted again.
pub const OPT_OUTS: Metric = count("OptOuts", &[]);
/// A complaint order created in the complaints store.
pub const COMPLAINTS_OPENED: Metric = count("ComplaintsOpened", &[]);
/// A complaint that reached a final status, by outcome (`resolved` / `failed`).
pub const COMPLAINTS_CLOSED: Metric = count("ComplaintsClosed", &["Outcome"]);
/// A reminder task for a complaint left untouched past its SLA.
pub const COMPLAINT_REMINDERS: Metric = count("ComplaintReminders", &[]);
/// The MAX instance reported a state in which it sends nothing (`notAuthorized`, `blocked`,
/// `suspended`), by state.
pub const MAX_INSTANCE_DOWN: Metric = count("MaxInstanceDown", &["State"]);
/// An item of an authentic webhook we could not use (kept for inspection), by provider.
pub const UNUSABLE_ITEMS: Metric = count("UnusableItems", &["Provider"]);
/// A customer's message from a valid number with no survey of ours to route it to (a sender
/// the phone library rejects is an `UnusableItems` instead).
pub const UNROUTED_MESSAGES: Metric = count("UnroutedMessages", &[]);
/// An error a messaging provider reported (Meta's `value.errors` and failed statuses' codes,
/// GREEN-API's failure statuses), by provider and code.
pub const PROVIDER_ERRORS: Metric = count("ProviderErrors", &["Provider", "Code"]);
/// One of those that affects the whole sending account (locked, unpaid, rate-limited, spam
/// restrictions…; `otklik_core::provider_errors`), by provider: the alarm's metric.
pub const PROVIDER_ACCOUNT_ERRORS: Metric = count("ProviderAccountErrors", &["Provider"]);
/// A retailCRM API call (every attempt, retries included).
pub const CRM_CALLS: Metric = count("CrmCalls", &[]);
/// A retailCRM call that failed (network, 5xx, an error answer), throttling included.
pub const CRM_ERRORS: Metric = count("CrmErrors", &[]);
/// A retailCRM call refused for the rate limit (HTTP 429 or 503).
pub const CRM_THROTTLED: Metric = count("CrmThrottled", &[]);
/// How long one retailCRM call took.
pub const CRM_LATENCY: Metric = Metric {
    name: "CrmLatency",
    unit: Unit::Milliseconds,
    breakdowns: &[],
};

/// Every metric the code emits.
pub const ALL: &[Metric] = &[
    SURVEYS_CREATED,
    SURVEYS_SKIPPED,
    SURVEYS_SENT,
    REMINDERS_SENT,
    FALLBACKS,
    DISPATCH_FAILURES,
    REPLIES,
    UNREADABLE_REPLIES,
    OPT_OUTS,
    COMPLAINTS_OPENED,
    COMPLAINTS_CLOSED,
    COMPLAINT_REMINDERS,
    MAX_INSTANCE_DOWN,
    UNUSABLE_ITEMS,
    UNROUTED_MESSAGES,
    PROVIDER_ERRORS,
    PROVIDER_ACCOUNT_ERRORS,
    CRM_CALLS,
    CRM_ERRORS,
    CRM_THROTTLED,
    CRM_LATENCY,
];

/// Where lines go: stdout, or a test's capture.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

fn sink() -> &'static RwLock<Option<Sink>> {
    static SINK: OnceLock<RwLock<Option<Sink>>> = OnceLock::new();
    SINK.get_or_init(|| RwLock::new(None))
}

fn stack() -> &'static str {
    static STACK: OnceLock<String> = OnceLock::new();
    STACK.get_or_init(|| std::env::var("OTKLIK_STACK").unwrap_or_else(|_| "otklik".to_string()))
}

/// The EMF line for one value of `metric`. `dims` gives a value for each of the metric's
/// breakdowns; a breakdown without a value is left out of this line (the total still counts).
pub fn line(metric: &Metric, dims: &[(&str, &str)], value: f64, timestamp_ms: u64) -> String {
    let mut doc = serde_json::Map::new();
    let mut sets = vec![serde_json::json!([STACK_DIMENSION])];
    doc.insert(STACK_DIMENSION.into(), stack().into());
    for b in metric.breakdowns {
        if let Some((_, v)) = dims.iter().find(|(k, _)| k == b) {
            sets.push(serde_json::json!([STACK_DIMENSION, b]));
            doc.insert((*b).into(), (*v).into());
        }
    }
    doc.insert(metric.name.into(), value.into());
    doc.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": [{"Name": metric.name, "Unit": metric.unit.as_str()}],
            }],
        }),
    );
    serde_json::Value::Object(doc).to_string()
}

/// Emits one value of `metric` now.
pub fn emit(metric: &Metric, dims: &[(&str, &str)], value: f64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let text = line(metric, dims, value, now);
    let current = sink().read().ok().and_then(|s| s.clone());
    match current {
        Some(f) => f(&text),
        // One `println!` is one write under stdout's lock: the line is never split by a log line.
        None => println!("{text}"),
    }
}

/// Counts one occurrence.
pub fn incr(metric: &Metric, dims: &[(&str, &str)]) {
    emit(metric, dims, 1.0);
}

/// Drops every metric line from now on: for a person's terminal (the `otklik` CLI), where an EMF
/// JSON line is noise — nothing collects it there.
pub fn silence() {
    if let Ok(mut s) = sink().write() {
        *s = Some(Arc::new(|_: &str| {}));
    }
}

/// Lines emitted while it lives, instead of stdout (tests; the local runner's report).
/// Process-wide: every thread's metrics land here.
pub struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    pub fn start() -> Capture {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let into = lines.clone();
        if let Ok(mut s) = sink().write() {
            *s = Some(Arc::new(move |l: &str| {
                if let Ok(mut v) = into.lock() {
                    v.push(l.to_string());
                }
            }));
        }
        Capture { lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Every (metric name, dimension set) seen, from the lines as CloudWatch would read them.
    pub fn published(&self) -> std::collections::BTreeSet<(String, Vec<String>)> {
        self.lines().iter().flat_map(|l| published(l)).collect()
    }

    /// The sum of a metric's values under exactly these dimension values (`Stack` aside).
    pub fn sum(&self, name: &str, dims: &[(&str, &str)]) -> f64 {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get(name).is_some())
            .filter(|v| dims.iter().all(|(k, want)| v[*k].as_str() == Some(*want)))
            .filter_map(|v| v[name].as_f64())
            .sum()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Ok(mut s) = sink().write() {
            *s = None;
        }
    }
}

/// The (metric name, dimension names) pairs one EMF line publishes, read the way CloudWatch
/// reads it. Not an EMF line: nothing.
pub fn published(line: &str) -> Vec<(String, Vec<String>)> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for directive in v["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let sets: Vec<Vec<String>> = directive["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|set| {
                set.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str().map(String::from))
                    .collect()
            })
            .collect();
        for m in directive["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = m["Name"].as_str() else {
                continue;
            };
            // CloudWatch drops a metric whose value or dimension values are missing.
            if v.get(name).and_then(|x| x.as_f64()).is_none() {
                continue;
            }
            for set in &sets {
                if set
                    .iter()
                    .all(|d| v.get(d).and_then(|x| x.as_str()).is_some())
                {
                    out.push((name.to_string(), set.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_valid_emf_with_total_and_breakdown() {
        let l = line(
            &REPLIES,
            &[("Rating", "5"), ("Channel", "email")],
            1.0,
            1_700_000_000_000,
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], NAMESPACE);
        assert_eq!(d["Metrics"][0]["Name"], "Replies");
        assert_eq!(d["Metrics"][0]["Unit"], "Count");
        assert_eq!(v["Replies"], 1.0);
        assert_eq!(v["Rating"], "5");
        assert_eq!(v["Channel"], "email");
        assert!(v["Stack"].is_string());
        let mut got = published(&l);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("Replies".to_string(), vec!["Stack".to_string()]),
                ("Replies".into(), vec!["Stack".into(), "Channel".into()]),
                ("Replies".into(), vec!["Stack".into(), "Rating".into()]),
            ]
        );
    }

    #[test]
    fn a_missing_breakdown_value_leaves_only_the_total() {
        let l = line(&SURVEYS_SENT, &[], 1.0, 0);
        assert_eq!(
            published(&l),
            vec![("SurveysSent".to_string(), vec!["Stack".to_string()])]
        );
    }

    #[test]
    fn names_are_unique_and_cloudwatch_safe() {
        let mut names: Vec<&str> = ALL.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for m in ALL {
            assert!(
                m.name.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                m.name
            );
            // EMF allows at most 30 dimensions per set; we stay at two.
            assert!(m.dimension_sets().iter().all(|s| s.len() <= 2));
        }
    }

    #[test]
    fn capture_takes_the_lines_and_sums_them() {
        let c = Capture::start();
        incr(&SURVEYS_SENT, &[("Channel", "whatsapp")]);
        incr(&SURVEYS_SENT, &[("Channel", "email")]);
        emit(&CRM_LATENCY, &[], 42.0);
        assert_eq!(c.sum("SurveysSent", &[]), 2.0);
        assert_eq!(c.sum("SurveysSent", &[("Channel", "email")]), 1.0);
        assert_eq!(c.sum("CrmLatency", &[]), 42.0);
        assert!(c
            .published()
            .contains(&("SurveysSent".into(), vec!["Stack".into(), "Channel".into()])));
    }

    #[test]
    fn not_emf_publishes_nothing() {
        assert!(published("{\"level\":\"INFO\"}").is_empty());
        assert!(published("plain text").is_empty());
        assert!(published(r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"Otklik","Dimensions":[["Stack"]],"Metrics":[{"Name":"X"}]}]},"Stack":"s"}"#).is_empty());
    }
}
