//! The dashboard's routes: which page a path asks for, the query it brings, and the answer (HTML
//! or CSV with their headers). Figures and markup are `otklik_core::dashboard`'s.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_core::dashboard::page::{self, ErrorPage, Frame};
use otklik_core::dashboard::{self, csv, Pager, Period, SortKey, Words};
use otklik_core::kpi;

use super::KpiApi;

/// A route under `/reports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Dashboard,
    Kpi,
    Employee(u64),
    EmployeesCsv,
    RatingsCsv,
    /// The signed link: sets the session cookie and redirects to the main page.
    Signin,
}

/// Splits a path into the main page's path as the browser sees it (a stage prefix kept) and the
/// route; `None` for anything else.
pub fn route(path: &str) -> Option<(&str, Route)> {
    let at = path.rfind("/reports")?;
    let (base, rest) = path.split_at(at + "/reports".len());
    let rest = rest.trim_end_matches('/');
    let r = match rest {
        "" => Route::Dashboard,
        "/kpi" => Route::Kpi,
        "/employees.csv" => Route::EmployeesCsv,
        "/ratings.csv" => Route::RatingsCsv,
        "/signin" => Route::Signin,
        _ => {
            let id = rest.strip_prefix("/employee/")?;
            // Ids as retailCRM gives them: 1 to 15 digits, nothing else.
            if id.is_empty() || id.len() > 15 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Route::Employee(id.parse().ok().filter(|n| *n > 0)?)
        }
    };
    Some((base, r))
}

pub fn unauthorized() -> ErrorPage {
    ErrorPage::Unauthorized
}

pub fn not_found() -> ErrorPage {
    ErrorPage::NotFound
}

