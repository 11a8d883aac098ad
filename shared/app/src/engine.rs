//! Runs the state machine for one input and hands its effects on, losing none.
//!
//! The order of steps is what makes "nothing we accepted is ever lost" true with at-least-once
//! queues and functions that may die at any instruction:
//!
//! 1. load the survey, `decide`, and save the new state **with the effects in its outbox**
//!    (`Survey::pending`) in one conditional write — a concurrent writer makes us decide again;
//! 2. hand each pending effect to its consumer's queue (or do it inline);
//! 3. empty the outbox with another conditional write.
//!
//! A crash after 1 leaves the effects in the outbox; the provider's retry of the same webhook is a
//! duplicate input for the machine (no new effects) but finds the outbox full and delivers it. A
//! crash after 2 delivers some effects twice: consumers deduplicate by the effect's key.

use chrono::{DateTime, Utc};
use otklik_core::delivery::{destination, groups, Destination, EffectMessage};
use otklik_core::intake::DispatchRequest;
use otklik_core::machine::{decide, Command, Effect, Input, MachineConfig, NoticeReason, Survey};
use otklik_core::model::{Channel, SurveyId, SurveyState};
use otklik_core::ports::{DoNotContactList, PortError, PortResult, Queue, SurveyStore};

use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{
    Names, COMPLAINTS_QUEUE, CRM_WRITES_QUEUE, DISPATCH_QUEUE, REPLIES_QUEUE,
};
use otklik_aws::store::DynamoStore;

use crate::retry::retry_on_conflict;

/// The queues effects go to.
#[derive(Debug, Clone)]
pub struct EffectQueues {
    pub dispatch: SqsQueue,
    /// `None` in dispatch's engine ([`EffectQueues::dispatch_only`]), whose inputs never lead
    /// there.
    pub crm_writes: Option<SqsQueue>,
    pub complaints: Option<SqsQueue>,
    pub replies: Option<SqsQueue>,
}

impl EffectQueues {
    pub async fn connect(client: aws_sdk_sqs::Client, names: &Names) -> PortResult<Self> {
        Ok(EffectQueues {
            dispatch: SqsQueue::connect(client.clone(), names, &DISPATCH_QUEUE).await?,
            crm_writes: Some(SqsQueue::connect(client.clone(), names, &CRM_WRITES_QUEUE).await?),
            complaints: Some(SqsQueue::connect(client.clone(), names, &COMPLAINTS_QUEUE).await?),
            replies: Some(SqsQueue::connect(client, names, &REPLIES_QUEUE).await?),
        })
    }

    /// Only the dispatch queue: for survey-dispatch, whose inputs' one possible effect is the
    /// question on the next channel (a failure reported before the send was recorded, a fallback
    /// to a messenger the customer has no account on). The function may send to no other queue.
    pub async fn dispatch_only(client: aws_sdk_sqs::Client, names: &Names) -> PortResult<Self> {
        Ok(EffectQueues {
            dispatch: SqsQueue::connect(client, names, &DISPATCH_QUEUE).await?,
            crm_writes: None,
            complaints: None,
            replies: None,
        })
    }
}

/// What applying one input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The survey as saved (outbox emptied).
    pub survey: Survey,
    /// The effects this input caused (empty for a duplicate or an input that changes nothing).
    pub effects: Vec<Effect>,
    /// The survey had effects left over from an earlier, interrupted run; they were delivered now.
    pub recovered: usize,
}

#[derive(Debug, Clone)]
pub struct Engine {
    pub store: DynamoStore,
    /// `None` for a function that may not send to the effect queues. Effects such an engine saves
    /// stay in the survey's outbox, and the next engine that can queue them and touches the survey
    /// delivers them.
    pub queues: Option<EffectQueues>,
    pub machine: MachineConfig,
}

