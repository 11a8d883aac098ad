//! One HTTP call to retailCRM: pacing, retries, status → error mapping, logging.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use crate::error::{flatten_errors, snippet};
use crate::gate::RateGate;
use crate::model::bool_of;
use crate::pacer::{pacer_for, Pacer};
use crate::{ClientConfig, CrmError};
use otklik_core::crm_budget::{budget_key, Priority};

/// First backoff ceiling; doubles per retry.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest wait between two attempts, `Retry-After` included: our callers run inside a Lambda
/// with a time budget, and the queue's redelivery is the better place for long waits.
const BACKOFF_CAP: Duration = Duration::from_secs(5);
const SNIPPET_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// Which failures an attempt may be repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Any transient failure: for reads and for writes that are harmless to repeat.
    Transient,
    /// Only failures where retailCRM certainly did not process the request (rate limit answer,
    /// connection never made): for writes that would be duplicated by a repeat.
    Unprocessed,
}

#[derive(Debug)]
pub(crate) struct Request {
    pub method: Method,
    /// Relative to `/api/v5/`, e.g. `orders/1001/edit`. Logged, so never put data in it.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(&'static str, String)>,
}

impl Request {
    pub(crate) fn get(path: impl Into<String>, query: Vec<(String, String)>) -> Self {
        Request {
            method: Method::Get,
            path: path.into(),
            query,
            form: Vec::new(),
        }
    }

