//! SMS.ru: `/sms/send` and `/sms/status` answering as SMS.ru does (JSON with `json=1`, its plain
//! lines otherwise), a record of every SMS (the customer's inbox), and delivery status callbacks
//! posted as SMS.ru posts them: a form of `data[N]` entries `sms_status\n<id>\n<code>\n<unix time>`
//! plus `hash`, acknowledged only by the answer `100`.
//!
//! Built to sms.ru/api/send (request and answer, per-number `sms` entries, code 207's text),
//! sms.ru/api/status (status codes and texts) and sms.ru/api/callback (the `data[]` form, the
//! `hash` = sha256(api_id + entries joined), "answer 100 or it is sent again").

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{self, Answer, Delivered, Provider, SimError, SmsBook, SmsRecord};
use crate::sim::{times, Sim};
use crate::webhook::{Auth, Target};

/// The balance every answer reports: the simulator does not charge.
const BALANCE: f64 = 1000.0;
/// What one segment costs in `/sms/status` answers (roubles).
const SEGMENT_COST: f64 = 3.5;
/// SMS.ru refuses a text longer than this many segments (code 205).
const MAX_SEGMENTS: u32 = 8;

/// Delivery status codes a callback or `/sms/status` can carry, with SMS.ru's texts.
const STATUS_TEXTS: [(i32, &str); 11] = [
    (100, "Сообщение находится в нашей очереди"),
    (101, "Сообщение передается оператору"),
    (102, "Сообщение отправлено (в пути)"),
    (103, "Сообщение доставлено"),
    (104, "Не может быть доставлено: время жизни истекло"),
    (105, "Не может быть доставлено: удалено оператором"),
    (106, "Не может быть доставлено: сбой в телефоне"),
    (107, "Не может быть доставлено: неизвестная причина"),
    (108, "Не может быть доставлено: отклонено"),
    (110, "Сообщение прочитано"),
    (
        150,
        "Не может быть доставлено: не найден маршрут на данный номер",
    ),
];

/// Codes that end a message's life without delivery.
pub const FAILURE_CODES: [i32; 6] = [104, 105, 106, 107, 108, 150];

fn status_text(code: i32) -> &'static str {
    STATUS_TEXTS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("Сообщение не найдено", |(_, t)| t)
}

/// The request's fields, query first then the form body (SMS.ru takes either, GET or POST).
fn fields(query: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    fields.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default());
    fields
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    // The last one wins, so a form field overrides the same name in the query.
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An answer in the format asked for: JSON with `json=1`, else SMS.ru's plain lines.
fn answer(json: bool, value: Value, plain: String) -> Response {
    if json {
        axum::Json(value).into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], plain).into_response()
    }
}

/// A refusal of the whole request: still HTTP 200, as SMS.ru answers.
fn refusal(json: bool, code: i32, text: &str) -> Response {
    answer(
        json,
        json!({ "status": "ERROR", "status_code": code, "status_text": text }),
        code.to_string(),
    )
}

/// Segments a text takes: GSM 7-bit when every character is in the GSM alphabet (160 alone,
/// 153 per part once split; the extension characters count twice), UCS-2 otherwise (70 alone,
/// 67 per part).
pub fn segments(text: &str) -> u32 {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{c}";
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if BASIC.contains(c) {
            septets += 1;
        } else if EXTENSION.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (units, single, part) = if gsm {
        (septets, 160, 153)
    } else {
        // UCS-2 counts UTF-16 units: an emoji takes two.
        (text.encode_utf16().count(), 70, 67)
    };
    if units <= single {
        1
    } else {
        units.div_ceil(part) as u32
    }
}

/// Every `http://` or `https://` link in a text, in order.
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace())
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| {
            w.trim_end_matches(['.', ',', ')', '!', '?', ';', ':'])
                .to_owned()
        })
        .collect()
}

