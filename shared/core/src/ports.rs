//! Ports: the small traits through which functions reach the world.
//!
//! The core decides; these traits are how adapters *do*. Each has exactly one production adapter
//! (DynamoDB, SQS, EventBridge Scheduler, retailCRM, WhatsApp, SES) and, where a unit test needs
//! one, an in-memory twin. The traits use plain `async fn` shapes (`impl Future + Send`) so the core
//! stays free of any async runtime.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::machine::{Contact, Survey};
use crate::model::{Email, EmployeeId, OrderRef, Phone, Rating, SurveyId};

/// How an adapter call failed, in the terms callers act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Worth retrying later (throttling, 5xx, timeouts). The queue's redelivery does the waiting.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// A conditional write lost the race: reload and decide again.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Retrying will not help (bad request, refused credentials, invalid data).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub type PortResult<T> = Result<T, PortError>;

/// The time. One trait so tests can stop it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Survey records.
pub trait SurveyStore: Send + Sync {
    /// Creates the survey unless one exists for the same id. `Ok(false)`: it existed (a duplicate
    /// intake), nothing was written.
    fn create(&self, survey: &Survey) -> impl Future<Output = PortResult<bool>> + Send;
    fn get(&self, id: &SurveyId) -> impl Future<Output = PortResult<Option<Survey>>> + Send;
    /// Saves a decided survey if nobody saved since it was loaded (`survey.version` is the loaded
    /// version); bumps the version. `PortError::Conflict` otherwise.
    fn save(&self, survey: &Survey) -> impl Future<Output = PortResult<Survey>> + Send;
    /// The customer's surveys, newest first (to route a WhatsApp reply to its survey).
    fn by_phone(&self, phone: &Phone) -> impl Future<Output = PortResult<Vec<Survey>>> + Send;
}

/// Customers who opted out. Kept forever, checked on every channel.
pub trait DoNotContactList: Send + Sync {
    fn contains(&self, contact: &Contact) -> impl Future<Output = PortResult<bool>> + Send;
    fn add(&self, contact: &Contact) -> impl Future<Output = PortResult<()>> + Send;
}

/// A durable queue. Bodies are JSON; consumers must tolerate duplicates.
pub trait Queue: Send + Sync {
    fn send(&self, body: &str) -> impl Future<Output = PortResult<()>> + Send;
}

/// One-time schedules (EventBridge Scheduler `at(...)`).
pub trait Scheduler: Send + Sync {
    /// Creates a schedule named `name` firing `payload` at `at`. `Ok(false)` if a schedule of that
    /// name already exists: the deterministic name makes a repeated intake harmless.
    fn schedule_once(
        &self,
        name: &str,
        at: DateTime<Utc>,
        payload: &str,
    ) -> impl Future<Output = PortResult<bool>> + Send;
}

/// What dispatch and intake need to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmOrder {
    pub order: OrderRef,
    pub status: String,
    pub status_updated_at: Option<DateTime<Utc>>,
    pub customer_id: Option<u64>,
    pub contact: Contact,
    pub manager: Option<EmployeeId>,
    pub order_type: Option<String>,
    pub order_method: Option<String>,
    pub delivery_type: Option<String>,
    pub product_groups: Vec<String>,
}

/// A complaint to open in the complaints store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintDraft {
    pub original: OrderRef,
    pub customer_id: Option<u64>,
    pub rating: Rating,
    pub words: Option<String>,
}

/// retailCRM, in the terms of the flow.
pub trait Crm: Send + Sync {
    fn order(&self, order: &OrderRef) -> impl Future<Output = PortResult<CrmOrder>> + Send;
    /// Everyone who worked on the order (SPEC §6).
    fn employees(
        &self,
        order: &OrderRef,
    ) -> impl Future<Output = PortResult<Vec<EmployeeId>>> + Send;
    fn write_rating(
        &self,
        order: &OrderRef,
        rating: Rating,
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn append_words(
        &self,
        order: &OrderRef,
        text: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Creates the complaint order and links it to the original; returns the new order.
    fn open_complaint(
        &self,
        draft: &ComplaintDraft,
    ) -> impl Future<Output = PortResult<OrderRef>> + Send;
    /// A task on the order for the inspector, plus a notification.
    fn notify_inspector(
        &self,
        order: &OrderRef,
        text: &str,
        words: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// A provider's id of a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub provider_message_id: String,
}

/// WhatsApp, whichever provider is configured.
pub trait Messenger: Send + Sync {
    /// `Some(false)` if the provider can tell the number has no WhatsApp (Green-API can; Meta
    /// cannot, and answers `None`).
    fn has_whatsapp(&self, phone: &Phone) -> impl Future<Output = PortResult<Option<bool>>> + Send;
    fn send_text(
        &self,
        phone: &Phone,
        text: &str,
    ) -> impl Future<Output = PortResult<SentMessage>> + Send;
}

/// A plain-text email from a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub body: String,
    /// For the `List-Unsubscribe` header.
    pub unsubscribe_url: String,
}

/// Email (SES v2).
pub trait Mailer: Send + Sync {
    fn send(&self, email: &OutgoingEmail) -> impl Future<Output = PortResult<SentMessage>> + Send;
}
