//! `intake-worker`: turns intake signals into surveys.
//!
//! For each signal (from the trigger webhook or the history poller) it re-reads the order through
//! the retailCRM API (a batch's orders in one list read), asks the core whether and when to survey,
//! persists the survey exactly once (conditional put keyed by the order) and creates its one-time
//! schedule (deterministic name, so a duplicate is "already done"). Orders that get no survey keep
//! the reason.

mod complaints;

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::{decode_records, report};
use otklik_aws::scheduler::SurveyScheduler;
use otklik_aws::store::DynamoStore;
use otklik_core::config::Config;
use otklik_core::intake::{
    customer_key, decide, schedule_may_be_missing, skipped_survey, DispatchRequest, IntakeDecision,
    IntakeOrder, IntakeSignal,
};
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{OrderRef, SkipReason, SurveyId, SurveyState};
use otklik_core::ports::{DoNotContactList, PortError, SurveyStore};
use otklik_core::timing::{ContactHistory, OrderFacts};
use otklik_retailcrm::{CrmError, HistoryQuery, Order, RetailCrm};

/// What happened to one signal (for logs, metrics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A survey was created and scheduled for this send time.
    Scheduled(DateTime<Utc>),
    /// The order already had its survey; its schedule was made sure of.
    AlreadyKnown(SurveyState),
    /// The order is not in a survey status (yet).
    NotNow(String),
    /// The order gets no survey, for this reason.
    Skipped(SkipReason),
    /// The order does not exist (deleted, or a forged id that passed the secret).
    NoSuchOrder,
    /// A complaint order's status was recorded (`changed` = it told us something new).
    ComplaintStatus { status: String, changed: bool },
    /// An order in the complaints site that Otklik did not open: not ours to track.
    NotOurComplaint,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("retailCRM: {0}")]
    Crm(#[from] CrmError),
    #[error("store: {0}")]
    Port(#[from] PortError),
    #[error("bad signal: {0}")]
    BadSignal(String),
}

pub struct Worker {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub scheduler: SurveyScheduler,
    pub config: Arc<Config>,
}

impl Worker {
    async fn ensure_schedule(&self, survey: &Survey) -> Result<(), WorkerError> {
        let tz = self.config.timezone_for_site(survey.order.site());
        let payload = serde_json::to_string(&DispatchRequest::question(&survey.id))
            .expect("a dispatch request serializes");
        let created = self
            .scheduler
            .schedule_once(survey.id.as_str(), survey.send_at, tz, &payload)
            .await?;
        tracing::info!(survey = %survey.id, send_at = %survey.send_at, created, "schedule ensured");
        Ok(())
    }

    /// Handles one signal on its first delivery. Errors are worth a retry (the queue
    /// redelivers); everything final is an `Ok`.
    pub async fn handle(
        &self,
        signal: &IntakeSignal,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        self.handle_received(signal, 1, now).await
    }

    /// Handles one signal on its `receives`-th delivery (SQS's `ApproximateReceiveCount`).
    async fn handle_received(
        &self,
        signal: &IntakeSignal,
        receives: u32,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        match self.before_read(signal, receives, now, None).await? {
            Ready::Done(handled) => Ok(handled),
            Ready::NeedsOrder(order_ref) => self.read_and_decide(&order_ref, receives, now).await,
        }
    }

    /// An order's survey is already there: its schedule is made again only when it may be
    /// missing ([`schedule_may_be_missing`]), never for a duplicate signal after it fired.
    async fn already_known(
        &self,
        existing: &Survey,
        receives: u32,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        if existing.state == SurveyState::Scheduled
            && schedule_may_be_missing(existing.send_at, receives, now)
        {
            self.ensure_schedule(existing).await?;
        }
        Ok(Handled::AlreadyKnown(existing.state.clone()))
    }

    /// Everything about a signal that needs no order: a complaint order's status goes onto its
    /// track, an order that has its survey already is done (its schedule made sure of).
    /// `known`: the batch's surveys, read together ([`DynamoStore::get_surveys`]); `None` reads
    /// this signal's own.
    async fn before_read(
        &self,
        signal: &IntakeSignal,
        receives: u32,
        now: DateTime<Utc>,
        known: Option<&HashMap<SurveyId, Survey>>,
    ) -> Result<Ready, WorkerError> {
        let order_ref = OrderRef::new(&signal.site, signal.order_id)
            .map_err(|e| WorkerError::BadSignal(e.to_string()))?;
        if signal.site == self.config.complaints.site {
            return Ok(Ready::Done(self.track_complaint(signal, now).await?));
        }
        let id = SurveyId::for_order(&order_ref);
        let existing = match known {
            Some(known) => known.get(&id).cloned(),
            None => self.store.get(&id).await?,
        };
        if let Some(existing) = existing {
            // A duplicate signal, or a retry after a crash between the put and the schedule.
            return Ok(Ready::Done(
                self.already_known(&existing, receives, now).await?,
            ));
        }
        Ok(Ready::NeedsOrder(order_ref))
    }

    /// One order read on its own (`GET orders/{id}`), then decided: a single signal's path, and a
    /// batch's for an order its list read did not answer.
    async fn read_and_decide(
        &self,
        order_ref: &OrderRef,
        receives: u32,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        let order = match self.crm.get_order(order_ref.site(), order_ref.id()).await {
            Ok(o) => o,
            Err(CrmError::NotFound(_)) => {
                tracing::warn!(order = %order_ref, "order not found in retailCRM; signal dropped");
                return Ok(Handled::NoSuchOrder);
            }
            Err(e) => return Err(e.into()),
        };
        self.decide_order(order_ref, order, receives, now, None)
            .await
    }

    /// Decides a signal with its order in hand: a survey planned and scheduled, a reason kept for
    /// none, or "not now".
    ///
    /// `history`: the customer's, read with the batch's others ([`Self::histories`]); `None`
    /// reads this order's own.
    async fn decide_order(
        &self,
        order_ref: &OrderRef,
        order: Order,
        receives: u32,
        now: DateTime<Utc>,
        history: Option<ContactHistory>,
    ) -> Result<Handled, WorkerError> {
        let order_ref = order_ref.clone();
        let wants_groups = self
            .config
            .survey
            .rules
            .iter()
            .any(|r| r.product_group.is_some());
        // Product groups cost an extra call; only pay it when a rule looks at them and the order
        // is one we would survey.
        let product_groups = if wants_groups
            && !order.offer_ids.is_empty()
            && self.config.crm.survey_statuses.contains(&order.status)
        {
            self.crm.product_groups_of_offers(&order.offer_ids).await?
        } else {
            Vec::new()
        };
        let intake = IntakeOrder {
            order: order_ref.clone(),
            status: order.status.clone(),
            status_at: order.status_updated_at,
            phones: order.phones.clone(),
            email: order.email.clone(),
            facts: OrderFacts {
                site: order.site.clone(),
                order_type: order.order_type.clone(),
                order_method: order.order_method.clone(),
                delivery_type: order.delivery_type.clone(),
                product_groups,
            },
        };
        let contact = otklik_core::intake::contact_of(&intake, &self.config.default_region);
        let key = customer_key(order.customer_id, &contact);
        let history = match history {
            Some(h) => h,
            None => ContactHistory {
                do_not_contact: self.store.contains(&contact).await?,
                last_surveyed_at: match &key {
                    Some(k) => {
                        self.store
                            .last_surveyed(k, &SurveyId::for_order(&order_ref))
                            .await?
                    }
                    None => None,
                },
            },
        };
        match decide(&intake, &history, &self.config, now) {
            IntakeDecision::NotNow { status } => {
                self.store
                    .note_intake(&order_ref, "status_not_surveyed", &status, now)
                    .await?;
                Ok(Handled::NotNow(status))
            }
            IntakeDecision::Skip { reason, contact } => {
                self.skip(&order_ref, contact, reason, now).await
            }
            IntakeDecision::Plan { survey } => {
                let key = key.expect("a planned survey has a contact");
                let claimed = self
                    .store
                    .claim_customer(
                        &key,
                        &survey.id,
                        survey.send_at,
                        self.config.survey.frequency_cap,
                    )
                    .await?;
                if !claimed {
                    return self
                        .skip(&order_ref, survey.contact, SkipReason::FrequencyCap, now)
                        .await;
                }
                if self.store.create(&survey).await? {
                    tracing::info!(survey = %survey.id, send_at = %survey.send_at, "survey created");
                    self.ensure_schedule(&survey).await?;
                    return Ok(Handled::Scheduled(survey.send_at));
                }
                // Lost a race with a concurrent duplicate: the winner's record stands.
                let existing =
                    self.store.get(&survey.id).await?.ok_or_else(|| {
                        PortError::Conflict(format!("survey {} vanished", survey.id))
                    })?;
                self.already_known(&existing, receives, now).await
            }
        }
    }

    async fn skip(
        &self,
        order: &OrderRef,
        contact: Contact,
        reason: SkipReason,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        let survey = skipped_survey(order, contact, reason.clone(), now);
        self.store.create(&survey).await?;
        tracing::info!(order = %order, reason = %reason, "no survey");
        Ok(Handled::Skipped(reason))
    }

    /// An SQS batch: the orders of every signal that still needs one are read together, one
    /// `GET orders` per hundred ids ([`RetailCrm::orders_lookup`]), and each signal is then decided
    /// with its own order. A signal whose order the list did not answer takes the single-signal path
    /// (its own `GET orders/{id}`: a deleted order is `NoSuchOrder`), so none is dropped; a list
    /// read that fails fails the signals that needed it, and only them. Failures are reported per
    /// message so only they come back; after maxReceiveCount one rests in the DLQ for a redrive.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        const WHAT: &str = "intake signal";
        let mut response = SqsBatchResponse::default();
        let records = decode_records::<IntakeSignal>(event, WHAT, &mut response);
        let known = self.known_surveys(&records).await;
        let mut steps = Vec::with_capacity(records.len());
        for record in &records {
            steps.push(
                self.before_read(&record.item, record.receives, now, known.as_ref())
                    .await,
            );
        }
        let wanted: Vec<u64> = steps
            .iter()
            .filter_map(|s| match s {
                Ok(Ready::NeedsOrder(order)) => Some(order.id()),
                _ => None,
            })
            .collect();
        let mut read = self.crm.orders_lookup(&wanted).await;
        if let Some(Err(e)) = read.values().find(|r| r.is_err()) {
            tracing::warn!(error = %e, "orders list read failed; its signals will be redelivered");
        }
        let mut histories = self.histories(&read).await;
        for (record, step) in records.iter().zip(steps) {
            let outcome = match step {
                Err(e) => Err(e),
                Ok(Ready::Done(handled)) => Ok(handled),
                Ok(Ready::NeedsOrder(order_ref)) => match read.remove(&order_ref.id()) {
                    // A second signal of the same order in this batch (taken out of the map by
                    // the first): it goes the single-signal way, which finds what the first did.
                    None => {
                        self.handle_received(&record.item, record.receives, now)
                            .await
                    }
                    Some(Err(e)) => Err(e.into()),
                    // An order id is the account's, not the site's: one of another site is not
                    // this signal's order, as `orders/{id}?site=` would have said.
                    Some(Ok(Some(order))) if order.site == order_ref.site() => {
                        let history = histories.remove(&order.id);
                        self.decide_order(&order_ref, order, record.receives, now, history)
                            .await
                    }
                    Some(Ok(_)) => {
                        tracing::info!(order = %order_ref, "order not in the list; read alone");
                        self.read_and_decide(&order_ref, record.receives, now).await
                    }
                },
            };
            if let Ok(handled) = &outcome {
                record_metrics(handled);
            }
            report(&mut response, WHAT, &record.id, &outcome);
        }
        response
    }
}

