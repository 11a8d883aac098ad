//! One paced path per API key per process.
//!
//! retailCRM answers 503 once a key makes more than 10 requests in a second, and it counts every
//! request of the key, whichever of our clients (or retries) sent it. So every `RetailCrm` with the
//! same account and key shares one [`Pacer`] from a process-wide registry, and every attempt,
//! retries included, waits for a permit.
//!
//! The rule: with a rate of N, request *i* may start only ≥ 1 s + 50 ms after request *i − N* had
//! certainly arrived at the server. "Certainly arrived" is the moment its response came back (an
//! exact upper bound), but at most 1 s after it started: a slow answer is slow because of the
//! server's work, and counting all of that would waste throughput. (200 ms proved too short on a
//! loaded machine: a request can sit that long in the runtime before it leaves, and then arrives
//! inside the next request's window.) So no window of one second, as
//! the server sees it, holds more than N requests, even when early requests sat in a TCP/TLS
//! handshake and later ones reuse a warm connection.
//!
//! Waiting is fair and idle: callers queue on a FIFO `tokio::sync::Mutex`; only the head of the
//! queue sleeps (`sleep_until` its slot, woken early if an answer moves the slot), everyone else
//! is parked.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The server's window.
const WINDOW: Duration = Duration::from_secs(1);
/// Margin for scheduling delays and for the server's window edges.
const MARGIN: Duration = Duration::from_millis(50);
/// The longest we assume a request takes to reach the server while we wait for its answer.
const ARRIVAL_SLACK: Duration = Duration::from_secs(1);

/// The pacer of `(base_url, api_key)`, created on first use and shared from then on.
///
/// The registry is keyed by a hash, so the map itself never holds the key. If clients of one key
/// ask for different rates, the lowest wins: being too slow costs latency, too fast costs 503s.
pub(crate) fn pacer_for(base_url: &str, api_key: &str, rate_per_second: u32) -> Arc<Pacer> {
    static REGISTRY: OnceLock<Mutex<HashMap<u64, Arc<Pacer>>>> = OnceLock::new();
    let mut h = DefaultHasher::new();
    (base_url, api_key).hash(&mut h);
    let id = h.finish();
    let mut map = REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let pacer = map
        .entry(id)
        .or_insert_with(|| Arc::new(Pacer::new(rate_per_second)));
    pacer
        .rate
        .fetch_min(rate_per_second.max(1), Ordering::Relaxed);
    Arc::clone(pacer)
}

#[derive(Debug)]
pub(crate) struct Pacer {
    rate: AtomicU32,
    /// Held by whoever is next to go; FIFO, so waiters are served in arrival order.
    turn: tokio::sync::Mutex<()>,
    /// The last `rate` requests. A plain mutex: only held for a few instructions, never across an
    /// await, so a finishing request can record its answer while the head of the queue sleeps.
    sent: Mutex<VecDeque<Sent>>,
    /// Wakes the head of the queue when an answer may have moved its slot earlier.
    answered: tokio::sync::Notify,
    next_id: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    id: u64,
    started: Instant,
    answered: Option<Instant>,
}

impl Sent {
    /// The latest instant the server can have seen this request.
    fn arrived_by(&self) -> Instant {
        let assumed = self.started + ARRIVAL_SLACK;
        self.answered.map_or(assumed, |a| a.min(assumed))
    }
}

