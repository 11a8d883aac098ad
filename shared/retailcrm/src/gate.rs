//! The gate every attempt passes before the in-process pacer: where one retailCRM budget is shared
//! by every process of the installation (`otklik_core::crm_budget` has the rule, the spacing and
//! the priority of writes over reads; `docs/retailcrm-contract.md` the reasons).
//!
//! [`InProcess`] lets everything through (the pacer alone paces one process, as in a test or the
//! CLI); [`SharedGate`] books a slot in a [`SlotBook`] shared by all processes and sleeps until it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use otklik_core::crm_budget::{next_step, Booked, Budget, Priority, SlotBook, Step};

/// A boxed future, so the gate can sit behind `Arc<dyn RateGate>` in the client.
pub type GateFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Waits until one request of `priority` may go to the account of `key` (see
/// [`otklik_core::crm_budget::budget_key`]).
pub trait RateGate: Send + Sync + fmt::Debug {
    fn admit<'a>(&'a self, key: &'a str, priority: Priority) -> GateFuture<'a>;
}

/// No shared budget: the process's pacer is the only pace.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl RateGate for InProcess {
    fn admit<'a>(&'a self, _key: &'a str, _priority: Priority) -> GateFuture<'a> {
        Box::pin(std::future::ready(()))
    }
}

/// Milliseconds since the Unix epoch: the one time scale every process's bookings share.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    })
}

/// The budget shared through a [`SlotBook`]: one conditional write per request in the usual case
/// (the last `tat` seen tells which of the two bookings to try), two when the guess was wrong; a
/// caller beyond its horizon sleeps and books again.
pub struct SharedGate<B> {
    book: B,
    budget: Budget,
    clock: Clock,
    /// The book's `tat` as this process last saw it, per key.
    seen: Mutex<HashMap<String, u64>>,
    /// Reads of this process book one at a time (FIFO). Reads are the ones that wait behind the
    /// horizon and look again; without the turn every waiting read of every process would try
    /// the book at each free slot, a herd of conditional writes on one item.
    read_turn: tokio::sync::Mutex<()>,
    /// How far ahead of now this process books (ms): the book's recent round trips, so that the
    /// slot it gets is not already behind it when the answer arrives. See `try_book`.
    lead_ms: std::sync::atomic::AtomicU64,
}

impl<B> fmt::Debug for SharedGate<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedGate")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl<B: SlotBook> SharedGate<B> {
    pub fn new(book: B, budget: Budget) -> Self {
        Self::with_clock(book, budget, system_clock())
    }

    pub fn with_clock(book: B, budget: Budget, clock: Clock) -> Self {
        SharedGate {
            book,
            budget,
            clock,
            seen: Mutex::new(HashMap::new()),
            read_turn: tokio::sync::Mutex::new(()),
            lead_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Learns a booking's round trip: the lead follows the slowest recent one, and lets it go
    /// an eighth at a time once the book answers faster again.
    fn learn_round_trip(&self, took_ms: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let lead = self.lead_ms.load(Relaxed);
        let next = took_ms.max(lead - lead / 8).min(MAX_LEAD_MS);
        self.lead_ms.store(next, Relaxed);
    }

    fn seen(&self, key: &str) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(key).copied()
    }

    fn remember(&self, key: &str, tat: Option<u64>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match tat {
            Some(t) => seen.insert(key.to_owned(), t),
            None => seen.remove(key),
        };
    }

    /// One try at a slot, without sleeping: a refused booking is tried again at once with the
    /// `tat` it reported (a few times at most: each refusal means someone else just booked).
    ///
    /// The booking is made as if it were `lead_ms` later than it is: the earliest slot it takes
    /// is then when its answer is expected back, not when it was asked for. Booked at "now", a
    /// slot was already as old as the book's round trip when the caller learnt it, and a table
    /// slower than [`LATE_WAKE_MS`] (the local endpoint at a December peak: 110 slots in the
    /// asking phase's 160 calls) had nearly every free slot let go and booked again, each one a
    /// gap in the account's budget. The spacing is the book's, so a later slot keeps it; on AWS
    /// the lead is the table's few milliseconds.
    pub async fn try_book(&self, key: &str, priority: Priority) -> Attempt {
        for _ in 0..MAX_TRIES {
            let asked = (self.clock)();
            let now = asked + self.lead_ms.load(std::sync::atomic::Ordering::Relaxed);
            let answer = match next_step(&self.budget, priority, now, self.seen(key)) {
                Step::Claim(c) => self.book.claim(key, c).await,
                Step::Append(a) => self.book.append(key, a).await,
                // `seen` stays: at that instant the same `tat` is within the horizon.
                Step::WaitUntil(at) => return Attempt::RetryAt(at),
            };
            self.learn_round_trip((self.clock)().saturating_sub(asked));
            match answer {
                Ok(Booked::Slot(slot)) => {
                    self.remember(key, Some(slot + self.budget.interval_ms));
                    return Attempt::Slot(slot);
                }
                Ok(Booked::Refused { tat }) => self.remember(key, tat),
                Err(e) => {
                    tracing::warn!(error = %e, "the shared retailCRM budget could not be booked; going on with the process's pace");
                    return Attempt::Failed;
                }
            }
        }
        // A crowd is booking this very moment: step back one interval rather than spin.
        Attempt::RetryAt((self.clock)() + self.budget.interval_ms)
    }
}

