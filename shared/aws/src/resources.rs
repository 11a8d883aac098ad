//! The one definition of every table and queue.
//!
//! Names are `<stack>-<suffix>`, with the stack from `OTKLIK_STACK` (default `otklik`), so several
//! stacks (prod, staging, a test run) share one account or one local endpoint without clashing.
//! `infra/template.yaml` must declare exactly these; a test compares them.

use std::time::Duration;

/// The attribute names of the main table's keys and index.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    /// Epoch seconds after which DynamoDB may delete the item (retention, SPEC §8).
    pub const EXPIRES_AT: &str = "expires_at";
    pub const VERSION: &str = "version";
    pub const DOC: &str = "doc";
}

/// A DynamoDB table with string keys `pk`/`sk` and optional global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub suffix: &'static str,
    /// (index name, partition key, sort key)
    pub indexes: &'static [(&'static str, &'static str, &'static str)],
    pub ttl_attribute: Option<&'static str>,
}

/// The main table: surveys, contacts (do-not-contact, last surveyed), idempotency records, cursors.
pub const MAIN_TABLE: TableDef = TableDef {
    suffix: "main",
    indexes: &[("gsi1", attr::GSI1_PK, attr::GSI1_SK)],
    ttl_attribute: Some(attr::EXPIRES_AT),
};

pub const TABLES: &[TableDef] = &[MAIN_TABLE];

/// An SQS queue with its dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDef {
    pub suffix: &'static str,
    /// At least six times the consumer's timeout (AWS's advice for Lambda event sources).
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u32,
}

impl QueueDef {
    pub fn dlq_suffix(&self) -> String {
        format!("{}-dlq", self.suffix)
    }
}

/// Order signals from the webhook and the poller, waiting for the intake decision.
pub const INTAKE_QUEUE: QueueDef = QueueDef {
    suffix: "intake",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 10,
};
/// Due surveys, put here by the one-time schedules.
pub const DISPATCH_QUEUE: QueueDef = QueueDef {
    suffix: "dispatch",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 10,
};
/// Effects on retailCRM (rating, words, credits, inspector tasks), drained at a paced rate.
pub const CRM_WRITES_QUEUE: QueueDef = QueueDef {
    suffix: "crm-writes",
    visibility_timeout: Duration::from_secs(180),
    // retailCRM may be down for hours: many tries before a message is parked.
    max_receive_count: 50,
};
/// Complaints to open.
pub const COMPLAINTS_QUEUE: QueueDef = QueueDef {
    suffix: "complaints",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 50,
};
/// Messages to customers (thanks, questions, confirmations).
pub const OUTBOX_QUEUE: QueueDef = QueueDef {
    suffix: "outbox",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 10,
};

pub const QUEUES: &[QueueDef] = &[
    INTAKE_QUEUE,
    DISPATCH_QUEUE,
    CRM_WRITES_QUEUE,
    COMPLAINTS_QUEUE,
    OUTBOX_QUEUE,
];

/// Concrete names for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub stack: String,
}

impl Names {
    pub fn new(stack: impl Into<String>) -> Names {
        Names {
            stack: stack.into(),
        }
    }

    /// From `OTKLIK_STACK`, default `otklik`.
    pub fn from_env() -> Names {
        Names::new(std::env::var("OTKLIK_STACK").unwrap_or_else(|_| "otklik".to_string()))
    }

    pub fn table(&self, t: &TableDef) -> String {
        format!("{}-{}", self.stack, t.suffix)
    }

    pub fn queue(&self, q: &QueueDef) -> String {
        format!("{}-{}", self.stack, q.suffix)
    }

    pub fn dlq(&self, q: &QueueDef) -> String {
        format!("{}-{}", self.stack, q.dlq_suffix())
    }

    /// The EventBridge Scheduler group holding the one-time survey schedules.
    pub fn schedule_group(&self) -> String {
        format!("{}-{}", self.stack, SCHEDULE_GROUP_SUFFIX)
    }
}

/// Suffix of the scheduler group of one-time survey schedules.
pub const SCHEDULE_GROUP_SUFFIX: &str = "surveys";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_unique() {
        let n = Names::new("shop");
        assert_eq!(n.table(&MAIN_TABLE), "shop-main");
        assert_eq!(n.queue(&DISPATCH_QUEUE), "shop-dispatch");
        assert_eq!(n.dlq(&DISPATCH_QUEUE), "shop-dispatch-dlq");
        let mut all: Vec<String> = QUEUES.iter().flat_map(|q| [n.queue(q), n.dlq(q)]).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), QUEUES.len() * 2);
        // SQS names: 1–80 characters of [A-Za-z0-9_-].
        for name in all {
            assert!(
                name.len() <= 80
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
    }

    #[test]
    fn visibility_covers_six_lambda_timeouts() {
        // Consumers run with at most a 30 s timeout (see infra/template.yaml).
        for q in QUEUES {
            assert!(
                q.visibility_timeout >= Duration::from_secs(6 * 30),
                "{}",
                q.suffix
            );
            assert!(q.max_receive_count >= 3, "{}", q.suffix);
        }
    }
}
