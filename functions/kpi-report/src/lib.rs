//! `kpi-report`: `GET /reports/kpi?from=YYYY-MM-DD&to=YYYY-MM-DD` with
//! `Authorization: Bearer <OTKLIK_REPORT_TOKEN>` → the KPI report as JSON (the same document as
//! `otklik kpi --json`). Without a configured token the route refuses everyone.

use chrono_tz::Tz;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use otklik_aws::http::{error, header, json};
use otklik_aws::store::DynamoStore;
use otklik_core::config::ComplaintsConfig;
use otklik_messaging::inbound::verify_bearer;

pub struct KpiApi {
    pub store: DynamoStore,
    /// `OTKLIK_REPORT_TOKEN`; `None` refuses every request.
    pub token: Option<String>,
    /// The shop's days.
    pub timezone: Tz,
    /// Which complaint statuses mean resolved or failed.
    pub complaints: ComplaintsConfig,
}

impl KpiApi {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        if !req
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with("/reports/kpi")
        {
            return error(StatusCode::NOT_FOUND, "not_found", "no such route");
        }
        if req.method() != Method::GET {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use GET",
            );
        }
        let authorized = self
            .token
            .as_deref()
            .is_some_and(|t| verify_bearer(t, header(&req, "authorization")).is_ok());
        if !authorized {
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
            complaints: config.complaints,
        })
    }
}
