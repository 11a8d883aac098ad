//! `otklik whatsapp template` against the Meta simulator over real HTTP, as an operator runs it.

use std::process::{Command, Output};

use otklik_whatsapp_sim::{spawn, SimConfig};

fn config_for(meta_url: &str, extra: &str) -> String {
    include_str!("../../../otklik.example.toml")
        .replace("template_button_ratings = [5, 4, 3, 2, 1]\n", "")
        .replace(
            "api_url = \"https://graph.facebook.com\"",
            &format!("api_url = \"{meta_url}\""),
        )
        .replace(
            "template_has_buttons = true",
            &format!("template_has_buttons = true\n{extra}"),
        )
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("otklik-wa-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otklik.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn run(args: Vec<String>, token: Option<&str>) -> Output {
    let token = token.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_otklik"));
        cmd.args(&args).env_remove("OTKLIK_META_ACCESS_TOKEN");
        if let Some(t) = token {
            cmd.env("OTKLIK_META_ACCESS_TOKEN", t);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn args(path: &std::path::Path, more: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["whatsapp", "template", "--config"]
        .into_iter()
        .map(String::from)
        .collect();
    v.push(path.display().to_string());
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn creates_the_template_in_the_configured_order_then_refuses_a_duplicate_in_words() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let waba = SimConfig::default().meta_business_account_id;
    let path = write(
        "create",
        &config_for(
            &sim.url(),
            &format!("template_button_ratings = [1, 2, 3, 4, 5]\nbusiness_account_id = \"{waba}\""),
        ),
    );

    let out = run(args(&path, &[]), Some("meta-token")).await;
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("1. «1 — очень плохо»  → rating 1"), "{all}");
    assert!(all.contains("status PENDING"), "{all}");
    let templates = sim.state().templates();
    assert_eq!(templates.len(), 1);
    assert_eq!(
        templates[0].components[1]["buttons"][0]["text"],
        "1 — очень плохо"
    );

    let out = run(args(&path, &[]), Some("meta-token")).await;
    let all = text(&out);
    assert!(!out.status.success());
    assert!(
        all.contains("Content in this language already exists"),
        "{all}"
    );
    assert!(
        !all.contains("Refused(") && !all.contains("\"error\""),
        "{all}"
    );
    assert_eq!(sim.state().templates().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn says_what_is_missing_before_calling_meta() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    // No business account id.
    let path = write("no-waba", &config_for(&sim.url(), ""));
    let out = run(args(&path, &[]), Some("meta-token")).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("whatsapp.meta.business_account_id"),
        "{}",
        text(&out)
    );

    // No token.
    let path = write(
        "no-token",
        &config_for(&sim.url(), "business_account_id = \"100000000000002\""),
    );
    let out = run(args(&path, &[]), None).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("OTKLIK_META_ACCESS_TOKEN is not set"),
        "{}",
        text(&out)
    );

    // A dry run prints the template and creates nothing.
    let out = run(args(&path, &["--dry-run"]), None).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1. «5 — отлично»  → rating 5"),
        "{}",
        text(&out)
    );
    assert!(sim.state().templates().is_empty());
    sim.shutdown().await;
}

#[test]
fn config_check_says_what_template_to_create() {
    let path = write("check", &config_for("https://graph.facebook.com", ""));
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Name:      order_feedback"), "{err}");
    assert!(err.contains("5. «1 — очень плохо»  → rating 1"), "{err}");
}
