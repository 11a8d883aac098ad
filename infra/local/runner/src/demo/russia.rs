//! The "Russia 2026" shop's day: customers on MAX, customers without it who get the SMS, one whose
//! MAX message fails, one who opts out, one whose SMS link a messenger previews first, and one who
//! answers only the reminder.

use otklik_core::model::Channel;

use super::cases::{complained, rated, NOTHING};
use super::{Answer, Case, Expect, MaxAccount, Tap};
use crate::stack::RUSSIA_SITE;

/// A Russian customer: on MAX (or not, or failing), an email for the chain's last resort.
const fn ru(
    who: &'static str,
    phone: &'static str,
    max: MaxAccount,
    managers: (u64, u64),
    answer: Answer,
    expect: Expect,
) -> Case {
    Case {
        who,
        site: RUSSIA_SITE,
        delivery: "courier",
        phone: Some(phone),
        has_whatsapp: false,
        max,
        email: None,
        managers,
        answer,
        expect,
    }
}

const fn tap(rating: u8) -> Answer {
    Answer::Tap(Tap {
        rating,
        comment: None,
        previewed: false,
    })
}

/// A tap, then words in the page's comment box.
const fn tap_and_write(rating: u8, comment: &'static str) -> Answer {
    Answer::Tap(Tap {
        rating,
        comment: Some(comment),
        previewed: false,
    })
}

/// Silent to the question; taps the reminder's link.
const fn reminder_tap(rating: u8) -> Answer {
    Answer::AfterReminder(Tap {
        rating,
        comment: None,
        previewed: false,
    })
}

/// The messenger's link preview fetches the link first; the person taps later.
const fn previewed_then_tap(rating: u8) -> Answer {
    Answer::Tap(Tap {
        rating,
        comment: None,
        previewed: true,
    })
}

const MAX: &[Channel] = &[Channel::Max];
const SMS: &[Channel] = &[Channel::Sms];

/// The "Russia 2026" shop: asked on MAX where the customer has it, else by SMS with a short link.
pub fn russia_day() -> Vec<Case> {
    use Answer::*;
    use MaxAccount::*;
    vec![
        ru(
            "Марат",
            "+79005570001",
            Has,
            (11, 11),
            OnMax(&["5"]),
            rated(5).on(MAX),
        ),
        ru(
            "Полина",
            "+79005570002",
            Has,
            (12, 12),
            OnMax(&["2, коробка пришла мятая"]),
            complained(2).on(MAX),
        ),
        ru(
            "Артём",
            "+79005570003",
            Has,
            (13, 14),
            OnMax(&["3", "да"]),
            complained(3).on(MAX),
        ),
        ru(
            "Галина",
            "+79005570004",
            None,
            (14, 14),
            tap(4),
            rated(4).on(SMS),
        ),
        ru(
            "Виктор",
            "+79005570005",
            None,
            (11, 12),
            tap_and_write(1, "Курьер опоздал на три часа"),
            complained(1).on(SMS),
        ),
        ru(
            "Лиза",
            "+79005570006",
            Failing,
            (12, 12),
            tap(5),
            rated(5).on(&[Channel::Max, Channel::Sms]),
        ),
        ru(
            "Кирилл",
            "+79005570007",
            Has,
            (13, 13),
            OnMax(&["стоп"]),
            Expect {
                opted_out: true,
                ..NOTHING
            }
            .on(MAX),
        ),
        ru(
            "Тамара",
            "+79005570008",
            None,
            (14, 11),
            previewed_then_tap(4),
            rated(4).on(SMS),
        ),
        // Last: the others have all answered by the time the reminders fire.
        ru(
            "Нина",
            "+79005570009",
            Has,
            (12, 13),
            reminder_tap(4),
            rated(4).on(&[Channel::Max, Channel::Sms]).after_reminder(),
        ),
    ]
}
