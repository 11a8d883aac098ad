//! The report against a fixture of 20 surveys whose figures were computed by hand (below each
//! assertion, the arithmetic).

use super::*;
use chrono::TimeZone;

fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
}

fn s(n: u32, rating: Option<u8>, channel: Channel, employees: &[u64]) -> SurveyFacts {
    SurveyFacts {
        survey: format!("s-main-shop-{n}"),
        channel,
        asked: Vec::new(),
        answered_via: None,
        rating,
        employees: employees.to_vec(),
        complaint: None,
        awaiting_human: false,
    }
}

fn complaint(mut f: SurveyFacts, closed_after_h: Option<(i64, bool)>) -> SurveyFacts {
    f.complaint = Some(ComplaintFacts {
        opened_at: at(0),
        closed: closed_after_h.map(|(h, resolved)| (at(h), resolved)),
    });
    f
}

/// 16 rated, 4 unanswered; employees 11, 12, 13.
pub fn fixture() -> Vec<SurveyFacts> {
    use Channel::{Email as E, Whatsapp as W};
    vec![
        s(1, Some(5), W, &[11]),
        s(2, Some(5), W, &[11, 12]),
        s(3, Some(4), E, &[11]),
        s(4, Some(4), W, &[12]),
        s(5, Some(3), W, &[12]),
        complaint(s(6, Some(2), E, &[11]), Some((10, true))),
        complaint(s(7, Some(1), W, &[12, 13]), Some((4, true))),
        s(8, Some(5), E, &[13]),
        s(9, Some(5), W, &[13]),
        s(10, Some(4), W, &[11]),
        complaint(s(11, Some(1), E, &[11]), None),
        s(12, Some(3), E, &[13]),
        s(13, Some(5), W, &[12]),
        complaint(s(14, Some(2), W, &[13]), Some((6, false))),
        s(15, Some(4), E, &[11, 13]),
        s(16, Some(5), W, &[11]),
        s(17, None, W, &[11]),
        s(18, None, W, &[12]),
        s(19, None, E, &[13]),
        s(20, None, W, &[11]),
    ]
}

fn names() -> BTreeMap<u64, String> {
    BTreeMap::from([
        (11, "Ирина".to_string()),
        (12, "Павел".to_string()),
        (13, "Олег".to_string()),
    ])
}

#[test]
fn per_employee_figures_match_the_hand_computation() {
    let r = report(&fixture(), &names());
    let e: Vec<&Row> = r.employees.iter().collect();
    assert_eq!(e.len(), 3);
    // 11: surveys 1,2,3,6,10,11,15,16 → ratings 5,5,4,2,4,1,4,5: sum 30 / 8 = 3.75; 4–5: 6/8 = 75 %;
    // 1–2: #6, #11; complaints #6 (resolved in 10 h), #11 (open).
    assert_eq!(e[0].employee_id, Some(11));
    assert_eq!(e[0].name.as_deref(), Some("Ирина"));
    assert_eq!(e[0].rated_orders, 8);
    assert_eq!(e[0].average_rating, Some(3.75));
    assert_eq!(e[0].csat_percent, Some(75.0));
    assert_eq!(e[0].low_ratings, 2);
    assert_eq!((e[0].complaints_opened, e[0].complaints_resolved), (2, 1));
    assert_eq!(e[0].median_resolve_hours, Some(10.0));
    // 12: surveys 2,4,5,7,13 → 5,4,3,1,5: 18 / 5 = 3.6; 4–5: 3/5 = 60 %; complaint #7 in 4 h.
    assert_eq!(e[1].rated_orders, 5);
    assert_eq!(e[1].average_rating, Some(3.6));
    assert_eq!(e[1].csat_percent, Some(60.0));
    assert_eq!(e[1].low_ratings, 1);
    assert_eq!((e[1].complaints_opened, e[1].complaints_resolved), (1, 1));
    assert_eq!(e[1].median_resolve_hours, Some(4.0));
    // 13: surveys 7,8,9,12,14,15 → 1,5,5,3,2,4: 20 / 6 = 3.33; 4–5: 3/6 = 50 %; complaints #7
    // (resolved, 4 h) and #14 (failed: closed, not resolved).
    assert_eq!(e[2].rated_orders, 6);
    assert_eq!(e[2].average_rating, Some(3.33));
    assert_eq!(e[2].csat_percent, Some(50.0));
    assert_eq!(e[2].low_ratings, 2);
    assert_eq!((e[2].complaints_opened, e[2].complaints_resolved), (2, 1));
    assert_eq!(e[2].median_resolve_hours, Some(4.0));
}

