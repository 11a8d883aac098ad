//! The in-memory account: orders, customers, tasks, notifications, links and the change history.
//!
//! Every mutation goes through [`Model`] so that each change of an order leaves exactly the history
//! entries retailCRM would write, with the right source (`user`, `api`, `code`). Orders are kept as
//! JSON objects rather than structs: clients may send fields we do not model, and retailCRM keeps
//! and returns them.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use crate::seed::{CustomField, Product, ProductGroup, Seed, Site, Status, User};

/// retailCRM's datetime format, always in the account's time zone.
pub const DATETIME: &str = "%Y-%m-%d %H:%M:%S";
/// The format of a task's due time (no seconds).
pub const TASK_DATETIME: &str = "%Y-%m-%d %H:%M";

/// Who made a change; decides the history entry's `source`, `user` and `apiKey`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A person in the CRM's interface (`source: "user"`, `user: {id}`).
    User(u64),
    /// A call through the REST API with the account's key (`source: "api"`).
    Api,
    /// The CRM itself, e.g. an automatic action (`source: "code"`).
    System,
}

/// Why a change was refused. Maps onto retailCRM's error bodies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The entity does not exist (or not on the given site): HTTP 404.
    #[error("Not found")]
    NotFound,
    /// Validation failed: HTTP 400 with `errorMsg` and a map of `errors`.
    #[error("{message}")]
    Invalid {
        message: String,
        errors: BTreeMap<String, String>,
    },
}

impl SimError {
    /// A validation error about one field, in the shape retailCRM uses for entity errors.
    pub fn invalid(field: &str, message: impl Into<String>) -> SimError {
        SimError::Invalid {
            message: "Errors in the entity format".into(),
            errors: BTreeMap::from([(field.to_owned(), message.into())]),
        }
    }
}

/// A status change the HTTP trigger may react to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: u64,
    pub site: String,
    pub status: String,
}

/// One history entry; `body` is exactly what `orders/history` returns.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub id: u64,
    pub at: NaiveDateTime,
    pub order_id: u64,
    pub body: Value,
}

/// One changed field: history `field`, `oldValue`, `newValue`, and an extra key (e.g. `item`).
type Change = (String, Value, Value, Option<(String, Value)>);

#[derive(Clone, Debug)]
struct Counters {
    order: u64,
    customer: u64,
    history: u64,
    item: u64,
    payment: u64,
    task: u64,
    link: u64,
    notification: u64,
}

impl Default for Counters {
    fn default() -> Self {
        // Realistic starting points: ids in different tables never look alike, which catches a
        // client that confuses an order id with a customer id.
        Counters {
            order: 1001,
            customer: 501,
            history: 1,
            item: 1,
            payment: 1,
            task: 1,
            link: 1,
            notification: 1,
        }
    }
}

/// The whole simulated account.
#[derive(Clone, Debug)]
pub struct Model {
    pub tz: Tz,
    pub sites: Vec<Site>,
    pub statuses: Vec<Status>,
    pub users: Vec<User>,
    pub product_groups: Vec<ProductGroup>,
    pub products: Vec<Product>,
    pub custom_fields: Vec<CustomField>,
    pub orders: BTreeMap<u64, Map<String, Value>>,
    pub customers: BTreeMap<u64, Map<String, Value>>,
    pub tasks: Vec<Value>,
    pub notifications: Vec<Value>,
    pub links: Vec<Value>,
    pub history: Vec<HistoryEntry>,
    next: Counters,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `managerComment` → `manager_comment`: retailCRM names history fields in snake case.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON number or numeric string as an unsigned id.
pub fn as_id(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// PHP encodes an empty associative array as `[]`; retailCRM's responses inherit that.
pub fn php_map(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(m)
    }
}

/// The order as the API returns it: empty maps become `[]`.
pub fn render_order(order: &Map<String, Value>) -> Value {
    let mut o = order.clone();
    for key in ["customFields", "payments"] {
        if let Some(Value::Object(m)) = o.remove(key) {
            o.insert(key.into(), php_map(m));
        }
    }
    if let Some(Value::Object(delivery)) = o.get_mut("delivery") {
        if let Some(Value::Object(address)) = delivery.remove("address") {
            delivery.insert("address".into(), php_map(address));
        }
    }
    Value::Object(o)
}

impl Model {
    pub fn new(tz: Tz) -> Model {
        Model {
            tz,
            sites: Vec::new(),
            statuses: Vec::new(),
            users: Vec::new(),
            product_groups: Vec::new(),
            products: Vec::new(),
            custom_fields: Vec::new(),
            orders: BTreeMap::new(),
            customers: BTreeMap::new(),
            tasks: Vec::new(),
            notifications: Vec::new(),
            links: Vec::new(),
            history: Vec::new(),
            next: Counters::default(),
        }
    }

