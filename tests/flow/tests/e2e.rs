//! End to end through the local runner, nothing called by hand: an order completed in the
//! retailCRM simulator fires its trigger at the gateway, the intake queue's mapping runs the
//! worker, the Scheduler fires the one-time schedule (time compressed), dispatch sends on the
//! WhatsApp simulator, the customer's answer comes back as a signed webhook, and the CRM writer,
//! the complaint creator and the reply sender run from their queues.

use chrono::{Datelike, Utc};
use otklik_core::model::SurveyId;
use otklik_flow_tests::{eventually, TestStack, WAIT};
use otklik_local_runner::stack;
use serde_json::{json, Value};

/// An order managers 11 and 12 both worked on, completed, and the question it got.
async fn asked(s: &TestStack, phone: &str) -> (u64, Value) {
    let id = s
        .complete_order(json!({"phone": phone, "customer": {"id": 900}}), &[11, 12])
        .await;
    let d = &s.driver;
    let question = eventually("the question reaches WhatsApp", WAIT, || async {
        Ok(d.messages_to(phone).await?.into_iter().next())
    })
    .await
    .unwrap();
    (id, question)
}

async fn field(s: &TestStack, id: u64, code: &str) -> Value {
    s.driver.order("main-shop", id).await.unwrap()["customFields"][code].clone()
}

