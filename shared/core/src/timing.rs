//! When to ask: delay rules, the customer's send window, and who must not be asked.
//!
//! Intake calls [`plan`] once per order: the first matching rule gives the delay, the result is
//! moved into the send window in the customer's own time zone (so a shop in Moscow does not wake a
//! customer in Vladivostok), and the frequency cap and do-not-contact list can veto the survey.

use std::time::Duration;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::config::{SendWindow, SurveyConfig, TimingRule};
use crate::model::SkipReason;

/// What the timing rules may look at in an order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFacts {
    pub site: String,
    pub order_type: Option<String>,
    pub order_method: Option<String>,
    pub delivery_type: Option<String>,
    /// Product groups of the order's items.
    pub product_groups: Vec<String>,
}

fn field_matches(want: &Option<String>, have: &Option<String>) -> bool {
    match want {
        None => true,
        Some(w) => have.as_deref() == Some(w.as_str()),
    }
}

impl TimingRule {
    /// Every criterion the rule names must hold; criteria it leaves out match anything.
    pub fn matches(&self, facts: &OrderFacts) -> bool {
        self.site.as_deref().is_none_or(|s| s == facts.site)
            && field_matches(&self.order_type, &facts.order_type)
            && field_matches(&self.order_method, &facts.order_method)
            && field_matches(&self.delivery_type, &facts.delivery_type)
            && self
                .product_group
                .as_ref()
                .is_none_or(|g| facts.product_groups.iter().any(|p| p == g))
    }
}

/// The delay for an order and the index of the rule that gave it (`None`: the default).
pub fn delay_for(facts: &OrderFacts, survey: &SurveyConfig) -> (Duration, Option<usize>) {
    survey
        .rules
        .iter()
        .position(|r| r.matches(facts))
        .map(|i| (survey.rules[i].delay, Some(i)))
        .unwrap_or((survey.default_delay, None))
}

/// The instant at which a local wall-clock time happens on a date.
///
/// DST-safe: a time that happens twice (autumn) is taken at its first occurrence; a time that does
/// not exist (spring gap) is taken at the first instant after the gap, i.e. the transition itself.
fn resolve_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In the gap. Step forward a minute at a time: gaps are at most a few hours, and this
            // lands on the first wall-clock minute that exists.
            let mut probe = naive;
            for _ in 0..(24 * 60) {
                probe += chrono::Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            // No zone has a day-long gap; fall back to reading the wall time as UTC.
            Utc.from_utc_datetime(&naive)
        }
    }
}

/// Moves `at` forward to the first instant inside the send window in `tz` (or keeps it if it is
/// inside already). Never moves backwards.
pub fn into_window(at: DateTime<Utc>, window: &SendWindow, tz: Tz) -> DateTime<Utc> {
    let local_date = at.with_timezone(&tz).date_naive();
    // Eight days cover any set of allowed weekdays; config validation guarantees at least one.
    for offset in 0..=8u64 {
        let Some(date) = local_date.checked_add_days(Days::new(offset)) else {
            break;
        };
        if !window.days.contains(&date.weekday()) {
            continue;
        }
        let open = resolve_local(tz, date, window.start);
        let close = resolve_local(tz, date, window.end);
        if at < open {
            return open;
        }
        if at < close {
            return at;
        }
    }
    at
}

/// The send time of a survey: status time + the rule's delay, moved into the window.
pub fn send_time(
    status_at: DateTime<Utc>,
    facts: &OrderFacts,
    survey: &SurveyConfig,
    tz: Tz,
) -> DateTime<Utc> {
    let (delay, _) = delay_for(facts, survey);
    let due = status_at
        + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::days(3650));
    into_window(due, &survey.window, tz)
}

/// When the one reminder is due: `after` past the question, moved forward into the send window
/// in the customer's zone (a question at 20:50 with a 24 h reminder is reminded at 20:50 the
/// next day if the window is still open, else at its next opening).
pub fn reminder_time(
    sent_at: DateTime<Utc>,
    after: Duration,
    window: &SendWindow,
    tz: Tz,
) -> DateTime<Utc> {
    let due = sent_at + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::days(1));
    into_window(due, window, tz)
}

/// Whether `now` is inside the send window (a reminder fired late, by a redrive, waits for none).
pub fn in_window(now: DateTime<Utc>, window: &SendWindow, tz: Tz) -> bool {
    into_window(now, window, tz) == now
}

/// What intake knows about the customer when it decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHistory {
    /// On the do-not-contact list (opted out, on any channel, at any time).
    pub do_not_contact: bool,
    /// When this customer was last asked (any order).
    pub last_surveyed_at: Option<DateTime<Utc>>,
}

