//! The pages a customer sees after clicking a link in the survey email, or the short link of the
//! survey SMS (SPEC §4 "Landing page", "SMS").
//!
//! Rendering is a pure function of the page and the shop, so the HTTP adapter only picks a [`Page`]
//! and sends [`render`]'s output with [`content_security_policy`] as its CSP header. Every page
//! shares one constant stylesheet and one constant script: their sha256 hashes are then fixed, the
//! CSP needs no `'unsafe-inline'` and no per-request nonce, and nothing a request carries (token,
//! nonce, shop name) can ever end up inside executable text — page data travels in HTML attributes.
//!
//! A bare GET never records a rating, because mail scanners open every link of an email. The
//! rating page asks the server to record it with a POST once it has loaded (script), or through a
//! button (no script); the server may still suspect a scanner ([`ScannerRule`]) and ask the person
//! to confirm. Every word on the pages comes from [`Texts`], in the shop's language.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::machine::Resolution;
use crate::model::Rating;
use crate::texts::{fill, LandingText, Lang, Texts};

mod scanner;
#[cfg(test)]
mod tests;

pub use scanner::{ScannerRule, Suspicion};

/// The shop whose customer is looking at the page: its name, shown in the header and footer, and
/// its words in its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shop<'a> {
    pub name: &'a str,
    /// Where a person answers (`email.reply_to`): named when a customer may need a human (a
    /// misclick, an expired link).
    pub contact: &'a str,
    pub texts: &'a Texts,
    pub lang: Lang,
    /// Where the customer came from: the pages' footer and advice say "the email" or "the SMS".
    pub origin: Origin,
}

/// The message whose link opened the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A rating or unsubscribe link of the survey email (`/r/{token}`).
    #[default]
    Email,
    /// The short link of the survey SMS (`/s/{id}`).
    Sms,
    /// The inspector's link in a retailCRM task (`/r/{token}` of a resolve token).
    Inspector,
}

impl Shop<'_> {
    /// A text of the page, escaped for HTML: a shop's own wording may hold any character.
    fn text(&self, key: LandingText) -> String {
        escape(self.texts.landing(key, self.lang))
    }
}

/// One landing page. The HTTP adapter picks it; [`render`] turns it into a full document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page<'a> {
    /// GET of a rating link. Headline «Спасибо за вашу оценку», the rating shown (e.g. ★★★★☆ and "4 из 5").
    /// A GET records nothing: the inline script POSTs the rating once the page has loaded.
    Rating {
        rating: Rating,
        token: &'a str,
        nonce: &'a str,
    },
    /// Answer to a no-script form POST that recorded the rating: same look, follow-up shown open.
    Recorded { rating: Rating, token: &'a str },
    /// The POST was not recorded because it looked like an automatic link scanner: ask the person to
    /// confirm with a button (form POST to the same URL with fields nonce=<nonce>&confirm=1).
    Confirm {
        rating: Rating,
        token: &'a str,
        nonce: &'a str,
    },
    /// After the contact question was answered (yes: we'll call — or write, when we have no
    /// phone for them; no: understood, sorry).
    ContactAnswered { yes: bool, phone: bool },
    /// After the comment of a 1–2 rating was saved.
    CommentSaved,
    /// The survey already has an answer (e.g. another link was clicked before): the rating we
    /// recorded (when there is one), never the one just clicked, and how to reach a person.
    AlreadyAnswered { recorded: Option<Rating> },
    /// GET of the unsubscribe link: explain, one button (form POST to same URL, field `confirm=1`).
    /// A button rather than the GET itself, for the same reason as ratings: scanners follow links.
    OptOutConfirm,
    /// The unsubscribe POST went through.
    OptOutDone,
    /// GET of the SMS's short link: five large ratings to tap, one form that POSTs `rating=N` to
    /// the same URL. No script needed, and none runs: a link preview records nothing.
    Ask,
    /// GET of the inspector's link: five ratings, "wants a call", "not a rating", each a button
    /// of one form that POSTs `choice=…` to the same URL. The GET records nothing.
    Resolve,
    /// The inspector's choice was recorded.
    Resolved(Resolution),
    /// Nothing left to decide: the customer answered, or the inspector chose before.
    ResolvedBefore,
    /// Something went wrong; the HTTP status is [`ErrorPage::status`].
    Error(ErrorPage),
}

