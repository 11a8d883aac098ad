//! The dashboard's figures against hand-computed ones, and its pages and files against what they
//! promise (the same numbers as `otklik kpi`, escaping, the CSV dialect).

use std::time::Duration as StdDuration;

use chrono::{NaiveDate, TimeZone};

use super::page::{render_dashboard, render_employee, render_error, ErrorPage, Frame};
use super::*;
use crate::config::WorkingHours;
use crate::model::EmployeeId;
use crate::texts::Lang;

const TZ: Tz = chrono_tz::Europe::Moscow;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Moscow local time (UTC+3) as UTC.
fn msk(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

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
        sla: StdDuration::from_secs(4 * 3600),
        working_hours: hours,
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
        rated_at: rating.map(|_| sent + chrono::Duration::hours(1)),
        words: Vec::new(),
        words_erased: false,
        complaint: None,
    }
}

fn with_complaint(
    mut f: OrderFacts,
    order: u64,
    opened: DateTime<Utc>,
    seen: &[(&str, DateTime<Utc>)],
) -> OrderFacts {
    let mut track = ComplaintTrack::new(order, opened);
    for (s, at) in seen {
        track.observe(s, *at, &cfg(None));
    }
    f.kpi.complaint = Some(track.facts(&cfg(None)));
    f.complaint = Some(track);
    f
}

fn names() -> BTreeMap<u64, String> {
    BTreeMap::from([(11, "Ирина".to_string()), (12, "Павел <b>".to_string())])
}

/// November 2026 (Moscow): six surveys in the month, two in October, one on 1 December.
fn month() -> Vec<OrderFacts> {
    vec![
        fact(1, msk(2026, 11, 2, 10), Some(5), &[11]),
        fact(2, msk(2026, 11, 3, 12), Some(4), &[11, 12]),
        with_complaint(
            fact(3, msk(2026, 11, 9, 9), Some(1), &[12]),
            901,
            msk(2026, 11, 9, 11),
            &[
                ("c-work", msk(2026, 11, 9, 13)),
                ("c-done", msk(2026, 11, 10, 11)),
            ],
        ),
        with_complaint(
            fact(4, msk(2026, 11, 20, 9), Some(2), &[11]),
            902,
            msk(2026, 11, 20, 10),
            &[],
        ),
        fact(5, msk(2026, 11, 25, 9), Some(3), &[12]),
        fact(6, msk(2026, 11, 30, 23), None, &[11]),
        // Moscow's 1 November starts at 31 October 21:00 UTC: this one is still October's.
        fact(7, msk(2026, 10, 31, 23), Some(1), &[11]),
        fact(8, msk(2026, 10, 20, 9), Some(5), &[12]),
        fact(9, msk(2026, 12, 1, 0), Some(5), &[11]),
    ]
}

fn november() -> Period {
    Period::range(day(2026, 11, 1), day(2026, 11, 30)).unwrap()
}

