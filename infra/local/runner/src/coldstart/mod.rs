//! `make bench` (second part): each function's cold start against a hello-world `lambda_runtime`
//! binary, and each function's peak memory, measured the way Lambda starts a function.
//!
//! A local Lambda Runtime API ([`RuntimeApi`]) hands one typical event to a freshly started release
//! binary. The cold start is the time from spawning the process to the emulator receiving its
//! answer: the whole init (config file, the secret from Secrets Manager, SDK clients)
//! plus the first event, as a cold invocation on Lambda. The process's peak resident set
//! (`VmHWM`) is read just after it answered. The baseline and every function are measured the
//! same way, interleaved round by round, so a busy moment of the machine hits them alike.
//!
//! The events are real: a `Stage` (both simulators, the stack's table and queues on the local
//! AWS endpoint, the in-process handlers) prepares fresh orders and surveys each round, and queue
//! events carry messages that went through the real queues (the effect messages are the very ones
//! `inbound-worker` queued for a reply that `provider-webhooks` took in).
//!
//! Here: the rounds. `runtime` is the emulator, `run` one start under it, `events` and `stage`
//! what each function is given, `report` the numbers and their section of the report.

pub mod events;
pub mod report;
pub mod run;
pub mod runtime;
mod stage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use otklik_aws::resources;

pub use events::HELLO;
pub use report::{markdown, ColdStarts};
// The report names the emulator `coldstart::RuntimeApi`.
pub use runtime::RuntimeApi;

use events::event_of;
use report::{ms, Measured};
use run::run_once;
use runtime::Invocation;
use stage::Stage;

/// Measures the baseline and every function in `bins` (`cargo build --release` output),
/// `rounds` times each, against the local AWS endpoint `moto`. Logs and the config go to `dir`.
pub async fn measure(
    bins: &Path,
    rounds: usize,
    moto: &str,
    dir: &Path,
) -> Result<ColdStarts, String> {
    let binary = |name: &str| -> Result<PathBuf, String> {
        let p = bins.join(name);
        if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "{} is missing (bench.sh builds it: cargo build --release --bins -p …)",
                p.display()
            ))
        }
    };
    let hello_bin = binary(HELLO)?;
    let mut targets = Vec::new();
    for def in resources::FUNCTIONS {
        targets.push((def, binary(def.name)?));
    }
    let stage = Stage::start(moto, dir).await?;
    let log = |name: &str| dir.join(format!("{name}.log"));
    for name in std::iter::once(HELLO).chain(targets.iter().map(|(d, _)| d.name)) {
        let _ = std::fs::remove_file(log(name));
    }
    let mut hello = Measured::new(HELLO, event_of(HELLO));
    let mut functions: Vec<Measured> = targets
        .iter()
        .map(|(d, _)| Measured::new(d.name, event_of(d.name)))
        .collect();
    for round in 0..rounds {
        println!("  round {}/{rounds}: preparing the events…", round + 1);
        let events = stage.events(round).await;
        let invocation = Invocation::new(
            &stage.function_arn(HELLO),
            br#"{"hello":"lambda"}"#.to_vec(),
            Duration::from_secs(3),
        );
        hello.runs.push(
            run_once(
                &hello_bin,
                &stage.env_of(HELLO, None),
                invocation,
                &log(HELLO),
            )
            .await,
        );
        for ((def, bin), m) in targets.iter().zip(functions.iter_mut()) {
            let run = match events.get(def.name) {
                Some(Ok(event)) => {
                    let invocation = Invocation::new(
                        &stage.function_arn(def.name),
                        event.clone(),
                        Duration::from_secs(def.timeout_secs.into()),
                    );
                    run_once(
                        bin,
                        &stage.env_of(def.name, Some(def)),
                        invocation,
                        &log(def.name),
                    )
                    .await
                }
                Some(Err(e)) => Err(format!("no event: {e}")),
                None => Err("no event".into()),
            };
            if let Err(e) = &run {
                eprintln!("  {}: {e}", def.name);
            }
            m.runs.push(run);
        }
        let last = |m: &Measured| match m.runs.last() {
            Some(Ok(r)) => format!("{} {:.1} ms", m.name, ms(r.total)),
            _ => format!("{} failed", m.name),
        };
        println!(
            "    {}",
            std::iter::once(&hello)
                .chain(&functions)
                .map(last)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    stage.stop().await;
    Ok(ColdStarts {
        rounds,
        hello,
        functions,
        build_secs: None,
    })
}
