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
    /// Looks the queue's URL up once (at cold start), so every send is a single call.
    pub async fn connect(
        client: aws_sdk_sqs::Client,
        names: &Names,
        def: &QueueDef,
    ) -> PortResult<SqsQueue> {
        Self::connect_named(client, &names.queue(def)).await
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
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(out.messages().to_vec())
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
