//! Run alone by `make test` (scripts/test.sh), after the other tests: it loads the machine for
//! about ten minutes. By hand: `cargo test --workspace --test faults -- --ignored --nocapture`.
//!
//! Proof under faults: 300 orders through the whole local stack, on every channel (WhatsApp, MAX,
//! SMS, email), while everything around it misbehaves the way production does.
//!
//! - retailCRM (simulator) fails 20% of API calls: 500s and 503s, and requests held then dropped
//!   without an answer;
//! - every trigger call and every customer reply is delivered twice; WhatsApp and MAX statuses
//!   and SMS.ru callbacks come twice and newest first, and usually after the customer's answer; a
//!   webhook we fail is posted again;
//! - the MAX instance and SMS.ru refuse some sends (503), and take others but answer 500 or only
//!   after our client gave up; some MAX accounts take the question and report it failed, so it
//!   falls back to SMS;
//! - SES fails some sends before taking them, and loses the answer to others it sent;
//! - link previews and mail scanners open the SMS and email links before the person, who then taps
//!   twice at once and once more later (a reload, a replayed form);
//! - a fifth of all queue messages is handed to its function twice (SQS redelivery);
//! - crashes: a proxy in front of the AWS endpoint fails chosen calls for good, either before
//!   they reach AWS (the survey saved, its commands never queued; a write never made) or after
//!   they took effect (the commands queued, the outbox never cleared; the survey saved, the
//!   function dead before it could say so).
//!
//! Afterwards every rating is on its order exactly once and credited once, every 1–2 has exactly
//! one complaint, no customer got any message twice on any channel, and the dead-letter queues
//! are empty after one redrive. Not injected: a crash between a send claim and the provider call,
//! or a provider failing a send before taking it with an answer that says it may have (a 500, a
//! timeout). The providers have no idempotency keys, so a message is sent at most once
//! (ARCHITECTURE: never twice), and a message in that window is lost by design
//! (docs/reliability.md). The one such loss the run does produce is counted, not hidden: a MAX
//! question taken and then reported failed whose id we never recorded — its answer was lost, or
//! the dispatcher's record of the id failed and so did its note of it on the send's claim — so
//! its failure names a message we do not know and cannot fall back to SMS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::QUEUES;
use otklik_core::model::{Channel, OrderRef, SurveyId, SurveyState};
use otklik_flow_tests::{local_endpoint, nonce_of, Driver, TestStack};
use otklik_local_runner::awsproxy::{self, AwsFaults, FaultRule};
use otklik_local_runner::drive::rating_links;
use otklik_local_runner::local::Options;
use otklik_local_runner::stack;
use serde_json::{json, Value};

const ORDERS: u64 = 300;
/// Everything must have settled by then. A run settles in 9–14 minutes on two cores at
/// retailCRM's 10 requests a second (545 s alone, 824 s with two other builds running beside
/// it); the limit leaves room for a busy machine, and a run that fails names its stragglers.
const LIMIT: Duration = Duration::from_secs(1200);

/// The channel a customer can be reached on, and so the one their survey should take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A shop's site abroad (`ural-shop` here) asking on WhatsApp.
    Whatsapp,
    /// A Russian customer with MAX.
    Max,
    /// With MAX, but the question is taken and then reported failed: the SMS follows.
    MaxThenSms,
    /// No MAX: one SMS with a short link.
    Sms,
    /// No phone on the order: the email.
    Email,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Whatsapp,
        Kind::Max,
        Kind::MaxThenSms,
        Kind::Sms,
        Kind::Email,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Whatsapp => "WhatsApp",
            Kind::Max => "MAX",
            Kind::MaxThenSms => "MAX→SMS",
            Kind::Sms => "SMS",
            Kind::Email => "email",
        }
    }
}

/// Blocks of five customers (one of each rating) take turns: 25% WhatsApp, 30% MAX (one in six of
/// them failing over to SMS), 25% SMS, 20% email.
fn kind(i: u64) -> Kind {
    match (i / 5) % 20 {
        0..=4 => Kind::Whatsapp,
        5..=10 if i.is_multiple_of(6) => Kind::MaxThenSms,
        5..=10 => Kind::Max,
        11..=15 => Kind::Sms,
        _ => Kind::Email,
    }
}

