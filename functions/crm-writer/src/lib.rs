//! `crm-writer`: everything the state machine asks of retailCRM, at the account's pace.
//!
//! It consumes the `crm-writes` queue. One decision's effects arrive as one message, and effects of
//! one survey that arrive in one batch are merged: the rating and the customer's words become one
//! `orders/{id}/edit` call. Every effect is
//! idempotent by its key (a done-marker in DynamoDB), so redeliveries write nothing twice. A
//! failure fails only that survey's messages; SQS redelivers them with its visibility timeout as
//! the backoff, for hours if retailCRM is down (50 receives), then parks them in the DLQ — never
//! dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_aws::store::{Credit, DynamoStore};
use otklik_core::config::{Config, ConfigError};
use otklik_core::crm_texts::{notice, resolve_line, task_reference, words_line, words_value};
use otklik_core::delivery::EffectMessage;
use otklik_core::links::{resolve_link, LinkSigner};
use otklik_core::machine::{Command, Effect, NoticeReason};
use otklik_core::model::SurveyId;
use otklik_core::ports::{PortError, SurveyStore};
use otklik_core::texts::Texts;
use otklik_retailcrm::{NewTask, Notification, NotificationKind, RetailCrm};
use serde_json::json;

/// When the inspector's task is due: soon, the customer is waiting for a human.
pub const TASK_DUE_IN: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

pub struct CrmWriter {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub config: Arc<Config>,
    /// Signs the inspector's one-click link in the task for an answer we could not read.
    pub signer: LinkSigner,
    /// Taken while the employees' names are looked up and read: the surveys of a batch are
    /// written at once, and without it each would read the account's users when a name is new.
    pub names_turn: tokio::sync::Mutex<()>,
}

/// What one survey's batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub order_edits: usize,
    pub credits: usize,
    pub tasks: usize,
    pub skipped_done: usize,
}

/// How often a writer writes the words again after finding that another appended meanwhile:
/// each round needs yet another message of the same survey arriving within one write, so a few
/// rounds are plenty; past them the latest writer's own look settles it.
const WORDS_ROUNDS: usize = 3;

impl CrmWriter {
    /// Writes the whole list of the customer's words into the words field of `order_id`.
    async fn edit_words(&self, site: &str, order_id: u64, value: &str) -> Result<(), WriteError> {
        self.crm
            .edit_order(
                site,
                order_id,
                &json!({ "customFields": { self.config.crm.words_field.clone(): value } }),
            )
            .await
            .map_err(PortError::from)?;
        Ok(())
    }

