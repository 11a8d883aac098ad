//! The complaints' SLA sweep: one reminder task for the inspector per complaint nobody touched
//! within the SLA, claimed on the complaint's track first so two sweeps cannot both remind.

use super::*;

impl<Q: Queue> Poller<Q> {
    /// The SLA sweep: every complaint nobody has touched within the SLA earns the inspector one
    /// reminder task on the complaint order. The reminder is claimed on the track before the task
    /// is created, so two sweeps at once cannot both remind; a failed create gives the claim back.
    pub async fn remind(&self, now: DateTime<Utc>) -> Result<SweepReport, PollError> {
        let cfg = &self.config.complaints;
        let tz = self.config.timezone_for_site(&cfg.site);
        // Before any claim is taken, so a refused text cannot leave a claimed reminder unsent.
        let texts = Texts::from_config(&self.config.texts)?;
        let mut report = SweepReport::default();
        for survey in self.store.open_complaints().await? {
            let Some((mut track, version)) = self.store.complaint_track(&survey).await? else {
                self.store.forget_open_complaint(&survey).await?;
                continue;
            };
            if !track.untouched() || track.reminded_at.is_some() {
                self.store.forget_open_complaint(&survey).await?;
                continue;
            }
            if !track.reminder_due(now, cfg, tz) {
                report.waiting += 1;
                continue;
            }
            track.reminded_at = Some(now);
            match self
                .store
                .save_complaint_track(&survey, &mut track, version)
                .await
            {
                Ok(()) => {}
                // Someone else changed it (a status arrived, another sweep): next run decides.
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            let (text, commentary) = reminder_text(
                &texts,
                texts.language(),
                &track.order_id.to_string(),
                track.opened_at,
                tz,
            );
            let task = NewTask {
                text,
                commentary,
                datetime: now + REMINDER_DUE_IN,
                performer_id: cfg.inspector_id.get(),
                order_id: Some(track.order_id),
            };
            if let Err(e) = self.crm.create_task(&task).await {
                track.reminded_at = None;
                if let Err(undo) = self
                    .store
                    .save_complaint_track(&survey, &mut track, version + 1)
                    .await
                {
                    tracing::error!(%survey, error = %undo, "reminder claim not given back; no reminder will follow");
                }
                return Err(e.into());
            }
            self.store.forget_open_complaint(&survey).await?;
            report.reminders += 1;
            otklik_metrics::incr(&otklik_metrics::COMPLAINT_REMINDERS, &[]);
            tracing::info!(%survey, complaint = track.order_id, "inspector reminded of an untouched complaint");
        }
        Ok(report)
    }
}
