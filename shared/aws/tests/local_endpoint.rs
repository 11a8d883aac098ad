//! Against the local AWS endpoint (moto, started by `make local-up` / `make test`): the real SDK
//! clients create the stack's resources, and the store and queue adapters do what the flow needs.

use chrono::{DateTime, Utc};
use otklik_aws::provision::ensure_all;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, DISPATCH_QUEUE, MAIN_TABLE, QUEUES};
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Email, OrderRef, Phone, SurveyState};
use otklik_core::ports::{DoNotContactList, PortError, Queue, SurveyStore};

/// Fails (never skips) without an endpoint: a test that silently passes without its backend
/// proves nothing.
async fn clients() -> Clients {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL must point at the local endpoint; run `make test`, or `make local-up` and `set -a; . .local/stack.env`"
    );
    Clients::from_env().await
}

/// Every test gets its own stack name, so runs never see each other's data.
fn unique_names(test: &str) -> Names {
    Names::new(otklik_test_support::unique_stack(test))
}

/// The contact hasher of these tests (any key of 32 characters or more).
fn hasher() -> otklik_core::privacy::ContactHasher {
    otklik_core::privacy::ContactHasher::new(&[b'c'; 40])
}

/// Every item of the stack's table, flattened to one line per attribute
/// (`"<pk> <sk> <name>: <value>"`; the keys are lines of their own): what the personal-data scan
/// reads.
async fn table_lines(c: &Clients, names: &Names) -> Vec<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    fn flat(v: &AttributeValue, out: &mut Vec<String>) {
        match v {
            AttributeValue::S(s) => out.push(s.clone()),
            AttributeValue::N(n) => out.push(n.clone()),
            AttributeValue::Ss(l) => out.extend(l.iter().cloned()),
            AttributeValue::L(l) => l.iter().for_each(|v| flat(v, out)),
            AttributeValue::M(m) => m.values().for_each(|v| flat(v, out)),
            AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
            _ => {}
        }
    }
    let mut lines = Vec::new();
    let mut start = None;
    loop {
        let page = c
            .dynamodb
            .scan()
            .table_name(names.table(&MAIN_TABLE))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let key = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            let (pk, sk) = (key("pk"), key("sk"));
            for (name, v) in item {
                let mut values = Vec::new();
                flat(v, &mut values);
                for value in values {
                    lines.push(format!("{pk} {sk} {name}: {value}"));
                }
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return lines;
        }
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn survey(order_id: u64, created: &str) -> Survey {
    Survey::new(
        OrderRef::new("main", order_id).unwrap(),
        Contact {
            phone: Some(Phone::parse("+79001234567", "RU").unwrap()),
            email: Some(Email::parse("buyer@example.ru").unwrap()),
        },
        t(created),
        t(created) + chrono::Duration::days(2),
    )
}

#[tokio::test]
async fn provisioning_creates_everything_and_is_idempotent() {
    let c = clients().await;
    let names = unique_names("prov");
    let first = ensure_all(&c, &names).await.unwrap();
    assert_eq!(first.len(), 1 + QUEUES.len() * 2 + 1, "{first:?}");
    let second = ensure_all(&c, &names).await.unwrap();
    assert_eq!(first, second);

    let table = c
        .dynamodb
        .describe_table()
        .table_name(names.table(&MAIN_TABLE))
        .send()
        .await
        .unwrap();
    let gsis = table.table().unwrap().global_secondary_indexes();
    assert_eq!(gsis.len(), MAIN_TABLE.indexes.len());
    let ttl = c
        .dynamodb
        .describe_time_to_live()
        .table_name(names.table(&MAIN_TABLE))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires_at")
    );

    // Every queue redrives into its own DLQ.
    for q in QUEUES {
        let queue = SqsQueue::connect(c.sqs.clone(), &names, q).await.unwrap();
        let attrs = c
            .sqs
            .get_queue_attributes()
            .queue_url(queue.url())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        let redrive = attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .unwrap();
        let policy: serde_json::Value = serde_json::from_str(redrive).unwrap();
        assert!(
            policy["deadLetterTargetArn"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(&format!(":{}", names.dlq(q)))),
            "{redrive}"
        );
        // SQS answers the count as a string or a number, depending on the implementation.
        let count = match &policy["maxReceiveCount"] {
            serde_json::Value::String(s) => s.parse::<u32>().unwrap(),
            v => v.as_u64().unwrap() as u32,
        };
        assert_eq!(count, q.max_receive_count, "{}", q.suffix);
    }
}

