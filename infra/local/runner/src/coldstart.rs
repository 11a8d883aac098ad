//! `make bench` (second part): each function's cold start against a hello-world `lambda_runtime`
//! binary, and each function's peak memory, measured the way Lambda starts a function.
//!
//! A local Lambda Runtime API ([`RuntimeApi`]) hands one typical event to a freshly started release
//! binary. The cold start is the time from spawning the process to the emulator receiving its
//! answer: the whole init (config file, the secret from Secrets Manager, SDK clients)
//! plus the first event, as a cold invocation on Lambda. The process's peak resident set
//! (`VmHWM`) is read just after it answered. The baseline and every function are measured the
//! same way, interleaved round by round, so a busy moment of the machine hits them alike.
//!
//! The events are real: a `Stage` (both simulators, the stack's table and queues on the local
//! AWS endpoint, the in-process handlers) prepares fresh orders and surveys each round, and queue
//! events carry messages that went through the real queues (the effect messages are the very ones
//! `inbound-worker` queued for a reply that `whatsapp-inbound` took in).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use chrono::Utc;
use otklik_app::env::Parts;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{self, FunctionDef, Names, QueueDef};
use otklik_aws::Clients;
use otklik_core::intake::{DispatchRequest, IntakeSignal};
use otklik_core::links::{LinkAction, LinkSigner};
use otklik_core::model::{OrderRef, Rating, SurveyId};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::drive::Driver;
use crate::stack::{self, Endpoints};

/// The baseline's binary (`infra/bench/hello-lambda`).
pub const HELLO: &str = "hello-lambda";
/// The cold-start target: a function starts within this multiple of the hello-world binary.
pub const TARGET_RATIO: f64 = 1.3;
/// "Comfortable in 128 MB": the peak resident set stays within half the function's memory, which
/// leaves the other half for a full batch of ten, bigger retailCRM answers and the allocator's
/// slack.
pub const COMFORTABLE_MB: f64 = 64.0;
/// The memory size every function has in the template (`Globals.Function.MemorySize`).
pub const MEMORY_MB: u32 = 128;
/// How long one start may take before it counts as failed.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The release build of the then ten functions and the baseline from a nearly empty `target/release`,
/// measured on the 2-core machine `make bench` was first run on, which debug builds shared part
/// of the time (later runs rebuild only what changed).
pub const FIRST_BUILD: &str = "21 min 15 s";

// ---------------------------------------------------------------------------------------------
// The Runtime API emulator

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
fn uuid_like() -> String {
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

// ---------------------------------------------------------------------------------------------
// One start

/// One cold start of one binary.
#[derive(Debug, Clone)]
pub struct Run {
    /// Process spawned → answer received.
    pub total: Duration,
    /// Process spawned → first `GET …/next` (the init, before the event).
    pub init: Option<Duration>,
    /// `VmHWM` right after the answer, in KiB.
    pub peak_rss_kb: Option<u64>,
    pub report: Report,
    /// retailCRM calls the process made (its `CrmCalls` metric lines).
    pub crm_calls: u64,
    /// The same event handed to the same process again right after it answered: from handing it
    /// out to the answer. `None` if the repeat got no answer.
    pub warm: Option<Duration>,
}

/// The peak resident set of a live process (`VmHWM` of `/proc/<pid>/status`), in KiB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Kills and reaps the process whatever way the measurement ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` with exactly `env` (plus the emulator's address), gives it `invocation` and
/// measures until it answers; then gives the warm process the same event again (a fresh request
/// id) and measures that answer too. Its output is appended to `log`.
pub async fn run_once(
    binary: &Path,
    env: &[(String, String)],
    invocation: Invocation,
    log: &Path,
) -> Result<Run, String> {
    let log_len = || std::fs::metadata(log).map_or(0, |m| m.len());
    let log_from = log_len();
    let mut repeat = invocation.clone();
    repeat.request_id = uuid_like();
    let mut api = RuntimeApi::start(vec![invocation, repeat])
        .await
        .map_err(|e| format!("runtime API: {e}"))?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(binary);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    let started = Instant::now();
    let mut child = KillOnDrop(
        cmd.spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?,
    );
    let reported = loop {
        if let Some(r) = api.report(Duration::from_millis(5)).await {
            break r;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "exited before answering ({status}); see {}",
                log.display()
            ));
        }
        if started.elapsed() > RUN_LIMIT {
            return Err(format!("no answer within {} s", RUN_LIMIT.as_secs()));
        }
    };
    let peak_rss_kb = peak_rss_kb(child.0.id());
    let crm_calls = crm_calls_between(log, log_from, log_len());
    let warm = match api.report(RUN_LIMIT).await {
        Some(Reported {
            handed: Some(handed),
            at,
            ..
        }) => Some(at.saturating_duration_since(handed)),
        _ => None,
    };
    drop(child);
    Ok(Run {
        warm,
        total: reported.at.saturating_duration_since(started),
        init: api
            .first_next()
            .map(|t| t.saturating_duration_since(started)),
        peak_rss_kb,
        report: reported.report,
        crm_calls,
    })
}

/// The `CrmCalls` EMF metrics in `log` from byte `from` up to byte `to`: how many retailCRM calls
/// one event made (each call writes its line before the answer goes out).
fn crm_calls_between(log: &Path, from: u64, to: u64) -> u64 {
    let text = std::fs::read(log).unwrap_or_default();
    let end = (to as usize).min(text.len());
    let tail = text.get(from as usize..end).unwrap_or_default();
    String::from_utf8_lossy(tail)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("CrmCalls").and_then(Value::as_f64))
        .sum::<f64>() as u64
}

// ---------------------------------------------------------------------------------------------
// Arithmetic and the summary

