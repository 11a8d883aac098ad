//! `otklik-local`: the whole product on this machine.
//!
//!   otklik-local up   [--state DIR] [--port N] [--provider meta|green-api] [--speed X]
//!       Starts both simulators, the API and every function's plumbing against the AWS endpoint in
//!       the environment, appends every URL and local secret to DIR/stack.env, writes
//!       DIR/otklik.toml, and runs until stopped.
//!   otklik-local demo
//!       Plays a scripted day (see `make demo`), prints the report; exit 0 only if every expected
//!       outcome happened. The functions' metric lines and logs go to
//!       $OTKLIK_STATE_DIR/logs/functions.log (default .local).
//!   otklik-local bench [--out FILE] [--bins DIR [--runs N] [--build-secs S]]
//!                      [--peak ORDERS:REPLIES] [--peak-only] [--peak-aws] [--year ORDERS]
//!                      [--year-only]
//!       `make bench`: measures and writes the report. With --bins (the release binaries of the
//!       functions and of hello-lambda) also each function's cold start and peak memory. The
//!       December peak is 3000:1000 unless --peak says otherwise (0:0 skips it); --peak-only runs
//!       just the peak and replaces only its section of the report. --peak-aws counts the peak's
//!       AWS requests through a proxy and probes the local endpoint's pace (slower times).
//!       "Reports at a year of data" seeds 100,000 rated orders unless --year says otherwise (0
//!       skips it); --year-only runs just that and replaces only its section.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otklik_local_runner::demo;
use otklik_local_runner::local::{LocalStack, Options};

const USAGE: &str = "usage: otklik-local up [--state DIR] [--port N] [--provider meta|green-api] [--speed X]\n       otklik-local demo\n       otklik-local bench [--out FILE] [--bins DIR [--runs N] [--build-secs S]] [--peak ORDERS:REPLIES] [--peak-only] [--peak-aws] [--keep-cold] [--year ORDERS] [--year-only]";

fn filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}

fn logging(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter(default))
        .try_init();
}

/// What the functions write while the demo runs in this process: their EMF metric lines (kept
/// off stdout by a capture) and their logs, both appended to one file, so the terminal keeps the
/// narrative and the report. Lines already captured are copied over every half second, and the
/// rest when it is dropped.
struct FunctionLog {
    path: PathBuf,
    metrics: Arc<otklik_metrics::Capture>,
    /// How many captured metric lines are in the file already, and the file.
    copied: Arc<Mutex<(usize, File)>>,
    copier: tokio::task::JoinHandle<()>,
}

impl FunctionLog {
    fn start(path: PathBuf) -> std::io::Result<FunctionLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Emptied for this run, then opened for appending: the log writer and the metric copier
        // each write whole lines at the end, never over each other.
        std::fs::write(&path, "")?;
        let file = OpenOptions::new().append(true).open(&path)?;
        let _ = tracing_subscriber::fmt()
            .with_writer(Mutex::new(file.try_clone()?))
            .with_ansi(false)
            // What Lambda's RUST_LOG gives the functions (see the bench's stage).
            .with_env_filter(filter("info"))
            .try_init();
        let metrics = Arc::new(otklik_metrics::Capture::start());
        let copied = Arc::new(Mutex::new((0, file)));
        let (m, c) = (metrics.clone(), copied.clone());
        let copier = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                copy_metrics(&m, &c);
            }
        });
        Ok(FunctionLog {
            path,
            metrics,
            copied,
            copier,
        })
    }
}

impl Drop for FunctionLog {
    fn drop(&mut self) {
        self.copier.abort();
        copy_metrics(&self.metrics, &self.copied);
    }
}

/// Appends the metric lines captured since the last copy, in one write.
fn copy_metrics(metrics: &otklik_metrics::Capture, to: &Mutex<(usize, File)>) {
    let lines = metrics.lines();
    let Ok(mut to) = to.lock() else { return };
    let (done, file) = &mut *to;
    let new: String = lines.iter().skip(*done).map(|l| format!("{l}\n")).collect();
    if file.write_all(new.as_bytes()).is_ok() {
        *done = lines.len();
    }
}

