//! The customer's MAX chat: from the cached account check, or a new check that is then
//! remembered. Shared by dispatch (may we ask on MAX?) and the reply sender (where to answer).
//! Repeated checks of numbers without MAX can get the shop's MAX account restricted, so each phone
//! is checked at most once per [`ACCOUNT_TTL`].

use chrono::{DateTime, Utc};
use otklik_aws::store::{DynamoStore, MaxAccount as Checked};
use otklik_core::model::Phone;
use otklik_core::ports::PortError;
use otklik_messaging::max::{MaxAccount, MaxClient};
use otklik_messaging::SendError;

/// How long an account check is trusted before the number is checked again.
pub const ACCOUNT_TTL: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// The chat to write to on MAX; `None` when the phone has no MAX account, or is a number MAX's
/// check does not take (only +7 and +375).
pub async fn chat_of(
    store: &DynamoStore,
    max: &MaxClient,
    phone: &Phone,
    now: DateTime<Utc>,
) -> Result<Option<String>, ChatError> {
    if let Some(known) = store.max_account(phone, ACCOUNT_TTL, now).await? {
        return Ok(known.chat_id);
    }
    let chat_id = match max.check_account(phone).await? {
        MaxAccount::Exists { chat_id } => Some(chat_id),
        MaxAccount::Missing => None,
        // Nobody was asked: nothing to remember.
        MaxAccount::NotCheckable => return Ok(None),
    };
    let checked = Checked {
        chat_id: chat_id.clone(),
        checked_at: now,
    };
    store
        .remember_max_account(phone, &checked, ACCOUNT_TTL)
        .await?;
    Ok(chat_id)
}
