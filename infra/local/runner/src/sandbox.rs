//! `make sandbox`: a page where a person plays everyone around the product by hand, on the
//! running local stack. The shop completes an order (on `main-shop`: WhatsApp, then email; on
//! `russia-2026`: MAX, then SMS, then email); the person, as the customer, reads the WhatsApp or
//! MAX question and types an answer or taps one of its buttons, opens the SMS's short link or a
//! link of the whole letter in the mailbox (the real landing page); as the inspector, moves a
//! complaint to work, resolved or failed; and watches the order's rating field (or why it was
//! not asked), the complaint and the KPI change, people by name. The page only drives the
//! simulators over HTTP (like the demo) and reads what the product wrote; it has no logic of its
//! own.
//!
//! Choices: the WhatsApp simulator keeps only what we sent, so the page records what the person
//! said there itself (in memory, for as long as the stack runs); a template's quick reply is shown
//! with the rating its payload names (the caption lives in the approved template, not the send);
//! names come from the retailCRM simulator's users, the KPI's from what the CRM writer stored;
//! the page is in Russian, like the shops it plays.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use otklik_aws::http::{body_bytes, error, json};
use otklik_aws::store::DynamoStore;
use otklik_core::model::{OrderRef, SkipReason, SurveyId, SurveyState};
use otklik_core::ports::SurveyStore;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::drive::{emails_to, rating_links, Driver};
use crate::stack::RUSSIA_SITE;

/// A letter as a mail client shows it: `{from, replyTo, to, subject, date, text, links}`. Reads
/// the raw message the local SES endpoint took, as our mailer writes it (RFC 5322 with folded
/// headers, RFC 2047 "B" encoded-words in the sender's name and the subject, a text/plain body
/// in base64: `otklik_core::email::to_mime`); any other encoding is shown as it is.
fn read_letter(raw: &str) -> Value {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            (true, Some((_, value))) => value.push_str(line),
            _ => {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| decode_words(v))
            .unwrap_or_default()
    };
    let text = if get("content-transfer-encoding").eq_ignore_ascii_case("base64") {
        use base64::Engine as _;
        let joined: String = body.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(joined)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_else(|| body.to_string())
    } else {
        body.to_string()
    };
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .collect();
    json!({
        "from": get("from"), "replyTo": get("reply-to"), "to": get("to"),
        "subject": get("subject"), "date": get("date"), "text": text, "links": links,
    })
}

/// A header value with its RFC 2047 encoded-words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) decoded;
/// whitespace between two encoded-words is dropped, as RFC 2047 §6.2 says.
fn decode_words(value: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(4, '?').collect();
        let [_charset, enc, data, tail] = parts[..] else {
            break;
        };
        let Some(tail) = tail.strip_prefix('=') else {
            break;
        };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let bytes = if enc.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_default()
        } else {
            quoted(data)
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = tail;
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// RFC 2047 "Q" data: `_` is a space, `=XX` a byte.
fn quoted(data: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = data.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => match b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'='),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// A skip reason as the page says it.
fn skip_words(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::StatusNotSurveyed => "после этого статуса не спрашиваем",
        SkipReason::NoContact => "в заказе нет ни телефона, ни почты",
        SkipReason::DoNotContact => "покупатель отказался от вопросов",
        SkipReason::FrequencyCap => "этого покупателя уже спрашивали недавно",
        SkipReason::OrderCancelled => "заказ отменили или вернули до отправки вопроса",
        SkipReason::SiteExcluded => "в этом магазине вопросы выключены",
    }
}

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

/// The inspector moves a complaint: `in_work`, `resolved` or `failed`, mapped to the statuses the
/// configuration names (`[complaints] status_*`), so the page never spells a status code itself.
#[derive(Deserialize)]
struct Move {
    id: u64,
    to: String,
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
                Ok(m) => {
                    let c = &self.config.complaints;
                    let status = match m.to.as_str() {
                        "in_work" => &c.status_in_work,
                        "resolved" => &c.status_resolved,
                        "failed" => &c.status_failed,
                        _ => {
                            return error(
                                StatusCode::BAD_REQUEST,
                                "bad_request",
                                "a complaint moves to in_work, resolved or failed",
                            )
                        }
                    };
                    self.driver
                        .set_status(&c.site, m.id, status, c.inspector_id.get())
                        .await
                        .map(|_| json!({"moved": true}))
                }
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

