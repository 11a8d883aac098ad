//! The order trigger: retailCRM's "order changed" trigger with a status condition and an
//! "HTTP request" action, which is how a shop tells Otklik that an order is done.
//!
//! The call is a plain HTTP/1.1 POST written by hand: receivers are local (tests, the demo), and
//! the simulator needs nothing more than the status line back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::model::StatusChange;

/// How the parameters travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerFormat {
    /// `application/x-www-form-urlencoded`, as retailCRM's HTTP-request action sends by default.
    #[default]
    Form,
    /// A JSON object with the same keys.
    Json,
}

/// `PUT /sim/trigger`: call `url` when an order's status changes into one of `statuses`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub url: String,
    pub statuses: Vec<String>,
    /// Extra parameters sent with `orderId` and `site` (e.g. a shared secret).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// `false` keeps the trigger but makes no calls: a lost trigger.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    #[serde(default)]
    pub format: TriggerFormat,
    /// Calls per status change: more than one exercises the receiver's deduplication (a
    /// receiver that answered slowly may well be called again).
    #[serde(default = "times_default")]
    pub times: u32,
}

fn enabled_default() -> bool {
    true
}

fn times_default() -> u32 {
    1
}

/// How long a receiver may take before the call counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The request body and its content type for one status change.
pub fn body(trigger: &Trigger, change: &StatusChange) -> (&'static str, String) {
    match trigger.format {
        TriggerFormat::Form => {
            let mut pairs: Vec<(String, String)> = vec![
                ("orderId".into(), change.order_id.to_string()),
                ("site".into(), change.site.clone()),
            ];
            pairs.extend(
                trigger
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), param_text(v))),
            );
            let body = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            ("application/x-www-form-urlencoded", body)
        }
        TriggerFormat::Json => {
            let mut map = serde_json::Map::new();
            map.insert("orderId".into(), Value::from(change.order_id));
            map.insert("site".into(), Value::from(change.site.clone()));
            for (k, v) in &trigger.params {
                map.insert(k.clone(), v.clone());
            }
            ("application/json", Value::Object(map).to_string())
        }
    }
}

/// Makes the call; the receiver's HTTP status, or why there was none.
pub async fn deliver(trigger: &Trigger, change: &StatusChange) -> Result<u16, String> {
    let (content_type, body) = body(trigger, change);
    match tokio::time::timeout(CALL_TIMEOUT, post(&trigger.url, content_type, &body)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}s", CALL_TIMEOUT.as_secs())),
    }
}

async fn post(url: &str, content_type: &str, body: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs can be called from the simulator: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // `host`, `host:port`, `[v6]` or `[v6]:port`.
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    let target = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&target)
        .await
        .map_err(|e| format!("connect {target}: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: retailcrm-sim\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "the receiver closed the connection without an HTTP answer".to_owned())
}
