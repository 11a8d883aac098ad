//! Meta Cloud API: sends, refusals, automatic statuses, and customer answers through our webhook.

mod common;

use common::*;
use otklik_whatsapp_sim::{
    ConfigPatch, MessageKind, NumberBook, Provider, Reply, SimConfig, StatusUpdate,
};
use serde_json::{json, Value};

#[tokio::test]
async fn a_text_send_is_answered_like_meta_and_recorded() {
    let hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;

    let (status, body) = meta_send(&sim, meta_text("+79001234567", "Как вам заказ?")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(
        body["contacts"],
        json!([{ "input": "+79001234567", "wa_id": "79001234567" }])
    );
    let id = body["messages"][0]["id"].as_str().unwrap();
    assert!(id.starts_with("wamid."), "{id}");

    let sent = sim.state().messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, id);
    assert_eq!(sent[0].provider, Provider::Meta);
    assert_eq!(sent[0].to, "79001234567");
    assert_eq!(sent[0].kind, MessageKind::Text);
    assert_eq!(sent[0].text.as_deref(), Some("Как вам заказ?"));
    assert!(sent[0].has_whatsapp);
    assert_eq!(sim.state().stats().meta_sends, 1);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_401_with_code_190() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let client = reqwest::Client::new();

    for auth in [Some("Bearer not-the-token"), Some("meta-token"), None] {
        let mut request = client
            .post(meta_url(&sim))
            .json(&meta_text("79001234567", "hi"));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], 190, "{body}");
        assert_eq!(body["error"]["type"], "OAuthException");
        assert!(body["error"]["message"].is_string());
        assert!(body["error"]["fbtrace_id"].is_string());
    }
    assert!(sim.state().messages().is_empty());
    assert_eq!(sim.state().stats().unauthorized, 3);
}

