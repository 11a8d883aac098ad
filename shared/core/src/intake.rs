//! The intake decision: does this order get a survey, and when?
//!
//! A trigger or the history poller only *signals* that an order changed. The worker re-reads the
//! order and calls [`decide`], a pure function of the order, the customer's history, the config and
//! the clock. The answer is a planned survey or a skip with its reason.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::machine::{Contact, Survey};
use crate::model::{Email, OrderRef, Phone, SkipReason};
use crate::timing::{plan, ContactHistory, OrderFacts};

/// A signal on the intake queue: "look at this order". Duplicates are expected and harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeSignal {
    pub site: String,
    pub order_id: u64,
    /// `trigger` (the retailCRM webhook) or `poller` (the history safety net).
    pub source: String,
    pub received_at: DateTime<Utc>,
}

/// A due survey on the dispatch queue, put there by its one-time schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchRequest {
    pub survey_id: String,
    /// Set for a fallback: send on this channel although the survey was sent already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::model::Channel>,
    /// Set by the reminder's schedule: ask once more if nobody answered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reminder: bool,
    /// When the reminder's schedule was due (inside the send window by construction), so a late
    /// redelivery can tell it is late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
}

impl DispatchRequest {
    /// The schedule's message that sends the question.
    pub fn question(survey: &crate::model::SurveyId) -> DispatchRequest {
        DispatchRequest {
            survey_id: survey.to_string(),
            channel: None,
            reminder: false,
            due_at: None,
        }
    }

    /// The reminder schedule's message, due at `at`.
    pub fn reminder(survey: &crate::model::SurveyId, at: DateTime<Utc>) -> DispatchRequest {
        DispatchRequest {
            reminder: true,
            due_at: Some(at),
            ..DispatchRequest::question(survey)
        }
    }

    /// The name of the survey's reminder schedule (the question's schedule is named by the id).
    pub fn reminder_schedule_name(survey: &crate::model::SurveyId) -> String {
        format!("{survey}-reminder")
    }
}

/// The order as intake sees it, already in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOrder {
    pub order: OrderRef,
    pub status: String,
    /// When the order entered its status (falls back to the signal's time when the CRM omits it).
    pub status_at: Option<DateTime<Utc>>,
    /// Raw phone strings from the order, in preference order.
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub facts: OrderFacts,
}

/// What intake does with an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeDecision {
    /// Not a survey status (yet). Nothing is stored against the order, so a later status change
    /// into a survey status still gets its survey.
    NotNow { status: String },
    /// Final: the order gets a survey record in `skipped` with this reason.
    Skip {
        reason: SkipReason,
        contact: Contact,
    },
    /// A survey to create and schedule.
    Plan { survey: Box<Survey> },
}

/// The customer's reachable contacts: the first phone that is a valid mobile (WhatsApp lives on
/// mobiles), else the first one the phone library does not know but whose length is possible (a
/// range newer than its metadata is most likely a mobile one: it may still be asked on a
/// messenger, see [`Phone`]), else the first valid phone; the email if it parses.
pub fn contact_of(order: &IntakeOrder, default_region: &str) -> Contact {
    contact_from(&order.phones, order.email.as_deref(), default_region)
}

/// [`contact_of`] from an order's phones and email alone: for a caller that needs the contact
/// before it has built the whole [`IntakeOrder`] (intake reading a batch's customers together).
pub fn contact_from(phones: &[String], email: Option<&str>, default_region: &str) -> Contact {
    let phones: Vec<Phone> = phones
        .iter()
        .filter_map(|p| Phone::parse(p, default_region).ok())
        .collect();
    let phone = phones
        .iter()
        .find(|p| p.is_mobile())
        .or_else(|| phones.iter().find(|p| !p.is_validated()))
        .or(phones.first())
        .cloned();
    let email = email.and_then(|e| Email::parse(e).ok());
    Contact { phone, email }
}

/// Decides intake for one order. `history` is what the store knows of this customer; `now` is
/// when the signal is processed.
pub fn decide(
    order: &IntakeOrder,
    history: &ContactHistory,
    config: &Config,
    now: DateTime<Utc>,
) -> IntakeDecision {
    let contact = contact_of(order, &config.default_region);
    if !config.crm.survey_statuses.contains(&order.status) {
        return IntakeDecision::NotNow {
            status: order.status.clone(),
        };
    }
    if !config.surveys_site(order.order.site()) {
        return IntakeDecision::Skip {
            reason: SkipReason::SiteExcluded,
            contact,
        };
    }
    if contact.phone.is_none() && contact.email.is_none() {
        return IntakeDecision::Skip {
            reason: SkipReason::NoContact,
            contact,
        };
    }
    // A status time in the future (clock skew between the CRM and us) must not push the survey
    // later than the rule says.
    let status_at = order.status_at.map_or(now, |t| t.min(now));
    let tz = config.timezone_for_site(order.order.site());
    match plan(status_at, &order.facts, history, &config.survey, tz) {
        Ok(send_at) => IntakeDecision::Plan {
            survey: Box::new(Survey::new(order.order.clone(), contact, now, send_at)),
        },
        Err(reason) => IntakeDecision::Skip { reason, contact },
    }
}