/// Refused bookings tried again at once before stepping back.
const MAX_TRIES: usize = 4;
/// The most a process books ahead for its round trip to the book: a table slower than this is
/// failing, and its callers' late wakes are handled as any other.
const MAX_LEAD_MS: u64 = 200;

/// What one try at a slot came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The caller's slot (epoch ms): send then.
    Slot(u64),
    /// Nothing booked: try again at this instant (epoch ms).
    RetryAt(u64),
    /// The book failed. The request goes anyway, paced by its process alone, and a 503 that may
    /// follow is retried after its `Retry-After`: failing closed would turn a hiccup of the table
    /// into a failed customer flow.
    Failed,
}

impl<B: SlotBook + 'static> RateGate for SharedGate<B> {
    fn admit<'a>(&'a self, key: &'a str, priority: Priority) -> GateFuture<'a> {
        Box::pin(async move {
            // Held while booking, not while sleeping until the slot: the next read of this
            // process may book the slot after it at once.
            let turn = match priority {
                Priority::Read => Some(self.read_turn.lock().await),
                Priority::Write => None,
            };
            let mut turn = turn;
            let mut rebooked = 0;
            loop {
                let slot = loop {
                    match self.try_book(key, priority).await {
                        Attempt::Slot(at) => break Some(at),
                        Attempt::RetryAt(at) => sleep_ms(at.saturating_sub((self.clock)())).await,
                        Attempt::Failed => break None,
                    }
                };
                drop(turn.take());
                let Some(at) = slot else { return };
                sleep_ms(at.saturating_sub((self.clock)())).await;
                // The spacing absorbs a request reaching the server up to 100 ms after its slot;
                // a process that wakes much later (a starved CPU) would spend most of that before
                // sending, so it lets the slot go and books another. Bounded: a machine that never
                // keeps time still sends, and a 503 that may follow is retried after its
                // `Retry-After`.
                let late = (self.clock)().saturating_sub(at);
                if late <= LATE_WAKE_MS || rebooked == MAX_REBOOKS {
                    return;
                }
                rebooked += 1;
                SLOTS_LET_GO.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(
                    late_ms = late,
                    "woke past the booked retailCRM slot; booking another"
                );
                turn = match priority {
                    Priority::Read => Some(self.read_turn.lock().await),
                    Priority::Write => None,
                };
            }
        })
    }
}

/// Booked slots this process let go because it woke too late for them (each one a gap in the
/// account's budget): the December peak bench reports it.
static SLOTS_LET_GO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many booked slots this process has let go for waking past them, since it started.
pub fn slots_let_go() -> u64 {
    SLOTS_LET_GO.load(std::sync::atomic::Ordering::Relaxed)
}

