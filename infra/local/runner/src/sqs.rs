//! SQS → function, as Lambda's event source mapping does it: receive a batch (gathered over several
//! receives up to the batch size within the batching window, as Lambda's poller does, since one
//! receive gives at most 10), hand it to the real handler as an `SqsEvent`, delete what succeeded,
//! and leave what the handler reported in `batchItemFailures` on the queue. Those come back after
//! `retry_after` (the local stand-in for the visibility timeout, shortened so a retry is seen in
//! seconds), and after the queue's `maxReceiveCount` receives the local endpoint moves them to the
//! DLQ by the redrive policy.
//!
//! Like Lambda's, a mapping runs several batches at once: up to its `concurrency` (the function's
//! reserved concurrency or the mapping's `ScalingConfig.MaximumConcurrency`, whichever is lower,
//! as `FunctionDef::instances` gives it), each an independent receive → handle → settle loop, so
//! a slow batch holds up only itself. "Configuring scaling behavior for SQS event source
//! mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: Lambda
//! starts with five concurrent batches and adds up to 300 a minute while messages wait; maximum
//! concurrency caps that. Locally every mapping runs its whole maximum from the start.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use otklik_aws::queue::SqsQueue;
use otklik_core::ports::{PortError, PortResult};

/// The most messages one `ReceiveMessage` returns.
const MAX_PER_RECEIVE: usize = 10;

type BoxFuture = Pin<Box<dyn Future<Output = SqsBatchResponse> + Send>>;

/// A queue consumer function.
pub type BatchHandler = Arc<dyn Fn(SqsEvent) -> BoxFuture + Send + Sync>;