#[tokio::test]
async fn a_survey_is_created_once_and_saved_only_from_its_current_version() {
    let c = clients().await;
    let names = unique_names("store");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());

    let s = survey(1001, "2026-11-20T10:00:00Z");
    assert!(store.create(&s).await.unwrap(), "first create writes");
    // A second trigger for the same order: the conditional put refuses, nothing changes.
    let mut dup = s.clone();
    dup.send_at = t("2030-01-01T00:00:00Z");
    assert!(
        !store.create(&dup).await.unwrap(),
        "second create is a no-op"
    );

    let loaded = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(loaded.send_at, s.send_at, "the duplicate did not overwrite");
    assert_eq!(loaded.version, 1);

    let mut sent = loaded.clone();
    sent.state = SurveyState::Sent;
    let saved = store.save(&sent).await.unwrap();
    assert_eq!(saved.version, 2);

    // A decision made from the old version loses the race.
    let mut stale = loaded.clone();
    stale.state = SurveyState::AwaitingRating;
    let err = store.save(&stale).await.unwrap_err();
    assert!(matches!(err, PortError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.get(&s.id).await.unwrap().unwrap().state,
        SurveyState::Sent
    );
    assert!(store
        .get(&"s-main-404".parse().unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn surveys_are_found_by_phone_newest_first() {
    let c = clients().await;
    let names = unique_names("query");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    for (id, created) in [
        (1, "2026-09-01T10:00:00Z"),
        (3, "2026-11-01T10:00:00Z"),
        (2, "2026-10-01T10:00:00Z"),
    ] {
        assert!(store.create(&survey(id, created)).await.unwrap());
    }
    let mut other = survey(9, "2026-11-02T10:00:00Z");
    other.contact.phone = Some(Phone::parse("+79007654321", "RU").unwrap());
    store.create(&other).await.unwrap();

    let phone = Phone::parse("+79001234567", "RU").unwrap();
    let found = store.by_phone(&phone).await.unwrap();
    let ids: Vec<u64> = found.iter().map(|s| s.order.id()).collect();
    assert_eq!(ids, vec![3, 2, 1]);
}

#[tokio::test]
async fn an_opt_out_blocks_both_phone_and_email() {
    let c = clients().await;
    let names = unique_names("dnc");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let both = survey(1, "2026-11-20T10:00:00Z").contact;
    assert!(!store.contains(&both).await.unwrap());
    store.add(&both).await.unwrap();
    let email_only = Contact {
        phone: None,
        email: both.email.clone(),
    };
    let phone_only = Contact {
        phone: both.phone.clone(),
        email: None,
    };
    assert!(store.contains(&email_only).await.unwrap());
    assert!(store.contains(&phone_only).await.unwrap());
    let stranger = Contact {
        phone: Some(Phone::parse("+79110000000", "RU").unwrap()),
        email: None,
    };
    assert!(!store.contains(&stranger).await.unwrap());
    // Kept as keyed hashes: no item names the phone or the email, readable or encoded.
    let lines = table_lines(&c, &names).await;
    assert!(
        lines.iter().any(|l| l.starts_with("dnc#phone#h:")),
        "{lines:?}"
    );
    let left = otklik_test_support::personal_data_in(
        lines.iter().map(String::as_str),
        &["9001234567", "buyer@example.ru"],
    );
    assert!(left.is_empty(), "{left:?}");
    // Another key reads another list: the hash is keyed.
    let other = DynamoStore::new(c.dynamodb.clone(), &names)
        .with_hasher(otklik_core::privacy::ContactHasher::new(&[b'x'; 40]));
    assert!(!other.contains(&phone_only).await.unwrap());
}

/// Counts the requests a DynamoDB client makes (an SDK interceptor: every attempt of every
/// operation passes through it).
#[derive(Debug, Clone, Default)]
struct CountCalls(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn an_opt_out_check_is_one_request_whatever_the_contact_holds() {
    let c = clients().await;
    let names = unique_names("dnc-one");
    ensure_all(&c, &names).await.unwrap();
    let count = CountCalls::default();
    let counted = aws_sdk_dynamodb::Client::from_conf(
        c.dynamodb
            .config()
            .to_builder()
            .interceptor(count.clone())
            .build(),
    );
    let store = DynamoStore::new(counted, &names).with_hasher(hasher());
    let both = survey(1, "2026-11-20T10:00:00Z").contact;
    let requests = || count.0.load(std::sync::atomic::Ordering::SeqCst);
    // Phone and email, each as its hash and as an older build's plain key: four keys, one read.
    assert!(!store.contains(&both).await.unwrap());
    assert_eq!(requests(), 1);
    store.add(&both).await.unwrap();
    let before = requests();
    assert!(
        store.contains(&both).await.unwrap(),
        "read consistently right after the opt-out"
    );
    assert_eq!(requests() - before, 1);
}

#[tokio::test]
async fn a_plain_opt_out_of_an_older_build_still_holds_and_the_sweep_hashes_it() {
    let c = clients().await;
    let names = unique_names("dnc-up");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    // What the build before the hashes wrote for an opt-out.
    for pk in ["dnc#phone#+79001234567", "dnc#email#buyer@example.ru"] {
        c.dynamodb
            .put_item()
            .table_name(names.table(&MAIN_TABLE))
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("dnc".into()),
            )
            .item(
                "since",
                aws_sdk_dynamodb::types::AttributeValue::S("2026-01-02T03:04:05.000Z".into()),
            )
            .send()
            .await
            .unwrap();
    }
    let contact = survey(1, "2026-11-20T10:00:00Z").contact;
    assert!(store.contains(&contact).await.unwrap(), "before the sweep");
    let report = store
        .retention_sweep(
            std::time::Duration::from_secs(30 * 86_400),
            t("2026-12-01T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(report.dnc_hashed, 2);
    for (phone, email) in [(true, false), (false, true)] {
        let one = Contact {
            phone: contact.phone.clone().filter(|_| phone),
            email: contact.email.clone().filter(|_| email),
        };
        assert!(store.contains(&one).await.unwrap(), "after the sweep");
    }
    let lines = table_lines(&c, &names).await;
    let left = otklik_test_support::personal_data_in(
        lines.iter().map(String::as_str),
        &["9001234567", "buyer@example.ru"],
    );
    assert!(left.is_empty(), "{left:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("since: 2026-01-02T03:04:05.000Z")),
        "when they opted out is kept: {lines:?}"
    );
}

#[tokio::test]
async fn the_retention_sweep_erases_ended_surveys_past_retention_and_nothing_else() {
    use otklik_core::model::{Outcome, Rating};
    let c = clients().await;
    let names = unique_names("retention");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let now = t("2026-12-01T00:00:00Z");
    let retention = std::time::Duration::from_secs(30 * 86_400);
    // Ended 31 days ago, rated 2 with words; ended 29 days ago; still open.
    let mut old = survey(11, "2026-10-20T10:00:00Z");
    old.state = SurveyState::Closed {
        outcome: Outcome::ComplaintOpened,
    };
    old.rating = Some(Rating::new(2).unwrap());
    old.closed_at = Some(now - chrono::Duration::days(31));
    old.provider_message_id = Some("wamid.HBgLNzkwMDEyMzQ1NjcVAgARGBI=".into());
    let mut recent = survey(12, "2026-10-20T10:00:00Z");
    recent.state = old.state.clone();
    recent.closed_at = Some(now - chrono::Duration::days(29));
    let open = survey(13, "2026-11-25T10:00:00Z");
    for s in [&old, &recent, &open] {
        assert!(store.create(s).await.unwrap());
    }
    store
        .append_words(
            &old.id,
            &format!("{}/words/79001234567@c.us/BAE5", old.id),
            "курьер нагрубил",
            now,
        )
        .await
        .unwrap();
    let report = store.retention_sweep(retention, now).await.unwrap();
    assert_eq!(report.erased, 1, "{report:?}");
    let erased = store.get(&old.id).await.unwrap().unwrap();
    assert_eq!(erased.contact, Contact::default());
    assert_eq!(erased.rating, old.rating, "the rating stays for the KPI");
    assert!(store.words_of(&old.id).await.unwrap().is_empty());
    assert!(store
        .get(&recent.id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .phone
        .is_some());
    assert!(store
        .get(&open.id)
        .await
        .unwrap()
        .unwrap()
        .contact
        .phone
        .is_some());
    // Nothing of the erased survey's customer is left in its items (the two others, inside
    // retention, still hold the same contact: filter them out by survey).
    let lines: Vec<String> = table_lines(&c, &names)
        .await
        .into_iter()
        .filter(|l| !l.contains(recent.id.as_str()) && !l.contains(open.id.as_str()))
        .collect();
    let left = otklik_test_support::personal_data_in(
        lines.iter().map(String::as_str),
        &["9001234567", "buyer@example.ru", "курьер нагрубил"],
    );
    assert!(left.is_empty(), "{left:?}");
    // The erased survey is no longer found by the phone; the others are.
    let by_phone = store
        .by_phone(open.contact.phone.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(by_phone.len(), 2);
    // A second sweep finds nothing more to do.
    assert_eq!(
        store.retention_sweep(retention, now).await.unwrap().erased,
        0
    );
}

#[tokio::test]
async fn sqs_send_receive_delete() {
    let c = clients().await;
    let names = unique_names("sqs");
    ensure_all(&c, &names).await.unwrap();
    let q = SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    q.send(r#"{"survey":"s-main-1"}"#).await.unwrap();
    q.send(r#"{"survey":"s-main-2"}"#).await.unwrap();

    let mut bodies = Vec::new();
    for _ in 0..5 {
        for m in q.receive(10, 1).await.unwrap() {
            bodies.push(m.body().unwrap().to_string());
            q.delete(m.receipt_handle().unwrap()).await.unwrap();
        }
        if bodies.len() == 2 {
            break;
        }
    }
    bodies.sort();
    assert_eq!(
        bodies,
        vec![
            r#"{"survey":"s-main-1"}"#.to_string(),
            r#"{"survey":"s-main-2"}"#.to_string()
        ]
    );
    // Deleted means gone: nothing comes back after the visibility timeout would have passed.
    assert!(q.receive(10, 1).await.unwrap().is_empty());
}

/// A busy queue on the local endpoint loses nothing and hides nothing: senders, receivers, releases
/// (a visibility of 0, as the local runner gives a failed message back) and deletes at once, as at
/// a December peak. moto's SQS changed a queue from any server thread without a lock: a delete
/// rebuilding the message list lost a message sent meanwhile (3 of these 800, before
/// scripts/moto_server.py's "One queue, one thread at a time"), and a peak run stopped two
/// customers short of asking everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_queue_loses_no_message_to_concurrent_receives_releases_and_deletes() {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    const SENDERS: usize = 4;
    const EACH: usize = 200;
    let c = clients().await;
    let names = unique_names("sqsbusy");
    ensure_all(&c, &names).await.unwrap();
    let q = Arc::new(
        SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
            .await
            .unwrap(),
    );
    // A deep queue, as at a peak: messages that stay delayed past the test make every delete's
    // walk of the queue long.
    for chunk in 0..300 {
        let mut batch = c.sqs.send_message_batch().queue_url(q.url());
        for i in 0..10 {
            batch = batch.entries(
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("f{i}"))
                    .message_body(format!("filler {chunk} {i}"))
                    .delay_seconds(900)
                    .build()
                    .unwrap(),
            );
        }
        batch.send().await.unwrap();
    }
    let deleted: Arc<Mutex<BTreeSet<String>>> = Default::default();
    let released: Arc<Mutex<BTreeSet<String>>> = Default::default();
    let mut tasks = Vec::new();
    for w in 0..SENDERS {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..EACH {
                q.send(&format!("{w}#{k}")).await.unwrap();
            }
        }));
    }
    let started = std::time::Instant::now();
    for _ in 0..8 {
        let (q, deleted, released) = (q.clone(), deleted.clone(), released.clone());
        tasks.push(tokio::spawn(async move {
            // Long enough for every message, far shorter than the queue's visibility timeout.
            while started.elapsed() < std::time::Duration::from_secs(60) {
                if deleted.lock().unwrap().len() == SENDERS * EACH {
                    break;
                }
                // Held a while, as a batch is: the queue keeps hundreds received at once.
                let mut held = Vec::new();
                while held.len() < 60 {
                    let got = q.receive(10, 0).await.unwrap();
                    if got.is_empty() {
                        break;
                    }
                    held.extend(got);
                }
                for m in held {
                    let body = m.body().unwrap().to_string();
                    // Every fourth message goes back once before it is done with.
                    let back = body.ends_with(['0', '4', '8'])
                        && released.lock().unwrap().insert(body.clone());
                    if back {
                        q.retry_after(m.receipt_handle().unwrap(), 0).await.unwrap();
                    } else {
                        q.delete(m.receipt_handle().unwrap()).await.unwrap();
                        deleted.lock().unwrap().insert(body);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let deleted = deleted.lock().unwrap();
    let missing: Vec<String> = (0..SENDERS)
        .flat_map(|w| (0..EACH).map(move |k| format!("{w}#{k}")))
        .filter(|b| !deleted.contains(b))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} messages never came out of the queue in 60 s: {:?}",
        missing.len(),
        SENDERS * EACH,
        &missing[..missing.len().min(20)]
    );
}

/// A message received twice is deleted by its newest receipt handle (the one SQS asks for), and
/// deleting it again succeeds. The local endpoint's own delete (one walk of the queue,
/// scripts/moto_server.py) keeps moto's answers.
#[tokio::test]
async fn a_message_received_twice_is_deleted_by_its_new_handle_and_deleting_again_is_fine() {
    let c = clients().await;
    let names = unique_names("sqs-new-handle");
    ensure_all(&c, &names).await.unwrap();
    let q = SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    for n in 1..=3 {
        q.send(&format!(r#"{{"survey":"s-main-{n}"}}"#))
            .await
            .unwrap();
    }
    let mut first = Vec::new();
    for _ in 0..5 {
        first.extend(q.receive(10, 1).await.unwrap());
        if first.len() == 3 {
            break;
        }
    }
    assert_eq!(first.len(), 3);
    // Two made visible again at once: received a second time, with new handles.
    for m in &first[..2] {
        c.sqs
            .change_message_visibility()
            .queue_url(q.url())
            .receipt_handle(m.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    let mut second = Vec::new();
    for _ in 0..5 {
        second.extend(q.receive(10, 1).await.unwrap());
        if second.len() == 2 {
            break;
        }
    }
    assert_eq!(second.len(), 2);
    let old: Vec<&str> = first.iter().filter_map(|m| m.receipt_handle()).collect();
    assert!(second
        .iter()
        .all(|m| !old.contains(&m.receipt_handle().unwrap())));
    let mut handles: Vec<&str> = second.iter().filter_map(|m| m.receipt_handle()).collect();
    handles.push(first[2].receipt_handle().unwrap());
    assert!(q.delete_batch(&handles).await.is_empty());
    assert!(q.delete_batch(&handles).await.is_empty(), "deleting again");
    let unknown = q.delete_batch(&["not-a-receipt-handle"]).await;
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    let counts = queue_attributes(&c, &q).await;
    for a in [
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ] {
        assert_eq!(counts[&a], "0", "{a:?}: every message deleted");
    }
}

/// Every attribute of `q` as the endpoint answers GetQueueAttributes for `All`.
async fn queue_attributes(
    c: &Clients,
    q: &SqsQueue,
) -> std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String> {
    c.sqs
        .get_queue_attributes()
        .queue_url(q.url())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default()
}

/// The local event source mapping deletes what a batch handled ten to a request: every handled
/// message goes, across several requests, and a handle SQS refuses is reported alone while the
/// others of its request are deleted.
#[tokio::test]
async fn messages_are_deleted_ten_to_a_request_each_answered_on_its_own() {
    let c = clients().await;
    let names = unique_names("sqs-delete-batch");
    ensure_all(&c, &names).await.unwrap();
    let q = SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    for n in 0..13 {
        q.send(&format!(r#"{{"survey":"s-main-{n}"}}"#))
            .await
            .unwrap();
    }
    let mut received = Vec::new();
    for _ in 0..10 {
        received.extend(q.receive(10, 1).await.unwrap());
        if received.len() == 13 {
            break;
        }
    }
    assert_eq!(received.len(), 13);
    let mut handles: Vec<&str> = received.iter().filter_map(|m| m.receipt_handle()).collect();
    handles.insert(4, "not-a-receipt-handle");
    let failed = q.delete_batch(&handles).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "not-a-receipt-handle");
    let counts = queue_attributes(&c, &q).await;
    for a in [
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ] {
        assert_eq!(counts[&a], "0", "{a:?}: every handled message deleted");
    }
    assert!(q.delete_batch(&[]).await.is_empty());
}

/// A queue's message counts are what the operator's status and the peak's drain check read. The
/// local endpoint computes them only when asked (a send no longer scans the queue for them:
/// scripts/moto_server.py); asked, they count waiting, in-flight and delayed messages apart.
#[tokio::test]
async fn a_queues_counts_tell_waiting_in_flight_and_delayed_apart() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let c = clients().await;
    let names = unique_names("sqs-counts");
    ensure_all(&c, &names).await.unwrap();
    let q = SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    for n in 0..3 {
        q.send(&format!(r#"{{"survey":"s-main-{n}"}}"#))
            .await
            .unwrap();
    }
    c.sqs
        .send_message()
        .queue_url(q.url())
        .message_body(r#"{"survey":"s-main-later"}"#)
        .delay_seconds(600)
        .send()
        .await
        .unwrap();
    let taken = q.receive(1, 1).await.unwrap();
    assert_eq!(taken.len(), 1);
    let counts = queue_attributes(&c, &q).await;
    let count = |a: A| -> u32 { counts[&a].parse().unwrap() };
    assert_eq!(count(A::ApproximateNumberOfMessages), 2, "waiting");
    assert_eq!(
        count(A::ApproximateNumberOfMessagesNotVisible),
        1,
        "in flight"
    );
    assert_eq!(count(A::ApproximateNumberOfMessagesDelayed), 1, "delayed");
    assert!(counts.contains_key(&A::VisibilityTimeout));
}

#[tokio::test]
async fn a_one_time_schedule_is_created_once_in_the_customers_zone() {
    use otklik_aws::scheduler::from_env;
    let c = clients().await;
    let names = unique_names("sched");
    ensure_all(&c, &names).await.unwrap();
    let scheduler = from_env(&c, &names).await.unwrap();
    let at = t("2026-11-25T09:30:00Z");
    let payload = r#"{"surveyId":"s-main-1"}"#;
    assert!(scheduler
        .schedule_once("s-main-1", at, chrono_tz::Asia::Yekaterinburg, payload)
        .await
        .unwrap());
    // The same name again is "already done", not an error and not a second schedule.
    assert!(!scheduler
        .schedule_once("s-main-1", at, chrono_tz::Asia::Yekaterinburg, payload)
        .await
        .unwrap());
    let got = c
        .scheduler
        .get_schedule()
        .group_name(names.schedule_group())
        .name("s-main-1")
        .send()
        .await
        .unwrap();
    assert_eq!(got.schedule_expression(), Some("at(2026-11-25T14:30:00)"));
    assert_eq!(
        got.schedule_expression_timezone(),
        Some("Asia/Yekaterinburg")
    );
    assert_eq!(
        got.action_after_completion(),
        Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete)
    );
    let target = got.target().unwrap();
    assert_eq!(target.input(), Some(payload));
    assert!(
        target.arn().ends_with(&format!(
            ":{}",
            names.queue(&otklik_aws::resources::DISPATCH_QUEUE)
        )),
        "{}",
        target.arn()
    );
}

/// On AWS each function reads the secrets it is granted (one per purpose) at cold start; here the
/// same SDK calls read them from the local endpoint.
#[tokio::test]
async fn a_function_reads_exactly_the_secrets_it_is_granted() {
    use otklik_aws::resources::{function, CRM_SECRET, LINKS_SECRET, TRIGGER_SECRET};
    use otklik_aws::secrets::SecretSource;
    let c = clients().await;
    let sm = aws_sdk_secretsmanager::Client::new(&c.sdk);
    let prefix = format!("{}/s", unique_names("secrets").stack);
    for (def, body) in [
        (&CRM_SECRET, r#"{"OTKLIK_CRM_API_KEY":"from-the-secret"}"#),
        (
            &TRIGGER_SECRET,
            r#"{"OTKLIK_TRIGGER_SECRET":"not-for-the-writer"}"#,
        ),
    ] {
        sm.create_secret()
            .name(def.name(&prefix))
            .secret_string(body)
            .send()
            .await
            .unwrap();
    }
    // The writer holds the crm and links secrets; the links one was never created (reads empty).
    let writer = function("crm-writer").unwrap();
    let ids = |var: &str| {
        otklik_aws::resources::SECRETS
            .iter()
            .find(|s| s.id_env() == var)
            .map(|s| s.name(&prefix))
    };
    let source = SecretSource::for_function_with(&c.sdk, writer, ids)
        .await
        .unwrap();
    assert_eq!(
        source.get("OTKLIK_CRM_API_KEY").as_deref(),
        Some("from-the-secret")
    );
    assert_eq!(source.get("OTKLIK_TRIGGER_SECRET"), None, "not granted");
    assert_eq!(
        source.get("PATH"),
        None,
        "only its keys, even from the environment"
    );
    assert!(source.describe().contains(&CRM_SECRET.name(&prefix)));
    assert!(source.describe().contains(&LINKS_SECRET.name(&prefix)));

    // A secret holding another purpose's key, or not a JSON object of strings: a clear error
    // that names the secret and never echoes its value.
    for (suffix, body, says) in [
        ("text", "hunter2-not-json", "not a JSON object"),
        ("array", r#"["hunter2"]"#, "must be a JSON object"),
        (
            "number",
            r#"{"OTKLIK_CRM_API_KEY": 12345}"#,
            "must be a string",
        ),
        (
            "foreign",
            r#"{"OTKLIK_LINK_SECRET": "hunter2"}"#,
            "belongs in the secret …/links",
        ),
    ] {
        let bad = format!("{prefix}-{suffix}");
        sm.create_secret()
            .name(&bad)
            .secret_string(body)
            .send()
            .await
            .unwrap();
        let e = SecretSource::fetch(&c.sdk, &bad, &CRM_SECRET)
            .await
            .unwrap_err();
        assert!(e.contains(says) && e.contains(&bad), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("12345"), "{e}");
    }
}

#[tokio::test]
async fn a_queue_url_given_in_the_environment_is_used_without_a_lookup() {
    let c = clients().await;
    let names = unique_names("qurl");
    ensure_all(&c, &names).await.unwrap();
    let looked_up = SqsQueue::connect(c.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    // What the template sets for a sending function: the variable named by the queue's
    // definition, holding its URL. A stack whose queues do not exist proves no lookup is made.
    let absent = unique_names("qurl-absent");
    assert!(SqsQueue::connect(c.sqs.clone(), &absent, &DISPATCH_QUEUE)
        .await
        .is_err());
    let url = looked_up.url().to_string();
    let given = SqsQueue::connect_with(c.sqs.clone(), &absent, &DISPATCH_QUEUE, |k| {
        (k == "OTKLIK_QUEUE_URL_DISPATCH").then(|| url.clone())
    })
    .await
    .unwrap();
    assert_eq!(given.url(), looked_up.url());
    given.send(r#"{"survey":"s-main-9"}"#).await.unwrap();
    let got = looked_up.receive(10, 1).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some(r#"{"survey":"s-main-9"}"#));
    // An empty variable is no URL: the lookup happens (and fails for the absent stack).
    assert!(
        SqsQueue::connect_with(c.sqs.clone(), &absent, &DISPATCH_QUEUE, |_| Some(
            " ".into()
        ))
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_short_link_points_at_one_survey_until_it_expires() {
    use otklik_core::links::ShortLinkId;
    let c = clients().await;
    let names = unique_names("shortlink");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let id = ShortLinkId::parse("AbCdEf123456").unwrap();
    let s1 = survey(1, "2026-11-01T10:00:00Z").id;
    let s2 = survey(2, "2026-11-01T10:00:00Z").id;
    let until = t("2026-12-01T10:00:00Z");
    assert!(store.create_short_link(&id, &s1, until).await.unwrap());
    // The same id again, for another survey: refused, the first stands.
    assert!(!store.create_short_link(&id, &s2, until).await.unwrap());
    let link = store.short_link(&id).await.unwrap().unwrap();
    assert_eq!((link.survey, link.expires_at), (s1, until));
    let unknown = ShortLinkId::parse("ZZZZZZZZZZZZ").unwrap();
    assert_eq!(store.short_link(&unknown).await.unwrap(), None);
}

#[tokio::test]
async fn a_max_account_check_is_remembered_for_its_ttl_with_or_without_a_chat() {
    use otklik_aws::store::MaxAccount;
    let c = clients().await;
    let names = unique_names("maxcache");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let ttl = chrono::Duration::days(30);
    let with = Phone::parse("+79001234567", "RU").unwrap();
    let without = Phone::parse("+79007654321", "RU").unwrap();
    let at = t("2026-11-01T10:00:00Z");
    assert_eq!(store.max_account(&with, ttl, at).await.unwrap(), None);
    let has = MaxAccount {
        chat_id: Some("10000001".into()),
        checked_at: at,
    };
    let has_not = MaxAccount {
        chat_id: None,
        checked_at: at,
    };
    store.remember_max_account(&with, &has, ttl).await.unwrap();
    store
        .remember_max_account(&without, &has_not, ttl)
        .await
        .unwrap();
    let day_later = at + chrono::Duration::days(1);
    assert_eq!(
        store.max_account(&with, ttl, day_later).await.unwrap(),
        Some(has)
    );
    assert_eq!(
        store.max_account(&without, ttl, day_later).await.unwrap(),
        Some(has_not)
    );
    // Past the TTL the answer is stale: asked again.
    assert_eq!(store.max_account(&with, ttl, at + ttl).await.unwrap(), None);
}

#[tokio::test]
async fn a_write_the_service_refuses_as_invalid_is_permanent_not_retried_for_hours() {
    // An item over DynamoDB's 400 KB limit: the same request can never succeed, so the queue
    // must not redeliver it for hours as it does a throttled one.
    let c = clients().await;
    let names = unique_names("too-big");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let mut s = survey(1002, "2026-11-20T10:00:00Z");
    s.done = (0..5000).map(|i| format!("{i:0>100}")).collect();
    let err = store.create(&s).await.unwrap_err();
    assert!(matches!(err, PortError::Permanent(_)), "{err:?}");
    assert!(store.get(&s.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_customers_words_are_kept_bounded_the_oldest_making_room() {
    use otklik_core::crm_texts::{MAX_KEPT_MESSAGES, MAX_KEPT_MESSAGE_CHARS};
    let c = clients().await;
    let names = unique_names("words");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let id = survey(1003, "2026-11-20T10:00:00Z").id;
    let now = t("2026-11-21T10:00:00Z");
    // A customer who writes on and on, each message longer than we keep: every write succeeds
    // (it once grew the item until DynamoDB refused every write, 400 KB).
    let total = MAX_KEPT_MESSAGES + 10;
    for i in 0..total {
        let text = format!("{i:03} {}", "ж".repeat(3000));
        let words = store
            .append_words(&id, &format!("e-{i}"), &text, now)
            .await
            .unwrap();
        assert!(words.len() <= MAX_KEPT_MESSAGES);
    }
    let words = store.words_of(&id).await.unwrap();
    assert_eq!(words.len(), MAX_KEPT_MESSAGES);
    assert!(words
        .iter()
        .all(|w| w.chars().count() <= MAX_KEPT_MESSAGE_CHARS));
    assert!(words[0].starts_with("010 "), "the oldest ten made room");
    assert!(words
        .last()
        .unwrap()
        .starts_with(&format!("{:03} ", total - 1)));
    // A redelivery of a message already kept changes nothing, full or not.
    let again = store
        .append_words(&id, &format!("e-{}", total - 1), "other", now)
        .await
        .unwrap();
    assert_eq!(again, words);
}

#[tokio::test]
async fn the_crm_budget_books_slots_with_one_conditional_write_each() {
    use otklik_aws::provision::ensure_table;
    use otklik_core::crm_budget::{Append, Booked, Claim, SlotBook};
    let c = clients().await;
    let names = unique_names("budget");
    ensure_table(&c, &names, &MAIN_TABLE).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let (key, other) = ("crmbudget#a", "crmbudget#b");
    let now = 1_765_000_000_000;
    let claim = |now: u64| Claim {
        now,
        next_tat: now + 110,
        reset_above: now + 60_000,
    };
    let append = |now: u64, ahead: u64| Append {
        not_before: now,
        not_after: now + ahead,
        interval: 110,
    };
    // Nothing booked: an append is refused and says so; a claim takes `now`.
    assert_eq!(
        store.append(key, append(now, 300)).await.unwrap(),
        Booked::Refused { tat: None }
    );
    assert_eq!(
        store.claim(key, claim(now)).await.unwrap(),
        Booked::Slot(now)
    );
    // Busy: a second claim is refused with the next free slot; appends take it in turn.
    assert_eq!(
        store.claim(key, claim(now + 5)).await.unwrap(),
        Booked::Refused {
            tat: Some(now + 110)
        }
    );
    for k in 1..=3 {
        assert_eq!(
            store.append(key, append(now + 5, 10_000)).await.unwrap(),
            Booked::Slot(now + k * 110)
        );
    }
    // The next free slot (now + 440) is beyond a 300 ms horizon: refused, nothing moved.
    assert_eq!(
        store.append(key, append(now + 5, 300)).await.unwrap(),
        Booked::Refused {
            tat: Some(now + 440)
        }
    );
    // Another account's book is its own.
    assert_eq!(
        store.claim(other, claim(now)).await.unwrap(),
        Booked::Slot(now)
    );
    // Idle again once the slot has passed; a slot implausibly far ahead is claimed afresh.
    let later = now + 1_000;
    assert_eq!(
        store.claim(key, claim(later)).await.unwrap(),
        Booked::Slot(later)
    );
    let skewed = Claim {
        now: later - 120_000,
        next_tat: later - 120_000 + 110,
        reset_above: later - 120_000 + 60_000,
    };
    assert_eq!(
        store.claim(key, skewed).await.unwrap(),
        Booked::Slot(skewed.now)
    );
}

#[tokio::test]
async fn the_worked_fold_is_a_set_union_and_coverage_only_moves_forward() {
    use std::collections::BTreeSet;
    let c = clients().await;
    let names = unique_names("worked");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names);
    let now = t("2026-12-06T10:00:00Z");

    assert!(store.worked_on(501).await.unwrap().is_empty());
    store
        .add_worked(501, &BTreeSet::from([11, 12]), now)
        .await
        .unwrap();
    // The same page again (a crash before the cursor moved), then a later page.
    store
        .add_worked(501, &BTreeSet::from([11, 12]), now)
        .await
        .unwrap();
    store
        .add_worked(501, &BTreeSet::from([12, 30]), now)
        .await
        .unwrap();
    // A page whose changes of the order named nobody adds nobody.
    store.add_worked(501, &BTreeSet::new(), now).await.unwrap();
    store.add_worked(502, &BTreeSet::new(), now).await.unwrap();
    assert_eq!(
        store.worked_on(501).await.unwrap(),
        BTreeSet::from([11, 12, 30])
    );
    assert!(store.worked_on(502).await.unwrap().is_empty());

    // The item expires WORKED_RETENTION_DAYS after its last change.
    let item = c
        .dynamodb
        .get_item()
        .table_name(names.table(&MAIN_TABLE))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("worked#501".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("people".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        expires,
        (now + chrono::Duration::days(otklik_core::history::WORKED_RETENTION_DAYS)).timestamp()
    );

    const STREAM: &str = "orders-history";
    assert_eq!(store.coverage(STREAM).await.unwrap(), None);
    let from = t("2026-12-05T10:00:00Z");
    assert!(store.extend_coverage(STREAM, from, now).await.unwrap());
    // A later pass moves `until` but keeps where the stream was first read from.
    let later = now + chrono::Duration::minutes(5);
    assert!(store.extend_coverage(STREAM, later, later).await.unwrap());
    // An overlapping pass that started earlier never moves it back.
    assert!(!store.extend_coverage(STREAM, from, now).await.unwrap());
    assert!(!store.extend_coverage(STREAM, from, later).await.unwrap());
    assert_eq!(
        store.coverage(STREAM).await.unwrap(),
        Some(otklik_core::history::Coverage { from, until: later })
    );
}

/// The local endpoint keeps DynamoDB's isolation: a transaction that is refused changes nothing,
/// and takes nothing else with it. (moto rolled a refused transaction back by putting back a copy
/// of the whole table taken when it began, so every write other callers made meanwhile was lost:
/// in the fault run, a credit saved while a survey's transaction was refused vanished.)
#[tokio::test]
async fn a_refused_transaction_loses_no_write_made_meanwhile() {
    use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
    let c = clients().await;
    let names = unique_names("txiso");
    ensure_all(&c, &names).await.unwrap();
    let table = names.table(&MAIN_TABLE);
    let s = |v: &str| AttributeValue::S(v.to_string());
    // Enough items that copying the table takes a while, as after a day of surveys.
    for k in 0..1500 {
        c.dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("filler#{k}")))
            .item("sk", s("x"))
            .item("doc", s(&"y".repeat(200)))
            .send()
            .await
            .unwrap();
    }
    let refused = {
        let (c, table) = (c.clone(), table.clone());
        tokio::spawn(async move {
            for k in 0..60 {
                // Always refused: the checked item does not exist.
                let check = ConditionCheck::builder()
                    .table_name(&table)
                    .key("pk", s("absent"))
                    .key("sk", s("x"))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .unwrap();
                let update = Update::builder()
                    .table_name(&table)
                    .key("pk", s("counter"))
                    .key("sk", s("x"))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .unwrap();
                let r = c
                    .dynamodb
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().update(update).build())
                    .transact_items(TransactWriteItem::builder().condition_check(check).build())
                    .client_request_token(format!("t{k}"))
                    .send()
                    .await;
                assert!(r.is_err(), "the transaction must be refused");
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..4 {
        let (c, table) = (c.clone(), table.clone());
        writers.push(tokio::spawn(async move {
            for k in 0..60 {
                c.dynamodb
                    .put_item()
                    .table_name(&table)
                    .item("pk", s(&format!("meanwhile#{w}#{k}")))
                    .item("sk", s("x"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    refused.await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let mut lost = Vec::new();
    for w in 0..4 {
        for k in 0..60 {
            let got = c
                .dynamodb
                .get_item()
                .table_name(&table)
                .key("pk", s(&format!("meanwhile#{w}#{k}")))
                .key("sk", s("x"))
                .send()
                .await
                .unwrap();
            if got.item().is_none() {
                lost.push(format!("{w}#{k}"));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "writes lost to a refused transaction: {lost:?}"
    );
    let counter = c
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", s("counter"))
        .key("sk", s("x"))
        .send()
        .await
        .unwrap();
    assert!(counter.item().is_none(), "a refused transaction wrote");
}

#[tokio::test]
async fn many_surveys_words_are_read_in_batches_each_to_its_own_survey() {
    let c = clients().await;
    let names = unique_names("wordsmany");
    ensure_all(&c, &names).await.unwrap();
    let store = DynamoStore::new(c.dynamodb.clone(), &names).with_hasher(hasher());
    let now = t("2026-11-21T10:00:00Z");
    // 130 surveys: more than one batched read holds; every third has no words.
    let ids: Vec<_> = (0..130)
        .map(|i| survey(5000 + i, "2026-11-20T10:00:00Z").id)
        .collect();
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            continue;
        }
        store
            .append_words(id, "e-1", &format!("first of {i}"), now)
            .await
            .unwrap();
        store
            .append_words(id, "e-2", &format!("second of {i}"), now)
            .await
            .unwrap();
    }
    let words = store.words_of_many(&ids).await.unwrap();
    assert_eq!(words.len(), 130 - 44, "{words:?}");
    for (i, id) in ids.iter().enumerate() {
        let got = words.get(id.as_str());
        if i % 3 == 0 {
            assert!(got.is_none(), "{i}: {got:?}");
        } else {
            assert_eq!(
                got.unwrap(),
                &vec![format!("first of {i}"), format!("second of {i}")]
            );
            assert_eq!(got.unwrap(), &store.words_of(id).await.unwrap());
        }
    }
    assert!(store.words_of_many(&[]).await.unwrap().is_empty());
}

/// What an index query on the local endpoint must answer, kept beside it by the tests below:
/// primary key (`pk`, `sk`) → the item's index key (hash, range), if it has one.
type IndexModel = std::collections::BTreeMap<(String, String), Option<(String, String)>>;

/// The endpoint keeps a connection open for the client's next request, as AWS does: the SDK's
/// pool reuses it. An endpoint that closed every connection (werkzeug's development server, which
/// moto's own `moto_server` runs) cost a new connection and a server thread per request, and at a
/// December peak connects timed out once the listen queue filled (scripts/moto_server.py).
#[test]
fn the_endpoint_answers_several_requests_on_one_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL of the local endpoint");
    let addr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let body = "{}";
    for round in 1..=3 {
        write!(
            writer,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: DynamoDB_20120810.ListTables\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=local/20261207/eu-central-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "request {round} on the same connection: {status:?}"
        );
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            assert!(
                !(name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close")),
                "request {round}: the endpoint closes the connection after answering"
            );
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
        let mut answer = vec![0; length.expect("a Content-Length on the answer")];
        reader.read_exact(&mut answer).unwrap();
        assert!(
            String::from_utf8_lossy(&answer).contains("TableNames"),
            "request {round}"
        );
    }
}

/// The local endpoint answers an index query from the items filed under its hash key, kept by
/// every write (scripts/moto_server.py); these tests hold it to what a query of the whole table
/// answers, the model kept beside it.
mod index_queries {
    use super::*;
    use aws_sdk_dynamodb::types::{
        AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, PutRequest, TransactWriteItem,
        Update, WriteRequest,
    };
    use std::collections::HashMap;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_string())
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    /// An item of the main table, on index `gsi` (1 or 2) under `hash`/`range` if given.
    fn item(
        gsi: u8,
        pk: &str,
        sk: &str,
        index: Option<(&str, &str)>,
    ) -> HashMap<String, AttributeValue> {
        let mut item = key(pk, sk);
        item.insert("doc".into(), s(&format!("{pk}/{sk}")));
        if let Some((hash, range)) = index {
            item.insert(format!("gsi{gsi}pk"), s(hash));
            item.insert(format!("gsi{gsi}sk"), s(range));
        }
        item
    }

    /// Every item an index query for `hash` answers, page by page of `limit` (none: one page,
    /// as the endpoint pages it), as (`pk`, `sk`) in the order answered.
    async fn query(
        c: &Clients,
        table: &str,
        gsi: u8,
        hash: &str,
        limit: Option<i32>,
        forward: bool,
    ) -> Vec<(String, String)> {
        let mut got = Vec::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let page = c
                .dynamodb
                .query()
                .table_name(table)
                .index_name(format!("gsi{gsi}"))
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", format!("gsi{gsi}pk"))
                .expression_attribute_values(":pk", s(hash))
                .scan_index_forward(forward)
                .set_limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            pages += 1;
            for item in page.items() {
                let k = |n: &str| item[n].as_s().unwrap().clone();
                got.push((k("pk"), k("sk")));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
            assert!(pages < 100, "paging never ends");
        }
        got
    }

    /// What the model says a query for `hash` answers: DynamoDB's order, by the index's range
    /// key and then the table's key.
    fn expected(model: &IndexModel, hash: &str, forward: bool) -> Vec<(String, String)> {
        let mut hits: Vec<_> = model
            .iter()
            .filter_map(|(k, v)| match v {
                Some((h, r)) if h == hash => Some((r.clone(), k.clone())),
                _ => None,
            })
            .collect();
        hits.sort();
        if !forward {
            hits.reverse();
        }
        hits.into_iter().map(|(_, k)| k).collect()
    }

    /// Every hash key the model knows of and one it does not, queried whole, newest first, and
    /// in pages of two: each answer the model's.
    async fn check(c: &Clients, table: &str, gsi: u8, model: &IndexModel, when: &str) {
        let mut hashes: Vec<String> = model.values().flatten().map(|(h, _)| h.clone()).collect();
        hashes.extend(["A".to_string(), "B".to_string(), "never".to_string()]);
        hashes.sort();
        hashes.dedup();
        for hash in &hashes {
            for (limit, forward) in [
                (None, true),
                (None, false),
                (Some(2), true),
                (Some(1), false),
            ] {
                assert_eq!(
                    query(c, table, gsi, hash, limit, forward).await,
                    expected(model, hash, forward),
                    "{when}: gsi{gsi} {hash:?}, limit {limit:?}, forward {forward}"
                );
            }
        }
    }

    fn at(model: &mut IndexModel, pk: &str, sk: &str, index: Option<(&str, &str)>) {
        model.insert(
            (pk.to_string(), sk.to_string()),
            index.map(|(h, r)| (h.to_string(), r.to_string())),
        );
    }

    /// Every way a write reaches an item, each after the index has been queried (the endpoint
    /// files items by index key from the index's first query on), each followed by the queries.
    #[tokio::test]
    async fn an_index_query_answers_the_items_as_every_kind_of_write_left_them() {
        let c = clients().await;
        let names = unique_names("idxwr");
        ensure_all(&c, &names).await.unwrap();
        let table = names.table(&MAIN_TABLE);
        let mut model = IndexModel::new();
        for (pk, sk, index) in [
            ("s1", "x", Some(("A", "3"))),
            ("s2", "x", Some(("A", "1"))),
            ("s3", "x", Some(("A", "2"))),
            ("s3", "y", Some(("B", "1"))),
            ("s4", "x", None),
            ("s5", "x", Some(("A", "2"))),
        ] {
            c.dynamodb
                .put_item()
                .table_name(&table)
                .set_item(Some(item(1, pk, sk, index)))
                .send()
                .await
                .unwrap();
            at(&mut model, pk, sk, index);
        }
        check(&c, &table, 1, &model, "after the first puts").await;

        // A put over an item moves it to its new hash key.
        c.dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(item(1, "s1", "x", Some(("B", "0")))))
            .send()
            .await
            .unwrap();
        at(&mut model, "s1", "x", Some(("B", "0")));
        check(&c, &table, 1, &model, "after a put over an item").await;

        // Updates: one moves an item to another partition, one takes its index key away, one
        // gives an item without one a key, one creates an item, one changes only the range key.
        let update = |k: HashMap<String, AttributeValue>, expr: &str| {
            c.dynamodb
                .update_item()
                .table_name(&table)
                .set_key(Some(k))
                .update_expression(expr)
        };
        update(key("s2", "x"), "SET gsi1pk = :h")
            .expression_attribute_values(":h", s("B"))
            .send()
            .await
            .unwrap();
        at(&mut model, "s2", "x", Some(("B", "1")));
        update(key("s3", "x"), "REMOVE gsi1pk, gsi1sk")
            .send()
            .await
            .unwrap();
        at(&mut model, "s3", "x", None);
        update(key("s4", "x"), "SET gsi1pk = :h, gsi1sk = :r")
            .expression_attribute_values(":h", s("A"))
            .expression_attribute_values(":r", s("0"))
            .send()
            .await
            .unwrap();
        at(&mut model, "s4", "x", Some(("A", "0")));
        update(key("s6", "x"), "SET gsi1pk = :h, gsi1sk = :r")
            .expression_attribute_values(":h", s("A"))
            .expression_attribute_values(":r", s("9"))
            .send()
            .await
            .unwrap();
        at(&mut model, "s6", "x", Some(("A", "9")));
        update(key("s5", "x"), "SET gsi1sk = :r")
            .expression_attribute_values(":r", s("8"))
            .send()
            .await
            .unwrap();
        at(&mut model, "s5", "x", Some(("A", "8")));
        // A refused update (its condition fails) changes nothing.
        let refused = update(key("s5", "x"), "SET gsi1pk = :h")
            .expression_attribute_values(":h", s("B"))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        assert!(refused.is_err(), "the update must be refused");
        check(&c, &table, 1, &model, "after the updates").await;

        // A delete.
        c.dynamodb
            .delete_item()
            .table_name(&table)
            .set_key(Some(key("s3", "y")))
            .send()
            .await
            .unwrap();
        model.remove(&("s3".to_string(), "y".to_string()));
        check(&c, &table, 1, &model, "after a delete").await;

        // A transaction that goes through: a put, an update moving an item, a delete.
        c.dynamodb
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&table)
                            .set_item(Some(item(1, "s7", "x", Some(("A", "5")))))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&table)
                            .set_key(Some(key("s4", "x")))
                            .update_expression("SET gsi1pk = :h")
                            .expression_attribute_values(":h", s("B"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&table)
                            .set_key(Some(key("s6", "x")))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        at(&mut model, "s7", "x", Some(("A", "5")));
        at(&mut model, "s4", "x", Some(("B", "0")));
        model.remove(&("s6".to_string(), "x".to_string()));
        check(&c, &table, 1, &model, "after a transaction").await;

        // A refused transaction: its update and delete ran before its check failed, and are
        // rolled back; the index must show the items where they were.
        let refused = c
            .dynamodb
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&table)
                            .set_key(Some(key("s5", "x")))
                            .update_expression("REMOVE gsi1pk")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&table)
                            .set_key(Some(key("s7", "x")))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&table)
                            .set_key(Some(key("absent", "x")))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await;
        assert!(refused.is_err(), "the transaction must be refused");
        check(&c, &table, 1, &model, "after a refused transaction").await;

        // A batch write: puts (new, and over an item moving it) and a delete.
        let put = |i| {
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(i)).build().unwrap())
                .build()
        };
        c.dynamodb
            .batch_write_item()
            .request_items(
                &table,
                vec![
                    put(item(1, "s8", "x", Some(("A", "4")))),
                    put(item(1, "s2", "x", Some(("A", "7")))),
                    WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(key("s1", "x")))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                ],
            )
            .send()
            .await
            .unwrap();
        at(&mut model, "s8", "x", Some(("A", "4")));
        at(&mut model, "s2", "x", Some(("A", "7")));
        model.remove(&("s1".to_string(), "x".to_string()));
        check(&c, &table, 1, &model, "after a batch write").await;
        // Nothing above is vacuous: both partitions still hold items.
        assert!(expected(&model, "A", true).len() >= 4, "{model:?}");
        assert!(!expected(&model, "B", true).is_empty(), "{model:?}");
    }

    /// A sparse index stays sparse: items without its key are never answered, whatever else
    /// they share with those that have one, until a write gives them the key.
    #[tokio::test]
    async fn a_sparse_index_answers_only_the_items_that_carry_its_key() {
        let c = clients().await;
        let names = unique_names("idxsp");
        ensure_all(&c, &names).await.unwrap();
        let table = names.table(&MAIN_TABLE);
        let mut model = IndexModel::new();
        for k in 0..30 {
            let pk = format!("s{k}");
            // Every third item on the `sent` index; every item on the phone index.
            let sent = (k % 3 == 0).then_some(("sent#2026-12", "t"));
            let mut i = item(2, &pk, "x", sent);
            i.insert("gsi1pk".into(), s("A"));
            i.insert("gsi1sk".into(), s(&pk));
            c.dynamodb
                .put_item()
                .table_name(&table)
                .set_item(Some(i))
                .send()
                .await
                .unwrap();
            at(&mut model, &pk, "x", sent);
        }
        check(&c, &table, 2, &model, "after the puts").await;
        assert_eq!(expected(&model, "sent#2026-12", true).len(), 10);
        // An item without the key is updated (not on the index still), one gets the key.
        c.dynamodb
            .update_item()
            .table_name(&table)
            .set_key(Some(key("s1", "x")))
            .update_expression("SET doc = :d")
            .expression_attribute_values(":d", s("changed"))
            .send()
            .await
            .unwrap();
        c.dynamodb
            .update_item()
            .table_name(&table)
            .set_key(Some(key("s2", "x")))
            .update_expression("SET gsi2pk = :h, gsi2sk = :r")
            .expression_attribute_values(":h", s("sent#2026-12"))
            .expression_attribute_values(":r", s("t"))
            .send()
            .await
            .unwrap();
        at(&mut model, "s2", "x", Some(("sent#2026-12", "t")));
        // An item on the index loses its hash key (its range key stays): off the index.
        c.dynamodb
            .update_item()
            .table_name(&table)
            .set_key(Some(key("s3", "x")))
            .update_expression("REMOVE gsi2pk")
            .send()
            .await
            .unwrap();
        at(&mut model, "s3", "x", None);
        check(&c, &table, 2, &model, "after the updates").await;
        assert_eq!(expected(&model, "sent#2026-12", true).len(), 10);
    }

    /// Writers moving items between partitions while readers query the index: every query is
    /// answered (none fails inside the endpoint while a write changes what it walks), and at the
    /// end each item is where its last write put it.
    #[tokio::test]
    async fn index_queries_meanwhile_writes_are_answered_and_end_where_the_writes_left_them() {
        let c = clients().await;
        let names = unique_names("idxcc");
        ensure_all(&c, &names).await.unwrap();
        let table = names.table(&MAIN_TABLE);
        let hashes = ["A", "B", "C"];
        // The index is queried once first, so the writes below go through its filing.
        assert!(query(&c, &table, 1, "A", None, true).await.is_empty());
        let mut tasks = Vec::new();
        for w in 0..4u32 {
            let (c, table) = (c.clone(), table.clone());
            tasks.push(tokio::spawn(async move {
                let mut last = IndexModel::new();
                for k in 0..60u32 {
                    let pk = format!("w{w}#{}", k % 15);
                    let hash = hashes[((k * 7 + w) % 3) as usize];
                    c.dynamodb
                        .update_item()
                        .table_name(&table)
                        .set_key(Some(key(&pk, "x")))
                        .update_expression("SET gsi1pk = :h, gsi1sk = :r")
                        .expression_attribute_values(":h", s(hash))
                        .expression_attribute_values(":r", s(&pk))
                        .send()
                        .await
                        .unwrap();
                    at(&mut last, &pk, "x", Some((hash, pk.as_str())));
                }
                last
            }));
        }
        let mut readers = Vec::new();
        for r in 0..2 {
            let (c, table) = (c.clone(), table.clone());
            readers.push(tokio::spawn(async move {
                for k in 0..40 {
                    query(&c, &table, 1, hashes[(k + r) % 3], None, k % 2 == 0).await;
                }
            }));
        }
        let mut model = IndexModel::new();
        for t in tasks {
            model.extend(t.await.unwrap());
        }
        for r in readers {
            r.await.unwrap();
        }
        assert_eq!(model.len(), 60);
        check(&c, &table, 1, &model, "after concurrent writes").await;
    }
}

/// The endpoint is two moto processes behind one address (`infra/local/aws-router`, docs/local.md):
/// DynamoDB in one, every other service in the other. A table made through the endpoint is listed
/// by DynamoDB there, but the main process's record of its state (`/moto-api/`, where the tests
/// read sent mail) holds the stack's queues and no trace of it.
#[tokio::test]
async fn the_endpoint_keeps_dynamodb_in_a_process_of_its_own() {
    use std::io::{Read, Write};
    let c = clients().await;
    let names = unique_names("split");
    ensure_all(&c, &names).await.unwrap();
    let table = names.table(&MAIN_TABLE);
    let tables = c.dynamodb.list_tables().send().await.unwrap();
    assert!(tables.table_names().contains(&table), "{tables:?}");

    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL of the local endpoint");
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let queue = names.queue(&DISPATCH_QUEUE);
    assert!(answer.contains(&queue), "the main process holds the queues");
    assert!(!answer.contains(&table), "and none of DynamoDB's tables");
}