#[test]
fn team_figures_and_response_rates_match_the_hand_computation() {
    let r = report(&fixture(), &names());
    // 16 rated orders (each once, however many employees): sum 58 / 16 = 3.625 → 3.63 (half away
    // from zero: 362.5 → 363); 4–5: 10/16 = 62.5 %; 1–2: #6,#7,#11,#14; complaints 4, resolved 2
    // (10 h, 4 h → median 7).
    assert_eq!(r.team.employee_id, None);
    assert_eq!(r.team.rated_orders, 16);
    assert_eq!(r.team.average_rating, Some(3.63));
    assert_eq!(r.team.csat_percent, Some(62.5));
    assert_eq!(r.team.low_ratings, 4);
    assert_eq!(
        (r.team.complaints_opened, r.team.complaints_resolved),
        (4, 2)
    );
    assert_eq!(r.team.median_resolve_hours, Some(7.0));
    // Ratings 1: #7,#11; 2: #6,#14; 3: #5,#12; 4: #3,#4,#10,#15; 5: #1,#2,#8,#9,#13,#16.
    assert_eq!(r.team.distribution, [2, 2, 2, 4, 6]);
    // Employee 11: 5,5,4,2,4,1,4,5 → one 1, one 2, three 4s, three 5s.
    assert_eq!(r.employees[0].distribution, [1, 1, 0, 3, 3]);
    // WhatsApp: 13 asked (1,2,4,5,7,9,10,13,14,16,17,18,20), 10 answered → 76.9 %.
    // Email: 7 asked (3,6,8,11,12,15,19), 6 answered → 85.7 %.
    let wa = &r.response_rate_by_channel["whatsapp"];
    assert_eq!((wa.asked, wa.answered, wa.percent), (13, 10, Some(76.9)));
    let em = &r.response_rate_by_channel["email"];
    assert_eq!((em.asked, em.answered, em.percent), (7, 6, Some(85.7)));
}

#[test]
fn csv_and_json_carry_the_same_figures() {
    let r = report(&fixture(), &names());
    let csv = r.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert_eq!(lines[1], "11,\"Ирина\",8,3.75,75,2,2,1,10");
    assert_eq!(lines[2], "12,\"Павел\",5,3.6,60,1,1,1,4");
    assert_eq!(lines[3], "13,\"Олег\",6,3.33,50,2,2,1,4");
    assert_eq!(lines[4], "team,\"\",16,3.63,62.5,4,4,2,7");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["team"]["averageRating"], 3.63);
    assert_eq!(json["team"]["csatPercent"], 62.5);
    assert_eq!(json["employees"][0]["employeeId"], 11);
    assert_eq!(json["employees"][0]["medianResolveHours"], 10.0);
    assert_eq!(json["responseRateByChannel"]["email"]["percent"], 85.7);
}

#[test]
fn the_table_is_aligned() {
    let t = report(&fixture(), &names()).to_table();
    let lines: Vec<&str> = t.lines().take(5).collect();
    // Every figure column ends at the same place on every line.
    let end_of_rated = |l: &str| l.find("rated orders").map(|i| i + "rated orders".len());
    let col = end_of_rated(lines[0]).unwrap();
    for l in &lines[1..] {
        let prefix: String = l.chars().take(col).collect();
        assert!(
            prefix.trim_end().ends_with(|c: char| c.is_ascii_digit()),
            "{t}"
        );
    }
    assert!(
        t.contains("response rate whatsapp: 10 of 13 (76.9%)"),
        "{t}"
    );
    // The name comes first; what the figures count is said once, under the table.
    assert!(lines[1].starts_with("Ирина "), "{t}");
    assert!(lines[4].starts_with("team "), "{t}");
    assert!(t.contains("complaints = ratings of 1–2, plus 3s"), "{t}");
    // An employee whose name is not known yet is shown by id.
    let mut unnamed = fixture();
    unnamed.push(s(99, Some(5), Channel::Whatsapp, &[77]));
    let t = report(&unnamed, &names()).to_table();
    assert!(t.lines().any(|l| l.starts_with("#77 ")), "{t}");
}

