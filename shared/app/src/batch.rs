//! One SQS batch, record by record, with partial-batch failures: what every queue consumer that
//! takes one message at a time does around its own handler, and the decoding and reporting halves
//! of it for a consumer that first looks at the whole batch (one retailCRM read for all).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

/// Decodes each record's body as `T` and hands it to `handle`, in order. A record that fails,
/// or whose body is missing or not a `T`, is reported in `batchItemFailures`: SQS gives it back
/// later and, after the queue's receives, keeps it in the dead-letter queue for a human. Nothing
/// is dropped. `what` names the consumer's messages in the logs ("dispatch", "complaint").
pub async fn for_each_record<T, R, E, F, Fut>(
    event: SqsEvent,
    what: &str,
    mut handle: F,
) -> SqsBatchResponse
where
    // A plain closure returning a future, not an async closure: the Lambda runtime needs the
    // batch's future to be `Send`, which the compiler cannot yet prove through `AsyncFnMut`.
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, E>>,
    T: serde::de::DeserializeOwned,
    R: std::fmt::Debug,
    E: std::fmt::Display,
{
    let mut response = SqsBatchResponse::default();
    for record in decode_records(event, what, &mut response) {
        let outcome = handle(record.item).await;
        report(&mut response, what, &record.id, &outcome);
    }
    response
}

/// As [`for_each_record`], but the records whose `group` is the same (one customer's messages,
/// one message's statuses) are handled one after another in the batch's order, and the groups
/// at once, on the caller's task ([`join_all`]). For a consumer whose records are independent
/// except within a group: a batch of ten customers' answers waited on the table ten times in a
/// row, and at a reply burst each customer's answer waited for the nine before it. A record
/// with no group (`None`) is a group of its own. Failures are reported as [`for_each_record`]
/// reports them, and a failed record does not stop the rest of its group, as it does not there.
pub async fn for_each_record_grouped<T, K, R, E, G, F, Fut>(
    event: SqsEvent,
    what: &str,
    group: G,
    handle: F,
) -> SqsBatchResponse
where
    G: Fn(&T) -> Option<K>,
    K: Eq + std::hash::Hash,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, E>>,
    T: serde::de::DeserializeOwned,
    R: std::fmt::Debug,
    E: std::fmt::Display,
{
    let mut response = SqsBatchResponse::default();
    let mut groups: Vec<Vec<Record<T>>> = Vec::new();
    let mut group_of: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    for record in decode_records(event, what, &mut response) {
        match group(&record.item) {
            Some(key) => match group_of.get(&key) {
                Some(&at) => groups[at].push(record),
                None => {
                    group_of.insert(key, groups.len());
                    groups.push(vec![record]);
                }
            },
            None => groups.push(vec![record]),
        }
    }
    let handle = &handle;
    let outcomes = join_all(
        groups
            .into_iter()
            .map(|records| async move {
                let mut outcomes = Vec::with_capacity(records.len());
                for record in records {
                    outcomes.push((record.id, handle(record.item).await));
                }
                outcomes
            })
            .collect(),
    )
    .await;
    for (id, outcome) in outcomes.into_iter().flatten() {
        report(&mut response, what, &id, &outcome);
    }
    response
}

/// The surveys of a batch's messages in one batched read per hundred
/// ([`otklik_aws::store::DynamoStore::get_surveys`]), for a consumer that decides each message
/// from its survey; `None` if the read failed, and each message then reads its own.
pub async fn surveys_together(
    store: &otklik_aws::store::DynamoStore,
    ids: &[otklik_core::model::SurveyId],
) -> Option<std::collections::HashMap<otklik_core::model::SurveyId, otklik_core::machine::Survey>> {
    match store.get_surveys(ids).await {
        Ok(known) => Some(known),
        Err(e) => {
            tracing::warn!(error = %e, "the batch's surveys not read together; each reads its own");
            None
        }
    }
}

/// One readable record of a batch: its message id, how often SQS has handed it out, its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<T> {
    pub id: String,
    pub receives: u32,
    pub item: T,
}

/// Decodes each record's body as `T`, in order. A record whose body is missing or not a `T` is
/// put in `response`'s `batchItemFailures` (kept, as [`for_each_record`] does) and not returned.
/// For a consumer that looks at the whole batch before handling its records one by one (one
/// retailCRM read for all of them); it reports each outcome with [`report`].
pub fn decode_records<T: serde::de::DeserializeOwned>(
    event: SqsEvent,
    what: &str,
    response: &mut SqsBatchResponse,
) -> Vec<Record<T>> {
    let mut out = Vec::with_capacity(event.records.len());
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let receives = receive_count(&record);
        match record.body.as_deref().map(serde_json::from_str::<T>) {
            Some(Ok(item)) => out.push(Record { id, receives, item }),
            Some(Err(e)) => {
                tracing::error!(message = %id, error = %e, "unreadable {what} message; kept");
                response.add_failure(id);
            }
            None => {
                tracing::error!(message = %id, "empty {what} message; kept");
                response.add_failure(id);
            }
        }
    }
    out
}

/// Logs one record's outcome; a failed one goes into `batchItemFailures`, to come back later.
pub fn report<R, E>(response: &mut SqsBatchResponse, what: &str, id: &str, outcome: &Result<R, E>)
where
    R: std::fmt::Debug,
    E: std::fmt::Display,
{
    match outcome {
        Ok(outcome) => tracing::info!(message = %id, ?outcome, "{what} handled"),
        Err(e) => {
            tracing::warn!(message = %id, error = %e, "{what} failed; will be redelivered");
            response.add_failure(id.to_string());
        }
    }
}

