//! The digest against a hand-computed week (below each assertion, the arithmetic), and when it is
//! due.

use std::time::Duration as StdDuration;

use chrono::{NaiveDate, Weekday};

use super::*;
use crate::complaint::ComplaintTrack;
use crate::kpi::SurveyFacts;
use crate::model::{Channel, EmployeeId, OrderRef};

const TZ: Tz = chrono_tz::Europe::Moscow;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Moscow local time (UTC+3) as UTC.
fn msk(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

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

fn fact(n: u64, sent: DateTime<Utc>, rating: Option<u8>, employees: &[u64]) -> OrderFacts {
    OrderFacts {
        kpi: SurveyFacts {
            survey: format!("s-main-shop-{n}"),
            channel: Channel::Whatsapp,
            asked: vec![Channel::Whatsapp],
            answered_via: rating.map(|_| Channel::Whatsapp),
            rating,
            employees: employees.to_vec(),
            complaint: None,
            awaiting_human: false,
        },
        order: OrderRef::new("main-shop", n).unwrap(),
        sent_at: sent,
        rated_at: rating.map(|_| sent + chrono::Duration::minutes(30)),
        words: Vec::new(),
        words_erased: false,
        complaint: None,
    }
}

fn said(mut f: OrderFacts, words: &[&str]) -> OrderFacts {
    f.words = words.iter().map(|w| w.to_string()).collect();
    f
}

fn complaint(
    mut f: OrderFacts,
    order: u64,
    opened: DateTime<Utc>,
    seen: &[(&str, DateTime<Utc>)],
) -> OrderFacts {
    let mut track = ComplaintTrack::new(order, opened);
    for (s, at) in seen {
        track.observe(s, *at, &cfg());
    }
    f.kpi.complaint = Some(track.facts(&cfg()));
    f.complaint = Some(track);
    f
}

/// The digest is sent on Monday 16 November 2026, 09:05 Moscow time.
fn now() -> DateTime<Utc> {
    msk(11, 16, 9, 5)
}

/// Last week (9–15 November): eight surveys asked, seven rated. The week before (2–8 November):
/// four rated. One older complaint still open, one survey of this week.
fn facts() -> Vec<OrderFacts> {
    vec![
        // Last week.
        fact(101, msk(11, 9, 10, 0), Some(5), &[11]),
        fact(102, msk(11, 10, 12, 0), Some(4), &[11, 12]),
        complaint(
            said(
                fact(103, msk(11, 11, 9, 0), Some(1), &[12]),
                &["Курьер опоздал на три часа", "и нагрубил"],
            ),
            901,
            msk(11, 11, 10, 0),
            &[],
        ),
        said(
            fact(104, msk(11, 12, 15, 0), Some(3), &[13]),
            &["Долго ждали ответа"],
        ),
        complaint(
            fact(105, msk(11, 13, 11, 0), Some(2), &[11]),
            902,
            msk(11, 13, 12, 0),
            &[("c-work", msk(11, 13, 13, 0))],
        ),
        fact(106, msk(11, 14, 18, 0), Some(5), &[13]),
        fact(107, msk(11, 15, 20, 0), None, &[12]),
        said(
            fact(108, msk(11, 15, 22, 0), Some(3), &[11]),
            &["Нормально,\n   но долго"],
        ),
        // Monday 00:30 in Moscow is still Sunday in UTC: this week's, not last week's.
        fact(109, msk(11, 16, 0, 30), Some(1), &[12]),
        // The week before; Monday 00:10 in Moscow is Sunday 1 November in UTC, yet it is this
        // week's in the shop's calendar.
        fact(110, msk(11, 3, 10, 0), Some(4), &[11]),
        complaint(
            fact(111, msk(11, 5, 10, 0), Some(2), &[12]),
            903,
            msk(11, 5, 11, 0),
            &[("c-work", msk(11, 5, 12, 0)), ("c-done", msk(11, 5, 15, 0))],
        ),
        fact(112, msk(11, 8, 23, 30), Some(5), &[13]),
        fact(113, msk(11, 2, 0, 10), Some(3), &[11]),
        // October: an untouched complaint, still open.
        complaint(
            fact(114, msk(10, 20, 9, 0), Some(1), &[12]),
            904,
            msk(10, 20, 10, 0),
            &[],
        ),
    ]
}

fn names() -> BTreeMap<u64, String> {
    BTreeMap::from([
        (11, "Ирина Котова".to_string()),
        (12, "Павел Ершов".to_string()),
    ])
}

fn the_digest() -> Digest {
    digest(
        DigestWeek::reported(now(), TZ),
        &facts(),
        &names(),
        &cfg(),
        TZ,
        now(),
    )
    .unwrap()
}

#[test]
fn the_week_is_the_last_whole_one_in_the_shops_calendar() {
    let w = DigestWeek::reported(now(), TZ);
    assert_eq!(
        (w.week.from, w.week.to),
        (day(2026, 11, 9), day(2026, 11, 15))
    );
    assert_eq!(
        (w.before.from, w.before.to),
        (day(2026, 11, 2), day(2026, 11, 8))
    );
    assert_eq!(w.key(), "2026-W46");
    // Any moment of the week that follows tells about the same week (Sunday night included).
    assert_eq!(DigestWeek::reported(msk(11, 22, 23, 59), TZ), w);
    // 23:30 UTC on Sunday is already Monday in Moscow: the next week's digest.
    let monday = Utc.with_ymd_and_hms(2026, 11, 22, 21, 30, 0).unwrap();
    assert_eq!(DigestWeek::reported(monday, TZ).key(), "2026-W47");
    // ISO weeks across a new year: 28 Dec 2026 is week 53 of 2026, 4 Jan 2027 week 1 of 2027.
    let jan = TZ.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap().to_utc();
    assert_eq!(DigestWeek::reported(jan, TZ).key(), "2027-W01");
    let dec = TZ.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap().to_utc();
    assert_eq!(DigestWeek::reported(dec, TZ).key(), "2026-W53");
    // The window reaches the dashboard's trend start, 11 weeks before last week's Monday.
    assert_eq!(w.window_start(), day(2026, 8, 24));
}

#[test]
fn it_is_due_from_the_configured_hour_of_the_configured_day() {
    let monday_9 = ReportConfig::default();
    assert!(!is_due(&monday_9, msk(11, 16, 8, 59), TZ));
    assert!(is_due(&monday_9, msk(11, 16, 9, 0), TZ));
    assert_eq!(due_at(&monday_9, msk(11, 19, 3, 0), TZ), msk(11, 16, 9, 0));
    // Later in the week it is still due (the claim, not the clock, stops a second mail).
    assert!(is_due(&monday_9, msk(11, 22, 23, 0), TZ));
    let friday_17 = ReportConfig {
        digest_day: Weekday::Fri,
        digest_hour: 17,
        ..ReportConfig::default()
    };
    assert!(!is_due(&friday_17, msk(11, 20, 16, 59), TZ));
    assert!(is_due(&friday_17, msk(11, 20, 17, 0), TZ));
    assert!(!is_due(&friday_17, msk(11, 16, 9, 0), TZ), "Monday");
    // A skipped hour (Berlin, 29 March 2026: 02:00 → 03:00) moves to the first hour after it.
    let berlin = chrono_tz::Europe::Berlin;
    let sunday_2 = ReportConfig {
        digest_day: Weekday::Sun,
        digest_hour: 2,
        ..ReportConfig::default()
    };
    let at = Utc.with_ymd_and_hms(2026, 3, 29, 5, 0, 0).unwrap();
    assert_eq!(
        due_at(&sunday_2, at, berlin),
        Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap(),
        "03:00 CEST"
    );
}

#[test]
fn the_figures_match_the_hand_computation() {
    let d = the_digest();
    // Last week: 101–108; rated 101 (5), 102 (4), 103 (1), 104 (3), 105 (2), 106 (5), 108 (3):
    // 7 rated, sum 23 / 7 = 3.2857 → 3.29; 4–5: 101, 102, 106 = 3/7 = 42.86 → 42.9 %;
    // 1–2: 103, 105; complaints 901, 902, none resolved. 109 is this week's.
    let t = &d.week.team;
    assert_eq!(t.rated_orders, 7);
    assert_eq!(t.average_rating, Some(3.29));
    assert_eq!(t.csat_percent, Some(42.9));
    assert_eq!(t.low_ratings, 2);
    assert_eq!((t.complaints_opened, t.complaints_resolved), (2, 0));
    // WhatsApp: 8 asked (101–108), 7 answered → 87.5 %.
    let wa = &d.week.response_rate_by_channel["whatsapp"];
    assert_eq!((wa.asked, wa.answered, wa.percent), (8, 7, Some(87.5)));
    // The week before: 110 (4), 111 (2), 112 (5), 113 (3): sum 14 / 4 = 3.5; 4–5: 2/4 = 50 %;
    // 1–2: 111; complaint 903 resolved.
    let b = &d.before.team;
    assert_eq!(b.rated_orders, 4);
    assert_eq!(b.average_rating, Some(3.5));
    assert_eq!(b.csat_percent, Some(50.0));
    assert_eq!(b.low_ratings, 1);
    assert_eq!((b.complaints_opened, b.complaints_resolved), (1, 1));
    // Employees last week: 11 → 101, 102, 105, 108 = 5+4+2+3 = 14 / 4 = 3.5; 12 → 102, 103 =
    // 5 / 2 = 2.5; 13 → 104, 106 = 8 / 2 = 4.
    let avg: Vec<(Option<u64>, u32, Option<f64>)> = d
        .week
        .employees
        .iter()
        .map(|r| (r.employee_id, r.rated_orders, r.average_rating))
        .collect();
    assert_eq!(
        avg,
        vec![
            (Some(11), 4, Some(3.5)),
            (Some(12), 2, Some(2.5)),
            (Some(13), 2, Some(4.0))
        ]
    );
    // Lowest: 1–3 only, worst first, newest first among equals: 103 (1), 105 (2), then the 3s
    // 108 (Sunday) before 104 (Thursday), which is left out.
    let lowest: Vec<(u64, u8)> = d.lowest.iter().map(|o| (o.order.id(), o.rating)).collect();
    assert_eq!(lowest, vec![(103, 1), (105, 2), (108, 3)]);
    // Past their SLA (4 h, every hour counts): 904 (untouched since 20 October) and 901
    // (untouched since Wednesday); 902 was taken into work after an hour; 903 is resolved.
    let late: Vec<(u64, f64)> = d
        .past_sla
        .iter()
        .map(|c| (c.complaint_order, c.sla_hours_used))
        .collect();
    // 20 Oct 10:00 → 16 Nov 09:05 = 27 days less 55 minutes = 647.08 h → 647.1;
    // 11 Nov 10:00 → 16 Nov 09:05 = 120 h less 55 minutes = 119.08 h → 119.1.
    assert_eq!(late, vec![(904, 647.1), (901, 119.1)]);
}

fn letter<'a>(lang: Lang, names: &'a BTreeMap<u64, String>) -> Letter<'a> {
    Letter {
        shop: "Магазин «Пример»",
        lang,
        crm_url: "https://shop.retailcrm.ru/",
        reports_url: Some("https://api.example/reports"),
        signin: Some((
            "https://api.example/reports/signin?token=abc.def",
            msk(11, 30, 9, 5),
        )),
        names,
        tz: TZ,
    }
}

