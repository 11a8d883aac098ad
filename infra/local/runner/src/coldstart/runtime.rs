//! The Lambda Runtime API (version 2018-06-01) as a local server: it hands a few invocations to a
//! runtime, one per `GET …/invocation/next`, and records what the runtime reports back and when,
//! so a cold start can be timed from outside the process the way Lambda sees it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One invocation, as Lambda hands it to the runtime.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub body: Vec<u8>,
    /// Unix milliseconds.
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
}

impl Invocation {
    /// An invocation of `function_arn` with `body`, due `timeout` from now.
    pub fn new(function_arn: &str, body: Vec<u8>, timeout: Duration) -> Invocation {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Invocation {
            request_id: uuid_like(),
            body,
            deadline_ms: (now + timeout).as_millis() as u64,
            function_arn: function_arn.to_string(),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                now.as_secs(),
                &uuid_like().replace('-', "")[..24],
                &uuid_like().replace('-', "")[..16],
            ),
        }
    }
}

/// What the runtime reported back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `POST /2018-06-01/runtime/invocation/{id}/response`
    Response(Vec<u8>),
    /// `POST /2018-06-01/runtime/invocation/{id}/error`
    Error { error_type: String, body: Vec<u8> },
    /// `POST /2018-06-01/runtime/init/error`
    InitError { error_type: String, body: Vec<u8> },
}

/// A report, when the emulator had it and when it had handed out that invocation (`None` for an
/// init error).
#[derive(Debug, Clone)]
pub struct Reported {
    pub report: Report,
    pub at: Instant,
    pub handed: Option<Instant>,
}

struct Shared {
    invocations: Vec<Invocation>,
    /// When each invocation (by index) was handed out; its length is how many were.
    handed: Mutex<Vec<Instant>>,
    first_next: Mutex<Option<Instant>>,
    reports: mpsc::UnboundedSender<Reported>,
}

impl Shared {
    /// The handed-out invocation with `id` and when it was handed out.
    fn handed(&self, id: &str) -> Option<Instant> {
        let handed = self.handed.lock().unwrap();
        self.invocations
            .iter()
            .zip(handed.iter())
            .find(|(inv, _)| inv.request_id == id)
            .map(|(_, at)| *at)
    }
}

/// The Runtime API (version 2018-06-01) for a few invocations, on a free loopback port: each
/// `GET …/invocation/next` gets the next one, in order; once all are out, `next` waits, as a
/// frozen environment does.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    reports: mpsc::UnboundedReceiver<Reported>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start(invocations: Vec<Invocation>) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            invocations,
            handed: Mutex::new(Vec::new()),
            first_next: Mutex::new(None),
            reports: tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            addr,
            shared,
            reports: rx,
            server,
        })
    }

    /// `host:port`: what `AWS_LAMBDA_RUNTIME_API` holds.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the runtime first asked for an event: its init was over then.
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.lock().unwrap()
    }

    /// The next report, if one comes within `within`.
    pub async fn report(&mut self, within: Duration) -> Option<Reported> {
        tokio::time::timeout(within, self.reports.recv())
            .await
            .ok()
            .flatten()
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.first_next
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let inv = {
        let mut handed = s.handed.lock().unwrap();
        let inv = s.invocations.get(handed.len()).cloned();
        if inv.is_some() {
            handed.push(Instant::now());
        }
        inv
    };
    let Some(inv) = inv else {
        // No more events: a runtime asking again waits until it is killed, which is what a
        // runtime in an environment Lambda froze sees.
        std::future::pending::<()>().await;
        unreachable!("pending never resolves")
    };
    let mut r = (StatusCode::OK, inv.body.clone()).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "lambda-runtime-aws-request-id",
        header_value(&inv.request_id),
    );
    h.insert(
        "lambda-runtime-deadline-ms",
        header_value(&inv.deadline_ms.to_string()),
    );
    h.insert(
        "lambda-runtime-invoked-function-arn",
        header_value(&inv.function_arn),
    );
    h.insert("lambda-runtime-trace-id", header_value(&inv.trace_id));
    r
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

fn unknown_request(id: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "errorMessage": format!("no invocation {id}"),
            "errorType": "InvalidRequestID",
        })),
    )
        .into_response()
}

fn error_type(headers: &HeaderMap) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_string()
}

async fn response(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Some(handed) = s.handed(&id) else {
        return unknown_request(&id);
    };
    let _ = s.reports.send(Reported {
        report: Report::Response(body.to_vec()),
        at,
        handed: Some(handed),
    });
    accepted()
}

async fn error(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Some(handed) = s.handed(&id) else {
        return unknown_request(&id);
    };
    let _ = s.reports.send(Reported {
        report: Report::Error {
            error_type: error_type(&headers),
            body: body.to_vec(),
        },
        at,
        handed: Some(handed),
    });
    accepted()
}

async fn init_error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    let _ = s.reports.send(Reported {
        report: Report::InitError {
            error_type: error_type(&headers),
            body: body.to_vec(),
        },
        at,
        handed: None,
    });
    accepted()
}

