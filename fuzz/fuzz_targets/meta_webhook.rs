//! Meta's webhook: the signature check and the body parser on any request body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use otklik_messaging::inbound::{parse_meta, verify_meta_signature};

fuzz_target!(|data: &[u8]| {
    let _ = verify_meta_signature(b"app-secret", data, std::str::from_utf8(data).ok());
    let _ = parse_meta(data, "RU");
});
