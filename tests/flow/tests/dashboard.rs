//! The dashboard (`GET /reports` and below) over real HTTP, the real handler behind the local
//! gateway, on a month of ratings seeded into the stack's table: every figure on the page is the
//! figure `otklik kpi` computes for the same days, the employee page and the CSV files carry
//! theirs, and bad requests get pages, never a 500.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use otklik_core::dashboard::{Period, Preset};
use otklik_core::kpi::Report;
use otklik_core::machine::{Contact, Survey};
use otklik_core::model::{Channel, EmployeeId, OrderRef, Phone, Rating, SurveyState};
use otklik_core::ports::SurveyStore;
use otklik_flow_tests::TestStack;
use otklik_kpi_report::KpiApi;
use otklik_local_runner::gateway::{handler, Route};
use otklik_local_runner::stack::REPORT_TOKEN;

/// The names retailCRM gave the CRM writer.
const STAFF: [(u64, &str); 3] = [
    (11, "Ирина Котова"),
    (12, "Павел Ершов"),
    (13, "Олег <Смирнов>"),
];

/// A month of a small shop: 36 surveys asked over the last 27 days, 33 rated, low ratings with the
/// customer's words and complaints (two resolved, the rest open), one unread reply waiting.
pub async fn seed_month(t: &TestStack, now: DateTime<Utc>) {
    let store = &t.store;
    let cfg = &t.config.complaints;
    let ratings = [5, 4, 5, 3, 2, 5, 4, 1, 5, 4, 0, 5];
    let crews: [&[u64]; 6] = [&[11], &[12], &[11, 13], &[13], &[12], &[11, 12]];
    let mut complaints = 0;
    for k in 0..36u64 {
        let sent = now - Duration::hours(6 + 18 * k as i64);
        let mut s = Survey::new(
            OrderRef::new("main-shop", 5000 + k).unwrap(),
            Contact {
                phone: Some(Phone::parse(&format!("+7900111{:04}", k), "RU").unwrap()),
                email: None,
            },
            sent,
            sent,
        );
        let channel = if k % 3 == 2 {
            Channel::Email
        } else {
            Channel::Whatsapp
        };
        s.channel = Some(channel);
        s.asked = vec![channel];
        s.sent_at = Some(sent);
        s.employees = crews[k as usize % crews.len()]
            .iter()
            .map(|e| EmployeeId::new(*e).unwrap())
            .collect();
        let r = ratings[k as usize % ratings.len()];
        if r == 0 {
            s.state = SurveyState::AwaitingRating;
            if k == 10 {
                // Words we could not read: the inspector was asked to look.
                s.last_inspector_notice_at = Some(sent + Duration::hours(1));
            }
        } else {
            s.state = SurveyState::AwaitingRating;
            s.rating = Some(Rating::new(r).unwrap());
            s.rated_at = Some(sent + Duration::minutes(40));
            s.replied_via = Some(channel);
        }
        // As the machine leaves a survey it opened a complaint for (seeded below).
        if (1..=2).contains(&r) {
            s.done
                .insert(otklik_core::machine::OPEN_COMPLAINT.to_string());
        }
        assert!(store.create(&s).await.unwrap());
        if (1..=3).contains(&r) {
            store
                .append_words(
                    &s.id,
                    "seed",
                    &format!("Заказ {}: курьер опоздал, коробка мятая", 5000 + k),
                    sent,
                )
                .await
                .unwrap();
        }
        if r > 0 && r <= 2 {
            let opened = sent + Duration::hours(1);
            store
                .record_complaint(&s.id, 9000 + k, r, opened)
                .await
                .unwrap();
            if complaints < 2 {
                otklik_app::complaints::observe_statuses(
                    store,
                    &s.id,
                    &[
                        (cfg.status_in_work.clone(), opened + Duration::hours(1)),
                        (
                            cfg.status_resolved.clone(),
                            opened + Duration::hours(5 + complaints),
                        ),
                    ],
                    cfg,
                )
                .await
                .unwrap();
            }
            complaints += 1;
        }
    }
    for (id, name) in STAFF {
        store.save_employee_name(id, name).await.unwrap();
    }
}