#[test]
fn presets_are_whole_days_in_the_shop_calendar() {
    let today = day(2026, 3, 15);
    let p = |code| Period::choose(Some(code), None, None, today).unwrap();
    assert_eq!(
        Period::choose(None, None, None, today).unwrap(),
        Period {
            preset: Preset::ThisMonth,
            from: day(2026, 3, 1),
            to: today
        }
    );
    assert_eq!(
        (p("last-month").from, p("last-month").to),
        (day(2026, 2, 1), day(2026, 2, 28))
    );
    assert_eq!(
        (p("last-7-days").from, p("last-7-days").to),
        (day(2026, 3, 9), today)
    );
    assert_eq!(
        (p("last-30-days").from, p("last-30-days").to),
        (day(2026, 2, 14), today)
    );
    // January's "last month" is last year's December.
    let jan = Period::preset(Preset::LastMonth, day(2027, 1, 3));
    assert_eq!((jan.from, jan.to), (day(2026, 12, 1), day(2026, 12, 31)));
    // A range wins over the preset, and is kept in links as dates.
    let r = Period::choose(
        Some("last-month"),
        Some("2026-01-05"),
        Some("2026-01-09"),
        today,
    )
    .unwrap();
    assert_eq!(
        (r.preset, r.from, r.to),
        (Preset::Range, day(2026, 1, 5), day(2026, 1, 9))
    );
    assert_eq!(r.query(), "from=2026-01-05&to=2026-01-09");
    assert_eq!(p("last-7-days").query(), "period=last-7-days");
    // Moscow's days: 1 March 00:00 MSK is 28 February 21:00 UTC.
    let (from, to) = p("this-month").instants(TZ).unwrap();
    assert_eq!(from, Utc.with_ymd_and_hms(2026, 2, 28, 21, 0, 0).unwrap());
    assert_eq!(
        to,
        Utc.with_ymd_and_hms(2026, 3, 15, 20, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(999_999_999)
    );
}

#[test]
fn absurd_periods_are_refused_with_a_reason() {
    let today = day(2026, 3, 15);
    let ask = |f: &str, t: &str| Period::choose(None, Some(f), Some(t), today);
    assert_eq!(ask("2026-03-10", "2026-03-01"), Err(PeriodError::Reversed));
    assert_eq!(
        ask("2025-01-01", "2026-01-02"),
        Err(PeriodError::TooLong(367))
    );
    assert!(ask("2024-01-01", "2024-12-31").is_ok(), "a leap year fits");
    assert_eq!(
        ask("1970-01-01", "1970-01-02"),
        Err(PeriodError::OutOfRange)
    );
    assert_eq!(
        ask("0001-01-01", "9999-12-31"),
        Err(PeriodError::OutOfRange)
    );
    assert!(matches!(
        ask("yesterday", "2026-03-01"),
        Err(PeriodError::NotADate(_))
    ));
    assert_eq!(
        Period::choose(None, Some("2026-03-01"), None, today),
        Err(PeriodError::HalfRange)
    );
    assert!(matches!(
        Period::choose(Some("forever"), None, None, today),
        Err(PeriodError::UnknownPreset(_))
    ));
}

#[test]
fn the_trend_is_the_twelve_weeks_ending_with_the_period() {
    let weeks = november().trend_weeks();
    assert_eq!(weeks.len(), TREND_WEEKS);
    // 30 November 2026 is a Monday: the last week starts that day.
    assert_eq!(weeks[11], day(2026, 11, 30));
    assert_eq!(weeks[0], day(2026, 9, 14));
    assert_eq!(november().window_start(), day(2026, 9, 14));
}

#[test]
fn the_period_figures_are_the_kpi_report_of_the_same_days() {
    let d = dashboard(
        november(),
        &month(),
        &names(),
        &cfg(None),
        TZ,
        msk(2026, 12, 2, 12),
    )
    .unwrap();
    // What `otklik kpi --from 2026-11-01 --to 2026-11-30` reads: surveys 1–6 (7 is October in
    // Moscow, 9 is December).
    let november_facts: Vec<SurveyFacts> = month()[..6].iter().map(|f| f.kpi.clone()).collect();
    assert_eq!(d.report, kpi::report(&november_facts, &names()));
    // By hand: ratings 5,4,1,2,3 → 15/5 = 3.0; 4–5: 2/5 = 40 %; one each of 1..5.
    assert_eq!(d.report.team.rated_orders, 5);
    assert_eq!(d.report.team.average_rating, Some(3.0));
    assert_eq!(d.report.team.csat_percent, Some(40.0));
    assert_eq!(d.report.team.distribution, [1, 1, 1, 1, 1]);
}

#[test]
fn weekly_figures_match_the_hand_computation() {
    let d = dashboard(
        november(),
        &month(),
        &names(),
        &cfg(None),
        TZ,
        msk(2026, 12, 2, 12),
    )
    .unwrap();
    let week = |m: NaiveDate| d.team_trend.iter().find(|w| w.monday == m).unwrap();
    // Week of 26 Oct: #7 (1, 31 Oct MSK) → 1 rated, average 1, CSAT 0.
    let w = week(day(2026, 10, 26));
    assert_eq!(
        (w.rated_orders, w.average_rating, w.csat_percent),
        (1, Some(1.0), Some(0.0))
    );
    // Week of 2 Nov: #1 (5), #2 (4) → 4.5, 100 %.
    let w = week(day(2026, 11, 2));
    assert_eq!(
        (w.rated_orders, w.average_rating, w.csat_percent),
        (2, Some(4.5), Some(100.0))
    );
    // Week of 30 Nov: #6 (not rated) and #9 (5, 1 Dec): the trend's last week runs past the period.
    let w = week(day(2026, 11, 30));
    assert_eq!((w.rated_orders, w.average_rating), (1, Some(5.0)));
    // A week without ratings has no figures.
    assert_eq!(week(day(2026, 9, 14)).average_rating, None);
    // Employee 12: week of 9 Nov has #3 (1); week of 2 Nov #2 (4).
    let e12 = &d.employee_trend[&12];
    assert_eq!(e12.len(), TREND_WEEKS);
    let at = |m: NaiveDate| e12.iter().find(|w| w.monday == m).unwrap();
    assert_eq!(at(day(2026, 11, 9)).average_rating, Some(1.0));
    assert_eq!(at(day(2026, 11, 2)).csat_percent, Some(100.0));
    assert_eq!(at(day(2026, 11, 16)).rated_orders, 0);
}

#[test]
fn open_complaints_are_oldest_first_and_measured_against_the_sla() {
    let mut facts = month();
    // A second open complaint, older, already taken into work 2 h after opening.
    facts.push(with_complaint(
        fact(10, msk(2026, 11, 5, 9), Some(1), &[12]),
        903,
        msk(2026, 11, 5, 10),
        &[("c-work", msk(2026, 11, 5, 12))],
    ));
    let now = msk(2026, 11, 20, 13);
    let open = open_complaints(&facts, &cfg(None), TZ, now);
    // #3 is resolved: not listed.
    assert_eq!(
        open.iter().map(|c| c.complaint_order).collect::<Vec<_>>(),
        vec![903, 902]
    );
    // 903: taken after 2 h → within the 4 h SLA, however old it is now.
    assert_eq!(
        (
            open[0].sla_hours_used,
            open[0].past_sla,
            open[0].taken_into_work
        ),
        (2.0, false, true)
    );
    assert_eq!(open[0].age_hours, 15.0 * 24.0 + 3.0);
    // 902: opened 10:00, untouched at 13:00 → 3 h of 4.
    assert_eq!(
        (open[1].age_hours, open[1].sla_hours_used, open[1].sla_hours),
        (3.0, 3.0, 4.0)
    );
    assert!(!open[1].past_sla);
    let later = open_complaints(&facts, &cfg(None), TZ, msk(2026, 11, 20, 14));
    assert!(later[1].past_sla, "4 h untouched is past the SLA");
    // With office hours 9–18 on weekdays, Friday 20 Nov 10:00 → Monday 23 Nov 10:00 has used
    // 8 h (Fri) + 1 h (Mon) of SLA time.
    let office = cfg(Some(WorkingHours {
        start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end: chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        days: vec![
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
            chrono::Weekday::Thu,
            chrono::Weekday::Fri,
        ],
    }));
    let monday = open_complaints(&facts, &office, TZ, msk(2026, 11, 23, 10));
    assert_eq!(monday[1].sla_hours_used, 9.0);
    let d = dashboard(november(), &facts, &names(), &cfg(None), TZ, now).unwrap();
    assert_eq!(d.open_past_sla, 0);
    let d = dashboard(
        november(),
        &facts,
        &names(),
        &cfg(None),
        TZ,
        msk(2026, 11, 21, 9),
    )
    .unwrap();
    assert_eq!(d.open_past_sla, 1);
}

#[test]
fn an_employees_rated_orders_are_the_period_worst_first() {
    let mut facts = month();
    facts[2].words = vec!["Курьер опоздал на три часа".into()];
    let low = rated_orders(&november(), &facts, Some(12), 3, &cfg(None), TZ).unwrap();
    // Employee 12 in November: #2 (4), #3 (1), #5 (3) → the 1, then the 3.
    assert_eq!(
        low.iter()
            .map(|o| (o.order.id(), o.rating))
            .collect::<Vec<_>>(),
        vec![(3, 1), (5, 3)]
    );
    assert_eq!(low[0].words, vec!["Курьер опоздал на три часа".to_string()]);
    assert_eq!(low[0].complaint, Some((901, ComplaintOutcome::Resolved)));
    let all = rated_orders(&november(), &facts, None, 5, &cfg(None), TZ).unwrap();
    assert_eq!(
        all.len(),
        5,
        "every rated order of the period, not the unrated #6"
    );
}

#[test]
fn the_table_sorts_by_any_column_and_keeps_empty_figures_last() {
    let mut rows = dashboard(
        november(),
        &month(),
        &names(),
        &cfg(None),
        TZ,
        msk(2026, 12, 2, 12),
    )
    .unwrap()
    .report
    .employees;
    // 11: #1 5, #2 4, #4 2 → 3.67; 12: #2 4, #3 1, #5 3 → 2.67.
    sort_rows(&mut rows, SortKey::Average, true);
    assert_eq!(
        rows.iter().map(|r| r.employee_id).collect::<Vec<_>>(),
        vec![Some(11), Some(12)]
    );
    sort_rows(&mut rows, SortKey::Average, false);
    assert_eq!(rows[0].employee_id, Some(12));
    sort_rows(&mut rows, SortKey::Name, false);
    assert_eq!(rows[0].name.as_deref(), Some("Ирина"));
    rows[0].average_rating = None;
    sort_rows(&mut rows, SortKey::Average, false);
    assert_eq!(
        rows[1].average_rating, None,
        "no figure sorts last either way"
    );
    assert_eq!(SortKey::parse("csat"), Some(SortKey::Csat));
    assert_eq!(SortKey::parse("drop table"), None);
}

fn frame<'a>(names: &'a BTreeMap<u64, String>, lang: Lang) -> Frame<'a> {
    Frame {
        shop: "Лавка «Чай & Кофе»",
        words: Words::of(lang),
        base: "/reports",
        crm_url: "https://demo.retailcrm.ru/",
        names,
        inspector: 7,
        tz: TZ,
    }
}

