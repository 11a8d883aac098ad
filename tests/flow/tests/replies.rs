//! WhatsApp replies end to end: the WhatsApp simulator posts signed webhooks over real HTTP to the
//! gateway, which runs the real `provider-webhooks` handler on the local AWS endpoint and then
//! `inbound-worker` on what it queued; the CRM writer then writes to the retailCRM simulator.

use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{Duration, Utc};
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{COMPLAINTS_QUEUE, CRM_WRITES_QUEUE, INBOUND_QUEUE, REPLIES_QUEUE};
use otklik_complaint_create::ComplaintCreator;
use otklik_core::delivery::EffectMessage;
use otklik_core::machine::{Command, Contact, MessageKind, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Outcome, Phone, SurveyState};
use otklik_core::ports::{Queue, SurveyStore};
use otklik_crm_writer::CrmWriter;
use otklik_flow_tests::{digits, TestStack};
use otklik_inbound_worker::InboundWorker;
use otklik_local_runner::gateway::{handler, Route};
use otklik_local_runner::sqs::{batch_handler, Consumer};
use otklik_local_runner::stack;
use otklik_provider_webhooks::ProviderWebhooks;
use otklik_reply_sender::ReplySender;
use serde_json::{json, Value};

/// A bare stack with the WhatsApp webhooks served, and the queues a reply's effects go to:
/// crm-writes, complaints, replies (in that order). The tests run the CRM writer, the complaint
/// creator and the reply sender over them by hand, delivering messages again at will.
struct Stack {
    stack: TestStack,
    queues: [SqsQueue; 3],
}

// The test's own pieces (the queues, the functions it steps) sit beside everything the harness
// offers.
impl Deref for Stack {
    type Target = TestStack;
    fn deref(&self) -> &TestStack {
        &self.stack
    }
}

async fn stack(test: &str) -> Stack {
    let mut stack = TestStack::bare(test, "meta").await;
    // The shop's fields, as `otklik crm setup` creates them.
    stack.set_up_shop().await;
    let parts = stack.parts();
    let inbound = Arc::new(ProviderWebhooks::from_parts(&parts).await.unwrap());
    // inbound-worker behind its event source mapping, drained before the webhook's answer goes
    // back, so each test sees a reply's effects as soon as the simulator hears 200.
    let worker = Arc::new(InboundWorker::from_parts(&parts).await.unwrap());
    let consumer = Consumer {
        name: "inbound-worker",
        queue: stack.queue(&INBOUND_QUEUE).await,
        batch_size: 10,
        batching_window: std::time::Duration::ZERO,
        handler: batch_handler(move |e| {
            let w = worker.clone();
            async move { w.handle_batch(e, Utc::now()).await }
        }),
        retry_after: 0,
        stats: Default::default(),
        redeliver_percent: 0,
        concurrency: 1,
    };
    // The landing, for the inspector's one-click page behind the task's link.
    let landing = Arc::new(
        otklik_email_landing::Landing::from_parts(&parts)
            .await
            .unwrap(),
    );
    stack
        .serve(vec![
            Route::new(
                "/webhooks/whatsapp/",
                handler(move |req| {
                    let (inbound, consumer) = (inbound.clone(), consumer.clone());
                    async move {
                        let answer = inbound.handle(req).await;
                        while consumer.poll_once(0, "inbound").await.unwrap() > 0 {}
                        let failed = consumer.stats.failed.load(Ordering::Relaxed);
                        assert_eq!(failed, 0, "inbound-worker failed {failed} items");
                        answer
                    }
                }),
            ),
            Route::new(
                "/r/",
                handler(move |req| {
                    let landing = landing.clone();
                    async move { landing.handle(req, Utc::now()).await }
                }),
            ),
        ])
        .await;
    let queues = [
        stack.queue(&CRM_WRITES_QUEUE).await,
        stack.queue(&COMPLAINTS_QUEUE).await,
        stack.queue(&REPLIES_QUEUE).await,
    ];
    Stack { stack, queues }
}

impl Stack {
    /// A crash after an effect was carried out and before it was marked done: the marker is gone,
    /// so the next delivery runs the effect's code again.
    async fn forget_done(&self, key: &str) {
        use aws_sdk_dynamodb::types::AttributeValue;
        // The marker's key as the store writes it: the input part of the key hashed.
        let key = otklik_local_runner::stack::secrets(&self.config)
            .unwrap()
            .contact_hasher()
            .unwrap()
            .effect_key(key);
        self.clients
            .dynamodb
            .delete_item()
            .table_name(self.names.table(&otklik_aws::resources::MAIN_TABLE))
            .key("pk", AttributeValue::S(format!("effect#{key}")))
            .key("sk", AttributeValue::S("done".into()))
            .send()
            .await
            .unwrap();
    }

    /// An order in the simulator and its survey, asked on WhatsApp an hour ago.
    async fn asked(&self, phone: &str) -> Survey {
        let id = self
            .driver
            .new_order(
                "main-shop",
                11,
                json!({"status": "complete", "phone": phone, "customer": {"id": 900}}),
            )
            .await
            .unwrap();
        let order = OrderRef::new("main-shop", id).unwrap();
        let at = Utc::now() - Duration::hours(1);
        let mut s = Survey::new(
            order,
            Contact {
                phone: Some(Phone::parse(phone, "RU").unwrap()),
                email: None,
            },
            at - Duration::days(2),
            at,
        );
        s.state = SurveyState::Sent;
        s.channel = Some(Channel::Whatsapp);
        s.sent_at = Some(at);
        let message_id = format!("wamid.question-{id}");
        s.provider_message_id = Some(message_id.clone());
        s.employees = vec![EmployeeId::new(11).unwrap(), EmployeeId::new(12).unwrap()];
        assert!(self.store.create(&s).await.unwrap());
        self.store
            .remember_message(&message_id, &s.id, at)
            .await
            .unwrap();
        self.store.get(&s.id).await.unwrap().unwrap()
    }

