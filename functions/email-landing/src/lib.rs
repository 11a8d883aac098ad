//! `email-landing`: what a customer's click on a survey email link does (`/r/{token}`), and the
//! page behind the survey SMS's short link (`/s/{id}`).
//!
//! - `GET /r/{token}` verifies the token and shows the page; it records nothing, because mail
//!   servers' link scanners open every link of a letter. The page's script POSTs the rating once
//!   the page has loaded in a real browser (a button does it without script).
//! - `POST /r/{token}` records the rating through the state machine — unless the view it comes
//!   from looks like a scanner (`otklik_core::landing::ScannerRule`: opened within seconds of
//!   sending, or within seconds of another rating of the same survey). Then the person is asked
//!   to confirm with a button.
//! - `POST /r/{token}/contact` answers "shall we call you?" after a 3; `POST /r/{token}/comment`
//!   adds words after a 1–2.
//! - The unsubscribe link: GET shows a button, POST (also RFC 8058 one-click from the mail
//!   client) opts the customer out on every channel.
//! - The inspector's link (`/r/{token}` of a resolve token, in the retailCRM task for an answer
//!   we could not read): GET shows five ratings, "wants a call" and "not a rating"; the POST
//!   (`choice=…`) runs the state machine as if the customer had said it, once.
//! - `GET /s/{id}` looks the short link up and shows five ratings to tap; it records nothing,
//!   because phones' link previews open the link before any human. `POST /s/{id}` (the tap,
//!   `rating=N`) records through the same code as the email's rating, via `sms`; `/s/{id}/contact`
//!   and `/s/{id}/comment` are the email's follow-ups for the short link's survey.
//!
//! Pages are HTML unless the client asks for JSON (`Accept: application/json`): the page's own
//! script does, and so can an integrator. Errors are friendly pages (or the API's JSON error).
//! The core renders every page and words every message, in the configured language.

mod pages;
mod record;

use pages::*;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use otklik_app::engine::Engine;
use otklik_aws::http::{body_bytes, json, wants_json};
use otklik_core::config::Config;
use otklik_core::landing::{
    content_security_policy, next_for, render, ErrorPage, Origin, Page, ScannerRule, Shop,
    Suspicion,
};
use otklik_core::links::{LinkAction, LinkError, LinkSigner, ShortLinkId};
use otklik_core::machine::{awaits_resolution, Input, Resolution, Survey};
use otklik_core::model::{Channel, Outcome, Rating, SurveyState};
use otklik_core::ports::{PortError, SurveyStore};
use otklik_core::reply::Reply;
use otklik_core::texts::Texts;
use serde_json::json;

/// Forms here carry a nonce, a flag or a comment: anything larger is not our form.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The comment box's limit (the page's textarea says the same).
pub const MAX_COMMENT_CHARS: usize = 2000;

pub struct Landing {
    pub engine: Engine,
    pub signer: LinkSigner,
    pub config: Arc<Config>,
}