fn site(i: u64) -> &'static str {
    if kind(i) == Kind::Whatsapp {
        "ural-shop"
    } else {
        "main-shop"
    }
}

/// The example configuration as a Russian shop with a site abroad has it: `max → sms → email`,
/// and `whatsapp → email` for the site abroad.
fn every_channel(config: String) -> String {
    let config = stack::russia_2026(config);
    assert!(
        config.contains("[sites.ural-shop]\n"),
        "the example names ural-shop"
    );
    config.replace(
        "[sites.ural-shop]\n",
        "[sites.ural-shop]\nchannels = [\"whatsapp\", \"email\"]\n",
    )
}

fn phone(i: u64) -> String {
    format!("+7901{:07}", 1_000_000 + i)
}

fn email(i: u64) -> String {
    format!("buyer{i}@example.ru")
}

/// Who customer `i` is to the providers: the phone's digits, or the email address.
fn address(i: u64) -> String {
    if kind(i) == Kind::Email {
        email(i)
    } else {
        digits(&phone(i))
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn rating(i: u64) -> u64 {
    i % 5 + 1
}

fn reply_text(i: u64) -> String {
    match (rating(i), i % 3) {
        (r, 0) if r <= 2 => format!("{r}, курьер опоздал, коробка помята"),
        (r, 0) => format!("{r} спасибо"),
        (r, _) => r.to_string(),
    }
}

fn aws_faults() -> Arc<AwsFaults> {
    let rule = |action, body_contains, drop, lose_answer| FaultRule {
        action,
        body_contains,
        drop,
        lose_answer,
    };
    AwsFaults::new(
        vec![
            // Commands: never queued (crash after the save), or queued with the outbox left
            // full (crash after the send).
            rule("sqs SendMessage", None, 0.05, 0.05),
            // The survey's state: saved with nobody told, or never saved.
            rule("dynamodb PutItem", Some("\"survey#"), 0.04, 0.06),
            // The same for a survey saved with its KPI counters in one transaction.
            rule("dynamodb TransactWriteItems", Some("\"survey#"), 0.04, 0.06),
            // Any other write may die before it is made.
            rule("dynamodb PutItem", None, 0.03, 0.0),
            rule("dynamodb UpdateItem", None, 0.03, 0.0),
            rule("dynamodb TransactWriteItems", None, 0.03, 0.0),
            rule("dynamodb GetItem", None, 0.02, 0.0),
            rule("scheduler CreateSchedule", None, 0.05, 0.05),
            // Mail: SES unavailable (nothing sent), or the mail sent and the answer lost.
            rule("sesv2 SendEmail", None, 0.08, 0.06),
        ],
        20261123,
    )
}

async fn put(http: &reqwest::Client, url: String, body: Value) {
    let r = http.put(&url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(&url).send().await.unwrap().json().await.unwrap()
}

/// One message a customer received, on the channel it came on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Received {
    channel: Channel,
    /// What the customer reads: the text, the template and its parameters, or the mail.
    text: String,
    /// The SMS's short link, the mail's raw text (for its rating links).
    link: Option<String>,
    /// A chat message's id at the provider.
    id: Option<String>,
}

/// What the world looks like now.
#[derive(Debug, Default)]
struct Seen {
    ratings: BTreeMap<u64, Value>,
    complaints: Vec<Value>,
    /// By address (phone digits, or email), oldest first per channel.
    messages: BTreeMap<String, Vec<Received>>,
}

impl Seen {
    fn on(&self, address: &str, channel: Channel) -> Vec<&Received> {
        self.messages
            .get(address)
            .into_iter()
            .flatten()
            .filter(|m| m.channel == channel)
            .collect()
    }
}

/// Raw mails SES took, with their recipients, from the local endpoint's record of sent mail.
async fn sent_mail(http: &reqwest::Client, aws: &str) -> Vec<(String, String)> {
    for _ in 0..5 {
        let Ok(r) = http.get(format!("{aws}/moto-api/data.json")).send().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        // The dump can fail while it is being written to; a retry reads it whole.
        let Ok(data) = r.json::<Value>().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        return data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                (
                    m["destinations"].to_string(),
                    m["raw_data"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
    }
    panic!("the local endpoint's record of sent mail cannot be read");
}

async fn look(
    d: &Driver,
    http: &reqwest::Client,
    aws: &str,
    ids: &[(u64, u64)],
    with_mail: bool,
) -> Seen {
    let mut by_id: BTreeMap<u64, Value> = BTreeMap::new();
    for site in ["main-shop", "ural-shop"] {
        for o in d.orders(site).await.unwrap() {
            if let Some(id) = o["id"].as_u64() {
                by_id.insert(id, o);
            }
        }
    }
    let ratings = ids
        .iter()
        .filter_map(|(_, id)| {
            let v = by_id.get(id)?["customFields"]["otklik_rating"].clone();
            (!v.is_null()).then_some((*id, v))
        })
        .collect();
    let mut messages: BTreeMap<String, Vec<Received>> = BTreeMap::new();
    for m in d.messages_all().await.unwrap() {
        let channel = match m["provider"].as_str() {
            Some("max") => Channel::Max,
            _ => Channel::Whatsapp,
        };
        let text = format!(
            "{} {} {} {}",
            m["kind"], m["text"], m["template"], m["params"]
        );
        messages
            .entry(digits(m["to"].as_str().unwrap_or_default()))
            .or_default()
            .push(Received {
                channel,
                text,
                link: None,
                id: m["id"].as_str().map(str::to_string),
            });
    }
    let sms = get(http, format!("{}/sim/sms", d.wa)).await;
    for m in sms.as_array().into_iter().flatten() {
        messages
            .entry(digits(m["to"].as_str().unwrap_or_default()))
            .or_default()
            .push(Received {
                channel: Channel::Sms,
                text: m["text"].as_str().unwrap_or_default().to_string(),
                link: m["links"][0].as_str().map(str::to_string),
                id: None,
            });
    }
    if with_mail {
        let mail = sent_mail(http, aws).await;
        for (i, _) in ids.iter().filter(|(i, _)| kind(*i) == Kind::Email) {
            let to = email(*i);
            // Quoted: buyer80@… is inside buyer180@….
            let quoted = format!("\"{to}\"");
            // This run's mail only: the endpoint keeps earlier runs' letters to the same address.
            let ours = |raw: &String| {
                rating_links(raw)
                    .values()
                    .next()
                    .is_some_and(|l| l.starts_with(&d.api))
            };
            for (_, raw) in mail
                .iter()
                .filter(|(dest, raw)| dest.contains(&quoted) && ours(raw))
            {
                messages.entry(to.clone()).or_default().push(Received {
                    channel: Channel::Email,
                    // The letter without its headers' per-send ids: the text and its links.
                    text: raw
                        .split_once("\r\n\r\n")
                        .map_or("", |(_, b)| b)
                        .to_string(),
                    link: Some(raw.clone()),
                    id: None,
                });
            }
        }
    }
    let mut complaints = d.orders("reklamacii").await.unwrap();
    complaints.retain(|c| !c.is_null());
    Seen {
        ratings,
        complaints,
        messages,
    }
}

/// A phone's link preview fetches the SMS link (a few GETs at once), then the person taps their
/// rating twice at once (a double tap) and later once more (a reload that posts again).
async fn tap_sms(http: reqwest::Client, link: String, rating: u64) {
    let preview = || http.get(&link).send();
    let _ = tokio::join!(preview(), preview(), preview());
    let tap = || {
        http.post(&link)
            .header("accept", "application/json")
            .form(&[("rating", rating.to_string())])
            .send()
    };
    let (a, b) = tokio::join!(tap(), tap());
    // An error page (a crash behind it) makes the person tap again, as people do.
    let failed = |r: &reqwest::Result<reqwest::Response>| {
        r.as_ref().map_or(true, |r| r.status().is_server_error())
    };
    let mut again = failed(&a) && failed(&b);
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The reload (the form posted once more), or the person's next try.
        let r = tap().await;
        if !again {
            break;
        }
        again = failed(&r);
    }
}

/// The mail server's scanner opens every link of the letter (and posts each page's form, as a
/// script-running scanner does, confirming nothing); then the person opens their rating's link,
/// twice at once, confirms when asked, and later the browser replays the confirmation.
async fn click_email(http: reqwest::Client, raw: String, rating: u64) {
    let links = rating_links(&raw);
    assert_eq!(links.len(), 5, "five rating links in {raw}");
    // Every page first (within a moment), then every form: a scanner works through a letter.
    let mut views = tokio::task::JoinSet::new();
    for l in links.values().cloned() {
        let http = http.clone();
        views.spawn(async move {
            let html = http.get(&l).send().await.ok()?.text().await.ok()?;
            html.contains("name=\"nonce\"")
                .then(|| (l, nonce_of(&html)))
        });
    }
    let pages = views.join_all().await;
    for (link, nonce) in pages.into_iter().flatten() {
        let _ = http
            .post(&link)
            .header("accept", "application/json")
            .form(&[("nonce", nonce)])
            .send()
            .await;
    }
    let mine = links[&(rating as u8)].clone();
    let person = || otklik_local_runner::drive::open_in_browser(&mine, true);
    let (a, b) = tokio::join!(person(), person());
    // An error page (a crash behind it) makes the person click again, as people do.
    let took = |r: &Result<u16, String>| matches!(r, Ok(200 | 409));
    let mut done = took(&a) || took(&b);
    for _ in 0..8 {
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        done = took(&person().await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Ok(html) = http.get(&mine).send().await {
        if let Ok(html) = html.text().await {
            if html.contains("name=\"nonce\"") {
                let _ = http
                    .post(&mine)
                    .header("accept", "application/json")
                    .form(&[("nonce", nonce_of(&html)), ("confirm", "1".into())])
                    .send()
                    .await;
            }
        }
    }
}

/// What one channel's customers came to.
#[derive(Debug, Default)]
struct Row {
    orders: usize,
    asked: usize,
    rated: usize,
    complaints: usize,
    messages: BTreeMap<Channel, usize>,
    fallbacks: usize,
    lost: usize,
}

// Run on its own by `make test` after the other tests (scripts/test.sh): it loads the machine
// for minutes, and sharing two cores with the rest of the suite would only make both slower.
#[ignore = "run alone by scripts/test.sh"]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_orders_through_faults_end_with_every_effect_exactly_once() {
    let moto = local_endpoint();
    // FAULTS_LOG=path keeps the functions' own log of a run, for a failing run's post-mortem.
    if let Ok(path) = std::env::var("FAULTS_LOG") {
        let file = std::fs::File::create(path).unwrap();
        tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter("info")
            .init();
    }
    let started = Instant::now();
    let faults = aws_faults();
    let (proxy, _counter) = awsproxy::proxy(moto.clone(), Some(faults.clone()))
        .await
        .unwrap();
    let s = TestStack::start_with(
        "faults",
        Options {
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            retry_after: 1,
            aws_endpoint: Some(proxy),
            redeliver_percent: 20,
            config_edit: Some(every_channel),
            ..Default::default()
        },
    )
    .await;
    let d = s.driver.clone();
    let http = reqwest::Client::new();
    let (crm, wa) = (d.crm.clone(), d.wa.clone());

    // Who has MAX: everyone on MAX (some of whose chats then fail), nobody asked by SMS.
    let of_kind = |k: Kind| -> Vec<String> {
        (0..ORDERS)
            .filter(|i| kind(*i) == k)
            .map(|i| digits(&phone(i)))
            .collect()
    };
    let mut with_max = of_kind(Kind::Max);
    with_max.extend(of_kind(Kind::MaxThenSms));
    put(
        &http,
        format!("{wa}/sim/max/numbers"),
        json!({"withMax": with_max, "withoutMax": of_kind(Kind::Sms),
               "undeliverable": of_kind(Kind::MaxThenSms), "default": false}),
    )
    .await;

    // The weather.
    let mut trigger = get(&http, format!("{crm}/sim/trigger")).await;
    trigger["times"] = json!(2);
    put(&http, format!("{crm}/sim/trigger"), trigger).await;
    put(
        &http,
        format!("{wa}/sim/config"),
        json!({"duplicateStatuses": 2, "reverseStatuses": true, "statusDelayMs": 300,
               "webhookRetries": 10}),
    )
    .await;
    // MAX and SMS.ru: 6% refused, 4% taken then 500, 1% taken then answered after our 10 s
    // client timeout.
    put(
        &http,
        format!("{wa}/sim/faults"),
        json!({"refuseRate": 0.06, "acceptThenErrorRate": 0.04, "acceptThenHoldRate": 0.01,
               "holdMs": 11_000, "seed": 20261206}),
    )
    .await;
    put(
        &http,
        format!("{crm}/sim/faults"),
        json!({"errorRate": 0.14, "errorStatuses": [500, 503], "timeoutRate": 0.06,
               "timeoutMs": 1500}),
    )
    .await;
    faults.enable(true);

    // 300 customers complete their orders, 25 at a time.
    let mut ids = Vec::new();
    for chunk in (0..ORDERS).collect::<Vec<_>>().chunks(25) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let d = d.clone();
            set.spawn(async move {
                let customer = if kind(i) == Kind::Email {
                    json!({"email": email(i), "firstName": format!("Покупатель {i}")})
                } else {
                    json!({"phone": phone(i), "firstName": format!("Покупатель {i}")})
                };
                let id = d.new_order(site(i), 11, customer).await.unwrap();
                d.set_status(site(i), id, "complete", 11).await.unwrap();
                (i, id)
            });
        }
        while let Some(r) = set.join_next().await {
            ids.push(r.unwrap());
        }
    }
    ids.sort();
    let index_of: BTreeMap<String, u64> = ids.iter().map(|(i, _)| (address(*i), *i)).collect();
    let survey_id = |i: u64, id: u64| SurveyId::for_order(&OrderRef::new(site(i), id).unwrap());

    // Each customer answers as soon as the question reaches them, on the channel it came on.
    let mut answered: BTreeSet<(u64, Channel)> = BTreeSet::new();
    let mut answers = tokio::task::JoinSet::new();
    // Customers whose question no channel can bring any more (see the module's doc), by index.
    let mut lost: BTreeSet<u64> = BTreeSet::new();
    // MAX→SMS customers whose question's id was unknown at the last check.
    let mut id_unknown: BTreeSet<u64> = BTreeSet::new();
    let mut round = 0u64;
    let seen = loop {
        round += 1;
        let seen = look(&d, &http, &moto, &ids, round % 3 == 1).await;
        for (to, got) in &seen.messages {
            let Some(&i) = index_of.get(to) else { continue };
            for m in got {
                let channel = m.channel;
                // A MAX question that fails never shows on the phone.
                if kind(i) == Kind::MaxThenSms && channel == Channel::Max {
                    continue;
                }
                if !answered.insert((i, channel)) {
                    continue;
                }
                let http = http.clone();
                let wa = wa.clone();
                let link = m.link.clone();
                answers.spawn(async move {
                    match channel {
                        Channel::Whatsapp | Channel::Max => {
                            let provider = if channel == Channel::Max {
                                "max"
                            } else {
                                "meta"
                            };
                            let _ = http
                                .post(format!("{wa}/sim/reply"))
                                .json(&json!({"provider": provider, "from": digits(&phone(i)),
                                              "text": reply_text(i), "times": 2}))
                                .send()
                                .await;
                        }
                        Channel::Sms => {
                            tap_sms(http, link.expect("an SMS carries its link"), rating(i)).await
                        }
                        Channel::Email => {
                            click_email(http, link.expect("the raw mail"), rating(i)).await
                        }
                    }
                });
            }
        }
        while answers.try_join_next().is_some() {}
        // Those whose MAX question was taken and then failed, its id never recorded: no fallback
        // (see the module's doc). Either the send's answer was lost (the survey failed with its
        // outcome unknown), or the dispatcher died between MAX's answer and its record of the id
        // (the redelivery found the send claimed and marked it sent without an id, and MAX's
        // "failed" names a message we do not know). The second is counted only when seen on two
        // checks in a row, so that a record just being written is not taken for a lost one.
        if round.is_multiple_of(5) {
            let mut unknown_now = BTreeSet::new();
            for (i, id) in ids
                .iter()
                .filter(|(i, id)| kind(*i) == Kind::MaxThenSms && !seen.ratings.contains_key(id))
            {
                // The test's own reads go through the faulty proxy too: a failed one waits.
                let sv = otklik_core::ports::SurveyStore::get(&s.store, &survey_id(*i, *id))
                    .await
                    .ok()
                    .flatten();
                let Some(sv) = sv else { continue };
                if matches!(&sv.state, SurveyState::Failed { reason } if reason.starts_with("max: outcome unknown"))
                {
                    lost.insert(*i);
                    continue;
                }
                let marked_without_id =
                    sv.asked == [Channel::Max] && sv.provider_message_id.as_deref() == Some("");
                let question = seen
                    .on(&address(*i), Channel::Max)
                    .first()
                    .and_then(|m| m.id.clone());
                if let (true, Some(question)) = (marked_without_id, question) {
                    if let Ok(None) = s.store.survey_of_message(&question).await {
                        if id_unknown.contains(i) {
                            lost.insert(*i);
                        }
                        unknown_now.insert(*i);
                    }
                }
            }
            id_unknown = unknown_now;
        }
        let expected_complaints = (0..ORDERS)
            .filter(|i| rating(*i) <= 2 && !lost.contains(i))
            .count();
        let chats_done = ids
            .iter()
            .filter(|(i, _)| matches!(kind(*i), Kind::Whatsapp | Kind::Max))
            .all(|(i, _)| {
                let channel = if kind(*i) == Kind::Max {
                    Channel::Max
                } else {
                    Channel::Whatsapp
                };
                seen.on(&address(*i), channel).len() >= 2
            });
        let done = seen.ratings.len() + lost.len() == ORDERS as usize
            && seen.complaints.len() >= expected_complaints
            && chats_done;
        if done || started.elapsed() > LIMIT {
            break seen;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    while answers.join_next().await.is_some() {}
    let settled_in = started.elapsed();

    // The storm is over: whatever rests in a dead-letter queue is redriven once.
    faults.enable(false);
    let _ = http.delete(format!("{crm}/sim/faults")).send().await;
    let _ = http.delete(format!("{wa}/sim/faults")).send().await;
    let sqs = s.clients.sqs.clone();
    let names = s.names.clone();
    let mut redriven = 0;
    for q in QUEUES {
        let queue = SqsQueue::connect(sqs.clone(), &names, q).await.unwrap();
        let dlq = SqsQueue::connect_named(sqs.clone(), &names.dlq(q))
            .await
            .unwrap();
        redriven += queue.redrive_from(&dlq).await.unwrap();
    }
    // Time for the redriven messages and any retries still in flight (the poller, the queues).
    tokio::time::sleep(Duration::from_secs(if redriven > 0 { 20 } else { 8 })).await;
    let after = look(&d, &http, &moto, &ids, true).await;
    let mut in_dlqs = 0;
    for q in QUEUES {
        let dlq = SqsQueue::connect_named(sqs.clone(), &names.dlq(q))
            .await
            .unwrap();
        in_dlqs += dlq.receive(10, 0).await.unwrap().len();
    }

    // The counts.
    let crm_stats = get(&http, format!("{crm}/sim/stats")).await;
    let wa_stats = get(&http, format!("{wa}/sim/stats")).await;
    let injected = faults.injected();
    let redelivered: u64 = s
        .local()
        .consumers
        .values()
        .map(|s| s.redelivered.load(Ordering::Relaxed))
        .sum();
    let store = &s.store;
    let credits = store
        .credits_between(
            Utc::now() - chrono::Duration::days(1),
            Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    let mut credits_per_survey: BTreeMap<SurveyId, usize> = BTreeMap::new();
    for c in &credits {
        *credits_per_survey.entry(c.survey.clone()).or_default() += 1;
    }
    let links = d.crm_list("links").await.unwrap();
    let complaint_ids: BTreeSet<u64> = after
        .complaints
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    let order_ids: BTreeSet<u64> = ids.iter().map(|(_, id)| *id).collect();
    // Complaint orders linked to each rated order (a link repeated by a retry is the same pair).
    let mut complained: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut link_calls = 0;
    for l in &links {
        let pair: Vec<u64> = l["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["id"].as_u64())
            .collect();
        let source = pair.iter().find(|id| order_ids.contains(id));
        let complaint = pair.iter().find(|id| complaint_ids.contains(id));
        if let (Some(s), Some(c)) = (source, complaint) {
            complained.entry(*s).or_default().insert(*c);
            link_calls += 1;
        }
    }

    // The story, per channel.
    let mut rows: BTreeMap<Kind, Row> = BTreeMap::new();
    let mut surveys = BTreeMap::new();
    for (i, id) in &ids {
        let sv = otklik_core::ports::SurveyStore::get(store, &survey_id(*i, *id))
            .await
            .unwrap();
        let row = rows.entry(kind(*i)).or_default();
        row.orders += 1;
        // Asked: the customer received a question (a send of unknown outcome is not recorded
        // as asked on the survey, yet reached them).
        row.asked += usize::from(after.messages.contains_key(&address(*i)));
        if let Some(sv) = &sv {
            row.fallbacks += usize::from(sv.asked.len() > 1);
        }
        row.rated += usize::from(after.ratings.contains_key(id));
        row.complaints += complained.get(id).map_or(0, BTreeSet::len);
        for m in after.messages.get(&address(*i)).into_iter().flatten() {
            *row.messages.entry(m.channel).or_default() += 1;
        }
        row.lost += usize::from(lost.contains(i));
        surveys.insert(*i, sv);
    }
    let expected_complaints = (0..ORDERS)
        .filter(|i| rating(*i) <= 2 && !lost.contains(i))
        .count();
    println!("fault-injection run: {ORDERS} orders on four channels, settled in {settled_in:.0?}");
    println!(
        "  {:<9} {:>6} {:>6} {:>6} {:>10} {:>9} {:>5} {:>4} {:>6} {:>10} {:>5}",
        "channel",
        "orders",
        "asked",
        "rated",
        "complaints",
        "WhatsApp",
        "MAX",
        "SMS",
        "email",
        "fallbacks",
        "lost"
    );
    for k in Kind::ALL {
        let r = rows.get(&k).map_or_else(Row::default, |r| Row {
            messages: r.messages.clone(),
            ..*r
        });
        let m = |c| r.messages.get(&c).copied().unwrap_or(0);
        println!(
            "  {:<9} {:>6} {:>6} {:>6} {:>10} {:>9} {:>5} {:>4} {:>6} {:>10} {:>5}",
            k.name(),
            r.orders,
            r.asked,
            r.rated,
            r.complaints,
            m(Channel::Whatsapp),
            m(Channel::Max),
            m(Channel::Sms),
            m(Channel::Email),
            r.fallbacks,
            r.lost
        );
    }
    println!("  (messages: what each channel's customers received, on which channel)");
    println!(
        "  retailCRM: {} API requests, {} answered with an injected fault, {} rate-limited",
        crm_stats["requests"], crm_stats["faultsInjected"], crm_stats["rateLimited"]
    );
    println!(
        "  triggers: {} fired, {} calls delivered",
        crm_stats["triggers"]["fired"], crm_stats["triggers"]["delivered"]
    );
    println!(
        "  provider webhooks (WhatsApp, MAX, SMS.ru callbacks): {}",
        wa_stats["webhooks"]
    );
    println!(
        "  MAX and SMS.ru sends faulted: {}",
        wa_stats["providerFaults"]
    );
    for ((action, kind), n) in &injected {
        println!("  AWS crash injected: {action} ({kind}) × {n}");
    }
    println!("  queue messages handed over twice: {redelivered}");
    println!(
        "  ratings on orders: {} / {ORDERS}; credits: {} for {} surveys",
        after.ratings.len(),
        credits.len(),
        credits_per_survey.len()
    );
    println!(
        "  complaints: {} (expected {expected_complaints}); links: {link_calls} for {} pairs",
        after.complaints.len(),
        complained.values().map(BTreeSet::len).sum::<usize>()
    );
    println!(
        "  lost by design (MAX question taken, its id never recorded, then failed): {}",
        lost.len()
    );
    // retailCRM never gets the same link twice: a retry reads the complaint's links first.
    assert_eq!(
        link_calls,
        complained.values().map(BTreeSet::len).sum::<usize>(),
        "a complaint linked to its order more than once"
    );
    println!("  dead letters redriven: {redriven}; left after the redrive: {in_dlqs}");

    // Where the stragglers are, when there are any (a failing run explains itself).
    for (i, id) in ids
        .iter()
        .filter(|(i, id)| !after.ratings.contains_key(id) && !lost.contains(i))
        .take(12)
    {
        let intake = store
            .intake_note(&OrderRef::new(site(*i), *id).unwrap())
            .await;
        println!(
            "  straggler: order {id} ({:?}, customer {i}): survey {:?}; intake {intake:?}; messages {:?}",
            kind(*i),
            surveys[i].as_ref().map(|s| (&s.state, s.pending.len(), s.channel, &s.asked)),
            after.messages.get(&address(*i)).map(|m| m.iter().map(|m| (m.channel, m.text.chars().take(60).collect::<String>())).collect::<Vec<_>>())
        );
    }

    // Every rating is on its order, the right one.
    for (i, id) in ids.iter().filter(|(i, _)| !lost.contains(i)) {
        assert_eq!(
            after.ratings.get(id),
            Some(&json!(rating(*i))),
            "order {id} ({:?}, customer {i})",
            kind(*i)
        );
    }
    // …credited exactly once to the one manager who worked each order.
    for (i, id) in ids.iter().filter(|(i, _)| !lost.contains(i)) {
        assert_eq!(
            credits_per_survey.get(&survey_id(*i, *id)),
            Some(&1),
            "credits of order {id} ({:?})",
            kind(*i)
        );
    }
    // Every 1–2 has exactly one complaint, and nothing else has one.
    assert_eq!(after.complaints.len(), expected_complaints);
    for (i, id) in &ids {
        let expected = usize::from(rating(*i) <= 2 && !lost.contains(i));
        assert_eq!(
            complained.get(id).map_or(0, BTreeSet::len),
            expected,
            "complaint orders linked to order {id} rated {} ({:?})",
            rating(*i),
            kind(*i)
        );
    }
    // Nobody got any message twice, on any channel: on a chat the question and one answer to
    // the rating; by SMS or email the question alone (the page answers); a failed MAX question
    // and then the SMS.
    for (i, _) in &ids {
        let got = |c| after.on(&address(*i), c);
        let counts = [
            got(Channel::Whatsapp).len(),
            got(Channel::Max).len(),
            got(Channel::Sms).len(),
            got(Channel::Email).len(),
        ];
        let expected = match kind(*i) {
            Kind::Whatsapp => [2, 0, 0, 0],
            Kind::Max => [0, 2, 0, 0],
            Kind::MaxThenSms if lost.contains(i) => [0, 1, 0, 0],
            Kind::MaxThenSms => [0, 1, 1, 0],
            Kind::Sms => [0, 0, 1, 0],
            Kind::Email => [0, 0, 0, 1],
        };
        assert_eq!(
            counts,
            expected,
            "customer {i} ({:?}), messages per channel [WhatsApp, MAX, SMS, email]: {:?}",
            kind(*i),
            after.messages.get(&address(*i))
        );
        for c in [Channel::Whatsapp, Channel::Max] {
            let chat = got(c);
            if chat.len() == 2 {
                assert_ne!(chat[0].text, chat[1].text, "customer {i}: {chat:?}");
            }
        }
    }
    // The losses by design are few, and only what they claim to be.
    // Each of them was checked above to be exactly the by-design case. How many there are is
    // chance: 15 MAX→SMS customers, about 5% of MAX sends of unknown outcome plus the crash
    // windows; runs have lost 0, 1, 1, 3 and 4. Five bounds it without making the run flaky.
    assert!(lost.len() <= 5, "lost by design: {lost:?}");
    assert_eq!(in_dlqs, 0, "dead letters left after one redrive");
    let _ = seen;
}