#[test]
fn the_russian_mail_says_exactly_this() {
    let names = names();
    let mail = render(&the_digest(), &letter(Lang::Ru, &names));
    assert_eq!(
        mail.subject,
        "Магазин «Пример»: оценки за неделю 09.11.2026 – 15.11.2026"
    );
    let want = "\
Оценки покупателей за неделю 09.11.2026 – 15.11.2026
В скобках — неделя до неё, 02.11.2026 – 08.11.2026.

Команда
- Оценённых заказов: 7 (неделей раньше 4)
- Средняя оценка: 3,29 (неделей раньше 3,5)
- Довольны (4–5), %: 42,9 (неделей раньше 50)
- Оценки 1–2: 2 (неделей раньше 1)
- Жалоб открыто: 2 (неделей раньше 1)
- Жалоб решено: 0 (неделей раньше 1)
- Оценили через whatsapp: 7 / 8 (87,5 %)

Сотрудники
- Ирина Котова: оценённых заказов 4, средняя 3,5 (неделей раньше 3,5), оценок 1–2: 1
- #13: оценённых заказов 2, средняя 4 (неделей раньше 5), оценок 1–2: 0
- Павел Ершов: оценённых заказов 2, средняя 2,5 (неделей раньше 2), оценок 1–2: 1

Три самые низкие оценки недели (от 1 до 3)
1. Оценка 1 · Заказ 103 · Павел Ершов
   «Курьер опоздал на три часа / и нагрубил»
   Заказ в retailCRM: https://shop.retailcrm.ru/orders/103/edit
   Павел Ершов — страница в отчёте: https://api.example/reports/employee/12?from=2026-11-09&to=2026-11-15
2. Оценка 2 · Заказ 105 · Ирина Котова
   Покупатель ничего не написал.
   Заказ в retailCRM: https://shop.retailcrm.ru/orders/105/edit
   Ирина Котова — страница в отчёте: https://api.example/reports/employee/11?from=2026-11-09&to=2026-11-15
3. Оценка 3 · Заказ 108 · Ирина Котова
   «Нормально, но долго»
   Заказ в retailCRM: https://shop.retailcrm.ru/orders/108/edit
   Ирина Котова — страница в отчёте: https://api.example/reports/employee/11?from=2026-11-09&to=2026-11-15

Открытые жалобы, которые ждали дольше срока: 2
- Заказ 114 (оценка 1): открыта 20.10.2026 10:00, не взята
  Ждала в счёт срока / срок: 647,1 / 4 ч
  Жалоба: https://shop.retailcrm.ru/orders/904/edit
- Заказ 103 (оценка 1): открыта 11.11.2026 10:00, не взята
  Ждала в счёт срока / срок: 119,1 / 4 ч
  Жалоба: https://shop.retailcrm.ru/orders/901/edit

Весь отчёт — по ссылке:
https://api.example/reports/signin?token=abc.def
Ссылка действует до 30.11.2026. По ней отчёт открывается без пароля, поэтому не пересылайте письмо за пределы команды.

Заказ засчитывается всем, кто с ним работал; жалобы — оценки 1–2 и тройки с просьбой перезвонить.
Письмо приходит раз в неделю на адреса из report.digest_to в настройках Otklik.
";
    assert_eq!(mail.text, want, "{}", mail.text);
}

