//! `otklik`: the operator's command line.
//!
//! `otklik reply "<text>"` shows how a customer's words will be read before anyone relies on it;
//! `otklik provision` creates the stack's tables and queues on the configured AWS endpoint (the
//! local stack uses it; on AWS the SAM template does the same).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
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
    }
}

fn provision() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otklik: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
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
                eprintln!("otklik: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
