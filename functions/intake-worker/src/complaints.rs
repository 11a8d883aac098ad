//! Status changes of complaint orders: the same intake signal, put onto the complaint's track
//! (`otklik_app::complaints`) instead of becoming a survey.

use super::*;

impl Worker {
    /// A status change of a complaint order: its whole status history goes onto the track, so
    /// two changes in quick succession (two triggers, read after both happened) keep both times.
    pub(crate) async fn track_complaint(
        &self,
        signal: &IntakeSignal,
        now: DateTime<Utc>,
    ) -> Result<Handled, WorkerError> {
        let Some(survey) = self.store.complaint_of_order(signal.order_id).await? else {
            return Ok(Handled::NotOurComplaint);
        };
        let mut seen = Vec::new();
        for page in 1.. {
            let query = HistoryQuery {
                order_id: Some(signal.order_id),
                limit: 100,
                page,
                ..Default::default()
            };
            let history = self.crm.history(&query).await?;
            for e in &history.entries {
                let status = e.new_status().or(if e.created {
                    e.order_status.as_deref()
                } else {
                    None
                });
                if let (Some(status), Some(at)) = (status, e.created_at) {
                    // A clock ahead of ours must not date a change in the future.
                    seen.push((status.to_string(), at.min(now)));
                }
            }
            if history.entries.len() < 100 {
                break;
            }
        }
        let changed = otklik_app::complaints::observe_statuses(
            &self.store,
            &survey,
            &seen,
            &self.config.complaints,
        )
        .await?;
        Ok(Handled::ComplaintStatus {
            status: seen.last().map(|(s, _)| s.clone()).unwrap_or_default(),
            changed,
        })
    }
}
