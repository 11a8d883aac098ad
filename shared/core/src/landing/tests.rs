//! The pages' shape, words, escaping and CSP, in every language, and the script's contract.

use super::*;
use std::sync::LazyLock;

const TOKEN: &str = "AQIDBAUGBwgJCgsMDQ4PEA.abc-_XYZ";
const NONCE: &str = "bm9uY2U.c2lnbmF0dXJl";
static OURS: LazyLock<Texts> = LazyLock::new(Texts::defaults);
static SHOP: LazyLock<Shop<'static>> = LazyLock::new(|| Shop {
    name: "Цветы у дома",
    contact: "quality@example.ru",
    texts: &OURS,
    lang: Lang::Ru,
    origin: Origin::Email,
});

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
    pages.push((
        Page::ContactAnswered {
            yes: true,
            phone: true,
        },
        "done",
    ));
    pages.push((
        Page::ContactAnswered {
            yes: true,
            phone: false,
        },
        "done",
    ));
    pages.push((
        Page::ContactAnswered {
            yes: false,
            phone: true,
        },
        "done",
    ));
    pages.push((Page::CommentSaved, "done"));
    pages.push((Page::AlreadyAnswered { recorded: None }, "answered"));
    pages.push((
        Page::AlreadyAnswered {
            recorded: Some(r(4)),
        },
        "answered",
    ));
    pages.push((Page::OptOutConfirm, "optout"));
    pages.push((Page::OptOutDone, "done"));
    pages.push((Page::Ask, "ask"));
    pages.push((Page::Resolve, "resolve"));
    for value in ["1", "2", "3", "4", "5", "call", "none"] {
        pages.push((
            Page::Resolved(Resolution::from_form(value).unwrap()),
            "resolved",
        ));
    }
    pages.push((Page::ResolvedBefore, "answered"));
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
    assert_eq!(pages.len(), 15 + 9 + 6 + 9);
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
    assert!(html.contains("<h1>Ваша оценка</h1>"));
    assert!(html.contains("★★★★<span class=\"off\">☆</span>"));
}

#[test]
fn token_nonce_and_shop_name_are_escaped() {
    let evil = "<script>alert(\"x\")</script>&'";
    let shop = Shop {
        name: evil,
        ..*SHOP
    };
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
        assert!(contact.contains("свяжемся"));
        let comment = section(&html, "followup-comment");
        assert!(comment.contains(&format!(
            "<form method=\"post\" action=\"{TOKEN}/comment\">"
        )));
        assert!(comment.contains("<textarea") && comment.contains("name=\"text\""));
        assert!(comment.contains("maxlength=\"2000\""));
        assert!(comment.contains("службу качества"));
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
    assert!(text(Page::ContactAnswered {
        yes: true,
        phone: true
    })
    .contains("перезвоним"));
    assert!(text(Page::ContactAnswered {
        yes: false,
        phone: true
    })
    .contains("Звонить не будем"));
    assert!(text(Page::CommentSaved).contains("комментарий"));
    assert!(text(Page::AlreadyAnswered { recorded: None }).contains("уже получили ваш ответ"));
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
        let message = error.message(&SHOP);
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
        ErrorPage::ALL.iter().map(|e| e.message(&SHOP)).collect();
    assert_eq!(messages.len(), ErrorPage::ALL.len());
}

/// The shop in `lang`, with an ASCII name so the page's own words can be checked alone.
fn shop_in(texts: &Texts, lang: Lang) -> Shop<'_> {
    Shop {
        name: "Flowers",
        contact: "quality@example.ru",
        texts,
        lang,
        origin: Origin::Email,
    }
}

/// The page's own words: between `<body` and the script, so the stylesheet's braces and the
/// script's code stay out of the checks.
fn body(html: &str) -> &str {
    between(html, "<body", "<script>")
}

