//! `whatsapp-sim`: the messaging simulator (Meta Cloud API, Green-API for WhatsApp and MAX,
//! SMS.ru) as a process, for the demo and the local stack. Prints its URL on stdout once it
//! listens; logs go to stderr as JSON.

use std::process::ExitCode;

use otklik_whatsapp_sim::{serve, Sim, SimConfig};
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: whatsapp-sim [--port P] [--host 127.0.0.1] [config flags]

A messaging simulator (Meta Cloud API, Green-API for WhatsApp and MAX, SMS.ru). Prints its URL
on stdout once it listens.
  --port P                      port to listen on (0 or absent: any free port)
  --host H                      address to bind (default 127.0.0.1)
  --meta-token T                Meta access token (default meta-token)
  --meta-phone-number-id ID     Meta phone number id (default 100000000000001)
  --meta-webhook-url URL        where Meta webhooks go (default: nowhere)
  --meta-app-secret S           signs Meta webhooks (default meta-app-secret)
  --green-api-instance ID       Green-API idInstance (default 1101000001)
  --green-api-token T           Green-API apiTokenInstance (default green-token)
  --green-api-webhook-url URL   where Green-API webhooks go (default: nowhere)
  --green-api-webhook-token T   bearer token of Green-API webhooks (default green-webhook-token)
  --business-phone DIGITS       the business's number in webhooks (default 79000000001)
  --auto-statuses true|false    post sent/delivered or failed statuses by itself (default true)
  --duplicate-statuses N        post every automatic status N times (default 1)
  --reverse-statuses true|false post automatic statuses newest first (default false)
  --webhook-retries N           post a webhook not answered 2xx again, up to N times (default 0)
  --status-delay-ms MS          wait before automatic statuses (default 20)
  --max-instance ID             MAX (GREEN-API v3) idInstance (default 3100000001)
  --max-token T                 MAX apiTokenInstance (default max-token)
  --max-webhook-url URL         where MAX webhooks go (default: nowhere)
  --max-webhook-token T         bearer token of MAX webhooks (default max-webhook-token)
  --smsru-api-id ID             SMS.ru api_id (default smsru-api-id)
  --smsru-callback-url URL      where SMS.ru status callbacks go (default: nowhere)
  --smsru-senders A,B           approved SMS sender names (default: any)";

struct Args {
    host: String,
    port: u16,
    config: SimConfig,
}

fn number<T: std::str::FromStr>(name: &str, value: String) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name} must be a whole number, got {value:?}"))
}

fn url(name: &str, value: String) -> Result<Option<String>, String> {
    if value.is_empty() {
        Ok(None)
    } else if value.starts_with("http://") || value.starts_with("https://") {
        Ok(Some(value))
    } else {
        Err(format!("{name} must be an http:// or https:// URL"))
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        host: "127.0.0.1".into(),
        port: 0,
        config: SimConfig::default(),
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        // Both `--flag value` and `--flag=value`.
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let config = &mut parsed.config;
        match name.as_str() {
            "--port" => parsed.port = number(&name, value()?)?,
            "--host" => parsed.host = value()?,
            "--meta-token" => config.meta_token = value()?,
            "--meta-phone-number-id" => config.meta_phone_number_id = value()?,
            "--meta-webhook-url" => config.meta_webhook_url = url(&name, value()?)?,
            "--meta-app-secret" => config.meta_app_secret = value()?,
            "--green-api-instance" => config.green_api_instance = value()?,
            "--green-api-token" => config.green_api_token = value()?,
            "--green-api-webhook-url" => config.green_api_webhook_url = url(&name, value()?)?,
            "--green-api-webhook-token" => config.green_api_webhook_token = value()?,
            "--business-phone" => {
                config.business_phone = otklik_whatsapp_sim::model::digits(&value()?)
            }
            "--auto-statuses" => {
                config.auto_statuses = match value()?.as_str() {
                    "true" => true,
                    "false" => false,
                    other => return Err(format!("{name} must be true or false, got {other:?}")),
                }
            }
            "--duplicate-statuses" => config.duplicate_statuses = number(&name, value()?)?,
            "--status-delay-ms" => config.status_delay_ms = number(&name, value()?)?,
            "--webhook-retries" => config.webhook_retries = number(&name, value()?)?,
            "--max-instance" => config.max_instance = value()?,
            "--max-token" => config.max_token = value()?,
            "--max-webhook-url" => config.max_webhook_url = url(&name, value()?)?,
            "--max-webhook-token" => config.max_webhook_token = value()?,
            "--smsru-api-id" => config.smsru_api_id = value()?,
            "--smsru-callback-url" => config.smsru_callback_url = url(&name, value()?)?,
            "--smsru-senders" => {
                config.smsru_senders = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "--reverse-statuses" => {
                config.reverse_statuses = match value()?.as_str() {
                    "true" => true,
                    "false" => false,
                    other => return Err(format!("{name} must be true or false, got {other:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("whatsapp-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "whatsapp-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::from(1);
        }
    };
    let handle = match serve(listener, Sim::new(args.config)).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("whatsapp-sim: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(url = %handle.url(), "listening");
    // Scripts read this line to learn where the simulator is.
    println!("{}", handle.url());

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("stopping");
            handle.shutdown().await;
        }
    }
    ExitCode::SUCCESS
}
