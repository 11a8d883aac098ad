//! The per-day counters against the per-survey report: a seeded set of surveys goes through its
//! life (sent, reminded, rated, complaint opened, resolved or failed, reopened), every change
//! folded as the store folds it — redelivered changes included — and every period's report from
//! the counters equals [`kpi::report`] over the same surveys.

use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone};

use super::*;
use crate::machine::Contact;
use crate::model::{EmployeeId, OrderRef, Rating, SurveyState};

const TZ: Tz = chrono_tz::Asia::Yekaterinburg;

fn cfg() -> ComplaintsConfig {
    ComplaintsConfig {
        site: "reklamacii".into(),
        inspector_id: EmployeeId::new(7).unwrap(),
        order_type: None,
        order_method: None,
        status_created: "c-new".into(),
        status_in_work: "c-work".into(),
        status_failed: "c-failed".into(),
        status_resolved: "c-done".into(),
        sla: StdDuration::from_secs(4 * 3600),
        working_hours: None,
    }
}

/// The store's fold, in memory: the survey keeps the part it added; the change goes to `cells`.
/// Returns whether anything was added.
fn save(cells: &mut Cells, s: &mut Survey) -> bool {
    let (part, d) = refold_survey(s, TZ);
    apply(cells, &d);
    s.kpi = part;
    !d.is_empty()
}

fn save_track(cells: &mut Cells, s: &Survey, t: &mut ComplaintTrack) -> bool {
    let (part, d) = refold_complaint(s, t, &cfg(), TZ);
    apply(cells, &d);
    t.kpi = part;
    !d.is_empty()
}

/// A small deterministic generator (no dependency for a test's dice).
struct Dice(u64);
impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Seeded {
    cells: Cells,
    surveys: Vec<(Survey, Option<ComplaintTrack>)>,
}

fn seed(n: u64) -> Seeded {
    let mut dice = Dice(21);
    let mut cells = Cells::new();
    let mut surveys = Vec::new();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let c = cfg();
    for k in 0..n {
        // Spread over 120 days, at any minute: many land near the shop's midnight.
        let sent = start + Duration::minutes(dice.next(120 * 24 * 60) as i64);
        let mut s = Survey::new(
            OrderRef::new("main-shop", 1000 + k).unwrap(),
            Contact {
                phone: None,
                email: None,
            },
            sent - Duration::hours(1),
            sent,
        );
        // Created, not sent: adds nothing.
        assert!(!save(&mut cells, &mut s));
        let channel = [
            Channel::Whatsapp,
            Channel::Email,
            Channel::Max,
            Channel::Sms,
        ][dice.next(4) as usize];
        s.channel = Some(channel);
        s.sent_at = Some(sent);
        s.asked = vec![channel];
        s.state = SurveyState::AwaitingRating;
        s.employees = (0..1 + dice.next(3))
            .map(|_| EmployeeId::new(11 + dice.next(5)).unwrap())
            .collect();
        assert!(save(&mut cells, &mut s));
        // The same "sent" delivered again: nothing more is added.
        assert!(!save(&mut cells, &mut s));
        if dice.next(4) == 0 {
            // A reminder on email (sometimes the same channel twice).
            s.asked.push(Channel::Email);
            save(&mut cells, &mut s);
        }
        if dice.next(10) == 0 {
            s.last_inspector_notice_at = Some(sent + Duration::hours(2));
            save(&mut cells, &mut s);
        }
        let mut track = None;
        if dice.next(6) != 0 {
            let r = 1 + dice.next(5) as u8;
            s.rating = Some(Rating::new(r).unwrap());
            s.rated_at = Some(sent + Duration::minutes(30));
            s.replied_via = Some(if dice.next(5) == 0 {
                Channel::Email
            } else {
                channel
            });
            s.state = SurveyState::AwaitingContactConsent;
            assert!(save(&mut cells, &mut s));
            assert!(
                !save(&mut cells, &mut s),
                "a redelivered rating adds nothing"
            );
            if r <= 2 || (r == 3 && dice.next(2) == 0) {
                let opened = sent + Duration::hours(1);
                let mut t = ComplaintTrack::new(5000 + k, opened);
                assert!(save_track(&mut cells, &s, &mut t));
                assert!(!save_track(&mut cells, &s, &mut t));
                match dice.next(4) {
                    0 => {}
                    1 => {
                        t.observe(&c.status_failed, opened + Duration::hours(3), &c);
                    }
                    2 => {
                        t.observe(&c.status_in_work, opened + Duration::hours(1), &c);
                        t.observe(&c.status_resolved, opened + Duration::minutes(97), &c);
                    }
                    _ => {
                        // Resolved, then reopened into work, then resolved again later.
                        t.observe(&c.status_resolved, opened + Duration::hours(2), &c);
                        save_track(&mut cells, &s, &mut t);
                        t.observe(&c.status_in_work, opened + Duration::hours(5), &c);
                        save_track(&mut cells, &s, &mut t);
                        t.observe(&c.status_resolved, opened + Duration::hours(9), &c);
                    }
                }
                save_track(&mut cells, &s, &mut t);
                assert!(!save_track(&mut cells, &s, &mut t));
                track = Some(t);
            }
        }
        surveys.push((s, track));
    }
    Seeded { cells, surveys }
}

