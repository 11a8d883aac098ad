//! The one reminder: scheduled when the question first goes out, sent when its schedule fires if
//! the customer has still said nothing — on the next channel of the chain they can be reached on,
//! else the same one in other words, never outside the send window, under a claim of its own.

use super::*;
use otklik_core::intake::DispatchRequest;
use otklik_core::timing::{in_window, reminder_time};

/// A reminder delivered this long after its schedule was due counts as late.
const LATE_AFTER_MIN: i64 = 10;

impl Dispatcher {
    /// The reminder's one-time schedule, `reminder_after` past `now` moved into the customer's
    /// send window. Nothing when reminders are off; a schedule that exists already is kept.
    pub(crate) async fn schedule_reminder(
        &self,
        survey: &Survey,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let (Some(after), Some(scheduler)) = (self.config.survey.reminder_after, &self.scheduler)
        else {
            return Ok(());
        };
        let tz = self.config.timezone_for_site(survey.order.site());
        let at = reminder_time(now, after, &self.config.survey.window, tz);
        let payload = serde_json::to_string(&DispatchRequest::reminder(&survey.id, at))
            .expect("a dispatch request serializes");
        scheduler
            .schedule_once(
                &DispatchRequest::reminder_schedule_name(&survey.id),
                at,
                tz,
                &payload,
            )
            .await?;
        Ok(())
    }

    /// The reminder's schedule fired; it was due at `due_at`.
    pub(crate) async fn remind(
        &self,
        survey: Survey,
        due_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, DispatchError> {
        if !survey.reminder_due() {
            return Ok(Dispatched::NothingToDo("no reminder due".into()));
        }
        let tz = self.config.timezone_for_site(survey.order.site());
        // The schedule fires inside the window; only a late redelivery (a retry, a redrive from
        // the dead-letter queue) can land outside it, and a reminder at night does more harm
        // than the answer it might bring.
        let late = due_at.is_none_or(|due| now > due + chrono::Duration::minutes(LATE_AFTER_MIN));
        if late && !in_window(now, &self.config.survey.window, tz) {
            tracing::warn!(survey = %survey.id, "reminder outside the send window; dropped");
            return Ok(Dispatched::NothingToDo("outside the send window".into()));
        }
        if self.store.contains(&survey.contact).await? {
            return Ok(Dispatched::NothingToDo("the customer opted out".into()));
        }
        let possible = self.candidates(&survey, self.max_up(now).await);
        let wanted: Vec<Channel> = survey
            .reminder_channels()
            .into_iter()
            .filter(|c| possible.contains(c))
            .collect();
        let Some(channel) = self.first_reachable(&survey, &wanted, now).await? else {
            return Ok(Dispatched::NothingToDo("no channel to remind on".into()));
        };
        let max_chat = match channel {
            Channel::Max => self.max_chat(&survey, now).await?,
            _ => None,
        };
        if !self.store.claim_send(&survey.id, "reminder", now).await? {
            return Ok(Dispatched::AlreadyClaimed);
        }
        let message_id = match self
            .deliver(&survey, channel, Ask::Reminder, max_chat.as_deref(), now)
            .await
        {
            Ok(id) => id,
            Err(SendError::NotSent(e)) => {
                self.store.release_send(&survey.id, "reminder").await?;
                return Err(SendError::NotSent(e).into());
            }
            Err(SendError::Unknown(e)) => {
                // It may have reached the customer: it is not sent again, and the question
                // they were asked first stays open.
                tracing::error!(survey = %survey.id, %channel, error = %e, "reminder outcome unknown; not retried");
                return Ok(Dispatched::Failed(e));
            }
        };
        let reminded = Input::reminded(channel, message_id.as_str());
        self.record_message(&survey, &message_id, reminded, now)
            .await?;
        tracing::info!(survey = %survey.id, %channel, "reminder sent");
        Ok(Dispatched::Reminded {
            channel,
            message_id,
        })
    }
}
