//! SMS through SMS.ru: the sender against a scripted SMS.ru (the form as SMS.ru sees it, every
//! documented answer), and the delivery-status callback parser. Each test names its page.

mod common;

use common::{refusing_url, Mock, Reply};
use otklik_core::config::{Config, Secrets, SmsConfig, SmsProvider};
use otklik_core::machine::{Event, InputId};
use otklik_core::model::{Channel, Phone};
use otklik_messaging::inbound::{DeliveryStatus, Inbound, InboundError, MAX_BODY_BYTES};
use otklik_messaging::sms::{
    parse_smsru_callback, smsru_code_not_sent, Sms, SmsCallbackItem, SmsDelivery, SmsRu, SmsSender,
    SmsStatusUpdate, SMSRU_CALLBACK_ANSWER,
};
use otklik_messaging::SendError;
use serde_json::json;

const API_ID: &str = "A3CA597E-3ACF-4E7D-82EE-CF82B52B1A8B";
const TEXT: &str =
    "Здравствуйте! Как вам заказ? Оцените в одно касание: https://o.example.ru/s/Ab3dE6gH9k";

fn smsru(url: &str, test: bool) -> SmsRu {
    SmsRu::new(
        SmsConfig {
            provider: SmsProvider::Smsru,
            api_url: url.to_string(),
            sender: "MyShop".into(),
            test,
        },
        API_ID,
    )
}

fn phone() -> Phone {
    Phone::parse("+7 925 507-06-02", "RU").expect("a valid phone")
}

/// sms.ru/api/send, the answer with `json=1` for one number taken.
fn taken() -> Reply {
    Reply::ok(json!({
        "status": "OK",
        "status_code": 100,
        "sms": {"79255070602": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}},
        "balance": 4122.56
    }))
}

// ---- sms/send ------------------------------------------------------------------------------

/// sms.ru/api/send: `api_id`, `to`, `msg`, `from`, `json=1` → the number's `sms_id`.
#[tokio::test]
async fn send_posts_the_documented_form_and_returns_the_sms_id() {
    let mock = Mock::always(taken()).await;
    let id = smsru(&mock.url, false).send(&phone(), TEXT).await.unwrap();
    assert_eq!(id, "000000-10000000");
    let r = mock.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/sms/send");
    assert!(r
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")));
    let form = r.form();
    let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["api_id", "to", "msg", "from", "json"], "no test=1");
    assert_eq!(r.form_value("api_id").as_deref(), Some(API_ID));
    assert_eq!(r.form_value("to").as_deref(), Some("79255070602"));
    assert_eq!(r.form_value("msg").as_deref(), Some(TEXT), "UTF-8 intact");
    assert_eq!(r.form_value("from").as_deref(), Some("MyShop"));
    assert_eq!(r.form_value("json").as_deref(), Some("1"));
}

/// sms.ru/api/send: `test=1` — the answer as if sent, nothing sent, nothing charged.
#[tokio::test]
async fn test_mode_adds_test_1() {
    let mock = Mock::always(taken()).await;
    smsru(&mock.url, true).send(&phone(), TEXT).await.unwrap();
    assert_eq!(mock.last().form_value("test").as_deref(), Some("1"));
}

/// sms.ru/api/send, the documented example's second number: per-number ERROR 207 ("no route /
/// cannot send to this number") — the SMS was certainly not taken.
#[tokio::test]
async fn a_refused_number_is_not_sent() {
    let mock = Mock::always(Reply::ok(json!({
        "status": "OK",
        "status_code": 100,
        "sms": {"79255070602": {"status": "ERROR", "status_code": 207, "status_text": "На этот номер (или один из номеров) нельзя отправлять сообщения, либо указано более 100 номеров в списке получателей"}},
        "balance": 4122.56
    })))
    .await;
    let e = smsru(&mock.url, false)
        .send(&phone(), TEXT)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::NotSent(m) if m.contains("207")),
        "{e}"
    );
}

/// sms.ru/api/send and its code list: a top-level ERROR refuses the request. 200 bad api_id,
/// 201 not enough money, 204 sender not approved, 220 temporarily unavailable: not sent. 500 is
/// "server error, repeat": we cannot tell, so it is Unknown (no second SMS).
#[tokio::test]
async fn a_refused_request_says_whether_it_may_have_gone() {
    for (code, text, not_sent) in [
        (200, "Неправильный api_id", true),
        (201, "Не хватает средств на лицевом счету", true),
        (204, "Имя отправителя не согласовано с администрацией", true),
        (
            220,
            "Сервис временно недоступен, попробуйте чуть позже",
            true,
        ),
        (301, "Неправильный api_id, либо логин/пароль", true),
        (500, "Ошибка на сервере. Повторите запрос.", false),
        (999, "?", false),
    ] {
        let mock = Mock::always(Reply::ok(
            json!({"status": "ERROR", "status_code": code, "status_text": text}),
        ))
        .await;
        let e = smsru(&mock.url, false)
            .send(&phone(), TEXT)
            .await
            .unwrap_err();
        assert_eq!(matches!(e, SendError::NotSent(_)), not_sent, "{code}: {e}");
        assert!(e.to_string().contains(&code.to_string()), "{e}");
        assert!(!e.to_string().contains(API_ID), "{e}");
    }
}

