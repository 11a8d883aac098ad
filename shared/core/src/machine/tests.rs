//! The table of SPEC §3, row by row, and the properties that make at-least-once delivery safe.

use super::*;
use crate::reply::UnreadableReason;
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cfg() -> MachineConfig {
    MachineConfig {
        reply_window: Duration::from_secs(7 * 86_400),
        inspector_batch_window: Duration::from_secs(15 * 60),
        parser: ParserOptions::default(),
    }
}

fn contact(email: bool) -> Contact {
    Contact {
        phone: Some(Phone::parse("+79001234567", "RU").unwrap()),
        email: email.then(|| Email::parse("buyer@example.ru").unwrap()),
    }
}

fn survey_in(state: SurveyState) -> Survey {
    let order = OrderRef::new("main", 1001).unwrap();
    let mut s = Survey::new(
        order,
        contact(true),
        t("2026-11-20T10:00:00Z"),
        t("2026-11-22T10:00:00Z"),
    );
    s.employees = vec![EmployeeId::new(11).unwrap(), EmployeeId::new(12).unwrap()];
    if state != SurveyState::Scheduled {
        s.channel = Some(Channel::Whatsapp);
        s.sent_at = Some(t("2026-11-22T10:00:00Z"));
        s.provider_message_id = Some("wamid.1".into());
    }
    if state == SurveyState::AwaitingContactConsent {
        s.rating = Some(Rating::new(3).unwrap());
        s.rated_at = Some(t("2026-11-22T11:00:00Z"));
        s.done.insert("write-rating".into());
        s.done.insert("credit".into());
        s.done.insert("msg-ask-contact".into());
    }
    s.state = state;
    s
}

fn text(id: &str, words: &str) -> Input {
    Input {
        id: InputId::new(id).unwrap(),
        event: Event::Text {
            text: words.into(),
            via: Channel::Whatsapp,
        },
    }
}

fn now() -> DateTime<Utc> {
    t("2026-11-22T12:00:00Z")
}

fn commands(d: &Decision) -> Vec<Command> {
    d.effects.iter().map(|e| e.command.clone()).collect()
}

fn r(n: u8) -> Rating {
    Rating::new(n).unwrap()
}

/// The words effect of a WhatsApp message taken at [`now`].
fn words(text: &str) -> Command {
    Command::SaveWords {
        text: text.into(),
        via: Some(Channel::Whatsapp),
        at: Some(now()),
    }
}

fn msg(kind: MessageKind) -> Command {
    Command::Message {
        kind,
        channel: Channel::Whatsapp,
    }
}

#[test]
fn five_writes_credits_thanks_and_closes() {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "5"), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![
            words("5"),
            Command::WriteRating { rating: r(5) },
            Command::CreditEmployees {
                rating: r(5),
                employees: s.employees.clone()
            },
            msg(MessageKind::Thanks),
        ]
    );
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    assert_eq!(d.survey.rating, Some(r(5)));
    assert_eq!(d.survey.closed_at, Some(now()));
    assert_eq!(d.effects[1].key, "s-main-1001/write-rating");
    assert_eq!(d.effects[0].key, "s-main-1001/words/m1");
}

#[test]
fn four_is_thanked_too() {
    let d = decide(
        &survey_in(SurveyState::Sent),
        &text("m1", "4"),
        &cfg(),
        now(),
    );
    assert!(commands(&d).contains(&msg(MessageKind::Thanks)));
    assert!(matches!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    ));
}

#[test]
fn one_or_two_opens_a_complaint_with_the_words() {
    for n in [1, 2] {
        let s = survey_in(SurveyState::AwaitingRating);
        let d = decide(&s, &text("m1", &n.to_string()), &cfg(), now());
        let c = commands(&d);
        assert!(c.contains(&Command::WriteRating { rating: r(n) }));
        assert!(c.contains(&Command::CreditEmployees {
            rating: r(n),
            employees: s.employees.clone()
        }));
        assert!(c.contains(&Command::OpenComplaint {
            rating: r(n),
            words: Some(n.to_string()),
            callback: false,
        }));
        assert!(c.contains(&msg(MessageKind::ComplaintAcknowledged)));
        assert_eq!(
            d.survey.state,
            SurveyState::Closed {
                outcome: Outcome::ComplaintOpened
            }
        );
    }
}

#[test]
fn three_asks_about_contact_then_yes_opens_a_complaint() {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "3"), &cfg(), now());
    let c = commands(&d);
    assert!(c.contains(&Command::WriteRating { rating: r(3) }));
    assert!(c.contains(&msg(MessageKind::AskContactConsent)));
    assert!(!c.iter().any(|c| matches!(c, Command::OpenComplaint { .. })));
    assert_eq!(d.survey.state, SurveyState::AwaitingContactConsent);

    let d2 = decide(&d.survey, &text("m2", "да"), &cfg(), now());
    let c2 = commands(&d2);
    assert!(c2.contains(&Command::OpenComplaint {
        rating: r(3),
        words: Some("да".into()),
        callback: true,
    }));
    assert!(c2.contains(&msg(MessageKind::ContactConfirmed)));
    assert!(
        !c2.iter().any(|c| matches!(c, Command::WriteRating { .. })),
        "the rating was written at the 3"
    );
    assert_eq!(
        d2.survey.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
}

#[test]
fn three_then_no_apologises_and_ends() {
    let s = survey_in(SurveyState::AwaitingContactConsent);
    let d = decide(&s, &text("m2", "нет"), &cfg(), now());
    assert_eq!(commands(&d), vec![words("нет"), msg(MessageKind::Apology)]);
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::DeclinedContact
        }
    );
}

