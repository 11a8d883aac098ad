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

/// Whether `contact` can be reached on `channel` at all, before any provider is asked: a
/// messenger or an SMS needs a number that may be a mobile — one the numbering plan calls a
/// mobile, or one the phone library does not know yet ([`crate::model::Phone::may_be_mobile`]:
/// the provider's own account check or delivery report then says whether it is) — and MAX only
/// +7 and +375 ones, the numbers its account check accepts; email an address.
pub fn reachable(channel: Channel, contact: &Contact) -> bool {
    let mobile = contact.phone.as_ref().filter(|p| p.may_be_mobile());
    match channel {
        Channel::Whatsapp | Channel::Sms => mobile.is_some(),
        Channel::Max => mobile.is_some_and(|p| {
            let n = p.e164();
            n.starts_with("+7") || n.starts_with("+375")
        }),
        Channel::Email => contact.email.is_some(),
    }
}

/// The channels worth trying for `contact`, best first: the shop's `chain` in its order, without
/// the channels the installation cannot send on now (`available`: no provider configured, an
/// instance blocked) and those the contact cannot be reached on. The caller still skips a
/// messenger whose provider says the customer has no account there; an empty list means nobody
/// to ask.
pub fn channels_to_try(
    contact: &Contact,
    chain: &[Channel],
    available: impl Fn(Channel) -> bool,
) -> Vec<Channel> {
    chain
        .iter()
        .copied()
        .filter(|&c| available(c) && reachable(c, contact))
        .collect()
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
    fn the_chain_keeps_its_order_minus_what_cannot_reach_the_customer() {
        let mobile = Phone::parse("+79001234567", "RU").unwrap();
        let landline = Phone::parse("+74951234567", "RU").unwrap();
        let kazakh = Phone::parse("+77012345678", "KZ").unwrap();
        let german = Phone::parse("+4915112345678", "DE").unwrap();
        let email = Email::parse("buyer@example.ru").unwrap();
        let russia = [Channel::Max, Channel::Sms, Channel::Email];
        let everything = [
            Channel::Max,
            Channel::Whatsapp,
            Channel::Sms,
            Channel::Email,
        ];
        let all = |_| true;
        let both = Contact {
            phone: Some(mobile.clone()),
            email: Some(email.clone()),
        };
        assert_eq!(channels_to_try(&both, &russia, all), russia.to_vec());
        assert_eq!(
            channels_to_try(&both, &everything, all),
            everything.to_vec()
        );
        // A channel the installation cannot send on now is left out, the order kept.
        assert_eq!(
            channels_to_try(&both, &everything, |c| c != Channel::Max),
            vec![Channel::Whatsapp, Channel::Sms, Channel::Email]
        );
        // A fixed line takes neither a messenger nor an SMS.
        let fixed_line = Contact {
            phone: Some(landline),
            email: None,
        };
        assert!(channels_to_try(&fixed_line, &everything, all).is_empty());
        // A number the library does not know may be a mobile: every phone channel is tried
        // (MAX too, being +7), the provider's check says the rest.
        let unknown_range = Contact {
            phone: Some(Phone::parse("+76001234567", "RU").unwrap()),
            email: None,
        };
        assert_eq!(
            channels_to_try(&unknown_range, &everything, all),
            vec![Channel::Max, Channel::Whatsapp, Channel::Sms]
        );
        // MAX checks only +7 and +375 numbers; Kazakhstan's +7 counts, Germany's does not.
        let kz = Contact {
            phone: Some(kazakh),
            email: None,
        };
        assert!(reachable(Channel::Max, &kz));
        let de = Contact {
            phone: Some(german),
            email: Some(email),
        };
        assert_eq!(
            channels_to_try(&de, &everything, all),
            vec![Channel::Whatsapp, Channel::Sms, Channel::Email]
        );
        let phone_only = Contact {
            phone: Some(mobile),
            email: None,
        };
        assert_eq!(
            channels_to_try(&phone_only, &[Channel::Whatsapp, Channel::Email], all),
            vec![Channel::Whatsapp]
        );
        assert!(channels_to_try(&Contact::default(), &everything, all).is_empty());
    }
}
