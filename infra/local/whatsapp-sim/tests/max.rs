//! The GREEN-API v3 MAX instance: sendMessage, checkAccount, getStateInstance, their refusals,
//! the statuses it posts, and customer messages (text, extended text, swipe-reply, reaction)
//! through our webhook with the bearer token — in the shapes of green-api.com/v3/docs.

mod common;

use common::*;
use otklik_whatsapp_sim::{max, MaxBook, MessageKind, Provider, Reply, SimConfig};
use serde_json::{json, Value};

fn quiet() -> SimConfig {
    SimConfig {
        auto_statuses: false,
        ..SimConfig::default()
    }
}

fn book(with: &[&str]) -> MaxBook {
    MaxBook {
        with_max: with.iter().map(|s| s.to_string()).collect(),
        without_max: Vec::new(),
        default: false,
        failing: Vec::new(),
        undeliverable: Vec::new(),
    }
}

async fn check(sim: &otklik_whatsapp_sim::SimHandle, body: Value) -> (u16, String) {
    post_json(max_url(sim, "checkAccount"), body).await
}

#[tokio::test]
async fn check_account_answers_exist_and_chat_id_per_the_book() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    sim.state()
        .set_max_numbers(book(&["79991234567", "375291234567"]));

    let (status, body) = check(&sim, json!({ "phoneNumber": 79991234567u64 })).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["exist"], true);
    let chat = answer["chatId"].as_str().unwrap();
    assert_eq!(chat, max::chat_id_for("79991234567"));
    assert!(chat.bytes().all(|b| b.is_ascii_digit()), "{chat}");
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");

    // A Belarusian number, with the documented `force` flag.
    let (status, body) = check(
        &sim,
        json!({ "phoneNumber": 375291234567u64, "force": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["exist"], true);

    // No account: the documented answer has an empty chatId.
    let (status, body) = check(&sim, json!({ "phoneNumber": 79990000000u64 })).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "exist": false, "chatId": "" })
    );
    assert_eq!(sim.state().stats().max_checks, 3);
}

#[tokio::test]
async fn check_account_refuses_what_the_docs_do_not_allow() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    for bad in [
        // Only +7 (11 digits) and +375 (12 digits) numbers.
        json!({ "phoneNumber": 380501234567u64 }),
        json!({ "phoneNumber": 4915112345678u64 }),
        json!({ "phoneNumber": 7999123456u64 }),
        // The documented type is an integer.
        json!({ "phoneNumber": "79991234567" }),
        json!({ "phoneNumber": 79991234567u64, "force": "yes" }),
        json!({ "force": true }),
    ] {
        let (status, body) = check(&sim, bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.starts_with("Validation failed. Details: "), "{body}");
    }
    let (status, body) = check(&sim, json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "Validation failed. Details: 'value' must have at least 1 key"
    );
    assert_eq!(sim.state().stats().bad_requests, 7);
}

