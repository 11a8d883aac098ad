//! Dispatch end to end: surveys in DynamoDB (local endpoint), orders in the retailCRM simulator,
//! WhatsApp through the WhatsApp simulator (Meta and Green-API), email through SES (local endpoint,
//! read back as sent), all over real HTTP.

use std::ops::Deref;

use base64::Engine;
use chrono::Utc;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::DISPATCH_QUEUE;
use otklik_core::machine::{Contact, Event, Input, InputId, Survey};
use otklik_core::model::{Channel, Email, OrderRef, Phone, SkipReason, SurveyState};
use otklik_core::ports::{DoNotContactList, SurveyStore};
use otklik_flow_tests::{local_endpoint, TestStack};
use otklik_survey_dispatch::{DispatchMessage, Dispatched, Dispatcher};
use serde_json::{json, Value};

/// A bare stack with the dispatcher, stepped by hand, and the queue it reads.
struct Stack {
    stack: TestStack,
    queue: SqsQueue,
    dispatcher: Dispatcher,
    /// Unique per run: SES on the local endpoint keeps every mail it ever accepted.
    tag: String,
}

// The test's own pieces (the dispatcher, its queue) sit beside everything the harness offers.
impl Deref for Stack {
    type Target = TestStack;
    fn deref(&self) -> &TestStack {
        &self.stack
    }
}

/// The example configuration's sender.
const FROM: &str = "anna.smirnova@example.ru";

async fn stack(test: &str, provider: &str) -> Stack {
    let stack = TestStack::bare(test, provider).await;
    // SES sends only from a verified identity (as on AWS).
    stack.set_up_shop().await;
    Stack {
        queue: stack.queue(&DISPATCH_QUEUE).await,
        dispatcher: Dispatcher::from_parts(&stack.parts()).await.unwrap(),
        tag: stack.names.stack.clone(),
        stack,
    }
}

impl Stack {
    /// Every intake signal on the stack's intake queue, taken off it.
    async fn intake_signals(&self) -> Vec<otklik_core::intake::IntakeSignal> {
        let intake = self.stack.queue(&otklik_aws::resources::INTAKE_QUEUE).await;
        otklik_flow_tests::drain_as(&intake)
            .await
            .into_iter()
            .map(|(_, signal)| signal)
            .collect()
    }

    /// A recipient address unique to this run.
    fn mailbox(&self, name: &str) -> String {
        format!("{name}+{}@example.ru", self.tag)
    }

    /// A completed order worked by managers 11 and 12, and its scheduled survey.
    async fn survey(&self, phone: Option<&str>, email: Option<&str>) -> Survey {
        let mut order = json!({
            "firstName": "Ольга", "customer": {"id": 900},
            "items": [{"offer": {"id": 10}, "quantity": 1, "initialPrice": 4990}],
        });
        if let Some(p) = phone {
            order["phone"] = json!(p);
        }
        if let Some(e) = email {
            order["email"] = json!(e);
        }
        let id = self.complete_order(order, &[11, 12]).await;
        let order_ref = OrderRef::new("main-shop", id).unwrap();
        let contact = Contact {
            phone: phone.and_then(|p| Phone::parse(p, "RU").ok()),
            email: email.and_then(|e| Email::parse(e).ok()),
        };
        let survey = Survey::new(order_ref, contact, Utc::now(), Utc::now());
        assert!(self.store.create(&survey).await.unwrap());
        self.store.get(&survey.id).await.unwrap().unwrap()
    }

    async fn set_status(&self, id: u64, status: &str) {
        self.driver
            .set_status("main-shop", id, status, 12)
            .await
            .unwrap();
    }

