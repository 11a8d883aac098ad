//! Green-API: sendMessage, checkWhatsapp, refusals, noAccount, and customer texts through our
//! webhook with the bearer token.

mod common;

use common::*;
use otklik_whatsapp_sim::{MessageKind, NumberBook, Provider, Reply, SimConfig};
use serde_json::{json, Value};

async fn post(url: String, body: Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn send_message_answers_an_id_and_is_recorded() {
    let hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    let (status, body) = post(
        green_url(&sim, "sendMessage"),
        json!({ "chatId": "79001234567@c.us", "message": "Как вам заказ?" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let id = body["idMessage"].as_str().unwrap();
    assert!(id.starts_with("BAE5"), "{id}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");

    let sent = sim.state().messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, id);
    assert_eq!(sent[0].provider, Provider::GreenApi);
    assert_eq!(sent[0].to, "79001234567");
    assert_eq!(sent[0].kind, MessageKind::Text);
    assert_eq!(sent[0].text.as_deref(), Some("Как вам заказ?"));
    assert_eq!(sim.state().stats().green_api_sends, 1);
}

#[tokio::test]
async fn check_whatsapp_follows_the_number_book() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state().set_numbers(NumberBook {
        with_whatsapp: vec!["79001234567".into()],
        without_whatsapp: vec![],
        default: false,
    });
    let url = green_url(&sim, "checkWhatsapp");
    let (status, body) = post(url.clone(), json!({ "phoneNumber": 79001234567u64 })).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "existsWhatsapp": true })
    );
    let (status, body) = post(url.clone(), json!({ "phoneNumber": 79007654321u64 })).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "existsWhatsapp": false })
    );
    // The documented type is an integer of 11–16 digits.
    for bad in [
        json!({ "phoneNumber": "79001234567" }),
        json!({ "phoneNumber": 9001234 }),
        json!({}),
    ] {
        let (status, _) = post(url.clone(), bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    assert_eq!(sim.state().stats().green_api_checks, 4);
}

#[tokio::test]
async fn a_wrong_instance_or_token_is_401() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let body = json!({ "chatId": "79001234567@c.us", "message": "x" });
    for url in [
        format!("{}/waInstance{GREEN_INSTANCE}/sendMessage/wrong", sim.url()),
        format!(
            "{}/waInstance1101000009/sendMessage/{GREEN_TOKEN}",
            sim.url()
        ),
        format!("{}/waInstance1101000009/checkWhatsapp/wrong", sim.url()),
    ] {
        let (status, _) = post(url.clone(), body.clone()).await;
        assert_eq!(status, 401, "{url}");
    }
    assert!(sim.state().messages().is_empty());
    assert_eq!(sim.state().stats().unauthorized, 3);
}

#[tokio::test]
async fn malformed_sends_are_400() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    for bad in [
        json!({ "chatId": "79001234567", "message": "x" }),
        json!({ "chatId": "120363043968066561@g.us", "message": "x" }),
        json!({ "chatId": "79001234567@c.us" }),
        json!({ "chatId": "79001234567@c.us", "message": "" }),
        json!({ "message": "x" }),
    ] {
        let (status, _) = post(green_url(&sim, "sendMessage"), bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    assert!(sim.state().messages().is_empty());
}

#[tokio::test]
async fn a_number_without_whatsapp_is_accepted_then_reported_no_account() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            duplicate_statuses: 2,
            ..SimConfig::default()
        },
    )
    .await;
    sim.state().set_numbers(NumberBook {
        default: false,
        ..NumberBook::default()
    });
    let (status, body) = post(
        green_url(&sim, "sendMessage"),
        json!({ "chatId": "79001234567@c.us", "message": "Как вам заказ?" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["idMessage"]
        .as_str()
        .unwrap()
        .to_owned();

    for _ in 0..2 {
        let got = hooks.next().await;
        assert_eq!(
            got.header("authorization").as_deref(),
            Some(format!("Bearer {GREEN_HOOK_TOKEN}").as_str())
        );
        assert!(got.header("x-hub-signature-256").is_none());
        let payload = got.json();
        assert_eq!(payload["typeWebhook"], "outgoingMessageStatus");
        assert_eq!(payload["idMessage"], id.as_str());
        assert_eq!(payload["status"], "noAccount");
        assert_eq!(payload["chatId"], "79001234567@c.us");
        assert_eq!(payload["sendByApi"], true);
        assert_eq!(payload["instanceData"]["idInstance"], 1101000001u64);
        assert_eq!(payload["instanceData"]["typeInstance"], "whatsapp");
        assert!(payload["timestamp"].is_i64());
    }
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn a_number_with_whatsapp_gets_sent_then_delivered() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    post(
        green_url(&sim, "SendMessage"),
        json!({ "chatId": "79001234567@c.us", "message": "x" }),
    )
    .await;
    for expected in ["sent", "delivered"] {
        let payload = hooks.next().await.json();
        assert_eq!(payload["typeWebhook"], "outgoingMessageStatus");
        assert_eq!(payload["status"], expected);
    }
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn customer_texts_arrive_with_the_bearer_token() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    let state = sim.state();

    let done = state
        .reply(&Reply::text(Provider::GreenApi, "+7 900 123-45-67", "5"))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_eq!(
        got.header("authorization").as_deref(),
        Some(format!("Bearer {GREEN_HOOK_TOKEN}").as_str())
    );
    let payload = got.json();
    assert_eq!(payload["typeWebhook"], "incomingMessageReceived");
    assert_eq!(payload["idMessage"], done.message_id.as_str());
    assert_eq!(payload["senderData"]["chatId"], "79001234567@c.us");
    assert_eq!(payload["senderData"]["sender"], "79001234567@c.us");
    assert!(payload["senderData"]["senderName"].is_string());
    assert_eq!(
        payload["messageData"],
        json!({ "typeMessage": "textMessage", "textMessageData": { "textMessage": "5" } })
    );
    assert_eq!(payload["instanceData"]["wid"], "79000000001@c.us");

    state
        .reply(&Reply::extended_text("79001234567", "пять"))
        .await
        .unwrap();
    let payload = hooks.next().await.json();
    assert_eq!(payload["messageData"]["typeMessage"], "extendedTextMessage");
    assert_eq!(
        payload["messageData"]["extendedTextMessageData"]["text"],
        "пять"
    );
    assert!(payload["messageData"].get("textMessageData").is_none());

    // Same message twice, same id.
    let done = state
        .reply(
            &Reply::text(Provider::GreenApi, "79001234567", "4")
                .with_message_id("F7AEC1B7086ECDC7E6E45923F5EDB825")
                .times(2),
        )
        .await
        .unwrap();
    assert_eq!(done.answers.len(), 2);
    let first = hooks.next().await;
    let second = hooks.next().await;
    assert_eq!(first.body, second.body);
    assert_eq!(
        first.json()["idMessage"],
        "F7AEC1B7086ECDC7E6E45923F5EDB825"
    );
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn an_empty_webhook_token_sends_no_authorization_header() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state().set_green_api_webhook(&hooks.url, "").unwrap();
    sim.state()
        .reply(&Reply::text(Provider::GreenApi, "79001234567", "5"))
        .await
        .unwrap();
    assert!(hooks.next().await.header("authorization").is_none());
}

#[tokio::test]
async fn green_api_answers_are_text_only() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/sim/reply", sim.url()))
        .json(
            &json!({ "provider": "green-api", "from": "79001234567", "buttonPayload": "rating_5" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}
