//! Survey items: create once, read, save conditionally on the version, list by phone, and
//! read back for reports.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use otklik_core::kpi::fold::{refold_survey, Delta};

use super::*;

impl SurveyStore for DynamoStore {
    async fn create(&self, survey: &Survey) -> PortResult<bool> {
        let (stored, delta) = self.refold(survey);
        let listed = self.listing_writes(&stored)?;
        if !delta.is_empty() || !listed.is_empty() {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::item(&stored, 1)?))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK)
                .build()
                .map_err(|e| PortError::Permanent(format!("survey put: {e}")))?;
            let mut writes = vec![TransactWriteItem::builder().put(put).build()];
            writes.extend(listed);
            return match self.save_items_with_counters(writes, &delta).await? {
                Ok(()) => Ok(true),
                Err(kpi::Refused::Condition) => Ok(false),
                Err(kpi::Refused::Busy) => Err(PortError::Transient(format!(
                    "survey {}: the KPI counters stayed busy",
                    survey.id
                ))),
            };
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(&stored, 1)?))
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
        let (stored, delta) = self.refold(survey);
        let conflict = || {
            PortError::Conflict(format!(
                "survey {} changed since version {}",
                survey.id, survey.version
            ))
        };
        let saved = || {
            let mut saved = stored.clone();
            saved.version = next;
            saved
        };
        let listed = self.listing_writes(&stored)?;
        if !delta.is_empty() || !listed.is_empty() {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::item(&stored, next)?))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":v", n(survey.version))
                .build()
                .map_err(|e| PortError::Permanent(format!("survey put: {e}")))?;
            let mut writes = vec![TransactWriteItem::builder().put(put).build()];
            writes.extend(listed);
            return match self.save_items_with_counters(writes, &delta).await? {
                Ok(()) => Ok(saved()),
                // Busy counters: the caller reads again and decides again, as for a conflict.
                Err(_) => Err(conflict()),
            };
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(&stored, next)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", attr::VERSION)
            .expression_attribute_values(":v", n(survey.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(saved()),
            Err(e) if is_condition_failure(&e) => Err(conflict()),
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

/// Keeping the per-day KPI counters with the saves.
impl DynamoStore {
    /// Which of `ids` have a survey: one batched read per hundred, eventually consistent (a
    /// survey written a moment ago may be missing from the answer; the caller must be fine with
    /// that, as the poller is: it then signals intake, which finds the survey itself).
    pub async fn existing_surveys(&self, ids: &[SurveyId]) -> PortResult<Vec<SurveyId>> {
        let keys = ids
            .iter()
            .map(|id| (survey_pk(id), "survey".to_string()))
            .collect();
        let found: std::collections::BTreeSet<String> = self
            .get_batched(keys, false, true)
            .await?
            .iter()
            .filter_map(|item| item.get(attr::PK)?.as_s().ok().cloned())
            .collect();
        Ok(ids
            .iter()
            .filter(|id| found.contains(&survey_pk(id)))
            .cloned()
            .collect())
    }

    /// The surveys of `ids` that exist, read as [`SurveyStore::get`] reads one (consistently
    /// with every write before): one batched read per hundred, for a queue batch that decides
    /// each of its messages from its survey. An id without a survey is not in the map.
    pub async fn get_surveys(
        &self,
        ids: &[SurveyId],
    ) -> PortResult<std::collections::HashMap<SurveyId, Survey>> {
        let keys = ids
            .iter()
            .map(|id| (survey_pk(id), "survey".to_string()))
            .collect();
        self.get_batched(keys, true, false)
            .await?
            .iter()
            .map(|item| Self::parse(item).map(|s| (s.id.clone(), s)))
            .collect()
    }
}

impl DynamoStore {
    /// The survey as it is to be stored, with the part it now adds to the counters, and the
    /// change to add; without [`Folding`] the survey as given and no change.
    fn refold(&self, survey: &Survey) -> (Survey, Delta) {
        let Some(f) = &self.fold else {
            return (survey.clone(), Delta::new());
        };
        let (part, delta) = refold_survey(survey, f.tz);
        let mut stored = survey.clone();
        stored.kpi = part;
        (stored, delta)
    }

    /// `writes` (the first a conditional put or update, the one whose condition matters; the
    /// rest unconditional) and the counters' change in one transaction. Another transaction on
    /// the same day's counters at the same moment refuses ours: tried again a few times, briefly,
    /// before giving up with [`kpi::Refused::Busy`].
    pub(super) async fn save_items_with_counters(
        &self,
        writes: Vec<TransactWriteItem>,
        delta: &Delta,
    ) -> PortResult<Result<(), kpi::Refused>> {
        let mut last = Err(kpi::Refused::Busy);
        for attempt in 0..5u64 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(15 * attempt)).await;
            }
            let mut items = writes.clone();
            items.extend(kpi::delta_writes(&self.table, delta)?);
            last = kpi::transact(&self.client, items).await?;
            if !matches!(last, Err(kpi::Refused::Busy)) {
                break;
            }
        }
        Ok(last)
    }
}