#[tokio::test]
async fn malformed_sends_are_400_with_a_graph_error_and_not_recorded() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let cases = [
        (
            json!({ "to": "79001234567", "type": "text", "text": { "body": "x" } }),
            100,
        ),
        (
            json!({ "messaging_product": "sms", "to": "79001234567", "text": { "body": "x" } }),
            100,
        ),
        (
            json!({ "messaging_product": "whatsapp", "type": "text", "text": { "body": "x" } }),
            100,
        ),
        (
            json!({ "messaging_product": "whatsapp", "to": "8 (900) 123-45-67", "text": { "body": "x" } }),
            131009,
        ),
        (
            json!({ "messaging_product": "whatsapp", "to": "79001234567", "type": "text", "text": {} }),
            100,
        ),
        (
            json!({ "messaging_product": "whatsapp", "to": "79001234567", "type": "template",
                 "template": { "name": "feedback" } }),
            100,
        ),
        (
            json!({ "messaging_product": "whatsapp", "to": "79001234567", "type": "image",
                 "image": { "link": "https://example.com/a.jpg" } }),
            100,
        ),
        (
            json!({ "messaging_product": "whatsapp", "to": "79001234567", "type": "interactive",
                 "interactive": { "type": "button", "body": { "text": "Оцените" },
                   "action": { "buttons": [
                     { "type": "reply", "reply": { "id": "1", "title": "1" } },
                     { "type": "reply", "reply": { "id": "2", "title": "2" } },
                     { "type": "reply", "reply": { "id": "3", "title": "3" } },
                     { "type": "reply", "reply": { "id": "4", "title": "4" } } ] } } }),
            100,
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = meta_send(&sim, body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{body} → {answer}");
    }

    // Not JSON at all.
    let resp = reqwest::Client::new()
        .post(meta_url(&sim))
        .bearer_auth(META_TOKEN)
        .body("to=79001234567")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    // Another business's phone number id.
    let resp = reqwest::Client::new()
        .post(format!("{}/v21.0/999/messages", sim.url()))
        .bearer_auth(META_TOKEN)
        .json(&meta_text("79001234567", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["error_subcode"], 33, "{body}");

    assert!(sim.state().messages().is_empty());
    assert_eq!(sim.state().stats().bad_requests, 10);
    hooks_stay_quiet(hooks).await;
}

async fn hooks_stay_quiet(mut hooks: Receiver) {
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn a_template_send_records_name_language_params_and_buttons() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let request = json!({
        "messaging_product": "whatsapp",
        "to": "79001234567",
        "type": "template",
        "template": {
            "name": "order_feedback_v2",
            "language": { "code": "ru" },
            "components": [
                { "type": "body", "parameters": [{ "type": "text", "text": "Анна" }] },
                { "type": "button", "sub_type": "quick_reply", "index": "0",
                  "parameters": [{ "type": "payload", "payload": "rating_5" }] },
                { "type": "button", "sub_type": "quick_reply", "index": "1",
                  "parameters": [{ "type": "payload", "payload": "rating_1" }] }
            ]
        }
    });
    let (status, body) = meta_send(&sim, request.clone()).await;
    assert_eq!(status, 200, "{body}");

    let sent = &sim.state().messages()[0];
    assert_eq!(sent.kind, MessageKind::Template);
    assert_eq!(sent.template.as_deref(), Some("order_feedback_v2"));
    assert_eq!(sent.language.as_deref(), Some("ru"));
    assert_eq!(sent.params, vec!["Анна"]);
    assert_eq!(sent.buttons, vec!["rating_5", "rating_1"]);
    assert_eq!(sent.text, None);
    assert_eq!(sent.request, request);
}

#[tokio::test]
async fn an_interactive_send_records_body_and_button_ids() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let (status, body) = meta_send(
        &sim,
        json!({
            "messaging_product": "whatsapp",
            "to": "79001234567",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": { "text": "Перезвонить вам?" },
                "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "yes", "title": "Да" } },
                    { "type": "reply", "reply": { "id": "no", "title": "Нет" } }
                ] }
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sent = &sim.state().messages()[0];
    assert_eq!(sent.kind, MessageKind::Interactive);
    assert_eq!(sent.text.as_deref(), Some("Перезвонить вам?"));
    assert_eq!(sent.buttons, vec!["yes", "no"]);
}

#[tokio::test]
async fn a_number_without_whatsapp_is_accepted_then_fails_with_131026_duplicated() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            duplicate_statuses: 3,
            ..SimConfig::default()
        },
    )
    .await;
    sim.state().set_numbers(NumberBook {
        without_whatsapp: vec!["+7 900 000-00-00".into()],
        ..NumberBook::default()
    });

    let (status, body) = meta_send(&sim, meta_text("79000000000", "Как вам заказ?")).await;
    // Meta cannot tell beforehand: the send itself succeeds.
    assert_eq!(status, 200, "{body}");
    let id = body["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(!sim.state().messages()[0].has_whatsapp);

    let mut bodies = Vec::new();
    for _ in 0..3 {
        let got = hooks.next().await;
        assert_signed(&got);
        assert_eq!(
            got.header("content-type").as_deref(),
            Some("application/json")
        );
        let payload = got.json();
        let value = meta_value(&payload);
        assert_eq!(value["metadata"]["phone_number_id"], PHONE_ID);
        let status = &value["statuses"][0];
        assert_eq!(status["id"], id.as_str());
        assert_eq!(status["status"], "failed");
        assert_eq!(status["recipient_id"], "79000000000");
        assert!(status["timestamp"].as_str().unwrap().parse::<i64>().is_ok());
        assert_eq!(status["errors"][0]["code"], 131026);
        assert_eq!(status["errors"][0]["title"], "Message undeliverable");
        bodies.push(got.body);
    }
    // A duplicate is the same delivery again, byte for byte.
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    hooks.assert_quiet().await;
    sim.state().settle().await;
    assert_eq!(sim.state().stats().webhooks.delivered, 3);
}