/// Wraps an async closure as a [`BatchHandler`].
pub fn batch_handler<F, Fut>(f: F) -> BatchHandler
where
    F: Fn(SqsEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = SqsBatchResponse> + Send + 'static,
{
    Arc::new(move |event| Box::pin(f(event)))
}

/// Counters of one consumer, for progress lines, tests and `make bench`'s account of where a
/// message's time goes (waiting on the queue, or in the function).
#[derive(Debug, Default)]
pub struct ConsumerStats {
    pub handled: AtomicU64,
    pub failed: AtomicU64,
    /// Messages handed to the function a second time ([`Consumer::redeliver_percent`]).
    pub redelivered: AtomicU64,
    /// Messages received, and their summed and longest wait on the queue: from `SentTimestamp`
    /// (the queue's clock) to the receive that handed them out. A retried message counts again,
    /// from its first send.
    pub received: AtomicU64,
    pub waited_ms: AtomicU64,
    pub most_waited_ms: AtomicU64,
    /// Batches handed to the function, and their summed time in it.
    pub batches: AtomicU64,
    pub handler_ms: AtomicU64,
    /// Batches in the function right now, and the most at once: never above the mapping's
    /// concurrency.
    pub in_flight: AtomicU64,
    pub most_in_flight: AtomicU64,
}

impl ConsumerStats {
    /// The mean wait on the queue of a received message.
    pub fn mean_wait(&self) -> Duration {
        let n = self.received.load(Ordering::Relaxed).max(1);
        Duration::from_millis(self.waited_ms.load(Ordering::Relaxed) / n)
    }

    /// The mean time of one batch in the function.
    pub fn mean_batch(&self) -> Duration {
        let n = self.batches.load(Ordering::Relaxed).max(1);
        Duration::from_millis(self.handler_ms.load(Ordering::Relaxed) / n)
    }

    /// Counts the queue waits of `messages`, received now.
    fn count_waits(&self, messages: &[aws_sdk_sqs::types::Message]) {
        let now = chrono::Utc::now().timestamp_millis();
        for m in messages {
            let sent = m
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse::<i64>().ok());
            self.received.fetch_add(1, Ordering::Relaxed);
            if let Some(sent) = sent {
                let waited = u64::try_from(now - sent).unwrap_or(0);
                self.waited_ms.fetch_add(waited, Ordering::Relaxed);
                self.most_waited_ms.fetch_max(waited, Ordering::Relaxed);
            }
        }
    }

    /// Runs one batch through the function, counted.
    async fn timed(&self, handler: &BatchHandler, event: SqsEvent) -> SqsBatchResponse {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let response = handler(event).await;
        self.handler_ms.fetch_add(
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }
}

/// One event source mapping.
#[derive(Clone)]
pub struct Consumer {
    pub name: &'static str,
    pub queue: SqsQueue,
    /// Lambda's `BatchSize`.
    pub batch_size: i32,
    /// Lambda's `MaximumBatchingWindowInSeconds`: how long a batch is gathered once its first
    /// message is in, while it is short of `batch_size`.
    pub batching_window: Duration,
    pub handler: BatchHandler,
    /// Seconds before a failed message is visible again.
    pub retry_after: i32,
    pub stats: Arc<ConsumerStats>,
    /// Share (0–100) of messages handed to the function twice before they are deleted, as SQS
    /// does when a visibility timeout runs out or a delete is lost: at-least-once, for the
    /// fault-injection test. Picked by message id, so a run is repeatable.
    pub redeliver_percent: u8,
    /// Batches in the function at once, at most (`FunctionDef::instances`; at least 1).
    pub concurrency: u32,
}

/// The Lambda event for received messages: id, receipt handle, body and the receive count, as
/// the event source mapping fills them.
pub fn event_of(messages: &[aws_sdk_sqs::types::Message], source_arn: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    for m in messages {
        let mut r = SqsMessage::default();
        r.message_id = m.message_id().map(str::to_string);
        r.receipt_handle = m.receipt_handle().map(str::to_string);
        r.body = m.body().map(str::to_string);
        r.event_source = Some("aws:sqs".into());
        r.event_source_arn = Some(source_arn.to_string());
        if let Some(attrs) = m.attributes() {
            for (k, v) in attrs {
                r.attributes.insert(k.as_str().to_string(), v.clone());
            }
        }
        event.records.push(r);
    }
    event
}

/// Whether `message_id` is among `percent` of ids (a stable hash, no randomness).
fn picked(message_id: &str, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    // FNV-1a: stable across runs and platforms, unlike the std hasher's seed.
    let h = message_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h % 100 < u64::from(percent)
}

impl Consumer {
    /// One receive → handle → delete round. Returns how many messages were received.
    pub async fn poll_once(&self, wait_secs: i32, source_arn: &str) -> PortResult<usize> {
        let messages = self.gather(wait_secs).await?;
        if messages.is_empty() {
            return Ok(0);
        }
        self.stats.count_waits(&messages);
        let mut response = self
            .stats
            .timed(&self.handler, event_of(&messages, source_arn))
            .await;
        let again: Vec<aws_sdk_sqs::types::Message> = messages
            .iter()
            .filter(|m| picked(m.message_id().unwrap_or_default(), self.redeliver_percent))
            .cloned()
            .collect();
        if !again.is_empty() {
            self.stats
                .redelivered
                .fetch_add(again.len() as u64, Ordering::Relaxed);
            let second = self
                .stats
                .timed(&self.handler, event_of(&again, source_arn))
                .await;
            // A message that failed either time is retried, as its later receive would be.
            response
                .batch_item_failures
                .extend(second.batch_item_failures);
        }
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        // Each message is settled on its own: one lost delete or visibility change must not
        // leave the rest of a batch of a hundred to come back only after the queue's visibility
        // timeout (minutes), as Lambda's poller settles each message of a batch. The handled ones
        // are deleted ten to a request (each entry answered on its own): one request per message
        // made deletes a tenth of every request the local endpoint served at a December peak.
        let unsettled = |e: &PortError| {
            tracing::warn!(consumer = self.name, error = %e, "a message could not be settled; it comes back after its visibility timeout");
        };
        let mut handled = Vec::new();
        for m in &messages {
            let Some(handle) = m.receipt_handle() else {
                continue;
            };
            if failed.contains(&m.message_id().unwrap_or_default()) {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.queue.retry_after(handle, self.retry_after).await {
                    unsettled(&e);
                }
            } else {
                self.stats.handled.fetch_add(1, Ordering::Relaxed);
                handled.push(handle);
            }
        }
        for (_, e) in self.queue.delete_batch(&handled).await {
            unsettled(&e);
        }
        Ok(messages.len())
    }

    /// One batch as Lambda's poller makes it: the first receive (long-polling `wait_secs`), then
    /// more receives until the batch is full or the window since the first message has passed.
    /// SQS gives at most 10 messages a receive.
    async fn gather(&self, wait_secs: i32) -> PortResult<Vec<aws_sdk_sqs::types::Message>> {
        let want = usize::try_from(self.batch_size.max(1)).unwrap_or(1);
        gather_from(
            want,
            self.batching_window,
            wait_secs,
            self.name,
            |n, wait| self.queue.receive(n, wait),
        )
        .await
    }

    /// Polls until the task is aborted, with `concurrency` loops at once (long polling, so an
    /// idle queue costs each loop one call a second). Aborting the returned task ends them all.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let arn = self.queue.arn().await.unwrap_or_default();
            let mut loops = tokio::task::JoinSet::new();
            for _ in 0..self.concurrency.max(1) {
                let (me, arn) = (self.clone(), arn.clone());
                loops.spawn(async move {
                    loop {
                        if let Err(e) = me.poll_once(1, &arn).await {
                            tracing::warn!(consumer = me.name, error = %e, "poll failed; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                });
            }
            // The loops never end; dropping the set (this task aborted) aborts them.
            while loops.join_next().await.is_some() {}
        })
    }
}

/// [`Consumer::gather`] over any `receive(count, wait_secs)`. A receive that fails after the
/// first ends the batch as gathered: the messages already received are handed over. Dropped with
/// the error, they stayed invisible until the queue's visibility timeout (18 minutes for dispatch)
/// while nothing else held them. A December peak of the bench once sat on 314 dispatch and 175
/// intake messages that way, one customer still unasked.
async fn gather_from<F, Fut>(
    want: usize,
    window: Duration,
    wait_secs: i32,
    name: &str,
    mut receive: F,
) -> PortResult<Vec<aws_sdk_sqs::types::Message>>
where
    F: FnMut(i32, i32) -> Fut,
    Fut: Future<Output = PortResult<Vec<aws_sdk_sqs::types::Message>>>,
{
    let per_receive = |have: usize| (want - have).min(MAX_PER_RECEIVE) as i32;
    let mut messages = receive(per_receive(0), wait_secs).await?;
    if messages.is_empty() || window.is_zero() {
        return Ok(messages);
    }
    let deadline = tokio::time::Instant::now() + window;
    while messages.len() < want {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        // Long-poll for the rest of the window (whole seconds; the last fraction without).
        let wait = i32::try_from(left.as_secs()).unwrap_or(i32::MAX).min(20);
        let more = match receive(per_receive(messages.len()), wait).await {
            Ok(more) => more,
            Err(e) => {
                tracing::warn!(consumer = name, error = %e, gathered = messages.len(), "a receive within the batching window failed; the batch goes as gathered");
                break;
            }
        };
        if more.is_empty() && wait == 0 {
            tokio::time::sleep(left.min(Duration::from_millis(100))).await;
        }
        messages.extend(more);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::{gather_from, picked};
    use otklik_core::ports::PortError;
    use std::time::Duration;

    fn message(id: &str) -> aws_sdk_sqs::types::Message {
        aws_sdk_sqs::types::Message::builder()
            .message_id(id)
            .build()
    }

    #[tokio::test]
    async fn a_receive_failing_within_the_window_hands_over_what_was_gathered() {
        let mut calls = 0;
        let got = gather_from(30, Duration::from_secs(5), 1, "test", |n, _| {
            calls += 1;
            let call = calls;
            async move {
                match call {
                    1 => Ok((0..n).map(|i| message(&format!("m{i}"))).collect()),
                    _ => Err(PortError::Transient("the endpoint hiccupped".into())),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(
            got.len(),
            10,
            "the first receive's messages are not dropped"
        );
        assert_eq!(calls, 2);
        // The first receive failing is the batch failing: nothing was received.
        let first = gather_from(30, Duration::from_secs(5), 1, "test", |_, _| async {
            Err(PortError::Transient("down".into()))
        })
        .await;
        assert!(first.is_err());
    }

    #[test]
    fn the_redelivered_share_is_about_what_was_asked_and_stable() {
        let ids: Vec<String> = (0..5000).map(|i| format!("msg-{i}")).collect();
        let n = ids.iter().filter(|id| picked(id, 20)).count();
        assert!((800..1200).contains(&n), "{n}");
        assert!(!ids.iter().any(|id| picked(id, 0)));
        assert!(ids.iter().all(|id| picked(id, 100)));
        assert_eq!(picked("msg-1", 20), picked("msg-1", 20));
    }
}