#[test]
fn unreadable_keeps_the_words_and_asks_the_inspector_once_per_batch() {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "3 или 4"), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![
            words("3 или 4"),
            Command::NotifyInspector {
                reason: NoticeReason::UnreadableReply,
                text: "3 или 4".into()
            },
            // The customer is told a person will read it.
            Command::Message {
                kind: MessageKind::HandedToColleague,
                channel: Channel::Whatsapp
            }
        ]
    );
    assert_eq!(d.survey.state, SurveyState::AwaitingRating);

    // A second confused message five minutes later: words kept, no second task.
    let later = now() + chrono::Duration::minutes(5);
    let d2 = decide(&d.survey, &text("m2", "а где заказ?"), &cfg(), later);
    // Taken at its own time: the order's field shows when each message came.
    assert_eq!(
        commands(&d2),
        vec![Command::SaveWords {
            text: "а где заказ?".into(),
            via: Some(Channel::Whatsapp),
            at: Some(later),
        }]
    );
    // After the batch window, a new task.
    let much_later = now() + chrono::Duration::minutes(20);
    let d3 = decide(&d2.survey, &text("m3", "алло?"), &cfg(), much_later);
    assert!(commands(&d3)
        .iter()
        .any(|c| matches!(c, Command::NotifyInspector { .. })));
    // ... and one more acknowledgement, under a key of its own (not the first one's).
    let acks: Vec<&Effect> = d
        .effects
        .iter()
        .chain(&d3.effects)
        .filter(|e| {
            matches!(
                e.command,
                Command::Message {
                    kind: MessageKind::HandedToColleague,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(acks.len(), 2);
    assert_ne!(acks[0].key, acks[1].key);

    // After an opt-out the survey is closed: unreadable words go to nobody but the order.
    let out = decide(&s, &text("m4", "стоп"), &cfg(), now());
    let after = decide(&out.survey, &text("m5", "кто это?"), &cfg(), much_later);
    assert!(!commands(&after)
        .iter()
        .any(|c| matches!(c, Command::Message { .. })));
}

#[test]
fn a_yes_when_we_asked_for_a_rating_goes_to_the_inspector() {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "да"), &cfg(), now());
    assert!(commands(&d)
        .iter()
        .any(|c| matches!(c, Command::NotifyInspector { .. })));
    assert_eq!(d.survey.state, SurveyState::AwaitingRating);
}

#[test]
fn a_rating_when_we_asked_about_contact_goes_to_the_inspector() {
    let s = survey_in(SurveyState::AwaitingContactConsent);
    let d = decide(&s, &text("m1", "5"), &cfg(), now());
    let c = commands(&d);
    assert!(c
        .iter()
        .any(|c| matches!(c, Command::NotifyInspector { .. })));
    assert!(!c.iter().any(|c| matches!(c, Command::WriteRating { .. })));
    assert_eq!(d.survey.state, SurveyState::AwaitingContactConsent);
}

#[test]
fn opt_out_confirms_and_blocks_from_any_open_state() {
    for state in [
        SurveyState::Scheduled,
        SurveyState::Sent,
        SurveyState::AwaitingRating,
        SurveyState::AwaitingContactConsent,
        SurveyState::Expired,
    ] {
        let s = survey_in(state.clone());
        let d = decide(&s, &text("m1", "СТОП"), &cfg(), now());
        let c = commands(&d);
        assert!(c.contains(&Command::AddToDoNotContact), "{state:?}");
        assert!(c.contains(&msg(MessageKind::OptOutConfirmed)), "{state:?}");
        assert_eq!(
            d.survey.state,
            SurveyState::Closed {
                outcome: Outcome::OptedOut
            },
            "{state:?}"
        );
    }
    // On a closed survey the opt-out is honoured, the outcome stays.
    let closed = SurveyState::Closed {
        outcome: Outcome::Rated,
    };
    let d = decide(
        &survey_in(closed.clone()),
        &text("m1", "stop"),
        &cfg(),
        now(),
    );
    assert!(commands(&d).contains(&Command::AddToDoNotContact));
    assert_eq!(d.survey.state, closed);
}

#[test]
fn closed_surveys_never_rerun_effects() {
    let closed = SurveyState::Closed {
        outcome: Outcome::Rated,
    };
    let s = survey_in(closed.clone());
    // A thank-you: kept on the order, nobody paged.
    let d = decide(&s, &text("m9", "спасибо!"), &cfg(), now());
    assert_eq!(commands(&d), vec![words("спасибо!")]);
    // A new problem: the inspector hears of it, but no rating, credit or complaint.
    let d = decide(
        &s,
        &text("m10", "курьер так и не привёз второй пакет, верните деньги"),
        &cfg(),
        now(),
    );
    let c = commands(&d);
    assert!(c.contains(&Command::NotifyInspector {
        reason: NoticeReason::NewProblemAfterClose,
        text: "курьер так и не привёз второй пакет, верните деньги".into()
    }));
    let d = decide(&s, &text("m11", "1"), &cfg(), now());
    let c = commands(&d);
    assert!(c
        .iter()
        .any(|c| matches!(c, Command::NotifyInspector { .. })));
    assert!(!c.iter().any(|c| matches!(
        c,
        Command::WriteRating { .. }
            | Command::OpenComplaint { .. }
            | Command::CreditEmployees { .. }
    )));
    assert_eq!(d.survey.state, closed);
}

#[test]
fn a_duplicate_input_changes_nothing() {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "5"), &cfg(), now());
    let again = decide(&d.survey, &text("m1", "5"), &cfg(), now());
    assert!(again.effects.is_empty());
    assert_eq!(again.survey, d.survey);
}

