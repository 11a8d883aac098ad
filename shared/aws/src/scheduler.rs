//! One-time EventBridge Scheduler schedules: "send this survey at that moment".
//!
//! The schedule's name is the survey id, so creating it twice is a `ConflictException` that we
//! read as "already done". The schedule deletes itself after firing (`ActionAfterCompletion:
//! DELETE`) and targets the dispatch queue with `{"surveyId": …}`.

use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use chrono::{DateTime, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use otklik_core::ports::{PortError, PortResult};

use crate::resources::Names;

#[derive(Debug, Clone)]
pub struct SurveyScheduler {
    client: aws_sdk_scheduler::Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

/// The `at(...)` expression and its time zone for an instant, written in the customer's local time
/// so the schedule reads naturally in the console. In the repeated hour of a DST change a local
/// time is ambiguous, so there we fall back to UTC.
pub fn at_expression(at: DateTime<Utc>, tz: Tz) -> (String, String) {
    let local = at.with_timezone(&tz).naive_local();
    let unambiguous = matches!(tz.from_local_datetime(&local), LocalResult::Single(_));
    if unambiguous {
        (
            format!("at({})", local.format("%Y-%m-%dT%H:%M:%S")),
            tz.name().to_string(),
        )
    } else {
        (
            format!("at({})", at.naive_utc().format("%Y-%m-%dT%H:%M:%S")),
            "UTC".to_string(),
        )
    }
}

impl SurveyScheduler {
    pub fn new(
        client: aws_sdk_scheduler::Client,
        names: &Names,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        SurveyScheduler {
            client,
            group: names.schedule_group(),
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
        }
    }

    /// Creates the schedule; `Ok(false)` when one of that name exists already.
    pub async fn schedule_once(
        &self,
        name: &str,
        at: DateTime<Utc>,
        tz: Tz,
        payload: &str,
    ) -> PortResult<bool> {
        let (expression, zone) = at_expression(at, tz);
        let target = Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(payload)
            .build()
            .map_err(|e| PortError::Permanent(e.to_string()))?;
        let result = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.group)
            .schedule_expression(expression)
            .schedule_expression_timezone(zone)
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(|e| PortError::Permanent(e.to_string()))?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conflict_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(PortError::Transient(
                aws_sdk_scheduler::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }
}

/// The scheduler as a function needs it: the dispatch queue's ARN and the scheduler's execution
/// role come from the stack (`OTKLIK_DISPATCH_QUEUE_ARN`, `OTKLIK_SCHEDULER_ROLE_ARN`); on the
/// local endpoint, where no template sets them, the queue's ARN is looked up and the role is a
/// placeholder the local scheduler never checks.
pub async fn from_env(clients: &crate::Clients, names: &Names) -> PortResult<SurveyScheduler> {
    let target = match std::env::var("OTKLIK_DISPATCH_QUEUE_ARN") {
        Ok(arn) => arn,
        Err(_) => {
            crate::queue::SqsQueue::connect(
                clients.sqs.clone(),
                names,
                &crate::resources::DISPATCH_QUEUE,
            )
            .await?
            .arn()
            .await?
        }
    };
    let role = std::env::var("OTKLIK_SCHEDULER_ROLE_ARN")
        .unwrap_or_else(|_| format!("arn:aws:iam::123456789012:role/{}-scheduler", names.stack));
    Ok(SurveyScheduler::new(
        clients.scheduler.clone(),
        names,
        target,
        role,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_time_and_zone_unless_the_local_time_is_ambiguous() {
        assert_eq!(
            at_expression(utc("2026-11-25T07:00:00Z"), chrono_tz::Europe::Moscow),
            ("at(2026-11-25T10:00:00)".into(), "Europe/Moscow".into())
        );
        // 01:30 on 2026-11-01 happens twice in New York: written in UTC instead.
        assert_eq!(
            at_expression(utc("2026-11-01T05:30:00Z"), chrono_tz::America::New_York),
            ("at(2026-11-01T05:30:00)".into(), "UTC".into())
        );
    }
}
