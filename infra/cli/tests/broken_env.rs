//! Every `otklik` command in a broken environment — no config, a bad config, no AWS credentials,
//! an unreachable AWS endpoint, a missing table, missing secrets, an unreachable retailCRM or
//! Meta — must fail with words for a person: no Rust debug formatting (`Error {`, `Some(`,
//! `kind:`, braces of any kind), and no JSON line. `otklik reply` is left out: it needs no
//! environment, and its JSON on stdout is its purpose.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh empty directory: the working directory (so no `otklik.toml` is found by accident) and
/// the home (so no `~/.aws` credentials are).
fn empty_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otklik-broken-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Runs `otklik args` with only `env` (plus PATH and a bare HOME); the output, stdout then stderr.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otklik"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        // Without this the SDK asks the EC2 metadata service for credentials, which off EC2 can
        // take seconds to fail; the message is the same either way.
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the otklik binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What a person must never see.
const DEBUG_MARKS: &[&str] = &[
    "{",
    "}",
    "Error {",
    "Some(",
    "None)",
    "kind:",
    "source:",
    "DispatchFailure",
    "\\n",
];

fn assert_words(case: &str, ok: bool, text: &str) {
    assert!(!ok, "{case}: succeeded in a broken environment:\n{text}");
    assert!(!text.trim().is_empty(), "{case}: said nothing");
    for mark in DEBUG_MARKS {
        assert!(!text.contains(mark), "{case}: {mark:?} in:\n{text}");
    }
    for line in text.lines() {
        let l = line.trim_start();
        assert!(
            !(l.starts_with('{') || l.starts_with('[')),
            "{case}: a JSON line: {line}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(l).map_or(true, |v| !v.is_object()),
            "{case}: a JSON line: {line}"
        );
    }
}

/// A name for the failure message, the arguments, and the environment.
type Case<'a> = (String, Vec<String>, Vec<(&'a str, &'a str)>);

const PERIOD: [&str; 4] = ["--from", "2026-01-01", "--to", "2026-01-31"];

fn example() -> String {
    include_str!("../../../otklik.example.toml").to_string()
}

