//! The two things every test against the local AWS endpoint needs, whatever crate it lives in: the
//! endpoint itself (or a clear failure, never a silent skip) and a stack name no other test or run
//! uses. The flow tests' harness (`tests/flow`) builds on these.

use std::time::{SystemTime, UNIX_EPOCH};

/// `AWS_ENDPOINT_URL`. Fails (never skips) without it: a test that silently passes without its
/// backend proves nothing.
pub fn local_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run `make test`")
}

/// `t{nanos}-{test}`: a stack name of this test's own, so tests running at once (and runs after
/// each other on one endpoint) never see each other's tables, queues or schedules. The clock's
/// last twelve digits (nanoseconds, wrapping every ~17 minutes) tell runs apart and keep the
/// names short.
pub fn unique_stack(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("t{}-{test}", nanos % 1_000_000_000_000)
}
