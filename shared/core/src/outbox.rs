//! Where each command of the state machine goes once its survey is saved.
//!
//! The machine's effects travel as [`EffectMessage`]s on SQS queues, one queue per kind of work,
//! so each consumer can be paced and scaled for its own bottleneck: the CRM writer at the
//! account's rate limit, the messenger at the provider's. The routing lives here, once, and every
//! adapter that hands effects on asks [`destination`].

use serde::{Deserialize, Serialize};

use crate::machine::{Command, Effect};
use crate::model::SurveyId;

/// The consumer a command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// `survey-dispatch`: sending the question again on another channel (the email fallback).
    Dispatch,
    /// `crm-writer`: rating and words onto the order, KPI credits, the inspector's task.
    CrmWrites,
    /// `complaint-create`: the complaint order in the complaints site.
    Complaints,
    /// `outbox-sender`: what we say back to the customer.
    Outbox,
    /// Done by the adapter itself, before it answers: the do-not-contact list must hold from the
    /// moment the customer asked, not whenever a queue gets to it.
    Inline,
}

/// Which consumer carries out `command`.
pub fn destination(command: &Command) -> Destination {
    match command {
        Command::SendSurvey { .. } => Destination::Dispatch,
        Command::WriteRating { .. }
        | Command::SaveWords { .. }
        | Command::CreditEmployees { .. }
        | Command::NotifyInspector { .. } => Destination::CrmWrites,
        Command::OpenComplaint { .. } => Destination::Complaints,
        Command::Message { .. } => Destination::Outbox,
        Command::AddToDoNotContact => Destination::Inline,
    }
}

/// One effect on its way to a consumer. Consumers deduplicate by `effect.key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectMessage {
    pub survey_id: SurveyId,
    pub effect: Effect,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{MessageKind, NoticeReason};
    use crate::model::{Channel, Rating};

    #[test]
    fn every_command_has_its_consumer() {
        let r = Rating::new(2).unwrap();
        let cases = [
            (
                Command::SendSurvey {
                    channel: Channel::Email,
                },
                Destination::Dispatch,
            ),
            (Command::WriteRating { rating: r }, Destination::CrmWrites),
            (
                Command::SaveWords { text: "x".into() },
                Destination::CrmWrites,
            ),
            (
                Command::CreditEmployees {
                    rating: r,
                    employees: vec![],
                },
                Destination::CrmWrites,
            ),
            (
                Command::NotifyInspector {
                    reason: NoticeReason::UnreadableReply,
                    text: "?".into(),
                },
                Destination::CrmWrites,
            ),
            (
                Command::OpenComplaint {
                    rating: r,
                    words: None,
                },
                Destination::Complaints,
            ),
            (
                Command::Message {
                    kind: MessageKind::Thanks,
                    channel: Channel::Whatsapp,
                },
                Destination::Outbox,
            ),
            (Command::AddToDoNotContact, Destination::Inline),
        ];
        for (command, expected) in cases {
            assert_eq!(destination(&command), expected, "{command:?}");
        }
    }

    #[test]
    fn message_round_trips_as_json() {
        let m = EffectMessage {
            survey_id: SurveyId::parse("s-main-shop-7").unwrap(),
            effect: Effect {
                key: "s-main-shop-7/write-rating".into(),
                command: Command::WriteRating {
                    rating: Rating::new(5).unwrap(),
                },
            },
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"surveyId\":\"s-main-shop-7\""), "{json}");
        assert!(json.contains("\"command\":\"write_rating\""), "{json}");
        assert_eq!(serde_json::from_str::<EffectMessage>(&json).unwrap(), m);
    }
}
