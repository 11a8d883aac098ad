//! Short links of the SMS (`/s/<id>` → its survey, until it expires) and the cached answers of
//! MAX's account check (asking again for numbers without MAX can get the shop's account
//! restricted, so each phone is checked once per `ttl`).

use otklik_core::links::ShortLinkId;

use super::*;

/// A short link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLink {
    pub survey: SurveyId,
    pub expires_at: DateTime<Utc>,
}

/// What MAX's account check said about a phone, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxAccount {
    /// The chat to write to; `None` when the number has no MAX account.
    pub chat_id: Option<String>,
    pub checked_at: DateTime<Utc>,
}

impl DynamoStore {
    /// Stores a new short link for `survey`. `false` when the id is taken already (the caller
    /// draws another): a link never points at two surveys.
    pub async fn create_short_link(
        &self,
        id: &ShortLinkId,
        survey: &SurveyId,
        expires_at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("short#{}", id.as_str())))
            .item(attr::SK, s("short"))
            .item("survey_id", s(survey.as_str()))
            .item("until", s(rfc3339(expires_at)))
            // Kept a little past its expiry so a late tap gets "expired", not "unknown".
            .item(
                attr::EXPIRES_AT,
                n((expires_at + chrono::Duration::days(30)).timestamp()),
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

    /// The survey a short link belongs to, with its expiry.
    pub async fn short_link(&self, id: &ShortLinkId) -> PortResult<Option<ShortLink>> {
        let Some(item) = self
            .get_item(format!("short#{}", id.as_str()), "short")
            .await?
        else {
            return Ok(None);
        };
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok());
        let survey = text("survey_id").and_then(|v| SurveyId::parse(v).ok());
        let until = text("until")
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc));
        match (survey, until) {
            (Some(survey), Some(expires_at)) => Ok(Some(ShortLink { survey, expires_at })),
            _ => Err(PortError::Permanent(format!(
                "short link {} is stored without its survey or expiry",
                id.as_str()
            ))),
        }
    }

    /// The cached answer of MAX's account check for `phone`, if it is younger than `ttl`.
    pub async fn max_account(
        &self,
        phone: &Phone,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> PortResult<Option<MaxAccount>> {
        let Some(item) = self.get_item(self.max_key(phone)?, "max").await? else {
            return Ok(None);
        };
        let checked_at = item
            .get("checked_at")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc));
        let Some(checked_at) = checked_at.filter(|t| now < *t + ttl) else {
            return Ok(None);
        };
        let chat_id = item
            .get("chat_id")
            .and_then(|v| v.as_s().ok())
            .map(|v| v.to_string());
        Ok(Some(MaxAccount {
            chat_id,
            checked_at,
        }))
    }

    /// Remembers what MAX's account check said about `phone`.
    pub async fn remember_max_account(
        &self,
        phone: &Phone,
        account: &MaxAccount,
        ttl: chrono::Duration,
    ) -> PortResult<()> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(self.max_key(phone)?))
            .item(attr::SK, s("max"))
            .item("checked_at", s(rfc3339(account.checked_at)))
            .item(attr::EXPIRES_AT, n((account.checked_at + ttl).timestamp()));
        if let Some(chat) = &account.chat_id {
            put = put.item("chat_id", s(chat));
        }
        put.send().await.map_err(port_error)?;
        Ok(())
    }
}

impl DynamoStore {
    /// The MAX check's cache is found by the phone's keyed hash, never by the number.
    pub(super) fn max_key(&self, phone: &Phone) -> PortResult<String> {
        Ok(format!("max#h:{}", self.hasher()?.phone(phone)))
    }
}