    /// Adds a preset's reference data; entries with a code or id already present are replaced.
    pub fn seed(&mut self, seed: &Seed) {
        fn upsert<T: Clone, K: PartialEq>(list: &mut Vec<T>, items: &[T], key: impl Fn(&T) -> K) {
            for item in items {
                match list.iter_mut().find(|x| key(x) == key(item)) {
                    Some(slot) => *slot = item.clone(),
                    None => list.push(item.clone()),
                }
            }
        }
        upsert(&mut self.sites, &seed.sites, |s| s.code.clone());
        upsert(&mut self.statuses, &seed.statuses, |s| s.code.clone());
        upsert(&mut self.users, &seed.users, |u| u.id);
        upsert(&mut self.product_groups, &seed.product_groups, |g| g.id);
        upsert(&mut self.products, &seed.products, |p| p.id);
        upsert(&mut self.custom_fields, &seed.custom_fields, |f| {
            (f.entity.clone(), f.code.clone())
        });
        self.statuses.sort_by_key(|s| s.ordering);
    }

    /// The account's wall clock, to the second.
    pub fn now(&self) -> NaiveDateTime {
        let local = Utc::now().with_timezone(&self.tz).naive_local();
        NaiveDateTime::parse_from_str(&local.format(DATETIME).to_string(), DATETIME)
            .unwrap_or(local)
    }

    pub fn now_string(&self) -> String {
        self.now().format(DATETIME).to_string()
    }

    pub fn site(&self, code: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.code == code)
    }

