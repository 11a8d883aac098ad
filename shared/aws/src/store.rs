//! The survey store on DynamoDB (one table, see [`crate::resources::MAIN_TABLE`]).
//!
//! A survey is one item: its keys, a few attributes for queries and conditions, and the whole
//! survey as a JSON document. Creation is a conditional put keyed by the survey id (one survey per
//! order, whatever the number of triggers); every later save is conditional on the version the
//! decision was made from, so two concurrent replies cannot both win.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, Utc};
use otklik_core::complaint::ComplaintTrack;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Phone, SurveyId};
use otklik_core::ports::{DoNotContactList, PortError, PortResult, SurveyStore};

use crate::port_error;
use crate::resources::{attr, Names, MAIN_TABLE};

/// How long a survey record is kept after it was created (SPEC §8: keep only what the flow needs).
/// Long enough for a year of KPI reports; opt-outs are kept forever and carry no expiry.
pub const SURVEY_RETENTION_DAYS: i64 = 400;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn survey_pk(id: &SurveyId) -> String {
    format!("survey#{id}")
}

fn phone_key(phone: &Phone) -> String {
    format!("phone#{}", phone.e164())
}

fn dnc_keys(contact: &Contact) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(p) = &contact.phone {
        keys.push(format!("dnc#phone#{}", p.e164()));
    }
    if let Some(e) = &contact.email {
        keys.push(format!("dnc#email#{}", e.as_str().to_lowercase()));
    }
    keys
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, names: &Names) -> Self {
        DynamoStore {
            client,
            table: names.table(&MAIN_TABLE),
        }
    }

    /// One item by key, read consistently (decisions are made from it).
    async fn get_item(
        &self,
        pk: String,
        sk: &str,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .key(attr::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(port_error)?;
        Ok(out.item)
    }

    fn item(survey: &Survey, version: u64) -> PortResult<HashMap<String, AttributeValue>> {
        let mut stored = survey.clone();
        stored.version = version;
        let doc = serde_json::to_string(&stored).map_err(|e| {
            PortError::Permanent(format!("survey {} does not serialize: {e}", survey.id))
        })?;
        let expires = survey.created_at + chrono::Duration::days(SURVEY_RETENTION_DAYS);
        let mut item = HashMap::from([
            (attr::PK.to_string(), s(survey_pk(&survey.id))),
            (attr::SK.to_string(), s("survey")),
            (attr::VERSION.to_string(), n(version)),
            ("state".to_string(), s(survey.state.name())),
            (attr::EXPIRES_AT.to_string(), n(expires.timestamp())),
            (attr::DOC.to_string(), s(doc)),
        ]);
        if let Some(phone) = &survey.contact.phone {
            item.insert(attr::GSI1_PK.to_string(), s(phone_key(phone)));
            item.insert(
                attr::GSI1_SK.to_string(),
                s(format!("{}#{}", rfc3339(survey.created_at), survey.id)),
            );
        }
        Ok(item)
    }

    fn parse(item: &HashMap<String, AttributeValue>) -> PortResult<Survey> {
        let doc = item
            .get(attr::DOC)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| PortError::Permanent("survey item without a document".into()))?;
        serde_json::from_str(doc)
            .map_err(|e| PortError::Permanent(format!("stored survey does not parse: {e}")))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn is_condition_failure<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.is_conditional_check_failed_exception())
}

impl SurveyStore for DynamoStore {
    async fn create(&self, survey: &Survey) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(survey, 1)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn get(&self, id: &SurveyId) -> PortResult<Option<Survey>> {
        let item = self.get_item(survey_pk(id), "survey").await?;
        item.as_ref().map(Self::parse).transpose()
    }

