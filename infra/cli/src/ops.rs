//! The operator's questions, answered from the stack itself: "what happened to order 1234?"
//! (`otklik survey show`) and "what is in the dead-letter queues?" (`otklik dlq list`, then
//! `otklik dlq redrive <queue>` once the cause is fixed). The same code reads the local stack and
//! AWS: it only needs the stack's name and an endpoint, as every function does.

use otklik_aws::queue::SqsQueue;
use otklik_aws::resources::{Names, QueueDef, QUEUES};
use otklik_aws::store::DynamoStore;
use otklik_core::machine::{Command, Survey};
use otklik_core::model::{OrderRef, SurveyId};
use otklik_core::ports::{PortError, SurveyStore};

/// What went wrong, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("--order takes <site>/<order id>, e.g. main-shop/1234 (got {0:?})")]
    BadOrder(String),
    #[error("no survey for order {0}: not completed yet, not surveyed (see the intake rules), or older than the 400 days we keep")]
    NoSurvey(String),
    #[error("no queue named {0:?}; the queues are: {1}")]
    NoQueue(String, String),
    #[error("the stack's table or queues cannot be read: {0}")]
    Store(#[from] PortError),
}

/// `<site>/<id>` → the survey's id.
pub fn survey_id_of(order: &str) -> Result<SurveyId, OpsError> {
    let bad = || OpsError::BadOrder(order.to_string());
    let (site, id) = order.rsplit_once('/').ok_or_else(bad)?;
    let id: u64 = id.trim().parse().map_err(|_| bad())?;
    let order = OrderRef::new(site.trim(), id).map_err(|_| bad())?;
    Ok(SurveyId::for_order(&order))
}

/// `otklik survey show --order <site>/<id>`: the survey as an operator needs it, contact masked.
pub async fn survey_show(store: &DynamoStore, order: &str) -> Result<String, OpsError> {
    let id = survey_id_of(order)?;
    let survey = store
        .get(&id)
        .await?
        .ok_or_else(|| OpsError::NoSurvey(order.to_string()))?;
    Ok(render_survey(&survey))
}

/// The survey as text: where it stands, how it was asked, what it was told, what it did, and
/// what is still to do. Numbers and addresses are masked, also inside provider ids.
pub fn render_survey(s: &Survey) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "—".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<16} {v}\n"));
    line("survey", s.id.to_string());
    line("order", format!("{}/{}", s.order.site(), s.order.id()));
    line(
        "state",
        serde_json::to_value(&s.state).map_or_else(|_| "?".into(), words_of_value),
    );
    line(
        "contact",
        list(
            s.contact
                .phone
                .iter()
                .map(|p| p.masked())
                .chain(s.contact.email.iter().map(|e| e.masked()))
                .collect(),
        ),
    );
    line(
        "employees",
        list(s.employees.iter().map(|e| e.get().to_string()).collect()),
    );
    line("created", time(Some(s.created_at)));
    line("due", time(Some(s.send_at)));
    line(
        "chain",
        list(s.chain.iter().map(|c| c.to_string()).collect()),
    );
    line(
        "asked on",
        list(s.asked.iter().map(|c| c.to_string()).collect()),
    );
    line("first sent", time(s.sent_at));
    line(
        "reminder",
        s.reminder.map_or_else(
            || "—".to_string(),
            |r| format!("{} at {}", r.channel, time(Some(r.sent_at))),
        ),
    );
    line(
        "rating",
        s.rating.map_or_else(
            || "—".to_string(),
            |r| format!("{} at {}", r.value(), time(s.rated_at)),
        ),
    );
    line(
        "last answer",
        match (s.replied_at, s.replied_via) {
            (Some(at), Some(via)) => format!("{} on {via}", time(Some(at))),
            (Some(at), None) => time(Some(at)),
            _ => "—".to_string(),
        },
    );
    line("closed", time(s.closed_at));
    out.push_str("  inputs applied, oldest first:\n");
    if s.seen_inputs.is_empty() {
        out.push_str("    —\n");
    }
    for i in &s.seen_inputs {
        out.push_str(&format!("    {}\n", mask_digits(i.as_str())));
    }
    out.push_str("  effects done:\n");
    if s.done.is_empty() {
        out.push_str("    —\n");
    }
    for k in &s.done {
        out.push_str(&format!("    {}\n", mask_digits(k)));
    }
    out.push_str("  effects still to deliver (sent on the survey's next touch):\n");
    if s.pending.is_empty() {
        out.push_str("    —\n");
    }
    for e in &s.pending {
        out.push_str(&format!(
            "    {} ({})\n",
            command_name(&e.command),
            mask_digits(&e.key)
        ));
    }
    out
}

