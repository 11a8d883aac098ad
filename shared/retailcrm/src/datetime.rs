//! retailCRM's local `Y-m-d H:i:s` times ↔ UTC instants, in the account's time zone.
//!
//! retailCRM has no offsets on the wire, so every conversion needs the account zone. Around a DST
//! change a local time can be ambiguous (the repeated hour: we take the earlier instant) or missing
//! (the skipped hour: we read it with the offset in force just before the gap, i.e. shift forward).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses a retailCRM datetime (`Y-m-d H:i:s`, also `Y-m-d H:i`, `Y-m-d` and RFC 3339) given in
/// `tz`. `None` for anything else: callers treat an unreadable time as unknown, never as a failure.
pub fn parse_crm_datetime(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    Some(local_to_utc(naive, tz))
}

/// A local wall-clock time in `tz` → the instant. DST-safe, see the module docs.
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            // In a spring-forward gap. Gaps are at most a few hours long, so three hours earlier
            // is safely before it and carries the offset the clocks had when they jumped.
            let before = naive - Duration::hours(3);
            let offset = match tz.offset_from_local_datetime(&before) {
                LocalResult::Single(o) | LocalResult::Ambiguous(o, _) => o.fix(),
                LocalResult::None => tz.offset_from_utc_datetime(&before).fix(),
            };
            let secs = i64::from(offset.local_minus_utc());
            (naive - Duration::seconds(secs)).and_utc()
        }
    }
}

/// `Y-m-d H:i:s` in `tz`, as retailCRM expects in filters and order fields.
pub fn format_crm_datetime(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `Y-m-d H:i` in `tz`: the task `datetime` format.
pub fn format_crm_minutes(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::{Berlin, Moscow};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn moscow_is_utc_plus_three() {
        assert_eq!(
            parse_crm_datetime("2026-11-23 14:05:00", Moscow),
            Some(utc("2026-11-23T11:05:00Z"))
        );
        assert_eq!(
            format_crm_datetime(utc("2026-11-23T11:05:00Z"), Moscow),
            "2026-11-23 14:05:00"
        );
        assert_eq!(
            format_crm_minutes(utc("2026-11-23T11:05:59Z"), Moscow),
            "2026-11-23 14:05"
        );
    }

    #[test]
    fn berlin_summer_and_winter() {
        assert_eq!(
            parse_crm_datetime("2026-07-01 14:00:00", Berlin),
            Some(utc("2026-07-01T12:00:00Z"))
        );
        assert_eq!(
            parse_crm_datetime("2026-01-15 14:00:00", Berlin),
            Some(utc("2026-01-15T13:00:00Z"))
        );
        assert_eq!(
            format_crm_datetime(utc("2026-07-01T12:00:00Z"), Berlin),
            "2026-07-01 14:00:00"
        );
    }

    #[test]
    fn ambiguous_fall_back_takes_the_earliest() {
        // 2026-10-25: Berlin goes 03:00 CEST → 02:00 CET, so 02:30 happens twice.
        assert_eq!(
            parse_crm_datetime("2026-10-25 02:30:00", Berlin),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn spring_forward_gap_shifts_forward() {
        // 2026-03-29: Berlin skips 02:00–03:00; 02:30 is read with the CET offset (= 03:30 CEST).
        let t = parse_crm_datetime("2026-03-29 02:30:00", Berlin).unwrap();
        assert_eq!(t, utc("2026-03-29T01:30:00Z"));
        assert_eq!(format_crm_datetime(t, Berlin), "2026-03-29 03:30:00");
    }

    #[test]
    fn other_shapes_and_garbage() {
        assert_eq!(
            parse_crm_datetime("2026-11-23 14:05", Moscow),
            Some(utc("2026-11-23T11:05:00Z"))
        );
        assert_eq!(
            parse_crm_datetime("2026-11-23", Moscow),
            Some(utc("2026-11-22T21:00:00Z"))
        );
        assert_eq!(
            parse_crm_datetime("2026-11-23T14:05:00+03:00", Berlin),
            Some(utc("2026-11-23T11:05:00Z"))
        );
        assert_eq!(parse_crm_datetime("", Moscow), None);
        assert_eq!(parse_crm_datetime("yesterday", Moscow), None);
        assert_eq!(parse_crm_datetime("2026-13-45 99:00:00", Moscow), None);
    }
}
