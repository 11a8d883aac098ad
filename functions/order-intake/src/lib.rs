//! `order-intake`: the retailCRM trigger webhook (`POST /webhooks/retailcrm`).
//!
//! The call is only a signal. We authenticate it (the trigger's secret, compared in constant
//! time), read the order reference, and put an [`IntakeSignal`] on the intake queue. Once we
//! answer 200 the signal is durable in SQS, so a retailCRM outage later delays a survey but never
//! loses it. The decision itself happens in `intake-worker`.

use chrono::Utc;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_core::intake::IntakeSignal;
use otklik_core::model::OrderRef;
use otklik_core::ports::Queue;
use serde_json::json;

/// Triggers send a handful of parameters; anything bigger is not from retailCRM.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct Intake<Q> {
    pub queue: Q,
    pub trigger_secret: String,
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a static response is valid")
}

/// The API's one error shape: a machine code plus a sentence for people.
fn error(status: StatusCode, message: &str) -> Response<Body> {
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "bad_request",
    };
    otklik_aws::http::error(status, code, message)
}

/// The trigger's parameters, from a form or a JSON object; values as strings.
fn params(req: &Request) -> Result<Vec<(String, String)>, String> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err("body too large".into());
    }
    let is_json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if is_json {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("body is not valid JSON: {e}"))?;
        let obj = value
            .as_object()
            .ok_or_else(|| "JSON body must be an object".to_string())?;
        Ok(obj
            .iter()
            .filter_map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((k.clone(), s))
            })
            .collect())
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| "body is not UTF-8".to_string())?;
        serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            .map_err(|e| format!("body is not a form: {e}"))
    }
}

fn param<'a>(params: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
}

impl<Q: Queue> Intake<Q> {
    fn secret_ok(&self, given: Option<&str>) -> bool {
        match given {
            // Hashed, then constant time: the comparison must tell an attacker neither how much
            // of a guess was right nor how long the secret is.
            Some(g) => otklik_core::secrets::secret_eq(g, &self.trigger_secret),
            _ => false,
        }
    }

    /// Handles one HTTP request from API Gateway.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        if let Some(refused) = otklik_aws::http::wrong_method(&req) {
            return refused;
        }
        if req.method() != Method::POST {
            return error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        }
        let query = req.query_string_parameters();
        let query_secret = query.first("secret").map(str::to_string);
        // A secret in the URL is checked before the body is even read.
        if let Some(s) = &query_secret {
            if !self.secret_ok(Some(s)) {
                return error(StatusCode::UNAUTHORIZED, "wrong or missing trigger secret");
            }
        }
        let params = match params(&req) {
            Ok(p) => p,
            Err(e) if e == "body too large" => return error(StatusCode::PAYLOAD_TOO_LARGE, &e),
            Err(e) => return error(StatusCode::BAD_REQUEST, &e),
        };
        if query_secret.is_none() && !self.secret_ok(param(&params, &["secret"])) {
            return error(StatusCode::UNAUTHORIZED, "wrong or missing trigger secret");
        }
        let Some(id) = param(&params, &["orderId", "order_id", "id"]) else {
            return error(StatusCode::BAD_REQUEST, "orderId is required");
        };
        let Ok(id) = id.trim().parse::<u64>() else {
            return error(StatusCode::BAD_REQUEST, "orderId must be a positive number");
        };
        let Some(site) = param(&params, &["site"]) else {
            return error(StatusCode::BAD_REQUEST, "site is required");
        };
        let order = match OrderRef::new(site, id) {
            Ok(o) => o,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let signal = IntakeSignal {
            site: order.site().to_string(),
            order_id: order.id(),
            source: "trigger".into(),
            received_at: Utc::now(),
        };
        let body = serde_json::to_string(&signal).expect("a signal serializes");
        match self.queue.send(&body).await {
            Ok(()) => {
                tracing::info!(order = %order, "trigger accepted");
                reply(
                    StatusCode::OK,
                    json!({ "accepted": true, "order": order.to_string() }),
                )
            }
            Err(e) => {
                tracing::error!(order = %order, error = %e, "could not queue the trigger");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "could not accept the signal now; retry later",
                )
            }
        }
    }
}

impl Intake<otklik_aws::queue::SqsQueue> {
    /// Built as on Lambda. This function holds only the trigger secret (no config file, no retailCRM
    /// key): it checks the caller and queues, nothing more.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        let clients = otklik_aws::Clients::from_env().await;
        let def = otklik_aws::resources::function("order-intake").expect("declared");
        let source = otklik_aws::secrets::SecretSource::for_function(&clients.sdk, def).await?;
        let trigger_secret = source
            .get(otklik_core::config::ENV_TRIGGER_SECRET)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "{} is not set ({})",
                    otklik_core::config::ENV_TRIGGER_SECRET,
                    source.describe()
                )
            })?;
        Self::connect(
            &clients,
            &otklik_aws::resources::Names::from_env(),
            trigger_secret,
        )
        .await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let secret = p.secrets()?.trigger_secret()?.expose().to_string();
        Self::connect(&p.clients, &p.names, secret).await
    }

    async fn connect(
        clients: &otklik_aws::Clients,
        names: &otklik_aws::resources::Names,
        trigger_secret: String,
    ) -> Result<Self, otklik_app::env::BoxError> {
        let queue = otklik_aws::queue::SqsQueue::connect(
            clients.sqs.clone(),
            names,
            &otklik_aws::resources::INTAKE_QUEUE,
        )
        .await?;
        Ok(Intake {
            queue,
            trigger_secret,
        })
    }
}