/// The median (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A function's median over the baseline's.
pub fn ratio(function_ms: f64, hello_ms: f64) -> Option<f64> {
    (hello_ms > 0.0).then(|| function_ms / hello_ms)
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

/// Every start of one binary.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    /// The event it was given, in words.
    pub event: String,
    pub runs: Vec<Result<Run, String>>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Measured {
    pub fn new(name: &str, event: &str) -> Measured {
        Measured {
            name: name.into(),
            event: event.into(),
            runs: Vec::new(),
        }
    }

    fn answered(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter_map(|r| r.as_ref().ok())
    }

    fn totals_ms(&self) -> Vec<f64> {
        self.answered().map(|r| ms(r.total)).collect()
    }

    pub fn median_ms(&self) -> Option<f64> {
        median(&self.totals_ms())
    }

    pub fn max_ms(&self) -> Option<f64> {
        self.totals_ms().into_iter().reduce(f64::max)
    }

    pub fn init_median_ms(&self) -> Option<f64> {
        median(
            &self
                .answered()
                .filter_map(|r| r.init)
                .map(ms)
                .collect::<Vec<_>>(),
        )
    }

    /// The median of the warm repeats that were answered.
    pub fn warm_median_ms(&self) -> Option<f64> {
        median(
            &self
                .answered()
                .filter_map(|r| r.warm)
                .map(ms)
                .collect::<Vec<_>>(),
        )
    }

    /// The highest peak of all starts, in MiB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        self.answered()
            .filter_map(|r| r.peak_rss_kb)
            .max()
            .map(|kb| kb as f64 / 1024.0)
    }

    /// retailCRM calls per start: "2", or "1–2" when starts differed.
    pub fn crm_calls(&self) -> String {
        let calls: Vec<u64> = self.answered().map(|r| r.crm_calls).collect();
        match (calls.iter().min(), calls.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            _ => "—".into(),
        }
    }

    /// "HTTP 200 ×5", one entry per kind of answer (failed starts with their reason).
    pub fn answers(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &self.runs {
            let label = match r {
                Ok(run) => answer_label(&run.report),
                Err(e) => format!("failed: {e}"),
            };
            *counts.entry(label).or_default() += 1;
        }
        counts
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The whole measurement.
#[derive(Debug, Clone)]
pub struct ColdStarts {
    pub rounds: usize,
    pub hello: Measured,
    pub functions: Vec<Measured>,
    /// How long this run's `cargo build --release` took (bench.sh measures it).
    pub build_secs: Option<u64>,
}

/// "12 min 39 s", "4 s".
fn minutes(secs: u64) -> String {
    match secs {
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.decimals$}"))
}

/// The report's section, as Markdown; `None`: not measured in this run.
pub fn markdown(cold: Option<&ColdStarts>) -> String {
    let mut s = String::from("\n## Cold start and peak memory\n\n");
    let Some(c) = cold else {
        s.push_str(
            "Not measured in this run: `otklik-local bench` was started without `--bins` (`make \
             bench` builds the release binaries and passes their directory).\n",
        );
        return s;
    };
    let build = match c.build_secs {
        Some(t) => format!(
            "The release build before this run took {}; the first one, from nothing, took \
             {FIRST_BUILD} on this 2-core machine (the AWS SDK, then LTO linking of the eleven \
             binaries there were then).",
            minutes(t)
        ),
        None => format!(
            "The first release build from nothing took {FIRST_BUILD} on this 2-core machine (the \
             AWS SDK, then LTO linking of the eleven binaries there were then)."
        ),
    };
    s.push_str(&format!(
        "Each function's release binary (the workspace's `[profile.release]`: LTO, one codegen \
         unit, `panic = \"abort\"`, stripped), built for this machine ({arch}; Lambda runs the \
         same code built for arm64), started {rounds} times as Lambda starts it: a local Lambda \
         Runtime API emulator (`coldstart::RuntimeApi`) on a loopback port in \
         `AWS_LAMBDA_RUNTIME_API`, the `AWS_LAMBDA_*` variables Lambda sets (128 MB), and the \
         environment the template gives the function (`OTKLIK_CONFIG`, `OTKLIK_STACK`, \
         `OTKLIK_SECRETS_ID` naming a Secrets Manager secret, `OTKLIK_CRM_RATE_PER_SECOND`, the \
         `OTKLIK_QUEUE_URL_*` of each queue it sends to), \
         against the local AWS endpoint with the stack's table and queues and both simulators. \
         **Cold start** is the time from spawning the process to the emulator receiving the \
         answer to one typical event: the whole init (config file, the secret, SDK clients) and \
         the event. **Peak RSS** is the process's `VmHWM` right after it \
         answered (the highest of the {rounds} starts). The baseline is a hello-world \
         `lambda_runtime` binary (`infra/bench/hello-lambda`) built with the same profile in the \
         same `cargo build` and measured the same way, interleaved with the functions round by \
         round. \"Comfortable in 128 MB\" means a peak of at most {COMFORTABLE_MB:.0} MB, half \
         the function's memory, leaving the other half for a full batch of ten messages, bigger \
         retailCRM answers and the allocator's slack.\n\n\
         Every AWS call goes to moto server on this machine and retailCRM and WhatsApp are the \
         simulators, so the init's network part (reading the one secret) is a local \
         round trip to a Python server, not an in-region call to AWS; on Lambda that part and the \
         smaller arm64 CPU share will differ. The ratio compares what our init and handler add \
         to the least a Rust function does. A handler that calls retailCRM paces itself at its \
         instance's share of the account's rate limit (`OTKLIK_CRM_RATE_PER_SECOND`, 1 or 2 \
         requests per second as the template sets it), so each retailCRM call after its first \
         waits for the pacer, here as on Lambda: the retailCRM column below explains most of the \
         slowest cold starts. {build}\n\n",
        rounds = c.rounds,
        arch = std::env::consts::ARCH,
    ));
    s.push_str(&format!(
        "| function | cold start median (ms) | max (ms) | ratio to hello-world | target ≤ \
         {TARGET_RATIO}× | peak RSS (MB) | comfortable in {MEMORY_MB} MB (≤ {COMFORTABLE_MB:.0} \
         MB) |\n|---|---|---|---|---|---|---|\n"
    ));
    let hello_ms = c.hello.median_ms();
    let comfortable = |m: &Measured| match m.peak_rss_mb() {
        Some(mb) if mb <= COMFORTABLE_MB => "yes",
        Some(_) => "**no**",
        None => "—",
    };
    s.push_str(&format!(
        "| hello-world (`lambda_runtime`, baseline) | {} | {} | 1.00× | — | {} | {} |\n",
        num(hello_ms, 1),
        num(c.hello.max_ms(), 1),
        num(c.hello.peak_rss_mb(), 1),
        comfortable(&c.hello),
    ));
    for m in &c.functions {
        let r = m.median_ms().zip(hello_ms).and_then(|(f, h)| ratio(f, h));
        let target = match r {
            Some(r) if r <= TARGET_RATIO => "met",
            Some(_) => "**missed**",
            None => "—",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            num(m.median_ms(), 1),
            num(m.max_ms(), 1),
            r.map_or("—".into(), |r| format!("{r:.2}×")),
            target,
            num(m.peak_rss_mb(), 1),
            comfortable(m),
        ));
    }
    s.push_str(&format!(
        "\n### The events, the answers, the init and the warm repeat\n\n\
         Init is the part of the cold start before the event: from spawning the process to its \
         first `GET /2018-06-01/runtime/invocation/next` (median). **Warm repeat**: right after \
         the answer the emulator hands the same process the same event again (a new request id) \
         and times that answer alone, from handing it out: what the event costs with no cold \
         start at all. For the queue workers and the poller the repeat is a duplicate delivery, \
         which they recognize and cut short, so there it is a lower bound. **Least ratio \
         possible**: a cold start cannot take less than the hello-world's init (starting the \
         process, tokio and the runtime client, which every function does too) plus the event's \
         warm cost, so (hello-world's init + warm repeat) / hello-world's cold start is the ratio \
         a function would have if its own init cost nothing. Where that is over {TARGET_RATIO}×, \
         no work on the init can meet the target: the event's own round trips to the local AWS \
         endpoint and the simulators, which the hello-world does not make, are already too \
         many.\n\n\
         | function | typical event | answered | retailCRM calls (pace per instance) | init \
         median (ms) | init ratio to hello-world | warm repeat median (ms) | least ratio possible \
         |\n|---|---|---|---|---|---|---|---|\n",
    ));
    let hello_init = c.hello.init_median_ms();
    for m in std::iter::once(&c.hello).chain(&c.functions) {
        let pace = resources::function(&m.name)
            .and_then(|d| d.crm_rate)
            .map_or(String::new(), |r| format!(" ({r}/s)"));
        let init_ratio = m
            .init_median_ms()
            .zip(hello_init)
            .and_then(|(f, h)| ratio(f, h));
        let least = m
            .warm_median_ms()
            .zip(hello_init)
            .zip(hello_ms)
            .and_then(|((w, i), h)| ratio(i + w, h));
        s.push_str(&format!(
            "| {} | {} | {} | {}{pace} | {} | {} | {} | {} |\n",
            if m.name == c.hello.name {
                "hello-world"
            } else {
                m.name.as_str()
            },
            m.event,
            m.answers(),
            m.crm_calls(),
            num(m.init_median_ms(), 1),
            init_ratio.map_or("—".into(), |r| format!("{r:.2}×")),
            num(m.warm_median_ms(), 1),
            least.map_or("—".into(), |r| format!("{r:.2}×")),
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Typical events

/// An API Gateway HTTP API request (payload format 2.0) for one route.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The route key's path, e.g. `/r/{token}`.
    pub route: &'a str,
    pub path: &'a str,
    pub query: Vec<(&'a str, String)>,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<Vec<u8>>,
    /// HTTP APIs pass bodies that are not text, JSON or XML (forms too) base64-encoded.
    pub base64: bool,
}

/// The Lambda event API Gateway sends for `req` (`aws_lambda_events`' `ApiGatewayV2httpRequest`).
pub fn http_event(req: &HttpRequest<'_>, region: &str) -> Value {
    let now = Utc::now();
    let raw_query = reqwest::Url::parse_with_params(
        "http://x/",
        req.query.iter().map(|(k, v)| (*k, v.as_str())),
    )
    .ok()
    .and_then(|u| u.query().map(str::to_string))
    .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    let api = "otklikbench";
    let host = format!("{api}.execute-api.{region}.amazonaws.com");
    for (k, v) in [
        ("host", host.clone()),
        ("x-forwarded-for", "203.0.113.10".into()),
        ("x-forwarded-port", "443".into()),
        ("x-forwarded-proto", "https".into()),
        (
            "x-amzn-trace-id",
            format!(
                "Root=1-{:08x}-{}",
                now.timestamp(),
                &uuid_like().replace('-', "")[..24]
            ),
        ),
    ] {
        headers.insert(k.into(), v.into());
    }
    for (k, v) in &req.headers {
        headers.insert(k.to_ascii_lowercase(), v.clone().into());
    }
    if let Some(b) = &req.body {
        headers.insert("content-length".into(), b.len().to_string().into());
    }
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let route_key = format!("{} {}", req.method, req.route);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api,
            "domainName": host,
            "domainPrefix": api,
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": user_agent,
            },
            "requestId": uuid_like(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": req.base64,
    });
    if !req.query.is_empty() {
        let mut q = serde_json::Map::new();
        for (k, v) in &req.query {
            q.insert((*k).into(), v.clone().into());
        }
        event["queryStringParameters"] = Value::Object(q);
    }
    if req.route.contains('{') {
        // The one path parameter our routes have: `{token}`, the segment after `/r/`.
        let token = req.path.split('/').nth(2).unwrap_or_default();
        event["pathParameters"] = json!({ "token": token });
    }
    if let Some(b) = &req.body {
        event["body"] = if req.base64 {
            base64::engine::general_purpose::STANDARD.encode(b).into()
        } else {
            String::from_utf8_lossy(b).into_owned().into()
        };
    }
    event
}

/// The SQS event the event source mapping sends for `messages` (`aws_lambda_events`' `SqsEvent`).
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: BTreeMap<&str, &str> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "md5OfBody": m.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What EventBridge Scheduler's recurring schedule delivers (the poller ignores the payload).
pub fn schedule_event(region: &str, schedule_arn: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid_like(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": region,
        "resources": [schedule_arn],
        "detail": {},
    })
}

/// A Meta webhook (`whatsapp_business_account`) whose value holds `value`, for the simulator's
/// business number.
fn meta_webhook(value: Value) -> Vec<u8> {
    let sim = otklik_whatsapp_sim::SimConfig::default();
    let mut full = serde_json::Map::new();
    full.insert("messaging_product".into(), "whatsapp".into());
    full.insert(
        "metadata".into(),
        json!({
            "display_phone_number": sim.business_phone,
            "phone_number_id": sim.meta_phone_number_id,
        }),
    );
    if let Value::Object(v) = value {
        full.extend(v);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": sim.meta_business_account_id,
            "changes": [{ "value": full, "field": "messages" }],
        }],
    })
    .to_string()
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The stage: what the events need to be real

