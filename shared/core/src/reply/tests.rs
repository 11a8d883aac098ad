use super::*;
use crate::model::Rating;

/// `"1"`..`"5"` for a rating, `"yes"`, `"no"`, `"opt_out"`, or the unreadable reason's phrase.
fn compact(reply: &Reply) -> String {
    match reply {
        Reply::Rating { value } => value.value().to_string(),
        Reply::Yes => "yes".into(),
        Reply::No => "no".into(),
        Reply::OptOut => "opt_out".into(),
        Reply::Unreadable { reason } => reason.to_string(),
    }
}

const TWO: &str = "two different numbers";
const QUESTION: &str = "a question";
const LONG: &str = "long text";
const NONE: &str = "no rating found";
const RANGE: &str = "number out of range";
const DATE: &str = "looks like a date";
const PRICE: &str = "looks like a price";
const PHONE: &str = "looks like a phone number";
const TIME: &str = "looks like a time";
const ORDER: &str = "looks like an order number";
const FRACTION: &str = "not a whole number";
const IN_TEXT: &str = "a number inside other text";
const HEDGED: &str = "hedged or conditional rating";
const NEGATED: &str = "negated rating";
const CONTRA: &str = "contradictory answer";
const EMPTY: &str = "empty";

/// Realistic replies with the default options (sentiment words off).
const CASES: &[(&str, &str)] = &[
    // A lone digit, dressed up the ways phones dress it.
    ("5", "5"),
    ("5!", "5"),
    ("5)", "5"),
    ("5.", "5"),
    (" 5 ", "5"),
    ("5!!!", "5"),
    ("5)))", "5"),
    ("(4)", "4"),
    ("5\u{FE0F}\u{20E3}", "5"),
    ("5\u{20E3}", "5"),
    ("３\u{FE0F}\u{20E3}", "3"),
    ("４", "4"),
    ("⑤", "5"),
    ("5 👍", "5"),
    ("👍 5", "5"),
    ("5+", "5"),
    ("4+", "4"),
    ("5++", "5"),
    ("*5*", "5"),
    ("— 5", "5"),
    // Scales, cues and units.
    ("3/5", "3"),
    ("5 / 5", "5"),
    ("4 из 5", "4"),
    ("5 из 5!", "5"),
    ("5 of 5", "5"),
    ("4 out of 5", "4"),
    ("4 з 5", "4"),
    ("на 4", "4"),
    ("На 5 баллов", "5"),
    ("оценка 3", "3"),
    ("Оценка: 5", "5"),
    ("ставлю 4", "4"),
    ("Ставлю 5 звёзд", "5"),
    ("5 баллов", "5"),
    ("3 звезды", "3"),
    ("5 stars", "5"),
    ("Оцінка 5", "5"),
    ("оцениваю в 5 баллов", "5"),
    ("5ка", "5"),
    ("3из5", "3"),
    ("Все отлично, 5 из 5 возможных", "5"),
    ("5 по всем пунктам", "5"),
    ("на 5-ку", "5"),
    ("из 5-ти 5", "5"),
    // Stars.
    ("⭐⭐⭐⭐⭐", "5"),
    ("⭐️⭐️⭐️", "3"),
    ("⭐ ⭐ ⭐ ⭐", "4"),
    ("★★★★☆", "4"),
    ("🌟🌟", "2"),
    ("⭐", "1"),
    ("*****", "5"),
    ("5⭐", "5"),
    ("5 ⭐⭐⭐⭐⭐", "5"),
    ("⭐⭐⭐⭐⭐⭐⭐", RANGE),
    ("*", NONE),
    // Number words and grades, Russian, Ukrainian, English.
    ("пять", "5"),
    ("Пятёрка!", "5"),
    ("пятерочка", "5"),
    ("ПЯТЁРОЧКА", "5"),
    ("четверка", "4"),
    ("четвёрочка", "4"),
    ("тройка", "3"),
    ("трояк", "3"),
    ("двойка", "2"),
    ("двоечка", "2"),
    ("единица", "1"),
    ("кол", "1"),
    ("один", "1"),
    ("ЧЕТЫРЕ", "4"),
    ("три.", "3"),
    ("два", "2"),
    ("на пять", "5"),
    ("оценка пять", "5"),
    ("пять баллов", "5"),
    ("пять из пяти", "5"),
    ("твердая пятерка", "5"),
    ("Твёрдая четвёрка", "4"),
    ("пять с плюсом", "5"),
    ("п'ять", "5"),
    ("п’ять", "5"),
    ("пʼять", "5"),
    ("п'ятірка", "5"),
    ("пʼятірка", "5"),
    ("чотири", "4"),
    ("четвірка", "4"),
    ("трійка", "3"),
    ("двійка", "2"),
    ("одиниця", "1"),
    ("five", "5"),
    ("Four", "4"),
    ("one", "1"),
    ("five stars", "5"),
    ("four out of five", "4"),
    // Repeats agree with themselves.
    ("5 5 5", "5"),
    ("5, 5", "5"),
    ("5 и 5", "5"),
    ("5, пятерка", "5"),
    ("⭐⭐⭐⭐⭐ 5", "5"),
    // A digit with a short comment.
    ("Спасибо, всё хорошо, 5", "5"),
    ("Добрый день! 5", "5"),
    ("Курьер молодец, 5", "5"),
    ("5, курьер молодец", "5"),
    ("5 спасибо", "5"),
    ("Да, 5", "5"),
    ("5, всё отлично", "5"),
    ("1, курьер нахамил", "1"),
    ("1 😡", "1"),
    // Yes / no for "shall we call you?".
    ("да", "yes"),
    ("Да!", "yes"),
    ("дa", "yes"),
    ("да-да", "yes"),
    ("ага", "yes"),
    ("конечно", "yes"),
    ("можно", "yes"),
    ("давайте", "yes"),
    ("Да, пожалуйста", "yes"),
    ("да, позвоните", "yes"),
    ("Так", "yes"),
    ("Так, будь ласка", "yes"),
    ("yes", "yes"),
    ("Yep", "yes"),
    ("ok", "yes"),
    ("Ок", "yes"),
    ("👍", "yes"),
    ("👍🏽", "yes"),
    ("нет", "no"),
    ("Нет, спасибо", "no"),
    ("нет спасибо", "no"),
    ("нeт", "no"),
    ("нет-нет", "no"),
    ("не надо", "no"),
    ("Не нужно, спасибо", "no"),
    ("ні", "no"),
    ("Ні, дякую", "no"),
    ("no", "no"),
    ("nope", "no"),
    ("👎", "no"),
    ("конечно нет", "no"),
    ("да нет", CONTRA),
    ("да, курьер опоздал", NONE),
    ("нет, курьер хамил", NONE),
    ("всё ок", NONE),
    // Opt-out wins.
    ("стоп", "opt_out"),
    ("STOP", "opt_out"),
    ("Стоп, пожалуйста", "opt_out"),
    ("отписаться", "opt_out"),
    ("Отпишите меня", "opt_out"),
    ("не пишите мне больше", "opt_out"),
    ("Больше не пишите!", "opt_out"),
    ("unsubscribe", "opt_out"),
    ("відписатися", "opt_out"),
    ("Не пишіть мені", "opt_out"),
    ("5, и больше не пишите", "opt_out"),
    ("Как отписаться?", "opt_out"),
    (
        "Всё понравилось, но больше не пишите мне сюда, пожалуйста, сообщений и так много",
        "opt_out",
    ),
    ("стоп-кран", NONE),
    ("Стоп-кран сломался, а так всё норм", NONE),
    ("стоп 5", "opt_out"),
    ("стоп, 5 баллов", "5"),
    // Two candidates.
    ("3 или 4", TWO),
    ("на 4, курьер на 2", TWO),
    ("4-5", TWO),
    ("4 - 5", TWO),
    ("между 3 и 4", TWO),
    ("1 2 3 4 5", TWO),
    ("4 ⭐⭐⭐⭐⭐", TWO),
    ("пятерка, но вообще 4", TWO),
    // Questions.
    ("а где мой заказ?", QUESTION),
    ("5?", QUESTION),
    ("?", QUESTION),
    ("Да?", QUESTION),
    ("а когда привезут", QUESTION),
    ("Где заказ", QUESTION),
    // Long text.
    ("Курьер опоздал на 2 часа, но в целом всё хорошо", LONG),
    (
        "Всё пришло вовремя, курьер вежливый, упаковка целая, ставлю 5",
        LONG,
    ),
    (
        "Замечательнейший магазинчик, великолепнейшая доставочка, прекраснейший курьерчик 5",
        LONG,
    ),
    // Dates.
    ("12.05", DATE),
    ("12/05/2024", DATE),
    ("5 мая", DATE),
    ("привезли 5 мая", DATE),
    ("May 5", DATE),
    ("2024", DATE),
    ("03.04.24", DATE),
    // Prices.
    ("500 руб", PRICE),
    ("500 руб.", PRICE),
    ("1500₽", PRICE),
    ("5 000 рублей", PRICE),
    ("$5", PRICE),
    ("5р", PRICE),
    ("200 грн", PRICE),
    ("5к", PRICE),
    // Phones.
    ("+7 900 123-45-67", PHONE),
    ("89001234567", PHONE),
    ("8 (900) 123-45-67", PHONE),
    ("123-45-67", PHONE),
    ("звоните 8-900-123-45-67", PHONE),
    // Off the scale.
    ("0", RANGE),
    ("6", RANGE),
    ("10", RANGE),
    ("10 из 10", RANGE),
    ("5/10", RANGE),
    ("10/10", RANGE),
    ("ten out of ten", RANGE),
    ("на все 100", RANGE),
    ("на все сто", RANGE),
    ("55", RANGE),
    ("05", RANGE),
    ("🔟", RANGE),
    // Order numbers.
    ("заказ 12345", ORDER),
    ("№12345", ORDER),
    ("заказ №5", ORDER),
    ("12345", ORDER),
    ("номер заказа: 4", ORDER),
    // Times.
    ("в 5 вечера", TIME),
    ("5:30", TIME),
    ("в 5", TIME),
    ("через 5 минут", TIME),
    ("2 дня", TIME),
    ("после 4", TIME),
    // Not whole.
    ("4.5", FRACTION),
    ("4,5", FRACTION),
    ("5 с минусом", FRACTION),
    ("5-", FRACTION),
    ("четверка с минусом", FRACTION),
    ("4 с половиной", FRACTION),
    ("четыре с половиной", FRACTION),
    // Numbers that count something.
    ("5 курьер молодец", IN_TEXT),
    ("2 коробки не пришли", IN_TEXT),
    ("5 дней ждала", IN_TEXT),
    ("100%", IN_TEXT),
    ("5й", IN_TEXT),
    ("пять, курьер молодец", IN_TEXT),
    ("один вопрос", IN_TEXT),
    ("я один дома", IN_TEXT),
    // Hedged or negated.
    ("почти 5", HEDGED),
    ("поставил бы 5", HEDGED),
    ("наверное 4", HEDGED),
    ("Скорее 4", HEDGED),
    ("5 🤔", HEDGED),
    ("не 5", NEGATED),
    ("не на 5", NEGATED),
    ("не пятерка", NEGATED),
    // The message disagrees with itself.
    ("5, ужасно", CONTRA),
    ("1, всё отлично", CONTRA),
    ("1 ❤️", CONTRA),
    ("5 😡", CONTRA),
    // Nothing to read.
    ("", EMPTY),
    ("   ", EMPTY),
    ("...", EMPTY),
    ("\u{FE0F}", EMPTY),
    ("спасибо", NONE),
    ("😊", NONE),
    ("🙏", NONE),
    ("отлично", NONE),
    ("Спасибо, всё отлично!", NONE),
];

