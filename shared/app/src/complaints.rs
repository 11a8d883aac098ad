//! Applying complaint status observations to the stored track, shared by the trigger path
//! (intake-worker) and the history poller. The meaning of a status is `otklik_core::complaint`.

use chrono::{DateTime, Utc};
use otklik_core::config::ComplaintsConfig;
use otklik_core::model::SurveyId;
use otklik_core::ports::PortResult;

use otklik_aws::store::DynamoStore;

use crate::retry::retry_on_conflict;

/// Records "the complaint order of `survey` was in `status` at `at`" for each observation, in
/// one conditional write. Returns whether the track changed; a complaint somebody touched leaves
/// the reminder list.
pub async fn observe_statuses(
    store: &DynamoStore,
    survey: &SurveyId,
    seen: &[(String, DateTime<Utc>)],
    cfg: &ComplaintsConfig,
) -> PortResult<bool> {
    retry_on_conflict(format!("complaint {survey}"), |_| async {
        let Some((mut track, version)) = store.complaint_track(survey).await? else {
            return Ok(false);
        };
        let was_closed = track.closed(cfg).is_some();
        let mut changed = false;
        for (status, at) in seen {
            changed |= track.observe(status, *at, cfg);
        }
        if !changed {
            return Ok(false);
        }
        store
            .save_complaint_track(survey, &mut track, version)
            .await?;
        // Counted when the saved track turns final: a redelivered observation is no change.
        if let (false, Some((_, resolved))) = (was_closed, track.closed(cfg)) {
            let outcome = if resolved { "resolved" } else { "failed" };
            otklik_metrics::incr(&otklik_metrics::COMPLAINTS_CLOSED, &[("Outcome", outcome)]);
        }
        if !track.untouched() {
            store.forget_open_complaint(survey).await?;
        }
        tracing::info!(%survey, status = ?track.status, "complaint status recorded");
        Ok(true)
    })
    .await
}
