//! Sending the question: the channel chosen, the send claimed so that it happens at most once,
//! the provider called, and the outcome recorded through the engine.

use super::*;

impl Dispatcher {
    /// The channels of the site's chain this installation can send on now and the customer
    /// can be reached on, best first ([`channels_to_try`]).
    /// `max_up`: whether the MAX instance can send now ([`Self::max_up`]).
    pub(crate) fn candidates(&self, survey: &Survey, max_up: bool) -> Vec<Channel> {
        let chain = self.config.chain_for_site(survey.order.site());
        let available = |c: Channel| match c {
            Channel::Whatsapp => self.whatsapp.is_configured(),
            Channel::Max => self.max.is_some() && max_up,
            Channel::Sms => self.sms.is_some(),
            Channel::Email => true,
        };
        channels_to_try(&survey.contact, &chain, available)
    }

    /// The first of the survey's candidates on which the customer can be reached: a messenger
    /// whose provider says "no account" is passed over; an unknown answer counts as reachable (a
    /// failed delivery falls back later).
    pub(crate) async fn choose_channel(
        &self,
        survey: &Survey,
        now: DateTime<Utc>,
    ) -> Result<Option<Channel>, DispatchError> {
        self.first_reachable(survey, &survey.chain, now).await
    }

    /// The first of `channels` on which the customer can be reached (see [`Self::choose_channel`]).
    pub(crate) async fn first_reachable(
        &self,
        survey: &Survey,
        channels: &[Channel],
        now: DateTime<Utc>,
    ) -> Result<Option<Channel>, DispatchError> {
        for &channel in channels {
            match (channel, survey.contact.phone.as_ref()) {
                (Channel::Whatsapp, Some(phone)) => {
                    if self.whatsapp.has_whatsapp(phone).await? != Some(false) {
                        return Ok(Some(channel));
                    }
                }
                (Channel::Max, Some(_)) => {
                    if self.max_chat(survey, now).await?.is_some() {
                        return Ok(Some(channel));
                    }
                }
                // Every mobile takes an SMS; `candidates` checked the number.
                (Channel::Sms, Some(_)) | (Channel::Email, _) => return Ok(Some(channel)),
                (Channel::Whatsapp | Channel::Max | Channel::Sms, None) => {}
            }
        }
        Ok(None)
    }