/// The survey record of a skipped order: kept so the report can say why it got no survey.
pub fn skipped_survey(
    order: &OrderRef,
    contact: Contact,
    reason: SkipReason,
    now: DateTime<Utc>,
) -> Survey {
    let mut s = Survey::new(order.clone(), contact, now, now);
    s.state = crate::model::SurveyState::Skipped { reason };
    s
}

/// How long after its send time a survey may stay `Scheduled` with its schedule fired: dispatch
/// takes it out of `Scheduled` within seconds, or within a few of its queue's retries when a
/// send fails. Still `Scheduled` after this, its schedule is gone (a DLQ redrive brings back the
/// signal that made the survey), and a new one is wanted.
pub const SCHEDULE_OVERDUE: chrono::Duration = chrono::Duration::minutes(30);

/// Whether a signal for an order whose survey is already `Scheduled` should make its schedule
/// again. Only when the schedule may be missing: re-making one that has fired (EventBridge
/// Scheduler deletes a one-time schedule after it runs) fires it again, and dispatch takes the
/// question a second time only to find it sent. A schedule is missing only after a crash between
/// the survey's put and its schedule, and then the signal that made the put comes back:
/// `receives > 1`. Before the send time a re-make costs nothing (an existing schedule is a
/// conflict); long after it the survey is [`SCHEDULE_OVERDUE`].
pub fn schedule_may_be_missing(send_at: DateTime<Utc>, receives: u32, now: DateTime<Utc>) -> bool {
    receives > 1 || send_at > now || now - send_at > SCHEDULE_OVERDUE
}

