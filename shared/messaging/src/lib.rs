//! Senders: the question and our answers go out through WhatsApp (Meta Cloud API or Green-API,
//! chosen by config), MAX (GREEN-API v3, `max`), SMS (`sms`) or, as a plain email, through SES v2.
//!
//! Every send returns the provider's message id, which the survey records so that later delivery
//! statuses (a 131026 failure, a Green-API `noAccount`) find their survey.

pub mod inbound;
pub mod max;
pub mod sms;

use std::time::Duration;

use otklik_core::config::{Config, GreenApiConfig, MetaConfig, Secrets, WhatsappProvider};
use otklik_core::model::{Phone, Rating};
use otklik_core::whatsapp_template::{button_payload, TemplateSpec};
use serde_json::{json, Value};

/// Why a send failed, and whether the message may have gone out anyway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider certainly did not take the message (refused connection, 4xx, 429/503):
    /// trying again cannot make the customer get it twice.
    #[error("not sent: {0}")]
    NotSent(String),
    /// We cannot tell (timeout, 5xx after the request reached the provider). Retrying could make
    /// the customer get the question twice, so callers do not retry.
    #[error("send outcome unknown: {0}")]
    Unknown(String),
}

impl SendError {
    fn from_reqwest(e: reqwest::Error) -> SendError {
        // GREEN-API puts the instance token in the path: a URL never goes into an error message.
        let e = e.without_url();
        if e.is_connect() || e.is_builder() || e.is_request() && !e.is_timeout() {
            SendError::NotSent(e.to_string())
        } else {
            SendError::Unknown(e.to_string())
        }
    }

    fn from_status(status: u16, body: &str) -> SendError {
        let snippet: String = body.chars().take(300).collect();
        if status == 429 || status == 503 || (400..500).contains(&status) {
            SendError::NotSent(format!("HTTP {status}: {snippet}"))
        } else {
            SendError::Unknown(format!("HTTP {status}: {snippet}"))
        }
    }
}

/// What an SES error says about the mail. A refusal (a 4xx service error: rejected, throttled,
/// not verified) or SES "unavailable" (503) took nothing, so the mail may be sent again; a 500
/// may come after SES took it, and a transport failure or timeout says nothing, so neither may.
/// (Every service error once counted as a refusal, and a 500 after the send sent it twice.)
fn ses_error(service_error: bool, status: Option<u16>, msg: String) -> SendError {
    match status {
        Some(s) if service_error && (s < 500 || s == 503) => SendError::NotSent(msg),
        _ => SendError::Unknown(msg),
    }
}

/// Sends a request and reads its JSON answer: a transport failure or a non-2xx status becomes
/// the `SendError` that says whether the provider may have acted; a 2xx that is not JSON is
/// `Unknown` (the provider answered, so it may have acted).
async fn call_json(request: reqwest::RequestBuilder) -> Result<Value, SendError> {
    let resp = request.send().await.map_err(SendError::from_reqwest)?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(SendError::from_reqwest)?;
    if !(200..300).contains(&status) {
        return Err(SendError::from_status(status, &text));
    }
    serde_json::from_str(&text).map_err(|e| SendError::Unknown(format!("unreadable answer: {e}")))
}

/// `{apiUrl}{prefix}/waInstance{id}/{method}/{token}`: every GREEN-API method, WhatsApp (no
/// prefix) and MAX (`/v3`), is addressed this way.
fn green_api_url(
    api_url: &str,
    prefix: &str,
    instance_id: &str,
    method: &str,
    token: &str,
) -> String {
    format!(
        "{}{prefix}/waInstance{instance_id}/{method}/{token}",
        api_url.trim_end_matches('/')
    )
}

fn http() -> reqwest::Client {
    otklik_tls::reqwest_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

/// WhatsApp Cloud API (Meta).
#[derive(Clone)]
pub struct MetaClient {
    http: reqwest::Client,
    config: MetaConfig,
    token: String,
}

impl std::fmt::Debug for MetaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaClient")
            .field("phone_number_id", &self.config.phone_number_id)
            .finish_non_exhaustive()
    }
}

impl MetaClient {
    pub fn new(config: MetaConfig, token: impl Into<String>) -> Self {
        MetaClient {
            http: http(),
            config,
            token: token.into(),
        }
    }

    fn url(&self) -> String {
        format!(
            "{}/{}/{}/messages",
            self.config.api_url.trim_end_matches('/'),
            self.config.api_version,
            self.config.phone_number_id
        )
    }

    async fn post(&self, body: Value) -> Result<String, SendError> {
        let v = call_json(
            self.http
                .post(self.url())
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await?;
        v["messages"][0]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Unknown(format!("no message id in {v}")))
    }

