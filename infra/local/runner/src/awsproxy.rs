//! A pass-through proxy in front of the local AWS endpoint: it names and counts every call (the
//! benchmark's "AWS calls per survey") and, for the fault-injection test, makes chosen calls fail
//! the way a function crash would.
//!
//! A fault is decided once per SDK *invocation* (the `amz-sdk-invocation-id` header every attempt
//! of one operation carries), so the SDK's own retries cannot paper over it, just as they could
//! not bring back a process that died:
//! - [`Fault::Drop`]: the call never reaches AWS and every attempt fails — the function died just
//!   before it (e.g. the survey is saved, its commands never queued);
//! - [`Fault::LoseAnswer`]: the first attempt reaches AWS and takes effect, and then every attempt
//!   fails — the function died just after it (e.g. the commands are queued, the outbox is never
//!   cleared; the state is saved, nobody hears so).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::response::IntoResponse;

/// Requests that passed the proxy, by "service action", and DynamoDB's single-item requests by
/// the kind of item they touch (where the requests per order go).
#[derive(Clone, Default)]
pub struct AwsCounter(
    Arc<Mutex<BTreeMap<String, u64>>>,
    Arc<Mutex<BTreeMap<String, u64>>>,
);

impl AwsCounter {
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// "dynamodb GetItem survey", "dynamodb PutItem send", … since the last take.
    pub fn take_items(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.1.lock().unwrap())
    }
}

/// The kind of item a single-item DynamoDB request touches: its partition key's prefix up to the
/// first `#` ("survey" for `survey#…`), `None` for requests of many items or none.
pub fn item_kind(action: &str, body: &[u8]) -> Option<String> {
    if !matches!(
        action,
        "dynamodb GetItem" | "dynamodb PutItem" | "dynamodb UpdateItem" | "dynamodb DeleteItem"
    ) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let key = v.get("Key").or_else(|| v.get("Item"))?;
    let pk = key.get("pk")?.get("S")?.as_str()?;
    Some(pk.split('#').next().unwrap_or(pk).to_string())
}

/// "sqs SendMessage", "dynamodb PutItem", "scheduler CreateSchedule", "sesv2 SendEmail", …
pub fn action_of(method: &str, path: &str, headers: &axum::http::HeaderMap, body: &[u8]) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (svc, op) = t.split_once('.').unwrap_or(("?", t));
        let svc = match svc {
            s if s.starts_with("DynamoDB") => "dynamodb",
            s if s.starts_with("AmazonSQS") => "sqs",
            s if s.starts_with("secretsmanager") => "secretsmanager",
            s => s,
        };
        return format!("{svc} {op}");
    }
    if path.starts_with("/schedules") {
        let op = match method {
            "POST" => "CreateSchedule",
            "GET" if path == "/schedules" || path.starts_with("/schedules?") => "ListSchedules",
            "GET" => "GetSchedule",
            "DELETE" => "DeleteSchedule",
            _ => "UpdateSchedule",
        };
        return format!("scheduler {op}");
    }
    if path.starts_with("/v2/email/outbound-emails") {
        return "sesv2 SendEmail".into();
    }
    if path.starts_with("/v2/email/identities") {
        return "sesv2 CreateEmailIdentity".into();
    }
    // The SQS query protocol: Action=… in the form.
    let form = String::from_utf8_lossy(body);
    if let Some(a) = form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("sqs {a}");
    }
    format!("other {method} {}", path.split('?').next().unwrap_or(path))
}

/// How one invocation is made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Drop,
    LoseAnswer,
}

/// The share of one action's invocations that fail, by kind.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// As [`action_of`] names it, e.g. "sqs SendMessage".
    pub action: &'static str,
    /// Only calls whose body holds this (e.g. one kind of item's key prefix).
    pub body_contains: Option<&'static str>,
    pub drop: f64,
    pub lose_answer: f64,
}

/// The faults to inject, switched on and off while the stack runs, and what was injected.
pub struct AwsFaults {
    rules: Vec<FaultRule>,
    enabled: AtomicBool,
    state: Mutex<FaultState>,
}

#[derive(Default)]
struct FaultState {
    rng: u64,
    /// The decision for each invocation seen while enabled, with whether it was forwarded once.
    decided: HashMap<String, (Option<Fault>, bool)>,
    injected: BTreeMap<(String, &'static str), u64>,
}

impl AwsFaults {
    /// Off until [`AwsFaults::enable`]; `seed` makes a run repeatable in what it picks.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Arc<AwsFaults> {
        Arc::new(AwsFaults {
            rules,
            enabled: AtomicBool::new(false),
            state: Mutex::new(FaultState {
                rng: seed | 1,
                ..Default::default()
            }),
        })
    }

