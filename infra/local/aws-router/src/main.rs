//! The local AWS endpoint's front door (`scripts/local-up.sh`): one address for every service, as
//! AWS_ENDPOINT_URL wants it, behind which DynamoDB runs in a moto process of its own and every
//! other service (SQS, Scheduler, SES, Secrets Manager) in another.
//!
//! Why: moto serves one request at a time per process (Python's lock), and at a December peak its
//! one process ran at 100% of one core while the second core idled (docs/performance.md).
//! DynamoDB's state is apart from the other services' in moto, so two processes hold the same
//! state one would, and each gets a core. A request is routed by its `X-Amz-Target` header (the
//! JSON protocol's `DynamoDB_20120810.<Action>`); everything else, `/moto-api/` included (the
//! sent mail the tests read), goes to the main process. Connections are kept alive both ways.
//!
//! Usage: `otklik-aws-router <listen host:port> <main endpoint URL> <dynamodb endpoint URL>`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = BoxBody<Bytes, hyper::Error>;

/// Where each request goes.
struct Routes {
    main: String,
    dynamodb: String,
}

impl Routes {
    fn base_for(&self, req: &Request<Incoming>) -> &str {
        if is_dynamodb(req) {
            &self.dynamodb
        } else {
            &self.main
        }
    }
}

/// DynamoDB's JSON protocol names the operation in `X-Amz-Target` (`DynamoDB_20120810.GetItem`);
/// no other service this stack uses has a target starting so.
fn is_dynamodb<B>(req: &Request<B>) -> bool {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("DynamoDB"))
}

async fn forward(
    mut req: Request<Incoming>,
    client: Client<HttpConnector, Incoming>,
    routes: Arc<Routes>,
) -> Result<Response<Body>, Infallible> {
    let base = routes.base_for(&req);
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let uri = match format!("{base}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return Ok(failure(StatusCode::BAD_REQUEST, format!("bad path: {e}"))),
    };
    *req.uri_mut() = uri;
    match client.request(req).await {
        Ok(resp) => Ok(resp.map(|b| b.boxed())),
        // The SDK reads a 502 as a transient failure and retries, as it would AWS's.
        Err(e) => Ok(failure(
            StatusCode::BAD_GATEWAY,
            format!("{base} did not answer: {e}"),
        )),
    }
}

fn failure(status: StatusCode, text: String) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, main, dynamodb] = args.as_slice() else {
        eprintln!("usage: otklik-aws-router <listen host:port> <main endpoint URL> <dynamodb endpoint URL>");
        return std::process::ExitCode::FAILURE;
    };
    let addr: SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("otklik-aws-router: {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("otklik-aws-router: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let routes = Arc::new(Routes {
        main: main.trim_end_matches('/').to_string(),
        dynamodb: dynamodb.trim_end_matches('/').to_string(),
    });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build(connector);
    println!(
        "routing {addr}: DynamoDB to {}, the rest to {}",
        routes.dynamodb, routes.main
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors, for one: the next accept may succeed.
                eprintln!("otklik-aws-router: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (client, routes) = (client.clone(), routes.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| forward(req, client.clone(), routes.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_goes_by_its_target_and_everything_else_to_the_main_process() {
        let req = |target: Option<&str>| {
            let mut b = Request::builder().uri("/");
            if let Some(t) = target {
                b = b.header("X-Amz-Target", t);
            }
            b.body(()).unwrap()
        };
        assert!(is_dynamodb(&req(Some("DynamoDB_20120810.GetItem"))));
        assert!(!is_dynamodb(&req(Some("AmazonSQS.SendMessage"))));
        assert!(!is_dynamodb(&req(Some("secretsmanager.GetSecretValue"))));
        assert!(!is_dynamodb(&req(None)));
    }
}
