//! The local stand-in for AWS's plumbing around our functions.
//!
//! Only plumbing lives here: every business rule is in the same handler code that runs on Lambda.

pub mod awsproxy;
pub mod bench;
pub mod coldstart;
pub mod demo;
pub mod drive;
pub mod gateway;
pub mod local;
pub mod peak;
pub mod sandbox;
pub mod schedules;
pub mod sqs;
pub mod stack;
pub mod year;
