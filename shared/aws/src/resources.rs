//! The one definition of every table and queue.
//!
//! Names are `<stack>-<suffix>`, with the stack from `OTKLIK_STACK` (default `otklik`), so several
//! stacks (prod, staging, a test run) share one account or one local endpoint without clashing.
//! `infra/template.yaml` must declare exactly these; a test compares them.

use std::time::Duration;

/// The attribute names of the main table's keys and index.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    pub const GSI2_PK: &str = "gsi2pk";
    pub const GSI2_SK: &str = "gsi2sk";
    /// Epoch seconds after which DynamoDB may delete the item (retention, SPEC §8).
    pub const EXPIRES_AT: &str = "expires_at";
    pub const VERSION: &str = "version";
    pub const DOC: &str = "doc";
}

/// A DynamoDB table with string keys `pk`/`sk` and optional global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub suffix: &'static str,
    /// (index name, partition key, sort key)
    pub indexes: &'static [(&'static str, &'static str, &'static str)],
    pub ttl_attribute: Option<&'static str>,
}

/// The main table: surveys, contacts (do-not-contact, last surveyed), idempotency records, cursors.
pub const MAIN_TABLE: TableDef = TableDef {
    suffix: "main",
    // gsi1: open surveys by the customer's hashed phone; gsi2: surveys by the month and moment
    // their question went out (the reports' periods).
    indexes: &[
        ("gsi1", attr::GSI1_PK, attr::GSI1_SK),
        ("gsi2", attr::GSI2_PK, attr::GSI2_SK),
    ],
    ttl_attribute: Some(attr::EXPIRES_AT),
};

pub const TABLES: &[TableDef] = &[MAIN_TABLE];

/// An SQS queue with its dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDef {
    pub suffix: &'static str,
    /// At least six times the consumer's timeout plus its batching window (AWS's advice for
    /// Lambda event sources).
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u32,
    /// The consumer's event source mapping: at most this many messages per invocation
    /// (`BatchSize`; up to 10,000 on a standard queue, and above 10 only with a batching window)…
    pub batch_size: u32,
    /// …gathered for at most this long once the first one is there
    /// (`MaximumBatchingWindowInSeconds`; zero: invoked with whatever one receive brings).
    /// Both: "Lambda parameters for Amazon SQS event source mappings",
    /// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html
    pub batching_window: Duration,
}

/// Lambda's default batch: what one SQS receive gives, no waiting.
const ONE_RECEIVE: (u32, Duration) = (10, Duration::ZERO);
/// A batch big enough to fill one retailCRM orders-list read (100 ids): the consumers that read
/// an order per message gather up to 100 for three seconds — at a peak (50 orders a second)
/// that fills the batch, on a quiet day it delays a survey by three seconds.
const ONE_ORDERS_READ: (u32, Duration) = (100, Duration::from_secs(3));

impl QueueDef {
    pub fn dlq_suffix(&self) -> String {
        format!("{}-dlq", self.suffix)
    }