#[test]
fn english_and_ukrainian_carry_the_same_figures_in_their_words() {
    let names = names();
    let d = the_digest();
    let en = render(&d, &letter(Lang::En, &names));
    assert_eq!(
        en.subject,
        "Магазин «Пример»: ratings of the week 2026-11-09 – 2026-11-15"
    );
    for line in [
        "- Average rating: 3.29 (week before 3.5)",
        "1. Rating 1 · Order 103 · Павел Ершов",
        "Open complaints that waited longer than the SLA: 2",
        "  Waited against the SLA / SLA: 647.1 / 4 h",
        "The link works until 2026-11-30.",
    ] {
        assert!(en.text.contains(line), "{line}\n{}", en.text);
    }
    let uk = render(&d, &letter(Lang::Uk, &names));
    assert!(uk.text.contains("(тижнем раніше 3,5)"), "{}", uk.text);
    assert!(
        uk.text.starts_with("Оцінки покупців за тиждень"),
        "{}",
        uk.text
    );
}

#[test]
fn a_quiet_week_and_a_missing_link_are_said_plainly() {
    let weeks = DigestWeek::reported(now(), TZ);
    let d = digest(weeks, &[], &BTreeMap::new(), &cfg(), TZ, now()).unwrap();
    let names = BTreeMap::new();
    let l = Letter {
        reports_url: None,
        signin: None,
        ..letter(Lang::Ru, &names)
    };
    let text = render(&d, &l).text;
    assert!(
        text.contains("- Средняя оценка: — (неделей раньше —)"),
        "{text}"
    );
    assert!(text.contains("За этот период оценок нет."), "{text}");
    assert!(
        text.contains("Оценок от 1 до 3 за неделю не было."),
        "{text}"
    );
    assert!(text.contains("ждали дольше срока: 0"), "{text}");
    assert!(text.contains("otklik report link"), "{text}");
    assert!(
        !text.contains("Оценили через"),
        "no channel was asked: {text}"
    );
}