#[tokio::test]
async fn a_completed_order_is_asked_rated_written_and_credited_to_everyone_who_worked_it() {
    let s = TestStack::start("e2e-four").await;
    let d = &s.driver;
    let phone = "+79005550101";
    let (id, question) = asked(&s, phone).await;
    assert_eq!(question["provider"], "meta");

    d.say("meta", phone, "4").await.unwrap();
    let rating = eventually("the rating reaches the order", WAIT, || async {
        let v = field(&s, id, "otklik_rating").await;
        Ok((!v.is_null()).then_some(v))
    })
    .await
    .unwrap();
    assert_eq!(rating, json!(4));

    // Both managers who worked the order are credited exactly once.
    let store = &s.store;
    let survey = SurveyId::for_order(&otklik_core::model::OrderRef::new("main-shop", id).unwrap());
    let now = Utc::now();
    let credits = eventually("both credits are written", WAIT, || async {
        let c: Vec<_> = store
            .credits_between(
                now - chrono::Duration::hours(1),
                now + chrono::Duration::hours(1),
            )
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|c| c.survey == survey)
            .collect();
        Ok((c.len() >= 2).then_some(c))
    })
    .await
    .unwrap();
    let mut employees: Vec<u64> = credits.iter().map(|c| c.employee).collect();
    employees.sort();
    assert_eq!(employees, vec![11, 12], "{credits:?}");
    assert!(credits.iter().all(|c| c.rating == 4));

    // The thanks come back on WhatsApp, once.
    let thanks = eventually("the thanks are sent", WAIT, || async {
        let m = d.messages_to(phone).await?;
        Ok((m.len() >= 2).then_some(m))
    })
    .await
    .unwrap();
    assert_eq!(thanks.len(), 2, "{thanks:?}");

    // The KPI route counts the order for both of them. Its dates are the shop's (Moscow), which
    // from 21:00 UTC on is already tomorrow.
    let today = now.with_timezone(&s.config.timezone).date_naive();
    let first = today.with_day(1).unwrap().to_string();
    // The writer learns the names after the credits, with a read that waits for its slot of the
    // shared retailCRM budget: the report may show them a moment later.
    let report = eventually("the report names both employees", WAIT, || async {
        let report = d
            .kpi(stack::REPORT_TOKEN, &first, &today.to_string())
            .await?;
        let named = report["employees"].as_array().is_some_and(|rows| {
            rows.iter()
                .filter(|r| r["employeeId"] == 11 || r["employeeId"] == 12)
                .filter(|r| r["name"].is_string())
                .count()
                == 2
        });
        Ok(named.then_some(report))
    })
    .await
    .unwrap();
    let rows = report["employees"].as_array().unwrap();
    for e in [11, 12] {
        let row = rows
            .iter()
            .find(|r| r["employeeId"] == e)
            .unwrap_or_else(|| panic!("employee {e} missing: {report}"));
        assert_eq!(row["ratedOrders"], 1, "{row}");
        assert_eq!(row["averageRating"], 4.0, "{row}");
    }
    // Named as retailCRM names them (the CRM writer learnt the names when it credited them).
    let name = |e: u64| {
        rows.iter()
            .find(|r| r["employeeId"] == e)
            .map(|r| r["name"].clone())
    };
    assert_eq!(name(11), Some(json!("Анна Смирнова")), "{report}");
    assert_eq!(name(12), Some(json!("Дмитрий Кузнецов")), "{report}");
    assert_eq!(
        s.local().consumers["crm-writer"]
            .failed
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn a_one_opens_a_complaint_whose_progress_is_tracked() {
    let s = TestStack::start("e2e-one").await;
    let d = &s.driver;
    let phone = "+79005550102";
    let (id, _) = asked(&s, phone).await;
    d.say("meta", phone, "1, курьер опоздал и нагрубил")
        .await
        .unwrap();

    let complaint = eventually("a complaint order is opened", WAIT, || async {
        Ok(d.orders("reklamacii").await?.into_iter().next())
    })
    .await
    .unwrap();
    assert_eq!(complaint["managerId"], 7, "{complaint}");
    assert_eq!(complaint["status"], "complaint-created");
    let cid = complaint["id"].as_u64().unwrap();
    // The link is complaint-create's next call: it waits for its own slot of the shared retailCRM
    // budget (110 ms or more after the order's), so it may land just after the order shows.
    eventually("the complaint is linked to the order", WAIT, || async {
        let links = d.crm_list("links").await?;
        Ok(links
            .iter()
            .any(|l| {
                let ids: Vec<u64> = l["orders"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o["id"].as_u64())
                    .collect();
                ids.contains(&id) && ids.contains(&cid)
            })
            .then_some(()))
    })
    .await
    .unwrap();
    // The rating travels on its own queue: it may land just after the complaint.
    let rating = eventually("the rating reaches the order", WAIT, || async {
        let v = field(&s, id, "otklik_rating").await;
        Ok((!v.is_null()).then_some(v))
    })
    .await
    .unwrap();
    assert_eq!(rating, json!(1));

    // The inspector takes it into work, then resolves it: the trigger reports both.
    d.set_status("reklamacii", cid, "complaint-in-work", 7)
        .await
        .unwrap();
    d.set_status("reklamacii", cid, "complaint-resolved", 7)
        .await
        .unwrap();
    let store = &s.store;
    let survey = SurveyId::for_order(&otklik_core::model::OrderRef::new("main-shop", id).unwrap());
    let cfg = s.config.complaints.clone();
    let track = eventually("the complaint is tracked as resolved", WAIT, || async {
        let t = store
            .complaint_track(&survey)
            .await
            .map_err(|e| e.to_string())?
            .map(|(t, _)| t);
        Ok(t.filter(|t| t.closed(&cfg).is_some()))
    })
    .await
    .unwrap();
    assert!(track.first_in_work_at.is_some(), "{track:?}");
    assert_eq!(track.closed(&cfg).map(|(_, resolved)| resolved), Some(true));
    assert_eq!(d.orders("reklamacii").await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_sandbox_page_lets_a_person_play_the_customer() {
    let s = TestStack::start("e2e-sandbox").await;
    let api = s.api_url();
    let http = reqwest::Client::new();
    let page = http.get(format!("{api}/sandbox")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Отклик — песочница"));

    // Refused input changes nothing.
    let bad = http
        .post(format!("{api}/sandbox/api/orders"))
        .json(&json!({"name": "Аня"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let state = || async {
        http.get(format!("{api}/sandbox/api/state"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<Value>()
            .await
            .map_err(|e| e.to_string())
    };
    assert_eq!(state().await.unwrap()["orders"], json!([]));
    let made: Value = http
        .post(format!("{api}/sandbox/api/orders"))
        .json(&json!({"name": "Аня", "phone": "+79005550201", "manager": 13, "handed_to": 14}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = made["id"].as_u64().expect("an order id");
    eventually("the question shows in the page's chat", WAIT, || async {
        let s = state().await?;
        Ok(s["whatsapp"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["phone"] == "+79005550201"))
            .then_some(()))
    })
    .await
    .unwrap();
    let said = http
        .post(format!("{api}/sandbox/api/say"))
        .json(&json!({"phone": "+79005550201", "text": "5"}))
        .send()
        .await
        .unwrap();
    assert_eq!(said.status(), 200);
    let s = eventually("the page shows the rating and the KPI", WAIT, || async {
        let s = state().await?;
        let rated = s["orders"]
            .as_array()
            .is_some_and(|o| o.iter().any(|o| o["id"] == id && o["rating"] == 5));
        Ok((rated && s["kpi"]["team"]["ratedOrders"] == 1).then_some(s))
    })
    .await
    .unwrap();
    let order = s["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(order["rating"], 5, "{order}");
    assert_eq!(s["kpi"]["employees"].as_array().unwrap().len(), 2, "{s}");
    // The chat shows both sides: our question with its buttons, the customer's 5, then our reply.
    let chat = &s["whatsapp"][0]["lines"];
    assert_eq!(chat[0]["direction"], "out", "{chat}");
    assert_eq!(chat[0]["buttons"][0]["payload"], "rating_5", "{chat}");
    assert_eq!(
        chat[1],
        json!({"direction": "in", "text": "5", "at": chat[1]["at"]}),
        "{chat}"
    );
    assert_eq!(chat[2]["direction"], "out", "{chat}");
    // The shop's people by name.
    let people = s["people"].as_array().unwrap();
    assert!(
        people
            .iter()
            .any(|p| p["id"] == 13 && p["name"].as_str().is_some_and(|n| n.len() > 3)),
        "{people:?}"
    );

    let post = |path: &'static str, body: Value| {
        let (http, url) = (http.clone(), format!("{api}/sandbox/api/{path}"));
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    // The customer asks us to stop; their next order says why nobody asks.
    assert_eq!(
        post("say", json!({"phone": "+79005550201", "text": "стоп"}))
            .await
            .status(),
        200
    );
    eventually("the opt-out is answered", WAIT, || async {
        let s = state().await?;
        let lines = s["whatsapp"][0]["lines"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok((lines.len() >= 5).then_some(()))
    })
    .await
    .unwrap();
    let again: Value = post("orders", json!({"name": "Аня", "phone": "+79005550201"}))
        .await
        .json()
        .await
        .unwrap();
    let again = again["id"].as_u64().unwrap();
    eventually("the page says why the order is not asked", WAIT, || async {
        let s = state().await?;
        let why = s["orders"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["id"] == again))
            .map(|o| o["notAsked"].clone());
        Ok((why == Some(json!("покупатель отказался от вопросов"))).then_some(()))
    })
    .await
    .unwrap();

    // A 1 opens a complaint; the inspector fails it, and retailCRM gets the failed status.
    post("orders", json!({"name": "Борис", "phone": "+79005550202"})).await;
    eventually("the second question", WAIT, || async {
        let s = state().await?;
        Ok(s["whatsapp"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["phone"] == "+79005550202"))
            .then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(
        post("say", json!({"phone": "+79005550202", "text": "1"}))
            .await
            .status(),
        200
    );
    let complaint = eventually("the complaint shows", WAIT, || async {
        let s = state().await?;
        Ok(s["complaints"].as_array().and_then(|c| c.first()).cloned())
    })
    .await
    .unwrap();
    assert_eq!(complaint["stage"], "created", "{complaint}");
    let refused = post("complaint", json!({"id": complaint["id"], "to": "lost"})).await;
    assert_eq!(refused.status(), 400);
    let moved = post("complaint", json!({"id": complaint["id"], "to": "failed"})).await;
    assert_eq!(moved.status(), 200);
    let s = state().await.unwrap();
    assert_eq!(s["complaints"][0]["stage"], "failed", "{s}");
    assert_eq!(s["complaints"][0]["status"], "complaint-failed", "{s}");
}
