//! Lambda entry point of `history-poller` (run every few minutes by an EventBridge schedule).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otklik_history_poller::Poller;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = Poller::from_env().await?;
    let app = &app;
    run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Error>(app.run(chrono::Utc::now()).await?)
        },
    ))
    .await
}
