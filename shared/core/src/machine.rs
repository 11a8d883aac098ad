//! The rating state machine (SPEC §3): one pure function decides every step of a survey.
//!
//! `decide(survey, input, config, now) -> (survey', effects)`. Adapters persist `survey'` with a
//! conditional write and only then run the effects, each under its idempotency key. Because the
//! survey remembers which inputs it has seen and which once-only effects it has issued, a webhook
//! delivered five times, or a click replayed, changes nothing the second time.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::model::{
    Channel, DomainError, Email, EmployeeId, OrderRef, Outcome, Phone, Rating, SkipReason,
    SurveyId, SurveyState,
};
use crate::reply::{is_pleasantry, parse_reply, ParserOptions, Reply};

pub use crate::message_kind::MessageKind;

/// How many input ids a survey remembers for deduplication. Providers retry within hours, and the
/// inbound adapters also deduplicate by provider message id, so a short memory is enough here.
pub const SEEN_INPUTS_CAP: usize = 64;

/// The parts of the configuration the machine reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    pub reply_window: Duration,
    pub inspector_batch_window: Duration,
    pub parser: ParserOptions,
}

impl From<&Config> for MachineConfig {
    fn from(c: &Config) -> Self {
        MachineConfig {
            reply_window: c.survey.reply_window,
            inspector_batch_window: c.survey.inspector_batch_window,
            parser: c.parser.clone(),
        }
    }
}

/// Where we may reach the customer. Both are optional; intake skips orders with neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub phone: Option<Phone>,
    pub email: Option<Email>,
}

/// One survey: one order, one customer, one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub id: SurveyId,
    pub order: OrderRef,
    pub contact: Contact,
    #[serde(flatten)]
    pub state: SurveyState,
    pub created_at: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    /// The channel the question went out on (after a fallback: the fallback's).
    pub channel: Option<Channel>,
    pub sent_at: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
    pub rating: Option<Rating>,
    pub rated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Everyone who worked on the order, snapshotted at dispatch (SPEC §6).
    pub employees: Vec<EmployeeId>,
    /// The channels this customer may be asked on, best first, as dispatch found them. Empty for
    /// a survey from before chains: WhatsApp, then email.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Channel>,
    /// Every channel the question went out on, in order (the reminder's too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asked: Vec<Channel>,
    /// The one reminder, once it went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<Reminder>,
    /// When the customer last wrote or chose anything about this survey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_at: Option<DateTime<Utc>>,
    /// The channel of that last answer (a reminder by SMS can be answered there while the
    /// question is on MAX): what the response rate per channel counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_via: Option<Channel>,
    pub last_inspector_notice_at: Option<DateTime<Utc>>,
    /// Recent input ids, newest last, at most [`SEEN_INPUTS_CAP`].
    pub seen_inputs: Vec<InputId>,
    /// Once-only effects already issued (see [`Effect::key`]).
    pub done: BTreeSet<String>,
    /// The outbox: effects decided and saved together with the state, not yet handed to their
    /// queues. The adapter empties it after delivery; a crash in between leaves them here, and the
    /// next touch of the survey (a provider's retry, a sweep) delivers them. Consumers are
    /// idempotent per [`Effect::key`], so delivering one twice is harmless; losing one is not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Effect>,
    /// When the customer's personal data left this survey (`privacy`): retention or `otklik
    /// forget`. The rating, times and employees stay for the KPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    /// Optimistic-locking counter, owned by the store adapter.
    pub version: u64,
    /// What this survey adds to the per-day KPI counters, as the store last added it (`None`:
    /// nothing yet — never sent, or saved before the counters existed). Owned by the store
    /// adapter, like `version`: each save adds the difference (`kpi::fold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<crate::kpi::fold::SurveyPart>,
}

impl Survey {
    /// A freshly planned survey of an order.
    pub fn new(
        order: OrderRef,
        contact: Contact,
        created_at: DateTime<Utc>,
        send_at: DateTime<Utc>,
    ) -> Survey {
        Survey {
            id: SurveyId::for_order(&order),
            order,
            contact,
            state: SurveyState::Scheduled,
            created_at,
            send_at,
            channel: None,
            sent_at: None,
            provider_message_id: None,
            rating: None,
            rated_at: None,
            closed_at: None,
            employees: Vec::new(),
            chain: Vec::new(),
            asked: Vec::new(),
            reminder: None,
            replied_at: None,
            replied_via: None,
            last_inspector_notice_at: None,
            seen_inputs: Vec::new(),
            done: BTreeSet::new(),
            pending: Vec::new(),
            erased_at: None,
            version: 0,
            kpi: None,
        }
    }
}

