//! `email-landing`: what a customer's click on a survey email link does (`/r/{token}`).
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
//!
//! Pages are HTML unless the client asks for JSON (`Accept: application/json`): the page's own
//! script does, and so can an integrator. Errors are friendly pages (or the API's JSON error).
//! The core renders every page and words every message, in the configured language.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use otklik_app::engine::Engine;
use otklik_aws::http::{body_bytes, json, wants_json};
use otklik_core::config::Config;
use otklik_core::landing::{
    content_security_policy, next_for, render, ErrorPage, Page, ScannerRule, Shop, Suspicion,
};
use otklik_core::links::{LinkAction, LinkError, LinkSigner};
use otklik_core::machine::{Input, Survey};
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

/// What the request asks for, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Link(&'a str),
    Contact(&'a str),
    Comment(&'a str),
}

/// `…/r/{token}[/contact|/comment]`; a stage prefix before `/r/` is allowed.
fn target(path: &str) -> Option<Target<'_>> {
    let rest = &path[path.rfind("/r/")? + 3..];
    let mut parts = rest.trim_end_matches('/').split('/');
    let token = parts.next().filter(|t| !t.is_empty())?;
    let t = match parts.next() {
        None => Target::Link(token),
        Some("contact") => Target::Contact(token),
        Some("comment") => Target::Comment(token),
        Some(_) => return None,
    };
    parts.next().is_none().then_some(t)
}

/// An answer in the form the client wants.
struct Answer {
    status: StatusCode,
    page: String,
    json: serde_json::Value,
}

fn page(shop: &Shop<'_>, status: StatusCode, page: &Page<'_>, json: serde_json::Value) -> Answer {
    Answer {
        status,
        page: render(page, shop),
        json,
    }
}

fn error(shop: &Shop<'_>, e: ErrorPage) -> Answer {
    page(
        shop,
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        &Page::Error(e),
        json!({ "error": e.code(), "message": e.message(shop) }),
    )
}

fn already_answered(shop: &Shop<'_>) -> Answer {
    page(
        shop,
        StatusCode::CONFLICT,
        &Page::AlreadyAnswered,
        json!({ "recorded": false, "reason": "already_answered" }),
    )
}

fn recorded(shop: &Shop<'_>, token: &str, rating: Rating) -> Answer {
    page(
        shop,
        StatusCode::OK,
        &Page::Recorded { rating, token },
        json!({ "recorded": true, "rating": rating.value(), "next": next_for(rating).code() }),
    )
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
        let texts = self.texts();
        let shop = Shop {
            name: self.config.email.shop_display_name(),
            texts: &texts,
            lang: texts.language(),
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
        let Some(target) = target(req.uri().path()) else {
            return Ok(error(shop, ErrorPage::NotFound));
        };
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
        let method = req.method();
        let is_get = method == Method::GET || method == Method::HEAD;
        if !is_get && method != Method::POST {
            return Ok(error(shop, ErrorPage::BadRequest));
        }
        let form = if is_get {
            Vec::new()
        } else {
            let raw = body_bytes(req);
            if raw.len() > MAX_FORM_BYTES {
                return Ok(error(shop, ErrorPage::TooLarge));
            }
            match std::str::from_utf8(raw)
                .ok()
                .and_then(|t| serde_urlencoded::from_str::<Vec<(String, String)>>(t).ok())
            {
                Some(f) => f,
                None => return Ok(error(shop, ErrorPage::BadRequest)),
            }
        };
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        match (target, claim.action, is_get) {
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
                let Ok(viewed_at) = self.signer.verify_view(token, nonce) else {
                    return Ok(error(shop, ErrorPage::BadRequest));
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
                self.choose(&survey, Reply::OptOut, now).await?;
                tracing::info!(survey = %survey.id, one_click, "opted out from the email");
                Ok(page(
                    shop,
                    StatusCode::OK,
                    &Page::OptOutDone,
                    json!({ "unsubscribed": true }),
                ))
            }
            (Target::Contact(_), LinkAction::Rate(r), false) if r.value() == 3 => {
                let yes = match field("answer") {
                    Some("yes") => true,
                    Some("no") => false,
                    _ => return Ok(error(shop, ErrorPage::BadRequest)),
                };
                let reply = if yes { Reply::Yes } else { Reply::No };
                let after = self.choose(&survey, reply, now).await?;
                let wanted = if yes {
                    Outcome::ComplaintOpened
                } else {
                    Outcome::DeclinedContact
                };
                if after.state == (SurveyState::Closed { outcome: wanted }) {
                    Ok(page(
                        shop,
                        StatusCode::OK,
                        &Page::ContactAnswered { yes },
                        json!({ "recorded": true, "answer": if yes { "yes" } else { "no" } }),
                    ))
                } else {
                    Ok(already_answered(shop))
                }
            }
            (Target::Comment(_), LinkAction::Rate(r), false) if r.is_negative() => {
                let text = field("text").unwrap_or_default().trim();
                if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
                    return Ok(error(shop, ErrorPage::BadRequest));
                }
                if survey.rating.is_none() {
                    return Ok(error(shop, ErrorPage::BadRequest));
                }
                self.apply(&survey, Input::page_comment(text, Channel::Email), now)
                    .await?;
                Ok(page(
                    shop,
                    StatusCode::OK,
                    &Page::CommentSaved,
                    json!({ "recorded": true }),
                ))
            }
            _ => Ok(error(shop, ErrorPage::NotFound)),
        }
    }

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
    async fn rate(
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

    async fn choose(
        &self,
        survey: &Survey,
        reply: Reply,
        now: DateTime<Utc>,
    ) -> Result<Survey, PortError> {
        self.apply(survey, Input::page_answer(reply, Channel::Email), now)
            .await
    }

    async fn apply(
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

impl Landing {
    /// Built as on Lambda: the config from `OTKLIK_CONFIG`, secrets and the stack's names from the
    /// environment.
    pub async fn from_env() -> Result<Self, otklik_app::env::BoxError> {
        Self::from_parts(&otklik_app::env::Parts::from_env(otklik_app::env::Reads::Secrets).await?)
            .await
    }

    /// Built from parts already at hand (the local runner): the same handler as on Lambda.
    pub async fn from_parts(p: &otklik_app::env::Parts) -> Result<Self, otklik_app::env::BoxError> {
        let (config, secrets) = (p.config.as_ref().clone(), p.secrets()?);
        Ok(Landing {
            engine: p.engine().await?,
            signer: LinkSigner::new(secrets.link_secret.expose().as_bytes()),
            config: Arc::new(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_token_and_the_follow_up() {
        assert_eq!(target("/r/abc.def"), Some(Target::Link("abc.def")));
        assert_eq!(target("/prod/r/abc.def/"), Some(Target::Link("abc.def")));
        assert_eq!(target("/r/t/contact"), Some(Target::Contact("t")));
        assert_eq!(target("/r/t/comment"), Some(Target::Comment("t")));
        assert_eq!(target("/r/t/other"), None);
        assert_eq!(target("/r/t/contact/x"), None);
        assert_eq!(target("/r/"), None);
        assert_eq!(target("/x/t"), None);
    }
}