#[test]
fn landing_clicks_count_without_words() {
    let mut s = survey_in(SurveyState::Sent);
    s.channel = Some(Channel::Email);
    let click = Input {
        id: InputId::new("click-abc").unwrap(),
        event: Event::Choice {
            reply: Reply::Rating { value: r(4) },
            via: Channel::Email,
        },
    };
    let d = decide(&s, &click, &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![
            Command::WriteRating { rating: r(4) },
            Command::CreditEmployees {
                rating: r(4),
                employees: s.employees.clone()
            },
            Command::Message {
                kind: MessageKind::Thanks,
                channel: Channel::Email
            },
        ]
    );
}

#[test]
fn dispatch_events_move_the_survey_to_awaiting() {
    let s = survey_in(SurveyState::Scheduled);
    let sent = Input {
        id: InputId::new("sent-1").unwrap(),
        event: Event::Sent {
            channel: Channel::Whatsapp,
            message_id: "wamid.X".into(),
        },
    };
    let d = decide(&s, &sent, &cfg(), now());
    assert_eq!(d.survey.state, SurveyState::Sent);
    assert_eq!(d.survey.channel, Some(Channel::Whatsapp));
    assert_eq!(d.survey.sent_at, Some(now()));
    assert_eq!(d.survey.provider_message_id.as_deref(), Some("wamid.X"));
    // A second "sent" for the same survey (a redelivered dispatch) changes nothing.
    let d_again = decide(&d.survey, &sent, &cfg(), now() + chrono::Duration::hours(1));
    assert_eq!(d_again.survey, d.survey);

    let delivered = Input {
        id: InputId::new("st-1").unwrap(),
        event: Event::Delivered,
    };
    let d2 = decide(&d.survey, &delivered, &cfg(), now());
    assert_eq!(d2.survey.state, SurveyState::AwaitingRating);
    assert!(d2.effects.is_empty());
}

#[test]
fn dispatch_inputs_have_fixed_ids_so_every_delivery_names_the_same_input() {
    assert_eq!(
        Input::sent(Channel::Whatsapp, "w1").id.as_str(),
        "sent-whatsapp"
    );
    assert_eq!(
        Input::sent(Channel::Email, "").id,
        Input::sent(Channel::Email, "x").id
    );
    assert_eq!(Input::skip(SkipReason::NoContact).id.as_str(), "skip");
    assert_eq!(Input::prepared(vec![], vec![]).id.as_str(), "prepared");
    assert_eq!(
        Input::send_unknown(Channel::Email, "timeout").id.as_str(),
        "send-unknown-email"
    );
    assert_ne!(
        Input::send_unknown(Channel::Email, "a").id,
        Input::send_unknown(Channel::Whatsapp, "a").id
    );
}

#[test]
fn the_wording_seed_names_the_customer_and_the_survey() {
    let s = survey_in(SurveyState::Scheduled);
    assert_eq!(s.wording_seed(), format!("+79001234567/{}", s.id));
    let mut by_email = s.clone();
    by_email.contact.phone = None;
    assert_eq!(
        by_email.wording_seed(),
        format!("buyer@example.ru/{}", s.id)
    );
}

#[test]
fn a_page_answer_is_named_by_what_was_answered() {
    let five = Reply::Rating {
        value: Rating::new(5).unwrap(),
    };
    assert_eq!(
        Input::page_answer(five.clone(), Channel::Email).id.as_str(),
        "link-rate-5"
    );
    assert_eq!(
        Input::page_answer(Reply::Yes, Channel::Email).id.as_str(),
        "link-contact-yes"
    );
    assert_eq!(
        Input::page_answer(Reply::No, Channel::Email).id.as_str(),
        "link-contact-no"
    );
    assert_eq!(
        Input::page_answer(Reply::OptOut, Channel::Email)
            .id
            .as_str(),
        "link-opt-out"
    );
    // The same words twice are one input; other words are another.
    let a = Input::page_comment("курьер опоздал", Channel::Email);
    assert_eq!(
        a.id,
        Input::page_comment("курьер опоздал", Channel::Email).id
    );
    assert_ne!(
        a.id,
        Input::page_comment("курьер не опоздал", Channel::Email).id
    );
    assert!(a.id.as_str().starts_with("link-comment-"));
    assert_eq!(fnv1a("плохо"), fnv1a("плохо"));
    assert_ne!(fnv1a("плохо"), fnv1a("хорошо"));
    // Replaying a page's answer changes nothing.
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(
        &s,
        &Input::page_answer(five.clone(), Channel::Email),
        &cfg(),
        now(),
    );
    let again = decide(
        &d.survey,
        &Input::page_answer(five, Channel::Email),
        &cfg(),
        now(),
    );
    assert_eq!(again.survey, d.survey);
    assert!(again.effects.is_empty());
}

#[test]
fn the_employees_snapshot_is_taken_before_the_send_and_never_after() {
    let mut s = survey_in(SurveyState::Scheduled);
    s.employees.clear();
    let ids = vec![EmployeeId::new(11).unwrap(), EmployeeId::new(14).unwrap()];
    let chain = vec![Channel::Max, Channel::Sms, Channel::Email];
    let d = decide(
        &s,
        &Input::prepared(ids.clone(), chain.clone()),
        &cfg(),
        now(),
    );
    assert_eq!(d.survey.employees, ids);
    assert_eq!(d.survey.chain, chain);
    assert!(d.effects.is_empty());
    assert_eq!(d.survey.state, SurveyState::Scheduled);
    // Once asked, the credits stand as snapshotted: a late snapshot changes nothing.
    let asked = decide(
        &d.survey,
        &Input::sent(Channel::Whatsapp, "w1"),
        &cfg(),
        now(),
    )
    .survey;
    assert_eq!(asked.asked, vec![Channel::Whatsapp]);
    let late = decide(&asked, &Input::prepared(vec![], vec![]), &cfg(), now());
    assert_eq!(late.survey, asked);
}

