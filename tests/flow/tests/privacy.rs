//! Personal data through the whole running stack (SPEC §8, issue 22 items 4 and 8): a customer
//! answers on WhatsApp through GREEN-API (whose chats are the phone number: `7900…@c.us`),
//! complains in their own words and opts out. Then `otklik forget`, or the retention sweep past
//! `privacy.contact_retention`, and a scan of EVERY item of the table: nothing of theirs is left
//! in any key or attribute, readable or base64, while their rating and credits stay and another
//! customer's data is untouched.

use std::time::Duration;

use chrono::Utc;
use otklik_aws::resources::MAIN_TABLE;
use otklik_aws::store::Forgotten;
use otklik_core::model::{OrderRef, Phone, SurveyId};
use otklik_core::ports::{DoNotContactList, SurveyStore};
use otklik_flow_tests::{eventually, TestStack, WAIT};
use otklik_local_runner::local::Options;
use serde_json::json;

const WORDS: &str = "курьер нагрубил";

/// Every item of the stack's table as lines `"<pk> <sk> <attr>: <value>"`.
async fn table_lines(s: &TestStack) -> Vec<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    fn flat(v: &AttributeValue, out: &mut Vec<String>) {
        match v {
            AttributeValue::S(s) => out.push(s.clone()),
            AttributeValue::N(n) => out.push(n.clone()),
            AttributeValue::Ss(l) => out.extend(l.iter().cloned()),
            AttributeValue::L(l) => l.iter().for_each(|v| flat(v, out)),
            AttributeValue::M(m) => m.values().for_each(|v| flat(v, out)),
            AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
            _ => {}
        }
    }
    let mut lines = Vec::new();
    let mut start = None;
    loop {
        let page = s
            .clients
            .dynamodb
            .scan()
            .table_name(s.names.table(&MAIN_TABLE))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let key = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            let (pk, sk) = (key("pk"), key("sk"));
            for (name, v) in item {
                let mut values = Vec::new();
                flat(v, &mut values);
                for value in values {
                    lines.push(format!("{pk} {sk} {name}: {value}"));
                }
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return lines;
        }
    }
}

async fn field(s: &TestStack, id: u64, code: &str) -> serde_json::Value {
    s.driver.order("main-shop", id).await.unwrap()["customFields"][code].clone()
}

/// What the scan looks for of one customer.
fn needles<'a>(phone: &'a str, email: &'a str) -> [&'a str; 3] {
    // The national number: inside "+7900…", "7900…@c.us" and "8900…" alike.
    [phone, email, WORDS]
}

async fn left_of(s: &TestStack, who: &[&str]) -> Vec<String> {
    let lines = table_lines(s).await;
    otklik_test_support::personal_data_in(lines.iter().map(String::as_str), who)
}