/// An input's identity for deduplication: the provider's message id, the landing click's nonce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InputId(String);

impl InputId {
    pub fn new(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > 256 || raw.chars().any(char::is_control) {
            return Err(DomainError::SurveyId(format!("input id {raw:?}")));
        }
        Ok(InputId(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a provider's ids live, so that two providers' ids never name the same input. WhatsApp's
/// ids carry no prefix: they were stored before there was a second messenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSpace {
    Whatsapp,
    Max,
    SmsRu,
}

impl IdSpace {
    fn prefix(self) -> &'static str {
        match self {
            IdSpace::Whatsapp => "",
            IdSpace::Max => "max:",
            IdSpace::SmsRu => "smsru:",
        }
    }
}

impl InputId {
    /// A customer's message, by the provider's id (within its chat, where the provider's ids are
    /// per chat).
    pub fn provider_message(
        space: IdSpace,
        chat: Option<&str>,
        id: &str,
    ) -> Result<InputId, DomainError> {
        let chat = chat.map(|c| format!("{c}/")).unwrap_or_default();
        InputId::new(format!("{}{chat}{id}", space.prefix()))
    }

    /// A status of one of our messages: a repeated status is the same input, a new one is not.
    pub fn provider_status(
        space: IdSpace,
        message_id: &str,
        status: &str,
    ) -> Result<InputId, DomainError> {
        InputId::new(format!("{}{message_id}:{status}", space.prefix()))
    }
}

impl TryFrom<String> for InputId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        InputId::new(s)
    }
}

impl From<InputId> for String {
    fn from(id: InputId) -> String {
        id.0
    }
}

impl fmt::Display for InputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something that happened to a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Dispatch decided not to send (the order was cancelled meanwhile, …).
    Skip { reason: SkipReason },
    /// A provider accepted the question.
    Sent {
        channel: Channel,
        message_id: String,
    },
    /// The provider reports the question delivered or read.
    Delivered,
    /// The provider could not deliver (WhatsApp 131026, Green-API noAccount, an email bounce).
    DeliveryFailed { channel: Channel, reason: String },
    /// The customer wrote something.
    Text { text: String, via: Channel },
    /// The customer chose: a quick-reply button, a reaction, a landing-page click.
    Choice { reply: Reply, via: Channel },
    /// The customer edited a message of theirs that we had already acted on (WhatsApp's
    /// `edit`, GREEN-API's `editedMessage`); `text` is the new text. An edit that arrives before
    /// its original is the customer's words as a plain `Text` instead (the adapter's choice).
    Edited { text: String, via: Channel },
    /// Free words about an answer already given (the landing page's comment box after a 1–2).
    /// Never parsed as a rating: it only reaches the order.
    Comment { text: String, via: Channel },
    /// A timer: check the reply window.
    Tick,
    /// Dispatch, before sending: everyone who worked on the order (SPEC §6) and the channels the
    /// customer may be asked on, best first. Saved before the send, so whoever records the send
    /// later (a redelivery, or the customer's answer overtaking it) finds the people to credit on
    /// the survey, and a failed delivery knows where to fall back to.
    Prepared {
        employees: Vec<EmployeeId>,
        chain: Vec<Channel>,
    },
    /// The request to the provider may or may not have reached the customer (it timed out after
    /// leaving us). Asking again could ask twice, so the question fails instead.
    SendUnknown { channel: Channel, reason: String },
    /// A fallback to `channel` cannot go out: the customer has no account there (MAX's account
    /// check said so when the fallback came to be sent). The next channel of the chain is asked.
    Unreachable { channel: Channel },
    /// The one reminder went out on `channel`.
    Reminded {
        channel: Channel,
        message_id: String,
    },
    /// The inspector read an answer we could not, and says what the customer meant (their page,
    /// reached from the task's link). The survey then runs as if the customer had said it.
    Resolved { resolution: Resolution },
}