    /// The environment variable in which the template hands a sending function this queue's URL
    /// (`OTKLIK_QUEUE_URL_CRM_WRITES`), so its cold start makes no `GetQueueUrl` call.
    pub fn url_env(&self) -> String {
        format!(
            "OTKLIK_QUEUE_URL_{}",
            self.suffix.to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// Order signals from the webhook and the poller, waiting for the intake decision.
pub const INTAKE_QUEUE: QueueDef = QueueDef {
    suffix: "intake",
    // Six intake-worker timeouts (120 s) and the batching window, with room to spare.
    visibility_timeout: Duration::from_secs(750),
    max_receive_count: 10,
    batch_size: ONE_ORDERS_READ.0,
    batching_window: ONE_ORDERS_READ.1,
};
/// Due surveys, put here by the one-time schedules.
pub const DISPATCH_QUEUE: QueueDef = QueueDef {
    suffix: "dispatch",
    // Six survey-dispatch timeouts (180 s) and the batching window, with room to spare: a failed
    // send comes back after about 18 minutes.
    visibility_timeout: Duration::from_secs(1110),
    max_receive_count: 10,
    batch_size: ONE_ORDERS_READ.0,
    batching_window: ONE_ORDERS_READ.1,
};
/// Effects on retailCRM (rating, words, credits, inspector tasks), drained at a paced rate.
pub const CRM_WRITES_QUEUE: QueueDef = QueueDef {
    suffix: "crm-writes",
    visibility_timeout: Duration::from_secs(180),
    // retailCRM may be down for hours: many tries before a message is parked.
    max_receive_count: 50,
    batch_size: ONE_RECEIVE.0,
    batching_window: ONE_RECEIVE.1,
};
/// Complaints to open.
pub const COMPLAINTS_QUEUE: QueueDef = QueueDef {
    suffix: "complaints",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 50,
    batch_size: ONE_RECEIVE.0,
    batching_window: ONE_RECEIVE.1,
};
/// WhatsApp webhook items (customers' messages, delivery statuses) as `provider-webhooks` took them
/// in, waiting for `inbound-worker` to route and apply them.
pub const INBOUND_QUEUE: QueueDef = QueueDef {
    suffix: "inbound",
    visibility_timeout: Duration::from_secs(180),
    // A customer's answer: many tries (an hour) before it is parked for a redrive.
    max_receive_count: 20,
    batch_size: ONE_RECEIVE.0,
    batching_window: ONE_RECEIVE.1,
};
/// Messages to customers (thanks, questions, confirmations).
pub const REPLIES_QUEUE: QueueDef = QueueDef {
    suffix: "replies",
    visibility_timeout: Duration::from_secs(180),
    max_receive_count: 10,
    batch_size: ONE_RECEIVE.0,
    batching_window: ONE_RECEIVE.1,
};

pub const QUEUES: &[QueueDef] = &[
    INTAKE_QUEUE,
    DISPATCH_QUEUE,
    INBOUND_QUEUE,
    CRM_WRITES_QUEUE,
    COMPLAINTS_QUEUE,
    REPLIES_QUEUE,
];

/// Concrete names for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub stack: String,
}

impl Names {
    pub fn new(stack: impl Into<String>) -> Names {
        Names {
            stack: stack.into(),
        }
    }

    /// From `OTKLIK_STACK`, default `otklik`.
    pub fn from_env() -> Names {
        Names::new(std::env::var("OTKLIK_STACK").unwrap_or_else(|_| "otklik".to_string()))
    }

    pub fn table(&self, t: &TableDef) -> String {
        format!("{}-{}", self.stack, t.suffix)
    }

    pub fn queue(&self, q: &QueueDef) -> String {
        format!("{}-{}", self.stack, q.suffix)
    }

    pub fn dlq(&self, q: &QueueDef) -> String {
        format!("{}-{}", self.stack, q.dlq_suffix())
    }

    /// The EventBridge Scheduler group holding the one-time survey schedules.
    pub fn schedule_group(&self) -> String {
        format!("{}-{}", self.stack, SCHEDULE_GROUP_SUFFIX)
    }
}

/// Suffix of the scheduler group of one-time survey schedules.
pub const SCHEDULE_GROUP_SUFFIX: &str = "surveys";

/// One HTTP route of the API, as API Gateway matches it (`{token}` is one path segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
}

impl Route {
    /// Does this route take `method` on `path`, the way API Gateway matches a route key?
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.is_any() && !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        self.matches_path(path)
    }

    /// The path's catch-all: it takes every method the path has no route of its own for.
    pub fn is_any(&self) -> bool {
        self.method == "ANY"
    }

    /// API Gateway's route key for this route (`POST /webhooks/max`), as the request context
    /// carries it.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// How specifically this route takes a request, for choosing among several that match: a
    /// literal segment beats a variable, a variable beats a greedy tail, and a route of the
    /// method beats the path's `ANY` (API Gateway's "most specific match").
    fn specificity(&self) -> (usize, usize, bool) {
        let segments: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let literal = segments.iter().filter(|s| !s.starts_with('{')).count();
        let bounded = segments.iter().filter(|s| !s.ends_with("+}")).count();
        (literal, bounded, !self.is_any())
    }

    fn matches_path(&self, path: &str) -> bool {
        let want: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        // A greedy last segment (`{proxy+}`) takes one or more segments, as API Gateway's does.
        if let Some((last, head)) = want.split_last() {
            if last.starts_with('{') && last.ends_with("+}") {
                return got.len() > head.len()
                    && head.iter().zip(&got).all(|(w, g)| w == g)
                    && got[head.len()..].iter().all(|g| !g.is_empty());
            }
        }
        want.len() == got.len()
            && want.iter().zip(&got).all(|(w, g)| {
                if w.starts_with('{') && w.ends_with('}') {
                    !g.is_empty()
                } else {
                    w == g
                }
            })
    }
}