/// What went wrong, as the customer is told. The same codes and messages serve the JSON answers
/// to the page's script, so a customer reads the same sentence whichever way the page asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    /// The token's expiry has passed.
    Expired,
    /// The token does not parse or its signature does not match (often a link cut in two by a
    /// mail client's line wrapping).
    Broken,
    /// No such survey or route.
    NotFound,
    /// The request body is over the limit (a comment far longer than the form allows).
    TooLarge,
    /// A form or request the server could not make sense of.
    BadRequest,
    /// Our fault; the customer can only try again later.
    ServerError,
}

impl ErrorPage {
    pub const ALL: [ErrorPage; 6] = [
        ErrorPage::Expired,
        ErrorPage::Broken,
        ErrorPage::NotFound,
        ErrorPage::TooLarge,
        ErrorPage::BadRequest,
        ErrorPage::ServerError,
    ];

    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            ErrorPage::Expired => 410,
            ErrorPage::Broken => 400,
            ErrorPage::NotFound => 404,
            ErrorPage::TooLarge => 413,
            ErrorPage::BadRequest => 400,
            ErrorPage::ServerError => 500,
        }
    }

    /// A stable machine-readable code, for JSON error bodies and logs.
    pub fn code(self) -> &'static str {
        match self {
            ErrorPage::Expired => "expired",
            ErrorPage::Broken => "broken_link",
            ErrorPage::NotFound => "not_found",
            ErrorPage::TooLarge => "too_large",
            ErrorPage::BadRequest => "bad_request",
            ErrorPage::ServerError => "server_error",
        }
    }

    /// One short sentence for the customer in the shop's language, also used in JSON error
    /// bodies.
    pub fn message<'a>(self, shop: &Shop<'a>) -> &'a str {
        shop.texts.landing(self.text_from(shop.origin), shop.lang)
    }

    /// [`ErrorPage::text`], with the advice that names the message the link came from.
    fn text_from(self, origin: Origin) -> LandingText {
        match (self, origin) {
            (ErrorPage::BadRequest, Origin::Sms) => LandingText::ErrorBadRequestSms,
            _ => self.text(),
        }
    }

    /// The text of [`ErrorPage::message`].
    fn text(self) -> LandingText {
        match self {
            ErrorPage::Expired => LandingText::ErrorExpired,
            ErrorPage::Broken => LandingText::ErrorBrokenLink,
            ErrorPage::NotFound => LandingText::ErrorNotFound,
            ErrorPage::TooLarge => LandingText::ErrorTooLarge,
            ErrorPage::BadRequest => LandingText::ErrorBadRequest,
            ErrorPage::ServerError => LandingText::ErrorServerError,
        }
    }

    /// The page headline above the message.
    fn headline(self) -> LandingText {
        match self {
            ErrorPage::Expired => LandingText::ErrorExpiredTitle,
            ErrorPage::Broken => LandingText::ErrorBrokenLinkTitle,
            ErrorPage::NotFound => LandingText::ErrorNotFoundTitle,
            ErrorPage::TooLarge => LandingText::ErrorTooLargeTitle,
            ErrorPage::BadRequest => LandingText::ErrorBadRequestTitle,
            ErrorPage::ServerError => LandingText::ErrorServerErrorTitle,
        }
    }
}

