//! The calls Otklik makes, each in retailCRM's wire format (see `docs/retailcrm-contract.md`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::datetime::{format_crm_datetime, format_crm_minutes};
use crate::gate::{InProcess, RateGate};
use crate::model::{
    custom_fields_from_json, pagination_of, product_groups_from_json, sites_from_json,
    statuses_from_json, u64_of, users_from_json, CustomField, HistoryPage, HistoryQuery,
    NewCustomField, NewTask, Notification, Order, Site, Status, User,
};
use crate::transport::{Request, Retry, Transport};
use crate::{ClientConfig, CrmError};

/// Page size for list calls (retailCRM's maximum).
const PAGE_LIMIT: u32 = 100;
/// A guard against a server whose pagination never ends.
const MAX_PAGES: u32 = 1000;
/// Offers per `store/products` request: keeps the URL short.
const OFFERS_PER_REQUEST: usize = 50;
/// Ids per `GET orders` request: the list's largest page, so one request answers for every id.
pub const ORDERS_PER_LIST: usize = PAGE_LIMIT as usize;

/// A retailCRM account. Cheap to clone; clones share the connection pool and the call counter, and
/// every client of the same account and key in the process shares one pace.
#[derive(Clone)]
pub struct RetailCrm {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tz: Tz,
    base_url: String,
}

impl fmt::Debug for RetailCrm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetailCrm")
            .field("base_url", &self.inner.base_url)
            .field("timezone", &self.inner.tz)
            .finish_non_exhaustive()
    }
}

fn json_field(v: &Value) -> String {
    // `Value`'s `Display` is compact JSON and cannot fail.
    v.to_string()
}

fn q(k: &str, v: impl ToString) -> (String, String) {
    (k.to_owned(), v.to_string())
}

impl RetailCrm {
    /// A client paced by this process alone (tests, the CLI, a single process).
    pub fn new(cfg: ClientConfig) -> Result<Self, CrmError> {
        Self::with_gate(cfg, Arc::new(InProcess))
    }

    /// A client whose every attempt first passes `gate`, the budget it shares with every other
    /// process calling the account (the functions: `otklik_app::env::Parts::crm`).
    pub fn with_gate(cfg: ClientConfig, gate: Arc<dyn RateGate>) -> Result<Self, CrmError> {
        Ok(RetailCrm {
            inner: Arc::new(Inner {
                transport: Transport::new(&cfg, gate)?,
                tz: cfg.timezone,
                base_url: cfg.base_url,
            }),
        })
    }

    /// Attempts sent over the wire by this client and its clones, retries included.
    pub fn calls_made(&self) -> u64 {
        self.inner.transport.calls_made()
    }

    /// [`Self::calls_made`] by method and path (`"GET users"`, `"GET orders/history"`,
    /// `"POST orders/{id}/edit"`): the path after `/api/v5/`, each numeric segment as `{id}`.
    pub fn calls_by_route(&self) -> std::collections::BTreeMap<String, u64> {
        self.inner.transport.calls_by_route()
    }

    async fn read(&self, req: Request) -> Result<Value, CrmError> {
        self.inner.transport.call(&req, Retry::Transient).await
    }

    /// `GET orders/{id}?by=id&site=`
    pub async fn get_order(&self, site: &str, id: u64) -> Result<Order, CrmError> {
        let body = self
            .read(Request::get(
                format!("orders/{id}"),
                vec![q("by", "id"), q("site", site)],
            ))
            .await?;
        let order = body
            .get("order")
            .ok_or_else(|| CrmError::Decode("answer without `order`".into()))?;
        Order::from_json(order, self.inner.tz, site)
    }

