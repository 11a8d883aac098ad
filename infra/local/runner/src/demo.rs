//! `make demo`: a scripted day of a shop, through the whole local stack, checked.
//!
//! About thirty orders are completed under different timing rules; their customers answer on
//! WhatsApp (a Meta shop, and a smaller Green-API shop) and by email, with every kind of answer.
//! Nothing is called by hand: the simulators fire the trigger and post the webhooks, the runner
//! plays SQS and the Scheduler (two days pass in about ten seconds). At the end the demo prints the
//! funnel, what reached retailCRM, the complaints, the inspector's tasks and the KPI table, and
//! fails naming every expected outcome that did not happen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use otklik_aws::store::DynamoStore;
use otklik_core::machine::Contact;
use otklik_core::model::{Email, OrderRef, Phone, SurveyId, SurveyState};
use otklik_core::ports::{DoNotContactList, SurveyStore};
use serde_json::json;

use crate::drive::{emails_to, eventually, open_in_browser, rating_links, Driver};
use crate::local::{LocalStack, Options};

/// What the customer does.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// Messages on WhatsApp, each sent after our previous message arrived.
    Say(&'static [&'static str]),
    /// Opens the rating link of the email in a browser.
    Click(u8),
    /// A mail server's link scanner opens every link first; the person clicks later.
    ScannedThenClick(u8),
    /// Never answers.
    Silent,
}

/// What must have happened by the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expect {
    pub rating: Option<u8>,
    pub complaint: bool,
    pub inspector_task: bool,
    pub opted_out: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub who: &'static str,
    pub site: &'static str,
    /// `courier` (asked two days later) or `self-delivery` (two hours later).
    pub delivery: &'static str,
    pub phone: Option<&'static str>,
    pub has_whatsapp: bool,
    pub email: Option<&'static str>,
    /// The manager who took the order, and the one who finished it.
    pub managers: (u64, u64),
    pub answer: Answer,
    pub expect: Expect,
}

const fn rated(r: u8) -> Expect {
    Expect {
        rating: Some(r),
        complaint: false,
        inspector_task: false,
        opted_out: false,
    }
}

const fn complained(r: u8) -> Expect {
    Expect {
        rating: Some(r),
        complaint: true,
        inspector_task: false,
        opted_out: false,
    }
}

const NOTHING: Expect = Expect {
    rating: None,
    complaint: false,
    inspector_task: false,
    opted_out: false,
};

#[allow(clippy::too_many_arguments)]
const fn wa(
    who: &'static str,
    site: &'static str,
    delivery: &'static str,
    phone: &'static str,
    managers: (u64, u64),
    answer: Answer,
    expect: Expect,
) -> Case {
    Case {
        who,
        site,
        delivery,
        phone: Some(phone),
        has_whatsapp: true,
        email: None,
        managers,
        answer,
        expect,
    }
}

const fn mail(
    who: &'static str,
    email: &'static str,
    managers: (u64, u64),
    answer: Answer,
    expect: Expect,
) -> Case {
    Case {
        who,
        site: "main-shop",
        delivery: "courier",
        phone: None,
        has_whatsapp: false,
        email: Some(email),
        managers,
        answer,
        expect,
    }
}

