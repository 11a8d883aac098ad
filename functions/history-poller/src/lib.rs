//! `history-poller`: the safety net under the retailCRM trigger.
//!
//! Every few minutes it reads `orders/history` from a cursor kept in DynamoDB (`sinceId`), picks
//! the changes into a survey status, and puts the same intake signal on the queue that the trigger
//! would have. A lost trigger therefore delays a survey by one poll, never loses it. Duplicates
//! with the trigger are harmless: intake creates one survey per order.
//!
//! Every page is also folded per order into the people who worked it, and the poller records how
//! far in time it has read the stream (`otklik_core::history`): dispatch takes the employee
//! snapshot from there instead of reading the order's history again.
//!
//! The same history carries the status changes of complaint orders: they go onto the complaint's
//! track with the CRM's own time. After each poll, [`Poller::remind`] sweeps the complaints nobody
//! has touched within the SLA and gives the inspector one reminder each.

mod names;
mod sweep;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use otklik_aws::store::DynamoStore;
use otklik_core::config::{Config, ConfigError};
use otklik_core::crm_texts::reminder_text;
use otklik_core::history::{covered_after_page, fold_page};
use otklik_core::intake::IntakeSignal;
use otklik_core::model::{OrderRef, SurveyId};
use otklik_core::ports::{PortError, Queue};
use otklik_core::texts::Texts;
use otklik_retailcrm::{CrmError, HistoryEntry, HistoryQuery, NewTask, RetailCrm};

/// The cursor's name in the store.
pub const CURSOR: &str = otklik_core::history::STREAM;
/// retailCRM's largest page.
pub const PAGE: u32 = 100;
/// Upper bound of pages per run, so one run fits the function's timeout; the next run continues.
pub const MAX_PAGES_PER_RUN: u32 = 30;
/// Fold writes of one page in flight at once (DynamoDB takes them in parallel; a page names at
/// most 100 orders).
pub const FOLD_WRITES_AT_ONCE: usize = 25;
/// Tries of one order's fold write within a page before the page stops at that order.
pub const FOLD_ATTEMPTS: usize = 3;
/// With no cursor yet (first run), look back this far.
pub const FIRST_RUN_LOOKBACK_HOURS: i64 = 24;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("retailCRM: {0}")]
    Crm(#[from] CrmError),
    #[error("store or queue: {0}")]
    Port(#[from] PortError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub entries: usize,
    pub signals: usize,
    /// Status changes of complaint orders that told the track something new.
    pub complaint_updates: usize,
    pub cursor: Option<u64>,
    /// Orders whose fold of who worked them was written (once per order and page).
    pub orders_folded: usize,
    /// How far in time the stream is now read, when this run moved it.
    pub covered_until: Option<DateTime<Utc>>,
    /// Employee names written after the pages named someone the table had no name for.
    pub names_learned: usize,
}

/// What one SLA sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Complaints still waiting to be touched.
    pub waiting: usize,
    /// Reminder tasks created for the inspector.
    pub reminders: usize,
}

/// How long the inspector has for a reminder task.
pub const REMINDER_DUE_IN: chrono::Duration = chrono::Duration::hours(1);

pub struct Poller<Q> {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub queue: Q,
    pub config: std::sync::Arc<Config>,
}