#[tokio::test]
async fn a_number_with_whatsapp_gets_sent_then_delivered() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let (_, body) = meta_send(&sim, meta_text("79001234567", "Как вам заказ?")).await;
    let id = body["messages"][0]["id"].as_str().unwrap().to_owned();

    for expected in ["sent", "delivered"] {
        let got = hooks.next().await;
        assert_signed(&got);
        let payload = got.json();
        let status = &meta_value(&payload)["statuses"][0];
        assert_eq!(status["status"], expected);
        assert_eq!(status["id"], id.as_str());
        assert!(status.get("errors").is_none());
    }
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn automatic_statuses_can_be_switched_off() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state()
        .update_config(ConfigPatch {
            auto_statuses: Some(false),
            ..ConfigPatch::default()
        })
        .unwrap();
    meta_send(&sim, meta_text("79001234567", "x")).await;
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn customer_answers_arrive_in_meta_shapes_with_a_valid_signature() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    let (_, body) = meta_send(&sim, meta_text("79001234567", "Как вам заказ?")).await;
    let ours = body["messages"][0]["id"].as_str().unwrap().to_owned();
    let state = sim.state();

    // Typed text.
    let done = state
        .reply(&Reply::text(Provider::Meta, "79001234567", "5"))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_signed(&got);
    let payload = got.json();
    let value = meta_value(&payload);
    assert_eq!(value["contacts"][0]["wa_id"], "79001234567");
    assert!(value["contacts"][0]["profile"]["name"].is_string());
    let message = &value["messages"][0];
    assert_eq!(message["from"], "79001234567");
    assert_eq!(message["id"], done.message_id.as_str());
    assert!(message["timestamp"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());
    assert_eq!(message["type"], "text");
    assert_eq!(message["text"]["body"], "5");
    assert!(
        message.get("context").is_none(),
        "typed text quotes nothing"
    );
    assert_eq!(done.pairs(), vec![(200, "ok".to_owned())]);

    // A template's quick-reply button: answers the last message by default.
    state
        .reply(&Reply::button("79001234567", "rating_5", "5"))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_signed(&got);
    let payload = got.json();
    let message = &meta_value(&payload)["messages"][0];
    assert_eq!(message["type"], "button");
    assert_eq!(
        message["button"],
        json!({ "payload": "rating_5", "text": "5" })
    );
    assert_eq!(message["context"]["id"], ours.as_str());

    // An interactive reply button.
    state
        .reply(&Reply::interactive("79001234567", "5", "Отлично"))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_signed(&got);
    let payload = got.json();
    let message = &meta_value(&payload)["messages"][0];
    assert_eq!(message["type"], "interactive");
    assert_eq!(
        message["interactive"],
        json!({ "type": "button_reply", "button_reply": { "id": "5", "title": "Отлично" } })
    );
    assert_eq!(message["context"]["id"], ours.as_str());

    // A reaction.
    state
        .reply(&Reply::reaction("79001234567", "👍", &ours))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_signed(&got);
    let payload = got.json();
    let message = &meta_value(&payload)["messages"][0];
    assert_eq!(message["type"], "reaction");
    assert_eq!(
        message["reaction"],
        json!({ "message_id": ours, "emoji": "👍" })
    );
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn a_wrong_app_secret_would_not_match_the_signature() {
    // The receiver's check must be able to fail: sign with one secret, verify with another.
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state()
        .set_meta_webhook(&hooks.url, "another-secret")
        .unwrap();
    sim.state()
        .reply(&Reply::text(Provider::Meta, "79001234567", "5"))
        .await
        .unwrap();
    let got = hooks.next().await;
    let header = got.header("x-hub-signature-256").unwrap();
    assert_ne!(header, expected_signature(APP_SECRET, &got.body));
    assert_eq!(header, expected_signature("another-secret", &got.body));
}

#[tokio::test]
async fn times_two_delivers_the_same_message_twice_over_http() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    hooks.answer_with(202, "queued");
    let resp = reqwest::Client::new()
        .post(format!("{}/sim/reply", sim.url()))
        .json(&json!({
            "provider": "meta", "from": "+79001234567", "text": "5",
            "messageId": "wamid.customer-1", "times": 2
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["messageId"], "wamid.customer-1");
    assert_eq!(
        answer["answers"],
        json!([
            { "status": 202, "body": "queued", "error": null },
            { "status": 202, "body": "queued", "error": null }
        ])
    );

    let first = hooks.next().await;
    let second = hooks.next().await;
    assert_eq!(first.body, second.body);
    assert_signed(&second);
    let payload = first.json();
    assert_eq!(
        meta_value(&payload)["messages"][0]["id"],
        "wamid.customer-1"
    );
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn the_reaction_short_form_names_the_message_reacted_to() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/sim/reply", sim.url()))
        .json(&json!({
            "provider": "meta", "from": "79001234567", "reaction": "👍", "messageId": "wamid.ours"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let payload = hooks.next().await.json();
    let message = &meta_value(&payload)["messages"][0];
    assert_eq!(message["reaction"]["message_id"], "wamid.ours");
    assert_ne!(message["id"], "wamid.ours");
}

#[tokio::test]
async fn a_status_can_be_posted_by_hand_with_any_error_code() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    let (_, body) = meta_send(&sim, meta_text("79001234567", "x")).await;
    let id = body["messages"][0]["id"].as_str().unwrap().to_owned();

    let done = sim
        .state()
        .status(&StatusUpdate::new(Provider::Meta, &id, "read").times(2))
        .await
        .unwrap();
    assert_eq!(done.answers.len(), 2);
    for _ in 0..2 {
        let got = hooks.next().await;
        assert_signed(&got);
        let payload = got.json();
        let status = &meta_value(&payload)["statuses"][0];
        assert_eq!(status["status"], "read");
        assert_eq!(status["recipient_id"], "79001234567");
    }

    let resp = reqwest::Client::new()
        .post(format!("{}/sim/status", sim.url()))
        .json(&json!({ "provider": "meta", "messageId": id, "status": "failed", "errorCode": 131047 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let payload = hooks.next().await.json();
    assert_eq!(
        meta_value(&payload)["statuses"][0]["errors"][0]["code"],
        131047
    );

    // noAccount is Green-API's word; a status for an unknown message needs "to".
    for bad in [
        json!({ "provider": "meta", "messageId": id, "status": "noAccount" }),
        json!({ "provider": "meta", "messageId": "wamid.unknown", "status": "sent" }),
        json!({ "provider": "meta", "messageId": id, "status": "sent", "errorCode": 131026 }),
    ] {
        let resp = reqwest::Client::new()
            .post(format!("{}/sim/status", sim.url()))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
    }
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn replies_without_a_webhook_or_with_two_contents_are_refused() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let client = reqwest::Client::new();
    let both = client
        .post(format!("{}/sim/reply", sim.url()))
        .json(&json!({ "provider": "meta", "from": "79001234567", "text": "5", "buttonPayload": "rating_5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status().as_u16(), 400);
    let typo = client
        .post(format!("{}/sim/reply", sim.url()))
        .json(&json!({ "provider": "meta", "from": "79001234567", "txt": "5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status().as_u16(), 400);

    sim.state().set_meta_webhook("", APP_SECRET).unwrap();
    let nowhere = client
        .post(format!("{}/sim/reply", sim.url()))
        .json(&json!({ "provider": "meta", "from": "79001234567", "text": "5" }))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status().as_u16(), 409);
}

#[tokio::test]
async fn a_failed_webhook_is_posted_again_up_to_the_retries_and_a_good_one_once() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            webhook_retries: 2,
            ..SimConfig::default()
        },
    )
    .await;
    let reply = |id: &str| json!({"provider": "meta", "from": "+79001234567", "text": "5", "messageId": id});
    let http = reqwest::Client::new();

    hooks.answer_with(500, "down");
    let answer: Value = http
        .post(format!("{}/sim/reply", sim.url()))
        .json(&reply("wamid.retry-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // One answer per requested delivery: the last attempt's.
    assert_eq!(answer["answers"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["answers"][0]["status"], 500, "{answer}");
    let first = hooks.next().await.body;
    for _ in 0..2 {
        assert_eq!(hooks.next().await.body, first, "a retry is the same bytes");
    }
    hooks.assert_quiet().await;

    hooks.answer_with(200, "ok");
    http.post(format!("{}/sim/reply", sim.url()))
        .json(&reply("wamid.retry-2"))
        .send()
        .await
        .unwrap();
    hooks.next().await;
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn reversed_statuses_arrive_delivered_before_sent() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            reverse_statuses: true,
            ..SimConfig::default()
        },
    )
    .await;
    meta_send(&sim, meta_text("79001234567", "Как вам заказ?")).await;
    for expected in ["delivered", "sent"] {
        let payload = hooks.next().await.json();
        assert_eq!(meta_value(&payload)["statuses"][0]["status"], expected);
    }
    hooks.assert_quiet().await;
}
