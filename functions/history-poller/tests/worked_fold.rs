//! The employee snapshot dispatch takes from the poller's fold equals the one a per-order history
//! read gives (issue 19), over random histories of several orders interleaved in one stream, cut
//! into pages, with pages replayed as after a crash before the cursor moved.

use std::collections::{BTreeMap, BTreeSet};

use otklik_core::dispatch::{employees_of, OrderChange};
use otklik_core::history::employees_among;
use otklik_history_poller::worked_on_page;
use otklik_retailcrm::HistoryEntry;
use proptest::prelude::*;
use serde_json::{json, Value};

/// One change of one order, before it gets its place in the stream.
#[derive(Debug, Clone)]
struct Change {
    order: u64,
    source: &'static str,
    user: Option<u64>,
    /// `None`: the creation entry; else `status`, `manager` or another field.
    field: Option<&'static str>,
    manager_then: Option<u64>,
    old_manager: Option<u64>,
    new_manager: Option<u64>,
    /// retailCRM gives a manager change as `{"id": n}`; older answers as a bare number.
    bare_ids: bool,
}

/// Small ids so orders share people; 0 is not an employee id and must be dropped both ways.
fn person() -> impl Strategy<Value = Option<u64>> {
    prop::option::weighted(0.7, 0u64..8)
}

fn change() -> impl Strategy<Value = Change> {
    (
        1u64..5,
        prop::sample::select(vec!["user", "api", "rule", "code"]),
        person(),
        prop::sample::select(vec![None, Some("status"), Some("manager"), Some("comment")]),
        person(),
        person(),
        person(),
        any::<bool>(),
    )
        .prop_map(
            |(order, source, user, field, manager_then, old_manager, new_manager, bare_ids)| {
                Change {
                    order,
                    source,
                    user,
                    field,
                    manager_then,
                    old_manager,
                    new_manager,
                    bare_ids,
                }
            },
        )
}

fn entry(id: u64, c: &Change) -> HistoryEntry {
    let manager = |m: Option<u64>| -> Option<Value> {
        m.map(|m| {
            if c.bare_ids {
                json!(m)
            } else {
                json!({"id": m})
            }
        })
    };
    let (old_value, new_value) = match c.field {
        Some("manager") => (manager(c.old_manager), manager(c.new_manager)),
        Some("status") => (
            Some(json!({"code": "new"})),
            Some(json!({"code": "complete"})),
        ),
        Some(_) => (Some(json!("a")), Some(json!("b"))),
        None => (None, None),
    };
    HistoryEntry {
        id,
        created_at: None,
        source: c.source.into(),
        user_id: c.user,
        field: c.field.map(str::to_string),
        old_value,
        new_value,
        created: c.field.is_none(),
        order_id: Some(c.order),
        order_site: Some("main-shop".into()),
        order_status: Some("complete".into()),
        order_manager_id: c.manager_then,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_fold_of_the_stream_gives_each_order_the_employees_of_its_own_history(
        changes in prop::collection::vec(change(), 0..120),
        cuts in prop::collection::vec(1usize..25, 1..40),
        replays in prop::collection::vec(any::<bool>(), 40),
        managers in prop::collection::vec(person(), 5),
    ) {
        // One stream: every order's changes interleaved, ids ascending.
        let stream: Vec<HistoryEntry> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| entry(1000 + i as u64, c))
            .collect();

        // The poller's passes: pages of varying size (the last pages of a pass are short), some
        // read twice, each fold added to what is stored as a set union (DynamoDB `ADD`).
        let mut stored: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut at = 0;
        let mut page_no = 0;
        while at < stream.len() {
            let size = cuts[page_no % cuts.len()];
            let page = &stream[at..(at + size).min(stream.len())];
            let times = if replays[page_no % replays.len()] { 2 } else { 1 };
            for _ in 0..times {
                for (order, people) in worked_on_page(page) {
                    stored.entry(order).or_default().extend(people);
                }
            }
            at += size;
            page_no += 1;
        }

        for order in 1u64..5 {
            // Dispatch's own read: `orders/history?filter[orderId]=order`.
            let own: Vec<OrderChange> = stream
                .iter()
                .filter(|e| e.order_id == Some(order))
                .map(HistoryEntry::change)
                .collect();
            let manager = managers[order as usize];
            let none = BTreeSet::new();
            prop_assert_eq!(
                employees_among(manager, stored.get(&order).unwrap_or(&none)),
                employees_of(manager, &own),
                "order {}", order
            );
        }
    }
}
