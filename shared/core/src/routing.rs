//! Which survey a customer's message belongs to. The inbound worker loads the surveys of the
//! sender (and the survey of the message it quotes, if any) and asks here.

use crate::machine::Survey;
use crate::model::{SurveyId, SurveyState};

/// The survey a message from a sender belongs to, among `senders` (that sender's surveys). A
/// quoted or reacted-to message of ours names its survey, `quoted`, which wins over everything
/// else — but only when it is one of the sender's own: a quote never crosses customers (a "1"
/// from one number quoting another customer's question must not rate that customer's survey; a
/// security probe found it did). Otherwise the sender's surveys decide, as [`route`].
pub fn route_message<'a>(senders: &'a [Survey], quoted: Option<&SurveyId>) -> Option<&'a Survey> {
    quoted
        .and_then(|q| senders.iter().find(|s| &s.id == q))
        .or_else(|| route(senders))
}

/// Whether `quoted` names a survey that is not the sender's (to be logged: a forwarded question,
/// or someone probing).
pub fn quote_crosses_customers(senders: &[Survey], quoted: Option<&SurveyId>) -> bool {
    quoted.is_some_and(|q| !senders.iter().any(|s| &s.id == q))
}

/// The survey a customer's message belongs to: the one still waiting for an answer, else the
/// most recent one we asked, else (a message before we asked anything) the newest planned one.
pub fn route(surveys: &[Survey]) -> Option<&Survey> {
    let newest_first = |a: &&Survey, b: &&Survey| b.created_at.cmp(&a.created_at);
    let mut sorted: Vec<&Survey> = surveys.iter().collect();
    sorted.sort_by(newest_first);
    let open = |s: &&Survey| {
        matches!(
            s.state,
            SurveyState::Sent | SurveyState::AwaitingRating | SurveyState::AwaitingContactConsent
        )
    };
    sorted
        .iter()
        .find(|s| open(s))
        .or_else(|| sorted.iter().find(|s| s.sent_at.is_some()))
        .or_else(|| sorted.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Contact;
    use crate::model::{OrderRef, Outcome};
    use chrono::{TimeZone, Utc};

    fn survey(id: u64, day: u32, state: SurveyState, sent: bool) -> Survey {
        let at = Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap();
        let mut s = Survey::new(
            OrderRef::new("main", id).unwrap(),
            Contact::default(),
            at,
            at,
        );
        s.state = state;
        s.sent_at = sent.then_some(at);
        s
    }

    #[test]
    fn routing_prefers_the_open_survey_then_the_latest_asked() {
        let closed_new = survey(
            3,
            20,
            SurveyState::Closed {
                outcome: Outcome::Rated,
            },
            true,
        );
        let open_old = survey(2, 10, SurveyState::AwaitingRating, true);
        let planned = survey(4, 21, SurveyState::Scheduled, false);
        let all = vec![planned.clone(), closed_new.clone(), open_old.clone()];
        assert_eq!(route(&all).unwrap().id, open_old.id);
        let no_open = vec![planned.clone(), closed_new.clone()];
        assert_eq!(route(&no_open).unwrap().id, closed_new.id);
        assert_eq!(
            route(std::slice::from_ref(&planned)).unwrap().id,
            planned.id
        );
        assert!(route(&[]).is_none());
    }

    #[test]
    fn a_quote_picks_only_among_the_senders_surveys() {
        let open_old = survey(2, 10, SurveyState::AwaitingRating, true);
        let closed_new = survey(
            3,
            20,
            SurveyState::Closed {
                outcome: Outcome::Rated,
            },
            true,
        );
        let someone_elses = survey(9, 15, SurveyState::Sent, true);
        let mine = vec![open_old.clone(), closed_new.clone()];
        // The quote of one of mine wins, even over the open one.
        let got = route_message(&mine, Some(&closed_new.id)).unwrap();
        assert_eq!(got.id, closed_new.id);
        assert!(!quote_crosses_customers(&mine, Some(&closed_new.id)));
        // Another customer's question quoted: ignored, my own surveys decide.
        let got = route_message(&mine, Some(&someone_elses.id)).unwrap();
        assert_eq!(got.id, open_old.id);
        assert!(quote_crosses_customers(&mine, Some(&someone_elses.id)));
        // A sender with no survey of theirs quoting someone else's: nothing.
        assert!(route_message(&[], Some(&someone_elses.id)).is_none());
        assert_eq!(route_message(&mine, None).unwrap().id, open_old.id);
        assert!(!quote_crosses_customers(&mine, None));
    }
}