impl KpiApi {
    fn words(&self) -> &'static Words {
        Words::of(self.lang)
    }

    fn frame<'a>(&'a self, base: &'a str, names: &'a BTreeMap<u64, String>) -> Frame<'a> {
        Frame {
            shop: &self.shop,
            words: self.words(),
            base,
            crm_url: &self.crm_url,
            names,
            inspector: self.complaints.inspector_id.get(),
            tz: self.timezone,
        }
    }

    /// An HTML page with the headers every dashboard page carries.
    pub(crate) fn html(status: StatusCode, body: String) -> Response<Body> {
        Response::builder()
            .status(status)
            .header("content-type", "text/html; charset=utf-8")
            .header("content-security-policy", page::content_security_policy())
            .header("cache-control", "no-store")
            .header("referrer-policy", "no-referrer")
            .header("x-content-type-options", "nosniff")
            .header("x-frame-options", "DENY")
            .body(Body::Text(body))
            .expect("a page response is valid")
    }

    pub(crate) fn error_page(
        &self,
        base: &str,
        status: StatusCode,
        e: ErrorPage,
    ) -> Response<Body> {
        let names = BTreeMap::new();
        Self::html(status, page::render_error(&self.frame(base, &names), &e))
    }

    fn csv(name: &str, period: &Period, body: String) -> Response<Body> {
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", csv::CONTENT_TYPE)
            .header(
                "content-disposition",
                format!(
                    "attachment; filename=\"otklik-{name}-{}-{}.csv\"",
                    period.from, period.to
                ),
            )
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff")
            .body(Body::Text(body))
            .expect("a CSV response is valid")
    }

    /// The main page's dashboard from the per-day counters of its window and the complaints
    /// open now: a query per month of the window and a few reads per open complaint, however many
    /// surveys the period holds.
    async fn figures(
        &self,
        period: &Period,
        now: DateTime<Utc>,
        employee: Option<u64>,
        with_open: bool,
    ) -> Result<(dashboard::Dashboard, BTreeMap<u64, String>), String> {
        let tz = self.timezone;
        // Open complaints of surveys asked in the same window as the per-survey page reads.
        let start = kpi::days(period.window_start(), period.to, tz)?.0;
        let end = kpi::days(period.to, period.to, tz)?.1.max(now);
        // The two reads need nothing of each other: side by side, the page waits for the longer.
        // Only the main page shows the open complaints.
        let open = async {
            if with_open {
                otklik_app::report::open_cases(&self.store, start, end).await
            } else {
                Ok(Vec::new())
            }
        };
        let (cells, open) =
            tokio::try_join!(self.store.kpi_cells(period.window_start(), period.to), open)
                .map_err(|e| e.to_string())?;
        let ids: Vec<u64> = cells
            .keys()
            .filter_map(|(_, row)| match row {
                kpi::fold::RowKey::Employee(e) => Some(*e),
                kpi::fold::RowKey::Team => None,
            })
            .chain(open.iter().flat_map(|c| c.employees.iter().copied()))
            .chain([self.complaints.inspector_id.get()])
            .chain(employee)
            .collect();
        let names = otklik_app::report::names_for(&self.store, ids, &BTreeMap::new())
            .await
            .map_err(|e| e.to_string())?;
        let d = dashboard::dashboard_from_cells(
            *period,
            &cells,
            &open,
            &names,
            &self.complaints,
            tz,
            now,
        )?;
        Ok((d, names))
    }

    pub(crate) async fn page(
        &self,
        req: &Request,
        base: &str,
        route: Route,
        now: DateTime<Utc>,
    ) -> Response<Body> {
        let q = req.query_string_parameters();
        let today = now.with_timezone(&self.timezone).date_naive();
        let period = match Period::choose(q.first("period"), q.first("from"), q.first("to"), today)
        {
            Ok(p) => p,
            Err(e) => {
                return self.error_page(base, StatusCode::BAD_REQUEST, ErrorPage::BadPeriod(e))
            }
        };
        let bad = || self.error_page(base, StatusCode::BAD_REQUEST, ErrorPage::BadRequest);
        let employee_filter = match (route, q.first("employee")) {
            (Route::RatingsCsv, Some(e)) => match e.parse::<u64>() {
                Ok(e) if e > 0 => Some(e),
                _ => return bad(),
            },
            (Route::Employee(e), _) => Some(e),
            _ => None,
        };
        // A sort or direction the page does not offer is refused, not silently ignored.
        if q.first("sort").is_some_and(|s| SortKey::parse(s).is_none())
            || q.first("dir").is_some_and(|d| d != "asc" && d != "desc")
            || Pager::page_of(q.first("page")).is_none()
        {
            return bad();
        }
        match self
            .answer(base, route, &period, employee_filter, &q, now)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "dashboard failed");
                self.error_page(
                    base,
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorPage::Unavailable,
                )
            }
        }
    }

    async fn answer(
        &self,
        base: &str,
        route: Route,
        period: &Period,
        employee: Option<u64>,
        q: &lambda_http::aws_lambda_events::query_map::QueryMap,
        now: DateTime<Utc>,
    ) -> Result<Response<Body>, String> {
        let tz = self.timezone;
        // Every page's figures (the table, the trends) come from the per-day counters. An
        // employee's page and the ratings CSV also list rated orders: the surveys asked in the
        // period, read through the `sent` index, nothing before it.
        let started = std::time::Instant::now();
        let main = matches!(route, Route::Dashboard | Route::Kpi | Route::Signin);
        let (d, names) = self.figures(period, now, employee, main).await?;
        let figured = started.elapsed();
        // Checked by `page` already: a bad number never gets here.
        let page_no = Pager::page_of(q.first("page")).unwrap_or(1);
        // A ratings file too large for one answer is offered in parts before anything is read
        // for it: the counters already say how many rows it would have.
        let too_large = |rows: u32| {
            self.error_page(
                base,
                StatusCode::BAD_REQUEST,
                ErrorPage::TooManyRows {
                    rows,
                    parts: period.parts(),
                    employee,
                },
            )
        };
        let csv_rows = match employee {
            None => d.report.team.rated_orders,
            Some(e) => d
                .report
                .employees
                .iter()
                .find(|r| r.employee_id == Some(e))
                .map_or(0, |r| r.rated_orders),
        };
        // A single day has no parts: it is answered whatever its size.
        let one_day = period.from == period.to;
        if route == Route::RatingsCsv && csv_rows > self.csv_max_rows && !one_day {
            return Ok(too_large(csv_rows));
        }
        let (names, facts, listed) = if matches!(route, Route::Employee(_) | Route::RatingsCsv) {
            let (from, to) = period.instants(tz)?;
            let (mut facts, listed) = match employee {
                // An employee's page: one page of their own list of 1–3 ratings, not the
                // period's surveys.
                Some(e) if route != Route::RatingsCsv => {
                    let skip = (page_no - 1).saturating_mul(self.low_per_page);
                    // How many the list holds: the counters know (the 1s, 2s and 3s).
                    let listed = d
                        .report
                        .employees
                        .iter()
                        .find(|r| r.employee_id == Some(e))
                        .map_or(0, |r| r.distribution[..3].iter().sum::<u32>() as usize);
                    otklik_app::report::low_ratings_of(
                        &self.store,
                        &self.complaints,
                        e,
                        from,
                        to,
                        skip,
                        self.low_per_page,
                    )
                    .await
                    .map(|f| (f, listed))
                }
                _ => otklik_app::report::facts_between(&self.store, &self.complaints, from, to)
                    .await
                    .map(|f| (f, 0)),
            }
            .map_err(|e| e.to_string())?;
            // Words only for what is shown: an employee's 1–3s, or every rated order of the CSV.
            let up_to = if route == Route::RatingsCsv { 5 } else { 3 };
            otklik_app::report::attach_words(&self.store, &mut facts, |f| {
                f.kpi.rating.is_some_and(|r| r <= up_to)
                    && employee.is_none_or(|e| f.kpi.employees.contains(&e))
            })
            .await
            .map_err(|e| e.to_string())?;
            let names = otklik_app::report::names_of(&self.store, &facts, [], &names)
                .await
                .map_err(|e| e.to_string())?;
            (names, facts, listed)
        } else {
            (names, Vec::new(), 0)
        };
        let listed_at = started.elapsed();
        let frame = self.frame(base, &names);
        let mut response = match route {
            Route::Dashboard | Route::Kpi | Route::Signin => {
                let sort = q
                    .first("sort")
                    .and_then(SortKey::parse)
                    .unwrap_or(SortKey::Rated);
                let desc = match q.first("dir") {
                    Some("asc") => false,
                    Some("desc") => true,
                    _ => sort.default_desc(),
                };
                Self::html(
                    StatusCode::OK,
                    page::render_dashboard(&frame, &d, sort, desc),
                )
            }
            Route::Employee(id) => {
                let low =
                    dashboard::rated_orders(period, &facts, Some(id), 3, &self.complaints, tz)?;
                let row = d
                    .report
                    .employees
                    .iter()
                    .find(|r| r.employee_id == Some(id));
                let empty = dashboard_trend_without_ratings(period);
                let trend = d.employee_trend.get(&id).unwrap_or(&empty);
                let pager = Pager {
                    page: page_no,
                    per_page: self.low_per_page,
                    total: listed,
                };
                Self::html(
                    StatusCode::OK,
                    page::render_employee(&frame, period, id, row, trend, &low, &pager),
                )
            }
            Route::EmployeesCsv => {
                let mut rows = d.report.employees.clone();
                dashboard::sort_rows(&mut rows, SortKey::Rated, true);
                Self::csv(
                    "employees",
                    period,
                    csv::employees(self.words(), &rows, &d.report.team, &names),
                )
            }
            Route::RatingsCsv => {
                let orders =
                    dashboard::rated_orders(period, &facts, employee, 5, &self.complaints, tz)?;
                let body = csv::ratings(self.words(), &orders, &names, &self.crm_url, tz);
                // Fewer rows than the limit can still be too many bytes (long words).
                if body.len() > dashboard::MAX_CSV_BYTES && !one_day {
                    return Ok(too_large(orders.len() as u32));
                }
                Self::csv("ratings", period, body)
            }
        };
        // Where the time went (the browser's developer tools show it; the year bench reads it):
        // the counters and open complaints, the listed surveys and their words, the rendering.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let timing = format!(
            "figures;dur={:.1}, list;dur={:.1}, render;dur={:.1}",
            ms(figured),
            ms(listed_at - figured),
            ms(started.elapsed() - listed_at)
        );
        if let Ok(v) = lambda_http::http::HeaderValue::from_str(&timing) {
            response.headers_mut().insert("server-timing", v);
        }
        Ok(response)
    }
}