/// What the inspector says an unreadable answer meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "meant", rename_all = "snake_case")]
pub enum Resolution {
    /// A rating, as if the customer had sent the digit.
    Rating { value: Rating },
    /// The customer asks to be called back: a complaint with the callback line.
    WantsCall,
    /// Not an answer to our question (a question about delivery, a greeting…): nothing is
    /// recorded, and the survey waits for the customer as before.
    NotARating,
}

impl Resolution {
    /// From the inspector page's form: `1`–`5`, `call` or `none`.
    pub fn from_form(value: &str) -> Option<Resolution> {
        match value {
            "call" => Some(Resolution::WantsCall),
            "none" => Some(Resolution::NotARating),
            // One digit, as the form sends it: "05" or "+5" is not our form.
            digit if digit.len() == 1 => digit
                .parse::<u8>()
                .ok()
                .and_then(|n| Rating::new(n).ok())
                .map(|value| Resolution::Rating { value }),
            _ => None,
        }
    }

    /// The form's value for this resolution (the inverse of [`Resolution::from_form`]).
    pub fn form_value(self) -> String {
        match self {
            Resolution::Rating { value } => value.value().to_string(),
            Resolution::WantsCall => "call".into(),
            Resolution::NotARating => "none".into(),
        }
    }
}

/// One input to the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub id: InputId,
    pub event: Event,
}

/// The inputs dispatch gives the machine. Their ids are fixed per survey (and per channel where a
/// survey may see the event once per channel), so every delivery of the same dispatch, and an
/// answer that records the send on the dispatcher's behalf, name the same input.
impl Input {
    /// Dispatch decided not to send.
    pub fn skip(reason: SkipReason) -> Input {
        Input {
            id: InputId("skip".into()),
            event: Event::Skip { reason },
        }
    }

    /// Who worked on the order, snapshotted at send time, and the channels to try in order.
    pub fn prepared(employees: Vec<EmployeeId>, chain: Vec<Channel>) -> Input {
        Input {
            id: InputId("prepared".into()),
            event: Event::Prepared { employees, chain },
        }
    }

    /// The provider took the question on `channel` (`message_id` empty when a redelivery or an
    /// answer records a send whose id was lost in a crash).
    pub fn sent(channel: Channel, message_id: impl Into<String>) -> Input {
        Input {
            id: InputId(format!("sent-{channel}")),
            event: Event::Sent {
                channel,
                message_id: message_id.into(),
            },
        }
    }

    /// An answer given on one of our pages (a link of the email). The id names the answer, so a
    /// double tap, a replayed POST or a second tab is one input.
    pub fn page_answer(reply: Reply, via: Channel) -> Input {
        let id = match &reply {
            Reply::Rating { value } => format!("link-rate-{}", value.value()),
            Reply::Yes => "link-contact-yes".into(),
            Reply::No => "link-contact-no".into(),
            Reply::OptOut => "link-opt-out".into(),
            Reply::Unreadable { .. } => "link-unreadable".into(),
        };
        Input {
            id: InputId(id),
            event: Event::Choice { reply, via },
        }
    }

    /// Words left in a page's comment box: the same words sent twice (a double tap) are one
    /// input.
    pub fn page_comment(text: &str, via: Channel) -> Input {
        Input {
            id: InputId(format!("link-comment-{:016x}", fnv1a(text))),
            event: Event::Comment {
                text: text.to_string(),
                via,
            },
        }
    }

    /// The fallback to `channel` found the customer has no account there.
    pub fn unreachable(channel: Channel) -> Input {
        Input {
            id: InputId(format!("unreachable-{channel}")),
            event: Event::Unreachable { channel },
        }
    }

    /// The one reminder went out (a survey has one, so every record of it is the same input).
    pub fn reminded(channel: Channel, message_id: impl Into<String>) -> Input {
        Input {
            id: InputId("reminded".into()),
            event: Event::Reminded {
                channel,
                message_id: message_id.into(),
            },
        }
    }

    /// The inspector's resolution of an unreadable answer. One id whatever the choice: the first
    /// resolution stands, and a second POST (the same choice again, or another) is its repeat.
    pub fn resolved(resolution: Resolution) -> Input {
        Input {
            id: InputId(RESOLVED.into()),
            event: Event::Resolved { resolution },
        }
    }