const SITE: &str = "main-shop";
const MANAGER: u64 = 11;

/// Both simulators, the stack on the local endpoint, the secret, the config file, and the
/// in-process handlers that put orders and surveys where a round's events need them.
struct Stage {
    region: String,
    names: Names,
    driver: Driver,
    parts: Parts,
    worker: otklik_intake_worker::Worker,
    dispatcher: otklik_survey_dispatch::Dispatcher,
    inbound: otklik_whatsapp_inbound::WhatsappInbound<SqsQueue>,
    inbound_worker: otklik_inbound_worker::InboundWorker,
    signer: LinkSigner,
    /// By queue suffix: the queue and its ARN.
    queues: BTreeMap<&'static str, (SqsQueue, String)>,
    /// What every function's environment holds besides its own names.
    env: Vec<(String, String)>,
    crm_sim: otklik_retailcrm_sim::SimHandle,
    wa_sim: otklik_whatsapp_sim::SimHandle,
}

type StageResult<T> = Result<T, String>;

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

impl Stage {
    async fn start(moto: &str, dir: &Path) -> StageResult<Stage> {
        let crm_sim = otklik_retailcrm_sim::spawn(Default::default())
            .await
            .map_err(|e| format!("retailCRM simulator: {e}"))?;
        // No webhook URL: nothing posts statuses behind the measurements' backs.
        let wa_sim = otklik_whatsapp_sim::spawn(otklik_whatsapp_sim::SimConfig {
            meta_token: stack::META_ACCESS_TOKEN.into(),
            green_api_token: stack::GREEN_API_TOKEN.into(),
            meta_app_secret: stack::META_APP_SECRET.into(),
            green_api_webhook_token: stack::GREEN_API_WEBHOOK_TOKEN.into(),
            meta_webhook_url: None,
            auto_statuses: false,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("WhatsApp simulator: {e}"))?;
        let driver = Driver::new(crm_sim.url(), wa_sim.url(), String::new());
        let seeded = driver
            .http
            .post(format!("{}/sim/seed", crm_sim.url()))
            .json(&json!({"preset": "demo"}))
            .send()
            .await
            .map_err(|e| format!("seeding the retailCRM simulator: {e}"))?;
        if !seeded.status().is_success() {
            return Err(format!(
                "seeding the retailCRM simulator: {}",
                seeded.status()
            ));
        }
        let config_text = stack::config_text(&Endpoints {
            retailcrm: crm_sim.url(),
            whatsapp: wa_sim.url(),
            // Only written into emails' links; nobody opens them here.
            api: "https://feedback.example.ru".into(),
            provider: "meta".into(),
        });
        let config = otklik_core::config::Config::from_toml(&config_text)
            .map_err(|e| format!("config: {e}"))?;
        let secrets = stack::secrets(&config)?;

        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let names = Names::new(format!("cold{}", nanos % 1_000_000_000));
        let clients = Clients::with_endpoint(moto).await;
        stack::prepare(&clients, &names, &config).await?;

        // As on AWS: one Secrets Manager secret of OTKLIK_* keys, read by each function at start.
        let secret: serde_json::Map<String, serde_json::Value> = stack::SECRETS
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let secret = serde_json::Value::Object(secret);
        let secret_arn = aws_sdk_secretsmanager::Client::new(&clients.sdk)
            .create_secret()
            .name(format!("{}/secrets", names.stack))
            .secret_string(secret.to_string())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "creating the secret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?
            .arn()
            .ok_or("creating the secret: no ARN")?
            .to_string();

        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config_path = dir.join("otklik.toml");
        std::fs::write(&config_path, &config_text)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;

        let parts = Parts {
            config: Arc::new(config),
            secrets: Some(secrets),
            clients: clients.clone(),
            names: names.clone(),
            report_token: Some(stack::REPORT_TOKEN.into()),
        };
        let worker = otklik_intake_worker::Worker::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let dispatcher = otklik_survey_dispatch::Dispatcher::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let inbound = otklik_whatsapp_inbound::WhatsappInbound::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let inbound_worker = otklik_inbound_worker::InboundWorker::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let mut queues = BTreeMap::new();
        for q in resources::QUEUES {
            let queue = SqsQueue::connect(clients.sqs.clone(), &names, q)
                .await
                .map_err(|e| format!("queue {}: {e}", q.suffix))?;
            let arn = queue.arn().await.map_err(|e| e.to_string())?;
            queues.insert(q.suffix, (queue, arn));
        }

        let region = env_or("AWS_REGION", "eu-central-1");
        let env = vec![
            // What Lambda's provided.al2023 environment holds…
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
            ("_HANDLER".into(), "bootstrap".into()),
            ("AWS_REGION".into(), region.clone()),
            ("AWS_DEFAULT_REGION".into(), region.clone()),
            (
                "AWS_ACCESS_KEY_ID".into(),
                env_or("AWS_ACCESS_KEY_ID", "local"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                env_or("AWS_SECRET_ACCESS_KEY", "local"),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                MEMORY_MB.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
            // …the local endpoint instead of AWS's…
            ("AWS_ENDPOINT_URL".into(), moto.into()),
            // …and the template's Globals.
            ("OTKLIK_STACK".into(), names.stack.clone()),
            ("OTKLIK_CONFIG".into(), config_path.display().to_string()),
            ("OTKLIK_SECRETS_ID".into(), secret_arn),
            ("RUST_LOG".into(), "info".into()),
        ];
        Ok(Stage {
            region,
            names,
            driver,
            parts,
            worker,
            dispatcher,
            inbound,
            inbound_worker,
            signer: LinkSigner::new(stack::LINK_SECRET.as_bytes()),
            queues,
            env,
            crm_sim,
            wa_sim,
        })
    }

    async fn stop(self) {
        self.crm_sim.shutdown().await;
        self.wa_sim.shutdown().await;
    }

    fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:123456789012:function:{}-{name}",
            self.region, self.names.stack
        )
    }

    /// The environment of `name` (a function, or the baseline): the common part, Lambda's
    /// per-function variables and what the template adds for this function.
    fn env_of(&self, name: &str, def: Option<&FunctionDef>) -> Vec<(String, String)> {
        let full = format!("{}-{name}", self.names.stack);
        let mut env: Vec<(String, String)> = if def.is_some() {
            self.env.clone()
        } else {
            // The baseline has no config, secret or stack of ours.
            self.env
                .iter()
                .filter(|(k, _)| !k.starts_with("OTKLIK_"))
                .cloned()
                .collect()
        };
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), full.clone()));
        env.push((
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{full}"),
        ));
        env.push((
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            format!(
                "{}/[$LATEST]{}",
                Utc::now().format("%Y/%m/%d"),
                uuid_like().replace('-', "")
            ),
        ));
        if let Some(rate) = def.and_then(|d| d.crm_rate) {
            env.push((otklik_app::env::ENV_CRM_RATE.into(), rate.to_string()));
        }
        // As the template: the URL of each queue the function sends to.
        for access in def.map_or(&[][..], |d| d.access) {
            if let resources::Access::Send(q) = access {
                if let Some((queue, _)) = self.queues.get(q.suffix) {
                    env.push((q.url_env(), queue.url().to_string()));
                }
            }
        }
        if name == "intake-worker" {
            // The template passes the schedules' target and role, so no lookup happens at start.
            if let Some((_, arn)) = self.queues.get(resources::DISPATCH_QUEUE.suffix) {
                env.push(("OTKLIK_DISPATCH_QUEUE_ARN".into(), arn.clone()));
            }
            env.push((
                "OTKLIK_SCHEDULER_ROLE_ARN".into(),
                format!(
                    "arn:aws:iam::123456789012:role/{}-scheduler",
                    self.names.stack
                ),
            ));
        }
        env
    }

    /// A completed order of a new customer; its id.
    async fn completed_order(&self, contact: Value) -> StageResult<u64> {
        let id = self.driver.new_order(SITE, MANAGER, contact).await?;
        self.driver
            .set_status(SITE, id, "complete", MANAGER)
            .await?;
        Ok(id)
    }

    /// The order's survey, planned by the intake worker in process.
    async fn planned(&self, order: u64) -> StageResult<SurveyId> {
        let signal = IntakeSignal {
            site: SITE.into(),
            order_id: order,
            source: "trigger".into(),
            received_at: Utc::now(),
        };
        let handled = self
            .worker
            .handle(&signal, Utc::now())
            .await
            .map_err(|e| format!("intake of order {order}: {e}"))?;
        if !matches!(handled, otklik_intake_worker::Handled::Scheduled(_)) {
            return Err(format!("intake of order {order}: {handled:?}"));
        }
        let order = OrderRef::new(SITE, order).map_err(|e| e.to_string())?;
        Ok(SurveyId::for_order(&order))
    }

    /// The order's survey, planned and sent in process; the provider's message id.
    async fn sent(&self, order: u64) -> StageResult<(SurveyId, String)> {
        let id = self.planned(order).await?;
        let msg = DispatchRequest {
            survey_id: id.to_string(),
            channel: None,
        };
        match self.dispatcher.handle(&msg, Utc::now()).await {
            Ok(otklik_survey_dispatch::Dispatched::Sent { message_id, .. }) => Ok((id, message_id)),
            Ok(other) => Err(format!("dispatch of {id}: {other:?}")),
            Err(e) => Err(format!("dispatch of {id}: {e}")),
        }
    }

    /// Messages on `queue` whose body `wanted` takes, received as the event source mapping
    /// receives them. Everything received is deleted: nothing else consumes these queues here,
    /// so what is not wanted is a leftover of an earlier round.
    async fn take(
        &self,
        queue: &QueueDef,
        wanted: impl Fn(&str) -> bool,
    ) -> StageResult<(Vec<aws_sdk_sqs::types::Message>, String)> {
        let (q, arn) = self
            .queues
            .get(queue.suffix)
            .ok_or_else(|| format!("no queue {}", queue.suffix))?;
        let sqs = &self.parts.clients.sqs;
        let until = Instant::now() + Duration::from_secs(10);
        let mut found = Vec::new();
        while found.is_empty() && Instant::now() < until {
            let out = sqs
                .receive_message()
                .queue_url(q.url())
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "receiving from {}: {}",
                        queue.suffix,
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    )
                })?;
            for m in out.messages.unwrap_or_default() {
                if let Some(h) = m.receipt_handle() {
                    let _ = q.delete(h).await;
                }
                if wanted(m.body().unwrap_or_default()) {
                    found.push(m);
                }
            }
        }
        if found.is_empty() {
            return Err(format!("nothing for us on the {} queue", queue.suffix));
        }
        Ok((found, arn.clone()))
    }

    /// `body` through `queue` and back: a message with the attributes SQS gives it.
    async fn through(&self, queue: &QueueDef, body: String) -> StageResult<Value> {
        let (q, _) = self
            .queues
            .get(queue.suffix)
            .ok_or_else(|| format!("no queue {}", queue.suffix))?;
        otklik_core::ports::Queue::send(q, &body)
            .await
            .map_err(|e| format!("sending to {}: {e}", queue.suffix))?;
        let (messages, arn) = self.take(queue, |b| b == body).await?;
        Ok(sqs_event(&messages, &arn, &self.region))
    }

    /// Every function's event for round `round`, each made of fresh orders and surveys.
    async fn events(&self, round: usize) -> BTreeMap<&'static str, StageResult<Vec<u8>>> {
        let mut out = BTreeMap::new();
        let phone = |k: usize| format!("+7901555{:02}{:02}", round % 100, k);
        let customer = |k: usize| 70_000 + (round as u64) * 10 + k as u64;
        // 3 is the email-only customer.
        let phones: Vec<String> = [0, 1, 2, 4].into_iter().map(phone).collect();
        let refs: Vec<&str> = phones.iter().map(String::as_str).collect();
        if let Err(e) = self.driver.whatsapp_numbers(&refs, &[]).await {
            for f in resources::FUNCTIONS {
                out.insert(f.name, Err(format!("WhatsApp numbers: {e}")));
            }
            return out;
        }
        let order = |k: usize| {
            self.completed_order(json!({
                "phone": phone(k),
                "firstName": "Покупатель",
                "customer": {"id": customer(k)},
            }))
        };
        let new = order(0).await;
        let due = match order(1).await {
            Ok(id) => self.planned(id).await,
            Err(e) => Err(e),
        };
        let delivered = match order(2).await {
            Ok(id) => self.sent(id).await,
            Err(e) => Err(e),
        };
        let email = json!({
            "email": format!("cold.{round}@example.ru"),
            "customer": {"id": customer(3)},
        });
        let by_email = match self.completed_order(email).await {
            Ok(id) => self.sent(id).await.map(|(survey, _)| survey),
            Err(e) => Err(e),
        };
        let rated = match order(4).await {
            Ok(id) => self.rated_one(id, &phone(4), round).await,
            Err(e) => Err(e),
        };

        out.insert(
            "order-intake",
            new.clone().map(|id| {
                let form = format!("orderId={id}&site={SITE}&secret={}", stack::TRIGGER_SECRET);
                self.http(HttpRequest {
                    method: "POST",
                    route: "/webhooks/retailcrm",
                    path: "/webhooks/retailcrm",
                    headers: vec![
                        ("content-type", "application/x-www-form-urlencoded".into()),
                        ("user-agent", "retailCRM".into()),
                    ],
                    body: Some(form.into_bytes()),
                    base64: true,
                    ..Default::default()
                })
            }),
        );
        out.insert(
            "intake-worker",
            match new {
                Ok(id) => {
                    let signal = IntakeSignal {
                        site: SITE.into(),
                        order_id: id,
                        source: "trigger".into(),
                        received_at: Utc::now(),
                    };
                    let body = serde_json::to_string(&signal).unwrap_or_default();
                    self.through(&resources::INTAKE_QUEUE, body)
                        .await
                        .map(|e| e.to_string().into_bytes())
                }
                Err(e) => Err(e),
            },
        );
        out.insert(
            "history-poller",
            Ok(schedule_event(
                &self.region,
                &format!(
                    "arn:aws:scheduler:{}:123456789012:schedule/default/{}-history-poller",
                    self.region, self.names.stack
                ),
            )
            .to_string()
            .into_bytes()),
        );
        out.insert(
            "survey-dispatch",
            match due {
                Ok(id) => {
                    let body = serde_json::to_string(&DispatchRequest {
                        survey_id: id.to_string(),
                        channel: None,
                    })
                    .unwrap_or_default();
                    self.through(&resources::DISPATCH_QUEUE, body)
                        .await
                        .map(|e| e.to_string().into_bytes())
                }
                Err(e) => Err(e),
            },
        );
        out.insert(
            "whatsapp-inbound",
            delivered.clone().map(|(_, message_id)| {
                let digits = phone(2).trim_start_matches('+').to_string();
                let body = meta_webhook(json!({
                    "statuses": [{
                        "id": message_id,
                        "status": "delivered",
                        "timestamp": Utc::now().timestamp().to_string(),
                        "recipient_id": digits,
                        "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"},
                    }],
                }));
                self.meta_post(body)
            }),
        );
        out.insert(
            "inbound-worker",
            match &delivered {
                Ok(_) => {
                    let body = self.meta_text(&phone(2), round, "5");
                    match otklik_messaging::inbound::parse_meta(&body, "RU") {
                        Ok(items) if items.len() == 1 => {
                            let item = serde_json::to_string(&items[0]).unwrap_or_default();
                            self.through(&resources::INBOUND_QUEUE, item)
                                .await
                                .map(|e| e.to_string().into_bytes())
                        }
                        Ok(items) => Err(format!("the reply parsed as {} items", items.len())),
                        Err(e) => Err(format!("the reply: {e}")),
                    }
                }
                Err(e) => Err(e.clone()),
            },
        );
        out.insert(
            "email-landing",
            by_email.map(|id| {
                let five = Rating::new(5).expect("5 is a rating");
                let token =
                    self.signer
                        .sign(&id, LinkAction::Rate(five), Utc::now() + chrono::Duration::days(30));
                let path = format!("/r/{token}");
                self.http(HttpRequest {
                    method: "GET",
                    route: "/r/{token}",
                    path: &path,
                    headers: vec![
                        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into()),
                        ("accept-language", "ru-RU,ru;q=0.9".into()),
                        ("user-agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36".into()),
                    ],
                    ..Default::default()
                })
            }),
        );
        for (name, queue) in [
            ("crm-writer", &resources::CRM_WRITES_QUEUE),
            ("complaint-create", &resources::COMPLAINTS_QUEUE),
            ("outbox-sender", &resources::OUTBOX_QUEUE),
        ] {
            let event = match &rated {
                Ok(id) => {
                    let needle = format!("\"surveyId\":\"{id}\"");
                    self.take(queue, |b| b.contains(&needle))
                        .await
                        .map(|(m, arn)| sqs_event(&m, &arn, &self.region).to_string().into_bytes())
                }
                Err(e) => Err(e.clone()),
            };
            out.insert(name, event);
        }
        let today = Utc::now().date_naive();
        out.insert(
            "kpi-report",
            Ok(self.http(HttpRequest {
                method: "GET",
                route: "/reports/kpi",
                path: "/reports/kpi",
                query: vec![
                    ("from", (today - chrono::Duration::days(30)).to_string()),
                    ("to", today.to_string()),
                ],
                headers: vec![
                    ("authorization", format!("Bearer {}", stack::REPORT_TOKEN)),
                    ("accept", "application/json".into()),
                    ("user-agent", "curl/8.5.0".into()),
                ],
                ..Default::default()
            })),
        );
        out
    }

    fn http(&self, req: HttpRequest<'_>) -> Vec<u8> {
        http_event(&req, &self.region).to_string().into_bytes()
    }

    /// A Meta webhook POST with its signature, as Meta sends it.
    fn meta_post(&self, body: Vec<u8>) -> Vec<u8> {
        let signature =
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), &body);
        self.http(HttpRequest {
            method: "POST",
            route: "/webhooks/whatsapp/meta",
            path: "/webhooks/whatsapp/meta",
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-hub-signature-256", signature),
                ("user-agent", "facebookexternalua".into()),
            ],
            body: Some(body),
            ..Default::default()
        })
    }

    /// The order's survey sent on WhatsApp and answered 1 with words: its effects are queued.
    async fn rated_one(&self, order: u64, phone: &str, round: usize) -> StageResult<SurveyId> {
        let (id, _) = self.sent(order).await?;
        self.reply(phone, round, "1, коробка пришла мятая").await?;
        Ok(id)
    }

    /// Meta's webhook body of the customer's text `text`.
    fn meta_text(&self, phone: &str, round: usize, text: &str) -> Vec<u8> {
        meta_webhook(json!({
            "contacts": [{"profile": {"name": "Покупатель"}, "wa_id": phone.trim_start_matches('+')}],
            "messages": [{
                "from": phone.trim_start_matches('+'),
                "id": format!("wamid.cold{round}{}", uuid_like().replace('-', "")),
                "timestamp": Utc::now().timestamp().to_string(),
                "type": "text",
                "text": {"body": text},
            }],
        }))
    }

    /// The customer answers `text` on WhatsApp; taken in and applied in process, so its effects
    /// are queued.
    async fn reply(&self, phone: &str, round: usize, text: &str) -> StageResult<()> {
        let body = self.meta_text(phone, round, text);
        let signature =
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), &body);
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/webhooks/whatsapp/meta")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(lambda_http::Body::Binary(body))
            .map_err(|e| e.to_string())?;
        let answer = self.inbound.handle(req).await;
        if answer.status() != 200 {
            return Err(format!("the reply was answered {}", answer.status()));
        }
        let (messages, arn) = self.take(&resources::INBOUND_QUEUE, |_| true).await?;
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(sqs_event(&messages, &arn, &self.region))
                .map_err(|e| format!("the reply's queue event: {e}"))?;
        let failed = self
            .inbound_worker
            .handle_batch(event, Utc::now())
            .await
            .batch_item_failures;
        if !failed.is_empty() {
            return Err(format!(
                "the reply was not applied ({} failed)",
                failed.len()
            ));
        }
        Ok(())
    }
}

