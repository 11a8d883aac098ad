//! Logging: method, path, status and latency, never the key, a phone or an e-mail.
//!
//! Its own test binary: `tracing` caches per-callsite interest process-wide, and a callsite first
//! hit by a concurrent test without a subscriber could stay silent here.

mod common;

use std::sync::{Arc, Mutex};

use common::{order_json, Mock, Reply};
use otklik_retailcrm::RetailCrm;
use serde_json::json;

/// Collects every event's fields as text.
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test] // current-thread runtime: the thread-local subscriber sees every task
async fn logs_carry_no_key_phone_or_email() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Capture(Arc::clone(&lines)));
    let mock = Mock::start(|_, n| {
        if n == 0 {
            Reply::json(503, json!({"success":false}))
        } else {
            Reply::ok(json!({"success":true,"order":order_json(1001)}))
        }
    })
    .await;
    let cfg = mock.config();
    let key = cfg.api_key.clone();
    let crm = RetailCrm::new(cfg).unwrap();
    crm.get_order("main-shop", 1001).await.unwrap();
    crm.edit_order("main-shop", 1001, &json!({"email":"buyer@example.ru"}))
        .await
        .unwrap();

    let lines = lines.lock().unwrap();
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains("path=")).collect();
    assert!(ours.len() >= 2, "{lines:?}");
    assert!(ours.iter().any(|l| l.contains("status=200")), "{ours:?}");
    assert!(ours.iter().any(|l| l.contains("latency_ms=")), "{ours:?}");
    for l in lines.iter() {
        assert!(!l.contains(&key), "{l}");
        assert!(!l.contains("+7900"), "{l}");
        assert!(!l.contains("example.ru"), "{l}");
    }
}