/// `/sms/send`: one text to the numbers in `to` (comma-separated), or `to[number]=text` /
/// `multi[number]=text` for a text per number.
pub(crate) async fn send(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let fields = fields(query.as_deref(), &body);
    let json = field(&fields, "json") == Some("1");
    let config = sim.config();
    if field(&fields, "api_id") != Some(config.smsru_api_id.as_str()) {
        sim.count_unauthorized();
        return refusal(json, 200, "Неправильный api_id");
    }
    let test = field(&fields, "test") == Some("1");
    let from = field(&fields, "from").filter(|f| !f.is_empty());

    // (number as given, text)
    let mut targets: Vec<(String, String)> = Vec::new();
    for (key, value) in &fields {
        let per_number = key
            .strip_prefix("to[")
            .or_else(|| key.strip_prefix("multi["))
            .and_then(|k| k.strip_suffix(']'));
        if let Some(number) = per_number {
            targets.push((number.to_owned(), value.clone()));
        }
    }
    if targets.is_empty() {
        let msg = field(&fields, "msg").unwrap_or("");
        if msg.trim().is_empty() {
            sim.count_bad_request();
            return refusal(json, 203, "Нет текста сообщения");
        }
        let to = field(&fields, "to").unwrap_or("");
        targets = to
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| (n.to_owned(), msg.to_owned()))
            .collect();
    }
    if targets.is_empty() {
        sim.count_bad_request();
        return refusal(
            json,
            202,
            "Неправильно указан номер телефона получателя, либо на него нет маршрута",
        );
    }
    if targets.len() > 100 {
        sim.count_bad_request();
        return refusal(
            json,
            207,
            "На этот номер (или один из номеров) нельзя отправлять сообщения, либо указано более 100 номеров в списке получателей",
        );
    }
    if targets
        .iter()
        .any(|(_, text)| segments(text) > MAX_SEGMENTS)
    {
        sim.count_bad_request();
        return refusal(json, 205, "Сообщение слишком длинное (превышает 8 СМС)");
    }

    let mut per_number = Map::new();
    let mut plain = vec!["100".to_owned()];
    for (given, text) in targets {
        let digits = model::digits(&given);
        let well_formed = given
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
            && (10..=15).contains(&digits.len());
        let key = if digits.is_empty() {
            given.clone()
        } else {
            digits.clone()
        };
        let refused = |code: i32, text: &str| json!({ "status": "ERROR", "status_code": code, "status_text": text });
        let entry = if !well_formed {
            refused(
                202,
                "Неправильно указан номер телефона получателя, либо на него нет маршрута",
            )
        } else if sim.sms_numbers().refused(&digits) {
            refused(
                207,
                "На этот номер (или один из номеров) нельзя отправлять сообщения, либо указано более 100 номеров в списке получателей",
            )
        } else if from.is_some_and(|f| {
            !config.smsru_senders.is_empty() && !config.smsru_senders.iter().any(|s| s == f)
        }) {
            refused(204, "Имя отправителя не согласовано с администрацией")
        } else {
            let id = sim.record_sms(&digits, &text, from, test);
            json!({ "status": "OK", "status_code": 100, "sms_id": id })
        };
        plain.push(match entry.get("sms_id") {
            Some(Value::String(id)) => id.clone(),
            _ => entry["status_code"].to_string(),
        });
        per_number.insert(key, entry);
    }
    plain.push(format!("balance={BALANCE:.2}"));
    answer(
        json,
        json!({ "status": "OK", "status_code": 100, "sms": per_number, "balance": BALANCE }),
        plain.join("\n"),
    )
}

/// `/sms/status`: the latest status of each id in `sms_id` (comma-separated).
pub(crate) async fn status(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let fields = fields(query.as_deref(), &body);
    let json = field(&fields, "json") == Some("1");
    if field(&fields, "api_id") != Some(sim.config().smsru_api_id.as_str()) {
        sim.count_unauthorized();
        return refusal(json, 200, "Неправильный api_id");
    }
    let ids: Vec<&str> = field(&fields, "sms_id")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    let records = sim.sms();
    let mut per_id = Map::new();
    let mut plain = vec!["100".to_owned()];
    for id in ids {
        // A test=1 SMS never left SMS.ru: it has no status to tell.
        let entry = match records.iter().find(|r| r.sms_id == id && !r.test) {
            Some(r) => json!({
                "status": "OK",
                "status_code": r.status_code,
                "cost": f64::from(r.segments) * SEGMENT_COST,
                "status_text": status_text(r.status_code),
            }),
            None => json!({
                "status": "ERROR",
                "status_code": -1,
                "status_text": "Сообщение не найдено",
            }),
        };
        plain.push(entry["status_code"].to_string());
        per_id.insert(id.to_owned(), entry);
    }
    answer(
        json,
        json!({ "status": "OK", "status_code": 100, "sms": per_id, "balance": BALANCE }),
        plain.join("\n"),
    )
}