    /// The send on `channel` may or may not have reached the customer.
    pub fn send_unknown(channel: Channel, reason: impl Into<String>) -> Input {
        Input {
            id: InputId(format!("send-unknown-{channel}")),
            event: Event::SendUnknown {
                channel,
                reason: reason.into(),
            },
        }
    }
}

/// The input id and once-key of the inspector's resolution.
const RESOLVED: &str = "inspector-resolved";

/// FNV-1a, 64 bit: a stable short id for a comment's text (not a security measure).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Survey {
    /// The key our wordings rotate by: one customer meets different words over time, but every
    /// message of one survey is chosen the same way, whoever sends it and however often it is
    /// redelivered.
    pub fn wording_seed(&self) -> String {
        let who = self
            .contact
            .phone
            .as_ref()
            .map(|p| p.e164().to_string())
            .or_else(|| self.contact.email.as_ref().map(|e| e.as_str().to_string()))
            .unwrap_or_default();
        format!("{who}/{}", self.id)
    }

    /// Whether the machine asked for the question on `channel` as a fallback that has not gone
    /// out yet: the survey is still open and on another channel. A fallback message on the
    /// dispatch queue that finds this false has nothing to do.
    pub fn fallback_pending(&self, channel: Channel) -> bool {
        self.done.contains(&fallback_key(channel))
            && matches!(self.state, SurveyState::Sent | SurveyState::AwaitingRating)
            && self.channel != Some(channel)
    }

    /// Whether the page's "shall we call you?" answer can mean anything now: only while the
    /// survey waits for it (after a 3). Any other time the page refuses it *without* applying
    /// it — an applied refusal still stored its input id, so the customer's genuine "yes" later
    /// was taken for a repeat and dropped (found by a security probe posting `/contact` first).
    pub fn awaits_contact_answer(&self) -> bool {
        self.state == SurveyState::AwaitingContactConsent
    }

    /// Whether the page's comment box belongs to this survey: it is offered after a 1–2 only,
    /// so words posted through a low-rating link to a survey rated 3–5 are refused (a probe had
    /// them added to a 4).
    pub fn takes_page_comment(&self) -> bool {
        self.rating.is_some_and(|r| r.value() <= 2)
    }
}

// The kind lives in `message_kind` so `texts` can word it without depending on the machine; its
// once-only effect key stays here with the other effect keys.
impl MessageKind {
    fn key(self) -> &'static str {
        match self {
            MessageKind::Thanks => "msg-thanks",
            MessageKind::ComplaintAcknowledged => "msg-complaint-ack",
            MessageKind::AskContactConsent => "msg-ask-contact",
            MessageKind::ContactConfirmed => "msg-contact-confirmed",
            MessageKind::Apology => "msg-apology",
            MessageKind::OptOutConfirmed => "msg-opt-out",
            MessageKind::HandedToColleague => "msg-handed-to-colleague",
        }
    }
}

/// Why the inspector is asked to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeReason {
    /// The answer could not be read as what we asked.
    UnreadableReply,
    /// A message after the survey closed that looks like a new problem.
    NewProblemAfterClose,
    /// The customer wrote before we asked anything.
    UnpromptedMessage,
    /// The customer edited an answer we had already read as a rating, and it reads differently
    /// now: a human decides (a wrong rating is worse than asking).
    EditedAfterRating,
}

/// An effect for the adapters to carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Send the question on another channel (the WhatsApp fallback to email).
    SendSurvey { channel: Channel },
    /// Put the rating into the order's read-only field.
    WriteRating { rating: Rating },
    /// Keep the customer's own words on the order: `via` the channel they came on, `at` when
    /// the machine took them (the reply time). Both are carried in the effect, not read at write
    /// time, so every delivery of it writes the same line (`crm_texts::words_line`); `None` only
    /// in effects queued before they were carried.
    SaveWords {
        text: String,
        #[serde(default)]
        via: Option<Channel>,
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    /// One KPI credit per employee who worked the order.
    CreditEmployees {
        rating: Rating,
        employees: Vec<EmployeeId>,
    },
    /// Say something to the customer on the channel they used.
    Message { kind: MessageKind, channel: Channel },
    /// A complaint order in the complaints store, assigned to the inspector.
    OpenComplaint {
        rating: Rating,
        words: Option<String>,
        /// A 3 followed by "yes": the customer asks to be called back.
        #[serde(default)]
        callback: bool,
    },
    /// A task on the order plus a notification for the inspector.
    NotifyInspector { reason: NoticeReason, text: String },
    /// Never contact this customer again, on any channel.
    AddToDoNotContact,
}

