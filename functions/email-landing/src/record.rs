//! Recording what a page's POST says, through the engine: the rating (unless an email view looks
//! like a link scanner, by the core's rule), the contact answer, the comment — the same code for
//! the email's links and the SMS's short link, which differ only in the channel they name.

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
        // Measured from our latest message: a reminder's links are as fresh as it is.
        let sent_at = survey.last_asked_at();
        let views = match rule.views_needed(sent_at, viewed_at) {
            Some((from, to)) => {
                self.engine
                    .store
                    .views_between(&survey.id, from, to)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(rule.suspicion(sent_at, rating, viewed_at, &views))
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
        if let Some(settled) = self.settled(shop, survey, token, rating).await? {
            return Ok(settled);
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
        self.rate_once(shop, survey, token, rating, Channel::Email, now)
            .await
    }

    /// Records `rating` given on a page reached through `via`'s link (`link` is the token or short
    /// id the follow-up forms post under). One input per rating: a replayed POST is the same input
    /// and changes nothing.
    pub(crate) async fn rate_once(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        link: &str,
        rating: Rating,
        via: Channel,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        if let Some(settled) = self.settled(shop, survey, link, rating).await? {
            return Ok(settled);
        }
        let after = self
            .choose(survey, Reply::Rating { value: rating }, via, now)
            .await?;
        if after.rating == Some(rating) {
            tracing::info!(survey = %survey.id, rating = rating.value(), %via, "rating recorded from a page");
            Ok(recorded(shop, link, rating))
        } else {
            Ok(already_answered(shop, after.rating))
        }
    }

    /// "Shall we call you?" after a 3: `yes` or `no`, anything else is a bad request.
    pub(crate) async fn contact(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        answer: Option<&str>,
        via: Channel,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        let yes = match answer {
            Some("yes") => true,
            Some("no") => false,
            _ => return Ok(error(shop, ErrorPage::BadRequest)),
        };
        let reply = if yes { Reply::Yes } else { Reply::No };
        let wanted = if yes {
            Outcome::ComplaintOpened
        } else {
            Outcome::DeclinedContact
        };
        let answered = SurveyState::Closed { outcome: wanted };
        // Refused unless the survey waits for this answer, and then nothing is applied: a
        // refusal must change nothing. (The same answer again finds it answered: a repeat.)
        let after = if survey.awaits_contact_answer() {
            self.choose(survey, reply, via, now).await?
        } else {
            survey.clone()
        };
        if after.state == answered {
            Ok(page(
                shop,
                StatusCode::OK,
                &Page::ContactAnswered {
                    yes,
                    phone: after.contact.phone.is_some(),
                },
                json!({ "recorded": true, "answer": if yes { "yes" } else { "no" } }),
            ))
        } else {
            Ok(already_answered(shop, after.rating))
        }
    }

    /// The words after a 1–2: not empty, not over the box's limit, and only once rated.
    pub(crate) async fn comment(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        text: Option<&str>,
        via: Channel,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        let text = text.unwrap_or_default().trim();
        if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
            return Ok(error(shop, ErrorPage::BadRequest));
        }
        if !survey.takes_page_comment() {
            return Ok(error(shop, ErrorPage::BadRequest));
        }
        self.apply(survey, Input::page_comment(text, via), now)
            .await?;
        Ok(page(
            shop,
            StatusCode::OK,
            &Page::CommentSaved,
            json!({ "recorded": true }),
        ))
    }

    /// A choice on a page. The page is reached only through the message, so a survey still
    /// `Scheduled` whose send on `via` is claimed was asked (an SMS taken while SMS.ru's answer
    /// is late, a save after the send not landed yet): that is recorded first, or the answer
    /// would be taken as unprompted, remembered, and every later tap ignored as its repeat.
    pub(crate) async fn choose(
        &self,
        survey: &Survey,
        reply: Reply,
        via: Channel,
        now: DateTime<Utc>,
    ) -> Result<Survey, PortError> {
        let survey = self
            .engine
            .catch_up_on_send(survey.clone(), via, now)
            .await?;
        self.apply(&survey, Input::page_answer(reply, via), now)
            .await
    }

    /// [`settled`], once whatever a crash left in the survey's outbox is sent. A crash after the
    /// rating was saved leaves its effects (the rating for the CRM, the credit, the complaint)
    /// there, and the person trying again finds the rating "recorded": their repeat sends them,
    /// or nothing else ever would.
    async fn settled(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        link: &str,
        rating: Rating,
    ) -> Result<Option<Answer>, PortError> {
        let answer = settled(shop, survey, link, rating);
        if answer.is_some() && !survey.pending.is_empty() {
            self.engine.flush(survey.clone()).await?;
        }
        Ok(answer)
    }

    /// Sends what a crash left in the outbox of an answered survey. A person who comes back to
    /// an answered survey is its next touch: the page only shows what is recorded, but the
    /// rating's effects (the CRM write, the credit, the complaint) saved with it and never queued
    /// would otherwise wait for ever — the fault run caught a GET of an answered survey that no
    /// longer led to the POST that used to send them.
    pub(crate) async fn flush_left_over(&self, survey: &Survey) -> Result<(), PortError> {
        if !survey.pending.is_empty() {
            self.engine.flush(survey.clone()).await?;
        }
        Ok(())
    }

    /// The inspector's page. A GET (`choice` is `None`) only shows the choices — or that nothing
    /// is left to decide; a POST's `choice` (`1`–`5`, `call`, `none`) runs the machine once:
    /// a second POST, or one after the customer answered, records nothing and says so.
    pub(crate) async fn resolve(
        &self,
        shop: &Shop<'_>,
        survey: &Survey,
        choice: Option<Option<&str>>,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        let before = || {
            page(
                shop,
                StatusCode::CONFLICT,
                &Page::ResolvedBefore,
                json!({ "recorded": false, "reason": "already_answered" }),
            )
        };
        let Some(choice) = choice else {
            if !awaits_resolution(survey) {
                return Ok(before());
            }
            return Ok(page(
                shop,
                StatusCode::OK,
                &Page::Resolve,
                json!({ "choices": ["1", "2", "3", "4", "5", "call", "none"] }),
            ));
        };
        let Some(resolution) = choice.and_then(Resolution::from_form) else {
            return Ok(error(shop, ErrorPage::BadRequest));
        };
        if !awaits_resolution(survey) {
            return Ok(before());
        }
        let after = self.apply(survey, Input::resolved(resolution), now).await?;
        // Recorded by this POST when the survey no longer waits and took this resolution (a
        // concurrent one, or the customer's own answer, leaves it waiting or differently settled).
        let took = !awaits_resolution(&after)
            && match resolution {
                Resolution::Rating { value } => after.rating == Some(value),
                Resolution::WantsCall => matches!(
                    after.state,
                    SurveyState::Closed {
                        outcome: Outcome::ComplaintOpened
                    }
                ),
                Resolution::NotARating => after.rating.is_none(),
            };
        if !took {
            return Ok(before());
        }
        tracing::info!(survey = %survey.id, choice = %resolution.form_value(), "inspector resolved an unreadable answer");
        Ok(page(
            shop,
            StatusCode::OK,
            &Page::Resolved(resolution),
            json!({ "recorded": true, "choice": resolution.form_value() }),
        ))
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

/// The survey's first rating stands: the same one again is "recorded" (a double tap, a replay),
/// another is "already answered". `None` while there is none.
fn settled(shop: &Shop<'_>, survey: &Survey, link: &str, rating: Rating) -> Option<Answer> {
    match survey.rating {
        Some(r) if r == rating => Some(recorded(shop, link, rating)),
        Some(r) => Some(already_answered(shop, Some(r))),
        None => None,
    }
}
