//! The retailCRM data we read and write, decoded leniently from the real shapes.
//!
//! retailCRM is PHP underneath: an empty map arrives as `[]`, a map may arrive as a list, ids may
//! be strings, and any field may be missing or `null`. Decoding goes through `serde_json::Value`
//! with small forgiving readers instead of strict derives, so an odd answer loses a field, never
//! the whole call, and never panics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datetime::parse_crm_datetime;
use crate::CrmError;

/// An order, reduced to what the flow needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub number: Option<String>,
    pub site: String,
    pub status: String,
    pub status_updated_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub customer_id: Option<u64>,
    /// The order's phone, its additional phone, the contact person's phones, then the customer's
    /// phones: non-empty, deduplicated, in that order (the first is the one given for this order).
    pub phones: Vec<String>,
    /// The order's e-mail, else the contact person's, else the customer's; `None` when all are
    /// empty.
    pub email: Option<String>,
    pub manager_id: Option<u64>,
    pub order_type: Option<String>,
    pub order_method: Option<String>,
    /// `delivery.code`.
    pub delivery_type: Option<String>,
    /// Offers in the order's items, deduplicated, in item order.
    pub offer_ids: Vec<u64>,
    pub custom_fields: BTreeMap<String, Value>,
    /// The orders this one is linked to (`links[].order.id`).
    pub linked_orders: Vec<u64>,
}

/// One page of order history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Entries with `id > since_id`.
    pub since_id: Option<u64>,
    pub order_id: Option<u64>,
    pub start_date: Option<DateTime<Utc>>,
    /// 20, 50 or 100; anything else is rounded up to the next of those (at most 100).
    pub limit: u32,
    /// From 1; 0 is read as 1.
    pub page: u32,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            since_id: None,
            order_id: None,
            start_date: None,
            limit: 100,
            page: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Sorted by id ascending.
    pub entries: Vec<HistoryEntry>,
    pub current_page: u32,
    pub total_pages: u32,
}

/// One change of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: u64,
    pub created_at: Option<DateTime<Utc>>,
    /// `user`, `api`, `code`, `rule`, …
    pub source: String,
    /// Present only when a person made the change.
    pub user_id: Option<u64>,
    /// `None` for the creation entry.
    pub field: Option<String>,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    pub created: bool,
    pub order_id: Option<u64>,
    pub order_site: Option<String>,
    pub order_status: Option<String>,
    pub order_manager_id: Option<u64>,
}

impl HistoryEntry {
    /// The status an order moved to, when this entry is a status change.
    pub fn new_status(&self) -> Option<&str> {
        if self.field.as_deref() != Some("status") {
            return None;
        }
        match self.new_value.as_ref()? {
            Value::Object(o) => o.get("code")?.as_str(),
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The manager an order moved to, when this entry is a manager change.
    pub fn new_manager(&self) -> Option<u64> {
        self.manager_value(self.new_value.as_ref())
    }

    /// This change as the domain reads it to find who worked on the order
    /// (`otklik_core::dispatch::employees_of`): a person only when `source` is `user`.
    pub fn change(&self) -> otklik_core::dispatch::OrderChange {
        otklik_core::dispatch::OrderChange {
            by_person: self.user_id.filter(|_| self.source == "user"),
            manager_then: self.order_manager_id,
            manager_from: self.old_manager(),
            manager_to: self.new_manager(),
        }
    }

    /// The manager an order moved from, when this entry is a manager change.
    pub fn old_manager(&self) -> Option<u64> {
        self.manager_value(self.old_value.as_ref())
    }

    fn manager_value(&self, v: Option<&Value>) -> Option<u64> {
        if self.field.as_deref() != Some("manager") {
            return None;
        }
        match v? {
            Value::Object(o) => u64_of(o.get("id")),
            other => u64_of(Some(other)),
        }
    }
}

/// A task for an employee (`tasks/create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub text: String,
    pub commentary: String,
    /// Sent as `Y-m-d H:i` in the account's time zone.
    pub datetime: DateTime<Utc>,
    pub performer_id: u64,
    pub order_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotificationKind {
    #[serde(rename = "api.info")]
    Info,
    #[serde(rename = "api.error")]
    Error,
}

impl NotificationKind {
    /// The wire `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Info => "api.info",
            NotificationKind::Error => "api.error",
        }
    }
}

/// A bell notification in the CRM (`notifications/send`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub message: String,
    pub user_ids: Vec<u64>,
}