    pub fn enable(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    /// Invocations made to fail, by "action" and "drop" / "lose answer".
    pub fn injected(&self) -> BTreeMap<(String, &'static str), u64> {
        self.state.lock().unwrap().injected.clone()
    }

    /// Whether `invocation` was picked to lose its answer: every attempt of it is then answered
    /// as one that reached AWS (500), the SDK's retries included.
    fn loses_answer(&self, invocation: Option<&str>) -> bool {
        let st = self.state.lock().unwrap();
        invocation.is_some_and(|i| matches!(st.decided.get(i), Some((Some(Fault::LoseAnswer), _))))
    }

    /// What to do with one attempt: forward it, and whether to answer with a failure.
    fn decide(&self, action: &str, body: &[u8], invocation: Option<&str>) -> (bool, bool) {
        if !self.enabled.load(Ordering::SeqCst) {
            return (true, false);
        }
        let applies = |r: &&FaultRule| {
            r.action == action
                && r.body_contains
                    .is_none_or(|needle| body.windows(needle.len()).any(|w| w == needle.as_bytes()))
        };
        let Some(rule) = self.rules.iter().find(applies) else {
            return (true, false);
        };
        // Without an invocation id the attempts cannot be told apart: leave the call alone.
        let Some(invocation) = invocation else {
            return (true, false);
        };
        let mut st = self.state.lock().unwrap();
        if let Some((fault, forwarded)) = st.decided.get(invocation).copied() {
            return match fault {
                None => (true, false),
                Some(Fault::Drop) => (false, true),
                Some(Fault::LoseAnswer) => {
                    st.decided.insert(invocation.to_string(), (fault, true));
                    (!forwarded, true)
                }
            };
        }
        let roll = next_unit(&mut st.rng);
        let fault = if roll < rule.drop {
            Some(Fault::Drop)
        } else if roll < rule.drop + rule.lose_answer {
            Some(Fault::LoseAnswer)
        } else {
            None
        };
        if let Some(f) = fault {
            let kind = match f {
                Fault::Drop => "drop",
                Fault::LoseAnswer => "lose answer",
            };
            *st.injected.entry((action.to_string(), kind)).or_default() += 1;
        }
        st.decided.insert(invocation.to_string(), (fault, true));
        match fault {
            None => (true, false),
            Some(Fault::Drop) => (false, true),
            Some(Fault::LoseAnswer) => (true, true),
        }
    }
}

/// xorshift64*: a repeatable stream of draws in [0, 1) without another dependency.
fn next_unit(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

/// What the SDK sees for an injected fault: an error it classifies as transient (JSON protocols
/// read `__type`, REST ones the error-type header). A call that never reached AWS is answered
/// 503 `ServiceUnavailable` (the service took nothing); one whose answer is lost, 500
/// `InternalFailure` (it may have acted) — the difference a sender of mail needs to tell whether
/// it may send again.
fn injected_failure(reached_aws: bool) -> axum::response::Response {
    let (status, kind) = if reached_aws {
        (500, "InternalFailure")
    } else {
        (503, "ServiceUnavailable")
    };
    axum::http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", kind)
        .body(axum::body::Body::from(format!(
            r#"{{"__type":"{kind}","message":"fault injected by the local proxy"}}"#
        )))
        .unwrap_or_else(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A proxy on a free port that forwards everything to `upstream` and counts it.
pub async fn counting_proxy(upstream: String) -> std::io::Result<(String, AwsCounter)> {
    proxy(upstream, None).await
}

/// A proxy on a free port that forwards to `upstream`, counts every call and injects `faults`.
pub async fn proxy(
    upstream: String,
    faults: Option<Arc<AwsFaults>>,
) -> std::io::Result<(String, AwsCounter)> {
    let counter = AwsCounter::default();
    let c = counter.clone();
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (c, http, upstream, faults) =
            (c.clone(), http.clone(), upstream.clone(), faults.clone());
        async move {
            let (parts, body) = req.into_parts();
            let bytes: Bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let action = action_of(parts.method.as_str(), &path, &parts.headers, &bytes);
            let invocation = parts
                .headers
                .get("amz-sdk-invocation-id")
                .and_then(|v| v.to_str().ok());
            let (forward, fail) = faults
                .as_ref()
                .map_or((true, false), |f| f.decide(&action, &bytes, invocation));
            if let Some(kind) = item_kind(&action, &bytes) {
                *c.1.lock()
                    .unwrap()
                    .entry(format!("{action} {kind}"))
                    .or_default() += 1;
            }
            *c.0.lock().unwrap().entry(action).or_default() += 1;
            if !forward {
                let reached = faults.as_ref().is_some_and(|f| f.loses_answer(invocation));
                return injected_failure(reached);
            }
            let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
                .unwrap_or(reqwest::Method::GET);
            let mut out = http.request(method, format!("{upstream}{path}"));
            for (k, v) in &parts.headers {
                if k != "host" && k != "content-length" {
                    out = out.header(k.as_str(), v.as_bytes());
                }
            }
            let answer = match out.body(bytes.to_vec()).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let headers: Vec<(String, Vec<u8>)> = r
                        .headers()
                        .iter()
                        .filter(|(k, _)| *k != "transfer-encoding" && *k != "content-length")
                        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                        .collect();
                    let body = r.bytes().await.unwrap_or_default();
                    let mut resp = axum::http::Response::builder().status(status);
                    for (k, v) in headers {
                        resp = resp.header(k, v);
                    }
                    resp.body(axum::body::Body::from(body))
                        .unwrap_or_else(|_| axum::http::StatusCode::BAD_GATEWAY.into_response())
                }
                Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
            };
            if fail {
                return injected_failure(true);
            }
            answer
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, counter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(drop: f64, lose_answer: f64) -> Arc<AwsFaults> {
        AwsFaults::new(
            vec![FaultRule {
                action: "sqs SendMessage",
                body_contains: None,
                drop,
                lose_answer,
            }],
            7,
        )
    }

    #[test]
    fn a_single_item_request_is_named_by_its_key_prefix() {
        let get = br#"{"TableName":"t","Key":{"pk":{"S":"survey#crm-1"},"sk":{"S":"survey"}}}"#;
        let put = br#"{"TableName":"t","Item":{"pk":{"S":"send#s-1"},"sk":{"S":"x"}}}"#;
        assert_eq!(
            item_kind("dynamodb GetItem", get).as_deref(),
            Some("survey")
        );
        assert_eq!(item_kind("dynamodb PutItem", put).as_deref(), Some("send"));
        assert_eq!(item_kind("dynamodb BatchGetItem", get), None);
        assert_eq!(item_kind("dynamodb GetItem", b"not json"), None);
    }

    #[test]
    fn nothing_is_injected_until_enabled_or_for_other_actions() {
        let f = faults(1.0, 0.0);
        assert_eq!(f.decide("sqs SendMessage", b"", Some("a")), (true, false));
        f.enable(true);
        assert_eq!(f.decide("dynamodb PutItem", b"", Some("b")), (true, false));
        assert_eq!(f.decide("sqs SendMessage", b"", None), (true, false));
        assert!(f.injected().is_empty());
    }

    #[test]
    fn a_dropped_invocation_fails_every_attempt_without_reaching_aws() {
        let f = faults(1.0, 0.0);
        f.enable(true);
        for _ in 0..3 {
            assert_eq!(f.decide("sqs SendMessage", b"", Some("i-1")), (false, true));
        }
        assert_eq!(f.injected()[&("sqs SendMessage".to_string(), "drop")], 1);
        assert!(
            !f.loses_answer(Some("i-1")),
            "answered as never reaching AWS"
        );
    }

    #[test]
    fn a_lost_answer_reaches_aws_once_and_fails_every_attempt() {
        let f = faults(0.0, 1.0);
        f.enable(true);
        assert!(!f.loses_answer(Some("i-1")));
        assert_eq!(f.decide("sqs SendMessage", b"", Some("i-1")), (true, true));
        // Its retries are answered as the first was: it reached AWS.
        assert!(f.loses_answer(Some("i-1")));
        assert_eq!(f.decide("sqs SendMessage", b"", Some("i-1")), (false, true));
        assert_eq!(f.decide("sqs SendMessage", b"", Some("i-1")), (false, true));
        assert_eq!(
            f.injected()[&("sqs SendMessage".to_string(), "lose answer")],
            1
        );
    }

    #[test]
    fn a_rule_for_one_kind_of_item_leaves_the_others_alone() {
        let f = AwsFaults::new(
            vec![FaultRule {
                action: "dynamodb PutItem",
                body_contains: Some("survey#"),
                drop: 1.0,
                lose_answer: 0.0,
            }],
            7,
        );
        f.enable(true);
        let send = br#"{"Item":{"pk":{"S":"send#s-1"}}}"#;
        let survey = br#"{"Item":{"pk":{"S":"survey#s-1"}}}"#;
        assert_eq!(f.decide("dynamodb PutItem", send, Some("a")), (true, false));
        assert_eq!(
            f.decide("dynamodb PutItem", survey, Some("b")),
            (false, true)
        );
    }

    #[test]
    fn rates_are_kept_over_many_invocations() {
        let f = faults(0.1, 0.2);
        f.enable(true);
        for i in 0..10_000 {
            f.decide("sqs SendMessage", b"", Some(&i.to_string()));
        }
        let inj = f.injected();
        let drop = inj[&("sqs SendMessage".to_string(), "drop")];
        let lost = inj[&("sqs SendMessage".to_string(), "lose answer")];
        assert!((800..1200).contains(&drop), "{drop}");
        assert!((1700..2300).contains(&lost), "{lost}");
    }
}
