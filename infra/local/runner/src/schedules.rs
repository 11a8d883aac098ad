//! EventBridge Scheduler's firing, which the local endpoint does not do: it stores schedules but
//! never runs them. Every tick we list the group's one-time schedules, and each one that is due
//! has its input sent to its target queue and is then deleted (as `ActionAfterCompletion: DELETE`
//! does). Sent before deleted: a crash in between fires it twice, which the dispatch absorbs
//! (at least once, like the real service).
//!
//! `speed` compresses time for the demo: a schedule first seen at `t0` for `at` fires at
//! `t0 + (at - t0) / speed`. With `speed = 1` it fires at `at`, as on AWS.
//!
//! Compressed, a schedule fires long before its `at`, and a create of the same name afterwards
//! (intake making sure of a survey's schedule on a second signal of its order) would find it gone
//! and fire the question again, where on AWS, before the `at`, it finds the first one waiting and
//! is refused as a conflict. Such a schedule (same name, same `at`, created again before the `at`)
//! is therefore deleted unfired, as AWS would never have made it ([`refused_on_aws`]). In a
//! December peak of the bench that was about 0.6 extra dispatches per order.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use otklik_aws::resources::Names;
use otklik_core::ports::{PortError, PortResult, Queue};

/// `at(2026-11-25T10:00:00)` in `zone` → the instant.
pub fn parse_at(expression: &str, zone: &str) -> Option<DateTime<Utc>> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    let local = NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S").ok()?;
    let tz: Tz = if zone.is_empty() {
        Tz::UTC
    } else {
        zone.parse().ok()?
    };
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The moment a schedule first seen at `seen` for `at` fires, `speed` times faster than life.
pub fn fire_time(seen: DateTime<Utc>, at: DateTime<Utc>, speed: f64) -> DateTime<Utc> {
    if at <= seen || speed <= 1.0 {
        return at;
    }
    let wait = (at - seen).num_milliseconds() as f64 / speed;
    seen + chrono::Duration::milliseconds(wait as i64)
}

/// Whether a schedule now listed for `at`, whose name already fired for `fired_at`, is one AWS
/// would have refused: the same `at`, created again while life's clock is still before it (only
/// compressed time fires a schedule before its `at`). One created again after its `at`, or for
/// another moment, is a schedule of its own and fires.
pub fn refused_on_aws(
    fired_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    fired_at == Some(at) && now < at
}

/// A schedule as first read.
struct Known {
    /// When it was first listed (the compression's starting point).
    seen: DateTime<Utc>,
    /// `None` for rate()/cron() schedules, which are not ours to fire here.
    at: Option<DateTime<Utc>>,
    target_arn: String,
    input: String,
}

pub struct LocalScheduler {
    pub client: aws_sdk_scheduler::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub names: Names,
    pub speed: f64,
    /// Each listed schedule, read once: one-time schedules do not change after creation, so a tick
    /// costs one list call, not a read per schedule.
    known: HashMap<String, Known>,
    /// Target ARN → queue URL.
    urls: HashMap<String, String>,
    /// The `at` of each schedule fired before its `at` (compressed time), kept until then.
    fired_early: HashMap<String, DateTime<Utc>>,
}

fn sched_err(e: impl std::error::Error) -> PortError {
    PortError::Transient(aws_sdk_scheduler::error::DisplayErrorContext(e).to_string())
}

impl LocalScheduler {
    pub fn new(clients: &otklik_aws::Clients, names: &Names, speed: f64) -> Self {
        LocalScheduler {
            client: clients.scheduler.clone(),
            sqs: clients.sqs.clone(),
            names: names.clone(),
            speed,
            known: HashMap::new(),
            urls: HashMap::new(),
            fired_early: HashMap::new(),
        }
    }

    async fn queue_url(&mut self, arn: &str) -> PortResult<String> {
        if let Some(u) = self.urls.get(arn) {
            return Ok(u.clone());
        }
        // arn:aws:sqs:<region>:<account>:<name>
        let name = arn
            .rsplit(':')
            .next()
            .ok_or_else(|| PortError::Permanent(format!("target {arn} is not a queue ARN")))?;
        let url = otklik_aws::queue::SqsQueue::connect_named(self.sqs.clone(), name)
            .await?
            .url()
            .to_string();
        self.urls.insert(arn.to_string(), url.clone());
        Ok(url)
    }

