//! The customer's words and the employees' KPI credits, as the CRM writer keeps them.

use super::*;

/// One KPI credit: an employee who worked an order that was rated (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub employee: u64,
    pub survey: SurveyId,
    pub rating: u8,
    pub rated_at: DateTime<Utc>,
    pub channel: Option<String>,
}

/// The words kept in a `words#` item, oldest first.
fn words_in(item: Option<&HashMap<String, AttributeValue>>) -> Vec<String> {
    item.and_then(|i| i.get("words"))
        .and_then(|w| w.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

pub(super) fn words_pk(survey: &SurveyId) -> String {
    format!("words#{survey}")
}

fn credit_pk(at: DateTime<Utc>) -> String {
    format!("credits#{}", at.format("%Y-%m"))
}

/// The customer's words and the employees' credits, as the CRM writer keeps them.
impl DynamoStore {
    /// Adds the words of effect `key` to the survey's collected words (once per key) and returns
    /// all of them, oldest first: the order's field always shows everything the customer wrote.
    /// Each message is kept cut to `MAX_KEPT_MESSAGE_CHARS`, and at most `MAX_KEPT_MESSAGES` are
    /// kept, the oldest making room (core's `crm_texts`): the item never reaches DynamoDB's size
    /// limit, where every later write would fail.
    pub async fn append_words(
        &self,
        survey: &SurveyId,
        key: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<String>> {
        use otklik_core::crm_texts::{kept_message, MAX_KEPT_MESSAGES};
        let text = kept_message(text);
        // The effect's key names the provider's message (the customer's number inside): the item
        // remembers it hashed, like the effect's own marker.
        let hashed = self.hasher()?.effect_key(key);
        let key = hashed.as_str();
        let expires = n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(words_pk(survey)))
            .key(attr::SK, s("words"))
            .update_expression(
                "SET #w = list_append(if_not_exists(#w, :empty), :new), #exp = :exp ADD #k :key",
            )
            .condition_expression(
                "(attribute_not_exists(#k) OR NOT contains(#k, :k)) \
                 AND (attribute_not_exists(#w) OR size(#w) < :max)",
            )
            .expression_attribute_names("#w", "words")
            .expression_attribute_names("#k", "keys")
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":new", AttributeValue::L(vec![s(&text)]))
            .expression_attribute_values(":key", AttributeValue::Ss(vec![key.to_string()]))
            .expression_attribute_values(":k", s(key))
            .expression_attribute_values(":max", n(MAX_KEPT_MESSAGES))
            .expression_attribute_values(":exp", expires.clone())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                // Added before (a redelivery), or the list is full: read what is there.
                let item = self.get_item(format!("words#{survey}"), "words").await?;
                let added = item
                    .as_ref()
                    .and_then(|i| i.get("keys"))
                    .and_then(|k| k.as_ss().ok())
                    .is_some_and(|keys| keys.iter().any(|k| k == key));
                if added {
                    item
                } else {
                    self.append_to_full_words(survey, key, text, item, expires)
                        .await?
                }
            }
            Err(e) => return Err(port_error(e)),
        };
        Ok(words_in(item.as_ref()))
    }

    /// The survey's collected words as they are now, oldest first (a consistent read): what a
    /// writer that has just written them to the order checks, so the order is left with the
    /// latest list when another writer appended meanwhile.
    pub async fn words(&self, survey: &SurveyId) -> PortResult<Vec<String>> {
        let item = self.get_item(words_pk(survey), "words").await?;
        Ok(words_in(item.as_ref()))
    }

    /// [`Self::append_words`] on a full list: the oldest message makes room. Written only if
    /// nobody changed the list since it was read (its length and the key's absence); a writer
    /// that lost the race reads and decides again through the queue's redelivery.
    async fn append_to_full_words(
        &self,
        survey: &SurveyId,
        key: &str,
        text: String,
        item: Option<HashMap<String, AttributeValue>>,
        expires: AttributeValue,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        let old = item
            .as_ref()
            .and_then(|i| i.get("words"))
            .and_then(|w| w.as_l().ok())
            .cloned()
            .unwrap_or_default();
        let len = old.len();
        let keep = otklik_core::crm_texts::MAX_KEPT_MESSAGES.saturating_sub(1);
        let mut words: Vec<AttributeValue> =
            old.into_iter().skip(len.saturating_sub(keep)).collect();
        words.push(s(&text));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("words#{survey}")))
            .key(attr::SK, s("words"))
            .update_expression("SET #w = :words, #exp = :exp ADD #k :key")
            .condition_expression("size(#w) = :len AND NOT contains(#k, :k)")
            .expression_attribute_names("#w", "words")
            .expression_attribute_names("#k", "keys")
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":words", AttributeValue::L(words))
            .expression_attribute_values(":key", AttributeValue::Ss(vec![key.to_string()]))
            .expression_attribute_values(":k", s(key))
            .expression_attribute_values(":len", n(len))
            .expression_attribute_values(":exp", expires)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception())
                {
                    PortError::Conflict(format!("words of {survey} changed while full"))
                } else {
                    port_error(e)
                }
            })?;
        Ok(out.attributes)
    }

    /// The customer's words kept for a survey so far, oldest first.
    pub async fn words_of(&self, survey: &SurveyId) -> PortResult<Vec<String>> {
        let item = self.get_item(format!("words#{survey}"), "words").await?;
        Ok(words_in(item.as_ref()))
    }

    /// The words of many surveys at once, in batched reads (eventually consistent: for reports
    /// and pages); a survey without words is left out.
    pub async fn words_of_many(
        &self,
        surveys: &[SurveyId],
    ) -> PortResult<HashMap<String, Vec<String>>> {
        let keys = surveys
            .iter()
            .map(|id| (words_pk(id), "words".to_string()))
            .collect();
        let mut out = HashMap::new();
        for item in self.get_many(keys).await? {
            let Some(id) = item
                .get(attr::PK)
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("words#"))
            else {
                continue;
            };
            out.insert(id.to_string(), words_in(Some(&item)));
        }
        Ok(out)
    }

    /// Records one credit; `Ok(false)` if this employee was already credited for this survey.
    pub async fn credit(&self, c: &Credit) -> PortResult<bool> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(credit_pk(c.rated_at)))
            .item(attr::SK, s(format!("{}#{}", c.survey, c.employee)))
            .item("employee", n(c.employee))
            .item("survey", s(c.survey.as_str()))
            .item("rating", n(c.rating))
            .item("rated_at", s(rfc3339(c.rated_at)))
            .item(
                attr::EXPIRES_AT,
                n((c.rated_at + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK);
        if let Some(ch) = &c.channel {
            req = req.item("channel", s(ch));
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    /// Every credit whose rating came in between `from` and `to` (inclusive), by month partition.
    pub async fn credits_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Credit>> {
        let mut out = Vec::new();
        let mut month = from;
        loop {
            let pk = credit_pk(month);
            let mut start: Option<HashMap<String, AttributeValue>> = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", attr::PK)
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(port_error)?;
                for item in page.items() {
                    let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok().or(v.as_n().ok()));
                    let parsed = (|| {
                        Some(Credit {
                            employee: get("employee")?.parse().ok()?,
                            survey: SurveyId::parse(get("survey")?).ok()?,
                            rating: get("rating")?.parse().ok()?,
                            rated_at: DateTime::parse_from_rfc3339(get("rated_at")?)
                                .ok()?
                                .with_timezone(&Utc),
                            channel: get("channel").cloned(),
                        })
                    })();
                    if let Some(c) = parsed.filter(|c| c.rated_at >= from && c.rated_at <= to) {
                        out.push(c);
                    }
                }
                match page.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
            if credit_pk(month) == credit_pk(to) {
                break;
            }
            // The first day of the next month.
            let next =
                month.date_naive().with_day(1).expect("day 1 exists") + chrono::Months::new(1);
            month = next
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc();
            if month > to {
                break;
            }
        }
        Ok(out)
    }
}

/// The employees' names, as retailCRM gives them, for the KPI report (which reads no CRM).
impl DynamoStore {
    /// Remembers an employee's name; kept as long as the credits that name them.
    pub async fn save_employee_name(&self, employee: u64, name: &str) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("employee#{employee}")))
            .item(attr::SK, s("name"))
            .item("name", s(name))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The names we know of these employees (an unknown one is left out).
    pub async fn employee_names(
        &self,
        employees: impl IntoIterator<Item = u64>,
    ) -> PortResult<std::collections::BTreeMap<u64, String>> {
        // One batched read, not one per employee: the dashboard names a dozen people per page.
        let keys: Vec<(String, String)> = employees
            .into_iter()
            .map(|e| (format!("employee#{e}"), "name".to_string()))
            .collect();
        let mut out = std::collections::BTreeMap::new();
        for item in self.get_many(keys).await? {
            let id = item
                .get(attr::PK)
                .and_then(|v| v.as_s().ok())
                .and_then(|pk| pk.strip_prefix("employee#"))
                .and_then(|id| id.parse::<u64>().ok());
            let name = item.get("name").and_then(|v| v.as_s().ok());
            if let (Some(id), Some(name)) = (id, name) {
                out.insert(id, name.clone());
            }
        }
        Ok(out)
    }
}