/// The command's tag (`write_rating`, `create_complaint`…), never its contents (words, numbers).
fn command_name(c: &Command) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| {
            v.get("command")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}

/// A serialized enum value as words: `"sent"` → sent, `{"closed":{"outcome":"rated"}}` →
/// closed (outcome: rated).
fn words_of_value(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.replace('_', " "),
        serde_json::Value::Object(mut m) if m.contains_key("state") => {
            let state = words_of_value(m.remove("state").expect("checked"));
            if m.is_empty() {
                state
            } else {
                format!("{state} ({})", words_of_value(serde_json::Value::Object(m)))
            }
        }
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::Object(inner) => format!(
                    "{} ({})",
                    k.replace('_', " "),
                    inner
                        .into_iter()
                        .map(|(ik, iv)| format!("{ik}: {}", words_of_value(iv)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => format!("{}: {}", k.replace('_', " "), words_of_value(other)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Runs of 7 or more digits (a phone number inside a provider's id, `79001234567@c.us`) keep
/// their last two: ids stay recognisable, numbers do not.
pub fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 7 {
            out.push_str(&"•".repeat(run.len() - 2));
            out.push_str(&run[run.len() - 2..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One dead letter as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub queue: &'static str,
    /// How often the function was handed it before it was parked.
    pub receives: u32,
    /// When it was first queued (UTC), if SQS says.
    pub queued_at: Option<String>,
    /// What it is about, from its body: the survey and the effects' commands, or the kind of
    /// webhook item; never a customer's words or number.
    pub about: String,
}

/// Every queue by the name an operator types (`crm-writes`, `inbound`…).
pub fn queue_named(name: &str) -> Result<&'static QueueDef, OpsError> {
    QUEUES.iter().find(|q| q.suffix == name).ok_or_else(|| {
        OpsError::NoQueue(
            name.to_string(),
            QUEUES
                .iter()
                .map(|q| q.suffix)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })
}

/// `otklik dlq list`: what rests in every dead-letter queue. The messages are looked at, not
/// taken: each becomes visible again at once (a zero visibility timeout), so a redrive or
/// another look finds them all.
pub async fn dlq_list(
    sqs: &aws_sdk_sqs::Client,
    names: &Names,
) -> Result<Vec<DeadLetter>, OpsError> {
    let mut out = Vec::new();
    for q in QUEUES {
        let dlq = SqsQueue::connect_named(sqs.clone(), &names.dlq(q)).await?;
        let mut seen = std::collections::BTreeSet::new();
        // A few rounds: SQS hands out at most 10 at a time, and not always all it holds.
        for _ in 0..20 {
            let batch = sqs
                .receive_message()
                .queue_url(dlq.url())
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| {
                    PortError::Transient(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                })?;
            let messages = batch.messages();
            if messages.is_empty() {
                break;
            }
            let mut new = 0;
            for m in messages {
                let id = m.message_id().unwrap_or_default().to_string();
                if !seen.insert(id) {
                    continue;
                }
                new += 1;
                let attr = |k: aws_sdk_sqs::types::MessageSystemAttributeName| {
                    m.attributes().and_then(|a| a.get(&k)).cloned()
                };
                use aws_sdk_sqs::types::MessageSystemAttributeName as A;
                out.push(DeadLetter {
                    queue: q.suffix,
                    // A look counts as a receive too; the count SQS had before it is one less.
                    receives: attr(A::ApproximateReceiveCount)
                        .and_then(|n| n.parse::<u32>().ok())
                        .map_or(0, |n| n.saturating_sub(1)),
                    queued_at: attr(A::SentTimestamp)
                        .and_then(|ms| ms.parse::<i64>().ok())
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                    about: about(m.body().unwrap_or_default()),
                });
            }
            if new == 0 {
                break;
            }
        }
    }
    Ok(out)
}

/// What a queued body is about, without its contents.
fn about(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return "a body that is not JSON (kept as it came)".into();
    };
    if let Some(survey) = v.get("surveyId").and_then(|s| s.as_str()) {
        let mut commands: Vec<String> = Vec::new();
        for e in std::iter::once(v.get("effect")).chain(
            v.get("also")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .map(Some),
        ) {
            if let Some(c) = e
                .and_then(|e| e.get("command"))
                .and_then(|c| c.get("command"))
                .and_then(|c| c.as_str())
            {
                commands.push(c.to_string());
            }
        }
        return format!("survey {survey}: {}", commands.join(", "));
    }
    if let (Some(site), Some(id)) = (
        v.get("site").and_then(|s| s.as_str()),
        v.get("orderId").and_then(|i| i.as_u64()),
    ) {
        return format!("order {site}/{id} (intake)");
    }
    for key in ["survey_id", "survey", "surveyId"] {
        if let Some(s) = v.get(key).and_then(|s| s.as_str()) {
            return format!("survey {s}");
        }
    }
    if let Some(kind) = v
        .as_object()
        .and_then(|o| o.get("kind").or_else(|| o.get("type")))
    {
        return format!("a {} item", kind.as_str().unwrap_or("webhook"));
    }
    match v.as_object() {
        Some(o) if o.len() == 1 => format!("a {} item", o.keys().next().expect("one key")),
        _ => "a message of a shape this command does not name".into(),
    }
}

/// `otklik dlq redrive <queue>`: every dead letter of `queue` back onto it (after the cause is
/// fixed). Sent before it is deleted, so a crash mid-way duplicates, never loses — and every
/// consumer takes a duplicate once.
pub async fn dlq_redrive(
    sqs: &aws_sdk_sqs::Client,
    names: &Names,
    queue: &str,
) -> Result<usize, OpsError> {
    let q = queue_named(queue)?;
    let main = SqsQueue::connect_named(sqs.clone(), &names.queue(q)).await?;
    let dlq = SqsQueue::connect_named(sqs.clone(), &names.dlq(q)).await?;
    Ok(main.redrive_from(&dlq).await?)
}

/// A store for `names`, for [`survey_show`].
pub fn store(dynamodb: &aws_sdk_dynamodb::Client, names: &Names) -> DynamoStore {
    DynamoStore::new(dynamodb.clone(), names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_ids_are_masked_and_short_digits_kept() {
        assert_eq!(
            mask_digits("whatsapp:79001234567@c.us/BAE5 link-rate-4"),
            "whatsapp:•••••••••67@c.us/BAE5 link-rate-4"
        );
        assert_eq!(mask_digits("s-main-1234"), "s-main-1234");
    }

    #[test]
    fn an_order_is_named_site_slash_id() {
        assert!(survey_id_of("main-shop/1234").is_ok());
        for bad in ["1234", "main-shop/", "main-shop/x", "/12"] {
            assert!(
                matches!(survey_id_of(bad), Err(OpsError::BadOrder(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_dead_letter_says_what_it_is_about_without_its_contents() {
        let body = r#"{"surveyId":"s-main-7","effect":{"key":"k1","command":{"command":"save_words","text":"секрет"}},"also":[{"key":"k2","command":{"command":"write_rating","rating":2}}]}"#;
        let a = about(body);
        assert_eq!(a, "survey s-main-7: save_words, write_rating");
        assert!(!a.contains("секрет"));
        assert_eq!(
            about("not json"),
            "a body that is not JSON (kept as it came)"
        );
    }
}
