//! The shared simulator handle: configuration, the number books, the record of sends, statistics,
//! and the webhook calls (customer answers and delivery statuses). Tests hold a [`Sim`] to set up
//! and inspect the simulator without going through HTTP. The SMS side's methods are in `smsru.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::faults::{self, Fault, ProviderFaults};
use crate::model::{
    self, Answer, ChatLine, Delivered, MaxBook, NumberBook, Provider, Reply, SentMessage, SimError,
    SmsBook, SmsRecord, Stats, StatusUpdate, WebhookDelivery,
};
use crate::webhook::{self, Auth};
use crate::{green_api, max, meta, SimConfig};

/// Webhook calls kept in the statistics; older ones are dropped.
const MAX_DELIVERIES: usize = 500;
/// More repetitions than this are a typo, not a test of deduplication.
const MAX_TIMES: u32 = 100;
/// `settle` gives up after this long: a receiver that hangs must not hang the test forever.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// A partial update of [`SimConfig`] (`PUT /sim/config`): absent fields keep their value; an
/// empty webhook URL switches that provider's webhook off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigPatch {
    pub meta_token: Option<String>,
    pub meta_phone_number_id: Option<String>,
    pub meta_business_account_id: Option<String>,
    pub green_api_instance: Option<String>,
    pub green_api_token: Option<String>,
    pub business_phone: Option<String>,
    pub meta_webhook_url: Option<String>,
    pub meta_app_secret: Option<String>,
    pub green_api_webhook_url: Option<String>,
    pub green_api_webhook_token: Option<String>,
    pub auto_statuses: Option<bool>,
    pub duplicate_statuses: Option<u32>,
    pub status_delay_ms: Option<u64>,
    pub reverse_statuses: Option<bool>,
    pub webhook_retries: Option<u32>,
    pub max_instance: Option<String>,
    pub max_token: Option<String>,
    pub max_webhook_url: Option<String>,
    pub max_webhook_token: Option<String>,
    pub smsru_api_id: Option<String>,
    pub smsru_callback_url: Option<String>,
    pub smsru_senders: Option<Vec<String>>,
}

fn webhook_url(value: String, key: &str) -> Result<Option<String>, SimError> {
    if value.is_empty() {
        Ok(None)
    } else if value.starts_with("http://") || value.starts_with("https://") {
        Ok(Some(value))
    } else {
        Err(SimError::bad(format!(
            "{key} must be an http:// or https:// URL (or \"\" to switch it off)"
        )))
    }
}

impl ConfigPatch {
    fn apply(self, config: &mut SimConfig) -> Result<(), SimError> {
        // Validate everything before changing anything: a refused patch leaves no half-update.
        let meta_url = self
            .meta_webhook_url
            .map(|u| webhook_url(u, "metaWebhookUrl"))
            .transpose()?;
        let green_url = self
            .green_api_webhook_url
            .map(|u| webhook_url(u, "greenApiWebhookUrl"))
            .transpose()?;
        let max_url = self
            .max_webhook_url
            .map(|u| webhook_url(u, "maxWebhookUrl"))
            .transpose()?;
        let sms_url = self
            .smsru_callback_url
            .map(|u| webhook_url(u, "smsruCallbackUrl"))
            .transpose()?;
        if self.duplicate_statuses.is_some_and(|n| n > MAX_TIMES) {
            return Err(SimError::bad(format!(
                "duplicateStatuses must be at most {MAX_TIMES}"
            )));
        }
        if self.webhook_retries.is_some_and(|n| n > MAX_TIMES) {
            return Err(SimError::bad(format!(
                "webhookRetries must be at most {MAX_TIMES}"
            )));
        }
        if let Some(phone) = &self.business_phone {
            if model::digits(phone).is_empty() {
                return Err(SimError::bad("businessPhone must contain digits"));
            }
        }
        let set = |slot: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut config.meta_token, self.meta_token);
        set(&mut config.meta_phone_number_id, self.meta_phone_number_id);
        set(
            &mut config.meta_business_account_id,
            self.meta_business_account_id,
        );
        set(&mut config.green_api_instance, self.green_api_instance);
        set(&mut config.green_api_token, self.green_api_token);
        set(
            &mut config.business_phone,
            self.business_phone.map(|p| model::digits(&p)),
        );
        set(&mut config.meta_app_secret, self.meta_app_secret);
        set(
            &mut config.green_api_webhook_token,
            self.green_api_webhook_token,
        );
        if let Some(url) = meta_url {
            config.meta_webhook_url = url;
        }
        if let Some(url) = green_url {
            config.green_api_webhook_url = url;
        }
        if let Some(url) = max_url {
            config.max_webhook_url = url;
        }
        if let Some(url) = sms_url {
            config.smsru_callback_url = url;
        }
        set(&mut config.max_instance, self.max_instance);
        set(&mut config.max_token, self.max_token);
        set(&mut config.max_webhook_token, self.max_webhook_token);
        set(&mut config.smsru_api_id, self.smsru_api_id);
        if let Some(senders) = self.smsru_senders {
            config.smsru_senders = senders;
        }
        if let Some(v) = self.auto_statuses {
            config.auto_statuses = v;
        }
        if let Some(v) = self.duplicate_statuses {
            config.duplicate_statuses = v;
        }
        if let Some(v) = self.status_delay_ms {
            config.status_delay_ms = v;
        }
        if let Some(v) = self.reverse_statuses {
            config.reverse_statuses = v;
        }
        if let Some(v) = self.webhook_retries {
            config.webhook_retries = v;
        }
        Ok(())
    }
}

