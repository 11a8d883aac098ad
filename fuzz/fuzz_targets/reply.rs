//! The reply parser on any text a customer could send, with and without sentiment words.
#![no_main]
use libfuzzer_sys::fuzz_target;
use otklik_core::reply::{parse_reply, ParserOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for sentiment_words in [false, true] {
        let _ = parse_reply(&text, &ParserOptions { sentiment_words });
    }
});
