//! Lambda entry point of `whatsapp-inbound`: the queue and the webhook secrets once per cold start.

use lambda_http::{run, service_fn, Error, Request};
use otklik_whatsapp_inbound::WhatsappInbound;

#[tokio::main]
async fn main() -> Result<(), Error> {
    otklik_app::env::init_logging();
    let app = WhatsappInbound::from_env().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(app.handle(req).await)
    }))
    .await
}
