//! The whole product on one machine: both simulators, the API Gateway stand-in in front of the
//! HTTP functions, SQS event source mappings in front of the queue functions, and the Scheduler
//! (one-time schedules fired, the poller run on a timer). Every function is built by its own
//! `from_parts`, the same constructor its Lambda entry point uses.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use otklik_app::env::Parts;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::Names;
use otklik_aws::Clients;
use otklik_core::config::Config;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::gateway::{self, handler, GatewayHandle, Route};
use crate::schedules::LocalScheduler;
use crate::sqs::{batch_handler, Consumer, ConsumerStats};
use crate::stack::{self, Endpoints};

pub type BoxError = otklik_app::env::BoxError;

#[derive(Debug, Clone)]
pub struct Options {
    /// Prefix of every table, queue and schedule group.
    pub stack: String,
    /// `meta` or `green-api`.
    pub provider: String,
    /// The API's port; 0 picks a free one.
    pub port: u16,
    /// Time compression of one-time schedules (1 = real time).
    pub speed: f64,
    /// How often the history poller (and the complaint SLA sweep) runs.
    pub poll_every: Duration,
    /// Seconds before a failed message is retried.
    pub retry_after: i32,
    /// Replaces the generated configuration (already pointed at the simulators). An edit that
    /// adds a provider writes [`stack::SIM_URL`] for the provider simulator's address.
    pub config_edit: Option<fn(String) -> String>,
    /// The AWS endpoint instead of `AWS_ENDPOINT_URL` (a proxy in front of it).
    pub aws_endpoint: Option<String>,
    /// Share (0–100) of queue messages each consumer hands to its function twice.
    pub redeliver_percent: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stack: "otklik-local".into(),
            provider: "meta".into(),
            port: 0,
            speed: 1.0,
            poll_every: Duration::from_secs(60),
            retry_after: 2,
            config_edit: None,
            aws_endpoint: None,
            redeliver_percent: 0,
        }
    }
}

pub struct LocalStack {
    pub api: GatewayHandle,
    pub crm_sim: otklik_retailcrm_sim::SimHandle,
    pub wa_sim: otklik_whatsapp_sim::SimHandle,
    pub parts: Parts,
    /// The configuration as a file (what `.local/otklik.toml` holds).
    pub config_text: String,
    pub consumers: BTreeMap<&'static str, Arc<ConsumerStats>>,
    /// The history poller's retailCRM client (its calls are counted apart by `make bench`: one
    /// pass serves every order changed since the last).
    pub poller_crm: otklik_retailcrm::RetailCrm,
    /// Every function's retailCRM client by function: `make bench` splits the peak's calls by
    /// who made them (each client counts its own).
    pub crm_clients: BTreeMap<&'static str, otklik_retailcrm::RetailCrm>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl LocalStack {
    pub fn config(&self) -> &Config {
        &self.parts.config
    }

    pub fn names(&self) -> &Names {
        &self.parts.names
    }

    /// How long the local dashboard link printed by `make sandbox` and `make demo` lasts.
    pub const DASHBOARD_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

    /// A signed link to this stack's dashboard, as `otklik report link` would print it.
    pub fn dashboard_link(&self) -> String {
        otklik_core::report_access::ReportKey::new(stack::REPORT_TOKEN).link(
            &format!("{}/reports", self.api.url()),
            Self::DASHBOARD_LINK_TTL,
            chrono::Utc::now(),
        )
    }

    /// Every URL and local secret, as `KEY=value` lines for `.local/stack.env`.
    pub fn env_lines(&self) -> Vec<String> {
        vec![
            format!("OTKLIK_API_URL={}", self.api.url()),
            format!("OTKLIK_DASHBOARD_URL={}", self.dashboard_link()),
            format!("RETAILCRM_SIM_URL={}", self.crm_sim.url()),
            format!("WHATSAPP_SIM_URL={}", self.wa_sim.url()),
            format!("OTKLIK_STACK={}", self.parts.names.stack),
        ]
        .into_iter()
        .chain(stack::SECRETS.iter().map(|(k, v)| format!("{k}={v}")))
        .collect()
    }

