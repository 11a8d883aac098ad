//! A scripted provider stand-in on 127.0.0.1:0 that records every request: the senders' wire
//! format as the provider sees it, and every answer the provider documents.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).expect("a form body")
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: body.to_string(),
            content_type: "application/json",
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            body: body.to_string(),
            content_type: "text/plain; charset=utf-8",
        }
    }
}

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Recorded>>>,
    reply: Reply,
}

pub struct Mock {
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    /// Answers every request with `reply`.
    pub async fn always(reply: Reply) -> Mock {
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            log: log.clone(),
            reply,
        };
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds a local port");
        let url = format!("http://{}", listener.local_addr().expect("has an address"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serves");
        });
        Mock { url, log }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log lock").clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("at least one request")
    }
}

/// An address where nothing listens: a send there is refused before anything leaves.
pub async fn refusing_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds a local port");
    let addr = listener.local_addr().expect("has an address");
    drop(listener);
    format!("http://{addr}")
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.log.lock().expect("log lock").push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: body.to_vec(),
    });
    let r = &shared.reply;
    (
        StatusCode::from_u16(r.status).expect("a valid status"),
        [("content-type", r.content_type)],
        r.body.clone(),
    )
        .into_response()
}