impl Engine {
    /// Applies `input` to the survey `id`. `Ok(None)` when there is no such survey.
    pub async fn apply(
        &self,
        id: &SurveyId,
        input: &Input,
        now: DateTime<Utc>,
    ) -> PortResult<Option<Applied>> {
        let Some(survey) = self.store.get(id).await? else {
            return Ok(None);
        };
        self.apply_to(survey, input, now).await.map(Some)
    }

    /// Applies `input` to `survey`, just loaded by the caller (one read less): load → `decide`
    /// → conditional save with the effects in the outbox → queues. When another writer saved in
    /// between, the survey is read again and decided again; a repeated input then changes nothing.
    pub async fn apply_to(
        &self,
        survey: Survey,
        input: &Input,
        now: DateTime<Utc>,
    ) -> PortResult<Applied> {
        let id = survey.id.clone();
        let loaded = &survey;
        let (before, saved, effects) = retry_on_conflict(format!("survey {id}"), |round| {
            let id = &id;
            async move {
                let current = if round == 0 {
                    loaded.clone()
                } else {
                    self.store
                        .get(id)
                        .await?
                        .ok_or_else(|| PortError::NotFound(id.to_string()))?
                };
                let decision = decide(&current, input, &self.machine, now);
                if decision.survey == current {
                    // A duplicate, or an input that changes nothing.
                    return Ok((current.clone(), current, Vec::new()));
                }
                let mut next = decision.survey;
                next.pending.extend(decision.effects.iter().cloned());
                let saved = self.store.save(&next).await?;
                Ok((current, saved, decision.effects))
            }
        })
        .await?;
        if !effects.is_empty() || saved != before {
            // Counted once: only the writer whose save won gets here with this change.
            record_metrics(&before, &saved, &effects);
        }
        // Whatever an earlier, interrupted run left in the outbox goes out with ours.
        let recovered = saved.pending.len() - effects.len();
        let survey = self.flush(saved).await?;
        Ok(Applied {
            survey,
            effects,
            recovered,
        })
    }