#[tokio::test]
async fn answers_we_cannot_read_are_unknown_and_transport_errors_keep_their_meaning() {
    for reply in [
        Reply::ok(json!({"status": "OK", "status_code": 100, "balance": 1})),
        Reply::ok(json!({"status": "OK", "status_code": 100, "sms": {}})),
        Reply::ok(
            json!({"status": "OK", "status_code": 100, "sms": {"79255070602": {"status": "OK", "status_code": 100}}}),
        ),
        Reply::ok(json!({"sms": {}})),
        Reply::text(200, "100\n000000-10000000\nbalance=4122.56"),
        Reply::text(502, "Bad Gateway"),
    ] {
        let mock = Mock::always(reply.clone()).await;
        let e = smsru(&mock.url, false)
            .send(&phone(), TEXT)
            .await
            .unwrap_err();
        assert!(matches!(e, SendError::Unknown(_)), "{reply:?} → {e}");
    }
    let mock = Mock::always(Reply::text(429, "")).await;
    assert!(matches!(
        smsru(&mock.url, false).send(&phone(), TEXT).await,
        Err(SendError::NotSent(_))
    ));
    assert!(matches!(
        smsru(&refusing_url().await, false)
            .send(&phone(), TEXT)
            .await,
        Err(SendError::NotSent(_))
    ));
}

/// With one number, SMS.ru's entry is ours even if it wrote the number another way.
#[tokio::test]
async fn the_only_entry_is_ours() {
    let mock = Mock::always(Reply::ok(json!({
        "status": "OK", "status_code": 100,
        "sms": {"+79255070602": {"status": "OK", "status_code": 100, "sms_id": "201911-1000001"}},
        "balance": 10
    })))
    .await;
    assert_eq!(
        smsru(&mock.url, false).send(&phone(), TEXT).await.unwrap(),
        "201911-1000001"
    );
}

#[test]
fn the_not_sent_codes() {
    for c in [
        200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 220, 230, 231, 232,
        233, 300, 301, 302,
    ] {
        assert!(smsru_code_not_sent(c), "{c}");
    }
    for c in [100, 103, 214, 221, 303, 500, 901, -1] {
        assert!(!smsru_code_not_sent(c), "{c}");
    }
}

#[tokio::test]
async fn the_sender_comes_from_sms_and_its_api_id() {
    let example = include_str!("../../../otklik.example.toml");
    let mock = Mock::always(taken()).await;
    let text = format!(
        "{example}\n[sms]\nprovider = \"smsru\"\napi_url = \"{}\"\nsender = \"MyShop\"\n",
        mock.url
    );
    let config = Config::from_toml(&text).unwrap();
    let secrets = Secrets::load(&config, |k| {
        Some(match k {
            "OTKLIK_LINK_SECRET" => "l".repeat(40),
            "OTKLIK_CONTACT_KEY" => "k".repeat(40),
            "OTKLIK_SMS_CALLBACK_SECRET" => "c".repeat(32),
            "OTKLIK_SMSRU_API_ID" => API_ID.to_string(),
            _ => "x".to_string(),
        })
    })
    .unwrap();
    let sms = Sms::from_config(&config, &secrets).expect("[sms] is configured");
    assert!(!format!("{sms:?}").contains(API_ID));
    assert_eq!(sms.send(&phone(), TEXT).await.unwrap(), "000000-10000000");
    assert_eq!(mock.last().form_value("api_id").as_deref(), Some(API_ID));
    let plain = Config::from_toml(example).unwrap();
    assert!(Sms::from_config(&plain, &secrets).is_none());
}

// ---- callbacks -----------------------------------------------------------------------------

/// One `data[]` entry as sms.ru/api/callback describes it: `sms_status`, the id, the code, the time.
fn entry(id: &str, code: &str) -> String {
    format!("sms_status\n{id}\n{code}\n1717000000")
}

fn form(key: &str, entries: &[String]) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = entries.iter().map(|e| (key, e.as_str())).collect();
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

fn update(id: &str, delivery: SmsDelivery, code: i64) -> SmsStatusUpdate {
    SmsStatusUpdate {
        sms_id: id.into(),
        delivery,
        code,
    }
}

fn item(id: &str, delivery: SmsDelivery, code: i64) -> SmsCallbackItem {
    SmsCallbackItem::Status(update(id, delivery, code))
}

