//! The per-day KPI counters against the per-survey report, on the stack's own table: surveys go
//! through the engine (prepared, sent, rated on the email's page) with every input delivered
//! twice, as a redelivery would; complaints are recorded and observed twice. Then the report of
//! every period from the counters (`report::by_days`, what `GET /reports/kpi`, `otklik kpi` and
//! the page read) equals the one computed per survey (`report::gather`). Surveys saved by a store
//! that does not keep the counters (as before the upgrade) are missing until `report::rebuild`,
//! which adds them once however often it runs.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use otklik_core::machine::{Contact, Input, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Rating};
use otklik_core::ports::SurveyStore;
use otklik_core::reply::Reply;
use otklik_flow_tests::TestStack;

#[tokio::test]
async fn the_counters_give_the_per_survey_figures_despite_redeliveries() {
    let t = TestStack::bare("kpicount", "meta").await;
    let store = &t.store;
    let cfg = &t.config.complaints;
    let tz = t.config.timezone;
    let engine = t.parts().engine_without_queues();
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
    let ratings = [5, 1, 4, 0, 2, 5, 3, 4, 0, 1, 5, 2];
    let (mut rated, mut complaints) = (0, 0);
    for k in 0..30u64 {
        // Every 17 hours: some land late in the evening, near the shop's midnight.
        let sent = base + Duration::hours(17 * k as i64);
        let s = Survey::new(
            OrderRef::new("main-shop", 7000 + k).unwrap(),
            Contact {
                phone: None,
                email: Some(otklik_core::model::Email::parse("buyer@example.com").unwrap()),
            },
            sent - Duration::hours(2),
            sent,
        );
        assert!(store.create(&s).await.unwrap());
        let crew: Vec<EmployeeId> = [11, 12, 13][..1 + (k % 3) as usize]
            .iter()
            .map(|e| EmployeeId::new(*e).unwrap())
            .collect();
        let r = ratings[k as usize % ratings.len()];
        let mut inputs = vec![
            (Input::prepared(crew, vec![Channel::Email]), sent),
            (Input::sent(Channel::Email, format!("m-{k}")), sent),
        ];
        if r > 0 {
            let answer = Reply::Rating {
                value: Rating::new(r).unwrap(),
            };
            inputs.push((
                Input::page_answer(answer, Channel::Email),
                sent + Duration::minutes(25),
            ));
        }
        for (input, at) in inputs {
            // Delivered twice: the second changes nothing, and adds nothing.
            for _ in 0..2 {
                engine.apply(&s.id, &input, at).await.unwrap().unwrap();
            }
        }
        if r > 0 {
            rated += 1;
        }
        if (1..=2).contains(&r) {
            let opened = sent + Duration::hours(1);
            for _ in 0..2 {
                store
                    .record_complaint(&s.id, 9100 + k, r, opened)
                    .await
                    .unwrap();
            }
            let seen = match complaints % 3 {
                0 => vec![],
                1 => vec![(cfg.status_failed.clone(), opened + Duration::hours(2))],
                _ => vec![
                    (cfg.status_in_work.clone(), opened + Duration::minutes(30)),
                    (cfg.status_resolved.clone(), opened + Duration::minutes(200)),
                ],
            };
            for _ in 0..2 {
                otklik_app::complaints::observe_statuses(store, &s.id, &seen, cfg)
                    .await
                    .unwrap();
            }
            complaints += 1;
        }
    }
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let periods = [
        (d(11, 1), d(11, 30)),
        (d(11, 3), d(11, 9)),
        (d(11, 12), d(11, 12)),
        (d(10, 1), d(12, 31)),
    ];
    let compare = |label: &'static str| async move {
        for (from, to) in periods {
            let (start, end) = otklik_core::kpi::days(from, to, tz).unwrap();
            let per_survey = otklik_app::report::gather(store, cfg, start, end, &BTreeMap::new())
                .await
                .unwrap();
            let counted = otklik_app::report::by_days(store, from, to, &BTreeMap::new())
                .await
                .unwrap();
            assert_eq!(counted, per_survey, "{label}: {from}..{to}");
        }
    };
    compare("through the engine").await;
    let all = otklik_app::report::by_days(store, d(10, 1), d(12, 31), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(all.team.rated_orders, rated, "each rating counted once");
    assert_eq!(all.team.complaints_opened, complaints);
    assert!(all.team.complaints_resolved > 0);

    // Saved as before the upgrade: a store without the shop's settings leaves the counters alone.
    let old = otklik_aws::store::DynamoStore::new(t.clients.dynamodb.clone(), &t.names);
    for k in 0..3u64 {
        let sent = base + Duration::hours(5 + 40 * k as i64);
        let mut s = Survey::new(
            OrderRef::new("main-shop", 8000 + k).unwrap(),
            Contact {
                phone: None,
                email: None,
            },
            sent,
            sent,
        );
        s.channel = Some(Channel::Whatsapp);
        s.sent_at = Some(sent);
        s.rating = Some(Rating::new(4).unwrap());
        s.employees = vec![EmployeeId::new(14).unwrap()];
        assert!(old.create(&s).await.unwrap());
    }
    let before = otklik_app::report::by_days(store, d(10, 1), d(12, 31), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(before.team.rated_orders, rated, "not counted yet");
    let done = otklik_app::report::rebuild(store, cfg).await.unwrap();
    assert_eq!(done.surveys_folded, 3, "{done}");
    assert_eq!(done.complaints_folded, 0, "{done}");
    compare("after the rebuild").await;
    let again = otklik_app::report::rebuild(store, cfg).await.unwrap();
    assert_eq!(
        (again.surveys_folded, again.complaints_folded),
        (0, 0),
        "{again}"
    );
    compare("after a second rebuild").await;
    // The survey the counters count is the one saved: its part is kept in its document.
    let one = store
        .get(&otklik_core::model::SurveyId::for_order(
            &OrderRef::new("main-shop", 8000).unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(one.kpi.is_some());
}

/// The per-survey lists (employee pages, the rated orders' CSV, the digest) read their window
/// through the `sent` index: exactly the surveys whose question went out inside it, across the
/// months it touches, never the rest of the table; a survey saved before the index existed is
/// listed once `report::rebuild` has saved it again.
#[tokio::test]
async fn a_window_lists_its_surveys_through_the_index_and_old_ones_after_a_rebuild() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestStack::bare("sentindex", "meta").await;
    let store = &t.store;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let sends = [
        (9000, Some("2026-10-31T23:59:59.999Z")),
        (9001, Some("2026-11-01T00:00:00.000Z")),
        (9002, Some("2026-11-15T12:00:00.000Z")),
        (9003, Some("2026-11-30T23:59:59.999Z")),
        (9004, Some("2026-12-01T00:00:00.000Z")),
        (9005, None),
    ];
    for (order, sent) in sends {
        let created = at("2026-10-30T08:00:00Z");
        let mut s = Survey::new(
            OrderRef::new("main-shop", order).unwrap(),
            Contact {
                phone: None,
                email: None,
            },
            created,
            created,
        );
        if let Some(sent) = sent {
            s.channel = Some(Channel::Email);
            s.sent_at = Some(at(sent));
        }
        assert!(store.create(&s).await.unwrap());
    }
    let listed = |from: &'static str, to: &'static str| async move {
        let mut orders: Vec<u64> = store
            .surveys_sent_between(at(from), at(to))
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.order.id())
            .collect();
        orders.sort_unstable();
        orders
    };
    let november = ("2026-11-01T00:00:00.000Z", "2026-11-30T23:59:59.999Z");
    assert_eq!(listed(november.0, november.1).await, [9001, 9002, 9003]);
    assert_eq!(
        listed("2026-10-15T00:00:00Z", "2026-12-15T00:00:00Z").await,
        [9000, 9001, 9002, 9003, 9004]
    );
    assert_eq!(
        listed("2026-11-15T12:00:00.000Z", "2026-11-15T12:00:00.000Z").await,
        [9002]
    );
    let too_long = store
        .surveys_sent_between(at("2024-01-01T00:00:00Z"), at("2026-01-31T00:00:00Z"))
        .await;
    assert!(too_long.is_err(), "a 25-month window is refused");

    // As saved before the index existed: the item lacks its keys, so no window lists it…
    let id = otklik_core::model::SurveyId::for_order(&OrderRef::new("main-shop", 9002).unwrap());
    t.clients
        .dynamodb
        .update_item()
        .table_name(t.names.table(&otklik_aws::resources::MAIN_TABLE))
        .key("pk", AttributeValue::S(format!("survey#{id}")))
        .key("sk", AttributeValue::S("survey".into()))
        .update_expression("REMOVE gsi2pk, gsi2sk")
        .send()
        .await
        .unwrap();
    assert_eq!(listed(november.0, november.1).await, [9001, 9003]);
    // …until the rebuild saves it again, once.
    let done = otklik_app::report::rebuild(store, &t.config.complaints)
        .await
        .unwrap();
    assert_eq!((done.surveys, done.surveys_folded), (6, 1), "{done}");
    assert_eq!(listed(november.0, november.1).await, [9001, 9002, 9003]);
    let again = otklik_app::report::rebuild(store, &t.config.complaints)
        .await
        .unwrap();
    assert_eq!(again.surveys_folded, 0, "{again}");
}

/// An employee's page reads that employee's own list of 1–3 ratings: exactly the surveys of the
/// window they worked that were rated 1–3, written with each survey's save; entries missing (as
/// before the lists existed) come back with `report::rebuild`.
#[tokio::test]
async fn an_employees_low_ratings_come_from_their_own_list() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestStack::bare("lowlist", "meta").await;
    let store = &t.store;
    let cfg = &t.config.complaints;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // (order, sent, rating, crew; a person named twice is listed once)
    let seeds: [(u64, &str, Option<u8>, &[u64]); 7] = [
        (9100, "2026-10-31T23:00:00Z", Some(1), &[11]),
        (9101, "2026-11-02T10:00:00Z", Some(2), &[11, 12]),
        (9102, "2026-11-03T10:00:00Z", Some(3), &[11]),
        (9103, "2026-11-04T10:00:00Z", Some(4), &[11]),
        (9104, "2026-11-05T10:00:00Z", Some(1), &[12, 12]),
        (9105, "2026-11-06T10:00:00Z", None, &[11]),
        (9106, "2026-12-01T00:00:00Z", Some(2), &[11]),
    ];
    for (order, sent, rating, crew) in seeds {
        let mut s = asked_by_email(store, order, at(sent), crew).await;
        if let Some(r) = rating {
            // Rated by a later save, as the engine does.
            s.rating = Some(Rating::new(r).unwrap());
            s.rated_at = Some(at(sent) + Duration::minutes(30));
            store.save(&s).await.unwrap();
        }
    }
    let (from, to) = (at("2026-11-01T00:00:00Z"), at("2026-11-30T23:59:59.999Z"));
    let orders = |e: u64| async move {
        let mut v: Vec<u64> = otklik_app::report::low_ratings_of(store, cfg, e, from, to, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.order.id())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(orders(11).await, [9101, 9102]);
    assert_eq!(orders(12).await, [9101, 9104]);
    assert_eq!(orders(13).await, Vec::<u64>::new());

    // As before the lists existed: employee 11's entries of November are gone…
    let table = t.names.table(&otklik_aws::resources::MAIN_TABLE);
    let entries = t
        .clients
        .dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("low#11#2026-11".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(entries.items().len(), 2, "one entry per low rating");
    for item in entries.items() {
        t.clients
            .dynamodb
            .delete_item()
            .table_name(&table)
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(orders(11).await, Vec::<u64>::new());
    // …and the rebuild puts them back.
    let done = otklik_app::report::rebuild(store, cfg).await.unwrap();
    assert!(done.listed >= 5, "{done}");
    assert_eq!(orders(11).await, [9101, 9102]);
    assert_eq!(orders(12).await, [9101, 9104]);
}

/// The page's slice of an employee's list is the right one: lowest rating first, then newest,
/// across the months of the period, and an entry saved before the entries were keyed by rating
/// (`<sent>#<survey>`) is not read twice beside the one the save puts now.
#[tokio::test]
async fn an_employees_list_is_read_a_page_at_a_time_lowest_then_newest() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestStack::bare("lowpages", "meta").await;
    let store = &t.store;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // In the page's order: 9202, 9200 (1s, newest first), 9203 (2), 9204, 9201 (3s).
    let seeds: [(u64, &str, u8); 6] = [
        (9200, "2026-10-05T10:00:00Z", 1),
        (9201, "2026-10-01T10:00:00Z", 3),
        (9202, "2026-11-20T10:00:00Z", 1),
        (9203, "2026-10-25T10:00:00Z", 2),
        (9204, "2026-11-28T10:00:00Z", 3),
        (9205, "2026-11-29T10:00:00Z", 5),
    ];
    for (order, sent, rating) in seeds {
        let mut s = asked_by_email(store, order, at(sent), &[11]).await;
        s.rating = Some(Rating::new(rating).unwrap());
        s.rated_at = Some(at(sent) + Duration::minutes(30));
        store.save(&s).await.unwrap();
    }
    // An entry of the earlier key shape for 9202, as an older build put it.
    let table = t.names.table(&otklik_aws::resources::MAIN_TABLE);
    let id = otklik_core::model::SurveyId::for_order(&OrderRef::new("main-shop", 9202).unwrap());
    t.clients
        .dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("low#11#2026-11".into()))
        .item(
            "sk",
            AttributeValue::S(format!("2026-11-20T10:00:00.000Z#{id}")),
        )
        .item("survey", AttributeValue::S(id.to_string()))
        .send()
        .await
        .unwrap();
    let (from, to) = (at("2026-10-01T00:00:00Z"), at("2026-11-30T23:59:59.999Z"));
    let page = |skip: usize, take: usize| async move {
        let mut v: Vec<u64> = store
            .low_rated_of(11, from, to, skip, take)
            .await
            .unwrap()
            .into_iter()
            .map(|(s, _)| s.order.id())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(page(0, 2).await, [9200, 9202]);
    assert_eq!(page(2, 2).await, [9203, 9204]);
    assert_eq!(page(4, 2).await, [9201]);
    assert_eq!(page(6, 2).await, Vec::<u64>::new());
    assert_eq!(page(0, 100).await, [9200, 9201, 9202, 9203, 9204]);
    assert_eq!(page(1, 1).await, [9200]);
    // The period's bounds hold inside a month, too.
    let late = store
        .low_rated_of(11, at("2026-11-21T00:00:00Z"), to, 0, 100)
        .await
        .unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].0.order.id(), 9204);
}

