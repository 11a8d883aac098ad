//! The cold-start section of the bench report: the medians and peaks of every start, judged
//! against the hello-world baseline and the 128 MB a function has, as Markdown.

use std::collections::BTreeMap;
use std::time::Duration;

use otklik_aws::resources;

use super::run::Run;
use super::runtime::answer_label;

/// The cold-start target: a function starts within this multiple of the hello-world binary.
pub const TARGET_RATIO: f64 = 1.3;
/// "Comfortable in 128 MB": the peak resident set stays within half the function's memory, which
/// leaves the other half for a full batch of ten, bigger retailCRM answers and the allocator's
/// slack.
pub const COMFORTABLE_MB: f64 = 64.0;
/// The memory size every function has in the template (`Globals.Function.MemorySize`).
pub const MEMORY_MB: u32 = 128;
/// The release build of the then ten functions and the baseline from a nearly empty `target/release`,
/// measured on the 2-core machine `make bench` was first run on, which debug builds shared part
/// of the time (later runs rebuild only what changed).
pub const FIRST_BUILD: &str = "21 min 15 s";

/// The median (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A function's median over the baseline's.
pub fn ratio(function_ms: f64, hello_ms: f64) -> Option<f64> {
    (hello_ms > 0.0).then(|| function_ms / hello_ms)
}

