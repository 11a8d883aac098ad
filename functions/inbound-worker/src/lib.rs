//! `inbound-worker`: applies what the WhatsApp webhooks told us.
//!
//! `provider-webhooks` authenticates each webhook, parses it and queues every item (a customer's
//! message, a delivery status) on the `inbound` queue before it answers the provider. Here each
//! item is routed to its survey and run through the state machine by the [`Engine`] (decide →
//! conditional save with the outbox → queues). An item that fails stays on the queue and comes
//! back; what was done already is skipped by its provider id, so a repeat changes nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::for_each_record;
use otklik_app::engine::Engine;
use otklik_core::machine::{Event, Input};
use otklik_core::model::{Channel, Phone, SurveyId};
use otklik_core::ports::{PortError, SurveyStore};
use otklik_core::routing::route;
use otklik_messaging::inbound::Inbound;

pub struct InboundWorker {
    pub engine: Engine,
}

/// What became of one item of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Applied to this survey; `effects` new effects.
    Applied { survey: SurveyId, effects: usize },
    /// Seen before (a provider's retry, a queue's redelivery): skipped.
    Duplicate,
    /// Nothing of ours: a status of a message we do not track, a number without surveys.
    Ignored(&'static str),
}

impl InboundWorker {
    /// One batch from the `inbound` queue; the items that failed are reported for redelivery.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        // A body that is not a webhook item is never ours to guess at: it stays, and after its
        // retries rests in the DLQ.
        for_each_record(event, "inbound item", move |item: Inbound| async move {
            self.process_one(&item, now).await
        })
        .await
    }

    /// Routes one item to its survey and applies it, at most once per provider id.
    pub async fn process_one(
        &self,
        item: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<Handled, PortError> {
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
        if let Inbound::Message { event, .. } = item {
            // The channel the answer came on is the one whose send it answers.
            let via = match event {
                Event::Text { via, .. } | Event::Choice { via, .. } => Some(*via),
                _ => None,
            };
            if let Some(via) = via {
                self.catch_up_on_send(&survey, via, now).await?;
            }
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

    /// An answer that overtakes the dispatcher's save of its send: [`Engine::catch_up_on_send`].
    async fn catch_up_on_send(
        &self,
        id: &SurveyId,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        if let Some(survey) = self.engine.store.get(id).await? {
            self.engine.catch_up_on_send(survey, channel, now).await?;
        }
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

impl InboundWorker {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, the stack's names from the
    /// environment; the secret is not read.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env(otklik_app::env::Reads::Nothing).await?)
            .await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        Ok(InboundWorker {
            engine: p.engine().await?,
        })
    }
}