#[tokio::test]
async fn send_message_answers_an_id_and_records_the_chat() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    sim.state().set_max_numbers(book(&["79991234567"]));
    let (_, body) = check(&sim, json!({ "phoneNumber": 79991234567u64 })).await;
    let chat = serde_json::from_str::<Value>(&body).unwrap()["chatId"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": chat, "message": "Как вам заказ? Ответьте цифрой от 1 до 5" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
    let id = answer["idMessage"].as_str().unwrap();
    assert!(
        id.len() >= 16 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );

    // The first message may go to the number itself, as the v3 SendMessage page allows.
    let (status, _) = post_json(
        max_url(&sim, "SendMessage"),
        json!({ "chatId": "79991234567", "message": "второе" }),
    )
    .await;
    assert_eq!(status, 200);

    let sent = sim.state().messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].id, id);
    assert_eq!(sent[0].provider, Provider::Max);
    assert_eq!(sent[0].to, "79991234567");
    assert_eq!(sent[0].chat_id.as_deref(), Some(chat.as_str()));
    assert_eq!(sent[0].kind, MessageKind::Text);
    assert!(sent[0].has_whatsapp, "the number has MAX");
    assert_eq!(sent[1].chat_id.as_deref(), Some(chat.as_str()));
    let stats = sim.state().stats();
    assert_eq!(stats.max_sends, 2);
    assert_eq!(stats.green_api_sends, 0);

    // The sends show on the control API under provider=max.
    let (_, listed) = get_text(format!("{}/sim/messages?provider=max", sim.url())).await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn malformed_sends_are_400_and_not_recorded() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    for bad in [
        json!({ "chatId": "79991234567@c.us", "message": "x" }),
        json!({ "chatId": "-10012345678", "message": "x" }),
        json!({ "chatId": 12345678, "message": "x" }),
        json!({ "chatId": "", "message": "x" }),
        json!({ "chatId": "12345678" }),
        json!({ "chatId": "12345678", "message": "" }),
        json!({ "chatId": "12345678", "message": "я".repeat(4001) }),
        json!({ "message": "x" }),
    ] {
        let (status, body) = post_json(max_url(&sim, "sendMessage"), bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body.starts_with("Validation failed. Details: "), "{body}");
    }
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": "12345678", "message": "я".repeat(4000) }),
    )
    .await;
    assert_eq!(status, 200, "4000 characters is the documented limit");
    assert_eq!(sim.state().messages().len(), 1);
}

