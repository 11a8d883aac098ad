//! Erasing personal data from the table: the daily retention sweep (surveys past
//! `privacy.contact_retention`, and plain do-not-contact entries of older builds turned into
//! keyed hashes) and `otklik forget` (one customer, every item). What counts as personal in a
//! survey is core's `privacy`; this file finds the items and writes the result.

use otklik_core::model::Email;
use otklik_core::privacy::Erased;

use super::*;

/// What one retention sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    /// Surveys looked at (not erased yet).
    pub surveys_open_or_recent: usize,
    /// Surveys whose contact and words were erased now.
    pub erased: usize,
    /// Plain do-not-contact entries of an older build, now kept as hashes.
    pub dnc_hashed: usize,
    /// Survey items whose document does not parse: left as they are (and counted), so one bad
    /// item cannot stop every day's sweep.
    pub unreadable: usize,
}

/// Whose data `otklik forget` erases.
#[derive(Debug, Clone)]
pub enum Forgotten {
    Phone(Phone),
    Email(Email),
}

/// What `otklik forget` changed, item by item, for the operator to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForgetReport {
    /// One line per change, in plain words.
    pub changes: Vec<String>,
    /// Whether the customer is on the do-not-contact list (kept there, as a hash).
    pub do_not_contact: bool,
}

/// One scanned page's items, and where the next page starts.
type Page = (
    Vec<HashMap<String, AttributeValue>>,
    Option<HashMap<String, AttributeValue>>,
);

fn text<'a>(item: &'a HashMap<String, AttributeValue>, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

impl DynamoStore {
    /// Claims the retention sweep of `day` (`2026-12-06`): only the first caller of the day gets
    /// `true`, so a schedule firing every few minutes sweeps once a day.
    pub async fn claim_retention_sweep(&self, day: &str, now: DateTime<Utc>) -> PortResult<bool> {
        self.claim_once(
            "sweep#retention".into(),
            day,
            now,
            chrono::Duration::days(7),
        )
        .await
    }

    /// Gives the day's claim back after a failed sweep, so the next run tries again.
    pub async fn release_retention_sweep(&self, day: &str) -> PortResult<()> {
        self.delete("sweep#retention", day).await.map(|_| ())
    }

