//! `/sim/…`: the simulator's own control routes for tests and the demo. No token: they stand for
//! the test harness and for the customer holding the phone.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::ProviderFaults;
use crate::max;
use crate::model::{self, MaxBook, NumberBook, Provider, Reply, SimError, SmsBook, StatusUpdate};
use crate::sim::{ConfigPatch, Sim};

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/health", get(health))
        .route("/sim/reset", post(reset))
        .route("/sim/config", put(set_config).get(config))
        .route("/sim/numbers", put(set_numbers).get(numbers))
        .route("/sim/messages", get(messages).delete(clear_messages))
        .route("/sim/reply", post(reply))
        .route("/sim/status", post(status))
        .route("/sim/stats", get(stats))
        .route("/sim/max/numbers", put(set_max_numbers).get(max_numbers))
        .route("/sim/max/state", put(set_max_state).get(max_state))
        .route("/sim/max/settings", get(max_settings))
        .route("/sim/max/chat", get(max_chat))
        .route("/sim/sms", get(sms).delete(clear_sms))
        .route("/sim/sms/inbox", get(sms_inbox))
        .route("/sim/sms/numbers", put(set_sms_numbers).get(sms_numbers))
        .route("/sim/sms/status", post(sms_status))
        .route(
            "/sim/faults",
            put(set_faults).get(faults).delete(clear_faults),
        )
}

async fn faults(State(sim): State<Sim>) -> Json<ProviderFaults> {
    Json(sim.faults())
}