/// The Russian pages say what they said before their words moved into `texts::landing`.
#[test]
fn russian_pages_keep_their_wording() {
    let main = |page: Page<'_>| {
        let html = render(&page, &SHOP);
        let title = between(&html, "<title>", "</title>").to_string();
        let main = between(
            &html,
            "<main>\n<p class=\"shop\">Цветы у дома</p>\n",
            "\n</main>",
        );
        (title, main.to_string())
    };
    let (title, rating) = main(Page::Rating {
        rating: r(3),
        token: TOKEN,
        nonce: NONCE,
    });
    assert_eq!(title, "Ваша оценка — Цветы у дома");
    assert_eq!(
        rating,
        format!(
            "<h1>Ваша оценка</h1><p class=\"stars\" aria-hidden=\"true\">★★★<span \
             class=\"off\">☆☆</span></p><p class=\"score\">3 из 5</p><p id=\"saving\" \
             class=\"muted\" hidden>Сохраняем вашу оценку…</p><p id=\"failed\" hidden>Не \
             получилось сохранить оценку — попробуйте, пожалуйста, ещё раз.</p><form \
             id=\"record\" method=\"post\" action=\"\"><p class=\"muted\">Нажмите, пожалуйста, \
             кнопку: так мы поймём, что оценку поставили вы, а не почтовая программа.</p><input \
             type=\"hidden\" name=\"nonce\" value=\"{NONCE}\"><button type=\"submit\">Подтвердить \
             оценку</button></form><section id=\"confirm\" hidden><p>Почтовые программы иногда \
             сами открывают ссылки из писем, чтобы их проверить. Такой случайный переход мы не \
             хотим засчитывать, поэтому подтвердите, пожалуйста, что оценку поставили вы.</p><form \
             method=\"post\" action=\"\"><input type=\"hidden\" name=\"nonce\" \
             value=\"{NONCE}\"><input type=\"hidden\" name=\"confirm\" value=\"1\"><button \
             type=\"submit\">Да, это моя оценка</button></form></section><section \
             id=\"answered\" hidden><p>Мы уже получили ваш ответ на этот опрос — например, по \
             другой ссылке из письма. Спасибо! Больше ничего делать не нужно.</p><p \
             class=\"muted\">Если ошиблись с оценкой или хотите что-то добавить, напишите нам \
             на quality@example.ru — ответит человек.</p></section>\
             <section id=\"followup-thanks\" hidden><p>Нам очень приятно это слышать. Спасибо, \
             что нашли минуту ответить — это правда помогает.</p></section><section \
             id=\"followup-contact\" hidden><p>Похоже, что-то было не так. Хотите, мы с вами \
             свяжемся и во всём разберёмся?</p><form method=\"post\" action=\"{TOKEN}/contact\"><input \
             type=\"hidden\" name=\"answer\" value=\"yes\"><button type=\"submit\">Да, \
             свяжитесь со мной</button></form><form method=\"post\" \
             action=\"{TOKEN}/contact\"><input type=\"hidden\" name=\"answer\" \
             value=\"no\"><button type=\"submit\" class=\"alt\">Нет, не нужно</button></form>\
             </section><section id=\"followup-comment\" hidden><p>Нам очень жаль. Мы уже \
             передали вашу оценку в службу качества — там разберутся, что пошло не так.</p><form \
             method=\"post\" action=\"{TOKEN}/comment\"><label for=\"comment-text\">Если \
             хотите, расскажите, что случилось:</label><textarea id=\"comment-text\" \
             name=\"text\" maxlength=\"2000\" rows=\"5\"></textarea><button \
             type=\"submit\">Отправить</button></form></section>"
        )
    );
    let confirm = main(Page::Confirm {
        rating: r(1),
        token: TOKEN,
        nonce: NONCE,
    });
    assert_eq!(confirm.0, "Подтвердите оценку — Цветы у дома");
    let expected = [
        (
            Page::ContactAnswered {
                yes: true,
                phone: true,
            },
            "Мы свяжемся с вами",
            "<h1>Договорились</h1><p>Мы перезвоним вам в ближайшее время и постараемся всё \
             исправить.</p><p class=\"muted\">Спасибо, что дали нам такую возможность.</p>",
        ),
        (
            Page::ContactAnswered {
                yes: false,
                phone: true,
            },
            "Спасибо за ответ",
            "<h1>Понятно, спасибо</h1><p>Звонить не будем. Простите, что в этот раз не всё \
             получилось так, как хотелось.</p><p class=\"muted\">Спасибо, что нашли время \
             ответить.</p>",
        ),
        (
            Page::CommentSaved,
            "Комментарий отправлен",
            "<h1>Спасибо, мы всё прочитаем</h1><p>Ваш комментарий получила служба качества. Нам \
             жаль, что заказ вас расстроил.</p>",
        ),
        (
            Page::OptOutConfirm,
            "Отписка от писем",
            "<h1>Отписаться от писем?</h1><p>Иногда после покупки мы спрашиваем, как всё \
             прошло. Если такие письма вам не нужны, нажмите кнопку — больше не будем их \
             присылать.</p><form method=\"post\" action=\"\"><input type=\"hidden\" \
             name=\"confirm\" value=\"1\"><button type=\"submit\">Отписаться</button></form>",
        ),
        (
            Page::OptOutDone,
            "Вы отписались",
            "<h1>Готово, вы отписались</h1><p>Больше не будем присылать вам вопросы о \
             заказах.</p>",
        ),
        (
            Page::Error(ErrorPage::Expired),
            "Ссылка устарела",
            "<h1>Ссылка устарела</h1><p>Срок действия этой ссылки истёк, но если хотите \
             рассказать, как прошёл заказ, напишите нам — мы прочитаем.</p><p class=\"muted\">Если \
             ошиблись с оценкой или хотите что-то добавить, напишите нам на quality@example.ru — \
             ответит человек.</p>",
        ),
        (
            Page::Error(ErrorPage::ServerError),
            "Что-то пошло не так",
            "<h1>Что-то пошло не так</h1><p>У нас что-то сломалось — попробуйте, пожалуйста, \
             чуть позже.</p>",
        ),
    ];
    for (page, title, body) in expected {
        assert_eq!(
            main(page),
            (format!("{title} — Цветы у дома"), body.to_string())
        );
    }
    let html = render(&Page::OptOutDone, &SHOP);
    assert!(html.contains(
        "<footer>Цветы у дома · Если что-то непонятно, просто ответьте на наше письмо.</footer>"
    ));
}