#[test]
fn the_page_shows_every_figure_as_computed_and_escapes_what_it_is_given() {
    let n = names();
    let d = dashboard(
        november(),
        &month(),
        &n,
        &cfg(None),
        TZ,
        msk(2026, 11, 20, 15),
    )
    .unwrap();
    let html = render_dashboard(&frame(&n, Lang::Ru), &d, SortKey::Rated, true);
    for (name, value, text) in [
        ("team.ratedOrders", "5", ">5<"),
        ("team.averageRating", "3", ">3<"),
        ("team.csatPercent", "40", ">40<"),
        ("team.openPastSla", "1", ">1<"),
        ("employee.11.averageRating", "3.67", ">3,67<"),
        ("channel.whatsapp.percent", "83.3", ">83,3<"),
        ("team.distribution.1", "1", ">1<"),
    ] {
        let needle = format!("data-figure=\"{name}\" data-value=\"{value}\"{text}");
        assert!(html.contains(&needle), "{needle} in {html}");
    }
    assert!(html.contains("<html lang=\"ru\">"));
    assert!(html.contains("Павел &lt;b&gt;"), "names are escaped");
    assert!(!html.contains("Павел <b>"));
    assert!(html.contains("Лавка «Чай &amp; Кофе»"));
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("http://") && !html.contains("src=\"http"),
        "nothing from elsewhere"
    );
    // Links keep the period; the employee opens their page; the complaint links to retailCRM.
    assert!(html.contains("href=\"/reports/employee/11?from=2026-11-01&amp;to=2026-11-30\""));
    assert!(
        html.contains("href=\"https://demo.retailcrm.ru/orders/902/edit\""),
        "the complaint"
    );
    assert!(
        html.contains("href=\"https://demo.retailcrm.ru/orders/4/edit\""),
        "its order"
    );
    assert!(html.contains("/reports/employees.csv?from=2026-11-01&amp;to=2026-11-30"));
    assert!(html.contains("aria-sort=\"descending\""));
    // #7 is the inspector; no name known yet.
    assert!(html.contains("Разбирает: #7"));
    let en = render_dashboard(&frame(&n, Lang::En), &d, SortKey::Name, false);
    assert!(en.contains("<html lang=\"en\">") && en.contains(">3.67<"));
}

