//! The demo's closing report: per shop the funnel, the response rate per channel, what reached
//! retailCRM and how many messages went out; then the KPI table of the first shop.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Utc};
use otklik_core::machine::Survey;
use otklik_core::model::{Channel, OrderRef, Outcome, SurveyId, SurveyState};
use otklik_core::ports::SurveyStore;

use super::run::Played;

/// How many customers one channel asked, and how many of them answered there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelRate {
    pub asked: u32,
    pub answered: u32,
}

/// Whether the customer answered at all: a rating, or an opt-out (an answer too, if not the one
/// we hoped for).
fn answered(s: &Survey) -> bool {
    s.rating.is_some()
        || s.state
            == SurveyState::Closed {
                outcome: Outcome::OptedOut,
            }
}

/// Asked and answered per channel. A survey counts as asked on every channel its question went
/// out on (a failed MAX message and its SMS, a reminder's channel: all), and as answered on the
/// channel the answer came on (for a survey from before that was recorded: the last one asked).
pub fn per_channel(surveys: &[Survey]) -> BTreeMap<Channel, ChannelRate> {
    let mut out: BTreeMap<Channel, ChannelRate> = BTreeMap::new();
    for s in surveys {
        // A survey from before chains names only the channel it went out on.
        let asked = if s.asked.is_empty() {
            s.channel.into_iter().collect()
        } else {
            s.asked.clone()
        };
        for ch in asked {
            out.entry(ch).or_default().asked += 1;
        }
        if let (true, Some(ch)) = (answered(s), s.replied_via.or(s.channel)) {
            out.entry(ch).or_default().answered += 1;
        }
    }
    out
}

