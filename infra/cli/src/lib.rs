//! The operator CLI's commands that talk to the outside world, as a library so tests drive them.

pub mod crm_setup;
pub mod kpi;
