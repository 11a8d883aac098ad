//! The sentences Otklik writes into retailCRM, filled in: the inspector's task and notification
//! for a notice, the complaint order's comment and link, the reminder task, the words field.
//!
//! The writers (crm-writer, complaint-create, history-poller) only send what these return. The
//! wording comes from [`Texts`] (`[texts.crm.<lang>]` or ours); it lives apart from this module
//! so that the config can name the texts without depending on the state machine.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::machine::NoticeReason;
use crate::model::{Channel, Rating};
use crate::texts::{fill, CrmText, Lang, Texts};

/// The customers' words field keeps the newest words when they get longer than this.
pub const MAX_WORDS_CHARS: usize = 4000;

/// How many of a survey's messages are kept for its words field, and how long each may be: kept
/// together they stay far below DynamoDB's 400 KB item limit (50 × 1,000 characters of 4-byte
/// emoji is 200 KB). A customer who writes on and on does not grow the item until every write
/// fails; the oldest messages make room, as the field itself shows only the newest
/// [`MAX_WORDS_CHARS`] anyway.
pub const MAX_KEPT_MESSAGES: usize = 50;
/// See [`MAX_KEPT_MESSAGES`].
pub const MAX_KEPT_MESSAGE_CHARS: usize = 1000;

/// One message as it is kept for the words field: cut to [`MAX_KEPT_MESSAGE_CHARS`], its start
/// kept (what a customer says first is usually the point).
pub fn kept_message(text: &str) -> String {
    if text.chars().count() <= MAX_KEPT_MESSAGE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_KEPT_MESSAGE_CHARS - 1).collect();
    format!("{head}…")
}

/// One message as a line of the order's words field, so the field reads as a conversation:
/// «06.12 14:03 · MAX · курьер опоздал». `at` is when the machine took the message (the reply
/// time), shown in the shop's time zone `tz`; `via` the channel it came on. Both come from the
/// effect, so a redelivery writes the same line. The year is left out (a survey lives for days);
/// English shows the month by name, as «06.12» would read as June 12th. The brand names are
/// written as their owners write them in every language; email gets the language's own word.
/// Line breaks inside a message become « / », keeping one message a line. Either part missing
/// (an effect queued before they were carried) is left out; the text is kept as
/// [`kept_message`] keeps it, its prefix never cut.
pub fn words_line(
    lang: Lang,
    tz: Tz,
    at: Option<DateTime<Utc>>,
    via: Option<Channel>,
    text: &str,
) -> String {
    let mut parts = Vec::with_capacity(3);
    if let Some(at) = at {
        let format = match lang {
            Lang::Ru | Lang::Uk => "%d.%m %H:%M",
            Lang::En => "%-d %b %H:%M",
        };
        parts.push(at.with_timezone(&tz).format(format).to_string());
    }
    if let Some(via) = via {
        parts.push(channel_name(lang, via).to_string());
    }
    let one_line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    parts.push(kept_message(&one_line));
    parts.join(" · ")
}

/// How a channel is named in the words field (see [`words_line`]).
fn channel_name(lang: Lang, channel: Channel) -> &'static str {
    match (channel, lang) {
        (Channel::Max, _) => "MAX",
        (Channel::Whatsapp, _) => "WhatsApp",
        (Channel::Sms, _) => "SMS",
        (Channel::Email, Lang::Ru) => "почта",
        (Channel::Email, Lang::Uk) => "пошта",
        (Channel::Email, Lang::En) => "email",
    }
}

/// The value of the order's words field: every message the customer wrote, one a line, cut from
/// the front when too long (the newest words matter most to whoever reads the order).
pub fn words_value(words: &[String]) -> String {
    let all = words.join("\n");
    let n = all.chars().count();
    if n <= MAX_WORDS_CHARS {
        return all;
    }
    let tail: String = all.chars().skip(n - (MAX_WORDS_CHARS - 1)).collect();
    format!("…{tail}")
}

