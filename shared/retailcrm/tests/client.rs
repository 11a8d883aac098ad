//! The client against a scripted HTTP server: wire format as the server sees it, every error kind,
//! lenient decoding, time zones, retries.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{order_json, Mock, Reply};
use otklik_retailcrm::{
    ClientConfig, CrmError, HistoryQuery, NewCustomField, NewTask, Notification, NotificationKind,
    RetailCrm,
};
use serde_json::json;

const FORM: &str = "application/x-www-form-urlencoded";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn client(cfg: ClientConfig) -> RetailCrm {
    RetailCrm::new(cfg).unwrap()
}

// ---- wire format -------------------------------------------------------------------------------

#[tokio::test]
async fn get_order_sends_key_and_query_and_decodes() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"order":order_json(1001)}))).await;
    let cfg = mock.config();
    let key = cfg.api_key.clone();
    let crm = client(cfg);

    let o = crm.get_order("main-shop", 1001).await.unwrap();

    let r = mock.last();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "orders/1001");
    assert_eq!(r.query("by"), Some("id"));
    assert_eq!(r.query("site"), Some("main-shop"));
    assert_eq!(r.api_key.as_deref(), Some(key.as_str()));
    assert_eq!(o.id, 1001);
    assert_eq!(o.number.as_deref(), Some("1001A"));
    assert_eq!(o.status, "complete");
    // Moscow, UTC+3
    assert_eq!(o.status_updated_at, Some(utc("2026-11-23T11:05:00Z")));
    assert_eq!(o.phones, vec!["+79001234567"]);
    assert_eq!(o.email.as_deref(), Some("buyer@example.ru"));
    assert_eq!(o.customer_id, Some(501));
    assert_eq!(o.manager_id, Some(11));
    assert_eq!(o.delivery_type.as_deref(), Some("courier"));
    assert_eq!(o.offer_ids, vec![10]);
    assert_eq!(o.custom_fields["otklik_rating"], json!(5));
    assert_eq!(crm.calls_made(), 1);
    assert_eq!(
        crm.calls_by_route(),
        std::collections::BTreeMap::from([("GET orders/{id}".to_string(), 1)])
    );
}

#[tokio::test]
async fn edit_order_posts_a_form_with_the_patch_as_json() {
    let mock = Mock::always(Reply::ok(
        json!({"success":true,"id":1001,"order":{"id":1001}}),
    ))
    .await;
    let crm = client(mock.config());
    let patch = json!({"customFields":{"otklik_rating":4},"managerComment":"Спасибо & \"ура\" =)"});

    crm.edit_order("main-shop", 1001, &patch).await.unwrap();

    let r = mock.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "orders/1001/edit");
    assert_eq!(r.content_type.as_deref(), Some(FORM));
    assert_eq!(r.form("by"), Some("id"));
    assert_eq!(r.form("site"), Some("main-shop"));
    assert_eq!(r.form_json("order"), patch);
    assert!(r.query.is_empty());
}

#[tokio::test]
async fn create_order_returns_the_new_id() {
    let mock = Mock::always(Reply::json(
        201,
        json!({"success":true,"id":"2001","order":{"id":2001}}),
    ))
    .await;
    let crm = client(mock.config());
    let order = json!({"customer":{"id":501},"status":"complaint","managerId":11,
        "customFields":{"otklik_source":1001}});

    assert_eq!(crm.create_order("main-shop", &order).await.unwrap(), 2001);

    let r = mock.last();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "orders/create")
    );
    assert_eq!(r.content_type.as_deref(), Some(FORM));
    assert_eq!(r.form("site"), Some("main-shop"));
    assert_eq!(r.form_json("order"), order);
}

#[tokio::test]
async fn link_orders_sends_link_json() {
    let mock = Mock::always(Reply::ok(json!({"success":true}))).await;
    let crm = client(mock.config());

    crm.link_orders(&[1001, 2001], "Жалоба по заказу 1001A")
        .await
        .unwrap();

    let r = mock.last();
    assert_eq!(r.path, "orders/links/create");
    assert_eq!(r.content_type.as_deref(), Some(FORM));
    assert_eq!(
        r.form_json("link"),
        json!({"orders":[{"id":1001},{"id":2001}],"comment":"Жалоба по заказу 1001A"})
    );
}

