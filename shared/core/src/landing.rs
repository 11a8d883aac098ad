//! The pages a customer sees after clicking a link in the survey email (SPEC §4 "Landing page").
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
//! to confirm.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::model::Rating;

mod scanner;

pub use scanner::{ScannerRule, Suspicion};

/// The shop whose customer is looking at the page; its name is shown in the header and footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shop<'a> {
    pub name: &'a str,
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
    /// After the contact question was answered (yes: we'll call; no: understood, sorry).
    ContactAnswered { yes: bool },
    /// After the comment of a 1–2 rating was saved.
    CommentSaved,
    /// The survey already has an answer (e.g. another link was clicked before): polite note.
    AlreadyAnswered,
    /// GET of the unsubscribe link: explain, one button (form POST to same URL, field `confirm=1`).
    /// A button rather than the GET itself, for the same reason as ratings: scanners follow links.
    OptOutConfirm,
    /// The unsubscribe POST went through.
    OptOutDone,
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

    /// One short Russian sentence for the customer, also used in JSON error bodies.
    pub fn message(self) -> &'static str {
        match self {
            ErrorPage::Expired => "Срок действия этой ссылки уже истёк.",
            ErrorPage::Broken => {
                "Ссылка повреждена — возможно, она скопировалась из письма не целиком."
            }
            ErrorPage::NotFound => "Такой страницы у нас нет.",
            ErrorPage::TooLarge => "Текст получился слишком длинным — сократите его, пожалуйста.",
            ErrorPage::BadRequest => {
                "Не получилось разобрать запрос — откройте, пожалуйста, ссылку из письма ещё раз."
            }
            ErrorPage::ServerError => {
                "У нас что-то сломалось — попробуйте, пожалуйста, чуть позже."
            }
        }
    }

    /// The page headline above [`ErrorPage::message`].
    fn headline(self) -> &'static str {
        match self {
            ErrorPage::Expired => "Ссылка устарела",
            ErrorPage::Broken => "Ссылка не открылась",
            ErrorPage::NotFound => "Страница не найдена",
            ErrorPage::TooLarge => "Слишком длинный текст",
            ErrorPage::BadRequest | ErrorPage::ServerError => "Что-то пошло не так",
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
    let mut main = String::with_capacity(4096);
    let (title, state, rating) = match *page {
        Page::Rating {
            rating,
            token,
            nonce,
        } => {
            rating_head(&mut main, rating);
            main.push_str(
                "<p id=\"saving\" class=\"muted\" hidden>Сохраняем вашу оценку…</p>\
                 <p id=\"failed\" hidden>Не получилось сохранить оценку — попробуйте, пожалуйста, \
                 ещё раз.</p>",
            );
            // Shown by default so it works without script; the script hides it while it posts
            // and shows it again, as the retry button, if posting failed.
            let _ = write!(
                main,
                "<form id=\"record\" method=\"post\" action=\"\">\
                 <p class=\"muted\">Нажмите, пожалуйста, кнопку: так мы поймём, что оценку \
                 поставили вы, а не почтовая программа.</p>\
                 <input type=\"hidden\" name=\"nonce\" value=\"{}\">\
                 <button type=\"submit\">Подтвердить оценку</button></form>",
                escape(nonce)
            );
            confirm_section(&mut main, nonce, false);
            answered_note(&mut main, true);
            followups(&mut main, token, None);
            ("Спасибо за вашу оценку", "pending", Some(rating))
        }
        Page::Recorded { rating, token } => {
            rating_head(&mut main, rating);
            followups(&mut main, token, Some(next_for(rating)));
            ("Спасибо за вашу оценку", "recorded", Some(rating))
        }
        Page::Confirm {
            rating,
            token: _,
            nonce,
        } => {
            rating_head(&mut main, rating);
            confirm_section(&mut main, nonce, true);
            ("Подтвердите оценку", "confirm", Some(rating))
        }
        Page::ContactAnswered { yes: true } => {
            main.push_str(
                "<h1>Договорились</h1>\
                 <p>Мы перезвоним вам в ближайшее время и постараемся всё исправить.</p>\
                 <p class=\"muted\">Спасибо, что дали нам такую возможность.</p>",
            );
            ("Мы перезвоним", "done", None)
        }
        Page::ContactAnswered { yes: false } => {
            main.push_str(
                "<h1>Понятно, спасибо</h1>\
                 <p>Звонить не будем. Простите, что в этот раз не всё получилось так, как хотелось.</p>\
                 <p class=\"muted\">Спасибо, что нашли время ответить.</p>",
            );
            ("Спасибо за ответ", "done", None)
        }
        Page::CommentSaved => {
            main.push_str(
                "<h1>Спасибо, мы всё прочитаем</h1>\
                 <p>Ваш комментарий получил отдел качества. Нам жаль, что заказ вас расстроил.</p>",
            );
            ("Комментарий отправлен", "done", None)
        }
        Page::AlreadyAnswered => {
            main.push_str("<h1>Вы уже ответили</h1>");
            answered_note(&mut main, false);
            ("Вы уже ответили", "answered", None)
        }
        Page::OptOutConfirm => {
            main.push_str(
                "<h1>Отписаться от писем?</h1>\
                 <p>Иногда после покупки мы спрашиваем, как всё прошло. Если такие письма вам \
                 не нужны, нажмите кнопку — больше не будем их присылать.</p>\
                 <form method=\"post\" action=\"\">\
                 <input type=\"hidden\" name=\"confirm\" value=\"1\">\
                 <button type=\"submit\">Отписаться</button></form>",
            );
            ("Отписка от писем", "optout", None)
        }
        Page::OptOutDone => {
            main.push_str(
                "<h1>Готово, вы отписались</h1>\
                 <p>Больше не будем присылать вам вопросы о заказах.</p>",
            );
            ("Вы отписались", "done", None)
        }
        Page::Error(error) => {
            let _ = write!(
                main,
                "<h1>{}</h1><p>{}</p>",
                error.headline(),
                error.message()
            );
            (error.headline(), "error", None)
        }
    };
    document(shop, title, state, rating, &main)
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
    out.push_str(
        "<!doctype html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n",
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
         <footer>{shop_name} · Если что-то непонятно, просто ответьте на наше письмо.</footer>\n\
         <script>"
    );
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Headline, stars and "N из 5". The stars are decoration; the text says the same for screen readers.
fn rating_head(out: &mut String, rating: Rating) {
    let on = usize::from(rating.value());
    let _ = write!(
        out,
        "<h1>Спасибо за вашу оценку</h1>\
         <p class=\"stars\" aria-hidden=\"true\">{}<span class=\"off\">{}</span></p>\
         <p class=\"score\">{} из 5</p>",
        "★".repeat(on),
        "☆".repeat(5 - on),
        rating.value()
    );
}

/// Which follow-up a rating calls for; the same names as the JSON `next` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Thanks,
    Contact,
    Comment,
}

