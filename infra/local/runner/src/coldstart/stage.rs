//! The stage the bench's events need to be real: both simulators, the stack's table, queues and
//! secret on the local AWS endpoint, the config file, and the in-process handlers that put fresh
//! orders and surveys where each round's events need them; and each binary's Lambda environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use otklik_app::env::Parts;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{self, FunctionDef, Names, QueueDef};
use otklik_aws::Clients;
use otklik_core::intake::{DispatchRequest, IntakeSignal};
use otklik_core::links::{LinkAction, LinkSigner};
use otklik_core::model::{OrderRef, Rating, SurveyId};
use serde_json::{json, Value};

use super::events::{http_event, meta_webhook, schedule_event, sqs_event, HttpRequest};
use super::report::MEMORY_MB;
use super::runtime::uuid_like;
use crate::drive::Driver;
use crate::stack::{self, Endpoints};

const SITE: &str = "main-shop";
const MANAGER: u64 = 11;

/// Both simulators, the stack on the local endpoint, the secret, the config file, and the
/// in-process handlers that put orders and surveys where a round's events need them.
pub(super) struct Stage {
    region: String,
    names: Names,
    driver: Driver,
    parts: Parts,
    worker: otklik_intake_worker::Worker,
    dispatcher: otklik_survey_dispatch::Dispatcher,
    inbound: otklik_provider_webhooks::ProviderWebhooks<SqsQueue>,
    inbound_worker: otklik_inbound_worker::InboundWorker,
    signer: LinkSigner,
    /// By queue suffix: the queue and its ARN.
    queues: BTreeMap<&'static str, (SqsQueue, String)>,
    /// What every function's environment holds besides its own names.
    env: Vec<(String, String)>,
    crm_sim: otklik_retailcrm_sim::SimHandle,
    wa_sim: otklik_whatsapp_sim::SimHandle,
}

type StageResult<T> = Result<T, String>;

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