#[test]
fn every_language_renders_every_page_in_its_own_words() {
    let texts = Texts::defaults();
    for lang in Lang::ALL {
        let shop = shop_in(&texts, lang);
        let mut pages = all_pages();
        pages.push((
            Page::Recorded {
                rating: r(1),
                token: TOKEN,
            },
            "recorded",
        ));
        let mut all_html = String::new();
        for (page, state) in pages {
            let html = render(&page, &shop);
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.code())),
                "{lang:?} {page:?}"
            );
            assert!(html.contains(&format!("<body data-state=\"{state}\"")));
            let body = body(&html);
            assert!(
                !body.contains('{') && !body.contains('}'),
                "{lang:?} {page:?} left a blank"
            );
            if lang == Lang::En {
                assert!(
                    !body.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                    "{page:?} in English has Cyrillic"
                );
            }
            if lang == Lang::Uk {
                assert!(
                    !body.chars().any(|c| "ыэъёЫЭЪЁ".contains(c)),
                    "{page:?} in Ukrainian looks Russian"
                );
            }
            all_html.push_str(&html);
            // The same page reached from the SMS: its footer and advice name the SMS.
            all_html.push_str(&render(
                &page,
                &Shop {
                    origin: Origin::Sms,
                    ..shop
                },
            ));
            all_html.push_str(&render(
                &page,
                &Shop {
                    origin: Origin::Inspector,
                    ..shop
                },
            ));
        }
        // Every text is on some page: none was forgotten when the words moved to the core.
        for key in <LandingText as crate::texts::Wording>::ALL {
            let text = texts.landing(*key, lang);
            let shown = if matches!(
                key,
                LandingText::RatingScore
                    | LandingText::ResolvedRating
                    | LandingText::AnsweredRating
            ) {
                fill(text, &[("rating", "4")])
            } else if *key == LandingText::ContactLine {
                escape(&fill(text, &[("contact", shop.contact)]))
            } else {
                escape(text)
            };
            assert!(all_html.contains(&shown), "{lang:?} {key:?} is on no page");
        }
        for error in ErrorPage::ALL {
            let message = error.message(&shop);
            assert!(!message.is_empty() && !message.contains('{'), "{lang:?}");
            assert_eq!(message, texts.landing(error.text(), lang));
        }
    }
    let en = render(
        &Page::Recorded {
            rating: r(4),
            token: TOKEN,
        },
        &shop_in(&texts, Lang::En),
    );
    assert!(en.contains("<p class=\"score\">4 out of 5</p>"), "{en}");
}

