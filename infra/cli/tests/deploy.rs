//! `make deploy`'s checks (scripts/deploy.sh with DRY_RUN=1): bad parameters or a bad config stop
//! it with a clear message before anything is built or changed; good ones get as far as the SAM
//! commands it would run. The real deployment needs an AWS account (docs/deploy.md).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/deploy.sh"))
        .env("DRY_RUN", "1")
        .env("OTKLIK_BIN", env!("CARGO_BIN_EXE_otklik"));
    for k in [
        "SECRETS_ARN",
        "SECRETS_PREFIX",
        "SES_IDENTITY",
        "ALARM_EMAIL",
        "CONFIG",
        "STACK",
        "REGION",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn staged_config() -> PathBuf {
    root().join("infra/config/otklik.toml")
}

#[test]
fn missing_parameters_are_all_named_and_nothing_is_built() {
    let before = staged_config().exists();
    let (code, out, err) = deploy(&[]);
    assert_eq!(code, 2, "{out}{err}");
    for name in ["SES_IDENTITY", "ALARM_EMAIL"] {
        assert!(err.contains(&format!("{name} is not set")), "{err}");
    }
    assert!(err.contains("nothing was built or changed"), "{err}");
    assert!(!out.contains("sam build"), "{out}");
    assert_eq!(staged_config().exists(), before);
}

#[test]
fn malformed_parameters_are_refused() {
    let (code, _, err) = deploy(&[
        ("SECRETS_PREFIX", "/otklik//prod"),
        ("SES_IDENTITY", "shop.example"),
        ("ALARM_EMAIL", "ops-at-shop"),
        ("STACK", "1 bad name"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("SECRETS_PREFIX must be a secret name path"),
        "{err}"
    );
    assert!(err.contains("ALARM_EMAIL is not an email address"), "{err}");
    assert!(err.contains("STACK must be"), "{err}");
}

#[test]
fn a_broken_config_stops_the_deploy() {
    let dir = std::env::temp_dir().join(format!("otklik-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("otklik.toml");
    let example = std::fs::read_to_string(root().join("otklik.example.toml")).unwrap();
    std::fs::write(&bad, example.replace("[crm]", "[crmm]")).unwrap();
    let (code, out, err) = deploy(&[
        ("SES_IDENTITY", "shop.example"),
        ("ALARM_EMAIL", "ops@shop.example"),
        ("CONFIG", bad.to_str().unwrap()),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("fix") && err.contains("nothing was built"),
        "{err}"
    );
    assert!(!out.contains("sam deploy"), "{out}");
}

#[test]
fn good_parameters_get_to_the_sam_commands() {
    let (code, out, err) = deploy(&[
        ("SECRETS_PREFIX", "shop/prod"),
        ("SES_IDENTITY", "shop.example"),
        ("ALARM_EMAIL", "ops@shop.example"),
        (
            "CONFIG",
            root().join("otklik.example.toml").to_str().unwrap(),
        ),
        ("STACK", "shop-prod"),
        ("REGION", "eu-central-1"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("sam build --template-file infra/template.yaml --beta-features"),
        "{out}"
    );
    assert!(
        out.contains("--stack-name shop-prod --region eu-central-1"),
        "{out}"
    );
    assert!(out.contains("SecretsPrefix=shop/prod"), "{out}");
    assert!(
        out.contains("SesIdentity=shop.example AlarmEmail=ops@shop.example"),
        "{out}"
    );
    // Without SECRETS_PREFIX the secrets are named after the stack.
    let (code, out, err) = deploy(&[
        ("SES_IDENTITY", "shop.example"),
        ("ALARM_EMAIL", "ops@shop.example"),
        (
            "CONFIG",
            root().join("otklik.example.toml").to_str().unwrap(),
        ),
        ("STACK", "shop-prod"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("SecretsPrefix=shop-prod "), "{out}");
}

#[test]
fn the_old_single_secret_is_refused_with_the_way_to_split_it() {
    let (code, out, err) = deploy(&[
        (
            "SECRETS_ARN",
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:otklik/prod-AbCdEf",
        ),
        ("SES_IDENTITY", "shop.example"),
        ("ALARM_EMAIL", "ops@shop.example"),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("SECRETS_ARN is no longer used") && err.contains("docs/deploy.md"),
        "{err}"
    );
    assert!(!out.contains("sam build"), "{out}");
}

#[test]
fn config_check_prints_the_secret_keys_the_config_needs() {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["config", "check", "--config"])
        .arg(root().join("otklik.example.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secrets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys_of = |secrets: &serde_json::Value, name: &str| -> Vec<String> {
        let mut keys: Vec<String> = secrets[name]
            .as_object()
            .unwrap_or_else(|| panic!("{name} in {secrets}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    // One secret per purpose, named under the default prefix, each with only its keys.
    assert_eq!(keys_of(&secrets, "otklik/crm"), ["OTKLIK_CRM_API_KEY"]);
    assert_eq!(
        keys_of(&secrets, "otklik/trigger"),
        ["OTKLIK_TRIGGER_SECRET"]
    );
    assert_eq!(keys_of(&secrets, "otklik/links"), ["OTKLIK_LINK_SECRET"]);
    assert_eq!(keys_of(&secrets, "otklik/contacts"), ["OTKLIK_CONTACT_KEY"]);
    assert_eq!(keys_of(&secrets, "otklik/reports"), ["OTKLIK_REPORT_TOKEN"]);
    // Neither MAX nor SMS in the example: their keys are not asked for, and no SMS secret.
    let all = secrets.to_string();
    assert!(!all.contains("OTKLIK_MAX_TOKEN"), "{all}");
    assert!(secrets.get("otklik/sms").is_none(), "{all}");
    // Which functions read each, on stderr.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("otklik/trigger (the shared secret of the retailCRM trigger): OTKLIK_TRIGGER_SECRET; read by order-intake"),
        "{said}"
    );
    let russia = std::env::temp_dir().join(format!("otklik-ru-{}.toml", std::process::id()));
    std::fs::write(
        &russia,
        format!(
            "{}\n[channels]\nchain = [\"max\", \"sms\", \"email\"]\n\n[max]\n\
             api_url = \"https://3100.api.green-api.com\"\ninstance_id = \"3100000001\"\n\n\
             [sms]\nprovider = \"smsru\"\nsender = \"MyShop\"\n",
            std::fs::read_to_string(root().join("otklik.example.toml")).unwrap()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["config", "check", "--secrets-prefix", "ru/shop", "--config"])
        .arg(&russia)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&russia);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secrets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys_of(&secrets, "ru/shop/sms"), ["OTKLIK_SMSRU_API_ID"]);
    assert!(keys_of(&secrets, "ru/shop/messaging").contains(&"OTKLIK_MAX_TOKEN".to_string()));
    let webhooks = keys_of(&secrets, "ru/shop/webhooks");
    for k in ["OTKLIK_MAX_WEBHOOK_TOKEN", "OTKLIK_SMS_CALLBACK_SECRET"] {
        assert!(webhooks.contains(&k.to_string()), "{k} in {webhooks:?}");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["config", "check", "--config", "/nonexistent/otklik.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/otklik.toml")
    );
}
