//! The weekly digest on the local stack: a seeded fortnight of ratings in the stack's table, the
//! real `kpi-digest` handler fired as its schedule fires it, and the mail read back from the local
//! SES. Its figures are the ones computed by hand below; a second firing mails nobody.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik_app::digest::Fired;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Rating, SurveyState};
use otklik_core::ports::SurveyStore;
use otklik_core::report_access::{Grant, ReportKey};
use otklik_flow_tests::TestStack;
use otklik_kpi_digest::KpiDigest;
use otklik_local_runner::drive::emails_to;
use otklik_local_runner::stack::REPORT_TOKEN;
use otklik_test_support::local_endpoint;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Moscow;

fn msk(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(2025, m, d, h, min, 0).unwrap().to_utc()
}

/// Monday 17 November 2025, 09:05 in Moscow: the digest of 10–16 November is due (Monday, 9).
fn monday() -> DateTime<Utc> {
    msk(11, 17, 9, 5)
}

struct Seed {
    order: u64,
    sent: DateTime<Utc>,
    rating: Option<u8>,
    crew: &'static [u64],
    words: &'static [&'static str],
}

/// The same fortnight as `otklik_core::digest`'s unit fixture, a year earlier.
fn seeds() -> Vec<Seed> {
    let s = |order, sent, rating, crew, words| Seed {
        order,
        sent,
        rating,
        crew,
        words,
    };
    vec![
        s(101, msk(11, 10, 10, 0), Some(5), &[11][..], &[][..]),
        s(102, msk(11, 11, 12, 0), Some(4), &[11, 12], &[]),
        s(
            103,
            msk(11, 12, 9, 0),
            Some(1),
            &[12],
            &["Курьер опоздал на три часа", "и нагрубил"],
        ),
        s(
            104,
            msk(11, 13, 15, 0),
            Some(3),
            &[13],
            &["Долго ждали ответа"],
        ),
        s(105, msk(11, 14, 11, 0), Some(2), &[11], &[]),
        s(106, msk(11, 15, 18, 0), Some(5), &[13], &[]),
        s(107, msk(11, 16, 20, 0), None, &[12], &[]),
        s(
            108,
            msk(11, 16, 22, 0),
            Some(3),
            &[11],
            &["Нормально, но долго"],
        ),
        // Monday 00:30 in Moscow (Sunday in UTC): this week's, in no figure of the digest.
        s(109, msk(11, 17, 0, 30), Some(1), &[12], &[]),
        s(110, msk(11, 4, 10, 0), Some(4), &[11], &[]),
        s(111, msk(11, 6, 10, 0), Some(2), &[12], &[]),
        s(112, msk(11, 9, 23, 30), Some(5), &[13], &[]),
        s(113, msk(11, 3, 0, 10), Some(3), &[11], &[]),
        s(114, msk(10, 21, 9, 0), Some(1), &[12], &[]),
    ]
}

