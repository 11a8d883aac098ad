//! What dispatch decides at send time (SPEC §2.3, §6): who worked on the order, so each of them is
//! credited with the rating, and which channels to try, in order. Reading the order and asking a
//! provider whether the customer has an account are the caller's I/O; the rules are here.

use std::collections::BTreeSet;

use crate::machine::Contact;
use crate::model::{Channel, EmployeeId};

/// One change in an order's history, reduced to what decides who worked on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderChange {
    /// The person who made the change, when a person made it (retailCRM `source = user`).
    pub by_person: Option<u64>,
    /// The order's manager at the time of the change.
    pub manager_then: Option<u64>,
    /// For a change of manager: from whom and to whom.
    pub manager_from: Option<u64>,
    pub manager_to: Option<u64>,
}

/// Everyone who worked on the order (SPEC §6): the current manager, every person who changed it,
/// and every manager it was ever assigned to. Sorted, each once.
pub fn employees_of(current_manager: Option<u64>, history: &[OrderChange]) -> Vec<EmployeeId> {
    let mut ids = BTreeSet::new();
    ids.extend(current_manager);
    for c in history {
        ids.extend(c.by_person);
        ids.extend(c.manager_then);
        ids.extend(c.manager_from);
        ids.extend(c.manager_to);
    }
    ids.into_iter()
        .filter_map(|id| EmployeeId::new(id).ok())
        .collect()
}

/// The channels worth trying for `contact`, best first: WhatsApp for a mobile number when the
/// installation has a WhatsApp provider, then email for an address. The caller skips a messenger
/// whose provider says the customer has no account there; an empty list means nobody to ask.
pub fn channels_to_try(contact: &Contact, whatsapp_configured: bool) -> Vec<Channel> {
    let mut chain = Vec::new();
    if whatsapp_configured && contact.phone.as_ref().is_some_and(|p| p.is_mobile()) {
        chain.push(Channel::Whatsapp);
    }
    if contact.email.is_some() {
        chain.push(Channel::Email);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Email, Phone};

    fn ids(v: &[u64]) -> Vec<EmployeeId> {
        v.iter().map(|&i| EmployeeId::new(i).unwrap()).collect()
    }

    #[test]
    fn everyone_who_touched_or_managed_the_order_counts_once() {
        let history = [
            // Created by manager 11 while 11 managed it.
            OrderChange {
                by_person: Some(11),
                manager_then: Some(11),
                ..Default::default()
            },
            // An automation changed it: no person, but 11 still managed it then.
            OrderChange {
                manager_then: Some(11),
                ..Default::default()
            },
            // Handed from 11 to 12 by supervisor 30.
            OrderChange {
                by_person: Some(30),
                manager_then: Some(12),
                manager_from: Some(11),
                manager_to: Some(12),
            },
        ];
        assert_eq!(employees_of(Some(13), &history), ids(&[11, 12, 13, 30]));
        assert_eq!(employees_of(None, &[]), ids(&[]));
        assert_eq!(employees_of(Some(12), &[]), ids(&[12]));
    }

    #[test]
    fn whatsapp_only_for_a_mobile_and_a_configured_provider_then_email() {
        let mobile = Phone::parse("+79001234567", "RU").unwrap();
        let landline = Phone::parse("+74951234567", "RU").unwrap();
        let email = Email::parse("buyer@example.ru").unwrap();
        let both = Contact {
            phone: Some(mobile.clone()),
            email: Some(email.clone()),
        };
        assert_eq!(
            channels_to_try(&both, true),
            vec![Channel::Whatsapp, Channel::Email]
        );
        assert_eq!(channels_to_try(&both, false), vec![Channel::Email]);
        let fixed_line = Contact {
            phone: Some(landline),
            email: None,
        };
        assert!(channels_to_try(&fixed_line, true).is_empty());
        let phone_only = Contact {
            phone: Some(mobile),
            email: None,
        };
        assert_eq!(channels_to_try(&phone_only, true), vec![Channel::Whatsapp]);
        assert!(channels_to_try(&Contact::default(), true).is_empty());
    }
}
