//! `otklik kpi`: the KPI report over the surveys sent in a period. The arithmetic is
//! `otklik_core::kpi`, the collecting `otklik_aws::report`: the CLI and the report route share both.

pub use otklik_aws::report::gather;
pub use otklik_core::kpi::period;
