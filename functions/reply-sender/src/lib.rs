//! `reply-sender`: the state machine's words to the customer.
//!
//! It consumes the `replies` queue. A WhatsApp message is sent as free text (the customer has just
//! written to us, so Meta's 24-hour window is open), in the configured language, one of several
//! wordings chosen per customer. Each message is sent at most once: a conditional claim keyed by
//! the effect is taken before the provider is called and given back only when the provider
//! certainly did not take it. A MAX message goes to the customer's MAX chat. Messages for the email
//! and SMS channels are not sent: the rating page the customer is looking at already says them,
//! and a second email or SMS would be noise.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::for_each_record_grouped;
use otklik_app::max::{chat_of, ChatError};
use otklik_aws::store::DynamoStore;
use otklik_core::config::Config;
use otklik_core::delivery::EffectMessage;
use otklik_core::machine::{Command, MessageKind};
use otklik_core::model::{Channel, Phone, SurveyId};
use otklik_core::ports::{DoNotContactList, PortError, SurveyStore};
use otklik_core::texts::{TextKind, Texts};
use otklik_messaging::max::MaxClient;
use otklik_messaging::{SendError, Whatsapp};

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Send(#[from] SendError),
}

pub struct ReplySender {
    pub store: DynamoStore,
    pub whatsapp: Whatsapp,
    /// `None` when the installation has no `[max]`.
    pub max: Option<MaxClient>,
    pub texts: Texts,
    pub config: Arc<Config>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Sent {
        message_id: String,
    },
    /// Shown on the rating page instead (email and SMS channels).
    OnThePage,
    /// Sent before (a redelivery), or its outcome is unknown: never sent twice.
    AlreadyClaimed,
    /// The customer opted out meanwhile; only the opt-out confirmation itself still goes out.
    DoNotContact,
}

impl ReplySender {
    pub async fn say(
        &self,
        survey_id: &SurveyId,
        key: &str,
        kind: MessageKind,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<Said, ReplyError> {
        // The email's and the SMS's rating pages say it to the customer who is looking at them.
        if matches!(channel, Channel::Email | Channel::Sms) {
            return Ok(Said::OnThePage);
        }
        let survey = self
            .store
            .get(survey_id)
            .await?
            .ok_or_else(|| ReplyError::BadMessage(format!("no survey {survey_id}")))?;
        let phone = survey
            .contact
            .phone
            .clone()
            .ok_or_else(|| ReplyError::BadMessage(format!("{survey_id} has no phone")))?;
        if kind != MessageKind::OptOutConfirmed && self.store.contains(&survey.contact).await? {
            return Ok(Said::DoNotContact);
        }
        if !self.store.claim_send(survey_id, key, now).await? {
            return Ok(Said::AlreadyClaimed);
        }
        let text = self.texts.pick(
            TextKind::from(kind),
            self.texts.language(),
            &survey.wording_seed(),
        );
        let sent = match channel {
            Channel::Max => self.send_on_max(&phone, text, now).await,
            _ => self.whatsapp.send_text(&phone, text).await,
        };
        match sent {
            Ok(message_id) => {
                tracing::info!(survey = %survey_id, ?kind, "message sent to the customer");
                Ok(Said::Sent { message_id })
            }
            Err(SendError::NotSent(e)) => {
                self.store.release_send(survey_id, key).await?;
                Err(SendError::NotSent(e).into())
            }
            Err(SendError::Unknown(e)) => {
                // It may have arrived; a second copy would be worse than none.
                tracing::error!(survey = %survey_id, ?kind, error = %e, "message outcome unknown; not retried");
                Ok(Said::AlreadyClaimed)
            }
        }
    }

    /// An SQS batch with per-message failures.
    ///
    /// One survey's messages go one after another in the batch's order; different surveys' at
    /// once (`for_each_record_grouped`). Each message is one provider call, and at a reply burst a
    /// full batch made each customer's answer wait for the nine before it. Each send is claimed
    /// before its call, so nothing is said twice either way.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        for_each_record_grouped(
            event,
            "reply",
            group_of,
            move |m: EffectMessage| async move {
                // The engine never groups effects for this consumer; a grouped message is refused
                // (and so kept in the DLQ) rather than half done.
                if !m.also.is_empty() {
                    return Err(ReplyError::BadMessage(format!(
                        "{} effects in one message; this consumer takes one",
                        m.also.len() + 1
                    )));
                }
                match m.effect.command {
                    Command::Message { kind, channel } => {
                        self.say(&m.survey_id, &m.effect.key, kind, channel, now)
                            .await
                    }
                    other => Err(ReplyError::BadMessage(format!("not a message: {other:?}"))),
                }
            },
        )
        .await
    }
}

/// The messages of a batch that must keep their order: one survey's.
fn group_of(m: &EffectMessage) -> Option<SurveyId> {
    Some(m.survey_id.clone())
}

impl ReplySender {
    /// On MAX, to the customer's chat (known from the question's account check, else checked now).
    async fn send_on_max(
        &self,
        phone: &Phone,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<String, SendError> {
        let max = self
            .max
            .as_ref()
            .ok_or_else(|| SendError::NotSent("MAX is not configured".into()))?;
        match chat_of(&self.store, max, phone, now).await {
            Ok(Some(chat)) => max.send_text(&chat, text).await,
            Ok(None) => Err(SendError::NotSent("no MAX chat for this customer".into())),
            Err(ChatError::Send(e)) => Err(e),
            Err(ChatError::Port(e)) => Err(SendError::NotSent(format!("store: {e}"))),
        }
    }

    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("reply-sender").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(ReplySender {
            store: p.store(),
            whatsapp: Whatsapp::from_config(&config, secrets),
            max: MaxClient::from_config(&config, secrets),
            texts: Texts::from_config(&config.texts)?,
            config: Arc::new(config),
        })
    }
}
