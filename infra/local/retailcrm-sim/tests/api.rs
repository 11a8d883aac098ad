//! The `/api/v5` surface over real HTTP: what a retailCRM client sees.

use otklik_retailcrm_sim::{spawn, SimConfig, SimHandle};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const KEY: &str = "sim-key";

/// A seeded simulator with a rate limit high enough not to interfere with functional tests.
async fn start() -> (SimHandle, Client) {
    let config = SimConfig {
        rate_limit: 10_000,
        ..SimConfig::default()
    };
    let sim = spawn(config).await.expect("simulator starts");
    sim.state().seed_demo();
    (sim, Client::new())
}

fn url(sim: &SimHandle, path: &str) -> String {
    format!("{}/api/v5/{path}", sim.url())
}

async fn get(
    client: &Client,
    sim: &SimHandle,
    path: &str,
    query: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = client
        .get(url(sim, path))
        .header("X-API-KEY", KEY)
        .query(query)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.expect("JSON body"))
}

async fn post(
    client: &Client,
    sim: &SimHandle,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = client
        .post(url(sim, path))
        .header("X-API-KEY", KEY)
        .form(form)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.expect("JSON body"))
}

fn shop_order() -> Value {
    json!({
        "site": "main-shop",
        "status": "delivering",
        "managerId": 11,
        "phone": "+79001234567",
        "email": "buyer@example.ru",
        "firstName": "Ирина",
        "delivery": {"code": "courier"},
        "items": [{"offer": {"id": 10}, "quantity": 2, "initialPrice": 4900}],
    })
}

