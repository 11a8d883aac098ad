//! The report route over real HTTP (the local gateway running the real handler).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Phone, Rating, SurveyState};
use otklik_core::ports::SurveyStore;
use otklik_flow_tests::TestStack;
use otklik_kpi_report::KpiApi;
use otklik_local_runner::gateway::{handler, Route};
use otklik_local_runner::stack::REPORT_TOKEN;
use serde_json::Value;

#[tokio::test]
async fn the_report_route_answers_only_with_the_token() {
    let mut t = TestStack::bare("kpiroute", "meta").await;
    let store = t.store.clone();
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

    let api = Arc::new(KpiApi::from_parts(&t.parts()).await.unwrap());
    t.serve(vec![Route::new(
        "/reports/",
        handler(move |req| {
            let api = api.clone();
            async move { api.handle(req).await }
        }),
    )])
    .await;
    let gw = t.api_url();
    let http = reqwest::Client::new();
    let url = format!("{}/reports/kpi?from=2026-11-01&to=2026-11-30", gw);
    for auth in [None, Some("Bearer wrong"), Some(REPORT_TOKEN)] {
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
        .get(format!("{}/reports/kpi?from=2026-11-30&to=2026-11-01", gw))
        .bearer_auth(REPORT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let v: Value = bad.json().await.unwrap();
    assert_eq!(v["error"], "bad_period");
    // Longer than a report covers (two years; ten thousand years): refused in our words before
    // anything is read.
    for (from, to) in [("2025-01-01", "2026-12-31"), ("0001-01-01", "9999-12-31")] {
        let long = http
            .get(format!("{gw}/reports/kpi?from={from}&to={to}"))
            .bearer_auth(REPORT_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(long.status(), 400, "{from}..{to}");
        let v: Value = long.json().await.unwrap();
        assert_eq!(v["error"], "bad_period");
        let says = v["message"].as_str().unwrap_or_default();
        assert!(says.contains("at most 366 days"), "{v}");
    }
    // A whole year is still a period.
    let year = http
        .get(format!("{gw}/reports/kpi?from=2026-01-01&to=2026-12-31"))
        .bearer_auth(REPORT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(year.status(), 200);
    let ok = http
        .get(&url)
        .bearer_auth(REPORT_TOKEN)
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