impl Worker {
    /// The customers' histories of the orders a batch's list read answered, read together
    /// ([`DynamoStore::contact_histories`]), by order id: empty if that failed, and each order
    /// then reads its own.
    async fn histories(
        &self,
        read: &HashMap<u64, Result<Option<Order>, CrmError>>,
    ) -> HashMap<u64, ContactHistory> {
        let orders: Vec<&Order> = read
            .values()
            .filter_map(|r| r.as_ref().ok()?.as_ref())
            .collect();
        let wanted: Vec<_> = orders
            .iter()
            .filter_map(|o| {
                let order_ref = OrderRef::new(&o.site, o.id).ok()?;
                let contact = otklik_core::intake::contact_from(
                    &o.phones,
                    o.email.as_deref(),
                    &self.config.default_region,
                );
                let key = customer_key(o.customer_id, &contact);
                Some((o.id, (contact, key, SurveyId::for_order(&order_ref))))
            })
            .collect();
        if wanted.is_empty() {
            return HashMap::new();
        }
        let (ids, wanted): (Vec<u64>, Vec<_>) = wanted.into_iter().unzip();
        match self.store.contact_histories(&wanted).await {
            Ok(found) => ids.into_iter().zip(found).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the batch's customers not read together; each reads its own");
                HashMap::new()
            }
        }
    }

    /// The surveys of a batch's orders read together (at a peak every order has two signals,
    /// the trigger's and the poller's): `None` if that failed.
    async fn known_surveys(
        &self,
        records: &[otklik_app::batch::Record<IntakeSignal>],
    ) -> Option<HashMap<SurveyId, Survey>> {
        let ids: Vec<SurveyId> = records
            .iter()
            .filter(|r| r.item.site != self.config.complaints.site)
            .filter_map(|r| OrderRef::new(&r.item.site, r.item.order_id).ok())
            .map(|o| SurveyId::for_order(&o))
            .collect();
        otklik_app::batch::surveys_together(&self.store, &ids).await
    }
}

/// Where a signal stands before its order is read.
enum Ready {
    /// Nothing more to do.
    Done(Handled),
    /// Its order is needed to decide.
    NeedsOrder(OrderRef),
}

/// Surveys created, and skips by reason.
fn record_metrics(handled: &Handled) {
    match handled {
        Handled::Scheduled(_) => otklik_metrics::incr(&otklik_metrics::SURVEYS_CREATED, &[]),
        Handled::Skipped(reason) => otklik_metrics::incr(
            &otklik_metrics::SURVEYS_SKIPPED,
            &[("Reason", &reason.to_string())],
        ),
        _ => {}
    }
}

impl Worker {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("intake-worker").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let config = p.config.as_ref().clone();
        let clients = &p.clients;
        let names = &p.names;
        Ok(Worker {
            crm: p.crm()?,
            store: p.store(),
            scheduler: otklik_aws::scheduler::from_env(clients, names).await?,
            config: Arc::new(config),
        })
    }
}