#[test]
fn a_send_of_unknown_outcome_fails_the_survey_and_is_never_retried() {
    let s = survey_in(SurveyState::Scheduled);
    let d = decide(
        &s,
        &Input::send_unknown(Channel::Whatsapp, "timed out"),
        &cfg(),
        now(),
    );
    assert_eq!(
        d.survey.state,
        SurveyState::Failed {
            reason: "whatsapp: outcome unknown: timed out".into()
        }
    );
    assert!(d.effects.is_empty());
    // An answered survey keeps its answer.
    let closed = survey_in(SurveyState::Closed {
        outcome: Outcome::Rated,
    });
    let d = decide(
        &closed,
        &Input::send_unknown(Channel::Email, "x"),
        &cfg(),
        now(),
    );
    assert_eq!(d.survey, closed);
}

#[test]
fn a_rating_after_a_send_of_unknown_outcome_counts() {
    // The provider took the question and its answer was lost (a 500 after the send, a timeout):
    // the survey failed, yet the customer got the question and rates.
    let failed = decide(
        &survey_in(SurveyState::Sent),
        &Input::send_unknown(Channel::Max, "HTTP 500"),
        &cfg(),
        now(),
    )
    .survey;
    assert!(matches!(failed.state, SurveyState::Failed { .. }));
    let d = decide(&failed, &text("m1", "5"), &cfg(), now());
    assert_eq!(d.survey.rating, Some(r(5)));
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    let c = commands(&d);
    assert!(c.contains(&Command::WriteRating { rating: r(5) }), "{c:?}");
    // A low one opens its complaint, as on any asked survey.
    let d = decide(&failed, &text("m2", "1"), &cfg(), now());
    assert!(
        commands(&d)
            .iter()
            .any(|c| matches!(c, Command::OpenComplaint { .. })),
        "{d:?}"
    );
}

#[test]
fn a_fallback_is_pending_only_while_open_on_another_channel() {
    let s = survey_in(SurveyState::Sent);
    assert!(!s.fallback_pending(Channel::Email));
    let failed = Input {
        id: InputId::new("f1").unwrap(),
        event: Event::DeliveryFailed {
            channel: Channel::Whatsapp,
            reason: "131026".into(),
        },
    };
    let d = decide(&s, &failed, &cfg(), now());
    assert!(d.survey.fallback_pending(Channel::Email));
    assert!(!d.survey.fallback_pending(Channel::Whatsapp));
    // Once the email is out, nothing is pending.
    let sent = decide(
        &d.survey,
        &Input::sent(Channel::Email, "ses-1"),
        &cfg(),
        now(),
    )
    .survey;
    assert!(!sent.fallback_pending(Channel::Email));
    // An answer before the fallback went out closes it.
    let mut answered = d.survey.clone();
    answered.state = SurveyState::Closed {
        outcome: Outcome::Rated,
    };
    assert!(!answered.fallback_pending(Channel::Email));
}

#[test]
fn a_failed_delivery_falls_down_the_chain_one_channel_at_a_time() {
    let mut s = survey_in(SurveyState::Scheduled);
    s.chain = vec![Channel::Max, Channel::Sms, Channel::Email];
    let s = decide(&s, &Input::sent(Channel::Max, "max-1"), &cfg(), now()).survey;
    let failed = |id: &str, ch: Channel| Input {
        id: InputId::new(id).unwrap(),
        event: Event::DeliveryFailed {
            channel: ch,
            reason: "noAccount".into(),
        },
    };
    let d = decide(&s, &failed("f1", Channel::Max), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![Command::SendSurvey {
            channel: Channel::Sms
        }]
    );
    // Reported twice before the SMS went out: still one SMS.
    let again = decide(&d.survey, &failed("f2", Channel::Max), &cfg(), now());
    assert!(again.effects.is_empty());
    let sms = decide(
        &again.survey,
        &Input::sent(Channel::Sms, "sms-1"),
        &cfg(),
        now(),
    )
    .survey;
    assert_eq!(sms.channel, Some(Channel::Sms));
    assert_eq!(sms.asked, vec![Channel::Max, Channel::Sms]);
    // A late MAX failure no longer matters: the question is on SMS now.
    assert_eq!(
        decide(&sms, &failed("f3", Channel::Max), &cfg(), now()).survey,
        {
            let mut x = sms.clone();
            x.seen_inputs.push(InputId::new("f3").unwrap());
            x
        }
    );
    // The SMS fails: email next, then nothing is left.
    let d = decide(&sms, &failed("f4", Channel::Sms), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![Command::SendSurvey {
            channel: Channel::Email
        }]
    );
    let mail = decide(
        &d.survey,
        &Input::sent(Channel::Email, "ses-1"),
        &cfg(),
        now(),
    )
    .survey;
    let d = decide(&mail, &failed("f5", Channel::Email), &cfg(), now());
    assert!(d.effects.is_empty());
    assert!(matches!(d.survey.state, SurveyState::Failed { .. }));
}