#[test]
fn the_employee_page_lists_low_ratings_with_words_and_order_links() {
    let n = names();
    let mut facts = month();
    facts[2].words = vec!["<img src=x onerror=alert(1)> привезли не то".into()];
    let d = dashboard(november(), &facts, &n, &cfg(None), TZ, msk(2026, 12, 2, 12)).unwrap();
    let low = rated_orders(&november(), &facts, Some(12), 3, &cfg(None), TZ).unwrap();
    let row = d
        .report
        .employees
        .iter()
        .find(|r| r.employee_id == Some(12));
    let html = render_employee(
        &frame(&n, Lang::Ru),
        &november(),
        12,
        row,
        &d.employee_trend[&12],
        &low,
        &one_page(low.len()),
    );
    assert!(html.contains("data-figure=\"employee.ratedOrders\" data-value=\"3\""));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; привезли не то"));
    assert!(!html.contains("<img"));
    assert!(html.contains("href=\"https://demo.retailcrm.ru/orders/3/edit\""));
    assert_eq!(html.matches("<article class=\"rating\"").count(), 2);
    assert!(
        html.contains("Покупатель ничего не написал."),
        "#5 has no words"
    );
    // Past the retention period the words are gone, and the page says so rather than "wrote
    // nothing"; the rating still counts.
    let mut erased = month();
    erased[2].words_erased = true;
    let low = rated_orders(&november(), &erased, Some(12), 3, &cfg(None), TZ).unwrap();
    let html = render_employee(
        &frame(&n, Lang::Ru),
        &november(),
        12,
        row,
        &d.employee_trend[&12],
        &low,
        &one_page(low.len()),
    );
    assert_eq!(html.matches("<article class=\"rating\"").count(), 2);
    assert!(
        html.contains("Слова покупателя удалены: срок их хранения истёк."),
        "{html}"
    );
    assert!(
        html.contains("Покупатель ничего не написал."),
        "#5 still wrote nothing"
    );
    // An employee without ratings in the period gets a page, not an error.
    let none = render_employee(
        &frame(&n, Lang::Ru),
        &november(),
        99,
        None,
        &[],
        &[],
        &one_page(0),
    );
    assert!(
        !none.contains("class=\"pager\""),
        "a short list has no pager"
    );
    assert!(none.contains("#99") && none.contains("Оценок от 1 до 3 за период нет."));
}