    /// Whether the MAX instance can send now. Logged out, blocked or suspended, it would take our
    /// requests and deliver nothing, so the chain skips MAX for everyone (and the alarm on
    /// `MaxInstanceDown` says so) until it is back. Asked at most once a minute by each instance
    /// of this function; a state that cannot be read counts as up (a failed send is retried).
    pub(crate) async fn max_up(&self, now: DateTime<Utc>) -> bool {
        let Some(max) = &self.max else {
            return false;
        };
        let known = *self.max_state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, up)) = known {
            if now - at < chrono::Duration::minutes(1) {
                return up;
            }
        }
        let up = match max.state().await {
            Ok(state) if !state.can_send() => {
                tracing::error!(
                    state = state.as_str(),
                    "the MAX instance cannot send; skipping MAX"
                );
                otklik_metrics::incr(
                    &otklik_metrics::MAX_INSTANCE_DOWN,
                    &[("State", state.as_str())],
                );
                false
            }
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "MAX instance state unknown; trying MAX");
                true
            }
        };
        *self.max_state.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, up));
        up
    }

    /// The customer's MAX chat (`otklik_app::max`); `None` without MAX configured or account.
    pub(crate) async fn max_chat(
        &self,
        survey: &Survey,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, DispatchError> {
        let (Some(max), Some(phone)) = (&self.max, survey.contact.phone.as_ref()) else {
            return Ok(None);
        };
        Ok(chat_of(&self.store, max, phone, now).await?)
    }

    /// Sends under a claim: the first delivery sends, every other one finds the claim taken.
    pub(crate) async fn send(
        &self,
        survey: Survey,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, DispatchError> {
        // MAX writes to a chat, which only the account check knows; without one (a fallback to
        // MAX for a customer who has none) the machine moves on down the chain.
        let max_chat = match channel {
            Channel::Max => match self.max_chat(&survey, now).await? {
                Some(chat) => Some(chat),
                None => {
                    self.apply(&survey, Input::unreachable(channel), now)
                        .await?;
                    return Ok(Dispatched::NothingToDo(format!("no {channel} account")));
                }
            },
            _ => None,
        };
        // A claim given back while we looked (its sender's send was refused) is taken again: at
        // most twice, after which the message comes back through the queue.
        let mut survey = survey;
        let mut looks = 0;
        while !self
            .store
            // The claim's time is the moment it is taken (not the batch's start, which may be
            // minutes earlier): `claimed_elsewhere` judges its sender by it.
            .claim_send(&survey.id, &channel.to_string(), Utc::now())
            .await?
        {
            looks += 1;
            match self.claimed_elsewhere(&survey, channel).await? {
                Elsewhere::Settled(d) => return Ok(d),
                Elsewhere::Released(fresh) if looks < 3 => survey = *fresh,
                Elsewhere::Released(_) => {
                    return Err(PortError::Transient(format!(
                        "the send claim of {} on {channel} keeps changing hands",
                        survey.id
                    ))
                    .into())
                }
            }
        }
        // Asked for the first time: the reminder's schedule is made before the provider is called,
        // so a crash after the send cannot leave the survey without its reminder (one that fires
        // for a question that never went out finds nothing to remind of).
        if survey.state == SurveyState::Scheduled {
            if let Err(e) = self.schedule_reminder(&survey, now).await {
                // Nothing was sent: with the claim kept, the redelivery would take the question
                // for sent and the customer would never be asked.
                self.give_back(&survey, channel).await?;
                return Err(e);
            }
        }
        let result = self
            .deliver(&survey, channel, Ask::Question, max_chat.as_deref(), now)
            .await;
        let message_id = match result {
            Ok(id) => id,
            Err(SendError::NotSent(e)) => {
                // Nothing left us: give the claim back so the redelivery can try again.
                self.give_back(&survey, channel).await?;
                return Err(SendError::NotSent(e).into());
            }
            Err(SendError::Unknown(e)) => {
                // It may have reached the customer; trying again could ask them twice.
                tracing::error!(survey = %survey.id, %channel, error = %e, "send outcome unknown; not retried");
                if let Err(saved) = self
                    .apply(&survey, Input::send_unknown(channel, e.as_str()), now)
                    .await
                {
                    // As for a send not recorded (below): the claim tells the redelivery.
                    if let Err(note) = self
                        .store
                        .note_claim_unknown(&survey.id, &channel.to_string(), &e)
                        .await
                    {
                        tracing::warn!(survey = %survey.id, %channel, error = %note, "unknown outcome not noted on the claim");
                    }
                    return Err(saved);
                }
                return Ok(Dispatched::Failed(e));
            }
        };
        let recorded = self.record_sent(&survey, channel, &message_id, now).await;
        if let Err(e) = recorded {
            // The question is out but not on the survey. The claim says so, with the id, for the
            // redelivery that finds it taken (`claimed_elsewhere`): it records the send as it
            // was instead of waiting out this sender.
            if let Err(note) = self
                .store
                .note_claim_sent(&survey.id, &channel.to_string(), &message_id)
                .await
            {
                tracing::warn!(survey = %survey.id, %channel, error = %note, "sent message's id not noted on the claim");
            }
            return Err(e);
        }
        tracing::info!(survey = %survey.id, %channel, employees = survey.employees.len(), "survey sent");
        Ok(Dispatched::Sent {
            channel,
            message_id,
        })
    }

    /// Gives the send claim back (nothing left us), trying a failed write a few times in place:
    /// a claim kept without a send would have the question taken for sent.
    async fn give_back(&self, survey: &Survey, channel: Channel) -> Result<(), DispatchError> {
        let key = channel.to_string();
        in_place("giving the send claim back", &survey.id, || {
            self.store.release_send(&survey.id, &key)
        })
        .await
    }

    /// The send claim is taken by another delivery of the same question (a duplicate message
    /// handled at the same time, or an earlier delivery that failed). What it means depends on
    /// its sender, which may still be at work: its send can yet be refused and the claim given
    /// back, and the question would then be lost had we marked it sent.
    ///
    /// - The survey moved on (its sender recorded the send, or the send failed): nothing to do.
    /// - The claim was given back: ours to take again ([`Elsewhere::Released`]).
    /// - The claim carries the provider's message id (its sender sent and could not record it):
    ///   recorded as sent with that id; or the send's unknown outcome: recorded as such.
    /// - The claim is older than [`SENDER_GONE_AFTER`]: its sender is gone, with the send's
    ///   outcome unknown. The question is never sent twice, so it is marked sent without an id:
    ///   a survey still `Scheduled` would take the customer's answer for an unprompted message.
    /// - Otherwise its sender is at work: we watch for [`CLAIM_WATCH`], then leave the message
    ///   to come back through the queue (after the visibility timeout, past the sender's end).
    ///
    /// A fallback or a later channel (the survey no longer `Scheduled`) is never marked without an
    /// id: its own message comes back if its sender failed.
    pub(crate) async fn claimed_elsewhere(
        &self,
        survey: &Survey,
        channel: Channel,
    ) -> Result<Elsewhere, DispatchError> {
        let key = channel.to_string();
        let gone_after =
            chrono::Duration::from_std(SENDER_GONE_AFTER).expect("a minute is a chrono duration");
        let awaits_send =
            |s: &Survey| s.state == SurveyState::Scheduled || s.fallback_pending(channel);
        let watch_until = tokio::time::Instant::now() + CLAIM_WATCH;
        loop {
            let Some(fresh) = self.store.get(&survey.id).await? else {
                return Ok(Elsewhere::Settled(Dispatched::NothingToDo(
                    "no such survey".into(),
                )));
            };
            if !awaits_send(&fresh) {
                return Ok(Elsewhere::Settled(Dispatched::AlreadyClaimed));
            }
            let claim = self.store.send_claim(&survey.id, &key).await?;
            let now = Utc::now();
            match claim {
                None => return Ok(Elsewhere::Released(Box::new(fresh))),
                Some(SendClaim {
                    message_id: Some(id),
                    ..
                }) => {
                    // Its sender may have failed before the id → survey record too; without it a
                    // later "failed" status of this message could not find the survey to fall
                    // back from.
                    self.record_sent(&fresh, channel, &id, now).await?;
                    tracing::warn!(survey = %survey.id, %channel, "send recorded from its claim");
                    return Ok(Elsewhere::Settled(Dispatched::AlreadyClaimed));
                }
                Some(SendClaim {
                    unknown: Some(reason),
                    ..
                }) => {
                    self.apply(&fresh, Input::send_unknown(channel, reason.as_str()), now)
                        .await?;
                    tracing::warn!(survey = %survey.id, %channel, "unknown send outcome recorded from its claim");
                    return Ok(Elsewhere::Settled(Dispatched::Failed(reason)));
                }
                Some(c) if now - c.at >= gone_after => {
                    if fresh.state == SurveyState::Scheduled {
                        self.apply(&fresh, Input::sent(channel, ""), now).await?;
                        tracing::warn!(survey = %survey.id, %channel, "send claimed by a delivery that ended without recording it; marked sent");
                    }
                    return Ok(Elsewhere::Settled(Dispatched::AlreadyClaimed));
                }
                Some(_) if fresh.state != SurveyState::Scheduled => {
                    return Ok(Elsewhere::Settled(Dispatched::AlreadyClaimed));
                }
                Some(_) if tokio::time::Instant::now() >= watch_until => {
                    return Err(PortError::Transient(format!(
                        "another delivery is sending {} on {channel}; its outcome is awaited",
                        survey.id
                    ))
                    .into());
                }
                Some(_) => tokio::time::sleep(CLAIM_POLL).await,
            }
        }
    }

    /// Records the send of `survey`'s question on `channel` as `message_id`: first which survey
    /// the id belongs to, then "sent" on the survey, then a delivery failure of that message the
    /// provider reported before the id was recorded (kept by `inbound-worker`), so the next
    /// channel is asked.
    pub(crate) async fn record_sent(
        &self,
        survey: &Survey,
        channel: Channel,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        self.record_message(survey, message_id, Input::sent(channel, message_id), now)
            .await
    }

    /// Records a message the provider took (`recorded`: "sent" or "reminded"): the id's
    /// survey first, then `recorded` on the survey, then the delivery failure of that message
    /// kept before the id was recorded, as if it had come after.
    pub(crate) async fn record_message(
        &self,
        survey: &Survey,
        message_id: &str,
        recorded: Input,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let kept = self.remember_sent(message_id, &survey.id, now).await?;
        let after = self.apply(survey, recorded, now).await?;
        if let Some(failure) = kept {
            self.apply(&after, failure, now).await?;
            tracing::warn!(survey = %survey.id, "a failure reported before the send was recorded, applied");
        }
        Ok(())
    }

    /// For a survey whose question (or fallback) is out: the delivery failure kept under its
    /// message id, applied. A sender that recorded the send and died before applying the failure
    /// it was handed ([`Self::record_sent`]) leaves it to its message's redelivery, which finds
    /// the send done and comes here; applied twice, it changes nothing (the machine falls back
    /// once). One read, only for a message that finds its send already done.
    pub(crate) async fn apply_kept_failure(
        &self,
        survey: &Survey,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let waiting = matches!(
            survey.state,
            SurveyState::Sent | SurveyState::AwaitingRating
        );
        let id = survey
            .provider_message_id
            .as_deref()
            .filter(|id| waiting && !id.is_empty());
        let Some(id) = id else {
            return Ok(());
        };
        if let Some(failure) = self.store.kept_failure(id).await? {
            self.apply(survey, failure, now).await?;
            tracing::warn!(survey = %survey.id, "a failure reported before the send was recorded, applied on redelivery");
        }
        Ok(())
    }

    /// Remembers which survey the provider's `message_id` belongs to, trying a failed write a
    /// few times in place; the delivery failure kept under the id before, if any. After the
    /// provider took the message this record is all that ties its later statuses to the survey —
    /// a failure status it misses cannot fall back to the next channel — and the queue's
    /// redelivery cannot make it again: the send's claim is taken, and the id is known only here.
    pub(crate) async fn remember_sent(
        &self,
        message_id: &str,
        survey: &otklik_core::model::SurveyId,
        now: DateTime<Utc>,
    ) -> Result<Option<Input>, DispatchError> {
        in_place("recording the sent message's id", survey, || {
            self.store.remember_message(message_id, survey, now)
        })
        .await
    }

    /// Calls the provider of `channel` with the question or the reminder; the provider's message
    /// id. `max_chat`: the customer's MAX chat, when `channel` is MAX.
    pub(crate) async fn deliver(
        &self,
        survey: &Survey,
        channel: Channel,
        ask: Ask,
        max_chat: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, SendError> {
        let lang = self.texts.language();
        let text = || {
            self.texts.ask(
                ask.messenger(),
                lang,
                &survey.wording_seed(),
                &self.config.who(),
            )
        };
        match channel {
            Channel::Whatsapp => {
                let phone = survey
                    .contact
                    .phone
                    .as_ref()
                    .ok_or_else(|| SendError::NotSent("no phone for WhatsApp".into()))?;
                // On Meta this is the approved template whatever `ask` is: a business may not
                // write first in its own words there.
                self.whatsapp.send_question(phone, &text()).await
            }
            Channel::Email => self.send_email(survey, ask, now).await,
            Channel::Max => match (&self.max, max_chat) {
                (Some(max), Some(chat)) => {
                    self.pace_max(max).await;
                    max.send_text(chat, &text()).await
                }
                _ => Err(SendError::NotSent("MAX is not configured".into())),
            },
            Channel::Sms => self.send_sms(survey, ask, now).await,
        }
    }

    /// Once per process, before its first MAX send: the instance lets our messages out no faster
    /// than `max.send_interval` (GREEN-API queues them), so a peak's questions do not leave a
    /// person's account in a burst. A failure is logged and tried again before the next send; the
    /// send itself goes ahead (the instance keeps its previous interval meanwhile).
    async fn pace_max(&self, max: &MaxClient) {
        use std::sync::atomic::Ordering;
        if self.max_paced.load(Ordering::Relaxed) {
            return;
        }
        let Some(interval) = self.config.max.as_ref().map(|m| m.send_interval) else {
            return;
        };
        match max.pace(interval).await {
            Ok(paced) => {
                self.max_paced.store(true, Ordering::Relaxed);
                if let otklik_messaging::max::Paced::Set { was } = paced {
                    tracing::info!(
                        ?was,
                        want_ms = interval.as_millis() as u64,
                        "MAX instance pacing set"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not set the MAX instance's pacing"),
        }
    }

    /// One SMS: our words, then a short link of its own to the rating page.
    async fn send_sms(
        &self,
        survey: &Survey,
        ask: Ask,
        now: DateTime<Utc>,
    ) -> Result<String, SendError> {
        let (Some(sms), Some(phone)) = (&self.sms, survey.contact.phone.as_ref()) else {
            return Err(SendError::NotSent("SMS is not configured".into()));
        };
        let cfg = &self.config.email;
        let expires =
            now + chrono::Duration::from_std(cfg.link_ttl).unwrap_or(chrono::Duration::days(30));
        let id = self
            .new_short_link(survey, expires)
            .await
            .map_err(|e| SendError::NotSent(format!("short link: {e}")))?;
        let text = request_sms(
            &self.texts,
            ask,
            self.texts.language(),
            &survey.wording_seed(),
            &self.config.who(),
            &id.url(&cfg.landing_base_url),
        );
        sms.send(phone, &text).await
    }

    /// A fresh short link for the survey. A taken id (about one in 10^21) draws another.
    async fn new_short_link(
        &self,
        survey: &Survey,
        expires: DateTime<Utc>,
    ) -> Result<ShortLinkId, DispatchError> {
        for _ in 0..3 {
            let mut random = [0u8; 32];
            getrandom::fill(&mut random)
                .map_err(|e| DispatchError::BadMessage(format!("no randomness: {e}")))?;
            let Some(id) = ShortLinkId::from_random(&random) else {
                continue;
            };
            if self
                .store
                .create_short_link(&id, &survey.id, expires)
                .await?
            {
                return Ok(id);
            }
        }
        Err(PortError::Conflict("three short link ids in a row were taken".into()).into())
    }

    async fn send_email(
        &self,
        survey: &Survey,
        ask: Ask,
        now: DateTime<Utc>,
    ) -> Result<String, SendError> {
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
            otklik_core::email::Wording {
                texts: &self.texts,
                ask,
                lang: self.texts.language(),
                seed: &survey.wording_seed(),
                who: &self.config.who(),
            },
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
            self.apply_kept_failure(&survey, now).await?;
            return Ok(Dispatched::NothingToDo("no fallback pending".into()));
        }
        self.send(survey, channel, now).await
    }
}

/// Tries of a write that must not wait for the queue's redelivery ([`in_place`]).
const REMEMBER_TRIES: u64 = 3;

/// Runs `write` up to [`REMEMBER_TRIES`] times while it fails transiently, a little longer
/// between tries: for the writes after a provider call (`remember_sent`, `give_back`) whose
/// failure the redelivery could not mend, because the send's claim decides it.
async fn in_place<T, F, Fut>(what: &str, survey: &SurveyId, write: F) -> Result<T, DispatchError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = otklik_core::ports::PortResult<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match write().await {
            Ok(done) => return Ok(done),
            Err(PortError::Transient(e)) if tries < REMEMBER_TRIES => {
                tracing::warn!(%survey, error = %e, "{what} failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How long a delivery that finds the send claim taken watches its sender at work before it
/// leaves the message to the queue: longer than a provider call (10 s client timeouts) with the
/// record after it, so a duplicate handled alongside usually settles here.
pub(crate) const CLAIM_WATCH: std::time::Duration = std::time::Duration::from_secs(15);
/// A claim with nothing noted, older than this, belongs to a sender that is gone. A live sender
/// records or notes its send's outcome within its provider call (10 s client timeouts; MAX's
/// pacing call before its first send, 10 s more) and a few table writes of well under a second
/// each; a minute leaves room for a slow table. Judged from the claim's own time. Much shorter
/// than the function's timeout (180 s) because the local stand-in redelivers a failed message
/// within seconds, not after the 18-minute visibility timeout: a redelivery that watched and gave
/// up every 15 s until then would reach the queue's 10 receives and its dead-letter queue. A
/// sender alive past it with its outcome still unknown (a table answering slower than this for
/// a whole send) would have its question marked sent, and lost if the send was then refused:
/// the at-most-once loss described in docs/reliability.md.
pub(crate) const SENDER_GONE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// Between two looks at the claim and the survey while watching.
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// What became of a send claim another delivery holds ([`Dispatcher::claimed_elsewhere`]).
pub(crate) enum Elsewhere {
    /// Nothing more for this delivery to do.
    Settled(Dispatched),
    /// Given back: the survey as it is now, to claim again.
    Released(Box<Survey>),
}
