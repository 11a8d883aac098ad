//! Playing one shop's day: its own stack, the orders completed, and every customer answering the
//! way their case says, once the question has reached them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use otklik_aws::store::DynamoStore;
use otklik_core::model::{OrderRef, SurveyId};
use otklik_core::ports::SurveyStore;
use serde_json::json;

use super::{Answer, Case, MaxAccount, Shop, Tap};
use crate::drive::{emails_to, eventually, open_in_browser, rating_links, Driver};
use crate::local::{LocalStack, Options};

/// One shop's run: its stack, its orders, and what happened.
pub struct Played {
    pub shop: Shop,
    pub cases: Vec<(Case, u64)>,
    pub stack: LocalStack,
    pub driver: Driver,
    pub problems: Vec<String>,
}

/// The shortest time between two "asked n/N" lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub(super) fn progress(line: &str) {
    println!("  · {line}");
}

pub async fn play(shop: Shop, stack_name: String) -> Result<Played, String> {
    let cases = (shop.day)();
    let stack = LocalStack::start(Options {
        stack: stack_name,
        provider: shop.provider.into(),
        // Two days in ten seconds.
        speed: 17_280.0,
        poll_every: Duration::from_secs(5),
        retry_after: 1,
        config_edit: Some(shop.config),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("starting the local stack: {e}"))?;
    let d = Driver::new(stack.crm_sim.url(), stack.wa_sim.url(), stack.api.url());
    progress(&format!(
        "shop up: API {}, retailCRM simulator {}, messaging simulator {}",
        stack.api.url(),
        stack.crm_sim.url(),
        stack.wa_sim.url()
    ));
    let phones = |keep: &dyn Fn(&Case) -> bool| -> Vec<&str> {
        cases
            .iter()
            .filter(|c| keep(c))
            .filter_map(|c| c.phone)
            .collect()
    };
    d.whatsapp_numbers(&phones(&|c| c.has_whatsapp), &phones(&|c| !c.has_whatsapp))
        .await?;
    d.max_numbers(
        &phones(&|c| c.max != MaxAccount::None),
        &phones(&|c| c.max == MaxAccount::None),
        &phones(&|c| c.max == MaxAccount::Failing),
    )
    .await?;

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

    let store = stack.parts.store();
    let mut problems = Vec::new();
    for (c, id) in &placed {
        if let Err(e) = answer(&d, &store, &aws, shop.provider, c, *id).await {
            problems.push(format!("{} (order {id}): {e}", c.who));
        }
    }
    progress("every customer who answers has answered; waiting for the effects");
    Ok(Played {
        shop,
        cases: placed,
        stack,
        driver: d,
        problems,
    })
}

/// Whether the question reached the customer where their answer will come from.
async fn question_arrived(d: &Driver, aws: &str, c: &Case) -> Result<bool, String> {
    let phone = c.phone.unwrap_or_default();
    match c.answer {
        Answer::OnMax(_) | Answer::AfterReminder(_) => Ok(!d.max_ours(phone).await?.is_empty()),
        // After a failed MAX message too: the SMS is the fallback's.
        Answer::Tap(_) => Ok(d.sms_link(phone).await?.is_some()),
        Answer::Say(_) => Ok(!d.messages_to(phone).await?.is_empty()),
        Answer::Click(_) | Answer::ScannedThenClick(_) | Answer::Silent => {
            if c.has_whatsapp && !phone.is_empty() {
                return Ok(!d.messages_to(phone).await?.is_empty());
            }
            match c.email {
                Some(e) => Ok(survey_email(d, aws, e).await?.is_some()),
                None => Ok(false),
            }
        }
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

/// Sends `messages` one by one, each after our previous message reached the chat: `sent` counts
/// our messages there.
async fn chat<F, Fut>(
    d: &Driver,
    provider: &str,
    phone: &str,
    messages: &[&str],
    sent: F,
) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<usize, String>>,
{
    for (i, text) in messages.iter().enumerate() {
        if i > 0 {
            // Wait for our follow-up question before answering it.
            eventually(
                "our follow-up question",
                Duration::from_secs(30),
                || async { Ok((sent().await? > i).then_some(())) },
            )
            .await?;
        }
        d.say(provider, phone, text).await?;
    }
    Ok(())
}

async fn answer(
    d: &Driver,
    store: &DynamoStore,
    aws: &str,
    provider: &str,
    c: &Case,
    id: u64,
) -> Result<(), String> {
    match c.answer {
        Answer::Silent => Ok(()),
        Answer::Say(messages) => {
            let phone = c.phone.ok_or("no phone")?;
            chat(d, provider, phone, messages, || async {
                Ok(d.messages_to(phone).await?.len())
            })
            .await
        }
        Answer::OnMax(messages) => {
            let phone = c.phone.ok_or("no phone")?;
            chat(d, "max", phone, messages, || async {
                Ok(d.max_ours(phone).await?.len())
            })
            .await
        }
        Answer::Tap(tap) => tap_sms(d, store, c, id, tap).await,
        Answer::AfterReminder(tap) => {
            // Silent on MAX; the reminder comes by SMS, the next channel of the chain.
            let phone = c.phone.ok_or("no phone")?;
            eventually("the reminder SMS", Duration::from_secs(90), || async {
                Ok(d.sms_link(phone).await?.map(|_| ()))
            })
            .await?;
            tap_sms(d, store, c, id, tap).await
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

/// The customer opens the SMS's short link and taps a rating, as the page's forms do it (a
/// form post of the button, then the comment box); a messenger's link preview may fetch the link
/// first, which must record nothing.
async fn tap_sms(
    d: &Driver,
    store: &DynamoStore,
    c: &Case,
    id: u64,
    tap: Tap,
) -> Result<(), String> {
    let phone = c.phone.ok_or("no phone")?;
    let url = d.sms_link(phone).await?.ok_or("no short link in the SMS")?;
    let http = reqwest::Client::new();
    let get = |agent: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .get(&url)
                .header("user-agent", agent)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            Ok::<_, String>((status, r.text().await.map_err(|e| e.to_string())?))
        }
    };
    if tap.previewed {
        // What a messenger's preview bot does with a link: a plain GET, twice, and nothing else.
        for _ in 0..2 {
            get("TelegramBot (like TwitterBot)").await?;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let survey = OrderRef::new(c.site, id)
            .map_err(|e| e.to_string())
            .map(|o| SurveyId::for_order(&o))?;
        let seen = store.get(&survey).await.map_err(|e| e.to_string())?;
        if let Some(r) = seen.and_then(|s| s.rating) {
            return Err(format!("the link preview recorded a {}", r.value()));
        }
    }
    let (status, page) = get("Mozilla/5.0 (Linux; Android 14) Mobile").await?;
    let button = format!("name=\"rating\" value=\"{}\"", tap.rating);
    if status != 200 || !page.contains(&button) {
        return Err(format!(
            "the SMS page (HTTP {status}) has no button {}",
            tap.rating
        ));
    }
    let post = |to: String, field: &'static str, value: String| {
        let http = http.clone();
        async move {
            http.post(&to)
                .form(&[(field, value)])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        }
    };
    match post(url.clone(), "rating", tap.rating.to_string()).await? {
        200 => {}
        other => return Err(format!("the tap on {} answered HTTP {other}", tap.rating)),
    }
    if let Some(words) = tap.comment {
        match post(format!("{url}/comment"), "text", words.to_string()).await? {
            200 => {}
            other => return Err(format!("the comment answered HTTP {other}")),
        }
    }
    Ok(())
}
