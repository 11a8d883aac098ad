//! Send claims and provider message ids: how dispatch (and the weekly digest) sends at most once, how a delivery status
//! finds its survey, and which WhatsApp user ids our messages went to (so a customer whose number
//! Meta withholds can still be routed).

use otklik_core::machine::Input;

use super::*;

/// The claim item's attribute with the provider's message id, once its sender noted it.
const CLAIM_MESSAGE_ID: &str = "message_id";
/// …and why the send's outcome is unknown, when its sender noted that instead.
const CLAIM_UNKNOWN: &str = "outcome_unknown";

/// The message-id item's attribute naming its survey…
const MSG_SURVEY: &str = "survey_id";
/// …and the one with a delivery failure that arrived before it ([`DynamoStore::park_failure`]).
const MSG_KEPT_FAILURE: &str = "kept_failure";

/// A taken send claim (`DynamoStore::send_claim`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendClaim {
    /// When it was taken (the sender's clock at its batch's start: never later than the claim).
    pub at: DateTime<Utc>,
    /// The provider's id for the message, when the sender noted it on the claim.
    pub message_id: Option<String>,
    /// Why the send's outcome is unknown, when the sender noted that instead.
    pub unknown: Option<String>,
}

/// Send claims and message ids: how dispatch sends at most once, and how a delivery status finds
/// its survey.
impl DynamoStore {
    /// Claims the right to send `survey` on `channel`. Only the first caller ever gets `true`;
    /// every redelivery of the same dispatch message gets `false` and sends nothing.
    pub async fn claim_send(
        &self,
        survey: &SurveyId,
        channel: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("send#{survey}")))
            .item(attr::SK, s(channel))
            .item("at", s(rfc3339(now)))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    /// Whether a send of the survey's question on `channel` was claimed: the question went out,
    /// or a crash left its outcome unknown (and so it is never sent again).
    pub async fn send_claimed(&self, survey: &SurveyId, channel: &str) -> PortResult<bool> {
        Ok(self
            .get_item(format!("send#{survey}"), channel)
            .await?
            .is_some())
    }

    /// The claim on sending `survey` on `channel`, when there is one: when it was taken, and
    /// what its sender noted of the send ([`Self::note_claim_sent`],
    /// [`Self::note_claim_unknown`]).
    pub async fn send_claim(
        &self,
        survey: &SurveyId,
        channel: &str,
    ) -> PortResult<Option<SendClaim>> {
        let Some(item) = self.get_item(format!("send#{survey}"), channel).await? else {
            return Ok(None);
        };
        let at = item
            .get("at")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| {
                PortError::Permanent(format!("send claim of {survey} without a time"))
            })?;
        let message_id = item
            .get(CLAIM_MESSAGE_ID)
            .and_then(|v| v.as_s().ok())
            .cloned();
        let unknown = item.get(CLAIM_UNKNOWN).and_then(|v| v.as_s().ok()).cloned();
        Ok(Some(SendClaim {
            at,
            message_id,
            unknown,
        }))
    }

    /// Notes on the claim the message id the provider answered with: a sender whose own record
    /// of the send failed leaves it there, so that the next delivery of the same dispatch can
    /// record the send (with its id) instead of guessing. Only an existing claim is written.
    pub async fn note_claim_sent(
        &self,
        survey: &SurveyId,
        channel: &str,
        message_id: &str,
    ) -> PortResult<()> {
        self.note_claim(survey, channel, CLAIM_MESSAGE_ID, message_id)
            .await
    }

    /// Notes on the claim that the send's outcome is unknown (`reason`), for the same purpose.
    pub async fn note_claim_unknown(
        &self,
        survey: &SurveyId,
        channel: &str,
        reason: &str,
    ) -> PortResult<()> {
        self.note_claim(survey, channel, CLAIM_UNKNOWN, reason)
            .await
    }

    async fn note_claim(
        &self,
        survey: &SurveyId,
        channel: &str,
        name: &str,
        value: &str,
    ) -> PortResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("send#{survey}")))
            .key(attr::SK, s(channel))
            .update_expression("SET #v = :v")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#v", name)
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":v", s(value))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Gives a claim back, only when the provider certainly did not take the message.
    pub async fn release_send(&self, survey: &SurveyId, channel: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("send#{survey}")))
            .key(attr::SK, s(channel))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Claims the weekly digest of `week` (`2026-W46`) for `recipient`: only the first firing of
    /// the week ever gets `true`, so a schedule that fires twice (or every hour) mails once.
    pub async fn claim_digest(
        &self,
        week: &str,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        // Kept well past the week it is about: no firing can be that late.
        self.claim_once(
            format!("digest#{week}"),
            &recipient.to_lowercase(),
            now,
            chrono::Duration::days(60),
        )
        .await
    }

    /// Gives a digest claim back, only when SES certainly did not take the mail (the next firing
    /// tries again).
    pub async fn release_digest(&self, week: &str, recipient: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("digest#{week}")))
            .key(attr::SK, s(recipient.to_lowercase()))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Remembers which survey a provider's message id belongs to, and gives back the delivery
    /// failure of that message the provider reported before this record existed
    /// ([`Self::park_failure`]): the caller applies it once the send is on the survey. The kept
    /// failure stays on the item, so a caller whose answer was lost finds it again on its retry.
    pub async fn remember_message(
        &self,
        message_id: &str,
        survey: &SurveyId,
        now: DateTime<Utc>,
    ) -> PortResult<Option<Input>> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(self.msg_pk(message_id)?))
            .key(attr::SK, s("msg"))
            .update_expression("SET #survey = :survey, #expires = :expires")
            .expression_attribute_names("#survey", MSG_SURVEY)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":survey", s(survey.as_str()))
            .expression_attribute_values(
                ":expires",
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            // The item as it was: a failure kept there before this record is in it.
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(port_error)?;
        Ok(kept_failure(out.attributes()))
    }

    /// Keeps a delivery failure (`failure`, the webhook item's input) of a message no survey
    /// knows yet, under the message's id. The provider can report a question failed before its
    /// sender has recorded the message id — within milliseconds, or much later when the sender
    /// crashed and its queue message comes back after the visibility timeout — and a failure
    /// dropped then leaves the customer without the next channel. Whoever records the id
    /// ([`Self::remember_message`]) gets it back.
    ///
    /// `Ok(None)`: kept. `Ok(Some(survey))`: the id was recorded meanwhile (the record and the
    /// keeping are decided by one condition, so exactly one of them sees the other), and the
    /// failure is for the caller to apply to that survey now.
    pub async fn park_failure(
        &self,
        message_id: &str,
        failure: &Input,
        now: DateTime<Utc>,
    ) -> PortResult<Option<SurveyId>> {
        let body = serde_json::to_string(failure)
            .map_err(|e| PortError::Permanent(format!("a delivery failure to keep: {e}")))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(self.msg_pk(message_id)?))
            .key(attr::SK, s("msg"))
            .update_expression("SET #failure = :failure, #expires = :expires")
            .condition_expression("attribute_not_exists(#survey)")
            .expression_attribute_names("#failure", MSG_KEPT_FAILURE)
            .expression_attribute_names("#survey", MSG_SURVEY)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":failure", s(body))
            .expression_attribute_values(
                ":expires",
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.survey_of_message(message_id).await? {
                    Some(survey) => Ok(Some(survey)),
                    None => Err(PortError::Transient(
                        "a message id recorded without its survey".into(),
                    )),
                }
            }
            Err(e) => Err(port_error(e)),
        }
    }

    /// The delivery failure kept under `message_id` before its send was recorded
    /// ([`Self::park_failure`]), if any.
    pub async fn kept_failure(&self, message_id: &str) -> PortResult<Option<Input>> {
        let item = self.get_item(self.msg_pk(message_id)?, "msg").await?;
        Ok(kept_failure(item.as_ref()))
    }

    /// The survey a provider's message id belongs to.
    ///
    /// A message sent before its id was kept hashed is found under its plain id (a status can
    /// come days later); that fallback read happens only when the hashed one finds nothing.
    pub async fn survey_of_message(&self, message_id: &str) -> PortResult<Option<SurveyId>> {
        let mut item = self.get_item(self.msg_pk(message_id)?, "msg").await?;
        if item.is_none() {
            item = self.get_item(format!("msg#{message_id}"), "msg").await?;
        }
        Ok(item
            .as_ref()
            .and_then(|i| i.get(MSG_SURVEY))
            .and_then(|v| v.as_s().ok())
            .and_then(|v| SurveyId::parse(v).ok()))
    }

    /// Remembers that our message for `survey` went to the WhatsApp user `user_id` (Meta's
    /// business-scoped user id, learned from a status of that message): a message that names only
    /// this user id may then be routed to this survey. Idempotent.
    pub async fn remember_user(
        &self,
        user_id: &str,
        survey: &SurveyId,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(user_key(user_id)))
            .item(attr::SK, s(survey.as_str()))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The surveys whose messages went to the WhatsApp user `user_id`: that user's surveys, the
    /// only ones a message naming just this user id may be routed to.
    pub async fn surveys_of_user(&self, user_id: &str) -> PortResult<Vec<SurveyId>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(user_key(user_id)))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                if let Some(id) = item.get(attr::SK).and_then(|v| v.as_s().ok()) {
                    out.push(SurveyId::parse(id).map_err(|e| {
                        PortError::Permanent(format!("survey of a user id {id:?}: {e}"))
                    })?);
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }
}

impl DynamoStore {
    /// A provider's message id is kept as its keyed hash: Meta's `wamid.` is base64 around the
    /// customer's number.
    fn msg_pk(&self, message_id: &str) -> PortResult<String> {
        Ok(format!("msg#h:{}", self.hasher()?.id(message_id)))
    }
}

/// The failure kept on a message-id item. One that does not read (written by a build that is
/// gone) is logged and left: the question's own reminder and window still run.
fn kept_failure(item: Option<&HashMap<String, AttributeValue>>) -> Option<Input> {
    let body = item?.get(MSG_KEPT_FAILURE)?.as_s().ok()?;
    match serde_json::from_str(body) {
        Ok(input) => Some(input),
        Err(e) => {
            tracing::warn!(error = %e, "a kept delivery failure does not read; left");
            None
        }
    }
}

fn user_key(user_id: &str) -> String {
    format!("wauser#{user_id}")
}
