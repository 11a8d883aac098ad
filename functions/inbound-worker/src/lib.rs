//! `inbound-worker`: applies what the WhatsApp webhooks told us.
//!
//! `provider-webhooks` authenticates each webhook, parses it and queues every item (a customer's
//! message, a delivery status) on the `inbound` queue before it answers the provider. Here each
//! item is routed to its survey and run through the state machine by the [`Engine`] (decide →
//! conditional save with the outbox → queues). An item that fails stays on the queue and comes
//! back; what was done already is skipped by its provider id, so a repeat changes nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::{for_each_record, for_each_record_grouped};
use otklik_app::engine::Engine;
use otklik_core::machine::{Event, Input, InputId, Survey};
use otklik_core::model::{Channel, Phone, SurveyId};
use otklik_core::ports::{PortError, SurveyStore};
use otklik_core::routing::{quote_crosses_customers, route_message};
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
    /// An item we could not use, kept for inspection.
    Kept,
    /// A delivery failure of a message whose send is not recorded yet, kept under its message id
    /// for the dispatcher that records it (`DynamoStore::park_failure`).
    KeptForSend,
    /// A customer's new WhatsApp user id, now known for this many of their surveys.
    Learned { surveys: usize },
}

/// Whether an item is applied at most once through its done-marker. Every item is, but a
/// delivery (`delivered`, `read`): the machine guards it by the survey's state alone (a question
/// sent becomes one awaiting its rating; `decide` keeps no id of it), so a repeat changes nothing
/// and the marker's read and write — two requests for every status of every message we send —
/// would guard nothing.
fn needs_done_marker(item: &Inbound) -> bool {
    !matches!(item.status_event(), Some(Event::Delivered))
}

/// How an item of a batch is ordered against the others (see [`InboundWorker::handle_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Group {
    /// In order with the items of the same key: one sender's messages, one message's statuses.
    Key(String),
    /// Orders against nothing else in the batch.
    Alone,
    /// Routed by a WhatsApp user id only, or teaching one: after the rest of the batch, in order.
    ByUserId,
}

fn group_of(item: &Inbound) -> Group {
    match item {
        Inbound::Message { from, .. } => Group::Key(format!("from {}", from.e164())),
        Inbound::Status { message_id, .. } => Group::Key(format!("message {message_id}")),
        Inbound::UserMessage { .. } | Inbound::UserIdChanged { .. } => Group::ByUserId,
        Inbound::Unusable { .. } | Inbound::ProviderError { .. } => Group::Alone,
    }
}