    /// The orders with these ids, read through the orders list (`GET orders?filter[ids][]=…
    /// &limit=100`), [`ORDERS_PER_LIST`] ids a request: one call where `get_order` would make a
    /// hundred. Ids are deduplicated; an id the CRM does not know (deleted, or not visible to the
    /// key) is simply absent from the answer, and so from the result — the caller decides what a
    /// missing order means. An order in the answer that does not decode is left out the same way
    /// (and logged), so the caller's own read of it reports the problem.
    ///
    /// The list, its `filter[ids][]`, the allowed `limit`s (20, 50, 100) and the `pagination`
    /// object: retailCRM API v5 reference, "GET /api/v5/orders"
    /// (https://docs.retailcrm.ru/Developers/API/APIVersions/APIv5#get--api-v5-orders), and the
    /// official PHP client's `Orders::list` with `OrderFilter::$ids`
    /// (retailcrm/api-client-php, src/ResourceGroup/Orders.php).
    pub async fn orders_by_ids(&self, ids: &[u64]) -> Result<Vec<Order>, CrmError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        let tz = self.inner.tz;
        for chunk in ids.chunks(ORDERS_PER_LIST) {
            let filter: Vec<(String, String)> =
                chunk.iter().map(|id| q("filter[ids][]", id)).collect();
            self.each_page("orders", &filter, |body| {
                let list = body.get("orders").and_then(Value::as_array);
                for o in list.into_iter().flatten() {
                    // Every order in the list carries its `site`; none is assumed.
                    match Order::from_json(o, tz, "") {
                        Ok(order) => out.push(order),
                        Err(e) => tracing::warn!(
                            order = ?u64_of(o.get("id")),
                            error = %e,
                            "an order of the list did not decode; left out"
                        ),
                    }
                }
            })
            .await?;
        }
        Ok(out)
    }

    /// [`Self::orders_by_ids`] for a batch of work, answered id by id: `Ok(Some)` for an order the
    /// list returned, `Ok(None)` for one it did not, and the error of a failed request for each id
    /// of that request only — so a consumer retries just the messages whose orders were not read.
    pub async fn orders_lookup(
        &self,
        ids: &[u64],
    ) -> HashMap<u64, Result<Option<Order>, CrmError>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ORDERS_PER_LIST) {
            match self.orders_by_ids(chunk).await {
                Ok(orders) => {
                    out.extend(chunk.iter().map(|id| (*id, Ok(None))));
                    for order in orders {
                        out.insert(order.id, Ok(Some(order)));
                    }
                }
                Err(e) => out.extend(chunk.iter().map(|id| (*id, Err(e.clone())))),
            }
        }
        out
    }

    /// `GET orders/{externalId}?by=externalId&site=`: `Ok(None)` when there is no such order.
    /// Orders we create carry our own external id, so this finds them after an unknown outcome.
    pub async fn find_by_external_id(
        &self,
        site: &str,
        external_id: &str,
    ) -> Result<Option<Order>, CrmError> {
        let body = self
            .read(Request::get(
                format!("orders/{external_id}"),
                vec![q("by", "externalId"), q("site", site)],
            ))
            .await;
        let body = match body {
            Ok(b) => b,
            Err(CrmError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let order = body
            .get("order")
            .ok_or_else(|| CrmError::Decode("answer without `order`".into()))?;
        Order::from_json(order, self.inner.tz, site).map(Some)
    }

    /// `POST orders/{id}/edit`. Repeating a patch sets the same values again, so it is retried.
    pub async fn edit_order(
        &self,
        site: &str,
        id: u64,
        patch: &serde_json::Value,
    ) -> Result<(), CrmError> {
        let req = Request::post(
            format!("orders/{id}/edit"),
            vec![
                ("by", "id".to_owned()),
                ("site", site.to_owned()),
                ("order", json_field(patch)),
            ],
        );
        self.inner.transport.call(&req, Retry::Transient).await?;
        Ok(())
    }

    /// `POST orders/create`; the new order's id.
    ///
    /// Retried only when retailCRM certainly did not process the request (its 503/429 rate-limit
    /// answer, or no connection at all). After a timeout or a 5xx the order may well exist, and a
    /// blind repeat would open a second complaint order, which a manager would then work twice;
    /// the caller gets the error and can look for the order before trying again.
    pub async fn create_order(
        &self,
        site: &str,
        order: &serde_json::Value,
    ) -> Result<u64, CrmError> {
        let req = Request::post(
            "orders/create",
            vec![("site", site.to_owned()), ("order", json_field(order))],
        );
        let body = self.inner.transport.call(&req, Retry::Unprocessed).await?;
        u64_of(body.get("id"))
            .or_else(|| u64_of(body.get("order").and_then(|o| o.get("id"))))
            .ok_or_else(|| CrmError::Decode("orders/create answered without an id".into()))
    }

    /// `POST orders/links/create`: shows the orders as related in the CRM.
    pub async fn link_orders(&self, ids: &[u64], comment: &str) -> Result<(), CrmError> {
        let orders: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        let link = json!({ "orders": orders, "comment": comment });
        let req = Request::post("orders/links/create", vec![("link", json_field(&link))]);
        // A repeat would link twice: retried here only where retailCRM certainly did not take it;
        // the caller's next attempt reads the order's `links` first.
        self.inner.transport.call(&req, Retry::Unprocessed).await?;
        Ok(())
    }

    /// `GET orders/history`: one page. With `since_id`, read on by moving `since_id` to the last
    /// entry's id rather than by paging.
    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, CrmError> {
        let limit = match query.limit {
            0..=20 => 20,
            21..=50 => 50,
            _ => 100,
        };
        let page = query.page.max(1);
        let mut params = Vec::new();
        if let Some(id) = query.since_id {
            params.push(q("filter[sinceId]", id));
        }
        if let Some(id) = query.order_id {
            params.push(q("filter[orderId]", id));
        }
        if let Some(t) = query.start_date {
            params.push(q(
                "filter[startDate]",
                format_crm_datetime(t, self.inner.tz),
            ));
        }
        params.push(q("limit", limit));
        // retailCRM (since 2023) refuses `page` next to `filter[sinceId]`: a reader moves `sinceId`
        // forward instead. Page 1 is the default, so it is left out; a later page is still sent
        // and refused, which tells the caller more than silently reading page 1 would.
        if query.since_id.is_none() || page > 1 {
            params.push(q("page", page));
        }
        let body = self.read(Request::get("orders/history", params)).await?;
        Ok(HistoryPage::from_json(&body, self.inner.tz, page))
    }

    /// `POST tasks/create`; the new task's id.
    ///
    /// Retried here only where retailCRM certainly did not take it: a timed-out attempt may have
    /// made the task, so the caller's next attempt first looks for it ([`Self::task_ids_with_text`]
    /// with the reference in its title) instead of making it twice.
    pub async fn create_task(&self, task: &NewTask) -> Result<u64, CrmError> {
        let mut t = json!({
            "text": task.text,
            "commentary": task.commentary,
            "datetime": format_crm_minutes(task.datetime, self.inner.tz),
            "performerId": task.performer_id,
        });
        if let Some(id) = task.order_id {
            t["order"] = json!({ "id": id });
        }
        let req = Request::post("tasks/create", vec![("task", json_field(&t))]);
        let body = self.inner.transport.call(&req, Retry::Unprocessed).await?;
        u64_of(body.get("id"))
            .ok_or_else(|| CrmError::Decode("tasks/create answered without an id".into()))
    }

    /// `GET tasks?filter[text]=…&filter[performers][]=…`: the ids of the tasks of `performer`
    /// whose text contains `text` (the filters of retailCRM's task list; the official clients'
    /// `TaskFilter`: `text`, `performers`). How a retry finds the task an earlier attempt made.
    pub async fn task_ids_with_text(
        &self,
        text: &str,
        performer: u64,
    ) -> Result<Vec<u64>, CrmError> {
        let body = self
            .read(Request::get(
                "tasks",
                vec![
                    q("filter[text]", text),
                    q("filter[performers][]", performer.to_string()),
                    q("limit", "20"),
                ],
            ))
            .await?;
        Ok(body
            .get("tasks")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(|t| u64_of(t.get("id"))).collect())
            .unwrap_or_default())
    }

    /// `POST notifications/send`.
    pub async fn send_notification(&self, n: &Notification) -> Result<(), CrmError> {
        let body = json!({
            "type": n.kind.as_str(),
            "message": n.message,
            "userIds": n.user_ids,
        });
        let req = Request::post(
            "notifications/send",
            vec![("notification", json_field(&body))],
        );
        self.inner.transport.call(&req, Retry::Transient).await?;
        Ok(())
    }

    /// `GET custom-fields?filter[entity]=order`, all pages.
    pub async fn order_custom_fields(&self) -> Result<Vec<CustomField>, CrmError> {
        let mut out = Vec::new();
        self.each_page("custom-fields", &[q("filter[entity]", "order")], |body| {
            out.extend(custom_fields_from_json(body))
        })
        .await?;
        Ok(out)
    }

    /// `POST custom-fields/order/create`. An existing code is refused (400 → `Rejected`).
    pub async fn create_order_custom_field(&self, f: &NewCustomField) -> Result<(), CrmError> {
        let field = json!({
            "name": f.name,
            "code": f.code,
            "type": f.field_type,
            "viewMode": f.view_mode,
        });
        let req = Request::post(
            "custom-fields/order/create",
            vec![("customField", json_field(&field))],
        );
        self.inner.transport.call(&req, Retry::Transient).await?;
        Ok(())
    }

    /// `GET reference/statuses`, in the account's order.
    pub async fn statuses(&self) -> Result<Vec<Status>, CrmError> {
        let body = self
            .read(Request::get("reference/statuses", Vec::new()))
            .await?;
        Ok(statuses_from_json(&body))
    }

    /// `GET reference/sites`, sorted by code.
    pub async fn sites(&self) -> Result<Vec<Site>, CrmError> {
        let body = self
            .read(Request::get("reference/sites", Vec::new()))
            .await?;
        Ok(sites_from_json(&body))
    }

    /// `GET users`, all pages.
    pub async fn users(&self) -> Result<Vec<User>, CrmError> {
        let mut out = Vec::new();
        self.each_page("users", &[], |body| out.extend(users_from_json(body)))
            .await?;
        Ok(out)
    }

    /// The product groups of the given offers (`GET store/products?filter[offerIds][]=…`): each
    /// group's `externalId`, or its name when it has none; deduplicated, in first-seen order.
    pub async fn product_groups_of_offers(
        &self,
        offer_ids: &[u64],
    ) -> Result<Vec<String>, CrmError> {
        let mut ids = offer_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for chunk in ids.chunks(OFFERS_PER_REQUEST) {
            let filter: Vec<(String, String)> =
                chunk.iter().map(|id| q("filter[offerIds][]", id)).collect();
            self.each_page("store/products", &filter, |body| {
                product_groups_from_json(body, &mut out)
            })
            .await?;
        }
        Ok(out)
    }

    /// GETs `path` page by page (`limit=100&page=N`) until the last page.
    async fn each_page(
        &self,
        path: &str,
        params: &[(String, String)],
        mut each: impl FnMut(&Value),
    ) -> Result<(), CrmError> {
        let mut page = 1;
        loop {
            let mut query = params.to_vec();
            query.push(q("limit", PAGE_LIMIT));
            query.push(q("page", page));
            let body = self.read(Request::get(path, query)).await?;
            each(&body);
            let (current, total) = pagination_of(&body, page);
            if current >= total || page >= MAX_PAGES {
                return Ok(());
            }
            page = current.max(page) + 1;
        }
    }
}
