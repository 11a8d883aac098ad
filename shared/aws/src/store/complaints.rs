//! Complaints as opened and tracked, for the SLA sweep and the KPI report.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use otklik_core::dashboard::OpenCase;
use otklik_core::kpi::fold::{refold_complaint, Delta};

use super::*;

/// What a complaint's save does to the open list: nothing, or put (`true`, with the case) or
/// take away (`false`) the survey's entry.
type OpenEntry = Option<(bool, Option<OpenCase>)>;

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
        let mut track = ComplaintTrack::new(complaint_order_id, now);
        let expires = n((now + chrono::Duration::days(SURVEY_RETENTION_DAYS)).timestamp());
        let folded = self.refold_complaint(survey, &mut track).await?;
        let put = self
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
            .expression_attribute_names("#pk", attr::PK);
        if let Some(extra) = folded {
            let write = Put::builder()
                .table_name(&self.table)
                .set_item(put.get_item().clone())
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK)
                .build()
                .map_err(|e| PortError::Permanent(format!("complaint put: {e}")))?;
            self.save_complaint_with_counters(
                survey,
                TransactWriteItem::builder().put(write).build(),
                extra,
            )
            .await?;
        } else {
            match put.send().await {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(port_error(e)),
            }
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
        track: &mut ComplaintTrack,
        version: u64,
    ) -> PortResult<()> {
        let conflict = || {
            PortError::Conflict(format!(
                "complaint {survey} changed since version {version}"
            ))
        };
        let folded = self.refold_complaint(survey, track).await?;
        if let Some(extra) = folded {
            let write = Update::builder()
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
                .build()
                .map_err(|e| PortError::Permanent(format!("complaint update: {e}")))?;
            return match self
                .save_complaint_with_counters(
                    survey,
                    TransactWriteItem::builder().update(write).build(),
                    extra,
                )
                .await
            {
                Ok(true) => Ok(()),
                Ok(false) => Err(conflict()),
                Err(e) => Err(e),
            };
        }
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
                Err(conflict())
            }
            Err(e) => Err(port_error(e)),
        }
    }

    /// Sets the part `track` now adds to the KPI counters (from its survey as stored) and returns
    /// what else its save must write: the counters' change and the open list's entry. `None` when
    /// neither changes (a closed complaint whose counters stay), or this store does not keep them.
    async fn refold_complaint(
        &self,
        survey: &SurveyId,
        track: &mut ComplaintTrack,
    ) -> PortResult<Option<(Delta, OpenEntry)>> {
        let Some(f) = self.fold.clone() else {
            return Ok(None);
        };
        let Some(stored) = self.get(survey).await? else {
            return Ok(None);
        };
        let (part, delta) = refold_complaint(&stored, track, &f.complaints, f.tz);
        let was_open = track.kpi.as_ref().is_some_and(|p| p.open);
        let open = part.as_ref().is_some_and(|p| p.open);
        track.kpi = part;
        // The entry is written whenever there is one to put or to take away; while open, with
        // the case as this save leaves it.
        let entry = (was_open || open).then(|| (open, OpenCase::from_survey(&stored, track)));
        // While open, every save rewrites the entry: the main page reads the case from it (its
        // status, when it was taken into work), not from the complaint.
        if delta.is_empty() && was_open == open && !open {
            return Ok(None);
        }
        Ok(Some((delta, entry)))
    }

    /// The complaint's `write`, the counters' change and its open-list entry in one transaction.
    /// `Ok(false)`: the write's condition failed (saved meanwhile, or already recorded).
    async fn save_complaint_with_counters(
        &self,
        survey: &SurveyId,
        write: TransactWriteItem,
        (delta, entry): (Delta, OpenEntry),
    ) -> PortResult<bool> {
        let mut first = vec![write];
        if let Some((open, case)) = entry {
            first.push(kpi::open_entry(&self.table, survey, open, case.as_ref())?);
        }
        match self.save_items_with_counters(first, &delta).await? {
            Ok(()) => Ok(true),
            Err(kpi::Refused::Condition) => Ok(false),
            Err(kpi::Refused::Busy) => Err(PortError::Conflict(format!(
                "complaint {survey}: the KPI counters stayed busy"
            ))),
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

    /// Every survey with a complaint track. A scan: only `otklik report rebuild` asks, once.
    pub async fn complaint_surveys(&self) -> PortResult<Vec<SurveyId>> {
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
                .expression_attribute_values(":p", s("complaint#"))
                .expression_attribute_values(":sk", s("complaint"))
                .projection_expression("#pk")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                let Some(id) = item
                    .get(attr::PK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix("complaint#"))
                else {
                    continue;
                };
                out.push(
                    SurveyId::parse(id)
                        .map_err(|e| PortError::Permanent(format!("complaint of {id:?}: {e}")))?,
                );
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
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
