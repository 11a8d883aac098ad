//! What we know of a customer across surveys: the do-not-contact list (forever), the frequency
//! cap, intake notes and the history poller's cursor.

use super::*;
use otklik_core::timing::ContactHistory;

impl DoNotContactList for DynamoStore {
    /// Looks up the keyed hashes and the plain entries an older build wrote (until the daily
    /// sweep has moved them to hashes; see docs/operations.md, "Upgrading the do-not-contact list"),
    /// all in one consistent batched read: every survey is checked at intake and again before it
    /// is sent, and a key a request made this four requests per survey at a peak.
    async fn contains(&self, contact: &Contact) -> PortResult<bool> {
        let keys: Vec<(String, String)> = every_dnc_key(self.hasher()?, contact)
            .into_iter()
            .map(|pk| (pk, "dnc".to_string()))
            .collect();
        if keys.is_empty() {
            return Ok(false);
        }
        Ok(!self.get_batched(keys, true, true).await?.is_empty())
    }

    /// Both the phone and the email are listed, each as its keyed hash (never the value): an
    /// opt-out holds on every channel. No expiry.
    async fn add(&self, contact: &Contact) -> PortResult<()> {
        for key in dnc_keys(self.hasher()?, contact) {
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

impl DynamoStore {
    /// [`DoNotContactList::contains`] for many contacts, in one consistent batched read per
    /// hundred keys: for a batch of questions about to go, where it was a request per question.
    pub async fn contains_many(&self, contacts: &[Contact]) -> PortResult<Vec<bool>> {
        let hasher = self.hasher()?;
        let per_contact: Vec<Vec<String>> =
            contacts.iter().map(|c| every_dnc_key(hasher, c)).collect();
        let keys: Vec<(String, String)> = per_contact
            .iter()
            .flatten()
            .map(|pk| (pk.clone(), "dnc".to_string()))
            .collect();
        if keys.is_empty() {
            return Ok(vec![false; contacts.len()]);
        }
        let listed: std::collections::HashSet<String> = self
            .get_batched(keys, true, true)
            .await?
            .into_iter()
            .filter_map(|item| Some(item.get(attr::PK)?.as_s().ok()?.clone()))
            .collect();
        Ok(per_contact
            .iter()
            .map(|pks| pks.iter().any(|pk| listed.contains(pk)))
            .collect())
    }
}

/// The frequency cap, kept per customer: when we last planned to ask them, and for which survey.
/// The customer key (`phone:+7…`, `email:…`, `crm:…`) is kept only as its keyed hash.
impl DynamoStore {
    fn customer_pk(&self, customer_key: &str) -> PortResult<String> {
        Ok(format!("customer#h:{}", self.hasher()?.id(customer_key)))
    }

    /// When this customer was last asked (planned send time), if ever.
    pub async fn last_surveyed(
        &self,
        customer_key: &str,
        except: &SurveyId,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let item = self
            .get_item(self.customer_pk(customer_key)?, "last-survey")
            .await?;
        Ok(last_send_of(item.as_ref(), except))
    }

    /// What intake needs of each customer of a batch, in one consistent batched read per hundred
    /// keys: whether the contact is on the do-not-contact list ([`DoNotContactList::contains`])
    /// and when the customer was last asked ([`Self::last_surveyed`]; `None` without a customer
    /// key). At a December peak these were two requests per order, one after another; the
    /// frequency cap's claim ([`Self::claim_customer`]) stays the conditional write that decides,
    /// so a read a moment older changes no outcome.
    pub async fn contact_histories(
        &self,
        wanted: &[(Contact, Option<String>, SurveyId)],
    ) -> PortResult<Vec<ContactHistory>> {
        let hasher = self.hasher()?;
        let mut keys = Vec::new();
        let mut per_contact = Vec::with_capacity(wanted.len());
        for (contact, customer, _) in wanted {
            let dnc = every_dnc_key(hasher, contact);
            keys.extend(dnc.iter().map(|pk| (pk.clone(), "dnc".to_string())));
            let customer = match customer {
                Some(k) => Some(self.customer_pk(k)?),
                None => None,
            };
            if let Some(pk) = &customer {
                keys.push((pk.clone(), "last-survey".to_string()));
            }
            per_contact.push((dnc, customer));
        }
        let found: HashMap<(String, String), HashMap<String, AttributeValue>> = if keys.is_empty() {
            HashMap::new()
        } else {
            self.get_batched(keys, true, false)
                .await?
                .into_iter()
                .filter_map(|item| {
                    let pk = item.get(attr::PK)?.as_s().ok()?.clone();
                    let sk = item.get(attr::SK)?.as_s().ok()?.clone();
                    Some(((pk, sk), item))
                })
                .collect()
        };
        Ok(per_contact
            .into_iter()
            .zip(wanted)
            .map(|((dnc, customer), (_, _, except))| ContactHistory {
                do_not_contact: dnc
                    .into_iter()
                    .any(|pk| found.contains_key(&(pk, "dnc".to_string()))),
                last_surveyed_at: customer.and_then(|pk| {
                    last_send_of(found.get(&(pk, "last-survey".to_string())), except)
                }),
            })
            .collect())
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
            .item(attr::PK, s(self.customer_pk(customer_key)?))
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

/// The planned send time a customer's `last-survey` item holds, unless it is `except`'s own.
fn last_send_of(
    item: Option<&HashMap<String, AttributeValue>>,
    except: &SurveyId,
) -> Option<DateTime<Utc>> {
    // The slot held by `except` itself is no earlier survey: a retry after a crash between the
    // claim and the survey's save must not find the customer "surveyed recently" by the very
    // survey it is creating.
    if item
        .and_then(|i| i.get("survey_id"))
        .and_then(|v| v.as_s().ok())
        .is_some_and(|id| id == except.as_str())
    {
        return None;
    }
    item.and_then(|i| i.get("last_send_at"))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// Every key a contact's do-not-contact entry may have: the keyed hashes, and the plain keys an
/// older build wrote (until the daily sweep has moved them).
fn every_dnc_key(hasher: &ContactHasher, contact: &Contact) -> Vec<String> {
    dnc_keys(hasher, contact)
        .into_iter()
        .chain(legacy_dnc_keys(contact))
        .collect()
}
