//! The shared retailCRM budget across processes, against the local AWS endpoint and the retailCRM
//! simulator: several processes (this test binary run again as children) call one account at once
//! through the client `Parts::crm` builds, as the functions do, and the simulator's own count of
//! every sliding second is the judge.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otklik_app::env::Parts;
use otklik_aws::resources::{Names, MAIN_TABLE};
use otklik_aws::Clients;
use otklik_core::config::{Config, Secrets, ENV_CRM_API_KEY};
use serde_json::{json, Value};

/// What the parent tells a child (env), and the child answers on a line of its own (stdout).
const ENV_CHILD: &str = "OTKLIK_BUDGET_CHILD";
const RESULT: &str = "BUDGET-RESULT ";

/// How long every child calls, from the common start.
const CALLING: Duration = Duration::from_secs(8);
/// Reader processes and callers in each; the writer process writes one rating every `WRITE_EVERY`.
const READERS: usize = 3;
const TASKS_PER_READER: usize = 8;
const WRITE_EVERY: Duration = Duration::from_millis(700);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn config(crm_url: &str) -> Config {
    let text = include_str!("../../../otklik.example.toml").replace(
        "url = \"https://demo.retailcrm.ru\"",
        &format!("url = \"{crm_url}\""),
    );
    Config::from_toml(&text).unwrap()
}

async fn parts(crm_url: &str, stack: &str, api_key: &str) -> Parts {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL must point at the local endpoint; run `make test`, or `make local-up` and `set -a; . .local/stack.env`"
    );
    let config = config(crm_url);
    let secrets = Secrets::load(&config, |k| {
        Some(if k == ENV_CRM_API_KEY {
            api_key.to_string()
        } else {
            "a-test-secret-of-sufficient-length-0123456789".to_string()
        })
    })
    .unwrap();
    Parts {
        config: Arc::new(config),
        secrets: Some(secrets),
        clients: Clients::from_env().await,
        names: Names::new(stack),
        report_token: None,
    }
}

/// One child's part: read (several callers, back to back) or write (one rating at a time).
async fn child(spec: Value) {
    let p = parts(
        spec["url"].as_str().unwrap(),
        spec["stack"].as_str().unwrap(),
        spec["key"].as_str().unwrap(),
    )
    .await;
    let crm = p.crm().unwrap();
    let site = spec["site"].as_str().unwrap().to_string();
    let order = spec["order"].as_u64().unwrap();
    let start = spec["start"].as_u64().unwrap();
    let end = start + CALLING.as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(start.saturating_sub(now_ms()))).await;
    let writer = spec["role"] == "write";
    let tasks = if writer { 1 } else { TASKS_PER_READER };
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let (crm, site) = (crm.clone(), site.clone());
        set.spawn(async move {
            // (asked at, answered at) of every call, and the failures.
            let mut calls: Vec<(u64, u64)> = Vec::new();
            let mut errors = Vec::new();
            let mut n = 0u64;
            while now_ms() < end {
                let asked = now_ms();
                let result = if writer {
                    let patch = json!({ "customerComment": format!("budget test {n}") });
                    crm.edit_order(&site, order, &patch).await
                } else {
                    crm.get_order(&site, order).await.map(|_| ())
                };
                calls.push((asked, now_ms()));
                if let Err(e) = result {
                    errors.push(format!("task {t}: {e}"));
                }
                n += 1;
                if writer {
                    let next = asked + WRITE_EVERY.as_millis() as u64;
                    tokio::time::sleep(Duration::from_millis(next.saturating_sub(now_ms()))).await;
                }
            }
            (calls, errors)
        });
    }
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    while let Some(r) = set.join_next().await {
        let (c, e) = r.unwrap();
        calls.extend(c);
        errors.extend(e);
    }
    println!(
        "{RESULT}{}",
        json!({ "role": spec["role"], "calls": calls, "errors": errors })
    );
}