    /// Everything waiting on a queue (taken off it).
    async fn drain(&self, i: usize) -> Vec<(String, EffectMessage)> {
        otklik_flow_tests::drain(&self.queues[i]).await
    }

    async fn commands(&self, i: usize) -> Vec<Command> {
        otklik_flow_tests::commands(&self.queues[i]).await
    }

    /// Everything on queue `i` as one Lambda SQS event, each message delivered `times` (as SQS
    /// may redeliver).
    async fn event_of(&self, i: usize, times: usize) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (id, m) in self.drain(i).await {
            for _ in 0..times {
                let mut msg = SqsMessage::default();
                msg.message_id = Some(id.clone());
                msg.body = Some(serde_json::to_string(&m).unwrap());
                event.records.push(msg);
            }
        }
        event
    }

    /// Runs complaint-create over what is on the complaints queue, each message delivered `times`.
    async fn run_complaints(&self, times: usize) {
        let creator = ComplaintCreator::from_parts(&self.parts()).await.unwrap();
        let event = self.event_of(1, times).await;
        let r = creator.handle_batch(event, Utc::now()).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }

    /// Runs reply-sender over what is on the replies queue, each message delivered `times`.
    async fn run_replies(&self, times: usize) {
        let sender = ReplySender::from_parts(&self.parts()).await.unwrap();
        let event = self.event_of(2, times).await;
        let r = sender.handle_batch(event, Utc::now()).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }

    /// What the WhatsApp simulator accepted for a number.
    async fn sent_to(&self, phone: &str) -> Vec<Value> {
        self.driver.messages_to(&digits(phone)).await.unwrap()
    }

    /// Runs the CRM writer over what is on the crm-writes queue, as Lambda's SQS poller would.
    async fn run_crm_writer(&self) {
        let writer = CrmWriter::from_parts(&self.parts()).await.unwrap();
        let event = self.event_of(0, 1).await;
        let r = writer.handle_batch(event, Utc::now()).await;
        assert!(r.batch_item_failures.is_empty(), "{r:?}");
    }
}

#[tokio::test]
async fn every_spelling_of_five_rates_five_and_reaches_the_order() {
    let s = stack("five").await;
    for (i, text) in ["5", "5️⃣", "⭐⭐⭐⭐⭐", "пять"].into_iter().enumerate() {
        let phone = format!("+7 900 500-00-0{i}");
        let survey = s.asked(&phone).await;
        s.say(&phone, text).await;
        let after = s.survey(&survey).await;
        assert_eq!(after.rating.map(|r| r.value()), Some(5), "{text:?}");
        assert_eq!(
            after.state,
            SurveyState::Closed {
                outcome: Outcome::Rated
            },
            "{text:?}"
        );
        assert!(after.pending.is_empty(), "outbox emptied");
    }
    // The thanks go to the customer's messenger; the rating, words and credits to the CRM writer.
    let outbox = s.commands(2).await;
    assert_eq!(outbox.len(), 4);
    assert!(outbox.iter().all(|c| matches!(
        c,
        Command::Message {
            kind: MessageKind::Thanks,
            channel: Channel::Whatsapp
        }
    )));
    s.run_crm_writer().await;
    let orders: Value = s.crm("orders?site=main-shop").await;
    let rated: Vec<&Value> = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["customFields"]["otklik_rating"] == json!(5))
        .collect();
    assert_eq!(rated.len(), 4, "{orders}");
}

/// A batch of three customers' ratings: the writer reads their done-markers and their surveys
/// together (two requests), not three or four requests per survey before its first write.
#[tokio::test]
async fn the_crm_writer_reads_a_batchs_markers_and_surveys_together() {
    let s = stack("writer-reads").await;
    let mut surveys = Vec::new();
    for i in 0..3 {
        let phone = format!("+7 900 500-20-0{i}");
        surveys.push(s.asked(&phone).await);
        s.say(&phone, "5").await;
    }
    let requests = otklik_flow_tests::DynamoRequests::default();
    let mut parts = s.parts();
    requests.count(&mut parts.clients);
    let writer = CrmWriter::from_parts(&parts).await.unwrap();
    let event = s.event_of(0, 1).await;
    assert_eq!(event.records.len(), 3);
    let r = writer.handle_batch(event, Utc::now()).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(
        (
            requests.of("BatchGetItem", "effect#"),
            requests.of("GetItem", "effect#"),
            requests.of("BatchGetItem", "survey#"),
            requests.of("GetItem", "survey#"),
        ),
        (1, 0, 1, 0),
        "three surveys' markers and surveys read together"
    );
    for survey in &surveys {
        let order = s
            .crm(&format!("orders/main-shop/{}", survey.order.id()))
            .await;
        assert_eq!(order["customFields"]["otklik_rating"], json!(5), "{order}");
    }
    // Delivered again, the batch finds every effect done and writes nothing.
    let edits = |stats: Value| {
        stats["byRoute"]["POST /api/v5/orders/{id}/edit"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = edits(s.crm("stats").await);
    let mut again = SqsEvent::default();
    for (i, survey) in surveys.iter().enumerate() {
        let m = EffectMessage {
            survey_id: survey.id.clone(),
            effect: otklik_core::machine::Effect {
                key: format!("{}/write-rating", survey.id),
                command: Command::WriteRating {
                    rating: otklik_core::model::Rating::new(5).unwrap(),
                },
            },
            also: vec![],
        };
        let mut msg = SqsMessage::default();
        msg.message_id = Some(format!("again-{i}"));
        msg.body = Some(serde_json::to_string(&m).unwrap());
        again.records.push(msg);
    }
    let r = writer.handle_batch(again, Utc::now()).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(edits(s.crm("stats").await), before);
}

#[tokio::test]
async fn one_reply_reaches_the_crm_writer_as_one_message_and_one_order_edit() {
    let s = stack("one-edit").await;
    let phone = "+7 900 500-10-01";
    s.asked(phone).await;
    s.say(phone, "5, всё отлично").await;
    // Rating, words and credits of one decision travel together, so however SQS batches the
    // queue the writer makes one edit of the order (the 5-star path's retailCRM budget).
    let messages = s.drain(0).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let commands: Vec<&Command> = messages[0].1.effects().map(|e| &e.command).collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::WriteRating { .. })));
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::SaveWords { .. })));
    assert!(commands
        .iter()
        .any(|c| matches!(c, Command::CreditEmployees { .. })));
    s.queues[0]
        .send(&serde_json::to_string(&messages[0].1).unwrap())
        .await
        .unwrap();
    let before = s.crm("stats").await;
    s.run_crm_writer().await;
    let after = s.crm("stats").await;
    let edits = |v: &Value| {
        v["byRoute"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with("/edit"))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(edits(&after) - edits(&before), 1, "{before} → {after}");
}

