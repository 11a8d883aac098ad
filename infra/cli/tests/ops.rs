//! `otklik survey show` and `otklik dlq list | redrive` against the local AWS endpoint, as an
//! operator runs them.

use std::process::Command;

use chrono::{TimeZone, Utc};
use otklik_aws::provision::ensure_all;
use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, CRM_WRITES_QUEUE};
use otklik_aws::store::DynamoStore;
use otklik_aws::Clients;
use otklik_core::machine::{Contact, InputId, Survey};
use otklik_core::model::{Channel, OrderRef, Outcome, Phone, Rating, SurveyState};
use otklik_core::ports::{Queue, SurveyStore};

fn otklik(names: &Names, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_STACK", &names.stack)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn stack(test: &str) -> (Clients, Names) {
    otklik_test_support::local_endpoint();
    let clients = Clients::from_env().await;
    let names = Names::new(otklik_test_support::unique_stack(test));
    ensure_all(&clients, &names).await.unwrap();
    (clients, names)
}

#[tokio::test]
async fn survey_show_tells_where_an_order_stands_without_the_customers_number() {
    let (clients, names) = stack("ops-show").await;
    let store = DynamoStore::new(clients.dynamodb.clone(), &names);
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut s = Survey::new(
        OrderRef::new("main-shop", 1234).unwrap(),
        Contact {
            phone: Some(Phone::parse("+7 900 765-43-21", "RU").unwrap()),
            email: None,
        },
        at,
        at,
    );
    s.state = SurveyState::Closed {
        outcome: Outcome::Rated,
    };
    s.channel = Some(Channel::Max);
    s.asked = vec![Channel::Max];
    s.sent_at = Some(at);
    s.rating = Some(Rating::new(5).unwrap());
    s.rated_at = Some(at + chrono::Duration::hours(2));
    s.seen_inputs = vec![InputId::new("max:79007654321/answer-1").unwrap()];
    s.done.insert("s-main-shop-1234/rating".into());
    assert!(store.create(&s).await.unwrap());

    let (ok, out, err) = otklik(&names, &["survey", "show", "--order", "main-shop/1234"]);
    assert!(ok, "{err}");
    for expected in [
        "closed (outcome: rated)",
        "max",
        "5 at 2026-11-20 14:00:00 UTC",
        "s-main-shop-1234/rating",
        "max:•••••••••21/answer-1",
    ] {
        assert!(out.contains(expected), "{expected:?} in:\n{out}");
    }
    assert!(!out.contains("7654321"), "the number is masked:\n{out}");

    let (ok, _, err) = otklik(&names, &["survey", "show", "--order", "main-shop/999"]);
    assert!(!ok);
    assert!(err.contains("no survey for order main-shop/999"), "{err}");
    let (ok, _, err) = otklik(&names, &["survey", "show", "--order", "1234"]);
    assert!(!ok);
    assert!(err.contains("<site>/<order id>"), "{err}");
}

#[tokio::test]
async fn dlq_list_shows_what_rests_and_redrive_puts_it_back() {
    let (clients, names) = stack("ops-dlq").await;
    let dlq = SqsQueue::connect_named(clients.sqs.clone(), &names.dlq(&CRM_WRITES_QUEUE))
        .await
        .unwrap();
    let body = r#"{"surveyId":"s-main-shop-77","effect":{"key":"s-main-shop-77/words/1","command":{"command":"save_words","text":"коробка мятая"}}}"#;
    dlq.send(body).await.unwrap();

    let (ok, out, err) = otklik(&names, &["dlq", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("crm-writes") && out.contains("survey s-main-shop-77: save_words"),
        "{out}"
    );
    assert!(!out.contains("мятая"), "never the customer's words:\n{out}");
    assert!(out.contains("1 dead letter(s)"), "{out}");
    // Looking took nothing away.
    let (_, again, _) = otklik(&names, &["dlq", "list"]);
    assert!(again.contains("1 dead letter(s)"), "{again}");

    let (ok, out, err) = otklik(&names, &["dlq", "redrive", "crm-writes"]);
    assert!(ok, "{err}");
    assert!(out.contains("Moved 1 message(s)"), "{out}");
    let main = SqsQueue::connect_named(clients.sqs.clone(), &names.queue(&CRM_WRITES_QUEUE))
        .await
        .unwrap();
    let back = main.receive(10, 1).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body(), Some(body));
    let (_, out, _) = otklik(&names, &["dlq", "list"]);
    assert!(out.contains("No dead letters"), "{out}");

    let (ok, _, err) = otklik(&names, &["dlq", "redrive", "nowhere"]);
    assert!(!ok);
    assert!(
        err.contains("no queue named \"nowhere\"") && err.contains("crm-writes"),
        "{err}"
    );
}

/// `otklik forget --phone …` as an operator runs it: config and secrets from the environment
/// (locally as `.local/stack.env` gives them; on AWS from the secret), the erasure in plain words.
#[tokio::test]
async fn forget_erases_the_customer_says_what_it_changed_and_keeps_the_opt_out() {
    use otklik_core::ports::DoNotContactList;
    let (clients, names) = stack("ops-forget").await;
    let key = "cli-test-contact-key-0123456789abcdef";
    let store = DynamoStore::new(clients.dynamodb.clone(), &names)
        .with_hasher(otklik_core::privacy::ContactHasher::new(key.as_bytes()));
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let contact = Contact {
        phone: Some(Phone::parse("+7 900 765-43-21", "RU").unwrap()),
        email: None,
    };
    let mut s = Survey::new(
        OrderRef::new("main-shop", 4321).unwrap(),
        contact.clone(),
        at,
        at,
    );
    s.state = SurveyState::Closed {
        outcome: Outcome::OptedOut,
    };
    s.closed_at = Some(at);
    s.seen_inputs = vec![InputId::new("79007654321@c.us/BAE5").unwrap()];
    assert!(store.create(&s).await.unwrap());
    store.add(&contact).await.unwrap();

    let config = std::env::temp_dir().join(format!("otklik-forget-{}.toml", std::process::id()));
    std::fs::write(&config, include_str!("../../../otklik.example.toml")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["forget", "--phone", "8 900 765-43-21"])
        .env("OTKLIK_STACK", &names.stack)
        .env("OTKLIK_CONFIG", &config)
        .env_remove("OTKLIK_SECRETS_ID")
        .env("OTKLIK_CRM_API_KEY", "k")
        .env("OTKLIK_TRIGGER_SECRET", "t")
        .env("OTKLIK_LINK_SECRET", "l".repeat(40))
        .env("OTKLIK_CONTACT_KEY", key)
        .env("OTKLIK_META_ACCESS_TOKEN", "m")
        .env("OTKLIK_META_APP_SECRET", "m")
        .env("OTKLIK_META_VERIFY_TOKEN", "m")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&config);
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stderr}");
    for expected in [
        "Forgot +7900*****21",
        "order main-shop/4321: erased phone, 1 message id(s) from survey s-main-shop-4321",
        "kept them on the do-not-contact list, as a keyed hash",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("7654321"), "masked:\n{stdout}");
    let kept = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(kept.contact, Contact::default());
    assert!(kept.seen_inputs.is_empty());
    assert!(store.contains(&contact).await.unwrap(), "the opt-out stays");

    // Neither flag, or both: refused with a sentence, nothing read.
    let (ok, _, err) = otklik(&names, &["forget"]);
    assert!(!ok, "{err}");
}
