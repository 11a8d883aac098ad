//! Security properties of the whole flow through the local runner:
//! - what the functions log never shows a customer's phone or email (every log line of a complaint
//!   flow is captured at trace level and searched, in several spellings);
//! - bodies over the limit are refused at every webhook and change nothing.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otklik_flow_tests::{eventually, TestStack, WAIT};
use otklik_local_runner::stack;
use serde_json::json;

/// Log lines of the code that runs on Lambda (every `otklik_*` crate but the simulators and the
/// runner itself, which stand in for the outside world).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ours(target: &str) -> bool {
    target.starts_with("otklik")
        && !target.starts_with("otklik_retailcrm_sim")
        && !target.starts_with("otklik_whatsapp_sim")
        && !target.starts_with("otklik_local_runner")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logs_never_show_a_phone_or_an_email() {
    use tracing_subscriber::prelude::*;
    let captured = Captured::default();
    let sink = captured.clone();
    // The Lambda format (JSON lines), at the most talkative level, for our crates only.
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(move || sink.clone())
        .with_filter(tracing_subscriber::filter::filter_fn(|m| ours(m.target())));
    tracing_subscriber::registry().with(layer).init();

    let s = TestStack::start("sec-logs").await;
    let d = &s.driver;
    let phone = "+79005550177";
    let email = "marina.k@example.ru";
    let id = s
        .complete_order(
            json!({"phone": phone, "email": email, "firstName": "Марина", "customer": {"id": 977}}),
            &[11],
        )
        .await;
    eventually("the question reaches WhatsApp", WAIT, || async {
        Ok(d.messages_to(phone).await?.into_iter().next())
    })
    .await
    .unwrap();
    // A low rating with words: the complaint path touches every function but the landing.
    d.say("meta", phone, "2, курьер опоздал и нагрубил")
        .await
        .unwrap();
    eventually("the complaint is opened", WAIT, || async {
        Ok((!d.orders("reklamacii").await?.is_empty()).then_some(()))
    })
    .await
    .unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().count();
    assert!(lines >= 20, "only {lines} log lines were captured");
    // The capture holds this flow's lines (they name the order), so a phone in them would show.
    assert!(text.contains(&format!("main-shop/{id}")) || text.contains(&id.to_string()));
    let digits = &phone[1..];
    for spelling in [
        digits,          // 79005550177
        &digits[1..],    // 9005550177
        "900 555-01-77", // as people type it
        "(900) 555",     //
        email,           // the address
        "marina.k",      // its local part
    ] {
        assert!(
            !text.contains(spelling),
            "{spelling:?} appears in the logs:\n{}",
            text.lines()
                .filter(|l| l.contains(spelling))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    println!("{lines} log lines of our functions checked");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_everywhere_and_change_nothing() {
    let s = TestStack::start("sec-size").await;
    let api = s.api_url();
    let http = reqwest::Client::new();
    let big = "x".repeat(300 * 1024);
    let handled = |name: &str| {
        s.local().consumers[name]
            .handled
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = handled("intake-worker");
    let cases = [
        (
            format!("{api}/webhooks/retailcrm?secret={}", stack::TRIGGER_SECRET),
            "application/x-www-form-urlencoded",
            None,
        ),
        (
            format!("{api}/webhooks/whatsapp/meta"),
            "application/json",
            Some(("x-hub-signature-256", "sha256=00")),
        ),
        (
            format!("{api}/webhooks/whatsapp/green-api"),
            "application/json",
            Some(("authorization", "Bearer whatever")),
        ),
        (
            format!("{api}/webhooks/max"),
            "application/json",
            Some(("authorization", "Bearer whatever")),
        ),
        (
            format!("{api}/webhooks/sms/not-the-secret-but-long-enough"),
            "application/x-www-form-urlencoded",
            None,
        ),
    ];
    for (url, ctype, header) in cases {
        let mut req = http
            .post(&url)
            .header("content-type", ctype)
            .body(format!("id=1&site=main-shop&pad={big}"));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 413, "{url}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "too_large", "{url}: {body}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(handled("intake-worker"), before, "nothing was queued");
}