    async fn whatsapp_numbers(&self, with: &[&str]) {
        let r = self
            .driver
            .http
            .put(format!("{}/sim/numbers", self.driver.wa))
            .json(&json!({"withWhatsapp": with, "default": false}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    async fn whatsapp_sent(&self) -> Vec<Value> {
        self.driver.messages_all().await.unwrap()
    }

    /// Raw emails SES accepted, read back from the local endpoint, to this recipient.
    async fn emails_to(&self, to: &str) -> Vec<String> {
        // The endpoint dumps every model; while other tests write, a dump can fail midway, so
        // it is read again rather than trusted once.
        let mut data = Value::Null;
        for _ in 0..10 {
            let resp = self
                .driver
                .http
                .get(format!("{}/moto-api/data.json", local_endpoint()))
                .send()
                .await
                .unwrap();
            if let Ok(v) = resp.json::<Value>().await {
                data = v;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(
            !data.is_null(),
            "the local endpoint never returned its data"
        );
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["destinations"].to_string().contains(to))
            .map(|m| m["raw_data"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn dispatch(&self, survey: &Survey) -> Dispatched {
        self.dispatcher
            .handle(&DispatchMessage::question(&survey.id), Utc::now())
            .await
            .unwrap()
    }
}

fn body_of(mime: &str) -> String {
    let (_, body) = mime.split_once("\r\n\r\n").expect("headers and body");
    let joined: String = body.lines().map(str::trim).collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(joined)
            .expect("base64 body"),
    )
    .unwrap()
}

#[tokio::test]
async fn a_number_with_whatsapp_gets_exactly_one_message_whatever_the_redeliveries() {
    let s = stack("wa-once", "green-api").await;
    s.whatsapp_numbers(&["79001230001"]).await;
    let survey = s
        .survey(Some("+7 900 123-00-01"), Some(&s.mailbox("olga")))
        .await;

    // The same dispatch message three times, two of them at the same moment.
    let (a, b) = tokio::join!(s.dispatch(&survey), s.dispatch(&survey));
    let c = s.dispatch(&survey).await;
    let sent: Vec<&Dispatched> = [&a, &b, &c]
        .into_iter()
        .filter(|d| matches!(d, Dispatched::Sent { .. }))
        .collect();
    assert_eq!(sent.len(), 1, "{a:?} {b:?} {c:?}");

    let messages = s.whatsapp_sent().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0]["text"].as_str().unwrap_or_default().to_string();
    assert!(!text.is_empty(), "{messages:?}");
    assert_eq!(messages[0]["to"], "79001230001");
    // No order number, no sum, no name.
    let order_id = survey.order.id().to_string();
    for banned in [order_id.as_str(), "4990", "4 990", "Ольга", "руб", "₽"] {
        assert!(!text.contains(banned), "{banned:?} in {text:?}");
    }
    assert!(
        s.emails_to(&s.mailbox("olga")).await.is_empty(),
        "no email when WhatsApp worked"
    );

    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(stored.state, SurveyState::Sent);
    assert_eq!(stored.channel, Some(Channel::Whatsapp));
    let employees: Vec<u64> = stored.employees.iter().map(|e| e.get()).collect();
    assert_eq!(
        employees,
        vec![11, 12],
        "both managers who worked the order"
    );
}

/// A stack with one WhatsApp customer's scheduled survey, whose send another delivery of the
/// same question claimed at `at`. `nn`: the phone's last two digits.
async fn claimed(test: &str, nn: &str, at: chrono::DateTime<Utc>) -> (Stack, Survey) {
    claimed_as(test, nn, at, false).await
}

/// As [`claimed`]; `with_email`: the customer can also be mailed (the next channel).
async fn claimed_as(
    test: &str,
    nn: &str,
    at: chrono::DateTime<Utc>,
    with_email: bool,
) -> (Stack, Survey) {
    let s = stack(test, "green-api").await;
    s.whatsapp_numbers(&[format!("790012300{nn}").as_str()])
        .await;
    let email = with_email.then(|| s.mailbox(test));
    let survey = s
        .survey(Some(&format!("+7 900 123-00-{nn}")), email.as_deref())
        .await;
    assert!(s
        .store
        .claim_send(&survey.id, "whatsapp", at)
        .await
        .unwrap());
    (s, survey)
}

#[tokio::test]
async fn a_send_claimed_by_a_delivery_long_gone_is_recorded_as_asked_and_never_sent_again() {
    // A dispatcher took the claim and died before its save, two minutes ago (a live one knows
    // its outcome within seconds): the survey still says Scheduled, and nobody will record it.
    let (s, survey) = claimed("claimed", "02", Utc::now() - chrono::Duration::minutes(2)).await;

    let again = s.dispatch(&survey).await;
    assert!(matches!(again, Dispatched::AlreadyClaimed), "{again:?}");
    assert!(
        s.whatsapp_sent().await.is_empty(),
        "never a second question"
    );
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        SurveyState::Sent,
        "replies must find it asked"
    );
    assert_eq!(stored.channel, Some(Channel::Whatsapp));
}

#[tokio::test]
async fn a_duplicate_finding_the_claim_taken_sends_once_its_holder_gives_it_back() {
    // Another delivery of the same question holds the claim, its send about to be refused.
    let (s, survey) = claimed("claim-back", "04", Utc::now()).await;
    let holder = {
        let store = s.store.clone();
        let id = survey.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            store.release_send(&id, "whatsapp").await.unwrap();
        })
    };

    let d = s.dispatch(&survey).await;
    holder.await.unwrap();
    assert!(
        matches!(
            d,
            Dispatched::Sent {
                channel: Channel::Whatsapp,
                ..
            }
        ),
        "the question is not lost with the refused send: {d:?}"
    );
    assert_eq!(s.whatsapp_sent().await.len(), 1, "asked exactly once");
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(stored.state, SurveyState::Sent);
    assert!(
        stored
            .provider_message_id
            .as_deref()
            .is_some_and(|id| !id.is_empty()),
        "{:?}",
        stored.provider_message_id
    );
}

#[tokio::test]
async fn a_send_its_holder_could_not_record_is_recorded_from_the_claim_with_its_id() {
    // The holder sent, failed to save the survey, and left the provider's id on the claim.
    let (s, survey) = claimed("claim-id", "05", Utc::now()).await;
    s.store
        .note_claim_sent(&survey.id, "whatsapp", "gr-claimed-1")
        .await
        .unwrap();

    let d = s.dispatch(&survey).await;
    assert!(matches!(d, Dispatched::AlreadyClaimed), "{d:?}");
    assert!(
        s.whatsapp_sent().await.is_empty(),
        "never a second question"
    );
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(stored.state, SurveyState::Sent);
    assert_eq!(stored.provider_message_id.as_deref(), Some("gr-claimed-1"));
    assert_eq!(
        s.store.survey_of_message("gr-claimed-1").await.unwrap(),
        Some(survey.id.clone()),
        "its statuses find the survey"
    );
}

/// A failure of `message_id` the provider reported before its send was recorded:
/// `inbound-worker` keeps it under the id.
async fn failure_reported_early(s: &Stack, message_id: &str) {
    let worker = otklik_inbound_worker::InboundWorker::from_parts(&s.parts())
        .await
        .unwrap();
    let status = otklik_messaging::inbound::Inbound::Status {
        message_id: message_id.into(),
        id: InputId::new(format!("{message_id}:failed")).unwrap(),
        status: otklik_messaging::inbound::DeliveryStatus::Failed,
        reason: Some("no account".into()),
        via: Channel::Whatsapp,
        recipient_user_id: None,
    };
    assert_eq!(
        worker.process_one(&status, Utc::now()).await.unwrap(),
        otklik_inbound_worker::Handled::KeptForSend
    );
}

/// The customer gets the next channel: the fallback left the survey's outbox for the dispatch
/// queue, and taking it from there mails the question to `email`.
async fn mailed_after_the_failure(s: &Stack, survey: &Survey, email: &str) {
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert!(stored.fallback_pending(Channel::Email), "{stored:?}");
    assert!(stored.pending.is_empty(), "left in the outbox: {stored:?}");
    let requests: Vec<DispatchMessage> = otklik_flow_tests::drain_as(&s.queue)
        .await
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].channel, Some(Channel::Email));
    let sent = s.dispatcher.handle(&requests[0], Utc::now()).await.unwrap();
    assert!(matches!(sent, Dispatched::Sent { .. }), "{sent:?}");
    assert_eq!(s.emails_to(email).await.len(), 1);
}

