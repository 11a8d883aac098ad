//! The few HTTP helpers every API Gateway function shares: one error shape for every route
//! (`{"error": <machine code>, "message": <for people>}`, see `docs/openapi.yaml`) and the raw body.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// A JSON answer.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .expect("a JSON response is valid")
}

/// The one error shape of the API.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

/// API Gateway's route key for the request (`POST /webhooks/max`, `ANY /r/{token}`), when it came
/// through the HTTP API (the local gateway sets it the same way).
pub fn route_key(req: &Request) -> Option<&str> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.route_key.as_deref(),
        // Another front (ALB, a REST API) has no HTTP API route keys.
        _ => None,
    }
}

/// A request that reached a function through a path's catch-all `ANY` route used a method the
/// path has no route for (API Gateway prefers a route of the method): the answer is 405 with
/// the methods the path takes in `Allow` (RFC 9110 §15.5.6), before anything is read or written.
/// `None` for every other request.
pub fn wrong_method(req: &Request) -> Option<Response<Body>> {
    let path = route_key(req)?.strip_prefix("ANY ")?;
    let allowed = crate::resources::allowed_methods(path).join(", ");
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("this address takes {allowed}"),
    );
    if let Ok(value) = allowed.parse() {
        response.headers_mut().insert("allow", value);
    }
    Some(response)
}

/// The request body exactly as it arrived (signatures are computed over these bytes).
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// A request header as text, if present and readable.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(req: &Request) -> bool {
    header(req, "accept").is_some_and(|a| {
        let a = a.to_ascii_lowercase();
        a.contains("application/json") && !a.contains("text/html")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_a_code_and_a_message() {
        let r = error(StatusCode::UNAUTHORIZED, "bad_token", "wrong token");
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/json");
        let Body::Text(t) = r.body() else {
            panic!("text body")
        };
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["error"], "bad_token");
        assert_eq!(v["message"], "wrong token");
    }

    fn through(key: &str) -> Request {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.route_key = Some(key.to_string());
        Request::default().with_request_context(RequestContext::ApiGatewayV2(ctx))
    }

    #[test]
    fn a_request_through_the_catch_all_gets_405_with_allow() {
        let r = wrong_method(&through("ANY /r/{token}")).expect("a 405");
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
        let Body::Text(t) = r.body() else {
            panic!("text body")
        };
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["error"], "method_not_allowed");
        let r = wrong_method(&through("ANY /webhooks/retailcrm")).unwrap();
        assert_eq!(r.headers()["allow"], "POST");
        // Through a route of its method, or from no gateway at all: the function decides.
        assert!(wrong_method(&through("POST /r/{token}")).is_none());
        assert!(wrong_method(&Request::default()).is_none());
    }

    #[test]
    fn json_is_wanted_only_when_asked_for() {
        let mut req = Request::default();
        assert!(!wants_json(&req));
        req.headers_mut()
            .insert("accept", "application/json".parse().unwrap());
        assert!(wants_json(&req));
        req.headers_mut().insert(
            "accept",
            "text/html,application/json;q=0.9".parse().unwrap(),
        );
        assert!(!wants_json(&req));
    }
}
