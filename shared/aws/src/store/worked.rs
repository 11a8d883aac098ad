//! The history stream as the flow keeps it (issue 19): per order, the people its changes named
//! (a number set grown with `ADD`, so a replayed page changes nothing), and how far in time the
//! poller has read the stream. The poller writes both; dispatch reads them instead of the order's
//! own history (`otklik_core::history`).

use std::collections::BTreeSet;

use otklik_core::history::{Coverage, WORKED_RETENTION_DAYS};

use super::*;

fn worked_pk(order_id: u64) -> String {
    format!("worked#{order_id}")
}

fn coverage_pk(stream: &str) -> String {
    format!("coverage#{stream}")
}

fn millis(item: &HashMap<String, AttributeValue>, key: &str) -> Option<DateTime<Utc>> {
    let v: i64 = item.get(key)?.as_n().ok()?.parse().ok()?;
    DateTime::from_timestamp_millis(v)
}

// `ADD` on a number set is a set union that creates the attribute (and the item) when absent:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html#Expressions.UpdateExpressions.ADD
impl DynamoStore {
    /// Adds `people` to the order's fold and pushes its expiry to [`WORKED_RETENTION_DAYS`] from
    /// `now`. One update per order; an order whose changes named nobody still gets its item (so
    /// the expiry says when it was last seen), just without people.
    pub async fn add_worked(
        &self,
        order_id: u64,
        people: &BTreeSet<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let expires = n((now + chrono::Duration::days(WORKED_RETENTION_DAYS)).timestamp());
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(worked_pk(order_id)))
            .key(attr::SK, s("people"))
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":exp", expires);
        // DynamoDB refuses an empty set, so an update with nobody only refreshes the expiry.
        req = if people.is_empty() {
            req.update_expression("SET #exp = :exp")
        } else {
            req.update_expression("SET #exp = :exp ADD #p :p")
                .expression_attribute_names("#p", "people")
                .expression_attribute_values(
                    ":p",
                    AttributeValue::Ns(people.iter().map(u64::to_string).collect()),
                )
        };
        req.send().await.map_err(port_error)?;
        Ok(())
    }

    /// Everyone the order's changes named, as far as the stream is read (empty when never seen).
    pub async fn worked_on(&self, order_id: u64) -> PortResult<BTreeSet<u64>> {
        let item = self.get_item(worked_pk(order_id), "people").await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("people"))
            .and_then(|v| v.as_ns().ok())
            .map(|ns| ns.iter().filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default())
    }

    /// [`Self::worked_on`] for many orders, in one consistent batched read per hundred: every
    /// order asked for has its entry, empty when nothing is kept for it.
    pub async fn worked_on_many(
        &self,
        order_ids: &[u64],
    ) -> PortResult<HashMap<u64, BTreeSet<u64>>> {
        let mut out: HashMap<u64, BTreeSet<u64>> =
            order_ids.iter().map(|id| (*id, BTreeSet::new())).collect();
        if order_ids.is_empty() {
            return Ok(out);
        }
        let keys = order_ids
            .iter()
            .map(|id| (worked_pk(*id), "people".to_string()))
            .collect();
        for item in self.get_batched(keys, true, false).await? {
            let id = item
                .get(attr::PK)
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("worked#"))
                .and_then(|id| id.parse::<u64>().ok());
            let people = item
                .get("people")
                .and_then(|v| v.as_ns().ok())
                .map(|ns| ns.iter().filter_map(|x| x.parse().ok()).collect());
            if let (Some(id), Some(people)) = (id, people) {
                out.insert(id, people);
            }
        }
        Ok(out)
    }

    /// How far the poller has read `stream`; `None` before its first pass reached anywhere.
    pub async fn coverage(&self, stream: &str) -> PortResult<Option<Coverage>> {
        let item = self.get_item(coverage_pk(stream), "coverage").await?;
        Ok(item.and_then(|i| {
            Some(Coverage {
                from: millis(&i, "from")?,
                until: millis(&i, "until")?,
            })
        }))
    }

    /// Records that `stream` is read up to `until`. `from` is kept from the first record (where
    /// the stream was first read from); `until` only moves forward, whoever writes it, so an
    /// overlapping or late pass never shrinks coverage. Returns whether `until` moved.
    pub async fn extend_coverage(
        &self,
        stream: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(coverage_pk(stream)))
            .key(attr::SK, s("coverage"))
            .update_expression("SET #from = if_not_exists(#from, :from), #until = :until")
            .condition_expression("attribute_not_exists(#until) OR #until < :until")
            .expression_attribute_names("#from", "from")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":from", n(from.timestamp_millis()))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(port_error(e)),
        }
    }
}
