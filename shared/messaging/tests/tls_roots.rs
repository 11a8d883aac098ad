//! The WhatsApp clients trust the compiled-in roots (`otklik-tls`), so building them reads no
//! system certificate store. Its own binary, because it empties the store through the process's
//! environment.

use otklik_core::config::GreenApiConfig;
use otklik_messaging::GreenApiClient;

#[test]
fn the_whatsapp_client_builds_with_no_system_certificates() {
    otklik_tls::empty_the_system_store_for_this_process();
    // With reqwest's platform verifier this panics: no CA certificates from the system.
    let built = std::panic::catch_unwind(|| {
        GreenApiClient::new(
            GreenApiConfig {
                api_url: "https://api.green-api.com".into(),
                instance_id: "1101000001".into(),
            },
            "token",
        )
    });
    assert!(built.is_ok(), "building the client needed the system store");
}