/// A random-looking UUID (request ids, message ids): unique within a run is all it needs.
pub(crate) fn uuid_like() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    // SplitMix64: consecutive calls give unrelated-looking digits.
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (
        mix(t ^ n.rotate_left(32)),
        mix(t.wrapping_add(n) ^ 0x9e37_79b9),
    );
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// A short name for an answer: `HTTP 200`, `no batchItemFailures`, `error Runtime.X`, …
pub fn answer_label(report: &Report) -> String {
    match report {
        Report::Response(body) => match serde_json::from_slice::<Value>(body) {
            Ok(v) if v.get("statusCode").is_some() => format!("HTTP {}", v["statusCode"]),
            Ok(v) if v.get("batchItemFailures").is_some() => {
                match v["batchItemFailures"].as_array().map_or(0, Vec::len) {
                    0 => "no batchItemFailures".into(),
                    n => format!("{n} batchItemFailures"),
                }
            }
            Ok(_) => "answered".into(),
            Err(_) => "answered (not JSON)".into(),
        },
        Report::Error { error_type, .. } => format!("error {error_type}"),
        Report::InitError { error_type, .. } => format!("init error {error_type}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn invocation(body: &str) -> Invocation {
        Invocation::new(
            "arn:aws:lambda:eu-central-1:123456789012:function:t",
            body.as_bytes().to_vec(),
            Duration::from_secs(3),
        )
    }

    /// A runtime's POST to the emulator (an answer or an error report): the status it got.
    async fn post(http: &reqwest::Client, url: String, body: &'static str) -> reqwest::StatusCode {
        http.post(url).body(body).send().await.unwrap().status()
    }

    /// A tiny runtime client over real HTTP, as lambda_runtime talks to the API.
    #[tokio::test]
    async fn the_emulator_hands_out_the_event_and_records_the_response() {
        let inv = invocation(r#"{"Records":[]}"#);
        let id = inv.request_id.clone();
        let mut api = RuntimeApi::start(vec![inv]).await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let http = reqwest::Client::new();
        assert!(api.first_next().is_none());

        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let h = next.headers().clone();
        assert_eq!(h["lambda-runtime-aws-request-id"], id.as_str());
        let deadline: u64 = h["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(deadline > Utc::now().timestamp_millis() as u64);
        assert!(h["lambda-runtime-invoked-function-arn"]
            .to_str()
            .unwrap()
            .ends_with(":function:t"));
        assert!(h["lambda-runtime-trace-id"]
            .to_str()
            .unwrap()
            .starts_with("Root=1-"));
        assert_eq!(next.text().await.unwrap(), r#"{"Records":[]}"#);
        assert!(api.first_next().is_some());

        // Someone else's request id is refused and not recorded.
        let wrong = post(&http, format!("{base}/invocation/not-{id}/response"), "{}").await;
        assert_eq!(wrong, 400);

        let answered = post(
            &http,
            format!("{base}/invocation/{id}/response"),
            r#"{"batchItemFailures":[]}"#,
        )
        .await;
        assert_eq!(answered, 202);
        let got = api.report(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            got.report,
            Report::Response(br#"{"batchItemFailures":[]}"#.to_vec())
        );
        assert_eq!(answer_label(&got.report), "no batchItemFailures");
        assert!(api.report(Duration::from_millis(50)).await.is_none());

        // The next event never comes: the runtime waits, as in a frozen environment.
        let again = tokio::time::timeout(
            Duration::from_millis(200),
            http.get(format!("{base}/invocation/next")).send(),
        )
        .await;
        assert!(again.is_err(), "a second event was handed out");
    }

    #[tokio::test]
    async fn errors_are_recorded_with_their_type() {
        let inv = invocation("{}");
        let id = inv.request_id.clone();
        let mut api = RuntimeApi::start(vec![inv]).await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let http = reqwest::Client::new();
        // Not handed out yet: nobody can answer it.
        let early = post(&http, format!("{base}/invocation/{id}/error"), "{}").await;
        assert_eq!(early, 400);
        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let r = http
            .post(format!("{base}/invocation/{id}/error"))
            .header("lambda-runtime-function-error-type", "Runtime.Handler")
            .body(r#"{"errorType":"x","errorMessage":"y"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let got = api.report(Duration::from_secs(5)).await.unwrap().report;
        assert!(
            matches!(&got, Report::Error { error_type, .. } if error_type == "Runtime.Handler")
        );
        assert_eq!(answer_label(&got), "error Runtime.Handler");

        let r = http
            .post(format!("{base}/init/error"))
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let got = api.report(Duration::from_secs(5)).await.unwrap().report;
        assert_eq!(answer_label(&got), "init error Runtime.InitError");
    }

    /// The warm repeat: the second `next` gets the second invocation, and its report says when
    /// it was handed out, so its answer time is measured from there, not from the process start.
    #[tokio::test]
    async fn invocations_go_out_in_order_and_each_answer_knows_when_its_event_went_out() {
        let first = invocation(r#"{"n":1}"#);
        let second = invocation(r#"{"n":2}"#);
        let ids = [first.request_id.clone(), second.request_id.clone()];
        let mut api = RuntimeApi::start(vec![first, second]).await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let http = reqwest::Client::new();
        for (n, id) in ids.iter().enumerate() {
            let next = http
                .get(format!("{base}/invocation/next"))
                .send()
                .await
                .unwrap();
            assert_eq!(next.headers()["lambda-runtime-aws-request-id"], id.as_str());
            assert_eq!(next.text().await.unwrap(), format!(r#"{{"n":{}}}"#, n + 1));
            let sent = Instant::now();
            tokio::time::sleep(Duration::from_millis(30)).await;
            let answered = post(&http, format!("{base}/invocation/{id}/response"), "{}").await;
            assert_eq!(answered, 202);
            let got = api.report(Duration::from_secs(5)).await.unwrap();
            let handed = got.handed.expect("a handed-out invocation");
            assert!(handed <= sent, "handed out before the runtime had it");
            assert!(got.at.duration_since(handed) >= Duration::from_millis(30));
        }
        let third = tokio::time::timeout(
            Duration::from_millis(200),
            http.get(format!("{base}/invocation/next")).send(),
        )
        .await;
        assert!(third.is_err(), "only two events were given");
    }
}
