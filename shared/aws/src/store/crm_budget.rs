//! The shared retailCRM budget's book: one item per account and API key holding the next free
//! slot (`tat`, epoch ms). Each booking is one conditional UpdateItem; a refused one brings the
//! item back (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so the caller needs no read.
//! The rule is `otklik_core::crm_budget`'s; this file only does what it is told.
//!
//! UpdateItem, condition expressions, ReturnValues / ReturnValuesOnConditionCheckFailure:
//! <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html>

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use otklik_core::crm_budget::{Append, Booked, Claim, SlotBook};

use super::*;

/// The item's sort key; its partition key is `otklik_core::crm_budget::budget_key`.
const SK: &str = "budget";
const TAT: &str = "tat";
/// An account nobody calls any more (a rotated key) leaves its item for a day, then TTL removes
/// it; while in use the expiry moves on with every booking.
const KEEP_SECS: u64 = 86_400;

fn expiry(now_ms: u64) -> AttributeValue {
    n(now_ms / 1000 + KEEP_SECS)
}

fn tat_of(item: Option<&HashMap<String, AttributeValue>>) -> PortResult<Option<u64>> {
    match item.and_then(|i| i.get(TAT)) {
        None => Ok(None),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| PortError::Permanent(format!("budget item with a bad tat: {v:?}"))),
    }
}

/// A refused condition: what the item held, or the error as it is.
fn refused<R>(e: aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>) -> PortResult<Booked>
where
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(c)) => Ok(Booked::Refused {
            tat: tat_of(c.item())?,
        }),
        _ => Err(port_error(e)),
    }
}

impl SlotBook for DynamoStore {
    async fn claim(&self, key: &str, c: Claim) -> PortResult<Booked> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(key))
            .key(attr::SK, s(SK))
            .update_expression("SET #tat = :next, #exp = :exp")
            .condition_expression("attribute_not_exists(#tat) OR #tat < :now OR #tat > :reset")
            .expression_attribute_names("#tat", TAT)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":next", n(c.next_tat))
            .expression_attribute_values(":now", n(c.now))
            .expression_attribute_values(":reset", n(c.reset_above))
            .expression_attribute_values(":exp", expiry(c.now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Booked::Slot(c.now)),
            Err(e) => refused(e),
        }
    }

    async fn append(&self, key: &str, a: Append) -> PortResult<Booked> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(key))
            .key(attr::SK, s(SK))
            .update_expression("SET #tat = #tat + :i, #exp = :exp")
            .condition_expression("#tat BETWEEN :lo AND :hi")
            .expression_attribute_names("#tat", TAT)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":i", n(a.interval))
            .expression_attribute_values(":lo", n(a.not_before))
            .expression_attribute_values(":hi", n(a.not_after))
            .expression_attribute_values(":exp", expiry(a.not_before))
            // The slot is the `tat` before the update.
            .return_values(ReturnValue::UpdatedOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match tat_of(out.attributes.as_ref())? {
                Some(slot) => Ok(Booked::Slot(slot)),
                None => Err(PortError::Permanent(
                    "the budget's update answered without the old tat".into(),
                )),
            },
            Err(e) => refused(e),
        }
    }
}