#[tokio::test]
async fn history_filters_and_times_in_a_dst_zone() {
    let mock = Mock::always(Reply::ok(json!({"success":true,
        "history":[
            {"id":7002,"createdAt":"2026-10-25 02:30:00","created":false,"source":"api",
             "field":"manager","oldValue":{"id":11},"newValue":{"id":"12"},
             "order":{"id":1001,"site":"main-shop","status":"complete","managerId":12}},
            {"id":7001,"createdAt":"2026-07-01 14:00:00","created":false,"source":"user",
             "user":{"id":11},"apiKey":{"current":false},"field":"status",
             "oldValue":{"code":"delivering"},"newValue":{"code":"complete"},
             "order":{"id":1001,"site":"main-shop","status":"complete","managerId":11}}],
        "pagination":{"limit":50,"totalCount":120,"currentPage":2,"totalPageCount":3}})))
    .await;
    let mut cfg = mock.config();
    cfg.timezone = chrono_tz::Europe::Berlin;
    let crm = client(cfg);

    let page = crm
        .history(&HistoryQuery {
            since_id: Some(5),
            order_id: Some(1001),
            start_date: Some(utc("2026-07-01T12:00:00Z")),
            limit: 50,
            page: 2,
        })
        .await
        .unwrap();

    let r = mock.last();
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "orders/history")
    );
    assert_eq!(r.query("filter[sinceId]"), Some("5"));
    assert_eq!(r.query("filter[orderId]"), Some("1001"));
    // Berlin summer time is UTC+2.
    assert_eq!(r.query("filter[startDate]"), Some("2026-07-01 14:00:00"));
    assert_eq!(r.query("limit"), Some("50"));
    assert_eq!(r.query("page"), Some("2"));

    assert_eq!((page.current_page, page.total_pages), (2, 3));
    let [status, manager] = &page.entries[..] else {
        panic!("{:?}", page.entries)
    };
    assert_eq!(status.id, 7001);
    assert_eq!(status.new_status(), Some("complete"));
    assert_eq!(status.user_id, Some(11));
    assert_eq!(status.source, "user");
    assert_eq!(status.created_at, Some(utc("2026-07-01T12:00:00Z")));
    assert_eq!(manager.new_manager(), Some(12));
    assert_eq!(manager.old_manager(), Some(11));
    assert_eq!(manager.order_manager_id, Some(12));
    // As the domain reads them to find who worked the order.
    let change = manager.change();
    assert_eq!(
        (change.manager_from, change.manager_to, change.manager_then),
        (Some(11), Some(12), Some(12))
    );
    assert_eq!(status.change().by_person, Some(11));
    assert_eq!(status.change().manager_to, None);
    assert_eq!(change.by_person, None, "an API change is nobody's work");
    // 02:30 happened twice that night: the earlier one (CEST, UTC+2).
    assert_eq!(manager.created_at, Some(utc("2026-10-25T00:30:00Z")));
}

#[tokio::test]
async fn history_omits_unset_filters_and_rounds_the_limit() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"history":[]}))).await;
    let crm = client(mock.config());

    let page = crm
        .history(&HistoryQuery {
            limit: 30,
            page: 0,
            ..HistoryQuery::default()
        })
        .await
        .unwrap();

    let r = mock.last();
    let keys: Vec<&str> = r.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["limit", "page"]);
    assert_eq!(r.query("limit"), Some("50"));
    assert_eq!(r.query("page"), Some("1"));
    assert!(page.entries.is_empty());
    assert_eq!((page.current_page, page.total_pages), (1, 1));
}

