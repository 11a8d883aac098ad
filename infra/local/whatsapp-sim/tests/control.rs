//! The `/sim` control routes and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use otklik_whatsapp_sim::{SentMessage, SimConfig};
use serde_json::{json, Value};

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn sim_messages_lists_every_send_of_both_providers() {
    let hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    meta_send(&sim, meta_text("79001234567", "один")).await;
    meta_send(&sim, meta_text("79007654321", "два")).await;
    reqwest::Client::new()
        .post(green_url(&sim, "sendMessage"))
        .json(&json!({ "chatId": "79001234567@c.us", "message": "три" }))
        .send()
        .await
        .unwrap();
    // A refused send is not a send.
    meta_send(
        &sim,
        json!({ "messaging_product": "whatsapp", "to": "79001234567" }),
    )
    .await;

    let (status, all) = call(
        reqwest::Method::GET,
        format!("{}/sim/messages", sim.url()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let all: Vec<SentMessage> = serde_json::from_value(all).unwrap();
    let texts: Vec<_> = all.iter().map(|m| m.text.clone().unwrap()).collect();
    assert_eq!(texts, vec!["один", "два", "три"]);
    assert_eq!(all, sim.state().messages());
    let first = serde_json::to_value(&all[0]).unwrap();
    for key in ["id", "provider", "to", "kind", "text", "at"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert_eq!(first["provider"], "meta");
    assert_eq!(first["kind"], "text");

    let (_, to_one) = call(
        reqwest::Method::GET,
        format!("{}/sim/messages?to=%2B79001234567", sim.url()),
        None,
    )
    .await;
    assert_eq!(to_one.as_array().unwrap().len(), 2);
    let (_, green) = call(
        reqwest::Method::GET,
        format!("{}/sim/messages?provider=green-api", sim.url()),
        None,
    )
    .await;
    assert_eq!(green.as_array().unwrap().len(), 1);
    assert_eq!(green[0]["provider"], "green-api");

    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{}/sim/messages", sim.url()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(sim.state().messages().is_empty());
}

#[tokio::test]
async fn sim_config_changes_credentials_and_refuses_typos() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let url = format!("{}/sim/config", sim.url());
    let (status, config) = call(
        reqwest::Method::PUT,
        url.clone(),
        Some(json!({ "metaToken": "rotated", "duplicateStatuses": 2, "autoStatuses": false })),
    )
    .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["metaToken"], "rotated");
    assert_eq!(config["duplicateStatuses"], 2);
    // Fields not given keep their values.
    assert_eq!(config["metaWebhookUrl"], hooks.url.as_str());
    assert_eq!(sim.state().config().meta_token, "rotated");

    let old = reqwest::Client::new()
        .post(meta_url(&sim))
        .bearer_auth(META_TOKEN)
        .json(&meta_text("79001234567", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status().as_u16(), 401);

    for bad in [
        json!({ "metaWebhookURL": "http://x" }),
        json!({ "metaWebhookUrl": "ftp://x" }),
        json!({ "duplicateStatuses": 1000 }),
    ] {
        let (status, _) = call(reqwest::Method::PUT, url.clone(), Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (_, config) = call(reqwest::Method::GET, url, None).await;
    assert_eq!(config["metaWebhookUrl"], hooks.url.as_str());
}

#[tokio::test]
async fn sim_numbers_decides_who_has_whatsapp() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    let url = format!("{}/sim/numbers", sim.url());
    let (status, _) = call(
        reqwest::Method::PUT,
        url.clone(),
        Some(json!({ "withWhatsapp": ["+7 900 123-45-67"], "default": false })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(sim.state().has_whatsapp("79001234567"));
    assert!(!sim.state().has_whatsapp("79007654321"));
    let (_, book) = call(reqwest::Method::GET, url.clone(), None).await;
    assert_eq!(book["default"], false);

    let (status, _) = call(
        reqwest::Method::PUT,
        url,
        Some(json!({ "withWhatsapp": ["nobody"] })),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn reset_returns_to_the_start_and_stats_count_everything() {
    let mut hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    meta_send(&sim, meta_text("79001234567", "x")).await;
    hooks.next().await;
    hooks.next().await;
    sim.state().settle().await;

    let (status, stats) = call(
        reqwest::Method::GET,
        format!("{}/sim/stats", sim.url()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(stats["metaSends"], 1);
    assert_eq!(stats["webhooks"]["delivered"], 2);
    assert_eq!(stats["pendingStatuses"], 0);
    let deliveries = stats["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0]["kind"], "status");
    assert_eq!(deliveries[0]["status"], "sent");
    assert_eq!(deliveries[0]["httpStatus"], 200);

    sim.state().set_meta_webhook("", "x").unwrap();
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{}/sim/reset", sim.url()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(sim.state().messages().is_empty());
    assert_eq!(sim.state().stats().meta_sends, 0);
    // Back to the configuration the simulator started with, webhook included.
    assert_eq!(
        sim.state().config().meta_webhook_url.as_deref(),
        Some(hooks.url.as_str())
    );
}

#[tokio::test]
async fn statuses_without_a_webhook_are_counted_as_skipped() {
    let hooks = Receiver::start().await;
    let sim = start(&hooks).await;
    sim.state().set_meta_webhook("", APP_SECRET).unwrap();
    meta_send(&sim, meta_text("79001234567", "x")).await;
    sim.state().settle().await;
    let stats = sim.state().stats();
    assert_eq!(stats.webhooks.skipped, 2);
    assert_eq!(stats.webhooks.delivered, 0);
}

#[tokio::test]
async fn the_binary_prints_its_url_and_takes_its_config_from_flags() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_whatsapp-sim"))
        .args([
            "--port",
            "0",
            "--meta-token",
            "bin-token",
            "--green-api-instance=42",
            "--green-api-token",
            "bin-green",
            "--auto-statuses",
            "false",
            "--max-instance",
            "3100000042",
            "--max-token=bin-max",
            "--smsru-api-id",
            "bin-sms",
            "--smsru-senders",
            "Otklik, Shop",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line.trim().to_owned();
    let result = async move {
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        let client = reqwest::Client::new();
        let meta = client
            .post(format!("{url}/v21.0/{PHONE_ID}/messages"))
            .bearer_auth("bin-token")
            .json(&meta_text("79001234567", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(meta.status().as_u16(), 200);
        let green = client
            .post(format!("{url}/waInstance42/checkWhatsapp/bin-green"))
            .json(&json!({ "phoneNumber": 79001234567u64 }))
            .send()
            .await
            .unwrap();
        assert_eq!(green.status().as_u16(), 200);
        let max: Value = client
            .get(format!(
                "{url}/v3/waInstance3100000042/getStateInstance/bin-max"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(max, json!({ "stateInstance": "authorized" }));
        let sms: Value = client
            .post(format!("{url}/sms/send"))
            .form(&[
                ("api_id", "bin-sms"),
                ("to", "79001234567"),
                ("msg", "x"),
                ("from", "Shop"),
                ("json", "1"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(sms["sms"]["79001234567"]["status"], "OK", "{sms}");
        let config: Value = client
            .get(format!("{url}/sim/config"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(config["autoStatuses"], false);
        assert_eq!(config["smsruSenders"], json!(["Otklik", "Shop"]));
    };
    // Stop the child whatever the assertions say.
    let outcome = tokio::spawn(result).await;
    let _ = child.kill();
    let _ = child.wait();
    outcome.unwrap();
}

#[test]
fn the_binary_refuses_unknown_flags() {
    let status = Command::new(env!("CARGO_BIN_EXE_whatsapp-sim"))
        .arg("--colour")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[tokio::test]
async fn reset_forgets_the_max_and_sms_sides_too() {
    let hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            ..SimConfig::default()
        },
    )
    .await;
    let state = sim.state();
    state.set_max_numbers(otklik_whatsapp_sim::MaxBook {
        default: false,
        ..Default::default()
    });
    state.set_max_state("blocked", false).await.unwrap();
    reqwest::Client::new()
        .post(format!("{}/sms/send", sim.url()))
        .form(&[
            ("api_id", SMSRU_API_ID),
            ("to", "79001234567"),
            ("msg", "x"),
            ("json", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(state.sms().len(), 1);

    let (status, _) = call(
        reqwest::Method::POST,
        format!("{}/sim/reset", sim.url()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(state.sms().is_empty());
    assert_eq!(state.max_state(), "authorized");
    assert!(state.max_numbers().default);
    assert_eq!(state.stats().sms_sends, 0);
}
