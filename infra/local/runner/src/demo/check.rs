//! What must have happened by the end of a shop's day, checked against the CRM simulator and the
//! store; and the inspector working the complaints, which the KPI report must then show.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use otklik_aws::store::DynamoStore;
use otklik_core::machine::Contact;
use otklik_core::model::{Email, OrderRef, Phone, SurveyId};
use otklik_core::ports::{DoNotContactList, SurveyStore};

use super::run::{progress, Played};
use super::Case;
use crate::drive::{eventually, Driver};

/// Waits for every expected outcome and lists the missing ones.
pub async fn check(p: &Played) -> Vec<String> {
    let d = &p.driver;
    let mut problems = p.problems.clone();
    let store = p.stack.parts.store();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (c, id) in &p.cases {
        let what = format!("{} (order {id}, {})", c.who, p.shop.name);
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
    if !c.expect.asked.is_empty() {
        let asked = match OrderRef::new(c.site, id) {
            Ok(o) => store
                .get(&SurveyId::for_order(&o))
                .await
                .map_err(|e| e.to_string())?
                .map(|s| s.asked),
            Err(_) => None,
        };
        if asked.as_deref() != Some(c.expect.asked) {
            return Ok(false);
        }
    }
    if c.expect.after_reminder {
        let survey = match OrderRef::new(c.site, id) {
            Ok(o) => store
                .get(&SurveyId::for_order(&o))
                .await
                .map_err(|e| e.to_string())?,
            Err(_) => None,
        };
        if !survey.is_some_and(|s| s.answered_after_reminder()) {
            return Ok(false);
        }
    }
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
        "rating field {}, complaint {}, task {}, opted out {}, survey {:?} asked on {:?}, reminded {:?}",
        order["customFields"]["otklik_rating"],
        complaint_for(d, id).await.unwrap_or(false),
        task_for(d, id).await.unwrap_or(false),
        opted_out(store, c).await.unwrap_or(false),
        survey.as_ref().map(|s| &s.state),
        survey.as_ref().map(|s| s.asked.clone()).unwrap_or_default(),
        survey.as_ref().and_then(|s| s.reminder.map(|r| r.channel))
    )
}

/// The dashboard of `p`'s stack opens through its signed link (cookie, redirect) and shows the
/// same rated orders this month as the KPI table. Returns the link and what went wrong.
pub async fn dashboard(p: &Played) -> (String, Vec<String>) {
    let link = p.stack.dashboard_link();
    let mut problems = Vec::new();
    let config = p.stack.config();
    let today = chrono::Utc::now()
        .with_timezone(&config.timezone)
        .date_naive();
    let period =
        otklik_core::dashboard::Period::preset(otklik_core::dashboard::Preset::ThisMonth, today);
    let want = match period.instants(config.timezone) {
        Ok((from, to)) => otklik_app::report::gather(
            &p.stack.parts.store(),
            &config.complaints,
            from,
            to,
            &Default::default(),
        )
        .await
        .map(|r| r.team.rated_orders)
        .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let shown = async {
        let http = http.map_err(|e| e.to_string())?;
        let r = http.get(&link).send().await.map_err(|e| e.to_string())?;
        if r.status() != 303 {
            return Err(format!("the sign-in link answered {}", r.status()));
        }
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .ok_or("the sign-in link set no cookie")?
            .to_string();
        let page = http
            .get(format!("{}/reports", p.stack.api.url()))
            .header("cookie", cookie)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if page.status() != 200 {
            return Err(format!("the dashboard answered {}", page.status()));
        }
        page.text().await.map_err(|e| e.to_string())
    }
    .await;
    match (want, shown) {
        (Ok(n), Ok(html)) => {
            let needle = format!("data-figure=\"team.ratedOrders\" data-value=\"{n}\"");
            if !html.contains(&needle) {
                problems.push(format!(
                    "the dashboard does not show the KPI's {n} rated orders"
                ));
            }
        }
        (Err(e), _) | (_, Err(e)) => problems.push(format!("dashboard: {e}")),
    }
    (link, problems)
}