/// The Meta shop's day.
pub fn meta_day() -> Vec<Case> {
    use Answer::*;
    let c = "courier";
    let p = "self-delivery";
    let m = "main-shop";
    let u = "ural-shop";
    vec![
        wa(
            "Ольга",
            m,
            c,
            "+79005550001",
            (11, 11),
            Say(&["5"]),
            rated(5),
        ),
        wa(
            "Пётр",
            m,
            p,
            "+79005550002",
            (12, 12),
            Say(&["5️⃣"]),
            rated(5),
        ),
        wa(
            "Инна",
            u,
            c,
            "+79005550003",
            (13, 14),
            Say(&["⭐⭐⭐⭐⭐"]),
            rated(5),
        ),
        wa(
            "Глеб",
            m,
            c,
            "+79005550004",
            (14, 14),
            Say(&["пять"]),
            rated(5),
        ),
        wa(
            "Зоя",
            m,
            p,
            "+79005550005",
            (11, 12),
            Say(&["5, спасибо!"]),
            rated(5),
        ),
        wa(
            "Марк",
            m,
            c,
            "+79005550006",
            (12, 12),
            Say(&["4"]),
            rated(4),
        ),
        wa(
            "Нина",
            u,
            p,
            "+79005550007",
            (13, 13),
            Say(&["4 из 5"]),
            rated(4),
        ),
        wa(
            "Олег",
            m,
            c,
            "+79005550008",
            (14, 11),
            Say(&["на 4"]),
            rated(4),
        ),
        wa(
            "Вера",
            m,
            c,
            "+79005550009",
            (11, 11),
            Say(&["четыре"]),
            rated(4),
        ),
        wa(
            "Лев",
            m,
            c,
            "+79005550010",
            (12, 13),
            Say(&["3", "да"]),
            complained(3),
        ),
        wa(
            "Ева",
            m,
            p,
            "+79005550011",
            (13, 13),
            Say(&["3", "да, позвоните"]),
            complained(3),
        ),
        wa(
            "Иван",
            m,
            c,
            "+79005550012",
            (14, 14),
            Say(&["3", "нет"]),
            rated(3),
        ),
        wa(
            "Яна",
            u,
            c,
            "+79005550013",
            (11, 14),
            Say(&["3", "не надо"]),
            rated(3),
        ),
        wa(
            "Тимур",
            m,
            c,
            "+79005550014",
            (12, 12),
            Say(&["2"]),
            complained(2),
        ),
        wa(
            "Алла",
            m,
            p,
            "+79005550015",
            (13, 11),
            Say(&["2, привезли не тот цвет"]),
            complained(2),
        ),
        wa(
            "Фёдор",
            m,
            c,
            "+79005550016",
            (14, 14),
            Say(&["1"]),
            complained(1),
        ),
        wa(
            "Юлия",
            m,
            c,
            "+79005550017",
            (11, 11),
            Say(&["1, курьер нагрубил"]),
            complained(1),
        ),
        wa(
            "Егор",
            m,
            c,
            "+79005550018",
            (12, 12),
            Say(&["а когда привезут второй заказ?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa(
            "Дина",
            u,
            p,
            "+79005550019",
            (13, 13),
            Say(&["1500 руб вернёте?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa("Савва", m, c, "+79005550020", (14, 12), Silent, NOTHING),
        wa("Рита", m, p, "+79005550021", (11, 11), Silent, NOTHING),
        wa(
            "Кира",
            m,
            c,
            "+79005550022",
            (12, 12),
            Say(&["стоп"]),
            Expect {
                opted_out: true,
                ..NOTHING
            },
        ),
        mail("Борис", "boris@example.ru", (13, 13), Click(5), rated(5)),
        mail("Лина", "lina@example.ru", (14, 11), Click(4), rated(4)),
        mail(
            "Семён",
            "semen@example.ru",
            (11, 11),
            Click(2),
            complained(2),
        ),
        mail(
            "Ада",
            "ada@example.ru",
            (12, 12),
            ScannedThenClick(5),
            rated(5),
        ),
        Case {
            who: "Роман",
            site: "main-shop",
            delivery: "courier",
            phone: Some("+79005550027"),
            has_whatsapp: false,
            email: Some("roman@example.ru"),
            managers: (13, 14),
            answer: Click(4),
            expect: rated(4),
        },
    ]
}

/// The Green-API shop's shorter day.
pub fn green_day() -> Vec<Case> {
    use Answer::*;
    let m = "main-shop";
    vec![
        wa(
            "Алина",
            m,
            "courier",
            "+79005560001",
            (11, 11),
            Say(&["5"]),
            rated(5),
        ),
        wa(
            "Денис",
            m,
            "courier",
            "+79005560002",
            (12, 13),
            Say(&["1, разбита упаковка"]),
            complained(1),
        ),
        wa(
            "Мила",
            m,
            "self-delivery",
            "+79005560003",
            (13, 13),
            Say(&["а чек пришлёте?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa(
            "Степан",
            m,
            "courier",
            "+79005560004",
            (14, 14),
            Say(&["3", "да"]),
            complained(3),
        ),
    ]
}

/// One shop's run: its stack, its orders, and what happened.
pub struct Played {
    pub provider: &'static str,
    pub cases: Vec<(Case, u64)>,
    pub stack: LocalStack,
    pub driver: Driver,
    pub problems: Vec<String>,
}

/// The shortest time between two "asked n/N" lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

fn progress(line: &str) {
    println!("  · {line}");
}

/// The demo's configuration: the shipped example, with link clicks allowed 3 s after sending
/// (instead of 15 s) so the email customers need not wait.
fn demo_config(text: String) -> String {
    text.replace("min_click_delay = \"15s\"", "min_click_delay = \"3s\"")
}

pub async fn play(
    provider: &'static str,
    cases: Vec<Case>,
    stack_name: String,
) -> Result<Played, String> {
    let stack = LocalStack::start(Options {
        stack: stack_name,
        provider: provider.into(),
        // Two days in ten seconds.
        speed: 17_280.0,
        poll_every: Duration::from_secs(5),
        retry_after: 1,
        config_edit: Some(demo_config),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("starting the local stack: {e}"))?;
    let d = Driver::new(stack.crm_sim.url(), stack.wa_sim.url(), stack.api.url());
    progress(&format!(
        "{provider} shop up: API {}, retailCRM simulator {}, WhatsApp simulator {}",
        stack.api.url(),
        stack.crm_sim.url(),
        stack.wa_sim.url()
    ));
    let with: Vec<&str> = cases
        .iter()
        .filter(|c| c.has_whatsapp)
        .filter_map(|c| c.phone)
        .collect();
    let without: Vec<&str> = cases
        .iter()
        .filter(|c| !c.has_whatsapp)
        .filter_map(|c| c.phone)
        .collect();
    d.whatsapp_numbers(&with, &without).await?;

    // The shop's day: orders taken, handed over, completed (each completion fires the trigger).
    let mut placed = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut order = json!({
            "firstName": c.who,
            "customer": {"id": 5000 + i as u64},
            "delivery": {"code": c.delivery},
        });
        if let Some(p) = c.phone {
            order["phone"] = json!(p);
        }
        if let Some(e) = c.email {
            order["email"] = json!(e);
        }
        let id = d.new_order(c.site, c.managers.0, order).await?;
        if c.managers.1 != c.managers.0 {
            d.reassign(c.site, id, c.managers.1, c.managers.0).await?;
        }
        d.set_status(c.site, id, "complete", c.managers.1).await?;
        placed.push((*c, id));
    }
    progress(&format!(
        "{} orders completed; surveys are planned by the timing rules (pickup: 2 h, courier: 2 days)",
        placed.len()
    ));

    let aws = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let started = Instant::now();
    // The count printed last and when: a line when it moved, at most every 5 s, so the
    // terminal keeps the story short however slowly the questions go out.
    let last = std::sync::Mutex::new((usize::MAX, started));
    let (last, placed_ref, d_ref, aws_ref) = (&last, &placed, &d, &aws);
    let asked = eventually(
        "every survey is asked",
        Duration::from_secs(90),
        || async move {
            let (placed, d, aws) = (placed_ref, d_ref, aws_ref);
            let mut n = 0;
            for (c, _) in placed.iter() {
                if question_arrived(d, aws, c).await? {
                    n += 1;
                }
            }
            if n < placed.len() {
                if let Ok(mut last) = last.lock() {
                    let first = last.0 == usize::MAX;
                    if first || (last.0 != n && last.1.elapsed() >= PROGRESS_EVERY) {
                        *last = (n, Instant::now());
                        progress(&format!(
                            "asked {n}/{} ({:.0?})",
                            placed.len(),
                            started.elapsed()
                        ));
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(None);
            }
            Ok(Some(n))
        },
    )
    .await?;
    progress(&format!(
        "all {asked} customers asked ({:.0?})",
        started.elapsed()
    ));

    let mut problems = Vec::new();
    for (c, id) in &placed {
        if let Err(e) = answer(&d, &aws, provider, c, *id).await {
            problems.push(format!("{} (order {id}): {e}", c.who));
        }
    }
    progress("every customer who answers has answered; waiting for the effects");
    Ok(Played {
        provider,
        cases: placed,
        stack,
        driver: d,
        problems,
    })
}

async fn question_arrived(d: &Driver, aws: &str, c: &Case) -> Result<bool, String> {
    if c.has_whatsapp {
        if let Some(p) = c.phone {
            return Ok(!d.messages_to(p).await?.is_empty());
        }
    }
    match c.email {
        Some(e) => Ok(survey_email(d, aws, e).await?.is_some()),
        None => Ok(false),
    }
}

/// The rating links of the survey email this stack sent to `address` (the local endpoint keeps
/// the mail of earlier runs too; their links point at another API).
async fn survey_email(
    d: &Driver,
    aws: &str,
    address: &str,
) -> Result<Option<BTreeMap<u8, String>>, String> {
    Ok(emails_to(aws, address)
        .await?
        .iter()
        .map(|raw| rating_links(raw))
        .rfind(|links| {
            links.len() == 5
                && links
                    .values()
                    .all(|u| u.starts_with(&format!("{}/r/", d.api)))
        }))
}

async fn answer(d: &Driver, aws: &str, provider: &str, c: &Case, id: u64) -> Result<(), String> {
    match c.answer {
        Answer::Silent => Ok(()),
        Answer::Say(messages) => {
            let phone = c.phone.ok_or("no phone")?;
            for (i, text) in messages.iter().enumerate() {
                if i > 0 {
                    // Wait for our follow-up question before answering it.
                    eventually(
                        "our follow-up question",
                        Duration::from_secs(30),
                        || async { Ok((d.messages_to(phone).await?.len() > i).then_some(())) },
                    )
                    .await?;
                }
                d.say(provider, phone, text).await?;
            }
            Ok(())
        }
        Answer::Click(r) | Answer::ScannedThenClick(r) => {
            let email = c.email.ok_or("no email")?;
            let links = eventually("the survey email", Duration::from_secs(30), || async {
                survey_email(d, aws, email).await
            })
            .await?;
            let url = links
                .get(&r)
                .ok_or_else(|| format!("no link for {r} in the email ({} links)", links.len()))?;
            if matches!(c.answer, Answer::ScannedThenClick(_)) {
                // The scanner opens all five at once, a script-running one posts too: nothing
                // may be recorded.
                let http = reqwest::Client::new();
                for u in links.values() {
                    http.get(u).send().await.map_err(|e| e.to_string())?;
                }
                let posted =
                    open_in_browser(links.values().next().ok_or("no links")?, false).await?;
                if posted == 200 {
                    return Err(format!("the scanner's click on order {id} was recorded"));
                }
            }
            // The person reads the letter for a few seconds before clicking.
            tokio::time::sleep(Duration::from_secs(4)).await;
            match open_in_browser(url, true).await? {
                200 => Ok(()),
                other => Err(format!("the customer's click answered HTTP {other}")),
            }
        }
    }
}

/// Waits for every expected outcome and lists the missing ones.
pub async fn check(p: &Played) -> Vec<String> {
    let d = &p.driver;
    let mut problems = p.problems.clone();
    let store = p.stack.parts.store();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (c, id) in &p.cases {
        let what = format!("{} (order {id}, {})", c.who, p.provider);
        let result = eventually(
            &what,
            deadline.saturating_duration_since(Instant::now()),
            || async { Ok(outcome_matches(d, &store, c, *id).await?.then_some(())) },
        )
        .await;
        if result.is_err() {
            let seen = describe(d, &store, c, *id).await;
            problems.push(format!("{what}: expected {:?}, saw {seen}", c.expect));
        }
    }
    problems
}

/// The inspector works the complaints: takes every complaint into work, resolves two of every
/// three and gives up on the third. Complaint tracking must show it in the KPI report.
pub async fn inspector_works(p: &Played) -> Vec<String> {
    let d = &p.driver;
    let complaints = d.orders("reklamacii").await.unwrap_or_default();
    let mut resolved = 0u32;
    for (i, c) in complaints.iter().enumerate() {
        let Some(id) = c["id"].as_u64() else { continue };
        let end = if i % 3 == 2 {
            "complaint-failed"
        } else {
            resolved += 1;
            "complaint-resolved"
        };
        for status in ["complaint-in-work", end] {
            if let Err(e) = d.set_status("reklamacii", id, status, 7).await {
                return vec![format!("the inspector could not move complaint {id}: {e}")];
            }
        }
    }
    progress(&format!(
        "the inspector took {} complaints into work and resolved {resolved}",
        complaints.len()
    ));
    let store = p.stack.parts.store();
    let cfg = p.stack.config().complaints.clone();
    let today = Utc::now().date_naive();
    let seen = eventually(
        "complaint tracking sees the inspector's work",
        Duration::from_secs(30),
        || async {
            let (from, to) = otklik_core::kpi::period(
                &(today - chrono::Days::new(1)).to_string(),
                &(today + chrono::Days::new(1)).to_string(),
                chrono_tz::UTC,
            )?;
            let kpi = otklik_app::report::gather(&store, &cfg, from, to, &BTreeMap::new())
                .await
                .map_err(|e| e.to_string())?;
            Ok((kpi.team.complaints_resolved == resolved).then_some(()))
        },
    )
    .await;
    match seen {
        Ok(()) => Vec::new(),
        Err(e) => vec![e],
    }
}

async fn complaint_for(d: &Driver, id: u64) -> Result<bool, String> {
    let links = d.crm_list("links").await?;
    Ok(links.iter().any(|l| {
        l["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["id"].as_u64() == Some(id))
    }))
}

async fn task_for(d: &Driver, id: u64) -> Result<bool, String> {
    Ok(d.crm_list("tasks")
        .await?
        .iter()
        .any(|t| t["order"]["id"].as_u64() == Some(id) && t["performer"] == 7))
}

async fn opted_out(store: &DynamoStore, c: &Case) -> Result<bool, String> {
    let contact = Contact {
        phone: c.phone.and_then(|p| Phone::parse(p, "RU").ok()),
        email: c.email.and_then(|e| Email::parse(e).ok()),
    };
    store.contains(&contact).await.map_err(|e| e.to_string())
}

async fn outcome_matches(
    d: &Driver,
    store: &DynamoStore,
    c: &Case,
    id: u64,
) -> Result<bool, String> {
    let order = d.order(c.site, id).await?;
    let rating = order["customFields"]["otklik_rating"]
        .as_u64()
        .map(|r| r as u8);
    Ok(rating == c.expect.rating
        && complaint_for(d, id).await? == c.expect.complaint
        && task_for(d, id).await? == c.expect.inspector_task
        && opted_out(store, c).await? == c.expect.opted_out)
}

async fn describe(d: &Driver, store: &DynamoStore, c: &Case, id: u64) -> String {
    let order = d.order(c.site, id).await.unwrap_or_default();
    let survey = match OrderRef::new(c.site, id) {
        Ok(o) => store.get(&SurveyId::for_order(&o)).await.ok().flatten(),
        Err(_) => None,
    };
    format!(
        "rating field {}, complaint {}, task {}, opted out {}, survey {:?}",
        order["customFields"]["otklik_rating"],
        complaint_for(d, id).await.unwrap_or(false),
        task_for(d, id).await.unwrap_or(false),
        opted_out(store, c).await.unwrap_or(false),
        survey.map(|s| s.state)
    )
}

/// The report: funnel, CRM effects, complaints, tasks and the KPI table of the main shop.
pub async fn report(runs: &[&Played]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n══ Otklik demo: the day in numbers ══");
    for p in runs {
        let store = p.stack.parts.store();
        let mut states: BTreeMap<&str, u32> = BTreeMap::new();
        let mut channels: BTreeMap<String, u32> = BTreeMap::new();
        let mut ratings: BTreeMap<u8, u32> = BTreeMap::new();
        for (c, id) in &p.cases {
            let Ok(o) = OrderRef::new(c.site, *id) else {
                continue;
            };
            if let Ok(Some(s)) = store.get(&SurveyId::for_order(&o)).await {
                *states.entry(state_name(&s.state)).or_default() += 1;
                if let Some(ch) = s.channel {
                    *channels.entry(ch.to_string()).or_default() += 1;
                }
            }
            let order = p.driver.order(c.site, *id).await.unwrap_or_default();
            if let Some(r) = order["customFields"]["otklik_rating"].as_u64() {
                *ratings.entry(r as u8).or_default() += 1;
            }
        }
        let complaints = p.driver.orders("reklamacii").await.unwrap_or_default();
        let tasks = p.driver.crm_list("tasks").await.unwrap_or_default();
        let n = p.cases.len();
        let _ = writeln!(out, "\n{} shop — {n} orders completed", p.provider);
        let _ = writeln!(
            out,
            "  funnel: {n} completed → {} asked ({}) → {} rated",
            channels.values().sum::<u32>(),
            channels
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            ratings.values().sum::<u32>()
        );
        let _ = writeln!(
            out,
            "  survey states: {}",
            states
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "  ratings written to retailCRM («Оценка покупателя»): {}",
            (1..=5)
                .rev()
                .map(|r| format!("{r}★ ×{}", ratings.get(&r).unwrap_or(&0)))
                .collect::<Vec<_>>()
                .join("  ")
        );
        let _ = writeln!(
            out,
            "  complaints opened in «Рекламации»: {} (all assigned to the inspector: {})",
            complaints.len(),
            complaints.iter().all(|c| c["managerId"] == 7)
        );
        let _ = writeln!(out, "  inspector tasks: {}", tasks.len());
        let _ = writeln!(
            out,
            "  WhatsApp messages sent: {}",
            p.driver.messages_all().await.map(|m| m.len()).unwrap_or(0)
        );
    }
    if let Some(main) = runs.first() {
        let store = main.stack.parts.store();
        let crm = otklik_retailcrm::RetailCrm::new(otklik_retailcrm::ClientConfig::for_otklik(
            main.stack.config(),
            crate::stack::CRM_API_KEY,
        ));
        let mut names = BTreeMap::new();
        if let Ok(crm) = crm {
            for u in crm.users().await.unwrap_or_default() {
                let name = [u.first_name, u.last_name]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                names.insert(u.id, name);
            }
        }
        let today = Utc::now()
            .with_timezone(&main.stack.config().timezone)
            .date_naive();
        let first = today.with_day(1).unwrap_or(today);
        if let Ok((from, to)) = otklik_core::kpi::period(
            &first.to_string(),
            &today.to_string(),
            main.stack.config().timezone,
        ) {
            match otklik_app::report::gather(
                &store,
                &main.stack.config().complaints,
                from,
                to,
                &names,
            )
            .await
            {
                Ok(kpi) => {
                    let _ = writeln!(
                        out,
                        "\nKPI of the {} shop, {first} – {today}:",
                        main.provider
                    );
                    out.push_str(&kpi.to_table());
                }
                Err(e) => {
                    let _ = writeln!(out, "\nKPI report failed: {e}");
                }
            }
        }
    }
    out
}

fn state_name(s: &SurveyState) -> &'static str {
    match s {
        SurveyState::Scheduled => "scheduled",
        SurveyState::Sent => "sent (no answer yet)",
        SurveyState::AwaitingRating => "waiting for a rating",
        SurveyState::AwaitingContactConsent => "waiting for yes/no",
        SurveyState::Closed { .. } => "closed",
        SurveyState::Skipped { .. } => "skipped",
        SurveyState::Expired => "expired",
        SurveyState::Failed { .. } => "failed",
    }
}