    async fn save(&self, survey: &Survey) -> PortResult<Survey> {
        let next = survey.version + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(survey, next)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", attr::VERSION)
            .expression_attribute_values(":v", n(survey.version))
            .send()
            .await;
        match result {
            Ok(_) => {
                let mut saved = survey.clone();
                saved.version = next;
                Ok(saved)
            }
            Err(e) if is_condition_failure(&e) => Err(PortError::Conflict(format!(
                "survey {} changed since version {}",
                survey.id, survey.version
            ))),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn by_phone(&self, phone: &Phone) -> PortResult<Vec<Survey>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(MAIN_TABLE.indexes[0].0)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", attr::GSI1_PK)
            .expression_attribute_values(":pk", s(phone_key(phone)))
            .scan_index_forward(false)
            .limit(20)
            .send()
            .await
            .map_err(port_error)?;
        out.items().iter().map(Self::parse).collect()
    }
}

impl DoNotContactList for DynamoStore {
    async fn contains(&self, contact: &Contact) -> PortResult<bool> {
        for key in dnc_keys(contact) {
            if self.get_item(key, "dnc").await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Both the phone and the email are listed: an opt-out holds on every channel. No expiry.
    async fn add(&self, contact: &Contact) -> PortResult<()> {
        for key in dnc_keys(contact) {
            self.client
                .put_item()
                .table_name(&self.table)
                .item(attr::PK, s(key))
                .item(attr::SK, s("dnc"))
                .item("since", s(rfc3339(Utc::now())))
                .send()
                .await
                .map_err(port_error)?;
        }
        Ok(())
    }
}

/// The frequency cap, kept per customer: when we last planned to ask them, and for which survey.
impl DynamoStore {
    /// When this customer was last asked (planned send time), if ever.
    pub async fn last_surveyed(
        &self,
        customer_key: &str,
        except: &SurveyId,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let item = self
            .get_item(format!("customer#{customer_key}"), "last-survey")
            .await?;
        // The slot held by `except` itself is no earlier survey: a retry after a crash between
        // the claim and the survey's save must not find the customer "surveyed recently" by the
        // very survey it is creating.
        if item
            .as_ref()
            .and_then(|i| i.get("survey_id"))
            .and_then(|v| v.as_s().ok())
            .is_some_and(|id| id == except.as_str())
        {
            return Ok(None);
        }
        Ok(item
            .as_ref()
            .and_then(|i| i.get("last_send_at"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0)))
    }

    /// Atomically claims the customer's next survey slot for `survey`. Succeeds when the customer
    /// has no earlier survey, when the earlier one is older than the cap, or when the claim is this
    /// same survey's (a duplicate signal must not lose the survey to its own claim). `Ok(false)`:
    /// another survey holds the slot, so this one is within the cap.
    pub async fn claim_customer(
        &self,
        customer_key: &str,
        survey: &SurveyId,
        send_at: DateTime<Utc>,
        cap: std::time::Duration,
    ) -> PortResult<bool> {
        let cap = chrono::Duration::from_std(cap).unwrap_or(chrono::Duration::MAX);
        let threshold = send_at
            .checked_sub_signed(cap)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("customer#{customer_key}")))
            .item(attr::SK, s("last-survey"))
            .item("last_send_at", n(send_at.timestamp()))
            .item("survey_id", s(survey.as_str()))
            .item(
                attr::EXPIRES_AT,
                n((send_at + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .condition_expression(
                "attribute_not_exists(#pk) OR survey_id = :sid OR last_send_at <= :threshold",
            )
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":sid", s(survey.as_str()))
            .expression_attribute_values(":threshold", n(threshold.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    /// Remembers the last intake decision about an order that got no survey record (e.g. a status
    /// that is not surveyed), so "why no survey?" has an answer. Kept 30 days.
    pub async fn note_intake(
        &self,
        order: &otklik_core::model::OrderRef,
        decision: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("intake#{order}")))
            .item(attr::SK, s("last"))
            .item("decision", s(decision))
            .item("status", s(status))
            .item("at", s(rfc3339(at)))
            .item(
                attr::EXPIRES_AT,
                n((at + chrono::Duration::days(30)).timestamp()),
            )
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The last intake note of an order: (decision, status).
    pub async fn intake_note(
        &self,
        order: &otklik_core::model::OrderRef,
    ) -> PortResult<Option<(String, String)>> {
        let item = self.get_item(format!("intake#{order}"), "last").await?;
        Ok(item.map(|i| {
            let get = |k: &str| {
                i.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            (get("decision"), get("status"))
        }))
    }

    /// A named cursor (e.g. the history poller's `sinceId`).
    pub async fn cursor(&self, name: &str) -> PortResult<Option<u64>> {
        let item = self.get_item(format!("cursor#{name}"), "cursor").await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()))
    }

    /// Moves a cursor forward from `from` to `to`; never backwards, and only if nobody else moved it
    /// meanwhile (two overlapping poller runs must not rewind each other).
    pub async fn advance_cursor(&self, name: &str, from: Option<u64>, to: u64) -> PortResult<bool> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("cursor#{name}")))
            .item(attr::SK, s("cursor"))
            .item("value", n(to));
        req = match from {
            None => req
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK),
            Some(v) => req
                .condition_expression("#v = :from")
                .expression_attribute_names("#v", "value")
                .expression_attribute_values(":from", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }
}

/// Send claims and message ids: how dispatch sends at most once, and how a delivery status finds
/// its survey.
impl DynamoStore {
    /// Claims the right to send `survey` on `channel`. Only the first caller ever gets `true`;
    /// every redelivery of the same dispatch message gets `false` and sends nothing.
    pub async fn claim_send(
        &self,
        survey: &SurveyId,
        channel: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("send#{survey}")))
            .item(attr::SK, s(channel))
            .item("at", s(rfc3339(now)))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    /// Whether a send of the survey's question on `channel` was claimed: the question went out,
    /// or a crash left its outcome unknown (and so it is never sent again).
    pub async fn send_claimed(&self, survey: &SurveyId, channel: &str) -> PortResult<bool> {
        Ok(self
            .get_item(format!("send#{survey}"), channel)
            .await?
            .is_some())
    }

