//! The sandbox page (`make sandbox`) in headless Chromium, on the configuration `make local-up`
//! runs (the `russia-2026` site asks on MAX, then by SMS): a person answers the MAX question in the
//! page's chat box and sees our reply appear, then opens the SMS's short link from the page's SMS
//! inbox and taps a rating. Both ratings must reach the orders in retailCRM.

use std::time::Duration;

use otklik_core::model::{Channel, OrderRef, SurveyId};
use otklik_core::ports::SurveyStore;
use otklik_flow_tests::{digits, eventually, TestStack, WAIT};
use otklik_local_runner::local::Options;
use otklik_local_runner::stack::{self, RUSSIA_SITE};
use serde_json::Value;

#[tokio::test]
async fn the_sandbox_page_answers_on_max_and_rates_through_the_sms_link() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && root
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        "the browser is not set up: run scripts/browser-setup.sh (make test does)"
    );
    let s = TestStack::start_with(
        "sandbox-page",
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            config_edit: Some(stack::with_russia_site),
            ..Default::default()
        },
    )
    .await;
    let (with_max, without_max) = ("+79005580001", "+79005580002");
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/sandbox.mjs"))
        .arg(format!("{}/sandbox", s.api_url()))
        .arg(with_max)
        .arg(without_max)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "browser: {report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["consoleErrors"], serde_json::json!([]), "{v}");
    // The page showed our question and our answer to the 5, and the SMS with its short link.
    let question = v["maxQuestion"].as_str().unwrap();
    assert!(question.contains('5'), "{v}");
    assert_ne!(v["maxReply"], v["maxQuestion"], "{v}");
    let sms = v["sms"].as_str().unwrap();
    assert!(sms.contains(&format!("{}/s/", s.api_url())), "{sms}");
    assert_eq!(v["landing"]["rating"], "4", "{v}");

    // Both ratings reached retailCRM, each from its own channel.
    let orders = s.driver.orders(RUSSIA_SITE).await.unwrap();
    assert_eq!(orders.len(), 2, "{orders:?}");
    for (phone, rating, channel) in [(with_max, 5, Channel::Max), (without_max, 4, Channel::Sms)] {
        let order = orders
            .iter()
            .find(|o| o["phone"].as_str().map(digits) == Some(digits(phone)))
            .unwrap_or_else(|| panic!("no order for {phone}: {orders:?}"));
        let id = order["id"].as_u64().unwrap();
        let got = eventually("the rating reaches the order", WAIT, || async {
            let v = s.driver.order(RUSSIA_SITE, id).await?["customFields"]["otklik_rating"].clone();
            Ok((!v.is_null()).then_some(v))
        })
        .await
        .unwrap();
        assert_eq!(got, rating, "{phone}");
        let survey = s
            .store
            .get(&SurveyId::for_order(
                &OrderRef::new(RUSSIA_SITE, id).unwrap(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(survey.asked, vec![channel], "{phone}");
    }
}
