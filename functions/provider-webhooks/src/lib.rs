//! `provider-webhooks`: the chat and SMS providers' webhooks — WhatsApp (`GET|POST
//! /webhooks/whatsapp/meta`, `POST /webhooks/whatsapp/green-api`), MAX through GREEN-API v3
//! (`POST /webhooks/max`) and SMS.ru's delivery callbacks (`POST /webhooks/sms/{secret}`).
//!
//! Every request is authenticated before its body is read as anything (Meta: HMAC of the raw body,
//! GREEN-API for WhatsApp and MAX: the bearer token; SMS.ru, which signs nothing: the secret in
//! the callback URL, compared in constant time) and parsed; then each message or status in it that can change a
//! survey is put on the `inbound` queue, and only then do we answer 200. An authentic webhook is
//! refused only when it is not a webhook at all: an item in it we cannot use is queued as
//! `Inbound::Unusable` for the worker to keep, and the others go on as usual. So the provider hears
//! back in milliseconds whatever the table is doing (a burst of replies, a slow spell), and an
//! answer we said 200 to is durable in SQS. `inbound-worker` applies the items. If queueing fails
//! we answer 503 and the provider retries; an item queued twice is applied once.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_aws::http::{body_bytes, error, header, json};
use otklik_core::ports::Queue;
use otklik_messaging::inbound::{
    max_instance_state, meta_handshake, parse_green_api, parse_max, parse_meta, verify_bearer,
    verify_meta_signature, verify_url_secret, Inbound, InboundError, MAX_BODY_BYTES,
};
use otklik_messaging::max::MaxState;
use otklik_messaging::sms::{parse_smsru_callback, SMSRU_CALLBACK_ANSWER};

/// The webhook secrets. A provider whose secret is missing is refused outright (401), never
/// accepted unauthenticated.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    pub meta_app_secret: Option<String>,
    pub meta_verify_token: Option<String>,
    pub green_api_webhook_token: Option<String>,
    /// The bearer token GREEN-API puts on the MAX instance's webhooks.
    pub max_webhook_token: Option<String>,
    /// The last path segment of the SMS.ru callback URL (`/webhooks/sms/{secret}`).
    pub sms_callback_secret: Option<String>,
}

pub struct ProviderWebhooks<Q> {
    /// The `inbound` queue.
    pub queue: Q,
    pub secrets: WebhookSecrets,
    /// Whose webhooks these are: items for another number or instance are not ours.
    pub installation: Installation,
    /// For numbers written without a country code.
    pub default_region: String,
}

/// This installation's accounts at the providers, from the config. A webhook is authenticated by
/// a secret that can be shared (one Meta app serves several numbers; one webhook URL and token
/// can be set on two GREEN-API instances), so an authentic item may still be another account's:
/// a security probe had one for another `phone_number_id` queued and applied. `None`: not
/// configured, nothing to compare with.
#[derive(Debug, Clone, Default)]
pub struct Installation {
    /// Meta's `metadata.phone_number_id` of our number.
    pub meta_phone_number_id: Option<String>,
    /// `instanceData.idInstance` of our GREEN-API WhatsApp instance.
    pub green_api_instance: Option<String>,
    /// `instanceData.idInstance` of our GREEN-API v3 (MAX) instance.
    pub max_instance: Option<String>,
}

impl Installation {
    /// The body with only what belongs to this installation, and how many parts were another's:
    /// for Meta the `changes` of another `phone_number_id` are dropped (one POST can carry
    /// several); for GREEN-API a notification of another `idInstance` is dropped whole. A body
    /// that is not JSON is passed on as it is, for the parser to refuse.
    fn keep_ours(&self, provider: Provider<'_>, raw: &[u8]) -> (Vec<u8>, usize) {
        let ours = match provider {
            Provider::Meta => self.meta_phone_number_id.as_deref(),
            Provider::GreenApi => self.green_api_instance.as_deref(),
            Provider::Max => self.max_instance.as_deref(),
            Provider::SmsRu(_) => None,
        };
        let (Some(ours), Ok(mut root)) = (ours, serde_json::from_slice::<serde_json::Value>(raw))
        else {
            return (raw.to_vec(), 0);
        };
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let mut foreign = 0;
        if matches!(provider, Provider::Meta) {
            for entry in root
                .get_mut("entry")
                .and_then(|e| e.as_array_mut())
                .into_iter()
                .flatten()
            {
                if let Some(changes) = entry.get_mut("changes").and_then(|c| c.as_array_mut()) {
                    let before = changes.len();
                    changes.retain(|c| {
                        c.pointer("/value/metadata/phone_number_id")
                            .and_then(text)
                            .is_none_or(|id| id == ours)
                    });
                    foreign += before - changes.len();
                }
            }
            if foreign == 0 {
                return (raw.to_vec(), 0);
            }
            return (serde_json::to_vec(&root).unwrap_or_default(), foreign);
        }
        match root.pointer("/instanceData/idInstance").and_then(text) {
            Some(id) if id != ours => (Vec::new(), 1),
            _ => (raw.to_vec(), 0),
        }
    }
}

