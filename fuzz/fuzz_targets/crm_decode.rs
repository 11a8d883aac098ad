//! Every decoder of retailCRM answers, on any body under any status.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (
            [200u16, 400, 401, 404, 429, 500, 503][*s as usize % 7],
            rest,
        ),
        None => (200, data),
    };
    otklik_retailcrm::fuzzing::decode_everything(status, body);
});