    /// Gives a claim back, only when the provider certainly did not take the message.
    pub async fn release_send(&self, survey: &SurveyId, channel: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("send#{survey}")))
            .key(attr::SK, s(channel))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Remembers which survey a provider's message id belongs to.
    pub async fn remember_message(
        &self,
        message_id: &str,
        survey: &SurveyId,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("msg#{message_id}")))
            .item(attr::SK, s("msg"))
            .item("survey_id", s(survey.as_str()))
            .item(
                attr::EXPIRES_AT,
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The survey a provider's message id belongs to.
    pub async fn survey_of_message(&self, message_id: &str) -> PortResult<Option<SurveyId>> {
        let item = self.get_item(format!("msg#{message_id}"), "msg").await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("survey_id"))
            .and_then(|v| v.as_s().ok())
            .and_then(|v| SurveyId::parse(v).ok()))
    }
}

/// Short-lived markers: processed webhooks, landing page views, finished effects.
impl DynamoStore {
    async fn marker_exists(&self, pk: String, sk: &str) -> PortResult<bool> {
        Ok(self.get_item(pk, sk).await?.is_some())
    }

    async fn put_marker(
        &self,
        pk: String,
        sk: &str,
        now: DateTime<Utc>,
        keep: chrono::Duration,
    ) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(pk))
            .item(attr::SK, s(sk))
            .item("at", s(rfc3339(now)))
            .item(attr::EXPIRES_AT, n((now + keep).timestamp()))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// Whether a provider's inbound message or status was fully handled already.
    pub async fn inbound_done(&self, provider_id: &str) -> PortResult<bool> {
        self.marker_exists(format!("inbound#{provider_id}"), "done")
            .await
    }

    /// Marks an inbound message handled, after everything it caused is durable. Providers retry
    /// for about a day; a week of memory covers that with room to spare.
    pub async fn mark_inbound_done(&self, provider_id: &str, now: DateTime<Utc>) -> PortResult<()> {
        self.put_marker(
            format!("inbound#{provider_id}"),
            "done",
            now,
            chrono::Duration::days(7),
        )
        .await
    }

    /// Notes that a landing page of `survey` was served for `rating` at `at` (scanner detection).
    pub async fn record_view(
        &self,
        survey: &SurveyId,
        rating: u8,
        at: DateTime<Utc>,
    ) -> PortResult<()> {
        // The sort key orders views by time; the random tail keeps two views in one millisecond.
        let sk = format!(
            "{:015}#{rating}#{:08x}",
            at.timestamp_millis().max(0),
            fastrand::u32(..)
        );
        self.put_marker(
            format!("views#{survey}"),
            &sk,
            at,
            chrono::Duration::days(2),
        )
        .await
    }

    /// The ratings whose pages were served for `survey` between `from` and `to`.
    pub async fn views_between(
        &self,
        survey: &SurveyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<(DateTime<Utc>, u8)>> {
        let lo = format!("{:015}", from.timestamp_millis().max(0));
        // '~' sorts after every character a key here can hold, so `to` itself is included.
        let hi = format!("{:015}~", to.timestamp_millis().max(0));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_names("#sk", attr::SK)
            .expression_attribute_values(":pk", s(format!("views#{survey}")))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
            .consistent_read(true)
            .limit(100)
            .send()
            .await
            .map_err(port_error)?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| i.get(attr::SK)?.as_s().ok())
            .filter_map(|sk| {
                let mut parts = sk.split('#');
                let millis: i64 = parts.next()?.parse().ok()?;
                let rating: u8 = parts.next()?.parse().ok()?;
                Some((DateTime::from_timestamp_millis(millis)?, rating))
            })
            .collect())
    }

    /// Whether the effect with this idempotency key was carried out already.
    pub async fn effect_done(&self, key: &str) -> PortResult<bool> {
        self.marker_exists(format!("effect#{key}"), "done").await
    }

    /// Records that an effect was carried out, so a redelivered message does nothing.
    pub async fn mark_effect_done(&self, key: &str, now: DateTime<Utc>) -> PortResult<()> {
        self.put_marker(
            format!("effect#{key}"),
            "done",
            now,
            chrono::Duration::days(SURVEY_RETENTION_DAYS),
        )
        .await
    }
}

