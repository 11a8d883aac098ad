//! `otklik forget --phone … | --email …`: one customer's personal data out of every item of the
//! stack's table (the store's `forget`), told back in plain words. The do-not-contact entry of a
//! customer who opted out stays, as a keyed hash. Works wherever the store points: the local
//! stack or AWS.

use chrono::{DateTime, Utc};
use otklik_aws::store::{DynamoStore, Forgotten};
use otklik_core::model::{Email, Phone};

use crate::ops::OpsError;

/// Whom to forget, from the command's flags: exactly one of a phone (national forms are read in
/// `region`) or an email.
pub fn whom(phone: Option<&str>, email: Option<&str>, region: &str) -> Result<Forgotten, String> {
    match (phone, email) {
        (Some(p), None) => Phone::parse(p, region)
            .map(Forgotten::Phone)
            .map_err(|_| format!("{p:?} is not a phone number (write it as +7 900 123-45-67)")),
        (None, Some(e)) => Email::parse(e)
            .map(Forgotten::Email)
            .map_err(|_| format!("{e:?} is not an email address")),
        _ => Err("give exactly one of --phone or --email".into()),
    }
}

/// Runs the erasure and says what it changed, a line per change (the contact itself masked).
pub async fn forget(
    store: &DynamoStore,
    who: &Forgotten,
    now: DateTime<Utc>,
) -> Result<String, OpsError> {
    let report = store.forget(who, now).await?;
    let whom = match who {
        Forgotten::Phone(p) => p.masked(),
        Forgotten::Email(e) => e.masked(),
    };
    let mut out = String::new();
    if report.changes.is_empty() {
        out.push_str(&format!("Nothing held {whom}: no item changed.\n"));
    } else {
        out.push_str(&format!("Forgot {whom}:\n"));
        for c in &report.changes {
            out.push_str(&format!("  - {c}\n"));
        }
    }
    if !report.do_not_contact {
        out.push_str(
            "They are not on the do-not-contact list; a new order may survey them again.\n",
        );
    }
    out.push_str(
        "The order fields in retailCRM (rating, words) are the shop's record and were not touched.\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_contact_is_taken() {
        assert!(matches!(
            whom(Some("8 900 123-45-67"), None, "RU"),
            Ok(Forgotten::Phone(p)) if p.e164() == "+79001234567"
        ));
        assert!(matches!(
            whom(None, Some("A@b.ru"), "RU"),
            Ok(Forgotten::Email(_))
        ));
        assert!(whom(Some("+79001234567"), Some("a@b.ru"), "RU").is_err());
        assert!(whom(None, None, "RU").is_err());
        assert!(whom(Some("call me"), None, "RU").is_err());
    }
}
