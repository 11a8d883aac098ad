//! `complaint-create`: a 1–2 (or a 3 with "yes, call me") becomes a complaint order.
//!
//! The complaint is a new order in the complaints site (the virtual store «Рекламации») for the
//! same customer, managed by the inspector, in the configured "created" status, with a manager
//! comment that carries the rating, the customer's words and the original order (worded by
//! `otklik_core::crm_texts` in the configured language); then the two orders are linked. Exactly
//! one per survey: the complaint's `externalId` is derived from the survey, so before creating we
//! look for it, and a create whose outcome was unknown (a timeout) is found on the next delivery
//! instead of being made twice.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use otklik_app::batch::for_each_record_grouped;
use otklik_aws::store::DynamoStore;
use otklik_core::config::{Config, ConfigError};
use otklik_core::crm_texts::{complaint_link, manager_comment, words_value};
use otklik_core::delivery::EffectMessage;
use otklik_core::machine::{Command, Survey};
use otklik_core::model::{Rating, SurveyId};
use otklik_core::ports::{PortError, SurveyStore};
use otklik_core::texts::Texts;
use otklik_retailcrm::{CrmError, RetailCrm};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Crm(#[from] CrmError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

pub struct ComplaintCreator {
    pub crm: RetailCrm,
    pub store: DynamoStore,
    pub config: Arc<Config>,
}

/// The complaint's external id: one per survey, so it can be looked up and never duplicated.
pub fn external_id(survey: &SurveyId) -> String {
    format!("otklik-{survey}")
}

/// What became of one complaint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Created {
        complaint_id: u64,
    },
    /// Found from an earlier delivery (created, maybe not yet linked).
    Existing {
        complaint_id: u64,
    },
    AlreadyDone,
}

/// What the customer said that opened the complaint.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub rating: Rating,
    pub words: Option<&'a str>,
    /// A 3 and "yes, call me".
    pub callback: bool,
}