#[tokio::test]
async fn an_answer_that_overtakes_the_saved_send_still_counts_as_the_rating() {
    let s = stack("overtake").await;
    let phone = "+7 900 500-20-01";
    let asked = s.asked(phone).await;
    // The dispatcher claimed and sent, then died before saving: the survey still says Scheduled.
    let mut scheduled = asked.clone();
    scheduled.state = SurveyState::Scheduled;
    scheduled.channel = None;
    scheduled.sent_at = None;
    s.store.save(&scheduled).await.unwrap();
    s.store
        .claim_send(&asked.id, "whatsapp", Utc::now())
        .await
        .unwrap();

    s.say(phone, "4").await;
    let after = s.survey(&asked).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(4), "{after:?}");
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    let writes = s.commands(0).await;
    assert!(
        !writes
            .iter()
            .any(|c| matches!(c, Command::NotifyInspector { .. })),
        "not an unprompted message: {writes:?}"
    );
}

/// A survey whose WhatsApp question went out and whose message id is known (or not, with
/// `remembered` false), but whose "sent" save has not landed yet: the dispatcher's state between
/// the provider's answer and its own save. The customer can also be mailed, the next channel.
async fn overtaken(s: &Stack, phone: &str, message_id: &str, remembered: bool) -> Survey {
    let mut survey = s.asked(phone).await;
    survey.contact.email =
        Some(otklik_core::model::Email::parse("late.status@example.ru").unwrap());
    survey.state = SurveyState::Scheduled;
    survey.channel = None;
    survey.sent_at = None;
    survey.provider_message_id = None;
    survey.asked = Vec::new();
    s.store.save(&survey).await.unwrap();
    s.store
        .claim_send(&survey.id, "whatsapp", Utc::now())
        .await
        .unwrap();
    if remembered {
        s.store
            .remember_message(message_id, &survey.id, Utc::now())
            .await
            .unwrap();
    }
    s.store.get(&survey.id).await.unwrap().unwrap()
}

fn failed(message_id: &str) -> otklik_messaging::inbound::Inbound {
    otklik_messaging::inbound::Inbound::Status {
        message_id: message_id.into(),
        id: otklik_core::machine::InputId::new(format!("{message_id}:failed")).unwrap(),
        status: otklik_messaging::inbound::DeliveryStatus::Failed,
        reason: Some("131026".into()),
        via: Channel::Whatsapp,
        recipient_user_id: None,
    }
}

#[tokio::test]
async fn a_failure_that_overtakes_the_saved_send_still_falls_back() {
    // The provider reports the question failed before the dispatcher saved "sent" (GREEN-API can
    // within milliseconds). Applied to a survey that has not asked, the failure fell back from
    // nothing, and the customer waited on a dead channel; found by the four-channel fault run.
    let s = stack("failure-overtakes").await;
    let survey = overtaken(&s, "+7 900 500-20-03", "wamid.overtaken-1", true).await;
    let worker = InboundWorker::from_parts(&s.parts()).await.unwrap();
    worker
        .process_one(&failed("wamid.overtaken-1"), Utc::now())
        .await
        .unwrap();
    let after = s.survey(&survey).await;
    assert_eq!(after.asked, vec![Channel::Whatsapp], "{after:?}");
    assert!(after.fallback_pending(Channel::Email), "{after:?}");
}

#[tokio::test]
async fn a_failure_of_a_message_not_yet_recorded_is_kept_for_its_record() {
    // The status outran the record of the message id, and its sender may come back only after
    // the queue's visibility timeout (it crashed). It was handed back a few times and then
    // dropped, and the customer never got the next channel; found by the four-channel fault run.
    let s = stack("failure-before-record").await;
    let worker = InboundWorker::from_parts(&s.parts()).await.unwrap();
    let early = worker
        .process_one(&failed("wamid.overtaken-2"), Utc::now())
        .await
        .unwrap();
    assert_eq!(early, otklik_inbound_worker::Handled::KeptForSend);
    // Taken once: the provider's retry of the same status is a duplicate.
    let again = worker
        .process_one(&failed("wamid.overtaken-2"), Utc::now())
        .await
        .unwrap();
    assert_eq!(again, otklik_inbound_worker::Handled::Duplicate);
    // Whoever records the id is handed the failure, as the webhook told it; and again on a retry
    // of that record (its first answer lost), so it cannot slip through a crash.
    let survey = s.asked("+7 900 500-20-04").await;
    for _ in 0..2 {
        let kept = s
            .store
            .remember_message("wamid.overtaken-2", &survey.id, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            kept,
            Some(otklik_core::machine::Input {
                id: otklik_core::machine::InputId::new("wamid.overtaken-2:failed").unwrap(),
                event: otklik_core::machine::Event::DeliveryFailed {
                    channel: Channel::Whatsapp,
                    reason: "131026".into()
                },
            })
        );
    }
    assert_eq!(
        s.store
            .survey_of_message("wamid.overtaken-2")
            .await
            .unwrap(),
        Some(survey.id.clone())
    );
    // Nothing kept, nothing handed: a message recorded before any failure.
    assert_eq!(
        s.store
            .remember_message("wamid.on-time-1", &survey.id, Utc::now())
            .await
            .unwrap(),
        None
    );
    // A failure that finds the id recorded between its lookup and its keeping is not kept: the
    // caller is told whose it is, to apply it at once.
    let input = otklik_core::machine::Input {
        id: otklik_core::machine::InputId::new("wamid.on-time-1:failed").unwrap(),
        event: otklik_core::machine::Event::DeliveryFailed {
            channel: Channel::Whatsapp,
            reason: "131026".into(),
        },
    };
    assert_eq!(
        s.store
            .park_failure("wamid.on-time-1", &input, Utc::now())
            .await
            .unwrap(),
        Some(survey.id.clone())
    );
    assert_eq!(s.store.kept_failure("wamid.on-time-1").await.unwrap(), None);
}