/// An order custom field as the account defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub code: String,
    pub name: String,
    pub field_type: String,
    pub view_mode: Option<String>,
}

/// An order custom field to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomField {
    pub name: String,
    pub code: String,
    /// `integer`, `string`, `text`, …
    pub field_type: String,
    /// `editable`, `not_editable` or `miss`.
    pub view_mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub code: String,
    pub name: String,
    /// The status group (`complete`, `cancel`, …).
    pub group: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub active: bool,
    pub is_manager: bool,
}

// ---- forgiving readers -------------------------------------------------------------------------

/// A non-negative integer from a number (`1001`, `1001.0`) or a string (`"1001"`).
pub(crate) fn u64_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-empty string from a string or a number; `None` for empty, null or anything else.
pub(crate) fn string_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn bool_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "y" | "yes" => Some(true),
            "false" | "0" | "n" | "no" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The elements of a list, or the values of a map (retailCRM sends both for collections).
pub(crate) fn items_of(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(o)) => o.values().collect(),
        _ => Vec::new(),
    }
}

/// `(key, value)` pairs of a map, or `(None, element)` of a list: reference books are maps keyed by
/// code, but the code may also sit inside the value.
fn keyed_items(v: Option<&Value>) -> Vec<(Option<&str>, &Value)> {
    match v {
        Some(Value::Array(a)) => a.iter().map(|x| (None, x)).collect(),
        Some(Value::Object(o)) => o.iter().map(|(k, x)| (Some(k.as_str()), x)).collect(),
        _ => Vec::new(),
    }
}

fn time_of(v: Option<&Value>, tz: Tz) -> Option<DateTime<Utc>> {
    parse_crm_datetime(v?.as_str()?, tz)
}

fn non_null(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| !v.is_null()).cloned()
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, x: T) {
    if !list.contains(&x) {
        list.push(x);
    }
}

/// `{"pagination":{"currentPage":1,"totalPageCount":3}}` → (current, total). Missing → this page
/// is the last one, which stops a page loop instead of spinning it.
pub(crate) fn pagination_of(body: &Value, asked_page: u32) -> (u32, u32) {
    let p = body.get("pagination");
    let num = |k: &str| {
        p.and_then(|p| u64_of(p.get(k)))
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let current = num("currentPage").unwrap_or(asked_page);
    let total = num("totalPageCount").unwrap_or(current);
    (current, total)
}

// ---- decoders ----------------------------------------------------------------------------------

impl Order {
    /// From the `order` object of `orders/{id}`. `fallback_site` fills a missing `site`.
    pub(crate) fn from_json(o: &Value, tz: Tz, fallback_site: &str) -> Result<Order, CrmError> {
        if !o.is_object() {
            return Err(CrmError::Decode("`order` is not an object".into()));
        }
        let id = u64_of(o.get("id")).ok_or_else(|| CrmError::Decode("order without id".into()))?;
        let customer = o.get("customer").filter(|c| c.is_object());
        // A corporate customer (`customer.type` = `customer_corporate`) is a company: the person
        // who ordered, with their phones and e-mail, is the order's `contact` (a customer object;
        // `contact` in the order entity of retailCRM's official PHP client,
        // src/Model/Entity/Orders/Order.php). For a person's order it is usually that person again.
        let contact = o.get("contact").filter(|c| c.is_object());

        let mut phones = Vec::new();
        for p in [o.get("phone"), o.get("additionalPhone")] {
            if let Some(p) = string_of(p) {
                push_unique(&mut phones, p);
            }
        }
        for who in [contact, customer] {
            for p in items_of(who.and_then(|c| c.get("phones"))) {
                let number = match p {
                    Value::Object(m) => string_of(m.get("number")),
                    other => string_of(Some(other)),
                };
                if let Some(n) = number {
                    push_unique(&mut phones, n);
                }
            }
        }

        let mut offer_ids = Vec::new();
        for item in items_of(o.get("items")) {
            if let Some(id) = u64_of(item.get("offer").and_then(|of| of.get("id"))) {
                push_unique(&mut offer_ids, id);
            }
        }

        let mut linked_orders = Vec::new();
        for link in items_of(o.get("links")) {
            if let Some(id) = u64_of(link.get("order").and_then(|l| l.get("id"))) {
                push_unique(&mut linked_orders, id);
            }
        }

        let custom_fields = match o.get("customFields") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => BTreeMap::new(), // `[]` is PHP's empty map
        };

        Ok(Order {
            id,
            number: string_of(o.get("number")),
            site: string_of(o.get("site")).unwrap_or_else(|| fallback_site.to_owned()),
            status: string_of(o.get("status")).unwrap_or_default(),
            status_updated_at: time_of(o.get("statusUpdatedAt"), tz),
            created_at: time_of(o.get("createdAt"), tz),
            customer_id: u64_of(customer.and_then(|c| c.get("id"))),
            phones,
            email: string_of(o.get("email"))
                .or_else(|| string_of(contact.and_then(|c| c.get("email"))))
                .or_else(|| string_of(customer.and_then(|c| c.get("email")))),
            manager_id: u64_of(o.get("managerId")),
            order_type: string_of(o.get("orderType")),
            order_method: string_of(o.get("orderMethod")),
            delivery_type: string_of(o.get("delivery").and_then(|d| d.get("code"))),
            offer_ids,
            custom_fields,
            linked_orders,
        })
    }
}