impl Landing {
    /// The texts of `[texts]`, built per request rather than held in a field (microseconds). The
    /// loader has checked them; a config assembled in code with a bad text gets ours rather than
    /// no page at all.
    fn texts(&self) -> Texts {
        Texts::from_config(&self.config.texts).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the configured texts are refused; the pages use ours");
            Texts::defaults()
        })
    }

    /// Handles one request from API Gateway.
    pub async fn handle(&self, req: Request, now: DateTime<Utc>) -> Response<Body> {
        if let Some(refused) = otklik_aws::http::wrong_method(&req) {
            return refused;
        }
        let texts = self.texts();
        let shop = Shop {
            name: self.config.shop.name.trim(),
            contact: self.config.email.reply_to.trim(),
            texts: &texts,
            lang: texts.language(),
            origin: target(req.uri().path()).map_or(Origin::Email, |(o, _)| o),
        };
        let answer = match self.answer(&shop, &req, now).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "landing request failed");
                error(&shop, ErrorPage::ServerError)
            }
        };
        if wants_json(&req) {
            return json(answer.status, &answer.json);
        }
        Response::builder()
            .status(answer.status)
            .header("content-type", "text/html; charset=utf-8")
            .header("content-security-policy", content_security_policy())
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff")
            .header("referrer-policy", "no-referrer")
            .header("x-frame-options", "DENY")
            .body(Body::Text(answer.page))
            .expect("an HTML response is valid")
    }

    async fn answer(
        &self,
        shop: &Shop<'_>,
        req: &Request,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        let Some((origin, target)) = target(req.uri().path()) else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
        if origin == Origin::Sms {
            return self.short_link(shop, req, target, now).await;
        }
        let token = match target {
            Target::Link(t) | Target::Contact(t) | Target::Comment(t) => t,
        };
        let claim = match self.signer.verify(token, now) {
            Ok(c) => c,
            Err(LinkError::Expired) => return Ok(error(shop, ErrorPage::Expired)),
            Err(LinkError::Malformed | LinkError::BadSignature) => {
                return Ok(error(shop, ErrorPage::Broken))
            }
        };
        let Some(survey) = self.engine.store.get(&claim.survey).await? else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
        let (is_get, form) = match read_form(req) {
            Ok(f) => f,
            Err(e) => return Ok(error(shop, e)),
        };
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        match (target, claim.action, is_get) {
            // Answered already (another link of the email, the SMS, a reply in the chat): the page
            // tells the truth about what is recorded instead of showing the clicked rating.
            (Target::Link(_), LinkAction::Rate(rating), true) if survey.rating.is_some() => {
                self.flush_left_over(&survey).await?;
                Ok(match survey.rating {
                    Some(r) if r == rating => recorded(shop, token, r),
                    other => already_answered(shop, other),
                })
            }
            (Target::Link(_), LinkAction::Rate(rating), true) => {
                self.engine
                    .store
                    .record_view(&survey.id, rating.value(), now)
                    .await?;
                let nonce = self.signer.sign_view(token, now);
                Ok(page(
                    shop,
                    StatusCode::OK,
                    &Page::Rating {
                        rating,
                        token,
                        nonce: &nonce,
                    },
                    json!({ "rating": rating.value(), "nonce": nonce }),
                ))
            }
            (Target::Link(_), LinkAction::Rate(rating), false) => {
                let Some(nonce) = field("nonce") else {
                    return Ok(error(shop, ErrorPage::BadRequest));
                };
                let viewed_at = match self.signer.verify_view(token, nonce, now) {
                    Ok(at) => at,
                    // A page left open too long: opening the link again gives a fresh one.
                    Err(LinkError::Expired) => return Ok(error(shop, ErrorPage::Expired)),
                    Err(_) => return Ok(error(shop, ErrorPage::BadRequest)),
                };
                let confirmed = field("confirm") == Some("1");
                self.rate(
                    shop, &survey, token, nonce, rating, viewed_at, confirmed, now,
                )
                .await
            }
            (Target::Link(_), LinkAction::OptOut, true) => Ok(page(
                shop,
                StatusCode::OK,
                &Page::OptOutConfirm,
                json!({ "unsubscribed": false }),
            )),
            (Target::Link(_), LinkAction::OptOut, false) => {
                // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`; our button sends
                // `confirm=1`. Anything else is not a request to unsubscribe.
                let one_click = field("List-Unsubscribe") == Some("One-Click");
                if !(one_click || field("confirm") == Some("1")) {
                    return Ok(error(shop, ErrorPage::BadRequest));
                }
                self.choose(&survey, Reply::OptOut, Channel::Email, now)
                    .await?;
                tracing::info!(survey = %survey.id, one_click, "opted out from the email");
                Ok(page(
                    shop,
                    StatusCode::OK,
                    &Page::OptOutDone,
                    json!({ "unsubscribed": true }),
                ))
            }
            (Target::Contact(_), LinkAction::Rate(r), false) if r.value() == 3 => {
                self.contact(shop, &survey, field("answer"), Channel::Email, now)
                    .await
            }
            (Target::Comment(_), LinkAction::Rate(r), false) if r.is_negative() => {
                self.comment(shop, &survey, field("text"), Channel::Email, now)
                    .await
            }
            // The inspector's link from a retailCRM task: their page, their footer.
            (Target::Link(_), LinkAction::Resolve, is_get) => {
                let shop = Shop {
                    origin: Origin::Inspector,
                    ..*shop
                };
                let choice = if is_get { None } else { Some(field("choice")) };
                self.resolve(&shop, &survey, choice, now).await
            }
            _ => Ok(error(shop, ErrorPage::NotFound)),
        }
    }
}

impl Landing {
    /// `/s/{id}[/contact|/comment]`: the short link of the survey SMS. An id that is not ours or
    /// not stored is "not found", one past its expiry "expired".
    async fn short_link(
        &self,
        shop: &Shop<'_>,
        req: &Request,
        target: Target<'_>,
        now: DateTime<Utc>,
    ) -> Result<Answer, PortError> {
        let raw = match target {
            Target::Link(t) | Target::Contact(t) | Target::Comment(t) => t,
        };
        let Some(id) = ShortLinkId::parse(raw) else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
        let Some(link) = self.engine.store.short_link(&id).await? else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
        if now >= link.expires_at {
            return Ok(error(shop, ErrorPage::Expired));
        }
        let Some(survey) = self.engine.store.get(&link.survey).await? else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
        let (is_get, form) = match read_form(req) {
            Ok(f) => f,
            Err(e) => return Ok(error(shop, e)),
        };
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        match (target, is_get) {
            // Rated already: what we have, not five buttons that would only meet "answered".
            (Target::Link(_), true) if survey.rating.is_some() => {
                self.flush_left_over(&survey).await?;
                Ok(already_answered(shop, survey.rating))
            }
            // A link preview gets the page and nothing else happens.
            (Target::Link(_), true) => Ok(page(
                shop,
                StatusCode::OK,
                &Page::Ask,
                json!({ "ratings": [1, 2, 3, 4, 5] }),
            )),
            (Target::Link(_), false) => {
                let Some(rating) = field("rating")
                    .and_then(|r| r.parse::<u8>().ok())
                    .and_then(|r| Rating::new(r).ok())
                else {
                    return Ok(error(shop, ErrorPage::BadRequest));
                };
                // No scanner rule here: the rating is chosen on the page, never carried by the
                // link, so nothing that only opens links can pick one.
                self.rate_once(shop, &survey, id.as_str(), rating, Channel::Sms, now)
                    .await
            }
            (Target::Contact(_), false) if survey.rating.is_some_and(|r| r.value() == 3) => {
                self.contact(shop, &survey, field("answer"), Channel::Sms, now)
                    .await
            }
            (Target::Comment(_), false) if survey.rating.is_none_or(|r| r.is_negative()) => {
                self.comment(shop, &survey, field("text"), Channel::Sms, now)
                    .await
            }
            _ => Ok(error(shop, ErrorPage::NotFound)),
        }
    }
}

impl Landing {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env("email-landing").await?).await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(Landing {
            engine: p.engine().await?,
            signer: LinkSigner::new(secrets.link_secret()?.expose().as_bytes()),
            config: Arc::new(config),
        })
    }
}
