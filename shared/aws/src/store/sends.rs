//! Send claims and provider message ids: how dispatch sends at most once, and how a delivery
//! status finds its survey.

use super::*;

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

    /// Remembers which survey a provider's message id belongs to.
    pub async fn remember_message(
        &self,
        message_id: &str,
        survey: &SurveyId,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("msg#{message_id}")))
            .item(attr::SK, s("msg"))
            .item("survey_id", s(survey.as_str()))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The survey a provider's message id belongs to.
    pub async fn survey_of_message(&self, message_id: &str) -> PortResult<Option<SurveyId>> {
        let item = self.get_item(format!("msg#{message_id}"), "msg").await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("survey_id"))
            .and_then(|v| v.as_s().ok())
            .and_then(|v| SurveyId::parse(v).ok()))
    }
}
