//! Rate limit, fault injection, the order trigger, the `/sim` control routes and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use otklik_retailcrm_sim::{spawn, SimConfig, SimHandle};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const KEY: &str = "sim-key";

async fn start(rate_limit: u32) -> (SimHandle, Client) {
    let sim = spawn(SimConfig {
        rate_limit,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    sim.state().seed_demo();
    (sim, Client::new())
}

async fn statuses(client: &Client, sim: &SimHandle) -> reqwest::Response {
    client
        .get(format!("{}/api/v5/reference/statuses", sim.url()))
        .header("X-API-KEY", KEY)
        .send()
        .await
        .expect("an HTTP answer")
}

fn order() -> Value {
    json!({"site": "main-shop", "status": "delivering", "managerId": 11, "phone": "+79001234567"})
}

#[tokio::test]
async fn bursts_over_the_limit_get_503_and_the_window_slides() {
    let (sim, client) = start(10).await;
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..15 {
        let (client, url) = (
            client.clone(),
            format!("{}/api/v5/reference/sites", sim.url()),
        );
        burst.spawn(async move {
            client
                .get(url)
                .header("X-API-KEY", KEY)
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let codes: Vec<StatusCode> = burst.join_all().await;
    let limited = codes
        .iter()
        .filter(|c| **c == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let ok = codes.iter().filter(|c| **c == StatusCode::OK).count();
    assert!(limited >= 5, "{codes:?}");
    assert!(ok <= 10, "{codes:?}");
    assert_eq!(ok + limited, 15, "{codes:?}");

    let stats = sim.state().stats();
    assert_eq!(stats.rate_limited as usize, limited);
    assert!(stats.max_per_second >= 15, "{stats:?}");
    assert_eq!(stats.requests, 15);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);

    // The limit is per key: another key has its own window (and is refused for being wrong).
    let other = client
        .get(format!("{}/api/v5/reference/sites", sim.url()))
        .header("X-API-KEY", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_requests_handled_at_once_are_counted() {
    let (sim, client) = start(10).await;
    sim.state().set_faults(otklik_retailcrm_sim::Faults {
        latency_ms: 300,
        ..Default::default()
    });
    // One after another: never two at once, however slow the answers.
    for _ in 0..2 {
        assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);
    }
    assert_eq!(sim.state().stats().max_in_flight, 1);
    // Three at once, each held 300 ms.
    let (a, b, c) = tokio::join!(
        statuses(&client, &sim),
        statuses(&client, &sim),
        statuses(&client, &sim)
    );
    assert!([a, b, c].iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(sim.state().stats().max_in_flight, 3);
}

#[tokio::test]
async fn a_paced_client_is_never_limited() {
    let (sim, client) = start(10).await;
    for _ in 0..14 {
        assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
    let stats = sim.state().stats();
    assert_eq!(stats.rate_limited, 0);
    assert!(stats.max_per_second <= 10, "{stats:?}");
}

#[tokio::test]
async fn injected_errors_outages_timeouts_and_latency_hit_only_the_api() {
    let (sim, client) = start(10_000).await;
    let faults = format!("{}/sim/faults", sim.url());

    let resp = client
        .put(&faults)
        .json(&json!({"errorRate": 1.0, "errorStatuses": [500, 503]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..10 {
        let status = statuses(&client, &sim).await.status();
        assert!(matches!(status.as_u16(), 500 | 503), "{status}");
    }
    assert_eq!(sim.state().stats().faults_injected, 10);
    // The control routes are not faulted.
    let health = client
        .get(format!("{}/sim/health", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    client.delete(&faults).send().await.unwrap();
    assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);

    client
        .put(&faults)
        .json(&json!({"outageSeconds": 60}))
        .send()
        .await
        .unwrap();
    let during = statuses(&client, &sim).await;
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        during.text().await.unwrap().contains("<html>"),
        "an outage answers like the proxy"
    );
    let shown: Value = client
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shown["outageUntil"].is_string(), "{shown}");

    client
        .put(&faults)
        .json(&json!({"outageUntil": "2001-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        statuses(&client, &sim).await.status(),
        StatusCode::OK,
        "a past outage is over"
    );

    client
        .put(&faults)
        .json(&json!({"timeoutRate": 1.0, "timeoutMs": 300}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let hung = client
        .get(format!("{}/api/v5/reference/sites", sim.url()))
        .header("X-API-KEY", KEY)
        .send()
        .await;
    assert!(
        hung.is_err(),
        "the connection is dropped without an answer: {hung:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    client
        .put(&faults)
        .json(&json!({"latencyMs": 300}))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    client
        .post(format!("{}/sim/reset", sim.url()))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    sim.state().seed_demo();
    assert_eq!(statuses(&client, &sim).await.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "reset clears the faults"
    );
}

/// A webhook receiver that forwards each request's content type and body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn hook(
        State(tx): State<mpsc::UnboundedSender<(String, String)>>,
        headers: HeaderMap,
        body: String,
    ) -> &'static str {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = tx.send((ct, body));
        "ok"
    }
    let app = Router::new()
        .route("/webhooks/retailcrm", post(hook))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/retailcrm",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

fn form_map(body: &str) -> std::collections::HashMap<String, String> {
    serde_urlencoded::from_str(body).unwrap()
}

#[tokio::test]
async fn a_status_change_into_a_trigger_status_calls_the_webhook() {
    let (sim, client) = start(10_000).await;
    let (hook, mut calls) = receiver().await;
    let resp = client
        .put(format!("{}/sim/trigger", sim.url()))
        .json(
            &json!({"url": hook, "statuses": ["complete"], "params": {"secret": "s3cr3t"},
                      "enabled": true, "format": "form"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Through the control route, as a manager in the interface.
    let created: Value = client
        .post(format!("{}/sim/orders", sim.url()))
        .json(&json!({"order": order(), "userId": 11}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_u64().unwrap();
    let moved = client
        .post(format!("{}/sim/orders/main-shop/{id}/status", sim.url()))
        .json(&json!({"status": "complete", "userId": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);

    let (content_type, body) = tokio::time::timeout(Duration::from_secs(5), calls.recv())
        .await
        .expect("the trigger calls within 5 s")
        .unwrap();
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let params = form_map(&body);
    assert_eq!(params["orderId"], id.to_string());
    assert_eq!(params["site"], "main-shop");
    assert_eq!(params["secret"], "s3cr3t");

    // A change into a status without the trigger calls nothing.
    let other = sim.state().create_order(order(), Some(12)).unwrap();
    sim.state()
        .set_status("main-shop", other, "assembling", Some(12))
        .unwrap();

    // Through the API, in JSON this time.
    sim.state().set_trigger(otklik_retailcrm_sim::Trigger {
        url: hook.clone(),
        statuses: vec!["complete".into()],
        params: [("secret".to_owned(), json!("s3cr3t"))].into(),
        enabled: true,
        format: otklik_retailcrm_sim::TriggerFormat::Json,
        times: 2,
    });
    let patch = json!({"status": "complete"}).to_string();
    let edited = client
        .post(format!("{}/api/v5/orders/{other}/edit", sim.url()))
        .header("X-API-KEY", KEY)
        .form(&[
            ("by", "id"),
            ("site", "main-shop"),
            ("order", patch.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let (content_type, body) = tokio::time::timeout(Duration::from_secs(5), calls.recv())
        .await
        .expect("the trigger calls within 5 s")
        .unwrap();
    assert_eq!(content_type, "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"orderId": other, "site": "main-shop", "secret": "s3cr3t"})
    );
    // `times: 2`: the same call again.
    let (_, again) = tokio::time::timeout(Duration::from_secs(5), calls.recv())
        .await
        .expect("the second call within 5 s")
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), body);
    assert!(
        calls.try_recv().is_err(),
        "the assembling change made no call"
    );

    // Deliveries are recorded once the receiver has answered.
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let stats = sim.state().stats();
        if stats.triggers.delivered == 3 || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stats.triggers.fired, 2);
    assert_eq!(stats.triggers.delivered, 3, "{stats:?}");
    assert_eq!(stats.triggers.deliveries[0].http_status, Some(200));
    assert_eq!(stats.triggers.deliveries[0].order_id, id);
    let shown: Value = client
        .get(format!("{}/sim/stats", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["triggers"]["delivered"], json!(3));
}

#[tokio::test]
async fn a_disabled_trigger_calls_nothing() {
    let (sim, client) = start(10_000).await;
    let (hook, mut calls) = receiver().await;
    client
        .put(format!("{}/sim/trigger", sim.url()))
        .json(
            &json!({"url": hook, "statuses": ["complete"], "params": {"secret": "s3cr3t"},
                      "enabled": false}),
        )
        .send()
        .await
        .unwrap();
    let id = sim.state().create_order(order(), Some(11)).unwrap();
    sim.state()
        .set_status("main-shop", id, "complete", Some(11))
        .unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(500), calls.recv()).await;
    assert!(nothing.is_err(), "no call while disabled");
    let stats = sim.state().stats();
    assert_eq!(stats.triggers.suppressed, 1);
    assert_eq!(stats.triggers.fired, 0);
    // The status did change: only the call was lost.
    assert_eq!(
        sim.state().order("main-shop", id).unwrap()["status"],
        json!("complete")
    );
}

#[tokio::test]
async fn control_routes_seed_create_change_and_reset() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let client = Client::new();
    let base = sim.url();

    let resp = client
        .post(format!("{base}/sim/seed"))
        .json(&json!({"preset": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = client
        .post(format!("{base}/sim/seed"))
        .json(&json!({"preset": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let created: Value = client
        .post(format!("{base}/sim/orders"))
        .json(&json!({"order": order(), "userId": 11}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["order"]["status"], json!("delivering"));

    let resp = client
        .post(format!("{base}/sim/orders/main-shop/{id}/manager"))
        .json(&json!({"managerId": 12, "userId": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client
        .post(format!("{base}/sim/orders/main-shop/{id}/status"))
        .json(&json!({"status": "no-such", "userId": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = client
        .post(format!("{base}/sim/orders/ural-shop/{id}/status"))
        .json(&json!({"status": "complete", "userId": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "wrong site");

    let raw: Value = client
        .get(format!("{base}/sim/orders/main-shop/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["managerId"], json!(12));
    let listed: Value = client
        .get(format!("{base}/sim/orders?site=main-shop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let listed: Value = client
        .get(format!("{base}/sim/orders?site=ural-shop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));

    let history: Value = client
        .get(format!("{base}/sim/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["field"], json!("manager"));
    assert_eq!(history[1]["user"], json!({"id": 11}));
    for path in ["tasks", "notifications", "links"] {
        let list: Value = client
            .get(format!("{base}/sim/{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list, json!([]), "{path}");
    }

    let resp = client
        .post(format!("{base}/sim/reset"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert!(sim.state().orders(None).is_empty());
    assert!(sim.state().history().is_empty());
    assert_eq!(sim.state().stats().requests, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_binary_prints_its_url_and_serves_the_seeded_shop() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_retailcrm-sim"))
        .args([
            "--port",
            "0",
            "--seed",
            "demo",
            "--api-key",
            "bin-key",
            "--timezone",
            "Asia/Yekaterinburg",
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
        let resp = Client::new()
            .get(format!("{url}/api/v5/reference/sites"))
            .header("X-API-KEY", "bin-key")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["sites"]["main-shop"]["name"],
            json!("Основной магазин")
        );
    };
    // Stop the child whatever the assertions say.
    let outcome = tokio::spawn(result).await;
    let _ = child.kill();
    let _ = child.wait();
    outcome.unwrap();

    let bad = Command::new(env!("CARGO_BIN_EXE_retailcrm-sim"))
        .args(["--timezone", "Mars/Olympus"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(bad.code(), Some(2));
}
