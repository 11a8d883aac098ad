//! The things every test against the local AWS endpoint needs, whatever crate it lives in: the
//! endpoint itself (or a clear failure, never a silent skip), a stack name no other test or run
//! uses, and the scan for personal data left in a table's strings (`personal_data_in`). The flow
//! tests' harness (`tests/flow`) builds on these.

use std::time::{SystemTime, UNIX_EPOCH};

/// `AWS_ENDPOINT_URL`. Fails (never skips) without it: a test that silently passes without its
/// backend proves nothing.
pub fn local_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run `make test`")
}

/// `t{nanos}-{test}`: a stack name of this test's own, so tests running at once (and runs after
/// each other on one endpoint) never see each other's tables, queues or schedules. The clock's
/// last twelve digits (nanoseconds, wrapping every ~17 minutes) tell runs apart and keep the
/// names short.
pub fn unique_stack(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("t{}-{test}", nanos % 1_000_000_000_000)
}

/// Where any of `needles` (a phone's digits, an email, a customer's words; compared without case)
/// shows in `strings` (every key and attribute of every item, as `"<pk> <sk> <attr>: <value>"`),
/// readable or base64-encoded (Meta's `wamid.` ids are base64 around the number): the lines that
/// hold one. Empty: nothing of that customer is left.
pub fn personal_data_in<'a>(
    strings: impl IntoIterator<Item = &'a str>,
    needles: &[&str],
) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let needles: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
    // A needle's base64 at each of the three alignments it can start at inside a longer
    // encoding, without the edge characters that depend on its neighbours.
    let mut encoded: Vec<String> = Vec::new();
    for n in &needles {
        for pad in 0..3 {
            let mut bytes = vec![0u8; pad];
            bytes.extend_from_slice(n.as_bytes());
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let e = engine.encode(&bytes);
                let skip = (pad * 4).div_ceil(3);
                let keep = e.len().saturating_sub(1);
                if keep > skip + 4 {
                    encoded.push(e[skip..keep].to_string());
                }
            }
        }
    }
    let holds = |text: &str| {
        let lower = text.to_lowercase();
        needles.iter().any(|n| lower.contains(n.as_str()))
    };
    let mut out = Vec::new();
    for s in strings {
        let decoded_hit = s
            .split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
            .filter(|run| run.len() >= 8)
            .any(|run| {
                [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                    .iter()
                    .filter_map(|e| e.decode(run).ok())
                    .any(|b| holds(&String::from_utf8_lossy(&b)))
            });
        if holds(s) || decoded_hit || encoded.iter().any(|e| s.contains(e.as_str())) {
            out.push(s.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_number_readable_inside_a_chat_or_base64_in_a_wamid() {
        use base64::Engine;
        let wamid = format!(
            "wamid.{}",
            base64::engine::general_purpose::STANDARD.encode(b"\x18\x0b79001234567\x15\x02\x00")
        );
        let lines = [
            "inbound#79001234567@c.us/BAE5".to_string(),
            format!("survey#s-1 survey doc: {wamid}"),
            "words#s-1 words: Курьер НАГРУБИЛ".to_string(),
            "credits#2026-11 s-1#5 rating: 2".to_string(),
        ];
        let found = personal_data_in(
            lines.iter().map(String::as_str),
            &["9001234567", "курьер нагрубил"],
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(!found.iter().any(|l| l.starts_with("credits#")));
    }
}
