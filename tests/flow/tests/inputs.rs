//! Inputs as the providers really send them (issue 18), through the real `provider-webhooks`
//! handler behind the gateway and `inbound-worker` on what it queued, on a bare stack: one item
//! we cannot use never sinks the webhook, and a quoted message id never crosses customers.

use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{Duration, Utc};
use otklik_aws::resources::INBOUND_QUEUE;
use otklik_core::machine::{Command, Contact, NoticeReason, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Outcome, Phone, SurveyState};
use otklik_core::ports::SurveyStore;
use otklik_flow_tests::TestStack;
use otklik_inbound_worker::InboundWorker;
use otklik_local_runner::gateway::{handler, Route};
use otklik_local_runner::sqs::{batch_handler, Consumer};
use otklik_local_runner::stack;
use otklik_metrics::Capture;
use otklik_provider_webhooks::ProviderWebhooks;
use serde_json::{json, Value};

/// A bare stack serving the WhatsApp webhooks, with inbound-worker drained before each answer
/// goes back (as replies.rs has it), so a test sees what an item did as soon as it hears 200.
struct Stack(TestStack);

impl Deref for Stack {
    type Target = TestStack;
    fn deref(&self) -> &TestStack {
        &self.0
    }
}

/// Metrics are captured process-wide, and every test here makes some: they take turns.
async fn turn() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

async fn stack(test: &str) -> Stack {
    let mut stack = TestStack::bare(test, "meta").await;
    stack.set_up_shop().await;
    let parts = stack.parts();
    let webhooks = Arc::new(ProviderWebhooks::from_parts(&parts).await.unwrap());
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
    stack
        .serve(vec![Route::new(
            "/webhooks/whatsapp/",
            handler(move |req| {
                let (webhooks, consumer) = (webhooks.clone(), consumer.clone());
                async move {
                    let answer = webhooks.handle(req).await;
                    while consumer.poll_once(0, "inbound").await.unwrap() > 0 {}
                    let failed = consumer.stats.failed.load(Ordering::Relaxed);
                    assert_eq!(failed, 0, "inbound-worker failed {failed} items");
                    answer
                }
            }),
        )])
        .await;
    Stack(stack)
}

impl Stack {
    /// An order and its survey, asked on WhatsApp an hour ago by our message `wamid.question-<id>`.
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
        let at = Utc::now() - Duration::hours(1);
        let mut s = Survey::new(
            OrderRef::new("main-shop", id).unwrap(),
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
        s.employees = vec![EmployeeId::new(11).unwrap()];
        assert!(self.store.create(&s).await.unwrap());
        self.store
            .remember_message(&message_id, &s.id, at)
            .await
            .unwrap();
        s
    }

    /// Posts a Meta webhook with these messages, signed as Meta signs: the status and the answer.
    async fn meta(&self, messages: Vec<Value>) -> (u16, Value) {
        self.meta_items(messages, vec![]).await
    }

    /// Posts a Meta webhook with these messages and statuses of our messages.
    async fn meta_items(&self, messages: Vec<Value>, statuses: Vec<Value>) -> (u16, Value) {
        self.meta_value(json!({"messages": messages, "statuses": statuses}))
            .await
    }

    /// Posts a Meta webhook with these messages and the `contacts[]` beside them.
    async fn meta_contacts(&self, contacts: Vec<Value>, messages: Vec<Value>) -> (u16, Value) {
        self.meta_value(json!({"contacts": contacts, "messages": messages}))
            .await
    }

    /// Posts a Meta webhook whose change's `value` has these keys.
    async fn meta_value(&self, keys: Value) -> (u16, Value) {
        // The envelope of Meta's messages webhook reference
        // (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages),
        // for the stack's own number: another number's changes are not ours.
        let mut value = json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                "phone_number_id": "100000000000001"},
        });
        for (k, v) in keys.as_object().unwrap() {
            value[k] = v.clone();
        }
        let body = json!({"object": "whatsapp_business_account", "entry": [{
            "id": "102290129340398",
            "changes": [{"field": "messages", "value": value}],
        }]})
        .to_string();
        let signature =
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), body.as_bytes());
        let r = self
            .driver
            .http
            .post(format!("{}/webhooks/whatsapp/meta", self.api_url()))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn text(from: &str, id: &str, body: &str) -> Value {
    json!({"from": otklik_flow_tests::digits(from), "id": id, "timestamp": "1749416383",
        "type": "text", "text": {"body": body}})
}