/// The form body of one callback and its `hash`: SMS.ru signs with sha256 over the `api_id`
/// followed by every `data` entry in order.
pub fn callback_body(api_id: &str, entries: &[String]) -> String {
    let mut digest = Sha256::new();
    digest.update(api_id.as_bytes());
    for entry in entries {
        digest.update(entry.as_bytes());
    }
    let hash: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut form: Vec<(String, String)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("data[{i}]"), e.clone()))
        .collect();
    form.push(("hash".into(), hash));
    serde_urlencoded::to_string(form).unwrap_or_default()
}

/// One `data` entry of a status callback.
fn status_entry(sms_id: &str, code: i32) -> String {
    format!("sms_status\n{sms_id}\n{code}\n{}", Utc::now().timestamp())
}

/// SMS.ru takes only the answer `100` as received; anything else is sent again.
fn answered_100(answer: &Answer) -> bool {
    answer.status.is_some_and(|s| (200..300).contains(&s)) && answer.body.trim() == "100"
}

impl Sim {
    /// Every SMS accepted, oldest first, `test=1` ones included.
    pub fn sms(&self) -> Vec<SmsRecord> {
        self.lock().sms.clone()
    }

    /// What the customer's phone received: the SMS to `phone` that were really sent (not
    /// `test=1`), oldest first, with their links.
    pub fn sms_inbox(&self, phone: &str) -> Vec<SmsRecord> {
        let phone = model::digits(phone);
        self.lock()
            .sms
            .iter()
            .filter(|r| !r.test && r.to == phone)
            .cloned()
            .collect()
    }

    pub fn clear_sms(&self) {
        self.lock().sms.clear();
    }

    pub fn sms_numbers(&self) -> SmsBook {
        self.lock().sms_numbers.clone()
    }

    /// Replaces the book of numbers SMS cannot reach.
    pub fn set_sms_numbers(&self, book: SmsBook) -> Result<(), SimError> {
        if !FAILURE_CODES.contains(&book.fail_code) {
            return Err(SimError::bad(format!(
                "failCode must be one of {FAILURE_CODES:?} (codes of an SMS that was not delivered)"
            )));
        }
        self.lock().sms_numbers = book;
        Ok(())
    }

    /// Where SMS.ru callbacks go (`""`: nowhere).
    pub fn set_smsru_callback(&self, url: &str) -> Result<(), SimError> {
        self.update_config(crate::ConfigPatch {
            smsru_callback_url: Some(url.to_owned()),
            ..Default::default()
        })
        .map(drop)
    }