    /// Makes sure the KPI report can name these employees: when one is not known yet, the
    /// account's users are read once (`GET users`) and every name is kept. Names are a label, not
    /// a result: a failure is logged and tried again with the next credit.
    async fn learn_names(&self, employees: impl IntoIterator<Item = u64>) {
        let wanted: Vec<u64> = employees.into_iter().collect();
        let all_known = || async {
            match self.store.employee_names(wanted.iter().copied()).await {
                Ok(known) => wanted.iter().all(|e| known.contains_key(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "employee names not read");
                    // Not read now: tried again with the next credit.
                    true
                }
            }
        };
        if all_known().await {
            return;
        }
        // One survey of the batch reads the users; the others find the names kept meanwhile.
        let _turn = self.names_turn.lock().await;
        if all_known().await {
            return;
        }
        let users = match self.crm.users().await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "retailCRM users not read; the KPI shows ids for now");
                return;
            }
        };
        for u in users {
            let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if name.is_empty() {
                continue;
            }
            if let Err(e) = self.store.save_employee_name(u.id, &name).await {
                tracing::warn!(error = %e, "employee name not kept");
                return;
            }
        }
    }

    /// Carries out the effects of one survey, in their order.
    pub async fn write(
        &self,
        survey_id: &SurveyId,
        effects: &[Effect],
        now: DateTime<Utc>,
    ) -> Result<Written, WriteError> {
        self.write_with(survey_id, effects, now, None).await
    }

    /// [`Self::write`], with what the batch read together (`None`: this survey reads its own).
    async fn write_with(
        &self,
        survey_id: &SurveyId,
        effects: &[Effect],
        now: DateTime<Utc>,
        pre: Option<&Prefetched>,
    ) -> Result<Written, WriteError> {
        let mut out = Written::default();
        let mut todo = Vec::new();
        for e in effects {
            let done = match pre {
                Some(p) => p.done.contains(&e.key),
                None => self.store.effect_done(&e.key).await?,
            };
            if done {
                out.skipped_done += 1;
            } else if !todo.iter().any(|t: &&Effect| t.key == e.key) {
                todo.push(e);
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
        let survey = match pre.and_then(|p| p.surveys.get(survey_id)) {
            Some(s) => s.clone(),
            None => self
                .store
                .get(survey_id)
                .await?
                .ok_or_else(|| WriteError::BadMessage(format!("no survey {survey_id}")))?,
        };
        let crm = &self.config.crm;

        // 1. One edit for the rating and the words.
        let mut fields = serde_json::Map::new();
        let mut edit_keys = Vec::new();
        let mut words_now = None;
        for e in &todo {
            match &e.command {
                Command::WriteRating { rating } => {
                    fields.insert(crm.rating_field.clone(), json!(rating.value()));
                    edit_keys.push(e.key.clone());
                }
                Command::SaveWords { text, via, at } => {
                    // Kept as the line the field shows (time, channel, text): the time and
                    // channel come from the effect, so a redelivery keeps the same line.
                    let lang = self.config.texts.language.unwrap_or_default();
                    let line = words_line(lang, self.config.timezone, *at, *via, text);
                    let words = self
                        .store
                        .append_words(survey_id, &e.key, &line, now)
                        .await?;
                    let value = words_value(&words);
                    fields.insert(crm.words_field.clone(), json!(value));
                    words_now = Some(value);
                    edit_keys.push(e.key.clone());
                }
                _ => {}
            }
        }
        if !fields.is_empty() {
            self.crm
                .edit_order(
                    survey.order.site(),
                    survey.order.id(),
                    &json!({ "customFields": fields }),
                )
                .await
                .map_err(PortError::from)?;
            out.order_edits += 1;
            // Words after a complaint was opened (the rating page's comment box, a message after
            // the 1) belong to the complaint too: the inspector reads the complaint order. The
            // same whole list is written, so a redelivery writes the same value again.
            if let Some(mut written) = words_now {
                let track = self.store.complaint_track(survey_id).await?;
                if let Some((track, _)) = &track {
                    self.edit_words(&self.config.complaints.site, track.order_id, &written)
                        .await?;
                    out.order_edits += 1;
                }
                // Another instance may have appended words of this survey (a later message, in
                // another batch) and written its list before ours landed: the order would keep
                // our shorter one. Whoever writes last sees the whole list when it looks again
                // (every append comes before its own writer's edit), so each writer looks once
                // more after writing and writes again while the list has moved on.
                for _ in 0..WORDS_ROUNDS {
                    let now_value = words_value(&self.store.words(survey_id).await?);
                    if now_value == written {
                        break;
                    }
                    self.edit_words(survey.order.site(), survey.order.id(), &now_value)
                        .await?;
                    out.order_edits += 1;
                    if let Some((track, _)) = &track {
                        self.edit_words(&self.config.complaints.site, track.order_id, &now_value)
                            .await?;
                        out.order_edits += 1;
                    }
                    written = now_value;
                }
            }
            for k in &edit_keys {
                self.store.mark_effect_done(k, now).await?;
            }
        }

        // 2. Credits and the inspector's task.
        for e in &todo {
            match &e.command {
                Command::CreditEmployees { rating, employees } => {
                    let rated_at = survey.rated_at.unwrap_or(now);
                    for emp in employees {
                        let credited = self
                            .store
                            .credit(&Credit {
                                employee: emp.get(),
                                survey: survey_id.clone(),
                                rating: rating.value(),
                                rated_at,
                                channel: survey.channel.map(|c| c.to_string()),
                            })
                            .await?;
                        out.credits += usize::from(credited);
                    }
                    self.store.mark_effect_done(&e.key, now).await?;
                    self.learn_names(employees.iter().map(|e| e.get())).await;
                }
                Command::NotifyInspector { reason, text } => {
                    let inspector = self.config.complaints.inspector_id.get();
                    // Built per notice rather than held in a field: rare, and cheap. The loader
                    // has checked the texts, so this fails only for a config assembled in code.
                    let texts = Texts::from_config(&self.config.texts)?;
                    let order = survey.order.to_string();
                    let mut notice = notice(&texts, texts.language(), *reason, text, &order);
                    // An answer we could not read: the task carries the inspector's page, where
                    // one click says what the customer meant. Valid as long as the customer's
                    // own links (`email.link_ttl`).
                    if *reason == NoticeReason::UnreadableReply {
                        let ttl = chrono::Duration::from_std(self.config.email.link_ttl)
                            .unwrap_or(chrono::Duration::days(30));
                        let link = resolve_link(
                            &self.signer,
                            &self.config.email.landing_base_url,
                            survey_id,
                            now + ttl,
                        );
                        notice.commentary.push_str("\n\n");
                        notice
                            .commentary
                            .push_str(&resolve_line(&texts, texts.language(), &link));
                    }
                    // A crash after the task was made and before it was marked done leaves a
                    // task behind: the reference in its title finds it, and it is adopted.
                    let reference = task_reference(&e.key);
                    let made_before = self
                        .crm
                        .task_ids_with_text(&reference, inspector)
                        .await
                        .map_err(PortError::from)?;
                    if !made_before.is_empty() {
                        tracing::info!(survey = %survey_id, task = made_before[0], "inspector task made by an earlier attempt; adopted");
                        self.store.mark_effect_done(&e.key, now).await?;
                        continue;
                    }
                    self.crm
                        .create_task(&NewTask {
                            text: format!("{} [{reference}]", notice.title),
                            commentary: notice.commentary,
                            datetime: now + TASK_DUE_IN,
                            performer_id: inspector,
                            order_id: Some(survey.order.id()),
                        })
                        .await
                        .map_err(PortError::from)?;
                    // Marked right after the task: a failure of the notification below must not
                    // make a second task on the redelivery.
                    self.store.mark_effect_done(&e.key, now).await?;
                    out.tasks += 1;
                    if let Err(err) = self
                        .crm
                        .send_notification(&Notification {
                            kind: NotificationKind::Info,
                            message: notice.notification,
                            user_ids: vec![inspector],
                        })
                        .await
                    {
                        // The task is the record that matters; the notification only hurries.
                        tracing::warn!(survey = %survey_id, error = %err, "inspector notification not sent");
                    }
                }
                Command::WriteRating { .. } | Command::SaveWords { .. } => {}
                other => {
                    tracing::warn!(survey = %survey_id, command = ?other, "not a CRM write; dropped");
                    self.store.mark_effect_done(&e.key, now).await?;
                }
            }
        }
        Ok(out)
    }

    /// An SQS batch: grouped by survey, one survey's failure fails only its messages.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut by_survey: BTreeMap<SurveyId, Vec<(String, Effect)>> = BTreeMap::new();
        for record in event.records {
            let mid = record.message_id.clone().unwrap_or_default();
            match record
                .body
                .as_deref()
                .map(serde_json::from_str::<EffectMessage>)
            {
                Some(Ok(m)) => {
                    let entry = by_survey.entry(m.survey_id.clone()).or_default();
                    for e in m.effects() {
                        entry.push((mid.clone(), e.clone()));
                    }
                }
                other => {
                    // Never succeeds, so it goes to the DLQ after its receives: kept for a human.
                    tracing::error!(message = %mid, error = ?other.map(|r| r.err()), "unreadable crm-writes message");
                    response.add_failure(mid);
                }
            }
        }
        // The surveys of a batch are written at once: each spends most of its time waiting for
        // its slot in the shared retailCRM budget or on the table, and one after another a batch
        // left the budget idle between them (7.7 of 9.1 requests a second at the December peak).
        // A survey's own effects stay together and in order; different surveys share nothing.
        let pre = self.prefetch(&by_survey).await;
        let pre = pre.as_ref();
        let written = otklik_app::batch::join_all(
            by_survey
                .iter()
                .map(|(survey, items)| {
                    let effects: Vec<Effect> = items.iter().map(|(_, e)| e.clone()).collect();
                    async move { self.write_with(survey, &effects, now, pre).await }
                })
                .collect(),
        )
        .await;
        for ((survey, items), outcome) in by_survey.into_iter().zip(written) {
            match outcome {
                Ok(w) => tracing::info!(survey = %survey, written = ?w, "crm writes done"),
                Err(e) => {
                    tracing::warn!(survey = %survey, error = %e, "crm writes failed; will be redelivered");
                    let mut failed: Vec<String> = items.into_iter().map(|(mid, _)| mid).collect();
                    failed.dedup();
                    for mid in failed {
                        response.add_failure(mid);
                    }
                }
            }
        }
        response
    }
}

