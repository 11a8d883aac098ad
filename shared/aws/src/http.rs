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
