//! The one retry-on-conflict loop. Every conditional write that can lose to a concurrent writer
//! (a survey's save, a complaint track's save) runs its read-decide-write attempt through here:
//! the attempt reads afresh, decides again on what it read, and writes conditionally.

use std::fmt::Display;
use std::future::Future;

use otklik_core::ports::{PortError, PortResult};

/// How many rounds a conditional write gets before the loser gives up. Concurrent writers of one
/// item are rare (a provider's retry racing the original, a trigger racing the poller); a few
/// rounds settle them, and a giving-up caller fails its message, which the queue redelivers.
pub const CONFLICT_RETRIES: usize = 8;

/// Runs `attempt(0)`, `attempt(1)`, … until one ends in anything but [`PortError::Conflict`].
/// The round number lets the first attempt start from a value already loaded and later ones read
/// afresh. `what` names the contested item in the error of the last round.
pub async fn retry_on_conflict<T, F, Fut>(what: impl Display, mut attempt: F) -> PortResult<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = PortResult<T>>,
{
    for round in 0..CONFLICT_RETRIES {
        match attempt(round).await {
            Err(PortError::Conflict(_)) => continue,
            other => return other,
        }
    }
    Err(PortError::Conflict(format!(
        "{what} kept changing under {CONFLICT_RETRIES} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn a_conflict_is_retried_with_the_next_round_and_other_errors_stop_at_once() {
        let calls = Cell::new(0);
        let got = retry_on_conflict("survey s1", |round| {
            calls.set(calls.get() + 1);
            async move {
                if round < 2 {
                    Err(PortError::Conflict("lost".into()))
                } else {
                    Ok(round)
                }
            }
        })
        .await;
        assert_eq!(got.unwrap(), 2);
        assert_eq!(calls.get(), 3);

        calls.set(0);
        let got: PortResult<()> = retry_on_conflict("survey s1", |_| {
            calls.set(calls.get() + 1);
            async { Err(PortError::Transient("throttled".into())) }
        })
        .await;
        assert!(matches!(got, Err(PortError::Transient(_))));
        assert_eq!(calls.get(), 1);

        let got: PortResult<()> = retry_on_conflict("survey s1", |_| async {
            Err(PortError::Conflict("x".into()))
        })
        .await;
        match got {
            Err(PortError::Conflict(m)) => assert!(m.contains("survey s1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