    /// The approved template: the only thing Meta lets a business send outside the customer's
    /// 24-hour window. With quick-reply buttons, the button at each place carries `rating_<n>` as
    /// its payload, `n` being the rating the config says that place means
    /// (`template_button_ratings`): the payload, not the place, is what the webhook gives back.
    pub async fn send_template(&self, phone: &Phone) -> Result<String, SendError> {
        let mut template = json!({
            "name": self.config.template_name,
            "language": {"code": self.config.template_language},
        });
        if self.config.template_has_buttons {
            let buttons: Vec<Value> = self
                .config
                .template_button_ratings
                .iter()
                .enumerate()
                .filter_map(|(i, &n)| Some((i, Rating::new(n).ok()?)))
                .map(|(i, rating)| {
                    json!({
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": i.to_string(),
                        "parameters": [{"type": "payload", "payload": button_payload(rating)}],
                    })
                })
                .collect();
            template["components"] = Value::Array(buttons);
        }
        self.post(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone.digits(),
            "type": "template",
            "template": template,
        }))
        .await
    }

    /// Creates the question template under the WhatsApp Business Account `waba_id`: `POST
    /// /{version}/{WABA-ID}/message_templates` with the name, category, language and the body and
    /// buttons components, answered `{"id","status","category"}` (Meta's "Template fundamentals"
    /// page, developers.facebook.com/documentation/business-messaging/whatsapp/templates/overview;
    /// quick-reply buttons as `{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text"}]}`).
    /// The template then waits for Meta's review: `status` is usually `PENDING`.
    pub async fn create_template(
        &self,
        waba_id: &str,
        spec: &TemplateSpec,
    ) -> Result<CreatedTemplate, TemplateError> {
        let url = format!(
            "{}/{}/{}/message_templates",
            self.config.api_url.trim_end_matches('/'),
            self.config.api_version,
            waba_id
        );
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .json(&template_request(spec))
            .send()
            .await
            .map_err(|e| {
                TemplateError::Unreachable(format!(
                    "{} (whatsapp.meta.api_url): {}",
                    self.config.api_url,
                    e.without_url()
                ))
            })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| TemplateError::Unreachable(e.without_url().to_string()))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(TemplateError::Refused(graph_error_words(status, &body)));
        }
        let field = |k: &str| body[k].as_str().map(str::to_string);
        match (field("id"), field("status")) {
            (Some(id), Some(status)) => Ok(CreatedTemplate { id, status }),
            _ => Err(TemplateError::Refused(format!(
                "HTTP {status}, but the answer names no template id and status"
            ))),
        }
    }

    /// Free text: allowed inside the 24-hour window the customer's own message opened.
    pub async fn send_text(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        self.post(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone.digits(),
            "type": "text",
            "text": {"body": text, "preview_url": false},
        }))
        .await
    }
}

/// A template Meta took for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTemplate {
    pub id: String,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
}

/// Why a template was not created, in words for the person who ran the command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("Meta could not be reached: {0}")]
    Unreachable(String),
    #[error("Meta refused the template: {0}")]
    Refused(String),
}

/// The body of `POST /{WABA-ID}/message_templates` for `spec`.
pub fn template_request(spec: &TemplateSpec) -> Value {
    let mut components = vec![json!({"type": "BODY", "text": spec.body})];
    if !spec.buttons.is_empty() {
        let buttons: Vec<Value> = spec
            .buttons
            .iter()
            .map(|b| json!({"type": "QUICK_REPLY", "text": b.text}))
            .collect();
        components.push(json!({"type": "BUTTONS", "buttons": buttons}));
    }
    json!({
        "name": spec.name,
        "category": spec.category,
        "language": spec.language,
        "components": components,
    })
}

/// A Graph API error object (`{"error":{"message","type","code","error_subcode",
/// "error_user_title","error_user_msg","fbtrace_id"}}`) in one line: the words Meta wrote for
/// people when it gave them, else its message, and the code to look up.
fn graph_error_words(status: u16, body: &Value) -> String {
    let e = &body["error"];
    let s = |k: &str| e[k].as_str().filter(|v| !v.trim().is_empty());
    let words = match (s("error_user_title"), s("error_user_msg")) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => s("message").unwrap_or("no explanation given").to_string(),
    };
    let code = match (e["code"].as_u64(), e["error_subcode"].as_u64()) {
        (Some(c), Some(sub)) => format!(" (HTTP {status}, code {c}, subcode {sub})"),
        (Some(c), None) => format!(" (HTTP {status}, code {c})"),
        _ => format!(" (HTTP {status})"),
    };
    format!("{words}{code}")
}

/// Green-API: an ordinary WhatsApp account behind an HTTP gateway.
#[derive(Clone)]
pub struct GreenApiClient {
    http: reqwest::Client,
    config: GreenApiConfig,
    token: String,
}

impl std::fmt::Debug for GreenApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreenApiClient")
            .field("instance", &self.config.instance_id)
            .finish_non_exhaustive()
    }
}

impl GreenApiClient {
    pub fn new(config: GreenApiConfig, token: impl Into<String>) -> Self {
        GreenApiClient {
            http: http(),
            config,
            token: token.into(),
        }
    }

    fn url(&self, method: &str) -> String {
        green_api_url(
            &self.config.api_url,
            "",
            &self.config.instance_id,
            method,
            &self.token,
        )
    }

    async fn post(&self, method: &str, body: Value) -> Result<Value, SendError> {
        call_json(self.http.post(self.url(method)).json(&body)).await
    }