/// Logs a refused or foreign webhook on the 1st, 2nd, 4th, 8th… occurrence in this process, with
/// the count so far: a flood of bad requests must not become a flood of log lines (a probe of
/// 10,000 forged webhooks wrote 10,000 WARN lines), yet the first one is always seen.
fn sampled(counter: &std::sync::atomic::AtomicU64) -> Option<u64> {
    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    n.is_power_of_two().then_some(n)
}

static REFUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static FOREIGN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider<'a> {
    Meta,
    GreenApi,
    Max,
    /// SMS.ru, with the secret the URL carries.
    SmsRu(&'a str),
}

/// Which provider a path is for; a stage prefix before `/webhooks/` is allowed.
fn provider(path: &str) -> Option<Provider<'_>> {
    let path = path.trim_end_matches('/');
    if path.ends_with("/webhooks/whatsapp/meta") {
        Some(Provider::Meta)
    } else if path.ends_with("/webhooks/whatsapp/green-api") {
        Some(Provider::GreenApi)
    } else if path.ends_with("/webhooks/max") {
        Some(Provider::Max)
    } else {
        let (head, secret) = path.rsplit_once('/')?;
        (head.ends_with("/webhooks/sms") && !secret.is_empty()).then_some(Provider::SmsRu(secret))
    }
}

/// States in which the MAX instance sends nothing (SPEC §4: the chain skips MAX for everyone and
/// an alarm says so). `starting` passes within minutes and is not one of them.
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

/// Whether an item is worth a queue message: one that can change a survey, one we cannot use
/// (the worker keeps it for inspection), a status naming the WhatsApp user id our message went
/// to, or a customer's new user id. Otherwise a `sent` status adds nothing (dispatch recorded the
/// send already).
fn worth_queueing(item: &Inbound) -> bool {
    matches!(
        item,
        Inbound::Message { .. }
            | Inbound::UserMessage { .. }
            | Inbound::UserIdChanged { .. }
            | Inbound::Unusable { .. }
    ) || item.status_event().is_some()
        // Even a `sent` status, when it names the recipient's user id: the worker learns it.
        || matches!(item, Inbound::Status { recipient_user_id: Some(_), .. })
}

impl Provider<'_> {
    /// For logs: the provider, never the secret a path may carry.
    fn name(self) -> &'static str {
        match self {
            Provider::Meta => "meta",
            Provider::GreenApi => "green-api",
            Provider::Max => "max",
            Provider::SmsRu(_) => "smsru",
        }
    }
}

/// A MAX instance's new state: a state in which nothing is sent is logged as an error and counted
/// (`MaxInstanceDown`, by state) for the alarm; any other is an info line.
fn note_max_state(state: &MaxState) {
    if !state.can_send() {
        tracing::error!(
            state = state.as_str(),
            "the MAX instance cannot send: log the account in again in the GREEN-API console"
        );
        otklik_metrics::incr(
            &otklik_metrics::MAX_INSTANCE_DOWN,
            &[("State", state.as_str())],
        );
    } else {
        tracing::info!(state = state.as_str(), "the MAX instance changed state");
    }
}