#[test]
fn long_words_are_cut_and_the_mime_is_plain_text() {
    let long = "слово ".repeat(100);
    assert_eq!(quote(&[long]).chars().count(), WORDS_CHARS);
    assert!(quote(&["a".repeat(400)]).ends_with('…'));
    let mail = Mail {
        subject: "Магазин: оценки за неделю".into(),
        text: "Строка\nещё".into(),
    };
    let raw = to_mime(
        &mail,
        "Otklik",
        "feedback@shop.example",
        "owner@shop.example",
        "digest.2026-W46.1@shop.example",
        now(),
    );
    assert!(raw.starts_with("From: Otklik <feedback@shop.example>\r\nTo: owner@shop.example\r\n"));
    assert!(raw.contains("Subject: =?UTF-8?B?"), "{raw}");
    assert!(raw.contains("Message-ID: <digest.2026-W46.1@shop.example>\r\n"));
    assert!(raw.contains("Content-Type: text/plain; charset=UTF-8\r\n"));
    assert!(!raw.contains("List-Unsubscribe"), "an internal mail");
    use base64::Engine as _;
    let body = raw.split_once("\r\n\r\n").unwrap().1.replace("\r\n", "");
    let text = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(String::from_utf8(text).unwrap(), "Строка\r\nещё");
}
