//! Injected provider faults (`/sim/faults`) and MAX delivery failures, as the fault-injection run
//! uses them: a refused send takes nothing; a send taken and then failed or held is recorded and
//! delivered like any other, only its answer is lost.

mod common;

use std::time::{Duration, Instant};

use common::*;
use otklik_whatsapp_sim::{max, SimConfig};
use serde_json::{json, Value};

fn quiet() -> SimConfig {
    SimConfig {
        auto_statuses: false,
        ..SimConfig::default()
    }
}

async fn put(url: String, body: Value) -> u16 {
    reqwest::Client::new()
        .put(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sms_send(sim: &otklik_whatsapp_sim::SimHandle, to: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/sms/send", sim.url()))
        .form(&[
            ("api_id", SMSRU_API_ID),
            ("to", to),
            ("msg", "Оцените заказ"),
            ("json", "1"),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_refused_send_takes_nothing_and_a_failed_answer_still_sends() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    sim.state().set_max_numbers(otklik_whatsapp_sim::MaxBook {
        with_max: vec!["79991234567".into()],
        ..Default::default()
    });
    let chat = max::chat_id_for("79991234567");
    let url = format!("{}/sim/faults", sim.url());

    // Every send refused: 503, nothing recorded on either provider.
    assert_eq!(put(url.clone(), json!({"refuseRate": 1.0})).await, 200);
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({"chatId": chat, "message": "x"}),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(sms_send(&sim, "79255070602").await.0, 503);
    assert!(sim.state().messages().is_empty());
    assert!(sim.state().sms().is_empty());
    // Reads are never faulted: an account check goes through.
    let (status, _) = post_json(
        max_url(&sim, "checkAccount"),
        json!({"phoneNumber": 79991234567u64}),
    )
    .await;
    assert_eq!(status, 200);

    // Every send taken, then answered 500: the customer has it all the same.
    assert_eq!(
        put(url.clone(), json!({"acceptThenErrorRate": 1.0})).await,
        200
    );
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({"chatId": chat, "message": "x"}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(sms_send(&sim, "79255070602").await.0, 500);
    assert_eq!(sim.state().messages().len(), 1);
    assert_eq!(sim.state().sms_inbox("79255070602").len(), 1);

    // Taken, then answered only after the hold.
    assert_eq!(
        put(
            url.clone(),
            json!({"acceptThenHoldRate": 1.0, "holdMs": 300})
        )
        .await,
        200
    );
    let started = Instant::now();
    let (status, body) = sms_send(&sim, "79255070603").await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sim.state().sms_inbox("79255070603").len(), 1);

    let stats = sim.state().stats().provider_faults;
    assert_eq!(
        (
            stats.refused,
            stats.accepted_then_error,
            stats.accepted_then_held
        ),
        (2, 2, 1)
    );
    // Off again, and nonsense refused.
    let resp = reqwest::Client::new().delete(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(sms_send(&sim, "79255070604").await.0, 200);
    assert_eq!(put(url.clone(), json!({"refuseRate": 1.5})).await, 400);
    assert_eq!(put(url, json!({"dropRate": 0.1})).await, 400);
}

#[tokio::test]
async fn a_max_number_listed_undeliverable_is_taken_then_reported_failed() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let status = put(
        format!("{}/sim/max/numbers", sim.url()),
        json!({"withMax": ["79991234567"], "undeliverable": ["+7 999 123-45-67"]}),
    )
    .await;
    assert_eq!(status, 200);
    let chat = max::chat_id_for("79991234567");
    let (status, _) = post_json(
        max_url(&sim, "sendMessage"),
        json!({"chatId": chat, "message": "x"}),
    )
    .await;
    assert_eq!(status, 200);
    let payload = hooks.next().await.json();
    assert_eq!(payload["typeWebhook"], "outgoingMessageStatus");
    assert_eq!(payload["status"], "failed");
    assert_eq!(payload["chatId"], chat.as_str());
    hooks.assert_quiet().await;
    // The account is still there: the check says so.
    assert!(sim.state().has_max("79991234567"));
}