    /// One tick: fires every due schedule. Returns the names fired.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> PortResult<Vec<String>> {
        let group = self.names.schedule_group();
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_schedules()
                .group_name(&group)
                .set_next_token(token)
                .send()
                .await
                .map_err(sched_err)?;
            names.extend(
                page.schedules()
                    .iter()
                    .filter_map(|s| s.name().map(str::to_string)),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        self.known.retain(|k, _| names.contains(k));
        self.fired_early.retain(|_, at| now < *at);
        let mut fired = Vec::new();
        for name in names {
            if !self.known.contains_key(&name) {
                let s = self
                    .client
                    .get_schedule()
                    .group_name(&group)
                    .name(&name)
                    .send()
                    .await
                    .map_err(sched_err)?;
                let known = Known {
                    seen: now,
                    at: parse_at(
                        s.schedule_expression().unwrap_or_default(),
                        s.schedule_expression_timezone().unwrap_or_default(),
                    ),
                    target_arn: s.target().map(|t| t.arn().to_string()).unwrap_or_default(),
                    input: s
                        .target()
                        .and_then(|t| t.input())
                        .unwrap_or("{}")
                        .to_string(),
                };
                self.known.insert(name.clone(), known);
            }
            let k = &self.known[&name];
            let Some(at) = k.at else { continue };
            if refused_on_aws(self.fired_early.get(&name).copied(), at, now) {
                self.delete(&group, &name).await?;
                tracing::info!(schedule = %name, %at, "schedule made again before its time; not fired again");
                continue;
            }
            if fire_time(k.seen, at, self.speed) > now || k.target_arn.is_empty() {
                continue;
            }
            let (arn, input) = (k.target_arn.clone(), k.input.clone());
            let url = self.queue_url(&arn).await?;
            let queue = otklik_aws::queue::SqsQueue::from_url(self.sqs.clone(), url);
            queue.send(&input).await?;
            self.delete(&group, &name).await?;
            if now < at {
                self.fired_early.insert(name.clone(), at);
            }
            tracing::info!(schedule = %name, %at, "schedule fired");
            fired.push(name);
        }
        Ok(fired)
    }

    /// Deletes a fired (or refused) schedule, and forgets its first reading.
    async fn delete(&mut self, group: &str, name: &str) -> PortResult<()> {
        self.client
            .delete_schedule()
            .group_name(group)
            .name(name)
            .send()
            .await
            .map_err(sched_err)?;
        self.known.remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn at_expressions_are_read_in_their_zone() {
        assert_eq!(
            parse_at("at(2026-11-25T10:00:00)", "Europe/Moscow"),
            Some(t("2026-11-25T07:00:00Z"))
        );
        assert_eq!(
            parse_at("at(2026-11-25T10:00:00)", "UTC"),
            Some(t("2026-11-25T10:00:00Z"))
        );
        assert_eq!(parse_at("rate(5 minutes)", "UTC"), None);
        assert_eq!(parse_at("at(2026-11-25T10:00:00)", "Mars/Base"), None);
    }

    #[test]
    fn only_the_same_schedule_made_again_before_its_time_is_refused() {
        let at = t("2026-11-25T10:00:00Z");
        let before = t("2026-11-23T10:00:30Z");
        assert!(refused_on_aws(Some(at), at, before));
        assert!(!refused_on_aws(None, at, before), "never fired");
        assert!(!refused_on_aws(Some(at), at, at), "its time has come");
        assert!(
            !refused_on_aws(Some(at), t("2026-11-26T10:00:00Z"), before),
            "another moment"
        );
    }

    #[test]
    fn compression_shortens_the_wait_and_never_lengthens_it() {
        let seen = t("2026-11-23T10:00:00Z");
        let at = t("2026-11-25T10:00:00Z"); // two days on
        assert_eq!(fire_time(seen, at, 1.0), at);
        assert_eq!(fire_time(seen, at, 17_280.0), t("2026-11-23T10:00:10Z"));
        let past = t("2026-11-23T09:00:00Z");
        assert_eq!(fire_time(seen, past, 17_280.0), past);
    }
}