pub(crate) struct State {
    pub config: SimConfig,
    pub numbers: NumberBook,
    pub messages: Vec<SentMessage>,
    pub stats: Stats,
    pub max_numbers: MaxBook,
    /// `stateInstance` of the MAX instance.
    pub max_state: String,
    /// The MAX instance's `delaySendMessagesMilliseconds` and how often `setSettings` changed it.
    pub max_pace: (u64, u32),
    /// MAX chat ids the gateway has handed out (`checkAccount`, customers writing), to phones.
    pub max_chats: HashMap<String, String>,
    /// What customers wrote on MAX, by phone, oldest first.
    pub max_inbound: Vec<(String, ChatLine)>,
    /// The latest status posted for each of our messages, by message id.
    pub statuses: HashMap<String, String>,
    pub sms: Vec<SmsRecord>,
    pub sms_numbers: SmsBook,
    /// The next SMS.ru `sms_id` number.
    pub sms_seq: u64,
    /// Injected failures of MAX and SMS.ru sends, and the draws deciding them.
    pub faults: ProviderFaults,
    pub fault_rng: fastrand::Rng,
    /// Message templates created through `POST /{version}/{WABA-ID}/message_templates`.
    pub templates: Vec<Template>,
}

/// A message template as the simulated account holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    /// Always `PENDING`: the simulator reviews nothing.
    pub status: String,
    /// The `components` array as it was sent.
    pub components: Value,
}

impl State {
    fn new(config: SimConfig) -> State {
        State {
            config,
            numbers: NumberBook::default(),
            messages: Vec::new(),
            stats: Stats::default(),
            max_numbers: MaxBook::default(),
            max_state: "authorized".into(),
            max_pace: (max::DEFAULT_SEND_DELAY_MS, 0),
            max_chats: HashMap::new(),
            max_inbound: Vec::new(),
            statuses: HashMap::new(),
            sms: Vec::new(),
            sms_numbers: SmsBook::default(),
            sms_seq: 1_000_001,
            faults: ProviderFaults::default(),
            fault_rng: fastrand::Rng::with_seed(0),
            templates: Vec::new(),
        }
    }
}

struct Inner {
    /// What `reset` returns to.
    initial: SimConfig,
    state: Mutex<State>,
    client: reqwest::Client,
    /// Automatic status tasks not finished yet.
    pending: AtomicU64,
}