/// One page folded per order: the people each order's changes on it name
/// (`HistoryEntry::change`, the same reading dispatch's own history read makes).
pub fn worked_on_page(entries: &[HistoryEntry]) -> BTreeMap<u64, BTreeSet<u64>> {
    fold_page(entries.iter().map(|e| (e.order_id, e.change())))
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
        // Where this pass reads the stream from, in time: the first pass looks back a day; a
        // pass from a cursor left before coverage was kept knows only that it reads from now
        // (the store keeps the first value it is given).
        let lookback = now - chrono::Duration::hours(FIRST_RUN_LOOKBACK_HOURS);
        let read_from = if cursor.is_none() { lookback } else { now };
        let mut report = PollReport {
            cursor,
            ..Default::default()
        };
        let mut signalled = BTreeSet::new();
        let mut names = names::Names::default();
        for _ in 0..MAX_PAGES_PER_RUN {
            let query = HistoryQuery {
                since_id: cursor,
                order_id: None,
                start_date: cursor.is_none().then_some(lookback),
                limit: PAGE,
                page: 1,
            };
            let page = self.crm.history(&query).await?;
            let Some(last) = page.entries.iter().map(|e| e.id).max() else {
                // Nothing after the cursor: the whole stream is read.
                self.cover(read_from, now, 0, None, &mut report).await?;
                break;
            };
            report.entries += page.entries.len();
            // Who worked each order, durable before anything on the page moves the cursor: a
            // crash re-reads the page, and the set union makes the replay harmless. The stream is
            // every change of every order, ids ascending from `filter[sinceId]` (API v5,
            // `GET /api/v5/orders/history`, https://help.retailcrm.pro/api_v5_en.html), so each
            // order's changes all pass through here once the cursor is past them.
            let (folded, mut fold_failed) = self.fold(&page.entries, now).await;
            report.orders_folded += folded;
            // Before the page can cover anything: once dispatch takes an order's people from the
            // fold, their names are known too, and no survey's credit has to read `GET users`.
            let people = worked_on_page(&page.entries).into_values().flatten();
            report.names_learned += self.learn_names(people, &mut names).await;
            self.known_surveys(&page.entries, &mut signalled).await;
            let mut entries: Vec<&HistoryEntry> = page.entries.iter().collect();
            entries.sort_by_key(|e| e.id);
            // The id of the last entry whose work is durable: on a failure the cursor still moves
            // that far, so a run that fails now and then (a throttled queue, a slow table) makes
            // progress instead of re-reading the same page for ever. An order whose fold could
            // not be written stops the page at its first entry, as a failed entry does.
            let mut done = cursor;
            for entry in entries {
                let result = match fold_failed.take() {
                    Some((stop, e)) if entry.id >= stop => Err(e),
                    pending => {
                        fold_failed = pending;
                        self.entry(entry, now, &mut signalled, &mut report).await
                    }
                };
                if let Err(e) = result {
                    if let Some(upto) = done.filter(|_| done != cursor) {
                        self.store.advance_cursor(CURSOR, cursor, upto).await?;
                    }
                    return Err(e);
                }
                done = Some(entry.id);
            }
            // Only after the page's signals are queued: a crash before this line re-reads the
            // page next time, and intake absorbs the duplicates.
            if !self.store.advance_cursor(CURSOR, cursor, last).await? {
                // Expected now and then: a dispatch batch runs this pass too (docs/dispatch.md),
                // and the one that moved the cursor reads on from there.
                tracing::debug!("another pass moved the cursor; stopping this run");
                break;
            }
            cursor = Some(last);
            report.cursor = cursor;
            let last_at = page
                .entries
                .iter()
                .max_by_key(|e| e.id)
                .and_then(|e| e.created_at);
            self.cover(read_from, now, page.entries.len(), last_at, &mut report)
                .await?;
            if page.entries.len() < PAGE as usize {
                break;
            }
        }
        tracing::info!(entries = report.entries, signals = report.signals, complaint_updates = report.complaint_updates, orders_folded = report.orders_folded, cursor = ?report.cursor, covered_until = ?report.covered_until, names_learned = report.names_learned, "history polled");
        Ok(report)
    }

    /// Marks the page's orders that have their survey already as signalled: intake has them (the
    /// trigger got through, or an earlier pass), and a signal would only make it ensure a
    /// schedule that has usually fired by then — a second dispatch of the question for nothing.
    /// At a peak, where a dispatch batch runs this pass seconds after the completions, that was
    /// every other question (docs/intake.md). An order without a survey is signalled as
    /// always: that is the safety net under a lost trigger. When the read fails, every order is
    /// signalled, as before.
    async fn known_surveys(
        &self,
        entries: &[HistoryEntry],
        signalled: &mut BTreeSet<(String, u64)>,
    ) {
        let ids: Vec<(String, u64, SurveyId)> = entries
            .iter()
            .filter(|e| is_survey_signal(e, &self.config))
            .filter_map(|e| {
                let (order, site) = (e.order_id?, e.order_site.clone()?);
                let id = SurveyId::for_order(&OrderRef::new(&site, order).ok()?);
                Some((site, order, id))
            })
            .filter(|(site, order, _)| !signalled.contains(&(site.clone(), *order)))
            .collect();
        if ids.is_empty() {
            return;
        }
        let wanted: Vec<SurveyId> = ids.iter().map(|(_, _, id)| id.clone()).collect();
        match self.store.existing_surveys(&wanted).await {
            Ok(found) => {
                for (site, order, id) in ids {
                    if found.contains(&id) {
                        signalled.insert((site, order));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "surveys not looked up; every order is signalled"),
        }
    }

    /// Writes one page's fold, one update per order, [`FOLD_WRITES_AT_ONCE`] at a time: a page
    /// of the December peak names up to 100 orders, and one after another they would hold the
    /// pass (and every question waiting for it) for a hundred round trips. Each write is tried
    /// [`FOLD_ATTEMPTS`] times (a replay is harmless): a hundred writes a page, each failing
    /// now and then, would otherwise almost never all get through. Returns the orders written,
    /// and for the orders that were not, the first entry of theirs on the page with the error:
    /// the cursor must not move past it.
    async fn fold(
        &self,
        entries: &[HistoryEntry],
        now: DateTime<Utc>,
    ) -> (usize, Option<(u64, PollError)>) {
        let folds: Vec<(u64, BTreeSet<u64>)> = worked_on_page(entries).into_iter().collect();
        let mut failed: BTreeMap<u64, PollError> = BTreeMap::new();
        for chunk in folds.chunks(FOLD_WRITES_AT_ONCE) {
            let mut writes = tokio::task::JoinSet::new();
            for (order, people) in chunk.iter().cloned() {
                let store = self.store.clone();
                writes.spawn(async move {
                    let mut result = Ok(());
                    for _ in 0..FOLD_ATTEMPTS {
                        result = store.add_worked(order, &people, now).await;
                        if result.is_ok() {
                            break;
                        }
                    }
                    (order, result)
                });
            }
            while let Some(done) = writes.join_next().await {
                match done {
                    Ok((_, Ok(()))) => {}
                    Ok((order, Err(e))) => {
                        failed.insert(order, e.into());
                    }
                    // A write task that panicked or was cancelled: which order is unknown, so
                    // the whole page waits for the next run.
                    Err(e) => {
                        let first = entries.iter().map(|e| e.id).min().unwrap_or_default();
                        let e = PortError::Transient(format!("a fold write stopped: {e}"));
                        return (0, Some((first, e.into())));
                    }
                }
            }
        }
        let written = folds.len() - failed.len();
        let stop = entries
            .iter()
            .filter(|e| e.order_id.is_some_and(|o| failed.contains_key(&o)))
            .map(|e| e.id)
            .min();
        let first_error = failed.into_values().next();
        (written, stop.zip(first_error))
    }

    /// Records how far the stream is read after a page whose folds and cursor are durable.
    async fn cover(
        &self,
        read_from: DateTime<Utc>,
        pass_started: DateTime<Utc>,
        entries: usize,
        last_at: Option<DateTime<Utc>>,
        report: &mut PollReport,
    ) -> Result<(), PollError> {
        if let Some(until) = covered_after_page(pass_started, entries, PAGE as usize, last_at) {
            match self.store.extend_coverage(CURSOR, read_from, until).await {
                Ok(true) => report.covered_until = Some(until),
                Ok(false) => {}
                // Not worth failing the run over: the next page or pass records it, and until
                // then dispatch waits or reads the history, as for any uncovered order.
                Err(e) => tracing::warn!(error = %e, "coverage of the history stream not recorded"),
            }
        }
        Ok(())
    }

    /// One history entry: a complaint's status onto its track, a survey status into a signal.
    async fn entry(
        &self,
        entry: &HistoryEntry,
        now: DateTime<Utc>,
        signalled: &mut BTreeSet<(String, u64)>,
        report: &mut PollReport,
    ) -> Result<(), PollError> {
        if self.complaint_status(entry).await? {
            report.complaint_updates += 1;
        }
        if !is_survey_signal(entry, &self.config) {
            return Ok(());
        }
        let (Some(order_id), Some(site)) = (entry.order_id, entry.order_site.clone()) else {
            return Ok(());
        };
        if signalled.contains(&(site.clone(), order_id)) {
            return Ok(());
        }
        let signal = IntakeSignal {
            site: site.clone(),
            order_id,
            source: "poller".into(),
            received_at: now,
        };
        self.queue
            .send(&serde_json::to_string(&signal).expect("a signal serializes"))
            .await?;
        signalled.insert((site, order_id));
        report.signals += 1;
        Ok(())
    }

    /// One scheduled run: the poll, then the SLA sweep (also when the poll failed, so reminders do
    /// not wait for a history hiccup). The first error fails the run; the schedule retries.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<serde_json::Value, PollError> {
        let polled = self.poll(now).await;
        let swept = self.remind(now).await;
        let erased = self.retention(now).await;
        let (polled, swept, erased) = (polled?, swept?, erased?);
        Ok(serde_json::json!({
            "entries": polled.entries,
            "signals": polled.signals,
            "complaintUpdates": polled.complaint_updates,
            "cursor": polled.cursor,
            "ordersFolded": polled.orders_folded,
            "coveredUntil": polled.covered_until,
            "namesLearned": polled.names_learned,
            "complaintsWaiting": swept.waiting,
            "reminders": swept.reminders,
            "retention": erased,
        }))
    }

    /// Once a day (the first run after midnight UTC claims the day): personal data of surveys
    /// ended more than `privacy.contact_retention` ago is erased, and plain do-not-contact
    /// entries of an older build become keyed hashes (the store's `retention_sweep`). On this
    /// schedule rather than one of its own: the poller runs every few minutes anyway, holds the
    /// secret (the contact key) and writes the table, so no new function, role or schedule.
    /// A failed sweep gives the day back, so the next run tries again.
    pub async fn retention(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<otklik_aws::store::RetentionReport>, PollError> {
        let day = now.format("%Y-%m-%d").to_string();
        if !self.store.claim_retention_sweep(&day, now).await? {
            return Ok(None);
        }
        match self
            .store
            .retention_sweep(self.config.privacy.contact_retention, now)
            .await
        {
            Ok(report) => {
                tracing::info!(
                    erased = report.erased,
                    dnc_hashed = report.dnc_hashed,
                    unreadable = report.unreadable,
                    "retention sweep"
                );
                Ok(Some(report))
            }
            Err(e) => {
                let _ = self.store.release_retention_sweep(&day).await;
                Err(e.into())
            }
        }
    }

    /// A history entry that sets the status of a complaint order Otklik opened goes onto that
    /// complaint's track, with the CRM's time of the change. Returns whether it told us anything.
    async fn complaint_status(&self, entry: &HistoryEntry) -> Result<bool, PollError> {
        if entry.order_site.as_deref() != Some(self.config.complaints.site.as_str()) {
            return Ok(false);
        }
        let status = match entry.new_status() {
            Some(s) => s,
            None if entry.created => match entry.order_status.as_deref() {
                Some(s) => s,
                None => return Ok(false),
            },
            None => return Ok(false),
        };
        let (Some(order_id), Some(at)) = (entry.order_id, entry.created_at) else {
            return Ok(false);
        };
        let Some(survey) = self.store.complaint_of_order(order_id).await? else {
            return Ok(false);
        };
        Ok(otklik_app::complaints::observe_statuses(
            &self.store,
            &survey,
            &[(status.to_string(), at)],
            &self.config.complaints,
        )
        .await?)
    }
}

impl Poller<otklik_aws::queue::SqsQueue> {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("history-poller").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        Self::with_crm(p, p.crm()?).await
    }

    /// As [`Self::from_parts`], calling retailCRM through `crm`: a function that runs the pass
    /// besides its own work (survey-dispatch) keeps one client, and so one pacer, per process.
    pub async fn with_crm(
        p: &otklik_app::env::Parts,
        crm: RetailCrm,
    ) -> Result<Self, otklik_app::env::BoxError> {
        let config = p.config.as_ref().clone();
        let clients = &p.clients;
        let names = &p.names;
        Ok(Poller {
            crm,
            store: p.store(),
            queue: otklik_aws::queue::SqsQueue::connect(
                clients.sqs.clone(),
                names,
                &otklik_aws::resources::INTAKE_QUEUE,
            )
            .await?,
            config: std::sync::Arc::new(config),
        })
    }
}
