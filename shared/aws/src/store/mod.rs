//! The survey store on DynamoDB (one table, see [`crate::resources::MAIN_TABLE`]).
//!
//! A survey is one item: its keys, a few attributes for queries and conditions, and the whole
//! survey as a JSON document. Creation is a conditional put keyed by the survey id (one survey per
//! order, whatever the number of triggers); every later save is conditional on the version the
//! decision was made from, so two concurrent replies cannot both win.
//!
//! The other kinds of item live beside the surveys in the same table, one file each: the
//! do-not-contact list and the frequency cap (`contacts`), send claims and provider message ids
//! (`sends`), short-lived markers (`markers`), words and KPI credits (`credits`), complaint tracks
//! (`complaints`), SMS short links and MAX account checks (`links`), webhook items we could not
//! use (`unusable`), the shared retailCRM budget's next free slot (`crm_budget`), the order history
//! folded per order and how far it is read (`worked`), the per-day KPI counters that survey and
//! complaint saves keep in the same transaction (`kpi`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, Utc};
use otklik_core::complaint::ComplaintTrack;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Phone, SurveyId};
use otklik_core::ports::{DoNotContactList, PortError, PortResult, SurveyStore};
use otklik_core::privacy::ContactHasher;

use crate::port_error;
use crate::resources::{attr, Names, MAIN_TABLE};

mod complaints;
mod contacts;
mod credits;
mod crm_budget;
mod kpi;
mod links;
mod markers;
mod privacy;
mod sends;
mod surveys;
mod unusable;
mod worked;

pub use credits::Credit;
pub use links::{MaxAccount, ShortLink};
pub use privacy::{ForgetReport, Forgotten, RetentionReport};
pub use sends::SendClaim;
pub use unusable::{UnusableItem, UNUSABLE_RETENTION_DAYS};

/// How long a survey record is kept after it was created (SPEC §8: keep only what the flow needs).
/// Long enough for a year of KPI reports; opt-outs are kept forever and carry no expiry.
pub const SURVEY_RETENTION_DAYS: i64 = 400;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Turns phones, emails and provider ids into the keyed hashes the keys hold (core's
    /// `privacy`). `None` in a store that only reads reports: every write or lookup by a personal
    /// key then fails, rather than falling back to the plain value.
    hasher: Option<ContactHasher>,
    /// What survey and complaint saves need to keep the per-day KPI counters (`store/kpi.rs`).
    /// Without it saves leave the counters and the parts they record alone, so nothing is
    /// counted twice: the next save that has it, or `otklik report rebuild`, adds what is owed.
    fold: Option<std::sync::Arc<Folding>>,
}

/// The shop's settings the per-day KPI counters depend on.
#[derive(Debug, Clone)]
pub struct Folding {
    /// Whose days the counters are (`timezone`).
    pub tz: chrono_tz::Tz,
    /// Which statuses close a complaint, resolved or not.
    pub complaints: otklik_core::config::ComplaintsConfig,
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

/// The do-not-contact keys of a contact: its keyed hashes (`dnc#phone#h:…`, `dnc#email#h:…`).
fn dnc_keys(hasher: &ContactHasher, contact: &Contact) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(p) = &contact.phone {
        keys.push(format!("dnc#phone#h:{}", hasher.phone(p)));
    }
    if let Some(e) = &contact.email {
        keys.push(format!("dnc#email#h:{}", hasher.email(e)));
    }
    keys
}

