//! The report route over real HTTP (the local gateway running the real handler).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use otklik_aws::provision::ensure_all;
use otklik_aws::resources::Names;
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Phone, Rating, SurveyState};
use otklik_core::ports::SurveyStore;
use otklik_kpi_report::KpiApi;
use otklik_local_runner::gateway::{self, handler, Route};
use serde_json::Value;

#[tokio::test]
async fn the_report_route_answers_only_with_the_token() {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run `make test`");
    let clients = Clients::from_env().await;
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let names = Names::new(format!("t{}-kpiroute", nanos % 1_000_000_000_000));
    ensure_all(&clients, &names).await.unwrap();
    let store = DynamoStore::new(clients.dynamodb.clone(), &names);
    let sent = Utc.with_ymd_and_hms(2026, 11, 12, 9, 0, 0).unwrap();
    let mut s = Survey::new(
        OrderRef::new("main-shop", 1).unwrap(),
        Contact {
            phone: Some(Phone::parse("+79001112233", "RU").unwrap()),
            email: None,
        },
        sent,
        sent,
    );
    s.state = SurveyState::Sent;
    s.channel = Some(Channel::Whatsapp);
    s.sent_at = Some(sent);
    s.rating = Some(Rating::new(4).unwrap());
    s.employees = vec![EmployeeId::new(11).unwrap(), EmployeeId::new(14).unwrap()];
    assert!(store.create(&s).await.unwrap());

    let api = Arc::new(KpiApi {
        store,
        token: Some("report-token".into()),
        timezone: chrono_tz::Europe::Moscow,
        complaints: otklik_core::config::Config::from_toml(include_str!(
            "../../../otklik.example.toml"
        ))
        .unwrap()
        .complaints,
    });
    let gw = gateway::spawn(vec![Route::new(
        "/reports/",
        handler(move |req| {
            let api = api.clone();
            async move { api.handle(req).await }
        }),
    )])
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/reports/kpi?from=2026-11-01&to=2026-11-30", gw.url());
    for auth in [None, Some("Bearer wrong"), Some("report-token")] {
        let mut req = http.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "unauthorized");
    }
    let bad = http
        .get(format!(
            "{}/reports/kpi?from=2026-11-30&to=2026-11-01",
            gw.url()
        ))
        .bearer_auth("report-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let v: Value = bad.json().await.unwrap();
    assert_eq!(v["error"], "bad_period");
    let ok = http
        .get(&url)
        .bearer_auth("report-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["from"], "2026-11-01");
    assert_eq!(v["team"]["ratedOrders"], 1);
    assert_eq!(v["team"]["averageRating"], 4.0);
    let ids: Vec<u64> = v["employees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["employeeId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![11, 14], "both employees credited: {v}");
}