/// How late after its slot a caller may still send (see `admit`): less than
/// [`otklik_core::crm_budget::JITTER_ALLOWANCE_MS`], which must also cover the trip to the server.
pub const LATE_WAKE_MS: u64 = 40;
/// Slots let go for lateness before a request goes anyway.
const MAX_REBOOKS: u32 = 3;

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_core::crm_budget::{Append, Claim};
    use otklik_core::ports::{PortError, PortResult};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    const T0: u64 = 1_765_000_000_000;
    const INTERVAL: u64 = 110;

    /// The book in memory, with DynamoDB's conditional semantics; counts the writes.
    #[derive(Default)]
    struct MemBook {
        tat: Mutex<Option<u64>>,
        writes: AtomicUsize,
        fail: bool,
        /// Answers this many claims with a slot this long past, as a caller that woke late sees.
        stale: Mutex<(usize, u64)>,
        /// Answers every booking this long after it was asked (ms), as a busy table does.
        answer_after_ms: u64,
    }

    impl SlotBook for MemBook {
        async fn claim(&self, _key: &str, c: Claim) -> PortResult<Booked> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            sleep_ms(self.answer_after_ms).await;
            if self.fail {
                return Err(PortError::Transient("down".into()));
            }
            {
                let mut stale = self.stale.lock().unwrap();
                if stale.0 > 0 {
                    stale.0 -= 1;
                    return Ok(Booked::Slot(c.now - stale.1));
                }
            }
            let mut tat = self.tat.lock().unwrap();
            match *tat {
                Some(t) if t >= c.now && t <= c.reset_above => Ok(Booked::Refused { tat: *tat }),
                _ => {
                    *tat = Some(c.next_tat);
                    Ok(Booked::Slot(c.now))
                }
            }
        }

        async fn append(&self, _key: &str, a: Append) -> PortResult<Booked> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            sleep_ms(self.answer_after_ms).await;
            let mut tat = self.tat.lock().unwrap();
            match *tat {
                Some(t) if t >= a.not_before && t <= a.not_after => {
                    *tat = Some(t + a.interval);
                    Ok(Booked::Slot(t))
                }
                _ => Ok(Booked::Refused { tat: *tat }),
            }
        }
    }

    /// Several processes (one gate each) on one book, on a clock the test sets.
    struct World {
        book: Arc<MemBook>,
        now: Arc<AtomicU64>,
        gates: Vec<SharedGate<Arc<MemBook>>>,
    }

    fn world(processes: usize) -> World {
        let book = Arc::new(MemBook::default());
        let now = Arc::new(AtomicU64::new(T0));
        let gates = (0..processes)
            .map(|_| {
                let now = Arc::clone(&now);
                SharedGate::with_clock(
                    Arc::clone(&book),
                    Budget::per_second(10),
                    Arc::new(move || now.load(Ordering::SeqCst)),
                )
            })
            .collect();
        World { book, now, gates }
    }

    /// A caller: its process, its kind, and whether it asks again (after `again_ms`) once served.
    #[derive(Clone, Copy)]
    struct Caller {
        process: usize,
        priority: Priority,
        again_ms: Option<u64>,
    }

    /// Runs the callers in virtual time (each event at its instant, in order) until `until`
    /// (relative to T0); returns every slot granted as (slot relative to T0, asked at, caller).
    async fn simulate(w: &World, start: &[(u64, Caller)], until: u64) -> Vec<(u64, u64, usize)> {
        // (when, seq, caller index, first asked at)
        let mut events: BinaryHeap<Reverse<(u64, usize, usize, u64)>> = start
            .iter()
            .enumerate()
            .map(|(i, (at, _))| Reverse((*at, i, i, *at)))
            .collect();
        let mut seq = start.len();
        let mut granted = Vec::new();
        while let Some(Reverse((at, _, i, asked))) = events.pop() {
            if at > until {
                break;
            }
            w.now.store(T0 + at, Ordering::SeqCst);
            let c = start[i].1;
            match w.gates[c.process].try_book("k", c.priority).await {
                Attempt::Slot(slot) => {
                    let slot = slot - T0;
                    assert!(slot >= at, "a slot in the past: {slot} < {at}");
                    granted.push((slot, asked, i));
                    if let Some(again) = c.again_ms {
                        events.push(Reverse((slot + again, seq, i, slot + again)));
                    }
                }
                Attempt::RetryAt(t) => events.push(Reverse((t - T0, seq, i, asked))),
                Attempt::Failed => panic!("the book does not fail here"),
            }
            seq += 1;
        }
        granted
    }

    fn caller(process: usize, priority: Priority) -> Caller {
        Caller {
            process,
            priority,
            again_ms: None,
        }
    }

    #[tokio::test]
    async fn concurrent_callers_of_several_processes_go_one_interval_apart() {
        let w = world(3);
        let start: Vec<(u64, Caller)> = (0..60)
            .map(|i| {
                let p = if i % 2 == 0 {
                    Priority::Write
                } else {
                    Priority::Read
                };
                (i as u64 % 7, caller(i % 3, p))
            })
            .collect();
        let granted = simulate(&w, &start, 60_000).await;
        assert_eq!(granted.len(), 60, "every caller is served");
        let mut slots: Vec<u64> = granted.iter().map(|g| g.0).collect();
        slots.sort_unstable();
        for pair in slots.windows(2) {
            assert!(pair[1] - pair[0] >= INTERVAL, "{slots:?}");
        }
        // A backlog runs at the full spacing, not slower: 60 slots back to back.
        assert_eq!(slots[59] - slots[0], 59 * INTERVAL, "{slots:?}");
        // All 30 writes go before the reads that were waiting beyond their horizon.
        let last_write = granted
            .iter()
            .filter(|g| start[g.2].1.priority == Priority::Write)
            .map(|g| g.0)
            .max()
            .unwrap();
        assert!(last_write < 35 * INTERVAL, "{last_write}");
    }

    #[tokio::test]
    async fn a_write_gets_a_slot_quickly_while_reads_flood() {
        let w = world(4);
        // Forty readers in four processes, each reading again 30 ms after its slot: a flood.
        let mut start: Vec<(u64, Caller)> = (0..40)
            .map(|i| {
                let mut c = caller(i % 4, Priority::Read);
                c.again_ms = Some(30);
                (i as u64, c)
            })
            .collect();
        // Writes arrive in the middle of it, one every 1.3 s.
        for k in 0..5 {
            start.push((3_000 + k * 1_300, caller(k as usize % 4, Priority::Write)));
        }
        let granted = simulate(&w, &start, 12_000).await;
        let reads = granted
            .iter()
            .filter(|g| start[g.2].1.priority == Priority::Read)
            .count();
        assert!(reads >= 95, "the flood takes the free slots: {reads} reads");
        let writes: Vec<(u64, u64)> = granted
            .iter()
            .filter(|g| start[g.2].1.priority == Priority::Write)
            .map(|g| (g.1, g.0))
            .collect();
        assert_eq!(writes.len(), 5);
        for (asked, slot) in writes {
            // The rule's promise: a 300 ms queue of reads at most, then the write's own slot.
            assert!(
                slot - asked <= 300 + INTERVAL,
                "a write asked at {asked} ms got its slot at {slot} ms"
            );
        }
    }

    #[tokio::test]
    async fn writes_go_before_reads_already_waiting() {
        let w = world(2);
        // Thirty reads at once: three book (0, 110, 220 ms; the next free slot is then 330 ms,
        // beyond their 300 ms horizon), a fourth at 30 ms (330 is then within it) and the rest
        // wait. Ten writes come at 50 ms.
        let mut start: Vec<(u64, Caller)> = (0..30)
            .map(|i| (0, caller(i % 2, Priority::Read)))
            .collect();
        for i in 0..10 {
            start.push((50, caller(i % 2, Priority::Write)));
        }
        let granted = simulate(&w, &start, 60_000).await;
        assert_eq!(granted.len(), 40);
        let slots = |write: bool| -> Vec<u64> {
            let mut s: Vec<u64> = granted
                .iter()
                .filter(|g| (g.2 >= 30) == write)
                .map(|g| g.0)
                .collect();
            s.sort_unstable();
            s
        };
        let writes: Vec<u64> = (4..14).map(|k| k * INTERVAL).collect();
        assert_eq!(slots(true), writes, "the writes take the next ten slots");
        let reads = slots(false);
        assert_eq!(reads[..4], [0, INTERVAL, 2 * INTERVAL, 3 * INTERVAL]);
        assert_eq!(
            reads[4],
            14 * INTERVAL,
            "the waiting reads come after the writes"
        );
        // Every slot is used: the reads lose nothing but their place.
        assert_eq!(reads[29], 39 * INTERVAL);
    }

    #[tokio::test]
    async fn a_lone_caller_books_once_per_request() {
        let w = world(1);
        // Calls a second apart find the book idle: one claim each, at once.
        let start: Vec<(u64, Caller)> = (0..6)
            .map(|i| (i * 1_000, caller(0, Priority::Read)))
            .collect();
        let granted = simulate(&w, &start, 60_000).await;
        assert!(granted.iter().all(|(slot, asked, _)| slot == asked));
        assert_eq!(w.book.writes.load(Ordering::Relaxed), 6);
        // Back to back, the remembered `tat` says "append": still one write each.
        let start: Vec<(u64, Caller)> = (0..5)
            .map(|_| (10_000, caller(0, Priority::Write)))
            .collect();
        simulate(&w, &start, 60_000).await;
        assert_eq!(w.book.writes.load(Ordering::Relaxed), 11);
    }

    /// The real thing, on the wall clock: `admit` returns at the slot, not before.
    #[tokio::test]
    async fn admit_sleeps_until_the_slot() {
        let gate = SharedGate::new(MemBook::default(), Budget::per_second(10));
        let t0 = std::time::Instant::now();
        for _ in 0..4 {
            gate.admit("k", Priority::Write).await;
        }
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(3 * INTERVAL - 2), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[tokio::test]
    async fn a_caller_that_wakes_past_its_slot_books_another() {
        // The first slot is already 200 ms gone when the caller looks: it books again.
        let book = MemBook {
            stale: Mutex::new((1, 200)),
            ..MemBook::default()
        };
        let gate = SharedGate::new(book, Budget::per_second(10));
        gate.admit("k", Priority::Read).await;
        assert_eq!(gate.book.writes.load(Ordering::Relaxed), 2);

        // Within the allowance it keeps the slot.
        let book = MemBook {
            stale: Mutex::new((1, LATE_WAKE_MS / 2)),
            ..MemBook::default()
        };
        let gate = SharedGate::new(book, Budget::per_second(10));
        gate.admit("k", Priority::Write).await;
        assert_eq!(gate.book.writes.load(Ordering::Relaxed), 1);

        // A machine that never keeps time still sends, after a bounded number of tries.
        let book = MemBook {
            stale: Mutex::new((usize::MAX, 500)),
            ..MemBook::default()
        };
        let gate = SharedGate::new(book, Budget::per_second(10));
        gate.admit("k", Priority::Write).await;
        assert_eq!(
            gate.book.writes.load(Ordering::Relaxed),
            1 + MAX_REBOOKS as usize
        );
    }

    #[tokio::test]
    async fn a_slow_book_does_not_make_its_callers_late_for_their_slots() {
        // Each booking answers 80 ms after it was asked, twice the lateness a caller may have.
        // Booked at "now", every slot of an idle book was 80 ms gone on arrival and let go, again
        // and again; booked as far ahead as the book takes to answer, only the first is (before
        // the gate has seen a round trip).
        let book = MemBook {
            answer_after_ms: 2 * LATE_WAKE_MS,
            ..MemBook::default()
        };
        let gate = SharedGate::new(book, Budget::per_second(10));
        for _ in 0..4 {
            gate.admit("k", Priority::Read).await;
            // The book idle again before the next call: each books a fresh slot.
            sleep_ms(2 * INTERVAL).await;
        }
        let writes = gate.book.writes.load(Ordering::Relaxed);
        assert!(writes <= 5, "{writes} bookings for 4 calls");
    }

    #[tokio::test]
    async fn a_failing_book_lets_the_call_through() {
        let book = MemBook {
            fail: true,
            ..MemBook::default()
        };
        let gate = SharedGate::new(book, Budget::per_second(10));
        assert_eq!(gate.try_book("k", Priority::Write).await, Attempt::Failed);
        let t0 = std::time::Instant::now();
        gate.admit("k", Priority::Write).await;
        assert!(t0.elapsed() < Duration::from_millis(100));
    }
}
