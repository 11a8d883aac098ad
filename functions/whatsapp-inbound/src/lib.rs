//! `whatsapp-inbound`: the Meta and Green-API webhooks (`GET|POST /webhooks/whatsapp/meta`,
//! `POST /webhooks/whatsapp/green-api`).
//!
//! Every request is authenticated before its body is read as anything (Meta: HMAC of the raw body,
//! Green-API: the bearer token), then each message or status in it is routed to its survey and
//! run through the state machine by the [`Engine`] (decide → conditional save with the outbox →
//! queues). We answer 200 only after all of that is durable; on a failure we answer 500 and the
//! provider retries, and what was done already is skipped by its provider id.

use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_aws::engine::Engine;
use otklik_aws::http::{body_bytes, error, header, json};
use otklik_core::machine::{Input, Survey};
use otklik_core::model::{Phone, SurveyId, SurveyState};
use otklik_core::ports::{PortError, SurveyStore};
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

pub struct WhatsappInbound {
    pub engine: Engine,
    pub secrets: WebhookSecrets,
    /// For numbers written without a country code.
    pub default_region: String,
}

/// What became of one item of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Applied to this survey; `effects` new effects.
    Applied { survey: SurveyId, effects: usize },
    /// Seen before (a provider's retry): skipped.
    Duplicate,
    /// Nothing of ours: a status of a message we do not track, a number without surveys.
    Ignored(&'static str),
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

/// The survey a customer's message belongs to: the one still waiting for an answer, else the
/// most recent one we asked, else (a message before we asked anything) the newest planned one.
pub fn route(surveys: &[Survey]) -> Option<&Survey> {
    let newest_first = |a: &&Survey, b: &&Survey| b.created_at.cmp(&a.created_at);
    let mut sorted: Vec<&Survey> = surveys.iter().collect();
    sorted.sort_by(newest_first);
    let open = |s: &&Survey| {
        matches!(
            s.state,
            SurveyState::Sent | SurveyState::AwaitingRating | SurveyState::AwaitingContactConsent
        )
    };
    sorted
        .iter()
        .find(|s| open(s))
        .or_else(|| sorted.iter().find(|s| s.sent_at.is_some()))
        .or_else(|| sorted.first())
        .copied()
}

impl WhatsappInbound {
    /// Handles one request from API Gateway.
    pub async fn handle(&self, req: Request, now: DateTime<Utc>) -> Response<Body> {
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
                match self.process(&items, now).await {
                    Ok(handled) => json(
                        StatusCode::OK,
                        &serde_json::json!({ "ok": true, "items": handled.len() }),
                    ),
                    Err(e) => {
                        // The provider retries; what is done already is skipped then.
                        tracing::error!(error = %e, "webhook not fully handled; asking for a retry");
                        error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "server_error",
                            "temporarily unable to handle the webhook; retry later",
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

    /// Applies every item of one webhook, in order.
    pub async fn process(
        &self,
        items: &[Inbound],
        now: DateTime<Utc>,
    ) -> Result<Vec<Handled>, PortError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.process_one(item, now).await?);
        }
        Ok(out)
    }

    async fn process_one(&self, item: &Inbound, now: DateTime<Utc>) -> Result<Handled, PortError> {
        let store = &self.engine.store;
        let (input_id, survey) = match item {
            Inbound::Message {
                from,
                id,
                context_message_id,
                ..
            } => {
                if store.inbound_done(id.as_str()).await? {
                    return Ok(Handled::Duplicate);
                }
                (id, self.survey_for_message(from, context_message_id).await?)
            }
            Inbound::Status { message_id, id, .. } => {
                if item.status_event().is_none() {
                    return Ok(Handled::Ignored("status without consequence"));
                }
                if store.inbound_done(id.as_str()).await? {
                    return Ok(Handled::Duplicate);
                }
                (id, store.survey_of_message(message_id).await?)
            }
        };
        let Some(survey) = survey else {
            tracing::info!("webhook item without a survey of ours; ignored");
            store.mark_inbound_done(input_id.as_str(), now).await?;
            return Ok(Handled::Ignored("no survey"));
        };
        if matches!(item, Inbound::Message { .. }) {
            self.catch_up_on_send(&survey, now).await?;
        }
        let event = match item {
            Inbound::Message { event, .. } => event.clone(),
            Inbound::Status { .. } => item.status_event().expect("checked above"),
        };
        let input = Input {
            id: input_id.clone(),
            event,
        };
        let applied = self.engine.apply(&survey, &input, now).await?;
        store.mark_inbound_done(input_id.as_str(), now).await?;
        let effects = applied.map_or(0, |a| a.effects.len());
        tracing::info!(survey = %survey, effects, "webhook item applied");
        Ok(Handled::Applied { survey, effects })
    }

    /// The customer may answer before the dispatcher's save of "sent" lands (it crashed after
    /// the provider took the question and is waiting for its retry). A survey still `Scheduled`
    /// whose WhatsApp send is claimed was asked: record that first, under the dispatcher's own
    /// input id, so the answer counts as the answer it is.
    async fn catch_up_on_send(&self, id: &SurveyId, now: DateTime<Utc>) -> Result<(), PortError> {
        let store = &self.engine.store;
        let Some(survey) = store.get(id).await? else {
            return Ok(());
        };
        let channel = otklik_core::model::Channel::Whatsapp;
        if survey.state != SurveyState::Scheduled
            || !store.send_claimed(id, &channel.to_string()).await?
        {
            return Ok(());
        }
        let sent = Input {
            id: otklik_core::machine::InputId::new(format!("sent-{channel}"))
                .map_err(|e| PortError::Permanent(e.to_string()))?,
            event: otklik_core::machine::Event::Sent {
                channel,
                message_id: String::new(),
            },
        };
        self.engine.apply(id, &sent, now).await?;
        tracing::warn!(survey = %id, "answer before the send was recorded; recorded it first");
        Ok(())
    }

    async fn survey_for_message(
        &self,
        from: &Phone,
        context: &Option<String>,
    ) -> Result<Option<SurveyId>, PortError> {
        let store = &self.engine.store;
        // A reaction or a quoted reply names our message: that survey, whatever else is open.
        if let Some(ctx) = context {
            if let Some(id) = store.survey_of_message(ctx).await? {
                return Ok(Some(id));
            }
        }
        let surveys = store.by_phone(from).await?;
        Ok(route(&surveys).map(|s| s.id.clone()))
    }
}

impl WhatsappInbound {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_aws::env::BoxError> {
        Self::from_parts(&otklik_aws::env::Parts::from_env(true).await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_aws::env::Parts) -> Result<Self, otklik_aws::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(WhatsappInbound {
            engine: p.engine().await?,
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
mod tests {
    use super::*;
    use chrono::TimeZone;
    use otklik_core::machine::Contact;
    use otklik_core::model::{OrderRef, Outcome};

    fn survey(id: u64, day: u32, state: SurveyState, sent: bool) -> Survey {
        let at = Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap();
        let mut s = Survey::new(
            OrderRef::new("main", id).unwrap(),
            Contact::default(),
            at,
            at,
        );
        s.state = state;
        s.sent_at = sent.then_some(at);
        s
    }

    #[test]
    fn routing_prefers_the_open_survey_then_the_latest_asked() {
        let closed_new = survey(
            3,
            20,
            SurveyState::Closed {
                outcome: Outcome::Rated,
            },
            true,
        );
        let open_old = survey(2, 10, SurveyState::AwaitingRating, true);
        let planned = survey(4, 21, SurveyState::Scheduled, false);
        let all = vec![planned.clone(), closed_new.clone(), open_old.clone()];
        assert_eq!(route(&all).unwrap().id, open_old.id);
        let no_open = vec![planned.clone(), closed_new.clone()];
        assert_eq!(route(&no_open).unwrap().id, closed_new.id);
        assert_eq!(
            route(std::slice::from_ref(&planned)).unwrap().id,
            planned.id
        );
        assert!(route(&[]).is_none());
    }
}