/// "Reports at a year of data" as a report section; `None` (said why) when it could not run.
async fn year_section(orders: u64, aws: &str) -> Option<String> {
    println!("reports at a year of data ({orders} rated orders)…");
    match otklik_local_runner::year::reports_at_a_year(aws, orders).await {
        Ok(y) => {
            let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
            Some(otklik_local_runner::year::markdown(&y, &machine(), &date))
        }
        Err(e) => {
            eprintln!("otklik-local bench: reports at a year of data: {e}");
            None
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]).await,
        Some("demo") => run_demo().await,
        Some("bench") => run_bench(&args[1..]).await,
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn up(args: &[String]) -> ExitCode {
    logging("info");
    let mut state = std::path::PathBuf::from(".local");
    let mut opts = Options {
        // A person watching the sandbox should not wait two days for a question.
        speed: 17_280.0,
        poll_every: Duration::from_secs(10),
        // The sandbox's Russian shop asks on MAX and by SMS; the other sites keep WhatsApp.
        config_edit: Some(otklik_local_runner::stack::with_russia_site),
        ..Default::default()
    };
    if let Ok(stack) = std::env::var("OTKLIK_STACK") {
        opts.stack = stack;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next();
        let ok = match (a.as_str(), value) {
            ("--state", Some(v)) => {
                state = v.into();
                true
            }
            ("--port", Some(v)) => v.parse().map(|p| opts.port = p).is_ok(),
            ("--provider", Some(v)) if v == "meta" || v == "green-api" => {
                opts.provider = v.clone();
                true
            }
            ("--speed", Some(v)) => v.parse().map(|s| opts.speed = s).is_ok(),
            _ => false,
        };
        if !ok {
            eprintln!("otklik-local up: bad argument {a}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let local = match LocalStack::start(opts).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("otklik-local up: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config_path = state.join("otklik.toml");
    let env_path = state.join("stack.env");
    let mut lines = local.env_lines();
    lines.push(format!("OTKLIK_CONFIG={}", config_path.display()));
    let existing = std::fs::read_to_string(&env_path).unwrap_or_default();
    let kept: Vec<&str> = existing
        .lines()
        .filter(|l| {
            !lines
                .iter()
                .any(|n| n.split('=').next() == l.split('=').next())
        })
        .collect();
    let text = format!("{}\n{}\n", kept.join("\n"), lines.join("\n"));
    if let Err(e) = std::fs::write(&config_path, &local.config_text)
        .and_then(|_| std::fs::write(&env_path, text))
    {
        eprintln!("otklik-local up: writing {}: {e}", state.display());
        return ExitCode::FAILURE;
    }
    println!("ready {}", local.api.url());
    tracing::info!(api = %local.api.url(), "local stack up");
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("otklik-local up: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    ExitCode::SUCCESS
}

async fn run_demo() -> ExitCode {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("otklik-local demo: AWS_ENDPOINT_URL is not set (run `make demo`)");
        return ExitCode::from(2);
    }
    let state = std::env::var("OTKLIK_STATE_DIR").unwrap_or_else(|_| ".local".into());
    let functions = match FunctionLog::start(Path::new(&state).join("logs").join("functions.log")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("otklik-local demo: the functions' log under {state}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = chrono::Utc::now().format("%H%M%S").to_string();
    println!(
        "Otklik demo: a shop's day, end to end on this machine (no AWS account, no internet)."
    );
    println!(
        "The functions' metric lines and logs go to {}.",
        functions.path.display()
    );
    let mut played = Vec::new();
    let mut problems = Vec::new();
    for (i, shop) in demo::SHOPS.iter().enumerate() {
        println!("\n▶ The {} shop: {} orders", shop.name, (shop.day)().len());
        let p = match demo::play(*shop, format!("demo-{run}-{i}")).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("demo failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        problems.extend(demo::check(&p).await);
        // The inspector works the first shop's complaints; its KPI table shows the result.
        if i == 0 {
            problems.extend(demo::inspector_works(&p).await);
        }
        played.push(p);
    }
    print!("{}", demo::report(&played.iter().collect::<Vec<_>>()).await);
    // The first shop's dashboard, opened through its signed link like a browser would.
    if let Some(main) = played.first() {
        let (link, trouble) = demo::dashboard(main).await;
        println!(
            "\nDashboard of the {} shop (signed link; the stack stops when the demo ends, \
             `make sandbox` keeps one running):\n{link}",
            main.shop.name
        );
        problems.extend(trouble);
    }
    let expected: usize = played.iter().map(|p| p.cases.len()).sum();
    if problems.is_empty() {
        println!("\n✔ all {expected} expected outcomes happened");
        ExitCode::SUCCESS
    } else {
        println!(
            "\n✘ {} of {expected} outcomes did not happen:",
            problems.len()
        );
        for p in &problems {
            println!("  - {p}");
        }
        ExitCode::FAILURE
    }
}

/// `make bench`: measures and writes the report (docs/performance.md by default).
async fn run_bench(args: &[String]) -> ExitCode {
    logging("warn");
    // The functions' EMF metric lines would bury the progress lines and the report.
    let _metrics = otklik_metrics::Capture::start();
    let mut out = "docs/performance.md".to_string();
    let mut bins: Option<std::path::PathBuf> = None;
    let mut rounds = 5usize;
    let mut build_secs = None;
    let mut plan = otklik_local_runner::peak::PeakPlan::default();
    // `--peak-only`: just the December peak, spliced into the existing report.
    let peak_only = args.iter().any(|a| a == "--peak-only");
    // `--year-only`: just "reports at a year of data", spliced into the existing report.
    let year_only = args.iter().any(|a| a == "--year-only");
    // `--year N`: rated orders in that year (0 skips it).
    let mut year_orders: u64 = 100_000;
    // `--keep-cold`: no cold starts measured (no `--bins`); the report keeps the last ones.
    let keep_cold = args.iter().any(|a| a == "--keep-cold");
    // `--peak-aws`: the peak's stack talks to the endpoint through a counting proxy (the asking
    // phase's AWS requests and the endpoint's own pace in the report); the proxy takes CPU on the
    // same cores, so the peak's times are slower with it.
    plan.count_aws = args.iter().any(|a| a == "--peak-aws");
    let args: Vec<String> = args
        .iter()
        .filter(|a| {
            *a != "--peak-only" && *a != "--keep-cold" && *a != "--year-only" && *a != "--peak-aws"
        })
        .cloned()
        .collect();
    for pair in args.chunks(2) {
        let ok = match pair {
            [flag, v] if flag == "--out" => {
                out = v.clone();
                true
            }
            [flag, v] if flag == "--bins" => {
                bins = Some(v.into());
                true
            }
            [flag, v] if flag == "--runs" => v.parse().map(|n| rounds = n).is_ok() && rounds > 0,
            [flag, v] if flag == "--year" => v.parse().map(|n| year_orders = n).is_ok(),
            [flag, v] if flag == "--build-secs" => v.parse().map(|s| build_secs = Some(s)).is_ok(),
            [flag, v] if flag == "--peak" => match v.split_once(':') {
                Some((o, r)) => match (o.parse(), r.parse()) {
                    (Ok(o), Ok(r)) => {
                        plan.orders = o;
                        plan.replies = r;
                        true
                    }
                    _ => false,
                },
                None => false,
            },
            _ => false,
        };
        if !ok {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Ok(moto) = std::env::var("AWS_ENDPOINT_URL") else {
        eprintln!("otklik-local bench: AWS_ENDPOINT_URL is not set (run `make bench`)");
        return ExitCode::from(2);
    };
    if year_only {
        let Some(section) = year_section(year_orders, &moto).await else {
            return ExitCode::FAILURE;
        };
        println!("{section}");
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        return write_report(&out, &otklik_local_runner::year::splice(&old, &section));
    }
    if peak_only {
        let Some(peak) = december_peak(plan, &moto).await else {
            return ExitCode::FAILURE;
        };
        let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let section =
            otklik_local_runner::bench::peak_section(peak.as_ref(), None, &machine(), &date);
        println!("{section}");
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        let report = otklik_local_runner::bench::splice_peak(&old, &section);
        return write_report(&out, &report);
    }
    // First, while nothing else runs in this process: the functions talk to the endpoint itself.
    let cold = match &bins {
        Some(dir) => {
            println!("cold start and peak memory ({rounds} rounds)…");
            let state = std::env::var("OTKLIK_STATE_DIR").unwrap_or_else(|_| ".local".into());
            let logs = std::path::Path::new(&state).join("coldstart");
            match otklik_local_runner::coldstart::measure(dir, rounds, &moto, &logs).await {
                Ok(mut c) => {
                    c.build_secs = build_secs;
                    Some(c)
                }
                Err(e) => {
                    eprintln!("otklik-local bench: cold start: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    let (proxy, counter) = match otklik_local_runner::bench::counting_proxy(moto.clone()).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("otklik-local bench: proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Every AWS client built from here on talks through the counting proxy.
    std::env::set_var("AWS_ENDPOINT_URL", &proxy);
    println!("calls per survey, by path (local stack, counted)…");
    let paths = match otklik_local_runner::bench::calls_per_survey(&counter, &moto).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("otklik-local bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Last, on a stack of its own that talks to the endpoint directly: the December peak.
    let Some(peak) = december_peak(plan, &moto).await else {
        return ExitCode::FAILURE;
    };
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut report =
        otklik_local_runner::bench::report(&paths, cold.as_ref(), peak.as_ref(), &machine(), &date);
    if keep_cold {
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        report = otklik_local_runner::bench::keep_cold_section(&report, &old);
    }
    // Last of all, on a stack of its own: the reports at a year of data.
    if year_orders > 0 {
        let Some(section) = year_section(year_orders, &moto).await else {
            return ExitCode::FAILURE;
        };
        report = otklik_local_runner::year::splice(&report, &section);
    }
    println!("{report}");
    write_report(&out, &report)
}

/// The peak, or `None` inside when it was not asked for (`--peak 0:0`); `None` outside on failure.
async fn december_peak(
    plan: otklik_local_runner::peak::PeakPlan,
    moto: &str,
) -> Option<Option<otklik_local_runner::peak::Peak>> {
    if plan.orders == 0 {
        return Some(None);
    }
    println!(
        "December peak: {} orders, then {} replies…",
        plan.orders, plan.replies
    );
    match otklik_local_runner::peak::december_peak(plan, moto).await {
        Ok(p) => Some(Some(p)),
        Err(e) => {
            eprintln!("otklik-local bench: December peak: {e}");
            None
        }
    }
}

fn write_report(out: &str, report: &str) -> ExitCode {
    if let Err(e) = std::fs::write(out, report) {
        eprintln!("otklik-local bench: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!("written to {out}");
    ExitCode::SUCCESS
}

/// "Intel(R) Xeon(R) …, 2 cores, 7.8 GB RAM, Linux 6.x"
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {:.1} GB RAM, Linux {}",
        mem_kb as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}
