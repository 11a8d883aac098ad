//! One cold start: a release binary spawned with Lambda's environment under a fresh
//! [`RuntimeApi`], timed until it answers its event, its peak memory read, then given the same
//! event again warm.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::runtime::{uuid_like, Invocation, Report, Reported, RuntimeApi};

/// How long one start may take before it counts as failed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One cold start of one binary.
#[derive(Debug, Clone)]
pub struct Run {
    /// Process spawned → answer received.
    pub total: Duration,
    /// Process spawned → first `GET …/next` (the init, before the event).
    pub init: Option<Duration>,
    /// `VmHWM` right after the answer, in KiB.
    pub peak_rss_kb: Option<u64>,
    pub report: Report,
    /// retailCRM calls the process made (its `CrmCalls` metric lines).
    pub crm_calls: u64,
    /// The same event handed to the same process again right after it answered: from handing it
    /// out to the answer. `None` if the repeat got no answer.
    pub warm: Option<Duration>,
}

/// The peak resident set of a live process (`VmHWM` of `/proc/<pid>/status`), in KiB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Kills and reaps the process whatever way the measurement ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` with exactly `env` (plus the emulator's address), gives it `invocation` and
/// measures until it answers; then gives the warm process the same event again (a fresh request
/// id) and measures that answer too. Its output is appended to `log`.
pub async fn run_once(
    binary: &Path,
    env: &[(String, String)],
    invocation: Invocation,
    log: &Path,
) -> Result<Run, String> {
    let log_len = || std::fs::metadata(log).map_or(0, |m| m.len());
    let log_from = log_len();
    let mut repeat = invocation.clone();
    repeat.request_id = uuid_like();
    let mut api = RuntimeApi::start(vec![invocation, repeat])
        .await
        .map_err(|e| format!("runtime API: {e}"))?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(binary);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    let started = Instant::now();
    let mut child = KillOnDrop(
        cmd.spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?,
    );
    let reported = loop {
        if let Some(r) = api.report(Duration::from_millis(5)).await {
            break r;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "exited before answering ({status}); see {}",
                log.display()
            ));
        }
        if started.elapsed() > RUN_LIMIT {
            return Err(format!("no answer within {} s", RUN_LIMIT.as_secs()));
        }
    };
    let peak_rss_kb = peak_rss_kb(child.0.id());
    let crm_calls = crm_calls_between(log, log_from, log_len());
    let warm = match api.report(RUN_LIMIT).await {
        Some(Reported {
            handed: Some(handed),
            at,
            ..
        }) => Some(at.saturating_duration_since(handed)),
        _ => None,
    };
    drop(child);
    Ok(Run {
        warm,
        total: reported.at.saturating_duration_since(started),
        init: api
            .first_next()
            .map(|t| t.saturating_duration_since(started)),
        peak_rss_kb,
        report: reported.report,
        crm_calls,
    })
}

/// The `CrmCalls` EMF metrics in `log` from byte `from` up to byte `to`: how many retailCRM calls
/// one event made (each call writes its line before the answer goes out).
fn crm_calls_between(log: &Path, from: u64, to: u64) -> u64 {
    let text = std::fs::read(log).unwrap_or_default();
    let end = (to as usize).min(text.len());
    let tail = text.get(from as usize..end).unwrap_or_default();
    String::from_utf8_lossy(tail)
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("CrmCalls").and_then(Value::as_f64))
        .sum::<f64>() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retail_crm_calls_are_counted_from_the_metric_lines_of_one_start() {
        let log = std::env::temp_dir().join(format!("otklik-coldstart-{}.log", uuid_like()));
        let metric = |n: u32| format!(r#"{{"CrmCalls":{n}.0,"Stack":"s","_aws":{{}}}}"#);
        std::fs::write(&log, format!("{}\n", metric(1))).unwrap();
        let offset = std::fs::metadata(&log).unwrap().len();
        let more = format!(
            "{}\n{{\"level\":\"INFO\"}}\nnot json\n{}\n",
            metric(1),
            metric(2)
        );
        std::fs::write(&log, format!("{}\n{more}", metric(1))).unwrap();
        let end = std::fs::metadata(&log).unwrap().len();
        assert_eq!(
            crm_calls_between(&log, offset, end),
            3,
            "only what came after the offset"
        );
        assert_eq!(crm_calls_between(&log, 0, end), 4);
        // The warm repeat's lines, written after the first answer, are not the first event's.
        std::fs::write(&log, format!("{}\n{more}{}\n", metric(1), metric(5))).unwrap();
        assert_eq!(crm_calls_between(&log, offset, end), 3);
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn the_peak_of_a_live_process_is_read() {
        assert!(peak_rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
        assert_ne!(uuid_like(), uuid_like());
    }
}