#[test]
fn every_command_fails_in_words() {
    let dir = empty_dir("all");
    let missing = dir.join("nowhere.toml").display().to_string();
    let syntax = write(&dir, "syntax.toml", "[crm\nurl = 1\n");
    let shape = write(
        &dir,
        "shape.toml",
        &example()
            .replace(
                "rate_limit_per_second = 10",
                "rate_limit_per_second = \"ten\"",
            )
            .replace("provider = \"meta\"", "provider = \"viber\""),
    );
    let good = write(&dir, "good.toml", &example());
    let unreachable_crm = write(
        &dir,
        "crm.toml",
        &example().replace(
            "url = \"https://demo.retailcrm.ru\"",
            "url = \"http://127.0.0.1:9\"",
        ),
    );
    let unreachable_meta = write(
        &dir,
        "meta.toml",
        &example()
            .replace(
                "api_url = \"https://graph.facebook.com\"",
                "api_url = \"http://127.0.0.1:9\"",
            )
            .replace(
                "# business_account_id = \"100000000000002\"",
                "business_account_id = \"100000000000002\"",
            ),
    );
    let no_aws: &[(&str, &str)] = &[("AWS_REGION", "eu-central-1")];
    let dead_aws: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let crm_keys: &[(&str, &str)] = &[
        ("OTKLIK_CRM_API_KEY", "key"),
        ("OTKLIK_TRIGGER_SECRET", "secret"),
    ];
    let kpi = |config: &str| -> Vec<String> {
        let mut v = vec!["kpi".to_string()];
        v.extend(PERIOD.iter().map(|s| s.to_string()));
        v.extend(["--config".to_string(), config.to_string()]);
        v
    };
    let crm = |config: &str| -> Vec<String> {
        [
            "crm",
            "setup",
            "--config",
            config,
            "--webhook-url",
            "https://h.example/webhooks/retailcrm",
        ]
        .map(String::from)
        .to_vec()
    };
    let check = |config: &str| -> Vec<String> {
        ["config", "check", "--config", config]
            .map(String::from)
            .to_vec()
    };
    let template = |config: &str| -> Vec<String> {
        ["whatsapp", "template", "--config", config]
            .map(String::from)
            .to_vec()
    };
    let mut cases: Vec<Case> = Vec::new();
    for (what, config) in [
        ("no config", &missing),
        ("syntax", &syntax),
        ("shape", &shape),
    ] {
        cases.push((format!("kpi, {what}"), kpi(config), no_aws.to_vec()));
        cases.push((format!("crm setup, {what}"), crm(config), crm_keys.to_vec()));
        cases.push((format!("config check, {what}"), check(config), vec![]));
        cases.push((
            format!("whatsapp template, {what}"),
            template(config),
            vec![],
        ));
    }
    // No config given and none in the working directory.
    cases.push((
        "kpi, no otklik.toml".into(),
        kpi("otklik.toml")[..5].to_vec(),
        vec![],
    ));
    // AWS: no credentials, an endpoint nobody answers.
    for (what, env) in [
        ("no AWS credentials", no_aws),
        ("AWS unreachable", dead_aws),
    ] {
        cases.push((
            format!("provision, {what}"),
            vec!["provision".into()],
            env.to_vec(),
        ));
        cases.push((
            format!("inbound unusable, {what}"),
            vec!["inbound".into(), "unusable".into()],
            env.to_vec(),
        ));
        cases.push((format!("kpi, {what}"), kpi(&good), env.to_vec()));
        // The operator's commands and the digest's manual firing read the stack too.
        for args in [
            vec!["survey", "show", "--order", "main-shop/1234"],
            vec!["dlq", "list"],
            vec!["dlq", "redrive", "crm-writes"],
            vec!["report", "digest", "--url", "https://api.example.ru"],
        ] {
            cases.push((
                format!("{}, {what}", args[..2].join(" ")),
                args.iter().map(|a| a.to_string()).collect(),
                env.to_vec(),
            ));
        }
    }
    // Bad input to the operator's commands: refused before anything is read.
    cases.push((
        "survey show, not an order".into(),
        ["survey", "show", "--order", "1234"]
            .map(String::from)
            .to_vec(),
        dead_aws.to_vec(),
    ));
    cases.push((
        "dlq redrive, no such queue".into(),
        ["dlq", "redrive", "nonsense"].map(String::from).to_vec(),
        dead_aws.to_vec(),
    ));
    // Secrets missing.
    cases.push(("crm setup, no API key".into(), crm(&good), vec![]));
    cases.push((
        "crm setup, no trigger secret".into(),
        crm(&good),
        vec![("OTKLIK_CRM_API_KEY", "key")],
    ));
    cases.push((
        "report link, no token".into(),
        ["report", "link", "--url", "https://api.example.ru"]
            .map(String::from)
            .to_vec(),
        vec![],
    ));
    cases.push((
        "report link, no URL".into(),
        ["report", "link"].map(String::from).to_vec(),
        vec![("OTKLIK_REPORT_TOKEN", "t")],
    ));
    cases.push((
        "whatsapp template, no account id".into(),
        template(&good),
        vec![],
    ));
    cases.push((
        "whatsapp template, no token".into(),
        template(&unreachable_meta),
        vec![],
    ));
    // Providers unreachable.
    cases.push((
        "crm setup, retailCRM unreachable".into(),
        crm(&unreachable_crm),
        crm_keys.to_vec(),
    ));
    cases.push((
        "whatsapp template, Meta unreachable".into(),
        template(&unreachable_meta),
        vec![("OTKLIK_META_ACCESS_TOKEN", "token")],
    ));

    for (case, args, env) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = run(&dir, &args, env);
        assert_words(case, ok, &text);
    }
    assert!(cases.len() >= 35, "{} cases", cases.len());

    // And each names what to do.
    let said = |args: Vec<String>, env: &[(&str, &str)]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&dir, &args, env).1
    };
    let t = said(crm(&unreachable_crm), crm_keys);
    assert!(
        t.contains("cannot reach retailCRM at http://127.0.0.1:9 (crm.url)"),
        "{t}"
    );
    let t = said(crm(&good), &[]);
    assert!(t.contains("OTKLIK_CRM_API_KEY is not set"), "{t}");
    let t = said(kpi(&good), no_aws);
    assert!(
        t.contains("no AWS credentials found: set AWS_PROFILE"),
        "{t}"
    );
    for args in [
        ["survey", "show", "--order", "main-shop/1"],
        ["dlq", "list", "", ""],
    ] {
        let args: Vec<String> = args
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| a.to_string())
            .collect();
        let t = said(args.clone(), no_aws);
        assert!(t.contains("no AWS credentials found"), "{args:?}: {t}");
        let t = said(args.clone(), dead_aws);
        assert!(
            t.contains("cannot reach AWS at AWS_ENDPOINT_URL=http://127.0.0.1:9"),
            "{args:?}: {t}"
        );
    }
    let t = said(vec!["provision".into()], dead_aws);
    assert!(
        t.contains("cannot reach AWS at AWS_ENDPOINT_URL=http://127.0.0.1:9"),
        "{t}"
    );
    let t = said(check(&syntax), &[]);
    assert!(
        t.contains("syntax.toml: not valid TOML: line 1, column 5"),
        "{t}"
    );
    let t = said(check(&shape), &[]);
    assert!(t.contains("2 problems to fix"), "{t}");
}

#[test]
fn a_missing_table_is_named() {
    let dir = empty_dir("table");
    let endpoint = otklik_test_support::local_endpoint();
    let good = write(&dir, "good.toml", &example());
    let env: Vec<(&str, &str)> = vec![
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("OTKLIK_STACK", "no-such-stack"),
    ];
    for args in [
        vec!["inbound", "unusable"],
        vec![
            "kpi",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--config",
            &good,
        ],
    ] {
        let (ok, text) = run(&dir, &args, &env);
        assert_words(&args.join(" "), ok, &text);
        assert!(
            text.contains("the table no-such-stack-main does not exist"),
            "{text}"
        );
        assert_eq!(text.trim().lines().count(), 1, "one sentence: {text}");
    }
}
