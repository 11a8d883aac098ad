//! The email link verifier: any token is refused or accepted without a panic, and nothing the
//! fuzzer makes up verifies (it does not know the key).
#![no_main]
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use otklik_core::links::LinkSigner;

fuzz_target!(|data: &[u8]| {
    let signer = LinkSigner::new(b"a-link-key-of-at-least-32-bytes-long!!");
    let token = String::from_utf8_lossy(data);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    assert!(signer.verify(&token, now).is_err(), "a made-up token verified: {token}");
    let _ = signer.verify_view(&token, &token);
});