async fn set_faults(
    State(sim): State<Sim>,
    faults: Result<Json<ProviderFaults>, JsonRejection>,
) -> Response {
    let faults = match body(faults) {
        Ok(f) => f,
        Err(e) => return sim_error(e),
    };
    match sim.set_faults(faults.clone()) {
        Ok(()) => Json(faults).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn clear_faults(State(sim): State<Sim>) -> StatusCode {
    let _ = sim.set_faults(ProviderFaults::default());
    StatusCode::NO_CONTENT
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn sim_error(e: SimError) -> Response {
    let status = match e {
        SimError::BadRequest(_) => StatusCode::BAD_REQUEST,
        // The request was fine; the simulator is not set up for it yet.
        SimError::NoWebhook(_) => StatusCode::CONFLICT,
    };
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

/// Unwraps a JSON body, or a 400 naming what was wrong with it (unknown keys included).
fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, SimError> {
    parsed
        .map(|Json(v)| v)
        .map_err(|e| SimError::BadRequest(e.body_text()))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "ok": true }))
}

async fn reset(State(sim): State<Sim>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

async fn config(State(sim): State<Sim>) -> Response {
    Json(sim.config()).into_response()
}

async fn set_config(
    State(sim): State<Sim>,
    patch: Result<Json<ConfigPatch>, JsonRejection>,
) -> Response {
    let patch = match body(patch) {
        Ok(p) => p,
        Err(e) => return sim_error(e),
    };
    match sim.update_config(patch) {
        Ok(config) => Json(config).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn numbers(State(sim): State<Sim>) -> Json<NumberBook> {
    Json(sim.numbers())
}

async fn set_numbers(
    State(sim): State<Sim>,
    book: Result<Json<NumberBook>, JsonRejection>,
) -> Response {
    let book = match body(book) {
        Ok(b) => b,
        Err(e) => return sim_error(e),
    };
    let listed = book.with_whatsapp.iter().chain(&book.without_whatsapp);
    if let Some(bad) = listed.into_iter().find(|n| model::digits(n).is_empty()) {
        return bad_request(&format!("{bad:?} is not a phone number"));
    }
    sim.set_numbers(book.clone());
    Json(book).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageFilter {
    to: Option<String>,
    provider: Option<Provider>,
}

async fn messages(State(sim): State<Sim>, Query(filter): Query<MessageFilter>) -> Response {
    let to = filter.to.as_deref().map(model::digits);
    let messages: Vec<_> = sim
        .messages()
        .into_iter()
        .filter(|m| to.as_ref().is_none_or(|t| &m.to == t))
        .filter(|m| filter.provider.is_none_or(|p| m.provider == p))
        .collect();
    Json(messages).into_response()
}

async fn clear_messages(State(sim): State<Sim>) -> StatusCode {
    sim.clear_messages();
    StatusCode::NO_CONTENT
}

async fn reply(State(sim): State<Sim>, reply: Result<Json<Reply>, JsonRejection>) -> Response {
    let reply = match body(reply) {
        Ok(r) => r,
        Err(e) => return sim_error(e),
    };
    match sim.reply(&reply).await {
        Ok(delivered) => Json(delivered).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn status(
    State(sim): State<Sim>,
    update: Result<Json<StatusUpdate>, JsonRejection>,
) -> Response {
    let update = match body(update) {
        Ok(u) => u,
        Err(e) => return sim_error(e),
    };
    match sim.status(&update).await {
        Ok(delivered) => Json(delivered).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn stats(State(sim): State<Sim>) -> Response {
    Json(sim.stats()).into_response()
}

async fn max_numbers(State(sim): State<Sim>) -> Json<MaxBook> {
    Json(sim.max_numbers())
}

async fn set_max_numbers(
    State(sim): State<Sim>,
    book: Result<Json<MaxBook>, JsonRejection>,
) -> Response {
    let book = match body(book) {
        Ok(b) => b,
        Err(e) => return sim_error(e),
    };
    let listed = book.with_max.iter().chain(&book.without_max);
    if let Some(bad) = listed.into_iter().find(|n| model::digits(n).is_empty()) {
        return bad_request(&format!("{bad:?} is not a phone number"));
    }
    sim.set_max_numbers(book.clone());
    Json(book).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MaxState {
    state_instance: String,
    /// Post `stateInstanceChanged` to the MAX webhook too.
    #[serde(default)]
    notify: bool,
}

/// The MAX instance's send interval and how many `setSettings` calls changed it.
async fn max_settings(State(sim): State<Sim>) -> Response {
    let (delay, writes) = sim.max_pace();
    Json(json!({ "delaySendMessagesMilliseconds": delay, "setSettingsCalls": writes }))
        .into_response()
}

async fn max_state(State(sim): State<Sim>) -> Response {
    Json(json!({ "stateInstance": sim.max_state() })).into_response()
}

async fn set_max_state(
    State(sim): State<Sim>,
    state: Result<Json<MaxState>, JsonRejection>,
) -> Response {
    let state = match body(state) {
        Ok(s) => s,
        Err(e) => return sim_error(e),
    };
    match sim.set_max_state(&state.state_instance, state.notify).await {
        Ok(delivered) => Json(json!({
            "stateInstance": state.state_instance,
            "answers": delivered.answers,
        }))
        .into_response(),
        Err(e) => sim_error(e),
    }
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: String,
}

/// The customer's MAX chat, as the sandbox page shows it.
async fn max_chat(
    State(sim): State<Sim>,
    query: Result<Query<PhoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(PhoneQuery { phone })) = query else {
        return bad_request("give ?phone=<the customer's number>");
    };
    let digits = model::digits(&phone);
    if digits.is_empty() {
        return bad_request("phone must be a phone number");
    }
    Json(json!({
        "phone": digits,
        "chatId": max::chat_id_for(&digits),
        "hasMax": sim.has_max(&digits),
        "lines": sim.max_chat(&digits),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct SmsFilter {
    to: Option<String>,
}

async fn sms(State(sim): State<Sim>, Query(filter): Query<SmsFilter>) -> Response {
    let to = filter.to.as_deref().map(model::digits);
    let records: Vec<_> = sim
        .sms()
        .into_iter()
        .filter(|r| to.as_ref().is_none_or(|t| &r.to == t))
        .collect();
    Json(records).into_response()
}

async fn clear_sms(State(sim): State<Sim>) -> StatusCode {
    sim.clear_sms();
    StatusCode::NO_CONTENT
}

/// What the customer's phone shows: the SMS really sent to it, with their links.
async fn sms_inbox(
    State(sim): State<Sim>,
    query: Result<Query<PhoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(PhoneQuery { phone })) = query else {
        return bad_request("give ?phone=<the customer's number>");
    };
    Json(sim.sms_inbox(&phone)).into_response()
}

async fn sms_numbers(State(sim): State<Sim>) -> Json<SmsBook> {
    Json(sim.sms_numbers())
}

async fn set_sms_numbers(
    State(sim): State<Sim>,
    book: Result<Json<SmsBook>, JsonRejection>,
) -> Response {
    let book = match body(book) {
        Ok(b) => b,
        Err(e) => return sim_error(e),
    };
    let listed = book.undeliverable.iter().chain(&book.refused);
    if let Some(bad) = listed.into_iter().find(|n| model::digits(n).is_empty()) {
        return bad_request(&format!("{bad:?} is not a phone number"));
    }
    match sim.set_sms_numbers(book.clone()) {
        Ok(()) => Json(book).into_response(),
        Err(e) => sim_error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SmsStatus {
    sms_id: String,
    status_code: i32,
    #[serde(default)]
    times: Option<u32>,
}

async fn sms_status(
    State(sim): State<Sim>,
    update: Result<Json<SmsStatus>, JsonRejection>,
) -> Response {
    let update = match body(update) {
        Ok(u) => u,
        Err(e) => return sim_error(e),
    };
    match sim
        .sms_status(&update.sms_id, update.status_code, update.times)
        .await
    {
        Ok(delivered) => Json(delivered).into_response(),
        Err(e) => sim_error(e),
    }
}