/// The per-survey report of the days `from..=to`, as `otklik_app::report::gather` computes it.
fn per_survey(seeded: &Seeded, from: NaiveDate, to: NaiveDate) -> Report {
    let (start, end) = kpi::days(from, to, TZ).unwrap();
    let facts: Vec<SurveyFacts> = seeded
        .surveys
        .iter()
        .filter(|(s, _)| s.sent_at.is_some_and(|t| t >= start && t <= end))
        .filter_map(|(s, t)| {
            let mut f = survey_facts(s)?;
            f.complaint = t.as_ref().map(|t| t.facts(&cfg()));
            Some(f)
        })
        .collect();
    kpi::report(&facts, &names())
}

fn names() -> BTreeMap<u64, String> {
    BTreeMap::from([(11, "Ирина".to_string()), (12, "Павел".to_string())])
}

#[test]
fn every_period_from_the_counters_equals_the_per_survey_report() {
    let seeded = seed(600);
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let periods = [
        (d(1, 1), d(1, 1)),
        (d(1, 1), d(1, 31)),
        (d(1, 15), d(2, 14)),
        (d(2, 1), d(4, 30)),
        (d(3, 31), d(3, 31)),
        (d(1, 1), d(12, 31)),
        (d(6, 1), d(6, 30)),
    ];
    for (from, to) in periods {
        let expected = per_survey(&seeded, from, to);
        let got = report_of(within(&seeded.cells, from, to), &names());
        assert_eq!(got, expected, "{from}..{to}");
    }
    // The year holds everything: a real check, not two empty reports.
    let year = per_survey(&seeded, d(1, 1), d(12, 31));
    assert!(year.team.rated_orders > 400, "{:?}", year.team);
    assert!(year.team.complaints_resolved > 20, "{:?}", year.team);
    assert!(year.awaiting_human > 0);
    assert!(year.response_rate_by_channel.contains_key("sms"));
}

#[test]
fn a_stored_part_round_trips_and_a_changed_day_moves_the_counters() {
    let mut cells = Cells::new();
    let sent = Utc.with_ymd_and_hms(2026, 3, 1, 18, 59, 0).unwrap();
    let mut s = Survey::new(
        OrderRef::new("main-shop", 1).unwrap(),
        Contact {
            phone: None,
            email: None,
        },
        sent,
        sent,
    );
    s.channel = Some(Channel::Whatsapp);
    s.sent_at = Some(sent);
    s.rating = Some(Rating::new(5).unwrap());
    s.employees = vec![EmployeeId::new(11).unwrap()];
    save(&mut cells, &mut s);
    // 18:59 UTC is 23:59 in Yekaterinburg: the 1st.
    assert_eq!(
        s.kpi.as_ref().unwrap().day,
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    );
    let json = serde_json::to_string(&s).unwrap();
    let back: Survey = serde_json::from_str(&json).unwrap();
    assert_eq!(back.kpi, s.kpi);
    // Sent again a minute later (a fallback): the 2nd now, the 1st back to nothing.
    s.sent_at = Some(sent + Duration::minutes(2));
    save(&mut cells, &mut s);
    let day1 = report_of(
        within(
            &cells,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        ),
        &names(),
    );
    assert_eq!(day1.team.rated_orders, 0);
    assert!(day1.employees.is_empty());
    let day2 = report_of(
        within(
            &cells,
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        ),
        &names(),
    );
    assert_eq!(day2.team.rated_orders, 1);
    assert_eq!(
        RowKey::parse(&RowKey::Employee(11).code()),
        Some(RowKey::Employee(11))
    );
    assert_eq!(RowKey::parse("t"), Some(RowKey::Team));
}
