//! Short-lived markers: processed webhook items, landing page views, finished effects. A
//! provider's id (Meta's `wamid.` is base64 around the customer's number, GREEN-API's chat is the
//! number) and the input part of an effect key are kept as keyed hashes, so no marker holds a
//! phone after the customer opts out or is forgotten.

use super::*;

/// Short-lived markers: processed webhooks, landing page views, finished effects.
impl DynamoStore {
    async fn marker_exists(&self, pk: String, sk: &str) -> PortResult<bool> {
        Ok(self.get_item(pk, sk).await?.is_some())
    }

    async fn put_marker(
        &self,
        pk: String,
        sk: &str,
        now: DateTime<Utc>,
        keep: chrono::Duration,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(pk))
            .item(attr::SK, s(sk))
            .item("at", s(rfc3339(now)))
            .item(attr::EXPIRES_AT, n((now + keep).timestamp()))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Whether a provider's inbound message or status was fully handled already.
    pub async fn inbound_done(&self, provider_id: &str) -> PortResult<bool> {
        self.marker_exists(self.inbound_pk(provider_id)?, "done")
            .await
    }

    fn inbound_pk(&self, provider_id: &str) -> PortResult<String> {
        Ok(format!("inbound#h:{}", self.hasher()?.id(provider_id)))
    }

    /// The key of an effect's marker: `effect#<survey>/<effect>[/<hashed input>]`.
    pub(super) fn effect_pk(&self, key: &str) -> PortResult<String> {
        Ok(format!("effect#{}", self.hasher()?.effect_key(key)))
    }

    /// Marks an inbound message handled, after everything it caused is durable. Providers retry
    /// for about a day; a week of memory covers that with room to spare.
    pub async fn mark_inbound_done(&self, provider_id: &str, now: DateTime<Utc>) -> PortResult<()> {
        self.put_marker(
            self.inbound_pk(provider_id)?,
            "done",
            now,
            chrono::Duration::days(7),
        )
        .await
    }

    /// Notes that a landing page of `survey` was served for `rating` at `at` (scanner detection).
    pub async fn record_view(
        &self,
        survey: &SurveyId,
        rating: u8,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        // One row per rating and second: the sort key orders views by time, and every view of
        // the same rating in the same second lands on the same row. A flood of GETs (a probe
        // sent thousands) no longer writes a row each; the scanner rule, whose window is
        // seconds wide, loses nothing by the rounding.
        let millis = at.timestamp_millis().max(0);
        let sk = format!("{:015}#{rating}", millis - millis % 1000);
        self.put_marker(
            format!("views#{survey}"),
            &sk,
            at,
            chrono::Duration::days(2),
        )
        .await
    }

    /// The ratings whose pages were served for `survey` between `from` and `to`.
    pub async fn views_between(
        &self,
        survey: &SurveyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<(DateTime<Utc>, u8)>> {
        let lo = format!("{:015}", from.timestamp_millis().max(0));
        // '~' sorts after every character a key here can hold, so `to` itself is included.
        let hi = format!("{:015}~", to.timestamp_millis().max(0));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_names("#sk", attr::SK)
            .expression_attribute_values(":pk", s(format!("views#{survey}")))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
            .consistent_read(true)
            .limit(100)
            .send()
            .await
            .map_err(port_error)?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| i.get(attr::SK)?.as_s().ok())
            .filter_map(|sk| {
                let mut parts = sk.split('#');
                let millis: i64 = parts.next()?.parse().ok()?;
                let rating: u8 = parts.next()?.parse().ok()?;
                Some((DateTime::from_timestamp_millis(millis)?, rating))
            })
            .collect())
    }

    /// Whether the effect with this idempotency key was carried out already.
    pub async fn effect_done(&self, key: &str) -> PortResult<bool> {
        self.marker_exists(self.effect_pk(key)?, "done").await
    }

    /// [`Self::effect_done`] for many keys, in one consistent batched read per hundred: the keys
    /// of those carried out already.
    pub async fn effects_done(
        &self,
        keys: &[String],
    ) -> PortResult<std::collections::HashSet<String>> {
        let mut by_pk = HashMap::with_capacity(keys.len());
        for key in keys {
            by_pk.insert(self.effect_pk(key)?, key.clone());
        }
        if by_pk.is_empty() {
            return Ok(Default::default());
        }
        let wanted = by_pk
            .keys()
            .map(|pk| (pk.clone(), "done".to_string()))
            .collect();
        Ok(self
            .get_batched(wanted, true, true)
            .await?
            .iter()
            .filter_map(|item| by_pk.get(item.get(attr::PK)?.as_s().ok()?).cloned())
            .collect())
    }

    /// Records that an effect was carried out, so a redelivered message does nothing.
    pub async fn mark_effect_done(&self, key: &str, now: DateTime<Utc>) -> PortResult<()> {
        self.put_marker(
            self.effect_pk(key)?,
            "done",
            now,
            chrono::Duration::days(SURVEY_RETENTION_DAYS),
        )
        .await
    }
}
