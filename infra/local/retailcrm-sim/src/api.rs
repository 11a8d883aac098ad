//! The `/api/v5/` routes, answering like retailCRM: form-encoded POST bodies with JSON-string
//! fields, `{"success":…}` bodies, PHP's `[]` for empty maps, the key check, the rate limit and the
//! injected faults in front of every route.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Map, Value};

use crate::conn::Cut;
use crate::model::{as_id, php_map, Actor, SimError, DATETIME};
use crate::sim::{Sim, Verdict};

/// The largest POST body read while looking for an `apiKey` field.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) fn routes(sim: Sim) -> Router<Sim> {
    Router::new()
        .route("/api/v5/orders", get(list_orders))
        .route("/api/v5/orders/create", post(create_order))
        .route("/api/v5/orders/history", get(history))
        .route("/api/v5/orders/links/create", post(create_link))
        .route("/api/v5/orders/{id}", get(get_order))
        .route("/api/v5/orders/{id}/edit", post(edit_order))
        .route("/api/v5/tasks", get(tasks))
        .route("/api/v5/tasks/create", post(create_task))
        .route("/api/v5/notifications/send", post(send_notification))
        .route("/api/v5/custom-fields", get(custom_fields))
        .route(
            "/api/v5/custom-fields/{entity}/create",
            post(create_custom_field),
        )
        .route("/api/v5/reference/statuses", get(statuses))
        .route("/api/v5/reference/sites", get(sites))
        .route("/api/v5/users", get(users))
        .route("/api/v5/users/{id}", get(user))
        .route("/api/v5/store/products", get(products))
        .route_layer(middleware::from_fn_with_state(sim, guard))
}

// ---------------------------------------------------------------------------------------------
// Responses

fn success(status: StatusCode, fields: Value) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), json!(true));
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    (status, Json(Value::Object(body))).into_response()
}

fn failure(status: StatusCode, message: &str, errors: Option<Value>) -> Response {
    let mut body = json!({"success": false, "errorMsg": message});
    if let Some(errors) = errors {
        body["errors"] = errors;
    }
    (status, Json(body)).into_response()
}

/// A refused change in retailCRM's error shape.
pub(crate) fn sim_error(e: SimError) -> Response {
    match e {
        SimError::NotFound => failure(StatusCode::NOT_FOUND, "Not found", None),
        SimError::Invalid { message, errors } if errors.is_empty() => {
            failure(StatusCode::BAD_REQUEST, &message, None)
        }
        SimError::Invalid { message, errors } => {
            failure(StatusCode::BAD_REQUEST, &message, Some(json!(errors)))
        }
    }
}

/// Invalid query or form parameters.
fn bad_params(field: &str, message: &str) -> Response {
    failure(
        StatusCode::BAD_REQUEST,
        "Errors in the input parameters",
        Some(json!({ field: message })),
    )
}

