//! `make bench` (December peak): a burst of completed orders and then a burst of replies through
//! the whole local stack, at retailCRM's real rate limit, and how long the product takes to
//! catch up.
//!
//! What is measured, at the simulators over real HTTP:
//! - *asking*: from the first order's completion until every customer has the question;
//! - *answering*: from the first reply until every rating is on its order, every 1–2 has its
//!   complaint order and every customer who replied has our answer;
//! - retailCRM's view: requests, the most within any sliding second (the simulator's own count),
//!   and how many it refused for going over the limit;
//! - losses: customers never asked, replies without a rating, complaints missing or doubled,
//!   customers answered twice, messages in a dead-letter queue.
//!
//! The local stack runs every function in one process, and one process shares one pacer per
//! retailCRM key (`otklik_retailcrm::pacer`), so here all stages together use the account's whole
//! limit. On AWS each function's instances pace themselves at their fixed share
//! (`resources::FUNCTIONS`); [`aws_projection`] turns the same work into times at those shares.
//!
//! The functions' metric lines are captured for the run (the report is on stdout).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{FUNCTIONS, QUEUES};
use serde_json::{json, Value};

use crate::drive::Driver;
use crate::local::{LocalStack, Options};

/// The answering phase ends without its last effects once none has come for this long.
const STALLED: Duration = Duration::from_secs(300);

/// The size of the peak.
#[derive(Debug, Clone, Copy)]
pub struct PeakPlan {
    /// Orders completed within `window`.
    pub orders: u64,
    /// Customers (the first of those asked) who reply within `window`.
    pub replies: u64,
    pub window: Duration,
    /// Each phase gives up after this; whatever is missing then is reported as lost.
    pub give_up_after: Duration,
}

impl Default for PeakPlan {
    fn default() -> Self {
        PeakPlan {
            orders: 3_000,
            replies: 1_000,
            window: Duration::from_secs(60),
            give_up_after: Duration::from_secs(45 * 60),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Peak {
    pub plan_orders: u64,
    pub plan_replies: u64,
    /// How long completing the orders took (the burst itself).
    pub completed_in: Duration,
    /// First completion → last customer asked (`None`: not everyone was asked in time).
    pub asked_in: Option<Duration>,
    pub asked: u64,
    /// How long sending the replies took.
    pub replied_in: Duration,
    /// First reply → last effect of the last reply.
    pub answered_in: Option<Duration>,
    pub rated: u64,
    pub answered: u64,
    pub complaints: u64,
    pub complaints_expected: u64,
    /// Customers who got some message twice, or more than the question and one answer.
    pub doubled: u64,
    pub dead_letters: u64,
    /// retailCRM requests during each phase.
    pub crm_asking: BTreeMap<String, u64>,
    pub crm_answering: BTreeMap<String, u64>,
    /// The most requests the simulator saw within one sliding second, and its limit.
    pub max_per_second: u64,
    pub rate_limit: u64,
    /// Requests the simulator refused for exceeding the limit.
    pub rate_limited: u64,
    /// WhatsApp webhook posts (replies and statuses) our API answered 2xx, and those it did not
    /// (an error or no answer within the simulator's 10 s); the simulator does not retry here.
    pub webhooks_delivered: u64,
    pub webhooks_failed: u64,
}

impl Peak {
    /// Everything that should have happened and did not, or happened twice.
    pub fn losses(&self) -> u64 {
        (self.plan_orders - self.asked.min(self.plan_orders))
            + (self.plan_replies - self.rated.min(self.plan_replies))
            + (self.plan_replies - self.answered.min(self.plan_replies))
            + self.complaints.abs_diff(self.complaints_expected)
            + self.doubled
            + self.dead_letters
    }
}

fn phone(i: u64) -> String {
    format!("+7902{:07}", i)
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The mix of a December day's answers: mostly fives, some fours, a tenth "3" and a tenth "1"
/// with words (those become complaints).
fn reply_text(i: u64) -> &'static str {
    match i % 10 {
        0 => "1, привезли не тот размер",
        1 => "3",
        2 => "4 спасибо",
        _ => "5",
    }
}

fn is_complaint(i: u64) -> bool {
    i.is_multiple_of(10)
}

async fn sim_json(http: &reqwest::Client, url: String) -> Result<Value, String> {
    http.get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))
}

fn routes(stats: &Value) -> BTreeMap<String, u64> {
    stats["byRoute"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect()
}

/// `after − before`, per route.
fn minus(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v.saturating_sub(*before.get(k).unwrap_or(&0))))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Messages per customer (digits), oldest first.
async fn messages(d: &Driver) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in d.messages_all().await? {
        let text = format!(
            "{} {} {} {}",
            m["kind"], m["text"], m["template"], m["params"]
        );
        by.entry(digits(m["to"].as_str().unwrap_or_default()))
            .or_default()
            .push(text);
    }
    Ok(by)
}

