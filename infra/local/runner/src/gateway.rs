//! An API Gateway (HTTP API, payload v2) stand-in: one port, routes by path prefix to the real
//! handlers, which receive the same `lambda_http::Request` shape as on Lambda — raw body, headers,
//! and query parameters in the request extensions.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::response::IntoResponse;
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// API Gateway refuses payloads over 10 MB before a function sees them.
pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

type BoxFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// A function behind the gateway.
pub type Handler = Arc<dyn Fn(Request) -> BoxFuture + Send + Sync>;

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// Which requests a route takes.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Any method on a path starting with this (local pages, single-function tests).
    Prefix(String),
    /// Exactly the routes `otklik_aws::resources::FUNCTIONS` gives this function — the ones the
    /// SAM template declares — so a route the template lacks is a 404 here as on AWS.
    Function(&'static str),
}

/// A matcher and its handler: the first route that takes the request wins.
#[derive(Clone)]
pub struct Route {
    pub matcher: Matcher,
    pub handler: Handler,
}

impl Route {
    pub fn new(prefix: impl Into<String>, handler: Handler) -> Route {
        Route {
            matcher: Matcher::Prefix(prefix.into()),
            handler,
        }
    }

    /// The function `name`'s declared routes.
    pub fn function(name: &'static str, handler: Handler) -> Route {
        Route {
            matcher: Matcher::Function(name),
            handler,
        }
    }

    fn takes(&self, method: &str, path: &str) -> bool {
        match &self.matcher {
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Function(name) => {
                otklik_aws::resources::route(method, path).is_some_and(|f| f.name == *name)
            }
        }
    }
}

pub struct GatewayHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl GatewayHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `routes` on `listener` until the handle is dropped.
pub async fn serve(listener: TcpListener, routes: Vec<Route>) -> std::io::Result<GatewayHandle> {
    let addr = listener.local_addr()?;
    let routes = Arc::new(routes);
    let app = axum::Router::new()
        .fallback(move |req: axum::extract::Request| {
            let routes = routes.clone();
            async move { dispatch(&routes, req).await }
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PAYLOAD));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "gateway stopped");
        }
    });
    Ok(GatewayHandle {
        addr,
        stop: Some(stop),
    })
}

/// Serves `routes` on a free local port.
pub async fn spawn(routes: Vec<Route>) -> std::io::Result<GatewayHandle> {
    serve(TcpListener::bind(("127.0.0.1", 0)).await?, routes).await
}

fn query_map(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url_pairs(query.unwrap_or_default()) {
        map.entry(k).or_default().push(v);
    }
    map
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded as API Gateway does.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Requests the gateway has taken since the process started (`make bench` counts per survey).
pub static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn dispatch(routes: &[Route], req: axum::extract::Request) -> axum::response::Response {
    REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req.uri().path().to_string();
    let method = req.method().as_str().to_string();
    let Some(route) = routes.iter().find(|r| r.takes(&method, &path)) else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            r#"{"error":"not_found","message":"no such route"}"#,
        )
            .into_response();
    };
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_PAYLOAD).await {
        Ok(b) => b,
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                [("content-type", "application/json")],
                r#"{"error":"too_large","message":"payload too large"}"#,
            )
                .into_response()
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(t) => Body::Text(t),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let mut builder = lambda_http::http::Request::builder()
        .method(parts.method.as_str())
        .uri(parts.uri.to_string());
    for (name, value) in &parts.headers {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    // The route key API Gateway would put in the request context: a function tells a method the
    // path has no route for by the path's `ANY` in it (`otklik_aws::http::wrong_method`).
    let context = match route.matcher {
        Matcher::Function(_) => {
            otklik_aws::resources::matched_route(&method, &path).map(|(_, r)| {
                let mut ctx =
                    lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default(
                    );
                ctx.route_key = Some(r.key());
                lambda_http::request::RequestContext::ApiGatewayV2(ctx)
            })
        }
        Matcher::Prefix(_) => None,
    };
    let request = match builder.body(body) {
        Ok(r) => {
            let r = r.with_query_string_parameters(query_map(parts.uri.query()));
            match context {
                Some(ctx) => r.with_request_context(ctx),
                None => r,
            }
        }
        Err(_) => {
            return (axum::http::StatusCode::BAD_REQUEST, "bad request").into_response();
        }
    };
    let response = (route.handler)(request).await;
    let (parts, body) = response.into_parts();
    let mut out = axum::http::Response::builder().status(parts.status.as_u16());
    for (name, value) in &parts.headers {
        out = out.header(name.as_str(), value.as_bytes());
    }
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    out.body(axum::body::Body::from(bytes))
        .unwrap_or_else(|_| axum::http::StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_like_api_gateway() {
        let m = query_map(Some(
            "hub.mode=subscribe&hub.challenge=12%2034&x=a+b&x=c&bad=%zz&u=%D1%8F%",
        ));
        assert_eq!(m["hub.mode"], vec!["subscribe"]);
        assert_eq!(m["hub.challenge"], vec!["12 34"]);
        assert_eq!(m["x"], vec!["a b", "c"]);
        assert_eq!(m["bad"], vec!["%zz"]);
        assert_eq!(m["u"], vec!["я%"]);
    }
}
