//! The events Lambda's triggers send, as JSON: an API Gateway HTTP API request, an SQS batch, an
//! EventBridge Scheduler tick, a Meta webhook body; and what each function is given, in words.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::Utc;
use serde_json::{json, Value};

use super::runtime::uuid_like;

/// The baseline's binary (`infra/bench/hello-lambda`).
pub const HELLO: &str = "hello-lambda";

/// An API Gateway HTTP API request (payload format 2.0) for one route.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The route key's path, e.g. `/r/{token}`.
    pub route: &'a str,
    pub path: &'a str,
    pub query: Vec<(&'a str, String)>,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<Vec<u8>>,
    /// HTTP APIs pass bodies that are not text, JSON or XML (forms too) base64-encoded.
    pub base64: bool,
}

/// The Lambda event API Gateway sends for `req` (`aws_lambda_events`' `ApiGatewayV2httpRequest`).
pub fn http_event(req: &HttpRequest<'_>, region: &str) -> Value {
    let now = Utc::now();
    let raw_query = reqwest::Url::parse_with_params(
        "http://x/",
        req.query.iter().map(|(k, v)| (*k, v.as_str())),
    )
    .ok()
    .and_then(|u| u.query().map(str::to_string))
    .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    let api = "otklikbench";
    let host = format!("{api}.execute-api.{region}.amazonaws.com");
    for (k, v) in [
        ("host", host.clone()),
        ("x-forwarded-for", "203.0.113.10".into()),
        ("x-forwarded-port", "443".into()),
        ("x-forwarded-proto", "https".into()),
        (
            "x-amzn-trace-id",
            format!(
                "Root=1-{:08x}-{}",
                now.timestamp(),
                &uuid_like().replace('-', "")[..24]
            ),
        ),
    ] {
        headers.insert(k.into(), v.into());
    }
    for (k, v) in &req.headers {
        headers.insert(k.to_ascii_lowercase(), v.clone().into());
    }
    if let Some(b) = &req.body {
        headers.insert("content-length".into(), b.len().to_string().into());
    }
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let route_key = format!("{} {}", req.method, req.route);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api,
            "domainName": host,
            "domainPrefix": api,
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": user_agent,
            },
            "requestId": uuid_like(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": req.base64,
    });
    if !req.query.is_empty() {
        let mut q = serde_json::Map::new();
        for (k, v) in &req.query {
            q.insert((*k).into(), v.clone().into());
        }
        event["queryStringParameters"] = Value::Object(q);
    }
    if req.route.contains('{') {
        // The one path parameter our routes have: `{token}`, the segment after `/r/`.
        let token = req.path.split('/').nth(2).unwrap_or_default();
        event["pathParameters"] = json!({ "token": token });
    }
    if let Some(b) = &req.body {
        event["body"] = if req.base64 {
            base64::engine::general_purpose::STANDARD.encode(b).into()
        } else {
            String::from_utf8_lossy(b).into_owned().into()
        };
    }
    event
}

/// The SQS event the event source mapping sends for `messages` (`aws_lambda_events`' `SqsEvent`).
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: BTreeMap<&str, &str> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "md5OfBody": m.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What EventBridge Scheduler's recurring schedule delivers (the poller ignores the payload).
pub fn schedule_event(region: &str, schedule_arn: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid_like(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": region,
        "resources": [schedule_arn],
        "detail": {},
    })
}

/// A Meta webhook (`whatsapp_business_account`) whose value holds `value`, for the simulator's
/// business number.
pub(super) fn meta_webhook(value: Value) -> Vec<u8> {
    let sim = otklik_whatsapp_sim::SimConfig::default();
    let mut full = serde_json::Map::new();
    full.insert("messaging_product".into(), "whatsapp".into());
    full.insert(
        "metadata".into(),
        json!({
            "display_phone_number": sim.business_phone,
            "phone_number_id": sim.meta_phone_number_id,
        }),
    );
    if let Value::Object(v) = value {
        full.extend(v);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": sim.meta_business_account_id,
            "changes": [{ "value": full, "field": "messages" }],
        }],
    })
    .to_string()
    .into_bytes()
}