/// Reading back for reports.
impl DynamoStore {
    /// Every survey whose question went out between `from` and `to`: a query per month of the
    /// window on the `sent` index (its partition is the month the question went out in, its sort
    /// key the moment), so a report reads its period and nothing else, however long the table's
    /// history. A window of more than [`MAX_WINDOW_MONTHS`] is refused (no report asks for one);
    /// the whole table is [`Self::every_survey`]'s.
    pub async fn surveys_sent_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Survey>> {
        let mut out = Vec::new();
        for item in self
            .window(
                Some(SENT_INDEX),
                attr::GSI2_PK,
                attr::GSI2_SK,
                from,
                to,
                sent_partition_of,
            )
            .await?
        {
            let survey = Self::parse(&item)?;
            // The sort key is the moment to the millisecond; the bounds are exact.
            if survey.sent_at.is_some_and(|t| t >= from && t <= to) {
                out.push(survey);
            }
        }
        Ok(out)
    }

    /// The items of a window kept by month: one partition per month from `from` to `to`
    /// (`partition` names it), sort keys `<rfc3339>#…` between the two instants. The months are
    /// read side by side, each page after page; the items come month by month, in key order.
    async fn window(
        &self,
        index: Option<&'static str>,
        pk: &'static str,
        sk: &'static str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        partition: impl Fn(i64) -> String,
    ) -> PortResult<Vec<HashMap<String, AttributeValue>>> {
        let months = window_months(from, to)?;
        let count = months.clone().count();
        let (low, high) = (rfc3339(from), format!("{}#\u{10FFFF}", rfc3339(to)));
        let mut reads = tokio::task::JoinSet::new();
        for (n, month) in months.enumerate() {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", pk)
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":pk", s(partition(month)))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high));
            reads.spawn(async move {
                let mut items = Vec::new();
                let mut start: Option<HashMap<String, AttributeValue>> = None;
                loop {
                    let page = query
                        .clone()
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(port_error)?;
                    items.extend(page.items.unwrap_or_default());
                    match page.last_evaluated_key {
                        Some(k) if !k.is_empty() => start = Some(k),
                        _ => break,
                    }
                }
                Ok::<_, PortError>((n, items))
            });
        }
        let mut by_month = vec![Vec::new(); count];
        while let Some(read) = reads.join_next().await {
            let (n, items) = read.map_err(|e| PortError::Transient(e.to_string()))??;
            by_month[n] = items;
        }
        Ok(by_month.into_iter().flatten().collect())
    }

    /// Every survey in the table, each with whether the `sent` index holds it as it should (a
    /// survey saved before the index existed does not): a scan, for `otklik report rebuild` only.
    pub async fn every_survey(&self) -> PortResult<Vec<(Survey, bool)>> {
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
                let indexed = survey.sent_at.is_none() || item.contains_key(attr::GSI2_PK);
                out.push((survey, indexed));
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

/// The index of surveys by the moment their question went out.
const SENT_INDEX: &str = MAIN_TABLE.indexes[1].0;

/// The longest window [`DynamoStore::surveys_sent_between`] reads: the dashboard's longest (a
/// period of 366 days and the trend's twelve weeks before it, up to now) with room to spare.
pub const MAX_WINDOW_MONTHS: i64 = 24;

/// Months since year 0, so a window's months are a plain range.
fn month_index(t: DateTime<Utc>) -> i64 {
    i64::from(t.year()) * 12 + i64::from(t.month0())
}

/// The `sent` index's partition of a month: `sent#YYYY-MM` (UTC).
fn sent_partition_of(month: i64) -> String {
    format!(
        "sent#{:04}-{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// The `sent` index's partition and sort key of a question sent at `at`.
pub(super) fn sent_keys(at: DateTime<Utc>, id: &SurveyId) -> (String, String) {
    (
        sent_partition_of(month_index(at)),
        format!("{}#{id}", rfc3339(at)),
    )
}

/// The employees' lists of low ratings: an entry per person who worked an order whose question
/// went out and was answered 1–3, under `low#<employee>#<YYYY-MM>` (the month the question went
/// out, UTC) with the moment and the survey as its sort key. An employee's page reads its
/// period's months of that one partition, then those surveys in batched reads, instead of every
/// survey of the period. The entries are written with the survey's save, in its transaction, so
/// a saved rating is listed or the save failed; they carry no personal data and expire with the
/// survey. An entry that no longer holds (the crew or the rating changed since) is harmless: the
/// reader checks every survey it reads.
impl DynamoStore {
    /// The entries listing `survey` on its employees' pages, as transaction puts (none for a
    /// survey not sent, not rated, or rated 4–5). Putting one again changes nothing.
    fn listing_writes(&self, survey: &Survey) -> PortResult<Vec<TransactWriteItem>> {
        listing_items(survey)
            .into_iter()
            .map(|item| {
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .map(|put| TransactWriteItem::builder().put(put).build())
                    .map_err(|e| PortError::Permanent(format!("listing put: {e}")))
            })
            .collect()
    }

    /// Puts the list entries of `surveys` (the rebuild after an upgrade, and seeding): batched,
    /// idempotent.
    pub async fn put_listings(&self, surveys: &[Survey]) -> PortResult<usize> {
        let items: Vec<_> = surveys.iter().flat_map(listing_items).collect();
        let count = items.len();
        for chunk in items.chunks(25) {
            kpi::batch_put(&self.client, &self.table, chunk.to_vec()).await?;
        }
        Ok(count)
    }

    /// The surveys rated 1–3 whose question went out between `from` and `to` and whose order
    /// `employee` worked, with their complaint tracks, a page at a time in the order the employee
    /// page shows them (lowest rating first, then newest): the `take` after the first `skip`.
    /// The list's entries are keyed rating first, so the reader walks the 1s from the newest
    /// month back, then the 2s, then the 3s, and stops once it has the page: the first page of a
    /// year reads about a page of small entries, not the year's. Then only those surveys, in
    /// batched reads.
    pub async fn low_rated_of(
        &self,
        employee: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        skip: usize,
        take: usize,
    ) -> PortResult<Vec<(Survey, Option<ComplaintTrack>)>> {
        let months = window_months(from, to)?;
        if take == 0 {
            return Ok(Vec::new());
        }
        let wanted = skip.saturating_add(take);
        let mut ids: Vec<SurveyId> = Vec::new();
        'all: for rating in 1..=3u8 {
            let low = format!("{rating}#{}", rfc3339(from));
            let high = format!("{rating}#{}#\u{10FFFF}", rfc3339(to));
            for month in months.clone().rev() {
                let mut start: Option<HashMap<String, AttributeValue>> = None;
                loop {
                    let left = wanted - ids.len();
                    let page = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                        .expression_attribute_names("#pk", attr::PK)
                        .expression_attribute_names("#sk", attr::SK)
                        .expression_attribute_values(":pk", s(listing_partition(employee, month)))
                        .expression_attribute_values(":low", s(&low))
                        .expression_attribute_values(":high", s(&high))
                        // Newest first.
                        .scan_index_forward(false)
                        .limit(i32::try_from(left).unwrap_or(i32::MAX))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(port_error)?;
                    for item in page.items() {
                        if let Some(id) = item.get("survey").and_then(|v| v.as_s().ok()) {
                            ids.push(SurveyId::parse(id).map_err(|e| {
                                PortError::Permanent(format!("list entry of {id:?}: {e}"))
                            })?);
                        }
                    }
                    if ids.len() >= wanted {
                        break 'all;
                    }
                    match page.last_evaluated_key {
                        Some(k) if !k.is_empty() => start = Some(k),
                        _ => break,
                    }
                }
            }
        }
        let ids: Vec<SurveyId> = ids.into_iter().skip(skip).take(take).collect();
        let mut surveys = self.surveys_with_tracks(&ids).await?;
        // An entry that no longer holds (a crew or a rating changed since) is left out.
        surveys.retain(|(s, _)| {
            listed_low(s).is_some()
                && s.sent_at.is_some_and(|t| t >= from && t <= to)
                && s.employees.iter().any(|e| e.get() == employee)
        });
        Ok(surveys)
    }
}

/// The months (as `month_index`) a window from `from` to `to` touches; none for a reversed one,
/// and a refusal past [`MAX_WINDOW_MONTHS`] (no report reads one).
fn window_months(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> PortResult<std::ops::RangeInclusive<i64>> {
    if to < from {
        // An empty range: nothing to read.
        return Ok(std::ops::RangeInclusive::new(1, 0));
    }
    let months = month_index(to) - month_index(from) + 1;
    if months > MAX_WINDOW_MONTHS {
        return Err(PortError::Permanent(format!(
            "a window of {months} months is longer than any report reads ({MAX_WINDOW_MONTHS})"
        )));
    }
    Ok(month_index(from)..=month_index(to))
}

/// The rating that puts a sent survey on its employees' lists (1–3), and when it was sent.
fn listed_low(survey: &Survey) -> Option<(DateTime<Utc>, u8)> {
    let sent = survey.sent_at?;
    let rating = survey.rating?.value();
    (rating <= 3).then_some((sent, rating))
}

fn listing_partition(employee: u64, month: i64) -> String {
    format!(
        "low#{employee}#{:04}-{:02}",
        month.div_euclid(12),
        month.rem_euclid(12) + 1
    )
}

/// The list entries of one survey (see [`DynamoStore::low_rated_of`]).
pub(super) fn listing_items(survey: &Survey) -> Vec<HashMap<String, AttributeValue>> {
    let Some((sent, rating)) = listed_low(survey) else {
        return Vec::new();
    };
    let expires = survey.created_at + chrono::Duration::days(SURVEY_RETENTION_DAYS);
    // Each person once: a transaction (or a batch) naming one item twice is refused whole.
    let people: std::collections::BTreeSet<u64> =
        survey.employees.iter().map(|e| e.get()).collect();
    people
        .into_iter()
        .map(|e| {
            HashMap::from([
                (
                    attr::PK.to_string(),
                    s(listing_partition(e, month_index(sent))),
                ),
                // Rating first: the page shows the 1s first, newest first among them.
                (
                    attr::SK.to_string(),
                    s(format!("{rating}#{}#{}", rfc3339(sent), survey.id)),
                ),
                ("survey".to_string(), s(survey.id.as_str())),
                (attr::EXPIRES_AT.to_string(), n(expires.timestamp())),
            ])
        })
        .collect()
}
