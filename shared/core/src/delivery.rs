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
    /// `reply-sender`: what we say back to the customer.
    Replies,
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
        Command::Message { .. } => Destination::Replies,
        Command::AddToDoNotContact => Destination::Inline,
    }
}

/// One effect on its way to a consumer, with the other effects of the same decision for the same
/// consumer when that consumer does them together ([`groups`]). Consumers deduplicate by each
/// effect's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectMessage {
    pub survey_id: SurveyId,
    pub effect: Effect,
    /// Absent in single-effect messages (and in every message written before grouping existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Effect>,
}

impl EffectMessage {
    /// Every effect the message carries, in the machine's order.
    pub fn effects(&self) -> impl Iterator<Item = &Effect> {
        std::iter::once(&self.effect).chain(self.also.iter())
    }
}

/// Whether one decision's effects for `destination` travel as one message. The CRM writer's do:
/// the rating and the customer's words then become one `orders/{id}/edit` call however SQS
/// batches the queue, which keeps the 5-star path within its retailCRM call budget. The other
/// consumers take one effect per message.
pub fn groups(destination: Destination) -> bool {
    destination == Destination::CrmWrites
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
                Command::SaveWords {
                    text: "x".into(),
                    via: None,
                    at: None,
                },
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
                    callback: false,
                },
                Destination::Complaints,
            ),
            (
                Command::Message {
                    kind: MessageKind::Thanks,
                    channel: Channel::Whatsapp,
                },
                Destination::Replies,
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
            also: Vec::new(),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"surveyId\":\"s-main-shop-7\""), "{json}");
        assert!(json.contains("\"command\":\"write_rating\""), "{json}");
        assert!(!json.contains("also"), "{json}");
        assert_eq!(serde_json::from_str::<EffectMessage>(&json).unwrap(), m);
    }

    #[test]
    fn a_grouped_message_carries_every_effect_in_order() {
        let words = Effect {
            key: "s-main-shop-7/words/in-1".into(),
            command: Command::SaveWords {
                text: "5".into(),
                via: Some(Channel::Max),
                at: None,
            },
        };
        let rating = Effect {
            key: "s-main-shop-7/write-rating".into(),
            command: Command::WriteRating {
                rating: Rating::new(5).unwrap(),
            },
        };
        let m = EffectMessage {
            survey_id: SurveyId::parse("s-main-shop-7").unwrap(),
            effect: words.clone(),
            also: vec![rating.clone()],
        };
        let back: EffectMessage =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.effects().collect::<Vec<_>>(), vec![&words, &rating]);
        assert!(groups(Destination::CrmWrites));
        assert!(!groups(Destination::Replies) && !groups(Destination::Complaints));
    }
}