/// A running stack on GREEN-API; a customer who rates 2, says what went wrong and opts out, and
/// another who rates 5. Returns when every effect of theirs is done.
async fn a_complaint_and_an_opt_out(test: &str) -> (TestStack, SurveyId, u64) {
    let s = TestStack::start_with(
        test,
        Options {
            provider: "green-api".into(),
            speed: 1e7,
            poll_every: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await;
    let d = &s.driver;
    let tag = s.names.stack.clone();
    let email = format!("olga+{tag}@example.ru");
    let id = s
        .complete_order(json!({"phone": "+79005550177", "email": email}), &[11, 12])
        .await;
    let other = s
        .complete_order(
            json!({"phone": "+79005550188", "email": format!("ivan+{tag}@example.ru")}),
            &[11],
        )
        .await;
    for phone in ["79005550177", "79005550188"] {
        eventually("the question reaches WhatsApp", WAIT, || async {
            Ok(d.messages_to(phone).await?.into_iter().next())
        })
        .await
        .unwrap();
    }
    s.say("+79005550188", "5").await;
    s.say("+79005550177", "2").await;
    eventually("the 2 reaches the order", WAIT, || async {
        Ok((field(&s, id, "otklik_rating").await == json!(2)).then_some(()))
    })
    .await
    .unwrap();
    s.say("+79005550177", "Курьер нагрубил").await;
    eventually("the words reach the order", WAIT, || async {
        let words = field(&s, id, "otklik_words").await;
        Ok(words
            .as_str()
            .is_some_and(|w| w.to_lowercase().contains(WORDS))
            .then_some(()))
    })
    .await
    .unwrap();
    s.say("+79005550177", "стоп").await;
    let contact = otklik_core::machine::Contact {
        phone: Some(Phone::parse("+79005550177", "RU").unwrap()),
        email: None,
    };
    eventually("the opt-out is listed", WAIT, || async {
        Ok(s.store
            .contains(&contact)
            .await
            .map_err(|e| e.to_string())?
            .then_some(()))
    })
    .await
    .unwrap();
    eventually("the other customer's 5 is written", WAIT, || async {
        Ok((field(&s, other, "otklik_rating").await == json!(5)).then_some(()))
    })
    .await
    .unwrap();
    // Everything in flight lands: the confirmations went out and the queues are idle.
    eventually("the opt-out is confirmed", WAIT, || async {
        Ok((d.messages_to("79005550177").await?.len() >= 3).then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let survey = SurveyId::for_order(&OrderRef::new("main-shop", id).unwrap());
    (s, survey, id)
}

fn email_of(s: &TestStack) -> String {
    format!("olga+{}@example.ru", s.names.stack)
}

#[tokio::test]
async fn after_forget_no_item_holds_the_customers_phone_email_or_words() {
    let (s, survey, _) = a_complaint_and_an_opt_out("forget").await;
    let email = email_of(&s);
    let hers = needles("9005550177", &email);
    let before = left_of(&s, &hers).await;
    assert!(
        before.iter().any(|l| l.starts_with("survey#"))
            && before.iter().any(|l| l.to_lowercase().contains(WORDS)),
        "the scan sees her data before the erasure: {before:#?}"
    );

    let who = Forgotten::Phone(Phone::parse("8 900 555-01-77", "RU").unwrap());
    let report = s.store.forget(&who, Utc::now()).await.unwrap();
    assert!(report.do_not_contact, "{report:?}");
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.contains("erased phone, email")),
        "{report:?}"
    );

    let left = left_of(&s, &hers).await;
    assert!(left.is_empty(), "left of her after forget: {left:#?}");
    // Still on the do-not-contact list (as a keyed hash), by phone and by email.
    for c in [
        (Some(Phone::parse("+79005550177", "RU").unwrap()), None),
        (
            None,
            Some(otklik_core::model::Email::parse(&email).unwrap()),
        ),
    ] {
        let contact = otklik_core::machine::Contact {
            phone: c.0,
            email: c.1,
        };
        assert!(s.store.contains(&contact).await.unwrap(), "{contact:?}");
    }
    // Her rating and its credits stay for the KPI.
    let kept = s.store.get(&survey).await.unwrap().unwrap();
    assert_eq!(kept.rating.map(|r| r.value()), Some(2));
    assert!(kept.personal_data_erased());
    let now = Utc::now();
    let credits = s
        .store
        .credits_between(now - chrono::Duration::hours(1), now)
        .await
        .unwrap();
    assert_eq!(credits.iter().filter(|c| c.survey == survey).count(), 2);
    // The other customer is untouched.
    let his = left_of(&s, &["9005550188"]).await;
    assert!(his.iter().any(|l| l.starts_with("survey#")), "{his:#?}");
    // A second run has nothing more to erase.
    let again = s.store.forget(&who, Utc::now()).await.unwrap();
    assert!(
        again.changes.iter().all(|c| c.contains("do-not-contact")),
        "{again:?}"
    );
}

#[tokio::test]
async fn after_retention_no_item_holds_the_customers_phone_email_or_words() {
    let (s, survey, _) = a_complaint_and_an_opt_out("retention").await;
    let email = email_of(&s);
    let hers = needles("9005550177", &email);
    // Before the survey is past retention, the sweep keeps everything.
    let retention = s.config.privacy.contact_retention;
    let report = s
        .store
        .retention_sweep(retention, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.erased, 0, "{report:?}");
    assert!(!left_of(&s, &hers).await.is_empty());

    let later =
        Utc::now() + chrono::Duration::from_std(retention).unwrap() + chrono::Duration::days(1);
    let report = s.store.retention_sweep(retention, later).await.unwrap();
    assert_eq!(report.erased, 2, "both surveys ended: {report:?}");
    let left = left_of(&s, &hers).await;
    assert!(left.is_empty(), "left of her after retention: {left:#?}");
    let his = left_of(&s, &["9005550188"]).await;
    assert!(his.is_empty(), "left of him after retention: {his:#?}");
    let kept = s.store.get(&survey).await.unwrap().unwrap();
    assert_eq!(kept.rating.map(|r| r.value()), Some(2));
    // The opt-out outlives the retention of her contact.
    let contact = otklik_core::machine::Contact {
        phone: Some(Phone::parse("+79005550177", "RU").unwrap()),
        email: None,
    };
    assert!(s.store.contains(&contact).await.unwrap());
}
