//! Otklik's domain: it decides, adapters do.
//!
//! Everything here is a pure function of (state, input, config, clock): the reply parser, the rating
//! state machine, the timing rules. No I/O, no AWS, no HTTP, no async runtime — so the whole
//! business logic is property-tested without a network, and every Lambda shares one copy of it.

pub mod complaint;
pub mod config;
pub mod config_error;
pub mod crm_budget;
pub mod crm_texts;
pub mod dashboard;
pub mod delivery;
pub mod digest;
pub mod dispatch;
pub mod email;
pub mod history;
pub mod intake;
pub mod kpi;
pub mod landing;
pub mod links;
pub mod machine;
pub mod message_kind;
pub mod model;
pub mod ports;
pub mod privacy;
pub mod provider_errors;
pub mod reply;
pub mod report_access;
pub mod routing;
pub mod secrets;
pub mod sms;
pub mod sms_segments;
pub mod texts;
pub mod timing;
pub mod whatsapp_template;
