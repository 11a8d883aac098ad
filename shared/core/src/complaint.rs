//! Complaint tracking (SPEC §2 step 7): what the statuses of a complaint order mean, when it was
//! first taken into work, when it reached a final status, and when the inspector is owed a
//! reminder. Pure: the trigger path and the history poller feed it status observations, in any
//! order and any number of times, and the answer does not depend on either.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::config::{ComplaintsConfig, WorkingHours};
use crate::kpi::ComplaintFacts;

/// Where a complaint order's status puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Created,
    InWork,
    Resolved,
    Failed,
    /// A status the config does not name (the shop added its own); counts as being worked on.
    Other,
}

impl Stage {
    pub fn of(status: &str, cfg: &ComplaintsConfig) -> Stage {
        if status == cfg.status_created {
            Stage::Created
        } else if status == cfg.status_in_work {
            Stage::InWork
        } else if status == cfg.status_resolved {
            Stage::Resolved
        } else if status == cfg.status_failed {
            Stage::Failed
        } else {
            Stage::Other
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Stage::Resolved | Stage::Failed)
    }
}

/// One complaint as tracked: everything is a time, so the report can count and measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplaintTrack {
    /// The complaint order in the complaints site.
    pub order_id: u64,
    pub opened_at: DateTime<Utc>,
    /// The earliest moment anyone moved it out of "created" (into work, or straight to an end).
    #[serde(default)]
    pub first_touched_at: Option<DateTime<Utc>>,
    /// The earliest moment it was seen in the "in work" status.
    #[serde(default)]
    pub first_in_work_at: Option<DateTime<Utc>>,
    /// The latest status observed and since when: the status of the order now.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_at: Option<DateTime<Utc>>,
    /// When the inspector was reminded (at most once).
    #[serde(default)]
    pub reminded_at: Option<DateTime<Utc>>,
    /// What this complaint adds to the per-day KPI counters, as the store last added it. Owned
    /// by the store adapter (`kpi::fold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<crate::kpi::fold::ComplaintPart>,
}

impl ComplaintTrack {
    pub fn new(order_id: u64, opened_at: DateTime<Utc>) -> Self {
        ComplaintTrack {
            order_id,
            opened_at,
            first_touched_at: None,
            first_in_work_at: None,
            status: None,
            status_at: None,
            reminded_at: None,
            kpi: None,
        }
    }

    /// Takes in "the order was in `status` at `at`". Observations may repeat and arrive out of
    /// order (a trigger after the poller, a redelivery): earliest times win for "first", the latest
    /// observation wins for the current status. Returns whether anything changed.
    pub fn observe(&mut self, status: &str, at: DateTime<Utc>, cfg: &ComplaintsConfig) -> bool {
        let before = self.clone();
        let stage = Stage::of(status, cfg);
        let earliest = |slot: &mut Option<DateTime<Utc>>| {
            if slot.is_none_or(|t| at < t) {
                *slot = Some(at);
            }
        };
        if stage != Stage::Created {
            earliest(&mut self.first_touched_at);
        }
        if stage == Stage::InWork {
            earliest(&mut self.first_in_work_at);
        }
        if self.status_at.is_none_or(|t| at >= t) {
            self.status = Some(status.to_string());
            self.status_at = Some(at);
        }
        *self != before
    }

    pub fn stage(&self, cfg: &ComplaintsConfig) -> Stage {
        self.status
            .as_deref()
            .map_or(Stage::Created, |s| Stage::of(s, cfg))
    }

    /// When it reached its final status and whether that was "resolved". A complaint reopened
    /// after a final status (moved back into work) is open again.
    pub fn closed(&self, cfg: &ComplaintsConfig) -> Option<(DateTime<Utc>, bool)> {
        let stage = self.stage(cfg);
        stage.is_final().then(|| {
            (
                self.status_at.unwrap_or(self.opened_at),
                stage == Stage::Resolved,
            )
        })
    }

    /// Hours from opening to first "in work", when it got there.
    pub fn hours_to_in_work(&self) -> Option<f64> {
        self.first_in_work_at
            .map(|t| (t - self.opened_at).num_seconds() as f64 / 3600.0)
    }

    /// Nobody has moved it out of "created" yet.
    pub fn untouched(&self) -> bool {
        self.first_touched_at.is_none()
    }

    /// Whether the inspector is owed the one reminder now: still untouched, not reminded yet, and
    /// open for at least the SLA, counted in working hours when the config has them.
    pub fn reminder_due(&self, now: DateTime<Utc>, cfg: &ComplaintsConfig, tz: Tz) -> bool {
        self.untouched()
            && self.reminded_at.is_none()
            && elapsed(self.opened_at, now, cfg.working_hours.as_ref(), tz) >= cfg.sla
    }

    /// The figures the KPI report needs.
    pub fn facts(&self, cfg: &ComplaintsConfig) -> ComplaintFacts {
        ComplaintFacts {
            opened_at: self.opened_at,
            closed: self.closed(cfg),
        }
    }
}