async fn seed(t: &TestStack) {
    let store = &t.store;
    let cfg = &t.config.complaints;
    for x in seeds() {
        let mut s = Survey::new(
            OrderRef::new("main-shop", x.order).unwrap(),
            Contact {
                phone: None,
                email: None,
            },
            x.sent,
            x.sent,
        );
        s.channel = Some(Channel::Whatsapp);
        s.asked = vec![Channel::Whatsapp];
        s.sent_at = Some(x.sent);
        s.state = SurveyState::AwaitingRating;
        s.employees = x
            .crew
            .iter()
            .map(|e| EmployeeId::new(*e).unwrap())
            .collect();
        if let Some(r) = x.rating {
            s.rating = Some(Rating::new(r).unwrap());
            s.rated_at = Some(x.sent + Duration::minutes(30));
            s.replied_via = Some(Channel::Whatsapp);
        }
        // As the machine leaves a survey it opened a complaint for (those seeded below).
        if [103, 105, 111, 114].contains(&x.order) {
            s.done
                .insert(otklik_core::machine::OPEN_COMPLAINT.to_string());
        }
        assert!(store.create(&s).await.unwrap());
        for (i, w) in x.words.iter().enumerate() {
            let at = x.sent + Duration::minutes(31 + i as i64);
            // Each message its own id: words are kept once per message.
            let id = format!("seed-{}-{i}", x.order);
            store.append_words(&s.id, &id, w, at).await.unwrap();
        }
        // Complaints: 901 untouched, 902 taken into work within the hour, 903 resolved, 904
        // untouched since October.
        let (complaint, opened, seen): (u64, _, Vec<(String, DateTime<Utc>)>) = match x.order {
            103 => (901, msk(11, 12, 10, 0), vec![]),
            105 => (
                902,
                msk(11, 14, 12, 0),
                vec![(cfg.status_in_work.clone(), msk(11, 14, 13, 0))],
            ),
            111 => (
                903,
                msk(11, 6, 11, 0),
                vec![
                    (cfg.status_in_work.clone(), msk(11, 6, 12, 0)),
                    (cfg.status_resolved.clone(), msk(11, 6, 15, 0)),
                ],
            ),
            114 => (904, msk(10, 21, 10, 0), vec![]),
            _ => continue,
        };
        store
            .record_complaint(&s.id, complaint, x.rating.unwrap(), opened)
            .await
            .unwrap();
        if !seen.is_empty() {
            otklik_app::complaints::observe_statuses(store, &s.id, &seen, cfg)
                .await
                .unwrap();
        }
    }
    store.save_employee_name(11, "Ирина Котова").await.unwrap();
    store.save_employee_name(12, "Павел Ершов").await.unwrap();
}