/// A command with its idempotency key, unique per survey and effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    pub key: String,
    pub command: Command,
}

/// The machine's answer: the new survey and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub survey: Survey,
    pub effects: Vec<Effect>,
}

/// Collects effects, refusing once-only ones already issued.
struct Effects<'a> {
    survey: &'a mut Survey,
    input: &'a InputId,
    out: Vec<Effect>,
}

impl Effects<'_> {
    /// An effect that may happen once per survey. Issued again → ignored.
    fn once(&mut self, name: &str, command: Command) {
        if self.survey.done.insert(name.to_string()) {
            self.out.push(Effect {
                key: format!("{}/{name}", self.survey.id),
                command,
            });
        }
    }

    /// An effect that belongs to this input (inputs are deduplicated, so it also runs once).
    fn per_input(&mut self, name: &str, command: Command) {
        self.out.push(Effect {
            key: format!("{}/{name}/{}", self.survey.id, self.input),
            command,
        });
    }

    fn words(&mut self, text: Option<&str>, via: Channel, at: DateTime<Utc>) {
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            self.per_input(
                "words",
                Command::SaveWords {
                    text: t.to_string(),
                    via: Some(via),
                    at: Some(at),
                },
            );
        }
    }

    fn message(&mut self, kind: MessageKind, channel: Channel) {
        self.once(kind.key(), Command::Message { kind, channel });
    }

    /// Asks the inspector to look, but only once per batch window: five confused messages in a
    /// row make one task (their words all reach the order anyway).
    /// Whether it asked (false: a notice of this batch window is already on its way).
    fn notify(
        &mut self,
        reason: NoticeReason,
        text: &str,
        cfg: &MachineConfig,
        now: DateTime<Utc>,
    ) -> bool {
        let window = chrono::Duration::from_std(cfg.inspector_batch_window)
            .unwrap_or(chrono::Duration::zero());
        let recent = self
            .survey
            .last_inspector_notice_at
            .is_some_and(|t| now < t + window);
        if !recent {
            self.survey.last_inspector_notice_at = Some(now);
            self.per_input(
                "notify",
                Command::NotifyInspector {
                    reason,
                    text: text.to_string(),
                },
            );
        }
        !recent
    }
}

fn close(survey: &mut Survey, outcome: Outcome, now: DateTime<Utc>) {
    survey.state = SurveyState::Closed { outcome };
    survey.closed_at = Some(now);
}

fn after(t: Option<DateTime<Utc>>, d: Duration, now: DateTime<Utc>) -> bool {
    let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    t.is_some_and(|t| now >= t + d)
}