/// Runs `jobs` spread evenly over `window` (job *i* starts at `i / n` of it), all in flight at
/// once if need be, and returns when the last has finished.
async fn spread<F, Fut>(n: u64, window: Duration, job: F) -> Result<Duration, String>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let started = tokio::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        tokio::time::sleep_until(started + window.mul_f64(i as f64 / n as f64)).await;
        set.spawn(job(i));
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(started.elapsed())
}

/// Runs the peak on a fresh local stack. `aws` is the AWS endpoint to use directly.
pub async fn december_peak(plan: PeakPlan, aws: &str) -> Result<Peak, String> {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let stack = LocalStack::start(Options {
        stack: format!("peak{}", nanos % 1_000_000_000),
        // The shop's waiting time before asking is compressed away: the peak of questions comes
        // right behind the peak of completions, the harder case for the rate limit.
        speed: 1e7,
        aws_endpoint: Some(aws.to_string()),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let d = Driver::new(stack.crm_sim.url(), stack.wa_sim.url(), stack.api.url());
    let http = reqwest::Client::new();
    let crm = stack.crm_sim.url();
    let mut peak = Peak {
        plan_orders: plan.orders,
        plan_replies: plan.replies.min(plan.orders),
        complaints_expected: (0..plan.replies.min(plan.orders))
            .filter(|i| is_complaint(*i))
            .count() as u64,
        ..Default::default()
    };

    // The day's orders exist already, taken by the shop's managers (not part of the peak).
    println!("  {} orders taken…", plan.orders);
    let mut ids = vec![0u64; plan.orders as usize];
    for chunk in (0..plan.orders).collect::<Vec<_>>().chunks(50) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let d = d.clone();
            set.spawn(async move {
                let manager = 11 + i % 3;
                let id = d
                    .new_order(
                        "main-shop",
                        manager,
                        json!({"phone": phone(i), "firstName": format!("Покупатель {i}")}),
                    )
                    .await?;
                Ok::<_, String>((i, id))
            });
        }
        while let Some(r) = set.join_next().await {
            let (i, id) = r.map_err(|e| e.to_string())??;
            ids[i as usize] = id;
        }
    }
    // Quiet: the poller has read the history of the new orders, the counters start at zero.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = routes(&sim_json(&http, format!("{crm}/sim/stats")).await?);

    // 1. The orders are completed within the window; the simulator's trigger calls our webhook.
    println!(
        "  {} orders completed within {:?}…",
        plan.orders, plan.window
    );
    let started = Instant::now();
    let ids_for_jobs = ids.clone();
    peak.completed_in = spread(plan.orders, plan.window, |i| {
        let d = d.clone();
        let id = ids_for_jobs[i as usize];
        async move { d.set_status("main-shop", id, "complete", 11 + i % 3).await }
    })
    .await?;
    let asked = loop {
        let m = messages(&d).await?;
        let asked = (0..plan.orders)
            .filter(|i| m.get(&digits(&phone(*i))).is_some_and(|v| !v.is_empty()))
            .count() as u64;
        if asked == plan.orders {
            peak.asked_in = Some(started.elapsed());
            break asked;
        }
        if started.elapsed() > plan.give_up_after {
            break asked;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    };
    peak.asked = asked;
    println!(
        "  asked {asked} of {} in {:?}",
        plan.orders,
        started.elapsed()
    );
    let middle = routes(&sim_json(&http, format!("{crm}/sim/stats")).await?);
    peak.crm_asking = minus(&middle, &before);

    // 2. Customers answer within the window.
    let n = peak.plan_replies;
    println!("  {n} replies within {:?}…", plan.window);
    let started = Instant::now();
    let wa = stack.wa_sim.url();
    peak.replied_in = spread(n, plan.window, |i| {
        let (http, wa) = (http.clone(), wa.clone());
        async move {
            let r = http
                .post(format!("{wa}/sim/reply"))
                .json(&json!({"provider": "meta", "from": phone(i), "text": reply_text(i)}))
                .send()
                .await
                .map_err(|e| format!("reply {i}: {e}"))?;
            if r.status().is_success() {
                Ok(())
            } else {
                Err(format!("reply {i}: HTTP {}", r.status()))
            }
        }
    })
    .await?;
    let replied: BTreeMap<u64, u64> = (0..n).map(|i| (ids[i as usize], i)).collect();
    // Lost replies never arrive: stop waiting once nothing has moved for a while.
    let mut last_progress = (Instant::now(), (0, 0, 0));
    loop {
        let orders = d.orders("main-shop").await?;
        peak.rated = orders
            .iter()
            .filter(|o| {
                o["id"].as_u64().is_some_and(|id| replied.contains_key(&id))
                    && !o["customFields"]["otklik_rating"].is_null()
            })
            .count() as u64;
        peak.complaints = d.orders("reklamacii").await?.len() as u64;
        let m = messages(&d).await?;
        peak.answered = (0..n)
            .filter(|i| m.get(&digits(&phone(*i))).is_some_and(|v| v.len() >= 2))
            .count() as u64;
        let done =
            peak.rated == n && peak.answered == n && peak.complaints >= peak.complaints_expected;
        if done {
            peak.answered_in = Some(started.elapsed());
        }
        let progress = (peak.rated, peak.answered, peak.complaints);
        if progress != last_progress.1 {
            last_progress = (Instant::now(), progress);
        }
        let stalled = last_progress.0.elapsed() > STALLED;
        if done || stalled || started.elapsed() > plan.give_up_after {
            // Anything twice: more messages than the question and one answer, or a repeat.
            peak.doubled = m
                .values()
                .filter(|v| {
                    let distinct: BTreeSet<&String> = v.iter().collect();
                    v.len() > 2 || distinct.len() < v.len()
                })
                .count() as u64;
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    println!(
        "  {} rated, {} answered, {} complaints in {:?}",
        peak.rated,
        peak.answered,
        peak.complaints,
        started.elapsed()
    );

    let stats = sim_json(&http, format!("{crm}/sim/stats")).await?;
    peak.crm_answering = minus(&routes(&stats), &middle);
    peak.max_per_second = stats["maxPerSecond"].as_u64().unwrap_or(0);
    peak.rate_limited = stats["rateLimited"].as_u64().unwrap_or(0);
    peak.rate_limit = stack.config().crm.rate_limit_per_second.into();
    let wa_stats = sim_json(&http, format!("{wa}/sim/stats")).await?;
    peak.webhooks_delivered = wa_stats["webhooks"]["delivered"].as_u64().unwrap_or(0);
    peak.webhooks_failed = wa_stats["webhooks"]["failed"].as_u64().unwrap_or(0);
    println!(
        "  WhatsApp webhooks: {} answered 2xx, {} not",
        peak.webhooks_delivered, peak.webhooks_failed
    );

    // Nothing may rest in a dead-letter queue.
    let sqs = stack.parts.clients.sqs.clone();
    for q in QUEUES {
        let dlq = SqsQueue::connect_named(sqs.clone(), &stack.names().dlq(q))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let got = dlq.receive(10, 0).await.map_err(|e| e.to_string())?.len();
            peak.dead_letters += got as u64;
            if got == 0 {
                break;
            }
        }
    }
    Ok(peak)
}

/// One function's fixed share of the account's limit on AWS: instances × requests per second.
pub fn aws_share(function: &str) -> Option<u32> {
    let f = FUNCTIONS.iter().find(|f| f.name == function)?;
    Some(f.crm_rate? * f.instances()?)
}

/// Which function makes which retailCRM calls, read off the handlers: asking, per order, the
/// intake worker reads the order and survey-dispatch reads it again with its history (who worked
/// it); answering, crm-writer makes one order edit per reply and complaint-create reads the order
/// twice, opens the complaint order and links the two. The run's counts check the sums
/// ([`Peak::asking_calls_per_order`]).
pub const ASKING_CALLS_PER_ORDER: [(&str, u64); 2] = [("intake-worker", 1), ("survey-dispatch", 2)];
pub const WRITER_CALLS_PER_REPLY: u64 = 1;
pub const COMPLAINT_CALLS: u64 = 4;

/// The two phases on AWS, computed from the shares: the stages of a phase run side by side, so
/// the slowest sets its time.
pub fn aws_projection(orders: u64, replies: u64, complaints: u64) -> Option<(Duration, Duration)> {
    let time = |units: u64, calls: u64, function: &str| -> Option<f64> {
        Some((units * calls) as f64 / f64::from(aws_share(function)?))
    };
    let mut asking: f64 = 0.0;
    for (f, calls) in ASKING_CALLS_PER_ORDER {
        asking = asking.max(time(orders, calls, f)?);
    }
    let answering = time(replies, WRITER_CALLS_PER_REPLY, "crm-writer")?.max(time(
        complaints,
        COMPLAINT_CALLS,
        "complaint-create",
    )?);
    Some((
        Duration::from_secs_f64(asking),
        Duration::from_secs_f64(answering),
    ))
}

impl Peak {
    /// retailCRM calls per order counted in the asking phase (the history poller's few included).
    pub fn asking_calls_per_order(&self) -> f64 {
        self.crm_asking.values().sum::<u64>() as f64 / self.plan_orders.max(1) as f64
    }
}

fn mins(d: Duration) -> String {
    let s = d.as_secs();
    format!("{} min {:02} s", s / 60, s % 60)
}

/// The report's section, as Markdown.
pub fn markdown(p: &Peak) -> String {
    let mut s = String::from("\n## December peak\n\n");
    s.push_str(&format!(
        "{} orders completed within {:.0} s, then {} of those customers replying within {:.0} s \
         (a tenth \"1\" with words, a tenth \"3\", the rest 4–5), through the whole local stack \
         against the simulators at retailCRM's limit of {} requests per second per key. The \
         shop's waiting time before asking is compressed away, so the questions pile up right \
         behind the completions. Times are from the first completion (reply) to the last \
         customer asked (last effect), polled every few seconds.\n\n",
        p.plan_orders,
        p.completed_in.as_secs_f64(),
        p.plan_replies,
        p.replied_in.as_secs_f64(),
        p.rate_limit,
    ));
    let crm_total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    let time = |d: Option<Duration>| d.map_or_else(|| "**did not drain**".to_string(), mins);
    s.push_str("| measure | value |\n|---|---|\n");
    s.push_str(&format!(
        "| every customer asked | {} ({} of {}) |\n",
        time(p.asked_in),
        p.asked,
        p.plan_orders
    ));
    s.push_str(&format!(
        "| every reply rated and answered | {} ({} rated, {} answered of {}) |\n",
        time(p.answered_in),
        p.rated,
        p.answered,
        p.plan_replies
    ));
    s.push_str(&format!(
        "| retailCRM requests (asking / answering) | {} / {} |\n",
        crm_total(&p.crm_asking),
        crm_total(&p.crm_answering)
    ));
    let limit = if p.max_per_second <= p.rate_limit && p.rate_limited == 0 {
        "never over the limit"
    } else {
        "**over the limit**"
    };
    s.push_str(&format!(
        "| highest retailCRM requests in one second | {} (limit {}; {} refused): {limit} |\n",
        p.max_per_second, p.rate_limit, p.rate_limited
    ));
    s.push_str(&format!(
        "| WhatsApp webhooks answered 2xx / not (no retries) | {} / {} |\n",
        p.webhooks_delivered, p.webhooks_failed
    ));
    s.push_str(&format!(
        "| complaints | {} (expected {}) |\n",
        p.complaints, p.complaints_expected
    ));
    s.push_str(&format!(
        "| losses (not asked, not rated, not answered, complaints off, doubled, dead letters) | \
         **{}** |\n",
        p.losses()
    ));
    s.push_str("\n| phase | retailCRM call | count |\n|---|---|---|\n");
    for (phase, m) in [("asking", &p.crm_asking), ("answering", &p.crm_answering)] {
        for (k, v) in m {
            s.push_str(&format!("| {phase} | `{k}` | {v} |\n"));
        }
    }
    let floor = crm_total(&p.crm_asking) as f64 / p.rate_limit.max(1) as f64;
    let assumed: u64 = ASKING_CALLS_PER_ORDER.iter().map(|(_, c)| c).sum();
    let projected = aws_projection(p.plan_orders, p.plan_replies, p.complaints_expected);
    s.push_str(&format!(
        "\nThe asking phase cannot be quicker than its retailCRM requests at the limit: {} here \
         ({:.2} requests per order counted; the projection below assumes {assumed}). Locally every \
         stage shares the whole limit. On AWS each function's instances pace themselves at a fixed \
         share (`resources::FUNCTIONS`): intake-worker {} req/s, survey-dispatch {} req/s, \
         crm-writer {} req/s, complaint-create {} req/s, history-poller {} req/s. Computed from \
         those shares and the calls each stage makes (`peak::ASKING_CALLS_PER_ORDER`, \
         `WRITER_CALLS_PER_REPLY`, `COMPLAINT_CALLS`), not measured: asking {} orders would take \
         about **{}** there and answering {} replies about **{}**, the slowest stage setting the \
         pace. The shop's waiting time spreads real questions over hours, so on AWS the asking \
         peak is the day's completions arriving at the intake worker, and the dispatches due at \
         the same hour.\n",
        mins(Duration::from_secs_f64(floor)),
        p.asking_calls_per_order(),
        aws_share("intake-worker").unwrap_or(0),
        aws_share("survey-dispatch").unwrap_or(0),
        aws_share("crm-writer").unwrap_or(0),
        aws_share("complaint-create").unwrap_or(0),
        aws_share("history-poller").unwrap_or(0),
        p.plan_orders,
        projected.map_or_else(|| "?".into(), |(a, _)| mins(a)),
        p.plan_replies,
        projected.map_or_else(|| "?".into(), |(_, b)| mins(b)),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_count_everything_missing_or_doubled() {
        let mut p = Peak {
            plan_orders: 10,
            plan_replies: 4,
            asked: 10,
            rated: 4,
            answered: 4,
            complaints: 1,
            complaints_expected: 1,
            ..Default::default()
        };
        assert_eq!(p.losses(), 0);
        p.asked = 9;
        p.rated = 3;
        p.complaints = 2;
        p.doubled = 1;
        p.dead_letters = 2;
        assert_eq!(p.losses(), 1 + 1 + 1 + 1 + 2);
    }

    #[test]
    fn the_projection_takes_the_slowest_stage_of_each_phase_at_its_share() {
        let share = |f| f64::from(aws_share(f).unwrap());
        let (asking, answering) = aws_projection(3_000, 1_000, 100).unwrap();
        let expected_asking = ASKING_CALLS_PER_ORDER
            .iter()
            .map(|(f, c)| 3_000.0 * *c as f64 / share(f))
            .fold(0.0, f64::max);
        assert_eq!(asking, Duration::from_secs_f64(expected_asking));
        let expected_answering = (1_000.0 * WRITER_CALLS_PER_REPLY as f64 / share("crm-writer"))
            .max(100.0 * COMPLAINT_CALLS as f64 / share("complaint-create"));
        assert_eq!(answering, Duration::from_secs_f64(expected_answering));
        // More orders never take less time.
        assert!(aws_projection(3_001, 1_000, 100).unwrap().0 > asking);
        // The shares of the functions that call retailCRM fit the account's limit.
        let total: u32 = FUNCTIONS.iter().filter_map(|f| aws_share(f.name)).sum();
        assert!(total <= otklik_aws::resources::CRM_RATE_BUDGET, "{total}");
    }

    #[test]
    fn the_report_says_when_the_limit_was_crossed_or_something_was_lost() {
        let ok = Peak {
            plan_orders: 2,
            plan_replies: 1,
            asked: 2,
            asked_in: Some(Duration::from_secs(75)),
            rated: 1,
            answered: 1,
            answered_in: Some(Duration::from_secs(9)),
            max_per_second: 10,
            rate_limit: 10,
            webhooks_delivered: 7,
            webhooks_failed: 2,
            ..Default::default()
        };
        let s = markdown(&ok);
        assert!(s.contains("| 7 / 2 |"), "{s}");
        assert!(s.contains("never over the limit"), "{s}");
        assert!(s.contains("| **0** |"), "{s}");
        assert!(s.contains("1 min 15 s"), "{s}");
        let over = Peak {
            max_per_second: 11,
            asked_in: None,
            asked: 1,
            ..ok
        };
        let s = markdown(&over);
        assert!(s.contains("**over the limit**"), "{s}");
        assert!(s.contains("**did not drain**"), "{s}");
        assert!(s.contains("| **1** |"), "{s}");
    }
}
