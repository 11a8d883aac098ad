//! `otklik`: the operator's command line.
//!
//! `otklik reply "<text>"` shows how a customer's words will be read before anyone relies on it;
//! `otklik provision` creates the stack's tables and queues on the configured AWS endpoint (for a
//! bare local endpoint; the local runner and the test harness create theirs themselves, and on
//! AWS the SAM template does); `otklik forget` erases one customer's personal data;
//! `otklik inbound unusable` lists
//! the webhook items we could not use; `otklik whatsapp template` creates the Meta question
//! template from the config.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use otklik_cli::crm_setup;
use otklik_core::config::{Config, ENV_CRM_API_KEY, ENV_TRIGGER_SECRET};
use otklik_core::reply::{parse_reply, ParserOptions};

#[derive(Parser)]
#[command(name = "otklik", version, about = "Otklik operator CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print how a customer's reply is read, as JSON.
    Reply {
        /// The reply, exactly as the customer wrote it.
        text: String,
        /// Also read plain words such as «отлично» as ratings (config: parser.sentiment_words).
        #[arg(long)]
        sentiment_words: bool,
    },
    /// Create the stack's DynamoDB table(s) and SQS queues (with DLQs) where missing.
    Provision,
    /// The KPI report: per employee and for the team, for a period of the shop's days (at most 366).
    Kpi {
        /// First day, YYYY-MM-DD, in the shop's time zone.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: String,
        /// CSV instead of the table.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON (the same document as the report route).
        #[arg(long)]
        json: bool,
        /// The configuration file (default: $OTKLIK_CONFIG, else otklik.toml).
        #[arg(long)]
        config: Option<String>,
    },
    /// The dashboard (`GET /reports`).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// retailCRM account tasks.
    Crm {
        #[command(subcommand)]
        command: CrmCommand,
    },
    /// What the provider webhooks brought in.
    Inbound {
        #[command(subcommand)]
        command: InboundCommand,
    },
    /// One order's survey, as the stack holds it.
    Survey {
        #[command(subcommand)]
        command: SurveyCommand,
    },
    /// The dead-letter queues: what failed for good, and putting it back once fixed.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Erase one customer's personal data from every item (right to erasure: 152-ФЗ, GDPR).
    /// Their ratings stay for the KPI; an opt-out stays on the do-not-contact list, hashed.
    /// Reads the contact key from the installation's secrets, like the functions.
    Forget {
        /// The customer's phone (national forms read in the config's default_region).
        #[arg(long, conflicts_with = "email", required_unless_present = "email")]
        phone: Option<String>,
        /// The customer's email.
        #[arg(long)]
        email: Option<String>,
    },
    /// WhatsApp through Meta.
    Whatsapp {
        #[command(subcommand)]
        command: WhatsappCommand,
    },
}