#[test]
fn error_pages_say_what_to_do() {
    let n = names();
    let f = frame(&n, Lang::Ru);
    let page = render_error(&f, &ErrorPage::Unauthorized);
    assert!(page.contains("data-error=\"unauthorized\"") && page.contains("otklik report link"));
    let page = render_error(&f, &ErrorPage::BadPeriod(PeriodError::TooLong(4000)));
    assert!(page.contains("Выбрано 4000 дн."), "{page}");
    let en = render_error(
        &frame(&n, Lang::En),
        &ErrorPage::BadPeriod(PeriodError::Reversed),
    );
    assert!(en.contains("The last day is before the first."), "{en}");
}

#[test]
fn the_csp_allows_exactly_the_stylesheet() {
    let csp = page::content_security_policy();
    assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
    assert!(!csp.contains("script-src") && !csp.contains("unsafe"));
}

#[test]
fn csv_files_open_in_a_russian_excel_and_carry_the_page_figures() {
    let n = names();
    let mut facts = month();
    facts[3].words = vec![
        "=HYPERLINK(\"http://evil\")".into(),
        "второй \"ответ\"".into(),
    ];
    let d = dashboard(november(), &facts, &n, &cfg(None), TZ, msk(2026, 12, 2, 12)).unwrap();
    let w = Words::of(Lang::Ru);
    let file = csv::employees(w, &d.report.employees, &d.report.team, &n);
    assert!(file.starts_with('\u{feff}'), "BOM");
    let lines: Vec<&str> = file.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines.len(),
        5,
        "header, two employees, team, and the final empty piece: {file:?}"
    );
    assert!(lines[0].starts_with("\"Сотрудник\";\"ID\";\"Оценённых заказов\""));
    // 11: #1 5, #2 4, #4 2 → 3 rated, 3.67, 66.7 %, one 1–2, one complaint (open).
    assert_eq!(lines[1], "\"Ирина\";11;3;3,67;66,7;1;1;0;;0;1;0;1;1");
    assert_eq!(lines[3], "\"Команда\";;5;3;40;2;2;1;24;1;1;1;1;1");
    let file = csv::ratings(
        w,
        &rated_orders(&november(), &facts, None, 5, &cfg(None), TZ).unwrap(),
        &n,
        "https://demo.retailcrm.ru",
        TZ,
    );
    let line = file.split("\r\n").find(|l| l.starts_with("4;")).unwrap();
    assert_eq!(
        line,
        "4;\"main-shop\";\"https://demo.retailcrm.ru/orders/4/edit\";2026-11-20 09:00;2026-11-20 10:00;2;\"whatsapp\";\"Ирина\";\"'=HYPERLINK(\"\"http://evil\"\")\nвторой \"\"ответ\"\"\";\"902: открыта\""
    );
}

