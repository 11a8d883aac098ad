//! The one reminder (issue: "ask once more"): when it is owed, where it goes, and what recording
//! it changes. Dispatch fires it from a one-time schedule and sends it under its own claim; these
//! rules decide whether and where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{after_in_chain, Survey};
use crate::model::{Channel, SurveyState};

/// The reminder that went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub channel: Channel,
    pub sent_at: DateTime<Utc>,
}

impl Survey {
    /// Whether the one reminder is owed: the question went out, the customer has said nothing at
    /// all (no rating, no words, no opt-out), the survey is neither closed nor expired, and no
    /// reminder went out yet.
    pub fn reminder_due(&self) -> bool {
        self.reminder.is_none()
            && self.replied_at.is_none()
            && matches!(self.state, SurveyState::Sent | SurveyState::AwaitingRating)
    }

    /// Where to remind, best first: the channels of the chain after the one the question is on
    /// that were not asked yet (the customer may read those), then the same channel again (in
    /// other words). Dispatch takes the first one the customer can be reached on.
    pub fn reminder_channels(&self) -> Vec<Channel> {
        let Some(current) = self.channel else {
            return Vec::new();
        };
        let mut out: Vec<Channel> = after_in_chain(self, current)
            .into_iter()
            .filter(|c| !self.asked.contains(c))
            .collect();
        out.push(current);
        out
    }

    /// When we last asked: the reminder's time once it went out, else the question's. A link
    /// scanner opens links right after our latest message, whichever it was.
    pub fn last_asked_at(&self) -> Option<DateTime<Utc>> {
        self.reminder.map(|r| r.sent_at).or(self.sent_at)
    }

    /// Whether an answer came after the reminder (the report's "the reminder's share").
    pub fn answered_after_reminder(&self) -> bool {
        match (self.reminder, self.replied_at) {
            (Some(r), Some(replied)) => replied >= r.sent_at,
            _ => false,
        }
    }
}