impl Pacer {
    pub(crate) fn new(rate_per_second: u32) -> Self {
        Pacer {
            rate: AtomicU32::new(rate_per_second.max(1)),
            turn: tokio::sync::Mutex::new(()),
            sent: Mutex::new(VecDeque::new()),
            answered: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(0),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, VecDeque<Sent>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the caller's turn and slot. Hold the permit until the response headers arrive
    /// (or the attempt fails); dropping it records that moment.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        let _turn = self.turn.lock().await;
        let rate = self.rate.load(Ordering::Relaxed) as usize;
        loop {
            // Registered before reading the log, so an answer recorded in between still wakes us.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let not_before = {
                let log = self.log();
                (log.len() >= rate).then(|| log[log.len() - rate].arrived_by() + WINDOW + MARGIN)
            };
            match not_before {
                Some(t) if t > Instant::now() => {
                    // An answer can only move the slot earlier: look again when one comes in.
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => break,
                        _ = &mut answered => continue,
                    }
                }
                _ => break,
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut log = self.log();
        log.push_back(Sent {
            id,
            started: Instant::now(),
            answered: None,
        });
        while log.len() > rate {
            log.pop_front();
        }
        Permit {
            pacer: Arc::clone(self),
            id,
        }
    }

    fn record_answer(&self, id: u64) {
        let now = Instant::now();
        let found = match self.log().iter_mut().rev().find(|s| s.id == id) {
            Some(s) => {
                s.answered.get_or_insert(now);
                true
            }
            None => false,
        };
        if found {
            self.answered.notify_waiters();
        }
    }
}

/// A request's place in the pace. Drop it when the answer (or the failure) is in.
#[derive(Debug)]
pub(crate) struct Permit {
    pacer: Arc<Pacer>,
    id: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.pacer.record_answer(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_shares_by_account_and_key() {
        let a = pacer_for("https://a.example", "reg-key-1", 10);
        let b = pacer_for("https://a.example", "reg-key-1", 10);
        let c = pacer_for("https://a.example", "reg-key-2", 10);
        let d = pacer_for("https://b.example", "reg-key-1", 10);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &d));
    }

    #[test]
    fn lowest_rate_wins() {
        let a = pacer_for("https://a.example", "reg-key-rate", 10);
        let _b = pacer_for("https://a.example", "reg-key-rate", 4);
        let _c = pacer_for("https://a.example", "reg-key-rate", 8);
        assert_eq!(a.rate.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn hundreds_of_waiters_are_served_in_order_within_the_window() {
        const RATE: usize = 150;
        let p = Arc::new(Pacer::new(RATE as u32));
        let served = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        // A current-thread runtime runs spawned tasks in spawn order, so they queue in index order.
        for i in 0..2 * RATE {
            let (p, served) = (Arc::clone(&p), Arc::clone(&served));
            tasks.push(tokio::spawn(async move {
                let permit = p.acquire().await;
                served.lock().unwrap().push((i, Instant::now() - t0));
                drop(permit);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let served = served.lock().unwrap();
        let order: Vec<usize> = served.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            (0..2 * RATE).collect::<Vec<_>>(),
            "first come, first served"
        );
        let at: Vec<Duration> = served.iter().map(|(_, t)| *t).collect();
        // A quiet key is not slowed down: the first window goes at once.
        assert!(
            at[RATE - 1] < Duration::from_millis(300),
            "{:?}",
            at[RATE - 1]
        );
        for i in RATE..2 * RATE {
            assert!(at[i] - at[i - RATE] >= WINDOW + MARGIN, "{i}: {:?}", at);
        }
    }

    #[tokio::test]
    async fn an_unanswered_request_counts_as_arrived_a_second_after_start() {
        let p = Arc::new(Pacer::new(1));
        let first = p.acquire().await;
        let t0 = Instant::now();
        let _second = p.acquire().await; // `first` still in flight
        assert!(Instant::now() - t0 >= ARRIVAL_SLACK + WINDOW + MARGIN - Duration::from_millis(5));
        drop(first);
    }

    #[tokio::test]
    async fn an_answer_during_the_wait_moves_the_slot_earlier() {
        let p = Arc::new(Pacer::new(1));
        let first = p.acquire().await;
        let t0 = Instant::now();
        let p2 = Arc::clone(&p);
        let waiter = tokio::spawn(async move {
            let _second = p2.acquire().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first); // answered at ≥ 20 ms: the slot is ≥ 1.07 s instead of 1.25 s
        let went = waiter.await.unwrap() - t0;
        assert!(went >= Duration::from_millis(1070), "{went:?}");
        assert!(went < Duration::from_millis(1200), "{went:?}");
    }
}