/// Issue 18's acceptance: a Meta POST with one message without `from` (a customer with a
/// username: Meta's "Business-scoped user IDs" page omits the phone number then and carries
/// `from_user_id`, the business-scoped user id) and one normal message: 200, the normal one
/// rated, the other — its user id named by no status of ours — counted in `UnusableItems` and
/// kept by the worker, listed by the store as `otklik inbound unusable` lists it.
#[tokio::test]
async fn a_message_without_from_is_kept_and_the_normal_one_is_rated() {
    let _turn = turn().await;
    let s = stack("in-nofrom").await;
    let phone = "+7 900 518-00-01";
    let survey = s.asked(phone).await;
    let capture = Capture::start();
    let username = json!({"from_user_id": "US.13491208655302741918",
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "timestamp": "1749416383", "type": "text", "text": {"body": "1"}});
    let (status, answer) = s
        .meta(vec![username, text(phone, "wamid.normal-1", "5")])
        .await;
    assert_eq!(status, 200, "{answer}");
    // Queued by its user id, not as unusable: only the worker knows it cannot be routed.
    assert_eq!(answer["unusable"], 0, "{answer}");
    assert_eq!(answer["queued"], 2, "{answer}");

    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(5));
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    assert_eq!(capture.sum("UnusableItems", &[("Provider", "meta")]), 1.0);
    let kept = s.store.unusable_items().await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].provider, "meta");
    assert_eq!(kept[0].at, "entry[0].changes[0].value.messages[0]");
    assert_eq!(kept[0].reason, "no from");
    assert!(kept[0].raw.contains("US.13491208655302741918"), "{kept:?}");

    // Meta retries the same POST (it did not hear us, say): nothing is kept or counted twice.
    let username = json!({"from_user_id": "US.13491208655302741918",
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "timestamp": "1749416383", "type": "text", "text": {"body": "1"}});
    let (status, _) = s
        .meta(vec![username, text(phone, "wamid.normal-1", "5")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.store.unusable_items().await.unwrap().len(), 1);
    assert_eq!(capture.sum("UnusableItems", &[]), 1.0);
}

/// A delivery status is guarded by the survey's state alone: `delivered` moves the question sent
/// to awaiting its rating and leaves no done-marker (the marker's read and write would guard
/// nothing); its repeat and the `read` after it change nothing. A `failed` status, which falls
/// back to the next channel once, keeps its marker.
#[tokio::test]
async fn a_delivery_status_moves_the_survey_on_without_a_done_marker() {
    use otklik_core::machine::{IdSpace, InputId};
    let _turn = turn().await;
    let s = stack("in-delivered").await;
    let survey = s.asked("+7 900 518-00-41").await;
    let question = survey.provider_message_id.clone().unwrap();
    let status = |raw: &str| {
        json!({"id": question, "status": raw, "timestamp": "1749416383",
            "recipient_id": "79005180041"})
    };
    let marker = |raw: &str| InputId::provider_status(IdSpace::Whatsapp, &question, raw).unwrap();
    let (code, answer) = s.meta_items(vec![], vec![status("delivered")]).await;
    assert_eq!(code, 200, "{answer}");
    let delivered = s.survey(&survey).await;
    assert_eq!(delivered.state, SurveyState::AwaitingRating);
    assert!(!s
        .store
        .inbound_done(marker("delivered").as_str())
        .await
        .unwrap());
    for again in ["delivered", "read"] {
        let (code, answer) = s.meta_items(vec![], vec![status(again)]).await;
        assert_eq!(code, 200, "{answer}");
        assert_eq!(
            s.survey(&survey).await,
            delivered,
            "{again} changed the survey"
        );
        assert!(!s.store.inbound_done(marker(again).as_str()).await.unwrap());
    }

    let other = s.asked("+7 900 518-00-42").await;
    let failed_question = other.provider_message_id.clone().unwrap();
    let failed = json!({"id": failed_question, "status": "failed", "timestamp": "1749416383",
        "recipient_id": "79005180042",
        "errors": [{"code": 131026, "title": "Message undeliverable"}]});
    let (code, answer) = s.meta_items(vec![], vec![failed]).await;
    assert_eq!(code, 200, "{answer}");
    let id = InputId::provider_status(IdSpace::Whatsapp, &failed_question, "failed").unwrap();
    assert!(s.store.inbound_done(id.as_str()).await.unwrap());
}

