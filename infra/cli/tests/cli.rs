//! The `otklik` binary as an operator runs it.

use std::process::Command;

fn reply(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("reply")
        .args(args)
        .output()
        .expect("the otklik binary runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_keycap_five_is_a_rating() {
    let (ok, out, err) = reply(&["5️⃣"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"{"kind":"rating","value":5}"#);
}

#[test]
fn two_different_numbers_are_unreadable() {
    let (ok, out, _) = reply(&["3 или 4"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        r#"{"kind":"unreadable","reason":"two different numbers"}"#
    );
}

#[test]
fn sentiment_words_only_with_the_flag() {
    let (_, plain, _) = reply(&["отлично"]);
    assert!(plain.contains(r#""kind":"unreadable""#), "{plain}");
    let (_, with_flag, _) = reply(&["--sentiment-words", "отлично"]);
    assert_eq!(with_flag.trim(), r#"{"kind":"rating","value":5}"#);
}

#[test]
fn a_missing_argument_is_a_clear_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("reply")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("<TEXT>"), "{err}");
}

#[test]
fn report_link_prints_a_signed_link_that_verifies_until_its_ttl() {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "report",
            "link",
            "--ttl",
            "7d",
            "--url",
            "https://api.example.ru/",
        ])
        .env("OTKLIK_REPORT_TOKEN", "cli-test-token")
        .env_remove("OTKLIK_API_URL")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    let link = String::from_utf8(out.stdout).unwrap();
    let token = link
        .trim()
        .strip_prefix("https://api.example.ru/reports/signin?token=")
        .unwrap_or_else(|| panic!("{link}"));
    let key = otklik_core::report_access::ReportKey::new("cli-test-token");
    let until = key
        .verify(
            otklik_core::report_access::Grant::Link,
            token,
            chrono::Utc::now(),
        )
        .unwrap();
    let days = (until - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days} h");
    assert!(err.contains("valid until"), "{err}");
    assert!(!err.contains(token), "the token goes to stdout only");
}

#[test]
fn report_link_says_what_is_missing() {
    let run = |args: &[&str], token: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_otklik"));
        c.args(["report", "link"])
            .args(args)
            .env_remove("OTKLIK_API_URL");
        match token {
            Some(t) => c.env("OTKLIK_REPORT_TOKEN", t),
            None => c.env_remove("OTKLIK_REPORT_TOKEN"),
        };
        let out = c.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(run(&["--url", "https://a.example"], None).contains("OTKLIK_REPORT_TOKEN is not set"));
    assert!(run(&[], Some("t")).contains("--url"));
    assert!(run(&["--ttl", "5y", "--url", "https://a.example"], Some("t")).contains("over a year"));
}

#[test]
fn config_check_lists_every_problem_with_its_line() {
    let text = include_str!("../../../otklik.example.toml")
        .replace(
            "rate_limit_per_second = 10",
            "rate_limit_per_second = \"ten\"\nfoo = 1",
        )
        .replacen("start = \"10:00\"", "start = \"22:00\"", 1);
    let dir = std::env::temp_dir().join(format!("otklik-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otklik.toml");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("3 problems to fix"), "{err}");
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let p = path.display();
    assert!(
        err.contains(&format!(
            "{p}:{}: config key `crm.rate_limit_per_second`: must be a whole number",
            line_of("rate_limit_per_second")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{p}:{}: config key `crm.foo`", line_of("foo = 1"))),
        "{err}"
    );
    assert!(
        err.contains("config key `survey.window`: start 22:00"),
        "{err}"
    );
    assert!(
        !err.contains("invalid type") && !err.contains("expected u32"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