impl Stage {
    pub(super) async fn start(moto: &str, dir: &Path) -> StageResult<Stage> {
        let crm_sim = otklik_retailcrm_sim::spawn(Default::default())
            .await
            .map_err(|e| format!("retailCRM simulator: {e}"))?;
        // No webhook URL: nothing posts statuses behind the measurements' backs.
        let wa_sim = otklik_whatsapp_sim::spawn(otklik_whatsapp_sim::SimConfig {
            meta_token: stack::META_ACCESS_TOKEN.into(),
            green_api_token: stack::GREEN_API_TOKEN.into(),
            meta_app_secret: stack::META_APP_SECRET.into(),
            green_api_webhook_token: stack::GREEN_API_WEBHOOK_TOKEN.into(),
            meta_webhook_url: None,
            auto_statuses: false,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("WhatsApp simulator: {e}"))?;
        let driver = Driver::new(crm_sim.url(), wa_sim.url(), String::new());
        let seeded = driver
            .http
            .post(format!("{}/sim/seed", crm_sim.url()))
            .json(&json!({"preset": "demo"}))
            .send()
            .await
            .map_err(|e| format!("seeding the retailCRM simulator: {e}"))?;
        if !seeded.status().is_success() {
            return Err(format!(
                "seeding the retailCRM simulator: {}",
                seeded.status()
            ));
        }
        let config_text = stack::config_text(&Endpoints {
            retailcrm: crm_sim.url(),
            whatsapp: wa_sim.url(),
            // Only written into emails' links; nobody opens them here.
            api: "https://feedback.example.ru".into(),
            provider: "meta".into(),
        });
        let config = otklik_core::config::Config::from_toml(&config_text)
            .map_err(|e| format!("config: {e}"))?;
        let secrets = stack::secrets(&config)?;

        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let names = Names::new(format!("cold{}", nanos % 1_000_000_000));
        let clients = Clients::with_endpoint(moto).await;
        stack::prepare(&clients, &names, &config).await?;

        // As on AWS: one Secrets Manager secret per purpose, each of its OTKLIK_* keys, and each
        // function reads only those it is granted (`env_of`) at start.
        let sm = aws_sdk_secretsmanager::Client::new(&clients.sdk);
        for def in resources::SECRETS {
            let keys: serde_json::Map<String, serde_json::Value> = stack::SECRETS
                .iter()
                .filter(|(k, _)| def.keys.contains(k))
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            sm.create_secret()
                .name(def.name(&names.stack))
                .secret_string(serde_json::Value::Object(keys).to_string())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "creating the secret {}: {}",
                        def.suffix,
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    )
                })?;
        }

        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config_path = dir.join("otklik.toml");
        std::fs::write(&config_path, &config_text)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;

        let parts = Parts {
            config: Arc::new(config),
            secrets: Some(secrets),
            clients: clients.clone(),
            names: names.clone(),
            report_token: Some(stack::REPORT_TOKEN.into()),
        };
        let worker = otklik_intake_worker::Worker::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let dispatcher = otklik_survey_dispatch::Dispatcher::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let inbound = otklik_provider_webhooks::ProviderWebhooks::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let inbound_worker = otklik_inbound_worker::InboundWorker::from_parts(&parts)
            .await
            .map_err(|e| e.to_string())?;
        let mut queues = BTreeMap::new();
        for q in resources::QUEUES {
            let queue = SqsQueue::connect(clients.sqs.clone(), &names, q)
                .await
                .map_err(|e| format!("queue {}: {e}", q.suffix))?;
            let arn = queue.arn().await.map_err(|e| e.to_string())?;
            queues.insert(q.suffix, (queue, arn));
        }

        let region = env_or("AWS_REGION", "eu-central-1");
        let env = vec![
            // What Lambda's provided.al2023 environment holds…
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
            ("_HANDLER".into(), "bootstrap".into()),
            ("AWS_REGION".into(), region.clone()),
            ("AWS_DEFAULT_REGION".into(), region.clone()),
            (
                "AWS_ACCESS_KEY_ID".into(),
                env_or("AWS_ACCESS_KEY_ID", "local"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                env_or("AWS_SECRET_ACCESS_KEY", "local"),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                MEMORY_MB.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
            // …the local endpoint instead of AWS's…
            ("AWS_ENDPOINT_URL".into(), moto.into()),
            // …and the template's Globals.
            ("OTKLIK_STACK".into(), names.stack.clone()),
            ("OTKLIK_CONFIG".into(), config_path.display().to_string()),
            ("RUST_LOG".into(), "info".into()),
        ];
        Ok(Stage {
            region,
            names,
            driver,
            parts,
            worker,
            dispatcher,
            inbound,
            inbound_worker,
            signer: LinkSigner::new(stack::LINK_SECRET.as_bytes()),
            queues,
            env,
            crm_sim,
            wa_sim,
        })
    }

    pub(super) async fn stop(self) {
        self.crm_sim.shutdown().await;
        self.wa_sim.shutdown().await;
    }

    pub(super) fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:123456789012:function:{}-{name}",
            self.region, self.names.stack
        )
    }

    /// The environment of `name` (a function, or the baseline): the common part, Lambda's
    /// per-function variables and what the template adds for this function.
    pub(super) fn env_of(&self, name: &str, def: Option<&FunctionDef>) -> Vec<(String, String)> {
        let full = format!("{}-{name}", self.names.stack);
        let mut env: Vec<(String, String)> = if def.is_some() {
            self.env.clone()
        } else {
            // The baseline has no config, secret or stack of ours.
            self.env
                .iter()
                .filter(|(k, _)| !k.starts_with("OTKLIK_"))
                .cloned()
                .collect()
        };
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), full.clone()));
        env.push((
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{full}"),
        ));
        env.push((
            "AWS_LAMBDA_LOG_STREAM_NAME".into(),
            format!(
                "{}/[$LATEST]{}",
                Utc::now().format("%Y/%m/%d"),
                uuid_like().replace('-', "")
            ),
        ));
        // As the template: the name of each secret the function reads…
        for secret in def.map(|d| d.secrets()).unwrap_or_default() {
            env.push((secret.id_env(), secret.name(&self.names.stack)));
        }
        // …and the URL of each queue it sends to.
        for access in def.map_or(&[][..], |d| d.access) {
            if let resources::Access::Send(q) = access {
                if let Some((queue, _)) = self.queues.get(q.suffix) {
                    env.push((q.url_env(), queue.url().to_string()));
                }
            }
        }
        if name == "intake-worker" {
            // The template passes the schedules' target and role, so no lookup happens at start.
            if let Some((_, arn)) = self.queues.get(resources::DISPATCH_QUEUE.suffix) {
                env.push(("OTKLIK_DISPATCH_QUEUE_ARN".into(), arn.clone()));
            }
            env.push((
                "OTKLIK_SCHEDULER_ROLE_ARN".into(),
                format!(
                    "arn:aws:iam::123456789012:role/{}-scheduler",
                    self.names.stack
                ),
            ));
        }
        env
    }

    /// A completed order of a new customer; its id.
    async fn completed_order(&self, contact: Value) -> StageResult<u64> {
        let id = self.driver.new_order(SITE, MANAGER, contact).await?;
        self.driver
            .set_status(SITE, id, "complete", MANAGER)
            .await?;
        Ok(id)
    }

    /// The order's survey, planned by the intake worker in process.
    async fn planned(&self, order: u64) -> StageResult<SurveyId> {
        let signal = IntakeSignal {
            site: SITE.into(),
            order_id: order,
            source: "trigger".into(),
            received_at: Utc::now(),
        };
        let handled = self
            .worker
            .handle(&signal, Utc::now())
            .await
            .map_err(|e| format!("intake of order {order}: {e}"))?;
        if !matches!(handled, otklik_intake_worker::Handled::Scheduled(_)) {
            return Err(format!("intake of order {order}: {handled:?}"));
        }
        let order = OrderRef::new(SITE, order).map_err(|e| e.to_string())?;
        Ok(SurveyId::for_order(&order))
    }

    /// The order's survey, planned and sent in process; the provider's message id.
    async fn sent(&self, order: u64) -> StageResult<(SurveyId, String)> {
        let id = self.planned(order).await?;
        let msg = DispatchRequest::question(&id);
        match self.dispatcher.handle(&msg, Utc::now()).await {
            Ok(otklik_survey_dispatch::Dispatched::Sent { message_id, .. }) => Ok((id, message_id)),
            Ok(other) => Err(format!("dispatch of {id}: {other:?}")),
            Err(e) => Err(format!("dispatch of {id}: {e}")),
        }
    }

    /// Messages on `queue` whose body `wanted` takes, received as the event source mapping
    /// receives them. Everything received is deleted: nothing else consumes these queues here,
    /// so what is not wanted is a leftover of an earlier round.
    async fn take(
        &self,
        queue: &QueueDef,
        wanted: impl Fn(&str) -> bool,
    ) -> StageResult<(Vec<aws_sdk_sqs::types::Message>, String)> {
        let (q, arn) = self
            .queues
            .get(queue.suffix)
            .ok_or_else(|| format!("no queue {}", queue.suffix))?;
        let sqs = &self.parts.clients.sqs;
        let until = Instant::now() + Duration::from_secs(10);
        let mut found = Vec::new();
        while found.is_empty() && Instant::now() < until {
            let out = sqs
                .receive_message()
                .queue_url(q.url())
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "receiving from {}: {}",
                        queue.suffix,
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    )
                })?;
            for m in out.messages.unwrap_or_default() {
                if let Some(h) = m.receipt_handle() {
                    let _ = q.delete(h).await;
                }
                if wanted(m.body().unwrap_or_default()) {
                    found.push(m);
                }
            }
        }
        if found.is_empty() {
            return Err(format!("nothing for us on the {} queue", queue.suffix));
        }
        Ok((found, arn.clone()))
    }

    /// `body` through `queue` and back: a message with the attributes SQS gives it.
    async fn through(&self, queue: &QueueDef, body: String) -> StageResult<Value> {
        let (q, _) = self
            .queues
            .get(queue.suffix)
            .ok_or_else(|| format!("no queue {}", queue.suffix))?;
        otklik_core::ports::Queue::send(q, &body)
            .await
            .map_err(|e| format!("sending to {}: {e}", queue.suffix))?;
        let (messages, arn) = self.take(queue, |b| b == body).await?;
        Ok(sqs_event(&messages, &arn, &self.region))
    }

    /// Every function's event for round `round`, each made of fresh orders and surveys.
    pub(super) async fn events(
        &self,
        round: usize,
    ) -> BTreeMap<&'static str, StageResult<Vec<u8>>> {
        let mut out = BTreeMap::new();
        let phone = |k: usize| format!("+7901555{:02}{:02}", round % 100, k);
        let customer = |k: usize| 70_000 + (round as u64) * 10 + k as u64;
        // 3 is the email-only customer.
        let phones: Vec<String> = [0, 1, 2, 4].into_iter().map(phone).collect();
        let refs: Vec<&str> = phones.iter().map(String::as_str).collect();
        if let Err(e) = self.driver.whatsapp_numbers(&refs, &[]).await {
            for f in resources::FUNCTIONS {
                out.insert(f.name, Err(format!("WhatsApp numbers: {e}")));
            }
            return out;
        }
        let order = |k: usize| {
            self.completed_order(json!({
                "phone": phone(k),
                "firstName": "Покупатель",
                "customer": {"id": customer(k)},
            }))
        };
        let new = order(0).await;
        let due = match order(1).await {
            Ok(id) => self.planned(id).await,
            Err(e) => Err(e),
        };
        let delivered = match order(2).await {
            Ok(id) => self.sent(id).await,
            Err(e) => Err(e),
        };
        let email = json!({
            "email": format!("cold.{round}@example.ru"),
            "customer": {"id": customer(3)},
        });
        let by_email = match self.completed_order(email).await {
            Ok(id) => self.sent(id).await.map(|(survey, _)| survey),
            Err(e) => Err(e),
        };
        let rated = match order(4).await {
            Ok(id) => self.rated_one(id, &phone(4), round).await,
            Err(e) => Err(e),
        };

        out.insert(
            "order-intake",
            new.clone().map(|id| {
                let form = format!("orderId={id}&site={SITE}&secret={}", stack::TRIGGER_SECRET);
                self.http(HttpRequest {
                    method: "POST",
                    route: "/webhooks/retailcrm",
                    path: "/webhooks/retailcrm",
                    headers: vec![
                        ("content-type", "application/x-www-form-urlencoded".into()),
                        ("user-agent", "retailCRM".into()),
                    ],
                    body: Some(form.into_bytes()),
                    base64: true,
                    ..Default::default()
                })
            }),
        );
        out.insert(
            "intake-worker",
            match new {
                Ok(id) => {
                    let signal = IntakeSignal {
                        site: SITE.into(),
                        order_id: id,
                        source: "trigger".into(),
                        received_at: Utc::now(),
                    };
                    let body = serde_json::to_string(&signal).unwrap_or_default();
                    self.through(&resources::INTAKE_QUEUE, body)
                        .await
                        .map(|e| e.to_string().into_bytes())
                }
                Err(e) => Err(e),
            },
        );
        out.insert(
            "history-poller",
            Ok(schedule_event(
                &self.region,
                &format!(
                    "arn:aws:scheduler:{}:123456789012:schedule/default/{}-history-poller",
                    self.region, self.names.stack
                ),
            )
            .to_string()
            .into_bytes()),
        );
        out.insert(
            "survey-dispatch",
            match due {
                Ok(id) => {
                    let body =
                        serde_json::to_string(&DispatchRequest::question(&id)).unwrap_or_default();
                    self.through(&resources::DISPATCH_QUEUE, body)
                        .await
                        .map(|e| e.to_string().into_bytes())
                }
                Err(e) => Err(e),
            },
        );
        out.insert(
            "provider-webhooks",
            delivered.clone().map(|(_, message_id)| {
                let digits = phone(2).trim_start_matches('+').to_string();
                let body = meta_webhook(json!({
                    "statuses": [{
                        "id": message_id,
                        "status": "delivered",
                        "timestamp": Utc::now().timestamp().to_string(),
                        "recipient_id": digits,
                        "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"},
                    }],
                }));
                self.meta_post(body)
            }),
        );
        out.insert(
            "inbound-worker",
            match &delivered {
                Ok(_) => {
                    let body = self.meta_text(&phone(2), round, "5");
                    match otklik_messaging::inbound::parse_meta(&body, "RU") {
                        Ok(items) if items.len() == 1 => {
                            let item = serde_json::to_string(&items[0]).unwrap_or_default();
                            self.through(&resources::INBOUND_QUEUE, item)
                                .await
                                .map(|e| e.to_string().into_bytes())
                        }
                        Ok(items) => Err(format!("the reply parsed as {} items", items.len())),
                        Err(e) => Err(format!("the reply: {e}")),
                    }
                }
                Err(e) => Err(e.clone()),
            },
        );
        out.insert(
            "email-landing",
            by_email.map(|id| {
                let five = Rating::new(5).expect("5 is a rating");
                let token =
                    self.signer
                        .sign(&id, LinkAction::Rate(five), Utc::now() + chrono::Duration::days(30));
                let path = format!("/r/{token}");
                self.http(HttpRequest {
                    method: "GET",
                    route: "/r/{token}",
                    path: &path,
                    headers: vec![
                        ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into()),
                        ("accept-language", "ru-RU,ru;q=0.9".into()),
                        ("user-agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36".into()),
                    ],
                    ..Default::default()
                })
            }),
        );
        for (name, queue) in [
            ("crm-writer", &resources::CRM_WRITES_QUEUE),
            ("complaint-create", &resources::COMPLAINTS_QUEUE),
            ("reply-sender", &resources::REPLIES_QUEUE),
        ] {
            let event = match &rated {
                Ok(id) => {
                    let needle = format!("\"surveyId\":\"{id}\"");
                    self.take(queue, |b| b.contains(&needle))
                        .await
                        .map(|(m, arn)| sqs_event(&m, &arn, &self.region).to_string().into_bytes())
                }
                Err(e) => Err(e.clone()),
            };
            out.insert(name, event);
        }
        // The digest's schedule input, as the template writes it (the stage's config names no
        // recipient: the firing loads everything, then has nobody to mail).
        out.insert(
            "kpi-digest",
            Ok(
                br#"{"digest": true, "reports_url": "https://abc.execute-api.eu-central-1.amazonaws.com/reports"}"#
                    .to_vec(),
            ),
        );
        let today = Utc::now().date_naive();
        out.insert(
            "kpi-report",
            Ok(self.http(HttpRequest {
                method: "GET",
                route: "/reports/kpi",
                path: "/reports/kpi",
                query: vec![
                    ("from", (today - chrono::Duration::days(30)).to_string()),
                    ("to", today.to_string()),
                ],
                headers: vec![
                    ("authorization", format!("Bearer {}", stack::REPORT_TOKEN)),
                    ("accept", "application/json".into()),
                    ("user-agent", "curl/8.5.0".into()),
                ],
                ..Default::default()
            })),
        );
        out
    }

    fn http(&self, req: HttpRequest<'_>) -> Vec<u8> {
        http_event(&req, &self.region).to_string().into_bytes()
    }

    /// A Meta webhook POST with its signature, as Meta sends it.
    fn meta_post(&self, body: Vec<u8>) -> Vec<u8> {
        let signature =
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), &body);
        self.http(HttpRequest {
            method: "POST",
            route: "/webhooks/whatsapp/meta",
            path: "/webhooks/whatsapp/meta",
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-hub-signature-256", signature),
                ("user-agent", "facebookexternalua".into()),
            ],
            body: Some(body),
            ..Default::default()
        })
    }

    /// The order's survey sent on WhatsApp and answered 1 with words: its effects are queued.
    async fn rated_one(&self, order: u64, phone: &str, round: usize) -> StageResult<SurveyId> {
        let (id, _) = self.sent(order).await?;
        self.reply(phone, round, "1, коробка пришла мятая").await?;
        Ok(id)
    }

    /// Meta's webhook body of the customer's text `text`.
    fn meta_text(&self, phone: &str, round: usize, text: &str) -> Vec<u8> {
        meta_webhook(json!({
            "contacts": [{"profile": {"name": "Покупатель"}, "wa_id": phone.trim_start_matches('+')}],
            "messages": [{
                "from": phone.trim_start_matches('+'),
                "id": format!("wamid.cold{round}{}", uuid_like().replace('-', "")),
                "timestamp": Utc::now().timestamp().to_string(),
                "type": "text",
                "text": {"body": text},
            }],
        }))
    }

    /// The customer answers `text` on WhatsApp; taken in and applied in process, so its effects
    /// are queued.
    async fn reply(&self, phone: &str, round: usize, text: &str) -> StageResult<()> {
        let body = self.meta_text(phone, round, text);
        let signature =
            otklik_whatsapp_sim::meta_signature(stack::META_APP_SECRET.as_bytes(), &body);
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/webhooks/whatsapp/meta")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(lambda_http::Body::Binary(body))
            .map_err(|e| e.to_string())?;
        let answer = self.inbound.handle(req).await;
        if answer.status() != 200 {
            return Err(format!("the reply was answered {}", answer.status()));
        }
        let (messages, arn) = self.take(&resources::INBOUND_QUEUE, |_| true).await?;
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(sqs_event(&messages, &arn, &self.region))
                .map_err(|e| format!("the reply's queue event: {e}"))?;
        let failed = self
            .inbound_worker
            .handle_batch(event, Utc::now())
            .await
            .batch_item_failures;
        if !failed.is_empty() {
            return Err(format!(
                "the reply was not applied ({} failed)",
                failed.len()
            ));
        }
        Ok(())
    }
}