impl ComplaintCreator {
    pub async fn open(
        &self,
        survey_id: &SurveyId,
        key: &str,
        asked: Asked<'_>,
        now: DateTime<Utc>,
    ) -> Result<Opened, ComplaintError> {
        let Asked {
            rating,
            words,
            callback,
        } = asked;
        if self.store.effect_done(key).await? {
            return Ok(Opened::AlreadyDone);
        }
        let survey: Survey = self
            .store
            .get(survey_id)
            .await?
            .ok_or_else(|| ComplaintError::BadMessage(format!("no survey {survey_id}")))?;
        let cfg = &self.config.complaints;
        // Built per complaint rather than held in a field: rare, and cheap. The loader has
        // checked the texts, so this fails only for a config assembled in code.
        let texts = Texts::from_config(&self.config.texts)?;
        let lang = texts.language();
        let ext = external_id(survey_id);
        // `linked`: an earlier attempt got as far as linking (it died before marking the effect
        // done); linking again would show the inspector the same link twice.
        let (complaint_id, created, linked) = match self
            .crm
            .find_by_external_id(&cfg.site, &ext)
            .await?
        {
            Some(existing) => (
                existing.id,
                false,
                existing.linked_orders.contains(&survey.order.id()),
            ),
            None => {
                let original = self
                    .crm
                    .get_order(survey.order.site(), survey.order.id())
                    .await?;
                let number = original
                    .number
                    .clone()
                    .unwrap_or_else(|| original.id.to_string());
                let mut order = json!({
                    "externalId": ext,
                    "managerId": cfg.inspector_id.get(),
                    "status": cfg.status_created,
                    "managerComment": manager_comment(&texts, lang, &number, rating, words, callback),
                });
                // Whatever the customer has written so far (a comment on the rating page can be
                // saved before this runs); crm-writer adds what comes after.
                let said = self.store.words_of(survey_id).await?;
                if !said.is_empty() {
                    order["customFields"] =
                        json!({ self.config.crm.words_field.clone(): words_value(&said) });
                }
                if let Some(c) = original.customer_id {
                    order["customer"] = json!({ "id": c });
                }
                if let Some(p) = original.phones.first() {
                    order["phone"] = json!(p);
                }
                if let Some(e) = &original.email {
                    order["email"] = json!(e);
                }
                if let Some(t) = &cfg.order_type {
                    order["orderType"] = json!(t);
                }
                if let Some(m) = &cfg.order_method {
                    order["orderMethod"] = json!(m);
                }
                match self.crm.create_order(&cfg.site, &order).await {
                    Ok(id) => (id, true, false),
                    // Somebody (an earlier delivery) made it meanwhile: use theirs.
                    Err(CrmError::Rejected { .. }) => {
                        match self.crm.find_by_external_id(&cfg.site, &ext).await? {
                            Some(o) => {
                                let linked = o.linked_orders.contains(&survey.order.id());
                                (o.id, false, linked)
                            }
                            None => {
                                return Err(ComplaintError::Crm(CrmError::Rejected {
                                    status: 400,
                                    message: "complaint refused".into(),
                                    errors: vec![],
                                }))
                            }
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if !linked {
            self.crm
                .link_orders(
                    &[survey.order.id(), complaint_id],
                    &complaint_link(&texts, lang, rating),
                )
                .await?;
        }
        self.store
            .record_complaint(survey_id, complaint_id, rating.value(), now)
            .await?;
        self.store.mark_effect_done(key, now).await?;
        // Counted when the effect is done, not when the order was created: a run that created the
        // order and died before this line is finished (and counted) by the redelivery.
        otklik_metrics::incr(&otklik_metrics::COMPLAINTS_OPENED, &[]);
        tracing::info!(survey = %survey_id, complaint_id, created, "complaint opened");
        Ok(if created {
            Opened::Created { complaint_id }
        } else {
            Opened::Existing { complaint_id }
        })
    }

    /// An SQS batch with per-message failures.
    ///
    /// One survey's messages go one after another in the batch's order (a redelivered copy then
    /// finds the first one's marker); different surveys' at once (`for_each_record_grouped`).
    /// A complaint is four retailCRM calls with the table's work between them, and one after
    /// another a batch of ten held each complaint behind the nine before it: at a December peak
    /// the complaints were the last thing done, at well under the account's pace, after every
    /// rating had been written. Their reads still take only the slots the writes leave free.
    pub async fn handle_batch(&self, event: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        let survey_of = |m: &EffectMessage| Some(m.survey_id.clone());
        for_each_record_grouped(
            event,
            "complaint",
            survey_of,
            move |m: EffectMessage| async move {
                // The engine never groups effects for this consumer; a grouped message is refused
                // (and so kept in the DLQ) rather than half done.
                if !m.also.is_empty() {
                    return Err(ComplaintError::BadMessage(format!(
                        "{} effects in one message; this consumer takes one",
                        m.also.len() + 1
                    )));
                }
                match &m.effect.command {
                    Command::OpenComplaint {
                        rating,
                        words,
                        callback,
                    } => {
                        let asked = Asked {
                            rating: *rating,
                            words: words.as_deref(),
                            callback: *callback,
                        };
                        self.open(&m.survey_id, &m.effect.key, asked, now).await
                    }
                    other => Err(ComplaintError::BadMessage(format!(
                        "not a complaint: {other:?}"
                    ))),
                }
            },
        )
        .await
    }
}

impl ComplaintCreator {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("complaint-create").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let config = p.config.as_ref().clone();
        Ok(ComplaintCreator {
            crm: p.crm()?,
            store: p.store(),
            config: Arc::new(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_external_id_per_survey() {
        let a = SurveyId::parse("s-main-shop-1").unwrap();
        let b = SurveyId::parse("s-main-shop-2").unwrap();
        assert_ne!(external_id(&a), external_id(&b));
        assert_eq!(external_id(&a), "otklik-s-main-shop-1");
    }
}