/// The main page's open complaints come from the open list's entries, which carry what the page
/// shows (no survey read each): as the complaint's saves leave it, gone once it is closed; an
/// entry of an older build (without the case) is completed from its survey.
#[tokio::test]
async fn open_complaints_come_from_their_entries_as_the_saves_leave_them() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = TestStack::bare("opencases", "meta").await;
    let store = &t.store;
    let cfg = &t.config.complaints;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let mut ids = Vec::new();
    for (order, crew) in [(9300u64, vec![11u64, 12]), (9301, vec![13])] {
        let sent = at("2026-11-20T10:00:00Z");
        let mut s = asked_by_email(store, order, sent, &crew).await;
        s.rating = Some(Rating::new(1).unwrap());
        s.rated_at = Some(sent + Duration::minutes(30));
        s.done
            .insert(otklik_core::machine::OPEN_COMPLAINT.to_string());
        store.save(&s).await.unwrap();
        store
            .record_complaint(&s.id, order + 1000, 1, sent + Duration::hours(1))
            .await
            .unwrap();
        ids.push(s.id.clone());
    }
    let (from, to) = (at("2026-11-01T00:00:00Z"), at("2026-11-30T23:59:59Z"));
    let cases = otklik_app::report::open_cases(store, from, to)
        .await
        .unwrap();
    assert_eq!(cases.len(), 2, "{cases:?}");
    let first = &cases[0];
    assert_eq!(
        (first.site.as_str(), first.order_id, first.rating),
        ("main-shop", 9300, Some(1))
    );
    assert_eq!(first.employees, [11, 12]);
    assert_eq!(first.track.order_id, 10300);
    // Every entry carries its case: nothing of it came from a survey.
    let entries = store.report_open_complaints().await.unwrap();
    assert!(entries.iter().all(|(_, c)| c.is_some()), "{entries:?}");

    // Taken into work: the entry follows the save.
    let (mut track, version) = store.complaint_track(&ids[0]).await.unwrap().unwrap();
    assert!(track.observe(&cfg.status_in_work, at("2026-11-20T12:00:00Z"), cfg));
    store
        .save_complaint_track(&ids[0], &mut track, version)
        .await
        .unwrap();
    let cases = otklik_app::report::open_cases(store, from, to)
        .await
        .unwrap();
    assert_eq!(cases[0].track, track, "the case as the last save left it");

    // An entry without its case, as an older build put it: read from the survey instead.
    let table = t.names.table(&otklik_aws::resources::MAIN_TABLE);
    t.clients
        .dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("kpi-open".into()))
        .item("sk", AttributeValue::S(ids[1].to_string()))
        .send()
        .await
        .unwrap();
    let again = otklik_app::report::open_cases(store, from, to)
        .await
        .unwrap();
    assert_eq!(again[1], cases[1], "completed from the survey, the same");

    // Resolved: gone from the list; outside the window: not shown.
    let (mut track, version) = store.complaint_track(&ids[1]).await.unwrap().unwrap();
    assert!(track.observe(&cfg.status_resolved, at("2026-11-21T12:00:00Z"), cfg));
    store
        .save_complaint_track(&ids[1], &mut track, version)
        .await
        .unwrap();
    let left = otklik_app::report::open_cases(store, from, to)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].order_id, 9300);
    let december =
        otklik_app::report::open_cases(store, at("2026-12-01T00:00:00Z"), to + Duration::days(10))
            .await
            .unwrap();
    assert!(december.is_empty());
}

/// An email survey of `order` whose question went out at `sent`, worked by `crew`: created, and
/// read back as stored (a test then rates it by a later save, as the engine does).
async fn asked_by_email(
    store: &otklik_aws::store::DynamoStore,
    order: u64,
    sent: chrono::DateTime<Utc>,
    crew: &[u64],
) -> Survey {
    let mut s = Survey::new(
        OrderRef::new("main-shop", order).unwrap(),
        Contact {
            phone: None,
            email: None,
        },
        sent,
        sent,
    );
    s.channel = Some(Channel::Email);
    s.asked = vec![Channel::Email];
    s.sent_at = Some(sent);
    s.employees = crew.iter().map(|e| EmployeeId::new(*e).unwrap()).collect();
    assert!(store.create(&s).await.unwrap());
    store.get(&s.id).await.unwrap().unwrap()
}