/// Decides one step. Pure: the same arguments always give the same answer.
pub fn decide(survey: &Survey, input: &Input, cfg: &MachineConfig, now: DateTime<Utc>) -> Decision {
    if survey.seen_inputs.contains(&input.id) {
        return Decision {
            survey: survey.clone(),
            effects: Vec::new(),
        };
    }
    let mut s = survey.clone();
    // Events whose effect depends on an outside id are remembered; timer and status events are
    // guarded by the state alone, and remembering them would push real replies out of memory.
    if matches!(
        input.event,
        Event::Text { .. }
            | Event::Edited { .. }
            | Event::Choice { .. }
            | Event::Comment { .. }
            | Event::DeliveryFailed { .. }
            | Event::Resolved { .. }
    ) {
        s.seen_inputs.push(input.id.clone());
        if s.seen_inputs.len() > SEEN_INPUTS_CAP {
            s.seen_inputs.remove(0);
        }
    }
    let mut fx = Effects {
        survey: &mut s,
        input: &input.id,
        out: Vec::new(),
    };
    match &input.event {
        Event::Skip { reason } => {
            if fx.survey.state == SurveyState::Scheduled {
                fx.survey.state = SurveyState::Skipped {
                    reason: reason.clone(),
                };
            }
        }
        Event::Sent {
            channel,
            message_id,
        } => on_sent(&mut fx, *channel, message_id, now),
        Event::Delivered => {
            if fx.survey.state == SurveyState::Sent {
                fx.survey.state = SurveyState::AwaitingRating;
            }
        }
        Event::DeliveryFailed { channel, reason } => on_failed(&mut fx, *channel, reason),
        Event::Tick => on_tick(fx.survey, cfg, now),
        Event::Prepared { employees, chain } => {
            // Credits are decided by who worked the order when it was asked, not when answered.
            if fx.survey.state == SurveyState::Scheduled {
                fx.survey.employees = employees.clone();
                fx.survey.chain = chain.clone();
            }
        }
        Event::Unreachable { channel } => {
            if fx.survey.fallback_pending(*channel) {
                fall_back_after(&mut fx, *channel, "no account");
            }
        }
        Event::SendUnknown { channel, reason } => {
            if matches!(
                fx.survey.state,
                SurveyState::Scheduled | SurveyState::Sent | SurveyState::AwaitingRating
            ) {
                fx.survey.state = SurveyState::Failed {
                    reason: format!("{channel}: outcome unknown: {reason}"),
                };
            }
        }
        Event::Reminded { channel, .. } => reminder::on_reminded(fx.survey, *channel, now),
        Event::Text { text, via } => {
            let reply = parse_reply(text, &cfg.parser);
            on_reply(&mut fx, reply, Some(text), *via, cfg, now);
        }
        Event::Choice { reply, via } => on_reply(&mut fx, reply.clone(), None, *via, cfg, now),
        Event::Edited { text, via } => {
            let reply = parse_reply(text, &cfg.parser);
            match fx.survey.rating {
                // Nothing rated yet (the original was unreadable, say): the edit is the answer.
                None => on_reply(&mut fx, reply, Some(text), *via, cfg, now),
                // Rated: the new words reach the order; if they would read as anything but the
                // same rating, a human decides — the rating is never changed by an edit.
                Some(rating) => {
                    fx.words(Some(text), *via, now);
                    if reply != (Reply::Rating { value: rating }) {
                        fx.notify(NoticeReason::EditedAfterRating, text, cfg, now);
                    }
                }
            }
        }
        Event::Resolved { resolution } => on_resolved(&mut fx, *resolution, cfg, now),
        Event::Comment { text, via } => {
            // Only about a rating we have; before that a comment box is never shown.
            if fx.survey.rating.is_some() {
                fx.words(Some(text.as_str()), *via, now);
            }
        }
    }
    let effects = fx.out;
    Decision { survey: s, effects }
}

/// Whether the survey waits for an answer the inspector may give for the customer: asked (or
/// expired, or failed with an answer proving it arrived) and not rated, or rated 3 and waiting
/// for "shall we call you?".
pub fn awaits_resolution(s: &Survey) -> bool {
    if s.done.contains(RESOLVED) {
        return false;
    }
    match s.state {
        SurveyState::Sent
        | SurveyState::AwaitingRating
        | SurveyState::Expired
        | SurveyState::Failed { .. } => s.rating.is_none(),
        SurveyState::AwaitingContactConsent => true,
        _ => false,
    }
}

/// The inspector's word for an unreadable answer: once per survey, and only while the survey
/// waits for an answer ([`awaits_resolution`]); the customer's own answer in between wins. It runs
/// the customer's path — the rating written, the credits, the complaint and the customer's
/// message (thanks, "the quality team has it", "shall we call you?") — but keeps the customer's own
/// reply time and channel, since the customer said nothing new.
fn on_resolved(
    fx: &mut Effects<'_>,
    resolution: Resolution,
    cfg: &MachineConfig,
    now: DateTime<Utc>,
) {
    if !awaits_resolution(fx.survey) {
        return;
    }
    fx.survey.done.insert(RESOLVED.to_string());
    let (replied_at, replied_via) = (fx.survey.replied_at, fx.survey.replied_via);
    let via = replied_via
        .or(fx.survey.channel)
        .unwrap_or(Channel::Whatsapp);
    let awaiting_consent = fx.survey.state == SurveyState::AwaitingContactConsent;
    match resolution {
        Resolution::NotARating => return,
        Resolution::Rating { value } if !awaiting_consent => {
            on_reply(fx, Reply::Rating { value }, None, via, cfg, now);
        }
        // Rated 3 already: a rating now is not what was asked; the inspector's "call" or "not a
        // rating" is.
        Resolution::Rating { .. } => return,
        Resolution::WantsCall if awaiting_consent => {
            on_reply(fx, Reply::Yes, None, via, cfg, now);
        }
        // No rating given: the complaint still needs one to be filed under, and 3 is the one a
        // "yes, call me" is filed under after a 3. No rating is written and nobody is credited.
        Resolution::WantsCall => {
            let rating = Rating::all()[2];
            fx.once(
                OPEN_COMPLAINT,
                Command::OpenComplaint {
                    rating,
                    words: None,
                    callback: true,
                },
            );
            fx.message(MessageKind::ContactConfirmed, via);
            close(fx.survey, Outcome::ComplaintOpened, now);
        }
    }
    fx.survey.replied_at = replied_at;
    fx.survey.replied_via = replied_via;
}

