//! Typed retailCRM API v5 client: the adapter behind every CRM read and write in Otklik.
//!
//! Intake reads the order and its history, dispatch reads contacts and product groups, the reply
//! path writes the rating, opens complaint orders, tasks and notifications. All of it goes through
//! [`RetailCrm`]: the contract's wire format (`docs/retailcrm-contract.md`), typed [`CrmError`]s,
//! lenient decoding of PHP-shaped answers, one paced path per API key (shared across processes
//! through a [`RateGate`]) and bounded retries.

mod client;
mod config;
pub mod datetime;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
mod model;
mod pacer;
mod transport;

pub use client::{RetailCrm, ORDERS_PER_LIST};
pub use config::ClientConfig;
pub use error::CrmError;
pub use gate::{
    slots_let_go, system_clock, Attempt, Clock, GateFuture, InProcess, RateGate, SharedGate,
};
pub use model::{
    CustomField, HistoryEntry, HistoryPage, HistoryQuery, NewCustomField, NewTask, Notification,
    NotificationKind, Order, Site, Status, User,
};