/// A status of our message in the shape of Meta's "Business-scoped user IDs" page
/// (developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/):
/// `recipient_user_id` named, `recipient_id` (the phone) omitted as it is when unavailable.
fn delivered_to_user(question: &str, user_id: &str) -> Value {
    json!({"id": question, "status": "delivered", "timestamp": "1749416383",
        "recipient_user_id": user_id,
        "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility",
            "type": "regular"}})
}

/// A message from a user whose number Meta withholds (same page): `from_user_id`, no `from`.
fn from_user(user_id: &str, id: &str, body: &str) -> Value {
    json!({"from_user_id": user_id, "id": id, "timestamp": "1749416383", "type": "text",
        "text": {"body": body}})
}

/// Issue 18, customers without a phone number in the webhook: the status of our question names
/// the customer's user id, and the customer's "5" that carries only that user id rates the
/// survey; nothing is kept as unusable.
#[tokio::test]
async fn a_user_id_learned_from_our_questions_status_routes_the_answer() {
    let _turn = turn().await;
    let s = stack("in-userid").await;
    let survey = s.asked("+7 900 518-00-31").await;
    let question = survey.provider_message_id.clone().unwrap();
    let user = "RU.1502576394655843";
    let capture = Capture::start();
    let (status, answer) = s
        .meta_items(vec![], vec![delivered_to_user(&question, user)])
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(s.survey(&survey).await.rating, None);

    let (status, answer) = s.meta(vec![from_user(user, "wamid.user-5", "5")]).await;
    assert_eq!(status, 200, "{answer}");
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(5));
    assert_eq!(
        after.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
    assert!(s.store.unusable_items().await.unwrap().is_empty());
    assert_eq!(capture.sum("UnusableItems", &[]), 0.0);
}

/// One batch carries the customer's "5" naming only their user id and, behind it, the status of
/// our question that names that user id (Meta lists a webhook's messages before its statuses):
/// the worker handles what teaches user ids before what is routed by one, so the answer rates
/// the survey instead of being kept as unusable.
#[tokio::test]
async fn an_answer_by_user_id_waits_for_the_status_in_its_batch_that_names_it() {
    let _turn = turn().await;
    let s = stack("in-userbatch").await;
    let survey = s.asked("+7 900 518-00-32").await;
    let question = survey.provider_message_id.clone().unwrap();
    let user = "RU.1502576394655832";
    let (status, answer) = s
        .meta_items(
            vec![from_user(user, "wamid.userbatch-5", "5")],
            vec![delivered_to_user(&question, user)],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(5));
    assert!(s.store.unusable_items().await.unwrap().is_empty());
}