    /// Why an order got no question, in a person's words: the reason kept on its skipped survey
    /// record, or the intake note of an order whose status is not one we ask after
    /// (`DynamoStore::intake_note`). `None` while it is asked, or not looked at yet.
    async fn why_not_asked(&self, site: &str, id: u64) -> Result<Option<String>, String> {
        let Ok(order) = OrderRef::new(site, id) else {
            return Ok(None);
        };
        let survey = self
            .store
            .get(&SurveyId::for_order(&order))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(survey) = survey {
            return Ok(match survey.state {
                SurveyState::Skipped { reason } => Some(skip_words(&reason).to_string()),
                SurveyState::Failed { reason } => {
                    Some(format!("не дошло ни по одному каналу ({reason})"))
                }
                _ => None,
            });
        }
        let note = self
            .store
            .intake_note(&order)
            .await
            .map_err(|e| e.to_string())?;
        Ok(note.map(|(decision, status)| match decision.as_str() {
            "status_not_surveyed" => {
                format!("после статуса «{status}» не спрашиваем")
            }
            other => format!("{other} (статус «{status}»)"),
        }))
    }

    /// The shop's people as the retailCRM simulator has them (`GET /api/v5/users`, retailCRM API
    /// v5 "Получение списка пользователей"): `{id, name, isManager}`, for the managers' names on
    /// orders and complaints and the page's form.
    async fn people(&self) -> Result<Vec<Value>, String> {
        // Fetched once per simulator: the page refreshes every second or two, and a lookup each
        // time spent the account's 10 requests a second that the functions need (the simulator
        // then refused them, as retailCRM does).
        let key = format!("users {}", self.driver.crm);
        if let Some(Value::Array(people)) = reference_cache().lock().expect("cache").get(&key) {
            return Ok(people.clone());
        }
        let people = self.fetch_people().await?;
        reference_cache()
            .lock()
            .expect("cache")
            .insert(key, Value::Array(people.clone()));
        Ok(people)
    }

    async fn fetch_people(&self) -> Result<Vec<Value>, String> {
        let r = self
            .driver
            .http
            .get(format!("{}/api/v5/users", self.driver.crm))
            .query(&[("limit", "100")])
            .header("X-API-KEY", crate::stack::CRM_API_KEY)
            .send()
            .await
            .map_err(|e| format!("users: {e}"))?;
        let v: Value = r.json().await.map_err(|e| format!("users: {e}"))?;
        if !v["users"].is_array() {
            return Err(format!("users: the simulator answered {v}"));
        }
        Ok(v["users"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| {
                let name = format!(
                    "{} {}",
                    u["firstName"].as_str().unwrap_or_default(),
                    u["lastName"].as_str().unwrap_or_default()
                );
                json!({"id": u["id"], "name": name.trim(), "isManager": u["isManager"]})
            })
            .collect())
    }

    /// Status code → the name the shop gave it (`GET /api/v5/reference/statuses`, retailCRM API
    /// v5 "Получение списка статусов заказа"), so the page shows «Выполнен», not `complete`.
    async fn statuses(&self) -> Result<Value, String> {
        let key = format!("statuses {}", self.driver.crm);
        if let Some(statuses) = reference_cache().lock().expect("cache").get(&key) {
            return Ok(statuses.clone());
        }
        let statuses = self.fetch_statuses().await?;
        reference_cache()
            .lock()
            .expect("cache")
            .insert(key, statuses.clone());
        Ok(statuses)
    }

