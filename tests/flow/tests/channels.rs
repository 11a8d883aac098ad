//! The channel chain of a Russian shop in 2026 (`max → sms → email`), end to end through the local
//! runner: dispatch asks on MAX when the customer has an account there (the account check is
//! cached per phone), else by one SMS whose short link leads to the rating page, and records every
//! channel it asked on.

use std::time::Duration;

use otklik_aws::store::ShortLink;
use otklik_core::links::ShortLinkId;
use otklik_core::machine::Survey;
use otklik_core::model::{Channel, OrderRef, SurveyId};
use otklik_core::ports::SurveyStore;
use otklik_flow_tests::{digits, eventually, TestStack, WAIT};
use otklik_local_runner::local::Options;
use otklik_local_runner::stack;
use serde_json::{json, Value};

async fn russian_shop(test: &str) -> TestStack {
    TestStack::start_with(
        test,
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            config_edit: Some(stack::russia_2026),
            ..Default::default()
        },
    )
    .await
}

/// The order's survey, once intake has made it.
async fn survey_of(s: &TestStack, order: u64) -> Option<Survey> {
    let id = SurveyId::for_order(&OrderRef::new("main-shop", order).unwrap());
    s.store.get(&id).await.unwrap()
}

#[tokio::test]
async fn max_first_then_an_sms_with_a_short_link_for_those_without_max() {
    let s = russian_shop("chain-ru").await;
    let with_max = "+79005550701";
    let without_max = "+79005550702";
    s.sim_put(
        "/sim/max/numbers",
        json!({"withMax": [digits(with_max)], "withoutMax": [digits(without_max)]}),
    )
    .await;

    let on_max = s
        .complete_order(json!({"phone": with_max, "email": "a@example.ru"}), &[11])
        .await;
    let by_sms = s
        .complete_order(
            json!({"phone": without_max, "email": "b@example.ru"}),
            &[12],
        )
        .await;

    // The MAX customer gets the question in their MAX chat, and nothing by SMS.
    let chat = eventually("the question reaches MAX", WAIT, || async {
        let chat = s
            .sim_get(&format!("/sim/max/chat?phone={}", digits(with_max)))
            .await;
        let lines = chat["lines"].clone();
        Ok((lines.as_array().is_some_and(|c| !c.is_empty())).then_some(lines))
    })
    .await
    .unwrap();
    assert_eq!(chat[0]["direction"], "out");
    let question = chat[0]["text"].as_str().unwrap();
    assert!(
        question.contains('1') && question.contains('5'),
        "{question}"
    );
    let max_survey = eventually("the MAX survey is marked sent", WAIT, || async {
        let sv = survey_of(&s, on_max).await;
        Ok(sv.filter(|sv| sv.channel == Some(Channel::Max)))
    })
    .await
    .unwrap();
    assert_eq!(max_survey.asked, vec![Channel::Max]);
    assert_eq!(
        max_survey.chain,
        vec![Channel::Max, Channel::Sms, Channel::Email]
    );
    // Before its first MAX send, dispatch had the instance pace its sends (`max.send_interval`,
    // 10 s by default; the simulator's instance started at 5 s), with one setSettings.
    let settings = s.sim_get("/sim/max/settings").await;
    assert_eq!(
        settings["delaySendMessagesMilliseconds"], 10_000,
        "{settings}"
    );
    assert_eq!(settings["setSettingsCalls"], 1, "{settings}");

    // The other one gets one SMS: our words saying who asks, then a short link of its own, in
    // two segments at most.
    let inbox = eventually("the SMS reaches the phone", WAIT, || async {
        let inbox = s
            .sim_get(&format!("/sim/sms/inbox?phone={}", digits(without_max)))
            .await;
        Ok((inbox.as_array().is_some_and(|i| !i.is_empty())).then_some(inbox))
    })
    .await
    .unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    let sms = inbox[0]["text"].as_str().unwrap();
    let segments = inbox[0]["segments"].as_u64().unwrap();
    assert!((1..=2).contains(&segments), "{segments}: {sms}");
    let who = s.config.who();
    assert!(
        sms.contains(&who.sender) && sms.contains(&format!("«{}»", who.shop)),
        "{sms}"
    );
    assert_eq!(inbox[0]["from"], "Otklik");
    let link = sms.rsplit(' ').next().unwrap();
    let prefix = format!("{}/s/", s.api_url());
    let id = link
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{sms}"));
    let id = ShortLinkId::parse(id).unwrap();
    let sms_survey = eventually("the SMS survey is marked sent", WAIT, || async {
        let sv = survey_of(&s, by_sms).await;
        Ok(sv.filter(|sv| sv.channel == Some(Channel::Sms)))
    })
    .await
    .unwrap();
    assert_eq!(sms_survey.asked, vec![Channel::Sms]);
    // The link names that survey, and nothing about the customer.
    let ShortLink { survey, .. } = s.store.short_link(&id).await.unwrap().unwrap();
    assert_eq!(survey, sms_survey.id);
    assert!(!link.contains(&digits(without_max)));
    // Nobody without MAX got a MAX message, nobody on MAX an SMS.
    let no_chat = s
        .sim_get(&format!("/sim/max/chat?phone={}", digits(without_max)))
        .await;
    assert_eq!(no_chat["lines"], json!([]));
    assert_eq!(no_chat["hasMax"], false);
    let no_sms = s
        .sim_get(&format!("/sim/sms/inbox?phone={}", digits(with_max)))
        .await;
    assert_eq!(no_sms, json!([]));
}

