//! Recording what a page's POST says, through the engine: the rating (unless the view looks like a
//! link scanner, by the core's rule), the contact answer, the comment.

use super::*;

impl Landing {
    /// Whether a view of `rating` at `viewed_at` looks like a link scanner: the core's rule, with
    /// the survey's views it asks for.
    pub async fn suspicion(
        &self,
        survey: &Survey,
        rating: Rating,
        viewed_at: DateTime<Utc>,
    ) -> Result<Option<Suspicion>, PortError> {
        let rule = ScannerRule::new(&self.config.email);
        let views = match rule.views_needed(survey.sent_at, viewed_at) {
            Some((from, to)) => {
                self.engine
                    .store
                    .views_between(&survey.id, from, to)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(rule.suspicion(survey.sent_at, rating, viewed_at, &views))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn rate(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        token: &str,
        nonce: &str,
        rating: Rating,
        viewed_at: DateTime<Utc>,
        confirmed: bool,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        match survey.rating {
            Some(r) if r == rating => return Ok(recorded(shop, token, rating)),
            // The first answer stands; no need to suspect anybody of anything.
            Some(_) => return Ok(already_answered(shop)),
            None => {}
        }
        if !confirmed {
            if let Some(why) = self.suspicion(survey, rating, viewed_at).await? {
                tracing::info!(survey = %survey.id, ?why, "looks like a link scanner; asking to confirm");
                return Ok(page(
                    shop,
                    StatusCode::ACCEPTED,
                    &Page::Confirm {
                        rating,
                        token,
                        nonce,
                    },
                    json!({ "recorded": false, "reason": "confirm" }),
                ));
            }
        }
        // One input per link: a replayed POST is the same input and changes nothing.
        let after = self
            .choose(survey, Reply::Rating { value: rating }, now)
            .await?;
        if after.rating == Some(rating) {
            tracing::info!(survey = %survey.id, rating = rating.value(), "rating recorded from the email");
            Ok(recorded(shop, token, rating))
        } else {
            Ok(already_answered(shop))
        }
    }

    pub(crate) async fn choose(
        &self,
        survey: &Survey,
        reply: Reply,
        now: DateTime<Utc>,
    ) -> Result<Survey, PortError> {
        self.apply(survey, Input::page_answer(reply, Channel::Email), now)
            .await
    }

    pub(crate) async fn apply(
        &self,
        survey: &Survey,
        input: Input,
        now: DateTime<Utc>,
    ) -> Result<Survey, PortError> {
        let applied = self.engine.apply(&survey.id, &input, now).await?;
        applied
            .map(|a| a.survey)
            .ok_or_else(|| PortError::NotFound(survey.id.to_string()))
    }
}
