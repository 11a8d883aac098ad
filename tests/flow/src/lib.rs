//! The one harness of the flow tests: every test gets a stack of its own on the local AWS endpoint
//! (unique names), both simulators, the store, and the moves the tests make as the shop, the
//! customer and a mail reader. [`TestStack::start`] runs the whole product as `make local-up` does;
//! [`TestStack::bare`] runs nothing, so a test builds the functions it looks at and steps them.

use std::sync::Arc;
use std::time::Duration;

use otklik_app::env::Parts;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, QueueDef};
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::config::Config;
use otklik_core::delivery::EffectMessage;
use otklik_core::machine::{Command, Survey};
use otklik_core::ports::SurveyStore;
use otklik_local_runner::gateway::{self, GatewayHandle, Route};
use otklik_local_runner::local::{LocalStack, Options};
use otklik_local_runner::stack::{self, Endpoints};
use serde_json::{json, Value};

pub use otklik_local_runner::drive::{eventually, Driver};
pub use otklik_test_support::{local_endpoint, unique_stack};

/// How long a test waits for something the running stack does on its own.
pub const WAIT: Duration = Duration::from_secs(60);

/// The shop of the simulator's demo account whose orders the tests complete.
pub const SHOP: &str = "main-shop";

/// Where the example configuration's rating links point. A bare stack keeps it: its tests serve
/// only the routes they look at, and a letter reads as a shop's customer would get it.
const LANDING: &str = "https://feedback.example.ru";

/// A stack of one test's own, with the people around it.
pub struct TestStack {
    pub names: Names,
    pub clients: Clients,
    pub config: Arc<Config>,
    pub store: DynamoStore,
    /// The shop's staff and the customer, over the simulators' HTTP (and the API's, once served).
    pub driver: Driver,
    /// `meta` or `green-api` (or `none`): the WhatsApp provider the configuration names.
    provider: String,
    world: World,
}

enum World {
    /// Everything running, as `make local-up` has it (boxed: it is a kilobyte, the other a few
    /// handles).
    Running(Box<LocalStack>),
    /// The simulators alone, and the API once the test serves its routes.
    Bare {
        crm_sim: otklik_retailcrm_sim::SimHandle,
        wa_sim: otklik_whatsapp_sim::SimHandle,
        api: Option<GatewayHandle>,
    },
}

impl TestStack {
    /// The whole product under a stack name of `test`'s own: the trigger, the queues' mappings,
    /// the Scheduler with time compressed (two days pass in well under a second), the poller
    /// every two seconds.
    pub async fn start(test: &str) -> TestStack {
        TestStack::start_with(
            test,
            Options {
                speed: 1e7,
                poll_every: Duration::from_secs(2),
                ..Default::default()
            },
        )
        .await
    }

    /// [`start`](Self::start) with other options; their `stack` gives way to a name of `test`'s own.
    pub async fn start_with(test: &str, options: Options) -> TestStack {
        local_endpoint();
        let provider = options.provider.clone();
        let local = LocalStack::start(Options {
            stack: unique_stack(test),
            ..options
        })
        .await
        .unwrap();
        let parts = &local.parts;
        TestStack {
            names: parts.names.clone(),
            clients: parts.clients.clone(),
            config: parts.config.clone(),
            store: parts.store(),
            driver: Driver::new(local.crm_sim.url(), local.wa_sim.url(), local.api.url()),
            provider,
            world: World::Running(Box::new(local)),
        }
    }

    /// The stack's table, queues and schedule group and both simulators (the retailCRM account
    /// seeded as for the demo; WhatsApp sends no delivery statuses of its own, the tests feed
    /// them to see each step), with no function running: the test builds the ones it looks at
    /// from [`parts`](Self::parts), serves the HTTP ones ([`serve`](Self::serve)) and hands the
    /// queue ones their messages itself. `provider`: `meta`, `green-api` or `none`.
    pub async fn bare(test: &str, provider: &str) -> TestStack {
        local_endpoint();
        let crm_sim = otklik_retailcrm_sim::spawn(Default::default())
            .await
            .unwrap();
        let wa_sim = otklik_whatsapp_sim::spawn(otklik_whatsapp_sim::SimConfig {
            meta_token: stack::META_ACCESS_TOKEN.into(),
            green_api_token: stack::GREEN_API_TOKEN.into(),
            meta_app_secret: stack::META_APP_SECRET.into(),
            green_api_webhook_token: stack::GREEN_API_WEBHOOK_TOKEN.into(),
            auto_statuses: false,
            ..Default::default()
        })
        .await
        .unwrap();
        let driver = Driver::new(crm_sim.url(), wa_sim.url(), String::new());
        let seeded = driver
            .http
            .post(format!("{}/sim/seed", driver.crm))
            .json(&json!({"preset": "demo"}))
            .send()
            .await
            .unwrap();
        assert!(seeded.status().is_success(), "seed: {}", seeded.status());

        let clients = Clients::from_env().await;
        let names = Names::new(unique_stack(test));
        otklik_aws::provision::ensure_all(&clients, &names)
            .await
            .unwrap();
        let config = stack::config(&Endpoints {
            retailcrm: crm_sim.url(),
            whatsapp: wa_sim.url(),
            api: LANDING.into(),
            provider: provider.into(),
        })
        .unwrap();
        TestStack {
            store: DynamoStore::new(clients.dynamodb.clone(), &names)
                .with_hasher(stack::secrets(&config).unwrap().contact_hasher().unwrap())
                .folding(config.timezone, config.complaints.clone()),
            names,
            clients,
            config: Arc::new(config),
            driver,
            provider: provider.into(),
            world: World::Bare {
                crm_sim,
                wa_sim,
                api: None,
            },
        }
    }