/// A short reference for a task we create, derived from the effect that creates it: written into
/// the task's title (`[otk-…]`), it lets a retry after a crash find the task the earlier attempt
/// made (retailCRM's task list filters by text) instead of making a second one.
pub fn task_reference(effect_key: &str) -> String {
    format!(
        "otk-{:010x}",
        crate::texts::fnv1a64(&[effect_key.as_bytes()]) & 0xff_ffff_ffff
    )
}

/// The inspector's task for a notice, and the notification that points at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub commentary: String,
    pub notification: String,
}

/// The notice for `reason`: what the customer wrote (`words`) on `order` (as the order is shown
/// to managers).
pub fn notice(texts: &Texts, lang: Lang, reason: NoticeReason, words: &str, order: &str) -> Notice {
    let title = texts
        .crm(
            match reason {
                NoticeReason::UnreadableReply => CrmText::NoticeUnreadableReply,
                NoticeReason::NewProblemAfterClose => CrmText::NoticeNewProblem,
                NoticeReason::UnpromptedMessage => CrmText::NoticeUnprompted,
                NoticeReason::EditedAfterRating => CrmText::NoticeEditedAfterRating,
            },
            lang,
        )
        .to_string();
    Notice {
        commentary: fill(
            texts.crm(CrmText::NoticeCommentary, lang),
            &[("words", words)],
        ),
        notification: fill(
            texts.crm(CrmText::NoticeNotification, lang),
            &[("title", &title), ("order", order)],
        ),
        title,
    }
}

/// The line under an unreadable answer's task commentary that hands the inspector their
/// one-click page ([`crate::links::resolve_link`]).
pub fn resolve_line(texts: &Texts, lang: Lang, link: &str) -> String {
    fill(
        texts.crm(CrmText::NoticeResolveLink, lang),
        &[("link", link)],
    )
}

/// The complaint order's manager comment: what the inspector reads first. `order_number` is the
/// rated order's number; words that are only spaces count as none; `callback`: the customer said
/// "yes" to our offer of a call.
pub fn manager_comment(
    texts: &Texts,
    lang: Lang,
    order_number: &str,
    rating: Rating,
    words: Option<&str>,
    callback: bool,
) -> String {
    let rating = rating.value().to_string();
    let mut c = fill(
        texts.crm(CrmText::ComplaintComment, lang),
        &[("rating", &rating), ("order", order_number)],
    );
    c.push('\n');
    match words.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => c.push_str(&fill(
            texts.crm(CrmText::ComplaintWords, lang),
            &[("words", w)],
        )),
        None => c.push_str(texts.crm(CrmText::ComplaintNoWords, lang)),
    }
    if callback {
        c.push('\n');
        c.push_str(texts.crm(CrmText::ComplaintCallback, lang));
    }
    c
}

/// The names of the two order fields `otklik crm-setup` creates: the rating, then the words.
pub fn field_names(texts: &Texts, lang: Lang) -> (String, String) {
    (
        texts.crm(CrmText::RatingFieldName, lang).to_string(),
        texts.crm(CrmText::WordsFieldName, lang).to_string(),
    )
}

/// The comment on the link between the rated order and its complaint.
pub fn complaint_link(texts: &Texts, lang: Lang, rating: Rating) -> String {
    fill(
        texts.crm(CrmText::ComplaintLink, lang),
        &[("rating", &rating.value().to_string())],
    )
}

