//! `history-poller`: the safety net under the retailCRM trigger.
//!
//! Every few minutes it reads `orders/history` from a cursor kept in DynamoDB (`sinceId`), picks
//! the changes into a survey status, and puts the same intake signal on the queue that the trigger
//! would have. A lost trigger therefore delays a survey by one poll, never loses it. Duplicates
//! with the trigger are harmless: intake creates one survey per order.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use otklik_aws::store::DynamoStore;
use otklik_core::config::Config;
use otklik_core::intake::IntakeSignal;
use otklik_core::ports::{PortError, Queue};
use otklik_retailcrm::{CrmError, HistoryEntry, HistoryQuery, RetailCrm};

/// The cursor's name in the store.
pub const CURSOR: &str = "orders-history";
/// retailCRM's largest page.
pub const PAGE: u32 = 100;
/// Upper bound of pages per run, so one run fits the function's timeout; the next run continues.
pub const MAX_PAGES_PER_RUN: u32 = 30;
/// With no cursor yet (first run), look back this far.
pub const FIRST_RUN_LOOKBACK_HOURS: i64 = 24;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("retailCRM: {0}")]
    Crm(#[from] CrmError),
    #[error("store or queue: {0}")]
    Port(#[from] PortError),
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub entries: usize,
    pub signals: usize,
    pub cursor: Option<u64>,
}

pub struct Poller<Q> {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub queue: Q,
    pub config: std::sync::Arc<Config>,
}

/// Whether a history entry moves an order into a survey status.
pub fn is_survey_signal(entry: &HistoryEntry, config: &Config) -> bool {
    let into_status = match entry.new_status() {
        Some(status) => Some(status),
        // An order created directly in a survey status has no status change entry.
        None if entry.created => entry.order_status.as_deref(),
        None => None,
    };
    let site_ok = entry
        .order_site
        .as_deref()
        .is_some_and(|s| config.surveys_site(s));
    site_ok && into_status.is_some_and(|s| config.crm.survey_statuses.iter().any(|x| x == s))
}

impl<Q: Queue> Poller<Q> {
    /// One poll: reads every history page since the cursor (bounded per run), signals, and moves
    /// the cursor after each page's signals are durable.
    pub async fn poll(&self, now: DateTime<Utc>) -> Result<PollReport, PollError> {
        let mut cursor = self.store.cursor(CURSOR).await?;
        let mut report = PollReport {
            cursor,
            ..Default::default()
        };
        let mut signalled = BTreeSet::new();
        for _ in 0..MAX_PAGES_PER_RUN {
            let query = HistoryQuery {
                since_id: cursor,
                order_id: None,
                start_date: cursor
                    .is_none()
                    .then(|| now - chrono::Duration::hours(FIRST_RUN_LOOKBACK_HOURS)),
                limit: PAGE,
                page: 1,
            };
            let page = self.crm.history(&query).await?;
            let Some(last) = page.entries.iter().map(|e| e.id).max() else {
                break;
            };
            report.entries += page.entries.len();
            for entry in &page.entries {
                if !is_survey_signal(entry, &self.config) {
                    continue;
                }
                let (Some(order_id), Some(site)) = (entry.order_id, entry.order_site.clone())
                else {
                    continue;
                };
                if !signalled.insert((site.clone(), order_id)) {
                    continue;
                }
                let signal = IntakeSignal {
                    site,
                    order_id,
                    source: "poller".into(),
                    received_at: now,
                };
                self.queue
                    .send(&serde_json::to_string(&signal).expect("a signal serializes"))
                    .await?;
                report.signals += 1;
            }
            // Only after the page's signals are queued: a crash before this line re-reads the
            // page next time, and intake absorbs the duplicates.
            if !self.store.advance_cursor(CURSOR, cursor, last).await? {
                tracing::warn!("another poller moved the cursor; stopping this run");
                break;
            }
            cursor = Some(last);
            report.cursor = cursor;
            if page.entries.len() < PAGE as usize {
                break;
            }
        }
        tracing::info!(entries = report.entries, signals = report.signals, cursor = ?report.cursor, "history polled");
        Ok(report)
    }
}
