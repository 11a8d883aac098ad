//! Abuse at the door, through the local runner's gateway (which routes as the SAM template does):
//! - a known path asked with another method gets 405 and the methods it takes, never a 404;
//! - a flood of webhooks with forged signatures, tokens and secrets queues nothing and writes
//!   nothing. `OTKLIK_FLOOD_REQUESTS` sets the flood's size (2,000 by default; the figures in
//!   docs/reliability.md are from 10,000); the answers' times are printed, not asserted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otklik_aws::resources::{
    allowed_methods, Trigger, FUNCTIONS, INBOUND_QUEUE, INTAKE_QUEUE, MAIN_TABLE,
};
use otklik_flow_tests::TestStack;

/// A concrete path for a route path: each variable gets a plausible value.
fn concrete(path: &str) -> String {
    path.replace("{token}", "t0k.abc")
        .replace("{id}", "Ab3dE6gH9jKm")
        .replace("{secret}", "a-guess-at-the-callback-secret")
        .replace("{proxy+}", "employee/11")
}

#[tokio::test]
async fn a_known_path_with_another_method_gets_405_and_what_it_takes() {
    let s = TestStack::start("abuse-405").await;
    let api = s.api_url();
    let http = reqwest::Client::new();
    let before = items(&s).await;
    let mut checked = 0;
    for f in FUNCTIONS {
        let Trigger::Http(routes) = f.trigger else {
            continue;
        };
        for route in routes.iter().filter(|r| r.is_any()) {
            let allowed = allowed_methods(route.path);
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
                if allowed.contains(&method) {
                    continue;
                }
                let url = format!("{api}{}", concrete(route.path));
                let r = http
                    .request(method.parse().unwrap(), &url)
                    .header("content-type", "application/json")
                    .body(r#"{"id":1}"#)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 405, "{method} {url}");
                assert_eq!(
                    r.headers()["allow"].to_str().unwrap(),
                    allowed.join(", "),
                    "{method} {url}"
                );
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["error"], "method_not_allowed", "{method} {url}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} wrong methods were tried");
    // A path we do not serve stays a 404, whatever the method.
    for method in ["GET", "POST"] {
        let r = http
            .request(method.parse().unwrap(), format!("{api}/webhooks/nowhere"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{method} /webhooks/nowhere");
    }
    assert_eq!(items(&s).await, before, "a refused method wrote nothing");
}

/// One forged request per webhook route, in turn: a wrong trigger secret, a Meta signature that
/// does not match, wrong GREEN-API and MAX bearer tokens, a wrong SMS.ru callback secret. The
/// bodies are shaped like the providers' documented webhooks, so only the credential is wrong.
fn forged(api: &str, i: usize) -> (String, &'static str, Option<(&'static str, String)>, String) {
    match i % 5 {
        0 => (
            format!("{api}/webhooks/retailcrm?secret=guess-{i}"),
            "application/x-www-form-urlencoded",
            None,
            format!("id={i}&site=main-shop"),
        ),
        1 => (
            format!("{api}/webhooks/whatsapp/meta"),
            "application/json",
            Some(("x-hub-signature-256", format!("sha256={:064x}", i))),
            serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                "field": "messages",
                "value": {"messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "79001234567", "phone_number_id": "1"},
                    "messages": [{"from": "79005550100", "id": format!("wamid.F{i}"),
                        "timestamp": "1767225600", "type": "text", "text": {"body": "5"}}]}}]}]})
            .to_string(),
        ),
        2 => (
            format!("{api}/webhooks/whatsapp/green-api"),
            "application/json",
            Some(("authorization", format!("Bearer guess-{i}"))),
            serde_json::json!({"typeWebhook": "incomingMessageReceived",
                "instanceData": {"idInstance": 1101000001, "wid": "79001234567@c.us", "typeInstance": "whatsapp"},
                "timestamp": 1767225600, "idMessage": format!("F{i}"),
                "senderData": {"chatId": "79005550100@c.us", "sender": "79005550100@c.us"},
                "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "5"}}})
            .to_string(),
        ),
        3 => (
            format!("{api}/webhooks/max"),
            "application/json",
            Some(("authorization", format!("Bearer guess-{i}"))),
            serde_json::json!({"typeWebhook": "incomingMessageReceived",
                "instanceData": {"idInstance": 3100000001u64, "wid": "79001234567@c.us", "typeInstance": "v3"},
                "timestamp": 1767225600, "idMessage": format!("M{i}"),
                "senderData": {"chatId": "79005550100@c.us", "sender": "79005550100@c.us"},
                "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "5"}}})
            .to_string(),
        ),
        _ => (
            format!("{api}/webhooks/sms/guess-{i}-at-the-callback-secret"),
            "application/x-www-form-urlencoded",
            None,
            format!("data[0]=sms_status%0A{i}%0A103"),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_forged_webhooks_queues_nothing_and_writes_nothing() {
    let total: usize = std::env::var("OTKLIK_FLOOD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let s = TestStack::start("abuse-flood").await;
    let api = s.api_url();
    let handled = |name: &str| s.local().consumers[name].handled.load(Ordering::Relaxed);
    let (intake_before, inbound_before) = (handled("intake-worker"), handled("inbound-worker"));
    let items_before = items(&s).await;

    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (http, next, api) = (http.clone(), next.clone(), api.clone());
        workers.spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return seen;
                }
                let (url, ctype, header, body) = forged(&api, i);
                let mut req = http.post(&url).header("content-type", ctype).body(body);
                if let Some((k, v)) = header {
                    req = req.header(k, v);
                }
                let at = Instant::now();
                let status = req.send().await.unwrap().status().as_u16();
                seen.push((i % 5, status, at.elapsed()));
            }
        });
    }
    let mut answers = Vec::new();
    while let Some(seen) = workers.join_next().await {
        answers.extend(seen.unwrap());
    }
    let took = started.elapsed();
    assert_eq!(answers.len(), total);
    for (route, status, _) in &answers {
        assert!(
            matches!(status, 401 | 403),
            "a forged request to route {route} was answered {status}"
        );
    }

    // Whatever a consumer would have picked up has had time to be.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        handled("intake-worker"),
        intake_before,
        "nothing reached intake"
    );
    assert_eq!(
        handled("inbound-worker"),
        inbound_before,
        "nothing reached inbound"
    );
    for q in [&INTAKE_QUEUE, &INBOUND_QUEUE] {
        assert_eq!(depth(&s, q).await, 0, "{} holds nothing", q.suffix);
    }
    assert_eq!(items(&s).await, items_before, "the table is as it was");

    let mut times: Vec<Duration> = answers.iter().map(|(_, _, t)| *t).collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{total} forged webhooks in {:.1} s ({:.0}/s over 32 connections): every one refused \
         (401/403), nothing queued, nothing written; answer times p50 {:.1} ms, p99 {:.1} ms, \
         max {:.1} ms",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}

/// The keys of the stack's table (the test tables are small), but for the history poller's own
/// bookkeeping, written on its schedule whatever arrives: the retailCRM budget's book, how far it
/// has read the history stream, and its daily retention sweep's claim.
async fn items(s: &TestStack) -> std::collections::BTreeSet<(String, String)> {
    let table = s.names.table(&MAIN_TABLE);
    let key = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
               k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let mut keys = std::collections::BTreeSet::new();
    let mut start = None;
    loop {
        let out = s
            .clients
            .dynamodb
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for i in out.items() {
            let (pk, sk) = (key(i, "pk"), key(i, "sk"));
            let bookkeeping =
                sk == "budget" || pk.starts_with("coverage#") || pk.starts_with("sweep#");
            if !bookkeeping {
                keys.insert((pk, sk));
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return keys;
        }
    }
}

/// Messages in a queue, visible or being handled.
async fn depth(s: &TestStack, q: &otklik_aws::resources::QueueDef) -> i64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = s.queue(q).await.url().to_string();
    let out = s
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes.unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| {
        attrs
            .get(a)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    })
    .sum()
}
