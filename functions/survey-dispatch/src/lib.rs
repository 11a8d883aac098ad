//! `survey-dispatch`: sends the question when its schedule fires.
//!
//! The one-time schedule puts `{"surveyId": …}` on the dispatch queue. For each message we load
//! the survey, re-read the order (a batch's orders in one list read; cancelled or returned since →
//! skipped), snapshot everyone who worked on it (SPEC §6) from the history poller's fold of the
//! stream (while no pass covers the order yet: with the stream's tail past the poller's cursor,
//! read once for a batch, or else from the order's own history), choose the channel,
//! and send — at most once whatever the redeliveries, because a conditional "send claim" is taken
//! before the provider is called. A fallback down the chain after a failed delivery comes through
//! the same queue with its `"channel"`, and the one reminder with `"reminder": true` from a
//! schedule made at the first send (`remind.rs`).

mod remind;
mod send;

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::{decode_records, report};
use otklik_app::engine::Engine;
use otklik_app::max::{chat_of, ChatError};
use otklik_aws::store::{DynamoStore, SendClaim};
use otklik_core::config::Config;
use otklik_core::dispatch::{channels_to_try, employees_of, OrderChange};
use otklik_core::email::{survey_email, to_mime};
use otklik_core::history::{covers, employees_among, Coverage};
use otklik_core::links::ShortLinkId;
use otklik_core::links::{opt_out_link, rating_links, LinkSigner};
use otklik_core::machine::{Contact, Input, Survey};
use otklik_core::model::{Channel, EmployeeId, SkipReason, SurveyId, SurveyState};
use otklik_core::ports::{DoNotContactList, PortError, SurveyStore};
use otklik_core::sms::request_sms;
use otklik_core::texts::{Ask, Texts};
use otklik_messaging::max::MaxClient;
use otklik_messaging::sms::{Sms, SmsSender};
use otklik_messaging::{SendError, SesMailer, Whatsapp};

use otklik_retailcrm::{CrmError, HistoryEntry, HistoryQuery, Order, RetailCrm};

/// A message on the dispatch queue: from a schedule, or (with a channel) an email fallback the
/// state machine asked for after a WhatsApp failure.
pub use otklik_core::intake::DispatchRequest as DispatchMessage;

/// What happened to one dispatch message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    Sent {
        channel: Channel,
        message_id: String,
    },
    /// The survey is past sending (a redelivery, or already skipped): nothing to do.
    NothingToDo(String),
    Skipped(SkipReason),
    Failed(String),
    /// Another delivery of this message holds the send claim: we send nothing.
    AlreadyClaimed,
    /// The one reminder went out.
    Reminded {
        channel: Channel,
        message_id: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("retailCRM: {0}")]
    Crm(#[from] CrmError),
    #[error("store: {0}")]
    Port(#[from] PortError),
    #[error("provider: {0}")]
    Send(#[from] SendError),
    #[error("bad message: {0}")]
    BadMessage(String),
}

impl From<ChatError> for DispatchError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Port(e) => DispatchError::Port(e),
            ChatError::Send(e) => DispatchError::Send(e),
        }
    }
}

pub struct Dispatcher {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub whatsapp: Whatsapp,
    /// `None` when the installation has no `[max]`.
    pub max: Option<MaxClient>,
    /// The MAX instance's last known state: when it was asked, and whether it can send.
    pub max_state: std::sync::Mutex<Option<(DateTime<Utc>, bool)>>,
    /// Whether this process has made sure the MAX instance paces its sends (`max.send_interval`).
    pub max_paced: std::sync::atomic::AtomicBool,
    /// `None` when the installation has no `[sms]`.
    pub sms: Option<Sms>,
    pub mailer: SesMailer,
    /// Makes the reminder's schedule; `None` when reminders are off.
    pub scheduler: Option<otklik_aws::scheduler::SurveyScheduler>,
    pub texts: Texts,
    pub signer: LinkSigner,
    pub config: Arc<Config>,
    /// The history pass this function runs itself when a batch's orders are past the stream's
    /// coverage. The poller's own code: pages folded, signals queued, the cursor moved.
    pub pass: otklik_history_poller::Poller<otklik_aws::queue::SqsQueue>,
    /// One pass of this instance at a time: a batch beside one that is passing waits for it and
    /// then finds its orders covered.
    pub pass_turn: tokio::sync::Mutex<()>,
    /// The one door for a survey's changes. Its queues are the dispatch queue alone: the only
    /// effect a dispatch input can have is the question on the next channel (a failure the
    /// provider reported before the send was recorded; a fallback to a messenger the customer
    /// has no account on). With no queue it stayed in the survey's outbox, and the customer
    /// never got the next channel.
    pub engine: Engine,
}

