//! The order-history stream read once, for everyone (issue 19): the history poller folds every
//! page it reads into "who worked each order", and records how far in time the stream is read;
//! dispatch takes the employee snapshot (SPEC §6) from that fold when the stream covers the
//! order's move into its survey status, instead of reading the order's history again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::dispatch::OrderChange;
use crate::model::EmployeeId;

/// The stream's name: the poller's cursor and its coverage are kept under it.
pub const STREAM: &str = "orders-history";

/// How long the per-order fold is kept after the order's last change. A survey is due hours or
/// days after completion; an order created longer ago than this is never taken from the fold
/// (its item may have expired), see [`covers`].
pub const WORKED_RETENTION_DAYS: i64 = 60;

/// Slack between the two clocks coverage compares (retailCRM's times and the poller's) and for
/// history entries committed slightly out of id order: a change is covered only when the stream
/// is read this far past it.
pub const COVERAGE_SLACK: Duration = Duration::seconds(5);

/// Every person id one change names: who made it, the manager then, and both sides of a change of
/// manager. [`crate::dispatch::employees_of`] counts exactly these.
pub fn people_in(change: &OrderChange) -> impl Iterator<Item = u64> {
    [
        change.by_person,
        change.manager_then,
        change.manager_from,
        change.manager_to,
    ]
    .into_iter()
    .flatten()
}

/// One page of the stream, folded per order: the people each order's changes on the page name.
/// Orders whose changes name nobody are still listed (with an empty set), entries without an
/// order are left out. The poller writes one set union per order of the result, so replaying a
/// page changes nothing.
pub fn fold_page(
    changes: impl IntoIterator<Item = (Option<u64>, OrderChange)>,
) -> BTreeMap<u64, BTreeSet<u64>> {
    let mut out: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (order, change) in changes {
        if let Some(order) = order {
            out.entry(order).or_default().extend(people_in(&change));
        }
    }
    out
}

/// The employee snapshot from the fold: the current manager and everyone the order's changes
/// named, each once, sorted — the same set [`crate::dispatch::employees_of`] gives from the
/// order's own history.
pub fn employees_among(current_manager: Option<u64>, worked: &BTreeSet<u64>) -> Vec<EmployeeId> {
    current_manager
        .into_iter()
        .chain(worked.iter().copied())
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .filter_map(|id| EmployeeId::new(id).ok())
        .collect()
}

/// How much of the history stream the poller has read, in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// The stream is read from here on (the first pass's start date, or the first pass after an
    /// upgrade): an order created before it has changes the fold never saw.
    pub from: DateTime<Utc>,
    /// Every change made before this is folded.
    pub until: DateTime<Utc>,
}

/// How far one page moved coverage. A page shorter than `page_size` is the end of the stream:
/// every change made before the pass started is read. A full page covers up to its last
/// entry's time (entries made in the same second with a higher id are still to come: the
/// [`COVERAGE_SLACK`] in [`covers`] leaves them out).
pub fn covered_after_page(
    pass_started: DateTime<Utc>,
    entries_on_page: usize,
    page_size: usize,
    last_entry_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if entries_on_page < page_size {
        Some(pass_started)
    } else {
        last_entry_at
    }
}

/// Coverage with the stream's tail read past the cursor as well: dispatch reads the entries after
/// the poller's cursor itself (one read serves a whole batch, where per-order reads cost one
/// each), so for that batch the stream is read up to `tail_until` — the tail read's start when it
/// reached the end of the stream, else its last entry's time ([`covered_after_page`] of its last
/// page). `from` stays the stored one: the fold behind the cursor is still what holds every
/// change before the tail. `None` without stored coverage (the stream was never read).
pub fn with_tail(stored: Option<&Coverage>, tail_until: Option<DateTime<Utc>>) -> Option<Coverage> {
    let c = stored?;
    Some(Coverage {
        from: c.from,
        until: tail_until.map_or(c.until, |t| t.max(c.until)),
    })
}