#[tokio::test]
async fn a_wrong_instance_or_token_is_401_and_the_v3_prefix_is_optional() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let base = sim.url();
    for (url, body) in [
        (
            format!("{base}/v3/waInstance{MAX_INSTANCE}/sendMessage/wrong"),
            json!({ "chatId": "12345678", "message": "x" }),
        ),
        (
            format!("{base}/v3/waInstance3100000009/checkAccount/{MAX_TOKEN}"),
            json!({ "phoneNumber": 79991234567u64 }),
        ),
        // The WhatsApp instance's token does not open the MAX instance.
        (
            format!("{base}/v3/waInstance{MAX_INSTANCE}/checkAccount/{GREEN_TOKEN}"),
            json!({ "phoneNumber": 79991234567u64 }),
        ),
    ] {
        let (status, text) = post_json(url.clone(), body).await;
        assert_eq!(status, 401, "{url}");
        assert_eq!(text, "Unauthorized");
    }
    let (status, _) = get_text(format!(
        "{base}/v3/waInstance{MAX_INSTANCE}/getStateInstance/wrong"
    ))
    .await;
    assert_eq!(status, 401);
    assert_eq!(sim.state().stats().unauthorized, 4);

    // Without `v3` the MAX instance still answers, as the gateway's unified paths do.
    let (status, body) = get_text(format!(
        "{base}/waInstance{MAX_INSTANCE}/getStateInstance/{MAX_TOKEN}"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    // A method called with the wrong verb.
    let (status, _) = post_json(max_url(&sim, "getStateInstance"), json!({})).await;
    assert_eq!(status, 405);
    assert!(sim.state().messages().is_empty());
}

#[tokio::test]
async fn get_state_instance_follows_the_control_api() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let state = || async {
        let (status, body) = get_text(max_url(&sim, "getStateInstance")).await;
        assert_eq!(status, 200);
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(state().await, json!({ "stateInstance": "authorized" }));

    let client = reqwest::Client::new();
    for value in ["blocked", "suspended", "notAuthorized", "starting"] {
        let resp = client
            .put(format!("{}/sim/max/state", sim.url()))
            .json(&json!({ "stateInstance": value }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(state().await, json!({ "stateInstance": value }));
    }
    let resp = client
        .put(format!("{}/sim/max/state", sim.url()))
        .json(&json!({ "stateInstance": "sleeping" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    hooks.assert_quiet().await;

    // With notify, the gateway's stateInstanceChanged goes to the webhook.
    let resp = client
        .put(format!("{}/sim/max/state", sim.url()))
        .json(&json!({ "stateInstance": "authorized", "notify": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let got = hooks.next().await;
    assert_eq!(
        got.header("authorization").as_deref(),
        Some(format!("Bearer {MAX_HOOK_TOKEN}").as_str())
    );
    let payload = got.json();
    assert_eq!(payload["typeWebhook"], "stateInstanceChanged");
    assert_eq!(payload["stateInstance"], "authorized");
    assert_eq!(payload["instanceData"]["typeInstance"], "v3");
    assert_eq!(payload["instanceData"]["idInstance"], 3100000001u64);
}

#[tokio::test]
async fn sends_get_sent_then_delivered_or_failed_with_the_chat_id() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state().set_max_numbers(book(&["79991234567"]));
    let chat = max::chat_id_for("79991234567");

    let (_, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": chat, "message": "x" }),
    )
    .await;
    let id = serde_json::from_str::<Value>(&body).unwrap()["idMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    for expected in ["sent", "delivered"] {
        let got = hooks.next().await;
        assert_eq!(
            got.header("authorization").as_deref(),
            Some(format!("Bearer {MAX_HOOK_TOKEN}").as_str())
        );
        let payload = got.json();
        assert_eq!(payload["typeWebhook"], "outgoingMessageStatus");
        assert_eq!(payload["status"], expected);
        assert_eq!(payload["idMessage"], id.as_str());
        assert_eq!(payload["chatId"], chat.as_str());
        assert_eq!(payload["sendByApi"], true);
        assert_eq!(payload["instanceData"]["typeInstance"], "v3");
        assert!(payload["timestamp"].is_i64());
        assert!(payload.get("description").is_none());
    }

    // A number without MAX: accepted, then `failed` (v3 has no `noAccount`).
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": "79990000000", "message": "x" }),
    )
    .await;
    assert_eq!(status, 200);
    let payload = hooks.next().await.json();
    assert_eq!(payload["status"], "failed");
    assert!(payload["description"].is_string());
    hooks.assert_quiet().await;

    // An instance that is not authorized holds its queue: accepted, nothing reported.
    sim.state().set_max_state("blocked", false).await.unwrap();
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": chat, "message": "x" }),
    )
    .await;
    assert_eq!(status, 200);
    sim.state().settle().await;
    hooks.assert_quiet().await;
    assert_eq!(sim.state().stats().max_sends, 3);
}

#[tokio::test]
async fn a_failing_number_has_an_account_but_its_messages_are_reported_failed() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    // Over HTTP, as the demo sets it up.
    let r = reqwest::Client::new()
        .put(format!("{}/sim/max/numbers", sim.url()))
        .json(&json!({"withMax": ["+7 999 123-45-67"], "failing": ["+7 999 123-45-67"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, body) = check(&sim, json!({ "phoneNumber": 79991234567u64 })).await;
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["exist"], true, "the account exists: {answer}");
    let chat = answer["chatId"].as_str().unwrap().to_owned();
    let (status, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": chat, "message": "x" }),
    )
    .await;
    assert_eq!(status, 200, "accepted: {body}");
    let payload = hooks.next().await.json();
    assert_eq!(payload["status"], "failed");
    assert_eq!(payload["chatId"], chat.as_str());
    assert!(payload["description"].is_string());
    hooks.assert_quiet().await;
    // The chat shows our message with its status, as the sandbox page does.
    let line = &sim.state().max_chat("79991234567")[0];
    assert_eq!(line.status.as_deref(), Some("failed"));
}

#[tokio::test]
async fn customer_messages_arrive_with_the_bearer_token_and_the_documented_fields() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let state = sim.state();
    let chat = max::chat_id_for("79991234567");

    let done = state
        .reply(&Reply::text(Provider::Max, "+7 999 123-45-67", "5"))
        .await
        .unwrap();
    let got = hooks.next().await;
    assert_eq!(
        got.header("authorization").as_deref(),
        Some(format!("Bearer {MAX_HOOK_TOKEN}").as_str())
    );
    let payload = got.json();
    assert_eq!(payload["typeWebhook"], "incomingMessageReceived");
    assert_eq!(payload["idMessage"], done.message_id.as_str());
    assert_eq!(payload["instanceData"]["typeInstance"], "v3");
    assert_eq!(payload["instanceData"]["idInstance"], 3100000001u64);
    assert!(payload["instanceData"]["wid"].is_string());
    assert!(payload["timestamp"].is_i64());
    let sender = &payload["senderData"];
    assert_eq!(sender["chatId"], chat.as_str());
    assert_eq!(sender["sender"], chat.as_str());
    assert_eq!(sender["senderPhoneNumber"], 79991234567u64);
    assert!(sender["senderName"].is_string());
    assert!(sender["chatName"].is_string());
    assert_eq!(
        payload["messageData"],
        json!({ "typeMessage": "textMessage", "textMessageData": { "textMessage": "5" } })
    );

    state
        .reply(&Reply {
            extended: true,
            ..Reply::text(Provider::Max, "79991234567", "пять")
        })
        .await
        .unwrap();
    let data = hooks.next().await.json()["messageData"].clone();
    assert_eq!(data["typeMessage"], "extendedTextMessage");
    assert_eq!(data["extendedTextMessageData"]["text"], "пять");
    assert!(data.get("quotedMessage").is_none());
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn a_swipe_reply_quotes_our_message_and_a_reaction_names_it() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let (_, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": "79991234567", "message": "Оцените заказ от 1 до 5" }),
    )
    .await;
    let ours = serde_json::from_str::<Value>(&body).unwrap()["idMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = sim.state();

    state
        .reply(&Reply::max_quoted("79991234567", "4", &ours))
        .await
        .unwrap();
    let data = hooks.next().await.json()["messageData"].clone();
    assert_eq!(data["typeMessage"], "quotedMessage");
    assert_eq!(data["extendedTextMessageData"]["text"], "4");
    assert_eq!(data["extendedTextMessageData"]["stanzaId"], ours.as_str());
    assert_eq!(data["quotedMessage"]["stanzaId"], ours.as_str());
    assert_eq!(data["quotedMessage"]["typeMessage"], "textMessage");
    assert_eq!(
        data["quotedMessage"]["textMessage"],
        "Оцените заказ от 1 до 5"
    );

    // Through the control route: `quote: true` quotes our last message to the number.
    let (status, body) = post_json(
        format!("{}/sim/reply", sim.url()),
        json!({ "provider": "max", "from": "79991234567", "text": "5", "quote": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = hooks.next().await.json()["messageData"].clone();
    assert_eq!(data["quotedMessage"]["stanzaId"], ours.as_str());

    // A plain text quotes nothing even though we wrote to the number before.
    state
        .reply(&Reply::text(Provider::Max, "79991234567", "3"))
        .await
        .unwrap();
    assert_eq!(
        hooks.next().await.json()["messageData"]["typeMessage"],
        "textMessage"
    );

    let (status, body) = post_json(
        format!("{}/sim/reply", sim.url()),
        json!({ "provider": "max", "from": "79991234567", "reaction": "👍" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = hooks.next().await.json()["messageData"].clone();
    assert_eq!(data["typeMessage"], "reactionMessage");
    assert_eq!(data["extendedTextMessageData"]["text"], "👍");
    assert_eq!(data["quotedMessage"]["stanzaId"], ours.as_str());
    hooks.assert_quiet().await;
}

#[tokio::test]
async fn refused_replies_explain_themselves() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    for bad in [
        // MAX lives on +7 and +375 numbers.
        json!({ "provider": "max", "from": "380501234567", "text": "5" }),
        // Buttons are Meta's.
        json!({ "provider": "max", "from": "79991234567", "buttonPayload": "rating_5" }),
        // SMS is one-way.
        json!({ "provider": "sms-ru", "from": "79991234567", "text": "5" }),
    ] {
        let (status, body) = post_json(format!("{}/sim/reply", sim.url()), bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_chat_shows_both_sides_with_our_statuses() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let (_, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": "79991234567", "message": "Как вам заказ?" }),
    )
    .await;
    let ours = serde_json::from_str::<Value>(&body).unwrap()["idMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.state().settle().await;
    sim.state()
        .reply(&Reply::max_quoted("79991234567", "5", &ours))
        .await
        .unwrap();

    let (status, body) = get_text(format!("{}/sim/max/chat?phone=%2B79991234567", sim.url())).await;
    assert_eq!(status, 200, "{body}");
    let chat: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(chat["phone"], "79991234567");
    assert_eq!(chat["chatId"], max::chat_id_for("79991234567").as_str());
    assert_eq!(chat["hasMax"], true);
    let lines = chat["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{chat}");
    assert_eq!(lines[0]["direction"], "out");
    assert_eq!(lines[0]["text"], "Как вам заказ?");
    assert_eq!(lines[0]["status"], "delivered");
    assert_eq!(lines[1]["direction"], "in");
    assert_eq!(lines[1]["text"], "5");
    assert_eq!(lines[1]["quotedMessageId"], ours.as_str());

    let (status, _) = get_text(format!("{}/sim/max/chat", sim.url())).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_number_book_is_set_and_read_over_http() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let client = reqwest::Client::new();
    let resp = client
        .put(format!("{}/sim/max/numbers", sim.url()))
        .json(&json!({ "withMax": [], "withoutMax": ["+7 999 000-00-00"], "default": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, body) = check(&sim, json!({ "phoneNumber": 79990000000u64 })).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["exist"],
        false
    );
    let (_, body) = check(&sim, json!({ "phoneNumber": 79991111111u64 })).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["exist"], true);
    let (_, body) = get_text(format!("{}/sim/max/numbers", sim.url())).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["withoutMax"],
        json!(["+7 999 000-00-00"])
    );
    let resp = client
        .put(format!("{}/sim/max/numbers", sim.url()))
        .json(&json!({ "withWhatsapp": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "unknown keys are refused");
}

#[tokio::test]
async fn a_read_status_can_be_posted_by_hand_and_noaccount_is_not_max() {
    let mut hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let (_, body) = post_json(
        max_url(&sim, "sendMessage"),
        json!({ "chatId": "79991234567", "message": "x" }),
    )
    .await;
    let id = serde_json::from_str::<Value>(&body).unwrap()["idMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = post_json(
        format!("{}/sim/status", sim.url()),
        json!({ "provider": "max", "messageId": id, "status": "read" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let payload = hooks.next().await.json();
    assert_eq!(payload["status"], "read");
    assert_eq!(payload["chatId"], max::chat_id_for("79991234567").as_str());
    assert_eq!(
        sim.state().max_chat("79991234567")[0].status.as_deref(),
        Some("read")
    );

    let (status, _) = post_json(
        format!("{}/sim/status", sim.url()),
        json!({ "provider": "max", "messageId": id, "status": "noAccount" }),
    )
    .await;
    assert_eq!(status, 400);
    hooks.assert_quiet().await;
}

/// account/GetSettings and SetSettings (green-api.com/v3/docs/api/send-messages-delay): the
/// interval is read, set within 500–600000 ms, and every accepted set is counted.
#[tokio::test]
async fn the_send_interval_is_read_and_set_within_the_documented_bounds() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let settings = reqwest::get(max_url(&sim, "getSettings"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        settings["delaySendMessagesMilliseconds"], 5000,
        "{settings}"
    );

    for bad in [json!({"delaySendMessagesMilliseconds": 100}), json!({})] {
        let (status, body) = post_json(max_url(&sim, "setSettings"), bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.starts_with("Validation failed"), "{body}");
    }
    assert_eq!(sim.state().max_pace(), (5000, 0));

    let (status, body) = post_json(
        max_url(&sim, "setSettings"),
        json!({"delaySendMessagesMilliseconds": 10000}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"saveSettings": true})
    );
    assert_eq!(sim.state().max_pace(), (10_000, 1));
}
