//! `otklik kpi`: the KPI report of a period of the shop's days, from the per-day counters. The
//! arithmetic is `otklik_core::kpi`, the reading `otklik_app::report`: the CLI and the report
//! route share both.

pub use otklik_app::report::{by_days, gather};
pub use otklik_core::kpi::{period, period_days};
