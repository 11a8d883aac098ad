//! `retailcrm-sim`: the retailCRM API v5 simulator as a process, for the demo and the local stack.
//! Prints its URL on stdout once it listens; logs go to stderr as JSON lines.

use std::process::ExitCode;
use std::str::FromStr;

use otklik_retailcrm_sim::{serve, Sim, SimConfig};
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: retailcrm-sim [--port P] [--host 127.0.0.1] [--api-key K] [--seed demo]
                     [--rate-limit 10] [--timezone Europe/Moscow]

A retailCRM API v5 simulator. Prints its URL on stdout once it listens.
  --port P          port to listen on (0 or absent: any free port)
  --host H          address to bind (default 127.0.0.1)
  --api-key K       the account's API key (default sim-key)
  --seed demo       load the demo shop: sites, statuses, users, products
  --rate-limit N    requests per key per second before HTTP 503 (default 10)
  --timezone TZ     the account's time zone (default Europe/Moscow)";

struct Args {
    host: String,
    port: u16,
    seed: Option<String>,
    config: SimConfig,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        host: "127.0.0.1".into(),
        port: 0,
        seed: None,
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
        match name.as_str() {
            "--port" => {
                parsed.port = value()?
                    .parse()
                    .map_err(|_| "--port must be a number from 0 to 65535".to_owned())?
            }
            "--host" => parsed.host = value()?,
            "--api-key" => parsed.config.api_key = value()?,
            "--seed" => parsed.seed = Some(value()?),
            "--rate-limit" => {
                parsed.config.rate_limit = value()?
                    .parse()
                    .map_err(|_| "--rate-limit must be a whole number".to_owned())?
            }
            "--timezone" => {
                let tz = value()?;
                parsed.config.timezone = chrono_tz::Tz::from_str(&tz)
                    .map_err(|_| format!("--timezone: unknown time zone {tz:?}"))?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(seed) = &parsed.seed {
        if seed != "demo" {
            return Err(format!("--seed: unknown preset {seed:?} (known: demo)"));
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
            eprintln!("retailcrm-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "retailcrm-sim: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::from(1);
        }
    };
    let sim = Sim::new(args.config);
    if args.seed.is_some() {
        sim.seed_demo();
    }
    let handle = match serve(listener, sim).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("retailcrm-sim: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(url = %handle.url(), seed = args.seed.as_deref().unwrap_or(""), "listening");
    // Scripts read this line to learn where the account is.
    println!("{}", handle.url());

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("stopping");
            handle.shutdown().await;
        }
    }
    ExitCode::SUCCESS
}