/// Every start of one binary.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    /// The event it was given, in words.
    pub event: String,
    pub runs: Vec<Result<Run, String>>,
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Measured {
    pub fn new(name: &str, event: &str) -> Measured {
        Measured {
            name: name.into(),
            event: event.into(),
            runs: Vec::new(),
        }
    }

    fn answered(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter_map(|r| r.as_ref().ok())
    }

    fn totals_ms(&self) -> Vec<f64> {
        self.answered().map(|r| ms(r.total)).collect()
    }

    pub fn median_ms(&self) -> Option<f64> {
        median(&self.totals_ms())
    }

    pub fn max_ms(&self) -> Option<f64> {
        self.totals_ms().into_iter().reduce(f64::max)
    }

    pub fn init_median_ms(&self) -> Option<f64> {
        median(
            &self
                .answered()
                .filter_map(|r| r.init)
                .map(ms)
                .collect::<Vec<_>>(),
        )
    }

    /// The median of the warm repeats that were answered.
    pub fn warm_median_ms(&self) -> Option<f64> {
        median(
            &self
                .answered()
                .filter_map(|r| r.warm)
                .map(ms)
                .collect::<Vec<_>>(),
        )
    }

    /// The highest peak of all starts, in MiB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        self.answered()
            .filter_map(|r| r.peak_rss_kb)
            .max()
            .map(|kb| kb as f64 / 1024.0)
    }

    /// retailCRM calls per start: "2", or "1–2" when starts differed.
    pub fn crm_calls(&self) -> String {
        let calls: Vec<u64> = self.answered().map(|r| r.crm_calls).collect();
        match (calls.iter().min(), calls.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            _ => "—".into(),
        }
    }

    /// "HTTP 200 ×5", one entry per kind of answer (failed starts with their reason).
    pub fn answers(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &self.runs {
            let label = match r {
                Ok(run) => answer_label(&run.report),
                Err(e) => format!("failed: {e}"),
            };
            *counts.entry(label).or_default() += 1;
        }
        counts
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The whole measurement.
#[derive(Debug, Clone)]
pub struct ColdStarts {
    pub rounds: usize,
    pub hello: Measured,
    pub functions: Vec<Measured>,
    /// How long this run's `cargo build --release` took (bench.sh measures it).
    pub build_secs: Option<u64>,
}

/// "12 min 39 s", "4 s".
fn minutes(secs: u64) -> String {
    match secs {
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.decimals$}"))
}

/// The report's section, as Markdown; `None`: not measured in this run.
pub fn markdown(cold: Option<&ColdStarts>) -> String {
    let mut s = String::from("\n## Cold start and peak memory\n\n");
    let Some(c) = cold else {
        s.push_str(
            "Not measured in this run: `otklik-local bench` was started without `--bins` (`make \
             bench` builds the release binaries and passes their directory).\n",
        );
        return s;
    };
    let build = match c.build_secs {
        Some(t) => format!(
            "The release build before this run took {}; the first one, from nothing, took \
             {FIRST_BUILD} on this 2-core machine (the AWS SDK, then LTO linking of the eleven \
             binaries there were then).",
            minutes(t)
        ),
        None => format!(
            "The first release build from nothing took {FIRST_BUILD} on this 2-core machine (the \
             AWS SDK, then LTO linking of the eleven binaries there were then)."
        ),
    };
    s.push_str(&format!(
        "Each function's release binary (the workspace's `[profile.release]`: LTO, one codegen \
         unit, `panic = \"abort\"`, stripped), built for this machine ({arch}; Lambda runs the \
         same code built for arm64), started {rounds} times as Lambda starts it: a local Lambda \
         Runtime API emulator (`coldstart::RuntimeApi`) on a loopback port in \
         `AWS_LAMBDA_RUNTIME_API`, the `AWS_LAMBDA_*` variables Lambda sets (128 MB), and the \
         environment the template gives the function (`OTKLIK_CONFIG`, `OTKLIK_STACK`, \
         the `OTKLIK_SECRET_ID_*` naming each Secrets Manager secret it reads, `OTKLIK_CRM_RATE_PER_SECOND`, the \
         `OTKLIK_QUEUE_URL_*` of each queue it sends to), \
         against the local AWS endpoint with the stack's table and queues and both simulators. \
         **Cold start** is the time from spawning the process to the emulator receiving the \
         answer to one typical event: the whole init (config file, the secret, SDK clients) and \
         the event. **Peak RSS** is the process's `VmHWM` right after it \
         answered (the highest of the {rounds} starts). The baseline is a hello-world \
         `lambda_runtime` binary (`infra/bench/hello-lambda`) built with the same profile in the \
         same `cargo build` and measured the same way, interleaved with the functions round by \
         round. \"Comfortable in 128 MB\" means a peak of at most {COMFORTABLE_MB:.0} MB, half \
         the function's memory, leaving the other half for a full batch of ten messages, bigger \
         retailCRM answers and the allocator's slack.\n\n\
         Every AWS call goes to moto server on this machine and retailCRM and WhatsApp are the \
         simulators, so the init's network part (reading the one secret) is a local \
         round trip to a Python server, not an in-region call to AWS; on Lambda that part and the \
         smaller arm64 CPU share will differ. The ratio compares what our init and handler add \
         to the least a Rust function does. A handler that calls retailCRM books each call's slot \
         in the budget all functions share (one conditional write to the table, then a wait of \
         at least 110 ms after the previous slot), here as on Lambda: the retailCRM column below \
         explains most of the slowest cold starts. {build}\n\n",
        rounds = c.rounds,
        arch = std::env::consts::ARCH,
    ));
    s.push_str(&format!(
        "| function | cold start median (ms) | max (ms) | ratio to hello-world | target ≤ \
         {TARGET_RATIO}× | peak RSS (MB) | comfortable in {MEMORY_MB} MB (≤ {COMFORTABLE_MB:.0} \
         MB) |\n|---|---|---|---|---|---|---|\n"
    ));
    let hello_ms = c.hello.median_ms();
    let comfortable = |m: &Measured| match m.peak_rss_mb() {
        Some(mb) if mb <= COMFORTABLE_MB => "yes",
        Some(_) => "**no**",
        None => "—",
    };
    s.push_str(&format!(
        "| hello-world (`lambda_runtime`, baseline) | {} | {} | 1.00× | — | {} | {} |\n",
        num(hello_ms, 1),
        num(c.hello.max_ms(), 1),
        num(c.hello.peak_rss_mb(), 1),
        comfortable(&c.hello),
    ));
    for m in &c.functions {
        let r = m.median_ms().zip(hello_ms).and_then(|(f, h)| ratio(f, h));
        let target = match r {
            Some(r) if r <= TARGET_RATIO => "met",
            Some(_) => "**missed**",
            None => "—",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            num(m.median_ms(), 1),
            num(m.max_ms(), 1),
            r.map_or("—".into(), |r| format!("{r:.2}×")),
            target,
            num(m.peak_rss_mb(), 1),
            comfortable(m),
        ));
    }
    s.push_str(&format!(
        "\n### The events, the answers, the init and the warm repeat\n\n\
         Init is the part of the cold start before the event: from spawning the process to its \
         first `GET /2018-06-01/runtime/invocation/next` (median). **Warm repeat**: right after \
         the answer the emulator hands the same process the same event again (a new request id) \
         and times that answer alone, from handing it out: what the event costs with no cold \
         start at all. For the queue workers and the poller the repeat is a duplicate delivery, \
         which they recognize and cut short, so there it is a lower bound. **Least ratio \
         possible**: a cold start cannot take less than the hello-world's init (starting the \
         process, tokio and the runtime client, which every function does too) plus the event's \
         warm cost, so (hello-world's init + warm repeat) / hello-world's cold start is the ratio \
         a function would have if its own init cost nothing. Where that is over {TARGET_RATIO}×, \
         no work on the init can meet the target: the event's own round trips to the local AWS \
         endpoint and the simulators, which the hello-world does not make, are already too \
         many.\n\n\
         | function | typical event | answered | retailCRM calls | init \
         median (ms) | init ratio to hello-world | warm repeat median (ms) | least ratio possible \
         |\n|---|---|---|---|---|---|---|---|\n",
    ));
    let hello_init = c.hello.init_median_ms();
    for m in std::iter::once(&c.hello).chain(&c.functions) {
        let pace = resources::function(&m.name)
            .and_then(|d| d.crm_rate)
            .map_or(String::new(), |_| " (shared budget)".to_string());
        let init_ratio = m
            .init_median_ms()
            .zip(hello_init)
            .and_then(|(f, h)| ratio(f, h));
        let least = m
            .warm_median_ms()
            .zip(hello_init)
            .zip(hello_ms)
            .and_then(|((w, i), h)| ratio(i + w, h));
        s.push_str(&format!(
            "| {} | {} | {} | {}{pace} | {} | {} | {} | {} |\n",
            if m.name == c.hello.name {
                "hello-world"
            } else {
                m.name.as_str()
            },
            m.event,
            m.answers(),
            m.crm_calls(),
            num(m.init_median_ms(), 1),
            init_ratio.map_or("—".into(), |r| format!("{r:.2}×")),
            num(m.warm_median_ms(), 1),
            least.map_or("—".into(), |r| format!("{r:.2}×")),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coldstart::events::HELLO;
    use crate::coldstart::runtime::Report;

    #[test]
    fn median_max_and_ratio() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(ratio(13.0, 10.0), Some(1.3));
        assert_eq!(ratio(1.0, 0.0), None);

        let run = |ms: u64, kb: u64, body: &str| {
            Ok(Run {
                total: Duration::from_millis(ms),
                init: Some(Duration::from_millis(ms / 2)),
                peak_rss_kb: Some(kb),
                report: Report::Response(body.as_bytes().to_vec()),
                crm_calls: ms / 10,
                warm: Some(Duration::from_millis(ms / 5)),
            })
        };
        let mut m = Measured::new("f", "e");
        m.runs = vec![
            run(30, 10 * 1024, r#"{"statusCode":200}"#),
            run(10, 12 * 1024, r#"{"statusCode":200}"#),
            Err("no answer".into()),
            run(20, 11 * 1024, r#"{"statusCode":200}"#),
        ];
        // Failed starts count in the answers, not in the times.
        assert_eq!(m.median_ms(), Some(20.0));
        assert_eq!(m.max_ms(), Some(30.0));
        assert_eq!(m.init_median_ms(), Some(10.0));
        assert_eq!(m.warm_median_ms(), Some(4.0));
        assert_eq!(m.peak_rss_mb(), Some(12.0));
        assert_eq!(m.answers(), "HTTP 200 ×3; failed: no answer ×1");
        assert_eq!(m.crm_calls(), "1–3");
    }

    #[test]
    fn the_section_says_met_or_missed_and_comfortable_or_not() {
        let one = |name: &str, ms: u64, mb: u64| {
            let mut m = Measured::new(name, "an event");
            m.runs.push(Ok(Run {
                total: Duration::from_millis(ms),
                peak_rss_kb: Some(mb * 1024),
                report: Report::Response(b"{}".to_vec()),
                crm_calls: 0,
                warm: Some(Duration::from_millis(ms / 2)),
                init: Some(Duration::from_millis(ms * 3 / 10)),
            }));
            m
        };
        let c = ColdStarts {
            rounds: 1,
            hello: one(HELLO, 10, 3),
            functions: vec![one("quick", 12, 20), one("slow", 40, 100)],
            build_secs: Some(7),
        };
        let md = markdown(Some(&c));
        assert!(
            md.contains("| quick | 12.0 | 12.0 | 1.20× | met | 20.0 | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| slow | 40.0 | 40.0 | 4.00× | **missed** | 100.0 | **no** |"),
            "{md}"
        );
        assert!(md.contains("took 7 s"));
        // The least ratio: (hello-world's init 3 ms + the warm repeat) / its cold start 10 ms.
        assert!(md.contains("| 6.0 | 0.90× |\n"), "{md}");
        assert!(md.contains("| 20.0 | 2.30× |\n"), "{md}");
        assert!(md.contains("Where that is over 1.3×"), "{md}");
        assert_eq!(minutes(759), "12 min 39 s");
        assert!(markdown(None).contains("Not measured in this run"));
    }
}