    pub fn status(&self, code: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.code == code)
    }

    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn order_field(&self, entity: &str, code: &str) -> Option<&CustomField> {
        self.custom_fields
            .iter()
            .find(|f| f.entity == entity && f.code == code)
    }

    /// The catalogue's view of an offer and its price.
    fn find_offer(&self, id: Option<u64>, external_id: Option<&str>) -> Option<(Value, f64)> {
        self.products.iter().find_map(|p| {
            p.offers
                .iter()
                .find(|o| Some(o.id) == id || Some(o.external_id.as_str()) == external_id)
                .map(|o| {
                    let offer = json!({"id": o.id, "externalId": o.external_id, "name": o.name,
                                       "xmlId": o.external_id, "productId": p.id});
                    (offer, o.price)
                })
        })
    }

    /// Resolves `orders/{id}?by=…&site=…`: a site given must be the order's site.
    pub fn find_order(&self, key: &str, by: &str, site: Option<&str>) -> Result<u64, SimError> {
        let site_ok = |o: &Map<String, Value>| {
            site.is_none_or(|s| o.get("site").and_then(Value::as_str) == Some(s))
        };
        match by {
            "id" => {
                let id: u64 = key.parse().map_err(|_| SimError::NotFound)?;
                match self.orders.get(&id) {
                    Some(o) if site_ok(o) => Ok(id),
                    _ => Err(SimError::NotFound),
                }
            }
            "externalId" => self
                .orders
                .iter()
                .find(|(_, o)| {
                    o.get("externalId").and_then(Value::as_str) == Some(key) && site_ok(o)
                })
                .map(|(id, _)| *id)
                .ok_or(SimError::NotFound),
            _ => Err(SimError::Invalid {
                message: "Value \"by\" is not valid. Allowed values are id and externalId.".into(),
                errors: BTreeMap::new(),
            }),
        }
    }

    pub fn order_json(&self, id: u64) -> Option<Value> {
        self.orders.get(&id).map(render_order)
    }

    fn check_manager(&self, v: &Value) -> Result<Option<u64>, SimError> {
        if v.is_null() {
            return Ok(None);
        }
        let id = as_id(v).ok_or_else(|| SimError::invalid("managerId", "Not a valid id."))?;
        match self.user(id) {
            Some(u) if u.active && u.is_manager => Ok(Some(id)),
            Some(_) => Err(SimError::invalid(
                "managerId",
                "The user is not an active manager.",
            )),
            None => Err(SimError::invalid("managerId", "Manager not found.")),
        }
    }

    fn check_status(&self, v: &Value) -> Result<String, SimError> {
        let code = v
            .as_str()
            .ok_or_else(|| SimError::invalid("status", "This value should be a status code."))?;
        if self.status(code).is_none() {
            return Err(SimError::invalid("status", "Status not found."));
        }
        Ok(code.to_owned())
    }

    /// Coerces a custom field value to its definition's type, as retailCRM's form layer does.
    fn coerce_custom(&self, def: &CustomField, v: &Value) -> Result<Value, SimError> {
        let field = format!("customFields[{}]", def.code);
        if v.is_null() {
            return Ok(Value::Null);
        }
        let bad = |what: &str| SimError::invalid(&field, format!("This value should be {what}."));
        Ok(match def.kind.as_str() {
            "integer" => match v {
                Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => json!(f as i64),
                    _ => return Err(bad("an integer")),
                },
                Value::String(s) => {
                    json!(s.trim().parse::<i64>().map_err(|_| bad("an integer"))?)
                }
                _ => return Err(bad("an integer")),
            },
            "numeric" => match v {
                Value::Number(_) => v.clone(),
                Value::String(s) => json!(s.trim().parse::<f64>().map_err(|_| bad("a number"))?),
                _ => return Err(bad("a number")),
            },
            "boolean" => match v {
                Value::Bool(_) => v.clone(),
                Value::Number(n) => json!(n.as_i64() == Some(1)),
                Value::String(s) => json!(matches!(s.as_str(), "1" | "true")),
                _ => return Err(bad("a boolean")),
            },
            _ => match v {
                Value::String(_) => v.clone(),
                Value::Number(n) => json!(n.to_string()),
                Value::Bool(b) => json!(if *b { "1" } else { "0" }),
                _ => return Err(bad("a string")),
            },
        })
    }

    /// Merges `customFields` by code. Codes without a definition are dropped, as retailCRM does;
    /// `from_ui` enforces `viewMode: not_editable` (only people in the interface are bound by it).
    fn merge_custom_fields(
        &self,
        current: &mut Map<String, Value>,
        incoming: &Value,
        from_ui: bool,
    ) -> Result<Vec<(String, Value, Value)>, SimError> {
        let incoming = match incoming {
            Value::Object(m) => m.clone(),
            // PHP clients send an empty map as `[]`.
            Value::Array(a) if a.is_empty() => Map::new(),
            Value::Null => Map::new(),
            _ => {
                return Err(SimError::invalid(
                    "customFields",
                    "This value should be an object.",
                ))
            }
        };
        let mut changes = Vec::new();
        for (code, value) in incoming {
            let Some(def) = self.order_field("order", &code) else {
                tracing::debug!(code, "custom field without a definition ignored");
                continue;
            };
            if from_ui && def.view_mode != "editable" {
                return Err(SimError::invalid(
                    &format!("customFields[{code}]"),
                    "This field cannot be edited.",
                ));
            }
            let new = self.coerce_custom(def, &value)?;
            let old = current.get(&code).cloned().unwrap_or(Value::Null);
            if old == new {
                continue;
            }
            if new.is_null() {
                current.remove(&code);
            } else {
                current.insert(code.clone(), new.clone());
            }
            changes.push((code, old, new));
        }
        Ok(changes)
    }

    fn normalize_items(&mut self, items: &Value, keep: &[Value]) -> Result<Vec<Value>, SimError> {
        let list = match items {
            Value::Array(a) => a.clone(),
            Value::Object(m) => m.values().cloned().collect(),
            Value::Null => Vec::new(),
            _ => return Err(SimError::invalid("items", "This value should be a list.")),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.into_iter().enumerate() {
            let Value::Object(mut item) = item else {
                return Err(SimError::invalid(
                    &format!("items[{i}]"),
                    "This value should be an object.",
                ));
            };
            // An item that names an existing id keeps it (an edit); others are new lines.
            let existing = item.get("id").and_then(as_id).and_then(|id| {
                keep.iter()
                    .find(|k| k.get("id").and_then(as_id) == Some(id))
                    .cloned()
            });
            let mut line = existing.map(obj).unwrap_or_default();
            if !line.contains_key("id") {
                line.insert("id".into(), json!(self.next.item));
                self.next.item += 1;
            }
            item.remove("id");
            if let Some(offer) = item.remove("offer") {
                let id = offer.get("id").and_then(as_id);
                let ext = offer.get("externalId").and_then(Value::as_str);
                match self.find_offer(id, ext) {
                    Some((found, price)) => {
                        line.insert("offer".into(), found);
                        // The catalogue price unless the shop sold it for another.
                        line.entry("initialPrice").or_insert(json!(price));
                    }
                    None if id.is_some() || ext.is_some() => {
                        return Err(SimError::invalid(
                            &format!("items[{i}].offer"),
                            "Offer not found.",
                        ))
                    }
                    None => {
                        line.insert("offer".into(), offer);
                    }
                }
            }
            for (k, v) in item {
                line.insert(k, v);
            }
            line.entry("quantity").or_insert(json!(1));
            line.entry("initialPrice").or_insert(json!(0));
            out.push(Value::Object(line));
        }
        Ok(out)
    }

    fn recompute_sums(order: &mut Map<String, Value>) {
        let total: f64 = order
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|i| {
                        let price = i.get("initialPrice").and_then(Value::as_f64).unwrap_or(0.0);
                        let qty = i.get("quantity").and_then(Value::as_f64).unwrap_or(0.0);
                        price * qty
                    })
                    .sum()
            })
            .unwrap_or(0.0);
        let cost = order
            .get("delivery")
            .and_then(|d| d.get("cost"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        order.insert("summ".into(), json!(total));
        order.insert("totalSumm".into(), json!(total + cost));
    }

    fn customer_ref(customer: &Map<String, Value>) -> Value {
        let mut c = customer.clone();
        c.remove("site");
        Value::Object(c)
    }

    /// The order's customer: an existing one by `customer.id`, or a new one made from the order's
    /// contact fields (retailCRM creates a customer for every order that names none).
    /// `implicit`: an unknown `customer.id` is created with that id instead of refused — for
    /// orders set up through the control routes, where a test wants stable customer ids.
    fn resolve_customer(
        &mut self,
        order: &Map<String, Value>,
        site: &str,
        now: &str,
        implicit: bool,
    ) -> Result<Map<String, Value>, SimError> {
        let given = order.get("customer").cloned().unwrap_or(Value::Null);
        let given = match given {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(SimError::invalid(
                    "customer",
                    "This value should be an object.",
                ))
            }
        };
        let id = match given.get("id") {
            Some(id) => {
                let id =
                    as_id(id).ok_or_else(|| SimError::invalid("customer.id", "Not a valid id."))?;
                if let Some(c) = self.customers.get(&id) {
                    return Ok(obj(Self::customer_ref(c)));
                }
                if !implicit {
                    return Err(SimError::invalid("customer", "Customer not found."));
                }
                // Later customers must not collide with one named by hand.
                self.next.customer = self.next.customer.max(id + 1);
                id
            }
            None => {
                let id = self.next.customer;
                self.next.customer += 1;
                id
            }
        };
        let pick = |key: &str| {
            given
                .get(key)
                .filter(|v| !v.is_null())
                .or_else(|| order.get(key).filter(|v| !v.is_null()))
                .cloned()
        };
        let phones = match given.get("phones") {
            Some(Value::Array(p)) => Value::Array(p.clone()),
            _ => match order.get("phone").and_then(Value::as_str) {
                Some(p) if !p.is_empty() => json!([{ "number": p }]),
                _ => json!([]),
            },
        };
        let mut c = Map::new();
        c.insert("type".into(), json!("customer"));
        c.insert("id".into(), json!(id));
        for key in ["firstName", "lastName", "email"] {
            if let Some(v) = pick(key) {
                c.insert(key.into(), v);
            }
        }
        c.insert("phones".into(), phones);
        c.insert("createdAt".into(), json!(now));
        c.insert("site".into(), json!(site));
        self.customers.insert(id, c.clone());
        Ok(obj(Self::customer_ref(&c)))
    }

    /// `orders/create` (or an order made in the shop; see `resolve_customer` for `implicit`).
    pub fn create_order(
        &mut self,
        input: Value,
        site: Option<&str>,
        actor: Actor,
        implicit_customer: bool,
    ) -> Result<u64, SimError> {
        let Value::Object(input) = input else {
            return Err(SimError::invalid(
                "order",
                "This value should be an object.",
            ));
        };
        let site = site
            .map(str::to_owned)
            .or_else(|| input.get("site").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| SimError::invalid("site", "The site is not specified."))?;
        if self.site(&site).is_none() {
            return Err(SimError::invalid("site", "Site not found."));
        }
        let status = match input.get("status") {
            Some(v) if !v.is_null() => self.check_status(v)?,
            _ => "new".to_owned(),
        };
        let manager = match input.get("managerId") {
            Some(v) => self.check_manager(v)?,
            None => None,
        };
        if let Some(ext) = input.get("externalId").and_then(Value::as_str) {
            if self.find_order(ext, "externalId", Some(&site)).is_ok() {
                return Err(SimError::invalid(
                    "externalId",
                    "An order with this externalId already exists.",
                ));
            }
        }
        let now = self.now_string();
        let created_at = match input.get("createdAt").and_then(Value::as_str) {
            Some(s) => {
                NaiveDateTime::parse_from_str(s, DATETIME)
                    .map_err(|_| SimError::invalid("createdAt", "Expected Y-m-d H:i:s."))?;
                s.to_owned()
            }
            None => now.clone(),
        };
        let mut custom = Map::new();
        if let Some(cf) = input.get("customFields") {
            self.merge_custom_fields(&mut custom, cf, false)?;
        }
        // Validate everything that can fail before anything is allocated.
        let items = self.normalize_items(input.get("items").unwrap_or(&Value::Null), &[])?;
        let customer = self.resolve_customer(&input, &site, &now, implicit_customer)?;

        let id = self.next.order;
        self.next.order += 1;
        let mut order = Map::new();
        order.insert("id".into(), json!(id));
        order.insert("number".into(), json!(format!("{id}A")));
        for (k, v) in &input {
            order.insert(k.clone(), v.clone());
        }
        order.insert("id".into(), json!(id));
        order.insert("site".into(), json!(site));
        order.insert("status".into(), json!(status));
        order.insert("createdAt".into(), json!(created_at));
        order.insert("statusUpdatedAt".into(), json!(created_at));
        order
            .entry("orderType")
            .or_insert(json!("eshop-individual"));
        order.entry("orderMethod").or_insert(json!("shopping-cart"));
        match manager {
            Some(m) => order.insert("managerId".into(), json!(m)),
            None => order.remove("managerId"),
        };
        order.insert("customer".into(), Value::Object(customer));
        order.insert("customFields".into(), Value::Object(custom));
        order.insert("items".into(), Value::Array(items));
        let mut payments = Map::new();
        let given: Vec<Value> = match input.get("payments") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(m)) => m.values().cloned().collect(),
            _ => Vec::new(),
        };
        for p in given {
            let mut p = obj(p);
            let pid = self.next.payment;
            self.next.payment += 1;
            p.insert("id".into(), json!(pid));
            payments.insert(pid.to_string(), Value::Object(p));
        }
        order.insert("payments".into(), Value::Object(payments));
        let mut delivery = order.get("delivery").cloned().map(obj).unwrap_or_default();
        delivery.entry("cost").or_insert(json!(0));
        delivery.entry("netCost").or_insert(json!(0));
        delivery.entry("address").or_insert(json!({}));
        order.insert("delivery".into(), Value::Object(delivery));
        order.insert("links".into(), json!([]));
        Self::recompute_sums(&mut order);

        self.orders.insert(id, order);
        self.push_history(id, actor, None);
        Ok(id)
    }

    /// `orders/{id}/edit` (API) or an edit in the interface (`from_ui`): applies the patch
    /// atomically and writes one history entry per changed field.
    pub fn edit_order(
        &mut self,
        id: u64,
        patch: Value,
        actor: Actor,
        from_ui: bool,
    ) -> Result<Vec<StatusChange>, SimError> {
        let Value::Object(patch) = patch else {
            return Err(SimError::invalid(
                "order",
                "This value should be an object.",
            ));
        };
        let before = self.orders.get(&id).cloned().ok_or(SimError::NotFound)?;
        let mut order = before.clone();
        let mut changes: Vec<Change> = Vec::new();
        let mut status_changes = Vec::new();
        let now = self.now_string();
        let saved_items = self.next.item;

        let result = (|| -> Result<(), SimError> {
            for (key, value) in &patch {
                match key.as_str() {
                    // Identity and computed fields are not editable through this call;
                    // payments have their own methods in retailCRM.
                    "id" | "site" | "statusUpdatedAt" | "links" | "payments" | "summ"
                    | "totalSumm" | "createdAt" => {}
                    "status" => {
                        let code = self.check_status(value)?;
                        let old = order.get("status").cloned().unwrap_or(Value::Null);
                        if old.as_str() != Some(code.as_str()) {
                            order.insert("status".into(), json!(code));
                            order.insert("statusUpdatedAt".into(), json!(now));
                            changes.push((
                                "status".into(),
                                old.as_str().map_or(Value::Null, |c| json!({ "code": c })),
                                json!({ "code": code }),
                                None,
                            ));
                            status_changes.push(code);
                        }
                    }
                    "managerId" => {
                        let new = self.check_manager(value)?;
                        let old = order.get("managerId").and_then(as_id);
                        if old != new {
                            match new {
                                Some(m) => order.insert("managerId".into(), json!(m)),
                                None => order.remove("managerId"),
                            };
                            let wrap =
                                |m: Option<u64>| m.map_or(Value::Null, |m| json!({ "id": m }));
                            changes.push(("manager".into(), wrap(old), wrap(new), None));
                        }
                    }
                    "customFields" => {
                        let mut custom = order
                            .get("customFields")
                            .cloned()
                            .map(obj)
                            .unwrap_or_default();
                        for (code, old, new) in
                            self.merge_custom_fields(&mut custom, value, from_ui)?
                        {
                            changes.push((format!("custom_{code}"), old, new, None));
                        }
                        order.insert("customFields".into(), Value::Object(custom));
                    }
                    "customer" => {
                        let cid = value
                            .get("id")
                            .and_then(as_id)
                            .ok_or_else(|| SimError::invalid("customer.id", "Not a valid id."))?;
                        let customer = self
                            .customers
                            .get(&cid)
                            .map(Self::customer_ref)
                            .ok_or_else(|| SimError::invalid("customer", "Customer not found."))?;
                        let old = order
                            .get("customer")
                            .and_then(|c| c.get("id"))
                            .and_then(as_id);
                        if old != Some(cid) {
                            order.insert("customer".into(), customer);
                            changes.push((
                                "customer".into(),
                                old.map_or(Value::Null, |o| json!({ "id": o })),
                                json!({ "id": cid }),
                                None,
                            ));
                        }
                    }
                    "items" => {
                        let old_items = order
                            .get("items")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default();
                        let new_items = self.normalize_items(value, &old_items)?;
                        let ids = |list: &[Value]| -> Vec<u64> {
                            list.iter()
                                .filter_map(|i| i.get("id").and_then(as_id))
                                .collect()
                        };
                        let (old_ids, new_ids) = (ids(&old_items), ids(&new_items));
                        for item in &new_items {
                            let iid = item.get("id").and_then(as_id).unwrap_or(0);
                            if !old_ids.contains(&iid) {
                                changes.push((
                                    "order_product".into(),
                                    Value::Null,
                                    json!({ "id": iid }),
                                    Some(("item".into(), item.clone())),
                                ));
                            }
                        }
                        for item in &old_items {
                            let iid = item.get("id").and_then(as_id).unwrap_or(0);
                            if !new_ids.contains(&iid) {
                                changes.push((
                                    "order_product".into(),
                                    json!({ "id": iid }),
                                    Value::Null,
                                    Some(("item".into(), item.clone())),
                                ));
                            }
                        }
                        order.insert("items".into(), Value::Array(new_items));
                        Self::recompute_sums(&mut order);
                    }
                    "delivery" => {
                        let Value::Object(incoming) = value else {
                            return Err(SimError::invalid(
                                "delivery",
                                "This value should be an object.",
                            ));
                        };
                        let mut delivery =
                            order.get("delivery").cloned().map(obj).unwrap_or_default();
                        for (k, v) in incoming {
                            let old = delivery.get(k).cloned().unwrap_or(Value::Null);
                            if &old == v {
                                continue;
                            }
                            delivery.insert(k.clone(), v.clone());
                            let (field, old, new) = if k == "code" {
                                let wrap = |v: &Value| {
                                    if v.is_null() {
                                        Value::Null
                                    } else {
                                        json!({ "code": v })
                                    }
                                };
                                ("delivery_type".to_owned(), wrap(&old), wrap(v))
                            } else {
                                (format!("delivery_{}", snake_case(k)), old, v.clone())
                            };
                            changes.push((field, old, new, None));
                        }
                        order.insert("delivery".into(), Value::Object(delivery));
                        Self::recompute_sums(&mut order);
                    }
                    _ => {
                        let old = order.get(key).cloned().unwrap_or(Value::Null);
                        if &old == value {
                            continue;
                        }
                        if value.is_null() {
                            order.remove(key);
                        } else {
                            order.insert(key.clone(), value.clone());
                        }
                        let wrap_code = matches!(key.as_str(), "orderType" | "orderMethod");
                        let wrap = |v: Value| {
                            if wrap_code && !v.is_null() {
                                json!({ "code": v })
                            } else {
                                v
                            }
                        };
                        changes.push((snake_case(key), wrap(old), wrap(value.clone()), None));
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Nothing of a refused edit may stick, not even allocated item ids.
            self.next.item = saved_items;
            return Err(e);
        }

        let site = order
            .get("site")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.orders.insert(id, order);
        for (field, old, new, extra) in changes {
            self.push_history(id, actor, Some((field, old, new, extra)));
        }
        Ok(status_changes
            .into_iter()
            .map(|status| StatusChange {
                order_id: id,
                site: site.clone(),
                status,
            })
            .collect())
    }

    /// Appends a history entry for the order's current state. `change: None` is the creation entry.
    fn push_history(&mut self, order_id: u64, actor: Actor, change: Option<Change>) {
        let Some(order) = self.orders.get(&order_id) else {
            return;
        };
        let at = self.now();
        let id = self.next.history;
        self.next.history += 1;
        let mut e = Map::new();
        e.insert("id".into(), json!(id));
        e.insert("createdAt".into(), json!(at.format(DATETIME).to_string()));
        e.insert("created".into(), json!(change.is_none()));
        e.insert("deleted".into(), json!(false));
        match actor {
            Actor::User(uid) => {
                e.insert("source".into(), json!("user"));
                e.insert("user".into(), json!({ "id": uid }));
            }
            Actor::Api => {
                e.insert("source".into(), json!("api"));
                // The simulator has one key, so every API change was made with the reader's key.
                e.insert("apiKey".into(), json!({ "current": true }));
            }
            Actor::System => {
                e.insert("source".into(), json!("code"));
            }
        }
        let order_ref = match &change {
            // The creation entry carries the whole order, as retailCRM's does.
            None => render_order(order),
            Some(_) => {
                let mut r = Map::new();
                for key in ["id", "externalId", "number", "site", "status", "managerId"] {
                    if let Some(v) = order.get(key) {
                        r.insert(key.into(), v.clone());
                    }
                }
                Value::Object(r)
            }
        };
        if let Some((field, old, new, extra)) = change {
            e.insert("field".into(), json!(field));
            e.insert("oldValue".into(), old);
            e.insert("newValue".into(), new);
            if let Some((k, v)) = extra {
                e.insert(k, v);
            }
        }
        e.insert("order".into(), order_ref);
        self.history.push(HistoryEntry {
            id,
            at,
            order_id,
            body: Value::Object(e),
        });
    }

    /// `orders/links/create`: links two or more existing orders.
    pub fn create_link(&mut self, link: Value, site: Option<&str>) -> Result<(), SimError> {
        let orders = link
            .get("orders")
            .and_then(Value::as_array)
            .ok_or_else(|| SimError::invalid("orders", "This value should be a list."))?;
        let mut ids = Vec::new();
        for (i, o) in orders.iter().enumerate() {
            let found = if let Some(id) = o.get("id").and_then(as_id) {
                self.find_order(&id.to_string(), "id", None)
            } else if let Some(ext) = o.get("externalId").and_then(Value::as_str) {
                self.find_order(ext, "externalId", site)
            } else {
                Err(SimError::NotFound)
            };
            let id = found
                .map_err(|_| SimError::invalid(&format!("orders[{i}]"), "Order not found."))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() < 2 {
            return Err(SimError::invalid(
                "orders",
                "At least two different orders are needed for a link.",
            ));
        }
        let comment = link.get("comment").cloned().unwrap_or(Value::Null);
        let now = self.now_string();
        let link_id = self.next.link;
        self.next.link += 1;
        for &id in &ids {
            if let Some(order) = self.orders.get_mut(&id) {
                let others: Vec<u64> = ids.iter().copied().filter(|o| *o != id).collect();
                let list = order.entry("links").or_insert(json!([]));
                if let Value::Array(list) = list {
                    for other in others {
                        list.push(
                            json!({"order": {"id": other}, "createdAt": now, "comment": comment}),
                        );
                    }
                }
            }
        }
        self.links.push(json!({
            "id": link_id,
            "orders": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            "comment": comment,
            "createdAt": now,
        }));
        Ok(())
    }

    /// `tasks/create`: the performer must be an active user; an order, if named, must exist.
    pub fn create_task(&mut self, task: Value) -> Result<u64, SimError> {
        let Value::Object(task) = task else {
            return Err(SimError::invalid("task", "This value should be an object."));
        };
        let text = task.get("text").and_then(Value::as_str).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(SimError::invalid("text", "This value should not be blank."));
        }
        let performer = task
            .get("performerId")
            .and_then(as_id)
            .ok_or_else(|| SimError::invalid("performerId", "This value should not be blank."))?;
        if !self.user(performer).is_some_and(|u| u.active) {
            return Err(SimError::invalid("performerId", "User not found."));
        }
        if let Some(dt) = task.get("datetime").and_then(Value::as_str) {
            NaiveDateTime::parse_from_str(dt, TASK_DATETIME)
                .map_err(|_| SimError::invalid("datetime", "Expected Y-m-d H:i."))?;
        }
        let order = match task.get("order") {
            Some(o) if !o.is_null() => {
                let oid = o
                    .get("id")
                    .and_then(as_id)
                    .ok_or_else(|| SimError::invalid("order", "Order not found."))?;
                let found = self
                    .orders
                    .get(&oid)
                    .ok_or_else(|| SimError::invalid("order", "Order not found."))?;
                Some(json!({"id": oid, "number": found.get("number"), "site": found.get("site")}))
            }
            _ => None,
        };
        let id = self.next.task;
        self.next.task += 1;
        let mut stored = Map::new();
        stored.insert("id".into(), json!(id));
        stored.insert("text".into(), json!(text));
        for key in ["commentary", "datetime"] {
            if let Some(v) = task.get(key) {
                stored.insert(key.into(), v.clone());
            }
        }
        stored.insert("createdAt".into(), json!(self.now_string()));
        stored.insert("complete".into(), json!(false));
        stored.insert("performer".into(), json!(performer));
        stored.insert("performerType".into(), json!("user"));
        if let Some(o) = order {
            stored.insert("order".into(), o);
        }
        self.tasks.push(Value::Object(stored));
        Ok(id)
    }

    /// `notifications/send`: `api.info` or `api.error` to existing users.
    pub fn send_notification(&mut self, n: Value) -> Result<(), SimError> {
        let kind = n.get("type").and_then(Value::as_str).unwrap_or_default();
        if !matches!(kind, "api.info" | "api.error") {
            return Err(SimError::invalid(
                "type",
                "The value you selected is not a valid choice.",
            ));
        }
        let message = n.get("message").and_then(Value::as_str).unwrap_or_default();
        if message.trim().is_empty() {
            return Err(SimError::invalid(
                "message",
                "This value should not be blank.",
            ));
        }
        let ids = n
            .get("userIds")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let groups = n
            .get("userGroups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if ids.is_empty() && groups.is_empty() {
            return Err(SimError::invalid(
                "userIds",
                "Either userIds or userGroups must be given.",
            ));
        }
        let mut users = Vec::new();
        for (i, v) in ids.iter().enumerate() {
            match as_id(v).filter(|id| self.user(*id).is_some()) {
                Some(id) => users.push(id),
                None => {
                    return Err(SimError::invalid(
                        &format!("userIds[{i}]"),
                        "User not found.",
                    ))
                }
            }
        }
        let id = self.next.notification;
        self.next.notification += 1;
        self.notifications.push(json!({
            "id": id,
            "type": kind,
            "message": message,
            "userIds": users,
            "userGroups": groups,
            "createdAt": self.now_string(),
        }));
        Ok(())
    }

    /// `custom-fields/{entity}/create`.
    pub fn create_custom_field(&mut self, entity: &str, def: Value) -> Result<String, SimError> {
        if !matches!(entity, "order" | "customer") {
            return Err(SimError::NotFound);
        }
        let text = |key: &str| {
            def.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (name, code) = (text("name"), text("code"));
        if name.trim().is_empty() {
            return Err(SimError::invalid("name", "This value should not be blank."));
        }
        let code_ok = code.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !code_ok {
            return Err(SimError::invalid(
                "code",
                "The code may contain only lowercase latin letters, digits and underscores.",
            ));
        }
        let kind = text("type");
        const TYPES: [&str; 9] = [
            "string",
            "text",
            "integer",
            "numeric",
            "boolean",
            "date",
            "email",
            "dictionary",
            "multiselect_dictionary",
        ];
        if !TYPES.contains(&kind.as_str()) {
            return Err(SimError::invalid(
                "type",
                "The value you selected is not a valid choice.",
            ));
        }
        let view_mode = match text("viewMode") {
            m if m.is_empty() => "editable".to_owned(),
            m if matches!(m.as_str(), "editable" | "not_editable" | "miss") => m,
            _ => {
                return Err(SimError::invalid(
                    "viewMode",
                    "The value you selected is not a valid choice.",
                ))
            }
        };
        if self.order_field(entity, &code).is_some() {
            return Err(SimError::invalid(
                "code",
                "A custom field with this code already exists.",
            ));
        }
        let ordering = def.get("ordering").and_then(as_id).map_or(50, |o| o as u32);
        self.custom_fields.push(CustomField {
            code: code.clone(),
            name,
            kind,
            entity: entity.to_owned(),
            view_mode,
            ordering,
        });
        Ok(code)
    }
}
