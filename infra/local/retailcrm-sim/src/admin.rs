//! `/sim/…`: the simulator's own control routes for tests and the demo. No API key, no rate limit,
//! no faults: they stand for the shop's staff working in the CRM and for the test harness.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::sim_error;
use crate::model::{as_id, SimError};
use crate::seed::demo_seed;
use crate::sim::{Faults, Sim};
use crate::trigger::Trigger;

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/health", get(health))
        .route("/sim/reset", post(reset))
        .route("/sim/seed", post(seed))
        .route(
            "/sim/faults",
            put(set_faults).get(faults).delete(clear_faults),
        )
        .route(
            "/sim/trigger",
            put(set_trigger).get(trigger).delete(clear_trigger),
        )
        .route("/sim/stats", get(stats).delete(reset_stats))
        .route("/sim/orders", post(create_order).get(orders))
        .route("/sim/orders/{site}/{id}", get(order))
        .route("/sim/orders/{site}/{id}/status", post(set_status))
        .route("/sim/orders/{site}/{id}/manager", post(set_manager))
        .route("/sim/orders/{site}/{id}/edit", post(edit_order))
        .route("/sim/history", get(history))
        .route("/sim/tasks", get(tasks))
        .route("/sim/notifications", get(notifications))
        .route("/sim/links", get(links))
        .route("/sim/custom-fields", get(custom_fields))
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"success": false, "errorMsg": message})),
    )
        .into_response()
}

/// `userId` from an admin body: who in the shop made the change (absent: the CRM itself).
fn user_id(body: &Value) -> Result<Option<u64>, Box<Response>> {
    match body.get("userId") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_id(v)
            .map(Some)
            .ok_or_else(|| Box::new(bad_request("userId must be a user id"))),
    }
}

async fn health() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn reset(State(sim): State<Sim>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct SeedBody {
    preset: String,
}

async fn seed(State(sim): State<Sim>, Json(body): Json<SeedBody>) -> Response {
    match body.preset.as_str() {
        "demo" => {
            let seed = demo_seed();
            sim.seed(&seed);
            Json(json!({"success": true, "preset": "demo", "seed": seed})).into_response()
        }
        other => bad_request(&format!("unknown preset {other:?}; known: demo")),
    }
}

async fn faults(State(sim): State<Sim>) -> Json<Faults> {
    Json(sim.faults())
}

async fn set_faults(State(sim): State<Sim>, Json(faults): Json<Faults>) -> Json<Faults> {
    Json(sim.set_faults(faults))
}

async fn clear_faults(State(sim): State<Sim>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn trigger(State(sim): State<Sim>) -> Json<Option<Trigger>> {
    Json(sim.trigger())
}

async fn set_trigger(State(sim): State<Sim>, Json(trigger): Json<Trigger>) -> Json<Trigger> {
    sim.set_trigger(trigger.clone());
    Json(trigger)
}

async fn clear_trigger(State(sim): State<Sim>) -> StatusCode {
    sim.clear_trigger();
    StatusCode::NO_CONTENT
}

async fn stats(State(sim): State<Sim>) -> Response {
    Json(sim.stats()).into_response()
}

async fn reset_stats(State(sim): State<Sim>) -> StatusCode {
    sim.reset_stats();
    StatusCode::NO_CONTENT
}

async fn create_order(State(sim): State<Sim>, Json(body): Json<Value>) -> Response {
    let user = match user_id(&body) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let Some(order) = body.get("order").cloned() else {
        return bad_request("the body needs an \"order\" object");
    };
    match sim.create_order(order, user) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({"success": true, "id": id, "order": sim.order_by_id(id)})),
        )
            .into_response(),
        Err(e) => sim_error(e),
    }
}

#[derive(Deserialize)]
struct SiteFilter {
    site: Option<String>,
}

async fn orders(State(sim): State<Sim>, Query(f): Query<SiteFilter>) -> Json<Vec<Value>> {
    Json(sim.orders(f.site.as_deref()))
}

async fn order(State(sim): State<Sim>, Path((site, id)): Path<(String, u64)>) -> Response {
    match sim.order(&site, id) {
        Some(o) => Json(o).into_response(),
        None => sim_error(SimError::NotFound),
    }
}

fn done(sim: &Sim, site: &str, id: u64, result: Result<(), SimError>) -> Response {
    match result {
        Ok(()) => Json(json!({"success": true, "order": sim.order(site, id)})).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn set_status(
    State(sim): State<Sim>,
    Path((site, id)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let user = match user_id(&body) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let Some(status) = body.get("status").and_then(Value::as_str) else {
        return bad_request("the body needs a \"status\" code");
    };
    let result = sim.set_status(&site, id, status, user);
    done(&sim, &site, id, result)
}

async fn set_manager(
    State(sim): State<Sim>,
    Path((site, id)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let user = match user_id(&body) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let manager = match body.get("managerId") {
        None => return bad_request("the body needs \"managerId\" (a user id or null)"),
        Some(Value::Null) => None,
        Some(v) => match as_id(v) {
            Some(m) => Some(m),
            None => return bad_request("managerId must be a user id or null"),
        },
    };
    let result = sim.set_manager(&site, id, manager, user);
    done(&sim, &site, id, result)
}

async fn edit_order(
    State(sim): State<Sim>,
    Path((site, id)): Path<(String, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let user = match user_id(&body) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let Some(patch) = body.get("order").cloned() else {
        return bad_request("the body needs an \"order\" object with the fields to change");
    };
    let result = sim.edit_order(&site, id, patch, user).map(drop);
    done(&sim, &site, id, result)
}

async fn history(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.history())
}

async fn tasks(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.tasks())
}

async fn notifications(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.notifications())
}

async fn links(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.links())
}

async fn custom_fields(State(sim): State<Sim>) -> Response {
    Json(sim.custom_fields()).into_response()
}