#[test]
fn a_fallback_to_a_channel_without_an_account_goes_on_down_the_chain() {
    let mut s = survey_in(SurveyState::Scheduled);
    s.chain = vec![Channel::Whatsapp, Channel::Max, Channel::Sms];
    let s = decide(&s, &Input::sent(Channel::Whatsapp, "w1"), &cfg(), now()).survey;
    let failed = Input {
        id: InputId::new("f1").unwrap(),
        event: Event::DeliveryFailed {
            channel: Channel::Whatsapp,
            reason: "131026".into(),
        },
    };
    let d = decide(&s, &failed, &cfg(), now());
    assert!(d.survey.fallback_pending(Channel::Max));
    // No MAX account: the SMS is next, once however often that is reported.
    let d2 = decide(&d.survey, &Input::unreachable(Channel::Max), &cfg(), now());
    assert_eq!(
        commands(&d2),
        vec![Command::SendSurvey {
            channel: Channel::Sms
        }]
    );
    let d3 = decide(&d2.survey, &Input::unreachable(Channel::Max), &cfg(), now());
    assert!(d3.effects.is_empty());
    // Unreachable says nothing about a channel we were not falling back to.
    let d4 = decide(&s, &Input::unreachable(Channel::Sms), &cfg(), now());
    assert_eq!(d4.survey, s);
    // With nothing after it, the survey fails.
    let mut last = d.survey.clone();
    last.chain = vec![Channel::Whatsapp, Channel::Max];
    let d5 = decide(&last, &Input::unreachable(Channel::Max), &cfg(), now());
    assert!(matches!(d5.survey.state, SurveyState::Failed { .. }));
}

#[test]
fn whatsapp_failure_falls_back_to_email_once_then_fails() {
    let s = survey_in(SurveyState::Sent);
    let failed = |id: &str, ch: Channel| Input {
        id: InputId::new(id).unwrap(),
        event: Event::DeliveryFailed {
            channel: ch,
            reason: "131026".into(),
        },
    };
    let d = decide(&s, &failed("f1", Channel::Whatsapp), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![Command::SendSurvey {
            channel: Channel::Email
        }]
    );
    assert_eq!(d.survey.state, SurveyState::Sent);
    // The same failure reported again under another id: no second email.
    let d2 = decide(&d.survey, &failed("f2", Channel::Whatsapp), &cfg(), now());
    assert!(d2.effects.is_empty());
    assert_eq!(d2.survey.state, SurveyState::Sent);
    // The email goes out.
    let sent = Input {
        id: InputId::new("sent-email").unwrap(),
        event: Event::Sent {
            channel: Channel::Email,
            message_id: "ses-1".into(),
        },
    };
    let d3 = decide(&d2.survey, &sent, &cfg(), now());
    assert_eq!(d3.survey.channel, Some(Channel::Email));
    // The email bounces: nothing left to try.
    let d4 = decide(&d3.survey, &failed("f3", Channel::Email), &cfg(), now());
    assert!(matches!(d4.survey.state, SurveyState::Failed { .. }));

    // Without an email there is nothing to fall back to.
    let mut no_email = survey_in(SurveyState::Sent);
    no_email.contact.email = None;
    let d = decide(&no_email, &failed("f1", Channel::Whatsapp), &cfg(), now());
    assert!(d.effects.is_empty());
    assert!(matches!(d.survey.state, SurveyState::Failed { .. }));
}

#[test]
fn silence_expires_and_a_late_rating_still_counts() {
    let s = survey_in(SurveyState::AwaitingRating);
    let tick = Input {
        id: InputId::new("tick").unwrap(),
        event: Event::Tick,
    };
    let early = decide(&s, &tick, &cfg(), t("2026-11-29T09:59:00Z"));
    assert_eq!(early.survey.state, SurveyState::AwaitingRating);
    let d = decide(&s, &tick, &cfg(), t("2026-11-29T10:00:00Z"));
    assert_eq!(d.survey.state, SurveyState::Expired);
    assert!(d.effects.is_empty());
    let late = decide(
        &d.survey,
        &text("m1", "4"),
        &cfg(),
        t("2026-12-03T10:00:00Z"),
    );
    assert!(commands(&late).contains(&Command::WriteRating { rating: r(4) }));
    assert!(matches!(
        late.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    ));
}

#[test]
fn silence_after_a_three_closes_as_rated() {
    let s = survey_in(SurveyState::AwaitingContactConsent);
    let tick = Input {
        id: InputId::new("tick").unwrap(),
        event: Event::Tick,
    };
    let d = decide(&s, &tick, &cfg(), t("2026-11-29T11:00:00Z"));
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    assert!(d.effects.is_empty());
}

#[test]
fn skip_only_applies_before_sending() {
    let skip = Input {
        id: InputId::new("skip").unwrap(),
        event: Event::Skip {
            reason: SkipReason::OrderCancelled,
        },
    };
    let d = decide(&survey_in(SurveyState::Scheduled), &skip, &cfg(), now());
    assert_eq!(
        d.survey.state,
        SurveyState::Skipped {
            reason: SkipReason::OrderCancelled
        }
    );
    let d = decide(&survey_in(SurveyState::Sent), &skip, &cfg(), now());
    assert_eq!(d.survey.state, SurveyState::Sent);
}

fn edited(id: &str, words: &str) -> Input {
    Input {
        id: InputId::new(id).unwrap(),
        event: Event::Edited {
            text: words.into(),
            via: Channel::Whatsapp,
        },
    }
}

/// Issue 18: an edit after a rating was recorded keeps the rating; its words reach the order;
/// if they would read differently, the inspector decides.
#[test]
fn an_edit_after_the_rating_never_changes_it_and_a_different_reading_goes_to_the_inspector() {
    let rated = decide(
        &survey_in(SurveyState::Sent),
        &text("w1", "5"),
        &cfg(),
        now(),
    )
    .survey;
    assert_eq!(rated.rating, Some(r(5)));

    // Reads the same: the words reach the order, nobody is bothered.
    let same = decide(&rated, &edited("w2", "5, спасибо"), &cfg(), now());
    assert_eq!(commands(&same), vec![words("5, спасибо")]);
    assert_eq!(same.survey.rating, Some(r(5)));

    // Reads as a 1 now: no complaint, no new rating — a human looks.
    let worse = decide(&rated, &edited("w3", "1, всё плохо"), &cfg(), now());
    assert_eq!(
        commands(&worse),
        vec![
            words("1, всё плохо"),
            Command::NotifyInspector {
                reason: NoticeReason::EditedAfterRating,
                text: "1, всё плохо".into()
            }
        ]
    );
    assert_eq!(worse.survey.rating, Some(r(5)));
    assert_eq!(worse.survey.state, rated.state);
}