/// The text of a single-part plain-text mail (our MIME: base64 after the blank line).
fn text_of(raw: &str) -> String {
    use base64::Engine as _;
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let joined: String = body.lines().map(str::trim).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(joined)
        .unwrap();
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

#[tokio::test]
async fn the_digest_of_a_seeded_week_goes_out_once_with_the_hand_computed_figures() {
    let t = TestStack::bare("digest", "meta").await;
    seed(&t).await;
    let tag = t.names.stack.clone();
    let (owner, sales) = (
        format!("owner+{tag}@example.ru"),
        format!("sales+{tag}@example.ru"),
    );
    let mut config = (*t.config).clone();
    assert_eq!(config.timezone, TZ);
    config.report.digest_to = vec![owner.clone(), sales.clone()];
    let mut parts = t.parts();
    parts.config = Arc::new(config);
    let digest = KpiDigest::from_parts(&parts).await.unwrap();
    let reports = "http://127.0.0.1:8080/reports";
    let aws = local_endpoint();

    // Monday 08:59: not due yet, nothing read or sent.
    let early = digest
        .fire(Some(reports), monday() - Duration::minutes(6))
        .await;
    assert_eq!(
        early.unwrap(),
        Fired::NotDue {
            due_at: msk(11, 17, 9, 0)
        }
    );

    // The first firing from 9:00 (here the hour after: one before was missed) mails each once.
    t.set_up_shop().await;
    let at = monday() + Duration::hours(1);
    let fired = digest.fire(Some(reports), at).await.unwrap();
    assert_eq!(
        fired,
        Fired::Done {
            week: "2025-W46".into(),
            sent: 2,
            already: 0,
            refused: 0,
            unknown: 0
        }
    );
    // The schedule fires again (twice in the hour, then every hour of the week): nobody gets a
    // second mail.
    for later in [at, at + Duration::minutes(1), msk(11, 23, 23, 5)] {
        let again = digest.fire(Some(reports), later).await.unwrap();
        assert_eq!(
            again,
            Fired::Done {
                week: "2025-W46".into(),
                sent: 0,
                already: 2,
                refused: 0,
                unknown: 0
            }
        );
    }
    let mails = emails_to(&aws, &owner).await.unwrap();
    assert_eq!(mails.len(), 1, "exactly one digest for the owner");
    assert_eq!(emails_to(&aws, &sales).await.unwrap().len(), 1);
    let raw = &mails[0];
    assert!(
        raw.contains("Content-Type: text/plain; charset=UTF-8"),
        "{raw}"
    );
    let text = text_of(raw);
    let crm = &t.config.crm.url;

    // The figures, computed by hand. Last week (10–16 Nov): 101–108 asked, 7 rated: 5, 4, 1, 3,
    // 2, 5, 3 = 23 / 7 = 3.29; 4–5: 3/7 = 42.9 %; 1–2: 103, 105; complaints 901, 902, none
    // resolved. The week before (3–9 Nov): 4, 2, 5, 3 = 14 / 4 = 3.5; 4–5: 50 %; 903 resolved.
    for line in [
        "Оценки покупателей за неделю 10.11.2025 – 16.11.2025",
        "В скобках — неделя до неё, 03.11.2025 – 09.11.2025.",
        "- Оценённых заказов: 7 (неделей раньше 4)",
        "- Средняя оценка: 3,29 (неделей раньше 3,5)",
        "- Довольны (4–5), %: 42,9 (неделей раньше 50)",
        "- Оценки 1–2: 2 (неделей раньше 1)",
        "- Жалоб открыто: 2 (неделей раньше 1)",
        "- Жалоб решено: 0 (неделей раньше 1)",
        "- Оценили через whatsapp: 7 / 8 (87,5 %)",
        // 11: 5, 4, 2, 3 = 3.5 (before 4, 3 = 3.5); 13: 3, 5 = 4 (before 5); 12: 4, 1 = 2.5
        // (before 2).
        "- Ирина Котова: оценённых заказов 4, средняя 3,5 (неделей раньше 3,5), оценок 1–2: 1",
        "- #13: оценённых заказов 2, средняя 4 (неделей раньше 5), оценок 1–2: 0",
        "- Павел Ершов: оценённых заказов 2, средняя 2,5 (неделей раньше 2), оценок 1–2: 1",
        // Lowest: 103 (1), 105 (2), 108 (3, Sunday, newer than 104).
        "1. Оценка 1 · Заказ 103 · Павел Ершов",
        "   «Курьер опоздал на три часа / и нагрубил»",
        &format!("   Заказ в retailCRM: {crm}/orders/103/edit"),
        &format!(
            "   Павел Ершов — страница в отчёте: {reports}/employee/12?from=2025-11-10&to=2025-11-16"
        ),
        "2. Оценка 2 · Заказ 105 · Ирина Котова",
        "3. Оценка 3 · Заказ 108 · Ирина Котова",
        "   «Нормально, но долго»",
        // Past the 4 h SLA at 10:05 on Monday, counted in the config's working hours (09–18,
        // Monday to Friday): 904 from Tuesday 21 Oct 10:00 = 8 + 3 × 9 + 3 weeks × 45 + 1h05 =
        // 171.08 h; 901 from Wednesday 12 Nov 10:00 = 8 + 9 + 9 + 1h05 = 27.08 h. 902 was taken
        // within the hour.
        "Открытые жалобы, которые ждали дольше срока: 2",
        "- Заказ 114 (оценка 1): открыта 21.10.2025 10:00, не взята",
        "  Ждала в счёт срока / срок: 171,1 / 4 ч",
        &format!("  Жалоба: {crm}/orders/904/edit"),
        "- Заказ 103 (оценка 1): открыта 12.11.2025 10:00, не взята",
        "  Ждала в счёт срока / срок: 27,1 / 4 ч",
        "Ссылка действует до 01.12.2025.",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "{line:?} missing:\n{text}"
        );
    }
    assert!(!text.contains("Заказ 104"), "only three lowest:\n{text}");
    assert!(!text.contains("Заказ 109"), "this week's:\n{text}");
    assert!(!text.contains("902/edit"), "902 was taken in time:\n{text}");

    // The dashboard link signs a browser in for 14 days from the firing that sent it.
    let link = text
        .lines()
        .find(|l| l.starts_with(&format!("{reports}/signin?token=")))
        .unwrap_or_else(|| panic!("no sign-in link:\n{text}"));
    let token = link.rsplit("token=").next().unwrap();
    assert_eq!(
        ReportKey::new(REPORT_TOKEN).verify(Grant::Link, token, at),
        Ok(at + Duration::days(14))
    );
}

#[tokio::test]
async fn without_recipients_a_firing_does_nothing() {
    let t = TestStack::bare("digestnone", "meta").await;
    assert!(t.config.report.digest_to.is_empty());
    let digest = KpiDigest::from_parts(&t.parts()).await.unwrap();
    assert_eq!(
        digest.fire(None, monday()).await.unwrap(),
        Fired::NoRecipients
    );
}