/// The one stylesheet of every page. Mobile first: one column, system fonts (nothing to download),
/// 18 px text, buttons at least 52 px tall and full width; dark mode follows the phone's setting.
/// `[hidden]` wins over every `display` rule, since the script reveals sections by that attribute.
const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#f3f0eb;--card:#fff;--ink:#1c1917;--muted:#57534e;--line:#d6d3d1;\
--accent:#1d4ed8;--on-accent:#fff;--star:#b45309;--off:#a8a29e}\
@media (prefers-color-scheme:dark){:root{--bg:#171412;--card:#292524;--ink:#f5f5f4;--muted:#d6d3d1;\
--line:#57534e;--accent:#93c5fd;--on-accent:#0b1a33;--star:#fbbf24;--off:#78716c}}\
*{box-sizing:border-box}\
[hidden]{display:none!important}\
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\
body{margin:0;min-height:100vh;padding:16px;background:var(--bg);color:var(--ink);\
font:18px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;\
display:flex;flex-direction:column;align-items:center}\
main{width:100%;max-width:30rem;background:var(--card);border-radius:16px;padding:24px 20px;\
box-shadow:0 1px 3px rgba(0,0,0,.15)}\
.shop{margin:0 0 16px;font-size:15px;font-weight:600;color:var(--muted);overflow-wrap:anywhere}\
h1{margin:0 0 12px;font-size:26px;line-height:1.25}\
p{margin:0 0 16px}\
.stars{margin:4px 0 4px;font-size:40px;line-height:1.1;letter-spacing:4px;color:var(--star)}\
.stars .off{color:var(--off)}\
.score{font-weight:600;color:var(--muted)}\
.muted{color:var(--muted)}\
section{margin-top:20px;padding-top:20px;border-top:1px solid var(--line)}\
section p:last-child{margin-bottom:0}\
form{margin:0 0 12px}\
form:last-child{margin-bottom:0}\
label{display:block;margin:0 0 8px;font-weight:600}\
textarea{display:block;width:100%;min-height:9em;margin:0 0 12px;padding:12px;border:2px solid var(--line);\
border-radius:12px;background:var(--card);color:var(--ink);font:inherit;resize:vertical}\
button{display:block;width:100%;min-height:52px;padding:12px 16px;border:2px solid var(--accent);\
border-radius:12px;background:var(--accent);color:var(--on-accent);font:inherit;font-weight:600;cursor:pointer}\
button.alt{background:transparent;color:var(--accent)}\
button:focus-visible,textarea:focus-visible{outline:3px solid var(--ink);outline-offset:2px}\
form[data-sent] button{opacity:.6;cursor:progress}\
.scale{display:grid;grid-template-columns:repeat(5,1fr);gap:8px}\
.scale button{min-height:64px;padding:0;font-size:28px}\
.choices{display:grid;gap:12px;margin-top:12px}\
footer{width:100%;max-width:30rem;margin:16px 0 0;padding:0 4px;font-size:14px;color:var(--muted);\
text-align:center;overflow-wrap:anywhere}";

/// The one script of every page. It reads everything page-specific from the DOM (`data-state`,
/// `data-rating`, the nonce field), so its text — and its CSP hash — never change.
///
/// On the rating page (`data-state="pending"`) it POSTs the nonce to the page's own URL once and
/// reveals the section the JSON answer calls for; without `fetch` it leaves the button form in
/// place, exactly as without script. On every page it lets each form be sent only once, because a
/// second tap on a slow phone network would post twice.
const SCRIPT: &str = "\
(function(){\
var b=document.body;\
function el(id){return document.getElementById(id);}\
function show(id){var e=el(id);if(e)e.hidden=false;}\
function hide(id){var e=el(id);if(e)e.hidden=true;}\
var fs=document.forms;\
for(var i=0;i<fs.length;i++){fs[i].addEventListener('submit',function(ev){\
if(this.hasAttribute('data-sent')){ev.preventDefault();return;}\
this.setAttribute('data-sent','1');});}\
window.addEventListener('pageshow',function(ev){if(!ev.persisted)return;\
for(var j=0;j<fs.length;j++)fs[j].removeAttribute('data-sent');});\
if(b.getAttribute('data-state')!=='pending'||!window.fetch||window.otklikPosted)return;\
window.otklikPosted=true;\
var form=el('record');\
var nonce=form&&form.elements.nonce?form.elements.nonce.value:'';\
hide('record');show('saving');\
function state(s){b.setAttribute('data-state',s);hide('saving');}\
function fail(){state('error');show('failed');show('record');}\
function next(n){if(n==='thanks'||n==='contact'||n==='comment')return n;\
var r=+b.getAttribute('data-rating');return r>=4?'thanks':r===3?'contact':'comment';}\
function send(){\
fetch(location.href,{method:'POST',headers:{'Accept':'application/json',\
'Content-Type':'application/x-www-form-urlencoded'},body:'nonce='+encodeURIComponent(nonce),\
credentials:'same-origin'})\
.then(function(r){return r.json().then(function(j){return{s:r.status,j:j||{}};});})\
.then(function(a){var j=a.j;\
if(a.s===200&&j.recorded===true){state('recorded');show('followup-'+next(j.next));}\
else if(a.s===202&&j.recorded===false&&j.reason==='confirm'){state('confirm');show('confirm');}\
else if(a.s===409&&j.reason==='already_answered'){state('answered');show('answered');}\
else fail();})\
['catch'](fail);}\
if(document.readyState==='complete')send();else window.addEventListener('load',send);\
})();";

/// The full HTML document for `page`.
pub fn render(page: &Page<'_>, shop: &Shop<'_>) -> String {
    use LandingText::*;
    let t = |key| shop.text(key);
    let mut main = String::with_capacity(4096);
    let (title, state, rating) = match *page {
        Page::Rating {
            rating,
            token,
            nonce,
        } => {
            // Nothing is recorded yet: "your rating", not "thank you for it".
            rating_head(&mut main, shop, rating, RatingYoursTitle);
            let _ = write!(
                main,
                "<p id=\"saving\" class=\"muted\" hidden>{}</p><p id=\"failed\" hidden>{}</p>",
                t(RatingSaving),
                t(RatingFailed)
            );
            // Shown by default so it works without script; the script hides it while it posts
            // and shows it again, as the retry button, if posting failed.
            let _ = write!(
                main,
                "<form id=\"record\" method=\"post\" action=\"\">\
                 <p class=\"muted\">{}</p>\
                 <input type=\"hidden\" name=\"nonce\" value=\"{}\">\
                 <button type=\"submit\">{}</button></form>",
                t(RatingHint),
                escape(nonce),
                t(RatingButton)
            );
            confirm_section(&mut main, shop, nonce, false);
            answered_note(&mut main, shop, true);
            followups(&mut main, shop, token, None);
            (RatingYoursTitle, "pending", Some(rating))
        }
        Page::Recorded { rating, token } => {
            rating_head(&mut main, shop, rating, RatingTitle);
            followups(&mut main, shop, token, Some(next_for(rating)));
            (RatingTitle, "recorded", Some(rating))
        }
        Page::Confirm {
            rating,
            token: _,
            nonce,
        } => {
            rating_head(&mut main, shop, rating, ConfirmTitle);
            confirm_section(&mut main, shop, nonce, true);
            (ConfirmTitle, "confirm", Some(rating))
        }
        Page::ContactAnswered { yes: true, phone } => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p><p class=\"muted\">{}</p>",
                t(CallBackHeading),
                t(if phone {
                    CallBackText
                } else {
                    CallBackTextEmail
                }),
                t(CallBackNote)
            );
            (CallBackTitle, "done", None)
        }
        Page::ContactAnswered { yes: false, .. } => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p><p class=\"muted\">{}</p>",
                t(NoCallHeading),
                t(NoCallText),
                t(NoCallNote)
            );
            (NoCallTitle, "done", None)
        }
        Page::CommentSaved => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>",
                t(CommentSavedHeading),
                t(CommentSavedText)
            );
            (CommentSavedTitle, "done", None)
        }
        Page::AlreadyAnswered { recorded } => {
            let _ = write!(main, "<h1>{}</h1>", t(AnsweredTitle));
            if let Some(rating) = recorded {
                let on = usize::from(rating.value());
                let said = fill(
                    shop.texts.landing(AnsweredRating, shop.lang),
                    &[("rating", &rating.value().to_string())],
                );
                let _ = write!(
                    main,
                    "<p class=\"stars\" aria-hidden=\"true\">{}<span class=\"off\">{}</span></p>\
                     <p class=\"score\" id=\"recorded-rating\">{}</p>",
                    "★".repeat(on),
                    "☆".repeat(5 - on),
                    escape(&said)
                );
            }
            answered_note(&mut main, shop, false);
            (AnsweredTitle, "answered", recorded)
        }
        Page::OptOutConfirm => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>\
                 <form method=\"post\" action=\"\">\
                 <input type=\"hidden\" name=\"confirm\" value=\"1\">\
                 <button type=\"submit\">{}</button></form>",
                t(OptOutHeading),
                t(OptOutText),
                t(OptOutButton)
            );
            (OptOutTitle, "optout", None)
        }
        Page::OptOutDone => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>",
                t(OptedOutHeading),
                t(OptedOutText)
            );
            (OptedOutTitle, "done", None)
        }
        Page::Ask => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p><form id=\"ask\" method=\"post\" action=\"\"><div class=\"scale\">",
                t(AskTitle),
                t(AskText)
            );
            for rating in Rating::all() {
                let score = fill(
                    shop.texts.landing(RatingScore, shop.lang),
                    &[("rating", &rating.value().to_string())],
                );
                let _ = write!(
                    main,
                    "<button type=\"submit\" name=\"rating\" value=\"{n}\" aria-label=\"{}\">{n}</button>",
                    escape(&score),
                    n = rating.value()
                );
            }
            main.push_str("</div></form>");
            (AskTitle, "ask", None)
        }
        Page::Resolve => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p><form id=\"resolve\" method=\"post\" action=\"\"><div class=\"scale\">",
                t(ResolveTitle),
                t(ResolveText)
            );
            for rating in Rating::all() {
                let score = fill(
                    shop.texts.landing(RatingScore, shop.lang),
                    &[("rating", &rating.value().to_string())],
                );
                let _ = write!(
                    main,
                    "<button type=\"submit\" name=\"choice\" value=\"{n}\" aria-label=\"{}\">{n}</button>",
                    escape(&score),
                    n = rating.value()
                );
            }
            let _ = write!(
                main,
                "</div><div class=\"choices\">\
                 <button type=\"submit\" name=\"choice\" value=\"call\">{}</button>\
                 <button type=\"submit\" name=\"choice\" value=\"none\" class=\"alt\">{}</button>\
                 </div></form>",
                t(ResolveCallButton),
                t(ResolveNoneButton)
            );
            (ResolveTitle, "resolve", None)
        }
        Page::Resolved(resolution) => {
            let line = match resolution {
                Resolution::Rating { value } => escape(&fill(
                    shop.texts.landing(ResolvedRating, shop.lang),
                    &[("rating", &value.value().to_string())],
                )),
                Resolution::WantsCall => t(ResolvedCall),
                Resolution::NotARating => t(ResolvedNone),
            };
            let _ = write!(main, "<h1>{}</h1><p>{line}</p>", t(ResolvedTitle));
            (ResolvedTitle, "resolved", None)
        }
        Page::ResolvedBefore => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>",
                t(ResolvedBeforeTitle),
                t(ResolvedBeforeText)
            );
            (ResolvedBeforeTitle, "answered", None)
        }
        Page::Error(error) => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>",
                t(error.headline()),
                t(error.text_from(shop.origin))
            );
            // An expired link leaves the customer something to do: reach a person.
            if error == ErrorPage::Expired {
                contact_line(&mut main, shop);
            }
            (error.headline(), "error", None)
        }
    };
    document(shop, &t(title), state, rating, &main)
}

