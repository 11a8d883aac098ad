//! Webhook items we could not use, kept for an operator to look at (`otklik inbound unusable`):
//! one partition, `unusable`, a record per item, gone after two weeks.

use super::*;

/// How long an unusable item is kept: long enough to be noticed on the dashboard and looked at,
/// short enough that the customer's words it may hold do not linger (SPEC §8).
pub const UNUSABLE_RETENTION_DAYS: i64 = 14;

const UNUSABLE_PK: &str = "unusable";

/// A webhook item kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnusableItem {
    /// When it was first kept.
    pub kept_at: String,
    pub provider: String,
    /// Where in the webhook's body it was.
    pub at: String,
    /// Why it could not be used.
    pub reason: String,
    /// The item as the provider sent it (possibly cut).
    pub raw: String,
}

/// FNV-1a: a stable key for the same item, so a redelivery finds its record instead of adding one.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl DynamoStore {
    /// Keeps an unusable item. `Ok(true)` the first time, `Ok(false)` when the same item (same
    /// provider, place and content) is already kept: a provider's retry or a queue's redelivery.
    pub async fn keep_unusable(
        &self,
        provider: &str,
        at: &str,
        reason: &str,
        raw: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let sk = format!("{:016x}", fnv1a(&[provider, at, raw]));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(UNUSABLE_PK))
            .item(attr::SK, s(sk))
            .item("kept_at", s(rfc3339(now)))
            .item("provider", s(provider))
            .item("at", s(at))
            .item("reason", s(reason))
            .item("raw", s(raw))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(UNUSABLE_RETENTION_DAYS)).timestamp()),
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

    /// Every kept item, oldest first.
    pub async fn unusable_items(&self) -> PortResult<Vec<UnusableItem>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(UNUSABLE_PK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(port_error)?;
            let text = |i: &HashMap<String, AttributeValue>, k: &str| {
                i.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            out.extend(page.items().iter().map(|i| UnusableItem {
                kept_at: text(i, "kept_at"),
                provider: text(i, "provider"),
                at: text(i, "at"),
                reason: text(i, "reason"),
                raw: text(i, "raw"),
            }));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.kept_at.cmp(&b.kept_at));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn the_key_is_stable_and_tells_the_parts_apart() {
        // Fixed value: a key computed by an older build must match this one's.
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&["a", "b"]), fnv1a(&["a", "b"]));
        assert_ne!(fnv1a(&["ab", ""]), fnv1a(&["a", "b"]));
    }
}
