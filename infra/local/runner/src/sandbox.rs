//! `make sandbox`: a page where a person plays everyone around the product by hand, on the
//! running local stack. The shop completes an order (on `main-shop`: WhatsApp, then email; on
//! `russia-2026`: MAX, then SMS, then email); the person, as the customer, reads the WhatsApp or
//! MAX question and types an answer, opens the SMS's short link or the email's rating link (the
//! real landing page); as the inspector, moves a complaint along; and watches the order's rating
//! field, the complaint and the KPI change. The page only drives the simulators over HTTP (like the demo)
//! and reads what the product wrote; it has no logic of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use otklik_aws::http::{body_bytes, error, json};
use otklik_aws::store::DynamoStore;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::drive::{emails_to, rating_links, Driver};
use crate::stack::RUSSIA_SITE;

/// The shops the page completes orders in: the installation's chain, and the Russian site's own.
const SHOPS: [&str; 2] = ["main-shop", RUSSIA_SITE];

pub struct Sandbox {
    pub driver: Driver,
    pub aws: String,
    pub store: DynamoStore,
    pub config: Arc<otklik_core::config::Config>,
    pub provider: String,
}

#[derive(Deserialize)]
struct NewOrder {
    name: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    pickup: bool,
    /// The manager who takes it and the one who completes it.
    #[serde(default = "first")]
    manager: u64,
    #[serde(default)]
    handed_to: Option<u64>,
    /// `main-shop` (default) or `russia-2026`.
    #[serde(default)]
    shop: Option<String>,
    /// The customer has no MAX account (so the Russian shop texts them).
    #[serde(default)]
    no_max: bool,
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn borrowed(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

fn first() -> u64 {
    11
}

#[derive(Deserialize)]
struct Say {
    phone: String,
    text: String,
    /// `max` for the MAX chat; the stack's WhatsApp provider otherwise.
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
struct Move {
    id: u64,
    status: String,
}

const PAGE: &str = include_str!("sandbox.html");

fn parse<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, Box<Response<Body>>> {
    serde_json::from_slice(body_bytes(req)).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &e.to_string(),
        ))
    })
}