/// The customer's identity for the frequency cap: the CRM customer, else the phone, else the email.
pub fn customer_key(customer_id: Option<u64>, contact: &Contact) -> Option<String> {
    customer_id
        .map(|id| format!("crm:{id}"))
        .or_else(|| {
            contact
                .phone
                .as_ref()
                .map(|p| format!("phone:{}", p.e164()))
        })
        .or_else(|| {
            contact
                .email
                .as_ref()
                .map(|e| format!("email:{}", e.as_str().to_lowercase()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SurveyState;

    const EXAMPLE: &str = include_str!("../../../otklik.example.toml");

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_scheduled_survey_is_scheduled_again_only_when_its_schedule_may_be_missing() {
        let send_at = t("2026-12-07T12:00:00Z");
        // Due a moment ago: the schedule has fired or is firing; a first delivery leaves it.
        assert!(!schedule_may_be_missing(
            send_at,
            1,
            t("2026-12-07T12:00:05Z")
        ));
        assert!(!schedule_may_be_missing(
            send_at,
            1,
            t("2026-12-07T12:29:59Z")
        ));
        // The signal that made the survey, back after a crash before its schedule.
        assert!(schedule_may_be_missing(
            send_at,
            2,
            t("2026-12-07T12:00:05Z")
        ));
        // Not due yet: a schedule that exists is left as it is.
        assert!(schedule_may_be_missing(
            send_at,
            1,
            t("2026-12-07T11:59:59Z")
        ));
        // Long overdue: a redriven signal, the schedule long gone.
        assert!(schedule_may_be_missing(
            send_at,
            1,
            t("2026-12-07T12:30:01Z")
        ));
    }

    fn order(status: &str, phones: &[&str], email: Option<&str>) -> IntakeOrder {
        IntakeOrder {
            order: OrderRef::new("main-shop", 1001).unwrap(),
            status: status.into(),
            status_at: Some(t("2026-11-23T09:00:00Z")),
            phones: phones.iter().map(|p| p.to_string()).collect(),
            email: email.map(str::to_string),
            facts: OrderFacts {
                site: "main-shop".into(),
                ..Default::default()
            },
        }
    }

    fn config() -> Config {
        Config::from_toml(EXAMPLE).unwrap()
    }

    #[test]
    fn a_completed_order_with_a_phone_gets_a_survey_at_the_right_time() {
        let now = t("2026-11-23T09:05:00Z");
        let d = decide(
            &order("complete", &["8 (900) 123-45-67"], None),
            &ContactHistory::default(),
            &config(),
            now,
        );
        let IntakeDecision::Plan { survey } = d else {
            panic!("{d:?}")
        };
        assert_eq!(survey.id.as_str(), "s-main-shop-1001");
        assert_eq!(survey.state, SurveyState::Scheduled);
        // 12:00 Moscow + 2 days default = 25th 12:00 Moscow, inside the window.
        assert_eq!(survey.send_at, t("2026-11-25T09:00:00Z"));
        assert_eq!(survey.created_at, now);
        assert_eq!(
            survey.contact.phone.as_ref().map(|p| p.e164()),
            Some("+79001234567")
        );
    }

    #[test]
    fn other_statuses_are_not_now_and_store_nothing() {
        let d = decide(
            &order("delivering", &["+79001234567"], None),
            &ContactHistory::default(),
            &config(),
            t("2026-11-23T09:05:00Z"),
        );
        assert_eq!(
            d,
            IntakeDecision::NotNow {
                status: "delivering".into()
            }
        );
    }

    #[test]
    fn skips_keep_their_reason() {
        let c = config();
        let now = t("2026-11-23T09:05:00Z");
        let none = decide(
            &order("complete", &["не указан"], Some("нет")),
            &ContactHistory::default(),
            &c,
            now,
        );
        assert!(matches!(
            none,
            IntakeDecision::Skip {
                reason: SkipReason::NoContact,
                ..
            }
        ));
        let dnc = decide(
            &order("complete", &[], Some("buyer@example.ru")),
            &ContactHistory {
                do_not_contact: true,
                last_surveyed_at: None,
            },
            &c,
            now,
        );
        assert!(matches!(
            dnc,
            IntakeDecision::Skip {
                reason: SkipReason::DoNotContact,
                ..
            }
        ));
        let capped = decide(
            &order("complete", &["+79001234567"], None),
            &ContactHistory {
                do_not_contact: false,
                last_surveyed_at: Some(t("2026-11-10T09:00:00Z")),
            },
            &c,
            now,
        );
        assert!(matches!(
            capped,
            IntakeDecision::Skip {
                reason: SkipReason::FrequencyCap,
                ..
            }
        ));
        let mut complaint = order("complete", &["+79001234567"], None);
        complaint.order = OrderRef::new("reklamacii", 5).unwrap();
        assert!(matches!(
            decide(&complaint, &ContactHistory::default(), &c, now),
            IntakeDecision::Skip {
                reason: SkipReason::SiteExcluded,
                ..
            }
        ));
    }

    #[test]
    fn a_mobile_is_preferred_over_a_landline() {
        let o = order(
            "complete",
            &["+7 495 123-45-67", "+7 916 765-43-21"],
            Some("Buyer@Example.ru"),
        );
        let c = contact_of(&o, "RU");
        assert_eq!(c.phone.unwrap().e164(), "+79167654321");
        assert_eq!(c.email.unwrap().as_str(), "Buyer@example.ru");
    }

    #[test]
    fn a_number_the_library_rejects_still_gets_a_survey() {
        // +7 600…: a possible Russian length in a range the metadata does not know.
        let o = order("complete", &["8 (600) 123-45-67"], None);
        let d = decide(
            &o,
            &ContactHistory::default(),
            &config(),
            t("2026-11-23T09:05:00Z"),
        );
        let IntakeDecision::Plan { survey } = d else {
            panic!("{d:?}")
        };
        let phone = survey.contact.phone.expect("kept");
        assert_eq!(phone.e164(), "+76001234567");
        assert!(!phone.is_validated());
        // Preferred over a landline (it may be a mobile), never over a known mobile.
        let both = order("complete", &["+7 495 123-45-67", "+7 600 123-45-67"], None);
        assert_eq!(
            contact_of(&both, "RU").phone.unwrap().e164(),
            "+76001234567"
        );
        let three = order("complete", &["+7 600 123-45-67", "+7 916 765-43-21"], None);
        assert_eq!(
            contact_of(&three, "RU").phone.unwrap().e164(),
            "+79167654321"
        );
    }

    #[test]
    fn a_status_time_in_the_future_is_clamped_to_now() {
        let mut o = order("complete", &["+79001234567"], None);
        o.status_at = Some(t("2026-12-30T00:00:00Z"));
        let now = t("2026-11-23T09:05:00Z");
        let IntakeDecision::Plan { survey } =
            decide(&o, &ContactHistory::default(), &config(), now)
        else {
            panic!()
        };
        assert_eq!(survey.send_at, t("2026-11-25T09:05:00Z"));
    }

    #[test]
    fn signals_use_camel_case_on_the_wire() {
        let s = IntakeSignal {
            site: "main-shop".into(),
            order_id: 1001,
            source: "trigger".into(),
            received_at: t("2026-11-23T09:05:00Z"),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""orderId":1001"#), "{json}");
        assert_eq!(serde_json::from_str::<IntakeSignal>(&json).unwrap(), s);
    }

    #[test]
    fn the_customer_key_prefers_the_crm_customer() {
        let contact = Contact {
            phone: Some(Phone::parse("+79001234567", "RU").unwrap()),
            email: Some(Email::parse("A@B.ru").unwrap()),
        };
        assert_eq!(customer_key(Some(5), &contact).unwrap(), "crm:5");
        assert_eq!(customer_key(None, &contact).unwrap(), "phone:+79001234567");
        let email_only = Contact {
            phone: None,
            email: contact.email.clone(),
        };
        assert_eq!(customer_key(None, &email_only).unwrap(), "email:a@b.ru");
        assert_eq!(customer_key(None, &Contact::default()), None);
    }
}