/// A child process's entry: run only by [`several_processes_share_one_budget`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of several_processes_share_one_budget, which runs it"]
async fn budget_child() {
    let spec = std::env::var(ENV_CHILD)
        .expect("run by several_processes_share_one_budget, which sets OTKLIK_BUDGET_CHILD");
    let spec: Value = serde_json::from_str(&spec).unwrap();
    // A booking that failed or a slot let go for a late wake-up is told on stderr, which the
    // parent's output keeps: the first thing to read when the simulator counted 11.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "warn,otklik_retailcrm::gate=debug",
        ))
        .try_init();
    child(spec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_processes_share_one_budget() {
    let sim = otklik_retailcrm_sim::spawn(Default::default())
        .await
        .unwrap();
    sim.state().seed_demo();
    let site = "main-shop".to_string();
    let order_id = sim
        .state()
        .create_order(json!({ "site": site, "status": "complete" }), None)
        .unwrap();
    let stack = otklik_test_support::unique_stack("crmbudget");
    let p = parts(&sim.url(), &stack, &sim.state().config().api_key).await;
    otklik_aws::provision::ensure_table(&p.clients, &p.names, &MAIN_TABLE)
        .await
        .unwrap();
    sim.state().reset_stats();

    // A common start a moment ahead, so every child is ready (runtime, SDK clients) by then.
    let start = now_ms() + 2_500;
    let exe = std::env::current_exe().unwrap();
    let roles = std::iter::repeat_n("read", READERS).chain(["write"]);
    let children: Vec<_> = roles
        .map(|role| {
            let spec = json!({
                "url": sim.url(), "stack": stack, "key": sim.state().config().api_key,
                "site": site, "order": order_id, "start": start, "role": role,
            });
            Command::new(&exe)
                .args(["--exact", "budget_child", "--ignored", "--nocapture"])
                .env(ENV_CHILD, spec.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    })
    .await
    .unwrap();

    let mut reads: Vec<(u64, u64)> = Vec::new();
    let mut writes: Vec<(u64, u64)> = Vec::new();
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "a child failed:\n{stdout}");
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(RESULT))
            .unwrap_or_else(|| panic!("a child said nothing:\n{stdout}"));
        let r: Value = serde_json::from_str(line).unwrap();
        assert_eq!(r["errors"], json!([]), "{line}");
        let calls: Vec<(u64, u64)> = serde_json::from_value(r["calls"].clone()).unwrap();
        match r["role"].as_str() {
            Some("write") => writes.extend(calls),
            _ => reads.extend(calls),
        }
    }
    let stats = sim.state().stats();
    sim.shutdown().await;

    // The rate while the callers flood: answers from the first to the last of them.
    let mut answered: Vec<u64> = reads.iter().chain(&writes).map(|c| c.1).collect();
    answered.sort_unstable();
    let span = (answered[answered.len() - 1] - answered[0]) as f64 / 1000.0;
    let rate = (answered.len() - 1) as f64 / span;
    let write_waits: Vec<u64> = writes.iter().map(|(a, b)| b - a).collect();
    println!(
        "{} processes, {} requests in {span:.2} s: {rate:.2} req/s; most within a sliding second \
         at the simulator {}, refused {}; {} writes answered in at most {} ms amid {} reads",
        READERS + 1,
        answered.len(),
        stats.max_per_second,
        stats.rate_limited,
        writes.len(),
        write_waits.iter().max().unwrap(),
        reads.len(),
    );
    // Every answered call reached the simulator; on a loaded machine a few attempts more do (a
    // client timeout retried: each retry books a slot of its own, so the limits below hold).
    assert!(stats.requests >= answered.len() as u64, "{stats:?}");
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(stats.max_per_second <= 10, "{stats:?}");
    assert!(rate >= 8.8, "{rate:.2} req/s: the budget is not used");
    // Priority: with 24 readers flooding, a write queued behind them would wait about 2.6 s; it
    // books ahead of them instead (0.3 s horizon + one slot; the rest is the round trips).
    assert!(writes.len() >= 10, "{writes:?}");
    assert!(
        write_waits.iter().all(|&w| w <= 1_000),
        "writes waited {write_waits:?} ms"
    );
}
