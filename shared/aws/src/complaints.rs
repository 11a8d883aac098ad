//! Applying complaint status observations to the stored track, shared by the trigger path
//! (intake-worker) and the history poller. The meaning of a status is `otklik_core::complaint`.

use chrono::{DateTime, Utc};
use otklik_core::config::ComplaintsConfig;
use otklik_core::model::SurveyId;
use otklik_core::ports::{PortError, PortResult};

use crate::store::DynamoStore;

/// Concurrent writers (a trigger and the poller at once) are rare; a few rounds settle them.
const ATTEMPTS: usize = 5;

/// Records "the complaint order of `survey` was in `status` at `at`" for each observation, in
/// one conditional write. Returns whether the track changed; a complaint somebody touched leaves
/// the reminder list.
pub async fn observe_statuses(
    store: &DynamoStore,
    survey: &SurveyId,
    seen: &[(String, DateTime<Utc>)],
    cfg: &ComplaintsConfig,
) -> PortResult<bool> {
    for _ in 0..ATTEMPTS {
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
        match store.save_complaint_track(survey, &track, version).await {
            Ok(()) => {
                // Counted when the saved track turns final: a redelivered observation is no change.
                if let (false, Some((_, resolved))) = (was_closed, track.closed(cfg)) {
                    let outcome = if resolved { "resolved" } else { "failed" };
                    otklik_metrics::incr(
                        &otklik_metrics::COMPLAINTS_CLOSED,
                        &[("Outcome", outcome)],
                    );
                }
                if !track.untouched() {
                    store.forget_open_complaint(survey).await?;
                }
                tracing::info!(%survey, status = ?track.status, "complaint status recorded");
                return Ok(true);
            }
            Err(PortError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "complaint {survey}: {ATTEMPTS} concurrent updates in a row"
    )))
}