#[tokio::test]
async fn a_failure_reported_before_the_claimed_send_was_recorded_falls_back_when_it_is() {
    // The holder sent and crashed before its record; the provider's "failed" came meanwhile and
    // named a message no survey knew. The redelivery records the send from the claim, and with it
    // the failure: the customer is asked on the next channel.
    let (s, survey) = claimed_as("early-failure-claim", "07", Utc::now(), true).await;
    s.store
        .note_claim_sent(&survey.id, "whatsapp", "gr-early-1")
        .await
        .unwrap();
    failure_reported_early(&s, "gr-early-1").await;

    let d = s.dispatch(&survey).await;
    assert!(matches!(d, Dispatched::AlreadyClaimed), "{d:?}");
    assert!(
        s.whatsapp_sent().await.is_empty(),
        "never a second question"
    );
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(stored.asked, vec![Channel::Whatsapp], "{stored:?}");
    assert_eq!(stored.provider_message_id.as_deref(), Some("gr-early-1"));
    mailed_after_the_failure(&s, &survey, &s.mailbox("early-failure-claim")).await;
}

#[tokio::test]
async fn a_failure_its_sender_was_handed_but_did_not_apply_is_applied_by_the_redelivery() {
    // The sender recorded the id (and was handed the kept failure with it) and "sent", then died
    // before applying the failure. The redelivery finds the question sent, and applies it.
    let (s, survey) = claimed_as("early-failure-sent", "08", Utc::now(), true).await;
    failure_reported_early(&s, "gr-early-2").await;
    let handed = s
        .store
        .remember_message("gr-early-2", &survey.id, Utc::now())
        .await
        .unwrap();
    assert!(handed.is_some());
    let mut sent = survey.clone();
    sent.state = SurveyState::Sent;
    sent.channel = Some(Channel::Whatsapp);
    sent.provider_message_id = Some("gr-early-2".into());
    sent.sent_at = Some(Utc::now());
    sent.asked = vec![Channel::Whatsapp];
    s.store.save(&sent).await.unwrap();

    let d = s.dispatch(&survey).await;
    assert!(matches!(d, Dispatched::NothingToDo(_)), "{d:?}");
    assert!(
        s.whatsapp_sent().await.is_empty(),
        "never a second question"
    );
    mailed_after_the_failure(&s, &survey, &s.mailbox("early-failure-sent")).await;
}

#[tokio::test]
async fn a_claim_whose_holder_is_still_at_work_leaves_the_question_to_the_queue() {
    let (s, survey) = claimed("claim-busy", "06", Utc::now()).await;

    let r = s
        .dispatcher
        .handle(&DispatchMessage::question(&survey.id), Utc::now())
        .await;
    assert!(
        matches!(r, Err(ref e) if e.to_string().contains("outcome is awaited")),
        "{r:?}"
    );
    assert!(s.whatsapp_sent().await.is_empty());
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        SurveyState::Scheduled,
        "not taken for sent while its sender may yet fail"
    );
}

