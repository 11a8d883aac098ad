//! Otklik's orchestration: the layer between the functions and the adapters.
//!
//! A function crate turns its event into inputs and hands them here; this crate runs the one path
//! every survey change takes ([`engine`]: load → `decide` → conditional save with the effects →
//! queues), the queue consumers' record loop ([`batch`]), the complaint status track
//! ([`complaints`]), the KPI report's gathering ([`report`]), the weekly digest's firing ([`digest`]) and the wiring of a function from its
//! environment ([`env`]). The rules themselves are `otklik_core`; the I/O is `otklik_aws`.

pub mod batch;
pub mod complaints;
pub mod digest;
pub mod engine;
pub mod env;
pub mod max;
pub mod report;
pub mod retry;