/// Issue 18, item 2: the user id Meta names beside the number (`contacts[].user_id` of the
/// contact whose `wa_id` is the sender, as on its "Business-scoped user IDs" page) is learned from
/// the customer's own message: their next message, carrying only that user id, still finds the
/// survey. A "3", then a "да" with no number: the complaint is opened.
#[tokio::test]
async fn a_user_id_named_beside_the_number_routes_the_next_answer_without_it() {
    let _turn = turn().await;
    let s = stack("in-usercontact").await;
    let phone = "+7 900 518-00-51";
    let survey = s.asked(phone).await;
    let user = "RU.7302576394655851";
    let contact = json!({"profile": {"name": "Покупатель"},
        "wa_id": otklik_flow_tests::digits(phone), "user_id": user});
    let (status, answer) = s
        .meta_contacts(vec![contact], vec![text(phone, "wamid.contact-3", "3")])
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        s.survey(&survey).await.state,
        SurveyState::AwaitingContactConsent
    );
    let (status, answer) = s
        .meta(vec![from_user(user, "wamid.contact-yes", "да")])
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        s.survey(&survey).await.state,
        SurveyState::Closed {
            outcome: Outcome::ComplaintOpened
        }
    );
    assert!(s.store.unusable_items().await.unwrap().is_empty());
}

/// Issue 18, item 2: Meta's identity-change system messages ("System messages webhook
/// reference"): after `user_changed_user_id` the answer naming only the new user id finds the
/// survey the old one was learned for; after `user_changed_number` the answer from the new number
/// (with the new user id beside it) finds the survey of the old number.
#[tokio::test]
async fn a_changed_user_id_or_number_still_finds_the_survey() {
    let _turn = turn().await;
    let s = stack("in-userchange").await;
    // The user id changes.
    let a = s.asked("+7 900 518-00-61").await;
    let question = a.provider_message_id.clone().unwrap();
    let (old, new) = ("RU.1000000000000061", "RU.2000000000000061");
    assert_eq!(
        s.meta_items(vec![], vec![delivered_to_user(&question, old)])
            .await
            .0,
        200
    );
    let change = json!({"id": "wamid.sys-61", "timestamp": "1753851315", "type": "system",
        "system": {"body": "User Покупатель changed from RU.1000000000000061 to RU.2000000000000061",
            "user_id": new, "previous_user_id": old, "type": "user_changed_user_id"}});
    assert_eq!(s.meta(vec![change]).await.0, 200);
    assert_eq!(
        s.meta(vec![from_user(new, "wamid.new-5", "5")]).await.0,
        200
    );
    assert_eq!(s.survey(&a).await.rating.map(|r| r.value()), Some(5));

    // The number changes (and with it the user id): the answer comes from the new number.
    let old_phone = "+7 900 518-00-62";
    let new_phone = "+7 900 518-00-63";
    let b = s.asked(old_phone).await;
    let user = "RU.3000000000000062";
    let change = json!({"from": otklik_flow_tests::digits(old_phone), "id": "wamid.sys-62",
        "timestamp": "1753851315", "type": "system",
        "system": {"body": "User Покупатель changed from 79005180062 to 79005180063",
            "wa_id": otklik_flow_tests::digits(new_phone), "user_id": user,
            "type": "user_changed_number"}});
    assert_eq!(s.meta(vec![change]).await.0, 200);
    let mut answer = text(new_phone, "wamid.newnumber-4", "4");
    answer["from_user_id"] = json!(user);
    assert_eq!(s.meta(vec![answer]).await.0, 200);
    assert_eq!(s.survey(&b).await.rating.map(|r| r.value()), Some(4));
    assert!(s.store.unusable_items().await.unwrap().is_empty());
}

/// Meta's `user_changed_number` and the customer's answer from the new number in one webhook, so
/// in one batch of inbound-worker: the answer is handled after the change, as it came, and finds
/// the old number's survey.
#[tokio::test]
async fn an_answer_right_behind_a_number_change_in_its_batch_finds_the_survey() {
    let _turn = turn().await;
    let s = stack("in-userchangebatch").await;
    let (old_phone, new_phone) = ("+7 900 518-00-72", "+7 900 518-00-73");
    let survey = s.asked(old_phone).await;
    let user = "RU.3000000000000072";
    let change = json!({"from": otklik_flow_tests::digits(old_phone), "id": "wamid.sys-72",
        "timestamp": "1753851315", "type": "system",
        "system": {"body": "User Покупатель changed from 79005180072 to 79005180073",
            "wa_id": otklik_flow_tests::digits(new_phone), "user_id": user,
            "type": "user_changed_number"}});
    let mut answer = text(new_phone, "wamid.newnumber-72", "4");
    answer["from_user_id"] = json!(user);
    assert_eq!(s.meta(vec![change, answer]).await.0, 200);
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(4));
}