fn on_sent(fx: &mut Effects<'_>, channel: Channel, message_id: &str, now: DateTime<Utc>) {
    let s = &mut *fx.survey;
    let first_send = s.state == SurveyState::Scheduled;
    // A fallback reports its own send while the survey is still open on the failed channel.
    let fallback_send = matches!(s.state, SurveyState::Sent | SurveyState::AwaitingRating)
        && s.channel != Some(channel)
        && s.done.contains(&fallback_key(channel));
    if first_send || fallback_send {
        s.asked.push(channel);
        s.state = SurveyState::Sent;
        s.channel = Some(channel);
        s.sent_at = Some(now);
        s.provider_message_id = Some(message_id.to_string());
    }
}

fn fallback_key(channel: Channel) -> String {
    format!("send-{channel}")
}

/// The channels of the survey's chain after `channel`, in order. A survey from before chains
/// falls back from WhatsApp to email, when it has an address.
fn after_in_chain(s: &Survey, channel: Channel) -> Vec<Channel> {
    let legacy;
    let chain: &[Channel] = if s.chain.is_empty() {
        legacy = if s.contact.email.is_some() {
            vec![Channel::Whatsapp, Channel::Email]
        } else {
            vec![Channel::Whatsapp]
        };
        &legacy
    } else {
        &s.chain
    };
    match chain.iter().position(|&c| c == channel) {
        Some(i) => chain[i + 1..].to_vec(),
        None => Vec::new(),
    }
}

fn on_failed(fx: &mut Effects<'_>, channel: Channel, reason: &str) {
    let s = &*fx.survey;
    // Only a failure of the channel the question is on matters; a reply already received wins.
    if !(matches!(s.state, SurveyState::Sent | SurveyState::AwaitingRating)
        && s.channel == Some(channel))
    {
        return;
    }
    fall_back_after(fx, channel, reason);
}

/// Asks on the next channel of the chain after `channel`, once; fails the survey when none is
/// left.
fn fall_back_after(fx: &mut Effects<'_>, channel: Channel, reason: &str) {
    let s = &*fx.survey;
    let later = after_in_chain(s, channel);
    // The same failure reported again while its fallback is on its way: nothing more to do.
    if later.iter().any(|&c| s.done.contains(&fallback_key(c))) {
        return;
    }
    match later.into_iter().find(|c| !s.asked.contains(c)) {
        Some(next) => fx.once(&fallback_key(next), Command::SendSurvey { channel: next }),
        // The reminder asked the customer once more, so the survey is still open somewhere.
        None if s.reminder.is_some() => {}
        None => {
            fx.survey.state = SurveyState::Failed {
                reason: format!("{channel}: {reason}"),
            };
        }
    }
}

fn on_tick(s: &mut Survey, cfg: &MachineConfig, now: DateTime<Utc>) {
    match s.state {
        SurveyState::Sent | SurveyState::AwaitingRating
            if after(s.sent_at, cfg.reply_window, now) =>
        {
            s.state = SurveyState::Expired;
        }
        // The rating is in; silence on "shall we call you?" means no call was wanted.
        SurveyState::AwaitingContactConsent if after(s.rated_at, cfg.reply_window, now) => {
            close(s, Outcome::Rated, now);
        }
        _ => {}
    }
}