    /// Starts everything against the AWS endpoint in the environment (`AWS_ENDPOINT_URL`).
    pub async fn start(opts: Options) -> Result<LocalStack, BoxError> {
        let listener = TcpListener::bind(("127.0.0.1", opts.port)).await?;
        let api_url = format!("http://{}", listener.local_addr()?);

        let crm_sim = otklik_retailcrm_sim::spawn(Default::default()).await?;
        let wa_sim = otklik_whatsapp_sim::spawn(otklik_whatsapp_sim::SimConfig {
            meta_token: stack::META_ACCESS_TOKEN.into(),
            green_api_token: stack::GREEN_API_TOKEN.into(),
            meta_webhook_url: Some(format!("{api_url}/webhooks/whatsapp/meta")),
            meta_app_secret: stack::META_APP_SECRET.into(),
            green_api_webhook_url: Some(format!("{api_url}/webhooks/whatsapp/green-api")),
            green_api_webhook_token: stack::GREEN_API_WEBHOOK_TOKEN.into(),
            max_instance: stack::MAX_INSTANCE.into(),
            max_token: stack::MAX_TOKEN.into(),
            max_webhook_url: Some(format!("{api_url}/webhooks/max")),
            max_webhook_token: stack::MAX_WEBHOOK_TOKEN.into(),
            smsru_api_id: stack::SMSRU_API_ID.into(),
            smsru_callback_url: Some(format!(
                "{api_url}/webhooks/sms/{}",
                stack::SMS_CALLBACK_SECRET
            )),
            auto_statuses: true,
            ..Default::default()
        })
        .await?;
        let http = reqwest::Client::new();
        let seeded = http
            .post(format!("{}/sim/seed", crm_sim.url()))
            .json(&json!({"preset": "demo"}))
            .send()
            .await?;
        if !seeded.status().is_success() {
            return Err(format!("seeding the retailCRM simulator: {}", seeded.status()).into());
        }

        let endpoints = Endpoints {
            retailcrm: crm_sim.url(),
            whatsapp: wa_sim.url(),
            api: api_url.clone(),
            provider: opts.provider.clone(),
        };
        let mut config_text = stack::config_text(&endpoints);
        if let Some(edit) = opts.config_edit {
            config_text = edit(config_text).replace(stack::SIM_URL, &wa_sim.url());
        }
        let config = Config::from_toml(&config_text)?;
        let secrets = stack::secrets(&config)?;

        let clients = match &opts.aws_endpoint {
            Some(url) => Clients::with_endpoint(url).await,
            None => Clients::from_env().await,
        };
        let names = Names::new(opts.stack.clone());
        // The shop's side as `otklik crm setup` makes it; the pasted trigger follows.
        stack::prepare(&clients, &names, &config).await?;
        let trigger = http
            .put(format!("{}/sim/trigger", crm_sim.url()))
            .json(&json!({
                "url": format!("{api_url}/webhooks/retailcrm"),
                "statuses": otklik_cli::crm_setup::trigger_statuses(&config),
                "params": {"secret": stack::TRIGGER_SECRET},
            }))
            .send()
            .await?;
        if !trigger.status().is_success() {
            return Err(format!("installing the trigger: {}", trigger.status()).into());
        }

        // Every key, as the environment supplies them locally; each function below is built from
        // only the keys its secrets hold on AWS (`Parts::for_function`).
        let parts = Parts {
            config: Arc::new(config),
            secrets: Some(secrets),
            clients: clients.clone(),
            names: names.clone(),
            report_token: Some(stack::REPORT_TOKEN.into()),
        };

        // HTTP functions behind one port.
        let intake = Arc::new(
            otklik_order_intake::Intake::from_parts(&parts.for_function("order-intake")?).await?,
        );
        let inbound = Arc::new(
            otklik_provider_webhooks::ProviderWebhooks::from_parts(
                &parts.for_function("provider-webhooks")?,
            )
            .await?,
        );
        let landing = Arc::new(
            otklik_email_landing::Landing::from_parts(&parts.for_function("email-landing")?)
                .await?,
        );
        let kpi = Arc::new(
            otklik_kpi_report::KpiApi::from_parts(&parts.for_function("kpi-report")?).await?,
        );
        let sandbox = Arc::new(crate::sandbox::Sandbox {
            driver: crate::drive::Driver::new(crm_sim.url(), wa_sim.url(), api_url.clone()),
            aws: std::env::var("AWS_ENDPOINT_URL").unwrap_or_default(),
            store: parts.store(),
            config: parts.config.clone(),
            provider: opts.provider.clone(),
            said: Default::default(),
        });
        let routes = vec![
            Route::function(
                "order-intake",
                handler(move |req| {
                    let f = intake.clone();
                    async move { f.handle(req).await }
                }),
            ),
            Route::function(
                "provider-webhooks",
                handler(move |req| {
                    let f = inbound.clone();
                    async move { f.handle(req).await }
                }),
            ),
            Route::function(
                "email-landing",
                handler(move |req| {
                    let f = landing.clone();
                    async move { f.handle(req, Utc::now()).await }
                }),
            ),
            Route::new(
                "/sandbox",
                handler(move |req| {
                    let f = sandbox.clone();
                    async move { f.handle(req).await }
                }),
            ),
            Route::function(
                "kpi-report",
                handler(move |req| {
                    let f = kpi.clone();
                    async move { f.handle(req).await }
                }),
            ),
        ];
        let api = gateway::serve(listener, routes).await?;

        // Queue functions behind their event source mappings.
        let mut tasks = Vec::new();
        let mut consumers = BTreeMap::new();
        // Each function reads the queue `resources::FUNCTIONS` (and so the template) gives it.
        let queue = |name: &str| {
            let def = match otklik_aws::resources::function(name).map(|f| f.trigger) {
                Some(otklik_aws::resources::Trigger::Queue(q)) => Ok(q),
                other => Err(format!("{name} is not a queue consumer: {other:?}")),
            };
            let sqs = clients.sqs.clone();
            let names = names.clone();
            async move {
                let def = def?;
                Ok::<_, BoxError>((SqsQueue::connect(sqs, &names, def).await?, def))
            }
        };
        let worker = Arc::new(
            otklik_intake_worker::Worker::from_parts(&parts.for_function("intake-worker")?).await?,
        );
        let dispatcher = Arc::new(
            otklik_survey_dispatch::Dispatcher::from_parts(&parts.for_function("survey-dispatch")?)
                .await?,
        );
        let inbound_worker = Arc::new(
            otklik_inbound_worker::InboundWorker::from_parts(
                &parts.for_function("inbound-worker")?,
            )
            .await?,
        );
        let writer = Arc::new(
            otklik_crm_writer::CrmWriter::from_parts(&parts.for_function("crm-writer")?).await?,
        );
        let creator = Arc::new(
            otklik_complaint_create::ComplaintCreator::from_parts(
                &parts.for_function("complaint-create")?,
            )
            .await?,
        );
        let sender = Arc::new(
            otklik_reply_sender::ReplySender::from_parts(&parts.for_function("reply-sender")?)
                .await?,
        );
        let mut crm_clients = BTreeMap::from([
            ("intake-worker", worker.crm.clone()),
            ("survey-dispatch", dispatcher.crm.clone()),
            ("crm-writer", writer.crm.clone()),
            ("complaint-create", creator.crm.clone()),
        ]);
        let mappings = vec![
            (
                "intake-worker",
                queue("intake-worker").await?,
                batch_handler(move |e| {
                    let f = worker.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
            (
                "survey-dispatch",
                queue("survey-dispatch").await?,
                batch_handler(move |e| {
                    let f = dispatcher.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
            (
                "inbound-worker",
                queue("inbound-worker").await?,
                batch_handler(move |e| {
                    let f = inbound_worker.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
            (
                "crm-writer",
                queue("crm-writer").await?,
                batch_handler(move |e| {
                    let f = writer.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
            (
                "complaint-create",
                queue("complaint-create").await?,
                batch_handler(move |e| {
                    let f = creator.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
            (
                "reply-sender",
                queue("reply-sender").await?,
                batch_handler(move |e| {
                    let f = sender.clone();
                    async move { f.handle_batch(e, Utc::now()).await }
                }),
            ),
        ];
        for (name, (queue, def), handler) in mappings {
            let stats = Arc::new(ConsumerStats::default());
            consumers.insert(name, stats.clone());
            tasks.push(
                Consumer {
                    name,
                    queue,
                    // The template's event source mapping, from the same definition.
                    batch_size: i32::try_from(def.batch_size).unwrap_or(10),
                    batching_window: def.batching_window,
                    handler,
                    retry_after: opts.retry_after,
                    stats,
                    redeliver_percent: opts.redeliver_percent,
                    // Lambda runs this many batches at once (the function's reserved concurrency
                    // or the mapping's maximum concurrency); every queue consumer declares one.
                    concurrency: otklik_aws::resources::function(name)
                        .and_then(|f| f.instances())
                        .unwrap_or(1),
                }
                .spawn(),
            );
        }

        // The Scheduler: one-time schedules, and the poller's rate schedule.
        let mut scheduler = LocalScheduler::new(&clients, &names, opts.speed);
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = scheduler.tick(Utc::now()).await {
                    tracing::warn!(error = %e, "scheduler tick failed");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
        let poller =
            otklik_history_poller::Poller::from_parts(&parts.for_function("history-poller")?)
                .await?;
        let poller_crm = poller.crm.clone();
        crm_clients.insert("history-poller", poller.crm.clone());
        let every = opts.poll_every;
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match poller.run(Utc::now()).await {
                    Ok(r) => tracing::debug!(report = %r, "poller ran"),
                    Err(e) => tracing::warn!(error = %e, "poller run failed"),
                }
            }
        }));

        Ok(LocalStack {
            poller_crm,
            crm_clients,
            api,
            crm_sim,
            wa_sim,
            parts,
            config_text,
            consumers,
            tasks,
        })
    }
}