#[tokio::test]
async fn history_since_id_reads_on_without_page() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"history":[{"id":6}],
        "pagination":{"limit":100,"totalCount":1,"currentPage":1,"totalPageCount":1}})))
    .await;
    let crm = client(mock.config());

    let page = crm
        .history(&HistoryQuery {
            since_id: Some(5),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();

    let r = mock.last();
    assert_eq!(r.query("filter[sinceId]"), Some("5"));
    assert_eq!(r.query("limit"), Some("100"));
    assert_eq!(r.query("page"), None, "retailCRM refuses page with sinceId");
    assert_eq!(page.entries[0].id, 6);
}

#[tokio::test]
async fn create_task_sends_minutes_in_the_account_zone() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"id":"901"}))).await;
    let mut cfg = mock.config();
    cfg.timezone = chrono_tz::Asia::Yekaterinburg; // UTC+5
    let crm = client(cfg);

    let id = crm
        .create_task(&NewTask {
            text: "Оценка 2 по заказу 1001A".into(),
            commentary: "Клиент: «долго везли»".into(),
            datetime: utc("2026-11-23T11:05:42Z"),
            performer_id: 7,
            order_id: Some(1001),
        })
        .await
        .unwrap();
    assert_eq!(id, 901);
    let r = mock.last();
    assert_eq!(r.path, "tasks/create");
    assert_eq!(r.content_type.as_deref(), Some(FORM));
    assert_eq!(
        r.form_json("task"),
        json!({"text":"Оценка 2 по заказу 1001A","commentary":"Клиент: «долго везли»",
            "datetime":"2026-11-23 16:05","performerId":7,"order":{"id":1001}})
    );

    crm.create_task(&NewTask {
        text: "t".into(),
        commentary: String::new(),
        datetime: utc("2026-11-23T11:05:00Z"),
        performer_id: 8,
        order_id: None,
    })
    .await
    .unwrap();
    assert!(mock.last().form_json("task").get("order").is_none());
}

#[tokio::test]
async fn send_notification_sends_type_and_users() {
    let mock = Mock::always(Reply::ok(json!({"success":true}))).await;
    let crm = client(mock.config());

    for (kind, wire) in [
        (NotificationKind::Info, "api.info"),
        (NotificationKind::Error, "api.error"),
    ] {
        crm.send_notification(&Notification {
            kind,
            message: "Новая жалоба".into(),
            user_ids: vec![7, 8],
        })
        .await
        .unwrap();
        let r = mock.last();
        assert_eq!(r.path, "notifications/send");
        assert_eq!(r.content_type.as_deref(), Some(FORM));
        assert_eq!(
            r.form_json("notification"),
            json!({"type":wire,"message":"Новая жалоба","userIds":[7,8]})
        );
    }
}

#[tokio::test]
async fn custom_fields_list_all_pages_and_create() {
    let mock = Mock::start(|r, _| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "custom-fields") => {
            let page: u32 = r.query("page").unwrap().parse().unwrap();
            let field = json!({"code":format!("f{page}"),"name":"F","type":"integer",
                "entity":"order","viewMode":"not_editable"});
            Reply::ok(json!({"success":true,"customFields":[field],
                "pagination":{"limit":100,"totalCount":2,"currentPage":page,"totalPageCount":2}}))
        }
        ("POST", "custom-fields/order/create") if r.form_json("customField")["code"] == "f1" => {
            Reply::json(
                400,
                json!({"success":false,"errorMsg":"Custom field with this code already exists"}),
            )
        }
        ("POST", "custom-fields/order/create") => {
            Reply::json(201, json!({"success":true,"code":"otklik_rating"}))
        }
        _ => Reply::json(404, json!({"success":false,"errorMsg":"Not found"})),
    })
    .await;
    let crm = client(mock.config());

    let fields = crm.order_custom_fields().await.unwrap();
    assert_eq!(
        fields.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        vec!["f1", "f2"]
    );
    assert_eq!(fields[0].field_type, "integer");
    assert_eq!(fields[0].view_mode.as_deref(), Some("not_editable"));
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].query("filter[entity]"), Some("order"));
    assert_eq!(reqs[1].query("page"), Some("2"));

    let new = NewCustomField {
        name: "Оценка".into(),
        code: "otklik_rating".into(),
        field_type: "integer".into(),
        view_mode: "not_editable".into(),
    };
    crm.create_order_custom_field(&new).await.unwrap();
    let r = mock.last();
    assert_eq!(r.content_type.as_deref(), Some(FORM));
    assert_eq!(
        r.form_json("customField"),
        json!({"name":"Оценка","code":"otklik_rating","type":"integer","viewMode":"not_editable"})
    );

    let existing = NewCustomField {
        code: "f1".into(),
        ..new
    };
    let before = mock.count();
    assert_eq!(
        crm.create_order_custom_field(&existing).await,
        Err(CrmError::Rejected {
            status: 400,
            message: "Custom field with this code already exists".into(),
            errors: vec![]
        })
    );
    assert_eq!(mock.count(), before + 1, "a 400 is not retried");
}