/// Creates the rating field through the API, as the setup command does.
async fn create_rating_field(client: &Client, sim: &SimHandle) {
    let field = json!({"name": "Оценка покупателя", "code": "otklik_rating", "type": "integer",
                       "viewMode": "not_editable"})
    .to_string();
    let (status, body) = post(
        client,
        sim,
        "custom-fields/order/create",
        &[("customField", &field)],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn the_key_is_checked_in_the_header_the_query_and_the_form() {
    let (sim, client) = start().await;
    let sites = url(&sim, "reference/sites");

    let missing = client.get(&sites).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(
        body,
        json!({"success": false, "errorMsg": "Wrong \"apiKey\" value."})
    );

    let wrong = client
        .get(&sites)
        .header("X-API-KEY", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let header = client
        .get(&sites)
        .header("X-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::OK);
    let query = client
        .get(&sites)
        .query(&[("apiKey", KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::OK);

    let note = json!({"type": "api.info", "message": "проверка", "userIds": [7]}).to_string();
    let form = client
        .post(url(&sim, "notifications/send"))
        .form(&[("apiKey", KEY), ("notification", note.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);

    let stats = sim.state().stats();
    assert_eq!(stats.forbidden, 2);
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.by_route["GET /api/v5/reference/sites"], 4);
}

#[tokio::test]
async fn an_order_is_read_by_id_and_site_with_php_style_empty_maps() {
    let (sim, client) = start().await;
    let id = sim.state().create_order(shop_order(), Some(11)).unwrap();
    let id_s = id.to_string();

    let (status, body) = get(
        &client,
        &sim,
        &format!("orders/{id}"),
        &[("by", "id"), ("site", "main-shop")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let order = &body["order"];
    assert_eq!(body["success"], json!(true));
    assert_eq!(order["id"], json!(id));
    assert_eq!(order["number"], json!(format!("{id}A")));
    assert_eq!(order["site"], json!("main-shop"));
    assert_eq!(order["status"], json!("delivering"));
    assert_eq!(order["managerId"], json!(11));
    assert_eq!(order["delivery"]["code"], json!("courier"));
    assert_eq!(
        order["customer"]["phones"],
        json!([{"number": "+79001234567"}])
    );
    assert_eq!(order["customer"]["type"], json!("customer"));
    assert_eq!(order["items"][0]["offer"]["externalId"], json!("sku-10"));
    assert_eq!(order["summ"], json!(9800.0));
    // PHP renders an empty associative array as a list.
    assert_eq!(order["customFields"], json!([]));
    assert_eq!(order["payments"], json!([]));
    let created = order["createdAt"].as_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").is_ok());

    // The site must be the order's site; by defaults to externalId, as in retailCRM.
    let (status, body) = get(
        &client,
        &sim,
        &format!("orders/{id}"),
        &[("by", "id"), ("site", "ural-shop")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"success": false, "errorMsg": "Not found"}));
    let (status, _) = get(
        &client,
        &sim,
        &format!("orders/{id}"),
        &[("site", "main-shop")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&client, &sim, "orders/999999", &[("by", "id")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&client, &sim, &format!("orders/{id_s}"), &[("by", "id")]).await;
    assert_eq!(status, StatusCode::OK);

    // An item without a price is sold at the catalogue price.
    let lamp = json!({"site": "ural-shop", "items": [{"offer": {"id": 20}}]});
    let lamp_id = sim.state().create_order(lamp, Some(13)).unwrap();
    let (_, body) = get(
        &client,
        &sim,
        &format!("orders/{lamp_id}"),
        &[("by", "id"), ("site", "ural-shop")],
    )
    .await;
    assert_eq!(body["order"]["items"][0]["initialPrice"], json!(3500.0));
    assert_eq!(body["order"]["totalSumm"], json!(3500.0));
    assert_eq!(
        body["order"]["status"],
        json!("new"),
        "new is the default status"
    );

    // Payments with content come back as an object keyed by payment id.
    let mut paid = shop_order();
    paid["payments"] = json!([{"type": "cash", "status": "paid", "amount": 9800}]);
    let paid_id = sim.state().create_order(paid, None).unwrap();
    let (_, body) = get(&client, &sim, &format!("orders/{paid_id}"), &[("by", "id")]).await;
    let payments = body["order"]["payments"]
        .as_object()
        .expect("payments object");
    let (key, payment) = payments.iter().next().unwrap();
    assert_eq!(payment["id"].to_string(), *key);
    assert_eq!(payment["status"], json!("paid"));
}

#[tokio::test]
async fn the_orders_list_filters_by_ids_pages_and_refuses_a_bad_limit() {
    let (sim, client) = start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(sim.state().create_order(shop_order(), Some(11)).unwrap());
    }
    let wanted = [ids[0].to_string(), ids[2].to_string(), ids[4].to_string()];
    let before = sim.state().stats();

    // Three of the five by id, plus one the CRM does not know: the unknown one is not listed.
    let (status, body) = get(
        &client,
        &sim,
        "orders",
        &[
            ("filter[ids][]", wanted[0].as_str()),
            ("filter[ids][]", wanted[1].as_str()),
            ("filter[ids][]", "999999"),
            ("filter[ids][]", wanted[2].as_str()),
            ("limit", "100"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true));
    let listed: Vec<u64> = body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![ids[4], ids[2], ids[0]], "newest first");
    assert_eq!(
        body["pagination"],
        json!({"limit": 100, "totalCount": 3, "currentPage": 1, "totalPageCount": 1})
    );
    // Each order as `orders/{id}` shows it, PHP-style empty maps included.
    let order = &body["orders"][0];
    assert_eq!(order["site"], json!("main-shop"));
    assert_eq!(order["status"], json!("delivering"));
    assert_eq!(order["customFields"], json!([]));

    // One request, counted under its route like every API call.
    let after = sim.state().stats();
    assert_eq!(after.requests, before.requests + 1);
    assert_eq!(after.by_route.get("GET /api/v5/orders"), Some(&1));

    // Without a limit a page holds 20 (retailCRM's default): page 2 of three orders is empty.
    let (status, body) = get(
        &client,
        &sim,
        "orders",
        &[("filter[ids][]", wanted[0].as_str()), ("page", "2")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["orders"], json!([]));
    assert_eq!(body["pagination"]["limit"], json!(20), "20 is the default");
    assert_eq!(body["pagination"]["currentPage"], json!(2));
    assert_eq!(body["pagination"]["totalPageCount"], json!(1));

    // A limit retailCRM does not offer is refused in its error shape.
    for bad in ["10", "101", "1000", "x"] {
        let (status, body) = get(
            &client,
            &sim,
            "orders",
            &[("filter[ids][]", wanted[0].as_str()), ("limit", bad)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}: {body}");
        assert_eq!(body["success"], json!(false));
        assert_eq!(body["errorMsg"], json!("Errors in the input parameters"));
        assert!(body["errors"]["limit"].is_string(), "{body}");
    }
    // So is an id that is not a number.
    let (status, body) = get(&client, &sim, "orders", &[("filter[ids][]", "abc")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"]["filter[ids]"].is_string(), "{body}");
}

#[tokio::test]
async fn an_edit_merges_custom_fields_and_writes_api_history() {
    let (sim, client) = start().await;
    create_rating_field(&client, &sim).await;
    let state = sim.state();
    let id = state.create_order(shop_order(), Some(11)).unwrap();
    let before = state.history().len();

    let patch = json!({"customFields": {"otklik_rating": 5, "no_such_field": "x"},
                       "managerComment": "Клиент: всё отлично"})
    .to_string();
    let (status, body) = post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("site", "main-shop"), ("order", &patch)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], json!(id));
    // Not editable for managers in the interface, but the API may write it.
    assert_eq!(body["order"]["customFields"], json!({"otklik_rating": 5}));
    assert_eq!(
        body["order"]["managerComment"],
        json!("Клиент: всё отлично")
    );
    assert_eq!(
        body["order"]["status"],
        json!("delivering"),
        "untouched fields stay"
    );

    let history = state.history();
    let new: Vec<&Value> = history[before..].iter().collect();
    assert_eq!(new.len(), 2, "{new:?}");
    for entry in &new {
        assert_eq!(entry["source"], json!("api"));
        assert_eq!(entry["apiKey"], json!({"current": true}));
        assert!(entry.get("user").is_none());
        assert_eq!(entry["order"]["id"], json!(id));
        assert_eq!(entry["order"]["site"], json!("main-shop"));
    }
    let rating = new
        .iter()
        .find(|e| e["field"] == "custom_otklik_rating")
        .unwrap();
    assert_eq!(rating["oldValue"], Value::Null);
    assert_eq!(rating["newValue"], json!(5));
    let comment = new
        .iter()
        .find(|e| e["field"] == "manager_comment")
        .unwrap();
    assert_eq!(comment["newValue"], json!("Клиент: всё отлично"));

    // Writing the same value again changes nothing and writes no history.
    let same = json!({"customFields": {"otklik_rating": 5}}).to_string();
    post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("site", "main-shop"), ("order", &same)],
    )
    .await;
    assert_eq!(state.history().len(), before + 2);

    // Any other edited field leaves an entry too, named as retailCRM names it.
    let delivery = json!({"delivery": {"code": "pickup"}, "orderMethod": "phone"}).to_string();
    let (status, _) = post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("order", &delivery)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let history = state.history();
    let last_two: Vec<&Value> = history[before + 2..].iter().collect();
    assert_eq!(last_two.len(), 2, "{last_two:?}");
    assert_eq!(last_two[0]["field"], json!("delivery_type"));
    assert_eq!(last_two[0]["oldValue"], json!({"code": "courier"}));
    assert_eq!(last_two[0]["newValue"], json!({"code": "pickup"}));
    assert_eq!(last_two[1]["field"], json!("order_method"));
    assert_eq!(last_two[1]["newValue"], json!({"code": "phone"}));
    let before = history.len();

    // A manager in the interface cannot edit a not_editable field.
    let refused = state.edit_order(
        "main-shop",
        id,
        json!({"customFields": {"otklik_rating": 1}}),
        Some(11),
    );
    assert!(refused.is_err());
    assert_eq!(
        state.order("main-shop", id).unwrap()["customFields"]["otklik_rating"],
        json!(5)
    );

    // A type mismatch is refused with retailCRM's error shape.
    let bad = json!({"customFields": {"otklik_rating": "пять"}}).to_string();
    let (status, body) = post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("order", &bad)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], json!(false));
    assert!(
        body["errors"]["customFields[otklik_rating]"].is_string(),
        "{body}"
    );

    // A malformed JSON field is a 400 with errors, and the order is not touched.
    let (status, body) = post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("order", "{not json")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], json!(false));
    assert!(body["errorMsg"].is_string());
    assert!(body["errors"]["order"].is_string(), "{body}");

    // Editing an order on another site is a 404.
    let (status, _) = post(
        &client,
        &sim,
        &format!("orders/{id}/edit"),
        &[("by", "id"), ("site", "ural-shop"), ("order", &same)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        state.history().len(),
        before,
        "refused edits leave no history"
    );
}

#[tokio::test]
async fn a_complaint_order_is_created_and_linked() {
    let (sim, client) = start().await;
    create_rating_field(&client, &sim).await;
    let state = sim.state();
    let original = state.create_order(shop_order(), Some(11)).unwrap();
    let customer = state.order("main-shop", original).unwrap()["customer"]["id"]
        .as_u64()
        .unwrap();

    let complaint = json!({
        "status": "complaint-created", "managerId": 7, "orderType": "eshop-individual",
        "customer": {"id": customer}, "customFields": {"otklik_rating": 2},
        "managerComment": "Курьер опоздал на два часа",
    })
    .to_string();
    let (status, body) = post(
        &client,
        &sim,
        "orders/create",
        &[("site", "reklamacii"), ("order", &complaint)],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_u64().unwrap();
    assert!(id > original);
    assert_eq!(body["order"]["site"], json!("reklamacii"));
    assert_eq!(body["order"]["customer"]["id"], json!(customer));
    assert_eq!(body["order"]["managerId"], json!(7));
    assert_eq!(body["order"]["customFields"]["otklik_rating"], json!(2));
    let created = state.history().into_iter().last().unwrap();
    assert_eq!(created["created"], json!(true));
    assert_eq!(created["source"], json!("api"));
    assert!(created.get("field").is_none());

    for (order, why) in [
        (json!({"customer": {"id": 999_999}}), "unknown customer"),
        (json!({"status": "no-such-status"}), "unknown status"),
        (json!({"managerId": 1}), "the owner is not a manager"),
        (json!({"managerId": 4242}), "unknown user"),
    ] {
        let (status, body) = post(
            &client,
            &sim,
            "orders/create",
            &[("site", "reklamacii"), ("order", &order.to_string())],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(body["success"], json!(false));
        assert!(body["errors"].is_object(), "{why}: {body}");
    }
    let (status, _) = post(
        &client,
        &sim,
        "orders/create",
        &[("site", "nowhere"), ("order", "{}")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Orders set up through the control routes may name a customer id the shop has not seen yet:
    // it is created, and the API then knows it.
    let mut seeded = shop_order();
    seeded["customer"] = json!({"id": 777});
    let seeded_id = state.create_order(seeded, Some(11)).unwrap();
    assert_eq!(
        state.order("main-shop", seeded_id).unwrap()["customer"]["id"],
        json!(777)
    );
    let again = json!({"status": "complaint-created", "customer": {"id": 777}}).to_string();
    let (status, _) = post(
        &client,
        &sim,
        "orders/create",
        &[("site", "reklamacii"), ("order", &again)],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let fresh = state.create_order(shop_order(), None).unwrap();
    let fresh_customer = state.order("main-shop", fresh).unwrap()["customer"]["id"]
        .as_u64()
        .unwrap();
    assert!(
        fresh_customer > 777,
        "new customers do not collide with hand-picked ids"
    );

    let link = json!({"orders": [{"id": original}, {"id": id}], "comment": "Рекламация по заказу"})
        .to_string();
    let (status, body) = post(&client, &sim, "orders/links/create", &[("link", &link)]).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body, json!({"success": true}));
    assert_eq!(state.links().len(), 1);
    let (_, body) = get(
        &client,
        &sim,
        &format!("orders/{original}"),
        &[("by", "id")],
    )
    .await;
    assert_eq!(body["order"]["links"][0]["order"]["id"], json!(id));

    let dangling = json!({"orders": [{"id": original}, {"id": 999_999}]}).to_string();
    let (status, _) = post(&client, &sim, "orders/links/create", &[("link", &dangling)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(state.links().len(), 1);
}

#[tokio::test]
async fn history_records_who_changed_what_and_filters_and_pages() {
    let (sim, client) = start().await;
    let state = sim.state();
    let id = state.create_order(shop_order(), Some(11)).unwrap();
    state
        .set_manager("main-shop", id, Some(12), Some(11))
        .unwrap();
    state
        .set_status("main-shop", id, "complete", Some(12))
        .unwrap();
    let other = state.create_order(shop_order(), None).unwrap();

    let (status, body) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[orderId]", &id.to_string()), ("limit", "100")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["history"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        body["pagination"],
        json!({"limit": 100, "totalCount": 3, "currentPage": 1, "totalPageCount": 1})
    );

    let created = &entries[0];
    assert_eq!(created["created"], json!(true));
    assert_eq!(created["source"], json!("user"));
    assert_eq!(created["user"], json!({"id": 11}));
    assert!(
        created.get("apiKey").is_none(),
        "apiKey is only on API changes"
    );
    assert_eq!(created["order"]["id"], json!(id));

    let manager = &entries[1];
    assert_eq!(manager["field"], json!("manager"));
    assert_eq!(manager["oldValue"], json!({"id": 11}));
    assert_eq!(manager["newValue"], json!({"id": 12}));
    assert_eq!(manager["user"], json!({"id": 11}));
    assert_eq!(manager["order"]["managerId"], json!(12));

    let status_entry = &entries[2];
    assert_eq!(status_entry["field"], json!("status"));
    assert_eq!(status_entry["oldValue"], json!({"code": "delivering"}));
    assert_eq!(status_entry["newValue"], json!({"code": "complete"}));
    assert_eq!(status_entry["source"], json!("user"));
    assert_eq!(status_entry["user"], json!({"id": 12}));
    assert_eq!(
        status_entry["order"],
        json!({"id": id, "number": format!("{id}A"), "site": "main-shop", "status": "complete", "managerId": 12})
    );
    let ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ascending ids: {ids:?}"
    );

    // sinceId returns strictly newer entries; a change by the CRM itself has source "code".
    let (_, body) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[sinceId]", &ids[2].to_string())],
    )
    .await;
    let newer = body["history"].as_array().unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0]["order"]["id"], json!(other));
    assert_eq!(newer[0]["source"], json!("code"));
    assert!(newer[0].get("user").is_none());

    // Paging: 25 changes over pages of 20.
    for i in 0..23 {
        state
            .edit_order(
                "main-shop",
                other,
                json!({"managerComment": format!("заметка {i}")}),
                Some(13),
            )
            .unwrap();
    }
    let (_, page1) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[orderId]", &other.to_string()), ("limit", "20")],
    )
    .await;
    assert_eq!(page1["history"].as_array().unwrap().len(), 20);
    assert_eq!(page1["pagination"]["totalCount"], json!(24));
    assert_eq!(page1["pagination"]["totalPageCount"], json!(2));
    let (_, page2) = get(
        &client,
        &sim,
        "orders/history",
        &[
            ("filter[orderId]", &other.to_string()),
            ("limit", "20"),
            ("page", "2"),
        ],
    )
    .await;
    let page2 = page2["history"].as_array().unwrap();
    assert_eq!(page2.len(), 4);
    assert_eq!(page2[3]["field"], json!("manager_comment"));
    assert_eq!(page2[3]["newValue"], json!("заметка 22"));

    // retailCRM refuses other limits, and page together with sinceId.
    let (status, body) = get(&client, &sim, "orders/history", &[("limit", "30")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["limit"].is_string());
    let (status, _) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[sinceId]", "1"), ("page", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // startDate: nothing after tomorrow, everything since yesterday.
    let (_, body) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[startDate]", "2999-01-01 00:00:00")],
    )
    .await;
    assert_eq!(body["history"], json!([]));
    assert_eq!(body["pagination"]["totalCount"], json!(0));
    let (_, body) = get(
        &client,
        &sim,
        "orders/history",
        &[
            ("filter[startDate]", "2000-01-01 00:00:00"),
            ("limit", "100"),
        ],
    )
    .await;
    assert_eq!(
        body["pagination"]["totalCount"],
        json!(state.history().len())
    );
    let (status, _) = get(
        &client,
        &sim,
        "orders/history",
        &[("filter[startDate]", "yesterday")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tasks_and_notifications_reach_existing_users_only() {
    let (sim, client) = start().await;
    let state = sim.state();
    let id = state.create_order(shop_order(), Some(11)).unwrap();

    let task = json!({"text": "Разобрать ответ покупателя", "commentary": "«ну такое»",
                      "datetime": "2026-11-24 10:00", "performerId": 7, "order": {"id": id}})
    .to_string();
    let (status, body) = post(&client, &sim, "tasks/create", &[("task", &task)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["id"].as_u64().is_some());
    let tasks = state.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["performer"], json!(7));
    assert_eq!(tasks[0]["order"]["id"], json!(id));
    assert_eq!(tasks[0]["commentary"], json!("«ну такое»"));

    for bad in [
        json!({"text": "x", "performerId": 999}),
        json!({"text": "x", "performerId": 7, "order": {"id": 999_999}}),
        json!({"text": "", "performerId": 7}),
        json!({"text": "x", "performerId": 7, "datetime": "завтра"}),
    ] {
        let (status, body) =
            post(&client, &sim, "tasks/create", &[("task", &bad.to_string())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    assert_eq!(state.tasks().len(), 1);

    let note =
        json!({"type": "api.info", "message": "Новая рекламация", "userIds": [7]}).to_string();
    let (status, body) = post(
        &client,
        &sim,
        "notifications/send",
        &[("notification", &note)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"success": true}));
    let unknown = json!({"type": "api.info", "message": "x", "userIds": [999]}).to_string();
    let (status, _) = post(
        &client,
        &sim,
        "notifications/send",
        &[("notification", &unknown)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bad_type = json!({"type": "sms", "message": "x", "userIds": [7]}).to_string();
    let (status, _) = post(
        &client,
        &sim,
        "notifications/send",
        &[("notification", &bad_type)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let notes = state.notifications();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["message"], json!("Новая рекламация"));
    assert_eq!(notes[0]["userIds"], json!([7]));

    // A JSON body is not a form: retailCRM sees no parameters at all.
    let resp = client
        .post(url(&sim, "tasks/create"))
        .header("X-API-KEY", KEY)
        .json(&json!({"task": {"text": "x", "performerId": 7}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn custom_fields_are_created_once_and_listed() {
    let (sim, client) = start().await;
    create_rating_field(&client, &sim).await;

    let again =
        json!({"name": "Другое имя", "code": "otklik_rating", "type": "integer"}).to_string();
    let (status, body) = post(
        &client,
        &sim,
        "custom-fields/order/create",
        &[("customField", &again)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], json!(false));
    assert!(body["errorMsg"].as_str().is_some_and(|m| !m.is_empty()));

    let text =
        json!({"name": "Слова покупателя", "code": "otklik_words", "type": "text"}).to_string();
    let (status, body) = post(
        &client,
        &sim,
        "custom-fields/order/create",
        &[("customField", &text)],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"success": true, "code": "otklik_words"}));
    for bad in [
        json!({"name": "x", "code": "Bad-Code", "type": "string"}),
        json!({"name": "x", "code": "ok_code", "type": "colour"}),
        json!({"name": "x", "code": "ok_code", "type": "string", "viewMode": "hidden"}),
    ] {
        let (status, _) = post(
            &client,
            &sim,
            "custom-fields/order/create",
            &[("customField", &bad.to_string())],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    let (status, body) = get(
        &client,
        &sim,
        "custom-fields",
        &[("filter[entity]", "order"), ("limit", "100")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fields = body["customFields"].as_array().unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["code"], json!("otklik_rating"));
    assert_eq!(fields[0]["type"], json!("integer"));
    assert_eq!(fields[0]["entity"], json!("order"));
    assert_eq!(fields[0]["viewMode"], json!("not_editable"));
    assert_eq!(
        fields[1]["viewMode"],
        json!("editable"),
        "editable is the default"
    );
    assert_eq!(body["pagination"]["totalCount"], json!(2));
    let (_, body) = get(
        &client,
        &sim,
        "custom-fields",
        &[("filter[entity]", "customer")],
    )
    .await;
    assert_eq!(body["customFields"], json!([]));
}

#[tokio::test]
async fn reference_data_users_and_products_follow_the_seed() {
    let (sim, client) = start().await;
    let seed = otklik_retailcrm_sim::demo_seed();

    let (_, body) = get(&client, &sim, "reference/statuses", &[]).await;
    let statuses = body["statuses"].as_object().unwrap();
    assert_eq!(statuses.len(), seed.statuses.len());
    assert_eq!(statuses["complete"]["group"], json!("complete"));
    assert_eq!(statuses["complaint-failed"]["group"], json!("cancel"));
    assert_eq!(
        statuses["complaint-resolved"]["name"],
        json!("Негатив устранён")
    );
    assert_eq!(statuses["complaint-resolved"]["group"], json!("complete"));
    assert_eq!(statuses["new"]["active"], json!(true));

    let (_, body) = get(&client, &sim, "reference/sites", &[]).await;
    assert_eq!(body["sites"]["reklamacii"]["name"], json!("Рекламации"));
    assert_eq!(body["sites"]["main-shop"]["code"], json!("main-shop"));

    let (status, body) = get(&client, &sim, "users", &[("limit", "20"), ("page", "1")]).await;
    assert_eq!(status, StatusCode::OK);
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 6);
    let inspector = users.iter().find(|u| u["id"] == 7).unwrap();
    assert_eq!(inspector["isManager"], json!(true));
    assert_eq!(inspector["active"], json!(true));
    for id in 11..=14 {
        assert!(users
            .iter()
            .any(|u| u["id"] == id && u["isManager"] == true));
    }
    assert_eq!(
        body["pagination"],
        json!({"limit": 20, "totalCount": 6, "currentPage": 1, "totalPageCount": 1})
    );
    let (_, body) = get(&client, &sim, "users", &[("limit", "20"), ("page", "2")]).await;
    assert_eq!(body["users"], json!([]));
    let (status, _) = get(&client, &sim, "users", &[("limit", "7")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = get(&client, &sim, "users/12", &[]).await;
    assert_eq!(body["user"]["lastName"], json!("Кузнецов"));

    let (_, body) = get(
        &client,
        &sim,
        "store/products",
        &[
            ("filter[offerIds][]", "10"),
            ("filter[offerIds][]", "21"),
            ("limit", "100"),
        ],
    )
    .await;
    let products = body["products"].as_array().unwrap();
    assert_eq!(products.len(), 2);
    assert_eq!(products[0]["id"], json!(101));
    assert_eq!(
        products[0]["groups"],
        json!([{"id": 1, "externalId": "furniture", "name": "Мебель"}])
    );
    let lamp = &products[1];
    assert!(lamp["offers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == 21));
    let groups: Vec<&str> = lamp["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["externalId"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["lamps", "furniture"]);
    assert_eq!(body["pagination"]["totalCount"], json!(2));

    let resp = client
        .get(url(&sim, "no/such/method"))
        .header("X-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], json!(false));
}
