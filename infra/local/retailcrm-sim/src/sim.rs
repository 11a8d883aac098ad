//! The shared simulator handle: the model plus the knobs around it (faults, rate limit, trigger,
//! statistics). Tests hold a [`Sim`] to set up and inspect the account without going through HTTP.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Actor, Model, SimError, StatusChange};
use crate::seed::{demo_seed, CustomField, Seed};
use crate::trigger::{self, Trigger};
use crate::SimConfig;

/// Fault injection for `/api/v5` routes (`PUT /sim/faults`). Missing fields mean "off".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Share of requests answered with one of `error_statuses` (0.0–1.0).
    pub error_rate: f64,
    /// Statuses for injected errors; empty means `[500, 503]`.
    pub error_statuses: Vec<u16>,
    /// Share of requests held for `timeout_ms` and then dropped without an answer.
    pub timeout_rate: f64,
    /// How long a "timed out" request is held; 0 means 30 000 ms.
    pub timeout_ms: u64,
    /// Extra delay before every request is handled.
    pub latency_ms: u64,
    /// Until then every request gets HTTP 503.
    pub outage_until: Option<DateTime<Utc>>,
    /// Shorthand for `outage_until = now + N s`; turned into `outage_until` when set.
    pub outage_seconds: Option<u64>,
}

impl Faults {
    const DEFAULT_TIMEOUT_MS: u64 = 30_000;
    const DEFAULT_STATUSES: [u16; 2] = [500, 503];
}

/// One attempt to call the trigger's URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerDelivery {
    pub order_id: u64,
    pub site: String,
    pub status: String,
    pub url: String,
    /// The receiver's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why the call failed (connection refused, timeout…), when it did.
    pub error: Option<String>,
    pub at: String,
}

/// Trigger counters: `fired` calls started, of which `delivered` got a 2xx and `failed` did not;
/// `suppressed` matching status changes while the trigger was disabled (a lost trigger).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerStats {
    pub fired: u64,
    pub delivered: u64,
    pub failed: u64,
    pub suppressed: u64,
    pub deliveries: Vec<TriggerDelivery>,
}

/// What the API has seen (`GET /sim/stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request that reached an `/api/v5` route, rejected ones included.
    pub requests: u64,
    /// Requests per `"METHOD /api/v5/route/{param}"`.
    pub by_route: BTreeMap<String, u64>,
    /// The most requests of one key seen within any sliding one-second window.
    pub max_per_second: u64,
    /// The most requests being handled at once (from their check to their answer): one caller
    /// awaiting its calls one after another never has two.
    pub max_in_flight: u64,
    /// Requests answered 503 for exceeding the rate limit.
    pub rate_limited: u64,
    /// Requests answered with an injected error, outage or timeout.
    pub faults_injected: u64,
    /// Requests refused for a wrong or missing key.
    pub forbidden: u64,
    pub triggers: TriggerStats,
}

/// The outcome of the checks every API request goes through before its handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass(Duration),
    RateLimited,
    Outage,
    Error(u16),
    Timeout(Duration),
}

pub(crate) struct State {
    pub model: Model,
    faults: Faults,
    trigger: Option<Trigger>,
    stats: Stats,
    windows: HashMap<String, VecDeque<Instant>>,
    in_flight: u64,
}

struct Inner {
    config: SimConfig,
    state: Mutex<State>,
}

/// A shared handle on the simulated account; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

/// A request being handled; see [`Sim::handling`].
pub(crate) struct InFlight {
    sim: Sim,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = self.sim.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
    }
}

/// Trigger deliveries kept in the statistics; older ones are dropped.
const MAX_DELIVERIES: usize = 500;