/// The `Content-Security-Policy` header value for these pages: default-src 'none'; style and script
/// allowed only by the sha256 hashes of the exact inline `<style>` and `<script>` used (computed
/// from the same constants the pages embed, base64 standard encoding, format `'sha256-…'`);
/// connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; img-src data:
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; connect-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'; img-src data:",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

/// `sha256-<base64>` of `text`, as CSP Level 2 hash sources expect it.
fn csp_hash(text: &str) -> String {
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// Wraps the page's `<main>` content into the document every page shares.
fn document(
    shop: &Shop<'_>,
    title: &str,
    state: &str,
    rating: Option<Rating>,
    main: &str,
) -> String {
    let shop_name = escape(shop.name);
    let mut out = String::with_capacity(main.len() + STYLE.len() + SCRIPT.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n",
        shop.lang.code()
    );
    // An empty data: icon keeps the browser from asking the server for /favicon.ico.
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    let _ = write!(out, "<title>{title} — {shop_name}</title>\n<style>");
    out.push_str(STYLE);
    let _ = write!(out, "</style>\n</head>\n<body data-state=\"{state}\"");
    if let Some(rating) = rating {
        let _ = write!(out, " data-rating=\"{}\"", rating.value());
    }
    let _ = write!(
        out,
        ">\n<main>\n<p class=\"shop\">{shop_name}</p>\n{main}\n</main>\n\
         <footer>{shop_name} · {}</footer>\n\
         <script>",
        shop.text(match shop.origin {
            Origin::Email => LandingText::Footer,
            Origin::Sms => LandingText::SmsFooter,
            Origin::Inspector => LandingText::InspectorFooter,
        })
    );
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Headline (`title`), stars and "N из 5". The stars are decoration; the text says the same for
/// screen readers.
fn rating_head(out: &mut String, shop: &Shop<'_>, rating: Rating, title: LandingText) {
    let on = usize::from(rating.value());
    let score = fill(
        shop.texts.landing(LandingText::RatingScore, shop.lang),
        &[("rating", &rating.value().to_string())],
    );
    let _ = write!(
        out,
        "<h1>{}</h1>\
         <p class=\"stars\" aria-hidden=\"true\">{}<span class=\"off\">{}</span></p>\
         <p class=\"score\">{}</p>",
        shop.text(title),
        "★".repeat(on),
        "☆".repeat(5 - on),
        escape(&score)
    );
}

/// Which follow-up a rating calls for; [`Next::code`] is the JSON `next` field the page's script
/// reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Thanks,
    Contact,
    Comment,
}

impl Next {
    pub fn code(self) -> &'static str {
        match self {
            Next::Thanks => "thanks",
            Next::Contact => "contact",
            Next::Comment => "comment",
        }
    }
}

