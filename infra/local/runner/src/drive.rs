//! Playing the people around the product over real HTTP: the shop's staff in the retailCRM
//! simulator, the customer in the WhatsApp simulator and in a mail client. Used by the demo, the
//! sandbox and the end-to-end test.

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

    /// The customer writes `text` on WhatsApp through `provider` (`meta` / `green-api`).
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