/// A shared handle on the simulator; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        Sim {
            inner: Arc::new(Inner {
                initial: config.clone(),
                state: Mutex::new(State::new(config)),
                client: webhook::client(),
                pending: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the whole simulator down with a poisoned lock.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current configuration.
    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    /// Changes the fields present in `patch`; nothing changes if any of them is invalid.
    pub fn update_config(&self, patch: ConfigPatch) -> Result<SimConfig, SimError> {
        let mut st = self.lock();
        let mut config = st.config.clone();
        patch.apply(&mut config)?;
        st.config = config.clone();
        Ok(config)
    }

    /// Where Meta webhooks go and the app secret that signs them.
    pub fn set_meta_webhook(&self, url: &str, app_secret: &str) -> Result<(), SimError> {
        self.update_config(ConfigPatch {
            meta_webhook_url: Some(url.to_owned()),
            meta_app_secret: Some(app_secret.to_owned()),
            ..ConfigPatch::default()
        })
        .map(drop)
    }

    /// Where Green-API webhooks go and the token they carry (`""`: no `Authorization` header).
    pub fn set_green_api_webhook(&self, url: &str, token: &str) -> Result<(), SimError> {
        self.update_config(ConfigPatch {
            green_api_webhook_url: Some(url.to_owned()),
            green_api_webhook_token: Some(token.to_owned()),
            ..ConfigPatch::default()
        })
        .map(drop)
    }

    pub fn numbers(&self) -> NumberBook {
        self.lock().numbers.clone()
    }

    /// Replaces the number book.
    pub fn set_numbers(&self, numbers: NumberBook) {
        self.lock().numbers = numbers;
    }

    pub fn has_whatsapp(&self, number: &str) -> bool {
        self.lock().numbers.has_whatsapp(number)
    }

    /// Every accepted send, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.lock().messages.clone()
    }

    /// Every message template created, oldest first.
    pub fn templates(&self) -> Vec<Template> {
        self.lock().templates.clone()
    }

    pub fn clear_messages(&self) {
        self.lock().messages.clear();
    }

    /// Forgets sends, SMS, numbers, the MAX state and statistics and returns to the configuration
    /// the simulator started with. Status webhooks already scheduled still go out.
    pub fn reset(&self) {
        *self.lock() = State::new(self.inner.initial.clone());
    }

    /// The injected failures of MAX and SMS.ru sends now.
    pub fn faults(&self) -> ProviderFaults {
        self.lock().faults.clone()
    }

    /// Replaces the injected failures of MAX and SMS.ru sends (the default: none) and reseeds
    /// their draws.
    pub fn set_faults(&self, faults: ProviderFaults) -> Result<(), SimError> {
        faults.check().map_err(SimError::bad)?;
        let mut st = self.lock();
        st.fault_rng = fastrand::Rng::with_seed(faults.seed);
        st.faults = faults;
        Ok(())
    }

    /// The fault for the next MAX or SMS.ru send, counted.
    pub(crate) fn draw_fault(&self) -> Fault {
        let mut st = self.lock();
        let st = &mut *st;
        let fault = faults::draw(&st.faults, &mut st.fault_rng);
        let counts = &mut st.stats.provider_faults;
        match fault {
            Fault::None => {}
            Fault::Refuse => counts.refused += 1,
            Fault::AcceptThenError => counts.accepted_then_error += 1,
            Fault::AcceptThenHold(_) => counts.accepted_then_held += 1,
        }
        fault
    }

    /// Where MAX webhooks go and the bearer token they carry (`""`: no `Authorization` header).
    pub fn set_max_webhook(&self, url: &str, token: &str) -> Result<(), SimError> {
        self.update_config(ConfigPatch {
            max_webhook_url: Some(url.to_owned()),
            max_webhook_token: Some(token.to_owned()),
            ..ConfigPatch::default()
        })
        .map(drop)
    }

    pub fn max_numbers(&self) -> MaxBook {
        self.lock().max_numbers.clone()
    }

    /// Replaces the book of who has MAX.
    pub fn set_max_numbers(&self, numbers: MaxBook) {
        self.lock().max_numbers = numbers;
    }

    pub fn has_max(&self, number: &str) -> bool {
        self.lock().max_numbers.has_max(number)
    }

    /// Whether a MAX message to this number is delivered (see [`MaxBook::delivers_to`]).
    pub fn max_delivers_to(&self, number: &str) -> bool {
        self.lock().max_numbers.delivers_to(number)
    }

    /// The MAX instance's send interval (ms) and the number of `setSettings` calls that set it.
    /// The simulator records the interval but sends at once: tests need not wait for the queue.
    pub fn max_pace(&self) -> (u64, u32) {
        self.lock().max_pace
    }

    pub fn set_max_pace(&self, delay_ms: u64) {
        let mut st = self.lock();
        st.max_pace = (delay_ms, st.max_pace.1 + 1);
    }

    /// The MAX instance's `stateInstance`.
    pub fn max_state(&self) -> String {
        self.lock().max_state.clone()
    }

    /// Sets the MAX instance's state (one of [`max::STATES`]); with `notify`, posts
    /// `stateInstanceChanged` to the MAX webhook as the gateway does. Messages sent while the
    /// instance is not `authorized` are accepted (the gateway queues them) but get no status.
    pub async fn set_max_state(&self, state: &str, notify: bool) -> Result<Delivered, SimError> {
        if !max::STATES.contains(&state) {
            return Err(SimError::bad(format!(
                "stateInstance must be one of {}; got {state:?}",
                max::STATES.join(", ")
            )));
        }
        self.lock().max_state = state.to_owned();
        let answers = if notify {
            let payload = max::state_payload(&self.config(), state);
            self.deliver(Provider::Max, "state", state, Some(state), &payload, 1)
                .await?
        } else {
            Vec::new()
        };
        Ok(Delivered {
            message_id: String::new(),
            answers,
        })
    }

    /// The number behind a MAX chat id: one the gateway handed out (`checkAccount`, a customer
    /// writing) or, failing that, one listed in the book with MAX.
    pub(crate) fn max_phone_of(&self, chat_id: &str) -> Option<String> {
        let st = self.lock();
        st.max_chats.get(chat_id).cloned().or_else(|| {
            st.max_numbers
                .with_max
                .iter()
                .map(|n| model::digits(n))
                .find(|n| max::chat_id_for(n) == chat_id)
        })
    }

    pub(crate) fn remember_max_chat(&self, chat_id: &str, phone: &str) {
        self.lock()
            .max_chats
            .insert(chat_id.to_owned(), model::digits(phone));
    }

    /// A customer's MAX chat as they see it: our messages and theirs, oldest first.
    pub fn max_chat(&self, phone: &str) -> Vec<ChatLine> {
        let phone = model::digits(phone);
        let st = self.lock();
        let ours = st
            .messages
            .iter()
            .filter(|m| m.provider == Provider::Max && m.to == phone)
            .map(|m| ChatLine {
                direction: "out".into(),
                id: m.id.clone(),
                text: m.text.clone().unwrap_or_default(),
                quoted_message_id: None,
                status: st.statuses.get(&m.id).cloned(),
                at: m.at,
            });
        let theirs = st
            .max_inbound
            .iter()
            .filter(|(p, _)| *p == phone)
            .map(|(_, line)| line.clone());
        let mut lines: Vec<ChatLine> = ours.chain(theirs).collect();
        lines.sort_by_key(|l| l.at);
        lines
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.lock().stats.clone();
        stats.pending_statuses = self.inner.pending.load(Ordering::SeqCst);
        stats
    }

    /// Waits until every automatic status webhook scheduled so far has been posted (at most
    /// 30 s), so a test can assert on what its receiver got.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        while self.inner.pending.load(Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn count_unauthorized(&self) {
        self.lock().stats.unauthorized += 1;
    }

    pub(crate) fn count_bad_request(&self) {
        self.lock().stats.bad_requests += 1;
    }

    pub(crate) fn count_check(&self) {
        self.lock().stats.green_api_checks += 1;
    }

    pub(crate) fn count_max_check(&self) {
        self.lock().stats.max_checks += 1;
    }

    /// Records an accepted send and, when automatic statuses are on, schedules its status
    /// webhooks the way the provider would send them.
    pub(crate) fn record_send(&self, message: SentMessage) {
        // Ids and kinds only: even a simulator's logs should not collect phone numbers.
        tracing::info!(
            provider = message.provider.as_str(),
            kind = ?message.kind,
            id = %message.id,
            has_whatsapp = message.has_whatsapp,
            "message accepted"
        );
        let (auto, delay) = {
            let mut st = self.lock();
            match message.provider {
                Provider::Meta => st.stats.meta_sends += 1,
                Provider::GreenApi => st.stats.green_api_sends += 1,
                Provider::Max => st.stats.max_sends += 1,
                Provider::SmsRu => st.stats.sms_sends += 1,
            }
            st.messages.push(message.clone());
            // A MAX instance that is not authorized holds its queue: nothing is reported.
            let held = message.provider == Provider::Max && st.max_state != "authorized";
            (
                st.config.auto_statuses && !held,
                Duration::from_millis(st.config.status_delay_ms),
            )
        };
        if !auto {
            return;
        }
        let statuses: &[&str] = match (message.provider, message.has_whatsapp) {
            (_, true) => &["sent", "delivered"],
            // Meta accepts the send and reports the failure later; it cannot be checked first.
            (Provider::Meta, false) => &["failed"],
            // Green-API reports a number without WhatsApp with its own status.
            (Provider::GreenApi, false) => &["noAccount"],
            // A v3 instance has no `noAccount`: a message nobody can receive is `failed`.
            (Provider::Max, false) => &["failed"],
            (Provider::SmsRu, false) => &[],
        };
        // Statuses name the chat, which for MAX is the chat id, not the number.
        let target = match message.provider {
            Provider::Max => message.chat_id.clone().unwrap_or(message.to.clone()),
            _ => message.to.clone(),
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime: automatic statuses not sent");
            return;
        };
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        let sim = self.clone();
        let reverse = self.lock().config.reverse_statuses;
        rt.spawn(async move {
            // Statuses arrive after the send was answered, as with the real providers.
            tokio::time::sleep(delay).await;
            let ordered: Vec<&str> = if reverse {
                statuses.iter().rev().copied().collect()
            } else {
                statuses.to_vec()
            };
            for status in ordered {
                let update = StatusUpdate::new(message.provider, &message.id, status);
                let times = sim.lock().config.duplicate_statuses;
                if let Err(e) = sim.post_status(&update, &target, times).await {
                    tracing::debug!(error = %e, "automatic status not sent");
                }
            }
            sim.inner.pending.fetch_sub(1, Ordering::SeqCst);
        });
    }

    fn last_message_to(&self, provider: Provider, number: &str) -> Option<SentMessage> {
        self.lock()
            .messages
            .iter()
            .rev()
            .find(|m| m.provider == provider && m.to == number)
            .cloned()
    }

    pub(crate) fn message(&self, id: &str) -> Option<SentMessage> {
        self.lock().messages.iter().find(|m| m.id == id).cloned()
    }

    /// Delivers a customer's answer to our webhook for `reply.provider`, `reply.times` times.
    pub async fn reply(&self, reply: &Reply) -> Result<Delivered, SimError> {
        let from = model::digits(&reply.from);
        if from.is_empty() {
            return Err(SimError::bad("from must be the customer's phone number"));
        }
        if reply.provider == Provider::SmsRu {
            return Err(SimError::bad(
                "SMS is one-way: customers answer through the link (see GET /sim/sms/inbox)",
            ));
        }
        let times = times(reply.times)?;
        let contents = [
            reply.text.is_some(),
            reply.button_payload.is_some(),
            reply.interactive_reply_id.is_some(),
            reply.reaction.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if contents != 1 {
            return Err(SimError::bad(
                "give exactly one of text, buttonPayload, interactiveReplyId, reaction",
            ));
        }

        // The short form {"reaction", "messageId"} names the message reacted to.
        let (own_id, reply_to) = match (&reply.reaction, &reply.reply_to, &reply.message_id) {
            (Some(_), None, Some(target)) => (None, Some(target.clone())),
            _ => (
                reply.message_id.clone(),
                reply
                    .reply_to
                    .clone()
                    .or_else(|| self.last_message_to(reply.provider, &from).map(|m| m.id)),
            ),
        };

        let config = self.config();
        let (id, payload) = match reply.provider {
            Provider::Meta => {
                let id = own_id.unwrap_or_else(model::wamid);
                let payload = meta::inbound_payload(&config, reply, &from, &id, reply_to)?;
                (id, payload)
            }
            Provider::GreenApi => {
                let id = own_id.unwrap_or_else(model::green_api_incoming_id);
                let payload = green_api::inbound_payload(&config, reply, &from, &id)?;
                (id, payload)
            }
            Provider::Max => {
                let id = own_id.unwrap_or_else(model::max_message_id);
                // A MAX text quotes only when asked to; a reaction always names its message.
                let quoted = if reply.reaction.is_some() {
                    reply_to
                } else if reply.quote {
                    reply.reply_to.clone().or(reply_to)
                } else {
                    reply.reply_to.clone()
                };
                let quote = quoted.map(|id| max::Quote {
                    text: self.message(&id).and_then(|m| m.text),
                    id,
                });
                let quoted_id = quote.as_ref().map(|q| q.id.clone());
                let payload = max::inbound_payload(&config, reply, &from, &id, quote)?;
                let mut st = self.lock();
                st.max_chats.insert(max::chat_id_for(&from), from.clone());
                st.max_inbound.push((
                    from.clone(),
                    ChatLine {
                        direction: "in".into(),
                        id: id.clone(),
                        text: reply
                            .text
                            .clone()
                            .or(reply.reaction.clone())
                            .unwrap_or_default(),
                        quoted_message_id: quoted_id,
                        status: None,
                        at: Utc::now(),
                    },
                ));
                (id, payload)
            }
            Provider::SmsRu => unreachable!("refused above"),
        };
        let answers = self
            .deliver(reply.provider, "message", &id, None, &payload, times)
            .await?;
        Ok(Delivered {
            message_id: id,
            answers,
        })
    }

    /// Posts a delivery status of one of our messages to our webhook, `update.times` times.
    pub async fn status(&self, update: &StatusUpdate) -> Result<Delivered, SimError> {
        let times = times(update.times)?;
        if update.provider == Provider::SmsRu {
            return Err(SimError::bad(
                "SMS statuses go through POST /sim/sms/status (SMS.ru's callback form)",
            ));
        }
        let to = match &update.to {
            // MAX statuses name the chat: a number given here is turned into its chat id.
            Some(to) if update.provider == Provider::Max => max::chat_id_for(to),
            None if update.provider == Provider::Max => self
                .message(&update.message_id)
                .and_then(|m| m.chat_id)
                .ok_or_else(|| {
                    SimError::bad(format!(
                        "no recorded MAX message {:?}; give \"to\" (the customer's number)",
                        update.message_id
                    ))
                })?,
            Some(to) => model::digits(to),
            None => self
                .message(&update.message_id)
                .map(|m| m.to)
                .ok_or_else(|| {
                    SimError::bad(format!(
                        "no recorded message {:?}; give \"to\" for a message the simulator did not send",
                        update.message_id
                    ))
                })?,
        };
        if to.is_empty() {
            return Err(SimError::bad("to must be the recipient's phone number"));
        }
        let answers = self.post_status(update, &to, times).await?;
        Ok(Delivered {
            message_id: update.message_id.clone(),
            answers,
        })
    }

    async fn post_status(
        &self,
        update: &StatusUpdate,
        to: &str,
        times: u32,
    ) -> Result<Vec<Answer>, SimError> {
        let config = self.config();
        let payload = match update.provider {
            Provider::Meta => meta::status_payload(&config, update, to)?,
            Provider::GreenApi => green_api::status_payload(&config, update, to)?,
            Provider::Max => max::status_payload(&config, update, to)?,
            Provider::SmsRu => return Err(SimError::bad("SMS statuses are not webhooks")),
        };
        self.lock()
            .statuses
            .insert(update.message_id.clone(), update.status.clone());
        self.deliver(
            update.provider,
            "status",
            &update.message_id,
            Some(&update.status),
            &payload,
            times,
        )
        .await
    }

    /// Serializes once and posts the same bytes `times` times, like a provider retrying.
    async fn deliver(
        &self,
        provider: Provider,
        kind: &str,
        message_id: &str,
        status: Option<&str>,
        payload: &Value,
        times: u32,
    ) -> Result<Vec<Answer>, SimError> {
        let config = self.config();
        let url = match provider {
            Provider::Meta => config.meta_webhook_url.clone(),
            Provider::GreenApi => config.green_api_webhook_url.clone(),
            Provider::Max => config.max_webhook_url.clone(),
            Provider::SmsRu => config.smsru_callback_url.clone(),
        };
        let Some(url) = url else {
            self.lock().stats.webhooks.skipped += u64::from(times);
            return Err(SimError::NoWebhook(provider.as_str()));
        };
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let bearer = |token: &str| {
            if token.is_empty() {
                Auth::None
            } else {
                Auth::Bearer(token.to_owned())
            }
        };
        let auth = match provider {
            Provider::Meta => Auth::MetaSignature(crate::meta_signature(
                config.meta_app_secret.as_bytes(),
                &body,
            )),
            Provider::GreenApi => bearer(&config.green_api_webhook_token),
            Provider::Max => bearer(&config.max_webhook_token),
            Provider::SmsRu => Auth::None,
        };
        let target = webhook::Target {
            url,
            auth,
            content_type: "application/json",
            acknowledged: webhook::answered_2xx,
        };
        self.post_repeatedly(provider, kind, message_id, status, &target, &body, times)
            .await
    }

    /// Posts the same bytes `times` times, each retried (up to `webhook_retries`) until the
    /// receiver acknowledges it the way the provider expects.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn post_repeatedly(
        &self,
        provider: Provider,
        kind: &str,
        message_id: &str,
        status: Option<&str>,
        target: &webhook::Target,
        body: &[u8],
        times: u32,
    ) -> Result<Vec<Answer>, SimError> {
        let config = self.config();
        let url = target.url.clone();
        let mut answers = Vec::with_capacity(times as usize);
        for _ in 0..times {
            let mut attempt = 0;
            let answer = loop {
                let answer = webhook::post(&self.inner.client, target, body).await;
                self.record_delivery(WebhookDelivery {
                    provider,
                    kind: kind.to_owned(),
                    message_id: message_id.to_owned(),
                    status: status.map(str::to_owned),
                    url: url.clone(),
                    http_status: answer.status,
                    error: answer.error.clone(),
                    at: Utc::now(),
                });
                let delivered = (target.acknowledged)(&answer);
                self.count_delivery(delivered);
                if delivered || attempt >= config.webhook_retries {
                    break answer;
                }
                attempt += 1;
                // Doubling from 200 ms, capped at 5 s: a receiver that is down for a while still
                // gets the message, as the providers keep retrying for hours.
                let backoff = 200u64.saturating_mul(1 << attempt.min(5)) / 2;
                tokio::time::sleep(Duration::from_millis(backoff.min(5_000))).await;
            };
            answers.push(answer);
        }
        Ok(answers)
    }

    fn record_delivery(&self, delivery: WebhookDelivery) {
        tracing::info!(
            provider = delivery.provider.as_str(),
            kind = %delivery.kind,
            message_id = %delivery.message_id,
            status = delivery.status.as_deref().unwrap_or(""),
            http_status = delivery.http_status,
            error = delivery.error.as_deref().unwrap_or(""),
            "webhook called"
        );
        let mut st = self.lock();
        st.stats.deliveries.push(delivery);
        if st.stats.deliveries.len() > MAX_DELIVERIES {
            st.stats.deliveries.remove(0);
        }
    }
}

impl Sim {
    /// Counts one webhook call as acknowledged or not (SMS.ru wants `100`, the others a 2xx).
    fn count_delivery(&self, acknowledged: bool) {
        let mut st = self.lock();
        if acknowledged {
            st.stats.webhooks.delivered += 1;
        } else {
            st.stats.webhooks.failed += 1;
        }
    }

    /// Counts an automatic status task as started (for [`Sim::settle`]).
    pub(crate) fn begin_pending(&self) {
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn end_pending(&self) {
        self.inner.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn times(requested: Option<u32>) -> Result<u32, SimError> {
    match requested.unwrap_or(1) {
        0 => Err(SimError::bad("times must be at least 1")),
        n if n > MAX_TIMES => Err(SimError::bad(format!("times must be at most {MAX_TIMES}"))),
        n => Ok(n),
    }
}
