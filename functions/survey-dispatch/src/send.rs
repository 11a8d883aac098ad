//! Sending the question: the channel chosen, the send claimed so that it happens at most once,
//! the provider called, and the outcome recorded through the engine.

use super::*;

impl Dispatcher {
    /// The channels of the site's chain this installation can send on now and the customer
    /// can be reached on, best first ([`channels_to_try`]).
    pub(crate) fn candidates(&self, survey: &Survey) -> Vec<Channel> {
        let chain = self.config.chain_for_site(survey.order.site());
        let available = |c: Channel| match c {
            Channel::Whatsapp => self.whatsapp.is_configured(),
            Channel::Email => true,
            Channel::Max | Channel::Sms => false,
        };
        channels_to_try(&survey.contact, &chain, available)
    }

    /// The first of the survey's candidates on which the customer can be reached: a messenger
    /// whose provider says "no account" is passed over; an unknown answer counts as reachable (a
    /// failed delivery falls back later).
    pub(crate) async fn choose_channel(
        &self,
        survey: &Survey,
    ) -> Result<Option<Channel>, DispatchError> {
        for &channel in &survey.chain {
            match (channel, survey.contact.phone.as_ref()) {
                (Channel::Whatsapp, Some(phone)) => {
                    if self.whatsapp.has_whatsapp(phone).await? != Some(false) {
                        return Ok(Some(channel));
                    }
                }
                (Channel::Email, _) => return Ok(Some(channel)),
                // `candidates` offers only channels this installation can send on.
                (Channel::Whatsapp, None) | (Channel::Max | Channel::Sms, _) => {}
            }
        }
        Ok(None)
    }

    /// Sends under a claim: the first delivery sends, every other one finds the claim taken.
    pub(crate) async fn send(
        &self,
        survey: Survey,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, DispatchError> {
        if !self
            .store
            .claim_send(&survey.id, &channel.to_string(), now)
            .await?
        {
            // The question went out, or a crash after the claim left its outcome unknown: it is
            // not sent again either way. A survey still `Scheduled` here is one whose save after
            // the send was lost; it must say it asked, or the customer's answer would find it
            // unasked (an "unprompted message") and the rating would be lost. Same input id as
            // the send's own save below, so whichever lands first wins.
            if survey.state == SurveyState::Scheduled {
                self.apply(&survey, Input::sent(channel, ""), now).await?;
                tracing::warn!(survey = %survey.id, %channel, "send claimed earlier but not recorded; marked sent");
            }
            return Ok(Dispatched::AlreadyClaimed);
        }
        let result = match channel {
            Channel::Whatsapp => {
                let phone = survey
                    .contact
                    .phone
                    .as_ref()
                    .expect("WhatsApp was chosen for a phone");
                let lang = self.texts.language();
                let text = self
                    .texts
                    .pick(TextKind::Request, lang, &survey.wording_seed());
                self.whatsapp.send_question(phone, text).await
            }
            Channel::Email => self.send_email(&survey, now).await,
            // Never chosen (see `choose_channel`); refused before anything leaves us.
            Channel::Max | Channel::Sms => Err(SendError::NotSent(format!(
                "no {channel} sender in this installation"
            ))),
        };
        let message_id = match result {
            Ok(id) => id,
            Err(SendError::NotSent(e)) => {
                // Nothing left us: give the claim back so the redelivery can try again.
                self.store
                    .release_send(&survey.id, &channel.to_string())
                    .await?;
                return Err(SendError::NotSent(e).into());
            }
            Err(SendError::Unknown(e)) => {
                // It may have reached the customer; trying again could ask them twice.
                tracing::error!(survey = %survey.id, %channel, error = %e, "send outcome unknown; not retried");
                self.apply(&survey, Input::send_unknown(channel, e.as_str()), now)
                    .await?;
                return Ok(Dispatched::Failed(e));
            }
        };
        self.store
            .remember_message(&message_id, &survey.id, now)
            .await?;
        self.apply(&survey, Input::sent(channel, message_id.as_str()), now)
            .await?;
        tracing::info!(survey = %survey.id, %channel, employees = survey.employees.len(), "survey sent");
        Ok(Dispatched::Sent {
            channel,
            message_id,
        })
    }

    async fn send_email(&self, survey: &Survey, now: DateTime<Utc>) -> Result<String, SendError> {
        let to = survey
            .contact
            .email
            .clone()
            .ok_or_else(|| SendError::NotSent("no email".into()))?;
        let cfg = &self.config.email;
        let expires =
            now + chrono::Duration::from_std(cfg.link_ttl).unwrap_or(chrono::Duration::days(30));
        let links = rating_links(&self.signer, &cfg.landing_base_url, &survey.id, expires);
        let unsubscribe = opt_out_link(&self.signer, &cfg.landing_base_url, &survey.id, expires);
        let draft = survey_email(
            &self.texts,
            self.texts.language(),
            &survey.wording_seed(),
            cfg,
            to.clone(),
            &links,
            unsubscribe,
        );
        let domain = cfg
            .from_address
            .rsplit_once('@')
            .map_or("otklik", |(_, d)| d);
        let mime = to_mime(
            &draft,
            &format!("{}.{}@{domain}", survey.id, now.timestamp()),
            now,
        );
        self.mailer
            .send_raw(&cfg.from_address, to.as_str(), &mime)
            .await
    }

    /// The email fallback the state machine asked for after a WhatsApp failure.
    pub(crate) async fn fallback(
        &self,
        survey: Survey,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, DispatchError> {
        if !survey.fallback_pending(channel) {
            return Ok(Dispatched::NothingToDo("no fallback pending".into()));
        }
        self.send(survey, channel, now).await
    }
}
