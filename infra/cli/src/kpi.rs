//! `otklik kpi`: the KPI report over the surveys sent in a period (see `otklik_core::kpi`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use otklik_aws::store::DynamoStore;
use otklik_core::kpi::{report, ComplaintFacts, Report, SurveyFacts};
use otklik_core::ports::PortError;

/// `from`..=`to` as whole days in the shop's time zone, as UTC instants.
pub fn period(from: &str, to: &str, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let day = |s: &str, what: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("--{what} must be a date like 2026-11-01, not {s:?}"))
    };
    let (f, t) = (day(from, "from")?, day(to, "to")?);
    if t < f {
        return Err(format!("--to ({to}) is before --from ({from})"));
    }
    let start = tz
        .from_local_datetime(&f.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .ok_or("the start of --from does not exist in the time zone")?;
    let end = tz
        .from_local_datetime(&t.and_hms_opt(23, 59, 59).expect("a second before midnight"))
        .latest()
        .ok_or("the end of --to does not exist in the time zone")?;
    Ok((start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

/// Collects the facts and computes the report.
pub async fn gather(
    store: &DynamoStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    names: &BTreeMap<u64, String>,
) -> Result<Report, PortError> {
    let mut facts = Vec::new();
    for s in store.surveys_sent_between(from, to).await? {
        let Some(channel) = s.channel else { continue };
        let complaint = store
            .complaint_opened_at(&s.id)
            .await?
            .map(|opened_at| ComplaintFacts {
                opened_at,
                // Complaint statuses are not tracked yet: every complaint counts as open.
                closed: None,
            });
        facts.push(SurveyFacts {
            survey: s.id.to_string(),
            channel,
            rating: s.rating.map(|r| r.value()),
            employees: s.employees.iter().map(|e| e.get()).collect(),
            complaint,
        });
    }
    Ok(report(&facts, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_shops_days() {
        let (f, t) = period("2026-11-01", "2026-11-30", chrono_tz::Europe::Moscow).unwrap();
        assert_eq!(f.to_rfc3339(), "2026-10-31T21:00:00+00:00");
        assert_eq!(t.to_rfc3339(), "2026-11-30T20:59:59+00:00");
        assert!(period("2026-11-30", "2026-11-01", chrono_tz::UTC).is_err());
        assert!(period("1.11.2026", "2026-11-30", chrono_tz::UTC)
            .unwrap_err()
            .contains("--from"));
    }
}