pub fn next_for(rating: Rating) -> Next {
    if rating.is_positive() {
        Next::Thanks
    } else if rating.is_negative() {
        Next::Comment
    } else {
        Next::Contact
    }
}

/// `hidden` unless this section is the one to show open.
fn hidden_unless(open: bool) -> &'static str {
    if open {
        ""
    } else {
        " hidden"
    }
}

/// The three follow-ups, all present so the script can reveal whichever the server answers
/// (it may know better than the rating, e.g. a shop without callbacks); `open` is shown at once.
fn followups(out: &mut String, shop: &Shop<'_>, token: &str, open: Option<Next>) {
    use LandingText::*;
    let t = |key| shop.text(key);
    let token = escape(token);
    let _ = write!(
        out,
        "<section id=\"followup-thanks\"{}><p>{}</p></section>",
        hidden_unless(open == Some(Next::Thanks)),
        t(ThanksText)
    );
    let _ = write!(
        out,
        "<section id=\"followup-contact\"{}>\
         <p>{}</p>\
         <form method=\"post\" action=\"{token}/contact\">\
         <input type=\"hidden\" name=\"answer\" value=\"yes\">\
         <button type=\"submit\">{}</button></form>\
         <form method=\"post\" action=\"{token}/contact\">\
         <input type=\"hidden\" name=\"answer\" value=\"no\">\
         <button type=\"submit\" class=\"alt\">{}</button></form>\
         </section>",
        hidden_unless(open == Some(Next::Contact)),
        t(ContactQuestion),
        t(ContactYesButton),
        t(ContactNoButton)
    );
    let _ = write!(
        out,
        "<section id=\"followup-comment\"{}>\
         <p>{}</p>\
         <form method=\"post\" action=\"{token}/comment\">\
         <label for=\"comment-text\">{}</label>\
         <textarea id=\"comment-text\" name=\"text\" maxlength=\"2000\" rows=\"5\"></textarea>\
         <button type=\"submit\">{}</button></form>\
         </section>",
        hidden_unless(open == Some(Next::Comment)),
        t(CommentIntro),
        t(CommentLabel),
        t(CommentButton)
    );
}