    /// Records an accepted SMS and, unless it is a test or automatic statuses are off, plays
    /// its delivery: "on its way" (102), then delivered (103) or the book's failure code.
    fn record_sms(&self, to: &str, text: &str, from: Option<&str>, test: bool) -> String {
        let (id, auto, delay, reverse, final_code) = {
            let mut st = self.lock();
            let id = format!("000000-{}", st.sms_seq);
            st.sms_seq += 1;
            st.stats.sms_sends += 1;
            st.sms.push(SmsRecord {
                sms_id: id.clone(),
                to: to.to_owned(),
                text: text.to_owned(),
                from: from.map(str::to_owned),
                test,
                segments: segments(text),
                status_code: 100,
                links: links(text),
                at: Utc::now(),
            });
            let final_code = if st.sms_numbers.undeliverable(to) {
                st.sms_numbers.fail_code
            } else {
                103
            };
            (
                id,
                st.config.auto_statuses && !test,
                Duration::from_millis(st.config.status_delay_ms),
                st.config.reverse_statuses,
                final_code,
            )
        };
        // Ids only: the simulator's logs collect no phone numbers or texts either.
        tracing::info!(id = %id, test, "sms accepted");
        if !auto {
            return id;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime: SMS statuses not sent");
            return id;
        };
        self.begin_pending();
        let sim = self.clone();
        let sms_id = id.clone();
        rt.spawn(async move {
            tokio::time::sleep(delay).await;
            let mut codes = vec![102, final_code];
            if reverse {
                codes.reverse();
            }
            for code in codes {
                let times = sim.config().duplicate_statuses;
                if let Err(e) = sim.sms_status(&sms_id, code, Some(times)).await {
                    tracing::debug!(error = %e, "automatic SMS status not sent");
                }
            }
            sim.end_pending();
        });
        id
    }

    /// Sets an SMS's status and posts SMS.ru's callback for it `times` times (default once).
    /// The status is kept even when no callback URL is set (then the error says so).
    pub async fn sms_status(
        &self,
        sms_id: &str,
        code: i32,
        times_requested: Option<u32>,
    ) -> Result<Delivered, SimError> {
        let times = times(times_requested)?;
        if !STATUS_TEXTS.iter().any(|(c, _)| *c == code) {
            return Err(SimError::bad(format!(
                "statusCode must be an SMS.ru status code (100–110, 150); got {code}"
            )));
        }
        {
            let mut st = self.lock();
            let record = st
                .sms
                .iter_mut()
                .find(|r| r.sms_id == sms_id)
                .ok_or_else(|| SimError::bad(format!("no SMS {sms_id:?} was sent")))?;
            if record.test {
                return Err(SimError::bad(
                    "a test=1 SMS is never sent, so SMS.ru reports nothing for it",
                ));
            }
            record.status_code = code;
        }
        let config = self.config();
        let Some(url) = config.smsru_callback_url.clone() else {
            self.lock().stats.webhooks.skipped += u64::from(times);
            return Err(SimError::NoWebhook(Provider::SmsRu.as_str()));
        };
        let body = callback_body(&config.smsru_api_id, &[status_entry(sms_id, code)]);
        let target = Target {
            url,
            auth: Auth::None,
            content_type: "application/x-www-form-urlencoded",
            acknowledged: answered_100,
        };
        let answers = self
            .post_repeatedly(
                Provider::SmsRu,
                "status",
                sms_id,
                Some(&code.to_string()),
                &target,
                body.as_bytes(),
                times,
            )
            .await?;
        Ok(Delivered {
            message_id: sms_id.to_owned(),
            answers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_gsm_and_ucs2_rules() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // Extension characters take two septets.
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"я".repeat(70)), 1);
        assert_eq!(segments(&"я".repeat(71)), 2);
        assert_eq!(segments(&"я".repeat(134)), 2);
        assert_eq!(segments(&"я".repeat(135)), 3);
        // One Cyrillic letter turns the whole text into UCS-2.
        assert_eq!(segments(&format!("{}я", "a".repeat(69))), 1);
        assert_eq!(segments(&format!("{}я", "a".repeat(70))), 2);
    }

    #[test]
    fn links_are_found_without_trailing_punctuation() {
        assert_eq!(
            links("Оцените заказ: https://ex.ru/s/AbC123xyz0. Спасибо! http://a.b/c"),
            vec!["https://ex.ru/s/AbC123xyz0", "http://a.b/c"]
        );
        assert!(links("без ссылки").is_empty());
    }

    #[test]
    fn the_callback_form_carries_numbered_entries_and_the_hash() {
        let entries = vec!["sms_status\n000000-1\n103\n1700000000".to_owned()];
        let body = callback_body("key", &entries);
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        assert_eq!(form[0], ("data[0]".into(), entries[0].clone()));
        assert_eq!(form[1].0, "hash");
        let expected: String = Sha256::digest(format!("key{}", entries[0]).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(form[1].1, expected);
    }
}