/// The security rule holds for user ids: a quote picks only among the surveys whose message went
/// to the sender's user id. A user id known for B's survey quoting A's question answers B's
/// survey, not A's; a user id no status of ours named quoting A's question rates nothing and is
/// kept for inspection.
#[tokio::test]
async fn a_user_id_quoting_another_customers_question_does_not_rate_it() {
    let _turn = turn().await;
    let s = stack("in-userquote").await;
    let a = s.asked("+7 900 518-00-41").await;
    let b = s.asked("+7 900 518-00-42").await;
    let (a_question, b_question) = (
        a.provider_message_id.clone().unwrap(),
        b.provider_message_id.clone().unwrap(),
    );
    let (a_user, b_user) = ("RU.41", "RU.42");
    let (status, _) = s
        .meta_items(
            vec![],
            vec![
                delivered_to_user(&a_question, a_user),
                delivered_to_user(&b_question, b_user),
            ],
        )
        .await;
    assert_eq!(status, 200);
    // Delivered: waiting for the rating.
    assert_eq!(s.survey(&a).await.state, SurveyState::AwaitingRating);

    // A stranger's user id quoting A's question.
    let mut stranger = from_user("RU.99", "wamid.stranger-quotes-a", "1");
    stranger["context"] = json!({"from": "15550783881", "id": a_question});
    let (status, answer) = s.meta(vec![stranger]).await;
    assert_eq!(status, 200, "{answer}");
    let a_after = s.survey(&a).await;
    assert_eq!(a_after.rating, None, "A's survey was rated by a stranger");
    assert_eq!(a_after.state, SurveyState::AwaitingRating);
    let kept = s.store.unusable_items().await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].raw.contains("RU.99"), "{kept:?}");

    // B's user id quoting A's question: B's answer to B's own survey.
    let mut b_reply = from_user(b_user, "wamid.b-quotes-a", "2");
    b_reply["context"] = json!({"from": "15550783881", "id": a_question});
    let (status, _) = s.meta(vec![b_reply]).await;
    assert_eq!(status, 200);
    assert_eq!(s.survey(&a).await.rating, None, "A's survey rated by B");
    assert_eq!(s.survey(&b).await.rating.map(|r| r.value()), Some(2));

    // A's user id quoting A's own question: that survey.
    let mut own = from_user(a_user, "wamid.a-quotes-a", "4");
    own["context"] = json!({"from": "15550783881", "id": a_question});
    let (status, _) = s.meta(vec![own]).await;
    assert_eq!(status, 200);
    assert_eq!(s.survey(&a).await.rating.map(|r| r.value()), Some(4));
}

/// Context never crosses customers (issue 18, found by a security probe): a "1" from number B
/// quoting customer A's question (Meta's `context.id`, as a reply to a message carries it in the
/// messages webhook reference) does not rate A's survey; it is B's answer to B's own survey. A
/// quote of B's own question still names its survey.
#[tokio::test]
async fn a_quote_of_another_customers_question_does_not_rate_it() {
    let _turn = turn().await;
    let s = stack("in-quote").await;
    let (a_phone, b_phone) = ("+7 900 518-00-11", "+7 900 518-00-12");
    let a = s.asked(a_phone).await;
    let b = s.asked(b_phone).await;
    let a_question = a.provider_message_id.clone().unwrap();
    let mut reply = text(b_phone, "wamid.b-quotes-a", "1");
    reply["context"] = json!({"from": "15550783881", "id": a_question});
    let (status, answer) = s.meta(vec![reply]).await;
    assert_eq!(status, 200, "{answer}");

    let a_after = s.survey(&a).await;
    assert_eq!(a_after.rating, None, "A's survey was rated by B's message");
    assert_eq!(a_after.state, SurveyState::Sent);
    assert_eq!(s.survey(&b).await.rating.map(|r| r.value()), Some(1));

    // A quoting their own question: that survey, as before.
    let mut own = text(a_phone, "wamid.a-quotes-a", "4");
    own["context"] = json!({"from": "15550783881", "id": a.provider_message_id.clone().unwrap()});
    let (status, _) = s.meta(vec![own]).await;
    assert_eq!(status, 200);
    assert_eq!(s.survey(&a).await.rating.map(|r| r.value()), Some(4));
}