#[tokio::test]
async fn reference_books_and_users() {
    let mock = Mock::start(|r, _| match r.path.as_str() {
        "reference/statuses" => Reply::ok(json!({"success":true,"statuses":{
            "complete":{"code":"complete","name":"Выполнен","active":true,"group":"complete","ordering":30},
            "new":{"code":"new","name":"Новый","active":true,"group":"new","ordering":10},
            "old":{"code":"old","name":"Старый","active":false,"group":"cancel","ordering":20}}})),
        "reference/sites" => Reply::ok(json!({"success":true,"sites":{
            "main-shop":{"code":"main-shop","name":"Main"}}})),
        "users" => {
            let page: u64 = r.query("page").unwrap().parse().unwrap();
            Reply::ok(json!({"success":true,
                "users":[{"id":page*10,"firstName":"A","lastName":"B","active":true,"isManager":page==1}],
                "pagination":{"limit":100,"totalCount":3,"currentPage":page,"totalPageCount":3}}))
        }
        _ => Reply::json(404, json!({"success":false,"errorMsg":"Not found"})),
    })
    .await;
    let crm = client(mock.config());

    let statuses = crm.statuses().await.unwrap();
    assert_eq!(
        statuses
            .iter()
            .map(|s| (s.code.as_str(), s.group.as_deref(), s.active))
            .collect::<Vec<_>>(),
        vec![
            ("new", Some("new"), true),
            ("old", Some("cancel"), false),
            ("complete", Some("complete"), true)
        ]
    );
    let sites = crm.sites().await.unwrap();
    assert_eq!(
        (sites[0].code.as_str(), sites[0].name.as_str()),
        ("main-shop", "Main")
    );

    let users = crm.users().await.unwrap();
    assert_eq!(
        users.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![10, 20, 30]
    );
    assert!(users[0].is_manager && !users[1].is_manager);
    let pages: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "users")
        .map(|r| {
            (
                r.query("limit").unwrap().to_owned(),
                r.query("page").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        vec![
            ("100".to_owned(), "1".to_owned()),
            ("100".to_owned(), "2".to_owned()),
            ("100".to_owned(), "3".to_owned())
        ]
    );
}

#[tokio::test]
async fn product_groups_of_offers() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"products":[
        {"id":1,"offers":[{"id":10}],"groups":[{"id":3,"externalId":"furniture","name":"Мебель"}]},
        {"id":2,"offers":[{"id":11}],"groups":[{"id":4,"externalId":null,"name":"Свет"},
                                                {"id":3,"externalId":"furniture","name":"Мебель"}]}],
        "pagination":{"limit":100,"totalCount":2,"currentPage":1,"totalPageCount":1}})))
    .await;
    let crm = client(mock.config());

    let groups = crm.product_groups_of_offers(&[11, 10, 11]).await.unwrap();
    assert_eq!(groups, vec!["furniture", "Свет"]);
    let r = mock.last();
    assert_eq!(r.path, "store/products");
    assert_eq!(r.query_all("filter[offerIds][]"), vec!["10", "11"]);
    assert_eq!(r.query("limit"), Some("100"));

    assert!(crm.product_groups_of_offers(&[]).await.unwrap().is_empty());
    assert_eq!(mock.count(), 1, "no call for no offers");
}