/// `data-figure` → `data-value`, for every figure on a page.
pub fn figures(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for piece in html.split("data-figure=\"").skip(1) {
        let (name, rest) = piece.split_once('"').unwrap();
        let value = rest
            .trim_start()
            .strip_prefix("data-value=\"")
            .and_then(|v| v.split_once('"'))
            .map(|(v, _)| v)
            .unwrap_or_else(|| panic!("{name} has no data-value"));
        assert!(
            out.insert(name.to_string(), value.to_string()).is_none(),
            "{name} twice"
        );
    }
    out
}

fn num(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// What the main page must show, from the KPI report of the same days.
pub fn expected_figures(r: &Report, open_past_sla: u32) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut row = |prefix: &str, x: &otklik_core::kpi::Row, full: bool| {
        out.insert(format!("{prefix}.ratedOrders"), x.rated_orders.to_string());
        out.insert(format!("{prefix}.averageRating"), num(x.average_rating));
        out.insert(format!("{prefix}.csatPercent"), num(x.csat_percent));
        out.insert(format!("{prefix}.lowRatings"), x.low_ratings.to_string());
        out.insert(
            format!("{prefix}.complaintsOpened"),
            x.complaints_opened.to_string(),
        );
        if full {
            out.insert(
                format!("{prefix}.complaintsResolved"),
                x.complaints_resolved.to_string(),
            );
            out.insert(
                format!("{prefix}.medianResolveHours"),
                num(x.median_resolve_hours),
            );
            for (i, n) in x.distribution.iter().enumerate() {
                out.insert(format!("{prefix}.distribution.{}", i + 1), n.to_string());
            }
        }
    };
    row("team", &r.team, true);
    for e in &r.employees {
        row(&format!("employee.{}", e.employee_id.unwrap()), e, false);
    }
    for (c, rate) in &r.response_rate_by_channel {
        out.insert(format!("channel.{c}.asked"), rate.asked.to_string());
        out.insert(format!("channel.{c}.answered"), rate.answered.to_string());
        out.insert(format!("channel.{c}.percent"), num(rate.percent));
    }
    out.insert("team.awaitingHuman".into(), r.awaiting_human.to_string());
    out.insert("team.openPastSla".into(), open_past_sla.to_string());
    out
}

/// The dashboard's function behind the test's gateway.
pub async fn serve_reports(t: &mut TestStack) -> Arc<KpiApi> {
    serve_reports_with(t, |_| {}).await
}

/// The same, with `edit` applied to the handler first (smaller limits, to reach them in a test).
/// Serving again gives the stack a gateway of its own: its addresses change.
pub async fn serve_reports_with(t: &mut TestStack, edit: impl FnOnce(&mut KpiApi)) -> Arc<KpiApi> {
    let mut api = KpiApi::from_parts(&t.parts()).await.unwrap();
    edit(&mut api);
    let api = Arc::new(api);
    let served = api.clone();
    t.serve(vec![Route::function(
        "kpi-report",
        handler(move |req| {
            let api = served.clone();
            async move { api.handle(req).await }
        }),
    )])
    .await;
    api
}

/// The KPI of `period` as `otklik kpi --from --to` computes it, and the open complaints past
/// their SLA now, as the core counts them.
pub async fn kpi_of(t: &TestStack, period: &Period, now: DateTime<Utc>) -> (Report, u32) {
    let tz = t.config.timezone;
    let (from, to) = period.instants(tz).unwrap();
    let report =
        otklik_app::report::gather(&t.store, &t.config.complaints, from, to, &BTreeMap::new())
            .await
            .unwrap();
    let (start, _) = Period::range(period.window_start(), period.to)
        .unwrap()
        .instants(tz)
        .unwrap();
    let facts = otklik_app::report::facts_between(&t.store, &t.config.complaints, start, now)
        .await
        .unwrap();
    let open = otklik_core::dashboard::open_complaints(&facts, &t.config.complaints, tz, now);
    (report, open.iter().filter(|c| c.past_sla).count() as u32)
}