fn html(status: StatusCode, title: &str) -> Response {
    // What the front proxy answers when the application behind it is down.
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A refusal decided while reading parameters (boxed: a response is large).
type Rejection = Box<Response>;

/// Query or form parameters in order, PHP-style names (`filter[offerIds][]`) kept verbatim.
struct Params(Vec<(String, String)>);

impl Params {
    fn query(raw: Option<&str>) -> Params {
        Params(serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default())
    }

    /// A POST body is read only when it is form-encoded, as PHP does: a JSON body has no fields.
    fn form(headers: &HeaderMap, body: &[u8]) -> Params {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/x-www-form-urlencoded");
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Params(Vec::new());
        }
        Params(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A field carrying a JSON document, the way retailCRM passes nested objects.
    fn json(&self, name: &str) -> Result<Value, Rejection> {
        let raw = self.get(name).ok_or_else(|| {
            Box::new(failure(
                StatusCode::BAD_REQUEST,
                &format!("Parameter '{name}' is missing"),
                Some(json!({ name: "This value should not be blank." })),
            ))
        })?;
        serde_json::from_str(raw).map_err(|e| {
            Box::new(failure(
                StatusCode::BAD_REQUEST,
                &format!("Parameter '{name}' must contain valid JSON"),
                Some(json!({ name: format!("Invalid JSON: {e}") })),
            ))
        })
    }

    fn id(&self, name: &str) -> Result<Option<u64>, Rejection> {
        match self.non_empty(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                Box::new(bad_params(name, "This value should be a positive integer."))
            }),
        }
    }

    /// `limit` (20, 50 or 100 only) and `page` (from 1).
    fn paging(&self) -> Result<(usize, usize), Rejection> {
        let limit = match self.non_empty("limit") {
            None => 20,
            Some("20") => 20,
            Some("50") => 50,
            Some("100") => 100,
            Some(_) => {
                return Err(Box::new(bad_params(
                    "limit",
                    "The value you selected is not a valid choice. Allowed: 20, 50, 100.",
                )))
            }
        };
        let page = match self.non_empty("page") {
            None => 1,
            Some(p) => match p.parse::<usize>() {
                Ok(p) if p >= 1 => p,
                _ => {
                    return Err(Box::new(bad_params(
                        "page",
                        "This value should be 1 or more.",
                    )))
                }
            },
        };
        Ok((limit, page))
    }

    fn datetime(&self, name: &str, end_of_day: bool) -> Result<Option<NaiveDateTime>, Rejection> {
        let Some(raw) = self.non_empty(name) else {
            return Ok(None);
        };
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, DATETIME) {
            return Ok(Some(t));
        }
        let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| Box::new(bad_params(name, "Expected Y-m-d H:i:s or Y-m-d.")))?;
        let t = if end_of_day {
            day.and_hms_opt(23, 59, 59)
        } else {
            day.and_hms_opt(0, 0, 0)
        };
        Ok(t)
    }
}

/// One page of a list plus retailCRM's `pagination` object.
fn paginate<T: Clone>(items: &[T], limit: usize, page: usize) -> (Vec<T>, Value) {
    let total = items.len();
    let pages = total.div_ceil(limit);
    let slice = items
        .iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .cloned()
        .collect();
    (
        slice,
        json!({"limit": limit, "totalCount": total, "currentPage": page, "totalPageCount": pages}),
    )
}

// ---------------------------------------------------------------------------------------------
// The guard in front of every route

/// The key from `X-API-KEY`, the `apiKey` query parameter or an `apiKey` form field.
async fn api_key(req: Request) -> (Option<String>, Request) {
    if let Some(k) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        let key = k.to_owned();
        return (Some(key), req);
    }
    if let Some(k) = Params::query(req.uri().query()).get("apiKey") {
        let key = k.to_owned();
        return (Some(key), req);
    }
    if req.method() != Method::POST {
        return (None, req);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let key = Params::form(&parts.headers, &bytes)
        .get("apiKey")
        .map(str::to_owned);
    (key, Request::from_parts(parts, Body::from(bytes)))
}

async fn guard(State(sim): State<Sim>, matched: MatchedPath, req: Request, next: Next) -> Response {
    let route = format!("{} {}", req.method(), matched.as_str());
    let (key, req) = api_key(req).await;
    let _handling;
    match sim.check_request(key.as_deref().unwrap_or_default(), &route) {
        Verdict::Pass(latency) => {
            _handling = sim.handling();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
        }
        Verdict::RateLimited => {
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "Rate limit exceeded: too many requests per second for this API key",
                None,
            )
        }
        Verdict::Outage => {
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Temporarily Unavailable",
            )
        }
        Verdict::Error(500) => {
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                None,
            )
        }
        Verdict::Error(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            let title = format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            return html(status, title.trim());
        }
        Verdict::Timeout(hold) => return hang(req, hold).await,
    }
    if key.as_deref() != Some(sim.config().api_key.as_str()) {
        sim.count_forbidden();
        return failure(StatusCode::FORBIDDEN, "Wrong \"apiKey\" value.", None);
    }
    next.run(req).await
}