/// What each function is given, in words (the report's "typical event" column).
pub fn event_of(name: &str) -> &'static str {
    match name {
        "order-intake" => "HTTP API v2: `POST /webhooks/retailcrm`, the retailCRM trigger's form (`orderId`, `site`, `secret`) for a completed order, base64-encoded as HTTP APIs pass forms",
        "intake-worker" => "SQS, one record from the intake queue: the trigger's signal for a completed order without a survey (reads the order, plans the survey, creates its schedule)",
        "history-poller" => "EventBridge Scheduler `Scheduled Event`; since the last run the order history got the round's new orders, their status changes and a complaint order",
        "survey-dispatch" => "SQS, one record from the dispatch queue: a due survey as its schedule sends it (the customer has WhatsApp: the question goes out through the simulator)",
        "whatsapp-inbound" => "HTTP API v2: `POST /webhooks/whatsapp/meta`, Meta's signed `delivered` status of a survey question (checked, parsed and queued)",
        "inbound-worker" => "SQS, one record from the inbound queue: the customer's \"5\" to that question, as `whatsapp-inbound` queued it (routed to the survey, rated, its effects queued)",
        "email-landing" => "HTTP API v2: `GET /r/{token}`, the landing page of the 5-star link of a survey sent by email (a valid token)",
        "crm-writer" => "SQS: the CRM writes of a 1-star WhatsApp reply with words, as `inbound-worker` queued them (rating, words and credits in one message)",
        "complaint-create" => "SQS: the complaint of that 1-star reply, as queued (opens a complaint order and links it)",
        "outbox-sender" => "SQS: the message acknowledging that complaint to the customer, as queued (sent on WhatsApp through the simulator)",
        "kpi-report" => "HTTP API v2: `GET /reports/kpi?from=…&to=…` (the last 30 days) with the report token",
        HELLO => "a small JSON object; answers `{\"hello\":\"world\"}`",
        _ => "",
    }
}