/// What starts a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Requests on these routes of the HTTP API.
    Http(&'static [Route]),
    /// Batches from this queue (an SQS event source mapping with per-item failures).
    Queue(&'static QueueDef),
    /// A recurring EventBridge Scheduler schedule with this expression.
    Schedule(&'static str),
}

/// What a function may touch besides its trigger: the template grants exactly this (one role per
/// function), and a test holds the two together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read the main table (get, query).
    ReadTable,
    /// Read and write the main table (get, query, put, update, delete).
    WriteTable,
    /// Send messages to this queue.
    Send(&'static QueueDef),
    /// Create the one-time survey schedules (and pass their role to the Scheduler).
    Schedules,
    /// Send email through SES.
    SendEmail,
    /// Read this one of the installation's secrets ([`SECRETS`]): the function holds exactly the
    /// keys of the secrets it is granted, and no other.
    Secret(&'static SecretDef),
}

/// One Secrets Manager secret: a JSON object holding the keys of one purpose, so a function is
/// granted exactly the purposes it serves (least privilege, issue 22 item 3). On AWS it is named
/// `<SecretsPrefix>/<suffix>` (the template's `SecretsPrefix` parameter); locally the environment
/// supplies every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretDef {
    pub suffix: &'static str,
    /// The `OTKLIK_*` keys this secret holds; every key lives in exactly one secret.
    pub keys: &'static [&'static str],
    /// What it is for, in a phrase (`otklik config check` and the template say it).
    pub purpose: &'static str,
}

impl SecretDef {
    /// The environment variable in which the template hands a function this secret's name
    /// (`OTKLIK_SECRET_ID_CRM`).
    pub fn id_env(&self) -> String {
        format!(
            "OTKLIK_SECRET_ID_{}",
            self.suffix.to_ascii_uppercase().replace('-', "_")
        )
    }

    /// Its name under `prefix` (`otklik/prod` → `otklik/prod/crm`).
    pub fn name(&self, prefix: &str) -> String {
        format!("{}/{}", prefix.trim_end_matches('/'), self.suffix)
    }
}

use otklik_core::config as keys;

/// The retailCRM API key: the functions that call retailCRM.
pub const CRM_SECRET: SecretDef = SecretDef {
    suffix: "crm",
    keys: &[keys::ENV_CRM_API_KEY],
    purpose: "the retailCRM API key",
};
/// The retailCRM trigger's shared secret: only the webhook that checks it.
pub const TRIGGER_SECRET: SecretDef = SecretDef {
    suffix: "trigger",
    keys: &[keys::ENV_TRIGGER_SECRET],
    purpose: "the shared secret of the retailCRM trigger",
};
/// The key that signs (and checks) the email and SMS rating links.
pub const LINKS_SECRET: SecretDef = SecretDef {
    suffix: "links",
    keys: &[keys::ENV_LINK_SECRET],
    purpose: "the key signing the rating links",
};
/// The tokens that send chat messages (WhatsApp by Meta or Green-API, MAX by GREEN-API v3).
pub const MESSAGING_SECRET: SecretDef = SecretDef {
    suffix: "messaging",
    keys: &[
        keys::ENV_META_ACCESS_TOKEN,
        keys::ENV_GREEN_API_TOKEN,
        keys::ENV_MAX_TOKEN,
    ],
    purpose: "the tokens that send WhatsApp and MAX messages",
};
/// The SMS provider's key: only the dispatcher sends SMS.
pub const SMS_SECRET: SecretDef = SecretDef {
    suffix: "sms",
    keys: &[keys::ENV_SMSRU_API_ID],
    purpose: "the SMS provider's key",
};
/// What authenticates the providers' webhooks (signing secret, verify and bearer tokens, the SMS
/// callback's URL secret): only the webhook function.
pub const WEBHOOKS_SECRET: SecretDef = SecretDef {
    suffix: "webhooks",
    keys: &[
        keys::ENV_META_APP_SECRET,
        keys::ENV_META_VERIFY_TOKEN,
        keys::ENV_GREEN_API_WEBHOOK_TOKEN,
        keys::ENV_MAX_WEBHOOK_TOKEN,
        keys::ENV_SMS_CALLBACK_SECRET,
    ],
    purpose: "what authenticates the messaging providers' webhooks",
};
/// The key of the hashes that stand for phones, emails and providers' ids in the table (the
/// do-not-contact list, the markers): every function that writes or looks up such a key, with one
/// key between them all, or their hashes would not meet.
pub const CONTACTS_SECRET: SecretDef = SecretDef {
    suffix: "contacts",
    keys: &[keys::ENV_CONTACT_KEY],
    purpose: "the key of the hashes standing for phones, emails and ids",
};
/// The KPI report's bearer token, which also keys the dashboard's sign-in links.
pub const REPORTS_SECRET: SecretDef = SecretDef {
    suffix: "reports",
    keys: &[keys::ENV_REPORT_TOKEN],
    purpose: "the KPI report's token and dashboard link key",
};

pub const SECRETS: &[SecretDef] = &[
    CRM_SECRET,
    TRIGGER_SECRET,
    LINKS_SECRET,
    MESSAGING_SECRET,
    SMS_SECRET,
    WEBHOOKS_SECRET,
    CONTACTS_SECRET,
    REPORTS_SECRET,
];

/// The secret that holds `key`, if any.
pub fn secret_of(key: &str) -> Option<&'static SecretDef> {
    SECRETS.iter().find(|s| s.keys.contains(&key))
}

/// One Lambda function: its crate is `functions/<name>`, its binary `<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionDef {
    pub name: &'static str,
    pub trigger: Trigger,
    /// Lambda timeout; a queue's visibility timeout is at least six times its consumer's.
    pub timeout_secs: u32,
    /// Lambda's reserved concurrency: at most this many instances at once.
    pub reserved_concurrency: Option<u32>,
    /// For a queue consumer: at most this many instances polling (the event source mapping's
    /// maximum concurrency; 2 is the least SQS allows). Every queue consumer is bounded, by this
    /// or its reserved concurrency: the local runner runs exactly that many batches at once, as
    /// Lambda would at most ("Configuring scaling behavior for SQS event source mappings",
    /// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
    pub max_concurrency: Option<u32>,
    /// Set exactly for the functions that call retailCRM. Every such call books its slot in the
    /// one budget all functions and instances share (`otklik_core::crm_budget`, an item of the
    /// main table), so a lone busy function may use the account's whole limit. The number is the
    /// fixed share, in requests per second, each instance had before that budget existed
    /// (`OTKLIK_CRM_RATE_PER_SECOND`, no longer set or read); only its presence is used now, to
    /// mark a retailCRM caller.
    pub crm_rate: Option<u32>,
    pub access: &'static [Access],
}