/// What a batch reads together before its surveys are written: which of its effects are done
/// already, and its surveys. Each survey read both for itself, three or four requests one after
/// another before its first write; at a December peak the writer's own requests to the table,
/// not the retailCRM budget, set its pace.
struct Prefetched {
    done: std::collections::HashSet<String>,
    surveys: std::collections::HashMap<SurveyId, otklik_core::machine::Survey>,
}

impl CrmWriter {
    /// The batch's markers and surveys in two batched reads; `None` if either failed, and each
    /// survey then reads its own. A survey missing from the answer reads its own too.
    async fn prefetch(
        &self,
        by_survey: &BTreeMap<SurveyId, Vec<(String, Effect)>>,
    ) -> Option<Prefetched> {
        let keys: Vec<String> = by_survey
            .values()
            .flatten()
            .map(|(_, e)| e.key.clone())
            .collect();
        let ids: Vec<SurveyId> = by_survey.keys().cloned().collect();
        if ids.is_empty() {
            return None;
        }
        let (done, surveys) =
            tokio::join!(self.store.effects_done(&keys), self.store.get_surveys(&ids));
        match (done, surveys) {
            (Ok(done), Ok(surveys)) => Some(Prefetched { done, surveys }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "the batch's markers and surveys not read together; each survey reads its own");
                None
            }
        }
    }
}

impl CrmWriter {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("crm-writer").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(CrmWriter {
            crm: p.crm()?,
            store: p.store(),
            signer: LinkSigner::new(secrets.link_secret()?.expose().as_bytes()),
            config: Arc::new(config),
            names_turn: Default::default(),
        })
    }
}