#[test]
fn the_shops_landing_words_are_used_and_escaped() {
    let cfg: crate::texts::TextsConfig = toml::from_str(
        r#"
        language = "en"
        [landing.en]
        rating_button = "Yes, <b>that</b> was me"
        rating_score = "{rating}/5"
        error_expired = "Old link, sorry."
        "#,
    )
    .unwrap();
    let texts = Texts::from_config(&cfg).unwrap();
    let shop = shop_in(&texts, texts.language());
    let html = render(
        &Page::Rating {
            rating: r(5),
            token: TOKEN,
            nonce: NONCE,
        },
        &shop,
    );
    assert!(html.contains("<button type=\"submit\">Yes, &lt;b&gt;that&lt;/b&gt; was me</button>"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("<p class=\"score\">5/5</p>"));
    assert!(html.contains("<h1>Your rating</h1>"), "the rest stays ours");
    assert_eq!(ErrorPage::Expired.message(&shop), "Old link, sorry.");
    assert!(render(&Page::Error(ErrorPage::Expired), &shop).contains("<p>Old link, sorry.</p>"));
}

#[test]
fn follow_up_codes_are_the_scripts_names() {
    let code = |n| next_for(r(n)).code();
    assert_eq!(
        [code(1), code(2), code(3), code(4), code(5)],
        ["comment", "comment", "contact", "thanks", "thanks"]
    );
    // The script reveals `followup-<code>`, so every code names a section of the page.
    let html = render(
        &Page::Rating {
            rating: r(3),
            token: TOKEN,
            nonce: NONCE,
        },
        &SHOP,
    );
    for n in 1..=5 {
        assert!(html.contains(&format!("id=\"followup-{}\"", code(n))));
    }
}

#[test]
fn the_sms_page_offers_five_large_ratings_in_one_form_and_runs_nothing() {
    let sms = Shop {
        origin: Origin::Sms,
        ..*SHOP
    };
    let html = render(&Page::Ask, &sms);
    let main = body(&html);
    assert!(html.contains("<body data-state=\"ask\">"), "{html}");
    assert!(main.contains("<h1>Как вам заказ?</h1>"), "{main}");
    // One form, posting to the page's own URL; a tap is the submit, no script needed.
    assert_eq!(main.matches("<form").count(), 1, "{main}");
    assert!(main.contains("<form id=\"ask\" method=\"post\" action=\"\">"));
    for n in 1..=5 {
        assert!(
            main.contains(&format!(
                "<button type=\"submit\" name=\"rating\" value=\"{n}\" aria-label=\"{n} из 5\">{n}</button>"
            )),
            "{n}: {main}"
        );
    }
    assert_eq!(main.matches("<button").count(), 5);
    // Large tap targets: five to a row, 64 px tall.
    assert!(STYLE.contains(".scale{display:grid;grid-template-columns:repeat(5,1fr)"));
    assert!(STYLE.contains(".scale button{min-height:64px"));
    // Nothing for the script to post: it acts only on a `pending` page.
    assert!(!main.contains("nonce"));
    assert!(main.contains("Ссылку на эту страницу мы прислали вам в SMS."));
    assert!(!main.contains("ответьте на наше письмо"));
    // From the email, the same error advises the email; from the SMS, the SMS.
    let bad = Page::Error(ErrorPage::BadRequest);
    assert!(body(&render(&bad, &sms)).contains("ссылку из SMS"));
    assert!(body(&render(&bad, &SHOP)).contains("ссылку из письма"));
    assert_eq!(
        ErrorPage::BadRequest.message(&sms),
        OURS.landing(LandingText::ErrorBadRequestSms, Lang::Ru)
    );
}

#[test]
fn the_inspectors_page_offers_seven_choices_in_one_form_and_records_nothing_itself() {
    let shop = Shop {
        origin: Origin::Inspector,
        ..*SHOP
    };
    let html = render(&Page::Resolve, &shop);
    assert!(html.contains("data-state=\"resolve\""), "{html}");
    assert_eq!(html.matches("<form").count(), 1, "{html}");
    assert!(html.contains("<form id=\"resolve\" method=\"post\" action=\"\">"));
    for value in ["1", "2", "3", "4", "5", "call", "none"] {
        assert!(
            html.contains(&format!("name=\"choice\" value=\"{value}\"")),
            "{value}: {html}"
        );
    }
    // The staff's footer, not the customer's "reply to our email".
    assert!(html.contains("retailCRM"), "{html}");
    assert!(!html.contains(OURS.landing(LandingText::Footer, Lang::Ru)));
    // Each outcome says what happened.
    let two = render(&Page::Resolved(Resolution::from_form("2").unwrap()), &shop);
    assert!(two.contains("Оценка 2 записана"), "{two}");
    let call = render(&Page::Resolved(Resolution::WantsCall), &shop);
    assert!(call.contains("перезвонить"), "{call}");
    let none = render(&Page::Resolved(Resolution::NotARating), &shop);
    assert!(none.contains("не оценка"), "{none}");
    let before = render(&Page::ResolvedBefore, &shop);
    assert!(before.contains("Уже решено"), "{before}");
}

/// The pages tell the truth: nothing thanks before a rating is recorded; another link of an
/// answered survey shows the rating we have and where a person answers; "call me" without a phone
/// promises no call; an expired link says what to do next.
#[test]
fn the_pages_say_only_what_is_true() {
    let h1 = |html: &str| between(html, "<h1>", "</h1>").to_string();
    for rating in Rating::all() {
        let pending = render(
            &Page::Rating {
                rating,
                token: TOKEN,
                nonce: NONCE,
            },
            &SHOP,
        );
        assert_eq!(h1(&pending), "Ваша оценка");
        assert!(!between(&pending, "<title>", "</title>").contains("Спасибо"));
        let confirm = render(
            &Page::Confirm {
                rating,
                token: TOKEN,
                nonce: NONCE,
            },
            &SHOP,
        );
        assert_eq!(h1(&confirm), "Подтвердите оценку");
        assert!(!confirm.contains("Спасибо за вашу оценку"), "{confirm}");
        let recorded = render(
            &Page::Recorded {
                rating,
                token: TOKEN,
            },
            &SHOP,
        );
        assert_eq!(h1(&recorded), "Спасибо за вашу оценку");
        // The 3's question is on the page before we know whether we have a phone: it offers to
        // get in touch, and only the page after "yes" says whether that is a call.
        let contact = section(&recorded, "followup-contact");
        assert!(contact.contains("свяжемся"), "{contact}");
        assert!(!contact.contains("звон"), "{contact}");
    }
    let texts = crate::texts::Texts::defaults();
    for lang in crate::texts::Lang::ALL {
        for key in [LandingText::ContactQuestion, LandingText::ContactYesButton] {
            let said = texts.landing(key, lang).to_lowercase();
            for call in ["звон", "зателефон", "call"] {
                assert!(
                    !said.contains(call),
                    "{lang:?} {key:?} promises a call: {said}"
                );
            }
        }
    }
    let answered = render(
        &Page::AlreadyAnswered {
            recorded: Some(r(4)),
        },
        &SHOP,
    );
    assert!(answered.contains("data-rating=\"4\""), "{answered}");
    assert!(
        answered.contains("Записана ваша оценка: 4 из 5."),
        "{answered}"
    );
    assert!(answered.contains("★★★★<span class=\"off\">☆</span>"));
    assert!(answered.contains("quality@example.ru"), "{answered}");
    let by_email = render(
        &Page::ContactAnswered {
            yes: true,
            phone: false,
        },
        &SHOP,
    );
    assert!(!by_email.contains("перезвоним"), "{by_email}");
    assert!(by_email.contains("напишем вам на почту"), "{by_email}");
    let expired = render(&Page::Error(ErrorPage::Expired), &SHOP);
    assert!(expired.contains("напишите нам"), "{expired}");
    assert!(expired.contains("quality@example.ru"), "{expired}");
}