/// An edit of an answer we could not read (nothing rated yet) is the answer.
#[test]
fn an_edit_before_any_rating_is_the_answer() {
    let unread = decide(
        &survey_in(SurveyState::Sent),
        &text("w1", "ну такое"),
        &cfg(),
        now(),
    )
    .survey;
    assert_eq!(unread.rating, None);
    let d = decide(&unread, &edited("w2", "4"), &cfg(), now());
    assert_eq!(d.survey.rating, Some(r(4)));
    assert!(commands(&d).contains(&Command::WriteRating { rating: r(4) }));
}

#[test]
fn survey_round_trips_through_json() {
    let mut s = survey_in(SurveyState::AwaitingContactConsent);
    s.seen_inputs.push(InputId::new("m1").unwrap());
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        json.contains(r#""state":"awaiting_contact_consent""#),
        "{json}"
    );
    let back: Survey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let unread = Reply::Unreadable {
        reason: UnreadableReason::TwoDifferentNumbers,
    };
    let input = Input {
        id: InputId::new("x").unwrap(),
        event: Event::Choice {
            reply: unread,
            via: Channel::Whatsapp,
        },
    };
    let back: Input = serde_json::from_str(&serde_json::to_string(&input).unwrap()).unwrap();
    assert_eq!(back, input);
}

// --- properties ---

/// Inputs drawn from a small pool of ids, so duplicates are common.
fn arb_input() -> impl Strategy<Value = Input> {
    let words = prop::sample::select(vec![
        "1",
        "2",
        "3",
        "4",
        "5",
        "5️⃣",
        "да",
        "нет",
        "стоп",
        "3 или 4",
        "спасибо",
        "где заказ?",
        "ужас, курьер нахамил",
        "⭐⭐⭐⭐",
    ]);
    let event = prop_oneof![
        4 => (words.clone(), any::<bool>()).prop_map(|(w, wa)| Event::Text {
            text: w.to_string(),
            via: if wa { Channel::Whatsapp } else { Channel::Email },
        }),
        1 => words.prop_map(|w| Event::Edited {
            text: w.to_string(),
            via: Channel::Whatsapp,
        }),
        2 => (1u8..=5).prop_map(|n| Event::Choice {
            reply: Reply::Rating { value: Rating::new(n).unwrap() },
            via: Channel::Email,
        }),
        1 => prop::sample::select(vec![Reply::Yes, Reply::No, Reply::OptOut]).prop_map(|reply| Event::Choice {
            reply,
            via: Channel::Whatsapp,
        }),
        1 => any::<bool>().prop_map(|wa| Event::Sent {
            channel: if wa { Channel::Whatsapp } else { Channel::Email },
            message_id: "mid".into(),
        }),
        1 => Just(Event::Delivered),
        1 => any::<bool>().prop_map(|wa| Event::DeliveryFailed {
            channel: if wa { Channel::Whatsapp } else { Channel::Email },
            reason: "131026".into(),
        }),
        1 => Just(Event::Tick),
        1 => Just(Event::Skip { reason: SkipReason::OrderCancelled }),
        1 => prop::sample::select(vec!["1", "2", "3", "5", "call", "none"]).prop_map(|v| Event::Resolved {
            resolution: Resolution::from_form(v).unwrap(),
        }),
    ];
    (0u8..12, event).prop_map(|(id, event)| Input {
        id: InputId::new(format!("in-{id}")).unwrap(),
        event,
    })
}

fn arb_start() -> impl Strategy<Value = Survey> {
    prop::sample::select(vec![
        SurveyState::Scheduled,
        SurveyState::Sent,
        SurveyState::AwaitingRating,
    ])
    .prop_map(survey_in)
}

/// Runs a sequence, one step a minute or a day apart, returning every intermediate decision.
fn run(start: &Survey, inputs: &[(Input, bool)]) -> Vec<Decision> {
    let mut at = now();
    let mut s = start.clone();
    let mut out = Vec::new();
    for (input, long_gap) in inputs {
        at += if *long_gap {
            chrono::Duration::days(4)
        } else {
            chrono::Duration::minutes(1)
        };
        let d = decide(&s, input, &cfg(), at);
        s = d.survey.clone();
        out.push(d);
    }
    out
}

