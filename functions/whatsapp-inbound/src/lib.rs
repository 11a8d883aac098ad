//! `whatsapp-inbound`: the Meta and Green-API webhooks (`GET|POST /webhooks/whatsapp/meta`,
//! `POST /webhooks/whatsapp/green-api`).
//!
//! Every request is authenticated before its body is read as anything (Meta: HMAC of the raw body,
//! Green-API: the bearer token) and parsed; then each message or status in it that can change a
//! survey is put on the `inbound` queue, and only then do we answer 200. So the provider hears
//! back in milliseconds whatever the table is doing (a burst of replies, a slow spell), and an
//! answer we said 200 to is durable in SQS. `inbound-worker` applies the items. If queueing fails
//! we answer 503 and the provider retries; an item queued twice is applied once.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_aws::http::{body_bytes, error, header, json};
use otklik_core::ports::Queue;
use otklik_messaging::inbound::{
    meta_handshake, parse_green_api, parse_meta, verify_bearer, verify_meta_signature, Inbound,
    InboundError, MAX_BODY_BYTES,
};

/// The webhook secrets. A provider whose secret is missing is refused outright (401), never
/// accepted unauthenticated.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    pub meta_app_secret: Option<String>,
    pub meta_verify_token: Option<String>,
    pub green_api_webhook_token: Option<String>,
}

pub struct WhatsappInbound<Q> {
    /// The `inbound` queue.
    pub queue: Q,
    pub secrets: WebhookSecrets,
    /// For numbers written without a country code.
    pub default_region: String,
}

enum Provider {
    Meta,
    GreenApi,
}

fn refused(e: &InboundError) -> Response<Body> {
    let (status, code) = match e {
        InboundError::MissingSignature => (StatusCode::UNAUTHORIZED, "missing_signature"),
        InboundError::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
        InboundError::BadToken => (StatusCode::UNAUTHORIZED, "bad_token"),
        InboundError::BadHandshake => (StatusCode::FORBIDDEN, "bad_handshake"),
        InboundError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        InboundError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
    };
    error(status, code, &e.to_string())
}

/// Whether an item can change a survey: a `sent` status adds nothing (dispatch recorded the send
/// already), so it is not worth a queue message.
fn worth_queueing(item: &Inbound) -> bool {
    matches!(item, Inbound::Message { .. }) || item.status_event().is_some()
}

impl<Q: Queue> WhatsappInbound<Q> {
    /// Handles one request from API Gateway.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().trim_end_matches('/');
        let provider = if path.ends_with("/webhooks/whatsapp/meta") {
            Provider::Meta
        } else if path.ends_with("/webhooks/whatsapp/green-api") {
            Provider::GreenApi
        } else {
            return error(StatusCode::NOT_FOUND, "not_found", "no such route");
        };
        match (provider, req.method()) {
            (Provider::Meta, &Method::GET) => self.handshake(&req),
            (Provider::Meta, &Method::POST) | (Provider::GreenApi, &Method::POST) => {
                let raw = body_bytes(&req);
                if raw.len() > MAX_BODY_BYTES {
                    return refused(&InboundError::TooLarge);
                }
                let parsed = if path.ends_with("/meta") {
                    verify_meta_signature(
                        self.secrets
                            .meta_app_secret
                            .as_deref()
                            .unwrap_or_default()
                            .as_bytes(),
                        raw,
                        header(&req, "x-hub-signature-256"),
                    )
                    .and_then(|()| parse_meta(raw, &self.default_region))
                } else {
                    verify_bearer(
                        self.secrets
                            .green_api_webhook_token
                            .as_deref()
                            .unwrap_or_default(),
                        header(&req, "authorization"),
                    )
                    .and_then(|()| parse_green_api(raw, &self.default_region))
                };
                let items = match parsed {
                    Ok(items) => items,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook refused");
                        return refused(&e);
                    }
                };
                match self.enqueue(&items).await {
                    Ok(queued) => json(
                        StatusCode::OK,
                        &serde_json::json!({ "ok": true, "items": items.len(), "queued": queued }),
                    ),
                    Err(e) => {
                        // The provider retries; an item queued before the failure is applied
                        // once however often it arrives.
                        tracing::error!(error = %e, "webhook not queued; asking for a retry");
                        error(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            "temporarily unable to take the webhook; retry later",
                        )
                    }
                }
            }
            _ => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route takes POST (and GET for Meta's verification)",
            ),
        }
    }

    fn handshake(&self, req: &Request) -> Response<Body> {
        let q = req.query_string_parameters();
        match meta_handshake(
            q.first("hub.mode"),
            q.first("hub.verify_token"),
            q.first("hub.challenge"),
            self.secrets
                .meta_verify_token
                .as_deref()
                .unwrap_or_default(),
        ) {
            Ok(challenge) => Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "text/plain")
                .body(Body::Text(challenge))
                .expect("a text response is valid"),
            Err(e) => refused(&e),
        }
    }

    /// Queues every item that can change a survey, one message each, in the webhook's order.
    pub async fn enqueue(&self, items: &[Inbound]) -> Result<usize, otklik_core::ports::PortError> {
        let mut queued = 0;
        for item in items.iter().filter(|i| worth_queueing(i)) {
            let body = serde_json::to_string(item).expect("an inbound item serializes");
            self.queue.send(&body).await?;
            queued += 1;
        }
        Ok(queued)
    }
}

impl WhatsappInbound<otklik_aws::queue::SqsQueue> {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env(otklik_app::env::Reads::Secrets).await?)
            .await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(WhatsappInbound {
            queue: otklik_aws::queue::SqsQueue::connect(
                p.clients.sqs.clone(),
                &p.names,
                &otklik_aws::resources::INBOUND_QUEUE,
            )
            .await?,
            secrets: WebhookSecrets {
                meta_app_secret: secrets
                    .meta_app_secret
                    .as_ref()
                    .map(|s| s.expose().to_string()),
                meta_verify_token: secrets
                    .meta_verify_token
                    .as_ref()
                    .map(|s| s.expose().to_string()),
                green_api_webhook_token: secrets
                    .green_api_webhook_token
                    .as_ref()
                    .map(|s| s.expose().to_string()),
            },
            default_region: config.default_region.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
