//! `otklik kpi`: the KPI report over the surveys sent in a period. The arithmetic is
//! `otklik_core::kpi`, the collecting `otklik_app::report`: the CLI and the report route share both.

pub use otklik_app::report::gather;
pub use otklik_core::kpi::period;