/// Time between `from` and `to` that counts towards the SLA: all of it without working hours,
/// else only the part inside the working hours on working days, in `tz`.
pub fn elapsed(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hours: Option<&WorkingHours>,
    tz: Tz,
) -> Duration {
    if to <= from {
        return Duration::ZERO;
    }
    let Some(h) = hours else {
        return (to - from).to_std().unwrap_or_default();
    };
    let mut total = chrono::Duration::zero();
    let mut day = from.with_timezone(&tz).date_naive();
    let last = to.with_timezone(&tz).date_naive();
    while day <= last {
        if h.days.contains(&day.weekday()) {
            let at = |t: NaiveTime| {
                tz.from_local_datetime(&day.and_time(t))
                    .earliest()
                    .map(|d| d.with_timezone(&Utc))
            };
            if let (Some(open), Some(close)) = (at(h.start), at(h.end)) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += b - a;
                }
            }
        }
        day = day.succ_opt().expect("dates before year 262143");
    }
    total.to_std().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EmployeeId;
    use chrono::Weekday;

    fn cfg(hours: Option<WorkingHours>) -> ComplaintsConfig {
        ComplaintsConfig {
            site: "reklamacii".into(),
            inspector_id: EmployeeId::new(7).unwrap(),
            order_type: None,
            order_method: None,
            status_created: "c-new".into(),
            status_in_work: "c-work".into(),
            status_failed: "c-failed".into(),
            status_resolved: "c-done".into(),
            sla: Duration::from_secs(4 * 3600),
            working_hours: hours,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn office() -> WorkingHours {
        use Weekday::*;
        WorkingHours {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            days: vec![Mon, Tue, Wed, Thu, Fri],
        }
    }

    #[test]
    fn statuses_in_any_order_give_the_same_times() {
        let c = cfg(None);
        let opened = t("2026-11-02T10:00:00Z");
        let seen = [
            ("c-work", t("2026-11-02T11:00:00Z")),
            ("c-work", t("2026-11-02T12:30:00Z")),
            ("c-done", t("2026-11-02T16:00:00Z")),
        ];
        let mut forward = ComplaintTrack::new(5, opened);
        for (s, at) in seen {
            forward.observe(s, at, &c);
        }
        let mut backward = ComplaintTrack::new(5, opened);
        for (s, at) in seen.iter().rev() {
            backward.observe(s, *at, &c);
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.first_in_work_at, Some(t("2026-11-02T11:00:00Z")));
        assert_eq!(forward.hours_to_in_work(), Some(1.0));
        assert_eq!(forward.closed(&c), Some((t("2026-11-02T16:00:00Z"), true)));
        // The same observation again changes nothing.
        assert!(!forward.observe("c-done", t("2026-11-02T16:00:00Z"), &c));
    }

    #[test]
    fn failed_is_closed_but_not_resolved_and_reopening_opens() {
        let c = cfg(None);
        let mut k = ComplaintTrack::new(5, t("2026-11-02T10:00:00Z"));
        assert_eq!(k.closed(&c), None);
        k.observe("c-failed", t("2026-11-02T12:00:00Z"), &c);
        assert_eq!(k.closed(&c), Some((t("2026-11-02T12:00:00Z"), false)));
        assert_eq!(k.first_in_work_at, None, "never seen in work");
        assert!(!k.untouched(), "a final status is a touch");
        k.observe("c-work", t("2026-11-03T09:00:00Z"), &c);
        assert_eq!(k.closed(&c), None);
        assert_eq!(k.facts(&c).closed, None);
    }

    #[test]
    fn the_created_status_is_not_a_touch() {
        let c = cfg(None);
        let mut k = ComplaintTrack::new(5, t("2026-11-02T10:00:00Z"));
        k.observe("c-new", t("2026-11-02T10:00:01Z"), &c);
        assert!(k.untouched());
        k.observe("shop-own-status", t("2026-11-02T10:30:00Z"), &c);
        assert!(!k.untouched(), "an unknown status means someone is on it");
        assert_eq!(k.first_in_work_at, None);
    }

    #[test]
    fn the_reminder_is_due_once_after_the_sla_in_wall_clock_hours() {
        let c = cfg(None);
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let opened = t("2026-11-02T10:00:00Z");
        let mut k = ComplaintTrack::new(5, opened);
        assert!(!k.reminder_due(t("2026-11-02T13:59:59Z"), &c, tz));
        assert!(k.reminder_due(t("2026-11-02T14:00:00Z"), &c, tz));
        k.reminded_at = Some(t("2026-11-02T14:00:00Z"));
        assert!(
            !k.reminder_due(t("2026-11-03T14:00:00Z"), &c, tz),
            "only one"
        );
        let mut worked = ComplaintTrack::new(5, opened);
        worked.observe("c-work", t("2026-11-02T11:00:00Z"), &c);
        assert!(!worked.reminder_due(t("2026-11-05T00:00:00Z"), &c, tz));
    }

    #[test]
    fn working_hours_skip_nights_and_weekends() {
        let tz: Tz = "Europe/Moscow".parse().unwrap(); // UTC+3
        let h = office();
        // Friday 2026-11-06 16:00 MSK → Monday 11:00 MSK: 2 h on Friday + 2 h on Monday.
        let from = t("2026-11-06T13:00:00Z");
        let to = t("2026-11-09T08:00:00Z");
        assert_eq!(
            elapsed(from, to, Some(&h), tz),
            Duration::from_secs(4 * 3600)
        );
        assert_eq!(
            elapsed(from, to, None, tz),
            Duration::from_secs((2 * 24 + 19) * 3600)
        );
        // Opened at 23:00: the clock starts at 09:00 next morning; 13:30 is 4.5 working hours on.
        assert_eq!(
            elapsed(
                t("2026-11-09T20:00:00Z"),
                t("2026-11-10T10:30:00Z"),
                Some(&h),
                tz
            ),
            Duration::from_secs(4 * 3600 + 1800)
        );
        assert_eq!(elapsed(to, from, Some(&h), tz), Duration::ZERO);

        let c = cfg(Some(h));
        let k = ComplaintTrack::new(5, from);
        assert!(!k.reminder_due(t("2026-11-09T07:59:00Z"), &c, tz));
        assert!(k.reminder_due(to, &c, tz));
    }
}