/// A provider's error text with every run of five or more digits masked: the texts describe our
/// account or message, but one may quote the recipient's number, and logs never show one.
fn digits_masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 5 {
            out.push_str(&"*".repeat(run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The errors a webhook reported: each logged and counted (`ProviderErrors` by provider and code);
/// one that affects the whole account (core's `provider_errors` rules) is logged as an error and
/// counted again (`ProviderAccountErrors`) for the alarm. Errors describe our account or one of
/// our messages, never the customer, so their codes and descriptions may be logged.
fn note_provider_errors(items: &[Inbound]) {
    use otklik_core::provider_errors::{green_status_scope, meta_error_scope, ErrorScope};
    for item in items {
        let Inbound::ProviderError {
            provider,
            code,
            detail,
        } = item
        else {
            continue;
        };
        let scope = match provider.as_str() {
            "meta" => meta_error_scope(code),
            _ => green_status_scope(code),
        };
        let detail = digits_masked(detail.as_deref().unwrap_or_default());
        let detail = detail.as_str();
        otklik_metrics::incr(
            &otklik_metrics::PROVIDER_ERRORS,
            &[("Provider", provider), ("Code", code)],
        );
        match scope {
            ErrorScope::Account => {
                tracing::error!(
                    provider = provider.as_str(),
                    code = code.as_str(),
                    detail,
                    "the provider reports a problem of the whole account: nothing may be sent until it is fixed"
                );
                otklik_metrics::incr(
                    &otklik_metrics::PROVIDER_ACCOUNT_ERRORS,
                    &[("Provider", provider)],
                );
            }
            ErrorScope::Message => tracing::info!(
                provider = provider.as_str(),
                code = code.as_str(),
                detail,
                scope = scope.as_str(),
                "the provider reports an error"
            ),
        }
    }
}

impl<Q: Queue> ProviderWebhooks<Q> {
    /// Handles one request from API Gateway.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        if let Some(refused) = otklik_aws::http::wrong_method(&req) {
            return refused;
        }
        let Some(provider) = provider(req.uri().path()) else {
            return error(StatusCode::NOT_FOUND, "not_found", "no such route");
        };
        match (provider, req.method()) {
            (Provider::Meta, &Method::GET) => self.handshake(&req),
            (_, &Method::POST) => {
                let raw = body_bytes(&req);
                if raw.len() > MAX_BODY_BYTES {
                    return refused(&InboundError::TooLarge);
                }
                let items = match self.authenticate_and_parse(provider, &req, raw) {
                    Ok(items) => items,
                    Err(e) => {
                        // Never the path: for SMS.ru it holds the secret.
                        if let Some(so_far) = sampled(&REFUSED) {
                            tracing::warn!(error = %e, provider = provider.name(), refused_so_far = so_far, "webhook refused");
                        }
                        return refused(&e);
                    }
                };
                let queued = self.enqueue(&items).await;
                // Counted once the webhook is taken: a retry after our 503 is not a new error.
                if queued.is_ok() {
                    note_provider_errors(&items);
                }
                match queued {
                    // SMS.ru takes exactly `100` as "received" and sends anything else again.
                    Ok(_) if matches!(provider, Provider::SmsRu(_)) => Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", "text/plain; charset=utf-8")
                        .header("cache-control", "no-store")
                        .body(Body::Text(SMSRU_CALLBACK_ANSWER.to_string()))
                        .expect("a text response is valid"),
                    Ok(queued) => json(
                        StatusCode::OK,
                        &serde_json::json!({
                            "ok": true,
                            "items": items.len(),
                            "queued": queued,
                            "unusable": items
                                .iter()
                                .filter(|i| matches!(i, Inbound::Unusable { .. }))
                                .count(),
                        }),
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

    /// Checks the caller the provider's way, then reads the body into items. Nothing of the body
    /// is looked at before the caller is known.
    fn authenticate_and_parse(
        &self,
        provider: Provider<'_>,
        req: &Request,
        raw: &[u8],
    ) -> Result<Vec<Inbound>, InboundError> {
        let secret = |s: &Option<String>| s.as_deref().unwrap_or_default().to_string();
        // Authentic first (below, on the raw bytes as signed); then only what is ours is read.
        let (body, foreign) = self.installation.keep_ours(provider, raw);
        if foreign > 0 {
            if let Some(so_far) = sampled(&FOREIGN) {
                tracing::warn!(
                    provider = provider.name(),
                    parts = foreign,
                    foreign_so_far = so_far,
                    "webhook parts for another number or instance; not ours, ignored"
                );
            }
        }
        let parsed = |parse: fn(&[u8], &str) -> Result<Vec<Inbound>, InboundError>| {
            if body.is_empty() && foreign > 0 {
                return Ok(Vec::new());
            }
            parse(&body, &self.default_region)
        };
        match provider {
            Provider::Meta => {
                verify_meta_signature(
                    secret(&self.secrets.meta_app_secret).as_bytes(),
                    raw,
                    header(req, "x-hub-signature-256"),
                )?;
                parsed(parse_meta)
            }
            Provider::GreenApi => {
                verify_bearer(
                    &secret(&self.secrets.green_api_webhook_token),
                    header(req, "authorization"),
                )?;
                parsed(parse_green_api)
            }
            Provider::Max => {
                verify_bearer(
                    &secret(&self.secrets.max_webhook_token),
                    header(req, "authorization"),
                )?;
                if foreign > 0 {
                    return Ok(Vec::new());
                }
                if let Some(state) = max_instance_state(raw)? {
                    note_max_state(&state);
                }
                parsed(parse_max)
            }
            Provider::SmsRu(given) => {
                verify_url_secret(&secret(&self.secrets.sms_callback_secret), given)?;
                // Per item: an entry we cannot read is kept as unusable, the others go on.
                Ok(parse_smsru_callback(raw)?
                    .iter()
                    .map(|item| item.to_inbound())
                    .collect())
            }
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

impl ProviderWebhooks<otklik_aws::queue::SqsQueue> {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("provider-webhooks").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(ProviderWebhooks {
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
                max_webhook_token: secrets
                    .max_webhook_token
                    .as_ref()
                    .map(|s| s.expose().to_string()),
                sms_callback_secret: secrets
                    .sms_callback_secret
                    .as_ref()
                    .map(|s| s.expose().to_string()),
            },
            installation: Installation {
                meta_phone_number_id: config
                    .whatsapp
                    .meta
                    .as_ref()
                    .map(|m| m.phone_number_id.clone()),
                green_api_instance: config
                    .whatsapp
                    .green_api
                    .as_ref()
                    .map(|g| g.instance_id.clone()),
                max_instance: config.max.as_ref().map(|m| m.instance_id.clone()),
            },
            default_region: config.default_region.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