#[test]
fn max_and_sms_count_every_channel_asked_and_the_one_answered_on() {
    use Channel::{Email as E, Max as M, Sms as S};
    let on = |n, rating, channel, asked: &[Channel], via| SurveyFacts {
        asked: asked.to_vec(),
        answered_via: via,
        ..s(n, rating, channel, &[11])
    };
    let facts = vec![
        // Asked on MAX, answered there.
        on(1, Some(5), M, &[M], Some(M)),
        // Asked on MAX, silent, reminded by SMS, tapped the SMS.
        on(2, Some(4), M, &[M, S], Some(S)),
        // MAX failed, the SMS after it answered.
        on(3, Some(5), S, &[M, S], Some(S)),
        // SMS, reminded by email, never answered.
        on(4, None, S, &[S, E], None),
        // An old survey: only its channel.
        on(5, Some(3), E, &[], None),
    ];
    let r = report(&facts, &names());
    let rate = |c: &str| {
        let x = &r.response_rate_by_channel[c];
        (x.asked, x.answered, x.percent)
    };
    // MAX: asked 1, 2, 3; answered 1 → 33.3 %.
    assert_eq!(rate("max"), (3, 1, Some(33.3)));
    // SMS: asked 2, 3, 4; answered 2, 3 → 66.7 %.
    assert_eq!(rate("sms"), (3, 2, Some(66.7)));
    // Email: asked 4 and 5; answered 5 → 50 %.
    assert_eq!(rate("email"), (2, 1, Some(50.0)));
    assert_eq!(rate("whatsapp"), (0, 0, None));
    // A shop without MAX or SMS sees neither line.
    let plain = report(&fixture(), &names());
    assert!(!plain.response_rate_by_channel.contains_key("max"));
    assert!(!plain.response_rate_by_channel.contains_key("sms"));
    assert!(r.to_table().contains("response rate sms: 2 of 3 (66.7%)"));
}

#[test]
fn an_empty_period_has_no_averages() {
    let r = report(&[], &BTreeMap::new());
    assert!(r.employees.is_empty());
    assert_eq!(r.team.rated_orders, 0);
    assert_eq!(r.team.average_rating, None);
    assert_eq!(r.response_rate_by_channel["email"].percent, None);
}

#[test]
fn days_are_the_shops_days() {
    let (f, t) = period("2026-11-01", "2026-11-30", chrono_tz::Europe::Moscow).unwrap();
    assert_eq!(f.to_rfc3339(), "2026-10-31T21:00:00+00:00");
    // The last instant of the day, fractions included.
    assert_eq!(t.to_rfc3339(), "2026-11-30T20:59:59.999999999+00:00");
    assert!(period("2026-11-30", "2026-11-01", chrono_tz::UTC).is_err());
    assert!(period("1.11.2026", "2026-11-30", chrono_tz::UTC)
        .unwrap_err()
        .contains("--from"));
}

#[test]
fn unread_words_are_counted_once_per_survey() {
    let mut facts = fixture();
    // #17 and #19 were never rated; their customers wrote something we could not read.
    facts[16].awaiting_human = true;
    facts[18].awaiting_human = true;
    let r = report(&facts, &names());
    assert_eq!(r.awaiting_human, 2);
    assert!(r.to_table().contains("waiting for a person: 2"));
    assert_eq!(report(&fixture(), &names()).awaiting_human, 0);
}

#[test]
fn words_wait_for_a_person_only_while_nothing_is_rated_and_the_survey_is_open() {
    use crate::machine::{Contact, Survey};
    use crate::model::{OrderRef, Outcome, Rating, SurveyState};
    let mut s = Survey::new(
        OrderRef::new("main-shop", 1).unwrap(),
        Contact {
            phone: None,
            email: None,
        },
        at(0),
        at(0),
    );
    s.state = SurveyState::AwaitingRating;
    assert!(!awaiting_human(&s), "nobody was asked to look");
    s.last_inspector_notice_at = Some(at(1));
    assert!(awaiting_human(&s));
    s.state = SurveyState::Expired;
    assert!(awaiting_human(&s), "expired unanswered: still unread");
    s.rating = Some(Rating::new(4).unwrap());
    assert!(!awaiting_human(&s), "rated later: answered");
    s.rating = None;
    s.state = SurveyState::Closed {
        outcome: Outcome::OptedOut,
    };
    assert!(!awaiting_human(&s));
}

#[test]
fn a_period_longer_than_a_year_is_refused_in_words() {
    assert!(period_days("2026-01-01", "2026-12-31").is_ok());
    // A leap year's 366 days are a year too.
    assert!(period_days("2028-01-01", "2028-12-31").is_ok());
    let e = period_days("2026-01-01", "2027-01-02").unwrap_err();
    assert!(e.contains("367 days") && e.contains("at most 366"), "{e}");
    let e = period_days("0001-01-01", "9999-12-31").unwrap_err();
    assert!(e.contains("at most 366"), "{e}");
    assert!(period("2026-01-01", "2027-06-01", chrono_tz::UTC).is_err());
}