impl HistoryEntry {
    /// `None` for an entry without an id: it cannot be tracked with `sinceId` anyway.
    pub(crate) fn from_json(e: &Value, tz: Tz) -> Option<HistoryEntry> {
        let id = u64_of(e.get("id"))?;
        let order = e.get("order").filter(|o| o.is_object());
        let of = |k: &str| order.and_then(|o| o.get(k));
        Some(HistoryEntry {
            id,
            created_at: time_of(e.get("createdAt"), tz),
            source: string_of(e.get("source")).unwrap_or_default(),
            user_id: u64_of(e.get("user").and_then(|u| u.get("id"))),
            field: string_of(e.get("field")),
            old_value: non_null(e.get("oldValue")),
            new_value: non_null(e.get("newValue")),
            created: bool_of(e.get("created")).unwrap_or(false),
            order_id: u64_of(of("id")),
            order_site: string_of(of("site")),
            order_status: string_of(of("status")),
            order_manager_id: u64_of(of("managerId")),
        })
    }
}

impl HistoryPage {
    pub(crate) fn from_json(body: &Value, tz: Tz, asked_page: u32) -> HistoryPage {
        let mut entries: Vec<HistoryEntry> = items_of(body.get("history"))
            .into_iter()
            .filter_map(|e| HistoryEntry::from_json(e, tz))
            .collect();
        entries.sort_by_key(|e| e.id);
        let (current_page, total_pages) = pagination_of(body, asked_page);
        HistoryPage {
            entries,
            current_page,
            total_pages,
        }
    }
}

pub(crate) fn custom_fields_from_json(body: &Value) -> Vec<CustomField> {
    items_of(body.get("customFields"))
        .into_iter()
        .filter(|f| string_of(f.get("entity")).is_none_or(|e| e == "order"))
        .filter_map(|f| {
            Some(CustomField {
                code: string_of(f.get("code"))?,
                name: string_of(f.get("name")).unwrap_or_default(),
                field_type: string_of(f.get("type")).unwrap_or_default(),
                view_mode: string_of(f.get("viewMode")),
            })
        })
        .collect()
}

/// Sorted by `ordering`, then code: a map has no order of its own.
pub(crate) fn statuses_from_json(body: &Value) -> Vec<Status> {
    let mut list: Vec<(u64, Status)> = keyed_items(body.get("statuses"))
        .into_iter()
        .filter_map(|(key, s)| {
            let code = string_of(s.get("code")).or_else(|| key.map(str::to_owned))?;
            Some((
                u64_of(s.get("ordering")).unwrap_or(u64::MAX),
                Status {
                    name: string_of(s.get("name")).unwrap_or_else(|| code.clone()),
                    code,
                    group: string_of(s.get("group")),
                    active: bool_of(s.get("active")).unwrap_or(true),
                },
            ))
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.code.cmp(&b.1.code)));
    list.into_iter().map(|(_, s)| s).collect()
}

pub(crate) fn sites_from_json(body: &Value) -> Vec<Site> {
    let mut list: Vec<Site> = keyed_items(body.get("sites"))
        .into_iter()
        .filter_map(|(key, s)| {
            let code = string_of(s.get("code")).or_else(|| key.map(str::to_owned))?;
            Some(Site {
                name: string_of(s.get("name")).unwrap_or_else(|| code.clone()),
                code,
            })
        })
        .collect();
    list.sort_by(|a, b| a.code.cmp(&b.code));
    list
}