#[test]
fn table_of_realistic_replies() {
    let opts = ParserOptions::default();
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|&(input, want)| {
            let got = compact(&parse_reply(input, &opts));
            (got != want).then(|| format!("{input:?}: want {want:?}, got {got:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn table_is_big_and_covers_every_outcome() {
    assert!(CASES.len() >= 90, "only {} rows", CASES.len());
    let mut wanted: Vec<&str> = CASES.iter().map(|&(_, want)| want).collect();
    wanted.sort_unstable();
    wanted.dedup();
    for expected in ["1", "2", "3", "4", "5", "yes", "no", "opt_out"] {
        assert!(wanted.contains(&expected), "no row expects {expected}");
    }
    for reason in UnreadableReason::ALL {
        assert!(
            wanted.contains(&reason.as_str()),
            "no row expects {reason:?}"
        );
    }
}

/// (input, with sentiment words off, with sentiment words on)
const SENTIMENT: &[(&str, &str, &str)] = &[
    ("отлично", NONE, "5"),
    ("Всё отлично, спасибо!", NONE, "5"),
    ("супер", NONE, "5"),
    ("Excellent", NONE, "5"),
    ("чудово", NONE, "5"),
    ("хорошо", NONE, "4"),
    ("всё хорошо", NONE, "4"),
    ("неплохо", NONE, "4"),
    ("нормально", NONE, "3"),
    ("так себе", NONE, "3"),
    ("плохо", NONE, "2"),
    ("погано", NONE, "2"),
    ("ужасно", NONE, "1"),
    ("Ужасно!!!", NONE, "1"),
    ("очень плохо", NONE, "2"),
    // Negated, mixed, or inside other text: never a rating.
    ("не плохо", NONE, NONE),
    ("не всё отлично", NONE, NONE),
    ("отлично, но курьер хамил", NONE, NONE),
    ("отлично, позвоните", NONE, NONE),
    ("хорошо, но плохо", NONE, CONTRA),
    ("отлично 😡", NONE, CONTRA),
    // A digit decides either way; the words may only veto it.
    ("5, всё отлично", "5", "5"),
    ("4, хорошо", "4", "4"),
    ("5, ужасно", CONTRA, CONTRA),
    // Yes/no beats a sentiment word.
    ("да, отлично", "yes", "yes"),
    ("нет, всё хорошо", "no", "no"),
];

#[test]
fn sentiment_words_only_count_when_enabled() {
    let off = ParserOptions::default();
    let on = ParserOptions {
        sentiment_words: true,
    };
    let failures: Vec<String> = SENTIMENT
        .iter()
        .filter_map(|&(input, want_off, want_on)| {
            let got_off = compact(&parse_reply(input, &off));
            let got_on = compact(&parse_reply(input, &on));
            (got_off != want_off || got_on != want_on).then(|| {
                format!("{input:?}: want off={want_off:?} on={want_on:?}, got off={got_off:?} on={got_on:?}")
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn button_payloads() {
    let rows: &[(&str, Option<&str>)] = &[
        ("5", Some("5")),
        ("1", Some("1")),
        ("rating_5", Some("5")),
        ("rating:4", Some("4")),
        ("RATE_3", Some("3")),
        ("rating-2", Some("2")),
        ("score_1", Some("1")),
        ("5_stars", Some("5")),
        (" rating_5 ", Some("5")),
        ("yes", Some("yes")),
        ("YES", Some("yes")),
        ("no", Some("no")),
        ("contact_yes", Some("yes")),
        ("contact_no", Some("no")),
        ("callback:yes", Some("yes")),
        ("stop", Some("opt_out")),
        ("STOP", Some("opt_out")),
        ("opt_out", Some("opt_out")),
        ("unsubscribe", Some("opt_out")),
        ("rating_6", None),
        ("rating_0", None),
        ("6", None),
        ("rating_55", None),
        ("order_5", None),
        ("maybe", None),
        ("contact_maybe", None),
        ("", None),
    ];
    for &(payload, want) in rows {
        let got = parse_button_payload(payload);
        assert_eq!(
            got.as_ref().map(compact).as_deref(),
            want,
            "payload {payload:?}"
        );
    }
}

#[test]
fn reactions() {
    let rows: &[(&str, &str)] = &[
        ("1\u{FE0F}\u{20E3}", "1"),
        ("2\u{FE0F}\u{20E3}", "2"),
        ("3\u{FE0F}\u{20E3}", "3"),
        ("4\u{FE0F}\u{20E3}", "4"),
        ("5\u{FE0F}\u{20E3}", "5"),
        ("5\u{20E3}", "5"),
        ("0\u{FE0F}\u{20E3}", RANGE),
        ("9\u{FE0F}\u{20E3}", RANGE),
        ("🔟", RANGE),
        ("👍", "yes"),
        ("👍🏻", "yes"),
        ("👎", "no"),
        ("👎🏿", "no"),
        // One star: ambiguous between "1 star" and "great", so a human decides.
        ("⭐", NONE),
        ("⭐\u{FE0F}", NONE),
        ("🌟", NONE),
        ("❤\u{FE0F}", NONE),
        ("😂", NONE),
        ("", EMPTY),
    ];
    for &(emoji, want) in rows {
        assert_eq!(compact(&parse_reaction(emoji)), want, "reaction {emoji:?}");
    }
}

#[test]
fn pleasantries() {
    for text in [
        "спасибо",
        "Спасибо!",
        "СПАСИБО БОЛЬШОЕ!!!",
        "благодарю",
        "thanks",
        "Thank you very much",
        "дякую",
        "Щиро дякую!",
        "🙏",
        "🙏🙏🙏",
        "ок спасибо",
        "Ок, спасибо 👍",
        "спасибо, всего доброго",
        "Хорошо, спасибо",
        "спс)",
    ] {
        assert!(is_pleasantry(text), "{text:?} should be a pleasantry");
    }
    for text in [
        "",
        "😡",
        "спасибо, а где мой заказ?",
        "спасибо?",
        "спасибо, 1",
        "спасибо, но курьер нахамил",
        "верните деньги",
        "да",
        "нет",
        "спасибо спасибо спасибо спасибо спасибо спасибо спасибо спасибо спасибо",
    ] {
        assert!(!is_pleasantry(text), "{text:?} should not be a pleasantry");
    }
}

#[test]
fn json_shape() {
    let five = Reply::Rating {
        value: Rating::new(5).unwrap(),
    };
    let two = Reply::Unreadable {
        reason: UnreadableReason::TwoDifferentNumbers,
    };
    let rows = [
        (five, r#"{"kind":"rating","value":5}"#),
        (Reply::Yes, r#"{"kind":"yes"}"#),
        (Reply::No, r#"{"kind":"no"}"#),
        (Reply::OptOut, r#"{"kind":"opt_out"}"#),
        (
            two,
            r#"{"kind":"unreadable","reason":"two different numbers"}"#,
        ),
    ];
    for (reply, json) in rows {
        assert_eq!(serde_json::to_string(&reply).unwrap(), json);
        assert_eq!(serde_json::from_str::<Reply>(json).unwrap(), reply);
    }
    assert!(serde_json::from_str::<Reply>(r#"{"kind":"rating","value":6}"#).is_err());
    assert!(serde_json::from_str::<Reply>(r#"{"kind":"unreadable","reason":"nope"}"#).is_err());
}

#[test]
fn every_reason_round_trips_through_its_phrase() {
    let mut phrases: Vec<&str> = UnreadableReason::ALL.iter().map(|r| r.as_str()).collect();
    phrases.sort_unstable();
    phrases.dedup();
    assert_eq!(
        phrases.len(),
        UnreadableReason::ALL.len(),
        "phrases must be unique"
    );
    for reason in UnreadableReason::ALL {
        let phrase = reason.to_string();
        assert!(phrase.chars().all(|c| !c.is_uppercase()), "{phrase:?}");
        assert_eq!(phrase.parse::<UnreadableReason>(), Ok(reason));
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{phrase}\""));
        assert_eq!(
            serde_json::from_str::<UnreadableReason>(&json).unwrap(),
            reason
        );
    }
    assert_eq!(
        "Two different numbers".parse::<UnreadableReason>(),
        Err(UnknownReason("Two different numbers".into()))
    );
}

#[test]
fn parser_options_from_config() {
    let default: ParserOptions = serde_json::from_str("{}").unwrap();
    assert!(!default.sentiment_words);
    assert_eq!(default, ParserOptions::default());
    let on: ParserOptions = serde_json::from_str(r#"{"sentiment_words":true}"#).unwrap();
    assert!(on.sentiment_words);
    assert!(serde_json::from_str::<ParserOptions>(r#"{"sentiment":true}"#).is_err());
}

/// Deterministic pseudo-random messages built from the characters the parser cares about:
/// nothing may panic, an added question mark always makes a question (unless it is an
/// opt-out), and an added "отпишите меня" always opts out.
#[test]
fn odd_input_keeps_the_invariants() {
    const POOL: &[&str] = &[
        "5",
        "0",
        "12",
        "1500",
        "-",
        "/",
        ".",
        ",",
        ":",
        "+",
        "*",
        "#",
        "№",
        "$",
        "₽",
        "%",
        " ",
        " ",
        "\u{FE0F}",
        "\u{20E3}",
        "\u{200D}",
        "⭐",
        "☆",
        "👍",
        "👎",
        "😡",
        "🏽",
        "ка",
        "из",
        "на",
        "не",
        "да",
        "нет",
        "пять",
        "пятерка",
        "мая",
        "руб",
        "заказ",
        "в",
        "часа",
        "бы",
        "отлично",
        "курьер",
        "с",
        "плюсом",
        "п'ять",
        "ʼ",
        "стоп",
        "ok",
        "(",
        ")",
        "é",
    ];
    let opts = ParserOptions {
        sentiment_words: true,
    };
    let mut seed: u64 = 0x5eed;
    for _ in 0..1500 {
        let mut text = String::new();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for _ in 0..(seed >> 60) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(POOL[(seed >> 33) as usize % POOL.len()]);
        }
        let first = parse_reply(&text, &opts);
        assert_eq!(
            parse_reply(&text, &opts),
            first,
            "{text:?} is not deterministic"
        );
        let asked = parse_reply(&format!("{text}?"), &opts);
        assert!(
            matches!(
                asked,
                Reply::OptOut
                    | Reply::Unreadable {
                        reason: UnreadableReason::Question
                    }
            ),
            "{text:?}? gave {asked:?}"
        );
        let out = parse_reply(&format!("{text} отпишите меня"), &opts);
        assert_eq!(out, Reply::OptOut, "{text:?}");
        parse_button_payload(&text);
        parse_reaction(&text);
        is_pleasantry(&text);
    }
}

#[test]
fn opt_out_wins_over_a_rating_and_a_question() {
    let opts = ParserOptions::default();
    for text in [
        "5, и отпишите меня",
        "1 unsubscribe",
        "можно больше не писать мне?",
    ] {
        assert_eq!(parse_reply(text, &opts), Reply::OptOut, "{text:?}");
    }
}