impl FunctionDef {
    /// The secrets it is granted, in [`SECRETS`] order.
    pub fn secrets(&self) -> Vec<&'static SecretDef> {
        SECRETS
            .iter()
            .filter(|s| self.access.contains(&Access::Secret(s)))
            .collect()
    }

    /// The `OTKLIK_*` keys it may read: those of its secrets, nothing else.
    pub fn secret_keys(&self) -> Vec<&'static str> {
        self.secrets()
            .into_iter()
            .flat_map(|s| s.keys.iter().copied())
            .collect()
    }

    /// The most instances that can run at once, if bounded.
    pub fn instances(&self) -> Option<u32> {
        match (self.reserved_concurrency, self.max_concurrency) {
            (Some(r), Some(m)) => Some(r.min(m)),
            (r, m) => r.or(m),
        }
    }
}

/// The poller's period: quick enough that a missed trigger costs minutes, not hours.
pub const POLL_SCHEDULE: &str = "rate(5 minutes)";

/// The weekly digest's schedule: every hour at five past, in UTC. The function decides whether
/// this week's digest is due (`report.digest_day` and `digest_hour` in the shop's time zone), so
/// the template needs nothing from the config, a changed day or hour needs no new schedule, and a
/// firing SES refused is made up an hour later; the per-week claim keeps it to one mail.
pub const DIGEST_SCHEDULE: &str = "cron(5 * * * ? *)";

/// The queues the reply engine hands effects to.
const ENGINE_QUEUES: [Access; 4] = [
    Access::Send(&DISPATCH_QUEUE),
    Access::Send(&CRM_WRITES_QUEUE),
    Access::Send(&COMPLAINTS_QUEUE),
    Access::Send(&REPLIES_QUEUE),
];