impl Dispatcher {
    async fn apply(
        &self,
        survey: &Survey,
        input: Input,
        now: DateTime<Utc>,
    ) -> Result<Survey, DispatchError> {
        Ok(self
            .engine
            .apply_to(survey.clone(), &input, now)
            .await?
            .survey)
    }

    /// Everyone who worked the order (SPEC §6). From the poller's fold when the stream covers the
    /// order's move into its status; otherwise from the order's own history, read now — never
    /// both, and never a wait: a question is not held back for the next scheduled pass. A batch
    /// with several such orders runs the pass first ([`Self::pass_for`]), so they find the fold.
    /// Either way the same set: `employees_among` over the fold is `employees_of` over the
    /// history.
    ///
    /// `seen`: the coverage a batch read last. Coverage only moves forward, so one that covers
    /// the order still does; one that does not is read again before the order's history is, so a
    /// batch reads it once, not once per order, and never reads a history it need not.
    async fn employees(
        &self,
        order: &Order,
        seen: &mut Option<Coverage>,
        now: DateTime<Utc>,
        pre: Option<&Prefetched>,
    ) -> Result<Vec<EmployeeId>, DispatchError> {
        let covered =
            |c: Option<&Coverage>| covers(c, order.created_at, order.status_updated_at, now);
        if !covered(seen.as_ref()) {
            *seen = self.store.coverage(otklik_core::history::STREAM).await?;
        }
        if covered(seen.as_ref()) {
            // Read with the batch's others only if it was covered already then (see Prefetched).
            let worked = match pre.and_then(|p| p.worked.get(&order.id)) {
                Some(w) => w.clone(),
                None => self.store.worked_on(order.id).await?,
            };
            Ok(employees_among(order.manager_id, &worked))
        } else {
            let history = self.history(order.id).await?;
            Ok(employees_of(order.manager_id, &history))
        }
    }

    async fn history(&self, order_id: u64) -> Result<Vec<OrderChange>, CrmError> {
        let mut all = Vec::new();
        let mut since = None;
        // At most 10 pages: an order with more than 1000 changes is not a real order.
        for _ in 0..10 {
            let page = self
                .crm
                .history(&HistoryQuery {
                    since_id: since,
                    order_id: Some(order_id),
                    start_date: None,
                    limit: 100,
                    page: 1,
                })
                .await?;
            let n = page.entries.len();
            since = page.entries.iter().map(|e| e.id).max().or(since);
            all.extend(page.entries.iter().map(HistoryEntry::change));
            if n < 100 {
                break;
            }
        }
        Ok(all)
    }