/// SQS's `ApproximateReceiveCount` of a record; 1 when absent (an event built by hand).
fn receive_count(record: &aws_lambda_events::event::sqs::SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Runs every future at once on the caller's task and returns their outputs in order: for the
/// independent parts of one batch (one survey's writes each) that spend their time waiting —
/// on a shared rate budget's slot, on the table — rather than one after another. Borrowing
/// futures are fine (no task is spawned), and a dropped caller drops them all.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            // A finished future is never polled again.
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn join_all_runs_the_futures_at_once_and_keeps_their_order() {
        let started = tokio::time::Instant::now();
        let waits = [300u64, 100, 200, 250, 50];
        let out = super::join_all(
            waits
                .iter()
                .map(|ms| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
                    *ms
                })
                .collect(),
        )
        .await;
        assert_eq!(out, waits);
        // One after another they would take 900 ms.
        assert!(
            started.elapsed() < std::time::Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        assert!(super::join_all(Vec::<std::future::Ready<u8>>::new())
            .await
            .is_empty());
    }

    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;

    fn record(id: &str, body: Option<&str>) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = body.map(str::to_string);
        m
    }

    #[tokio::test]
    async fn each_record_is_handled_in_order_and_only_the_failed_ones_come_back() {
        let mut event = SqsEvent::default();
        event.records = vec![
            record("ok-1", Some("1")),
            record("not-a-number", Some("\"x\"")),
            record("empty", None),
            record("refused", Some("13")),
            record("ok-2", Some("2")),
        ];
        let mut seen = Vec::new();
        let response = for_each_record(event, "test", |n: u32| {
            seen.push(n);
            async move {
                if n == 13 {
                    Err("unlucky")
                } else {
                    Ok(n * 10)
                }
            }
        })
        .await;
        assert_eq!(
            seen,
            vec![1, 13, 2],
            "only readable bodies reach the handler, in order"
        );
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["not-a-number", "empty", "refused"]);
    }

    #[tokio::test]
    async fn groups_run_at_once_and_each_group_in_the_batch_order() {
        // Bodies `[group, n]`; `null` has no group. Each handler takes 100 ms.
        let mut event = SqsEvent::default();
        event.records = vec![
            record("a1", Some(r#"["a", 1]"#)),
            record("b1", Some(r#"["b", 1]"#)),
            record("a2", Some(r#"["a", 2]"#)),
            record("bad", Some("7")),
            record("lone1", Some("[null, 1]")),
            record("a3", Some(r#"["a", 3]"#)),
            record("lone2", Some("[null, 2]")),
            record("b2", Some(r#"["b", 2]"#)),
        ];
        let log = std::sync::Mutex::new(Vec::new());
        let started = tokio::time::Instant::now();
        let response = for_each_record_grouped(
            event,
            "test",
            |(group, _): &(Option<String>, u32)| group.clone(),
            |(group, n): (Option<String>, u32)| {
                let log = &log;
                async move {
                    let name = format!("{}{n}", group.as_deref().unwrap_or("lone"));
                    log.lock().unwrap().push(format!("start {name}"));
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    log.lock().unwrap().push(format!("end {name}"));
                    if name == "a2" {
                        Err("refused")
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        let log = log.into_inner().unwrap();
        let at = |entry: &str| log.iter().position(|l| l == entry).unwrap();
        // Within a group, one after another in the batch's order, past a failure.
        assert!(at("end a1") < at("start a2"), "{log:?}");
        assert!(at("end a2") < at("start a3"), "{log:?}");
        assert!(at("end b1") < at("start b2"), "{log:?}");
        // The groups (and each record without one) at once.
        for first in ["start b1", "start lone1", "start lone2"] {
            assert!(at(first) < at("end a1"), "{first}: {log:?}");
        }
        // Three of "a" one after another, not seven records.
        assert!(
            started.elapsed() < std::time::Duration::from_millis(550),
            "{:?}",
            started.elapsed()
        );
        let mut failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        failed.sort_unstable();
        assert_eq!(failed, vec!["a2", "bad"]);
    }

    #[test]
    fn decoding_keeps_the_readable_records_in_order_and_fails_the_rest() {
        let mut again = record("again", Some("7"));
        again
            .attributes
            .insert("ApproximateReceiveCount".into(), "2".into());
        let mut event = SqsEvent::default();
        event.records = vec![
            record("one", Some("1")),
            record("bad", Some("\"x\"")),
            again,
            record("none", None),
        ];
        let mut response = SqsBatchResponse::default();
        let records: Vec<Record<u32>> = decode_records(event, "test", &mut response);
        let got: Vec<(&str, u32, u32)> = records
            .iter()
            .map(|r| (r.id.as_str(), r.receives, r.item))
            .collect();
        assert_eq!(got, vec![("one", 1, 1), ("again", 2, 7)]);
        report(&mut response, "test", "one", &Ok::<_, &str>(()));
        report(&mut response, "test", "again", &Err::<(), _>("refused"));
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["bad", "none", "again"]);
    }

    #[test]
    fn each_record_says_how_often_it_was_received() {
        let mut again = record("again", Some("7"));
        again
            .attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        let mut event = SqsEvent::default();
        event.records = vec![record("first", Some("1")), again];
        let mut response = SqsBatchResponse::default();
        let seen: Vec<(u32, u32)> = decode_records(event, "test", &mut response)
            .into_iter()
            .map(|r| (r.item, r.receives))
            .collect();
        assert_eq!(seen, vec![(1, 1), (7, 3)]);
        assert!(response.batch_item_failures.is_empty());
    }
}