/// One KPI credit: an employee who worked an order that was rated (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub employee: u64,
    pub survey: SurveyId,
    pub rating: u8,
    pub rated_at: DateTime<Utc>,
    pub channel: Option<String>,
}

fn credit_pk(at: DateTime<Utc>) -> String {
    format!("credits#{}", at.format("%Y-%m"))
}

/// The customer's words and the employees' credits, as the CRM writer keeps them.
impl DynamoStore {
    /// Adds the words of effect `key` to the survey's collected words (once per key) and returns
    /// all of them, oldest first: the order's field always shows everything the customer wrote.
    pub async fn append_words(
        &self,
        survey: &SurveyId,
        key: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<String>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(format!("words#{survey}")))
            .key(attr::SK, s("words"))
            .update_expression(
                "SET #w = list_append(if_not_exists(#w, :empty), :new), #exp = :exp ADD #k :key",
            )
            .condition_expression("attribute_not_exists(#k) OR NOT contains(#k, :k)")
            .expression_attribute_names("#w", "words")
            .expression_attribute_names("#k", "keys")
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":new", AttributeValue::L(vec![s(text)]))
            .expression_attribute_values(":key", AttributeValue::Ss(vec![key.to_string()]))
            .expression_attribute_values(":k", s(key))
            .expression_attribute_values(
                ":exp",
                n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp()),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                // Added before (a redelivery): read what is there.
                self.get_item(format!("words#{survey}"), "words").await?
            }
            Err(e) => return Err(port_error(e)),
        };
        Ok(item
            .as_ref()
            .and_then(|i| i.get("words"))
            .and_then(|w| w.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default())
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

/// Complaints as opened and tracked, for the SLA sweep and the KPI report.
impl DynamoStore {
    /// Records the complaint opened for a survey: its tracking document (version 1), the way back
    /// from the complaint order to the survey (status changes arrive by order id), and an entry in
    /// the open list the SLA sweep walks. Every write is idempotent, so a redelivery is harmless.
    pub async fn record_complaint(
        &self,
        survey: &SurveyId,
        complaint_order_id: u64,
        rating: u8,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let track = ComplaintTrack::new(complaint_order_id, now);
        let expires = n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp());
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(complaint_pk(survey)))
            .item(attr::SK, s("complaint"))
            .item("order_id", n(complaint_order_id))
            .item("rating", n(rating))
            .item("opened_at", s(rfc3339(now)))
            .item(attr::VERSION, n(1))
            .item(attr::DOC, s(track_doc(&track)?))
            .item(attr::EXPIRES_AT, expires.clone())
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(port_error(e)),
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(format!("complaint-order#{complaint_order_id}")))
            .item(attr::SK, s("complaint-order"))
            .item("survey", s(survey.as_str()))
            .item(attr::EXPIRES_AT, expires)
            .send()
            .await
            .map_err(port_error)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(OPEN_COMPLAINTS))
            .item(attr::SK, s(survey.as_str()))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }

    /// The survey a complaint order was opened for; `None` for orders Otklik did not open.
    pub async fn complaint_of_order(&self, order_id: u64) -> PortResult<Option<SurveyId>> {
        let item = self
            .get_item(format!("complaint-order#{order_id}"), "complaint-order")
            .await?;
        item.as_ref()
            .and_then(|i| i.get("survey"))
            .and_then(|v| v.as_s().ok())
            .map(|v| {
                SurveyId::parse(v)
                    .map_err(|e| PortError::Permanent(format!("stored survey id {v:?}: {e}")))
            })
            .transpose()
    }

    /// A complaint's tracking document and the version it was read at.
    pub async fn complaint_track(
        &self,
        survey: &SurveyId,
    ) -> PortResult<Option<(ComplaintTrack, u64)>> {
        let Some(item) = self.get_item(complaint_pk(survey), "complaint").await? else {
            return Ok(None);
        };
        let version = item
            .get(attr::VERSION)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| PortError::Permanent(format!("complaint {survey} has no version")))?;
        let doc = item
            .get(attr::DOC)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| PortError::Permanent(format!("complaint {survey} has no document")))?;
        let track = serde_json::from_str(doc).map_err(|e| {
            PortError::Permanent(format!("stored complaint {survey} does not parse: {e}"))
        })?;
        Ok(Some((track, version)))
    }

    /// Saves a complaint's tracking document if nobody saved it since `version` was read;
    /// `Err(Conflict)` otherwise (read again and re-apply).
    pub async fn save_complaint_track(
        &self,
        survey: &SurveyId,
        track: &ComplaintTrack,
        version: u64,
    ) -> PortResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, s(complaint_pk(survey)))
            .key(attr::SK, s("complaint"))
            .update_expression("SET #d = :d, #v = :next")
            .condition_expression("#v = :v")
            .expression_attribute_names("#d", attr::DOC)
            .expression_attribute_names("#v", attr::VERSION)
            .expression_attribute_values(":d", s(track_doc(track)?))
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(PortError::Conflict(format!(
                    "complaint {survey} changed since version {version}"
                )))
            }
            Err(e) => Err(port_error(e)),
        }
    }

    /// Surveys whose complaint may still owe the inspector a reminder.
    pub async fn open_complaints(&self) -> PortResult<Vec<SurveyId>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_values(":pk", s(OPEN_COMPLAINTS))
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                if let Some(id) = item.get(attr::SK).and_then(|v| v.as_s().ok()) {
                    out.push(SurveyId::parse(id).map_err(|e| {
                        PortError::Permanent(format!("open complaint {id:?}: {e}"))
                    })?);
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Takes a complaint off the open list (touched, or reminded: nothing more is owed).
    pub async fn forget_open_complaint(&self, survey: &SurveyId) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(OPEN_COMPLAINTS))
            .key(attr::SK, s(survey.as_str()))
            .send()
            .await
            .map_err(port_error)?;
        Ok(())
    }
}

/// The partition listing complaints that may still need a reminder.
const OPEN_COMPLAINTS: &str = "complaints-open";

fn complaint_pk(survey: &SurveyId) -> String {
    format!("complaint#{survey}")
}

fn track_doc(track: &ComplaintTrack) -> PortResult<String> {
    serde_json::to_string(track)
        .map_err(|e| PortError::Permanent(format!("complaint does not serialize: {e}")))
}

/// Reading back for reports.
impl DynamoStore {
    /// Every survey whose question went out between `from` and `to`. A scan: reports are run by a
    /// person now and then, and a shop's table holds a year of surveys at most (retention).
    pub async fn surveys_sent_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Survey>> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#pk, :p) AND #sk = :sk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#sk", attr::SK)
                .expression_attribute_values(":p", s("survey#"))
                .expression_attribute_values(":sk", s("survey"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                let survey = Self::parse(item)?;
                if survey.sent_at.is_some_and(|t| t >= from && t <= to) {
                    out.push(survey);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