/// Holds the request, then drops the connection without an answer.
async fn hang(req: Request, hold: Duration) -> Response {
    let cut = req
        .extensions()
        .get::<ConnectInfo<Cut>>()
        .map(|c| c.0.clone());
    drop(req);
    tokio::time::sleep(hold).await;
    match cut {
        Some(cut) => {
            cut.cut();
            // Never reaches the client: the connection fails on the first write.
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // Served by someone else's listener (plain `router()`): the closest we can do.
        None => html(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Time-out"),
    }
}

// ---------------------------------------------------------------------------------------------
// Orders

async fn get_order(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::query(q.as_deref());
    let st = sim.lock();
    // retailCRM's default is `by=externalId`: a client that forgets `by=id` gets a 404.
    let by = p.non_empty("by").unwrap_or("externalId");
    match st.model.find_order(&id, by, p.non_empty("site")) {
        Ok(id) => success(StatusCode::OK, json!({"order": st.model.order_json(id)})),
        Err(e) => sim_error(e),
    }
}

/// `GET orders`: the orders list, with the filter Otklik uses (`filter[ids][]`, any number of
/// ids) and retailCRM's paging (`limit` 20, 50 or 100, refused otherwise with the usual
/// "Errors in the input parameters"; `page` from 1), newest first, with its `pagination` object
/// (retailCRM API v5 reference, "GET /api/v5/orders",
/// https://docs.retailcrm.ru/Developers/API/APIVersions/APIv5#get--api-v5-orders). An id that is
/// not a number is refused like any bad filter; an unknown id is simply not in the list.
async fn list_orders(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut ids = Vec::new();
    for raw in p.all("filter[ids][]") {
        match raw.parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return bad_params(
                    "filter[ids]",
                    "This value should be a list of positive integers.",
                )
            }
        }
    }
    let st = sim.lock();
    let list: Vec<Value> = st
        .model
        .orders
        .iter()
        .rev()
        .filter(|(id, _)| ids.is_empty() || ids.contains(id))
        .map(|(_, o)| crate::model::render_order(o))
        .collect();
    let (items, pagination) = paginate(&list, limit, page);
    success(
        StatusCode::OK,
        json!({"orders": items, "pagination": pagination}),
    )
}

async fn edit_order(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = Params::form(&headers, &body);
    let patch = match p.json("order") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let result = {
        let mut st = sim.lock();
        let by = p.non_empty("by").unwrap_or("externalId");
        st.model
            .find_order(&id, by, p.non_empty("site"))
            .and_then(|id| {
                let changes = st.model.edit_order(id, patch, Actor::Api, false)?;
                Ok((id, changes, st.model.order_json(id)))
            })
    };
    match result {
        Ok((id, changes, order)) => {
            sim.status_changed(changes);
            success(StatusCode::OK, json!({"id": id, "order": order}))
        }
        Err(e) => sim_error(e),
    }
}

async fn create_order(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let p = Params::form(&headers, &body);
    let order = match p.json("order") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut st = sim.lock();
    match st
        .model
        .create_order(order, p.non_empty("site"), Actor::Api, false)
    {
        Ok(id) => success(
            StatusCode::CREATED,
            json!({"id": id, "order": st.model.order_json(id)}),
        ),
        Err(e) => sim_error(e),
    }
}

async fn create_link(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let p = Params::form(&headers, &body);
    let link = match p.json("link") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut st = sim.lock();
    match st.model.create_link(link, p.non_empty("site")) {
        Ok(()) => success(StatusCode::CREATED, json!({})),
        Err(e) => sim_error(e),
    }
}

