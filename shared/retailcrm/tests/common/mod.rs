//! A scripted retailCRM stand-in on 127.0.0.1:0 that records every request it receives.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use otklik_retailcrm::ClientConfig;
use serde_json::Value;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Below `/api/v5/`, e.g. `orders/1001`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub api_key: Option<String>,
    pub content_type: Option<String>,
    pub at: Instant,
}

impl Recorded {
    pub fn query(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_all(&self, k: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn form(&self, k: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// A form field that must hold a JSON document.
    pub fn form_json(&self, k: &str) -> Value {
        let raw = self
            .form(k)
            .unwrap_or_else(|| panic!("no form field {k}: {:?}", self.form));
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("form field {k} not JSON ({e}): {raw}"))
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: body.to_string(),
            content_type: "application/json",
            headers: Vec::new(),
            delay: None,
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            body: body.into(),
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            delay: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }
}

type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Recorded>>>,
    respond: Arc<Responder>,
}

pub struct Mock {
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    /// Starts a server; `respond(request, n)` gets the request and its 0-based arrival number.
    pub async fn start(
        respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Mock {
        let shared = Shared {
            log: Arc::default(),
            respond: Arc::new(respond),
        };
        let log = Arc::clone(&shared.log);
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { url, log }
    }

    /// Answers every request with the same reply.
    pub async fn always(reply: Reply) -> Mock {
        Self::start(move |_, _| reply.clone()).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("no request arrived")
    }

    /// A config for this server: a fast pace and a key of its own, so no two tests share a pacer
    /// even if the OS hands out a port twice.
    pub fn config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new(&self.url, unique_key());
        cfg.rate_per_second = 1000;
        cfg.timeout = Duration::from_secs(5);
        cfg
    }
}

pub fn unique_key() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("test-key-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let rec = Recorded {
        method: method.to_string(),
        path: uri
            .path()
            .strip_prefix("/api/v5/")
            .unwrap_or(uri.path())
            .to_owned(),
        query: serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap(),
        form: serde_urlencoded::from_bytes(&body).unwrap_or_default(),
        api_key: header("x-api-key"),
        content_type: header("content-type"),
        at,
    };
    let n = {
        let mut log = s.log.lock().unwrap();
        log.push(rec.clone());
        log.len() - 1
    };
    let reply = (s.respond)(&rec, n);
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static(reply.content_type));
    for (k, v) in reply.headers {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    (StatusCode::from_u16(reply.status).unwrap(), h, reply.body).into_response()
}

/// A retailCRM order in the contract's shape.
pub fn order_json(id: u64) -> Value {
    serde_json::json!({"id":id,"number":format!("{id}A"),"site":"main-shop","status":"complete",
     "statusUpdatedAt":"2026-11-23 14:05:00","createdAt":"2026-11-20 10:00:00",
     "orderType":"eshop-individual","orderMethod":"shopping-cart","managerId":11,
     "phone":"+79001234567","additionalPhone":"","email":"buyer@example.ru",
     "customer":{"id":501,"type":"customer","phones":[{"number":"+79001234567"}],"email":"buyer@example.ru"},
     "delivery":{"code":"courier"},
     "items":[{"id":1,"offer":{"id":10,"externalId":"sku-10","name":"Стул"},"quantity":1,"initialPrice":1000}],
     "payments":{"5":{"id":5,"type":"cash","status":"paid"}},
     "customFields":{"otklik_rating":5},
     "managerComment":""})
}

/// Largest number of instants inside any closed 1-second window.
pub fn max_per_second(instants: &[Instant]) -> usize {
    let mut t: Vec<Instant> = instants.to_vec();
    t.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..t.len() {
        while t[hi] - t[lo] > Duration::from_secs(1) {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}