/// Records the reminder, once. It does not change the survey's state: an answer that overtook
/// it has already moved the survey on, and the survey stays on the channel it was asked on (a
/// failed delivery of the reminder must not fail a question that was delivered).
pub(super) fn on_reminded(s: &mut Survey, channel: Channel, now: DateTime<Utc>) {
    if s.reminder.is_some() {
        return;
    }
    s.reminder = Some(Reminder {
        channel,
        sent_at: now,
    });
    if !s.asked.contains(&channel) {
        s.asked.push(channel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{decide, Contact, Event, Input, InputId, MachineConfig, Survey};
    use crate::model::{Email, OrderRef, Phone, Rating};
    use crate::reply::{ParserOptions, Reply};
    use std::time::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cfg() -> MachineConfig {
        MachineConfig {
            reply_window: Duration::from_secs(7 * 86_400),
            inspector_batch_window: Duration::from_secs(900),
            parser: ParserOptions::default(),
        }
    }

    /// A survey asked on `on`, its chain `chain`, with an email address when `email`.
    fn asked(chain: &[Channel], on: Channel, email: bool) -> Survey {
        let mut s = Survey::new(
            OrderRef::new("ru", 7).unwrap(),
            Contact {
                phone: Some(Phone::parse("+79001234567", "RU").unwrap()),
                email: email.then(|| Email::parse("a@example.ru").unwrap()),
            },
            t("2026-12-01T09:00:00Z"),
            t("2026-12-01T09:00:00Z"),
        );
        s.chain = chain.to_vec();
        let d = decide(
            &s,
            &Input::sent(on, "m1"),
            &cfg(),
            t("2026-12-01T09:00:00Z"),
        );
        d.survey
    }

    fn step(s: &Survey, input: Input, at: &str) -> Survey {
        decide(s, &input, &cfg(), t(at)).survey
    }

    fn text(id: &str, words: &str, via: Channel) -> Input {
        Input {
            id: InputId::new(id).unwrap(),
            event: Event::Text {
                text: words.into(),
                via,
            },
        }
    }

    use Channel::{Email as E, Max as M, Sms as S, Whatsapp as W};

    #[test]
    fn the_reminder_goes_down_the_chain_else_to_the_same_channel() {
        assert_eq!(asked(&[M, S, E], M, true).reminder_channels(), [S, E, M]);
        assert_eq!(asked(&[M, S, E], S, true).reminder_channels(), [E, S]);
        assert_eq!(asked(&[M, S], S, false).reminder_channels(), [S]);
        assert_eq!(asked(&[M, S, E], E, true).reminder_channels(), [E]);
        // A survey from before chains: WhatsApp, then email when there is an address.
        assert_eq!(asked(&[], W, true).reminder_channels(), [E, W]);
        // A channel the question already went out on (a fallback) is not asked again.
        let mut s = asked(&[M, S, E], M, true);
        s.asked.push(S);
        assert_eq!(s.reminder_channels(), [E, M]);
        // Not asked at all: nothing to remind of.
        let fresh = Survey::new(
            OrderRef::new("ru", 8).unwrap(),
            Contact::default(),
            t("2026-12-01T09:00:00Z"),
            t("2026-12-01T09:00:00Z"),
        );
        assert!(fresh.reminder_channels().is_empty());
        assert!(!fresh.reminder_due());
    }

    #[test]
    fn the_reminder_is_owed_once_and_never_after_any_answer() {
        let s = asked(&[M, S, E], M, true);
        assert!(s.reminder_due());
        let reminded = step(&s, Input::reminded(S, "sms-1"), "2026-12-02T09:00:00Z");
        assert!(!reminded.reminder_due());
        assert_eq!(
            reminded.reminder,
            Some(Reminder {
                channel: S,
                sent_at: t("2026-12-02T09:00:00Z")
            })
        );
        assert_eq!(reminded.asked, [M, S]);
        assert_eq!(s.last_asked_at(), Some(t("2026-12-01T09:00:00Z")));
        assert_eq!(reminded.last_asked_at(), Some(t("2026-12-02T09:00:00Z")));
        assert_eq!(reminded.state, s.state, "a reminder changes no state");
        assert_eq!(reminded.channel, Some(M));
        // Recorded again (a redelivery): the first record stands.
        let again = step(&reminded, Input::reminded(E, "x"), "2026-12-02T10:00:00Z");
        assert_eq!(again.reminder, reminded.reminder);

        // Unreadable words are an answer too: a human reads them, nobody nags.
        let wrote = step(&s, text("w1", "а где чек?", M), "2026-12-01T12:00:00Z");
        assert_eq!(wrote.state, s.state);
        assert!(!wrote.reminder_due());
        // An opt-out, a rating, an expired survey: no reminder.
        let stop = step(&s, text("w2", "стоп", M), "2026-12-01T12:00:00Z");
        assert!(!stop.reminder_due());
        let rated = step(&s, text("w3", "5", M), "2026-12-01T12:00:00Z");
        assert!(!rated.reminder_due());
        let expired = step(
            &s,
            Input {
                id: InputId::new("tick").unwrap(),
                event: Event::Tick,
            },
            "2026-12-09T12:00:00Z",
        );
        assert!(!expired.reminder_due());
    }

    #[test]
    fn an_answer_after_the_reminder_counts_and_is_marked_as_its_doing() {
        let s = asked(&[M, S, E], M, true);
        let before = step(&s, text("w1", "5", M), "2026-12-01T12:00:00Z");
        assert!(!before.answered_after_reminder());
        let reminded = step(&s, Input::reminded(S, "sms-1"), "2026-12-02T09:00:00Z");
        let tapped = step(
            &reminded,
            Input::page_answer(
                Reply::Rating {
                    value: Rating::new(4).unwrap(),
                },
                S,
            ),
            "2026-12-02T09:05:00Z",
        );
        assert_eq!(tapped.rating, Some(Rating::new(4).unwrap()));
        assert!(tapped.answered_after_reminder());
        // Answered by SMS while the question is on MAX: the answer's channel is kept.
        assert_eq!(tapped.channel, Some(M));
        assert_eq!(tapped.replied_via, Some(S));
    }

    #[test]
    fn a_failed_question_after_the_reminder_leaves_the_survey_open() {
        // Asked on SMS (the last channel that reaches this customer), reminded on email, then
        // SMS.ru reports the first SMS undelivered: the email still asks.
        let s = asked(&[M, S, E], S, true);
        let reminded = step(&s, Input::reminded(E, "ses-1"), "2026-12-02T09:00:00Z");
        let failed = step(
            &reminded,
            Input {
                id: InputId::new("smsru:1:failed").unwrap(),
                event: Event::DeliveryFailed {
                    channel: S,
                    reason: "undelivered".into(),
                },
            },
            "2026-12-02T09:10:00Z",
        );
        assert_eq!(failed.state, s.state);
        // Without the reminder the same failure ends the survey.
        let alone = step(
            &asked(&[M, S], S, true),
            Input {
                id: InputId::new("smsru:1:failed").unwrap(),
                event: Event::DeliveryFailed {
                    channel: S,
                    reason: "undelivered".into(),
                },
            },
            "2026-12-02T09:10:00Z",
        );
        assert!(matches!(alone.state, SurveyState::Failed { .. }));
    }
}
