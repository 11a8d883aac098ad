//! Survey items: create once, read, save conditionally on the version, list by phone, and
//! read back for reports.

use super::*;

impl SurveyStore for DynamoStore {
    async fn create(&self, survey: &Survey) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(survey, 1)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", attr::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn get(&self, id: &SurveyId) -> PortResult<Option<Survey>> {
        let item = self.get_item(survey_pk(id), "survey").await?;
        item.as_ref().map(Self::parse).transpose()
    }

    async fn save(&self, survey: &Survey) -> PortResult<Survey> {
        let next = survey.version + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(survey, next)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", attr::VERSION)
            .expression_attribute_values(":v", n(survey.version))
            .send()
            .await;
        match result {
            Ok(_) => {
                let mut saved = survey.clone();
                saved.version = next;
                Ok(saved)
            }
            Err(e) if is_condition_failure(&e) => Err(PortError::Conflict(format!(
                "survey {} changed since version {}",
                survey.id, survey.version
            ))),
            Err(e) => Err(port_error(e)),
        }
    }

    async fn by_phone(&self, phone: &Phone) -> PortResult<Vec<Survey>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(MAIN_TABLE.indexes[0].0)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", attr::GSI1_PK)
            .expression_attribute_values(":pk", s(phone_key(phone)))
            .scan_index_forward(false)
            .limit(20)
            .send()
            .await
            .map_err(port_error)?;
        out.items().iter().map(Self::parse).collect()
    }
}

/// Reading back for reports.
impl DynamoStore {
    /// Every survey whose question went out between `from` and `to`. A scan: reports are run by a
    /// person now and then, and a shop's table holds a year of surveys at most (retention).
    pub async fn surveys_sent_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> PortResult<Vec<Survey>> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#pk, :p) AND #sk = :sk")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#sk", attr::SK)
                .expression_attribute_values(":p", s("survey#"))
                .expression_attribute_values(":sk", s("survey"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(port_error)?;
            for item in page.items() {
                let survey = Self::parse(item)?;
                if survey.sent_at.is_some_and(|t| t >= from && t <= to) {
                    out.push(survey);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
