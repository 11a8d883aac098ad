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

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The buttons of a message we sent, as the customer's phone shows them: `{payload, title,
/// interactive}`. A template's quick reply carries only its payload in the send (the caption is
/// in the approved template), so the caption shown is the rating the payload names
/// (`rating_4` → «4»); an interactive message's reply buttons carry their own titles.
fn buttons(m: &Value) -> Vec<Value> {
    if m["kind"] == "interactive" {
        return m["request"]["interactive"]["action"]["buttons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                json!({"payload": b["reply"]["id"], "title": b["reply"]["title"],
                       "interactive": true})
            })
            .collect();
    }
    m["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|p| {
            let title = p.strip_prefix("rating_").unwrap_or(p);
            json!({"payload": p, "title": title, "interactive": false})
        })
        .collect()
}

/// The shops the page completes orders in: the installation's chain, and the Russian site's own.
const SHOPS: [&str; 2] = ["main-shop", RUSSIA_SITE];

pub struct Sandbox {
    pub driver: Driver,
    pub aws: String,
    pub store: DynamoStore,
    pub config: Arc<otklik_core::config::Config>,
    pub provider: String,
    /// What the person, as the customer, said on WhatsApp through this page: the provider
    /// simulator keeps only what we sent, and a chat shows both sides. `{phone, text, at}`.
    pub said: std::sync::Mutex<Vec<Value>>,
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
    /// What the customer typed; empty when they tapped a button.
    #[serde(default)]
    text: String,
    /// `max` for the MAX chat; the stack's WhatsApp provider otherwise.
    #[serde(default)]
    channel: Option<String>,
    /// A tapped button of one of our messages: its payload (a template's quick reply) or reply
    /// id (an interactive message), its caption, and the message it belongs to.
    #[serde(default)]
    button: Option<Tap>,
}

#[derive(Deserialize)]
struct Tap {
    payload: String,
    title: String,
    #[serde(default)]
    interactive: bool,
    message: String,
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
                Ok(s) if s.text.trim().is_empty() && s.button.is_none() => {
                    return error(StatusCode::BAD_REQUEST, "bad_request", "nothing to send")
                }
                Ok(s) => self.say(s).await.map(|_| json!({"sent": true})),
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

    /// The customer answers: typed text, or a tapped button delivered as the provider delivers a
    /// tap (Meta: `type: button` with the quick reply's payload, or `type: interactive` with the
    /// reply button's id; the simulator's `/sim/reply` builds the webhook).
    async fn say(&self, s: Say) -> Result<(), String> {
        let provider = match s.channel.as_deref() {
            Some("max") => "max",
            _ => self.provider.as_str(),
        };
        let shown = match &s.button {
            None => {
                self.driver.say(provider, &s.phone, &s.text).await?;
                s.text.clone()
            }
            Some(tap) => {
                let mut reply =
                    json!({"provider": provider, "from": s.phone, "replyTo": tap.message});
                if tap.interactive {
                    reply["interactiveReplyId"] = json!(tap.payload);
                    reply["interactiveTitle"] = json!(tap.title);
                } else {
                    reply["buttonPayload"] = json!(tap.payload);
                    reply["buttonText"] = json!(tap.title);
                }
                let r = self
                    .driver
                    .http
                    .post(format!("{}/sim/reply", self.driver.wa))
                    .json(&reply)
                    .send()
                    .await
                    .map_err(|e| format!("reply: {e}"))?;
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if let Some(a) = v["answers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["status"] != 200)
                {
                    return Err(format!("our webhook answered {a}"));
                }
                if v["answers"].is_null() {
                    return Err(format!("the simulator refused the tap: {v}"));
                }
                tap.title.clone()
            }
        };
        // MAX keeps its own chat with both sides; only WhatsApp needs the page's record.
        if provider != "max" {
            self.said
                .lock()
                .map_err(|_| "the chat record is poisoned".to_string())?
                .push(json!({"phone": digits(&s.phone), "text": shown, "at": Utc::now()}));
        }
        Ok(())
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

    /// Each customer's WhatsApp chat, both sides, oldest first: what we sent (with its
    /// buttons) and what the person said through this page.
    async fn whatsapp(&self) -> Result<Vec<Value>, String> {
        let mut chats: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for m in self.driver.messages_all().await? {
            if m["provider"] == "max" {
                continue;
            }
            let text = match m["text"].as_str() {
                Some(t) => t.to_string(),
                None => m["params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" · "),
            };
            let phone = digits(m["to"].as_str().unwrap_or_default());
            chats.entry(phone).or_default().push(json!({
                "direction": "out", "id": m["id"], "text": text, "template": m["template"],
                "buttons": buttons(&m), "at": m["at"],
            }));
        }
        let said = self
            .said
            .lock()
            .map_err(|_| "the chat record is poisoned".to_string())?
            .clone();
        for l in said {
            let phone = l["phone"].as_str().unwrap_or_default().to_string();
            chats.entry(phone).or_default().push(json!({
                "direction": "in", "text": l["text"], "at": l["at"],
            }));
        }
        Ok(chats
            .into_iter()
            .map(|(phone, mut lines)| {
                lines.sort_by_key(|l| {
                    l["at"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                });
                json!({"phone": format!("+{phone}"), "lines": lines})
            })
            .collect())
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
        let whatsapp = self.whatsapp().await?;
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
