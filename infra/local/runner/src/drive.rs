//! Playing the people around the product over real HTTP: the shop's staff in the retailCRM
//! simulator, the customer in the provider simulator (WhatsApp and MAX chats, the SMS inbox) and
//! in a mail client (the letters the local AWS endpoint took, their rating links, a browser
//! opening one). Used by the demo, the sandbox,
//! the bench and the end-to-end tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[derive(Clone)]
pub struct Driver {
    pub http: reqwest::Client,
    pub crm: String,
    pub wa: String,
    pub api: String,
}

pub type DriveResult<T> = Result<T, String>;

fn fail(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl Driver {
    pub fn new(crm: String, wa: String, api: String) -> Driver {
        Driver {
            http: reqwest::Client::new(),
            crm,
            wa,
            api,
        }
    }

    async fn json(&self, req: reqwest::RequestBuilder, what: &str) -> DriveResult<Value> {
        let r = req.send().await.map_err(|e| fail(what, e))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{what}: HTTP {status}: {body}"));
        }
        Ok(body)
    }

    /// A new order taken by `manager`, in status "new". `order` adds fields (phone, email, …).
    pub async fn new_order(&self, site: &str, manager: u64, order: Value) -> DriveResult<u64> {
        let mut o = json!({
            "site": site, "status": "new", "managerId": manager,
            "orderType": "eshop-individual", "orderMethod": "shopping-cart",
            "delivery": {"code": "courier"},
        });
        if let (Some(o), Some(extra)) = (o.as_object_mut(), order.as_object()) {
            for (k, v) in extra {
                o.insert(k.clone(), v.clone());
            }
        }
        let v = self
            .json(
                self.http
                    .post(format!("{}/sim/orders", self.crm))
                    .json(&json!({"order": o, "userId": manager})),
                "create order",
            )
            .await?;
        v["id"]
            .as_u64()
            .ok_or_else(|| format!("create order: no id in {v}"))
    }

    /// Hands the order to another manager (by `by`), as a person in retailCRM does.
    pub async fn reassign(&self, site: &str, id: u64, manager: u64, by: u64) -> DriveResult<()> {
        self.json(
            self.http
                .post(format!("{}/sim/orders/{site}/{id}/manager", self.crm))
                .json(&json!({"managerId": manager, "userId": by})),
            "reassign",
        )
        .await
        .map(|_| ())
    }

    /// Moves the order to `status` (by user `by`); the simulator's trigger calls our webhook.
    pub async fn set_status(&self, site: &str, id: u64, status: &str, by: u64) -> DriveResult<()> {
        self.json(
            self.http
                .post(format!("{}/sim/orders/{site}/{id}/status", self.crm))
                .json(&json!({"status": status, "userId": by})),
            "set status",
        )
        .await
        .map(|_| ())
    }

    pub async fn order(&self, site: &str, id: u64) -> DriveResult<Value> {
        self.json(
            self.http
                .get(format!("{}/sim/orders/{site}/{id}", self.crm)),
            "read order",
        )
        .await
    }

    pub async fn orders(&self, site: &str) -> DriveResult<Vec<Value>> {
        let v = self
            .json(
                self.http
                    .get(format!("{}/sim/orders", self.crm))
                    .query(&[("site", site)]),
                "list orders",
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `tasks`, `links`, `notifications` or `stats` of the retailCRM simulator.
    pub async fn crm_list(&self, what: &str) -> DriveResult<Vec<Value>> {
        let v = self
            .json(self.http.get(format!("{}/sim/{what}", self.crm)), what)
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Which numbers have WhatsApp (everyone else gets error 131026 and the email fallback).
    pub async fn whatsapp_numbers(&self, with: &[&str], without: &[&str]) -> DriveResult<()> {
        self.json(
            self.http
                .put(format!("{}/sim/numbers", self.wa))
                .json(&json!({"withWhatsapp": with, "withoutWhatsapp": without})),
            "numbers",
        )
        .await
        .map(|_| ())
    }

    /// What the business sent to `phone` over WhatsApp, oldest first.
    pub async fn messages_to(&self, phone: &str) -> DriveResult<Vec<Value>> {
        let v = self
            .json(
                self.http
                    .get(format!("{}/sim/messages", self.wa))
                    .query(&[("to", phone)]),
                "messages",
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Everything the business sent over WhatsApp.
    pub async fn messages_all(&self) -> DriveResult<Vec<Value>> {
        let v = self
            .json(
                self.http.get(format!("{}/sim/messages", self.wa)),
                "messages",
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The customer writes `text` in a chat through `provider` (`meta` / `green-api` for
    /// WhatsApp, `max` for MAX).
    pub async fn say(&self, provider: &str, phone: &str, text: &str) -> DriveResult<()> {
        let v = self
            .json(
                self.http
                    .post(format!("{}/sim/reply", self.wa))
                    .json(&json!({"provider": provider, "from": phone, "text": text})),
                "reply",
            )
            .await?;
        for a in v["answers"].as_array().cloned().unwrap_or_default() {
            if a["status"] != 200 {
                return Err(format!("our webhook answered {a}"));
            }
        }
        Ok(())
    }

    /// Who has a MAX account, and whose MAX messages fail although the account exists. Every
    /// other +7 number is set to have none (so its customer gets the SMS).
    pub async fn max_numbers(
        &self,
        with: &[&str],
        without: &[&str],
        failing: &[&str],
    ) -> DriveResult<()> {
        self.max_numbers_default(with, without, failing, false)
            .await
    }

    /// [`max_numbers`](Self::max_numbers), with `default` the answer for +7 numbers on neither
    /// list.
    pub async fn max_numbers_default(
        &self,
        with: &[&str],
        without: &[&str],
        failing: &[&str],
        default: bool,
    ) -> DriveResult<()> {
        self.json(
            self.http.put(format!("{}/sim/max/numbers", self.wa)).json(
                &json!({"withMax": with, "withoutMax": without, "failing": failing,
                        "default": default}),
            ),
            "MAX numbers",
        )
        .await
        .map(|_| ())
    }

    /// The MAX number book as the simulator has it.
    pub async fn max_book(&self) -> DriveResult<Value> {
        self.json(
            self.http.get(format!("{}/sim/max/numbers", self.wa)),
            "MAX numbers",
        )
        .await
    }

    /// The customer's MAX chat, oldest first: `{direction: out|in, text, status, …}`.
    pub async fn max_chat(&self, phone: &str) -> DriveResult<Vec<Value>> {
        let v = self
            .json(
                self.http
                    .get(format!("{}/sim/max/chat", self.wa))
                    .query(&[("phone", phone)]),
                "MAX chat",
            )
            .await?;
        Ok(v["lines"].as_array().cloned().unwrap_or_default())
    }

    /// Our messages in the customer's MAX chat.
    pub async fn max_ours(&self, phone: &str) -> DriveResult<Vec<Value>> {
        Ok(self
            .max_chat(phone)
            .await?
            .into_iter()
            .filter(|l| l["direction"] == "out")
            .collect())
    }

    /// The SMS on the customer's phone, oldest first: `{from, text, segments, …}`.
    pub async fn sms_inbox(&self, phone: &str) -> DriveResult<Vec<Value>> {
        let v = self
            .json(
                self.http
                    .get(format!("{}/sim/sms/inbox", self.wa))
                    .query(&[("phone", phone)]),
                "SMS inbox",
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Every SMS SMS.ru took from us.
    pub async fn sms_all(&self) -> DriveResult<Vec<Value>> {
        let v = self
            .json(self.http.get(format!("{}/sim/sms", self.wa)), "SMS")
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The short link of the latest SMS on the customer's phone that points at this API.
    pub async fn sms_link(&self, phone: &str) -> DriveResult<Option<String>> {
        let prefix = format!("{}/s/", self.api);
        Ok(self.sms_inbox(phone).await?.iter().rev().find_map(|m| {
            m["text"]
                .as_str()?
                .split_whitespace()
                .find(|w| w.starts_with(&prefix))
                .map(str::to_string)
        }))
    }

    /// The KPI report from the API, as JSON.
    pub async fn kpi(&self, token: &str, from: &str, to: &str) -> DriveResult<Value> {
        self.json(
            self.http
                .get(format!("{}/reports/kpi", self.api))
                .query(&[("from", from), ("to", to)])
                .bearer_auth(token),
            "kpi report",
        )
        .await
    }
}

/// Retries `check` until it gives `Some`, or fails naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> DriveResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DriveResult<Option<T>>>,
{
    let started = Instant::now();
    loop {
        let last = check().await;
        match last {
            Ok(Some(v)) => return Ok(v),
            Ok(None) if started.elapsed() < limit => {}
            Err(e) if started.elapsed() < limit => {
                tracing::debug!(error = %e, "{what}: not yet");
            }
            Ok(None) => return Err(format!("{what}: did not happen within {limit:?}")),
            Err(e) => return Err(format!("{what}: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Raw messages SES took for `address`, from the local endpoint's record of sent mail.
pub async fn emails_to(aws: &str, address: &str) -> Result<Vec<String>, String> {
    let http = reqwest::Client::new();
    let mut last = String::new();
    // The endpoint's dump can fail while it is being written to; a retry reads it whole.
    for _ in 0..5 {
        match http.get(format!("{aws}/moto-api/data.json")).send().await {
            Ok(r) => match r.json::<Value>().await {
                Ok(data) => {
                    return Ok(data["ses"]["RawMessage"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|m| m["destinations"].to_string().contains(address))
                        .map(|m| m["raw_data"].as_str().unwrap_or_default().to_string())
                        .collect())
                }
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("reading sent mail: {last}"))
}

/// The rating links of a survey email: rating → URL, read as a person reads the letter.
pub fn rating_links(raw: &str) -> BTreeMap<u8, String> {
    use base64::Engine as _;
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let joined: String = body.lines().map(str::trim).collect();
    let text = base64::engine::general_purpose::STANDARD
        .decode(joined)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| body.to_string());
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(url) = line.split_whitespace().find(|w| w.contains("/r/")) else {
            continue;
        };
        if let Some(r) = line
            .chars()
            .next()
            .and_then(|ch| ch.to_digit(10))
            .filter(|_| line.contains(" — "))
        {
            out.insert(r as u8, url.to_string());
        }
    }
    out
}

/// What a browser does with a rating link: load the page, then its script posts the view nonce.
/// Returns the POST's status (200 recorded, 202 please confirm, 409 answered already). A person
/// (`person = true`) asked to confirm presses «Да, это моя оценка»; a scanner does not.
pub async fn open_in_browser(url: &str, person: bool) -> Result<u16, String> {
    let http = reqwest::Client::new();
    let page = http
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let nonce = page
        .split("name=\"nonce\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the page has no confirmation form")?;
    let post = |fields: Vec<(&'static str, String)>| {
        let http = http.clone();
        async move {
            http.post(url)
                .header("accept", "application/json")
                .form(&fields)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| format!("{e:?}"))
        }
    };
    let status = post(vec![("nonce", nonce.to_string())]).await?;
    if status == 202 && person {
        return post(vec![("nonce", nonce.to_string()), ("confirm", "1".into())]).await;
    }
    Ok(status)
}
