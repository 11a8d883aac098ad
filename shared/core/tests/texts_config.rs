//! The texts as the config loader reads them: the documented example works, and every refused
//! override names its key. Here rather than in `texts.rs` so the crate's own files never import
//! back from `config` to `texts` (the loader depends on the texts, not the other way round).

use otklik_core::config::Config;
use otklik_core::texts::*;

fn numbers(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect()
}

const EXAMPLE: &str = include_str!("../../../otklik.example.toml");

/// The example's commented-out `[texts]` block, uncommented.
fn example_texts_block() -> String {
    EXAMPLE
        .lines()
        .skip_while(|l| *l != "# [texts]")
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_example_works_when_uncommented() {
    let plain = Config::from_toml(EXAMPLE).unwrap();
    assert_eq!(plain.texts, TextsConfig::default());

    let block = example_texts_block();
    assert!(block.starts_with("[texts]"), "{block}");
    let c = Config::from_toml(&format!("{EXAMPLE}\n{block}\n")).unwrap();
    let t = Texts::from_config(&c.texts).unwrap();
    assert_eq!(t.language(), Lang::Ru);
    assert_eq!(t.variants(TextKind::Request, Lang::Ru).len(), 2);
    assert_eq!(t.variants(TextKind::Thanks, Lang::Ru).len(), 1);
    // The example's own wordings obey the rules ours do.
    for v in t.variants(TextKind::Request, Lang::Ru) {
        let n = numbers(v);
        assert!(n.contains(&"1") && n.contains(&"5"), "{v}");
    }
}

#[test]
fn config_errors_name_the_key_through_the_loader() {
    let err = |texts: &str| {
        Config::from_toml(&format!("{EXAMPLE}\n{texts}\n"))
            .unwrap_err()
            .to_string()
    };
    let e = err("[texts.ru]\nthanks = [\"Спасибо!\", \"\"]");
    assert!(e.contains("`texts.ru.thanks[1]`"), "{e}");
    let e = err("[texts]\nlanguage = \"de\"");
    assert!(e.contains("texts.language") && e.contains("de"), "{e}");
    let e = err("[texts.en]\nthankz = [\"Thanks\"]");
    assert!(e.contains("texts.en") && e.contains("thankz"), "{e}");
    let e = err("[texts.uk]\napology = [\"Вибачте, {name}\"]");
    assert!(e.contains("`texts.uk.apology[0]`"), "{e}");
}

#[test]
fn crm_and_landing_override_errors_name_the_key() {
    let err = |texts: &str| {
        Config::from_toml(&format!("{EXAMPLE}\n{texts}\n"))
            .unwrap_err()
            .to_string()
    };
    let e = err("[texts.crm.ru]\nnotice_commentary = \"Покупатель: {wrods}\"");
    assert!(
        e.contains("`texts.crm.ru.notice_commentary`")
            && e.contains("{wrods}")
            && e.contains("{words}"),
        "{e}"
    );
    let e = err("[texts.landing.en]\nfooter = \"Write to {shop}\"");
    assert!(
        e.contains("`texts.landing.en.footer`") && e.contains("no blanks"),
        "{e}"
    );
    let e = err("[texts.crm.uk]\ncomplaint_link = \"Рекламація {rating\"");
    assert!(
        e.contains("`texts.crm.uk.complaint_link`") && e.contains("pair"),
        "{e}"
    );
    let e = err("[texts.crm.en]\nreminder_title = \"Complaint }{order}\"");
    assert!(e.contains("`texts.crm.en.reminder_title`"), "{e}");
    let e = err("[texts.landing.ru]\nrating_button = \"   \"");
    assert!(
        e.contains("`texts.landing.ru.rating_button`") && e.contains("blank"),
        "{e}"
    );
    let e = err("[texts.landing.ru]\nrating_buton = \"Да\"");
    assert!(
        e.contains("texts.landing.ru") && e.contains("rating_buton"),
        "{e}"
    );
    let e = err("[texts.crm.de]\nnotice_commentary = \"{words}\"");
    assert!(e.contains("texts.crm") && e.contains("de"), "{e}");
    // A text is one string, not a list of variants.
    let e = err("[texts.crm.ru]\ncomplaint_link = [\"Рекламация {rating}\"]");
    assert!(e.contains("texts.crm.ru.complaint_link"), "{e}");
}

#[test]
fn an_sms_wording_too_long_for_two_segments_is_refused_with_its_key() {
    let long = "Здравствуйте! Это {sender}, магазин «{shop}», где вы недавно покупали. Нам очень важно знать, как всё прошло, оцените";
    let e = Config::from_toml(&format!(
        "{EXAMPLE}\n[texts.ru]\nsms_request = [\"«{{shop}}»: как вам заказ?\", \"{long}\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`texts.ru.sms_request[1]`") && e.contains("segments"),
        "{e}"
    );
    // A short one is taken.
    let c = Config::from_toml(&format!(
        "{EXAMPLE}\n[texts.ru]\nsms_request = [\"«{{shop}}»: как вам заказ?\"]\n"
    ))
    .unwrap();
    let t = Texts::from_config(&c.texts).unwrap();
    assert_eq!(
        t.asks(TextKind::SmsRequest, Lang::Ru, &c.who()),
        ["«Пример»: как вам заказ?"]
    );
    // One that does not say who asks is refused.
    let e = Config::from_toml(&format!(
        "{EXAMPLE}\n[texts.ru]\nsms_request = [\"Как вам заказ?\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`texts.ru.sms_request[0]`") && e.contains("{shop}"),
        "{e}"
    );
}