/// The "please confirm it was you" form: POST to the same URL with the nonce and `confirm=1`.
fn confirm_section(out: &mut String, shop: &Shop<'_>, nonce: &str, open: bool) {
    let _ = write!(
        out,
        "<section id=\"confirm\"{}>\
         <p>{}</p>\
         <form method=\"post\" action=\"\">\
         <input type=\"hidden\" name=\"nonce\" value=\"{}\">\
         <input type=\"hidden\" name=\"confirm\" value=\"1\">\
         <button type=\"submit\">{}</button></form>\
         </section>",
        hidden_unless(open),
        shop.text(LandingText::ConfirmText),
        escape(nonce),
        shop.text(LandingText::ConfirmButton)
    );
}

/// The survey already has an answer: nothing to do, nothing lost, and a person to write to if
/// the answer was a slip.
fn answered_note(out: &mut String, shop: &Shop<'_>, hidden: bool) {
    let _ = write!(
        out,
        "<section id=\"answered\"{}><p>{}</p>",
        hidden_unless(!hidden),
        shop.text(LandingText::AnsweredText)
    );
    contact_line(out, shop);
    out.push_str("</section>");
}

/// "Write to us at …": the one way to a person the pages give.
fn contact_line(out: &mut String, shop: &Shop<'_>) {
    let line = fill(
        shop.texts.landing(LandingText::ContactLine, shop.lang),
        &[("contact", shop.contact)],
    );
    let _ = write!(out, "<p class=\"muted\">{}</p>", escape(&line));
}

/// Escapes text for HTML content and double- or single-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
