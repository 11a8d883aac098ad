//! Signing in to the dashboard with a link instead of a password (issue 21).
//!
//! `otklik report link --ttl 30d` prints `<api>/reports/signin?token=<link token>`. Opening it
//! trades the link token for a session token in an HttpOnly cookie and redirects to the clean
//! `/reports`, so the secret leaves the address bar at once. Both tokens are HMAC-SHA256 under a
//! key derived from the report token (`OTKLIK_REPORT_TOKEN`, which the report function already
//! holds: no new secret to deploy), each under its own context, with the expiry inside the signed
//! part: a link cannot pass as a cookie or the other way round, and nobody can stretch either.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::links::LinkError;

type HmacSha256 = Hmac<Sha256>;

/// The cookie that holds the session.
pub const COOKIE: &str = "otklik_report";
/// The sign-in path under the dashboard's base.
pub const SIGNIN_PATH: &str = "/signin";
/// Format version, first byte of the payload.
const VERSION: u8 = 1;
/// 128-bit tags, as the email links.
const TAG_LEN: usize = 16;
/// Domain separation from every other use of the report token.
const CONTEXT: &[u8] = b"otklik/report-access/v1\x00";
/// A token is 8 bytes of payload and 16 of tag: anything much longer is not ours.
const MAX_TOKEN_LEN: usize = 64;
/// The longest a link may live: a year. Shorter is better; `--ttl` says how long.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 86_400);
/// Shorter than this is a typing mistake (the person could not even open it).
pub const MIN_TTL: Duration = Duration::from_secs(60);

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The link a person opens once per device: traded for a session.
    Link,
    /// The cookie's session.
    Session,
}

impl Grant {
    fn code(self) -> u8 {
        match self {
            Grant::Link => 1,
            Grant::Session => 2,
        }
    }
}

/// Signs and verifies the dashboard's tokens.
#[derive(Clone)]
pub struct ReportKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for ReportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReportKey(***)")
    }
}

impl ReportKey {
    /// The key of an installation whose report token is `report_token`. Changing the report token
    /// signs everyone out and voids every link.
    pub fn new(report_token: &str) -> ReportKey {
        let mac = HmacSha256::new_from_slice(report_token.as_bytes())
            .expect("HMAC accepts keys of any length");
        ReportKey { mac }
    }

    fn tag(&self, body: &str) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(CONTEXT);
        mac.update(body.as_bytes());
        mac.finalize().into_bytes()[..TAG_LEN].to_vec()
    }

    /// A token granting `grant` until `expires_at`: `base64url(version, grant, expiry u32 BE,
    /// 2 spare bytes) "." base64url(tag)`.
    pub fn sign(&self, grant: Grant, expires_at: DateTime<Utc>) -> String {
        let expiry = u32::try_from(expires_at.timestamp().max(0)).unwrap_or(u32::MAX);
        let mut payload = vec![VERSION, grant.code()];
        payload.extend_from_slice(&expiry.to_be_bytes());
        payload.extend_from_slice(&[0, 0]);
        let body = URL_SAFE_NO_PAD.encode(&payload);
        let tag = URL_SAFE_NO_PAD.encode(self.tag(&body));
        format!("{body}.{tag}")
    }

    /// When a genuine, unexpired token of `grant` expires. The signature is checked (in constant
    /// time) before anything in the payload is believed; the expiry last, so an expired token is
    /// known to be ours.
    pub fn verify(
        &self,
        grant: Grant,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, LinkError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let (body, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Malformed)?;
        if tag.len() != TAG_LEN || body.is_empty() {
            return Err(LinkError::Malformed);
        }
        let mut mac = self.mac.clone();
        mac.update(CONTEXT);
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&tag)
            .map_err(|_| LinkError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Malformed)?;
        let [version, code, e0, e1, e2, e3, _, _] = payload.as_slice() else {
            return Err(LinkError::Malformed);
        };
        if *version != VERSION {
            return Err(LinkError::Malformed);
        }
        // A genuine token of the other kind: signed by us, but not for this use.
        if *code != grant.code() {
            return Err(LinkError::BadSignature);
        }
        let expires_at =
            DateTime::from_timestamp(i64::from(u32::from_be_bytes([*e0, *e1, *e2, *e3])), 0)
                .ok_or(LinkError::Malformed)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(expires_at)
    }

    /// The sign-in link for the dashboard at `reports_url` (`<api>/reports`), valid for `ttl`.
    pub fn link(&self, reports_url: &str, ttl: Duration, now: DateTime<Utc>) -> String {
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero());
        format!(
            "{}{SIGNIN_PATH}?token={}",
            reports_url.trim_end_matches('/'),
            self.sign(Grant::Link, expires)
        )
    }
}