/// A number nobody surveyed quoting a customer's question: nothing is rated.
#[tokio::test]
async fn a_stranger_quoting_a_question_rates_nothing() {
    let _turn = turn().await;
    let s = stack("in-stranger").await;
    let a = s.asked("+7 900 518-00-21").await;
    let mut reply = text("+7 900 518-00-29", "wamid.stranger", "1");
    reply["context"] = json!({"from": "15550783881", "id": a.provider_message_id.clone().unwrap()});
    let (status, answer) = s.meta(vec![reply]).await;
    assert_eq!(status, 200, "{answer}");
    let after = s.survey(&a).await;
    assert_eq!(after.rating, None);
    assert_eq!(after.state, SurveyState::Sent);
}

/// Senders we cannot route are never lost without a trace (issue 18): a number the phone
/// library rejects is kept for inspection (its words with it) and counted; a valid number with
/// no survey of ours is counted as unrouted. Both in one Meta POST, beside a normal answer.
#[tokio::test]
async fn unroutable_senders_are_counted_and_kept() {
    let _turn = turn().await;
    let s = stack("in-unroutable").await;
    let phone = "+7 900 518-00-31";
    let survey = s.asked(phone).await;
    let capture = Capture::start();
    let (status, answer) = s
        .meta(vec![
            text("70000000000", "wamid.rejected-number", "2"),
            text("+7 900 518-00-39", "wamid.no-survey", "3"),
            text(phone, "wamid.normal-3", "5"),
        ])
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(5));
    assert_eq!(capture.sum("UnusableItems", &[("Provider", "meta")]), 1.0);
    assert_eq!(capture.sum("UnroutedMessages", &[]), 1.0);
    let kept = s.store.unusable_items().await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].reason.contains("cannot be routed"), "{kept:?}");
    assert!(kept[0].raw.contains("wamid.rejected-number"), "{kept:?}");
}