    /// Handles one dispatch message.
    pub async fn handle(
        &self,
        msg: &DispatchMessage,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, DispatchError> {
        match self.load(msg, now, None).await? {
            Loaded::Done(d) => Ok(d),
            Loaded::Ask(survey) => {
                let order = self.read_order(&survey).await?;
                self.ask(*survey, order, &mut None, now, None).await
            }
        }
    }

    /// Everything a message needs before its order: the survey loaded, and a fallback or a
    /// reminder sent on its own path (neither reads the order). `Ask` is a first question still
    /// to send. `known`: the batch's surveys, read together ([`DynamoStore::get_surveys`]);
    /// `None` reads this message's own.
    async fn load(
        &self,
        msg: &DispatchMessage,
        now: DateTime<Utc>,
        known: Option<&HashMap<SurveyId, Survey>>,
    ) -> Result<Loaded, DispatchError> {
        let id = SurveyId::parse(&msg.survey_id)
            .map_err(|e| DispatchError::BadMessage(e.to_string()))?;
        let survey = match known {
            Some(known) => known.get(&id).cloned(),
            None => self.store.get(&id).await?,
        };
        let Some(survey) = survey else {
            return Ok(Loaded::Done(Dispatched::NothingToDo(
                "no such survey".into(),
            )));
        };
        if let Some(channel) = msg.channel {
            return Ok(Loaded::Done(self.fallback(survey, channel, now).await?));
        }
        if msg.reminder {
            return Ok(Loaded::Done(self.remind(survey, msg.due_at, now).await?));
        }
        if survey.state != SurveyState::Scheduled {
            self.apply_kept_failure(&survey, now).await?;
            return Ok(Loaded::Done(Dispatched::NothingToDo(
                survey.state.name().into(),
            )));
        }
        Ok(Loaded::Ask(Box::new(survey)))
    }

    /// The survey's order on its own (`GET orders/{id}`); `None` when retailCRM has none.
    async fn read_order(&self, survey: &Survey) -> Result<Option<Order>, DispatchError> {
        match self
            .crm
            .get_order(survey.order.site(), survey.order.id())
            .await
        {
            Ok(o) => Ok(Some(o)),
            Err(CrmError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The first question, with the order as read just now (`None`: gone from the CRM).
    /// `seen`: the history's coverage as last read in this batch ([`Self::employees`]).
    /// `pre`: what the batch read together for its questions; `None` reads this one's own.
    async fn ask(
        &self,
        survey: Survey,
        order: Option<Order>,
        seen: &mut Option<Coverage>,
        now: DateTime<Utc>,
        pre: Option<&Prefetched>,
    ) -> Result<Dispatched, DispatchError> {
        let id = survey.id.clone();
        let cancelled = order
            .as_ref()
            .is_none_or(|o| self.config.crm.cancel_statuses.contains(&o.status));
        if cancelled {
            let reason = SkipReason::OrderCancelled;
            self.apply(&survey, Input::skip(reason.clone()), now)
                .await?;
            tracing::info!(survey = %id, "order cancelled or gone before sending; skipped");
            return Ok(Dispatched::Skipped(reason));
        }
        let do_not_contact = match pre.and_then(|p| p.do_not_contact.get(&survey.id)) {
            Some(listed) => *listed,
            None => self.store.contains(&survey.contact).await?,
        };
        if do_not_contact {
            let reason = SkipReason::DoNotContact;
            self.apply(&survey, Input::skip(reason.clone()), now)
                .await?;
            return Ok(Dispatched::Skipped(reason));
        }
        let order = order.expect("checked above");
        let employees = self.employees(&order, seen, now, pre).await?;
        // Saved before the send: if this delivery dies after the provider took the question,
        // whoever records the send later (the redelivery, or the customer's answer overtaking it)
        // finds the people to credit already on the survey. Another delivery of the same dispatch
        // may save first; the engine then decides again on what it saved, and the claim below
        // decides which of us sends.
        let chain = self.candidates(&survey, self.max_up(now).await);
        let survey = self
            .apply(&survey, Input::prepared(employees, chain), now)
            .await?;
        if survey.state != SurveyState::Scheduled {
            return Ok(Dispatched::NothingToDo(survey.state.name().into()));
        }

        let channel = self.choose_channel(&survey, now).await?;
        let Some(channel) = channel else {
            let decided = self
                .apply(&survey, Input::skip(SkipReason::NoContact), now)
                .await?;
            return Ok(Dispatched::Skipped(match decided.state {
                SurveyState::Skipped { reason } => reason,
                _ => SkipReason::NoContact,
            }));
        };
        self.send(survey, channel, now).await
    }

    /// An SQS batch with per-message failures. The surveys are loaded first; the orders of the
    /// first questions among them are then read together, one `GET orders` per hundred
    /// ([`RetailCrm::orders_lookup`]), and each question is sent with its own order. A survey
    /// whose order the list did not answer reads it on its own (gone → skipped as cancelled), so
    /// none is dropped; a list read that fails fails the messages that needed it, and only them.
    /// Fallbacks and reminders need no order and keep their path.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        const WHAT: &str = "dispatch";
        let mut response = SqsBatchResponse::default();
        let records = decode_records::<DispatchMessage>(event, WHAT, &mut response);
        // The batch's surveys read together, not one read per message.
        let ids: Vec<SurveyId> = records
            .iter()
            .filter_map(|r| SurveyId::parse(&r.item.survey_id).ok())
            .collect();
        let known = otklik_app::batch::surveys_together(&self.store, &ids).await;
        let mut steps = Vec::with_capacity(records.len());
        let mut loaded = std::collections::HashSet::new();
        for record in &records {
            // A survey's second message in the batch reads it afresh: the first may have sent a
            // fallback or a reminder meanwhile.
            let first = loaded.insert(record.item.survey_id.as_str());
            let known = known.as_ref().filter(|_| first);
            steps.push(self.load(&record.item, now, known).await);
        }
        let wanted: Vec<u64> = steps
            .iter()
            .filter_map(|s| match s {
                Ok(Loaded::Ask(survey)) => Some(survey.order.id()),
                _ => None,
            })
            .collect();
        let mut read = self.crm.orders_lookup(&wanted).await;
        if let Some(Err(e)) = read.values().find(|r| r.is_err()) {
            tracing::warn!(error = %e, "orders list read failed; its messages come back");
        }
        // The coverage as the pass left it: the batch's questions read it again only when it does
        // not cover their order.
        let mut seen = self.pass_for(&read, now).await;
        let pre = self.prefetch(&steps, &read, &mut seen, now).await;
        for (record, step) in records.iter().zip(steps) {
            let outcome = match step {
                Err(e) => Err(e),
                Ok(Loaded::Done(d)) => Ok(d),
                Ok(Loaded::Ask(survey)) => match read.remove(&survey.order.id()) {
                    // The same survey twice in one batch (the first took the order out of the
                    // map): the single-message path reloads it and finds what the first did.
                    None => self.handle(&record.item, now).await,
                    Some(Err(e)) => Err(e.into()),
                    // An order id is the account's: one of another site is not this survey's.
                    Some(Ok(Some(order))) if order.site == survey.order.site() => {
                        self.ask(*survey, Some(order), &mut seen, now, Some(&pre))
                            .await
                    }
                    Some(Ok(_)) => {
                        tracing::info!(survey = %survey.id, "order not in the list; read alone");
                        match self.read_order(&survey).await {
                            Ok(order) => self.ask(*survey, order, &mut seen, now, Some(&pre)).await,
                            Err(e) => Err(e),
                        }
                    }
                },
            };
            if let Ok(d) = &outcome {
                record_metrics(d);
            }
            report(&mut response, WHAT, &record.id, &outcome);
        }
        response
    }
}

/// What a batch reads together for its first questions, where each question read its own: at a
/// December peak that was two requests per question, one after another, in batches of a hundred.
#[derive(Debug, Default)]
struct Prefetched {
    /// Each question's customer on the do-not-contact list, as the batch began: a request per
    /// question made it a few milliseconds fresher, a batch's time at most.
    do_not_contact: HashMap<SurveyId, bool>,
    /// The people kept for each order the history's coverage held when the batch read them. Only
    /// those: the people of an order covered later may have been added after this read.
    worked: HashMap<u64, std::collections::BTreeSet<u64>>,
}

impl Dispatcher {
    /// Reads, together, what the batch's first questions need of the table: their customers on
    /// the do-not-contact list, and the people of their orders the coverage holds (read once
    /// here if the pass left it unread). A read that fails leaves its part empty, and each
    /// question then reads its own.
    async fn prefetch(
        &self,
        steps: &[Result<Loaded, DispatchError>],
        read: &HashMap<u64, Result<Option<Order>, CrmError>>,
        seen: &mut Option<Coverage>,
        now: DateTime<Utc>,
    ) -> Prefetched {
        let asked: Vec<&Survey> = steps
            .iter()
            .filter_map(|s| match s {
                Ok(Loaded::Ask(survey)) => Some(survey.as_ref()),
                _ => None,
            })
            .collect();
        let mut pre = Prefetched::default();
        if asked.is_empty() {
            return pre;
        }
        let contacts: Vec<Contact> = asked.iter().map(|s| s.contact.clone()).collect();
        match self.store.contains_many(&contacts).await {
            Ok(listed) => {
                pre.do_not_contact = asked.iter().map(|s| s.id.clone()).zip(listed).collect();
            }
            Err(e) => tracing::warn!(error = %e, "the batch's customers not checked together"),
        }
        if seen.is_none() {
            match self.store.coverage(otklik_core::history::STREAM).await {
                Ok(c) => *seen = c,
                Err(e) => tracing::warn!(error = %e, "history coverage not read"),
            }
        }
        let covered: Vec<u64> = read
            .values()
            .filter_map(|r| r.as_ref().ok()?.as_ref())
            .filter(|o| covers(seen.as_ref(), o.created_at, o.status_updated_at, now))
            .map(|o| o.id)
            .collect();
        if !covered.is_empty() {
            match self.store.worked_on_many(&covered).await {
                Ok(worked) => pre.worked = worked,
                Err(e) => {
                    tracing::warn!(error = %e, "the batch's orders' people not read together")
                }
            }
        }
        pre
    }

    /// Runs the history pass for a batch, when it saves reads: at least [`PASS_AT_LEAST`] of the
    /// batch's orders (found, not cancelled) are past the stream's coverage, each of which would
    /// otherwise read its own history. The pass is the poller's own (its pages folded, its
    /// signals queued, its cursor moved), so the stream is still read once for everyone: the
    /// next scheduled pass starts where this one stopped. A pass that another one overtook (the
    /// cursor moved under it) is run again from the new cursor, at most [`PASS_TRIES`] times;
    /// orders still not covered after that, or after a failed pass, read their own history.
    /// Returns the coverage it read last when no pass ran after it (`None` otherwise).
    async fn pass_for(
        &self,
        read: &std::collections::HashMap<u64, Result<Option<Order>, CrmError>>,
        now: DateTime<Utc>,
    ) -> Option<Coverage> {
        let cancel = &self.config.crm.cancel_statuses;
        let orders: Vec<&Order> = read
            .values()
            .filter_map(|r| r.as_ref().ok().and_then(Option::as_ref))
            .filter(|o| !cancel.contains(&o.status))
            .collect();
        let _turn = self.pass_turn.lock().await;
        for _ in 0..PASS_TRIES {
            let coverage = match self.store.coverage(otklik_core::history::STREAM).await {
                Ok(Some(c)) => c,
                // Never read: a first pass would look back a day, not a batch's work.
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "history coverage not read");
                    return None;
                }
            };
            // Orders a pass starting now could cover and the stored coverage does not: one
            // completed within the slack of now, or created before the stream was first read,
            // reads its own history whatever a pass does.
            let reach = Coverage {
                until: Utc::now(),
                ..coverage
            };
            let wanted = orders
                .iter()
                .filter(|o| !covers(Some(&coverage), o.created_at, o.status_updated_at, now))
                .filter(|o| covers(Some(&reach), o.created_at, o.status_updated_at, now))
                .count();
            if wanted < PASS_AT_LEAST {
                return Some(coverage);
            }
            match self.pass.poll(Utc::now()).await {
                // Coverage is looked at again above: a pass that reached the end of the stream
                // covers them, one that was overtaken goes on from the new cursor.
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "history pass failed; orders read their own history");
                    return None;
                }
            }
        }
        None
    }
}

