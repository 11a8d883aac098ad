//! `kpi-report`: the KPI report for the shop's owner.
//!
//! - `GET /reports/kpi?from=YYYY-MM-DD&to=YYYY-MM-DD` with `Authorization: Bearer
//!   <OTKLIK_REPORT_TOKEN>` → the KPI report as JSON (the same document as `otklik kpi --json`).
//! - `GET /reports` → the dashboard page; `GET /reports/employee/{id}` → one employee's page;
//!   `GET /reports/employees.csv`, `/reports/ratings.csv` → what the pages show, as CSV. Each takes
//!   `period=this-month|last-month|last-7-days|last-30-days` or `from`/`to` (this month when
//!   neither), and the main page `sort`/`dir`. Without a configured token every route refuses.
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
}

impl KpiApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.handle_at(req, Utc::now()).await
    }

    /// [`Self::handle`] at a given moment (tests pin "today" and the complaints' ages).
    pub async fn handle_at(&self, req: Request, now: DateTime<Utc>) -> Response<Body> {
        let path = req.uri().path().to_string();
        let Some((base, route)) = pages::route(&path) else {
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
            page => {
                if !self.bearer_ok(&req) {
                    return self.error_page(base, StatusCode::UNAUTHORIZED, pages::unauthorized());
                }
                self.page(&req, base, page, now).await
            }
        }
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
        let (start, end) = match otklik_core::kpi::period(from, to, self.timezone) {
            Ok(p) => p,
            Err(e) => return error(StatusCode::BAD_REQUEST, "bad_period", &e),
        };
        match otklik_app::report::gather(
            &self.store,
            &self.complaints,
            start,
            end,
            &Default::default(),
        )
        .await
        {
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
        Self::from_parts(
            &otklik_app::env::Parts::from_env(otklik_app::env::Reads::ReportToken).await?,
        )
        .await
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
        })
    }
}
