//! Green-API's webhook: the bearer check and the body parser on any request body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use otklik_messaging::inbound::{parse_green_api, verify_bearer};

fuzz_target!(|data: &[u8]| {
    let _ = verify_bearer("webhook-token", std::str::from_utf8(data).ok());
    let _ = parse_green_api(data, "RU");
});