/// Every function of the product.
pub const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "order-intake",
        trigger: Trigger::Http(&[
            Route {
                method: "POST",
                path: "/webhooks/retailcrm",
            },
            // Every path also has an `ANY` route: API Gateway sends it the methods the path does
            // not take, and the function answers 405 with `Allow` (`http::wrong_method`) rather
            // than the gateway's 404, which would say the path does not exist.
            Route {
                method: "ANY",
                path: "/webhooks/retailcrm",
            },
        ]),
        timeout_secs: 10,
        reserved_concurrency: None,
        max_concurrency: None,
        crm_rate: None,
        access: &[Access::Send(&INTAKE_QUEUE), Access::Secret(&TRIGGER_SECRET)],
    },
    FunctionDef {
        name: "intake-worker",
        trigger: Trigger::Queue(&INTAKE_QUEUE),
        // A full batch: 100 signals, each a few table writes and a schedule, plus the orders'
        // list read and any product-group reads at this instance's share of the CRM's rate.
        timeout_secs: 120,
        reserved_concurrency: None,
        // A full batch handles its signals one after another (5 s for 100 at a December peak
        // locally); two at a time held the asking for minutes. Under a backlog every batch is
        // full, so more at once add no list reads, and the shared budget paces those there are.
        max_concurrency: Some(4),
        crm_rate: Some(1),
        access: &[
            Access::WriteTable,
            Access::Schedules,
            Access::Secret(&CRM_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "history-poller",
        trigger: Trigger::Schedule(POLL_SCHEDULE),
        timeout_secs: 120,
        reserved_concurrency: Some(1),
        max_concurrency: None,
        crm_rate: Some(1),
        access: &[
            Access::WriteTable,
            Access::Send(&INTAKE_QUEUE),
            Access::Secret(&CRM_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "survey-dispatch",
        trigger: Trigger::Queue(&DISPATCH_QUEUE),
        // A full batch: 100 questions, each a provider call or two and a few table writes, plus
        // the orders' list read and the CRM reads per survey at this instance's share of the rate.
        timeout_secs: 180,
        reserved_concurrency: None,
        // As intake-worker's: a full batch asks one question after another (13 s for 100 at a
        // December peak locally), and two at a time held the asking for minutes.
        max_concurrency: Some(4),
        crm_rate: Some(1),
        // Schedules: the one reminder's schedule, made at the first send. The intake queue: a
        // batch whose orders no pass has covered runs the history pass itself, signals included.
        // Its own queue: the next channel's question, when a failure it applies falls back.
        access: &[
            Access::WriteTable,
            Access::Send(&INTAKE_QUEUE),
            Access::Send(&DISPATCH_QUEUE),
            Access::SendEmail,
            Access::Schedules,
            Access::Secret(&CRM_SECRET),
            Access::Secret(&LINKS_SECRET),
            Access::Secret(&MESSAGING_SECRET),
            Access::Secret(&SMS_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "provider-webhooks",
        trigger: Trigger::Http(&[
            Route {
                method: "GET",
                path: "/webhooks/whatsapp/meta",
            },
            Route {
                method: "POST",
                path: "/webhooks/whatsapp/meta",
            },
            Route {
                method: "POST",
                path: "/webhooks/whatsapp/green-api",
            },
            Route {
                method: "POST",
                path: "/webhooks/max",
            },
            // SMS.ru signs nothing: the last segment is the callback secret.
            Route {
                method: "POST",
                path: "/webhooks/sms/{secret}",
            },
            Route {
                method: "ANY",
                path: "/webhooks/whatsapp/meta",
            },
            Route {
                method: "ANY",
                path: "/webhooks/whatsapp/green-api",
            },
            Route {
                method: "ANY",
                path: "/webhooks/max",
            },
            Route {
                method: "ANY",
                path: "/webhooks/sms/{secret}",
            },
        ]),
        timeout_secs: 10,
        reserved_concurrency: None,
        max_concurrency: None,
        crm_rate: None,
        // Checks the caller and queues; never waits on the table, so it answers the provider
        // in milliseconds however busy the rest is.
        access: &[
            Access::Send(&INBOUND_QUEUE),
            Access::Secret(&WEBHOOKS_SECRET),
        ],
    },
    FunctionDef {
        name: "inbound-worker",
        trigger: Trigger::Queue(&INBOUND_QUEUE),
        timeout_secs: 30,
        reserved_concurrency: None,
        // The customers' answers: at a peak (a thousand replies a minute, each followed by its
        // delivery statuses) one batch at a time falls behind by tens of seconds, and the answer
        // to a reply waits for everything queued before it. Ten batches at once keep the wait
        // under a second; the engine's conditional saves make concurrent items of one survey
        // safe (the loser decides again).
        max_concurrency: Some(10),
        crm_rate: None,
        // The webhook was authenticated before its items were queued; the one secret is the
        // contact key: the markers of provider ids are keyed hashes (privacy).
        access: &[
            Access::WriteTable,
            ENGINE_QUEUES[0],
            ENGINE_QUEUES[1],
            ENGINE_QUEUES[2],
            ENGINE_QUEUES[3],
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "email-landing",
        trigger: Trigger::Http(&[
            // A link cut short (`/r/`, `/s/`, as a mail client or a person may leave it) gets the
            // friendly "link not found" page rather than API Gateway's own JSON. A route path
            // may not end in `/`, and `/r` takes `/r/` too, on AWS as in `Route::matches`.
            Route {
                method: "GET",
                path: "/r",
            },
            Route {
                method: "HEAD",
                path: "/r",
            },
            Route {
                method: "GET",
                path: "/s",
            },
            Route {
                method: "HEAD",
                path: "/s",
            },
            Route {
                method: "GET",
                path: "/r/{token}",
            },
            Route {
                method: "HEAD",
                path: "/r/{token}",
            },
            Route {
                method: "POST",
                path: "/r/{token}",
            },
            Route {
                method: "POST",
                path: "/r/{token}/contact",
            },
            Route {
                method: "POST",
                path: "/r/{token}/comment",
            },
            // The SMS's short link: GET shows five ratings to tap, POST records the tap.
            Route {
                method: "GET",
                path: "/s/{id}",
            },
            Route {
                method: "HEAD",
                path: "/s/{id}",
            },
            Route {
                method: "POST",
                path: "/s/{id}",
            },
            Route {
                method: "POST",
                path: "/s/{id}/contact",
            },
            Route {
                method: "POST",
                path: "/s/{id}/comment",
            },
            Route {
                method: "ANY",
                path: "/r",
            },
            Route {
                method: "ANY",
                path: "/s",
            },
            Route {
                method: "ANY",
                path: "/r/{token}",
            },
            Route {
                method: "ANY",
                path: "/r/{token}/contact",
            },
            Route {
                method: "ANY",
                path: "/r/{token}/comment",
            },
            Route {
                method: "ANY",
                path: "/s/{id}",
            },
            Route {
                method: "ANY",
                path: "/s/{id}/contact",
            },
            Route {
                method: "ANY",
                path: "/s/{id}/comment",
            },
        ]),
        timeout_secs: 10,
        reserved_concurrency: None,
        max_concurrency: None,
        crm_rate: None,
        access: &[
            Access::WriteTable,
            ENGINE_QUEUES[0],
            ENGINE_QUEUES[1],
            ENGINE_QUEUES[2],
            ENGINE_QUEUES[3],
            Access::Secret(&LINKS_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "crm-writer",
        trigger: Trigger::Queue(&CRM_WRITES_QUEUE),
        timeout_secs: 30,
        reserved_concurrency: Some(2),
        max_concurrency: Some(2),
        crm_rate: Some(2),
        access: &[
            Access::WriteTable,
            Access::Secret(&CRM_SECRET),
            Access::Secret(&LINKS_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "complaint-create",
        trigger: Trigger::Queue(&COMPLAINTS_QUEUE),
        timeout_secs: 30,
        reserved_concurrency: Some(1),
        max_concurrency: None,
        crm_rate: Some(1),
        access: &[
            Access::WriteTable,
            Access::Secret(&CRM_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "reply-sender",
        trigger: Trigger::Queue(&REPLIES_QUEUE),
        timeout_secs: 30,
        reserved_concurrency: None,
        // One provider call per message; five batches at once (Lambda's starting concurrency)
        // keep up with a peak's answers. Each send is claimed before the call, so concurrent
        // batches never say the same thing twice.
        max_concurrency: Some(5),
        crm_rate: None,
        access: &[
            Access::WriteTable,
            Access::Secret(&MESSAGING_SECRET),
            Access::Secret(&CONTACTS_SECRET),
        ],
    },
    FunctionDef {
        name: "kpi-report",
        // The JSON route, the dashboard page, and its pages and files below it.
        trigger: Trigger::Http(&[
            Route {
                method: "GET",
                path: "/reports/kpi",
            },
            Route {
                method: "GET",
                path: "/reports",
            },
            Route {
                method: "GET",
                path: "/reports/{proxy+}",
            },
            Route {
                method: "ANY",
                path: "/reports/kpi",
            },
            Route {
                method: "ANY",
                path: "/reports",
            },
            Route {
                method: "ANY",
                path: "/reports/{proxy+}",
            },
        ]),
        timeout_secs: 30,
        reserved_concurrency: None,
        max_concurrency: None,
        crm_rate: None,
        access: &[Access::ReadTable, Access::Secret(&REPORTS_SECRET)],
    },
    FunctionDef {
        name: "kpi-digest",
        trigger: Trigger::Schedule(DIGEST_SCHEDULE),
        timeout_secs: 60,
        reserved_concurrency: None,
        max_concurrency: None,
        crm_rate: None,
        // Reads the surveys and writes only the week's claim; mails through SES; the reports
        // secret's token signs the dashboard link.
        access: &[
            Access::WriteTable,
            Access::SendEmail,
            Access::Secret(&REPORTS_SECRET),
        ],
    },
];

/// The function called `name`.
pub fn function(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The function that serves `method` on `path`, as the HTTP API would route it.
pub fn route(method: &str, path: &str) -> Option<&'static FunctionDef> {
    matched_route(method, path).map(|(f, _)| f)
}

/// The route API Gateway picks for `method` on `path` and its function: of the routes that take
/// the request, the most specific ([`Route::specificity`]).
pub fn matched_route(method: &str, path: &str) -> Option<(&'static FunctionDef, &'static Route)> {
    FUNCTIONS
        .iter()
        .flat_map(|f| match f.trigger {
            Trigger::Http(routes) => routes.iter().map(move |r| (f, r)).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .filter(|(_, r)| r.matches(method, path))
        .max_by_key(|(_, r)| r.specificity())
}

/// The methods the route path `path` (a route's own path, `/r/{token}`) takes, for a 405's
/// `Allow`: its routes' methods, the catch-all aside.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = FUNCTIONS
        .iter()
        .flat_map(|f| match f.trigger {
            Trigger::Http(routes) => routes.to_vec(),
            _ => Vec::new(),
        })
        .filter(|r| r.path == path && !r.is_any())
        .map(|r| r.method)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_unique() {
        let n = Names::new("shop");
        assert_eq!(n.table(&MAIN_TABLE), "shop-main");
        assert_eq!(n.queue(&DISPATCH_QUEUE), "shop-dispatch");
        assert_eq!(n.dlq(&DISPATCH_QUEUE), "shop-dispatch-dlq");
        let mut all: Vec<String> = QUEUES.iter().flat_map(|q| [n.queue(q), n.dlq(q)]).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), QUEUES.len() * 2);
        // SQS names: 1–80 characters of [A-Za-z0-9_-].
        for name in all {
            assert!(
                name.len() <= 80
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
    }

    #[test]
    fn batches_stay_within_lambdas_limits_and_fill_an_orders_read_where_one_is_made() {
        for q in QUEUES {
            // Standard queues: up to 10,000 a batch, more than 10 only with a batching window;
            // the window is at most 300 s.
            assert!((1..=10_000).contains(&q.batch_size), "{}", q.suffix);
            assert!(
                q.batch_size <= 10 || q.batching_window >= Duration::from_secs(1),
                "{}: a batch above 10 needs a window",
                q.suffix
            );
            assert!(
                q.batching_window <= Duration::from_secs(300),
                "{}",
                q.suffix
            );
            assert_eq!(
                q.batching_window.subsec_nanos(),
                0,
                "{}: whole seconds",
                q.suffix
            );
        }
        // The two consumers that read an order per message take a whole orders-list page at once.
        for q in [INTAKE_QUEUE, DISPATCH_QUEUE] {
            assert_eq!(q.batch_size, 100, "{}", q.suffix);
        }
    }

    #[test]
    fn every_queue_consumer_runs_a_bounded_number_of_batches_at_once() {
        for f in FUNCTIONS {
            if let Trigger::Queue(_) = f.trigger {
                let n = f.instances();
                assert!(
                    n.is_some_and(|n| n >= 1),
                    "{}: no bound on its concurrent batches",
                    f.name
                );
                // ScalingConfig.MaximumConcurrency: 2 to 1000.
                if let Some(m) = f.max_concurrency {
                    assert!((2..=1000).contains(&m), "{}: {m}", f.name);
                }
            }
        }
        // The customer's answer never waits for one batch at a time: both steps of it run
        // several batches at once.
        for name in ["inbound-worker", "reply-sender"] {
            assert!(
                function(name).and_then(|f| f.instances()) >= Some(5),
                "{name}"
            );
        }
    }

    #[test]
    fn visibility_covers_six_consumer_timeouts() {
        for f in FUNCTIONS {
            if let Trigger::Queue(q) = f.trigger {
                assert!(
                    q.visibility_timeout
                        >= Duration::from_secs(6 * u64::from(f.timeout_secs)) + q.batching_window,
                    "{} is consumed by {} ({} s)",
                    q.suffix,
                    f.name,
                    f.timeout_secs
                );
            }
        }
        for q in QUEUES {
            assert!(q.max_receive_count >= 3, "{}", q.suffix);
        }
    }

    #[test]
    fn the_crm_callers_share_the_whole_budget_through_the_table() {
        for f in FUNCTIONS {
            if f.crm_rate.is_some() {
                // Each call books its slot with a conditional UpdateItem on the main table.
                assert!(f.access.contains(&Access::WriteTable), "{}", f.name);
                // Bounded instances bound the callers waiting for slots at once.
                assert!(
                    f.instances().is_some(),
                    "{} calls retailCRM unbounded",
                    f.name
                );
            }
        }
        // The writer is the one with reserved concurrency (SPEC §5, §7).
        assert!(function("crm-writer")
            .unwrap()
            .reserved_concurrency
            .is_some());
    }

    #[test]
    fn a_function_linking_the_crm_client_has_a_crm_rate() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
        for f in FUNCTIONS {
            let manifest = std::fs::read_to_string(dir.join(f.name).join("Cargo.toml")).unwrap();
            let deps = manifest
                .split("[dev-dependencies]")
                .next()
                .unwrap_or_default();
            assert_eq!(
                deps.contains("otklik-retailcrm"),
                f.crm_rate.is_some(),
                "{}: crm_rate must be set exactly when it calls retailCRM",
                f.name
            );
        }
    }

    #[test]
    fn every_secret_key_lives_in_exactly_one_secret() {
        for key in otklik_core::config::SECRET_ENV_KEYS {
            let holders: Vec<&str> = SECRETS
                .iter()
                .filter(|s| s.keys.contains(key))
                .map(|s| s.suffix)
                .collect();
            assert_eq!(holders.len(), 1, "{key}: {holders:?}");
        }
        for s in SECRETS {
            for k in s.keys {
                assert!(otklik_core::config::SECRET_ENV_KEYS.contains(k), "{k}");
            }
            // Every secret is read by someone; a secret nobody reads is one to forget to rotate.
            assert!(
                FUNCTIONS.iter().any(|f| f.secrets().contains(&s)),
                "{}",
                s.suffix
            );
        }
        assert_eq!(CRM_SECRET.id_env(), "OTKLIK_SECRET_ID_CRM");
        assert_eq!(CRM_SECRET.name("otklik/prod/"), "otklik/prod/crm");
        assert_eq!(
            secret_of(otklik_core::config::ENV_LINK_SECRET),
            Some(&LINKS_SECRET)
        );
    }

    #[test]
    fn only_the_retailcrm_callers_hold_its_key_and_only_the_webhooks_their_checks() {
        for f in FUNCTIONS {
            assert_eq!(
                f.secrets().contains(&&CRM_SECRET),
                f.crm_rate.is_some(),
                "{}: the retailCRM key exactly where retailCRM is called",
                f.name
            );
            assert_eq!(
                f.secrets().contains(&&TRIGGER_SECRET),
                f.name == "order-intake",
                "{}",
                f.name
            );
            assert_eq!(
                f.secrets().contains(&&WEBHOOKS_SECRET),
                f.name == "provider-webhooks",
                "{}",
                f.name
            );
        }
        // The one function that takes customers' words from the queue holds only the key of the
        // hashes its markers are written under.
        assert_eq!(
            function("inbound-worker").unwrap().secrets(),
            vec![&CONTACTS_SECRET]
        );
        assert_eq!(
            function("kpi-report").unwrap().secret_keys(),
            vec![otklik_core::config::ENV_REPORT_TOKEN]
        );
    }

    #[test]
    fn every_queue_has_exactly_one_consumer() {
        for q in QUEUES {
            let consumers: Vec<&str> = FUNCTIONS
                .iter()
                .filter(|f| f.trigger == Trigger::Queue(q))
                .map(|f| f.name)
                .collect();
            assert_eq!(consumers.len(), 1, "{}: {consumers:?}", q.suffix);
        }
    }

    #[test]
    fn every_path_has_a_catch_all_of_its_own_function() {
        for f in FUNCTIONS {
            let Trigger::Http(routes) = f.trigger else {
                continue;
            };
            for r in routes.iter().filter(|r| !r.is_any()) {
                assert!(
                    routes.iter().any(|a| a.is_any() && a.path == r.path),
                    "{}: {} has no ANY route (a wrong method would get the gateway's 404)",
                    f.name,
                    r.path
                );
            }
            for a in routes.iter().filter(|r| r.is_any()) {
                assert!(!allowed_methods(a.path).is_empty(), "{}", a.path);
            }
        }
    }

    #[test]
    fn the_most_specific_route_is_chosen() {
        let key = |m, p| matched_route(m, p).map(|(_, r)| r.key());
        assert_eq!(
            key("GET", "/reports/kpi").as_deref(),
            Some("GET /reports/kpi")
        );
        assert_eq!(
            key("POST", "/reports/kpi").as_deref(),
            Some("ANY /reports/kpi")
        );
        assert_eq!(
            key("GET", "/reports/e/11").as_deref(),
            Some("GET /reports/{proxy+}")
        );
        assert_eq!(
            key("DELETE", "/reports/e/11").as_deref(),
            Some("ANY /reports/{proxy+}")
        );
        assert_eq!(key("POST", "/r/t0k").as_deref(), Some("POST /r/{token}"));
        assert_eq!(key("PUT", "/r/t0k").as_deref(), Some("ANY /r/{token}"));
        assert_eq!(
            key("GET", "/r/t0k/contact").as_deref(),
            Some("ANY /r/{token}/contact")
        );
        assert_eq!(key("POST", "/webhooks/nope"), None);
        assert_eq!(allowed_methods("/webhooks/whatsapp/meta"), ["GET", "POST"]);
    }

    #[test]
    fn routes_match_like_api_gateway() {
        let r = Route {
            method: "POST",
            path: "/r/{token}/contact",
        };
        assert!(r.matches("POST", "/r/abc/contact"));
        assert!(r.matches("post", "/r/abc/contact/"));
        assert!(!r.matches("GET", "/r/abc/contact"));
        assert!(!r.matches("POST", "/r//contact"));
        assert!(!r.matches("POST", "/r/abc"));
        assert!(!r.matches("POST", "/r/abc/contact/more"));
        assert_eq!(
            route("GET", "/r/t0k").map(|f| f.name),
            Some("email-landing")
        );
        // A link cut short reaches the landing (its friendly page), not API Gateway's JSON.
        for path in ["/r", "/r/", "/s", "/s/"] {
            for method in ["GET", "HEAD"] {
                assert_eq!(
                    route(method, path).map(|f| f.name),
                    Some("email-landing"),
                    "{method} {path}"
                );
            }
        }
        for (method, path, function) in [
            ("POST", "/webhooks/max", "provider-webhooks"),
            ("POST", "/webhooks/sms/s3cret", "provider-webhooks"),
            ("GET", "/s/Ab3dE6gH9jKm", "email-landing"),
            ("POST", "/s/Ab3dE6gH9jKm", "email-landing"),
            ("POST", "/s/Ab3dE6gH9jKm/contact", "email-landing"),
            ("POST", "/s/Ab3dE6gH9jKm/comment", "email-landing"),
        ] {
            assert_eq!(
                route(method, path).map(|f| f.name),
                Some(function),
                "{path}"
            );
        }
        assert_eq!(
            route("POST", "/webhooks/sms"),
            None,
            "the secret is required"
        );
        // A known path with another method reaches its function (through `ANY`), which says 405.
        assert_eq!(
            route("GET", "/webhooks/max").map(|f| f.name),
            Some("provider-webhooks")
        );
        assert_eq!(
            route("POST", "/webhooks/whatsapp/green-api").map(|f| f.name),
            Some("provider-webhooks")
        );
        assert_eq!(
            route("DELETE", "/reports/kpi").map(|f| f.name),
            Some("kpi-report")
        );
        for path in [
            "/reports",
            "/reports/",
            "/reports/kpi",
            "/reports/employee/11",
            "/reports/ratings.csv",
        ] {
            assert_eq!(
                route("GET", path).map(|f| f.name),
                Some("kpi-report"),
                "{path}"
            );
        }
        assert_eq!(
            route("POST", "/reports").map(|f| f.name),
            Some("kpi-report")
        );
        assert_eq!(route("GET", "/reportsx"), None);
        let greedy = Route {
            method: "GET",
            path: "/reports/{proxy+}",
        };
        assert!(!greedy.matches("GET", "/reports"));
        assert!(!greedy.matches("GET", "/reports//x"));
        assert!(greedy.matches("GET", "/reports/a/b/c"));
        assert_eq!(route("GET", "/nowhere"), None);
    }

    #[test]
    fn every_function_crate_is_declared_and_every_declared_function_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut declared: Vec<String> = FUNCTIONS.iter().map(|f| f.name.to_string()).collect();
        declared.sort();
        assert_eq!(on_disk, declared);
    }
}