    /// What a function is built from (its `from_parts`), as the local runner hands it over: this
    /// stack's configuration, names and clients, and the local secrets.
    pub fn parts(&self) -> Parts {
        Parts {
            config: self.config.clone(),
            secrets: Some(stack::secrets(&self.config).unwrap()),
            clients: self.clients.clone(),
            names: self.names.clone(),
            report_token: Some(stack::REPORT_TOKEN.into()),
        }
    }

    /// What [`start`](Self::start) does before any function runs, for a bare stack: Otklik's
    /// order fields in the shop's account (as `otklik crm setup` makes them) and the sender
    /// verified in SES.
    pub async fn set_up_shop(&self) {
        stack::prepare(&self.clients, &self.names, &self.config)
            .await
            .unwrap();
    }

    /// Serves `routes` as a bare stack's API and points the WhatsApp simulator's webhooks at it.
    pub async fn serve(&mut self, routes: Vec<Route>) {
        let World::Bare { api, .. } = &mut self.world else {
            panic!("a running stack serves its own API");
        };
        let gateway = gateway::spawn(routes).await.unwrap();
        let url = gateway.url();
        let r = self
            .driver
            .http
            .put(format!("{}/sim/config", self.driver.wa))
            .json(&json!({
                "metaWebhookUrl": format!("{url}/webhooks/whatsapp/meta"),
                "greenApiWebhookUrl": format!("{url}/webhooks/whatsapp/green-api"),
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "wa config: {}", r.status());
        self.driver.api = url;
        *api = Some(gateway);
    }

    /// The whole running product ([`start`](Self::start)): its consumers' counts, its parts.
    pub fn local(&self) -> &LocalStack {
        match &self.world {
            World::Running(local) => local,
            World::Bare { .. } => panic!("a bare stack runs no function"),
        }
    }

    pub fn crm_sim(&self) -> &otklik_retailcrm_sim::SimHandle {
        match &self.world {
            World::Running(local) => &local.crm_sim,
            World::Bare { crm_sim, .. } => crm_sim,
        }
    }

    /// `GET {path}` of the messaging simulator (its `/sim/…` control routes) as JSON.
    pub async fn sim_get(&self, path: &str) -> Value {
        self.driver
            .http
            .get(format!("{}{path}", self.wa_sim().url()))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sets up the messaging simulator (`/sim/max/numbers`, `/sim/sms/numbers`, `/sim/max/state`).
    pub async fn sim_put(&self, path: &str, body: Value) {
        self.driver
            .http
            .put(format!("{}{path}", self.wa_sim().url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    pub fn wa_sim(&self) -> &otklik_whatsapp_sim::SimHandle {
        match &self.world {
            World::Running(local) => &local.wa_sim,
            World::Bare { wa_sim, .. } => wa_sim,
        }
    }

    /// The API's base URL (empty while a bare stack serves nothing).
    pub fn api_url(&self) -> String {
        self.driver.api.clone()
    }

    /// One of the stack's queues, to look at what waits on it or to feed it.
    pub async fn queue(&self, def: &QueueDef) -> SqsQueue {
        SqsQueue::connect(self.clients.sqs.clone(), &self.names, def)
            .await
            .unwrap()
    }

    /// The survey `s` as the store holds it now.
    pub async fn survey(&self, s: &Survey) -> Survey {
        self.store.get(&s.id).await.unwrap().unwrap()
    }

    /// An order of [`SHOP`] with `order`'s fields (phone, email, …), taken by the first of
    /// `staff`, handed on down the list and completed by the last: everyone on it worked it.
    pub async fn complete_order(&self, order: Value, staff: &[u64]) -> u64 {
        let d = &self.driver;
        let id = d.new_order(SHOP, staff[0], order).await.unwrap();
        for pair in staff.windows(2) {
            d.reassign(SHOP, id, pair[1], pair[0]).await.unwrap();
        }
        let last = staff[staff.len() - 1];
        d.set_status(SHOP, id, "complete", last).await.unwrap();
        id
    }

    /// The customer writes `text` from `phone` on the configured provider.
    pub async fn say(&self, phone: &str, text: &str) {
        self.driver
            .say(&self.provider, &digits(phone), text)
            .await
            .unwrap();
    }

    /// A message of the customer's as `/sim/reply` takes it (`provider`, `from`, `text`, and
    /// `messageId`, `times` to deliver it again): the simulator signs and posts the provider's
    /// webhook, and every call of it must be answered 200.
    pub async fn reply(&self, body: Value) -> Value {
        let v: Value = self
            .driver
            .http
            .post(format!("{}/sim/reply", self.driver.wa))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for a in v["answers"].as_array().unwrap() {
            assert_eq!(a["status"], 200, "webhook answer: {v}");
        }
        v
    }

    /// A landing page opened as a browser (or a mail scanner) opens it: status and HTML.
    pub async fn open(&self, url: &str) -> (u16, String) {
        let r = self.driver.http.get(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// What the landing page's script sends: the form, with JSON asked back.
    pub async fn post_json(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .driver
            .http
            .post(url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A person clicking a rating link: the page opens and its script posts the page's nonce.
    pub async fn click(&self, url: &str) -> (u16, Value) {
        let (_, html) = self.open(url).await;
        self.post_json(url, &[("nonce", &nonce_of(&html))]).await
    }

    /// `/sim/{path}` of the retailCRM simulator as JSON (`stats`, `history`, `tasks`, …).
    pub async fn crm(&self, path: &str) -> Value {
        self.driver
            .http
            .get(format!("{}/sim/{path}", self.driver.crm))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The landing page's nonce field, as the browser reads it.
pub fn nonce_of(html: &str) -> String {
    let at = html.find("name=\"nonce\"").expect("a nonce field");
    let rest = &html[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

/// A phone number's digits, as the providers write the customer's number.
pub fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Everything waiting on `queue`, taken off it: each message's id and the effects it carries.
pub async fn drain(queue: &SqsQueue) -> Vec<(String, EffectMessage)> {
    drain_as(queue).await
}

/// Everything waiting on `queue`, taken off it: each message's id and its body as a `T`.
pub async fn drain_as<T: serde::de::DeserializeOwned>(queue: &SqsQueue) -> Vec<(String, T)> {
    let mut out = Vec::new();
    loop {
        let batch = queue.receive(10, 0).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        for m in batch {
            let body = m.body().unwrap().to_string();
            out.push((
                m.message_id().unwrap_or_default().to_string(),
                serde_json::from_str(&body).unwrap(),
            ));
            queue.delete(m.receipt_handle().unwrap()).await.unwrap();
        }
    }
}

/// The commands of everything waiting on `queue`, taken off it.
pub async fn commands(queue: &SqsQueue) -> Vec<Command> {
    drain(queue)
        .await
        .into_iter()
        .flat_map(|(_, m)| m.effects().map(|e| e.command.clone()).collect::<Vec<_>>())
        .collect()
}

/// The DynamoDB requests of the clients [`DynamoRequests::count`] was given: an SDK interceptor,
/// so every attempt of every operation is seen, as (operation, body).
#[derive(Debug, Clone, Default)]
pub struct DynamoRequests(Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl DynamoRequests {
    /// Counts the requests of `clients`' DynamoDB client from now on.
    pub fn count(&self, clients: &mut Clients) {
        clients.dynamodb = aws_sdk_dynamodb::Client::from_conf(
            clients
                .dynamodb
                .config()
                .to_builder()
                .interceptor(self.clone())
                .build(),
        );
    }

    /// Requests of `operation` ("GetItem", "BatchGetItem", …) that name an item whose key starts
    /// with `key_prefix` ("survey#").
    pub fn of(&self, operation: &str, key_prefix: &str) -> usize {
        let key = format!("\"S\":\"{key_prefix}");
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, body)| op == operation && body.contains(&key))
            .count()
    }
}

impl aws_sdk_dynamodb::config::Intercept for DynamoRequests {
    fn name(&self) -> &'static str {
        "DynamoRequests"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request();
        // "DynamoDB_20120810.GetItem" → "GetItem".
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        self.0.lock().unwrap().push((operation, body));
        Ok(())
    }
}