/// Measures the baseline and every function in `bins` (`cargo build --release` output),
/// `rounds` times each, against the local AWS endpoint `moto`. Logs and the config go to `dir`.
pub async fn measure(
    bins: &Path,
    rounds: usize,
    moto: &str,
    dir: &Path,
) -> Result<ColdStarts, String> {
    let binary = |name: &str| -> Result<PathBuf, String> {
        let p = bins.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "{} is missing (bench.sh builds it: cargo build --release --bins -p …)",
                p.display()
            ))
        }
    };
    let hello_bin = binary(HELLO)?;
    let mut targets = Vec::new();
    for def in resources::FUNCTIONS {
        targets.push((def, binary(def.name)?));
    }
    let stage = Stage::start(moto, dir).await?;
    let log = |name: &str| dir.join(format!("{name}.log"));
    for name in std::iter::once(HELLO).chain(targets.iter().map(|(d, _)| d.name)) {
        let _ = std::fs::remove_file(log(name));
    }
    let mut hello = Measured::new(HELLO, event_of(HELLO));
    let mut functions: Vec<Measured> = targets
        .iter()
        .map(|(d, _)| Measured::new(d.name, event_of(d.name)))
        .collect();
    for round in 0..rounds {
        println!("  round {}/{rounds}: preparing the events…", round + 1);
        let events = stage.events(round).await;
        let invocation = Invocation::new(
            &stage.function_arn(HELLO),
            br#"{"hello":"lambda"}"#.to_vec(),
            Duration::from_secs(3),
        );
        hello.runs.push(
            run_once(
                &hello_bin,
                &stage.env_of(HELLO, None),
                invocation,
                &log(HELLO),
            )
            .await,
        );
        for ((def, bin), m) in targets.iter().zip(functions.iter_mut()) {
            let run = match events.get(def.name) {
                Some(Ok(event)) => {
                    let invocation = Invocation::new(
                        &stage.function_arn(def.name),
                        event.clone(),
                        Duration::from_secs(def.timeout_secs.into()),
                    );
                    run_once(
                        bin,
                        &stage.env_of(def.name, Some(def)),
                        invocation,
                        &log(def.name),
                    )
                    .await
                }
                Some(Err(e)) => Err(format!("no event: {e}")),
                None => Err("no event".into()),
            };
            if let Err(e) = &run {
                eprintln!("  {}: {e}", def.name);
            }
            m.runs.push(run);
        }
        let last = |m: &Measured| match m.runs.last() {
            Some(Ok(r)) => format!("{} {:.1} ms", m.name, ms(r.total)),
            _ => format!("{} failed", m.name),
        };
        println!(
            "    {}",
            std::iter::once(&hello)
                .chain(&functions)
                .map(last)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    stage.stop().await;
    Ok(ColdStarts {
        rounds,
        hello,
        functions,
        build_secs: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

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

    #[test]
    fn median_max_and_ratio() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(ratio(13.0, 10.0), Some(1.3));
        assert_eq!(ratio(1.0, 0.0), None);

        let run = |ms: u64, kb: u64, body: &str| {
            Ok(Run {
                total: Duration::from_millis(ms),
                init: Some(Duration::from_millis(ms / 2)),
                peak_rss_kb: Some(kb),
                report: Report::Response(body.as_bytes().to_vec()),
                crm_calls: ms / 10,
                warm: Some(Duration::from_millis(ms / 5)),
            })
        };
        let mut m = Measured::new("f", "e");
        m.runs = vec![
            run(30, 10 * 1024, r#"{"statusCode":200}"#),
            run(10, 12 * 1024, r#"{"statusCode":200}"#),
            Err("no answer".into()),
            run(20, 11 * 1024, r#"{"statusCode":200}"#),
        ];
        // Failed starts count in the answers, not in the times.
        assert_eq!(m.median_ms(), Some(20.0));
        assert_eq!(m.max_ms(), Some(30.0));
        assert_eq!(m.init_median_ms(), Some(10.0));
        assert_eq!(m.warm_median_ms(), Some(4.0));
        assert_eq!(m.peak_rss_mb(), Some(12.0));
        assert_eq!(m.answers(), "HTTP 200 ×3; failed: no answer ×1");
        assert_eq!(m.crm_calls(), "1–3");
    }

    #[test]
    fn the_section_says_met_or_missed_and_comfortable_or_not() {
        let one = |name: &str, ms: u64, mb: u64| {
            let mut m = Measured::new(name, "an event");
            m.runs.push(Ok(Run {
                total: Duration::from_millis(ms),
                peak_rss_kb: Some(mb * 1024),
                report: Report::Response(b"{}".to_vec()),
                crm_calls: 0,
                warm: Some(Duration::from_millis(ms / 2)),
                init: Some(Duration::from_millis(ms * 3 / 10)),
            }));
            m
        };
        let c = ColdStarts {
            rounds: 1,
            hello: one(HELLO, 10, 3),
            functions: vec![one("quick", 12, 20), one("slow", 40, 100)],
            build_secs: Some(7),
        };
        let md = markdown(Some(&c));
        assert!(
            md.contains("| quick | 12.0 | 12.0 | 1.20× | met | 20.0 | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| slow | 40.0 | 40.0 | 4.00× | **missed** | 100.0 | **no** |"),
            "{md}"
        );
        assert!(md.contains("took 7 s"));
        // The least ratio: (hello-world's init 3 ms + the warm repeat) / its cold start 10 ms.
        assert!(md.contains("| 6.0 | 0.90× |\n"), "{md}");
        assert!(md.contains("| 20.0 | 2.30× |\n"), "{md}");
        assert!(md.contains("Where that is over 1.3×"), "{md}");
        assert_eq!(minutes(759), "12 min 39 s");
        assert!(markdown(None).contains("Not measured in this run"));
    }

    #[test]
    fn events_have_the_shapes_lambda_sends() {
        let http = http_event(
            &HttpRequest {
                method: "GET",
                route: "/reports/kpi",
                path: "/reports/kpi",
                query: vec![("from", "2026-11-01".into()), ("to", "2026-11-23".into())],
                headers: vec![("Authorization", "Bearer t".into())],
                ..Default::default()
            },
            "eu-central-1",
        );
        let req = lambda_http::request::from_str(&http.to_string()).unwrap();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri().path(), "/reports/kpi");
        assert_eq!(
            req.query_string_parameters().first("to"),
            Some("2026-11-23")
        );
        assert_eq!(req.headers()["authorization"], "Bearer t");

        let form = http_event(
            &HttpRequest {
                method: "POST",
                route: "/webhooks/retailcrm",
                path: "/webhooks/retailcrm",
                body: Some(b"orderId=1&site=s".to_vec()),
                base64: true,
                ..Default::default()
            },
            "eu-central-1",
        );
        let req = lambda_http::request::from_str(&form.to_string()).unwrap();
        assert_eq!(req.body().as_ref(), b"orderId=1&site=s");

        let msg = aws_sdk_sqs::types::Message::builder()
            .message_id("m-1")
            .receipt_handle("r-1")
            .body(r#"{"surveyId":"s-1"}"#)
            .build();
        let sqs = sqs_event(
            &[msg],
            "arn:aws:sqs:eu-central-1:123456789012:q",
            "eu-central-1",
        );
        let parsed: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(sqs).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].message_id.as_deref(), Some("m-1"));
        assert_eq!(
            parsed.records[0].event_source_arn.as_deref(),
            Some("arn:aws:sqs:eu-central-1:123456789012:q")
        );
    }

    #[test]
    fn retail_crm_calls_are_counted_from_the_metric_lines_of_one_start() {
        let log = std::env::temp_dir().join(format!("otklik-coldstart-{}.log", uuid_like()));
        let metric = |n: u32| format!(r#"{{"CrmCalls":{n}.0,"Stack":"s","_aws":{{}}}}"#);
        std::fs::write(&log, format!("{}\n", metric(1))).unwrap();
        let offset = std::fs::metadata(&log).unwrap().len();
        let more = format!(
            "{}\n{{\"level\":\"INFO\"}}\nnot json\n{}\n",
            metric(1),
            metric(2)
        );
        std::fs::write(&log, format!("{}\n{more}", metric(1))).unwrap();
        let end = std::fs::metadata(&log).unwrap().len();
        assert_eq!(
            crm_calls_between(&log, offset, end),
            3,
            "only what came after the offset"
        );
        assert_eq!(crm_calls_between(&log, 0, end), 4);
        // The warm repeat's lines, written after the first answer, are not the first event's.
        std::fs::write(&log, format!("{}\n{more}{}\n", metric(1), metric(5))).unwrap();
        assert_eq!(crm_calls_between(&log, offset, end), 3);
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn the_peak_of_a_live_process_is_read() {
        assert!(peak_rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
        assert_ne!(uuid_like(), uuid_like());
    }
}