fn next_for(rating: Rating) -> Next {
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
fn followups(out: &mut String, token: &str, open: Option<Next>) {
    let token = escape(token);
    let _ = write!(
        out,
        "<section id=\"followup-thanks\"{}>\
         <p>Нам очень приятно это слышать. Спасибо, что нашли минуту ответить — это правда помогает.</p>\
         </section>",
        hidden_unless(open == Some(Next::Thanks))
    );
    let _ = write!(
        out,
        "<section id=\"followup-contact\"{}>\
         <p>Похоже, что-то было не так. Хотите, мы вам перезвоним и разберёмся?</p>\
         <form method=\"post\" action=\"{token}/contact\">\
         <input type=\"hidden\" name=\"answer\" value=\"yes\">\
         <button type=\"submit\">Да, перезвоните мне</button></form>\
         <form method=\"post\" action=\"{token}/contact\">\
         <input type=\"hidden\" name=\"answer\" value=\"no\">\
         <button type=\"submit\" class=\"alt\">Нет, не нужно</button></form>\
         </section>",
        hidden_unless(open == Some(Next::Contact))
    );
    let _ = write!(
        out,
        "<section id=\"followup-comment\"{}>\
         <p>Нам очень жаль. Мы уже передали вашу оценку в отдел качества — там разберутся, \
         что пошло не так.</p>\
         <form method=\"post\" action=\"{token}/comment\">\
         <label for=\"comment-text\">Если хотите, расскажите, что случилось:</label>\
         <textarea id=\"comment-text\" name=\"text\" maxlength=\"2000\" rows=\"5\"></textarea>\
         <button type=\"submit\">Отправить</button></form>\
         </section>",
        hidden_unless(open == Some(Next::Comment))
    );
}

/// The "please confirm it was you" form: POST to the same URL with the nonce and `confirm=1`.
fn confirm_section(out: &mut String, nonce: &str, open: bool) {
    let _ = write!(
        out,
        "<section id=\"confirm\"{}>\
         <p>Почтовые программы иногда сами открывают ссылки из писем, чтобы их проверить. \
         Чтобы не засчитать такой случайный переход, подтвердите, пожалуйста, что оценку \
         поставили вы.</p>\
         <form method=\"post\" action=\"\">\
         <input type=\"hidden\" name=\"nonce\" value=\"{}\">\
         <input type=\"hidden\" name=\"confirm\" value=\"1\">\
         <button type=\"submit\">Да, это моя оценка</button></form>\
         </section>",
        hidden_unless(open),
        escape(nonce)
    );
}

/// The survey already has an answer: nothing to do, nothing lost.
fn answered_note(out: &mut String, hidden: bool) {
    let _ = write!(
        out,
        "<section id=\"answered\"{}>\
         <p>Мы уже получили ваш ответ на этот опрос — например, по другой ссылке из письма. \
         Спасибо! Больше ничего делать не нужно.</p>\
         </section>",
        hidden_unless(!hidden)
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AQIDBAUGBwgJCgsMDQ4PEA.abc-_XYZ";
    const NONCE: &str = "bm9uY2U.c2lnbmF0dXJl";
    const SHOP: Shop<'static> = Shop {
        name: "Цветы у дома",
    };

    fn r(n: u8) -> Rating {
        Rating::new(n).unwrap()
    }

    /// Every page variant, for every rating where the page carries one, with its expected state.
    fn all_pages() -> Vec<(Page<'static>, &'static str)> {
        let mut pages = Vec::new();
        for rating in Rating::all() {
            pages.push((
                Page::Rating {
                    rating,
                    token: TOKEN,
                    nonce: NONCE,
                },
                "pending",
            ));
            pages.push((
                Page::Recorded {
                    rating,
                    token: TOKEN,
                },
                "recorded",
            ));
            pages.push((
                Page::Confirm {
                    rating,
                    token: TOKEN,
                    nonce: NONCE,
                },
                "confirm",
            ));
        }
        pages.push((Page::ContactAnswered { yes: true }, "done"));
        pages.push((Page::ContactAnswered { yes: false }, "done"));
        pages.push((Page::CommentSaved, "done"));
        pages.push((Page::AlreadyAnswered, "answered"));
        pages.push((Page::OptOutConfirm, "optout"));
        pages.push((Page::OptOutDone, "done"));
        for error in ErrorPage::ALL {
            pages.push((Page::Error(error), "error"));
        }
        pages
    }

    /// The text between `open` and the following `close`; panics when either is missing.
    fn between<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
        let start = html.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
        let len = html[start..]
            .find(close)
            .unwrap_or_else(|| panic!("no {close}"));
        &html[start..start + len]
    }

    /// The opening tag of the element with this id.
    fn tag_of<'a>(html: &'a str, id: &str) -> &'a str {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}"));
        let start = html[..at].rfind('<').unwrap();
        let end = at + html[at..].find('>').unwrap();
        &html[start..=end]
    }

    fn is_hidden(html: &str, id: &str) -> bool {
        tag_of(html, id).contains(" hidden")
    }

    /// The content of the element with this id (up to its `</section>` or `</p>`).
    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let tag = tag_of(html, id);
        let start = html.find(tag).unwrap();
        let close = if tag.starts_with("<section") {
            "</section>"
        } else {
            "</p>"
        };
        let end = start + html[start..].find(close).unwrap();
        &html[start..end]
    }

    #[test]
    fn every_page_is_a_small_self_contained_russian_document() {
        let pages = all_pages();
        assert_eq!(pages.len(), 15 + 6 + 6);
        for (page, state) in pages {
            let html = render(&page, &SHOP);
            assert!(html.len() < 20 * 1024, "{page:?}: {} bytes", html.len());
            assert!(html.starts_with("<!doctype html>"), "{page:?}");
            assert!(html.contains("<html lang=\"ru\">"), "{page:?}");
            assert!(
                html.contains(
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                ),
                "{page:?}"
            );
            assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
            assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
            assert!(html.contains("<meta charset=\"utf-8\">"));
            assert!(
                !html.contains("http://") && !html.contains("https://"),
                "{page:?}"
            );
            // No external assets: nothing loads from anywhere but a data: URL.
            assert!(!html.contains("src="), "{page:?}");
            assert!(!html.contains("//"), "{page:?}: a protocol-relative URL?");
            assert!(
                !html.contains("@import") && !html.contains("url("),
                "{page:?}"
            );
            // Inline style attributes would be blocked by the hash-only CSP.
            assert!(!html.contains(" style="), "{page:?}");
            assert!(
                html.contains(&format!("<body data-state=\"{state}\"")),
                "{page:?} should be {state}"
            );
            assert_eq!(html.matches("<style>").count(), 1, "{page:?}");
            assert_eq!(html.matches("<script>").count(), 1, "{page:?}");
            assert!(html.contains("Цветы у дома"), "{page:?}");
            assert!(html.trim_end().ends_with("</html>"), "{page:?}");
        }
    }

    #[test]
    fn every_rating_page_carries_its_rating_and_stars() {
        for rating in Rating::all() {
            let n = rating.value();
            for page in [
                Page::Rating {
                    rating,
                    token: TOKEN,
                    nonce: NONCE,
                },
                Page::Recorded {
                    rating,
                    token: TOKEN,
                },
                Page::Confirm {
                    rating,
                    token: TOKEN,
                    nonce: NONCE,
                },
            ] {
                let html = render(&page, &SHOP);
                assert!(html.contains(&format!("data-rating=\"{n}\"")), "{page:?}");
                assert!(html.contains(&format!("{n} из 5")), "{page:?}");
                let stars = between(&html, "<p class=\"stars\"", "</p>");
                assert_eq!(stars.matches('★').count(), usize::from(n), "{page:?}");
                assert_eq!(stars.matches('☆').count(), usize::from(5 - n), "{page:?}");
            }
        }
        let html = render(
            &Page::Rating {
                rating: r(4),
                token: TOKEN,
                nonce: NONCE,
            },
            &SHOP,
        );
        assert!(html.contains("Спасибо за вашу оценку"));
        assert!(html.contains("★★★★<span class=\"off\">☆</span>"));
    }

    #[test]
    fn token_nonce_and_shop_name_are_escaped() {
        let evil = "<script>alert(\"x\")</script>&'";
        let shop = Shop { name: evil };
        let mut pages = all_pages();
        for rating in Rating::all() {
            pages.push((
                Page::Rating {
                    rating,
                    token: evil,
                    nonce: evil,
                },
                "pending",
            ));
            pages.push((
                Page::Recorded {
                    rating,
                    token: evil,
                },
                "recorded",
            ));
            pages.push((
                Page::Confirm {
                    rating,
                    token: evil,
                    nonce: evil,
                },
                "confirm",
            ));
        }
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";
        for (page, _) in pages {
            let html = render(&page, &shop);
            assert!(!html.contains(evil), "{page:?}");
            assert!(!html.contains("alert(\""), "{page:?}");
            assert_eq!(html.matches("<script>").count(), 1, "{page:?}");
            assert!(html.contains(escaped), "{page:?}");
        }
        let html = render(
            &Page::Rating {
                rating: r(3),
                token: evil,
                nonce: evil,
            },
            &shop,
        );
        assert!(html.contains(&format!("action=\"{escaped}/contact\"")));
        assert!(html.contains(&format!("name=\"nonce\" value=\"{escaped}\"")));
        assert_eq!(escape("a&b"), "a&amp;b");
    }

    #[test]
    fn the_rating_page_holds_everything_the_script_may_reveal() {
        for rating in Rating::all() {
            let html = render(
                &Page::Rating {
                    rating,
                    token: TOKEN,
                    nonce: NONCE,
                },
                &SHOP,
            );
            assert!(html.contains(&format!(
                "<body data-state=\"pending\" data-rating=\"{}\"",
                rating.value()
            )));
            // The no-script form: visible, the nonce, «Подтвердить оценку», posting to the same URL.
            let record = tag_of(&html, "record");
            assert!(!record.contains("hidden"), "{record}");
            assert!(record.contains("method=\"post\"") && record.contains("action=\"\""));
            let form = between(&html, "<form id=\"record\"", "</form>");
            assert!(form.contains(&format!(
                "<input type=\"hidden\" name=\"nonce\" value=\"{NONCE}\">"
            )));
            assert!(form.contains("Подтвердить оценку"));
            for id in [
                "followup-thanks",
                "followup-contact",
                "followup-comment",
                "confirm",
                "answered",
                "failed",
                "saving",
            ] {
                assert!(is_hidden(&html, id), "#{id} should start hidden");
            }
            let confirm = section(&html, "confirm");
            assert!(confirm.contains(&format!("name=\"nonce\" value=\"{NONCE}\"")));
            assert!(confirm.contains("name=\"confirm\" value=\"1\""));
            assert!(confirm.contains("Да, это моя оценка"));
            assert!(section(&html, "failed").contains("Не получилось сохранить"));
            let contact = section(&html, "followup-contact");
            assert!(contact.contains(&format!("action=\"{TOKEN}/contact\"")));
            assert!(contact.contains("name=\"answer\" value=\"yes\""));
            assert!(contact.contains("name=\"answer\" value=\"no\""));
            assert!(contact.contains("перезвоним"));
            let comment = section(&html, "followup-comment");
            assert!(comment.contains(&format!(
                "<form method=\"post\" action=\"{TOKEN}/comment\">"
            )));
            assert!(comment.contains("<textarea") && comment.contains("name=\"text\""));
            assert!(comment.contains("maxlength=\"2000\""));
            assert!(comment.contains("отдел качества"));
            // Every id is unique, or getElementById would reveal the wrong one.
            for id in [
                "record",
                "confirm",
                "answered",
                "failed",
                "followup-contact",
            ] {
                assert_eq!(html.matches(&format!("id=\"{id}\"")).count(), 1, "#{id}");
            }
        }
    }

    #[test]
    fn the_recorded_page_opens_the_right_follow_up() {
        let open = |n: u8| {
            let html = render(
                &Page::Recorded {
                    rating: r(n),
                    token: TOKEN,
                },
                &SHOP,
            );
            let shown: Vec<&str> = ["followup-thanks", "followup-contact", "followup-comment"]
                .into_iter()
                .filter(|id| !is_hidden(&html, id))
                .collect();
            assert!(
                !html.contains("id=\"record\""),
                "recorded: no button to record again"
            );
            (html, shown)
        };
        let (html, shown) = open(3);
        assert_eq!(shown, ["followup-contact"]);
        assert!(html.contains(&format!("action=\"{TOKEN}/contact\"")));
        for n in [1, 2] {
            let (html, shown) = open(n);
            assert_eq!(shown, ["followup-comment"], "rating {n}");
            assert!(section(&html, "followup-comment").contains("<textarea"));
        }
        for n in [4, 5] {
            let (html, shown) = open(n);
            assert_eq!(shown, ["followup-thanks"], "rating {n}");
            assert!(section(&html, "followup-thanks").contains("Спасибо"));
        }
    }

    #[test]
    fn the_confirm_page_shows_the_confirm_form_open() {
        let html = render(
            &Page::Confirm {
                rating: r(2),
                token: TOKEN,
                nonce: NONCE,
            },
            &SHOP,
        );
        assert!(!is_hidden(&html, "confirm"));
        let form = between(&html, "<form method=\"post\" action=\"\">", "</form>");
        assert!(form.contains(&format!("name=\"nonce\" value=\"{NONCE}\"")));
        assert!(form.contains("name=\"confirm\" value=\"1\""));
        assert!(form.contains("Да, это моя оценка"));
    }

    #[test]
    fn the_other_pages_say_what_happened() {
        let text = |page: Page<'_>| render(&page, &SHOP);
        assert!(text(Page::ContactAnswered { yes: true }).contains("перезвоним"));
        assert!(text(Page::ContactAnswered { yes: false }).contains("Звонить не будем"));
        assert!(text(Page::CommentSaved).contains("комментарий"));
        assert!(text(Page::AlreadyAnswered).contains("уже получили ваш ответ"));
        let optout = text(Page::OptOutConfirm);
        let form = between(&optout, "<form method=\"post\" action=\"\">", "</form>");
        assert!(form.contains("name=\"confirm\" value=\"1\""));
        assert!(form.contains("<button"));
        assert!(text(Page::OptOutDone).contains("отписались"));
    }

    #[test]
    fn the_csp_allows_exactly_the_embedded_style_and_script() {
        let csp = content_security_policy();
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for d in [
            "default-src 'none'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "img-src data:",
        ] {
            assert!(directives.contains(&d), "missing {d} in {csp}");
        }
        let hash = |text: &str| {
            let digest = sha2::Sha256::digest(text.as_bytes());
            format!("'sha256-{}'", STANDARD.encode(digest))
        };
        let style_src = directives
            .iter()
            .find(|d| d.starts_with("style-src "))
            .unwrap();
        let script_src = directives
            .iter()
            .find(|d| d.starts_with("script-src "))
            .unwrap();
        let mut styles = std::collections::BTreeSet::new();
        let mut scripts = std::collections::BTreeSet::new();
        for (page, _) in all_pages() {
            let html = render(&page, &SHOP);
            styles.insert(hash(between(&html, "<style>", "</style>")));
            scripts.insert(hash(between(&html, "<script>", "</script>")));
        }
        // One style and one script for every page, so one pair of hashes covers them all.
        assert_eq!(styles.len(), 1);
        assert_eq!(scripts.len(), 1);
        let style = styles.into_iter().next().unwrap();
        let script = scripts.into_iter().next().unwrap();
        assert_eq!(*style_src, format!("style-src {style}"));
        assert_eq!(*script_src, format!("script-src {script}"));
        assert_ne!(style, script);
    }

    #[test]
    fn the_script_keeps_the_post_contract() {
        let html = render(
            &Page::Rating {
                rating: r(5),
                token: TOKEN,
                nonce: NONCE,
            },
            &SHOP,
        );
        let script = between(&html, "<script>", "</script>");
        // Page data stays out of the script: it is the same text on every page.
        assert!(!script.contains(NONCE) && !script.contains(TOKEN));
        for needle in [
            "fetch(location.href,",
            "method:'POST'",
            "'Accept':'application/json'",
            "'Content-Type':'application/x-www-form-urlencoded'",
            "body:'nonce='+encodeURIComponent(nonce)",
            "credentials:'same-origin'",
            "window.otklikPosted",
            "a.s===200&&j.recorded===true",
            "a.s===202",
            "j.reason==='confirm'",
            "a.s===409&&j.reason==='already_answered'",
            "state('recorded')",
            "state('confirm')",
            "state('answered')",
            "state('error')",
            "show('followup-'+next(j.next))",
        ] {
            assert!(script.contains(needle), "script lacks {needle}");
        }
        assert!(
            !script.contains("</"),
            "the script must not close its own element"
        );
        assert!(
            !STYLE.contains("</"),
            "the style must not close its own element"
        );
    }

    #[test]
    fn error_pages_map_to_status_code_and_a_russian_message() {
        let expected = [
            (ErrorPage::Expired, 410, "expired"),
            (ErrorPage::Broken, 400, "broken_link"),
            (ErrorPage::NotFound, 404, "not_found"),
            (ErrorPage::TooLarge, 413, "too_large"),
            (ErrorPage::BadRequest, 400, "bad_request"),
            (ErrorPage::ServerError, 500, "server_error"),
        ];
        assert_eq!(expected.len(), ErrorPage::ALL.len());
        for (error, status, code) in expected {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
            let message = error.message();
            assert!(
                message
                    .chars()
                    .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                "{error:?}: {message}"
            );
            assert!(message.ends_with('.'), "{error:?}: one sentence");
            assert_eq!(message.matches(". ").count(), 0, "{error:?}: one sentence");
            let html = render(&Page::Error(error), &SHOP);
            assert!(html.contains(message), "{error:?}");
            assert!(html.contains("<body data-state=\"error\">"), "{error:?}");
        }
        let messages: std::collections::BTreeSet<_> =
            ErrorPage::ALL.iter().map(|e| e.message()).collect();
        assert_eq!(messages.len(), ErrorPage::ALL.len());
    }
}