#[tokio::test]
async fn a_max_answer_that_overtakes_the_saved_max_send_still_counts() {
    // As above, on MAX: the claim is MAX's, and the answer comes in a MAX chat. (The catch-up
    // once looked at the WhatsApp claim only, so this answer was taken as unprompted and the
    // rating lost; found while taking the fault run to MAX.)
    let s = stack("overtake-max").await;
    let phone = "+7 900 500-20-02";
    let asked = s.asked(phone).await;
    let mut scheduled = asked.clone();
    scheduled.state = SurveyState::Scheduled;
    scheduled.channel = None;
    scheduled.sent_at = None;
    scheduled.asked = Vec::new();
    s.store.save(&scheduled).await.unwrap();
    s.store
        .claim_send(&asked.id, "max", Utc::now())
        .await
        .unwrap();

    let worker = InboundWorker::from_parts(&s.parts()).await.unwrap();
    let item = otklik_messaging::inbound::Inbound::Message {
        from: Phone::parse(phone, "RU").unwrap(),
        id: otklik_core::machine::InputId::new("max:10000001/answer-1").unwrap(),
        event: otklik_core::machine::Event::Text {
            text: "4".into(),
            via: Channel::Max,
        },
        context_message_id: None,
        chat_id: Some("10000001".into()),
        edits: None,
        user_id: None,
    };
    worker.process_one(&item, Utc::now()).await.unwrap();
    let after = s.survey(&asked).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(4), "{after:?}");
    assert_eq!(after.asked, vec![Channel::Max]);
    let writes = s.commands(0).await;
    assert!(
        !writes
            .iter()
            .any(|c| matches!(c, Command::NotifyInspector { .. })),
        "not an unprompted message: {writes:?}"
    );
}