/// Uncovered orders in a batch from which running the pass pays: for one, its own history is one
/// read and certain.
pub const PASS_AT_LEAST: usize = 2;
/// Passes one batch runs before its uncovered orders read their own history.
pub const PASS_TRIES: usize = 3;

/// Where a dispatch message stands before its order is read.
enum Loaded {
    /// Nothing more to do: no survey, past sending, or a fallback or reminder already handled.
    Done(Dispatched),
    /// A first question to send, once its order is read (boxed: a survey is large).
    Ask(Box<Survey>),
}

/// Questions sent by channel, skips by reason, and questions that could not be sent.
fn record_metrics(d: &Dispatched) {
    use otklik_metrics as m;
    match d {
        Dispatched::Sent { channel, .. } => {
            m::incr(&m::SURVEYS_SENT, &[("Channel", &channel.to_string())])
        }
        Dispatched::Skipped(reason) => {
            m::incr(&m::SURVEYS_SKIPPED, &[("Reason", &reason.to_string())])
        }
        Dispatched::Reminded { channel, .. } => {
            m::incr(&m::REMINDERS_SENT, &[("Channel", &channel.to_string())])
        }
        // Counted by the engine, when the survey's save turns it `failed`.
        Dispatched::Failed(_) | Dispatched::NothingToDo(_) | Dispatched::AlreadyClaimed => {}
    }
}

impl Dispatcher {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("survey-dispatch").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        let clients = &p.clients;
        let crm = p.crm()?;
        // The pass calls retailCRM through this function's one client: one pacer per process.
        let pass = otklik_history_poller::Poller::with_crm(p, crm.clone()).await?;
        Ok(Dispatcher {
            crm,
            store: p.store(),
            whatsapp: Whatsapp::from_config(&config, secrets),
            max: MaxClient::from_config(&config, secrets),
            max_state: std::sync::Mutex::new(None),
            max_paced: std::sync::atomic::AtomicBool::new(false),
            sms: Sms::from_config(&config, secrets),
            mailer: SesMailer::new(aws_sdk_sesv2::Client::new(&clients.sdk)),
            scheduler: match config.survey.reminder_after {
                Some(_) => Some(otklik_aws::scheduler::from_env(clients, &p.names).await?),
                None => None,
            },
            texts: Texts::from_config(&config.texts)?,
            signer: LinkSigner::new(secrets.link_secret()?.expose().as_bytes()),
            config: Arc::new(config),
            pass,
            pass_turn: tokio::sync::Mutex::new(()),
            engine: p.dispatch_engine().await?,
        })
    }
}
