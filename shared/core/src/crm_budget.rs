//! One retailCRM budget per API key, shared by every process that calls the account.
//!
//! The rule is "virtual scheduling" (GCRA without a burst): a book per key holds the next free slot
//! (`tat`, epoch milliseconds); a caller books the slot at `tat` and moves `tat` one interval on,
//! then sleeps until its slot. This module decides what to ask of the book; the book itself is a
//! port ([`SlotBook`], one DynamoDB item in production) and the waiting is the retailCRM client's.
//!
//! **Spacing.** retailCRM (and our simulator) refuses the 11th request within any sliding second.
//! Slots are `(1000 + J) / rate` ms apart, with `J` = [`JITTER_ALLOWANCE_MS`]: if each request
//! reaches the server between `d` and `d + J` ms after its slot (the sleep's overshoot, the HTTP
//! client's queue, clocks of different hosts), requests `k` and `k + rate` arrive more than
//! `rate · interval − J = 1000` ms apart, so no second holds `rate + 1` of them. At 10 req/s that is
//! 110 ms, 9.09 req/s while a backlog exists: 91% of the account's limit, and room for 100 ms of
//! jitter.
//!
//! **Priority.** Writes (ratings, words, complaints, tasks: every POST) may book up to
//! [`WRITE_HORIZON_MS`] ahead of now; reads (every GET) only [`READ_HORIZON_MS`]. While reads
//! flood, the queue of booked slots is never more than 300 ms long, so a write gets a slot within
//! about 0.3 s + one interval; while writes have a backlog, reads wait until it is under 300 ms
//! and so take only the slots writes leave free. Reads slow down, they are never refused.

use std::future::Future;

use sha2::{Digest, Sha256};

use crate::ports::PortResult;

/// The spread of arrival delays the spacing absorbs (see the module docs).
pub const JITTER_ALLOWANCE_MS: u64 = 100;
/// How far ahead of now a read may book.
pub const READ_HORIZON_MS: u64 = 300;
/// How far ahead of now a write may book. Bounded so that a write never sleeps longer than a
/// function's time budget allows; beyond it the write waits and looks again, as a read does.
pub const WRITE_HORIZON_MS: u64 = 10_000;
/// A next free slot further ahead than this cannot come from a booking (which stays within
/// [`WRITE_HORIZON_MS`]): a host with a clock far ahead wrote it, and it is claimed afresh rather
/// than making everyone wait for it.
pub const IMPLAUSIBLE_AHEAD_MS: u64 = 60_000;

/// Which of the two kinds of call a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A write: rating, words, complaint order, link, task (every POST).
    Write,
    /// A read: orders, history, reference data (every GET).
    Read,
}

/// The spacing and the horizons of one key's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Between two slots.
    pub interval_ms: u64,
    pub read_horizon_ms: u64,
    pub write_horizon_ms: u64,
}

impl Budget {
    /// The budget of an account allowing `rate` requests per second (retailCRM: 10).
    pub fn per_second(rate: u32) -> Budget {
        let rate = u64::from(rate.max(1));
        Budget {
            interval_ms: (1000 + JITTER_ALLOWANCE_MS).div_ceil(rate),
            read_horizon_ms: READ_HORIZON_MS,
            write_horizon_ms: WRITE_HORIZON_MS,
        }
    }

    fn horizon_ms(&self, priority: Priority) -> u64 {
        match priority {
            Priority::Write => self.write_horizon_ms,
            Priority::Read => self.read_horizon_ms,
        }
    }
}

/// A booking for when the book is idle: the slot is `now`, and `tat` becomes `next_tat`.
/// Applies only if `tat` is absent, before `now`, or after `reset_above` (implausible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub now: u64,
    pub next_tat: u64,
    pub reset_above: u64,
}

/// A booking behind the queue: the slot is the current `tat`, which moves on by `interval`.
/// Applies only if `not_before <= tat <= not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Append {
    pub not_before: u64,
    pub not_after: u64,
    pub interval: u64,
}

/// What to do next, from the book as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Claim(Claim),
    Append(Append),
    /// The queue is longer than this caller may book ahead: look again at this instant (ms).
    WaitUntil(u64),
}

/// The next step for a caller of `priority` at `now`, given the book's `tat` as last seen
/// (`None`: never seen, or no booking yet).
pub fn next_step(budget: &Budget, priority: Priority, now: u64, seen_tat: Option<u64>) -> Step {
    let claim = Step::Claim(Claim {
        now,
        next_tat: now + budget.interval_ms,
        reset_above: now + IMPLAUSIBLE_AHEAD_MS,
    });
    let Some(tat) = seen_tat else { return claim };
    if tat < now || tat > now + IMPLAUSIBLE_AHEAD_MS {
        return claim;
    }
    let horizon = budget.horizon_ms(priority);
    if tat > now + horizon {
        return Step::WaitUntil(tat - horizon);
    }
    Step::Append(Append {
        not_before: now,
        not_after: now + horizon,
        interval: budget.interval_ms,
    })
}

/// What the book answered a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booked {
    /// The caller's slot (epoch ms).
    Slot(u64),
    /// The condition did not hold; the book's `tat` as it is now (`None`: no booking yet).
    Refused { tat: Option<u64> },
}

/// Where the next free slot of each key is kept, shared by every process (DynamoDB in
/// production). Each method is one conditional write: it applies the booking if its condition
/// holds and says what the `tat` was otherwise.
pub trait SlotBook: Send + Sync {
    fn claim(&self, key: &str, claim: Claim) -> impl Future<Output = PortResult<Booked>> + Send;
    fn append(&self, key: &str, append: Append) -> impl Future<Output = PortResult<Booked>> + Send;
}