/// Whether this customer may be asked at `send_at`. Do-not-contact wins over everything; the
/// frequency cap counts from the last time we asked, so two orders in one week make one survey.
pub fn may_contact(
    history: &ContactHistory,
    frequency_cap: Duration,
    send_at: DateTime<Utc>,
) -> Result<(), SkipReason> {
    if history.do_not_contact {
        return Err(SkipReason::DoNotContact);
    }
    if let Some(last) = history.last_surveyed_at {
        let cap = chrono::Duration::from_std(frequency_cap).unwrap_or(chrono::Duration::MAX);
        if send_at < last + cap {
            return Err(SkipReason::FrequencyCap);
        }
    }
    Ok(())
}

/// Intake's whole timing decision for one order.
pub fn plan(
    status_at: DateTime<Utc>,
    facts: &OrderFacts,
    history: &ContactHistory,
    survey: &SurveyConfig,
    tz: Tz,
) -> Result<DateTime<Utc>, SkipReason> {
    let at = send_time(status_at, facts, survey, tz);
    may_contact(history, survey.frequency_cap, at)?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;
    use chrono_tz::{America, Asia, Europe};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn window(start: NaiveTime, end: NaiveTime, days: &[Weekday]) -> SendWindow {
        SendWindow {
            start,
            end,
            days: days.to_vec(),
        }
    }

    fn all() -> Vec<Weekday> {
        use Weekday::*;
        vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun]
    }

    fn survey(rules: Vec<TimingRule>) -> SurveyConfig {
        SurveyConfig {
            default_delay: Duration::from_secs(2 * 86_400),
            rules,
            window: window(hm(10, 0), hm(21, 0), &all()),
            frequency_cap: Duration::from_secs(30 * 86_400),
            reply_window: Duration::from_secs(7 * 86_400),
            inspector_batch_window: Duration::from_secs(900),
            reminder_after: None,
        }
    }

    fn rule(name: &str, delay_h: u64) -> TimingRule {
        TimingRule {
            name: Some(name.into()),
            site: None,
            order_type: None,
            order_method: None,
            delivery_type: None,
            product_group: None,
            delay: Duration::from_secs(delay_h * 3600),
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_the_default_covers_the_rest() {
        let mut pickup = rule("pickup", 2);
        pickup.delivery_type = Some("self-delivery".into());
        let mut furniture = rule("furniture", 240);
        furniture.product_group = Some("furniture".into());
        let mut opt = rule("opt", 72);
        opt.site = Some("opt".into());
        opt.order_method = Some("phone".into());
        let s = survey(vec![pickup, furniture, opt]);

        let mut f = OrderFacts {
            site: "main".into(),
            ..Default::default()
        };
        assert_eq!(delay_for(&f, &s), (Duration::from_secs(2 * 86_400), None));

        f.product_groups = vec!["lamps".into(), "furniture".into()];
        assert_eq!(delay_for(&f, &s).1, Some(1));
        f.delivery_type = Some("self-delivery".into());
        assert_eq!(delay_for(&f, &s).1, Some(0), "earlier rule wins");

        let mut o = OrderFacts {
            site: "opt".into(),
            ..Default::default()
        };
        assert_eq!(delay_for(&o, &s).1, None, "site alone is not enough");
        o.order_method = Some("phone".into());
        assert_eq!(delay_for(&o, &s).1, Some(2));
        assert_eq!(delay_for(&o, &s).0, Duration::from_secs(72 * 3600));
    }

    #[test]
    fn inside_the_window_nothing_moves() {
        let w = window(hm(10, 0), hm(21, 0), &all());
        // 15:00 in Moscow (UTC+3)
        let t = utc("2026-11-23T12:00:00Z");
        assert_eq!(into_window(t, &w, Europe::Moscow), t);
        // exactly at opening
        let open = utc("2026-11-23T07:00:00Z");
        assert_eq!(into_window(open, &w, Europe::Moscow), open);
    }

    #[test]
    fn window_edges() {
        let w = window(hm(10, 0), hm(21, 0), &all());
        // 09:59 Moscow → 10:00 same day
        assert_eq!(
            into_window(utc("2026-11-23T06:59:00Z"), &w, Europe::Moscow),
            utc("2026-11-23T07:00:00Z")
        );
        // 21:00 Moscow is closed (end is exclusive) → next day 10:00
        assert_eq!(
            into_window(utc("2026-11-23T18:00:00Z"), &w, Europe::Moscow),
            utc("2026-11-24T07:00:00Z")
        );
        // 20:59 still open
        let t = utc("2026-11-23T17:59:00Z");
        assert_eq!(into_window(t, &w, Europe::Moscow), t);
        // 02:00 at night → 10:00 same local day
        assert_eq!(
            into_window(utc("2026-11-22T23:00:00Z"), &w, Europe::Moscow),
            utc("2026-11-23T07:00:00Z")
        );
    }

    #[test]
    fn the_reminder_is_a_day_later_inside_the_window() {
        let w = window(hm(10, 0), hm(21, 0), &all());
        let day = Duration::from_secs(24 * 3600);
        // Asked at 15:00 Moscow → reminded at 15:00 the next day.
        assert_eq!(
            reminder_time(utc("2026-11-23T12:00:00Z"), day, &w, Europe::Moscow),
            utc("2026-11-24T12:00:00Z")
        );
        // Asked at 20:59 with a 2 h reminder → 23:00 is closed → 10:00 the next morning.
        assert_eq!(
            reminder_time(
                utc("2026-11-23T17:59:00Z"),
                Duration::from_secs(7200),
                &w,
                Europe::Moscow
            ),
            utc("2026-11-24T07:00:00Z")
        );
        assert!(in_window(utc("2026-11-23T12:00:00Z"), &w, Europe::Moscow));
        assert!(!in_window(utc("2026-11-23T00:30:00Z"), &w, Europe::Moscow));
        // Vladivostok's customer is asleep when Moscow's is not.
        assert!(!in_window(
            utc("2026-11-23T12:00:00Z"),
            &w,
            Asia::Vladivostok
        ));
    }

    #[test]
    fn the_customers_time_zone_decides_not_the_shops() {
        let w = window(hm(10, 0), hm(21, 0), &all());
        // 12:00 UTC = 15:00 Moscow (open) = 22:00 Vladivostok (closed)
        let t = utc("2026-11-23T12:00:00Z");
        assert_eq!(into_window(t, &w, Europe::Moscow), t);
        assert_eq!(
            into_window(t, &w, Asia::Vladivostok),
            utc("2026-11-24T00:00:00Z"),
            "next 10:00 in Vladivostok (UTC+10)"
        );
        // The local date matters: 23:30 UTC is already 04:30 tomorrow in Yekaterinburg (UTC+5), so
        // the window opens at 10:00 of that local day, not of the UTC one.
        assert_eq!(
            into_window(utc("2026-11-23T23:30:00Z"), &w, Asia::Yekaterinburg),
            utc("2026-11-24T05:00:00Z")
        );
    }

    #[test]
    fn allowed_days_skip_forward() {
        use Weekday::*;
        let weekdays = window(hm(10, 0), hm(21, 0), &[Mon, Tue, Wed, Thu, Fri]);
        // Saturday 2026-11-28 12:00 Moscow → Monday 2026-11-30 10:00
        assert_eq!(
            into_window(utc("2026-11-28T09:00:00Z"), &weekdays, Europe::Moscow),
            utc("2026-11-30T07:00:00Z")
        );
        // Friday after closing → Monday
        assert_eq!(
            into_window(utc("2026-11-27T19:00:00Z"), &weekdays, Europe::Moscow),
            utc("2026-11-30T07:00:00Z")
        );
        let sundays = window(hm(10, 0), hm(21, 0), &[Sun]);
        // Monday → next Sunday
        assert_eq!(
            into_window(utc("2026-11-23T09:00:00Z"), &sundays, Europe::Moscow),
            utc("2026-11-29T07:00:00Z")
        );
    }

    #[test]
    fn spring_forward_gap_opens_at_the_transition() {
        // Europe/Berlin jumps 02:00 → 03:00 on 2026-03-29. A window opening at 02:30 does not exist
        // that day; it opens at the first real minute, 03:00 CEST = 01:00 UTC.
        let w = window(hm(2, 30), hm(21, 0), &all());
        assert_eq!(
            into_window(utc("2026-03-28T23:30:00Z"), &w, Europe::Berlin),
            utc("2026-03-29T01:00:00Z")
        );
        // Normal 10:00 opening across the change: 10:00 CET on Saturday is 09:00 UTC, 10:00 CEST
        // on Sunday is 08:00 UTC.
        let w = window(hm(10, 0), hm(21, 0), &all());
        assert_eq!(
            into_window(utc("2026-03-28T05:00:00Z"), &w, Europe::Berlin),
            utc("2026-03-28T09:00:00Z")
        );
        assert_eq!(
            into_window(utc("2026-03-28T21:00:00Z"), &w, Europe::Berlin),
            utc("2026-03-29T08:00:00Z")
        );
    }

    #[test]
    fn fall_back_fold_takes_the_first_occurrence() {
        // America/New_York repeats 01:00–02:00 on 2026-11-01. A window opening at 01:30 opens at
        // the first 01:30 (EDT, UTC-4) = 05:30 UTC.
        let w = window(hm(1, 30), hm(21, 0), &all());
        assert_eq!(
            into_window(utc("2026-11-01T04:00:00Z"), &w, America::New_York),
            utc("2026-11-01T05:30:00Z")
        );
        // Inside the second 01:30 hour the window is already open: unchanged.
        let t = utc("2026-11-01T06:45:00Z"); // 01:45 EST
        assert_eq!(into_window(t, &w, America::New_York), t);
        // 21:00 after the change is EST (UTC-5) → 02:00 UTC next day closes.
        let w = window(hm(10, 0), hm(21, 0), &all());
        let late = utc("2026-11-02T01:59:00Z"); // 20:59 EST on Nov 1
        assert_eq!(into_window(late, &w, America::New_York), late);
        assert_eq!(
            into_window(utc("2026-11-02T02:00:00Z"), &w, America::New_York),
            utc("2026-11-02T15:00:00Z")
        );
    }

    #[test]
    fn send_time_adds_the_delay_then_respects_the_window() {
        let s = survey(vec![]);
        // completed Monday 20:00 Moscow + 2 days = Wednesday 20:00: inside.
        let done = utc("2026-11-23T17:00:00Z");
        let f = OrderFacts {
            site: "main".into(),
            ..Default::default()
        };
        assert_eq!(
            send_time(done, &f, &s, Europe::Moscow),
            utc("2026-11-25T17:00:00Z")
        );
        // completed at 23:00 Moscow + 2 days → 23:00 is closed → 10:00 the day after.
        let late = utc("2026-11-23T20:00:00Z");
        assert_eq!(
            send_time(late, &f, &s, Europe::Moscow),
            utc("2026-11-26T07:00:00Z")
        );
        // "at once" still waits for the window.
        let mut now_rule = rule("now", 0);
        now_rule.site = Some("main".into());
        let s = survey(vec![now_rule]);
        assert_eq!(
            send_time(late, &f, &s, Europe::Moscow),
            utc("2026-11-24T07:00:00Z")
        );
    }

    #[test]
    fn do_not_contact_and_frequency_cap() {
        let s = survey(vec![]);
        let f = OrderFacts {
            site: "main".into(),
            ..Default::default()
        };
        let done = utc("2026-11-23T09:00:00Z");
        let planned = plan(done, &f, &ContactHistory::default(), &s, Europe::Moscow).unwrap();
        assert_eq!(planned, utc("2026-11-25T09:00:00Z"));

        let dnc = ContactHistory {
            do_not_contact: true,
            last_surveyed_at: None,
        };
        assert_eq!(
            plan(done, &f, &dnc, &s, Europe::Moscow),
            Err(SkipReason::DoNotContact)
        );

        // Asked 20 days before the planned send: within a 30-day cap.
        let recent = ContactHistory {
            do_not_contact: false,
            last_surveyed_at: Some(utc("2026-11-05T09:00:00Z")),
        };
        assert_eq!(
            plan(done, &f, &recent, &s, Europe::Moscow),
            Err(SkipReason::FrequencyCap)
        );
        // Exactly 30 days before: allowed again.
        let old = ContactHistory {
            do_not_contact: false,
            last_surveyed_at: Some(utc("2026-10-26T09:00:00Z")),
        };
        assert_eq!(plan(done, &f, &old, &s, Europe::Moscow), Ok(planned));
        // Do-not-contact wins even when the cap would allow.
        let both = ContactHistory {
            do_not_contact: true,
            last_surveyed_at: Some(utc("2020-01-01T00:00:00Z")),
        };
        assert_eq!(
            may_contact(&both, s.frequency_cap, planned),
            Err(SkipReason::DoNotContact)
        );
    }

    proptest::proptest! {
        /// Whatever the instant and zone, the result is never earlier, lies inside an allowed
        /// window, and is at most eight days later.
        #[test]
        fn into_window_lands_inside_and_never_goes_back(
            secs in 1_700_000_000i64..1_900_000_000i64,
            zone in 0usize..6,
            start_h in 0u32..20,
            len_h in 1u32..4,
        ) {
            let zones = [Europe::Moscow, Europe::Berlin, America::New_York, Asia::Vladivostok, chrono_tz::Australia::Lord_Howe, chrono_tz::UTC];
            let tz = zones[zone];
            let w = window(hm(start_h, 0), hm(start_h + len_h, 0), &[Weekday::Tue, Weekday::Sat]);
            let at = Utc.timestamp_opt(secs, 0).unwrap();
            let out = into_window(at, &w, tz);
            proptest::prop_assert!(out >= at);
            proptest::prop_assert!(out - at <= chrono::Duration::days(8));
            let local = out.with_timezone(&tz);
            proptest::prop_assert!(w.days.contains(&local.weekday()));
            let open = resolve_local(tz, local.date_naive(), w.start);
            let close = resolve_local(tz, local.date_naive(), w.end);
            proptest::prop_assert!(open <= out && out < close, "{out} not in [{open}, {close})");
        }
    }
}
