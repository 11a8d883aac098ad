//! The runner's AWS stand-ins on the local endpoint: the SQS event source mapping (batches,
//! partial failures, retries, the DLQ and a redrive) and the Scheduler's firing.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{Duration, Utc};
use otklik_aws::provision::ensure_all;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, DISPATCH_QUEUE, INBOUND_QUEUE, INTAKE_QUEUE};
use otklik_aws::Clients;
use otklik_core::ports::Queue;
use otklik_local_runner::schedules::LocalScheduler;
use otklik_local_runner::sqs::{batch_handler, Consumer, ConsumerStats};

async fn setup(test: &str) -> (Clients, Names) {
    otklik_test_support::local_endpoint();
    let clients = Clients::from_env().await;
    let names = Names::new(otklik_test_support::unique_stack(test));
    ensure_all(&clients, &names).await.unwrap();
    (clients, names)
}

#[tokio::test]
async fn a_redelivering_mapping_hands_every_picked_message_over_twice_then_deletes_it() {
    let (clients, names) = setup("redeliver").await;
    let queue = SqsQueue::connect(clients.sqs.clone(), &names, &INTAKE_QUEUE)
        .await
        .unwrap();
    for body in ["a", "b", "c"] {
        queue.send(body).await.unwrap();
    }
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let stats = Arc::new(ConsumerStats::default());
    let consumer = Consumer {
        name: "test",
        queue: queue.clone(),
        batch_size: 10,
        batching_window: std::time::Duration::ZERO,
        handler: batch_handler(move |event| {
            let log = log.clone();
            async move {
                for r in event.records {
                    log.lock().unwrap().push(r.body.unwrap_or_default());
                }
                SqsBatchResponse::default()
            }
        }),
        retry_after: 0,
        stats: stats.clone(),
        redeliver_percent: 100,
        concurrency: 1,
    };
    let arn = queue.arn().await.unwrap();
    while consumer.poll_once(0, &arn).await.unwrap() > 0 {}
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["a", "a", "b", "b", "c", "c"]);
    assert_eq!(stats.redelivered.load(Ordering::Relaxed), 3);
    assert_eq!(stats.handled.load(Ordering::Relaxed), 3);
    assert!(queue.receive(10, 0).await.unwrap().is_empty(), "deleted");
}

#[tokio::test]
async fn a_mapping_gathers_its_batch_over_several_receives_within_the_window() {
    let (clients, names) = setup("gather").await;
    let queue = SqsQueue::connect(clients.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();
    for i in 0..35 {
        queue.send(&format!("m{i}")).await.unwrap();
    }
    let batches = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let log = batches.clone();
    let consumer = |batch_size: i32, window: std::time::Duration| Consumer {
        name: "test",
        queue: queue.clone(),
        batch_size,
        batching_window: window,
        handler: batch_handler({
            let log = log.clone();
            move |event| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(event.records.len());
                    SqsBatchResponse::default()
                }
            }
        }),
        retry_after: 0,
        stats: Arc::new(ConsumerStats::default()),
        redeliver_percent: 0,
        concurrency: 1,
    };
    let arn = queue.arn().await.unwrap();

    // A batch of 20 fills from two or more receives of at most 10, long before its 30 s window.
    let started = std::time::Instant::now();
    let n = consumer(20, std::time::Duration::from_secs(30))
        .poll_once(1, &arn)
        .await
        .unwrap();
    assert_eq!(n, 20);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "a full batch goes without waiting out the window: {:?}",
        started.elapsed()
    );
    // A batch of 100 takes the 15 left and is handed over when its 2 s window has passed.
    let started = std::time::Instant::now();
    let n = consumer(100, std::time::Duration::from_secs(2))
        .poll_once(1, &arn)
        .await
        .unwrap();
    assert_eq!(n, 15);
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    assert_eq!(
        *batches.lock().unwrap(),
        vec![20, 15],
        "one invocation per batch"
    );
    assert!(
        queue.receive(10, 0).await.unwrap().is_empty(),
        "all deleted"
    );
}

#[tokio::test]
async fn a_mapping_runs_batches_at_once_up_to_its_concurrency_and_never_more() {
    let (clients, names) = setup("concurrent").await;
    let queue = SqsQueue::connect(clients.sqs.clone(), &names, &INBOUND_QUEUE)
        .await
        .unwrap();
    for i in 0..12 {
        queue.send(&format!("m{i}")).await.unwrap();
    }
    // Batches of one that each take 400 ms: one at a time, twelve take about 5 s; three at
    // once, about 1.6 s.
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let stats = Arc::new(ConsumerStats::default());
    let consumer = Consumer {
        name: "test",
        queue: queue.clone(),
        batch_size: 1,
        batching_window: std::time::Duration::ZERO,
        handler: batch_handler(move |event| {
            let log = log.clone();
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                for r in event.records {
                    log.lock().unwrap().push(r.body.unwrap_or_default());
                }
                SqsBatchResponse::default()
            }
        }),
        retry_after: 0,
        stats: stats.clone(),
        redeliver_percent: 0,
        concurrency: 3,
    };
    let started = std::time::Instant::now();
    let task = consumer.spawn();
    while stats.handled.load(Ordering::Relaxed) < 12 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "not drained"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    task.abort();
    assert_eq!(
        stats.most_in_flight.load(Ordering::SeqCst),
        3,
        "three batches at once, never a fourth"
    );
    assert!(
        took < std::time::Duration::from_millis(4_000),
        "twelve batches of 400 ms overlapped: {took:?}"
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12, "each message handled: {seen:?}");
    assert_eq!(stats.received.load(Ordering::Relaxed), 12);
    assert!(stats.mean_batch() >= std::time::Duration::from_millis(400));
    // Aborting the mapping stops every loop: what is sent now stays on the queue.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    queue.send("after").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(stats.received.load(Ordering::Relaxed), 12, "stopped");
}