/// The reminder task's title and commentary for a complaint `order` opened at `opened_at`,
/// shown in the shop's time zone.
pub fn reminder_text(
    texts: &Texts,
    lang: Lang,
    order: &str,
    opened_at: DateTime<Utc>,
    tz: Tz,
) -> (String, String) {
    // Day first where people write it so; ISO order in English, where 02.11 reads as February.
    let format = match lang {
        Lang::Ru | Lang::Uk => "%d.%m.%Y %H:%M",
        Lang::En => "%Y-%m-%d %H:%M",
    };
    let opened_at = opened_at.with_timezone(&tz).format(format).to_string();
    (
        fill(texts.crm(CrmText::ReminderTitle, lang), &[("order", order)]),
        fill(
            texts.crm(CrmText::ReminderCommentary, lang),
            &[("opened_at", &opened_at)],
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_field_names_are_ours_in_every_language() {
        let t = Texts::defaults();
        assert_eq!(
            field_names(&t, Lang::Ru),
            (
                "Оценка покупателя".to_string(),
                "Слова покупателя".to_string()
            )
        );
        assert_eq!(field_names(&t, Lang::En).0, "Customer rating");
        assert_eq!(field_names(&t, Lang::Uk).1, "Слова покупця");
    }

    use super::*;
    use crate::texts::TextsConfig;

    fn r(n: u8) -> Rating {
        Rating::new(n).unwrap()
    }

    fn moscow() -> Tz {
        "Europe/Moscow".parse().unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const REASONS: [NoticeReason; 4] = [
        NoticeReason::UnreadableReply,
        NoticeReason::NewProblemAfterClose,
        NoticeReason::UnpromptedMessage,
        NoticeReason::EditedAfterRating,
    ];

    // Moved from crm-writer's lib.rs with `words_value`.
    #[test]
    fn long_words_keep_their_newest_end() {
        let short = vec!["плохо".to_string(), "очень".to_string()];
        assert_eq!(words_value(&short), "плохо\nочень");
        let long = vec!["а".repeat(3000), "б".repeat(3000)];
        let v = words_value(&long);
        assert_eq!(v.chars().count(), MAX_WORDS_CHARS);
        assert!(v.starts_with('…') && v.ends_with('б'));
    }

    #[test]
    fn task_references_are_short_stable_and_differ_per_effect() {
        let a = task_reference("s-main-shop-1/notify/wamid.1");
        assert_eq!(a, task_reference("s-main-shop-1/notify/wamid.1"));
        assert_ne!(a, task_reference("s-main-shop-1/notify/wamid.2"));
        assert!(a.starts_with("otk-") && a.len() == 14, "{a}");
    }

    // Moved from complaint-create's lib.rs with `manager_comment`.
    #[test]
    fn the_comment_carries_rating_words_and_order() {
        let texts = Texts::defaults();
        let comment =
            |number, rating, words| manager_comment(&texts, Lang::Ru, number, rating, words, false);
        let c = comment("1001A", r(1), Some(" курьер нагрубил "));
        assert!(c.contains("1 из 5") && c.contains("1001A") && c.contains("«курьер нагрубил»"));
        assert!(!c.contains("перезвонить"));
        let silent = comment("7", r(2), None);
        // Words may still come (the landing page's comment box, a later message): "so far".
        assert!(
            silent.contains("2 из 5") && silent.contains("пока"),
            "{silent}"
        );
        let call = manager_comment(&texts, Lang::Ru, "8", r(3), Some("да"), true);
        assert!(
            call.contains("3 из 5") && call.ends_with("Покупатель просит ему перезвонить."),
            "{call}"
        );
    }

    // Moved from complaint.rs with `reminder_text`.
    #[test]
    fn the_reminder_names_the_order_and_local_time() {
        let texts = Texts::defaults();
        let (title, text) =
            reminder_text(&texts, Lang::Ru, "77C", t("2026-11-02T10:00:00Z"), moscow());
        assert!(title.contains("77C"));
        assert!(text.contains("02.11.2026 13:00"), "{text}");
    }

    #[test]
    fn the_resolve_line_carries_the_link() {
        let texts = Texts::defaults();
        for lang in Lang::ALL {
            let line = resolve_line(&texts, lang, "https://f.example.ru/r/abc.def");
            assert!(line.ends_with(" https://f.example.ru/r/abc.def"), "{line}");
        }
    }

    /// What crm-writer, complaint-create and history-poller wrote before the texts moved here,
    /// word for word: the Russian default must not change under the shops that use it.
    #[test]
    fn russian_is_the_wording_we_always_wrote() {
        let texts = Texts::defaults();
        let ru = Lang::Ru;
        let n = notice(
            &texts,
            ru,
            NoticeReason::UnreadableReply,
            "ну такое",
            "main-shop/1001",
        );
        assert_eq!(
            n,
            Notice {
                title: "Отклик: ответ покупателя не распознан — прочитайте".into(),
                commentary: "Покупатель написал: «ну такое»".into(),
                notification: "Отклик: ответ покупателя не распознан — прочитайте: заказ \
                               main-shop/1001. Задача уже в списке."
                    .into(),
            }
        );
        assert_eq!(
            notice(&texts, ru, NoticeReason::NewProblemAfterClose, "x", "o").title,
            "Отклик: покупатель написал после опроса — похоже на новую проблему"
        );
        assert_eq!(
            notice(&texts, ru, NoticeReason::UnpromptedMessage, "x", "o").title,
            "Отклик: покупатель написал до нашего вопроса"
        );
        assert_eq!(
            manager_comment(&texts, ru, "1001A", r(1), Some(" курьер нагрубил "), false),
            "Оценка покупателя: 1 из 5 (заказ 1001A).\nСлова покупателя: «курьер нагрубил»"
        );
        assert_eq!(
            manager_comment(&texts, ru, "7", r(2), Some("   "), false),
            "Оценка покупателя: 2 из 5 (заказ 7).\nПокупатель пока поставил только оценку; если он \
             что-то напишет, это появится в поле со словами покупателя."
        );
        assert_eq!(
            complaint_link(&texts, ru, r(3)),
            "Рекламация по оценке 3 из 5"
        );
        assert_eq!(
            reminder_text(&texts, ru, "123", t("2026-11-02T10:00:00Z"), moscow()),
            (
                "Рекламация №123 ждёт ответа".to_string(),
                "Рекламация открыта 02.11.2026 13:00 и всё ещё в статусе «создана». Покупатель \
                 ждёт звонка: возьмите её в работу."
                    .to_string()
            )
        );
    }

    #[test]
    fn every_language_writes_every_crm_text() {
        let texts = Texts::defaults();
        let opened = t("2026-11-02T10:00:00Z");
        for lang in Lang::ALL {
            let mut written = Vec::new();
            for reason in REASONS {
                let n = notice(&texts, lang, reason, "WORDS", "ORDER-1");
                assert!(n.commentary.contains("WORDS"), "{lang:?}");
                assert!(n.notification.contains(&n.title) && n.notification.contains("ORDER-1"));
                written.extend([n.title, n.commentary, n.notification]);
            }
            for words in [Some("WORDS"), None] {
                let c = manager_comment(&texts, lang, "N-7", r(2), words, false);
                assert!(c.contains("N-7") && c.contains('2'), "{lang:?}: {c}");
                assert_eq!(c.lines().count(), 2, "{lang:?}: {c}");
                assert_eq!(c.contains("WORDS"), words.is_some());
                written.push(c);
            }
            written.push(complaint_link(&texts, lang, r(1)));
            let (title, commentary) = reminder_text(&texts, lang, "555", opened, moscow());
            assert!(title.contains("555"), "{lang:?}");
            assert!(commentary.contains("13:00"), "{lang:?}: {commentary}");
            written.extend([title, commentary]);
            for text in &written {
                assert!(!text.trim().is_empty(), "{lang:?}");
                assert!(
                    !text.contains('{') && !text.contains('}'),
                    "{lang:?} left a blank: {text}"
                );
                if lang == Lang::En {
                    assert!(
                        !text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                        "English with Cyrillic: {text}"
                    );
                }
            }
        }
        // English dates read year first, never as month-day confusion.
        let (_, en) = reminder_text(&texts, Lang::En, "1", opened, moscow());
        assert!(en.contains("2026-11-02 13:00"), "{en}");
    }

    #[test]
    fn the_shops_wording_is_used_and_customer_words_are_not_read_as_blanks() {
        let cfg: TextsConfig = toml::from_str(
            r#"
            language = "uk"
            [crm.uk]
            complaint_words = "Покупець: {words}"
            notice_notification = "{order} — {title}"
            "#,
        )
        .unwrap();
        let texts = Texts::from_config(&cfg).unwrap();
        let lang = texts.language();
        let c = manager_comment(
            &texts,
            lang,
            "9",
            r(1),
            Some("ціна {order} {rating}"),
            false,
        );
        assert_eq!(
            c,
            "Оцінка покупця: 1 з 5 (замовлення 9).\nПокупець: ціна {order} {rating}"
        );
        let n = notice(
            &texts,
            lang,
            NoticeReason::UnpromptedMessage,
            "{title}",
            "42",
        );
        assert_eq!(n.notification, format!("42 — {}", n.title));
        assert_eq!(n.commentary, "Покупець написав: «{title}»");
    }

    #[test]
    fn a_words_line_has_the_local_time_the_channel_and_the_text() {
        // 11:03 UTC is 14:03 in Moscow and 13:03 in Kyiv (winter).
        let at = Some(t("2026-12-06T11:03:00Z"));
        let kyiv: Tz = "Europe/Kyiv".parse().unwrap();
        assert_eq!(
            words_line(Lang::Ru, moscow(), at, Some(Channel::Max), "курьер опоздал"),
            "06.12 14:03 · MAX · курьер опоздал"
        );
        assert_eq!(
            words_line(Lang::Uk, kyiv, at, Some(Channel::Email), "дякую"),
            "06.12 13:03 · пошта · дякую"
        );
        assert_eq!(
            words_line(Lang::En, moscow(), at, Some(Channel::Whatsapp), "late"),
            "6 Dec 14:03 · WhatsApp · late"
        );
        assert_eq!(
            words_line(Lang::Ru, moscow(), at, Some(Channel::Sms), "да"),
            "06.12 14:03 · SMS · да"
        );
        assert_eq!(
            words_line(Lang::Ru, moscow(), at, Some(Channel::Email), "да"),
            "06.12 14:03 · почта · да"
        );
        // The day changes with the zone, not with UTC.
        let late = Some(t("2026-12-06T22:30:00Z"));
        assert!(words_line(Lang::Ru, moscow(), late, None, "x").starts_with("07.12 01:30 · "));
    }

    #[test]
    fn a_words_line_is_one_line_and_keeps_its_prefix() {
        let at = Some(t("2026-12-06T11:03:00Z"));
        assert_eq!(
            words_line(
                Lang::Ru,
                moscow(),
                at,
                Some(Channel::Max),
                "коробка\r\n\nмятая \n"
            ),
            "06.12 14:03 · MAX · коробка / мятая"
        );
        // Effects queued before the time and channel were carried: the bare text, as before.
        assert_eq!(words_line(Lang::Ru, moscow(), None, None, "3"), "3");
        let long = words_line(Lang::Ru, moscow(), at, None, &"ы".repeat(5000));
        assert!(long.starts_with("06.12 14:03 · ыыы") && long.ends_with('…'));
        assert!(long.chars().count() <= MAX_KEPT_MESSAGE_CHARS + "06.12 14:03 · ".len());
    }

    #[test]
    fn lines_make_a_conversation_in_the_field() {
        let tz = moscow();
        let said = [
            ("2026-12-06T11:03:00Z", Channel::Max, "3"),
            ("2026-12-06T11:04:00Z", Channel::Max, "да"),
        ]
        .map(|(at, via, text)| words_line(Lang::Ru, tz, Some(t(at)), Some(via), text));
        assert_eq!(
            words_value(&said),
            "06.12 14:03 · MAX · 3\n06.12 14:04 · MAX · да"
        );
    }

    #[test]
    fn a_long_message_is_kept_cut_to_its_start() {
        assert_eq!(kept_message("всё хорошо"), "всё хорошо");
        let long = "ы".repeat(MAX_KEPT_MESSAGE_CHARS + 500);
        let kept = kept_message(&long);
        assert_eq!(kept.chars().count(), MAX_KEPT_MESSAGE_CHARS);
        assert!(kept.ends_with('…') && kept.starts_with("ыыы"));
        let exact = "😀".repeat(MAX_KEPT_MESSAGE_CHARS);
        assert_eq!(kept_message(&exact), exact);
    }
}