/// sms.ru/api/callback: a POST of `data[]` entries; sms.ru/api/status: 100–102 on the way,
/// 103 delivered, 104–108 and 150 failed. The handler must answer "100".
#[test]
fn a_callback_gives_typed_statuses_in_order() {
    let body = form(
        "data[]",
        &[
            entry("000000-10000001", "103"),
            entry("000000-10000002", "102"),
            entry("000000-10000003", "104"),
            entry("000000-10000004", "-1"),
            "callcheck_status\n201737-542\n401\n1717000000".to_string(),
            entry("000000-10000005", "150"),
            entry("000000-10000006", "100"),
            entry("000000-10000007", "108"),
        ],
    );
    assert_eq!(
        parse_smsru_callback(&body).unwrap(),
        vec![
            item("000000-10000001", SmsDelivery::Delivered, 103),
            item("000000-10000002", SmsDelivery::InProgress, 102),
            item("000000-10000003", SmsDelivery::Failed, 104),
            item("000000-10000005", SmsDelivery::Failed, 150),
            item("000000-10000006", SmsDelivery::InProgress, 100),
            item("000000-10000007", SmsDelivery::Failed, 108),
        ]
    );
    assert_eq!(SMSRU_CALLBACK_ANSWER, "100");
}

#[test]
fn indexed_keys_and_windows_line_ends_read_the_same() {
    let body = form(
        "data[0]",
        &["sms_status\r\n000000-1\r\n103\r\n1717000000".into()],
    );
    assert_eq!(
        parse_smsru_callback(&body).unwrap(),
        vec![item("000000-1", SmsDelivery::Delivered, 103)]
    );
    // A form without data (a check of the handler) has nothing to do.
    assert_eq!(parse_smsru_callback(b"").unwrap(), vec![]);
    assert_eq!(parse_smsru_callback(b"x=1").unwrap(), vec![]);
}

#[test]
fn callback_updates_become_statuses_via_sms() {
    let failed = update("000000-10000003", SmsDelivery::Failed, 104)
        .to_inbound()
        .unwrap();
    assert_eq!(
        failed,
        Inbound::Status {
            message_id: "000000-10000003".into(),
            id: InputId::new("smsru:000000-10000003:104").unwrap(),
            status: DeliveryStatus::Failed,
            reason: Some("smsru:104".into()),
            via: Channel::Sms,
            recipient_user_id: None,
        }
    );
    assert_eq!(
        failed.status_event(),
        Some(Event::DeliveryFailed {
            channel: Channel::Sms,
            reason: "smsru:104".into()
        })
    );
    let delivered = update("1-2", SmsDelivery::Delivered, 103)
        .to_inbound()
        .unwrap();
    assert_eq!(delivered.status_event(), Some(Event::Delivered));
    let on_way = update("1-2", SmsDelivery::InProgress, 102)
        .to_inbound()
        .unwrap();
    assert_eq!(on_way.status_event(), None);
}

/// One bad `data[]` entry never sinks the callback (issue 18, as for Meta and GREEN-API): it is
/// an unusable item in its place, the others are read. Only a body too large is refused.
#[test]
fn a_bad_entry_is_unusable_and_the_others_are_read() {
    for (bad, why) in [
        (
            "sms_status\n000000-1",
            "sms_status without an id and a code",
        ),
        ("sms_status\n000000-1\nok\n1", "status code not a number"),
        ("sms_status\n<script>\n103\n1", "bad sms id"),
    ] {
        let body = form(
            "data[]",
            &[
                entry("000000-10000001", "103"),
                bad.to_string(),
                entry("000000-10000003", "104"),
            ],
        );
        let got = parse_smsru_callback(&body).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], item("000000-10000001", SmsDelivery::Delivered, 103));
        assert_eq!(got[2], item("000000-10000003", SmsDelivery::Failed, 104));
        assert_eq!(
            got[1],
            SmsCallbackItem::Unusable {
                at: "data[1]".into(),
                reason: why.into(),
                raw: bad.into(),
            }
        );
        // Queued as an unusable item of SMS.ru's, which the worker counts and keeps.
        assert!(matches!(
            got[1].to_inbound(),
            Inbound::Unusable { provider, at, reason, raw }
                if provider == "smsru" && at == "data[1]" && reason == why && raw.contains("sms_status")
        ));
    }
    assert_eq!(
        parse_smsru_callback(&vec![b'a'; MAX_BODY_BYTES + 1]),
        Err(InboundError::TooLarge)
    );
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_smsru_callback(&body);
        }

        #[test]
        fn arbitrary_entries_never_panic(id in ".{0,80}", code in ".{0,8}", kind in prop::sample::select(vec!["sms_status", "", "x"])) {
            let body = form("data[]", &[format!("{kind}\n{id}\n{code}\n1")]);
            // A form is never refused for what one entry holds; every item it gives is queueable.
            let items = parse_smsru_callback(&body);
            prop_assert!(items.is_ok(), "{items:?}");
            for item in items.unwrap() {
                if let SmsCallbackItem::Status(update) = &item {
                    prop_assert!(update.to_inbound().is_ok());
                }
                let _ = item.to_inbound();
            }
        }
    }
}