#[derive(Subcommand)]
enum SurveyCommand {
    /// Where the order's survey stands: state, channels asked, rating, every input applied and
    /// effect done, what is still to deliver. The contact is masked.
    Show {
        /// The order: <site>/<order id>, e.g. main-shop/1234.
        #[arg(long)]
        order: String,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Every message resting in a dead-letter queue: which queue, what it is about, how often it
    /// was tried, since when. Looking takes nothing off the queues.
    List,
    /// Put a queue's dead letters back onto it (after the cause is fixed; the reason of each
    /// failure is in the function's log at the time it was last tried).
    Redrive {
        /// The queue: intake, dispatch, crm-writes, complaints, inbound, replies.
        queue: String,
    },
}

#[derive(Subcommand)]
enum WhatsappCommand {
    /// Create the question template (body and the five rating buttons, in the order the config
    /// names) through Meta's message templates API; Meta then reviews it. Needs
    /// whatsapp.meta.business_account_id and OTKLIK_META_ACCESS_TOKEN.
    Template {
        /// The configuration file.
        #[arg(long, default_value = "otklik.toml")]
        config: String,
        /// Only print the template; create nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum InboundCommand {
    /// List the webhook items we could not use (kept two weeks), oldest first, one JSON object a
    /// line: when, provider, where in the body, why, and the item as sent. The items may hold a
    /// customer's number and words: for the operator's eyes, not for a ticket.
    Unusable,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Print a signed link that signs a browser in to the dashboard until it expires. Anyone with
    /// the link can open the dashboard until then: send it like a password. Signed with
    /// OTKLIK_REPORT_TOKEN (changing that token voids every link and signs everyone out).
    Link {
        /// How long the link (and the sign-in it gives) lasts: 30d, 12h, 1w; a minute to a year.
        #[arg(long, default_value = "30d")]
        ttl: String,
        /// The API's base URL (the stack's ApiUrl output); default $OTKLIK_API_URL.
        #[arg(long)]
        url: Option<String>,
    },
    /// Add to the KPI counters every survey and complaint they do not count yet: run once after
    /// upgrading from a version without them (surveys saved before are counted from their next
    /// change only). Safe to run again, and while the stack runs: nothing is counted twice.
    Rebuild,
    /// Fire the weekly digest once, as its hourly schedule does on AWS (the same handler): it
    /// mails report.digest_to when this week's digest is due and was not sent yet, else nothing.
    Digest {
        /// The moment to fire at (RFC 3339, e.g. 2026-11-16T09:05:00+03:00); default now.
        #[arg(long)]
        now: Option<String>,
        /// The API's base URL, for the dashboard links; default $OTKLIK_API_URL.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Read and check a config file; print the secrets to create and the keys each needs (JSON,
    /// values to fill in). `make deploy` runs it before anything is built or changed.
    Check {
        /// The configuration file.
        #[arg(long, default_value = "otklik.toml")]
        config: String,
        /// The secrets' names start with this (`make deploy SECRETS_PREFIX=…`, default the stack).
        #[arg(long, default_value = "otklik")]
        secrets_prefix: String,
    },
}

#[derive(Subcommand)]
enum CrmCommand {
    /// Check sites, statuses and the inspector; create the rating and words fields if missing;
    /// print the trigger to create. Safe to run again.
    Setup {
        /// The configuration file.
        #[arg(long, default_value = "otklik.toml")]
        config: String,
        /// Public URL of our webhook, e.g. https://abc.execute-api.eu-central-1.amazonaws.com/webhooks/retailcrm
        #[arg(long)]
        webhook_url: String,
    },
}

fn main() -> ExitCode {
    // The retailCRM client counts its calls as CloudWatch metric lines on stdout; on a person's
    // terminal they would be JSON noise between the lines meant for them.
    otklik_metrics::silence();
    let cli = Cli::parse();
    match cli.command {
        Command::Reply {
            text,
            sentiment_words,
        } => {
            let reply = parse_reply(&text, &ParserOptions { sentiment_words });
            match serde_json::to_string(&reply) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("otklik: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Provision => provision(),
        Command::Kpi {
            from,
            to,
            csv,
            json,
            config,
        } => kpi_command(&from, &to, csv, json, config),
        Command::Report {
            command: ReportCommand::Link { ttl, url },
        } => report_link(&ttl, url),
        Command::Report {
            command: ReportCommand::Digest { now, url },
        } => report_digest(now, url),
        Command::Report {
            command: ReportCommand::Rebuild,
        } => report_rebuild(),
        Command::Config {
            command:
                ConfigCommand::Check {
                    config,
                    secrets_prefix,
                },
        } => config_check(&config, &secrets_prefix),
        Command::Crm {
            command:
                CrmCommand::Setup {
                    config,
                    webhook_url,
                },
        } => crm_setup_command(&config, &webhook_url),
        Command::Inbound {
            command: InboundCommand::Unusable,
        } => unusable_command(),
        Command::Survey {
            command: SurveyCommand::Show { order },
        } => ops_command("survey show", |clients, names| async move {
            let store = otklik_cli::ops::store(&clients.dynamodb, &names);
            otklik_cli::ops::survey_show(&store, &order).await
        }),
        Command::Dlq {
            command: DlqCommand::List,
        } => ops_command("dlq list", |clients, names| async move {
            let letters = otklik_cli::ops::dlq_list(&clients.sqs, &names).await?;
            let mut out = String::new();
            for d in &letters {
                out.push_str(&format!(
                    "{:<11} tried {:>2}×  since {}  {}\n",
                    d.queue,
                    d.receives,
                    d.queued_at.as_deref().unwrap_or("?"),
                    d.about
                ));
            }
            out.push_str(&match letters.len() {
                0 => "No dead letters: every queue is clear.".to_string(),
                n => format!(
                    "{n} dead letter(s). Find the cause in the function's log, fix it, then `otklik dlq redrive <queue>`."
                ),
            });
            Ok(out)
        }),
        Command::Dlq {
            command: DlqCommand::Redrive { queue },
        } => ops_command("dlq redrive", |clients, names| async move {
            let moved = otklik_cli::ops::dlq_redrive(&clients.sqs, &names, &queue).await?;
            Ok(format!(
                "Moved {moved} message(s) from {queue}'s dead-letter queue back onto {queue}."
            ))
        }),
        Command::Whatsapp {
            command: WhatsappCommand::Template { config, dry_run },
        } => whatsapp_template_command(&config, dry_run),
        Command::Forget { phone, email } => forget_command(phone, email),
    }
}

/// `otklik forget`: the config (for the phone's region) and the secrets (for the contact key)
/// as the functions read them, then the erasure against the stack the environment names.
fn forget_command(phone: Option<String>, email: Option<String>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        // Read as the inbound worker reads them: its one secret is the contact key, all the
        // erasure needs (no retailCRM key, no provider token).
        let parts = otklik_app::env::Parts::from_env("inbound-worker")
            .await
            .map_err(|e| e.to_string())?;
        let who = otklik_cli::privacy::whom(
            phone.as_deref(),
            email.as_deref(),
            &parts.config.default_region,
        )?;
        otklik_cli::privacy::forget(&parts.store(), &who, chrono::Utc::now())
            .await
            .map_err(|e| match e {
                otklik_cli::ops::OpsError::Store(e) => aws_words(&e.to_string()),
                e => e.to_string(),
            })
    });
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otklik forget: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an operator command against the stack named by the environment and prints its text, or
/// its error in one sentence.
fn ops_command<F, Fut>(what: &str, run: F) -> ExitCode
where
    F: FnOnce(otklik_aws::Clients, otklik_aws::resources::Names) -> Fut,
    Fut: std::future::Future<Output = Result<String, otklik_cli::ops::OpsError>>,
{
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        let clients = otklik_aws::Clients::from_env().await;
        run(clients, otklik_aws::resources::Names::from_env()).await
    });
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        // The stack unreadable: one sentence naming what to set, never the SDK's dump.
        Err(otklik_cli::ops::OpsError::Store(e)) => {
            eprintln!("otklik {what}: {}", aws_words(&e.to_string()));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("otklik {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn whatsapp_template_command(path: &str, dry_run: bool) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("otklik whatsapp template: {msg}");
        ExitCode::FAILURE
    };
    let config = match load_config("otklik whatsapp template", path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (template, waba) = match otklik_cli::whatsapp::prepare(&config) {
        Ok(ok) => ok,
        Err(e) => return fail(e),
    };
    print!("{}", template.describe());
    if dry_run {
        return ExitCode::SUCCESS;
    }
    let token = std::env::var(otklik_core::config::ENV_META_ACCESS_TOKEN).ok();
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(otklik_cli::whatsapp::create(
        &config,
        &template,
        &waba,
        token.as_deref(),
    )) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn unusable_command() -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let items = rt.block_on(async {
        let clients = otklik_aws::Clients::from_env().await;
        otklik_aws::store::DynamoStore::new(
            clients.dynamodb.clone(),
            &otklik_aws::resources::Names::from_env(),
        )
        .unusable_items()
        .await
    });
    match items {
        Ok(items) => {
            for item in &items {
                match serde_json::to_string(item) {
                    Ok(line) => println!("{line}"),
                    Err(e) => eprintln!("otklik inbound unusable: {e}"),
                }
            }
            eprintln!("{} item(s)", items.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otklik inbound unusable: {}", aws_words(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn kpi_command(from: &str, to: &str, csv: bool, json: bool, config: Option<String>) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("otklik kpi: {msg}");
        ExitCode::FAILURE
    };
    // The config is still read and checked (a broken one is said so here too), though the
    // figures no longer need it: the saves keep the counters in its days, with its statuses.
    let _config = match config {
        Some(path) => match load_config("otklik kpi", &path) {
            Ok(c) => c,
            Err(code) => return code,
        },
        None => {
            let path = std::env::var("OTKLIK_CONFIG").unwrap_or_else(|_| "otklik.toml".into());
            match load_config("otklik kpi", &path) {
                Ok(c) => c,
                Err(code) => return code,
            }
        }
    };
    let (first, last) = match otklik_cli::kpi::period_days(from, to) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        let clients = otklik_aws::Clients::from_env().await;
        let store = otklik_aws::store::DynamoStore::new(
            clients.dynamodb.clone(),
            &otklik_aws::resources::Names::from_env(),
        );
        // The per-day counters, kept in the shop's days (`config.timezone`) by every save.
        otklik_cli::kpi::by_days(&store, first, last, &Default::default()).await
    });
    match result {
        Ok(report) if json => match serde_json::to_string_pretty(&report) {
            Ok(j) => {
                println!("{j}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.to_string()),
        },
        Ok(report) if csv => {
            print!("{}", report.to_csv());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("KPI {from} – {to}");
            print!("{}", report.to_table());
            ExitCode::SUCCESS
        }
        Err(e) => fail(aws_words(&e.to_string())),
    }
}

fn report_link(ttl: &str, url: Option<String>) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match otklik_cli::report_link(
        ttl,
        url.or_else(|| env("OTKLIK_API_URL")).as_deref(),
        env(otklik_core::config::ENV_REPORT_TOKEN).as_deref(),
        chrono::Utc::now(),
    ) {
        Ok((link, until)) => {
            println!("{link}");
            eprintln!(
                "valid until {until}; anyone with this link can open the dashboard until then"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otklik report link: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report_rebuild() -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let done = rt.block_on(async {
        // The functions' own store: it keeps the counters in the config's days and statuses.
        // Read as the digest reads them: folding needs no retailCRM key and no contact key.
        let parts = otklik_app::env::Parts::from_env("kpi-digest").await?;
        let done = otklik_app::report::rebuild(&parts.store(), &parts.config.complaints).await?;
        Ok::<_, otklik_app::env::BoxError>(done)
    });
    match done {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otklik report rebuild: {}", aws_words(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn report_digest(now: Option<String>, url: Option<String>) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("otklik report digest: {msg}");
        ExitCode::FAILURE
    };
    let now = match now.as_deref().map(chrono::DateTime::parse_from_rfc3339) {
        None => chrono::Utc::now(),
        Some(Ok(t)) => t.to_utc(),
        Some(Err(e)) => return fail(format!("--now: {e} (try 2026-11-16T09:05:00+03:00)")),
    };
    let url = url.or_else(|| std::env::var("OTKLIK_API_URL").ok());
    let reports = url
        .as_deref()
        .map(|u| format!("{}/reports", u.trim().trim_end_matches('/')));
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let fired = rt.block_on(async {
        // What the scheduled digest holds on AWS, from the operator's environment.
        let parts = otklik_app::env::Parts::from_env("kpi-digest").await?;
        let digest = otklik_kpi_digest::KpiDigest::from_parts(&parts).await?;
        Ok::<_, otklik_app::env::BoxError>(digest.fire(reports.as_deref(), now).await?)
    });
    match fired {
        Ok(f) => {
            println!("{f}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.to_string()),
    }
}

fn config_check(path: &str, prefix: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("otklik config check: cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::check(&text) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!(
                "otklik config check: {path}: {} to fix:",
                otklik_cli::count(problems.len(), "problem")
            );
            for line in otklik_cli::problem_lines(path, &text, &problems) {
                eprintln!("  {line}");
            }
            return ExitCode::FAILURE;
        }
    };
    if let Some(template) = otklik_core::whatsapp_template::spec(&config) {
        eprint!("{}", template.describe());
    }
    let secrets = otklik_cli::secrets_to_create(&config, prefix);
    eprintln!(
        "{path}: ok. Create these Secrets Manager secrets, each a JSON object of its keys \
         (docs/deploy.md); each function can read only those it uses:"
    );
    for s in &secrets {
        eprintln!(
            "  {} ({}): {}; read by {}",
            s.name,
            s.def.purpose,
            s.keys
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", "),
            s.readers.join(", ")
        );
    }
    let skeleton: serde_json::Map<String, serde_json::Value> = secrets
        .iter()
        .map(|s| {
            let keys: serde_json::Map<String, serde_json::Value> = s
                .keys
                .iter()
                .map(|(k, why)| (k.to_string(), serde_json::Value::String(format!("<{why}>"))))
                .collect();
            (s.name.clone(), serde_json::Value::Object(keys))
        })
        .collect();
    match serde_json::to_string_pretty(&skeleton) {
        Ok(j) => {
            println!("{j}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otklik config check: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An AWS failure in one sentence (`otklik_cli::aws_trouble`) for this stack.
fn aws_words(message: &str) -> String {
    let names = otklik_aws::resources::Names::from_env();
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    otklik_cli::aws_trouble(
        message,
        &names.table(&otklik_aws::resources::MAIN_TABLE),
        endpoint.as_deref(),
    )
}

/// Reads and checks a config file; on failure prints every problem (with its line) under `cmd`.
fn load_config(cmd: &str, path: &str) -> Result<Config, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("{cmd}: cannot read the config file {path}: {e} (give it with --config)");
        ExitCode::FAILURE
    })?;
    Config::check(&text).map_err(|problems| {
        eprintln!(
            "{cmd}: {path}: {} to fix (`otklik config check --config {path}` lists them too):",
            otklik_cli::count(problems.len(), "problem")
        );
        for line in otklik_cli::problem_lines(path, &text, &problems) {
            eprintln!("  {line}");
        }
        ExitCode::FAILURE
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("otklik: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn crm_setup_command(config_path: &str, webhook_url: &str) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("otklik crm setup: {msg}");
        ExitCode::FAILURE
    };
    let config = match load_config("otklik crm setup", config_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(api_key) = env(ENV_CRM_API_KEY) else {
        return fail(format!("{ENV_CRM_API_KEY} is not set"));
    };
    let Some(secret) = env(ENV_TRIGGER_SECRET) else {
        return fail(format!("{ENV_TRIGGER_SECRET} is not set"));
    };
    let crm = match otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
        &config, &api_key,
    )) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(crm_setup::run(&crm, &config)) {
        Ok(report) => {
            println!("retailCRM account {}", config.crm.url);
            for line in &report.lines {
                println!("{line}");
            }
            println!();
            print!("{}", crm_setup::trigger_text(&config, webhook_url, &secret));
            if let Some(template) = otklik_core::whatsapp_template::spec(&config) {
                println!();
                print!("{}", template.describe());
            }
            if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "otklik: {} problem(s) to fix in retailCRM or otklik.toml (marked MISSING above)",
                    report.problems.len()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => fail(otklik_cli::crm_trouble(&e, &config.crm.url)),
    }
}

fn provision() -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let clients = otklik_aws::Clients::from_env().await;
        let names = otklik_aws::resources::Names::from_env();
        match otklik_aws::provision::ensure_all(&clients, &names).await {
            Ok(created) => {
                for name in created {
                    println!("ready: {name}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("otklik provision: {}", aws_words(&e.to_string()));
                ExitCode::FAILURE
            }
        }
    })
}