#[tokio::test]
async fn low_and_middle_ratings_take_their_paths() {
    let s = stack("paths").await;
    // "2" → a complaint.
    let two = s.asked("+7 900 200-00-01").await;
    s.say("+7 900 200-00-01", "2").await;
    assert_eq!(
        s.survey(&two).await.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    let complaints = s.commands(1).await;
    assert!(
        matches!(&complaints[..], [Command::OpenComplaint { rating, .. }] if rating.value() == 2),
        "{complaints:?}"
    );
    // "3" then "да" → a complaint; "3" then "нет" → an apology, closed.
    let yes = s.asked("+7 900 300-00-01").await;
    s.say("+7 900 300-00-01", "3").await;
    assert_eq!(
        s.survey(&yes).await.state,
        SurveyState::AwaitingContactConsent
    );
    s.say("+7 900 300-00-01", "да").await;
    assert_eq!(
        s.survey(&yes).await.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    let no = s.asked("+7 900 300-00-02").await;
    s.say("+7 900 300-00-02", "3").await;
    s.say("+7 900 300-00-02", "нет").await;
    assert_eq!(
        s.survey(&no).await.state,
        SurveyState::Closed {
            outcome: Outcome::DeclinedContact
        }
    );
    let complaints = s.commands(1).await;
    assert_eq!(complaints.len(), 1, "only the 3 + yes: {complaints:?}");
    let said: Vec<MessageKind> = s
        .commands(2)
        .await
        .into_iter()
        .filter_map(|c| match c {
            Command::Message { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    for kind in [
        MessageKind::ComplaintAcknowledged,
        MessageKind::AskContactConsent,
        MessageKind::ContactConfirmed,
        MessageKind::Apology,
    ] {
        assert!(said.contains(&kind), "{kind:?} in {said:?}");
    }
}

/// The order's words field as the inspector reads it: one line a message, each with the time in
/// the shop's time zone and the channel, «06.12 14:03 · WhatsApp · 3».
fn conversation_lines(
    words: &str,
    tz: chrono_tz::Tz,
) -> Vec<(chrono::DateTime<chrono_tz::Tz>, String, String)> {
    use chrono::{Datelike, NaiveDateTime, TimeZone};
    let now = Utc::now().with_timezone(&tz);
    words
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, " · ");
            let (time, channel, text) = (parts.next(), parts.next(), parts.next());
            let (Some(time), Some(channel), Some(text)) = (time, channel, text) else {
                panic!("not «time · channel · text»: {line:?}");
            };
            let naive =
                NaiveDateTime::parse_from_str(&format!("{}.{time}", now.year()), "%Y.%d.%m %H:%M")
                    .unwrap_or_else(|e| panic!("{time:?}: {e}"));
            let at = tz.from_local_datetime(&naive).single().unwrap();
            (at, channel.to_string(), text.to_string())
        })
        .collect()
}

#[tokio::test]
async fn the_orders_words_read_as_a_conversation_and_a_redelivery_writes_the_same() {
    let s = stack("conversation").await;
    let phone = "+7 900 400-00-09";
    let survey = s.asked(phone).await;
    let before = Utc::now();
    s.say(phone, "3").await;
    s.say(phone, "да, позвоните").await;
    let event = s.event_of(0, 1).await;
    let writer = CrmWriter::from_parts(&s.parts()).await.unwrap();
    let r = writer.handle_batch(event.clone(), Utc::now()).await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    let field = |order: Value| {
        order["customFields"]["otklik_words"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let path = format!("orders/main-shop/{}", survey.order.id());
    let words = field(s.crm(&path).await);
    let tz = s.config.timezone;
    let lines = conversation_lines(&words, tz);
    assert_eq!(lines.len(), 2, "{words}");
    let said: Vec<(&str, &str)> = lines
        .iter()
        .map(|(_, c, t)| (c.as_str(), t.as_str()))
        .collect();
    assert_eq!(said, [("WhatsApp", "3"), ("WhatsApp", "да, позвоните")]);
    for (at, _, _) in &lines {
        // The reply time, to the minute, in the shop's zone (not UTC unless the shop is there).
        let at = at.with_timezone(&Utc);
        assert!(
            at >= before - Duration::minutes(1) && at <= Utc::now(),
            "{at} not when the customer wrote: {words}"
        );
    }
    // The complaint for the 3 + "yes" carries the same conversation.
    s.run_complaints(1).await;
    let complaints = s.crm("orders?site=reklamacii").await;
    let complaint = &complaints.as_array().unwrap()[0];
    assert_eq!(field(complaint.clone()), words, "{complaint}");
    // Delivered again hours later after a crash lost the done markers: the same value is written,
    // not lines with the later time.
    for record in &event.records {
        let m: EffectMessage = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
        for e in m.effects() {
            s.forget_done(&e.key).await;
        }
    }
    let r = writer
        .handle_batch(event, Utc::now() + Duration::hours(3))
        .await;
    assert!(r.batch_item_failures.is_empty(), "{r:?}");
    assert_eq!(field(s.crm(&path).await), words);
}

#[tokio::test]
async fn words_written_by_two_writers_at_once_leave_the_order_with_all_of_them() {
    // Two messages of one customer in two batches, written by two crm-writer instances at once:
    // the first one's edit is slow to land (retailCRM holds it), the second's lands first with
    // both messages. The first must not leave the order with its shorter list.
    let s = stack("words-race").await;
    let phone = "+7 900 400-00-19";
    let survey = s.asked(phone).await;
    s.say(phone, "3").await;
    let first = s.event_of(0, 1).await;
    s.say(phone, "да, позвоните").await;
    let second = s.event_of(0, 1).await;
    let slow = CrmWriter::from_parts(&s.parts()).await.unwrap();
    let fast = CrmWriter::from_parts(&s.parts()).await.unwrap();
    let crm = s.driver.crm.clone();
    let http = s.driver.http.clone();
    let edits = || async {
        let stats: Value = http
            .get(format!("{crm}/sim/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["byRoute"]["POST /api/v5/orders/{id}/edit"]
            .as_u64()
            .unwrap_or(0)
    };
    let edits_before = edits().await;
    let faults = |latency_ms: u64| {
        let (http, crm) = (http.clone(), crm.clone());
        async move {
            let r = http
                .put(format!("{crm}/sim/faults"))
                .json(&json!({ "latencyMs": latency_ms }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    };
    faults(3_000).await;
    let (slow_done, fast_done) = tokio::join!(slow.handle_batch(first, Utc::now()), async {
        // Once the first writer's edit is at retailCRM (held for 3 s), the second goes at
        // full speed.
        while edits().await == edits_before {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        faults(0).await;
        fast.handle_batch(second, Utc::now()).await
    });
    assert!(slow_done.batch_item_failures.is_empty(), "{slow_done:?}");
    assert!(fast_done.batch_item_failures.is_empty(), "{fast_done:?}");
    let words = s
        .crm(&format!("orders/main-shop/{}", survey.order.id()))
        .await["customFields"]["otklik_words"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let lines = conversation_lines(&words, s.config.timezone);
    let said: Vec<&str> = lines.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(said, ["3", "да, позвоните"], "{words}");
}

#[tokio::test]
async fn an_unreadable_question_makes_one_inspector_task_and_keeps_the_survey_open() {
    let s = stack("unreadable").await;
    let phone = "+7 900 400-00-01";
    let survey = s.asked(phone).await;
    s.say(phone, "а когда привезут второй заказ?").await;
    s.say(phone, "алло, вы тут?").await;
    let after = s.survey(&survey).await;
    assert_eq!(after.state, SurveyState::Sent, "still waiting for a rating");
    assert_eq!(after.rating, None);
    s.run_crm_writer().await;
    let tasks = s.crm("tasks").await;
    let tasks = tasks.as_array().unwrap();
    assert_eq!(
        tasks.len(),
        1,
        "two messages in the batch window, one task: {tasks:?}"
    );
    assert_eq!(tasks[0]["performer"], 7);
    assert_eq!(tasks[0]["order"]["id"], survey.order.id());
    assert!(tasks[0]["commentary"]
        .as_str()
        .unwrap()
        .contains("второй заказ"));
    let notes = s.crm("notifications").await;
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
    // Both messages' words reach the order.
    let order = s
        .crm(&format!("orders/main-shop/{}", survey.order.id()))
        .await;
    let words = order["customFields"]["otklik_words"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        words.contains("второй заказ") && words.contains("алло"),
        "{order}"
    );
    // The customer hears, once for the two messages, that a person will answer; delivered
    // twice, it is still said once.
    let before = s.sent_to(phone).await.len();
    s.run_replies(2).await;
    let sent = s.sent_to(phone).await;
    assert_eq!(sent.len(), before + 1, "{sent:?}");
    let said = sent.last().unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        otklik_core::texts::Texts::defaults()
            .variants(
                otklik_core::texts::TextKind::HandedToColleague,
                otklik_core::texts::Lang::Ru
            )
            .contains(&said),
        "{said}"
    );
}

#[tokio::test]
async fn the_inspector_settles_an_unreadable_answer_in_one_click_once() {
    let s = stack("resolve").await;
    let phone = "+7 900 400-00-07";
    let survey = s.asked(phone).await;
    // A 1 with a reason, but two numbers: rightly not read as a rating.
    s.say(phone, "1 курьер опоздал на 3 часа, коробка мятая")
        .await;
    assert_eq!(s.survey(&survey).await.rating, None);
    s.run_crm_writer().await;
    let tasks = s.crm("tasks").await;
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let commentary = tasks[0]["commentary"].as_str().unwrap();
    // The task's last line carries the inspector's signed link to the landing.
    let at = commentary.find("/r/").expect("a link in the task");
    let token = commentary[at + 3..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        commentary[..at].ends_with(&s.config.email.landing_base_url),
        "{commentary}"
    );
    let url = format!("{}/r/{token}", s.api_url());

    // A GET (a link preview, the inspector opening it) shows the choices and records nothing.
    for _ in 0..2 {
        let (status, html) = s.open(&url).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("data-state=\"resolve\""), "{html}");
        assert!(html.contains("name=\"choice\" value=\"call\""));
    }
    assert_eq!(s.survey(&survey).await.rating, None);
    // A choice that is not one is refused.
    let (status, _) = s.post_json(&url, &[("choice", "6")]).await;
    assert_eq!(status, 400);

    // "2": as if the customer had sent it.
    let (status, answer) = s.post_json(&url, &[("choice", "2")]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recorded"], true);
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(2));
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    // A second POST, the same choice or another, changes nothing.
    for again in ["2", "5", "none"] {
        let (status, answer) = s.post_json(&url, &[("choice", again)]).await;
        assert_eq!(status, 409, "{again}: {answer}");
        assert_eq!(answer["recorded"], false);
    }
    assert_eq!(s.survey(&survey).await, after);
    let (_, html) = s.open(&url).await;
    assert!(html.contains("data-state=\"answered\""), "{html}");

    // One complaint on its way to complaint-create.
    let complaints = s.commands(1).await;
    assert!(
        matches!(&complaints[..], [Command::OpenComplaint { rating, callback: false, .. }] if rating.value() == 2),
        "{complaints:?}"
    );
    // The rating written and both employees credited, once.
    s.run_crm_writer().await;
    let order = s
        .crm(&format!("orders/main-shop/{}", survey.order.id()))
        .await;
    assert_eq!(order["customFields"]["otklik_rating"], json!(2), "{order}");
    let now = Utc::now();
    let credits: Vec<_> = s
        .store
        .credits_between(now - Duration::hours(2), now + Duration::hours(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.survey == survey.id)
        .collect();
    let mut employees: Vec<u64> = credits.iter().map(|c| c.employee).collect();
    employees.sort();
    assert_eq!(employees, vec![11, 12], "{credits:?}");
    assert!(credits.iter().all(|c| c.rating == 2));
    // The customer heard once that the quality team has it.
    s.run_replies(2).await;
    let said: Vec<String> = s
        .sent_to(phone)
        .await
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect();
    let ack = otklik_core::texts::Texts::defaults()
        .variants(
            otklik_core::texts::TextKind::ComplaintAcknowledged,
            otklik_core::texts::Lang::Ru,
        )
        .to_vec();
    assert_eq!(
        said.iter().filter(|t| ack.contains(t)).count(),
        1,
        "{said:?}"
    );
}

#[tokio::test]
async fn bad_signatures_and_tokens_are_refused_and_change_nothing() {
    let s = stack("auth").await;
    let survey = s.asked("+7 900 600-00-01").await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": "100000000000001"},
        "messages": [{"from": "79006000001", "id": "wamid.forged", "timestamp": "1700000000",
            "type": "text", "text": {"body": "1"}}]}}]}]})
    .to_string();
    let meta = format!("{}/webhooks/whatsapp/meta", s.api_url());
    let cases = [
        (None, "missing signature"),
        (Some("sha256=00".to_string()), "malformed signature"),
        (
            Some(otklik_whatsapp_sim::meta_signature(
                b"not-our-secret",
                body.as_bytes(),
            )),
            "signed with another secret",
        ),
    ];
    for (sig, what) in cases {
        let mut req = s.driver.http.post(&meta).body(body.clone());
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{what}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    }
    // The right signature over another body is a forgery too.
    let r = s
        .driver
        .http
        .post(&meta)
        .header(
            "x-hub-signature-256",
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), b"{}"),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let green = format!("{}/webhooks/whatsapp/green-api", s.api_url());
    let gbody = json!({"typeWebhook": "incomingMessageReceived", "idMessage": "G1",
        "senderData": {"chatId": "79006000001@c.us", "sender": "79006000001@c.us"},
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "1"}}})
    .to_string();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some(stack::GREEN_API_WEBHOOK_TOKEN),
    ] {
        let mut req = s.driver.http.post(&green).body(gbody.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        assert_eq!(req.send().await.unwrap().status(), 401, "{auth:?}");
    }
    let after = s.survey(&survey).await;
    assert_eq!(after, survey, "nothing changed");
    assert!(s.commands(0).await.is_empty() && s.commands(1).await.is_empty());

    // The verification handshake answers only our verify token.
    let ok = s
        .driver
        .http
        .get(format!(
            "{meta}?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
            stack::META_VERIFY_TOKEN
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = s
        .driver
        .http
        .get(format!(
            "{meta}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
}

#[tokio::test]
async fn one_webhook_delivered_three_times_has_its_effects_once() {
    let s = stack("thrice").await;
    let phone = "+7 900 700-00-01";
    let survey = s.asked(phone).await;
    s.reply(
        json!({"provider": "meta", "from": digits(phone), "text": "1",
        "messageId": "wamid.customer-1", "times": 3}),
    )
    .await;
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(1));
    assert_eq!(
        after.version,
        survey.version + 2,
        "one decision, one outbox flush"
    );
    let complaints = s.commands(1).await;
    assert_eq!(complaints.len(), 1, "{complaints:?}");
    let writes = s.commands(0).await;
    let ratings = writes
        .iter()
        .filter(|c| matches!(c, Command::WriteRating { .. }))
        .count();
    assert_eq!(ratings, 1, "{writes:?}");

    // Green-API, three times too, on another customer.
    let phone2 = "+7 900 700-00-02";
    let second = s.asked(phone2).await;
    s.reply(
        json!({"provider": "green-api", "from": digits(phone2), "text": "4",
        "messageId": "BAE5-customer-2", "times": 3}),
    )
    .await;
    let after = s.survey(&second).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(4));
    let thanks = s.commands(2).await;
    assert_eq!(thanks.len(), 2, "one thanks each: {thanks:?}");
}

#[tokio::test]
async fn a_batchs_complaints_of_different_surveys_are_opened_at_once_each_exactly_once() {
    let s = stack("complaints-at-once").await;
    let phones = ["+7 900 800-10-01", "+7 900 800-10-02", "+7 900 800-10-03"];
    let mut surveys = Vec::new();
    for phone in phones {
        surveys.push(s.asked(phone).await);
        s.say(phone, "1").await;
    }
    // retailCRM slow to answer: one complaint after another would never have two calls at the
    // simulator at once; complaints of different surveys go together.
    let sim = s.crm_sim().state();
    sim.reset_stats();
    sim.set_faults(otklik_retailcrm_sim::Faults {
        latency_ms: 500,
        ..Default::default()
    });
    // Each message delivered twice: a survey's copies still go one after the other.
    s.run_complaints(2).await;
    sim.set_faults(Default::default());
    let stats = sim.stats();
    assert!(stats.max_in_flight >= 2, "{stats:?}");
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    let complaints = s.crm("orders?site=reklamacii").await;
    let complaints = complaints.as_array().unwrap();
    assert_eq!(complaints.len(), 3, "{complaints:?}");
    let links = s.crm("links").await;
    for survey in &surveys {
        let ext = otklik_complaint_create::external_id(&survey.id);
        let mine: Vec<&Value> = complaints
            .iter()
            .filter(|c| c["externalId"] == json!(ext))
            .collect();
        assert_eq!(mine.len(), 1, "{complaints:?}");
        let linked = links
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| {
                let ids: Vec<u64> = l["orders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|o| o["id"].as_u64())
                    .collect();
                ids.contains(&survey.order.id()) && ids.contains(&mine[0]["id"].as_u64().unwrap())
            })
            .count();
        assert_eq!(linked, 1, "{links}");
    }
}

#[tokio::test]
async fn a_one_opens_exactly_one_linked_complaint_for_the_inspector() {
    let s = stack("complaint").await;
    let phone = "+7 900 800-00-01";
    let survey = s.asked(phone).await;
    s.reply(
        json!({"provider": "meta", "from": digits(phone), "text": "1, курьер нагрубил",
        "messageId": "wamid.customer-c1", "times": 3}),
    )
    .await;
    // A 1 with words: "1, курьер нагрубил" reads as a rating with a remark.
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(1));
    s.run_complaints(3).await;
    let complaints = s.crm("orders?site=reklamacii").await;
    let complaints = complaints.as_array().unwrap();
    assert_eq!(complaints.len(), 1, "{complaints:?}");
    let c = &complaints[0];
    assert_eq!(c["managerId"], 7);
    assert_eq!(c["status"], "complaint-created");
    assert_eq!(c["customer"]["id"], 900);
    let comment = c["managerComment"].as_str().unwrap();
    assert!(
        comment.contains("1 из 5") && comment.contains("курьер нагрубил"),
        "{comment}"
    );
    let links = s.crm("links").await;
    let linked = links.as_array().unwrap().iter().any(|l| {
        let ids: Vec<u64> = l["orders"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["id"].as_u64())
            .collect();
        ids.contains(&survey.order.id()) && ids.contains(&c["id"].as_u64().unwrap())
    });
    assert!(linked, "{links}");
    // The customer writes more after the complaint was opened: the inspector reads it on the
    // complaint order too, with what they wrote first.
    s.say(phone, "и коробка пришла мятая").await;
    s.run_crm_writer().await;
    let complaint = s
        .crm(&format!("orders/reklamacii/{}", c["id"].as_u64().unwrap()))
        .await;
    let words = complaint["customFields"]["otklik_words"]
        .as_str()
        .unwrap_or_default();
    assert!(
        words.contains("курьер нагрубил") && words.contains("коробка пришла мятая"),
        "{complaint}"
    );
    // Redelivered later again: still one.
    let again = EffectMessage {
        survey_id: survey.id.clone(),
        effect: otklik_core::machine::Effect {
            key: format!("{}/open-complaint", survey.id),
            command: Command::OpenComplaint {
                rating: otklik_core::model::Rating::new(1).unwrap(),
                words: None,
                callback: false,
            },
        },
        also: Vec::new(),
    };
    s.queues[1]
        .send(&serde_json::to_string(&again).unwrap())
        .await
        .unwrap();
    s.run_complaints(1).await;
    assert_eq!(
        s.crm("orders?site=reklamacii")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A crash after the complaint was made and linked, before the effect was marked done: the
    // redelivery adopts the complaint (its externalId) and sees the link (the order's `links`).
    let links_before = s.crm("links").await.as_array().unwrap().len();
    s.forget_done(&format!("{}/open-complaint", survey.id))
        .await;
    s.queues[1]
        .send(&serde_json::to_string(&again).unwrap())
        .await
        .unwrap();
    s.run_complaints(1).await;
    assert_eq!(
        s.crm("orders?site=reklamacii")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.crm("links").await.as_array().unwrap().len(),
        links_before,
        "no second link"
    );
}

#[tokio::test]
async fn an_inspector_task_made_before_a_crash_is_found_not_made_twice() {
    let s = stack("task-crash").await;
    let survey = s.asked("+7 900 810-00-01").await;
    let writer = CrmWriter::from_parts(&s.parts()).await.unwrap();
    let effect = otklik_core::machine::Effect {
        key: format!("{}/notify/wamid.crash-1", survey.id),
        command: Command::NotifyInspector {
            reason: otklik_core::machine::NoticeReason::UnreadableReply,
            text: "а где чек?".into(),
        },
    };
    writer
        .write(&survey.id, std::slice::from_ref(&effect), Utc::now())
        .await
        .unwrap();
    let tasks = s.crm("tasks").await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    let reference = otklik_core::crm_texts::task_reference(&effect.key);
    assert!(
        tasks[0]["text"]
            .as_str()
            .unwrap()
            .ends_with(&format!("[{reference}]")),
        "{tasks}"
    );
    // The crash: the task exists, the effect is not marked done. The redelivery finds the task.
    s.forget_done(&effect.key).await;
    let again = writer
        .write(&survey.id, std::slice::from_ref(&effect), Utc::now())
        .await
        .unwrap();
    assert_eq!(again.tasks, 0);
    assert_eq!(s.crm("tasks").await.as_array().unwrap().len(), 1);
    // And it is marked done now: a third delivery does not even look.
    let third = writer
        .write(&survey.id, std::slice::from_ref(&effect), Utc::now())
        .await
        .unwrap();
    assert_eq!(third.skipped_done, 1);
}

#[tokio::test]
async fn the_customer_hears_back_once_in_their_conversation() {
    let s = stack("hears").await;
    let phone = "+7 900 900-00-01";
    s.asked(phone).await;
    s.say(phone, "3").await;
    s.run_replies(2).await;
    s.say(phone, "нет").await;
    s.run_replies(3).await;
    let sent = s.sent_to(phone).await;
    let texts: Vec<&str> = sent.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(
        sent.len(),
        2,
        "the question about a call, then the apology: {texts:?}"
    );
    assert!(sent.iter().all(|m| m["kind"] == "text"), "{sent:?}");
    let texts_cfg = otklik_core::texts::Texts::from_config(&s.config.texts).unwrap();
    let lang = texts_cfg.language();
    let ask = otklik_core::texts::TextKind::AskContactConsent;
    let sorry = otklik_core::texts::TextKind::Apology;
    let is = |kind, text: &str| texts_cfg.variants(kind, lang).iter().any(|v| v == text);
    assert!(is(ask, texts[0]), "{texts:?}");
    assert!(is(sorry, texts[1]), "{texts:?}");

    // An opted-out customer hears only the confirmation of it.
    let phone2 = "+7 900 900-00-02";
    s.asked(phone2).await;
    s.say(phone2, "стоп, пожалуйста").await;
    s.run_replies(1).await;
    let sent = s.sent_to(phone2).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let bye = otklik_core::texts::TextKind::OptOutConfirmed;
    assert!(is(bye, sent[0]["text"].as_str().unwrap()), "{sent:?}");
}

#[tokio::test]
async fn ratings_received_during_a_crm_outage_reach_their_orders_afterwards_once() {
    let s = stack("outage").await;
    let mut surveys = Vec::new();
    for (i, text) in ["5", "4", "1"].into_iter().enumerate() {
        let phone = format!("+7 901 000-00-0{i}");
        surveys.push(s.asked(&phone).await);
        s.say(&phone, text).await;
    }
    // retailCRM is down; the writer's messages come back as failures (SQS would redeliver them).
    let r = s
        .driver
        .http
        .put(format!("{}/sim/faults", s.driver.crm))
        .json(&json!({"outageSeconds": 3600}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mut cfg = otklik_retailcrm::ClientConfig::for_otklik(&s.config, stack::CRM_API_KEY);
    cfg.max_retries = 0;
    let writer = otklik_crm_writer::CrmWriter {
        crm: otklik_retailcrm::RetailCrm::new(cfg).unwrap(),
        store: s.store.clone(),
        config: s.config.clone(),
        signer: otklik_core::links::LinkSigner::new(stack::LINK_SECRET.as_bytes()),
        names_turn: Default::default(),
    };
    let event = s.event_of(0, 1).await;
    let total = event.records.len();
    let failed = writer.handle_batch(event.clone(), Utc::now()).await;
    let credits_only = event
        .records
        .iter()
        .filter(|r| r.body.as_deref().unwrap().contains("credit_employees"))
        .count();
    assert!(
        failed.batch_item_failures.len() >= total - credits_only,
        "every CRM write failed and is kept: {} of {total}",
        failed.batch_item_failures.len()
    );
    // Back up: the redelivery writes everything; a second redelivery writes nothing more.
    s.driver
        .http
        .delete(format!("{}/sim/faults", s.driver.crm))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let ok = writer.handle_batch(event.clone(), Utc::now()).await;
        assert!(ok.batch_item_failures.is_empty(), "{ok:?}");
    }
    for (survey, want) in surveys.iter().zip([5, 4, 1]) {
        let order = s
            .crm(&format!("orders/main-shop/{}", survey.order.id()))
            .await;
        assert_eq!(order["customFields"]["otklik_rating"], want, "{order}");
    }
    let history = s.crm("history").await;
    let rating_writes = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["field"] == "custom_otklik_rating")
        .count();
    assert_eq!(rating_writes, 3, "each rating written once");
}

#[tokio::test]
async fn a_three_then_yes_opens_a_complaint_that_asks_for_a_call() {
    let s = stack("callback").await;
    let phone = "+7 900 800-00-03";
    let survey = s.asked(phone).await;
    s.say(phone, "3").await;
    s.say(phone, "да").await;
    s.run_complaints(3).await;
    let complaints = s.crm("orders?site=reklamacii").await;
    let complaints = complaints.as_array().unwrap();
    assert_eq!(complaints.len(), 1, "{complaints:?}");
    let comment = complaints[0]["managerComment"].as_str().unwrap();
    // The inspector reads that the customer wants a call, beside the rating they gave.
    assert!(
        comment.contains("3 из 5") && comment.contains("Покупатель просит ему перезвонить."),
        "{comment}"
    );
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(3));
}
