//! Creates the tables and queues of [`crate::resources`] where they do not exist yet.
//!
//! Used by the local stack and the tests; on AWS the SAM template creates the same resources (and a
//! test checks the two agree). Safe to run again: existing resources are left as they are.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::resources::{attr, Names, QueueDef, TableDef, QUEUES, TABLES};
use crate::Clients;

#[derive(Debug, thiserror::Error)]
#[error("provisioning {resource} failed: {message}")]
pub struct ProvisionError {
    pub resource: String,
    pub message: String,
}

fn fail(resource: &str, e: impl std::error::Error) -> ProvisionError {
    ProvisionError {
        resource: resource.to_string(),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
    }
}

/// Creates every table and queue of the stack; returns the names it created or found.
pub async fn ensure_all(clients: &Clients, names: &Names) -> Result<Vec<String>, ProvisionError> {
    let mut done = Vec::new();
    for t in TABLES {
        done.push(ensure_table(clients, names, t).await?);
    }
    for q in QUEUES {
        let (queue, dlq) = ensure_queue(clients, names, q).await?;
        done.push(dlq);
        done.push(queue);
    }
    done.push(ensure_schedule_group(clients, names).await?);
    Ok(done)
}

/// The group that holds the one-time survey schedules (created once, never emptied by us: the
/// schedules delete themselves after firing).
pub async fn ensure_schedule_group(
    clients: &Clients,
    names: &Names,
) -> Result<String, ProvisionError> {
    let name = names.schedule_group();
    let result = clients
        .scheduler
        .create_schedule_group()
        .name(&name)
        .send()
        .await;
    match result {
        Ok(_) => Ok(name),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_conflict_exception()) =>
        {
            Ok(name)
        }
        Err(e) => Err(fail(&name, e)),
    }
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key schema has both fields")
}

fn string_attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition has both fields")
}

pub async fn ensure_table(
    clients: &Clients,
    names: &Names,
    def: &TableDef,
) -> Result<String, ProvisionError> {
    let name = names.table(def);
    let exists = clients
        .dynamodb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .is_ok();
    if !exists {
        let mut req = clients
            .dynamodb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(attr::PK, KeyType::Hash))
            .key_schema(key(attr::SK, KeyType::Range))
            .attribute_definitions(string_attr(attr::PK))
            .attribute_definitions(string_attr(attr::SK));
        for (index, pk, sk) in def.indexes {
            req = req
                .attribute_definitions(string_attr(pk))
                .attribute_definitions(string_attr(sk))
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(*index)
                        .key_schema(key(pk, KeyType::Hash))
                        .key_schema(key(sk, KeyType::Range))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .map_err(|e| fail(&name, e))?,
                );
        }
        if let Err(e) = req.send().await {
            // Another process may have created it between our describe and create.
            let in_use = e
                .as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception());
            if !in_use {
                return Err(fail(&name, e));
            }
        }
    }
    if let Some(ttl) = def.ttl_attribute {
        let current = clients
            .dynamodb
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .map_err(|e| fail(&name, e))?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            == Some(ttl);
        if !enabled {
            clients
                .dynamodb
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl)
                        .enabled(true)
                        .build()
                        .map_err(|e| fail(&name, e))?,
                )
                .send()
                .await
                .map_err(|e| fail(&name, e))?;
        }
    }
    Ok(name)
}

/// Creates the DLQ, then the queue with a redrive policy pointing at it. CreateQueue is idempotent
/// in SQS when the attributes match, so a second run finds both.
pub async fn ensure_queue(
    clients: &Clients,
    names: &Names,
    def: &QueueDef,
) -> Result<(String, String), ProvisionError> {
    let dlq_name = names.dlq(def);
    let dlq = clients
        .sqs
        .create_queue()
        .queue_name(&dlq_name)
        // Parked messages wait up to 14 days (the SQS maximum) for a redrive.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| fail(&dlq_name, e))?;
    let dlq_url = dlq.queue_url().unwrap_or_default().to_string();
    let attrs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| fail(&dlq_name, e))?;
    let dlq_arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| ProvisionError {
            resource: dlq_name.clone(),
            message: "no QueueArn in the attributes".into(),
        })?;
    let name = names.queue(def);
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{}"}}"#,
        def.max_receive_count
    );
    clients
        .sqs
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            def.visibility_timeout.as_secs().to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .map_err(|e| fail(&name, e))?;
    Ok((name, dlq_name))
}