    /// Whether the number has WhatsApp at all (Green-API can tell; Meta cannot).
    pub async fn has_whatsapp(&self, phone: &Phone) -> Result<bool, SendError> {
        let number: u64 = phone
            .digits()
            .parse()
            .map_err(|_| SendError::NotSent("phone is not numeric".into()))?;
        let v = self
            .post("checkWhatsapp", json!({"phoneNumber": number}))
            .await
            // A failed check sent nothing to anyone: always safe to retry.
            .map_err(|e| SendError::NotSent(e.to_string()))?;
        v["existsWhatsapp"]
            .as_bool()
            .ok_or_else(|| SendError::NotSent(format!("no existsWhatsapp in {v}")))
    }

    pub async fn send_text(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        let v = self
            .post(
                "sendMessage",
                json!({"chatId": format!("{}@c.us", phone.digits()), "message": text}),
            )
            .await?;
        v["idMessage"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Unknown(format!("no idMessage in {v}")))
    }
}

/// The configured WhatsApp provider.
#[derive(Debug, Clone)]
pub enum Whatsapp {
    Meta(MetaClient),
    GreenApi(GreenApiClient),
    None,
}

impl Whatsapp {
    pub fn from_config(config: &Config, secrets: &Secrets) -> Whatsapp {
        match config.whatsapp.provider {
            WhatsappProvider::Meta => match (&config.whatsapp.meta, &secrets.meta_access_token) {
                (Some(m), Some(t)) => Whatsapp::Meta(MetaClient::new(m.clone(), t.expose())),
                _ => Whatsapp::None,
            },
            WhatsappProvider::GreenApi => {
                match (&config.whatsapp.green_api, &secrets.green_api_token) {
                    (Some(g), Some(t)) => {
                        Whatsapp::GreenApi(GreenApiClient::new(g.clone(), t.expose()))
                    }
                    _ => Whatsapp::None,
                }
            }
            WhatsappProvider::None => Whatsapp::None,
        }
    }

    /// `Some(false)`: the provider knows the number has no WhatsApp. `None`: it cannot tell
    /// (Meta), so we try and rely on the failure status.
    pub async fn has_whatsapp(&self, phone: &Phone) -> Result<Option<bool>, SendError> {
        match self {
            Whatsapp::Meta(_) => Ok(None),
            Whatsapp::GreenApi(g) => g.has_whatsapp(phone).await.map(Some),
            Whatsapp::None => Ok(Some(false)),
        }
    }

    /// The survey question: Meta's approved template, or Green-API's free text.
    pub async fn send_question(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        match self {
            Whatsapp::Meta(m) => m.send_template(phone).await,
            Whatsapp::GreenApi(g) => g.send_text(phone, text).await,
            Whatsapp::None => Err(SendError::NotSent("no WhatsApp provider configured".into())),
        }
    }

    /// A reply inside the conversation the customer just continued.
    pub async fn send_text(&self, phone: &Phone, text: &str) -> Result<String, SendError> {
        match self {
            Whatsapp::Meta(m) => m.send_text(phone, text).await,
            Whatsapp::GreenApi(g) => g.send_text(phone, text).await,
            Whatsapp::None => Err(SendError::NotSent("no WhatsApp provider configured".into())),
        }
    }

    pub fn is_configured(&self) -> bool {
        !matches!(self, Whatsapp::None)
    }
}

/// Email through SES v2, as a complete raw MIME message (so the From name, Reply-To and the
/// List-Unsubscribe headers are exactly ours).
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    /// Without the SDK's own retries: a retried `SendEmail` after SES took the mail (a 500, a
    /// timeout) would send it again. What may be retried (`SendError::NotSent`) is retried by
    /// our callers, under the send claim.
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .build();
        SesMailer {
            client: aws_sdk_sesv2::Client::from_conf(config),
        }
    }

    pub async fn send_raw(&self, from: &str, to: &str, mime: &str) -> Result<String, SendError> {
        use aws_sdk_sesv2::primitives::Blob;
        use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
        let raw = RawMessage::builder()
            .data(Blob::new(mime.as_bytes()))
            .build()
            .map_err(|e| SendError::NotSent(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| {
                let msg = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
                let status = e.raw_response().map(|r| r.status().as_u16());
                ses_error(e.as_service_error().is_some(), status, msg)
            })?;
        out.message_id()
            .map(str::to_string)
            .ok_or_else(|| SendError::Unknown("SES answered without a message id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ses_error_may_be_retried_only_when_ses_took_nothing() {
        let kind = |service, status| match ses_error(service, status, "x".into()) {
            SendError::NotSent(_) => "not sent",
            SendError::Unknown(_) => "unknown",
        };
        // Refused (MessageRejected 400, throttled 429) or unavailable: nothing went out.
        assert_eq!(kind(true, Some(400)), "not sent");
        assert_eq!(kind(true, Some(429)), "not sent");
        assert_eq!(kind(true, Some(503)), "not sent");
        // A 500 may come after the mail went out: sending again could send it twice.
        assert_eq!(kind(true, Some(500)), "unknown");
        // No answer at all (timeout, connection lost mid-call).
        assert_eq!(kind(false, None), "unknown");
    }
}
