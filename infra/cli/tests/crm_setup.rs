//! `otklik crm setup` against the retailCRM simulator over real HTTP.

use std::process::Command;

use otklik_cli::crm_setup;
use otklik_core::config::Config;
use otklik_retailcrm::{ClientConfig, RetailCrm};
use otklik_retailcrm_sim::{spawn, SimConfig};

/// The example config pointed at the simulator; its wholesale rule's site (`opt-shop`, which the
/// demo account does not have) becomes the demo's main shop.
fn config_for(url: &str) -> String {
    include_str!("../../../otklik.example.toml")
        .replace(
            "url = \"https://demo.retailcrm.ru\"",
            &format!("url = \"{url}\""),
        )
        .replace("site = \"opt-shop\"", "site = \"main-shop\"")
}

async fn seeded_sim() -> otklik_retailcrm_sim::SimHandle {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/sim/seed", sim.url()))
        .json(&serde_json::json!({"preset": "demo"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    sim
}

#[tokio::test]
async fn setup_creates_the_fields_once_and_reports_a_healthy_account() {
    let sim = seeded_sim().await;
    let config = Config::from_toml(&config_for(&sim.url())).unwrap();
    let crm = RetailCrm::new(ClientConfig::for_otklik(
        &config,
        &SimConfig::default().api_key,
    ))
    .unwrap();

    let first = crm_setup::run(&crm, &config).await.unwrap();
    assert!(first.problems.is_empty(), "{:#?}", first.lines);
    assert_eq!(
        first.created,
        vec!["otklik_rating".to_string(), "otklik_words".to_string()]
    );
    let fields = crm.order_custom_fields().await.unwrap();
    let rating = fields.iter().find(|f| f.code == "otklik_rating").unwrap();
    assert_eq!(rating.field_type, "integer");
    assert_eq!(rating.view_mode.as_deref(), Some("not_editable"));

    let second = crm_setup::run(&crm, &config).await.unwrap();
    assert!(
        second.created.is_empty(),
        "a second run changes nothing: {:#?}",
        second.lines
    );
    assert!(second.problems.is_empty());
    assert_eq!(crm.order_custom_fields().await.unwrap().len(), fields.len());
}

#[tokio::test]
async fn setup_names_what_is_missing() {
    let sim = seeded_sim().await;
    let text = config_for(&sim.url())
        .replace("inspector_id = 7", "inspector_id = 99")
        .replace(
            "status_in_work = \"complaint-in-work\"",
            "status_in_work = \"no-such-status\"",
        );
    let config = Config::from_toml(&text).unwrap();
    let crm = RetailCrm::new(ClientConfig::for_otklik(
        &config,
        &SimConfig::default().api_key,
    ))
    .unwrap();
    let report = crm_setup::run(&crm, &config).await.unwrap();
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    assert!(report
        .problems
        .iter()
        .any(|p| p.contains("inspector user 99")));
    assert!(report.problems.iter().any(|p| p.contains("no-such-status")));
}

#[tokio::test]
async fn setup_checks_the_sites_of_the_timing_rules() {
    let sim = seeded_sim().await;
    let text = config_for(&sim.url()).replace("site = \"main-shop\"", "site = \"no-such-shop\"");
    let config = Config::from_toml(&text).unwrap();
    let crm = RetailCrm::new(ClientConfig::for_otklik(
        &config,
        &SimConfig::default().api_key,
    ))
    .unwrap();
    let report = crm_setup::run(&crm, &config).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
    assert!(
        report.problems[0].contains("site no-such-shop (named in survey.rules[")
            && report.problems[0].contains("does not exist in retailCRM"),
        "{:#?}",
        report.problems
    );
}

#[tokio::test]
async fn the_binary_prints_the_trigger_to_paste() {
    let sim = seeded_sim().await;
    let dir = std::env::temp_dir().join(format!("otklik-setup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otklik.toml");
    std::fs::write(&path, config_for(&sim.url())).unwrap();
    let url = sim.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args(["crm", "setup", "--config"])
            .arg(&path)
            .args([
                "--webhook-url",
                "https://hooks.example.ru/webhooks/retailcrm",
            ])
            .env("OTKLIK_CRM_API_KEY", SimConfig::default().api_key)
            .env("OTKLIK_TRIGGER_SECRET", "s3cret-trigger")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&url), "{stdout}");
    assert!(stdout.contains("created  field otklik_rating"), "{stdout}");
    // A story for a person: no metric (or any other) JSON line among it.
    assert!(
        !stdout.lines().any(|l| l.trim_start().starts_with('{')),
        "{stdout}"
    );
    assert!(
        stdout.contains("https://hooks.example.ru/webhooks/retailcrm"),
        "{stdout}"
    );
    assert!(stdout.contains("orderId = {{ order.id }}"), "{stdout}");
    // A Meta shop also hears which WhatsApp template to create, buttons in order.
    assert!(stdout.contains("1. «5 — отлично»  → rating 5"), "{stdout}");
    assert!(stdout.contains("secret  = s3cret-trigger"), "{stdout}");
    assert!(
        stdout.contains(r#"changeSet.newValue("status").code in ["complete", "complaint-in-work""#),
        "{stdout}"
    );

    // Without the API key: a clear error, exit 1.
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "crm",
            "setup",
            "--config",
            "/nonexistent.toml",
            "--webhook-url",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.toml"));
}