fn on_reply(
    fx: &mut Effects<'_>,
    reply: Reply,
    text: Option<&str>,
    via: Channel,
    cfg: &MachineConfig,
    now: DateTime<Utc>,
) {
    fx.survey.replied_at = Some(now);
    fx.survey.replied_via = Some(via);
    if reply == Reply::OptOut {
        fx.words(text, via, now);
        fx.once("do-not-contact", Command::AddToDoNotContact);
        fx.message(MessageKind::OptOutConfirmed, via);
        if !matches!(fx.survey.state, SurveyState::Closed { .. }) {
            close(fx.survey, Outcome::OptedOut, now);
        }
        return;
    }
    let state = fx.survey.state.clone();
    match (state, reply) {
        // A late rating after expiry is late, but real: it counts. So is one on a survey whose
        // send failed: a send of unknown outcome (a timeout, a 500 after the provider took it)
        // may well have reached the customer, and their answer proves it did.
        (
            SurveyState::Sent
            | SurveyState::AwaitingRating
            | SurveyState::Expired
            | SurveyState::Failed { .. },
            Reply::Rating { value },
        ) => {
            let employees = fx.survey.employees.clone();
            fx.survey.rating = Some(value);
            fx.survey.rated_at = Some(now);
            fx.words(text, via, now);
            fx.once("write-rating", Command::WriteRating { rating: value });
            fx.once(
                "credit",
                Command::CreditEmployees {
                    rating: value,
                    employees,
                },
            );
            if value.is_positive() {
                fx.message(MessageKind::Thanks, via);
                close(fx.survey, Outcome::Rated, now);
            } else if value.is_negative() {
                fx.once(
                    OPEN_COMPLAINT,
                    Command::OpenComplaint {
                        rating: value,
                        words: text.map(str::to_string),
                        callback: false,
                    },
                );
                fx.message(MessageKind::ComplaintAcknowledged, via);
                close(fx.survey, Outcome::ComplaintOpened, now);
            } else {
                fx.message(MessageKind::AskContactConsent, via);
                fx.survey.state = SurveyState::AwaitingContactConsent;
            }
        }
        (SurveyState::AwaitingContactConsent, Reply::Yes) => {
            fx.words(text, via, now);
            let rating = fx.survey.rating.unwrap_or(Rating::all()[2]);
            fx.once(
                OPEN_COMPLAINT,
                Command::OpenComplaint {
                    rating,
                    words: text.map(str::to_string),
                    callback: true,
                },
            );
            fx.message(MessageKind::ContactConfirmed, via);
            close(fx.survey, Outcome::ComplaintOpened, now);
        }
        (SurveyState::AwaitingContactConsent, Reply::No) => {
            fx.words(text, via, now);
            fx.message(MessageKind::Apology, via);
            close(fx.survey, Outcome::DeclinedContact, now);
        }
        // Anything else while we wait: keep the words, let a human read them.
        (
            SurveyState::Sent
            | SurveyState::AwaitingRating
            | SurveyState::AwaitingContactConsent
            | SurveyState::Expired,
            _,
        ) => {
            fx.words(text, via, now);
            if let Some(t) = text {
                // The customer hears that a person will read it, once per burst (the batch
                // window of the inspector's notice), so five confused messages get one answer.
                if fx.notify(NoticeReason::UnreadableReply, t, cfg, now) {
                    let kind = MessageKind::HandedToColleague;
                    fx.per_input(kind.key(), Command::Message { kind, channel: via });
                }
            }
        }
        // Closed, skipped, failed, or not asked yet: effects never run again; the words are kept
        // and a human looks only when it reads like a new problem.
        (state, reply) => {
            fx.words(text, via, now);
            let Some(t) = text else { return };
            let worrying = match &reply {
                Reply::Rating { value } => value.is_negative(),
                Reply::Unreadable { .. } => !is_pleasantry(t),
                _ => false,
            };
            if worrying {
                let reason = if state == SurveyState::Scheduled {
                    NoticeReason::UnpromptedMessage
                } else {
                    NoticeReason::NewProblemAfterClose
                };
                fx.notify(reason, t, cfg, now);
            }
        }
    }
}

mod reminder;
pub use reminder::Reminder;

/// The once-only effect that opens a survey's complaint: a survey without it in [`Survey::done`]
/// has no complaint (the complaint's track is written only by that effect's consumer).
pub const OPEN_COMPLAINT: &str = "open-complaint";

impl Survey {
    /// Whether a complaint was decided for this survey (its track may exist): the reports read
    /// complaint tracks only for these.
    pub fn complaint_decided(&self) -> bool {
        self.done.contains(OPEN_COMPLAINT)
    }
}

#[cfg(test)]
mod tests;