#[test]
fn a_period_comes_apart_into_its_months_or_within_a_month_its_weeks() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let spans = |p: &Period| -> Vec<(NaiveDate, NaiveDate)> {
        p.parts().iter().map(|q| (q.from, q.to)).collect()
    };
    let year = Period::range(d("2025-12-07"), d("2026-12-06")).unwrap();
    let parts = spans(&year);
    assert_eq!(parts.len(), 13);
    assert_eq!(parts[0], (d("2025-12-07"), d("2025-12-31")));
    assert_eq!(parts[2], (d("2026-02-01"), d("2026-02-28")));
    assert_eq!(parts[12], (d("2026-12-01"), d("2026-12-06")));
    // Back to back, nothing left out, nothing twice.
    for w in parts.windows(2) {
        assert_eq!(w[0].1.succ_opt().unwrap(), w[1].0);
    }
    let month = Period::range(d("2026-11-01"), d("2026-11-30")).unwrap();
    assert_eq!(
        spans(&month),
        [
            (d("2026-11-01"), d("2026-11-07")),
            (d("2026-11-08"), d("2026-11-14")),
            (d("2026-11-15"), d("2026-11-21")),
            (d("2026-11-22"), d("2026-11-28")),
            (d("2026-11-29"), d("2026-11-30")),
        ]
    );
    let week = Period::range(d("2026-11-08"), d("2026-11-14")).unwrap();
    assert_eq!(week.parts().len(), 7, "a week comes apart into its days");
    assert_eq!(spans(&week)[6], (d("2026-11-14"), d("2026-11-14")));
    let day = Period::range(d("2026-11-05"), d("2026-11-05")).unwrap();
    assert_eq!(spans(&day), [(d("2026-11-05"), d("2026-11-05"))]);
    assert!(year.parts().iter().all(|p| p.preset == Preset::Range));
}

#[test]
fn a_ratings_file_too_large_is_offered_in_parts_in_the_pages_language() {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let names = BTreeMap::new();
    let period = Period::range(d("2026-10-15"), d("2026-12-06")).unwrap();
    for (lang, said) in [
        (Lang::Ru, "Оценённых заказов в этом периоде — 25000"),
        (Lang::En, "This period holds 25000 rated orders"),
    ] {
        let f = Frame {
            shop: "Shop",
            words: Words::of(lang),
            base: "/prod/reports",
            crm_url: "https://shop.retailcrm.ru",
            names: &names,
            inspector: 7,
            tz: chrono_tz::Europe::Moscow,
        };
        let html = render_error(
            &f,
            &ErrorPage::TooManyRows {
                rows: 25_000,
                parts: period.parts(),
                employee: Some(12),
            },
        );
        assert!(html.contains("data-error=\"too-many-rows\""), "{html}");
        assert!(html.contains(said), "{html}");
        for (from, to) in [
            ("2026-10-15", "2026-10-31"),
            ("2026-11-01", "2026-11-30"),
            ("2026-12-01", "2026-12-06"),
        ] {
            let href = format!(
                "href=\"/prod/reports/ratings.csv?from={from}&amp;to={to}&amp;employee=12\""
            );
            assert!(html.contains(&href), "{href} in {html}");
        }
    }
}

/// The whole list on one page.
fn one_page(total: usize) -> Pager {
    Pager {
        page: 1,
        per_page: LOW_PER_PAGE,
        total,
    }
}

#[test]
fn a_long_list_of_low_ratings_comes_in_pages_with_a_way_back_and_on() {
    let n = names();
    let path = "href=\"/reports/employee/12?from=2026-11-01&amp;to=2026-11-30&amp;page=";
    let page = |p: usize, lang: Lang| {
        render_employee(
            &frame(&n, lang),
            &november(),
            12,
            None,
            &[],
            &[],
            &Pager {
                page: p,
                per_page: 100,
                total: 250,
            },
        )
    };
    let first = page(1, Lang::Ru);
    assert!(first.contains("data-page=\"1\" data-pages=\"3\" data-total=\"250\""));
    assert!(first.contains("Показаны 1–100 из 250"), "{first}");
    assert!(!first.contains("rel=\"prev\""));
    assert!(
        first.contains(&format!("rel=\"next\" {path}2\"")),
        "{first}"
    );
    let middle = page(2, Lang::En);
    assert!(middle.contains("Showing 101–200 of 250"), "{middle}");
    assert!(middle.contains(&format!("rel=\"prev\" {path}1\"")));
    assert!(middle.contains(&format!("rel=\"next\" {path}3\"")));
    let last = page(3, Lang::Uk);
    assert!(last.contains("Показано 201–250 з 250"), "{last}");
    assert!(!last.contains("rel=\"next\""));
    // Page numbers as a request names them.
    assert_eq!(Pager::page_of(None), Some(1));
    assert_eq!(Pager::page_of(Some("")), Some(1));
    assert_eq!(Pager::page_of(Some("7")), Some(7));
    for bad in ["0", "-1", "two", "100001", " 2"] {
        assert_eq!(Pager::page_of(Some(bad)), None, "{bad}");
    }
}