#[tokio::test]
async fn a_reminder_schedule_that_fails_gives_the_claim_back_and_the_question_goes_out_later() {
    let s = stack("claim-schedule", "green-api").await;
    s.whatsapp_numbers(&["79001230007"]).await;
    let survey = s.survey(Some("+7 900 123-00-07"), None).await;
    // The scheduler is unreachable: every CreateSchedule fails before it reaches AWS.
    let faults = otklik_local_runner::awsproxy::AwsFaults::new(
        vec![otklik_local_runner::awsproxy::FaultRule {
            action: "scheduler CreateSchedule",
            body_contains: None,
            drop: 1.0,
            lose_answer: 0.0,
        }],
        7,
    );
    faults.enable(true);
    let (proxy, _) = otklik_local_runner::awsproxy::proxy(local_endpoint(), Some(faults))
        .await
        .unwrap();
    let broken = otklik_aws::Clients::with_endpoint(&proxy).await;
    let mut reminding = Dispatcher::from_parts(&s.parts()).await.unwrap();
    let mut config = reminding.config.as_ref().clone();
    config.survey.reminder_after = Some(std::time::Duration::from_secs(24 * 3600));
    reminding.config = std::sync::Arc::new(config);
    reminding.scheduler = Some(otklik_aws::scheduler::SurveyScheduler::new(
        broken.scheduler,
        &s.names,
        "arn:aws:sqs:eu-central-1:123456789012:dispatch",
        "arn:aws:iam::123456789012:role/scheduler",
    ));

    let first = reminding
        .handle(&DispatchMessage::question(&survey.id), Utc::now())
        .await;
    assert!(first.is_err(), "{first:?}");
    assert!(s.whatsapp_sent().await.is_empty());
    assert_eq!(
        s.store.send_claim(&survey.id, "whatsapp").await.unwrap(),
        None,
        "nothing was sent, so the claim is given back"
    );

    // The redelivery asks the customer (here without a reminder to schedule).
    let d = s.dispatch(&survey).await;
    assert!(matches!(d, Dispatched::Sent { .. }), "{d:?}");
    assert_eq!(s.whatsapp_sent().await.len(), 1);
}

#[tokio::test]
async fn without_whatsapp_the_customer_gets_one_plain_email_with_five_links() {
    let s = stack("email", "green-api").await;
    s.whatsapp_numbers(&[]).await;
    let survey = s
        .survey(Some("+7 900 123-00-02"), Some(&s.mailbox("petr")))
        .await;
    let d = s.dispatch(&survey).await;
    assert!(
        matches!(
            d,
            Dispatched::Sent {
                channel: Channel::Email,
                ..
            }
        ),
        "{d:?}"
    );
    assert!(matches!(
        s.dispatch(&survey).await,
        Dispatched::NothingToDo(_)
    ));
    assert!(s.whatsapp_sent().await.is_empty());

    let mails = s.emails_to(&s.mailbox("petr")).await;
    assert_eq!(mails.len(), 1);
    let mime = &mails[0];
    let headers = mime.split("\r\n\r\n").next().unwrap();
    assert!(headers.contains("From: =?UTF-8?B?"), "{headers}");
    assert!(headers.contains(FROM), "{headers}");
    assert!(headers.contains("Content-Type: text/plain"), "{headers}");
    assert!(headers.contains("List-Unsubscribe: <"), "{headers}");
    assert!(
        headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{headers}"
    );
    let body = body_of(mime);
    assert!(!body.contains('<'), "plain text only: {body}");
    // Signed as the From line reads, the shop named, and no fake "sent from my phone".
    let lf = body.replace("\r\n", "\n");
    assert!(
        lf.trim_end().ends_with("Анна Смирнова\nмагазин «Пример»"),
        "{body}"
    );
    assert!(!body.contains("Отправлено"), "{body}");
    // The opening says who writes and from which shop.
    let opening = lf.split("\n\n").next().unwrap();
    assert!(
        opening.contains("Анна") && opening.contains("«Пример»"),
        "{opening}"
    );
    let links: Vec<&str> = body
        .split_whitespace()
        .filter(|w| w.contains("/r/"))
        .collect();
    assert_eq!(links.len(), 5, "{body}");
    let mut distinct = links.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://feedback.example.ru/r/")),
        "{links:?}"
    );
}

#[tokio::test]
async fn no_usable_contact_means_nothing_is_sent() {
    let s = stack("nocontact", "green-api").await;
    s.whatsapp_numbers(&[]).await;
    // A landline and no email: WhatsApp is pointless, and there is nowhere to write.
    let survey = s.survey(Some("+7 495 123-45-67"), None).await;
    let d = s.dispatch(&survey).await;
    assert_eq!(d, Dispatched::Skipped(SkipReason::NoContact));
    assert!(s.whatsapp_sent().await.is_empty());
    assert_eq!(
        s.store.get(&survey.id).await.unwrap().unwrap().state,
        SurveyState::Skipped {
            reason: SkipReason::NoContact
        }
    );
}

