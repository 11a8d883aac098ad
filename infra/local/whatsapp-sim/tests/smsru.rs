//! SMS.ru: /sms/send and /sms/status answering as sms.ru/api/send and sms.ru/api/status show,
//! the record of SMS (the customer's inbox), and the delivery callbacks in sms.ru/api/callback's
//! form (`data[N]` = `sms_status\n<id>\n<code>\n<unix time>`, `hash`), retried unless answered 100.

mod common;

use common::*;
use otklik_whatsapp_sim::{SimConfig, SimHandle, SmsBook};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn quiet() -> SimConfig {
    SimConfig {
        auto_statuses: false,
        ..SimConfig::default()
    }
}

/// POSTs a form to `/sms/send` (as SMS.ru's own examples do); the answer as JSON.
async fn send(sim: &SimHandle, form: &[(&str, &str)]) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/sms/send", sim.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    // SMS.ru answers 200 even when it refuses.
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

async fn send_one(sim: &SimHandle, to: &str, msg: &str) -> String {
    let answer = send(
        sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", to),
            ("msg", msg),
            ("from", "Otklik"),
            ("json", "1"),
        ],
    )
    .await;
    answer["sms"][to]["sms_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no sms_id in {answer}"))
        .to_owned()
}

/// The form fields of a callback, in order.
fn form(got: &Received) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&got.body).expect("a form body")
}

/// sha256(api_id + every data entry), computed here rather than with the simulator's code.
fn expected_hash(entries: &[&str]) -> String {
    let mut digest = Sha256::new();
    digest.update(SMSRU_API_ID.as_bytes());
    for e in entries {
        digest.update(e.as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The one `sms_status` entry of a callback, checked against the documented form.
fn status_entry(got: &Received) -> (String, i32) {
    assert_eq!(
        got.header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(got.header("authorization").is_none());
    let fields = form(got);
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0].0, "data[0]");
    assert_eq!(fields[1].0, "hash");
    assert_eq!(fields[1].1, expected_hash(&[&fields[0].1]));
    let lines: Vec<&str> = fields[0].1.split('\n').collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "sms_status");
    let unix: i64 = lines[3].parse().expect("a unix time");
    assert!((unix - chrono::Utc::now().timestamp()).abs() < 60);
    (lines[1].to_owned(), lines[2].parse().unwrap())
}

#[tokio::test]
async fn send_answers_like_sms_ru_and_records_the_sms() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    let text = "Анна, как вам покупка? Оцените: https://otklik.example/s/Ab3dE5gH7k";
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602"),
            ("msg", text),
            ("from", "Otklik"),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["status"], "OK");
    assert_eq!(answer["status_code"], 100);
    assert!(answer["balance"].is_number());
    let entry = &answer["sms"]["79255070602"];
    assert_eq!(entry["status"], "OK");
    assert_eq!(entry["status_code"], 100);
    let id = entry["sms_id"].as_str().unwrap();
    let (left, right) = id.split_once('-').expect("NNNNNN-NNNNNNN");
    assert!(
        left.len() == 6 && left.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert!(right.bytes().all(|b| b.is_ascii_digit()), "{id}");

    let sms = sim.state().sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].sms_id, id);
    assert_eq!(sms[0].to, "79255070602");
    assert_eq!(sms[0].text, text);
    assert_eq!(sms[0].from.as_deref(), Some("Otklik"));
    assert!(!sms[0].test);
    // 67 characters, Cyrillic: one UCS-2 segment (70 at most).
    assert_eq!(sms[0].segments, 1);
    assert_eq!(sms[0].status_code, 100);
    assert_eq!(sms[0].links, vec!["https://otklik.example/s/Ab3dE5gH7k"]);
    assert_eq!(sim.state().stats().sms_sends, 1);
}

#[tokio::test]
async fn refusals_have_sms_ru_codes_and_texts() {
    let hooks = Receiver::start().await;
    let sim = start_with(
        &hooks,
        SimConfig {
            smsru_senders: vec!["Otklik".into()],
            ..quiet()
        },
    )
    .await;
    sim.state()
        .set_sms_numbers(SmsBook {
            refused: vec!["79000000009".into()],
            ..SmsBook::default()
        })
        .unwrap();

    // A wrong api_id refuses the whole request (still HTTP 200).
    let answer = send(
        &sim,
        &[
            ("api_id", "wrong"),
            ("to", "79255070602"),
            ("msg", "x"),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["status"], "ERROR");
    assert_eq!(answer["status_code"], 200);
    assert!(answer["status_text"].is_string());
    assert_eq!(sim.state().stats().unauthorized, 1);

    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602"),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["status"], "ERROR");
    assert_eq!(answer["status_code"], 203, "no text");

    let long = "я".repeat(67 * 8 + 1);
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602"),
            ("msg", &long),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["status_code"], 205, "more than 8 segments");

    // Per-number refusals: the request is OK, the number is not.
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602,7925507,79000000009"),
            ("msg", "x"),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["status"], "OK");
    assert_eq!(answer["status_code"], 100);
    assert_eq!(answer["sms"]["79255070602"]["status"], "OK");
    assert_eq!(answer["sms"]["7925507"]["status"], "ERROR");
    assert_eq!(answer["sms"]["7925507"]["status_code"], 202);
    assert_eq!(answer["sms"]["79000000009"]["status_code"], 207);
    assert_eq!(
        answer["sms"]["79000000009"]["status_text"],
        "На этот номер (или один из номеров) нельзя отправлять сообщения, либо указано более 100 номеров в списке получателей"
    );
    assert!(answer["sms"]["7925507"].get("sms_id").is_none());

    // A sender name the account has not had approved.
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602"),
            ("msg", "x"),
            ("from", "Unknown"),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["sms"]["79255070602"]["status_code"], 204);
    assert_eq!(sim.state().sms().len(), 1, "only the one accepted number");
}