    async fn scan_page(
        &self,
        filter: Option<(&str, Vec<(&str, AttributeValue)>)>,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> PortResult<Page> {
        let mut req = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(start);
        if let Some((expr, values)) = filter {
            req = req
                .filter_expression(expr)
                .expression_attribute_names("#pk", attr::PK);
            if expr.contains("#erased") {
                req = req.expression_attribute_names("#erased", ERASED_AT);
            }
            for (k, v) in values {
                req = req.expression_attribute_values(k, v);
            }
        }
        let out = req.send().await.map_err(port_error)?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    async fn delete(&self, pk: &str, sk: &str) -> PortResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .key(attr::SK, s(sk))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(port_error)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// Erases one survey's personal data (core's `Survey::erase_personal_data`), saved on the
    /// version it was read at (a concurrent change is read again), and deletes its words item.
    /// `None` when the survey is gone or already erased and its words with it.
    async fn erase_survey(&self, id: &SurveyId, now: DateTime<Utc>) -> PortResult<Option<Erased>> {
        let mut erased = None;
        for _ in 0..5 {
            let Some(mut survey) = self.get(id).await? else {
                break;
            };
            if survey.personal_data_erased() {
                break;
            }
            let what = survey.erase_personal_data(now);
            match self.save(&survey).await {
                Ok(_) => {
                    erased = Some(what);
                    break;
                }
                Err(PortError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        let words = self.delete(&credits::words_pk(id), "words").await?;
        Ok(match (erased, words) {
            (Some(mut e), true) => {
                e.words += 1;
                Some(e)
            }
            (Some(e), false) => Some(e),
            (None, true) => Some(Erased {
                words: 1,
                ..Erased::default()
            }),
            (None, false) => None,
        })
    }

    /// Turns one plain do-not-contact entry (`dnc#phone#+7…`, `dnc#email#a@b.ru`) into its keyed
    /// hash, keeping when it was added, then deletes the plain one. `false` if the key is not a
    /// plain entry.
    async fn hash_plain_dnc(&self, pk: &str, since: Option<&str>) -> PortResult<bool> {
        let contact = if let Some(p) = pk.strip_prefix("dnc#phone#") {
            match Phone::parse(p, "RU") {
                Ok(phone) if p.starts_with('+') => Contact {
                    phone: Some(phone),
                    email: None,
                },
                _ => return Ok(false),
            }
        } else if let Some(e) = pk.strip_prefix("dnc#email#") {
            match Email::parse(e) {
                Ok(email) if !e.starts_with("h:") => Contact {
                    phone: None,
                    email: Some(email),
                },
                _ => return Ok(false),
            }
        } else {
            return Ok(false);
        };
        for key in dnc_keys(self.hasher()?, &contact) {
            self.client
                .put_item()
                .table_name(&self.table)
                .item(attr::PK, s(key))
                .item(attr::SK, s("dnc"))
                .item(
                    "since",
                    s(since.map_or_else(|| rfc3339(Utc::now()), String::from)),
                )
                .send()
                .await
                .map_err(port_error)?;
        }
        self.delete(pk, "dnc").await?;
        Ok(true)
    }

    /// The daily retention sweep: every survey ended more than `retention` ago loses its contact,
    /// provider ids and the customer's words (ratings, times, employees and credits stay for the
    /// KPI), and every plain do-not-contact entry an older build wrote becomes a keyed hash. One
    /// scan of the table; only surveys not erased yet and plain entries come back from it.
    pub async fn retention_sweep(
        &self,
        retention: std::time::Duration,
        now: DateTime<Utc>,
    ) -> PortResult<RetentionReport> {
        self.hasher()?;
        let mut report = RetentionReport::default();
        let mut start = None;
        loop {
            let filter = (
                "(begins_with(#pk, :survey) AND attribute_not_exists(#erased)) \
                 OR begins_with(#pk, :dnc_phone) \
                 OR (begins_with(#pk, :dnc_email) AND NOT begins_with(#pk, :dnc_email_hashed))",
                vec![
                    (":survey", s("survey#")),
                    (":dnc_phone", s("dnc#phone#+")),
                    (":dnc_email", s("dnc#email#")),
                    (":dnc_email_hashed", s("dnc#email#h:")),
                ],
            );
            let (items, next) = self.scan_page(Some(filter), start).await?;
            for item in &items {
                let pk = text(item, attr::PK).unwrap_or_default();
                if pk.starts_with("dnc#") {
                    if self.hash_plain_dnc(pk, text(item, "since")).await? {
                        report.dnc_hashed += 1;
                    }
                    continue;
                }
                if text(item, attr::SK) != Some("survey") {
                    continue;
                }
                let Ok(survey) = Self::parse(item) else {
                    report.unreadable += 1;
                    continue;
                };
                report.surveys_open_or_recent += 1;
                let due = otklik_core::privacy::erase_due(&survey, retention);
                if due.is_some_and(|at| at <= now)
                    && self.erase_survey(&survey.id, now).await?.is_some()
                {
                    report.erased += 1;
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(report),
            }
        }
    }

    /// Erases one customer's personal data from every item (`otklik forget`): their surveys lose
    /// contact, provider ids and words (ratings stay for the KPI), and the items that only
    /// exist for them go (the words, the MAX check, the frequency cap, the WhatsApp user
    /// links of their surveys, kept webhook items naming them). A do-not-contact entry stays,
    /// as a keyed hash (a plain one of an older build is hashed now): they asked not to be
    /// contacted, and that must outlive the erasure. One scan of the whole table: an operator's
    /// command, run rarely.
    pub async fn forget(&self, who: &Forgotten, now: DateTime<Utc>) -> PortResult<ForgetReport> {
        let hasher = self.hasher()?.clone();
        let mut report = ForgetReport::default();
        let (contact, needles) = match who {
            Forgotten::Phone(p) => (
                Contact {
                    phone: Some(p.clone()),
                    email: None,
                },
                // The number without "+": a GREEN-API chat (`7900…@c.us`) spells it so.
                vec![p.e164().trim_start_matches('+').to_string()],
            ),
            Forgotten::Email(e) => (
                Contact {
                    phone: None,
                    email: Some(e.clone()),
                },
                vec![e.as_str().to_lowercase()],
            ),
        };
        let matches = |c: &Contact| match who {
            Forgotten::Phone(p) => c.phone.as_ref().is_some_and(|x| x.e164() == p.e164()),
            Forgotten::Email(e) => c
                .email
                .as_ref()
                .is_some_and(|x| x.as_str().eq_ignore_ascii_case(e.as_str())),
        };
        let mut surveys: Vec<Survey> = Vec::new();
        let mut later: Vec<HashMap<String, AttributeValue>> = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.scan_page(None, start).await?;
            for item in items {
                let pk = text(&item, attr::PK).unwrap_or_default();
                if pk.starts_with("survey#") && text(&item, attr::SK) == Some("survey") {
                    let survey = Self::parse(&item)?;
                    if matches(&survey.contact) {
                        surveys.push(survey);
                    }
                } else {
                    later.push(item);
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        // The other contact of their surveys (the email of a phone, and the other way round)
        // identifies the same customer: its frequency cap and kept webhooks go too.
        let mut contacts = vec![contact.clone()];
        for s in &surveys {
            if !contacts.contains(&s.contact) {
                contacts.push(s.contact.clone());
            }
        }
        let mut needles = needles;
        for c in &contacts {
            if let Some(p) = &c.phone {
                needles.push(p.e164().trim_start_matches('+').to_string());
            }
            if let Some(e) = &c.email {
                needles.push(e.as_str().to_lowercase());
            }
        }
        needles.sort();
        needles.dedup();

        for s in &surveys {
            if let Some(e) = self.erase_survey(&s.id, now).await? {
                let mut parts = Vec::new();
                if e.phone {
                    parts.push("phone".to_string());
                }
                if e.email {
                    parts.push("email".to_string());
                }
                if e.ids > 0 {
                    parts.push(format!("{} message id(s)", e.ids));
                }
                if e.words > 0 {
                    parts.push("the customer's words".to_string());
                }
                report.changes.push(format!(
                    "order {}: erased {} from survey {} (its rating stays for the KPI)",
                    s.order,
                    parts.join(", "),
                    s.id
                ));
            }
        }
        let ids: std::collections::BTreeSet<&str> = surveys.iter().map(|s| s.id.as_str()).collect();

        // Items keyed by the customer's hash: the MAX account check, the frequency cap.
        for c in &contacts {
            if let Some(p) = &c.phone {
                if self.delete(&self.max_key(p)?, "max").await? {
                    report
                        .changes
                        .push("deleted the cached MAX account check of the phone".into());
                }
            }
            let mut keys = Vec::new();
            if let Some(p) = &c.phone {
                keys.push(format!("phone:{}", p.e164()));
            }
            if let Some(e) = &c.email {
                keys.push(format!("email:{}", e.as_str().to_lowercase()));
            }
            for k in keys {
                let pk = format!("customer#h:{}", hasher.id(&k));
                if self.delete(&pk, "last-survey").await? {
                    report
                        .changes
                        .push("deleted the frequency-cap record kept by their contact".into());
                }
            }
        }

        for item in &later {
            let pk = text(item, attr::PK).unwrap_or_default();
            let sk = text(item, attr::SK).unwrap_or_default();
            if pk.starts_with("wauser#") && ids.contains(sk) {
                self.delete(pk, sk).await?;
                report
                    .changes
                    .push(format!("deleted the WhatsApp user link of survey {sk}"));
            } else if pk == "unusable" && item_mentions(item, &needles) {
                self.delete(pk, sk).await?;
                report.changes.push(format!(
                    "deleted a kept webhook item naming them ({})",
                    text(item, "provider").unwrap_or("?")
                ));
            } else if pk.starts_with("dnc#") && !pk.contains("#h:") {
                // A plain entry of an older build: theirs is hashed now and stays; others'
                // are left to the retention sweep.
                let theirs = contacts.iter().flat_map(legacy_dnc_keys).any(|k| k == pk);
                if theirs && self.hash_plain_dnc(pk, text(item, "since")).await? {
                    report
                        .changes
                        .push("replaced the plain do-not-contact entry with its keyed hash".into());
                }
            }
        }
        for c in &contacts {
            if self.contains(c).await? {
                report.do_not_contact = true;
            }
        }
        if report.do_not_contact {
            report.changes.push(
                "kept them on the do-not-contact list, as a keyed hash (they had opted out)".into(),
            );
        }
        Ok(report)
    }
}

/// Whether any string of the item holds one of `needles` (lowercased).
fn item_mentions(item: &HashMap<String, AttributeValue>, needles: &[String]) -> bool {
    fn walk(v: &AttributeValue, needles: &[String]) -> bool {
        match v {
            AttributeValue::S(t) => {
                let t = t.to_lowercase();
                needles.iter().any(|n| t.contains(n.as_str()))
            }
            AttributeValue::Ss(l) => l
                .iter()
                .any(|t| walk(&AttributeValue::S(t.clone()), needles)),
            AttributeValue::L(l) => l.iter().any(|v| walk(v, needles)),
            AttributeValue::M(m) => m.values().any(|v| walk(v, needles)),
            _ => false,
        }
    }
    item.values().any(|v| walk(v, needles))
}
