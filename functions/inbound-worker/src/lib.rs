//! `inbound-worker`: applies what the WhatsApp webhooks told us.
//!
//! `whatsapp-inbound` authenticates each webhook, parses it and queues every item (a customer's
//! message, a delivery status) on the `inbound` queue before it answers the provider. Here each
//! item is routed to its survey and run through the state machine by the [`Engine`] (decide →
//! conditional save with the outbox → queues). An item that fails stays on the queue and comes
//! back; what was done already is skipped by its provider id, so a repeat changes nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_aws::batch::for_each_record;
use otklik_aws::engine::Engine;
use otklik_core::machine::{Input, Survey};
use otklik_core::model::{Phone, SurveyId, SurveyState};
use otklik_core::ports::{PortError, SurveyStore};
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

impl InboundWorker {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, the stack's names from the
    /// environment; the secret is not read.
    pub async fn from_env() -> Result<Self, otklik_aws::env::BoxError> {
        Self::from_parts(&otklik_aws::env::Parts::from_env(otklik_aws::env::Reads::Nothing).await?)
            .await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_aws::env::Parts) -> Result<Self, otklik_aws::env::BoxError> {
        Ok(InboundWorker {
            engine: p.engine().await?,
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