#[tokio::test]
async fn orders_by_ids_reads_a_hundred_a_request_and_leaves_out_the_unknown() {
    // The CRM knows every id but the multiples of 7; an id in the 90s answers an order it cannot
    // decode (no id), as a broken record would.
    let mock = Mock::start(|r, _| {
        assert_eq!(r.path, "orders");
        let orders: Vec<_> = r
            .query_all("filter[ids][]")
            .iter()
            .map(|id| id.parse::<u64>().unwrap())
            .filter(|id| id % 7 != 0)
            .map(|id| {
                if id == 95 {
                    json!({"number": "95A", "site": "main-shop"})
                } else {
                    order_json(id)
                }
            })
            .collect();
        let n = orders.len();
        Reply::ok(json!({"success": true, "orders": orders,
            "pagination": {"limit": 100, "totalCount": n, "currentPage": 1, "totalPageCount": 1}}))
    })
    .await;
    let crm = client(mock.config());

    // 150 distinct ids (one given twice): two requests, 100 and 50.
    let mut ids: Vec<u64> = (1..=150).rev().collect();
    ids.push(3);
    let orders = crm.orders_by_ids(&ids).await.unwrap();

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2, "one request per hundred ids");
    assert_eq!(reqs[0].query_all("filter[ids][]").len(), 100);
    assert_eq!(reqs[1].query_all("filter[ids][]").len(), 50);
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert_eq!(r.query("limit"), Some("100"));
        assert_eq!(r.query("page"), Some("1"));
    }
    let got: Vec<u64> = orders.iter().map(|o| o.id).collect();
    let want: Vec<u64> = (1..=150).filter(|id| id % 7 != 0 && *id != 95).collect();
    assert_eq!(got, want, "unknown and undecodable orders are absent");
    let first = &orders[0];
    assert_eq!(first.site, "main-shop");
    assert_eq!(first.status, "complete");
    assert_eq!(first.phones, vec!["+79001234567"]);

    assert!(crm.orders_by_ids(&[]).await.unwrap().is_empty());
    assert_eq!(mock.count(), 2, "no request for no ids");
}