/// The trend of someone with no rating in the period: empty weeks (the chart shows none).
fn dashboard_trend_without_ratings(period: &Period) -> Vec<dashboard::WeekFigures> {
    period
        .trend_weeks()
        .into_iter()
        .map(|monday| dashboard::WeekFigures {
            monday,
            rated_orders: 0,
            average_rating: None,
            csat_percent: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_page_with_or_without_a_stage() {
        assert_eq!(route("/reports"), Some(("/reports", Route::Dashboard)));
        assert_eq!(route("/reports/"), Some(("/reports", Route::Dashboard)));
        assert_eq!(
            route("/prod/reports/kpi"),
            Some(("/prod/reports", Route::Kpi))
        );
        assert_eq!(
            route("/reports/employee/11"),
            Some(("/reports", Route::Employee(11)))
        );
        assert_eq!(
            route("/reports/employees.csv").map(|r| r.1),
            Some(Route::EmployeesCsv)
        );
        assert_eq!(
            route("/reports/ratings.csv").map(|r| r.1),
            Some(Route::RatingsCsv)
        );
        for bad in [
            "/reports/employee/",
            "/reports/employee/0",
            "/reports/employee/-1",
            "/reports/employee/1e3",
            "/reports/employee/99999999999999999999",
            "/reports/employee/11/x",
            "/reports/nothing",
            "/other",
        ] {
            assert_eq!(route(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_empty_trend_has_the_weeks_and_no_figures() {
        let p = Period::range(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        )
        .unwrap();
        let t = dashboard_trend_without_ratings(&p);
        assert_eq!(t.len(), dashboard::TREND_WEEKS);
        assert!(t.iter().all(|w| w.average_rating.is_none()));
    }
}