/// Reads `--ttl` (`30d`, `12h`, `1w`): between a minute and a year.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text.trim())
        .map_err(|e| format!("--ttl {text:?}: {e} (try 30d or 12h)"))?;
    if ttl < MIN_TTL {
        return Err(format!("--ttl {text:?} is under a minute"));
    }
    if ttl > MAX_TTL {
        return Err(format!(
            "--ttl {text:?} is over a year; make a new link instead"
        ));
    }
    Ok(ttl)
}

/// The session cookie's value from a `Cookie` header (the first one of that name).
pub fn session_cookie(header: Option<&str>) -> Option<&str> {
    header?.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE).then_some(value.trim_matches('"'))
    })
}

/// The `Set-Cookie` of a session until `expires_at`, for the pages under `path`.
///
/// HttpOnly: no script may read it (the pages have none, and an injected one gets nothing).
/// Secure: never over plain HTTP (browsers treat `localhost` as secure, so the local stack works).
/// SameSite=Lax rather than Strict: the link is opened from a mail or a messenger, a cross-site
/// navigation; with Strict the browser would not send the cookie on the redirect that follows,
/// nor on a bookmarked dashboard opened from elsewhere, and the person would land on the 401
/// page. Lax sends it on top-level GET navigations only, and every dashboard route is a read-only
/// GET, so there is nothing for a cross-site request to forge.
pub fn set_cookie(
    token: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    path: &str,
) -> String {
    let max_age = (expires_at - now).num_seconds().max(0);
    format!("{COOKIE}={token}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

/// The `Set-Cookie` that removes a session the browser still sends but we refuse.
pub fn clear_cookie(path: &str) -> String {
    format!("{COOKIE}=; Path={path}; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_link_verifies_until_it_expires_and_only_as_a_link() {
        let key = ReportKey::new("local-report-token");
        let until = now() + chrono::Duration::days(30);
        let link = key.sign(Grant::Link, until);
        assert_eq!(key.verify(Grant::Link, &link, now()), Ok(until));
        assert_eq!(
            key.verify(Grant::Link, &link, until),
            Err(LinkError::Expired)
        );
        assert_eq!(
            key.verify(Grant::Session, &link, now()),
            Err(LinkError::BadSignature),
            "a link is not a session"
        );
        let session = key.sign(Grant::Session, until);
        assert_ne!(session, link);
        assert_eq!(key.verify(Grant::Session, &session, now()), Ok(until));
        assert_eq!(
            ReportKey::new("another-token").verify(Grant::Link, &link, now()),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn any_changed_character_is_refused_never_accepted() {
        let key = ReportKey::new("local-report-token");
        let link = key.sign(Grant::Link, now() + chrono::Duration::days(30));
        for i in 0..link.len() {
            for c in ['A', 'b', '0', '-', '_', '.'] {
                let mut t: Vec<char> = link.chars().collect();
                if t[i] == c {
                    continue;
                }
                t[i] = c;
                let t: String = t.into_iter().collect();
                assert!(key.verify(Grant::Link, &t, now()).is_err(), "{t}");
            }
        }
        // Stretching the expiry means re-signing: without the key it fails.
        for bad in [
            "",
            ".",
            "abc",
            "a.b",
            &"x".repeat(500),
            "AQEAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(key.verify(Grant::Link, bad, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_link_names_the_signin_route() {
        let key = ReportKey::new("t");
        let l = key.link(
            "http://127.0.0.1:8080/reports/",
            Duration::from_secs(3600),
            now(),
        );
        let token = l
            .strip_prefix("http://127.0.0.1:8080/reports/signin?token=")
            .unwrap();
        assert_eq!(
            key.verify(Grant::Link, token, now()),
            Ok(now() + chrono::Duration::hours(1))
        );
    }

    #[test]
    fn ttl_is_a_minute_to_a_year() {
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert!(parse_ttl("10s").is_err());
        assert!(parse_ttl("2years").is_err());
        assert!(parse_ttl("soon").is_err());
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_with_its_flags() {
        assert_eq!(
            session_cookie(Some("a=1; otklik_report=xyz.abc; b=2")),
            Some("xyz.abc")
        );
        assert_eq!(session_cookie(Some("otklik_reportx=1")), None);
        assert_eq!(session_cookie(None), None);
        let c = set_cookie("tok", now() + chrono::Duration::days(1), now(), "/reports");
        assert_eq!(
            c,
            "otklik_report=tok; Path=/reports; Max-Age=86400; HttpOnly; Secure; SameSite=Lax"
        );
        assert!(clear_cookie("/reports").contains("Max-Age=0"));
    }
}