#[tokio::test]
async fn a_max_answer_is_rated_and_thanked_in_the_same_chat() {
    let s = russian_shop("chain-max-reply").await;
    let phone = "+79005550711";
    s.sim_put("/sim/max/numbers", json!({"withMax": [digits(phone)]}))
        .await;
    let order = s
        .complete_order(json!({"phone": phone, "customer": {"id": 971}}), &[11, 12])
        .await;
    let chat_of = |p: &'static str| {
        let s = &s;
        async move {
            s.sim_get(&format!("/sim/max/chat?phone={}", digits(p)))
                .await["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    eventually("the question reaches MAX", WAIT, || async {
        Ok((!chat_of(phone).await.is_empty()).then_some(()))
    })
    .await
    .unwrap();

    // The customer answers in the chat: the webhook goes through the MAX route.
    let answered = s
        .reply(json!({"provider": "max", "from": digits(phone), "text": "5"}))
        .await;
    assert!(answered.is_object(), "{answered}");
    let rating = eventually("the rating reaches the order", WAIT, || async {
        let v = s.driver.order("main-shop", order).await?["customFields"]["otklik_rating"].clone();
        Ok((!v.is_null()).then_some(v))
    })
    .await
    .unwrap();
    assert_eq!(rating, json!(5));
    // The thank-you goes back to the same MAX chat, once.
    let thanks = eventually("the thank-you reaches MAX", WAIT, || async {
        let ours: Vec<Value> = chat_of(phone)
            .await
            .into_iter()
            .filter(|l| l["direction"] == "out")
            .collect();
        Ok((ours.len() >= 2).then_some(ours))
    })
    .await
    .unwrap();
    assert_eq!(thanks.len(), 2, "{thanks:?}");
    let sv = survey_of(&s, order).await.unwrap();
    assert_eq!(sv.rating.map(|r| r.value()), Some(5));
    assert_eq!(sv.channel, Some(Channel::Max));
}

/// A customer with `phone` and `email` completes an order; `phone` has no MAX account, and the
/// operator reports its SMS undelivered (SMS.ru code 104) by callback. Their survey once the
/// question has fallen back to email.
async fn mailed_after_the_sms(s: &TestStack, phone: &str, email: &str) -> Survey {
    s.sim_put("/sim/max/numbers", json!({"withoutMax": [digits(phone)]}))
        .await;
    s.sim_put(
        "/sim/sms/numbers",
        json!({"undeliverable": [digits(phone)], "failCode": 104}),
    )
    .await;
    let order = s
        .complete_order(json!({"phone": phone, "email": email}), &[11])
        .await;
    eventually("the question falls back to email", WAIT, || async {
        let sv = survey_of(s, order).await;
        Ok(sv.filter(|sv| sv.channel == Some(Channel::Email)))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_sms_that_is_not_delivered_falls_back_to_email() {
    let s = russian_shop("chain-sms-fails").await;
    let phone = "+79005550721";
    let sv = mailed_after_the_sms(&s, phone, "c@example.ru").await;
    assert_eq!(sv.asked, vec![Channel::Sms, Channel::Email]);
    // One SMS only: the fallback did not send it again.
    let sent = s.sim_get("/sim/sms").await;
    let to_phone: Vec<&Value> = sent
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == digits(phone))
        .collect();
    assert_eq!(to_phone.len(), 1, "{sent}");
}

#[tokio::test]
async fn while_the_max_instance_is_logged_out_even_max_customers_get_the_sms() {
    let s = russian_shop("chain-max-down").await;
    let phone = "+79005550731";
    s.sim_put("/sim/max/numbers", json!({"withMax": [digits(phone)]}))
        .await;
    s.sim_put("/sim/max/state", json!({"stateInstance": "notAuthorized"}))
        .await;
    let order = s
        .complete_order(json!({"phone": phone, "customer": {"id": 973}}), &[11])
        .await;
    let sv = eventually("the question goes by SMS", WAIT, || async {
        let sv = survey_of(&s, order).await;
        Ok(sv.filter(|sv| sv.channel == Some(Channel::Sms)))
    })
    .await
    .unwrap();
    // MAX was not even among the candidates, and nothing went to the MAX chat.
    assert_eq!(sv.chain, vec![Channel::Sms]);
    let chat = s
        .sim_get(&format!("/sim/max/chat?phone={}", digits(phone)))
        .await;
    assert_eq!(chat["lines"], json!([]));
}

/// `sms → max → email`: the SMS is not delivered, and the fallback to MAX finds no account.
fn sms_before_max(config: String) -> String {
    stack::russia_2026(config).replace(
        "chain = [\"max\", \"sms\", \"email\"]",
        "chain = [\"sms\", \"max\", \"email\"]",
    )
}

#[tokio::test]
async fn a_fallback_to_a_messenger_without_an_account_goes_on_down_the_chain() {
    // Dispatch itself decides this step (no MAX account: the next channel), and its engine
    // could queue nothing: the email's request stayed in the survey's outbox and the customer
    // was never asked again.
    let s = TestStack::start_with(
        "chain-max-unreachable",
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            config_edit: Some(sms_before_max),
            ..Default::default()
        },
    )
    .await;
    let phone = "+79005550741";
    let sv = mailed_after_the_sms(&s, phone, "d@example.ru").await;
    assert_eq!(sv.asked, vec![Channel::Sms, Channel::Email], "{sv:?}");
    assert!(sv.pending.is_empty(), "{sv:?}");
    let chat = s
        .sim_get(&format!("/sim/max/chat?phone={}", digits(phone)))
        .await;
    assert_eq!(chat["lines"], json!([]));
}
