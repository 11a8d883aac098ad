//! `kpi-report`: the KPI report for the shop's owner.
//!
//! - `GET /reports/kpi?from=YYYY-MM-DD&to=YYYY-MM-DD` with `Authorization: Bearer
//!   <OTKLIK_REPORT_TOKEN>` → the KPI report as JSON (the same document as `otklik kpi --json`).
//! - `GET /reports` → the dashboard page; `GET /reports/employee/{id}` → one employee's page;
//!   `GET /reports/employees.csv`, `/reports/ratings.csv` → what the pages show, as CSV. Each takes
//!   `period=this-month|last-month|last-7-days|last-30-days` or `from`/`to` (this month when
//!   neither), and the main page `sort`/`dir`. Without a configured token every route refuses.
//! - `GET /reports/signin?token=<signed link>` (from `otklik report link`) → sets the session
//!   cookie (`otklik_core::report_access`) and 303 to the clean `/reports`. The pages take the
//!   cookie or the bearer token; a tampered or expired link or cookie gets the 401 page. The
//!   token is never logged.
//!
//! The facts are gathered by `otklik_app::report`, every figure is computed and every page
//! rendered by `otklik_core::dashboard`; this crate only routes, reads the query and answers.

mod pages;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_aws::http::{error, header, json};
use otklik_aws::store::DynamoStore;
use otklik_core::config::ComplaintsConfig;
use otklik_core::report_access::{self as access, Grant, ReportKey};
use otklik_core::texts::Lang;
use otklik_messaging::inbound::verify_bearer;

pub use pages::Route;

pub struct KpiApi {
    pub store: DynamoStore,
    /// `OTKLIK_REPORT_TOKEN`; `None` refuses every request.
    pub token: Option<String>,
    /// The shop's days.
    pub timezone: Tz,
    /// Which complaint statuses mean resolved or failed; the SLA; the inspector.
    pub complaints: ComplaintsConfig,
    /// `crm.url`: the pages link to orders there.
    pub crm_url: String,
    /// The shop's name on the pages.
    pub shop: String,
    /// The pages' language (`texts.language`).
    pub lang: Lang,
    /// The most rows a ratings CSV answers at once (`dashboard::MAX_CSV_ROWS`; a test sets less).
    pub csv_max_rows: u32,
    /// How many 1–3 ratings an employee's page shows at once (`dashboard::LOW_PER_PAGE`).
    pub low_per_page: usize,
}

