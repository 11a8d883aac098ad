//! SQS queues: the durable hand-off between functions.

use aws_sdk_sqs::types::Message;
use otklik_core::ports::{PortError, PortResult, Queue};

use crate::resources::{Names, QueueDef};

fn sqs_error(e: impl std::error::Error) -> PortError {
    PortError::Transient(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
}

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue's URL from the environment the template gives the function
    /// ([`QueueDef::url_env`]), else looked up once (at cold start); either way every send is a
    /// single call.
    pub async fn connect(
        client: aws_sdk_sqs::Client,
        names: &Names,
        def: &QueueDef,
    ) -> PortResult<SqsQueue> {
        Self::connect_with(client, names, def, |k| std::env::var(k).ok()).await
    }

    /// [`SqsQueue::connect`] with the environment read through `env`.
    pub async fn connect_with(
        client: aws_sdk_sqs::Client,
        names: &Names,
        def: &QueueDef,
        env: impl Fn(&str) -> Option<String>,
    ) -> PortResult<SqsQueue> {
        match env(&def.url_env()).filter(|u| !u.trim().is_empty()) {
            Some(url) => Ok(SqsQueue::from_url(client, url.trim())),
            None => Self::connect_named(client, &names.queue(def)).await,
        }
    }

    pub async fn connect_named(client: aws_sdk_sqs::Client, name: &str) -> PortResult<SqsQueue> {
        let out = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(sqs_error)?;
        let url = out
            .queue_url()
            .ok_or_else(|| PortError::NotFound(format!("queue {name}")))?
            .to_string();
        Ok(SqsQueue { client, url })
    }

    /// A queue whose URL is known already.
    pub fn from_url(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsQueue {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The queue's ARN (for schedule targets and redrive policies).
    pub async fn arn(&self) -> PortResult<String> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(sqs_error)?;
        out.attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("ARN of {}", self.url)))
    }

    /// Up to `max` messages, waiting up to `wait_secs` for the first (long polling).
    pub async fn receive(&self, max: i32, wait_secs: i32) -> PortResult<Vec<Message>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            // As Lambda's event carries it; the local runner measures queue waits with it.
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
            )
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(out.messages().to_vec())
    }

    /// Makes a received message visible again after `secs` (a retry sooner than the timeout).
    pub async fn retry_after(&self, receipt_handle: &str, secs: i32) -> PortResult<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(())
    }

    /// Moves every message of `dlq` back onto this queue (a redrive after the cause is fixed):
    /// each is sent here before it is deleted there, so a crash mid-way duplicates, never loses.
    /// Returns how many moved.
    pub async fn redrive_from(&self, dlq: &SqsQueue) -> PortResult<usize> {
        let mut moved = 0;
        loop {
            let batch = dlq.receive(10, 0).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            for m in batch {
                self.send(m.body().unwrap_or_default()).await?;
                if let Some(h) = m.receipt_handle() {
                    dlq.delete(h).await?;
                }
                moved += 1;
            }
        }
    }

    /// Deletes the received messages `receipt_handles`, ten per `DeleteMessageBatch` (SQS's most),
    /// and returns the handles that were not deleted with why. SQS answers each entry on its own,
    /// so one refused entry leaves the rest deleted; a batch request that fails as a whole is
    /// retried one message at a time.
    pub async fn delete_batch(&self, receipt_handles: &[&str]) -> Vec<(String, PortError)> {
        use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
        let mut failed = Vec::new();
        for chunk in receipt_handles.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*handle)
                        .build()
                        .expect("an id and a receipt handle are all an entry needs")
                })
                .collect();
            match self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    for f in out.failed() {
                        let handle = f
                            .id()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| chunk.get(i))
                            .map_or_else(|| f.id().to_string(), |h| (*h).to_string());
                        let why = format!("{}: {}", f.code(), f.message().unwrap_or_default());
                        failed.push((handle, PortError::Transient(why)));
                    }
                }
                Err(_) => {
                    for handle in chunk {
                        if let Err(e) = self.delete(handle).await {
                            failed.push(((*handle).to_string(), e));
                        }
                    }
                }
            }
        }
        failed
    }

    pub async fn delete(&self, receipt_handle: &str) -> PortResult<()> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(())
    }
}

impl Queue for SqsQueue {
    async fn send(&self, body: &str) -> PortResult<()> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(())
    }
}