/// Edits and deletions (issue 18), Meta's `edit` and `revoke` shapes: an edit after the rating
/// never changes it — the words reach the order and, reading differently, go to the inspector;
/// an edit that arrives before its original takes the original's place (the original, late, is
/// a duplicate); a deletion is not words.
#[tokio::test]
async fn edits_and_deletions() {
    let _turn = turn().await;
    let s = stack("in-edits").await;
    let crm_writes = s.queue(&otklik_aws::resources::CRM_WRITES_QUEUE).await;
    let edit = |from: &str, id: &str, original: &str, body: &str| {
        json!({"from": otklik_flow_tests::digits(from), "id": id, "timestamp": "1749854575",
            "type": "edit", "edit": {"original_message_id": original,
                "message": {"type": "text", "text": {"body": body}}}})
    };

    // Rated 5, then edited to a 1: still 5, the words on the order, the inspector asked.
    let phone = "+7 900 518-00-41";
    let survey = s.asked(phone).await;
    assert_eq!(s.meta(vec![text(phone, "wamid.five", "5")]).await.0, 200);
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(5));
    otklik_flow_tests::drain(&crm_writes).await;
    let (status, _) = s
        .meta(vec![edit(
            phone,
            "wamid.edit-1",
            "wamid.five",
            "1, всё плохо",
        )])
        .await;
    assert_eq!(status, 200);
    let after = s.survey(&survey).await;
    assert_eq!(after.rating.map(|r| r.value()), Some(5));
    let written = otklik_flow_tests::commands(&crm_writes).await;
    assert!(
        written.iter().any(|c| matches!(
            c,
            Command::SaveWords { text, via: Some(Channel::Whatsapp), at: Some(_) }
                if text == "1, всё плохо"
        )),
        "{written:?}"
    );
    assert!(
        written
            .iter()
            .any(|c| matches!(c, Command::NotifyInspector {
            reason: NoticeReason::EditedAfterRating, text } if text == "1, всё плохо")),
        "{written:?}"
    );
    assert!(!written
        .iter()
        .any(|c| matches!(c, Command::WriteRating { .. })));

    // The edit first, its original later: the edit is the answer, the original a duplicate.
    let phone = "+7 900 518-00-42";
    let survey = s.asked(phone).await;
    let (status, _) = s
        .meta(vec![edit(phone, "wamid.edit-2", "wamid.late", "4")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(4));
    assert_eq!(s.meta(vec![text(phone, "wamid.late", "2")]).await.0, 200);
    assert_eq!(s.survey(&survey).await.rating.map(|r| r.value()), Some(4));

    // A deletion says nothing: the survey waits as before.
    let phone = "+7 900 518-00-43";
    let survey = s.asked(phone).await;
    let revoke = json!({"from": otklik_flow_tests::digits(phone), "id": "wamid.del",
        "timestamp": "1697043223", "type": "revoke",
        "revoke": {"original_message_id": "wamid.something"}});
    let (status, answer) = s.meta(vec![revoke]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["queued"], 0, "{answer}");
    let after = s.survey(&survey).await;
    assert_eq!((after.state, after.rating), (SurveyState::Sent, None));
}

/// A number the phone library rejects is still a customer (issue 18, item 3): intake keeps it
/// (unvalidated), dispatch asks on WhatsApp by its digits, and the answer from those digits finds
/// the survey, end to end through the local runner. The number is one the library itself refuses
/// (a Russian length in a range its metadata does not know), found with it here so a newer
/// metadata that learns the range cannot make the test pass for the wrong reason.
#[tokio::test]
async fn a_number_the_phone_library_rejects_is_asked_and_its_answer_rated() {
    let phone = (0..100)
        .map(|i| format!("+7 6{i:02} 555-01-01"))
        .find(|raw| Phone::parse(raw, "RU").is_ok_and(|p| !p.is_validated()))
        .expect("a possible Russian number the library does not know");
    let s = TestStack::start("in-unknown-range").await;
    let d = &s.driver;
    let id = s
        .complete_order(json!({"phone": phone, "customer": {"id": 901}}), &[11])
        .await;
    let digits = otklik_flow_tests::digits(&phone);
    let question = otklik_flow_tests::eventually(
        "the question reaches WhatsApp",
        otklik_flow_tests::WAIT,
        || async { Ok(d.messages_to(&digits).await?.into_iter().next()) },
    )
    .await
    .unwrap();
    assert_eq!(question["provider"], "meta");
    let survey_id =
        otklik_core::model::SurveyId::for_order(&OrderRef::new("main-shop", id).unwrap());
    let asked = s.store.get(&survey_id).await.unwrap().unwrap();
    let kept = asked.contact.phone.as_ref().expect("the phone is kept");
    assert!(!kept.is_validated(), "{kept:?}");
    assert_eq!(kept.digits(), digits);

    d.say("meta", &digits, "5").await.unwrap();
    let rated = otklik_flow_tests::eventually(
        "the answer rates the survey",
        otklik_flow_tests::WAIT,
        || async {
            let sv = s.store.get(&survey_id).await.map_err(|e| e.to_string())?;
            Ok(sv.filter(|sv| sv.rating.is_some()))
        },
    )
    .await
    .unwrap();
    assert_eq!(rated.rating.map(|r| r.value()), Some(5));
    assert_eq!(
        rated.state,
        SurveyState::Closed {
            outcome: Outcome::Rated
        }
    );
}