/// `max 6 → 4 (67 %), sms 4 → 4 (100 %)`, in the order a Russian shop tries them.
fn rates_line(rates: &BTreeMap<Channel, ChannelRate>) -> String {
    Channel::ALL
        .iter()
        .filter_map(|ch| {
            let r = rates.get(ch).filter(|r| r.asked > 0)?;
            Some(format!(
                "{ch} {} → {} ({:.0} %)",
                r.asked,
                r.answered,
                100.0 * f64::from(r.answered) / f64::from(r.asked)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
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

fn joined<K: std::fmt::Display>(m: &BTreeMap<K, u32>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn shop_section(out: &mut String, p: &Played) {
    let store = p.stack.parts.store();
    let mut surveys = Vec::new();
    let mut ratings: BTreeMap<u8, u32> = BTreeMap::new();
    for (c, id) in &p.cases {
        let Ok(o) = OrderRef::new(c.site, *id) else {
            continue;
        };
        if let Ok(Some(s)) = store.get(&SurveyId::for_order(&o)).await {
            surveys.push(s);
        }
        let order = p.driver.order(c.site, *id).await.unwrap_or_default();
        if let Some(r) = order["customFields"]["otklik_rating"].as_u64() {
            *ratings.entry(r as u8).or_default() += 1;
        }
    }
    let mut states: BTreeMap<&str, u32> = BTreeMap::new();
    for s in &surveys {
        *states.entry(state_name(&s.state)).or_default() += 1;
    }
    let rates = per_channel(&surveys);
    let asked = surveys
        .iter()
        .filter(|s| !s.asked.is_empty() || s.channel.is_some());
    let opted_out = surveys
        .iter()
        .filter(|s| answered(s) && s.rating.is_none())
        .count();
    let complaints = p.driver.orders("reklamacii").await.unwrap_or_default();
    let tasks = p.driver.crm_list("tasks").await.unwrap_or_default();
    let n = p.cases.len();
    let _ = writeln!(out, "\n{} shop — {n} orders completed", p.shop.name);
    let _ = writeln!(
        out,
        "  funnel: {n} completed → {} asked → {} answered ({} rated, {opted_out} opted out)",
        asked.count(),
        surveys.iter().filter(|s| answered(s)).count(),
        ratings.values().sum::<u32>()
    );
    let _ = writeln!(
        out,
        "  response by channel (asked → answered): {}",
        rates_line(&rates)
    );
    let reminded = surveys.iter().filter(|s| s.reminder.is_some()).count();
    if reminded > 0 {
        let after = surveys
            .iter()
            .filter(|s| answered(s) && s.answered_after_reminder())
            .count();
        let answers = surveys.iter().filter(|s| answered(s)).count().max(1);
        let _ = writeln!(
            out,
            "  reminders: {reminded} sent; {after} of {answers} answers came after one ({:.0} %)",
            100.0 * after as f64 / answers as f64
        );
    }
    let _ = writeln!(out, "  survey states: {}", joined(&states));
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
        "  complaints opened in «Рекламации»: {} (all assigned to the inspector: {}); inspector tasks: {}",
        complaints.len(),
        complaints.iter().all(|c| c["managerId"] == 7),
        tasks.len()
    );
    let mut sent: BTreeMap<&str, u32> = BTreeMap::new();
    for m in p.driver.messages_all().await.unwrap_or_default() {
        let via = if m["provider"] == "max" {
            "MAX"
        } else {
            "WhatsApp"
        };
        *sent.entry(via).or_default() += 1;
    }
    let sms = p.driver.sms_all().await.map(|m| m.len()).unwrap_or(0);
    if sms > 0 {
        sent.insert("SMS", sms as u32);
    }
    let _ = writeln!(out, "  messages sent: {}", joined(&sent));
}

/// The report: each shop's section, then the KPI table of the first shop.
pub async fn report(runs: &[&Played]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n══ Otklik demo: the day in numbers ══");
    for p in runs {
        shop_section(&mut out, p).await;
    }
    if let Some(main) = runs.first() {
        kpi_section(&mut out, main).await;
    }
    out
}

/// The KPI table of `main`'s shop, this month.
async fn kpi_section(out: &mut String, main: &Played) {
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
        match otklik_app::report::gather(&store, &main.stack.config().complaints, from, to, &names)
            .await
        {
            Ok(kpi) => {
                let _ = writeln!(
                    out,
                    "\nKPI of the {} shop, {first} – {today}:",
                    main.shop.name
                );
                out.push_str(&kpi.to_table());
            }
            Err(e) => {
                let _ = writeln!(out, "\nKPI report failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_core::machine::Contact;
    use otklik_core::model::Rating;

    fn survey(order: u64, asked: &[Channel], state: SurveyState, rating: Option<u8>) -> Survey {
        let now = Utc::now();
        let mut s = Survey::new(
            OrderRef::new("russia-2026", order).unwrap(),
            Contact::default(),
            now,
            now,
        );
        s.asked = asked.to_vec();
        s.channel = asked.last().copied();
        s.state = state;
        s.rating = rating.map(|r| Rating::new(r).unwrap());
        s
    }

    #[test]
    fn each_channel_counts_whom_it_asked_and_who_answered_there() {
        use Channel::*;
        let closed = |outcome| SurveyState::Closed { outcome };
        let surveys = vec![
            survey(1, &[Max], closed(Outcome::Rated), Some(5)),
            survey(2, &[Max], SurveyState::Sent, None),
            // MAX failed, the SMS got the answer: asked on both, answered by SMS.
            survey(3, &[Max, Sms], closed(Outcome::Rated), Some(4)),
            // An opt-out answers too.
            survey(4, &[Max], closed(Outcome::OptedOut), None),
            survey(5, &[Sms], SurveyState::Expired, None),
            // Rated, waiting for "shall we call?": answered.
            survey(6, &[Whatsapp], SurveyState::AwaitingContactConsent, Some(3)),
            // Before chains: only the channel it went out on.
            {
                let mut s = survey(7, &[], SurveyState::Sent, None);
                s.channel = Some(Email);
                s
            },
        ];
        let rates = per_channel(&surveys);
        let r = |asked, answered| ChannelRate { asked, answered };
        assert_eq!(rates[&Max], r(4, 2));
        assert_eq!(rates[&Sms], r(2, 1));
        assert_eq!(rates[&Whatsapp], r(1, 1));
        assert_eq!(rates[&Email], r(1, 0));
        assert_eq!(
            rates_line(&rates),
            "max 4 → 2 (50 %), whatsapp 1 → 1 (100 %), sms 2 → 1 (50 %), email 1 → 0 (0 %)"
        );
    }

    #[test]
    fn a_channel_nobody_was_asked_on_is_left_out_of_the_line() {
        let surveys = vec![survey(
            1,
            &[Channel::Email],
            SurveyState::Closed {
                outcome: Outcome::Rated,
            },
            Some(5),
        )];
        assert_eq!(rates_line(&per_channel(&surveys)), "email 1 → 1 (100 %)");
    }
}
