//! Ports: the small traits through which functions reach the world.
//!
//! The core decides; these traits are how adapters *do*. Each has exactly one production adapter
//! (DynamoDB for surveys and the do-not-contact list, SQS for queues) and, where a test needs one,
//! a twin of its own. The traits use plain `async fn` shapes (`impl Future + Send`) so the core
//! stays free of any async runtime.

use std::future::Future;

use crate::machine::{Contact, Survey};
use crate::model::{Phone, SurveyId};

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