fn once_only(c: &Command) -> Option<String> {
    match c {
        Command::WriteRating { .. } => Some("write".into()),
        Command::CreditEmployees { .. } => Some("credit".into()),
        Command::OpenComplaint { .. } => Some("complaint".into()),
        Command::AddToDoNotContact => Some("dnc".into()),
        Command::SendSurvey { channel } => Some(format!("send-{channel}")),
        // Once per burst, like the inspector's notice it goes with (its key is per input).
        Command::Message {
            kind: MessageKind::HandedToColleague,
            ..
        } => None,
        Command::Message { kind, .. } => Some(format!("{kind:?}")),
        Command::SaveWords { .. } | Command::NotifyInspector { .. } => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_input_sequence_runs_an_effect_twice(
        start in arb_start(),
        inputs in prop::collection::vec((arb_input(), any::<bool>()), 0..40),
    ) {
        let decisions = run(&start, &inputs);
        let mut keys = BTreeSet::new();
        let mut once = BTreeSet::new();
        for e in decisions.iter().flat_map(|d| d.effects.iter()) {
            prop_assert!(keys.insert(e.key.clone()), "key {} issued twice", e.key);
            if let Some(k) = once_only(&e.command) {
                prop_assert!(once.insert(k.clone()), "{k} ran twice");
            }
        }
    }

    #[test]
    fn a_closed_survey_stays_closed(
        start in arb_start(),
        inputs in prop::collection::vec((arb_input(), any::<bool>()), 0..40),
    ) {
        let decisions = run(&start, &inputs);
        let mut closed: Option<SurveyState> = None;
        for d in &decisions {
            if let Some(c) = &closed {
                prop_assert_eq!(&d.survey.state, c);
            } else if matches!(d.survey.state, SurveyState::Closed { .. }) {
                closed = Some(d.survey.state.clone());
            }
        }
    }

    #[test]
    fn a_duplicated_input_is_a_no_op(
        start in arb_start(),
        inputs in prop::collection::vec((arb_input(), any::<bool>()), 1..30),
        extra_minutes in 0i64..10_000,
    ) {
        let decisions = run(&start, &inputs);
        // Replay every input right after it was handled, and much later.
        let mut before = start.clone();
        for ((input, _), d) in inputs.iter().zip(&decisions) {
            for later in [0, extra_minutes] {
                let when = now() + chrono::Duration::minutes(later);
                let again = decide(&d.survey, input, &cfg(), when);
                prop_assert!(again.effects.is_empty(), "{input:?} ran again: {:?}", again.effects);
                // The state never moves because of a replay, except that a timer may legitimately
                // fire on its own schedule.
                if !matches!(input.event, Event::Tick) {
                    prop_assert_eq!(&again.survey.state, &d.survey.state);
                }
                if before.seen_inputs.contains(&input.id) || matches!(input.event, Event::Text { .. } | Event::Choice { .. } | Event::DeliveryFailed { .. }) {
                    prop_assert_eq!(&again.survey, &d.survey);
                }
            }
            before = d.survey.clone();
        }
    }

    #[test]
    fn every_path_from_awaiting_rating_can_reach_a_terminal_state(
        inputs in prop::collection::vec((arb_input(), any::<bool>()), 0..40),
    ) {
        let start = survey_in(SurveyState::AwaitingRating);
        let mut states = vec![start.clone()];
        states.extend(run(&start, &inputs).into_iter().map(|d| d.survey));
        let far = now() + chrono::Duration::days(400);
        for s in states {
            // Time alone ends every survey …
            let tick = Input { id: InputId::new("final-tick").unwrap(), event: Event::Tick };
            let timed = decide(&s, &tick, &cfg(), far).survey;
            prop_assert!(timed.state.is_terminal(), "{:?} stuck after the reply window", s.state);
            // … and so does the customer's opt-out.
            let stop = Input { id: InputId::new("final-stop").unwrap(), event: Event::Choice { reply: Reply::OptOut, via: Channel::Whatsapp } };
            let stopped = decide(&s, &stop, &cfg(), far).survey;
            prop_assert!(stopped.state.is_terminal());
        }
    }
}

#[test]
fn a_comment_after_a_low_rating_only_reaches_the_order() {
    let open = survey_in(SurveyState::AwaitingRating);
    let rated = decide(
        &open,
        &Input {
            id: InputId::new("link-1").unwrap(),
            event: Event::Choice {
                reply: Reply::Rating {
                    value: Rating::new(1).unwrap(),
                },
                via: Channel::Email,
            },
        },
        &cfg(),
        t("2026-11-22T12:00:00Z"),
    )
    .survey;
    // "5" in a comment is not a new rating: the box is for words.
    let comment = Input {
        id: InputId::new("comment-1").unwrap(),
        event: Event::Comment {
            text: "курьер опоздал на 5 часов".into(),
            via: Channel::Email,
        },
    };
    let d = decide(&rated, &comment, &cfg(), t("2026-11-22T12:01:00Z"));
    assert_eq!(
        d.effects.iter().map(|e| &e.command).collect::<Vec<_>>(),
        vec![&Command::SaveWords {
            text: "курьер опоздал на 5 часов".into(),
            via: Some(Channel::Email),
            at: Some(t("2026-11-22T12:01:00Z")),
        }]
    );
    assert_eq!(d.survey.rating, Some(Rating::new(1).unwrap()));
    assert_eq!(d.survey.state, rated.state);
    // Delivered again: nothing more.
    let again = decide(&d.survey, &comment, &cfg(), t("2026-11-22T12:02:00Z"));
    assert!(again.effects.is_empty());
    // Before any rating there is nothing to comment on.
    let early = decide(&open, &comment, &cfg(), t("2026-11-22T12:01:00Z"));
    assert!(early.effects.is_empty());
}

#[test]
fn provider_ids_keep_their_stored_forms_and_never_collide_across_providers() {
    use super::IdSpace::*;
    let m = |sp, chat, id| InputId::provider_message(sp, chat, id).unwrap();
    let st = |sp, id, status| InputId::provider_status(sp, id, status).unwrap();
    assert_eq!(m(Whatsapp, None, "wamid.A").as_str(), "wamid.A");
    assert_eq!(
        m(Whatsapp, Some("79001234567@c.us"), "B1").as_str(),
        "79001234567@c.us/B1"
    );
    assert_eq!(m(Max, Some("10000001"), "B1").as_str(), "max:10000001/B1");
    assert_eq!(st(Whatsapp, "wamid.Q", "failed").as_str(), "wamid.Q:failed");
    assert_eq!(st(Max, "77", "delivered").as_str(), "max:77:delivered");
    assert_eq!(st(SmsRu, "000000-1", "104").as_str(), "smsru:000000-1:104");
    assert_ne!(st(Whatsapp, "77", "read"), st(Max, "77", "read"));
    assert!(InputId::provider_message(Whatsapp, None, &"x".repeat(300)).is_err());
}

fn resolved(value: &str) -> Input {
    Input::resolved(Resolution::from_form(value).unwrap())
}

/// The survey after an answer we could not read: the inspector has a task, the customer waits.
fn unreadable() -> Survey {
    let s = survey_in(SurveyState::AwaitingRating);
    let d = decide(&s, &text("m1", "1 курьер опоздал на 3 часа"), &cfg(), now());
    assert!(commands(&d)
        .iter()
        .any(|c| matches!(c, Command::NotifyInspector { .. })));
    d.survey
}

#[test]
fn the_inspectors_two_runs_as_if_the_customer_had_sent_it_once() {
    let s = unreadable();
    let later = now() + chrono::Duration::hours(2);
    let d = decide(&s, &resolved("2"), &cfg(), later);
    assert_eq!(
        commands(&d),
        vec![
            Command::WriteRating { rating: r(2) },
            Command::CreditEmployees {
                rating: r(2),
                employees: s.employees.clone()
            },
            Command::OpenComplaint {
                rating: r(2),
                words: None,
                callback: false
            },
            msg(MessageKind::ComplaintAcknowledged),
        ]
    );
    assert_eq!(d.survey.rating, Some(r(2)));
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    // The customer said nothing new: their reply time stays theirs.
    assert_eq!(d.survey.replied_at, s.replied_at);
    assert_eq!(d.survey.rated_at, Some(later));
    // A second POST, of the same choice or another, changes nothing.
    for again in ["2", "5", "call", "none"] {
        let d2 = decide(&d.survey, &resolved(again), &cfg(), later);
        assert!(d2.effects.is_empty(), "{again}: {:?}", d2.effects);
        assert_eq!(d2.survey, d.survey);
    }
    // Even once the id has left the survey's memory of inputs.
    let mut forgot = d.survey.clone();
    forgot.seen_inputs.clear();
    assert!(decide(&forgot, &resolved("4"), &cfg(), later)
        .effects
        .is_empty());
}

#[test]
fn the_inspectors_five_thanks_and_closes_and_an_expired_survey_still_counts() {
    let mut s = unreadable();
    s.state = SurveyState::Expired;
    let d = decide(&s, &resolved("5"), &cfg(), now());
    assert!(commands(&d).contains(&Command::WriteRating { rating: r(5) }));
    assert!(commands(&d).contains(&msg(MessageKind::Thanks)));
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
}

#[test]
fn wants_a_call_opens_a_callback_complaint_without_a_rating() {
    let s = unreadable();
    let d = decide(&s, &resolved("call"), &cfg(), now());
    assert_eq!(
        commands(&d),
        vec![
            Command::OpenComplaint {
                rating: r(3),
                words: None,
                callback: true
            },
            msg(MessageKind::ContactConfirmed),
        ]
    );
    // Nothing is written as the customer's rating and nobody is credited.
    assert_eq!(d.survey.rating, None);
    assert_eq!(
        d.survey.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    // After a 3, "call" is the customer's "yes"; a rating is not what we asked and does nothing.
    let three = survey_in(SurveyState::AwaitingContactConsent);
    let d = decide(&three, &resolved("call"), &cfg(), now());
    assert!(commands(&d).contains(&Command::OpenComplaint {
        rating: r(3),
        words: None,
        callback: true
    }));
    assert!(decide(&three, &resolved("1"), &cfg(), now())
        .effects
        .is_empty());
}

#[test]
fn not_a_rating_records_nothing_and_the_customer_can_still_answer() {
    let s = unreadable();
    let d = decide(&s, &resolved("none"), &cfg(), now());
    assert!(d.effects.is_empty());
    assert_eq!(d.survey.state, SurveyState::AwaitingRating);
    assert!(!awaits_resolution(&d.survey));
    let answer = decide(&d.survey, &text("m9", "4"), &cfg(), now());
    assert!(commands(&answer).contains(&Command::WriteRating { rating: r(4) }));
}

#[test]
fn the_customers_own_answer_first_wins_over_the_inspector() {
    let s = unreadable();
    let rated = decide(&s, &text("m2", "4"), &cfg(), now()).survey;
    assert!(!awaits_resolution(&rated));
    let d = decide(&rated, &resolved("1"), &cfg(), now());
    assert!(d.effects.is_empty());
    assert_eq!(d.survey.rating, Some(r(4)));
    // Nothing to resolve before the question went out, or after an opt-out.
    let scheduled = survey_in(SurveyState::Scheduled);
    assert!(decide(&scheduled, &resolved("5"), &cfg(), now())
        .effects
        .is_empty());
    let out = decide(&s, &text("m3", "стоп"), &cfg(), now()).survey;
    assert!(decide(&out, &resolved("5"), &cfg(), now())
        .effects
        .is_empty());
}

#[test]
fn resolutions_read_the_form_and_nothing_else() {
    for v in ["1", "2", "3", "4", "5", "call", "none"] {
        assert_eq!(Resolution::from_form(v).unwrap().form_value(), v);
    }
    for bad in ["", "0", "6", "05", "Call", "yes", "1 "] {
        assert_eq!(Resolution::from_form(bad), None, "{bad}");
    }
}

/// A words effect queued before the time and channel were carried still reads (as bare words).
#[test]
fn a_words_effect_from_before_reads_without_time_and_channel() {
    let old: Command = serde_json::from_str(r#"{"command":"save_words","text":"да"}"#).unwrap();
    assert_eq!(
        old,
        Command::SaveWords {
            text: "да".into(),
            via: None,
            at: None
        }
    );
    let new = serde_json::to_string(&words("да")).unwrap();
    assert_eq!(serde_json::from_str::<Command>(&new).unwrap(), words("да"));
}