/// Shared books, as every process holds its adapter.
impl<T: SlotBook> SlotBook for std::sync::Arc<T> {
    fn claim(&self, key: &str, claim: Claim) -> impl Future<Output = PortResult<Booked>> + Send {
        T::claim(self, key, claim)
    }
    fn append(&self, key: &str, append: Append) -> impl Future<Output = PortResult<Booked>> + Send {
        T::append(self, key, append)
    }
}

/// The book's key for one account and API key: the key itself never leaves the process, only a
/// hash of it (so the table holds nothing that opens the account).
pub fn budget_key(base_url: &str, api_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(base_url.as_bytes());
    h.update([0u8]);
    h.update(api_key.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("crmbudget#{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_765_000_000_000;

    fn budget() -> Budget {
        Budget::per_second(10)
    }

    #[test]
    fn ten_per_second_is_110_ms_apart() {
        assert_eq!(budget().interval_ms, 110);
        assert_eq!(Budget::per_second(1).interval_ms, 1100);
        assert_eq!(Budget::per_second(3).interval_ms, 367);
        // A zero rate (refused by the config anyway) does not divide by zero.
        assert_eq!(Budget::per_second(0).interval_ms, 1100);
    }

    /// The spacing's promise: with slots one interval apart and every arrival delayed by anything
    /// within the allowance, no window of one second holds more than `rate` arrivals, and a
    /// backlog runs at 9 requests a second or more.
    #[test]
    fn slots_with_any_jitter_in_the_allowance_keep_every_second_within_the_limit() {
        let b = budget();
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut arrivals: Vec<u64> = (0..200u64)
            .map(|k| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                // Worst cases too: every fifth request at either end of the allowance.
                let jitter = match k % 5 {
                    0 => 0,
                    1 => JITTER_ALLOWANCE_MS - 1,
                    _ => rng % JITTER_ALLOWANCE_MS,
                };
                NOW + k * b.interval_ms + jitter
            })
            .collect();
        arrivals.sort_unstable();
        for (i, &t) in arrivals.iter().enumerate() {
            // The simulator's window: the arrivals within [t − 999, t].
            let in_window = arrivals[..=i].iter().filter(|&&a| t - a < 1000).count();
            assert!(in_window <= 10, "{in_window} within the second before {t}");
        }
        assert!(1000.0 / b.interval_ms as f64 >= 9.0);
    }

    #[test]
    fn an_idle_book_is_claimed_at_now() {
        let b = budget();
        let want = Step::Claim(Claim {
            now: NOW,
            next_tat: NOW + 110,
            reset_above: NOW + IMPLAUSIBLE_AHEAD_MS,
        });
        for p in [Priority::Read, Priority::Write] {
            assert_eq!(next_step(&b, p, NOW, None), want);
            assert_eq!(next_step(&b, p, NOW, Some(NOW - 1)), want);
            // A slot far in the future cannot be a booking: it is claimed afresh.
            assert_eq!(
                next_step(&b, p, NOW, Some(NOW + IMPLAUSIBLE_AHEAD_MS + 1)),
                want
            );
        }
    }

    #[test]
    fn a_busy_book_is_appended_to_within_the_horizon() {
        let b = budget();
        assert_eq!(
            next_step(&b, Priority::Read, NOW, Some(NOW)),
            Step::Append(Append {
                not_before: NOW,
                not_after: NOW + READ_HORIZON_MS,
                interval: 110
            })
        );
        assert_eq!(
            next_step(&b, Priority::Write, NOW, Some(NOW + 5_000)),
            Step::Append(Append {
                not_before: NOW,
                not_after: NOW + WRITE_HORIZON_MS,
                interval: 110
            })
        );
    }

    #[test]
    fn a_read_waits_behind_a_queue_a_write_would_join() {
        let b = budget();
        let tat = NOW + 2_000;
        assert_eq!(
            next_step(&b, Priority::Read, NOW, Some(tat)),
            Step::WaitUntil(tat - READ_HORIZON_MS)
        );
        assert!(matches!(
            next_step(&b, Priority::Write, NOW, Some(tat)),
            Step::Append(_)
        ));
        // Right at the horizon a read still books.
        assert!(matches!(
            next_step(&b, Priority::Read, NOW, Some(NOW + READ_HORIZON_MS)),
            Step::Append(_)
        ));
        // Past the write horizon a write waits too, so no write sleeps longer than that.
        let far = NOW + WRITE_HORIZON_MS + 1;
        assert_eq!(
            next_step(&b, Priority::Write, NOW, Some(far)),
            Step::WaitUntil(far - WRITE_HORIZON_MS)
        );
    }

    #[test]
    fn the_key_hides_the_api_key_and_tells_accounts_apart() {
        let a = budget_key("https://a.retailcrm.ru", "secret-key");
        assert!(a.starts_with("crmbudget#"), "{a}");
        assert!(!a.contains("secret"), "{a}");
        assert_eq!(a, budget_key("https://a.retailcrm.ru", "secret-key"));
        assert_ne!(a, budget_key("https://b.retailcrm.ru", "secret-key"));
        assert_ne!(a, budget_key("https://a.retailcrm.ru", "other-key"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(budget_key("ab", "c"), budget_key("a", "bc"));
    }
}
