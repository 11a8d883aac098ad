//! Calling our webhooks the way the providers do: Meta signs the exact body bytes with the app
//! secret, GREEN-API (WhatsApp and MAX) sends the configured token as a bearer token, SMS.ru posts
//! a form and wants `100` back.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::Answer;

/// How long a receiver may take before the call counts as failed.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Meta's `X-Hub-Signature-256` value for `body`: `sha256=` and the lowercase hex HMAC-SHA256
/// of the raw bytes under the app secret. Tests of our webhook sign their requests with it.
pub fn meta_signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// The HTTP client all webhook calls share. No proxy: receivers are our own services, and a
/// developer's `HTTP_PROXY` must not reroute calls meant for 127.0.0.1.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Extra headers of one call: Meta's signature or Green-API's bearer token.
pub(crate) enum Auth {
    MetaSignature(String),
    Bearer(String),
    None,
}

/// Where and how one kind of webhook goes.
pub(crate) struct Target {
    pub url: String,
    pub auth: Auth,
    /// `application/json`, or `application/x-www-form-urlencoded` for SMS.ru's callbacks.
    pub content_type: &'static str,
    /// Whether the receiver's answer acknowledges the call; anything else is retried.
    pub acknowledged: fn(&Answer) -> bool,
}

/// The WhatsApp and MAX gateways count any 2xx as received.
pub(crate) fn answered_2xx(answer: &Answer) -> bool {
    answer.status.is_some_and(|s| (200..300).contains(&s))
}

/// POSTs `body` (already serialized, so a signature covers exactly these bytes).
pub(crate) async fn post(client: &reqwest::Client, target: &Target, body: &[u8]) -> Answer {
    let mut request = client
        .post(&target.url)
        .header("Content-Type", target.content_type)
        .body(body.to_vec());
    request = match &target.auth {
        // Meta's webhook calls come from this agent; some receivers log or filter on it.
        Auth::MetaSignature(sig) => request
            .header("X-Hub-Signature-256", sig)
            .header("User-Agent", "facebookexternalua"),
        Auth::Bearer(token) => request.header("Authorization", format!("Bearer {token}")),
        Auth::None => request,
    };
    match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.text().await {
                Ok(body) => Answer {
                    status: Some(status),
                    body,
                    error: None,
                },
                Err(e) => Answer {
                    status: Some(status),
                    body: String::new(),
                    error: Some(format!("reading the answer: {e}")),
                },
            }
        }
        Err(e) => Answer {
            status: None,
            body: String::new(),
            error: Some(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // The widely published HMAC-SHA256 example ("key", the quick brown fox).
        assert_eq!(
            meta_signature(b"key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn hex_is_lowercase_and_zero_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