#[tokio::test]
async fn orders_by_ids_follows_the_pagination_and_reports_a_refusal() {
    let mock = Mock::start(|r, _| {
        let page: u64 = r.query("page").unwrap().parse().unwrap();
        if r.query_all("filter[ids][]") == ["13"] {
            return Reply::json(
                400,
                json!({"success": false, "errorMsg": "Errors in the input parameters",
                       "errors": {"limit": "The value you selected is not a valid choice."}}),
            );
        }
        // A server that pages the answer anyway: both pages are read.
        Reply::ok(json!({"success": true, "orders": [order_json(page)],
            "pagination": {"limit": 100, "totalCount": 2, "currentPage": page, "totalPageCount": 2}}))
    })
    .await;
    let crm = client(mock.config());
    let got: Vec<u64> = crm
        .orders_by_ids(&[1, 2])
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(got, vec![1, 2]);
    assert_eq!(mock.count(), 2);
    assert!(matches!(
        crm.orders_by_ids(&[13]).await,
        Err(CrmError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn lenient_order_shapes_over_http() {
    let mock = Mock::start(|r, _| {
        let order = match r.path.as_str() {
            // PHP empty maps, payments as a list, string ids, nulls.
            "orders/1" => json!({"id":"1","site":"main-shop","status":"new","customFields":[],
                "payments":[],"phone":null,"email":null,"customer":{"id":"501","phones":[],
                "email":"c@example.ru"},"managerId":null,"items":[],"delivery":[]}),
            "orders/2" => json!({"id":2,"payments":[{"id":5,"status":"paid"}],
                "customFields":{"a":"x","b":[1,2]},"items":{"1":{"offer":{"id":"44"}}}}),
            "orders/3" => {
                json!({"id":3,"payments":{"5":{"id":5},"6":{"id":6}},"extra":{"deep":[{}]}})
            }
            _ => json!(null),
        };
        Reply::ok(json!({"success":true,"order":order}))
    })
    .await;
    let crm = client(mock.config());

    let o1 = crm.get_order("main-shop", 1).await.unwrap();
    assert_eq!(o1.id, 1);
    assert!(o1.custom_fields.is_empty() && o1.phones.is_empty() && o1.offer_ids.is_empty());
    assert_eq!(o1.customer_id, Some(501));
    assert_eq!(o1.email.as_deref(), Some("c@example.ru"));
    assert_eq!(o1.manager_id, None);
    assert_eq!(o1.delivery_type, None);

    let o2 = crm.get_order("shop-b", 2).await.unwrap();
    assert_eq!(o2.site, "shop-b", "a missing site is the one we asked for");
    assert_eq!(o2.offer_ids, vec![44]);
    assert_eq!(o2.custom_fields["b"], json!([1, 2]));
    assert_eq!(o2.status, "");

    assert_eq!(crm.get_order("s", 3).await.unwrap().id, 3);
    assert!(matches!(
        crm.get_order("s", 4).await,
        Err(CrmError::Decode(_))
    ));
}

// ---- errors ------------------------------------------------------------------------------------

#[tokio::test]
async fn not_found() {
    let mock = Mock::always(Reply::json(
        404,
        json!({"success":false,"errorMsg":"Not found"}),
    ))
    .await;
    let crm = client(mock.config());
    assert_eq!(
        crm.get_order("main-shop", 9).await,
        Err(CrmError::NotFound("Not found".into()))
    );
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn a_lookup_by_external_id_counts_under_the_one_route_of_an_order() {
    let mock = Mock::always(Reply::ok(json!({"success":true,"order":order_json(1001)}))).await;
    let crm = client(mock.config());
    for ext in ["otklik-survey-a", "otklik-survey-b"] {
        let found = crm.find_by_external_id("main-shop", ext).await.unwrap();
        assert_eq!(found.map(|o| o.id), Some(1001));
        assert_eq!(mock.last().path, format!("orders/{ext}"));
        assert_eq!(mock.last().query("by"), Some("externalId"));
    }
    crm.get_order("main-shop", 1001).await.unwrap();
    // However many complaints a long-lived instance looks up, one route, as the simulator names
    // it: the bench's split by function matches the simulator's count route by route.
    assert_eq!(
        crm.calls_by_route(),
        std::collections::BTreeMap::from([("GET orders/{id}".to_string(), 3)])
    );
}

#[tokio::test]
async fn wrong_key_is_unauthorized() {
    let right = common::unique_key();
    let expected = right.clone();
    let mock = Mock::start(move |r, _| {
        if r.api_key.as_deref() == Some(expected.as_str()) {
            Reply::ok(json!({"success":true,"sites":{}}))
        } else {
            Reply::json(
                403,
                json!({"success":false,"errorMsg":"Wrong \"apiKey\" value."}),
            )
        }
    })
    .await;
    let mut cfg = mock.config();
    cfg.api_key = right;
    assert!(client(cfg.clone()).sites().await.unwrap().is_empty());

    cfg.api_key = "wrong".into();
    let crm = client(cfg);
    assert_eq!(
        crm.sites().await,
        Err(CrmError::Unauthorized("Wrong \"apiKey\" value.".into()))
    );
    assert_eq!(crm.calls_made(), 1, "a 403 is not retried");
}

#[tokio::test]
async fn rejected_with_error_map_list_or_success_false() {
    let mock = Mock::start(|r, _| match r.path.as_str() {
        "orders/1/edit" => Reply::json(
            400,
            json!({"success":false,"errorMsg":"Order is not loaded",
                "errors":{"order[status]":"Status is unknown"}}),
        ),
        "orders/2/edit" => Reply::json(
            400,
            json!({"success":false,"errorMsg":"Errors in the input parameters",
                "errors":["Order not found", "Site missing"]}),
        ),
        _ => Reply::ok(json!({"success":false,"errorMsg":"Something is off"})),
    })
    .await;
    let crm = client(mock.config());
    let patch = json!({"status":"nope"});

    assert_eq!(
        crm.edit_order("s", 1, &patch).await,
        Err(CrmError::Rejected {
            status: 400,
            message: "Order is not loaded".into(),
            errors: vec!["order[status]: Status is unknown".into()]
        })
    );
    assert_eq!(
        crm.edit_order("s", 2, &patch).await,
        Err(CrmError::Rejected {
            status: 400,
            message: "Errors in the input parameters".into(),
            errors: vec!["Order not found".into(), "Site missing".into()]
        })
    );
    assert_eq!(
        crm.edit_order("s", 3, &patch).await,
        Err(CrmError::Rejected {
            status: 200,
            message: "Something is off".into(),
            errors: vec![]
        })
    );
    assert_eq!(mock.count(), 3, "refusals are not retried");
}

#[tokio::test]
async fn html_answer_is_not_json() {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>Account not found</title></head><body>{}</body></html>",
        "Аккаунт не найден. ".repeat(100)
    );
    for status in [200, 404] {
        let mock = Mock::always(Reply::html(status, page.clone())).await;
        let crm = client(mock.config());
        match crm.get_order("s", 1).await {
            Err(CrmError::NotJson { status: s, snippet }) => {
                assert_eq!(s, status);
                assert!(snippet.chars().count() <= 200, "{snippet}");
                assert!(snippet.starts_with("<!DOCTYPE html> <html>"), "{snippet}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(mock.count(), 1);
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let mock = Mock::always(Reply::json(
        500,
        json!({"success":false,"errorMsg":"Internal error"}),
    ))
    .await;
    let mut cfg = mock.config();
    cfg.max_retries = 2;
    let crm = client(cfg);
    let err = crm.get_order("s", 1).await.unwrap_err();
    assert_eq!(
        err,
        CrmError::Server {
            status: 500,
            message: "Internal error".into()
        }
    );
    assert!(err.is_transient());
    assert_eq!(mock.count(), 3);
    assert_eq!(crm.calls_made(), 3);
}

#[tokio::test]
async fn rate_limit_503_and_429_exhaust_into_rate_limited() {
    for status in [503, 429] {
        let mock = Mock::always(Reply::html(status, "<html>Service Unavailable</html>")).await;
        let mut cfg = mock.config();
        cfg.max_retries = 2;
        let crm = client(cfg);
        assert_eq!(crm.sites().await, Err(CrmError::RateLimited));
        assert_eq!(mock.count(), 3, "HTTP {status}");
    }
}

#[tokio::test]
async fn timeout_then_success_and_timeout_error() {
    let mock = Mock::start(|_, n| {
        let r = Reply::ok(json!({"success":true,"order":order_json(1)}));
        if n == 0 {
            r.delayed(Duration::from_secs(3))
        } else {
            r
        }
    })
    .await;
    let mut cfg = mock.config();
    cfg.timeout = Duration::from_millis(300);
    let crm = client(cfg.clone());
    assert_eq!(crm.get_order("s", 1).await.unwrap().id, 1);
    assert_eq!(mock.count(), 2);

    let slow =
        Mock::always(Reply::ok(json!({"success":true})).delayed(Duration::from_secs(3))).await;
    let mut cfg = slow.config();
    cfg.timeout = Duration::from_millis(300);
    cfg.max_retries = 1;
    let crm = client(cfg);
    let err = crm.sites().await.unwrap_err();
    assert_eq!(err, CrmError::Timeout);
    assert!(err.is_transient());
    assert_eq!(slow.count(), 2);
}

/// A port nobody listens on.
fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

#[tokio::test]
async fn connection_refused_is_a_retried_network_error() {
    let mut cfg = ClientConfig::new(refused_url(), common::unique_key());
    cfg.rate_per_second = 1000;
    cfg.max_retries = 2;
    let crm = client(cfg);
    let err = crm.get_order("s", 1).await.unwrap_err();
    assert!(matches!(err, CrmError::Network(_)), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(crm.calls_made(), 3);

    // Nothing reached the server, so even order creation may be repeated.
    let before = crm.calls_made();
    let err = crm.create_order("s", &json!({})).await.unwrap_err();
    assert!(matches!(err, CrmError::Network(_)), "{err:?}");
    assert_eq!(crm.calls_made() - before, 3);
}

#[tokio::test]
async fn invalid_config() {
    let bad = |f: fn(&mut ClientConfig)| {
        let mut cfg = ClientConfig::new("https://acct.retailcrm.ru", "k");
        f(&mut cfg);
        RetailCrm::new(cfg).unwrap_err()
    };
    assert!(matches!(
        bad(|c| c.api_key = String::new()),
        CrmError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(|c| c.api_key = "bad\nkey".into()),
        CrmError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(|c| c.base_url = "acct.retailcrm.ru".into()),
        CrmError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(|c| c.rate_per_second = 0),
        CrmError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(|c| c.timeout = Duration::ZERO),
        CrmError::InvalidConfig(_)
    ));
    // The key never shows in Debug.
    let crm = RetailCrm::new(ClientConfig::new("https://acct.retailcrm.ru", "s3cr3t")).unwrap();
    assert!(!format!("{crm:?}").contains("s3cr3t"));
}

// ---- retries -----------------------------------------------------------------------------------

#[tokio::test]
async fn two_503_then_success_takes_three_attempts() {
    let mock = Mock::start(|_, n| {
        if n < 2 {
            Reply::json(503, json!({"success":false,"errorMsg":"Rate limit"}))
        } else {
            Reply::ok(json!({"success":true,"order":order_json(1)}))
        }
    })
    .await;
    let crm = client(mock.config());
    assert_eq!(crm.get_order("s", 1).await.unwrap().id, 1);
    assert_eq!(mock.count(), 3);
    assert_eq!(crm.calls_made(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let mock = Mock::start(|_, n| {
        if n == 0 {
            Reply::json(503, json!({"success":false})).header("retry-after", "1")
        } else {
            Reply::ok(json!({"success":true,"sites":[]}))
        }
    })
    .await;
    let crm = client(mock.config());
    crm.sites().await.unwrap();
    let r = mock.requests();
    assert_eq!(r.len(), 2);
    assert!(r[1].at - r[0].at >= Duration::from_secs(1));
}

#[tokio::test]
async fn retries_go_through_the_pacer() {
    // Backoff alone would put the three attempts within ~0.6 s; a pace of 2/s cannot.
    let mock = Mock::start(|_, n| {
        if n < 2 {
            Reply::json(503, json!({"success":false}))
        } else {
            Reply::ok(json!({"success":true,"sites":[]}))
        }
    })
    .await;
    let mut cfg = mock.config();
    cfg.rate_per_second = 2;
    client(cfg).sites().await.unwrap();
    let r = mock.requests();
    assert_eq!(r.len(), 3);
    assert!(
        r[2].at - r[0].at > Duration::from_secs(1),
        "{:?}",
        r[2].at - r[0].at
    );
}

#[tokio::test]
async fn refusals_are_not_retried() {
    let mock = Mock::always(Reply::json(400, json!({"success":false,"errorMsg":"Bad"}))).await;
    let crm = client(mock.config());
    assert!(matches!(
        crm.get_order("s", 1).await,
        Err(CrmError::Rejected { status: 400, .. })
    ));
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn create_order_is_not_retried_when_it_may_have_been_processed() {
    let mock = Mock::always(Reply::json(
        500,
        json!({"success":false,"errorMsg":"Internal error"}),
    ))
    .await;
    let crm = client(mock.config());
    assert!(matches!(
        crm.create_order("s", &json!({"status":"new"})).await,
        Err(CrmError::Server { status: 500, .. })
    ));
    assert_eq!(mock.count(), 1, "no retry after a 500");

    let slow = Mock::always(
        Reply::json(201, json!({"success":true,"id":5})).delayed(Duration::from_secs(3)),
    )
    .await;
    let mut cfg = slow.config();
    cfg.timeout = Duration::from_millis(300);
    let crm = client(cfg);
    assert_eq!(
        crm.create_order("s", &json!({})).await,
        Err(CrmError::Timeout)
    );
    assert_eq!(slow.count(), 1, "no retry after a timeout");
}

#[tokio::test]
async fn create_order_is_retried_after_the_rate_limit() {
    let mock = Mock::start(|_, n| {
        if n == 0 {
            Reply::json(503, json!({"success":false}))
        } else {
            Reply::json(201, json!({"success":true,"id":2001}))
        }
    })
    .await;
    let crm = client(mock.config());
    assert_eq!(crm.create_order("s", &json!({})).await, Ok(2001));
    assert_eq!(mock.count(), 2);
}