/// The keys entries had before the list was hashed (the plain phone or email). Read as a
/// fallback until the daily sweep has moved them ([`DynamoStore::retention_sweep`]), so no
/// opt-out is missed between the upgrade and that first sweep.
fn legacy_dnc_keys(contact: &Contact) -> Vec<String> {
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
            hasher: None,
            fold: None,
        }
    }

    /// The same store, hashing personal keys with `hasher` (every function that writes).
    pub fn with_hasher(mut self, hasher: ContactHasher) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// The hasher, or a permanent error: a store built without one must not write or look up
    /// anything by a personal key (it would do so by the plain value).
    fn hasher(&self) -> PortResult<&ContactHasher> {
        self.hasher.as_ref().ok_or_else(|| {
            PortError::Permanent("this store has no contact key (OTKLIK_CONTACT_KEY)".into())
        })
    }

    /// Writes `pk`/`sk` only if it is not there yet: `true` for the first caller, `false` for
    /// every later one (a once-per-period claim: the weekly digest, the daily sweep). The item
    /// says when it was claimed and expires `keep` later.
    async fn claim_once(
        &self,
        pk: String,
        sk: &str,
        now: DateTime<Utc>,
        keep: chrono::Duration,
    ) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(pk))
            .item(attr::SK, s(sk))
            .item("at", s(rfc3339(now)))
            .item(attr::EXPIRES_AT, n((now + keep).timestamp()))
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

    /// The same store, keeping the per-day KPI counters as it saves (every function and tool
    /// that writes surveys or complaints uses this).
    pub fn folding(
        mut self,
        tz: chrono_tz::Tz,
        complaints: otklik_core::config::ComplaintsConfig,
    ) -> Self {
        self.fold = Some(std::sync::Arc::new(Folding { tz, complaints }));
        self
    }

    /// The shop's time zone the counters are kept in, when this store keeps them.
    pub fn folding_tz(&self) -> Option<chrono_tz::Tz> {
        self.fold.as_ref().map(|f| f.tz)
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

    /// Items by key, a hundred per batched read (eventually consistent: for reports), in no
    /// particular order; a key without an item is left out.
    ///
    /// The batched read's own future, not one more `async` layer around it: the report
    /// functions' futures are deep enough that one more level overflows the compiler's layout
    /// query depth (`kpi-digest`).
    fn get_many(
        &self,
        keys: Vec<(String, String)>,
    ) -> impl std::future::Future<Output = PortResult<Vec<HashMap<String, AttributeValue>>>> + '_
    {
        self.get_batched(keys, false, false)
    }

    /// As [`Self::get_many`], read consistently with every write before it when `consistent`
    /// (a decision is made from it). With `keys_only` each item comes back as its key alone:
    /// for a caller that only asks which items exist, so a hundred surveys do not travel whole.
    async fn get_batched(
        &self,
        keys: Vec<(String, String)>,
        consistent: bool,
        keys_only: bool,
    ) -> PortResult<Vec<HashMap<String, AttributeValue>>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut out = Vec::with_capacity(keys.len());
        let mut unique = keys;
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|(pk, sk)| {
                                HashMap::from([
                                    (attr::PK.to_string(), s(pk.clone())),
                                    (attr::SK.to_string(), s(sk.clone())),
                                ])
                            })
                            .collect(),
                    ))
                    .consistent_read(consistent)
                    .set_projection_expression(keys_only.then(|| "#pk, #sk".to_string()))
                    .set_expression_attribute_names(keys_only.then(|| {
                        HashMap::from([
                            ("#pk".to_string(), attr::PK.to_string()),
                            ("#sk".to_string(), attr::SK.to_string()),
                        ])
                    }))
                    .build()
                    .map_err(|e| PortError::Permanent(format!("batch get: {e}")))?,
            );
            while let Some(request) = pending.take() {
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(port_error)?;
                if let Some(mut r) = got.responses {
                    out.extend(r.remove(&self.table).unwrap_or_default());
                }
                // What the service could not read this time is asked again.
                pending = got
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(out)
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
        // The retention sweep looks only at surveys not erased yet (a filter on this attribute).
        if let Some(at) = survey.erased_at {
            item.insert(ERASED_AT.to_string(), s(rfc3339(at)));
        }
        // The index finds an open survey by the sender's phone; it holds the phone only as long
        // as the survey's own document does (gone with it at erasure).
        if let Some(phone) = &survey.contact.phone {
            item.insert(attr::GSI1_PK.to_string(), s(phone_key(phone)));
            item.insert(
                attr::GSI1_SK.to_string(),
                s(format!("{}#{}", rfc3339(survey.created_at), survey.id)),
            );
        }
        // The `sent` index lists a period's surveys for the reports (no personal data in it).
        if let Some(at) = survey.sent_at {
            let (pk, sk) = surveys::sent_keys(at, &survey.id);
            item.insert(attr::GSI2_PK.to_string(), s(pk));
            item.insert(attr::GSI2_SK.to_string(), s(sk));
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

/// The survey item's attribute saying its personal data is gone (and when).
const ERASED_AT: &str = "erased_at";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn is_condition_failure<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.is_conditional_check_failed_exception())
}
