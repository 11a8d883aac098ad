//! The link-scanner rule of the landing page. The HTTP adapter loads the views the rule asks
//! for ([`ScannerRule::views_needed`]) and records the rating only if [`ScannerRule::suspicion`]
//! finds nothing; otherwise the page asks the person to confirm.

use chrono::{DateTime, Utc};

use crate::config::EmailConfig;
use crate::model::Rating;

/// Why a view looks like a machine rather than a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suspicion {
    /// Opened sooner after sending than people read mail.
    TooSoonAfterSending,
    /// Another rating of the same survey opened within the scanner window.
    SeveralRatingsAtOnce,
}

/// The link-scanner rule. Mail servers open every link of a letter, within seconds of its
/// arrival and all at once; a person opens one, later. A view that looks like the former records
/// nothing until the person confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerRule {
    /// Sooner than this after sending, nobody has read the mail yet.
    pub min_click_delay: chrono::Duration,
    /// Views of two different ratings at most this far apart are one machine opening every link.
    pub window: chrono::Duration,
}

impl ScannerRule {
    pub fn new(cfg: &EmailConfig) -> ScannerRule {
        ScannerRule {
            min_click_delay: chrono::Duration::from_std(cfg.min_click_delay).unwrap_or_default(),
            window: chrono::Duration::from_std(cfg.scanner_window).unwrap_or_default(),
        }
    }

    /// The stretch of time whose views of the survey [`ScannerRule::suspicion`] needs to judge a
    /// view at `viewed_at`; `None` when the view is suspect without them.
    pub fn views_needed(
        &self,
        sent_at: Option<DateTime<Utc>>,
        viewed_at: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        (!self.too_soon(sent_at, viewed_at))
            .then(|| (viewed_at - self.window, viewed_at + self.window))
    }

    /// Whether a view of `rating` at `viewed_at` looks like a link scanner. `views` are the
    /// survey's served rating pages (when, which rating) around it, as [`ScannerRule::views_needed`]
    /// asked; the view being judged may be among them.
    pub fn suspicion(
        &self,
        sent_at: Option<DateTime<Utc>>,
        rating: Rating,
        viewed_at: DateTime<Utc>,
        views: &[(DateTime<Utc>, u8)],
    ) -> Option<Suspicion> {
        if self.too_soon(sent_at, viewed_at) {
            return Some(Suspicion::TooSoonAfterSending);
        }
        let close = |at: DateTime<Utc>| (at - viewed_at).abs() <= self.window;
        views
            .iter()
            .any(|(at, r)| *r != rating.value() && close(*at))
            .then_some(Suspicion::SeveralRatingsAtOnce)
    }

    fn too_soon(&self, sent_at: Option<DateTime<Utc>>, viewed_at: DateTime<Utc>) -> bool {
        sent_at.is_some_and(|sent| viewed_at < sent + self.min_click_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rule() -> ScannerRule {
        ScannerRule {
            min_click_delay: Duration::seconds(15),
            window: Duration::seconds(10),
        }
    }

    const SENT: &str = "2026-11-02T10:00:00Z";

    fn four() -> Rating {
        Rating::new(4).unwrap()
    }

    #[test]
    fn the_rule_comes_from_the_email_config() {
        let cfg = crate::config::Config::from_toml(include_str!("../../../../otklik.example.toml"))
            .unwrap();
        assert_eq!(ScannerRule::new(&cfg.email), rule());
    }

    #[test]
    fn too_soon_after_sending_is_a_scanner_until_the_delay_has_passed() {
        let sent = Some(t(SENT));
        let just_before = t(SENT) + Duration::seconds(15) - Duration::milliseconds(1);
        let at_delay = t(SENT) + Duration::seconds(15);
        assert_eq!(
            rule().suspicion(sent, four(), just_before, &[]),
            Some(Suspicion::TooSoonAfterSending)
        );
        assert_eq!(
            rule().views_needed(sent, just_before),
            None,
            "no need to look"
        );
        assert_eq!(rule().suspicion(sent, four(), at_delay, &[]), None);
        // A view before the send time (clock skew) is as suspect as one right after it.
        assert_eq!(
            rule().suspicion(sent, four(), t(SENT) - Duration::seconds(1), &[]),
            Some(Suspicion::TooSoonAfterSending)
        );
        // Without a send time there is nothing to be too soon after.
        assert_eq!(rule().suspicion(None, four(), t(SENT), &[]), None);
    }

    #[test]
    fn the_views_asked_for_span_the_window_both_ways() {
        let at = t(SENT) + Duration::minutes(5);
        assert_eq!(
            rule().views_needed(Some(t(SENT)), at),
            Some((at - Duration::seconds(10), at + Duration::seconds(10)))
        );
        assert_eq!(
            rule().views_needed(None, at),
            Some((at - Duration::seconds(10), at + Duration::seconds(10)))
        );
    }

    #[test]
    fn another_rating_within_the_window_is_a_scanner() {
        let at = t(SENT) + Duration::hours(1);
        let sent = Some(t(SENT));
        let judge = |views: &[(DateTime<Utc>, u8)]| rule().suspicion(sent, four(), at, views);
        // The view itself, and other views of the same rating, are a person reloading.
        assert_eq!(judge(&[(at, 4), (at - Duration::seconds(3), 4)]), None);
        assert_eq!(judge(&[]), None);
        for other in [
            at - Duration::seconds(10),
            at + Duration::seconds(10),
            at + Duration::milliseconds(1),
        ] {
            assert_eq!(
                judge(&[(at, 4), (other, 1)]),
                Some(Suspicion::SeveralRatingsAtOnce),
                "{other}"
            );
        }
        // Just outside the window either way: two clicks of a person changing their mind.
        for other in [
            at - Duration::seconds(10) - Duration::milliseconds(1),
            at + Duration::seconds(10) + Duration::milliseconds(1),
        ] {
            assert_eq!(judge(&[(at, 4), (other, 5)]), None, "{other}");
        }
    }
}