/// Whether the fold can stand for the order's own history: the stream was read from before the
/// order was created (and the order is young enough that its fold has not expired), and past the
/// moment it moved into its survey status. Unknown times never count as covered.
pub fn covers(
    coverage: Option<&Coverage>,
    order_created_at: Option<DateTime<Utc>>,
    status_changed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let (Some(c), Some(created), Some(status_at)) = (coverage, order_created_at, status_changed_at)
    else {
        return false;
    };
    // A day's margin under the retention: the fold's expiry is refreshed by every change, so an
    // order created within it cannot have lost its item.
    let young = created > now - Duration::days(WORKED_RETENTION_DAYS - 1);
    created >= c.from + COVERAGE_SLACK && young && status_at + COVERAGE_SLACK <= c.until
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::employees_of;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn change(
        by: Option<u64>,
        then: Option<u64>,
        from: Option<u64>,
        to: Option<u64>,
    ) -> OrderChange {
        OrderChange {
            by_person: by,
            manager_then: then,
            manager_from: from,
            manager_to: to,
        }
    }

    #[test]
    fn a_page_folds_per_order_and_a_replay_adds_nothing() {
        let page = vec![
            (Some(1), change(Some(11), Some(11), None, None)),
            (Some(2), change(None, Some(20), None, None)),
            (Some(1), change(Some(30), Some(12), Some(11), Some(12))),
            (None, change(Some(99), None, None, None)),
            (Some(3), OrderChange::default()),
        ];
        let folded = fold_page(page.clone());
        assert_eq!(folded[&1], BTreeSet::from([11, 12, 30]));
        assert_eq!(folded[&2], BTreeSet::from([20]));
        assert!(folded[&3].is_empty(), "an order nobody named is still seen");
        assert!(!folded.values().any(|s| s.contains(&99)));
        // Union of the page with itself: what a replayed page does to the stored sets.
        let mut stored = folded.clone();
        for (o, p) in fold_page(page) {
            stored.entry(o).or_default().extend(p);
        }
        assert_eq!(stored, folded);
    }

    #[test]
    fn the_fold_gives_the_same_employees_as_the_history() {
        let history = [
            change(Some(11), Some(11), None, None),
            change(None, Some(11), None, None),
            change(Some(30), Some(12), Some(11), Some(12)),
        ];
        let folded = fold_page(history.iter().map(|c| (Some(7), c.clone())));
        for manager in [None, Some(13), Some(12), Some(0)] {
            assert_eq!(
                employees_among(manager, &folded[&7]),
                employees_of(manager, &history)
            );
        }
        assert_eq!(employees_among(None, &BTreeSet::new()), vec![]);
    }

    #[test]
    fn the_tail_extends_coverage_only_forward_and_only_over_a_read_stream() {
        let c = Coverage {
            from: t("2026-12-01T00:00:00Z"),
            until: t("2026-12-06T11:00:00Z"),
        };
        let later = t("2026-12-06T11:04:00Z");
        assert_eq!(
            with_tail(Some(&c), Some(later)),
            Some(Coverage { until: later, ..c })
        );
        // A tail that ends before the stored coverage (another pass moved it meanwhile) or no
        // tail at all leaves it as it is; a stream never read is not covered by a tail alone.
        assert_eq!(
            with_tail(Some(&c), Some(t("2026-12-06T10:00:00Z"))),
            Some(c)
        );
        assert_eq!(with_tail(Some(&c), None), Some(c));
        assert_eq!(with_tail(None, Some(later)), None);
        // An order completed after the pass and before the tail read is covered with the tail.
        let now = t("2026-12-06T11:05:00Z");
        let created = Some(t("2026-12-05T09:00:00Z"));
        let done = Some(t("2026-12-06T11:02:00Z"));
        assert!(!covers(Some(&c), created, done, now));
        assert!(covers(
            with_tail(Some(&c), Some(later)).as_ref(),
            created,
            done,
            now
        ));
    }

    #[test]
    fn a_short_page_covers_up_to_the_pass_start_a_full_one_to_its_last_entry() {
        let start = t("2026-12-06T10:00:00Z");
        let last = t("2026-12-06T09:58:00Z");
        assert_eq!(covered_after_page(start, 37, 100, Some(last)), Some(start));
        assert_eq!(covered_after_page(start, 0, 100, None), Some(start));
        assert_eq!(covered_after_page(start, 100, 100, Some(last)), Some(last));
        assert_eq!(covered_after_page(start, 100, 100, None), None);
    }

    #[test]
    fn covered_only_when_read_from_before_creation_and_past_the_status_change() {
        let now = t("2026-12-06T12:00:00Z");
        let c = Coverage {
            from: t("2026-12-01T00:00:00Z"),
            until: t("2026-12-06T11:00:00Z"),
        };
        let created = Some(t("2026-12-05T09:00:00Z"));
        let done = Some(t("2026-12-06T10:00:00Z"));
        assert!(covers(Some(&c), created, done, now));
        // Changed after the stream was read, or within the slack of its end: not yet.
        assert!(!covers(
            Some(&c),
            created,
            Some(t("2026-12-06T11:30:00Z")),
            now
        ));
        assert!(!covers(
            Some(&c),
            created,
            Some(t("2026-12-06T10:59:57Z")),
            now
        ));
        assert!(covers(
            Some(&c),
            created,
            Some(t("2026-12-06T10:59:55Z")),
            now
        ));
        // Created before the stream was first read: its early changes were never folded.
        assert!(!covers(
            Some(&c),
            Some(t("2026-11-30T23:00:00Z")),
            done,
            now
        ));
        // Older than the fold's retention: its item may be gone.
        let long_ago = Coverage {
            from: t("2026-01-01T00:00:00Z"),
            ..c
        };
        assert!(!covers(
            Some(&long_ago),
            Some(t("2026-10-01T00:00:00Z")),
            done,
            now
        ));
        assert!(covers(Some(&long_ago), created, done, now));
        // Anything unknown is not covered.
        assert!(!covers(None, created, done, now));
        assert!(!covers(Some(&c), None, done, now));
        assert!(!covers(Some(&c), created, None, now));
    }
}