    /// The customer may answer before the dispatcher's save of "sent" lands: the provider took
    /// the question and the dispatcher is still waiting for its answer (a send held past our
    /// timeout) or crashed before saving and waits for its retry. A `survey` still `Scheduled`
    /// whose send on `channel` (the one the answer came on) is claimed was asked: record that
    /// first, under the dispatcher's own input id (whichever of the two lands first wins), so the
    /// answer counts as the answer it is — not as an unprompted one, remembered and then ignored
    /// when repeated. Returns the survey as it now is.
    pub async fn catch_up_on_send(
        &self,
        survey: Survey,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> PortResult<Survey> {
        if survey.state != SurveyState::Scheduled
            || !self
                .store
                .send_claimed(&survey.id, &channel.to_string())
                .await?
        {
            return Ok(survey);
        }
        let id = survey.id.clone();
        let applied = self
            .apply_to(survey, &Input::sent(channel, ""), now)
            .await?;
        tracing::warn!(survey = %id, %channel, "an answer or a failure came before the send was recorded; recorded it first");
        Ok(applied.survey)
    }

    /// Delivers the survey's outbox and empties it.
    pub async fn flush(&self, survey: Survey) -> PortResult<Survey> {
        let Some(queues) = &self.queues else {
            return Ok(survey);
        };
        if survey.pending.is_empty() {
            return Ok(survey);
        }
        let (grouped, single): (Vec<&Effect>, Vec<&Effect>) = survey
            .pending
            .iter()
            .partition(|e| groups(destination(&e.command)));
        if let Some((first, rest)) = grouped.split_first() {
            self.deliver(queues, &survey, first, rest).await?;
        }
        for effect in single {
            self.deliver(queues, &survey, effect, &[]).await?;
        }
        let delivered: Vec<String> = survey.pending.iter().map(|e| e.key.clone()).collect();
        let id = survey.id.clone();
        let first = &survey;
        let cleared = retry_on_conflict(format!("survey {id}"), |round| {
            let (id, delivered) = (&id, &delivered);
            async move {
                // Someone may have saved meanwhile (and added effects of their own): take theirs
                // and remove only what we delivered.
                let current = if round == 0 {
                    first.clone()
                } else {
                    self.store
                        .get(id)
                        .await?
                        .ok_or_else(|| PortError::NotFound(id.to_string()))?
                };
                let mut next = current.clone();
                next.pending.retain(|e| !delivered.contains(&e.key));
                if next.pending.len() == current.pending.len() {
                    return Ok(current);
                }
                self.store.save(&next).await
            }
        })
        .await;
        match cleared {
            Ok(s) => Ok(s),
            // Delivered but not cleared: harmless, the next touch delivers again and consumers
            // deduplicate.
            Err(PortError::Conflict(_)) => Ok(survey),
            Err(e) => Err(e),
        }
    }

    /// Queues `effect`, with `also` in the same message (only for a consumer that [`groups`]).
    async fn deliver(
        &self,
        queues: &EffectQueues,
        survey: &Survey,
        effect: &Effect,
        also: &[&Effect],
    ) -> PortResult<()> {
        let as_message = || {
            serde_json::to_string(&EffectMessage {
                survey_id: survey.id.clone(),
                effect: effect.clone(),
                also: also.iter().map(|e| (*e).clone()).collect(),
            })
        };
        let (queue, body) = match (destination(&effect.command), &effect.command) {
            (Destination::Inline, _) => {
                if let Command::AddToDoNotContact = effect.command {
                    self.store.add(&survey.contact).await?;
                }
                return Ok(());
            }
            // Dispatch takes the same message its schedules send, with the channel to use.
            (Destination::Dispatch, Command::SendSurvey { channel }) => (
                Some(&queues.dispatch),
                serde_json::to_string(&DispatchRequest {
                    channel: Some(*channel),
                    ..DispatchRequest::question(&survey.id)
                }),
            ),
            (Destination::Dispatch, _) => {
                return Err(PortError::Permanent(format!(
                    "{:?} cannot go to dispatch",
                    effect.command
                )))
            }
            (Destination::CrmWrites, _) => (queues.crm_writes.as_ref(), as_message()),
            (Destination::Complaints, _) => (queues.complaints.as_ref(), as_message()),
            (Destination::Replies, _) => (queues.replies.as_ref(), as_message()),
        };
        let queue = queue.ok_or_else(|| {
            PortError::Permanent(format!(
                "{:?} has no queue in this function",
                effect.command
            ))
        })?;
        let body =
            body.map_err(|e| PortError::Permanent(format!("effect does not serialize: {e}")))?;
        queue.send(&body).await?;
        tracing::debug!(survey = %survey.id, key = %effect.key, "effect queued");
        Ok(())
    }
}

/// Replies by rating and channel, fallbacks, unreadable replies, opt-outs and questions that
/// failed for good, read off the change one decision made.
fn record_metrics(before: &Survey, survey: &Survey, effects: &[Effect]) {
    use otklik_metrics as m;
    // The question failed on its channel with nowhere to fall back: nobody was asked.
    if matches!(survey.state, SurveyState::Failed { .. })
        && !matches!(before.state, SurveyState::Failed { .. })
    {
        m::incr(&m::DISPATCH_FAILURES, &[]);
    }
    let channel = survey.channel.map(|c| c.to_string()).unwrap_or_default();
    let channel: &[(&str, &str)] = if channel.is_empty() {
        &[]
    } else {
        &[("Channel", channel.as_str())]
    };
    for e in effects {
        match &e.command {
            Command::WriteRating { rating } => {
                let rating = rating.to_string();
                let mut dims = vec![("Rating", rating.as_str())];
                dims.extend_from_slice(channel);
                m::incr(&m::REPLIES, &dims);
            }
            Command::SendSurvey { .. } => m::incr(&m::FALLBACKS, &[]),
            Command::NotifyInspector {
                reason: NoticeReason::UnreadableReply,
                ..
            } => m::incr(&m::UNREADABLE_REPLIES, channel),
            Command::AddToDoNotContact => m::incr(&m::OPT_OUTS, &[]),
            _ => {}
        }
    }
}