async fn get(url: &str, bearer: Option<&str>) -> (u16, String, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().await.unwrap(), headers)
}

#[tokio::test]
async fn every_figure_on_the_page_is_the_kpi_of_the_same_days() {
    let mut t = TestStack::bare("dashpage", "meta").await;
    let now = Utc::now();
    seed_month(&t, now).await;
    serve_reports(&mut t).await;
    let base = format!("{}/reports", t.api_url());
    let today = now.with_timezone(&t.config.timezone).date_naive();
    let period = Period::preset(Preset::Last30, today);

    let (status, html, headers) =
        get(&format!("{base}?period=last-30-days"), Some(REPORT_TOKEN)).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let (report, past_sla) = kpi_of(&t, &period, Utc::now()).await;
    assert_eq!(
        report.team.rated_orders, 33,
        "the seed: 36 asked, 3 unrated"
    );
    assert_eq!(report.awaiting_human, 1);
    assert_eq!(report.team.complaints_resolved, 2);
    let shown = figures(&html);
    assert_eq!(
        shown,
        expected_figures(&report, past_sla),
        "page vs otklik kpi"
    );
    // Names from the CRM writer's store, escaped; the inspector's id while unnamed.
    assert!(html.contains("Олег &lt;Смирнов&gt;") && html.contains("Ирина Котова"));
    assert!(html.contains("Разбирает: #7"));
    assert_eq!(
        html.matches("<tr data-complaint=").count(),
        4,
        "four open complaints"
    );

    // This month by default; sorting by a column keeps the figures.
    let (status, html, _) = get(&format!("{base}?sort=average&dir=asc"), Some(REPORT_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(html.contains("aria-sort=\"ascending\""));
    let this_month = Period::preset(Preset::ThisMonth, today);
    let (report, past_sla) = kpi_of(&t, &this_month, Utc::now()).await;
    assert_eq!(figures(&html), expected_figures(&report, past_sla));

    // The employee page: their figures, every 1–3 with words and a link into retailCRM.
    let (status, page, _) = get(
        &format!("{base}/employee/12?period=last-30-days"),
        Some(REPORT_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let (report, _) = kpi_of(&t, &period, Utc::now()).await;
    let row = report
        .employees
        .iter()
        .find(|r| r.employee_id == Some(12))
        .unwrap();
    let f = figures(&page);
    assert_eq!(f["employee.ratedOrders"], row.rated_orders.to_string());
    assert_eq!(f["employee.averageRating"], num(row.average_rating));
    assert_eq!(f["employee.csatPercent"], num(row.csat_percent));
    let low = row.distribution[..3].iter().sum::<u32>() as usize;
    assert!(low > 0);
    assert_eq!(page.matches("<article class=\"rating\"").count(), low);
    assert!(page.contains("курьер опоздал, коробка мятая"));
    assert!(page.contains(&format!(
        "{}/orders/",
        t.config.crm.url.trim_end_matches('/')
    )));

    // The CSV files.
    let (status, csv, headers) = get(
        &format!("{base}/employees.csv?period=last-30-days"),
        Some(REPORT_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"otklik-employees-"));
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 1 + report.employees.len() + 1);
    for line in &lines[1..lines.len() - 1] {
        let cells: Vec<&str> = line.split(';').collect();
        let id: u64 = cells[1].parse().unwrap();
        let row = report
            .employees
            .iter()
            .find(|r| r.employee_id == Some(id))
            .unwrap();
        assert_eq!(cells[2], row.rated_orders.to_string());
        assert_eq!(cells[3], num(row.average_rating).replace('.', ","));
        assert_eq!(cells[4], num(row.csat_percent).replace('.', ","));
    }
    let (status, csv, _) = get(
        &format!("{base}/ratings.csv?period=last-30-days"),
        Some(REPORT_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        csv.trim_end().split("\r\n").count(),
        1 + report.team.rated_orders as usize,
        "one line per rated order"
    );
}

/// The ratings of every CSV the page or its parts lead to (a part still too large leads on to
/// its own parts), as lines without the header.
async fn ratings_in_parts(url: String, depth: usize, files: &mut usize) -> Vec<String> {
    let (status, body, headers) = get(&url, Some(REPORT_TOKEN)).await;
    if status == 200 {
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        *files += 1;
        return body
            .trim_end()
            .split("\r\n")
            .skip(1)
            .map(str::to_string)
            .collect();
    }
    assert_eq!(status, 400, "{url}: {body}");
    assert!(body.contains("data-error=\"too-many-rows\""), "{body}");
    assert!(depth < 2, "parts of parts of parts: {url}");
    let base = url.split("/ratings.csv").next().unwrap().to_string();
    let hrefs: Vec<String> = body
        .split("href=\"")
        .skip(1)
        .filter_map(|h| h.split('"').next())
        .filter(|h| h.contains("/ratings.csv?"))
        .map(|h| h.replace("&amp;", "&"))
        .collect();
    assert!(hrefs.len() >= 2, "{body}");
    let mut lines = Vec::new();
    for href in hrefs {
        let path = href.split("/reports").nth(1).unwrap();
        let part = format!("{base}{path}");
        lines.extend(Box::pin(ratings_in_parts(part, depth + 1, files)).await);
    }
    lines
}

#[tokio::test]
async fn a_ratings_file_too_large_for_one_answer_comes_in_parts_that_hold_it_all() {
    let mut t = TestStack::bare("dashparts", "meta").await;
    let now = Utc::now();
    seed_month(&t, now).await;
    serve_reports(&mut t).await;
    let base = format!("{}/reports", t.api_url());
    let url = format!("{base}/ratings.csv?period=last-30-days");
    let (status, whole, _) = get(&url, Some(REPORT_TOKEN)).await;
    assert_eq!(status, 200);
    let mut expected: Vec<String> = whole
        .trim_end()
        .split("\r\n")
        .skip(1)
        .map(str::to_string)
        .collect();
    assert!(expected.len() > 20, "{}", expected.len());

    // The same handler, answering at most ten rows a file: the 30 days come as parts, and a part
    // still over the limit as its weeks.
    serve_reports_with(&mut t, |api| api.csv_max_rows = 10).await;
    // A gateway of its own: the addresses are new.
    let base = format!("{}/reports", t.api_url());
    let url = format!("{base}/ratings.csv?period=last-30-days");
    let (status, page, headers) = get(&url, Some(REPORT_TOKEN)).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let n = expected.len();
    assert!(
        page.contains(&format!("{n}:")) || page.contains(&format!("{n} ")),
        "the page says how many rows: {page}"
    );
    let mut files = 0;
    let mut got = ratings_in_parts(url, 0, &mut files).await;
    assert!(files >= 3, "{files} files");
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "the parts hold every rated order once");

    // One employee's file keeps its filter in every part.
    let (status, page, _) = get(
        &format!("{base}/ratings.csv?period=last-30-days&employee=11"),
        Some(REPORT_TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("employee=11"), "{page}");
}

/// The surveys an employee page lists, in its order, and its pager's `next` link.
fn listed(html: &str) -> (Vec<String>, Option<String>) {
    let surveys = html
        .split("<article class=\"rating\" data-survey=\"")
        .skip(1)
        .map(|a| a.split('"').next().unwrap().to_string())
        .collect();
    let next = html
        .split("rel=\"next\" href=\"")
        .nth(1)
        .map(|h| h.split('"').next().unwrap().replace("&amp;", "&"));
    (surveys, next)
}

#[tokio::test]
async fn an_employees_long_list_comes_in_pages_that_hold_it_all_in_order() {
    let mut t = TestStack::bare("dashpages", "meta").await;
    let now = Utc::now();
    seed_month(&t, now).await;
    serve_reports(&mut t).await;
    let url = |base: &str| format!("{base}/reports/employee/12?period=last-30-days");
    let (status, whole, headers) = get(&url(&t.api_url()), Some(REPORT_TOKEN)).await;
    assert_eq!(status, 200);
    // The page tells where its time went.
    let timing = headers["server-timing"].to_str().unwrap();
    for part in ["figures;dur=", "list;dur=", "render;dur="] {
        assert!(timing.contains(part), "{timing}");
    }
    let (all, next) = listed(&whole);
    assert!(all.len() >= 4, "{whole}");
    assert!(next.is_none(), "one page holds a short list");
    assert!(!whole.contains("class=\"pager\""));

    // Two a page: every rating once, in the same order, page after page.
    serve_reports_with(&mut t, |api| api.low_per_page = 2).await;
    let origin = t.api_url();
    let mut here = url(&origin);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, html, _) = get(&here, Some(REPORT_TOKEN)).await;
        assert_eq!(status, 200, "{here}: {html}");
        pages += 1;
        assert!(
            html.contains(&format!("data-page=\"{pages}\"")),
            "{here}: {html}"
        );
        assert!(html.contains(&format!("data-total=\"{}\"", all.len())));
        let (surveys, next) = listed(&html);
        assert!(surveys.len() <= 2);
        seen.extend(surveys);
        match next {
            Some(path) => here = format!("{origin}{path}"),
            None => break,
        }
    }
    assert_eq!(pages, all.len().div_ceil(2));
    assert_eq!(seen, all, "the pages hold the list once, in its order");
    // A page number the list does not take is refused with a page.
    for bad in ["0", "x", "-3"] {
        let (status, html, _) =
            get(&format!("{}&page={bad}", url(&origin)), Some(REPORT_TOKEN)).await;
        assert_eq!(status, 400, "{bad}");
        assert!(html.contains("data-error=\"bad-request\""), "{html}");
    }
}

#[tokio::test]
async fn refusals_are_pages_not_errors() {
    let mut t = TestStack::bare("dashrefuse", "meta").await;
    serve_reports(&mut t).await;
    let base = format!("{}/reports", t.api_url());
    for (path, auth, status, kind) in [
        ("", None, 401, "unauthorized"),
        ("", Some("not-the-token"), 401, "unauthorized"),
        ("/employee/11", None, 401, "unauthorized"),
        ("/employees.csv", None, 401, "unauthorized"),
        (
            "?from=2020-01-01&to=2026-01-01",
            Some(REPORT_TOKEN),
            400,
            "bad-period",
        ),
        (
            "?from=2026-02-01&to=2026-01-01",
            Some(REPORT_TOKEN),
            400,
            "bad-period",
        ),
        (
            "?from=someday&to=2026-01-01",
            Some(REPORT_TOKEN),
            400,
            "bad-period",
        ),
        ("?period=forever", Some(REPORT_TOKEN), 400, "bad-period"),
        ("?from=2026-01-01", Some(REPORT_TOKEN), 400, "bad-period"),
        // Whitespace is not an empty field (the API fuzzer's `from=%0D`).
        ("?from=%0D", Some(REPORT_TOKEN), 400, "bad-period"),
        ("?sort=salary", Some(REPORT_TOKEN), 400, "bad-request"),
        ("?dir=sideways", Some(REPORT_TOKEN), 400, "bad-request"),
        (
            "/ratings.csv?employee=0",
            Some(REPORT_TOKEN),
            400,
            "bad-request",
        ),
        (
            "/ratings.csv?employee=ann",
            Some(REPORT_TOKEN),
            400,
            "bad-request",
        ),
        ("/employee/abc", Some(REPORT_TOKEN), 404, "not-found"),
        ("/employee/0", Some(REPORT_TOKEN), 404, "not-found"),
        ("/nothing", Some(REPORT_TOKEN), 404, "not-found"),
    ] {
        let (got, html, headers) = get(&format!("{base}{path}"), auth).await;
        assert_eq!(got, status, "{path}: {html}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert!(
            html.contains(&format!("data-error=\"{kind}\"")),
            "{path}: {html}"
        );
    }
    // An empty stack: a page with no ratings, not an error.
    let (got, html, _) = get(&base, Some(REPORT_TOKEN)).await;
    assert_eq!(got, 200);
    assert!(html.contains("За этот период оценок нет."));
    // The first day a period may name, and a whole year: the page's window (the period and the
    // trend's weeks before it) goes further back than a period may, and once answered 503.
    for path in [
        "?from=2000-01-01&to=2000-01-01",
        "?from=2025-01-01&to=2025-12-31",
        "/employees.csv?from=2000-01-01&to=2000-01-01",
        "?period=this-month&from=&to=",
    ] {
        let (got, html, _) = get(&format!("{base}{path}"), Some(REPORT_TOKEN)).await;
        assert_eq!(got, 200, "{path}: {html}");
    }
}

#[tokio::test]
async fn a_signed_link_signs_the_browser_in_and_bad_links_or_cookies_get_the_401_page() {
    use otklik_core::report_access::{Grant, ReportKey};
    let mut t = TestStack::bare("dashsignin", "meta").await;
    serve_reports(&mut t).await;
    let reports = format!("{}/reports", t.api_url());
    let key = ReportKey::new(REPORT_TOKEN);
    let now = Utc::now();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |url: String, cookie: Option<String>| {
        let http = http.clone();
        async move {
            let mut req = http.get(url);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            let r = req.send().await.unwrap();
            let (status, headers) = (r.status().as_u16(), r.headers().clone());
            (status, headers, r.text().await.unwrap())
        }
    };

    // The link from `otklik report link`: a cookie and a redirect to the clean URL.
    let link = key.link(&reports, std::time::Duration::from_secs(30 * 86_400), now);
    let (status, headers, _) = open(link.clone(), None).await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/reports");
    let set = headers["set-cookie"].to_str().unwrap().to_string();
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/reports",
        "Max-Age=259",
    ] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    let token = link.split_once("token=").unwrap().1;
    assert!(
        !set.contains(token),
        "the cookie is a session, not the link"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let (status, _, html) = open(reports.clone(), Some(cookie.clone())).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-page=\"dashboard\""));
    let (status, _, _) = open(format!("{reports}/employee/11"), Some(cookie.clone())).await;
    assert_eq!(status, 200);
    let (status, _, _) = open(format!("{reports}/employees.csv"), Some(cookie.clone())).await;
    assert_eq!(status, 200);
    // The JSON route keeps its bearer token: a cookie is not enough.
    let (status, _, body) = open(
        format!("{reports}/kpi?from=2026-11-01&to=2026-11-30"),
        Some(cookie.clone()),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // Tampered and expired links, and cookies: the 401 page, never a 500.
    let mut tampered = token.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = key.sign(Grant::Link, now - Duration::minutes(1));
    let stranger = ReportKey::new("someone-else").sign(Grant::Link, now + Duration::days(1));
    for bad in [
        format!("{reports}/signin?token={tampered}"),
        format!("{reports}/signin?token={expired}"),
        format!("{reports}/signin?token={stranger}"),
        format!("{reports}/signin?token="),
        format!("{reports}/signin"),
        format!("{reports}/signin?token=%00%ff{}", "x".repeat(3000)),
    ] {
        let (status, headers, html) = open(bad.clone(), None).await;
        assert_eq!(status, 401, "{bad}");
        assert!(headers.get("set-cookie").is_none(), "{bad}");
        assert!(
            html.contains("data-error=\"unauthorized\""),
            "{bad}: {html}"
        );
        assert!(html.contains("otklik report link"));
    }
    let session_expired = key.sign(Grant::Session, now - Duration::seconds(1));
    for bad in [
        format!("otklik_report={session_expired}"),
        format!("otklik_report={token}"),
        format!(
            "otklik_report={}",
            key.sign(Grant::Session, now + Duration::days(1))
                .replace('.', "x")
        ),
        "otklik_report=".to_string(),
    ] {
        let (status, headers, html) = open(reports.clone(), Some(bad.clone())).await;
        assert_eq!(status, 401, "{bad}");
        assert!(html.contains("data-error=\"unauthorized\""));
        assert!(
            headers["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0"),
            "a refused cookie is cleared: {bad}"
        );
    }
}

/// Where the README's screenshots live; the test writes them there only when asked
/// (`OTKLIK_SCREENSHOTS=docs`), so an ordinary run leaves the tree clean.
const SCREENSHOTS: &str = "docs/img";

#[tokio::test]
async fn chromium_at_phone_and_desktop_size_shows_the_kpi_and_downloads_the_csv() {
    use otklik_core::report_access::{Grant, ReportKey};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && root
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        "the browser is not set up: run scripts/browser-setup.sh (make test does)"
    );
    let mut t = TestStack::bare("dashbrowser", "meta").await;
    let now = Utc::now();
    seed_month(&t, now).await;
    // Two 1–3 ratings a page, so a seeded employee's list comes in pages.
    serve_reports_with(&mut t, |api| api.low_per_page = 2).await;
    let reports = format!("{}/reports", t.api_url());
    let key = ReportKey::new(REPORT_TOKEN);
    let link = key.link(&reports, std::time::Duration::from_secs(30 * 86_400), now);
    let token = link.split_once("token=").unwrap().1.to_string();
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = key.sign(Grant::Link, now - Duration::hours(1));
    let out = root.join("target/test-output/dashboard");
    let _ = std::fs::remove_dir_all(&out);
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/dashboard.mjs"))
        .arg(&link)
        .arg(&out)
        .arg("--paged")
        .arg(format!("{reports}/employee/12?period=last-30-days"))
        .arg(format!("{reports}/signin?token={tampered}"))
        .arg(format!("{reports}/signin?token={expired}"))
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "browser: {report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["consoleErrors"], serde_json::json!([]), "{v}");

    // Signed in, with the link gone from the address bar; the cookie as promised.
    assert_eq!(v["finalUrl"], format!("{reports}"), "{v}");
    assert_eq!(
        v["cookie"],
        serde_json::json!({"httpOnly": true, "secure": true, "sameSite": "Lax", "path": "/reports"})
    );

    // Every figure, at both sizes (the phone without JavaScript), is otklik kpi's.
    let today = now.with_timezone(&t.config.timezone).date_naive();
    let (report, past_sla) =
        kpi_of(&t, &Period::preset(Preset::ThisMonth, today), Utc::now()).await;
    let want = expected_figures(&report, past_sla);
    for size in ["phone", "desktop"] {
        let shown: BTreeMap<String, String> =
            serde_json::from_value(v[size]["figures"].clone()).unwrap();
        assert_eq!(shown, want, "{size}");
        assert_eq!(v[size]["page"], "dashboard");
        assert!(
            v[size]["scrollWidth"].as_u64() <= v[size]["innerWidth"].as_u64(),
            "{size}: the page scrolls sideways: {}",
            v[size]
        );
    }

    // The first employee of the table (most rated orders first), and their 1–3s.
    let first = {
        let mut rows = report.employees.clone();
        otklik_core::dashboard::sort_rows(&mut rows, otklik_core::dashboard::SortKey::Rated, true);
        rows[0].clone()
    };
    let id = first.employee_id.unwrap();
    let e = &v["employee"];
    assert!(
        e["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{reports}/employee/{id}?")),
        "{e}"
    );
    assert_eq!(
        e["figures"]["employee.ratedOrders"],
        first.rated_orders.to_string()
    );
    assert_eq!(
        e["figures"]["employee.averageRating"],
        num(first.average_rating)
    );
    assert_eq!(
        e["figures"]["employee.csatPercent"],
        num(first.csat_percent)
    );
    let low = u64::from(first.distribution[..3].iter().sum::<u32>());
    assert_eq!(e["ratings"].as_u64().unwrap(), low.min(2));

    // Employee 12's 1–3s of 30 days, two a page, walked by the "next" link at phone width:
    // every one of them once, pages numbered in turn, nothing wider than the phone.
    let last30 = Period::preset(Preset::Last30, today);
    let (report30, _) = kpi_of(&t, &last30, Utc::now()).await;
    let twelve = report30
        .employees
        .iter()
        .find(|r| r.employee_id == Some(12))
        .unwrap();
    let low12 = u64::from(twelve.distribution[..3].iter().sum::<u32>());
    assert!(
        low12 > 2,
        "the seeded month gives employee 12 more than a page: {low12}"
    );
    let paged = &v["paged"];
    assert_eq!(paged["total"], low12.to_string(), "{paged}");
    let pages = paged["pages"].as_array().unwrap();
    assert_eq!(pages.len() as u64, low12.div_ceil(2), "{paged}");
    let mut shown = 0;
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["page"], (i + 1).to_string(), "{paged}");
        let n = p["ratings"].as_u64().unwrap();
        assert!((1..=2).contains(&n), "{paged}");
        shown += n;
    }
    assert_eq!(shown, low12, "{paged}");
    assert!(
        paged["widest"].as_u64() <= paged["innerWidth"].as_u64(),
        "the paged list scrolls sideways: {paged}"
    );

    // The CSV as downloaded: BOM, `;`, the employees' figures with a decimal comma.
    let csv = v["csv"]["text"].as_str().unwrap();
    assert!(v["csv"]["name"]
        .as_str()
        .unwrap()
        .starts_with("otklik-employees-"));
    assert!(csv.starts_with('\u{feff}'), "BOM");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), report.employees.len() + 2);
    for row in &report.employees {
        let line = lines
            .iter()
            .find(|l| l.split(';').nth(1) == Some(&row.employee_id.unwrap().to_string()))
            .unwrap();
        let cells: Vec<&str> = line.split(';').collect();
        assert_eq!(cells[2], row.rated_orders.to_string());
        assert_eq!(cells[3], num(row.average_rating).replace('.', ","));
        assert_eq!(cells[5], row.low_ratings.to_string());
    }

    // Tampered and expired links: the 401 page.
    for bad in v["bad"].as_array().unwrap() {
        assert_eq!(bad["status"], 401, "{bad}");
        assert_eq!(bad["error"], "unauthorized", "{bad}");
    }
    assert_eq!(v["bad"].as_array().unwrap().len(), 2);

    for shot in ["dashboard-phone.png", "dashboard-desktop.png"] {
        let path = out.join(shot);
        assert!(std::fs::metadata(&path).unwrap().len() > 10_000, "{shot}");
        if std::env::var("OTKLIK_SCREENSHOTS").as_deref() == Ok("docs") {
            let dest = root.join(SCREENSHOTS);
            std::fs::create_dir_all(&dest).unwrap();
            std::fs::copy(&path, dest.join(shot)).unwrap();
        }
        println!("screenshot: {}", path.display());
    }
}

#[tokio::test]
async fn the_local_stack_hands_out_a_working_dashboard_link() {
    let t = TestStack::start("dashlocal").await;
    let local = t.local();
    let line = local
        .env_lines()
        .into_iter()
        .find_map(|l| l.strip_prefix("OTKLIK_DASHBOARD_URL=").map(str::to_string))
        .expect("stack.env names the dashboard link");
    assert!(line.starts_with(&format!("{}/reports/signin?token=", local.api.url())));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&line).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{}/reports", local.api.url()))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}
