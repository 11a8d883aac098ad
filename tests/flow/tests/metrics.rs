//! The dashboard and the alarms in `infra/template.yaml` show only metrics the code emits: a shop's
//! day through the local runner (the demo's Meta day, plus an order with no contact, a WhatsApp
//! number that cannot receive with no email to fall back to, an SLA sweep, the inspector's work and
//! a retailCRM outage, Meta reporting the account locked in a webhook with a message without
//! `from`) and a Russian shop's MAX and SMS answers, a reminder to a customer who said
//! nothing, and its MAX instance logging out,
//! is captured as EMF lines, and every metric line of the dashboard and every
//! alarm metric — name, dimensions and dimension values — has data.

use std::time::Duration;

use chrono::Utc;
use otklik_flow_tests::{digits, eventually, local_endpoint, unique_stack, TestStack, WAIT};
use otklik_local_runner::demo;
use otklik_local_runner::local::Options;
use otklik_local_runner::stack;
use otklik_metrics::Capture;
use otklik_template_check::{Template, STACK};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_gives_every_dashboard_line_and_alarm_data() {
    local_endpoint();
    let capture = Capture::start();
    let played = demo::play(demo::SHOPS[0], unique_stack("metrics"))
        .await
        .expect("the day plays");
    assert!(played.problems.is_empty(), "{:?}", played.problems);
    let d = &played.driver;

    // Two orders nobody can be asked about: no contact at all (skipped at intake), and a number
    // without WhatsApp and no email (the question fails for good).
    d.whatsapp_numbers(&[], &["+79005559998"]).await.unwrap();
    for order in [
        json!({"customer": {"id": 7001}, "firstName": "Без контактов"}),
        json!({"customer": {"id": 7002}, "phone": "+79005559998"}),
    ] {
        let id = d.new_order("main-shop", 11, order).await.unwrap();
        d.set_status("main-shop", id, "complete", 11).await.unwrap();
    }
    let wait = |name: &'static str| {
        let c = &capture;
        eventually(name, Duration::from_secs(60), move || async move {
            Ok((c.sum(name, &[]) > 0.0).then_some(()))
        })
    };
    wait("SurveysSkipped").await.unwrap();
    wait("DispatchFailures").await.unwrap();
    wait("ComplaintsOpened").await.unwrap();

    // Complaints left untouched past the SLA: the sweep, as if a month had passed.
    let poller = otklik_history_poller::Poller::from_parts(&played.stack.parts)
        .await
        .unwrap();
    let swept = poller
        .remind(Utc::now() + chrono::Duration::days(30))
        .await
        .unwrap();
    assert!(swept.reminders > 0, "{swept:?}");
    // The inspector works them (some resolved, some not).
    let problems = demo::inspector_works(&played).await;
    assert!(problems.is_empty(), "{problems:?}");
    wait("ComplaintsClosed").await.unwrap();

    // retailCRM down for a moment: the poller's calls fail with 503 (errors and throttling).
    let http = reqwest::Client::new();
    http.put(format!("{}/sim/faults", played.stack.crm_sim.url()))
        .json(&json!({"errorRate": 1.0, "errorStatuses": [503]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let _ = poller.run(Utc::now()).await;
    http.delete(format!("{}/sim/faults", played.stack.crm_sim.url()))
        .send()
        .await
        .unwrap();

    provider_trouble(&d.api).await;
    wait("ProviderAccountErrors").await.unwrap();
    wait("UnusableItems").await.unwrap();

    russian_day(&capture).await;

    let refs = Template::load().metric_refs();
    let ours: Vec<_> = refs
        .iter()
        .filter(|r| r.namespace == otklik_metrics::NAMESPACE)
        .collect();
    assert!(ours.len() >= 20, "{} metric lines", ours.len());
    let published = capture.published();
    let mut missing = Vec::new();
    for r in &ours {
        let mut dims: Vec<String> = r.dims.keys().cloned().collect();
        dims.sort();
        let shape_seen = published.iter().any(|(name, set)| {
            let mut set = set.clone();
            set.sort();
            name == &r.name && set == dims
        });
        // Concrete values (Rating "1", Channel "email", …) must have data too; `Stack` is the
        // template's placeholder and a SEARCH names keys only.
        let values: Vec<(&str, &str)> = r
            .dims
            .iter()
            .filter(|(k, v)| k.as_str() != otklik_metrics::STACK_DIMENSION && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if !shape_seen || capture.sum(&r.name, &values) <= 0.0 {
            missing.push(format!("{} {:?} ({})", r.name, r.dims, r.place));
        }
        assert!(r
            .dims
            .get(otklik_metrics::STACK_DIMENSION)
            .is_some_and(|s| s == STACK || s.is_empty()));
    }
    println!(
        "{} EMF lines captured; {} metric lines of the dashboard and alarms checked",
        capture.lines().len(),
        ours.len()
    );
    assert!(
        missing.is_empty(),
        "named by the dashboard or an alarm but not emitted by the day:\n{}",
        missing.join("\n")
    );
}

/// Meta reports its account locked (`value.errors`, 131031: the errors webhook of its messages
/// webhook reference) in a webhook whose one message carries no `from` (a customer with a
/// username): a provider error of the account's, and an item kept for inspection.
async fn provider_trouble(api: &str) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "100000000000001"},
            "errors": [{"code": 131031, "title": "Account has been locked"}],
            "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.metrics-no-from",
                "timestamp": "1749416383", "type": "text", "text": {"body": "5"}}],
        }}],
    }]})
    .to_string();
    let r = reqwest::Client::new()
        .post(format!("{api}/webhooks/whatsapp/meta"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// A shop on `max → sms → email` with reminders: one customer answers on MAX, one taps the SMS
/// link, one says nothing and is reminded, and then the MAX account is logged out of its instance.
async fn russian_day(capture: &Capture) {
    let s = TestStack::start_with(
        "metrics-ru",
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            config_edit: Some(stack::russia_2026_reminding),
            ..Default::default()
        },
    )
    .await;
    let sim = s.wa_sim().url();
    let http = reqwest::Client::new();
    let (on_max, by_sms, silent) = ("+79005550801", "+79005550802", "+79005550803");
    http.put(format!("{sim}/sim/max/numbers"))
        .json(&json!({"withMax": [digits(on_max), digits(silent)], "withoutMax": [digits(by_sms)]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    s.complete_order(json!({"phone": on_max, "customer": {"id": 981}}), &[11])
        .await;
    s.complete_order(json!({"phone": by_sms, "customer": {"id": 982}}), &[12])
        .await;
    s.complete_order(json!({"phone": silent, "customer": {"id": 983}}), &[12])
        .await;
    let get = |path: String| {
        let http = http.clone();
        async move {
            http.get(path)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| e.to_string())?
                .json::<serde_json::Value>()
                .await
                .map_err(|e| e.to_string())
        }
    };
    eventually("the MAX question goes out", WAIT, || async {
        let chat = get(format!("{sim}/sim/max/chat?phone={}", digits(on_max))).await?;
        Ok((chat["lines"].as_array().is_some_and(|l| !l.is_empty())).then_some(()))
    })
    .await
    .unwrap();
    s.reply(json!({"provider": "max", "from": digits(on_max), "text": "5"}))
        .await;
    let link = eventually("the SMS arrives", WAIT, || async {
        let inbox = get(format!("{sim}/sim/sms/inbox?phone={}", digits(by_sms))).await?;
        Ok(inbox[0]["links"][0].as_str().map(str::to_string))
    })
    .await
    .unwrap();
    let (status, answer) = s.post_json(&link, &[("rating", "4")]).await;
    assert_eq!(status, 200, "{answer}");
    http.put(format!("{sim}/sim/max/state"))
        .json(&json!({"stateInstance": "notAuthorized", "notify": true}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    for (what, name, dims) in [
        ("a MAX rating", "Replies", [("Channel", "max")]),
        ("a reminder", "RemindersSent", [("Channel", "sms")]),
        ("an SMS rating", "Replies", [("Channel", "sms")]),
        (
            "the instance down",
            "MaxInstanceDown",
            [("State", "notAuthorized")],
        ),
    ] {
        eventually(what, WAIT, || async {
            Ok((capture.sum(name, &dims) > 0.0).then_some(()))
        })
        .await
        .unwrap();
    }
}