pub(crate) fn users_from_json(body: &Value) -> Vec<User> {
    items_of(body.get("users"))
        .into_iter()
        .filter_map(|u| {
            Some(User {
                id: u64_of(u.get("id"))?,
                first_name: string_of(u.get("firstName")),
                last_name: string_of(u.get("lastName")),
                active: bool_of(u.get("active")).unwrap_or(true),
                is_manager: bool_of(u.get("isManager")).unwrap_or(false),
            })
        })
        .collect()
}

/// Each product's groups: `externalId`, or the name when the group has none.
pub(crate) fn product_groups_from_json(body: &Value, into: &mut Vec<String>) {
    for product in items_of(body.get("products")) {
        for g in items_of(product.get("groups")) {
            if let Some(key) = string_of(g.get("externalId")).or_else(|| string_of(g.get("name"))) {
                push_unique(into, key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Moscow;
    use serde_json::json;

    fn contract_order() -> Value {
        json!({"id":1001,"number":"1001A","site":"main-shop","status":"complete",
         "statusUpdatedAt":"2026-11-23 14:05:00","createdAt":"2026-11-20 10:00:00",
         "orderType":"eshop-individual","orderMethod":"shopping-cart","managerId":11,
         "phone":"+79001234567","additionalPhone":"","email":"buyer@example.ru",
         "customer":{"id":501,"type":"customer","phones":[{"number":"+79001234567"},{"number":"+79007654321"}],"email":"other@example.ru"},
         "delivery":{"code":"courier"},
         "items":[{"id":1,"offer":{"id":10,"externalId":"sku-10","name":"Стул"},"quantity":1,"initialPrice":1000},
                  {"id":2,"offer":{"id":11}},{"id":3,"offer":{"id":10}}],
         "payments":{"5":{"id":5,"type":"cash","status":"paid"}},
         "customFields":{"otklik_rating":5},
         "managerComment":""})
    }

    #[test]
    fn contract_order_decodes() {
        let o = Order::from_json(&contract_order(), Moscow, "fallback").unwrap();
        assert_eq!(o.id, 1001);
        assert_eq!(o.number.as_deref(), Some("1001A"));
        assert_eq!(o.site, "main-shop");
        assert_eq!(o.status, "complete");
        assert_eq!(
            o.status_updated_at.unwrap().to_rfc3339(),
            "2026-11-23T11:05:00+00:00"
        );
        assert_eq!(
            o.created_at.unwrap().to_rfc3339(),
            "2026-11-20T07:00:00+00:00"
        );
        assert_eq!(o.customer_id, Some(501));
        assert_eq!(o.phones, vec!["+79001234567", "+79007654321"]);
        assert_eq!(o.email.as_deref(), Some("buyer@example.ru"));
        assert_eq!(o.manager_id, Some(11));
        assert_eq!(o.order_type.as_deref(), Some("eshop-individual"));
        assert_eq!(o.order_method.as_deref(), Some("shopping-cart"));
        assert_eq!(o.delivery_type.as_deref(), Some("courier"));
        assert_eq!(o.offer_ids, vec![10, 11]);
        assert_eq!(o.custom_fields.get("otklik_rating"), Some(&json!(5)));
        assert!(o.linked_orders.is_empty());
        // `links` as GET orders/{id} shows them (the official PHP client's fixture shape).
        let mut linked = contract_order();
        linked["links"] = json!([{"comment": "Рекламация", "order": {"id": 8170, "number": "8170A"},
            "createdAt": "2026-11-23 15:00:00"}]);
        let o = Order::from_json(&linked, Moscow, "fallback").unwrap();
        assert_eq!(o.linked_orders, vec![8170]);
    }

    /// A corporate order: the company as `customer` (no phones of its own), the person who ordered
    /// as `contact`, and nothing on the order itself.
    #[test]
    fn a_corporate_order_reaches_its_contact_person() {
        let o = json!({"id":2001,"site":"main-shop","status":"complete",
            "phone":"","email":"",
            "customer":{"type":"customer_corporate","id":3001,"nickName":"ООО Ромашка",
                "mainCustomerContact":{"id":51,"customer":{"id":4001}}},
            "contact":{"type":"customer","id":4001,"isContact":true,"firstName":"Ирина",
                "phones":[{"number":"+79005550101"},{"number":"+79005550102"}],
                "email":"irina@romashka.example"},
            "company":{"id":61,"name":"ООО Ромашка"}});
        let o = Order::from_json(&o, Moscow, "s").unwrap();
        assert_eq!(o.phones, vec!["+79005550101", "+79005550102"]);
        assert_eq!(o.email.as_deref(), Some("irina@romashka.example"));
        assert_eq!(o.customer_id, Some(3001));
        // The order's own phone and e-mail still come first.
        let own = json!({"id":2002,"phone":"+79005550199","email":"orders@romashka.example",
            "contact":{"phones":[{"number":"+79005550101"}],"email":"irina@romashka.example"},
            "customer":{"type":"customer_corporate","id":3001}});
        let own = Order::from_json(&own, Moscow, "s").unwrap();
        assert_eq!(own.phones, vec!["+79005550199", "+79005550101"]);
        assert_eq!(own.email.as_deref(), Some("orders@romashka.example"));
    }

    #[test]
    fn php_shapes_decode() {
        // Empty maps as `[]`, payments as a list, ids as strings, nulls everywhere.
        let o = json!({"id":"1002","site":null,"status":"new","customFields":[],"payments":[],
            "phone":null,"additionalPhone":" +79000000001 ","email":"",
            "customer":{"id":"77","phones":[{"number":""},{"number":null},"+79000000002"],"email":"c@example.ru"},
            "managerId":"12","delivery":null,"items":{"7":{"offer":{"id":"33"}}},
            "statusUpdatedAt":null,"createdAt":"garbage"});
        let o = Order::from_json(&o, Moscow, "shop-b").unwrap();
        assert_eq!(o.id, 1002);
        assert_eq!(o.site, "shop-b");
        assert!(o.custom_fields.is_empty());
        assert_eq!(o.phones, vec!["+79000000001", "+79000000002"]);
        assert_eq!(o.email.as_deref(), Some("c@example.ru"));
        assert_eq!(o.customer_id, Some(77));
        assert_eq!(o.manager_id, Some(12));
        assert_eq!(o.delivery_type, None);
        assert_eq!(o.offer_ids, vec![33]);
        assert_eq!(o.status_updated_at, None);
        assert_eq!(o.created_at, None);

        let payments_list =
            json!({"id":1003,"payments":[{"id":5,"status":"paid"}],"customFields":{}});
        assert!(Order::from_json(&payments_list, Moscow, "s").is_ok());
    }

    #[test]
    fn minimal_and_broken_orders() {
        let o = Order::from_json(&json!({"id":1}), Moscow, "s").unwrap();
        assert_eq!(o.site, "s");
        assert_eq!(o.status, "");
        assert!(o.phones.is_empty());
        assert_eq!(o.email, None);
        assert!(matches!(
            Order::from_json(&json!({"number":"x"}), Moscow, "s"),
            Err(CrmError::Decode(_))
        ));
        assert!(matches!(
            Order::from_json(&json!([]), Moscow, "s"),
            Err(CrmError::Decode(_))
        ));
        // Odd types in every field: no panic, just unknowns.
        let weird = json!({"id":5,"number":[],"site":{},"status":7,"customer":"x","items":"y",
            "phone":{},"customFields":"z","delivery":{"code":{}},"managerId":-3});
        let o = Order::from_json(&weird, Moscow, "s").unwrap();
        assert_eq!(o.status, "7");
        assert_eq!(o.manager_id, None);
    }

    #[test]
    fn history_entry_helpers() {
        let e = HistoryEntry::from_json(
            &json!({"id":7001,"createdAt":"2026-11-23 14:05:00","created":false,"deleted":false,
             "source":"user","user":{"id":11},"apiKey":{"current":false},
             "field":"status","oldValue":{"code":"delivering"},"newValue":{"code":"complete"},
             "order":{"id":1001,"site":"main-shop","status":"complete","managerId":11}}),
            Moscow,
        )
        .unwrap();
        assert_eq!(e.new_status(), Some("complete"));
        assert_eq!(e.new_manager(), None);
        assert_eq!(e.user_id, Some(11));
        assert_eq!(e.order_id, Some(1001));
        assert_eq!(e.order_site.as_deref(), Some("main-shop"));
        assert_eq!(e.order_manager_id, Some(11));
        assert_eq!(
            e.created_at.unwrap().to_rfc3339(),
            "2026-11-23T11:05:00+00:00"
        );

        let m = HistoryEntry::from_json(
            &json!({"id":"7002","source":"api","field":"manager","oldValue":{"id":"11"},
                "newValue":{"id":12},"order":{"id":"1001"}}),
            Moscow,
        )
        .unwrap();
        assert_eq!(m.id, 7002);
        assert_eq!(m.old_manager(), Some(11));
        assert_eq!(m.new_manager(), Some(12));
        assert_eq!(m.new_status(), None);
        assert_eq!(m.user_id, None);

        let created = HistoryEntry::from_json(
            &json!({"id":7000,"created":true,"source":"code","oldValue":null}),
            Moscow,
        )
        .unwrap();
        assert!(created.created);
        assert_eq!(created.field, None);
        assert_eq!(created.old_value, None);
        assert!(HistoryEntry::from_json(&json!({"field":"status"}), Moscow).is_none());
    }

    #[test]
    fn history_page_sorts_and_reads_pagination() {
        let page = HistoryPage::from_json(
            &json!({"success":true,"history":[{"id":3},{"id":1},{"nope":1}],
                "pagination":{"limit":100,"totalCount":3,"currentPage":"2","totalPageCount":4}}),
            Moscow,
            2,
        );
        assert_eq!(
            page.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!((page.current_page, page.total_pages), (2, 4));
        let bare = HistoryPage::from_json(&json!({"success":true,"history":[]}), Moscow, 3);
        assert_eq!((bare.current_page, bare.total_pages), (3, 3));
    }

    #[test]
    fn reference_books() {
        let st = statuses_from_json(&json!({"statuses":{
            "complete":{"code":"complete","name":"Выполнен","active":true,"group":"complete","ordering":20},
            "new":{"name":"Новый","active":"0","ordering":"10"},
            "odd":[]}}));
        assert_eq!(
            st,
            vec![
                Status {
                    code: "new".into(),
                    name: "Новый".into(),
                    group: None,
                    active: false
                },
                Status {
                    code: "complete".into(),
                    name: "Выполнен".into(),
                    group: Some("complete".into()),
                    active: true
                },
                Status {
                    code: "odd".into(),
                    name: "odd".into(),
                    group: None,
                    active: true
                },
            ]
        );
        assert!(statuses_from_json(&json!({"statuses":[]})).is_empty());

        let sites = sites_from_json(
            &json!({"sites":{"main-shop":{"code":"main-shop","name":"Main"},"b":{"name":"B"}}}),
        );
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[0].code, "b");
        assert_eq!(
            sites_from_json(&json!({"sites":[{"code":"x","name":"X"}]}))[0].name,
            "X"
        );

        let users = users_from_json(&json!({"users":[
            {"id":7,"firstName":"Анна","lastName":null,"active":true,"isManager":true},
            {"id":"8"},{"firstName":"no id"}]}));
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].first_name.as_deref(), Some("Анна"));
        assert!(users[0].is_manager);
        assert_eq!(users[1].id, 8);
        assert!(users[1].active && !users[1].is_manager);

        let fields = custom_fields_from_json(&json!({"customFields":[
            {"code":"otklik_rating","name":"Оценка","type":"integer","entity":"order","viewMode":"not_editable"},
            {"code":"c_field","name":"C","type":"string","entity":"customer"},
            {"name":"no code"}]}));
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field_type, "integer");
        assert_eq!(fields[0].view_mode.as_deref(), Some("not_editable"));
    }

    #[test]
    fn product_groups_prefer_external_id() {
        let mut out = vec![];
        product_groups_from_json(
            &json!({"products":[
                {"id":1,"offers":[{"id":10}],"groups":[{"id":3,"externalId":"furniture","name":"Мебель"}]},
                {"id":2,"groups":[{"id":4,"externalId":"","name":"Свет"},{"id":3,"externalId":"furniture"}]},
                {"id":3,"groups":[]}]}),
            &mut out,
        );
        assert_eq!(out, vec!["furniture", "Свет"]);
    }

    #[test]
    fn readers() {
        assert_eq!(u64_of(Some(&json!("12"))), Some(12));
        assert_eq!(u64_of(Some(&json!(12.0))), Some(12));
        assert_eq!(u64_of(Some(&json!(12.5))), None);
        assert_eq!(u64_of(Some(&json!(-1))), None);
        assert_eq!(u64_of(Some(&json!("x"))), None);
        assert_eq!(u64_of(Some(&json!(1e300))), None);
        assert_eq!(bool_of(Some(&json!("Y"))), Some(true));
        assert_eq!(bool_of(Some(&json!(0))), Some(false));
        assert_eq!(string_of(Some(&json!("  "))), None);
    }
}
