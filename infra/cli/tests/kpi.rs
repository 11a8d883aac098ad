//! `otklik kpi` against surveys on the local AWS endpoint, as an operator runs it.

use std::process::Command;

use chrono::{TimeZone, Utc};
use otklik_aws::provision::ensure_all;
use otklik_aws::resources::Names;
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Phone, Rating, SurveyState};
use otklik_core::ports::SurveyStore;
use serde_json::Value;

const EXAMPLE: &str = include_str!("../../../otklik.example.toml");

fn survey(id: u64, day: u32, rating: Option<u8>, employees: &[u64]) -> Survey {
    let sent = Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap();
    let mut s = Survey::new(
        OrderRef::new("main-shop", id).unwrap(),
        Contact {
            phone: Some(Phone::parse(&format!("+7900111{id:04}"), "RU").unwrap()),
            email: None,
        },
        sent,
        sent,
    );
    s.state = SurveyState::Sent;
    s.channel = Some(Channel::Whatsapp);
    s.sent_at = Some(sent);
    s.rating = rating.map(|r| Rating::new(r).unwrap());
    s.employees = employees
        .iter()
        .map(|e| EmployeeId::new(*e).unwrap())
        .collect();
    s
}

#[tokio::test]
async fn the_report_counts_what_the_store_holds() {
    otklik_test_support::local_endpoint();
    let clients = Clients::from_env().await;
    let names = Names::new(otklik_test_support::unique_stack("kpi"));
    ensure_all(&clients, &names).await.unwrap();
    // The shop's settings: the counters are kept in its days, with its complaint statuses.
    let config = otklik_core::config::Config::from_toml(EXAMPLE).unwrap();
    let store = DynamoStore::new(clients.dynamodb.clone(), &names)
        .folding(config.timezone, config.complaints.clone());
    let low = survey(2, 10, Some(1), &[11, 12]);
    for s in [
        survey(1, 5, Some(5), &[11]),
        low.clone(),
        survey(3, 20, None, &[12]),
        // Sent in October: outside the period.
        survey(4, 1, Some(2), &[13]).tap_month(10),
    ] {
        assert!(store.create(&s).await.unwrap());
    }
    // The complaint was opened at noon and resolved at 15:00 after a spell in work.
    let opened = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    store
        .record_complaint(&low.id, 77, 1, opened)
        .await
        .unwrap();
    let (mut track, version) = store.complaint_track(&low.id).await.unwrap().unwrap();
    track.observe(
        "complaint-in-work",
        opened + chrono::Duration::minutes(20),
        &config.complaints,
    );
    track.observe(
        "complaint-resolved",
        opened + chrono::Duration::hours(3),
        &config.complaints,
    );
    store
        .save_complaint_track(&low.id, &mut track, version)
        .await
        .unwrap();

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args(["kpi", "--from", "2026-11-01", "--to", "2026-11-30"])
            .args(args)
            .env("OTKLIK_STACK", &names.stack)
            .env(
                "OTKLIK_CONFIG",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../otklik.example.toml"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert_eq!(json["team"]["ratedOrders"], 2);
    assert_eq!(json["team"]["averageRating"], 3.0);
    assert_eq!(json["team"]["csatPercent"], 50.0);
    assert_eq!(json["team"]["complaintsOpened"], 1);
    assert_eq!(json["team"]["complaintsResolved"], 1);
    assert_eq!(json["team"]["medianResolveHours"], 3.0);
    assert_eq!(json["employees"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["employees"][0]["employeeId"], 11);
    assert_eq!(json["employees"][0]["ratedOrders"], 2);
    assert_eq!(json["responseRateByChannel"]["whatsapp"]["asked"], 3);
    assert_eq!(json["responseRateByChannel"]["whatsapp"]["percent"], 66.7);
    let csv = run(&["--csv"]);
    assert!(
        csv.lines().any(|l| l == "team,\"\",2,3,50,1,1,1,3"),
        "{csv}"
    );
    let table = run(&[]);
    assert!(table.starts_with("KPI 2026-11-01 – 2026-11-30"), "{table}");
    assert!(
        table.contains("response rate whatsapp: 2 of 3 (66.7%)"),
        "{table}"
    );

    // `--config` instead of the environment, as the other commands take it.
    let with_flag = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args([
            "kpi",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--json",
        ])
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../otklik.example.toml"),
        ])
        .env("OTKLIK_STACK", &names.stack)
        .env_remove("OTKLIK_CONFIG")
        .output()
        .unwrap();
    assert!(
        with_flag.status.success(),
        "{}",
        String::from_utf8_lossy(&with_flag.stderr)
    );
    let again: Value = serde_json::from_slice(&with_flag.stdout).unwrap();
    assert_eq!(again["team"], json["team"]);
    let missing = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["kpi", "--from", "2026-11-01", "--to", "2026-11-30"])
        .args(["--config", "/nonexistent/otklik.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/otklik.toml"));

    let bad = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["kpi", "--from", "2026-11-30", "--to", "2026-11-01"])
        .env(
            "OTKLIK_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../otklik.example.toml"),
        )
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("before"));
    // Longer than a report covers: refused in our words, nothing read.
    let long = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["kpi", "--from", "2000-01-01", "--to", "2026-11-01"])
        .env(
            "OTKLIK_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../otklik.example.toml"),
        )
        .output()
        .unwrap();
    assert!(!long.status.success());
    let said = String::from_utf8_lossy(&long.stderr);
    assert!(said.contains("at most 366 days"), "{said}");
}

trait TapMonth {
    fn tap_month(self, month: u32) -> Self;
}

impl TapMonth for Survey {
    fn tap_month(mut self, month: u32) -> Survey {
        let t = Utc.with_ymd_and_hms(2026, month, 15, 12, 0, 0).unwrap();
        self.sent_at = Some(t);
        self.created_at = t;
        self
    }
}
