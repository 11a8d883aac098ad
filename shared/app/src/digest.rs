//! One firing of the weekly digest (`kpi-digest` on its schedule, `otklik report digest` locally):
//! is it due, gather last weeks' facts, compute and word the digest in `otklik_core::digest`, then
//! per recipient claim the week and send through SES — at most once, never retried blind.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use otklik_aws::store::DynamoStore;
use otklik_core::config::Config;
use otklik_core::digest::{self, DigestWeek, Letter};
use otklik_core::ports::PortError;
use otklik_core::report_access::ReportKey;
use otklik_messaging::{SendError, SesMailer};

use crate::report::{attach_words, facts_between, names_of};

/// What a firing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// `report.digest_to` is empty: nothing to do.
    NoRecipients,
    /// This week's digest is due later.
    NotDue { due_at: DateTime<Utc> },
    /// The week's digest: how many mails went out now, how many recipients had theirs already
    /// (an earlier firing), how many SES refused (claim given back: the next firing retries) and
    /// how many ended unknown (claim kept: never sent twice).
    Done {
        week: String,
        sent: u32,
        already: u32,
        refused: u32,
        unknown: u32,
    },
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fired::NoRecipients => write!(f, "no digest: report.digest_to names nobody"),
            Fired::NotDue { due_at } => write!(f, "no digest yet: this week's is due at {due_at}"),
            Fired::Done {
                week,
                sent,
                already,
                refused,
                unknown,
            } => write!(
                f,
                "digest {week}: {sent} sent, {already} already sent, {refused} refused by SES (retried next hour), {unknown} of unknown outcome (not retried)"
            ),
        }
    }
}

/// Everything a firing needs.
pub struct DigestSender<'a> {
    pub store: &'a DynamoStore,
    pub mailer: &'a SesMailer,
    pub config: &'a Config,
    /// `OTKLIK_REPORT_TOKEN`: signs the dashboard link; without it the mail says how to get one.
    pub report_token: Option<&'a str>,
    /// The dashboard's address, `<api>/reports`, for its links.
    pub reports_url: Option<&'a str>,
}

impl DigestSender<'_> {
    /// One firing at `now`.
    pub async fn fire(&self, now: DateTime<Utc>) -> Result<Fired, PortError> {
        let cfg = &self.config.report;
        if cfg.digest_to.is_empty() {
            return Ok(Fired::NoRecipients);
        }
        let tz = self.config.timezone;
        if !digest::is_due(cfg, now, tz) {
            return Ok(Fired::NotDue {
                due_at: digest::due_at(cfg, now, tz),
            });
        }
        let weeks = DigestWeek::reported(now, tz);
        let key = weeks.key();
        // Everything is read and worded before any claim: a failed read claims nothing, and the
        // next firing starts over.
        let complaints = &self.config.complaints;
        let window = otklik_core::dashboard::Period::range(weeks.window_start(), weeks.week.to)
            .map_err(|e| PortError::Permanent(e.to_string()))?;
        let (start, _) = window.instants(tz).map_err(PortError::Permanent)?;
        let mut facts = facts_between(self.store, complaints, start, now).await?;
        let (from, to) = weeks.week.instants(tz).map_err(PortError::Permanent)?;
        attach_words(self.store, &mut facts, |f| {
            f.sent_at >= from
                && f.sent_at <= to
                && f.kpi.rating.is_some_and(|r| r <= digest::LOWEST_UP_TO)
        })
        .await?;
        let names = names_of(self.store, &facts, [], &BTreeMap::new()).await?;
        let d = digest::digest(weeks, &facts, &names, complaints, tz, now)
            .map_err(PortError::Permanent)?;
        let link = match (self.report_token, self.reports_url) {
            (Some(token), Some(url)) if !token.trim().is_empty() => {
                let until = now
                    + chrono::Duration::from_std(digest::LINK_TTL)
                        .expect("two weeks fit a chrono duration");
                Some((
                    ReportKey::new(token).link(url, digest::LINK_TTL, now),
                    until,
                ))
            }
            _ => None,
        };
        if link.is_none() {
            tracing::warn!("digest without a dashboard link: no report token or no dashboard URL");
        }
        let shop = self.config.email.shop_display_name();
        let mail = digest::render(
            &d,
            &Letter {
                shop,
                lang: self.config.texts.language.unwrap_or_default(),
                crm_url: &self.config.crm.url,
                reports_url: self.reports_url,
                signin: link.as_ref().map(|(l, until)| (l.as_str(), *until)),
                names: &names,
                tz,
            },
        );
        let from = &self.config.email.from_address;
        let domain = from.rsplit('@').next().unwrap_or("otklik");
        let (mut sent, mut already, mut refused, mut unknown) = (0, 0, 0, 0);
        for (i, to) in cfg.digest_to.iter().enumerate() {
            if !self.store.claim_digest(&key, to, now).await? {
                already += 1;
                continue;
            }
            let mime = digest::to_mime(
                &mail,
                &format!("Otklik · {shop}"),
                from,
                to,
                &format!("digest.{key}.{i}.{}@{domain}", now.timestamp()),
                now,
            );
            // Which recipient by position in the config, never by address; SES may quote the
            // address in an error, so it is masked there too.
            let scrub = |e: String| {
                e.replace(to.as_str(), &mask(to))
                    .replace(&to.to_lowercase(), &mask(to))
            };
            match self
                .mailer
                .send_raw(from, to, &mime)
                .await
                .map_err(|e| match e {
                    SendError::NotSent(m) => SendError::NotSent(scrub(m)),
                    SendError::Unknown(m) => SendError::Unknown(scrub(m)),
                }) {
                Ok(id) => {
                    sent += 1;
                    tracing::info!(week = %key, recipient = i, message_id = %id, "digest sent");
                }
                Err(SendError::NotSent(e)) => {
                    refused += 1;
                    tracing::warn!(week = %key, recipient = i, error = %e, "digest refused; the next firing retries");
                    self.store.release_digest(&key, to).await?;
                }
                Err(SendError::Unknown(e)) => {
                    unknown += 1;
                    tracing::error!(week = %key, recipient = i, error = %e, "digest send of unknown outcome; not retried");
                }
            }
        }
        Ok(Fired::Done {
            week: key,
            sent,
            already,
            refused,
            unknown,
        })
    }
}

/// `o***@shop.example`, as every address in our logs.
fn mask(address: &str) -> String {
    otklik_core::model::Email::parse(address)
        .map(|e| e.masked())
        .unwrap_or_else(|_| "***".to_string())
}