impl KpiApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.handle_at(req, Utc::now()).await
    }

    /// [`Self::handle`] at a given moment (tests pin "today" and the complaints' ages).
    pub async fn handle_at(&self, req: Request, now: DateTime<Utc>) -> Response<Body> {
        if let Some(refused) = otklik_aws::http::wrong_method(&req) {
            return refused;
        }
        let path = req.uri().path().to_string();
        let Some((base, route)) = pages::route(&path) else {
            // Below the dashboard a person's browser asked: a page. Elsewhere: the API's shape.
            if let Some(at) = path.rfind("/reports/") {
                let base = &path[..at + "/reports".len()];
                return self.error_page(base, StatusCode::NOT_FOUND, pages::not_found());
            }
            return error(StatusCode::NOT_FOUND, "not_found", "no such route");
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return match route {
                Route::Kpi => error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "use GET",
                ),
                _ => self.error_page(base, StatusCode::METHOD_NOT_ALLOWED, pages::not_found()),
            };
        }
        match route {
            Route::Kpi => self.kpi_json(&req).await,
            Route::Signin => self.signin(&req, base, now),
            page => match self.signed_in(&req, now) {
                Ok(()) => self.page(&req, base, page, now).await,
                Err(why) => {
                    // Which kind of refusal, never the token itself.
                    tracing::info!(refused = why, "dashboard sign-in refused");
                    let mut r =
                        self.error_page(base, StatusCode::UNAUTHORIZED, pages::unauthorized());
                    if why != "no sign-in" {
                        // A cookie we refuse is of no use to the browser: it forgets it.
                        if let Ok(v) = access::clear_cookie(base).parse() {
                            r.headers_mut().insert("set-cookie", v);
                        }
                    }
                    r
                }
            },
        }
    }

    fn key(&self) -> Option<ReportKey> {
        self.token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(ReportKey::new)
    }

    /// Whether the request comes from someone signed in: a valid session cookie, or the bearer
    /// token (scripts). `Err` says why not, for the log.
    fn signed_in(&self, req: &Request, now: DateTime<Utc>) -> Result<(), &'static str> {
        if self.bearer_ok(req) {
            return Ok(());
        }
        let Some(cookie) = access::session_cookie(header(req, "cookie")) else {
            return Err("no sign-in");
        };
        let key = self.key().ok_or("no report token configured")?;
        match key.verify(Grant::Session, cookie, now) {
            Ok(_) => Ok(()),
            Err(access::LinkError::Expired) => Err("session expired"),
            Err(_) => Err("session not ours"),
        }
    }

    /// Trades a valid link for a session cookie of the same expiry, then sends the browser to the
    /// clean URL, so the link leaves the address bar (and the history's last entry).
    fn signin(&self, req: &Request, base: &str, now: DateTime<Utc>) -> Response<Body> {
        let q = req.query_string_parameters();
        let verified = match (self.key(), q.first("token")) {
            (Some(key), Some(token)) => key
                .verify(Grant::Link, token, now)
                .map(|until| (key, until))
                .map_err(|e| match e {
                    access::LinkError::Expired => "link expired",
                    _ => "link not ours",
                }),
            (None, _) => Err("no report token configured"),
            (_, None) => Err("no link token"),
        };
        let (key, until) = match verified {
            Ok(v) => v,
            Err(why) => {
                tracing::info!(refused = why, "dashboard sign-in link refused");
                return self.error_page(base, StatusCode::UNAUTHORIZED, pages::unauthorized());
            }
        };
        let session = key.sign(Grant::Session, until);
        tracing::info!(until = %until, "dashboard signed in");
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", base)
            .header("set-cookie", access::set_cookie(&session, until, now, base))
            .header("cache-control", "no-store")
            .header("referrer-policy", "no-referrer")
            .body(Body::Empty)
            .expect("a redirect is valid")
    }

    fn bearer_ok(&self, req: &Request) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| verify_bearer(t, header(req, "authorization")).is_ok())
    }

    async fn kpi_json(&self, req: &Request) -> Response<Body> {
        if !self.bearer_ok(req) {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid Authorization: Bearer <report token> is required",
            );
        }
        let q = req.query_string_parameters();
        let (Some(from), Some(to)) = (q.first("from"), q.first("to")) else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_period",
                "from and to are required (YYYY-MM-DD)",
            );
        };
        // Checked before anything is read: a reversed or over-long period is the asker's
        // mistake, told in our words, and nothing is computed for it.
        let (first, last) = match otklik_core::kpi::period_days(from, to) {
            Ok(p) => p,
            Err(e) => return error(StatusCode::BAD_REQUEST, "bad_period", &e),
        };
        match otklik_app::report::by_days(&self.store, first, last, &Default::default()).await {
            Ok(report) => {
                let mut body = serde_json::to_value(&report).unwrap_or_default();
                body["from"] = from.into();
                body["to"] = to.into();
                json(StatusCode::OK, &body)
            }
            Err(e) => {
                tracing::error!(error = %e, "kpi report failed");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the report could not be computed now; retry later",
                )
            }
        }
    }
}

impl KpiApi {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("kpi-report").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let config = p.config.as_ref().clone();
        Ok(KpiApi {
            store: p.store(),
            token: p.report_token.clone(),
            timezone: config.timezone,
            crm_url: config.crm.url.clone(),
            shop: config.email.shop_display_name().to_string(),
            lang: config.texts.language.unwrap_or_default(),
            complaints: config.complaints,
            csv_max_rows: otklik_core::dashboard::MAX_CSV_ROWS,
            low_per_page: otklik_core::dashboard::LOW_PER_PAGE,
        })
    }
}