#[tokio::test]
async fn failures_come_back_then_rest_in_the_dlq_until_a_redrive() {
    let (clients, names) = setup("mapping").await;
    let queue = SqsQueue::connect(clients.sqs.clone(), &names, &INTAKE_QUEUE)
        .await
        .unwrap();
    let dlq = SqsQueue::connect_named(clients.sqs.clone(), &names.dlq(&INTAKE_QUEUE))
        .await
        .unwrap();
    for body in ["good-1", "poison", "good-2"] {
        queue.send(body).await.unwrap();
    }
    // A handler that fails the poison message every time and reports it per item.
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let consumer = Consumer {
        name: "test",
        queue: queue.clone(),
        batch_size: 10,
        batching_window: std::time::Duration::ZERO,
        handler: batch_handler(move |event| {
            let log = log.clone();
            async move {
                let mut response = SqsBatchResponse::default();
                for r in event.records {
                    let body = r.body.clone().unwrap_or_default();
                    log.lock().unwrap().push(body.clone());
                    if body == "poison" {
                        response.add_failure(r.message_id.clone().unwrap_or_default());
                    }
                }
                response
            }
        }),
        retry_after: 0,
        stats: Arc::new(ConsumerStats::default()),
        redeliver_percent: 0,
        concurrency: 1,
    };
    let arn = queue.arn().await.unwrap();
    for _ in 0..40 {
        consumer.poll_once(0, &arn).await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|b| b.starts_with("good")).count(),
        2,
        "{seen:?}"
    );
    let tries = seen.iter().filter(|b| *b == "poison").count();
    assert_eq!(
        tries, INTAKE_QUEUE.max_receive_count as usize,
        "retried until maxReceiveCount: {seen:?}"
    );
    assert_eq!(consumer.stats.handled.load(Ordering::Relaxed), 2);
    assert!(queue.receive(10, 0).await.unwrap().is_empty());

    // Parked, not lost: a redrive puts it back, and the DLQ is empty afterwards.
    assert_eq!(queue.redrive_from(&dlq).await.unwrap(), 1);
    assert!(dlq.receive(10, 0).await.unwrap().is_empty());
    let back = queue.receive(10, 0).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body(), Some("poison"));
}

#[tokio::test]
async fn due_schedules_fire_into_their_queue_once_and_are_deleted() {
    let (clients, names) = setup("sched").await;
    let scheduler = otklik_aws::scheduler::from_env(&clients, &names)
        .await
        .unwrap();
    let now = Utc::now();
    let tz = chrono_tz::Europe::Moscow;
    scheduler
        .schedule_once(
            "s-due",
            now - Duration::minutes(1),
            tz,
            r#"{"surveyId":"s-due"}"#,
        )
        .await
        .unwrap();
    scheduler
        .schedule_once(
            "s-later",
            now + Duration::days(2),
            tz,
            r#"{"surveyId":"s-later"}"#,
        )
        .await
        .unwrap();
    let dispatch = SqsQueue::connect(clients.sqs.clone(), &names, &DISPATCH_QUEUE)
        .await
        .unwrap();

    let mut real_time = LocalScheduler::new(&clients, &names, 1.0);
    assert_eq!(
        real_time.tick(now).await.unwrap(),
        vec!["s-due".to_string()]
    );
    assert!(real_time.tick(now).await.unwrap().is_empty(), "fired once");
    let got = dispatch.receive(10, 0).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some(r#"{"surveyId":"s-due"}"#));

    // Compressed 17,280×, two days pass in ten seconds.
    let mut fast = LocalScheduler::new(&clients, &names, 17_280.0);
    assert!(fast.tick(now).await.unwrap().is_empty(), "first seen now");
    assert!(fast
        .tick(now + Duration::seconds(9))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        fast.tick(now + Duration::seconds(11)).await.unwrap(),
        vec!["s-later".to_string()]
    );
    let names_left = clients
        .scheduler
        .list_schedules()
        .group_name(names.schedule_group())
        .send()
        .await
        .unwrap();
    assert!(names_left.schedules().is_empty(), "deleted after firing");
    let fired_later = dispatch.receive(10, 0).await.unwrap();
    assert_eq!(fired_later.len(), 1);

    // Made again before its time, as a second signal of the order makes sure of it: on AWS the
    // first would still be waiting and the create refused, so nothing fires again here either.
    let created_again = scheduler
        .schedule_once(
            "s-later",
            now + Duration::days(2),
            tz,
            r#"{"surveyId":"s-later"}"#,
        )
        .await
        .unwrap();
    assert!(created_again, "the stand-in had deleted the first");
    assert!(fast
        .tick(now + Duration::seconds(12))
        .await
        .unwrap()
        .is_empty());
    assert!(fast
        .tick(now + Duration::seconds(30))
        .await
        .unwrap()
        .is_empty());
    // A schedule of the same name for another moment is one of its own.
    scheduler
        .schedule_once(
            "s-later",
            now + Duration::days(3),
            tz,
            r#"{"surveyId":"s-later"}"#,
        )
        .await
        .unwrap();
    assert!(fast
        .tick(now + Duration::seconds(31))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        fast.tick(now + Duration::seconds(50)).await.unwrap(),
        vec!["s-later".to_string()]
    );
    let got = dispatch.receive(10, 0).await.unwrap();
    assert_eq!(got.len(), 1, "only the schedule for another moment fired");
}