#[tokio::test]
async fn an_order_cancelled_after_scheduling_is_skipped() {
    let s = stack("cancel", "meta").await;
    let survey = s
        .survey(Some("+7 900 123-00-03"), Some(&s.mailbox("ivan")))
        .await;
    s.set_status(survey.order.id(), "cancel-other").await;
    let d = s.dispatch(&survey).await;
    assert_eq!(d, Dispatched::Skipped(SkipReason::OrderCancelled));
    assert!(s.whatsapp_sent().await.is_empty());
    assert!(s.emails_to(&s.mailbox("ivan")).await.is_empty());
}

#[tokio::test]
async fn a_meta_131026_failure_delivered_twice_makes_one_email() {
    let s = stack("fallback", "meta").await;
    s.whatsapp_numbers(&[]).await;
    let survey = s
        .survey(Some("+7 900 123-00-04"), Some(&s.mailbox("maria")))
        .await;
    // Meta cannot tell beforehand: the template goes out and is accepted.
    let Dispatched::Sent {
        channel: Channel::Whatsapp,
        message_id,
    } = s.dispatch(&survey).await
    else {
        panic!("expected a WhatsApp send")
    };
    let messages = s.whatsapp_sent().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "template", "{messages:?}");

    // The failed status arrives twice (Meta retries webhooks).
    let status_id = format!("{message_id}:failed");
    let engine = s.parts().engine().await.unwrap();
    let id = s
        .store
        .survey_of_message(&message_id)
        .await
        .unwrap()
        .unwrap();
    let failed = Input {
        id: InputId::new(status_id).unwrap(),
        event: Event::DeliveryFailed {
            channel: Channel::Whatsapp,
            reason: "131026".into(),
        },
    };
    for _ in 0..2 {
        engine
            .apply(&id, &failed, Utc::now())
            .await
            .unwrap()
            .unwrap();
    }
    // Every fallback request on the dispatch queue, delivered twice for good measure.
    let requests = s.queue.receive(10, 1).await.unwrap();
    assert_eq!(requests.len(), 1, "one fallback request");
    for m in &requests {
        let msg: DispatchMessage = serde_json::from_str(m.body().unwrap()).unwrap();
        assert_eq!(msg.channel, Some(Channel::Email));
        for _ in 0..2 {
            s.dispatcher.handle(&msg, Utc::now()).await.unwrap();
        }
        s.queue.delete(m.receipt_handle().unwrap()).await.unwrap();
    }
    assert_eq!(s.emails_to(&s.mailbox("maria")).await.len(), 1);
    let stored = s.store.get(&survey.id).await.unwrap().unwrap();
    assert_eq!(stored.channel, Some(Channel::Email));
    assert_eq!(stored.state, SurveyState::Sent);
}

/// An SQS event of first-question messages, as the event source mapping hands a batch over.
fn questions_event(surveys: &[&Survey]) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for (i, survey) in surveys.iter().enumerate() {
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = Some(format!("m{i}"));
        record.body = Some(serde_json::to_string(&DispatchMessage::question(&survey.id)).unwrap());
        event.records.push(record);
    }
    event
}