impl Sandbox {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().trim_end_matches('/').to_string();
        let result = match (req.method().clone(), path.as_str()) {
            (Method::GET, "/sandbox") => {
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "text/html; charset=utf-8")
                    .body(Body::Text(PAGE.to_string()))
                    .expect("a static page builds");
            }
            (Method::GET, "/sandbox/api/state") => self.state().await,
            (Method::POST, "/sandbox/api/orders") => match parse::<NewOrder>(&req) {
                Ok(o) if o.name.trim().is_empty() || (blank(&o.phone) && blank(&o.email)) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "a customer needs a name and a phone or an email",
                    )
                }
                Ok(o) => self.order(o).await,
                Err(r) => return *r,
            },
            (Method::POST, "/sandbox/api/say") => match parse::<Say>(&req) {
                Ok(s) => {
                    let provider = match s.channel.as_deref() {
                        Some("max") => "max",
                        _ => self.provider.as_str(),
                    };
                    self.driver
                        .say(provider, &s.phone, &s.text)
                        .await
                        .map(|_| json!({"sent": true}))
                }
                Err(r) => return *r,
            },
            (Method::POST, "/sandbox/api/complaint") => match parse::<Move>(&req) {
                Ok(m) => self
                    .driver
                    .set_status(&self.config.complaints.site, m.id, &m.status, 7)
                    .await
                    .map(|_| json!({"moved": true})),
                Err(r) => return *r,
            },
            _ => return error(StatusCode::NOT_FOUND, "not_found", "no such sandbox route"),
        };
        match result {
            Ok(v) => json(StatusCode::OK, &v),
            Err(e) => error(StatusCode::BAD_GATEWAY, "simulator", &e),
        }
    }

    async fn order(&self, o: NewOrder) -> Result<Value, String> {
        let shop = o.shop.as_deref().unwrap_or(SHOPS[0]);
        if !SHOPS.contains(&shop) {
            return Err(format!("no shop {shop:?} here: {}", SHOPS.join(" or ")));
        }
        let phone = o.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let (true, Some(p)) = (o.no_max, phone) {
            self.without_max(p).await?;
        }
        let mut order = json!({
            "firstName": o.name.trim(),
            "delivery": {"code": if o.pickup { "self-delivery" } else { "courier" }},
        });
        if let Some(p) = o.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            order["phone"] = json!(p.trim());
        }
        if let Some(e) = o.email.as_deref().filter(|e| !e.trim().is_empty()) {
            order["email"] = json!(e.trim());
        }
        let id = self.driver.new_order(shop, o.manager, order).await?;
        let last = o.handed_to.unwrap_or(o.manager);
        if last != o.manager {
            self.driver.reassign(shop, id, last, o.manager).await?;
        }
        self.driver.set_status(shop, id, "complete", last).await?;
        Ok(json!({"id": id}))
    }

    /// Adds the number to the MAX simulator's "no account" list, keeping everyone else's entry.
    async fn without_max(&self, phone: &str) -> Result<(), String> {
        let book = self.driver.max_book().await?;
        let list = |key: &str| -> Vec<String> {
            book[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let mut without = list("withoutMax");
        without.push(phone.to_string());
        let (with, failing) = (list("withMax"), list("failing"));
        self.driver
            .max_numbers_default(
                &borrowed(&with),
                &borrowed(&without),
                &borrowed(&failing),
                book["default"].as_bool().unwrap_or(true),
            )
            .await
    }

    /// Each customer's MAX chat and SMS inbox, for the orders that have a phone.
    async fn max_and_sms(&self, orders: &[Value]) -> Result<(Vec<Value>, Vec<Value>), String> {
        let (mut chats, mut texts) = (Vec::new(), Vec::new());
        let mut seen = std::collections::BTreeSet::new();
        for o in orders {
            let Some(phone) = o["phone"].as_str() else {
                continue;
            };
            if !seen.insert(phone.to_string()) {
                continue;
            }
            let lines = self.driver.max_chat(phone).await?;
            if !lines.is_empty() {
                chats.push(json!({"phone": phone, "name": o["name"], "lines": lines}));
            }
            let inbox = self.driver.sms_inbox(phone).await?;
            if !inbox.is_empty() {
                texts.push(json!({"phone": phone, "name": o["name"], "messages": inbox}));
            }
        }
        Ok((chats, texts))
    }

    async fn state(&self) -> Result<Value, String> {
        let mut all = Vec::new();
        for shop in SHOPS {
            all.extend(self.driver.orders(shop).await?);
        }
        let orders: Vec<Value> = all
            .into_iter()
            .map(|o| {
                json!({
                    "id": o["id"], "shop": o["site"], "name": o["firstName"], "phone": o["phone"],
                    "email": o["email"], "status": o["status"], "managerId": o["managerId"],
                    "rating": o["customFields"]["otklik_rating"],
                    "words": o["customFields"]["otklik_words"],
                })
            })
            .collect();
        let mut emails = Vec::new();
        for o in &orders {
            let Some(address) = o["email"].as_str() else {
                continue;
            };
            for raw in emails_to(&self.aws, address).await? {
                let links = rating_links(&raw);
                if links
                    .values()
                    .all(|u| u.starts_with(&format!("{}/r/", self.driver.api)))
                    && !links.is_empty()
                {
                    emails.push(json!({"to": address, "order": o["id"], "links": links}));
                }
            }
        }
        let complaints: Vec<Value> = self
            .driver
            .orders(&self.config.complaints.site)
            .await?
            .into_iter()
            .map(|c| {
                json!({"id": c["id"], "status": c["status"], "managerId": c["managerId"],
                       "comment": c["managerComment"]})
            })
            .collect();
        let today = Utc::now().with_timezone(&self.config.timezone).date_naive();
        let first = today.with_day(1).unwrap_or(today);
        let (from, to) =
            otklik_core::kpi::period(&first.to_string(), &today.to_string(), self.config.timezone)?;
        let kpi = otklik_app::report::gather(
            &self.store,
            &self.config.complaints,
            from,
            to,
            &BTreeMap::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let (max, sms) = self.max_and_sms(&orders).await?;
        let whatsapp: Vec<Value> = self
            .driver
            .messages_all()
            .await?
            .into_iter()
            .filter(|m| m["provider"] != "max")
            .collect();
        Ok(json!({
            "orders": orders,
            "whatsapp": whatsapp,
            "max": max,
            "sms": sms,
            "emails": emails,
            "complaints": complaints,
            "tasks": self.driver.crm_list("tasks").await?,
            "kpi": kpi,
        }))
    }
}