impl InboundWorker {
    /// One batch from the `inbound` queue; the items that failed are reported for redelivery.
    ///
    /// One customer's messages go one after another, in the batch's order (an edit after its
    /// original, words after the rating), and so do one message's statuses; different customers
    /// and messages go at once (`for_each_record_grouped`): at a reply burst a full batch made each
    /// customer wait for the nine before them on the table. Two surveys never share anything but
    /// the table, and a survey met by two of them at once is saved on its version and decided
    /// again. The items routed by a WhatsApp user id alone go after the rest, one after another:
    /// the rest of the batch may teach the user id they need (a status's `recipient_user_id`, a
    /// message naming it beside the number).
    ///
    /// A batch holding an identity change (rare) goes wholly one item after another, in its order:
    /// a message from the customer's new number right behind the change finds its survey only
    /// through what the change teaches.
    pub async fn handle_batch(&self, mut event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        let item_of = |r: &aws_lambda_events::event::sqs::SqsMessage| {
            r.body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Inbound>(b).ok())
        };
        if event
            .records
            .iter()
            .any(|r| matches!(item_of(r), Some(Inbound::UserIdChanged { .. })))
        {
            return for_each_record(event, "inbound item", move |item: Inbound| async move {
                self.process_one(&item, now).await
            })
            .await;
        }
        let (by_user_id, rest) = std::mem::take(&mut event.records)
            .into_iter()
            .partition(|r| item_of(r).is_some_and(|i| group_of(&i) == Group::ByUserId));
        event.records = rest;
        // A body that is not a webhook item is never ours to guess at: it stays, and after its
        // retries rests in the DLQ.
        let mut response = for_each_record_grouped(
            event,
            "inbound item",
            |item: &Inbound| match group_of(item) {
                Group::Key(key) => Some(key),
                Group::Alone | Group::ByUserId => None,
            },
            move |item: Inbound| async move { self.process_one(&item, now).await },
        )
        .await;
        let mut later = SqsEvent::default();
        later.records = by_user_id;
        let after = for_each_record(later, "inbound item", move |item: Inbound| async move {
            self.process_one(&item, now).await
        })
        .await;
        response
            .batch_item_failures
            .extend(after.batch_item_failures);
        response
    }

    /// Routes one item to its survey and applies it, at most once per provider id.
    pub async fn process_one(
        &self,
        item: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<Handled, PortError> {
        let store = &self.engine.store;
        let (input_id, survey) = match item {
            Inbound::Unusable {
                provider,
                at,
                reason,
                raw,
            } => return self.keep_unusable(provider, at, reason, raw, now).await,
            // The webhook counts provider errors and never queues them; one queued by an older
            // build changes nothing here.
            Inbound::ProviderError { .. } => return Ok(Handled::Ignored("provider error")),
            Inbound::UserIdChanged {
                user_id,
                previous_user_id,
                from,
            } => {
                return self
                    .learn_changed_user(user_id, previous_user_id.as_deref(), from.as_ref(), now)
                    .await
            }
            Inbound::Message {
                from,
                id,
                context_message_id,
                user_id,
                ..
            } => {
                if store.inbound_done(id.as_str()).await? {
                    return Ok(Handled::Duplicate);
                }
                let survey = self
                    .survey_for_message(from, user_id.as_deref(), context_message_id)
                    .await?;
                // Meta named the sender's user id beside the number: from now on a message naming
                // only that user id finds this survey too (as a status's recipient_user_id
                // teaches).
                if let (Some(user_id), Some(survey)) = (user_id, &survey) {
                    store.remember_user(user_id, survey, now).await?;
                }
                (id, survey)
            }
            Inbound::UserMessage {
                user_id,
                id,
                context_message_id,
                at,
                reason,
                raw,
                ..
            } => {
                if store.inbound_done(id.as_str()).await? {
                    return Ok(Handled::Duplicate);
                }
                match self.survey_for_user(user_id, context_message_id).await? {
                    Some(survey) => (id, Some(survey)),
                    // A user id no status of ours named (yet): kept for an operator, as every
                    // message without a phone was before user ids were learned. Not marked done:
                    // the keeping itself happens once.
                    None => return self.keep_unusable("meta", at, reason, raw, now).await,
                }
            }
            Inbound::Status {
                message_id,
                id,
                recipient_user_id,
                ..
            } => {
                if let Some(user_id) = recipient_user_id {
                    self.learn_user(message_id, user_id, now).await?;
                }
                if item.status_event().is_none() {
                    return Ok(Handled::Ignored("status without consequence"));
                }
                if needs_done_marker(item) && store.inbound_done(id.as_str()).await? {
                    return Ok(Handled::Duplicate);
                }
                match store.survey_of_message(message_id).await? {
                    Some(survey) => (id, Some(survey)),
                    None => match item.status_event() {
                        // A failure of a message no survey knows yet: the provider was faster
                        // than the dispatcher's record of the id (or that dispatcher crashed
                        // and its message waits to come back). Kept under the id for whoever
                        // records it, however late; a thank-you's failure (not tracked) is kept
                        // the same way and expires unread.
                        Some(failure @ Event::DeliveryFailed { .. }) => {
                            let input = Input {
                                id: id.clone(),
                                event: failure,
                            };
                            match store.park_failure(message_id, &input, now).await? {
                                None => {
                                    store.mark_inbound_done(id.as_str(), now).await?;
                                    tracing::info!("a delivery failure of a message not recorded (yet); kept for its send's record");
                                    return Ok(Handled::KeptForSend);
                                }
                                // Recorded meanwhile: applied now, as if it had been there.
                                recorded => (id, recorded),
                            }
                        }
                        _ => (id, None),
                    },
                }
            }
        };
        let Some(survey) = survey else {
            if let Inbound::Message { from, .. } = item {
                // A customer's words nobody can route: a stranger, or a number our surveys know
                // under another spelling. Counted once (the marker below stops a repeat).
                tracing::warn!(
                    sender = %from.masked(),
                    "a message from a number without a survey of ours; not routed"
                );
                otklik_metrics::incr(&otklik_metrics::UNROUTED_MESSAGES, &[]);
            } else {
                tracing::info!("a status of a message we do not track; ignored");
            }
            if needs_done_marker(item) {
                store.mark_inbound_done(input_id.as_str(), now).await?;
            }
            return Ok(Handled::Ignored("no survey"));
        };
        // An answer or a failure names the channel of the send it follows; if it overtook the
        // dispatcher's save of that send, the send is recorded first, or the answer would find the
        // survey unasked and the failure would find nothing to fall back from.
        let via = match item {
            Inbound::Message { event, .. } | Inbound::UserMessage { event, .. } => match event {
                Event::Text { via, .. } | Event::Choice { via, .. } | Event::Edited { via, .. } => {
                    Some(*via)
                }
                _ => None,
            },
            Inbound::Status { .. } => match item.status_event() {
                Some(Event::DeliveryFailed { channel, .. }) => Some(channel),
                _ => None,
            },
            Inbound::Unusable { .. }
            | Inbound::ProviderError { .. }
            | Inbound::UserIdChanged { .. } => None,
        };
        if let Some(via) = via {
            self.catch_up_on_send(&survey, via, now).await?;
        }
        let (event, in_place_of) = match item {
            Inbound::Message {
                event,
                edits: Some(original),
                ..
            }
            | Inbound::UserMessage {
                event,
                edits: Some(original),
                ..
            } => self.edit(event, original).await?,
            Inbound::Message { event, .. } | Inbound::UserMessage { event, .. } => {
                (event.clone(), None)
            }
            Inbound::Status { .. }
            | Inbound::UserIdChanged { .. }
            | Inbound::Unusable { .. }
            | Inbound::ProviderError { .. } => {
                (item.status_event().expect("a status: checked above"), None)
            }
        };
        let input = Input {
            id: in_place_of.unwrap_or(input_id).clone(),
            event,
        };
        let applied = self.engine.apply(&survey, &input, now).await?;
        // The original too, when the edit took its place: arriving late, it is a duplicate.
        if let Some(original) = in_place_of {
            store.mark_inbound_done(original.as_str(), now).await?;
        }
        if needs_done_marker(item) {
            store.mark_inbound_done(input_id.as_str(), now).await?;
        }
        let effects = applied.map_or(0, |a| a.effects.len());
        tracing::info!(survey = %survey, effects, "webhook item applied");
        Ok(Handled::Applied { survey, effects })
    }

    /// An edit of the customer's message `original`: if we have not acted on the original (it
    /// has not arrived, or not been applied), the new content takes its place, under its input
    /// id; otherwise it is `Event::Edited`, which the machine keeps from changing a rating.
    async fn edit<'a>(
        &self,
        event: &Event,
        original: &'a InputId,
    ) -> Result<(Event, Option<&'a InputId>), PortError> {
        if !self.engine.store.inbound_done(original.as_str()).await? {
            return Ok((event.clone(), Some(original)));
        }
        let edited = match event {
            Event::Text { text, via } => Event::Edited {
                text: text.clone(),
                via: *via,
            },
            other => other.clone(),
        };
        Ok((edited, None))
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

    /// An item of a webhook we could not use: logged (its place and the reason, never its
    /// content), counted and kept for an operator, once however often it arrives.
    async fn keep_unusable(
        &self,
        provider: &str,
        at: &str,
        reason: &str,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<Handled, PortError> {
        if !self
            .engine
            .store
            .keep_unusable(provider, at, reason, raw, now)
            .await?
        {
            return Ok(Handled::Duplicate);
        }
        tracing::warn!(
            provider,
            at,
            reason,
            "webhook item we cannot use; kept for `otklik inbound unusable`"
        );
        otklik_metrics::incr(&otklik_metrics::UNUSABLE_ITEMS, &[("Provider", provider)]);
        Ok(Handled::Kept)
    }

    /// The sender's surveys are those of their number; when the number has none and Meta named
    /// the sender's user id, those the user id is known for (a customer who changed number: the
    /// system message told us the new user id is theirs, [`Self::learn_changed_user`]).
    async fn survey_for_message(
        &self,
        from: &Phone,
        user_id: Option<&str>,
        context: &Option<String>,
    ) -> Result<Option<SurveyId>, PortError> {
        let surveys = self.engine.store.by_phone(from).await?;
        match user_id {
            Some(user_id) if surveys.is_empty() => self.survey_for_user(user_id, context).await,
            _ => self.route_among(&surveys, context).await,
        }
    }

    /// Meta's identity change (`user_changed_user_id`, `user_changed_number`): every survey the
    /// previous user id or the number the customer had (`from`) is known for becomes known for
    /// the new user id, so the next answer, naming only the new id or coming from the new number
    /// with it, finds them. Idempotent: a repeat writes the same items.
    async fn learn_changed_user(
        &self,
        user_id: &str,
        previous_user_id: Option<&str>,
        from: Option<&Phone>,
        now: DateTime<Utc>,
    ) -> Result<Handled, PortError> {
        let store = &self.engine.store;
        let mut surveys = match previous_user_id {
            Some(previous) => store.surveys_of_user(previous).await?,
            None => Vec::new(),
        };
        if let Some(phone) = from {
            surveys.extend(store.by_phone(phone).await?.into_iter().map(|s| s.id));
        }
        surveys.sort();
        surveys.dedup();
        for survey in &surveys {
            store.remember_user(user_id, survey, now).await?;
        }
        tracing::info!(
            surveys = surveys.len(),
            "a customer's WhatsApp user id changed; their surveys follow it"
        );
        Ok(Handled::Learned {
            surveys: surveys.len(),
        })
    }

    /// A message that names only the sender's WhatsApp user id: the sender's surveys are those
    /// whose message went to that user id (learned from statuses, [`Self::learn_user`]); a quote
    /// picks only among them, as for a number.
    async fn survey_for_user(
        &self,
        user_id: &str,
        context: &Option<String>,
    ) -> Result<Option<SurveyId>, PortError> {
        let store = &self.engine.store;
        let mut surveys = Vec::new();
        for id in store.surveys_of_user(user_id).await? {
            surveys.extend(store.get(&id).await?);
        }
        self.route_among(&surveys, context).await
    }

    /// A status of our message names the user id it went to (Meta's `recipient_user_id`):
    /// remembered for that message's survey, so that the customer's later messages naming only
    /// the user id find it. A status of a message we do not track teaches nothing.
    async fn learn_user(
        &self,
        message_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let store = &self.engine.store;
        if let Some(survey) = store.survey_of_message(message_id).await? {
            store.remember_user(user_id, &survey, now).await?;
        }
        Ok(())
    }

    /// The survey among the sender's own `surveys` that a message quoting `context` belongs to.
    async fn route_among(
        &self,
        surveys: &[Survey],
        context: &Option<String>,
    ) -> Result<Option<SurveyId>, PortError> {
        let store = &self.engine.store;
        // A reaction or a quoted reply names our message: that survey, whatever else is open, if
        // it is the sender's own (core's `route_message`).
        let quoted = match context {
            Some(ctx) => store.survey_of_message(ctx).await?,
            None => None,
        };
        if quote_crosses_customers(surveys, quoted.as_ref()) {
            // Never the phone: the quoted survey's id says enough to look into it.
            tracing::warn!(
                quoted = %quoted.as_ref().expect("crosses only with a quote"),
                "a message quotes another customer's question; routed by its sender instead"
            );
        }
        Ok(route_message(surveys, quoted.as_ref()).map(|s| s.id.clone()))
    }
}

impl InboundWorker {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, the stack's names from the
    /// environment; the secret is read for the contact key (the markers' keyed hashes).
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("inbound-worker").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        Ok(InboundWorker {
            engine: p.engine().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_messaging::inbound::DeliveryStatus;

    fn message(from: &str, id: &str) -> Inbound {
        Inbound::Message {
            from: Phone::parse(from, "RU").unwrap(),
            id: InputId::new(id).unwrap(),
            event: Event::Text {
                text: "5".into(),
                via: Channel::Whatsapp,
            },
            context_message_id: None,
            chat_id: None,
            edits: None,
            user_id: None,
        }
    }

    fn status(message_id: &str, status: DeliveryStatus) -> Inbound {
        Inbound::Status {
            message_id: message_id.into(),
            id: InputId::new(format!("{message_id}:{status:?}")).unwrap(),
            status,
            reason: None,
            via: Channel::Whatsapp,
            recipient_user_id: None,
        }
    }

    #[test]
    fn one_senders_messages_and_one_messages_statuses_keep_their_order() {
        // The same number however it was written.
        assert_eq!(
            group_of(&message("+7 900 518-00-31", "wamid.a")),
            group_of(&message("79005180031", "wamid.b"))
        );
        assert_ne!(
            group_of(&message("+7 900 518-00-31", "wamid.a")),
            group_of(&message("+7 900 518-00-32", "wamid.a"))
        );
        assert_eq!(
            group_of(&status("wamid.q", DeliveryStatus::Delivered)),
            group_of(&status("wamid.q", DeliveryStatus::Read))
        );
        assert_ne!(
            group_of(&status("wamid.q", DeliveryStatus::Read)),
            group_of(&status("wamid.r", DeliveryStatus::Read))
        );
        // A status and a message never share a key, whatever their ids.
        assert_ne!(
            group_of(&status("79005180031", DeliveryStatus::Read)),
            group_of(&message("79005180031", "wamid.c"))
        );
        let by_user = Inbound::UserIdChanged {
            user_id: "RU.2".into(),
            previous_user_id: Some("RU.1".into()),
            from: None,
        };
        assert_eq!(group_of(&by_user), Group::ByUserId);
        let unusable = Inbound::Unusable {
            provider: "meta".into(),
            at: "body".into(),
            reason: "no sender".into(),
            raw: "{}".into(),
        };
        assert_eq!(group_of(&unusable), Group::Alone);
    }
}