#[tokio::test]
async fn a_batch_reads_its_orders_in_one_list_call_skips_the_cancelled_and_reads_a_missing_one_alone(
) {
    let s = stack("batch", "meta").await;
    let phones: Vec<String> = (0..12)
        .map(|i| format!("+7 900 555-{:02}-{:02}", i, i))
        .collect();
    let digits: Vec<String> = phones
        .iter()
        .map(|p| p.chars().filter(char::is_ascii_digit).collect())
        .collect();
    s.whatsapp_numbers(&digits.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let mut surveys = Vec::new();
    for p in &phones {
        surveys.push(s.survey(Some(p), None).await);
    }
    // One order cancelled after its survey was scheduled.
    let cancelled = s.survey(Some("+7 900 555-99-01"), None).await;
    s.set_status(cancelled.order.id(), "cancel-other").await;
    // One survey whose order retailCRM no longer has: the list does not answer it.
    let gone = Survey::new(
        OrderRef::new("main-shop", 9_999_999).unwrap(),
        Contact {
            phone: Phone::parse("+7 900 555-99-02", "RU").ok(),
            email: None,
        },
        Utc::now(),
        Utc::now(),
    );
    assert!(s.store.create(&gone).await.unwrap());

    let mut batch: Vec<&Survey> = surveys.iter().collect();
    batch.push(&cancelled);
    batch.push(&gone);
    let stats = || s.crm("stats");
    let before = stats().await;
    let response = s
        .dispatcher
        .handle_batch(questions_event(&batch), Utc::now())
        .await;
    let after = stats().await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let more = |route: &str| {
        after["byRoute"][route].as_u64().unwrap_or(0)
            - before["byRoute"][route].as_u64().unwrap_or(0)
    };
    assert_eq!(more("GET /api/v5/orders"), 1, "one list read: {after}");
    assert_eq!(
        more("GET /api/v5/orders/{id}"),
        1,
        "only the order missing from the list is read on its own: {after}"
    );

    assert_eq!(s.whatsapp_sent().await.len(), 12, "one question each");
    for survey in &surveys {
        let now = s.store.get(&survey.id).await.unwrap().unwrap();
        assert!(
            now.state == SurveyState::Sent,
            "{}: {:?}",
            survey.id,
            now.state
        );
    }
    for survey in [&cancelled, &gone] {
        let now = s.store.get(&survey.id).await.unwrap().unwrap();
        assert_eq!(
            now.state,
            SurveyState::Skipped {
                reason: SkipReason::OrderCancelled
            },
            "{}",
            survey.id
        );
    }
}

/// The history stream, read once (issue 19): a bare stack whose poller and waiting dispatcher the
/// test steps by hand.
mod history_stream {
    use super::*;
    use otklik_core::dispatch::employees_of;
    use otklik_retailcrm::{HistoryEntry, HistoryQuery};

    /// Per-order history reads at the simulator (the poller's stream reads share the route, so
    /// the count is taken around dispatch only).
    async fn history_reads(s: &Stack) -> u64 {
        s.crm("stats").await["byRoute"]["GET /api/v5/orders/history"]
            .as_u64()
            .unwrap_or(0)
    }

    /// The employees a per-order history read gives (what dispatch did before the fold).
    async fn employees_by_own_history(s: &Stack, order: u64) -> Vec<u64> {
        let crm = &s.dispatcher.crm;
        let page = crm
            .history(&HistoryQuery {
                order_id: Some(order),
                ..Default::default()
            })
            .await
            .unwrap();
        let changes: Vec<_> = page.entries.iter().map(HistoryEntry::change).collect();
        let manager = crm.get_order("main-shop", order).await.unwrap().manager_id;
        employees_of(manager, &changes)
            .iter()
            .map(|e| e.get())
            .collect()
    }

    /// A completed order worked by 11, 12 and 13 (13 manages it now) and its scheduled survey.
    async fn worked_by_three(s: &Stack, phone: &str) -> Survey {
        let order = json!({
            "firstName": "Ольга", "customer": {"id": 900}, "phone": phone,
            "items": [{"offer": {"id": 10}, "quantity": 1, "initialPrice": 4990}],
        });
        let id = s.complete_order(order, &[11, 12, 13]).await;
        let contact = Contact {
            phone: Phone::parse(phone, "RU").ok(),
            email: None,
        };
        let survey = Survey::new(
            OrderRef::new("main-shop", id).unwrap(),
            contact,
            Utc::now(),
            Utc::now(),
        );
        assert!(s.store.create(&survey).await.unwrap());
        survey
    }

    /// A pass covers only changes made [`COVERAGE_SLACK`] before it starts.
    async fn past_the_slack() {
        let slack = otklik_core::history::COVERAGE_SLACK.num_milliseconds() as u64;
        tokio::time::sleep(std::time::Duration::from_millis(slack + 1200)).await;
    }

    async fn poll(s: &Stack) {
        let poller = otklik_history_poller::Poller::from_parts(&s.parts())
            .await
            .unwrap();
        let report = poller.poll(Utc::now()).await.unwrap();
        assert!(report.covered_until.is_some(), "{report:?}");
    }

    fn employees(survey: &Survey) -> Vec<u64> {
        survey.employees.iter().map(|e| e.get()).collect()
    }

    #[tokio::test]
    async fn after_a_poll_dispatch_reads_no_order_history_and_credits_the_same_people() {
        let s = stack("hist-fold", "green-api").await;
        s.whatsapp_numbers(&["79001230011"]).await;
        let dispatcher = Dispatcher::from_parts(&s.parts()).await.unwrap();
        let survey = worked_by_three(&s, "+7 900 123-00-11").await;
        past_the_slack().await;
        poll(&s).await;

        let before = history_reads(&s).await;
        let d = dispatcher
            .handle(&DispatchMessage::question(&survey.id), Utc::now())
            .await
            .unwrap();
        assert!(matches!(d, Dispatched::Sent { .. }), "{d:?}");
        assert_eq!(
            history_reads(&s).await,
            before,
            "dispatch read the order's history although the stream covers it"
        );
        let stored = s.store.get(&survey.id).await.unwrap().unwrap();
        assert_eq!(employees(&stored), vec![11, 12, 13]);
        assert_eq!(
            employees(&stored),
            employees_by_own_history(&s, survey.order.id()).await
        );
    }

    /// retailCRM calls on one route so far, at the simulator.
    async fn route_calls(s: &Stack, route: &str) -> u64 {
        s.crm("stats").await["byRoute"][route].as_u64().unwrap_or(0)
    }

    #[tokio::test]
    async fn a_batch_of_orders_completed_since_the_last_pass_runs_the_pass_for_everyone() {
        let s = stack("hist-tail", "green-api").await;
        // The stream has been read once, before these orders were completed.
        worked_by_three(&s, "+7 900 123-00-20").await;
        poll(&s).await;
        let phones: Vec<String> = (21..27).map(|i| format!("+7 900 123-00-{i}")).collect();
        let digits: Vec<String> = phones
            .iter()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect())
            .collect();
        s.whatsapp_numbers(&digits.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        let mut surveys = Vec::new();
        for p in &phones {
            surveys.push(worked_by_three(&s, p).await);
        }
        // Completed meanwhile too, but its trigger was lost: intake has no survey for it.
        let lost = s
            .complete_order(
                json!({"firstName": "Пётр", "phone": "+7 900 123-00-29"}),
                &[11],
            )
            .await;
        past_the_slack().await;

        let before = history_reads(&s).await;
        let response = s
            .dispatcher
            .handle_batch(
                questions_event(&surveys.iter().collect::<Vec<_>>()),
                Utc::now(),
            )
            .await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
        assert_eq!(
            history_reads(&s).await,
            before + 1,
            "one pass over the stream's new page, not one history read per order"
        );
        // Through dispatch's own client: one pacer for the whole process.
        assert_eq!(
            s.dispatcher.crm.calls_by_route().get("GET orders/history"),
            Some(&1)
        );
        assert_eq!(s.whatsapp_sent().await.len(), surveys.len());
        for survey in &surveys {
            let stored = s.store.get(&survey.id).await.unwrap().unwrap();
            assert_eq!(stored.state, SurveyState::Sent, "{}", survey.id);
            assert_eq!(employees(&stored), vec![11, 12, 13], "{}", survey.id);
            assert_eq!(
                employees(&stored),
                employees_by_own_history(&s, survey.order.id()).await
            );
        }
        // The pass was the poller's: the completion intake never heard of was signalled (the
        // safety net under lost triggers), the ones it has were not, and the scheduled pass
        // after it finds nothing left to read.
        let signalled: Vec<u64> = s
            .intake_signals()
            .await
            .iter()
            .map(|sig| sig.order_id)
            .collect();
        assert_eq!(signalled, vec![lost]);
        let poller = otklik_history_poller::Poller::from_parts(&s.parts())
            .await
            .unwrap();
        let before = history_reads(&s).await;
        let report = poller.poll(Utc::now()).await.unwrap();
        assert_eq!(report.entries, 0, "{report:?}");
        assert_eq!(
            history_reads(&s).await,
            before + 1,
            "the scheduled pass reads one empty page: each change of the stream was read once"
        );
    }

    #[tokio::test]
    async fn later_batches_read_only_the_pages_the_last_pass_left() {
        let s = stack("hist-kept", "green-api").await;
        worked_by_three(&s, "+7 900 124-00-00").await;
        past_the_slack().await;
        poll(&s).await;
        let cursor_at = s.crm("history").await.as_array().unwrap().len();
        let phones: Vec<String> = (1..=36).map(|i| format!("+7 900 124-00-{i:02}")).collect();
        let digits: Vec<String> = phones
            .iter()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect())
            .collect();
        s.whatsapp_numbers(&digits.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        let mut surveys = Vec::new();
        for p in &phones[..27] {
            surveys.push(worked_by_three(&s, p).await);
        }
        let since_cursor = s.crm("history").await.as_array().unwrap().len() - cursor_at;
        assert!(
            since_cursor > 100,
            "the stream past the cursor is more than a page ({since_cursor} changes)"
        );
        past_the_slack().await;
        let dispatch = |batch: &[Survey]| {
            let event = questions_event(&batch.iter().collect::<Vec<_>>());
            let d = &s.dispatcher;
            async move { d.handle_batch(event, Utc::now()).await }
        };
        let response = dispatch(&surveys).await;
        assert!(response.batch_item_failures.is_empty());

        // Orders completed since: the next batch's pass starts where the first batch's stopped —
        // one new page, not the whole stream past the old cursor again…
        for p in &phones[27..] {
            surveys.push(worked_by_three(&s, p).await);
        }
        past_the_slack().await;
        let before = history_reads(&s).await;
        let response = dispatch(&surveys[27..33]).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            history_reads(&s).await,
            before + 1,
            "the new page only, not the whole stream past the old cursor again"
        );
        // …and a batch whose orders that pass already covered reads nothing.
        let response = dispatch(&surveys[33..]).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            history_reads(&s).await,
            before + 1,
            "covered by the last pass"
        );

        assert_eq!(s.whatsapp_sent().await.len(), surveys.len());
        for survey in &surveys {
            let stored = s.store.get(&survey.id).await.unwrap().unwrap();
            assert_eq!(stored.state, SurveyState::Sent, "{}", survey.id);
            assert_eq!(
                employees(&stored),
                employees_by_own_history(&s, survey.order.id()).await,
                "{}",
                survey.id
            );
        }
    }

    /// …and, together too, the customers on the do-not-contact list and the people of the
    /// orders the coverage holds: two requests per question before.
    #[tokio::test]
    async fn a_batch_reads_its_surveys_and_the_streams_coverage_once_not_once_per_question() {
        let s = stack("hist-cov-once", "green-api").await;
        let phones: Vec<String> = (40..46).map(|i| format!("+7 900 123-00-{i}")).collect();
        let digits: Vec<String> = phones
            .iter()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect())
            .collect();
        s.whatsapp_numbers(&digits.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        let mut surveys = Vec::new();
        for p in &phones {
            surveys.push(worked_by_three(&s, p).await);
        }
        // One customer opted out after the survey was planned.
        let opted_out = worked_by_three(&s, "+7 900 123-00-49").await;
        s.store.add(&opted_out.contact).await.unwrap();
        past_the_slack().await;
        poll(&s).await;
        let requests = otklik_flow_tests::DynamoRequests::default();
        let mut parts = s.parts();
        requests.count(&mut parts.clients);
        let dispatcher = Dispatcher::from_parts(&parts).await.unwrap();

        let before = history_reads(&s).await;
        let mut batch: Vec<&Survey> = surveys.iter().collect();
        batch.push(&opted_out);
        let response = dispatcher
            .handle_batch(questions_event(&batch), Utc::now())
            .await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
        assert_eq!(
            requests.of("GetItem", "coverage#"),
            1,
            "six questions covered by the stream: the coverage is read once for the batch"
        );
        assert_eq!(
            (
                requests.of("BatchGetItem", "survey#"),
                requests.of("GetItem", "survey#")
            ),
            (1, 0),
            "the batch's seven surveys are read together"
        );
        assert_eq!(
            (
                requests.of("BatchGetItem", "dnc#"),
                requests.of("GetItem", "dnc#")
            ),
            (1, 0),
            "the seven customers checked against the do-not-contact list together"
        );
        assert_eq!(
            (
                requests.of("BatchGetItem", "worked#"),
                requests.of("GetItem", "worked#")
            ),
            (1, 0),
            "the people of the orders the stream covers read together"
        );
        assert_eq!(history_reads(&s).await, before, "covered: no history read");
        let skipped = s.store.get(&opted_out.id).await.unwrap().unwrap();
        assert_eq!(
            skipped.state,
            SurveyState::Skipped {
                reason: SkipReason::DoNotContact
            }
        );
        for survey in &surveys {
            let stored = s.store.get(&survey.id).await.unwrap().unwrap();
            assert_eq!(stored.state, SurveyState::Sent, "{}", survey.id);
            assert_eq!(employees(&stored), vec![11, 12, 13], "{}", survey.id);
        }
    }

    #[tokio::test]
    async fn the_poller_learns_the_names_of_the_people_it_folds_with_one_users_read() {
        let s = stack("hist-names", "green-api").await;
        worked_by_three(&s, "+7 900 123-00-30").await;
        let users = "GET /api/v5/users";
        let before = route_calls(&s, users).await;
        poll(&s).await;
        assert_eq!(route_calls(&s, users).await, before + 1);
        let names = s.store.employee_names([11, 12, 13]).await.unwrap();
        assert_eq!(names.get(&11).map(String::as_str), Some("Анна Смирнова"));
        assert_eq!(names.len(), 3, "{names:?}");
        // The same people again: their names are known, the next pass reads no users.
        worked_by_three(&s, "+7 900 123-00-31").await;
        poll(&s).await;
        assert_eq!(route_calls(&s, users).await, before + 1);
    }

    #[tokio::test]
    async fn before_the_stream_covers_the_order_dispatch_reads_its_history_at_once() {
        let s = stack("hist-read", "green-api").await;
        s.whatsapp_numbers(&["79001230013"]).await;
        let dispatcher = Dispatcher::from_parts(&s.parts()).await.unwrap();
        let survey = worked_by_three(&s, "+7 900 123-00-13").await;
        // Due at once, before any pass over the stream: no waiting, one per-order read.
        let before = history_reads(&s).await;
        let d = dispatcher
            .handle(&DispatchMessage::question(&survey.id), Utc::now())
            .await
            .unwrap();
        assert!(matches!(d, Dispatched::Sent { .. }), "{d:?}");
        assert_eq!(history_reads(&s).await, before + 1, "one per-order read");
        assert!(
            s.queue.receive(10, 1).await.unwrap().is_empty(),
            "nothing put back"
        );
        assert_eq!(s.whatsapp_sent().await.len(), 1);
        let stored = s.store.get(&survey.id).await.unwrap().unwrap();
        assert_eq!(employees(&stored), vec![11, 12, 13]);
        // A redelivery sends nothing more and reads nothing more.
        let again = dispatcher
            .handle(&DispatchMessage::question(&survey.id), Utc::now())
            .await
            .unwrap();
        assert!(matches!(again, Dispatched::NothingToDo(_)), "{again:?}");
        assert_eq!(s.whatsapp_sent().await.len(), 1);
    }
}
