//! The one reminder, end to end through the local runner: a customer who said nothing after the
//! question is asked once more a day later (time runs compressed here) — on the next channel of
//! the chain they can be reached on, in the reminder's own words — and an answer to the reminder
//! counts like any other. Never a second one.

use std::time::Duration;

use otklik_core::machine::Survey;
use otklik_core::model::{Channel, OrderRef, SurveyId};
use otklik_core::ports::SurveyStore;
use otklik_core::texts::{Lang, TextKind, Texts};
use otklik_flow_tests::{digits, eventually, local_endpoint, TestStack, WAIT};
use otklik_local_runner::drive::{emails_to, rating_links};
use otklik_local_runner::local::Options;
use otklik_local_runner::stack;
use serde_json::{json, Value};

async fn reminding_shop(test: &str) -> TestStack {
    TestStack::start_with(
        test,
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            config_edit: Some(stack::russia_2026_reminding),
            ..Default::default()
        },
    )
    .await
}

async fn survey_of(s: &TestStack, order: u64) -> Option<Survey> {
    let id = SurveyId::for_order(&OrderRef::new("main-shop", order).unwrap());
    s.store.get(&id).await.unwrap()
}

async fn sms_to(s: &TestStack, phone: &str) -> Vec<String> {
    s.sim_get(&format!("/sim/sms/inbox?phone={}", digits(phone)))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The text part of a raw email (base64 in our MIME), lines joined.
fn email_text(raw: &str) -> String {
    use base64::Engine as _;
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let joined: String = body.lines().map(str::trim).collect();
    let text = base64::engine::general_purpose::STANDARD
        .decode(joined)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    text.lines().collect::<Vec<_>>().join(" ")
}

/// Whether `text` opens with one of our wordings of `kind`, as sent from the stack's shop.
fn starts_with_one_of(text: &str, kind: TextKind, config: &otklik_core::config::Config) -> bool {
    Texts::defaults()
        .asks(kind, Lang::Ru, &config.who())
        .iter()
        .any(|v| text.starts_with(v.as_str()))
}

#[tokio::test]
async fn a_silent_sms_customer_is_reminded_once_by_email_and_that_answer_counts() {
    let s = reminding_shop("remind-email").await;
    let phone = "+79005550801";
    // The endpoint's sent mail outlives a run: an address of this run's own.
    let email = &format!(
        "remind-{}@example.ru",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    s.sim_put("/sim/max/numbers", json!({"withoutMax": [digits(phone)]}))
        .await;
    let order = s
        .complete_order(json!({"phone": phone, "email": email}), &[11, 12])
        .await;

    // The question goes by SMS (no MAX); nobody answers; a day later the reminder comes by email,
    // the next channel of the chain this customer has.
    let raw = eventually("the reminder email arrives", WAIT, || async {
        let mails = emails_to(&local_endpoint(), email).await?;
        Ok((!mails.is_empty()).then_some(mails))
    })
    .await
    .unwrap();
    assert_eq!(raw.len(), 1, "one email: the reminder");
    let text = email_text(&raw[0]);
    assert!(
        starts_with_one_of(&text, TextKind::EmailReminder, &s.config),
        "{text}"
    );
    // Recorded just after the provider took it.
    let sv = eventually("the reminder is recorded", WAIT, || async {
        Ok(survey_of(&s, order)
            .await
            .filter(|sv| sv.reminder.is_some()))
    })
    .await
    .unwrap();
    assert_eq!(sv.reminder.map(|r| r.channel), Some(Channel::Email));
    assert_eq!(
        sv.channel,
        Some(Channel::Sms),
        "the question stays where it was"
    );
    assert_eq!(sv.asked, vec![Channel::Sms, Channel::Email]);
    assert_eq!(sms_to(&s, phone).await.len(), 1, "one SMS: the question");

    // The customer taps "4" in the reminder: it is their answer, once.
    let links = rating_links(&raw[0]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = s.click(&links[&4]).await;
    assert_eq!(status, 200, "{body}");
    let rating = eventually("the rating reaches the order", WAIT, || async {
        let v = s.driver.order("main-shop", order).await?["customFields"]["otklik_rating"].clone();
        Ok((!v.is_null()).then_some(v))
    })
    .await
    .unwrap();
    assert_eq!(rating, json!(4));
    let sv = eventually("the answer is on the survey", WAIT, || async {
        Ok(survey_of(&s, order).await.filter(|sv| sv.rating.is_some()))
    })
    .await
    .unwrap();
    assert!(sv.answered_after_reminder());
    // The KPI counts the survey as asked on both channels and answered by email.
    let kpi = otklik_app::report::gather(
        &s.store,
        &s.config.complaints,
        chrono::Utc::now() - chrono::Duration::days(1),
        chrono::Utc::now() + chrono::Duration::days(1),
        &Default::default(),
    )
    .await
    .unwrap();
    let rate = |c: &str| {
        let r = &kpi.response_rate_by_channel[c];
        (r.asked, r.answered)
    };
    assert_eq!(rate("sms"), (1, 0));
    assert_eq!(rate("email"), (1, 1));

    // A few more scheduler rounds: no second reminder on any channel.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(emails_to(&local_endpoint(), email).await.unwrap().len(), 1);
    assert_eq!(sms_to(&s, phone).await.len(), 1);
}

#[tokio::test]
async fn a_silent_max_customer_is_reminded_by_sms_in_the_reminders_words() {
    let s = reminding_shop("remind-sms").await;
    let phone = "+79005550802";
    s.sim_put("/sim/max/numbers", json!({"withMax": [digits(phone)]}))
        .await;
    let order = s
        .complete_order(json!({"phone": phone, "customer": {"id": 981}}), &[11])
        .await;
    let sms = eventually("the reminder SMS arrives", WAIT, || async {
        let inbox = sms_to(&s, phone).await;
        Ok((!inbox.is_empty()).then_some(inbox))
    })
    .await
    .unwrap();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(
        starts_with_one_of(&sms[0], TextKind::SmsReminder, &s.config),
        "{}",
        sms[0]
    );
    // MAX carried the question only.
    let chat = s
        .sim_get(&format!("/sim/max/chat?phone={}", digits(phone)))
        .await;
    let ours: Vec<&Value> = chat["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["direction"] == "out")
        .collect();
    assert_eq!(ours.len(), 1, "{chat}");
    let sv = eventually("the reminder is recorded", WAIT, || async {
        Ok(survey_of(&s, order)
            .await
            .filter(|sv| sv.reminder.is_some()))
    })
    .await
    .unwrap();
    assert_eq!(sv.reminder.map(|r| r.channel), Some(Channel::Sms));
    assert_eq!(sv.asked, vec![Channel::Max, Channel::Sms]);
    assert!(sv.rating.is_none());

    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(sms_to(&s, phone).await.len(), 1, "never a second reminder");
}