async fn history(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // Since May 2023 retailCRM refuses `page` together with `filter[sinceId]`: a reader moves
    // `sinceId` forward instead of paging.
    if p.has("filter[sinceId]") && p.has("page") {
        return bad_params(
            "page",
            "The page parameter cannot be used together with filter[sinceId]; move sinceId forward instead.",
        );
    }
    let filters = (|| {
        Ok::<_, Rejection>((
            p.id("filter[sinceId]")?,
            p.id("filter[orderId]")?,
            p.datetime("filter[startDate]", false)?,
            p.datetime("filter[endDate]", true)?,
        ))
    })();
    let (since, order_id, start, end) = match filters {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let st = sim.lock();
    let entries: Vec<&Value> = st
        .model
        .history
        .iter()
        .filter(|h| since.is_none_or(|s| h.id > s))
        .filter(|h| order_id.is_none_or(|o| h.order_id == o))
        .filter(|h| start.is_none_or(|s| h.at >= s))
        .filter(|h| end.is_none_or(|e| h.at <= e))
        .map(|h| &h.body)
        .collect();
    let (page_items, pagination) = paginate(&entries, limit, page);
    success(
        StatusCode::OK,
        json!({
            "generatedAt": st.model.now_string(),
            "history": page_items,
            "pagination": pagination,
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Tasks, notifications, custom fields

async fn create_task(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let p = Params::form(&headers, &body);
    let task = match p.json("task") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match sim.lock().model.create_task(task) {
        Ok(id) => success(StatusCode::CREATED, json!({ "id": id })),
        Err(e) => sim_error(e),
    }
}

/// `GET tasks` with the filters we use: `filter[text]` (the tasks whose text contains it) and
/// `filter[performers][]` (the filter names of the official clients' TaskFilter).
async fn tasks(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let performers: Vec<u64> = p
        .all("filter[performers][]")
        .into_iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let text = p.non_empty("filter[text]");
    let st = sim.lock();
    let list: Vec<Value> = st
        .model
        .tasks
        .iter()
        .filter(|t| {
            text.is_none_or(|want| {
                t.get("text")
                    .and_then(Value::as_str)
                    .is_some_and(|have| have.contains(want))
            })
        })
        .filter(|t| {
            performers.is_empty()
                || t.get("performer")
                    .and_then(Value::as_u64)
                    .is_some_and(|id| performers.contains(&id))
        })
        .cloned()
        .collect();
    let (items, pagination) = paginate(&list, limit, page);
    success(
        StatusCode::OK,
        json!({"tasks": items, "pagination": pagination}),
    )
}

async fn send_notification(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let p = Params::form(&headers, &body);
    let notification = match p.json("notification") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match sim.lock().model.send_notification(notification) {
        Ok(()) => success(StatusCode::OK, json!({})),
        Err(e) => sim_error(e),
    }
}

async fn custom_fields(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let st = sim.lock();
    let fields: Vec<Value> = st
        .model
        .custom_fields
        .iter()
        .filter(|f| p.non_empty("filter[entity]").is_none_or(|e| f.entity == e))
        .filter(|f| p.non_empty("filter[code]").is_none_or(|c| f.code == c))
        .map(|f| {
            json!({
                "name": f.name, "code": f.code, "required": false, "inFilter": true,
                "inList": true, "inGroupActions": false, "type": f.kind, "entity": f.entity,
                "ordering": f.ordering, "displayArea": "customer", "viewMode": f.view_mode,
            })
        })
        .collect();
    let (items, pagination) = paginate(&fields, limit, page);
    success(
        StatusCode::OK,
        json!({"customFields": items, "pagination": pagination}),
    )
}

async fn create_custom_field(
    State(sim): State<Sim>,
    Path(entity): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = Params::form(&headers, &body);
    let def = match p.json("customField") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match sim.lock().model.create_custom_field(&entity, def) {
        Ok(code) => success(StatusCode::CREATED, json!({ "code": code })),
        Err(e) => sim_error(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Reference data

async fn statuses(State(sim): State<Sim>) -> Response {
    let st = sim.lock();
    let map: Map<String, Value> = st
        .model
        .statuses
        .iter()
        .map(|s| {
            (
                s.code.clone(),
                json!({"name": s.name, "code": s.code, "active": s.active,
                       "ordering": s.ordering, "group": s.group}),
            )
        })
        .collect();
    success(StatusCode::OK, json!({ "statuses": php_map(map) }))
}

async fn sites(State(sim): State<Sim>) -> Response {
    let st = sim.lock();
    let map: Map<String, Value> = st
        .model
        .sites
        .iter()
        .map(|s| {
            (
                s.code.clone(),
                json!({"code": s.code, "name": s.name, "url": s.url,
                       "defaultForCrm": false, "countryIso": "RU", "currency": "RUB"}),
            )
        })
        .collect();
    success(StatusCode::OK, json!({ "sites": php_map(map) }))
}

fn user_json(u: &crate::seed::User) -> Value {
    json!({
        "id": u.id, "firstName": u.first_name, "lastName": u.last_name, "email": u.email,
        "active": u.active, "isManager": u.is_manager, "isAdmin": !u.is_manager,
        "online": false, "status": "free", "groups": [],
    })
}

async fn users(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let flag = |name: &str| p.non_empty(name).map(|v| v == "1" || v == "true");
    let (active, manager) = (flag("filter[active]"), flag("filter[isManager]"));
    let st = sim.lock();
    let list: Vec<Value> = st
        .model
        .users
        .iter()
        .filter(|u| active.is_none_or(|a| u.active == a))
        .filter(|u| manager.is_none_or(|m| u.is_manager == m))
        .map(user_json)
        .collect();
    let (items, pagination) = paginate(&list, limit, page);
    success(
        StatusCode::OK,
        json!({"users": items, "pagination": pagination}),
    )
}

async fn user(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let st = sim.lock();
    match id.parse().ok().and_then(|id| st.model.user(id)) {
        Some(u) => success(StatusCode::OK, json!({ "user": user_json(u) })),
        None => sim_error(SimError::NotFound),
    }
}

async fn products(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q.as_deref());
    let (limit, page) = match p.paging() {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let ids = |name: &str| -> Vec<u64> {
        p.all(name)
            .into_iter()
            .filter_map(|v| as_id(&json!(v)))
            .collect()
    };
    let (offer_ids, product_ids) = (ids("filter[offerIds][]"), ids("filter[ids][]"));
    let st = sim.lock();
    let groups: BTreeMap<u64, &crate::seed::ProductGroup> =
        st.model.product_groups.iter().map(|g| (g.id, g)).collect();
    let list: Vec<Value> = st
        .model
        .products
        .iter()
        .filter(|pr| offer_ids.is_empty() || pr.offers.iter().any(|o| offer_ids.contains(&o.id)))
        .filter(|pr| product_ids.is_empty() || product_ids.contains(&pr.id))
        .map(|pr| {
            let offers: Vec<Value> = pr
                .offers
                .iter()
                .map(|o| {
                    json!({"id": o.id, "externalId": o.external_id, "xmlId": o.external_id,
                           "name": o.name, "price": o.price, "active": true})
                })
                .collect();
            let product_groups: Vec<Value> = pr
                .groups
                .iter()
                .filter_map(|g| groups.get(g))
                .map(|g| json!({"id": g.id, "externalId": g.external_id, "name": g.name}))
                .collect();
            json!({"id": pr.id, "name": pr.name, "active": pr.active,
                   "offers": offers, "groups": product_groups})
        })
        .collect();
    let (items, pagination) = paginate(&list, limit, page);
    success(
        StatusCode::OK,
        json!({"products": items, "pagination": pagination}),
    )
}

/// Any other `/api/…` path.
pub(crate) async fn not_found() -> Response {
    failure(StatusCode::NOT_FOUND, "API method not found", None)
}
