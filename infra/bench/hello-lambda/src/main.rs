//! The baseline a function's cold start is compared with (`make bench`): the least a Rust
//! function on `lambda_runtime` does — the same runtime, tokio and profile as the functions, no
//! config, no secrets, no AWS clients.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({ "hello": "world" }))
    }))
    .await
}
