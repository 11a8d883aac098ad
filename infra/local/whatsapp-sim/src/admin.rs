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

use crate::model::{self, NumberBook, Provider, Reply, SimError, StatusUpdate};
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