impl Sim {
    /// An empty account (no sites, statuses or users: seed it).
    pub fn new(config: SimConfig) -> Sim {
        let model = Model::new(config.timezone);
        Sim {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    model,
                    faults: Faults::default(),
                    trigger: None,
                    stats: Stats::default(),
                    windows: HashMap::new(),
                    in_flight: 0,
                }),
            }),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the whole simulator down with a poisoned lock.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Loads reference data (sites, statuses, users, products, field definitions).
    pub fn seed(&self, seed: &Seed) {
        self.lock().model.seed(seed);
    }

    /// Loads the demo preset ([`demo_seed`]).
    pub fn seed_demo(&self) {
        self.seed(&demo_seed());
    }

    /// Forgets everything: data, history, faults, trigger and statistics.
    pub fn reset(&self) {
        let mut st = self.lock();
        st.model = Model::new(self.inner.config.timezone);
        st.faults = Faults::default();
        st.trigger = None;
        st.stats = Stats::default();
        st.windows.clear();
    }

    fn actor(user_id: Option<u64>) -> Actor {
        user_id.map_or(Actor::System, Actor::User)
    }

    fn check_user(st: &State, user_id: Option<u64>) -> Result<(), SimError> {
        match user_id {
            Some(id) if st.model.user(id).is_none() => {
                Err(SimError::invalid("userId", "User not found."))
            }
            _ => Ok(()),
        }
    }

    /// Creates an order as a person in the interface (`user_id`) or as the CRM itself (`None`).
    /// The site comes from `order.site`. Unlike `orders/create`, a `customer.id` the account does
    /// not know yet is created with that id, so tests can pick stable customer ids.
    pub fn create_order(&self, order: Value, user_id: Option<u64>) -> Result<u64, SimError> {
        let mut st = self.lock();
        Self::check_user(&st, user_id)?;
        st.model
            .create_order(order, None, Self::actor(user_id), true)
    }

    /// Edits an order as a person (bound by `not_editable` fields) or as the CRM itself.
    pub fn edit_order(
        &self,
        site: &str,
        id: u64,
        patch: Value,
        user_id: Option<u64>,
    ) -> Result<Value, SimError> {
        let (changes, order) = {
            let mut st = self.lock();
            Self::check_user(&st, user_id)?;
            let id = st.model.find_order(&id.to_string(), "id", Some(site))?;
            let changes =
                st.model
                    .edit_order(id, patch, Self::actor(user_id), user_id.is_some())?;
            (changes, st.model.order_json(id).unwrap_or(Value::Null))
        };
        self.status_changed(changes);
        Ok(order)
    }

    /// Moves an order to another status, as `user_id` would in the interface.
    pub fn set_status(
        &self,
        site: &str,
        id: u64,
        status: &str,
        user_id: Option<u64>,
    ) -> Result<(), SimError> {
        self.edit_order(site, id, serde_json::json!({ "status": status }), user_id)
            .map(drop)
    }

    /// Assigns (or, with `None`, unassigns) the order's manager.
    pub fn set_manager(
        &self,
        site: &str,
        id: u64,
        manager_id: Option<u64>,
        user_id: Option<u64>,
    ) -> Result<(), SimError> {
        self.edit_order(
            site,
            id,
            serde_json::json!({ "managerId": manager_id }),
            user_id,
        )
        .map(drop)
    }

    /// The order as `GET orders/{id}` returns it, if it exists on that site.
    pub fn order(&self, site: &str, id: u64) -> Option<Value> {
        let st = self.lock();
        let id = st
            .model
            .find_order(&id.to_string(), "id", Some(site))
            .ok()?;
        st.model.order_json(id)
    }

    /// The order with this id, whatever its site.
    pub fn order_by_id(&self, id: u64) -> Option<Value> {
        self.lock().model.order_json(id)
    }

    /// All orders, or those of one site.
    pub fn orders(&self, site: Option<&str>) -> Vec<Value> {
        let st = self.lock();
        st.model
            .orders
            .values()
            .filter(|o| site.is_none_or(|s| o.get("site").and_then(Value::as_str) == Some(s)))
            .map(crate::model::render_order)
            .collect()
    }

    /// Every history entry, oldest first.
    pub fn history(&self) -> Vec<Value> {
        self.lock()
            .model
            .history
            .iter()
            .map(|h| h.body.clone())
            .collect()
    }

    pub fn tasks(&self) -> Vec<Value> {
        self.lock().model.tasks.clone()
    }

    pub fn notifications(&self) -> Vec<Value> {
        self.lock().model.notifications.clone()
    }

    pub fn links(&self) -> Vec<Value> {
        self.lock().model.links.clone()
    }

    pub fn custom_fields(&self) -> Vec<CustomField> {
        self.lock().model.custom_fields.clone()
    }

    /// Counts a request as being handled until the returned guard is dropped (its answer given,
    /// or the client gone).
    pub(crate) fn handling(&self) -> InFlight {
        let mut st = self.lock();
        st.in_flight += 1;
        st.stats.max_in_flight = st.stats.max_in_flight.max(st.in_flight);
        InFlight { sim: self.clone() }
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Zeroes the statistics (and the rate-limit windows) without touching data.
    pub fn reset_stats(&self) {
        let mut st = self.lock();
        st.stats = Stats::default();
        st.windows.clear();
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the fault settings; `outage_seconds` becomes an absolute `outage_until`.
    pub fn set_faults(&self, mut faults: Faults) -> Faults {
        if let Some(secs) = faults.outage_seconds.take() {
            if faults.outage_until.is_none() {
                faults.outage_until = Some(Utc::now() + chrono::Duration::seconds(secs as i64));
            }
        }
        faults.error_rate = faults.error_rate.clamp(0.0, 1.0);
        faults.timeout_rate = faults.timeout_rate.clamp(0.0, 1.0);
        self.lock().faults = faults.clone();
        faults
    }

    pub fn clear_faults(&self) {
        self.lock().faults = Faults::default();
    }

    pub fn trigger(&self) -> Option<Trigger> {
        self.lock().trigger.clone()
    }

    /// Installs the order trigger (replacing any previous one).
    pub fn set_trigger(&self, trigger: Trigger) {
        self.lock().trigger = Some(trigger);
    }

    pub fn clear_trigger(&self) {
        self.lock().trigger = None;
    }

    /// Counts the request, applies the rate limit and draws the faults.
    pub(crate) fn check_request(&self, key: &str, route: &str) -> Verdict {
        let now = Instant::now();
        let limit = self.inner.config.rate_limit as usize;
        let mut st = self.lock();
        st.stats.requests += 1;
        *st.stats.by_route.entry(route.to_owned()).or_default() += 1;

        // Rejected requests stay in the window: a client that keeps hammering stays limited.
        let window = st.windows.entry(key.to_owned()).or_default();
        window.push_back(now);
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        let in_window = window.len();
        st.stats.max_per_second = st.stats.max_per_second.max(in_window as u64);
        if in_window > limit {
            st.stats.rate_limited += 1;
            return Verdict::RateLimited;
        }

        let faults = st.faults.clone();
        let verdict = if faults.outage_until.is_some_and(|t| Utc::now() < t) {
            Verdict::Outage
        } else if faults.timeout_rate > 0.0 && fastrand::f64() < faults.timeout_rate {
            let ms = match faults.timeout_ms {
                0 => Faults::DEFAULT_TIMEOUT_MS,
                ms => ms,
            };
            Verdict::Timeout(Duration::from_millis(ms))
        } else if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
            let statuses = if faults.error_statuses.is_empty() {
                Faults::DEFAULT_STATUSES.to_vec()
            } else {
                faults.error_statuses.clone()
            };
            Verdict::Error(statuses[fastrand::usize(..statuses.len())])
        } else {
            return Verdict::Pass(Duration::from_millis(faults.latency_ms));
        };
        st.stats.faults_injected += 1;
        verdict
    }

    pub(crate) fn count_forbidden(&self) {
        self.lock().stats.forbidden += 1;
    }

    /// Hands status changes to the trigger, like retailCRM's "order changed" trigger with a
    /// condition on the new status and an "HTTP request" action.
    pub(crate) fn status_changed(&self, changes: Vec<StatusChange>) {
        if changes.is_empty() {
            return;
        }
        let mut to_send = Vec::new();
        {
            let mut st = self.lock();
            let Some(trigger) = st.trigger.clone() else {
                return;
            };
            for change in changes {
                if !trigger.statuses.contains(&change.status) {
                    continue;
                }
                if trigger.enabled {
                    st.stats.triggers.fired += 1;
                    to_send.push(change);
                } else {
                    st.stats.triggers.suppressed += 1;
                    tracing::info!(
                        order_id = change.order_id,
                        "trigger disabled: call not made"
                    );
                }
            }
            if to_send.is_empty() {
                return;
            }
            let trigger = trigger.clone();
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                drop(st);
                for change in to_send {
                    self.record_delivery(&trigger, change, Err("no async runtime".into()));
                }
                return;
            };
            for change in to_send {
                let sim = self.clone();
                let trigger = trigger.clone();
                // Asynchronous like retailCRM's: the change that caused it is already saved and
                // answered before the receiver hears about it.
                rt.spawn(async move {
                    for _ in 0..trigger.times.max(1) {
                        let result = trigger::deliver(&trigger, &change).await;
                        sim.record_delivery(&trigger, change.clone(), result);
                    }
                });
            }
        }
    }

    fn record_delivery(
        &self,
        trigger: &Trigger,
        change: StatusChange,
        result: Result<u16, String>,
    ) {
        let mut st = self.lock();
        let at = st.model.now_string();
        let (http_status, error) = match result {
            Ok(code) if (200..300).contains(&code) => {
                st.stats.triggers.delivered += 1;
                (Some(code), None)
            }
            Ok(code) => {
                st.stats.triggers.failed += 1;
                (Some(code), None)
            }
            Err(e) => {
                st.stats.triggers.failed += 1;
                (None, Some(e))
            }
        };
        tracing::info!(
            order_id = change.order_id,
            site = %change.site,
            status = %change.status,
            http_status,
            error = error.as_deref().unwrap_or(""),
            "trigger call made"
        );
        let deliveries = &mut st.stats.triggers.deliveries;
        deliveries.push(TriggerDelivery {
            order_id: change.order_id,
            site: change.site,
            status: change.status,
            url: trigger.url.clone(),
            http_status,
            error,
            at,
        });
        if deliveries.len() > MAX_DELIVERIES {
            deliveries.remove(0);
        }
    }
}