    async fn fetch_statuses(&self) -> Result<Value, String> {
        let r = self
            .driver
            .http
            .get(format!("{}/api/v5/reference/statuses", self.driver.crm))
            .header("X-API-KEY", crate::stack::CRM_API_KEY)
            .send()
            .await
            .map_err(|e| format!("statuses: {e}"))?;
        let v: Value = r.json().await.map_err(|e| format!("statuses: {e}"))?;
        if !v["statuses"].is_object() {
            return Err(format!("statuses: the simulator answered {v}"));
        }
        Ok(v["statuses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(code, s)| (code.clone(), s["name"].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into())
    }

    async fn state(&self) -> Result<Value, String> {
        let mut all = Vec::new();
        for shop in SHOPS {
            all.extend(self.driver.orders(shop).await?);
        }
        let mut orders: Vec<Value> = Vec::new();
        for o in all {
            let why = match (o["site"].as_str(), o["id"].as_u64()) {
                (Some(site), Some(id)) => self.why_not_asked(site, id).await?,
                _ => None,
            };
            orders.push(json!({
                "id": o["id"], "shop": o["site"], "name": o["firstName"], "phone": o["phone"],
                "email": o["email"], "status": o["status"], "managerId": o["managerId"],
                "rating": o["customFields"]["otklik_rating"],
                "words": o["customFields"]["otklik_words"], "notAsked": why,
            }));
        }
        let mut emails = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for o in &orders {
            let Some(address) = o["email"].as_str() else {
                continue;
            };
            // One mailbox per address, however many orders it placed.
            if !seen.insert(address.to_ascii_lowercase()) {
                continue;
            }
            for raw in emails_to(&self.aws, address).await? {
                let mut letter = read_letter(&raw);
                // The local AWS endpoint keeps every stack's mail: a letter linking to another
                // local API is another stack's (a test's), not this customer's here.
                let elsewhere = letter["links"].as_array().into_iter().flatten().any(|l| {
                    l.as_str().is_some_and(|l| {
                        l.starts_with("http://127.0.0.1") && !l.starts_with(&self.driver.api)
                    })
                });
                if elsewhere {
                    continue;
                }
                letter["order"] = o["id"].clone();
                letter["ratings"] = json!(rating_links(&raw));
                emails.push(letter);
            }
        }
        let complaints: Vec<Value> = self
            .driver
            .orders(&self.config.complaints.site)
            .await?
            .into_iter()
            .map(|c| {
                let cfg = &self.config.complaints;
                let stage = [
                    (&cfg.status_created, "created"),
                    (&cfg.status_in_work, "in_work"),
                    (&cfg.status_resolved, "resolved"),
                    (&cfg.status_failed, "failed"),
                ]
                .into_iter()
                .find(|(code, _)| c["status"] == code.as_str())
                .map(|(_, stage)| stage);
                json!({"id": c["id"], "status": c["status"], "stage": stage,
                       "managerId": c["managerId"], "comment": c["managerComment"]})
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
            "people": self.people().await?,
            "statuses": self.statuses().await?,
        }))
    }
}

/// The retailCRM simulator's reference data (people, statuses) the page shows, per simulator URL:
/// it does not change while a stack runs.
fn reference_cache() -> &'static std::sync::Mutex<std::collections::BTreeMap<String, Value>> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::BTreeMap<String, Value>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_core::email::{plain_mime, PlainMail};

    #[test]
    fn a_letter_reads_as_a_mail_client_shows_it() {
        let body = "Здравствуйте!\nОцените заказ:\n5 — отлично https://api.test/r/abc5\n1 — плохо https://api.test/r/abc1\n";
        let raw = plain_mime(
            &PlainMail {
                from_name: "Анна из «Цветочной лавки»",
                from_address: "anna@shop.test",
                to: "olga@example.ru",
                subject: "Как вам заказ? Ответьте одним нажатием — это займёт пару секунд, честно",
                body,
            },
            "m1@shop.test",
            Utc::now(),
        );
        let letter = read_letter(&raw);
        assert_eq!(
            letter["from"], "Анна из «Цветочной лавки» <anna@shop.test>",
            "{raw}"
        );
        assert_eq!(letter["to"], "olga@example.ru");
        assert_eq!(
            letter["subject"],
            "Как вам заказ? Ответьте одним нажатием — это займёт пару секунд, честно",
            "{raw}"
        );
        assert_eq!(letter["text"], body);
        assert_eq!(
            letter["links"],
            json!(["https://api.test/r/abc5", "https://api.test/r/abc1"])
        );
    }

    #[test]
    fn encoded_words_decode_in_both_encodings() {
        assert_eq!(
            decode_words("=?UTF-8?B?0J7RgtC60LvQuNC6?= =?UTF-8?Q?_=D0=B4=D0=B0?= <a@b.c>"),
            "Отклик да <a@b.c>"
        );
        assert_eq!(decode_words("plain text"), "plain text");
    }
}