#[tokio::test]
async fn without_json_the_answer_is_sms_ru_plain_lines() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    // SMS.ru's documented GET form works too.
    let (status, body) = get_text(format!(
        "{}/sms/send?api_id={SMSRU_API_ID}&to=79255070602,7925&msg=hello+world",
        sim.url()
    ))
    .await;
    assert_eq!(status, 200);
    let id = &sim.state().sms()[0].sms_id;
    assert_eq!(body, format!("100\n{id}\n202\nbalance=1000.00"));
    let (_, body) = get_text(format!("{}/sms/send?api_id=x&to=1&msg=y", sim.url())).await;
    assert_eq!(body, "200");
}

#[tokio::test]
async fn a_test_sms_is_answered_recorded_and_never_delivered() {
    let mut hooks = Receiver::start().await;
    hooks.answer_with(200, "100");
    let sim = start(&hooks).await;
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            ("to", "79255070602"),
            ("msg", "hello"),
            ("json", "1"),
            ("test", "1"),
        ],
    )
    .await;
    let id = answer["sms"]["79255070602"]["sms_id"].as_str().unwrap();
    sim.state().settle().await;
    hooks.assert_quiet().await;
    let sms = sim.state().sms();
    assert!(sms[0].test);
    assert_eq!(sms[0].status_code, 100);
    assert!(sim.state().sms_inbox("79255070602").is_empty());
    let (_, body) = get_text(format!(
        "{}/sms/status?api_id={SMSRU_API_ID}&sms_id={id}&json=1",
        sim.url()
    ))
    .await;
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["sms"][id]["status_code"], -1, "{status}");
}

#[tokio::test]
async fn delivery_is_reported_by_callback_and_by_sms_status() {
    let mut hooks = Receiver::start().await;
    hooks.answer_with(200, "100");
    let sim = start(&hooks).await;
    let id = send_one(&sim, "79255070602", "Оцените: https://otklik.example/s/x").await;

    for expected in [102, 103] {
        let (got_id, code) = status_entry(&hooks.next().await);
        assert_eq!(got_id, id);
        assert_eq!(code, expected);
    }
    hooks.assert_quiet().await;
    let stats = sim.state().stats();
    assert_eq!(stats.webhooks.delivered, 2);
    assert_eq!(stats.webhooks.failed, 0);

    let (_, body) = get_text(format!(
        "{}/sms/status?api_id={SMSRU_API_ID}&sms_id={id},000000-1&json=1",
        sim.url()
    ))
    .await;
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["status"], "OK");
    assert_eq!(status["status_code"], 100);
    assert_eq!(status["sms"][&id]["status"], "OK");
    assert_eq!(status["sms"][&id]["status_code"], 103);
    assert_eq!(status["sms"][&id]["status_text"], "Сообщение доставлено");
    assert!(status["sms"][&id]["cost"].is_number());
    assert_eq!(status["sms"]["000000-1"]["status"], "ERROR");
    assert_eq!(status["sms"]["000000-1"]["status_code"], -1);

    let (_, body) = get_text(format!(
        "{}/sms/status?api_id=wrong&sms_id={id}&json=1",
        sim.url()
    ))
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status_code"],
        200
    );
}

