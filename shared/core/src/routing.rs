//! Which survey a customer's message belongs to. The inbound worker loads the surveys of the
//! sender and asks here; a message that quotes our question has already named its survey.

use crate::machine::Survey;
use crate::model::SurveyState;

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
}