/// What each function is given, in words (the report's "typical event" column).
pub fn event_of(name: &str) -> &'static str {
    match name {
        "order-intake" => "HTTP API v2: `POST /webhooks/retailcrm`, the retailCRM trigger's form (`orderId`, `site`, `secret`) for a completed order, base64-encoded as HTTP APIs pass forms",
        "intake-worker" => "SQS, one record from the intake queue: the trigger's signal for a completed order without a survey (reads the order, plans the survey, creates its schedule)",
        "history-poller" => "EventBridge Scheduler `Scheduled Event`; since the last run the order history got the round's new orders, their status changes and a complaint order",
        "survey-dispatch" => "SQS, one record from the dispatch queue: a due survey as its schedule sends it (the customer has WhatsApp: the question goes out through the simulator)",
        "provider-webhooks" => "HTTP API v2: `POST /webhooks/whatsapp/meta`, Meta's signed `delivered` status of a survey question (checked, parsed and queued)",
        "inbound-worker" => "SQS, one record from the inbound queue: the customer's \"5\" to that question, as `provider-webhooks` queued it (routed to the survey, rated, its effects queued)",
        "email-landing" => "HTTP API v2: `GET /r/{token}`, the landing page of the 5-star link of a survey sent by email (a valid token)",
        "crm-writer" => "SQS: the CRM writes of a 1-star WhatsApp reply with words, as `inbound-worker` queued them (rating, words and credits in one message)",
        "complaint-create" => "SQS: the complaint of that 1-star reply, as queued (opens a complaint order and links it)",
        "reply-sender" => "SQS: the message acknowledging that complaint to the customer, as queued (sent on WhatsApp through the simulator)",
        "kpi-report" => "HTTP API v2: `GET /reports/kpi?from=…&to=…` (the last 30 days) with the report token",
        "kpi-digest" => "EventBridge Scheduler: the digest schedule's input `{\"digest\": true, \"reports_url\": …}`; no `report.digest_to`, so nothing is mailed",
        HELLO => "a small JSON object; answers `{\"hello\":\"world\"}`",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    #[test]
    fn events_have_the_shapes_lambda_sends() {
        let http = http_event(
            &HttpRequest {
                method: "GET",
                route: "/reports/kpi",
                path: "/reports/kpi",
                query: vec![("from", "2026-11-01".into()), ("to", "2026-11-23".into())],
                headers: vec![("Authorization", "Bearer t".into())],
                ..Default::default()
            },
            "eu-central-1",
        );
        let req = lambda_http::request::from_str(&http.to_string()).unwrap();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri().path(), "/reports/kpi");
        assert_eq!(
            req.query_string_parameters().first("to"),
            Some("2026-11-23")
        );
        assert_eq!(req.headers()["authorization"], "Bearer t");

        let form = http_event(
            &HttpRequest {
                method: "POST",
                route: "/webhooks/retailcrm",
                path: "/webhooks/retailcrm",
                body: Some(b"orderId=1&site=s".to_vec()),
                base64: true,
                ..Default::default()
            },
            "eu-central-1",
        );
        let req = lambda_http::request::from_str(&form.to_string()).unwrap();
        assert_eq!(req.body().as_ref(), b"orderId=1&site=s");

        let msg = aws_sdk_sqs::types::Message::builder()
            .message_id("m-1")
            .receipt_handle("r-1")
            .body(r#"{"surveyId":"s-1"}"#)
            .build();
        let sqs = sqs_event(
            &[msg],
            "arn:aws:sqs:eu-central-1:123456789012:q",
            "eu-central-1",
        );
        let parsed: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(sqs).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].message_id.as_deref(), Some("m-1"));
        assert_eq!(
            parsed.records[0].event_source_arn.as_deref(),
            Some("arn:aws:sqs:eu-central-1:123456789012:q")
        );
    }
}