#[tokio::test]
async fn an_undeliverable_number_gets_its_failure_code() {
    let mut hooks = Receiver::start().await;
    hooks.answer_with(200, "100");
    let sim = start(&hooks).await;
    let client = reqwest::Client::new();
    let resp = client
        .put(format!("{}/sim/sms/numbers", sim.url()))
        .json(&json!({ "undeliverable": ["+7 925 507-06-02"], "failCode": 106 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = send_one(&sim, "79255070602", "x").await;
    assert_eq!(status_entry(&hooks.next().await), (id.clone(), 102));
    assert_eq!(status_entry(&hooks.next().await), (id, 106));
    sim.state().settle().await;
    assert_eq!(sim.state().sms_inbox("79255070602")[0].status_code, 106);

    let resp = client
        .put(format!("{}/sim/sms/numbers", sim.url()))
        .json(&json!({ "failCode": 103 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "103 is not a failure");
}

#[tokio::test]
async fn a_callback_not_answered_100_is_sent_again() {
    let mut hooks = Receiver::start().await;
    // A 200 with another body is not SMS.ru's acknowledgement.
    hooks.answer_with(200, "OK");
    let sim = start_with(
        &hooks,
        SimConfig {
            auto_statuses: false,
            webhook_retries: 2,
            ..SimConfig::default()
        },
    )
    .await;
    let id = send_one(&sim, "79255070602", "x").await;
    let done = sim.state().sms_status(&id, 103, None).await.unwrap();
    assert_eq!(done.answers.len(), 1);
    for _ in 0..3 {
        assert_eq!(status_entry(&hooks.next().await), (id.clone(), 103));
    }
    hooks.assert_quiet().await;
    let stats = sim.state().stats();
    assert_eq!(stats.webhooks.failed, 3);
    assert_eq!(stats.webhooks.delivered, 0);

    hooks.answer_with(200, "100\n");
    sim.state().sms_status(&id, 103, None).await.unwrap();
    status_entry(&hooks.next().await);
    hooks.assert_quiet().await;
    assert_eq!(sim.state().stats().webhooks.delivered, 1);
}

#[tokio::test]
async fn a_status_can_be_posted_by_hand() {
    let mut hooks = Receiver::start().await;
    hooks.answer_with(200, "100");
    let sim = start_with(&hooks, quiet()).await;
    let id = send_one(&sim, "79255070602", "x").await;
    let (status, body) = post_json(
        format!("{}/sim/sms/status", sim.url()),
        json!({ "smsId": id, "statusCode": 107, "times": 2 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let done: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["messageId"], id.as_str());
    assert_eq!(done["answers"][0]["body"], "100");
    for _ in 0..2 {
        assert_eq!(status_entry(&hooks.next().await), (id.clone(), 107));
    }

    for (bad, expected) in [
        (json!({ "smsId": "000000-9", "statusCode": 103 }), 400),
        (json!({ "smsId": id, "statusCode": 999 }), 400),
        (json!({ "smsId": id, "code": 103 }), 400),
    ] {
        let (status, _) = post_json(format!("{}/sim/sms/status", sim.url()), bad.clone()).await;
        assert_eq!(status, expected, "{bad}");
    }
    // Without a callback URL the status is kept and the caller told why nothing was posted.
    sim.state().set_smsru_callback("").unwrap();
    let (status, _) = post_json(
        format!("{}/sim/sms/status", sim.url()),
        json!({ "smsId": id, "statusCode": 103 }),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(sim.state().sms()[0].status_code, 103);
}

#[tokio::test]
async fn the_inbox_shows_what_the_customer_received_with_its_link() {
    let hooks = Receiver::start().await;
    let sim = start_with(&hooks, quiet()).await;
    send_one(
        &sim,
        "79255070602",
        "Первое: https://otklik.example/s/AAAAAAAAAA",
    )
    .await;
    send_one(&sim, "79990000000", "другому").await;
    // A text per number, as `to[number]=text`.
    let answer = send(
        &sim,
        &[
            ("api_id", SMSRU_API_ID),
            (
                "to[79255070602]",
                "Второе: https://otklik.example/s/BBBBBBBBBB",
            ),
            ("json", "1"),
        ],
    )
    .await;
    assert_eq!(answer["sms"]["79255070602"]["status"], "OK", "{answer}");

    let (status, body) = get_text(format!(
        "{}/sim/sms/inbox?phone=%2B7%20925%20507-06-02",
        sim.url()
    ))
    .await;
    assert_eq!(status, 200);
    let inbox: Value = serde_json::from_str(&body).unwrap();
    let inbox = inbox.as_array().unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(
        inbox[0]["links"],
        json!(["https://otklik.example/s/AAAAAAAAAA"])
    );
    assert_eq!(
        inbox[1]["links"],
        json!(["https://otklik.example/s/BBBBBBBBBB"])
    );
    assert_eq!(inbox[0]["from"], "Otklik");
    for key in [
        "smsId",
        "to",
        "text",
        "segments",
        "statusCode",
        "at",
        "test",
    ] {
        assert!(inbox[0].get(key).is_some(), "{key} missing");
    }

    let (_, all) = get_text(format!("{}/sim/sms?to=79990000000", sim.url())).await;
    assert_eq!(
        serde_json::from_str::<Value>(&all)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let resp = reqwest::Client::new()
        .delete(format!("{}/sim/sms", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(sim.state().sms().is_empty());
    let (status, _) = get_text(format!("{}/sim/sms/inbox", sim.url())).await;
    assert_eq!(status, 400, "the inbox is one phone's");
}