    pub(crate) fn post(path: impl Into<String>, form: Vec<(&'static str, String)>) -> Self {
        Request {
            method: Method::Post,
            path: path.into(),
            query: Vec::new(),
            form,
        }
    }
}

/// A failed attempt, with what the retry loop needs to know about it.
#[derive(Debug)]
pub(crate) struct Failure {
    error: CrmError,
    retry_after: Option<Duration>,
    /// retailCRM certainly did not act on the request.
    unprocessed: bool,
}

impl Failure {
    fn new(error: CrmError) -> Self {
        Failure {
            error,
            retry_after: None,
            unprocessed: false,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// `https://acct.retailcrm.ru/api/v5/`
    api_base: String,
    pacer: Arc<Pacer>,
    /// The budget shared with other processes, passed before the pacer on every attempt.
    gate: Arc<dyn RateGate>,
    /// The gate's key for this account and API key (a hash: the key itself stays here).
    gate_key: String,
    max_retries: u32,
    calls: AtomicU64,
    /// The same attempts by method and path (`GET users`, `GET orders/history`, …): the bench
    /// tells one function's calls apart from the survey's at the simulator's per-route count.
    by_route: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Transport {
    pub(crate) fn new(cfg: &ClientConfig, gate: Arc<dyn RateGate>) -> Result<Self, CrmError> {
        let base = normalize_base_url(&cfg.base_url)?;
        if cfg.api_key.trim().is_empty() {
            return Err(CrmError::InvalidConfig("api_key is empty".into()));
        }
        if cfg.rate_per_second == 0 {
            return Err(CrmError::InvalidConfig(
                "rate_per_second must be at least 1".into(),
            ));
        }
        if cfg.timeout.is_zero() {
            return Err(CrmError::InvalidConfig("timeout must not be zero".into()));
        }
        let mut key = HeaderValue::from_str(&cfg.api_key)
            .map_err(|_| CrmError::InvalidConfig("api_key is not a valid header value".into()))?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("X-API-KEY", key);
        let http = otklik_tls::reqwest_builder()
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            // A redirect could carry X-API-KEY to another host; retailCRM never redirects the API.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("otklik-retailcrm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CrmError::InvalidConfig(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Transport {
            http,
            pacer: pacer_for(&base, &cfg.api_key, cfg.rate_per_second),
            gate,
            gate_key: budget_key(&base, &cfg.api_key),
            api_base: format!("{base}/api/v5/"),
            max_retries: cfg.max_retries,
            calls: AtomicU64::new(0),
            by_route: Default::default(),
        })
    }

    pub(crate) fn calls_made(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(crate) fn calls_by_route(&self) -> std::collections::BTreeMap<String, u64> {
        self.by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The call with retries: the JSON object of a successful answer.
    pub(crate) async fn call(&self, req: &Request, retry: Retry) -> Result<Value, CrmError> {
        let mut attempt: u32 = 0;
        loop {
            let started = std::time::Instant::now();
            let result = self.attempt(req, attempt).await;
            record_metrics(&result, started.elapsed());
            let failure = match result {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let retryable = match retry {
                Retry::Transient => failure.error.is_transient(),
                Retry::Unprocessed => failure.unprocessed,
            };
            if !retryable || attempt >= self.max_retries {
                return Err(failure.error);
            }
            let delay = backoff(attempt, failure.retry_after);
            tracing::warn!(
                method = ?req.method,
                path = %req.path,
                attempt = attempt + 1,
                error = error_kind(&failure.error),
                delay_ms = delay.as_millis() as u64,
                "retailCRM call failed, retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, req: &Request, attempt: u32) -> Result<Value, Failure> {
        let url = format!("{}{}", self.api_base, req.path);
        let builder = match req.method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url).form(&req.form),
        };
        let builder = if req.query.is_empty() {
            builder
        } else {
            builder.query(&req.query)
        };

        // Writes before reads (`otklik_core::crm_budget`): every POST changes the CRM, every GET
        // only looks.
        let priority = match req.method {
            Method::Post => Priority::Write,
            Method::Get => Priority::Read,
        };
        // The shared budget first, so callers of one process book and wait side by side; the
        // pacer then guards this process's own arrivals, which it alone sees.
        self.gate.admit(&self.gate_key, priority).await;
        let permit = self.pacer.acquire().await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        // Ids become `{id}`, as the simulator names its routes: the map stays as small as the
        // API's list of paths however many orders a long-lived instance touches. With `by` in
        // the query (`orders/{externalId}?by=externalId`) the entity's second segment is an id
        // whatever it looks like.
        let by_key = req.query.iter().any(|(k, _)| k == "by");
        let path: Vec<&str> = req
            .path
            .split('/')
            .enumerate()
            .map(|(i, seg)| {
                let digits = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
                if digits || (by_key && i == 1) {
                    "{id}"
                } else {
                    seg
                }
            })
            .collect();
        let route = match req.method {
            Method::Get => format!("GET {}", path.join("/")),
            Method::Post => format!("POST {}", path.join("/")),
        };
        *self
            .by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(route)
            .or_default() += 1;
        let started = tokio::time::Instant::now();
        let sent = builder.send().await;
        // The answer (or the failure) is in: the server has seen the request by now.
        drop(permit);

        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let f = transport_failure(e);
                tracing::warn!(
                    method = ?req.method,
                    path = %req.path,
                    attempt = attempt + 1,
                    latency_ms = started.elapsed().as_millis() as u64,
                    error = error_kind(&f.error),
                    "retailCRM request failed"
                );
                return Err(f);
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(transport_failure);
        tracing::debug!(
            method = ?req.method,
            path = %req.path,
            status,
            attempt = attempt + 1,
            latency_ms = started.elapsed().as_millis() as u64,
            "retailCRM call"
        );
        let mut outcome = classify(status, &body?);
        if let Err(f) = &mut outcome {
            f.retry_after = retry_after;
        }
        outcome
    }
}

/// One attempt's calls, errors, throttling and latency, as CloudWatch metrics. "Not found" is an
/// answer, not an error: the error rate alarm must not fire because a shop deleted an order.
fn record_metrics(result: &Result<Value, Failure>, took: Duration) {
    use otklik_metrics as m;
    m::incr(&m::CRM_CALLS, &[]);
    m::emit(&m::CRM_LATENCY, &[], took.as_secs_f64() * 1000.0);
    match result {
        Ok(_) => {}
        Err(f) if matches!(f.error, CrmError::NotFound(_)) => {}
        Err(f) => {
            m::incr(&m::CRM_ERRORS, &[]);
            if matches!(f.error, CrmError::RateLimited) {
                m::incr(&m::CRM_THROTTLED, &[]);
            }
        }
    }
}

/// `https://acct.retailcrm.ru` (optionally with `/`, `/api/v5`) → `https://acct.retailcrm.ru`.
fn normalize_base_url(raw: &str) -> Result<String, CrmError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v5").unwrap_or(trimmed);
    let url = url::Url::parse(trimmed)
        .map_err(|e| CrmError::InvalidConfig(format!("base_url {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CrmError::InvalidConfig(format!(
            "base_url {trimmed:?} must be an http(s) URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CrmError::InvalidConfig(format!(
            "base_url {trimmed:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Status and body → the success object or a typed failure.
pub(crate) fn classify(status: u16, body: &[u8]) -> Result<Value, Failure> {
    let json = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object);
    match status {
        // retailCRM's rate limit answer: refused before any processing.
        429 | 503 => Err(Failure {
            error: CrmError::RateLimited,
            retry_after: None,
            unprocessed: true,
        }),
        // An HTML 502 from a proxy is as transient as a JSON 500, so 5xx is `Server` either way.
        500..=599 => Err(Failure::new(CrmError::Server {
            status,
            message: error_msg(json.as_ref()).unwrap_or_else(|| snippet(body, SNIPPET_CHARS)),
        })),
        _ => {
            let Some(v) = json else {
                return Err(Failure::new(CrmError::NotJson {
                    status,
                    snippet: snippet(body, SNIPPET_CHARS),
                }));
            };
            let refused = bool_of(v.get("success")) == Some(false);
            if (200..300).contains(&status) && !refused {
                return Ok(v);
            }
            let message = |default: &str| error_msg(Some(&v)).unwrap_or_else(|| default.to_owned());
            let error = match status {
                404 => CrmError::NotFound(message("Not found")),
                401 | 403 => CrmError::Unauthorized(message("Access denied")),
                _ => CrmError::Rejected {
                    status,
                    message: message("Request refused"),
                    errors: flatten_errors(v.get("errors")),
                },
            };
            Err(Failure::new(error))
        }
    }
}

fn error_msg(v: Option<&Value>) -> Option<String> {
    v?.get("errorMsg")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

fn transport_failure(e: reqwest::Error) -> Failure {
    // A connect error (refused, DNS, connect timeout) means no byte of the request left us.
    let unprocessed = e.is_connect();
    // The URL is harmless (no key, no personal data) but noise in a message.
    let e = e.without_url();
    let error = if e.is_timeout() {
        CrmError::Timeout
    } else {
        CrmError::Network(error_chain(&e))
    };
    Failure {
        error,
        retry_after: None,
        unprocessed,
    }
}

/// The error and its causes, one line: `error sending request: client error (Connect): …`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Full jitter: uniform in [0, min(cap, base·2^attempt)], but never shorter than the server's
/// `Retry-After` (capped too).
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    let jittered = Duration::from_millis(fastrand::u64(0..=ceiling.as_millis() as u64));
    match retry_after {
        Some(ra) => jittered.max(ra.min(BACKOFF_CAP)),
        None => jittered,
    }
}

fn error_kind(e: &CrmError) -> &'static str {
    match e {
        CrmError::NotFound(_) => "not_found",
        CrmError::Unauthorized(_) => "unauthorized",
        CrmError::Rejected { .. } => "rejected",
        CrmError::RateLimited => "rate_limited",
        CrmError::Server { .. } => "server",
        CrmError::NotJson { .. } => "not_json",
        CrmError::Timeout => "timeout",
        CrmError::Network(_) => "network",
        CrmError::Decode(_) => "decode",
        CrmError::InvalidConfig(_) => "invalid_config",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_url_normalisation() {
        for raw in [
            "https://acct.retailcrm.ru",
            "https://acct.retailcrm.ru/",
            " https://acct.retailcrm.ru/api/v5/ ",
            "https://acct.retailcrm.ru/api/v5",
        ] {
            assert_eq!(
                normalize_base_url(raw).unwrap(),
                "https://acct.retailcrm.ru",
                "{raw}"
            );
        }
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in ["", "acct.retailcrm.ru", "ftp://x.ru", "https://x.ru/?a=1"] {
            assert!(
                matches!(normalize_base_url(bad), Err(CrmError::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        for _ in 0..200 {
            assert!(backoff(0, None) <= BACKOFF_BASE);
            assert!(backoff(2, None) <= BACKOFF_BASE * 4);
            assert!(backoff(40, None) <= BACKOFF_CAP);
            let ra = backoff(0, Some(Duration::from_secs(2)));
            assert!(ra >= Duration::from_secs(2) && ra <= BACKOFF_CAP);
            assert_eq!(backoff(0, Some(Duration::from_secs(600))), BACKOFF_CAP);
        }
    }

    fn kind(status: u16, body: &str) -> Result<Value, CrmError> {
        classify(status, body.as_bytes()).map_err(|f| f.error)
    }

    #[test]
    fn classification() {
        assert_eq!(
            kind(200, r#"{"success":true,"id":1}"#).unwrap(),
            json!({"success":true,"id":1})
        );
        assert_eq!(
            kind(201, r#"{"success":true}"#).unwrap(),
            json!({"success":true})
        );
        assert_eq!(
            kind(200, r#"{"success":false,"errorMsg":"nope"}"#),
            Err(CrmError::Rejected {
                status: 200,
                message: "nope".into(),
                errors: vec![]
            })
        );
        assert_eq!(
            kind(404, r#"{"success":false,"errorMsg":"Not found"}"#),
            Err(CrmError::NotFound("Not found".into()))
        );
        assert_eq!(
            kind(404, r#"{"success":false}"#),
            Err(CrmError::NotFound("Not found".into()))
        );
        assert!(matches!(kind(403, "{}"), Err(CrmError::Unauthorized(_))));
        assert!(matches!(kind(429, "<html/>"), Err(CrmError::RateLimited)));
        assert!(matches!(kind(503, "{}"), Err(CrmError::RateLimited)));
        assert_eq!(
            kind(502, "<html>Bad gateway</html>"),
            Err(CrmError::Server {
                status: 502,
                message: "<html>Bad gateway</html>".into()
            })
        );
        assert!(matches!(
            kind(200, "<html>hi</html>"),
            Err(CrmError::NotJson { status: 200, .. })
        ));
        assert!(matches!(
            kind(200, "[1,2]"),
            Err(CrmError::NotJson { status: 200, .. })
        ));
        assert!(matches!(
            kind(302, ""),
            Err(CrmError::NotJson { status: 302, .. })
        ));
        let f = classify(503, b"").unwrap_err();
        assert!(f.unprocessed);
        let f = classify(500, b"{}").unwrap_err();
        assert!(!f.unprocessed);
    }
}
